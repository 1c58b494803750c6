//! The timing of an analysis: lifetime, interval, number of judgements and each
//! judgement's window, as Kayenta's `SetupAndExecuteCanariesStage` computes them, in
//! seconds.

use super::AnalysisError;
use super::model::{AnalysisThresholds, CanaryAnalysisExecutionRequest};
use chrono::{DateTime, TimeDelta, Utc};
use kanary_metrics_sources::{CanaryScope, CanaryScopePair};
use std::collections::BTreeMap;

/// The most judgements one analysis may plan (Kayenta has no limit; a lifetime of a year
/// at a one-second interval would plan 31 million).
pub const MAX_JUDGEMENTS: i64 = 10_000;

/// One scope of the analysis (Kayenta's `CanaryAnalysisExecutionRequestScope` without
/// the timing, which only `scopes[0]` gives).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScopeSpec {
    /// The scope name the config's metrics use (`default` unless they name one).
    pub name: String,
    /// The baseline server group.
    pub control_scope: String,
    /// The baseline's location.
    pub control_location: String,
    /// Seconds the control window lies before the experiment window.
    pub control_offset_secs: i64,
    /// The canary server group.
    pub experiment_scope: String,
    /// The canary's location.
    pub experiment_location: String,
    /// Extra parameters for providers and templates.
    pub extended_scope_params: BTreeMap<String, String>,
}

/// What the runner executes: Kayenta's request with its durations in seconds.
///
/// [`AnalysisSpec::from_request`] reads a Kayenta request (whole minutes); the CLI builds
/// one directly with second precision.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AnalysisSpec {
    /// The scopes (at least one).
    pub scopes: Vec<ScopeSpec>,
    /// Start of the analysis; `None` means when it starts.
    pub start: Option<DateTime<Utc>>,
    /// End of the analysis; when set, the lifetime is `end − start` and nothing waits for
    /// real time except windows that end in the future.
    pub end: Option<DateTime<Utc>>,
    /// Seconds between data points.
    pub step_secs: i64,
    /// The thresholds of every judgement and of the final decision.
    pub thresholds: AnalysisThresholds,
    /// The lifetime when there is no end.
    pub lifetime_secs: Option<i64>,
    /// Warm-up: windows start this much later when there is no end.
    pub begin_after_secs: i64,
    /// > 0: each window is the last `lookback_secs` before its end (sliding windows).
    pub lookback_secs: i64,
    /// How often to judge (`None`: once, over the whole lifetime).
    pub interval_secs: Option<i64>,
    /// The unit `end − start` is truncated to: 60 for Kayenta's requests (its lifetime is
    /// whole minutes), 1 for the CLI.
    pub lifetime_unit_secs: i64,
}

impl AnalysisSpec {
    /// Reads Kayenta's request; the errors are Kayenta's messages where it has one.
    pub fn from_request(request: &CanaryAnalysisExecutionRequest) -> Result<Self, AnalysisError> {
        let first = request.scopes.first().ok_or_else(|| {
            invalid("Canary StageExecution configuration must contain at least one scope.")
        })?;
        let thresholds = request
            .thresholds
            .ok_or_else(|| invalid("Execution request must contain thresholds"))?;
        let instant = |field: &str, text: &Option<String>| -> Result<_, AnalysisError> {
            text.as_deref()
                .map(|t| {
                    DateTime::parse_from_rfc3339(t)
                        .map(|t| t.with_timezone(&Utc))
                        .map_err(|e| {
                            invalid(format!(
                                "scopes[0].{field}: '{t}' is not an ISO-8601 instant: {e}"
                            ))
                        })
                })
                .transpose()
        };
        let minutes = |field: &str, value: Option<i64>| -> Result<Option<i64>, AnalysisError> {
            value
                .map(|m| {
                    m.checked_mul(60)
                        .ok_or_else(|| invalid(format!("{field}: {m} minutes is too long")))
                })
                .transpose()
        };
        let mut scopes = Vec::with_capacity(request.scopes.len());
        for (i, s) in request.scopes.iter().enumerate() {
            scopes.push(ScopeSpec {
                name: s.scope_name.clone(),
                control_scope: s.control_scope.clone().unwrap_or_default(),
                control_location: s.control_location.clone().unwrap_or_default(),
                control_offset_secs: minutes(
                    &format!("scopes[{i}].controlOffsetInMinutes"),
                    s.control_offset_in_minutes,
                )?
                .unwrap_or(0),
                experiment_scope: s.experiment_scope.clone().unwrap_or_default(),
                experiment_location: s.experiment_location.clone().unwrap_or_default(),
                extended_scope_params: s.extended_scope_params.clone(),
            });
        }
        Ok(Self {
            scopes,
            start: instant("startTimeIso", &first.start_time_iso)?,
            end: instant("endTimeIso", &first.end_time_iso)?,
            step_secs: first.step.unwrap_or(60),
            thresholds,
            lifetime_secs: minutes("lifetimeDurationMins", request.lifetime_duration_mins)?,
            begin_after_secs: minutes("beginAfterMins", request.begin_after_mins)?.unwrap_or(0),
            lookback_secs: minutes("lookbackMins", request.lookback_mins)?.unwrap_or(0),
            interval_secs: minutes("analysisIntervalMins", request.analysis_interval_mins)?,
            lifetime_unit_secs: 60,
        })
    }
}

