//! `analysis::run` with the kanary-v1 judge (issue 8, "Across intervals"): growing windows
//! judged in the anytime-valid sequential mode over an in-memory metrics source and a fake
//! clock; the lookback refusal, the early pass, the early fail, the undecided end, and
//! determinism.

#[path = "support/clock.rs"]
mod clock;

use chrono::{DateTime, TimeDelta, Utc};
use clock::FakeClock;
use kanary::analysis::{
    self, Analysis, AnalysisError, AnalysisReport, AnalysisSpec, AnalysisThresholds, ScopeSpec,
};
use kanary_judge::{ALIGNED_ATTRIBUTE, CanaryConfig, CanaryMetricConfig, MetricSet};
use kanary_metrics_sources::http::BoxFuture;
use kanary_metrics_sources::{CanaryScope, FetchOptions, MetricsSource, SourceError};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

fn n() -> DateTime<Utc> {
    "2026-11-30T10:00:00Z".parse().expect("instant")
}

/// SplitMix64 of a key: the same minute of the same series always has the same value,
/// whatever window asks for it.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn uniform(key: u64) -> f64 {
    ((mix(key) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

fn normal(key: u64) -> f64 {
    let r = (-2.0 * uniform(key).ln()).sqrt();
    r * (2.0 * std::f64::consts::PI * uniform(key ^ 0xABCD_EF01)).cos()
}

fn poisson(key: u64, mean: f64) -> f64 {
    let limit = (-mean).exp();
    let (mut k, mut p, mut i) = (0.0, uniform(key), 1u64);
    while p > limit {
        k += 1.0;
        p *= uniform(key.wrapping_add(i.wrapping_mul(0x1234_5678_9ABC)));
        i += 1;
    }
    k
}

/// A query the source answered: scope, window start, window end.
type Call = (String, DateTime<Utc>, DateTime<Utc>);

/// Latency 100 ms × exp(sd · N(0, 1)) per side and minute (the canary's × `latency_ratio`),
/// errors Poisson(`errors_per_min`) a minute (the canary's × `error_ratio`).
struct Source {
    sd: f64,
    errors_per_min: f64,
    latency_ratio: f64,
    error_ratio: f64,
    calls: Mutex<Vec<Call>>,
}

impl Source {
    fn new(sd: f64) -> Source {
        Source {
            sd,
            errors_per_min: 10.0,
            latency_ratio: 1.0,
            error_ratio: 1.0,
            calls: Mutex::new(Vec::new()),
        }
    }
}

impl MetricsSource for Source {
    fn service_type(&self) -> &'static str {
        "prometheus"
    }

    fn account(&self) -> &str {
        "memory"
    }

    fn build_query(
        &self,
        _config: &CanaryConfig,
        metric: &CanaryMetricConfig,
        scope: &CanaryScope,
    ) -> Result<String, SourceError> {
        Ok(format!("{}{{scope={}}}", metric.name(), scope.scope))
    }

    fn query_metrics<'b>(
        &'b self,
        _config: &'b CanaryConfig,
        metric: &'b CanaryMetricConfig,
        scope: &'b CanaryScope,
    ) -> BoxFuture<'b, Result<Vec<MetricSet>, SourceError>> {
        Box::pin(async move {
            self.calls
                .lock()
                .expect("lock")
                .push((scope.scope.clone(), scope.start, scope.end));
            let grid = scope.grid()?;
            let canary = scope.scope == "web-canary";
            let latency = metric.name() == "latency";
            let values = (0..grid.len())
                .map(|k| {
                    let minute = (grid.instant_ms(k) / 60_000) as u64;
                    let key = minute.wrapping_mul(4) + 2 * u64::from(canary) + u64::from(latency);
                    if latency {
                        let ratio = if canary { self.latency_ratio } else { 1.0 };
                        100.0 * ratio * (self.sd * normal(key)).exp()
                    } else {
                        let ratio = if canary { self.error_ratio } else { 1.0 };
                        poisson(key, self.errors_per_min * ratio)
                    }
                })
                .collect();
            let mut attributes = BTreeMap::new();
            attributes.insert(ALIGNED_ATTRIBUTE.to_string(), "true".to_string());
            Ok(vec![MetricSet {
                name: metric.name().to_string(),
                tags: BTreeMap::new(),
                start_time_millis: grid.start_ms(),
                start_time_iso: None,
                end_time_millis: grid.end_ms(),
                end_time_iso: None,
                step_millis: grid.step_ms(),
                values,
                attributes,
            }])
        })
    }
}

