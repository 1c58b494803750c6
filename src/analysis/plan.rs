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