/// One judgement's window (the experiment's; the control's lies its scope's offset
/// earlier).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// 1-based judgement number (Kayenta's `Run Canary #i`).
    pub index: usize,
    /// Window start.
    pub start: DateTime<Utc>,
    /// Window end; the judgement runs once this has passed.
    pub end: DateTime<Utc>,
}

/// The computed schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Start of the analysis.
    pub start: DateTime<Utc>,
    /// End of the analysis, when given.
    pub end: Option<DateTime<Utc>>,
    /// Lifetime, seconds.
    pub lifetime_secs: i64,
    /// Interval between judgements, seconds.
    pub interval_secs: i64,
    /// Warm-up, seconds (shifts the windows only when there is no end).
    pub begin_after_secs: i64,
    /// Sliding-window length, seconds (0: growing windows).
    pub lookback_secs: i64,
    /// The windows, in order.
    pub windows: Vec<Window>,
}

impl Plan {
    /// Kayenta's `calculateLifetime`, `calculateAnalysisInterval`, `numberOfJudgements`
    /// and `calculateStartAndEndForJudgement`, with `now` standing for the start when the
    /// spec has none.
    pub fn new(spec: &AnalysisSpec, now: DateTime<Utc>) -> Result<Plan, AnalysisError> {
        if spec.scopes.is_empty() {
            return Err(invalid(
                "Canary StageExecution configuration must contain at least one scope.",
            ));
        }
        if spec.step_secs <= 0 {
            return Err(invalid(format!(
                "the step must be a positive number of seconds, got {}",
                spec.step_secs
            )));
        }
        for (what, v) in [
            ("the warm-up (beginAfter)", spec.begin_after_secs),
            ("the lookback", spec.lookback_secs),
            ("the interval", spec.interval_secs.unwrap_or(0)),
        ] {
            if v < 0 {
                return Err(invalid(format!("{what} must not be negative, got {v} s")));
            }
        }
        let start = spec.start.unwrap_or(now);
        let lifetime_secs = match (spec.end, spec.lifetime_secs) {
            (Some(end), _) => {
                if end <= start {
                    return Err(invalid(format!(
                        "the end {} is not after the start {}",
                        iso(end),
                        iso(start)
                    )));
                }
                // `Duration.ofMinutes(start.until(end, MINUTES))`: whole units, truncated.
                let unit = spec.lifetime_unit_secs.max(1);
                (end - start).num_seconds() / unit * unit
            }
            (None, Some(lifetime)) => lifetime,
            (None, None) => {
                return Err(invalid(
                    "Canary StageExecution configuration must include either `endTime` or `lifetimeDuration`.",
                ));
            }
        };
        if lifetime_secs <= 0 {
            // Kayenta divides by a zero interval here (an ArithmeticException).
            return Err(invalid(match spec.end {
                Some(_) if spec.lifetime_unit_secs > 1 => format!(
                    "the lifetime must be positive: the end is less than {} s after the start",
                    spec.lifetime_unit_secs
                ),
                _ => format!("the lifetime must be positive, got {lifetime_secs} s"),
            }));
        }
        // An interval of 0 or longer than the lifetime becomes the lifetime.
        let interval_secs = match spec.interval_secs {
            Some(i) if i > 0 && i <= lifetime_secs => i,
            _ => lifetime_secs,
        };
        // `lifetime.toMinutes() / interval.toMinutes()`: integer division.
        let judgements = lifetime_secs / interval_secs;
        if judgements > MAX_JUDGEMENTS {
            return Err(invalid(format!(
                "{judgements} judgements ({lifetime_secs} s / {interval_secs} s); at most \
                 {MAX_JUDGEMENTS} are supported, use a longer interval"
            )));
        }
        let secs =
            |s: i64| TimeDelta::try_seconds(s).ok_or_else(|| invalid("a duration is too long"));
        let begin_after = secs(spec.begin_after_secs)?;
        let lookback = secs(spec.lookback_secs)?;
        let mut windows = Vec::new();
        for i in 1..=judgements {
            let offset = secs(interval_secs.saturating_mul(i))?;
            let mut w_start = start;
            let mut w_end = start
                .checked_add_signed(offset)
                .ok_or_else(|| invalid("a window ends too far in the future"))?;
            if spec.end.is_none() {
                w_start = w_start
                    .checked_add_signed(begin_after)
                    .ok_or_else(|| invalid("a window starts too far in the future"))?;
                w_end = w_end
                    .checked_add_signed(begin_after)
                    .ok_or_else(|| invalid("a window ends too far in the future"))?;
            }
            if spec.lookback_secs > 0 {
                w_start = w_end
                    .checked_sub_signed(lookback)
                    .ok_or_else(|| invalid("a window starts too far in the past"))?;
            }
            windows.push(Window {
                index: usize::try_from(i).unwrap_or(usize::MAX),
                start: w_start,
                end: w_end,
            });
        }
        Ok(Plan {
            start,
            end: spec.end,
            lifetime_secs,
            interval_secs,
            begin_after_secs: spec.begin_after_secs,
            lookback_secs: spec.lookback_secs,
            windows,
        })
    }