fn config() -> CanaryConfig {
    serde_json::from_value(json!({
        "name": "web-sequential",
        "judge": {"name": "kanary-v1", "judgeConfigurations": {}},
        "metrics": [
            {"name": "latency", "query": {"type": "prometheus", "metricName": "latency"},
             "groups": ["latency"], "scopeName": "default",
             "analysisConfigurations": {"canary": {"direction": "increase"}}},
            {"name": "errors", "query": {"type": "prometheus", "metricName": "errors"},
             "groups": ["errors"], "scopeName": "default",
             "analysisConfigurations": {"canary": {"direction": "increase", "kind": "counter"}}}
        ],
        "classifier": {"groupWeights": {"latency": 90, "errors": 10}}
    }))
    .expect("config")
}

/// Two hours from N at a 10-minute interval (12 judgements), all in the past.
fn spec() -> AnalysisSpec {
    AnalysisSpec {
        scopes: vec![ScopeSpec {
            name: "default".into(),
            control_scope: "web-baseline".into(),
            experiment_scope: "web-canary".into(),
            ..ScopeSpec::default()
        }],
        start: Some(n()),
        end: Some(n() + TimeDelta::hours(2)),
        step_secs: 60,
        thresholds: AnalysisThresholds {
            pass: Some(95.0),
            marginal: Some(75.0),
        },
        lifetime_secs: None,
        begin_after_secs: 0,
        lookback_secs: 0,
        interval_secs: Some(600),
        lifetime_unit_secs: 1,
    }
}

fn run(spec: &AnalysisSpec, source: &Source) -> Result<AnalysisReport, AnalysisError> {
    let config = config();
    let clock = FakeClock::at(n() + TimeDelta::hours(3));
    let analysis = Analysis {
        spec,
        config: &config,
        source,
        clock: &clock,
        observer: &(),
        fetch: FetchOptions { concurrency: 2 },
        execution_id_prefix: "seq",
        progress_every: Duration::from_secs(20),
    };
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(analysis::run(&analysis))
}

fn classes(report: &AnalysisReport, judgement: usize) -> Vec<(String, String)> {
    let judged = report.result.canary_execution_results[judgement]
        .result
        .as_ref()
        .and_then(|r| r.judge_result.as_ref())
        .expect("judge result");
    judged
        .results
        .iter()
        .map(|r| (r.name.clone(), r.classification.as_str().to_string()))
        .collect()
}