    /// Number of judgements.
    pub fn judgements(&self) -> usize {
        self.windows.len()
    }
}

/// Kayenta's `buildRequestScopes`: every scope of the spec over `window`, keyed by scope
/// name, the control `control_offset_secs` earlier.
///
/// Kayenta moves only the control's start back by the offset (its end stays the
/// experiment's, so an offset lengthens the control window); its own documentation of
/// `controlOffsetInMinutes` says the offset is "subtracted from the control start and end
/// time", which kanary does, so both sides cover windows of the same length.
pub fn scope_pairs(
    spec: &AnalysisSpec,
    window: &Window,
) -> Result<BTreeMap<String, CanaryScopePair>, AnalysisError> {
    let mut pairs = BTreeMap::new();
    for s in &spec.scopes {
        let offset = TimeDelta::try_seconds(s.control_offset_secs)
            .ok_or_else(|| invalid("the control offset is too long"))?;
        let shifted = |t: DateTime<Utc>| {
            t.checked_sub_signed(offset)
                .ok_or_else(|| invalid("the control window starts too far in the past"))
        };
        let control = CanaryScope {
            scope: s.control_scope.clone(),
            location: s.control_location.clone(),
            start: shifted(window.start)?,
            end: shifted(window.end)?,
            step: spec.step_secs,
            extended_scope_params: s.extended_scope_params.clone(),
        };
        let experiment = CanaryScope {
            scope: s.experiment_scope.clone(),
            location: s.experiment_location.clone(),
            start: window.start,
            end: window.end,
            step: spec.step_secs,
            extended_scope_params: s.extended_scope_params.clone(),
        };
        pairs.insert(
            s.name.clone(),
            CanaryScopePair {
                control_scope: control,
                experiment_scope: experiment,
            },
        );
    }
    Ok(pairs)
}

fn invalid(message: impl Into<String>) -> AnalysisError {
    AnalysisError::Invalid(message.into())
}

fn iso(t: DateTime<Utc>) -> String {
    kanary_metrics_sources::scope::iso(&t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// `N`, the "now" of Kayenta's tests.
    fn n() -> DateTime<Utc> {
        "2026-11-30T10:00:00Z".parse().expect("instant")
    }

    fn mins(m: i64) -> TimeDelta {
        TimeDelta::minutes(m)
    }

    fn spec() -> AnalysisSpec {
        AnalysisSpec {
            scopes: vec![ScopeSpec {
                name: "default".into(),
                control_scope: "baseline".into(),
                experiment_scope: "canary".into(),
                ..ScopeSpec::default()
            }],
            step_secs: 60,
            lifetime_unit_secs: 60,
            ..AnalysisSpec::default()
        }
    }

    fn vectors() -> Vec<Value> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/kayenta_vectors/setup_and_execute_canaries_stage.json"
        );
        let text = std::fs::read_to_string(path).expect("read the vectors");
        serde_json::from_str(&text).expect("vectors are JSON")
    }

    fn vector(name: &str) -> Value {
        vectors()
            .into_iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no vector '{name}'"))
    }

    /// `PT3M` → minutes.
    fn pt_minutes(v: &Value) -> i64 {
        let text = v.as_str().expect("duration text");
        text.strip_prefix("PT")
            .and_then(|t| t.strip_suffix('M'))
            .and_then(|m| m.parse().ok())
            .unwrap_or_else(|| panic!("not PTnM: {text}"))
    }

    fn int(v: &Value) -> i64 {
        v.as_i64().unwrap_or(0)
    }

    fn numbers(v: &Value) -> Vec<usize> {
        v["judgementNumbers"]
            .as_array()
            .expect("judgementNumbers")
            .iter()
            .map(|x| x.as_u64().expect("number") as usize)
            .collect()
    }

    #[test]
    fn lifetime_vectors() {
        let v = vector("calculateLifetime uses supplied start and end time");
        assert_eq!(
            (
                v["input"]["end"].as_str(),
                v["expected"]["lifetime"].as_str()
            ),
            (Some("T+5min"), Some("PT5M"))
        );
        let mut s = spec();
        s.start = Some(n());
        s.end = Some(n() + mins(5));
        assert_eq!(Plan::new(&s, n()).expect("plan").lifetime_secs, 300);

        let v = vector("calculateLifetime uses lifetime if end not provided");
        let mut s = spec();
        s.start = Some(n());
        s.lifetime_secs = Some(int(&v["input"]["lifetimeDurationMins"]) * 60);
        assert_eq!(
            Plan::new(&s, n()).expect("plan").lifetime_secs,
            pt_minutes(&v["expected"]["lifetime"]) * 60
        );

        let v = vector("calculateLifetime throws if neither");
        assert_eq!(v["expected"]["throws"], "IllegalArgumentException");
        let mut s = spec();
        s.start = Some(n());
        let e = Plan::new(&s, n()).expect_err("neither end nor lifetime");
        assert_eq!(
            e.to_string(),
            "Canary StageExecution configuration must include either `endTime` or `lifetimeDuration`."
        );
    }

    /// Runs the plan for `judgement_numbers` with an interval of `interval` minutes and a
    /// lifetime long enough for all of them.
    fn windows(s: &mut AnalysisSpec, interval: i64, count: usize) -> Vec<Window> {
        s.interval_secs = Some(interval * 60);
        if s.end.is_none() {
            s.lifetime_secs = Some(interval * 60 * count as i64);
        }
        Plan::new(s, n()).expect("plan").windows
    }

    #[test]
    fn window_vector_nothing_set() {
        let v = vector("calculateStartAndEndForJudgement: nothing set in scopes");
        assert_eq!(v["expected"]["end_i"], "N + i*3min");
        let interval = pt_minutes(&v["input"]["intervalDuration"]);
        let numbers = numbers(&v["input"]);
        let mut s = spec();
        let w = windows(&mut s, interval, numbers.len());
        for i in numbers {
            let got = &w[i - 1];
            assert_eq!(got.index, i);
            assert_eq!(got.start, n(), "start_i = N");
            assert_eq!(got.end, n() + mins(i as i64 * interval));
        }
    }

    #[test]
    fn window_vector_with_warmup() {
        let v = vector("calculateStartAndEndForJudgement: with warmup");
        assert_eq!(v["expected"]["end_i"], "N + i*3min + 4min");
        let interval = pt_minutes(&v["input"]["intervalDuration"]);
        let warmup = int(&v["input"]["beginAfterMins"]);
        let numbers = numbers(&v["input"]);
        let mut s = spec();
        s.begin_after_secs = warmup * 60;
        let w = windows(&mut s, interval, numbers.len());
        for i in numbers {
            assert_eq!(w[i - 1].start, n() + mins(warmup));
            assert_eq!(w[i - 1].end, n() + mins(i as i64 * interval + warmup));
        }
    }

    #[test]
    fn window_vectors_start_and_end_supplied_ignore_warmup() {
        for name in [
            "calculateStartAndEndForJudgement: start and end supplied",
            "calculateStartAndEndForJudgement: start and end supplied, with warmup",
        ] {
            let v = vector(name);
            assert_eq!(v["input"]["startTimeIso"], "N - 5min");
            assert_eq!(v["input"]["endTimeIso"], "N + 20min");
            assert_eq!(v["expected"]["end_i"], "(N - 5min) + i*3min");
            let interval = pt_minutes(&v["input"]["intervalDuration"]);
            let numbers = numbers(&v["input"]);
            let mut s = spec();
            s.start = Some(n() - mins(5));
            s.end = Some(n() + mins(20));
            s.begin_after_secs = int(&v["input"]["beginAfterMins"]) * 60;
            let w = windows(&mut s, interval, numbers.len());
            // 25 minutes at 3: 8 judgements, of which the vector checks the first five.
            assert_eq!(w.len(), 8, "{name}");
            for i in numbers {
                assert_eq!(w[i - 1].start, n() - mins(5), "{name}");
                assert_eq!(
                    w[i - 1].end,
                    n() - mins(5) + mins(i as i64 * interval),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn window_vector_lookback() {
        let v = vector("calculateStartAndEndForJudgement: lookback defined");
        assert_eq!(v["expected"]["start_i"], "N + (i-1)*5min");
        let interval = pt_minutes(&v["input"]["intervalDuration"]);
        let numbers = numbers(&v["input"]);
        let mut s = spec();
        s.lookback_secs = int(&v["input"]["lookbackMins"]) * 60;
        let w = windows(&mut s, interval, numbers.len());
        for i in numbers {
            assert_eq!(w[i - 1].start, n() + mins((i as i64 - 1) * interval));
            assert_eq!(w[i - 1].end, n() + mins(i as i64 * interval));
        }
    }

    #[test]
    fn window_vector_start_iso_only() {
        let v = vector("calculateStartAndEndForJudgement: start iso only");
        let start: DateTime<Utc> = v["input"]["startTimeIso"]
            .as_str()
            .expect("start")
            .parse()
            .expect("instant");
        let mut s = spec();
        s.start = Some(start);
        let w = windows(&mut s, pt_minutes(&v["input"]["intervalDuration"]), 1);
        assert_eq!(
            iso(w[0].start),
            v["expected"]["start"].as_str().expect("start")
        );
        assert_eq!(iso(w[0].end), v["expected"]["end"].as_str().expect("end"));
    }

    #[test]
    fn window_vector_control_offset() {
        let v = vector("buildRequestScopes with control offset");
        let start: DateTime<Utc> = v["input"]["startTimeIso"]
            .as_str()
            .expect("start")
            .parse()
            .expect("instant");
        let mut s = spec();
        s.start = Some(start);
        s.scopes[0].control_offset_secs = int(&v["input"]["controlOffsetInMinutes"]) * 60;
        let w = windows(&mut s, pt_minutes(&v["input"]["intervalDuration"]), 1);
        let pairs = scope_pairs(&s, &w[0]).expect("scopes");
        let pair = &pairs["default"];
        assert_eq!(
            iso(pair.experiment_scope.start),
            v["expected"]["experimentScope.start"].as_str().expect("x")
        );
        assert_eq!(
            iso(pair.control_scope.start),
            v["expected"]["controlScope.start"].as_str().expect("c")
        );
        // kanary moves the control's end too (see `scope_pairs`): same length on both sides.
        assert_eq!(
            pair.control_scope.end - pair.control_scope.start,
            pair.experiment_scope.end - pair.experiment_scope.start
        );
        assert_eq!(pair.control_scope.scope, "baseline");
        assert_eq!(pair.experiment_scope.scope, "canary");
    }

    #[test]
    fn interval_rules() {
        let mut s = spec();
        s.start = Some(n());
        s.lifetime_secs = Some(3600);
        // No interval, 0 or longer than the lifetime: one judgement over the lifetime.
        for interval in [None, Some(0), Some(7200)] {
            s.interval_secs = interval;
            let p = Plan::new(&s, n()).expect("plan");
            assert_eq!((p.interval_secs, p.judgements()), (3600, 1), "{interval:?}");
        }
        // Integer division: 60 / 25 = 2 judgements; the last 10 minutes are not judged.
        s.interval_secs = Some(25 * 60);
        let p = Plan::new(&s, n()).expect("plan");
        assert_eq!(p.judgements(), 2);
        assert_eq!(p.windows[1].end, n() + mins(50));
    }

    #[test]
    fn kayenta_lifetime_from_start_and_end_is_whole_minutes() {
        let mut s = spec();
        s.start = Some(n());
        s.end = Some(n() + TimeDelta::seconds(5 * 60 + 59));
        assert_eq!(Plan::new(&s, n()).expect("plan").lifetime_secs, 300);
        s.lifetime_unit_secs = 1;
        assert_eq!(Plan::new(&s, n()).expect("plan").lifetime_secs, 359);
        s.lifetime_unit_secs = 60;
        s.end = Some(n() + TimeDelta::seconds(59));
        let e = Plan::new(&s, n()).expect_err("under a minute");
        assert_eq!(
            e.to_string(),
            "the lifetime must be positive: the end is less than 60 s after the start"
        );
    }

    #[test]
    fn unusable_specs_are_errors() {
        let mut s = spec();
        s.start = Some(n());
        s.end = Some(n());
        assert!(
            Plan::new(&s, n())
                .expect_err("end = start")
                .to_string()
                .contains("is not after")
        );
        s.end = None;
        s.lifetime_secs = Some(60);
        s.lookback_secs = -1;
        assert_eq!(
            Plan::new(&s, n()).expect_err("negative").to_string(),
            "the lookback must not be negative, got -1 s"
        );
        s.lookback_secs = 0;
        s.lifetime_secs = Some(MAX_JUDGEMENTS + 1);
        s.interval_secs = Some(1);
        assert!(Plan::new(&s, n()).is_err());
        s.scopes.clear();
        assert_eq!(
            Plan::new(&s, n()).expect_err("no scope").to_string(),
            "Canary StageExecution configuration must contain at least one scope."
        );
    }

    #[test]
    fn request_minutes_become_seconds() {
        let request: CanaryAnalysisExecutionRequest = serde_json::from_str(
            r#"{"scopes": [{"controlScope": "b", "experimentScope": "c",
                "controlOffsetInMinutes": 10, "startTimeIso": "2026-11-30T10:00:00Z",
                "step": 30, "extendedScopeParams": {"resourceType": "k8s_container"}}],
                "thresholds": {"pass": 90, "marginal": 50},
                "lifetimeDurationMins": 60, "beginAfterMins": 5, "lookbackMins": 15,
                "analysisIntervalMins": 20, "unknownField": true}"#,
        )
        .expect("request");
        let s = AnalysisSpec::from_request(&request).expect("spec");
        assert_eq!(s.scopes[0].name, "default");
        assert_eq!(s.scopes[0].control_offset_secs, 600);
        assert_eq!(
            s.scopes[0].extended_scope_params["resourceType"],
            "k8s_container"
        );
        assert_eq!(s.start, Some(n()));
        assert_eq!(s.end, None);
        assert_eq!(s.step_secs, 30);
        assert_eq!(s.thresholds.pass, Some(90.0));
        assert_eq!(s.lifetime_secs, Some(3600));
        assert_eq!((s.begin_after_secs, s.lookback_secs), (300, 900));
        assert_eq!(s.interval_secs, Some(1200));
        assert_eq!(s.lifetime_unit_secs, 60);

        let no_thresholds: CanaryAnalysisExecutionRequest =
            serde_json::from_str(r#"{"scopes": [{}]}"#).expect("request");
        assert_eq!(
            AnalysisSpec::from_request(&no_thresholds)
                .expect_err("thresholds")
                .to_string(),
            "Execution request must contain thresholds"
        );
        let bad_time: CanaryAnalysisExecutionRequest = serde_json::from_str(
            r#"{"scopes": [{"startTimeIso": "yesterday"}], "thresholds": {}}"#,
        )
        .expect("request");
        assert!(
            AnalysisSpec::from_request(&bad_time)
                .expect_err("time")
                .to_string()
                .starts_with("scopes[0].startTimeIso: 'yesterday' is not an ISO-8601 instant")
        );
    }
}