#[test]
fn a_lookback_is_refused_before_anything_is_fetched() {
    let source = Source::new(0.02);
    let mut s = spec();
    s.lookback_secs = 1200;
    let err = run(&s, &source).expect_err("refused");
    match err {
        AnalysisError::Invalid(text) => {
            assert!(
                text.starts_with("lookbackMins (--lookback): a lookback of 1200 s"),
                "{text}"
            );
            assert!(text.contains("kanary-v1"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    assert!(source.calls.lock().expect("lock").is_empty());
}

#[test]
fn a_clearly_healthy_canary_passes_early_on_growing_windows() {
    // 200 errors a minute: enough events for the rate ratio's confidence sequence to fit
    // within ±10 % within the hour (at 10 a minute it takes longer than two hours).
    let mut source = Source::new(0.02);
    source.errors_per_min = 200.0;
    let report = run(&spec(), &source).expect("analysis");
    let at = report.passed_early_at.expect("an early pass");
    assert!(at < 12, "passed at {at}");
    assert_eq!(report.stopped_early_at, None);
    assert_eq!(report.result.canary_scores.len(), at);
    assert!(report.result.did_pass_thresholds);
    let message = report
        .result
        .canary_score_message
        .as_deref()
        .expect("message");
    assert_eq!(
        message,
        format!(
            "Final canary score 100.0 met or exceeded the pass score threshold. Stopped early \
             at judgement {at} of 12: every metric showed no harm (kanary-v1 sequential mode: \
             each metric's anytime-valid confidence sequence lies within its margin)."
        )
    );
    // Every window starts at the analysis start: the data accumulate.
    let calls = source.calls.lock().expect("lock").clone();
    assert!(calls.iter().all(|(_, start, _)| *start == n()));
    let ends: Vec<_> = calls.iter().map(|c| c.2).collect();
    assert!(ends.contains(&(n() + TimeDelta::minutes(10))));
    // Judgements before the pass were not yet decided, and say so.
    assert_eq!(
        classes(&report, 0)[0],
        ("latency".into(), "Inconclusive".into())
    );
    let judged = report.result.canary_execution_results[at - 1]
        .result
        .as_ref()
        .and_then(|r| r.judge_result.as_ref())
        .expect("judged");
    let meta = judged.results[0].result_metadata.as_ref().expect("meta");
    assert_eq!(meta.test.as_deref(), Some("sequential-normal-mixture+sign"));
    assert_eq!(meta.extra["anytimeValid"], json!(true));
    assert_eq!(meta.extra["look"], json!(at));
}

#[test]
fn doubled_latency_fails_early_with_kayentas_wording() {
    // The normal mixture is self-normalized: ln M_t ≤ t/2 − ½·ln(1 + V_t/ρ), so 10 points
    // (the first judgement) give at most 5 − 2.0 = 3.0, below ln(2·2/0.05) = 4.38 (Holm's
    // first step over 2 metrics, ×2 for the average of the two bets); 20 points reach
    // about 7.7: the second judgement fails, not the first.
    let mut source = Source::new(0.05);
    source.latency_ratio = 2.0;
    let report = run(&spec(), &source).expect("analysis");
    assert_eq!(report.stopped_early_at, Some(2));
    assert_eq!(classes(&report, 0)[0].1, "Inconclusive");
    assert_eq!(report.passed_early_at, None);
    assert!(!report.result.did_pass_thresholds);
    assert_eq!(classes(&report, 1)[0], ("latency".into(), "High".into()));
    let message = report
        .result
        .canary_score_message
        .as_deref()
        .expect("message");
    // Kayenta's wording, unchanged: latency High (0 of its 90), errors undecided.
    assert_eq!(
        message,
        "Final canary score 10.0 is not above the marginal score threshold."
    );
}

#[test]
fn an_undecided_canary_runs_to_the_end_and_names_what_never_decided() {
    // Noisy latency (sd 0.5) over 20 minutes: 4 blocks a side cannot show ±10 %.
    let source = Source::new(0.5);
    let mut s = spec();
    s.end = Some(n() + TimeDelta::minutes(20));
    let report = run(&s, &source).expect("analysis");
    assert_eq!(report.result.canary_scores.len(), 2);
    assert_eq!(report.stopped_early_at, None);
    assert_eq!(report.passed_early_at, None);
    assert_eq!(
        classes(&report, 1)[0],
        ("latency".into(), "Inconclusive".into())
    );
    let message = report
        .result
        .canary_score_message
        .as_deref()
        .expect("message");
    assert!(
        message.contains("Never decided (Inconclusive at the last judgement): latency"),
        "{message}"
    );
    assert!(!report.result.did_pass_thresholds, "{message}");
}

#[test]
fn kayentas_judge_is_unchanged_by_the_sequential_mode() {
    // The same lookback with Kayenta's judge is accepted (sliding windows).
    let source = Source::new(0.02);
    let mut s = spec();
    s.lookback_secs = 1200;
    let mut config = config();
    config.judge = None;
    config.metrics[1]
        .analysis_configurations
        .insert("canary".to_string(), json!({"direction": "increase"}));
    let clock = FakeClock::at(n() + TimeDelta::hours(3));
    let analysis = Analysis {
        spec: &s,
        config: &config,
        source: &source,
        clock: &clock,
        observer: &(),
        fetch: FetchOptions { concurrency: 2 },
        execution_id_prefix: "seq",
        progress_every: Duration::from_secs(20),
    };
    let report = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(analysis::run(&analysis))
        .expect("analysis");
    assert_eq!(report.result.canary_scores.len(), 12);
    assert_eq!(report.passed_early_at, None);
}

#[test]
fn same_input_same_output_bytes() {
    let mut source = Source::new(0.1);
    source.error_ratio = 1.5;
    let a = run(&spec(), &source).expect("analysis");
    let b = run(&spec(), &source).expect("analysis");
    let a = serde_json::to_string(&a.result).expect("json");
    let b = serde_json::to_string(&b.result).expect("json");
    assert_eq!(a, b);
}
