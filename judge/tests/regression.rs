//! Regression tests named after the issues and behaviours they guard.

use kanary_judge::{
    CanaryConfig, JudgeSettings, MetricClassification, MetricSetPair, judge_pairs,
    mann_whitney_interval,
};
use serde_json::json;

fn judge_one(
    canary: serde_json::Value,
    control: Vec<f64>,
    experiment: Vec<f64>,
) -> kanary_judge::CanaryAnalysisResult {
    judge_with(json!({}), canary, control, experiment)
}

fn judge_with(
    judge: serde_json::Value,
    canary: serde_json::Value,
    control: Vec<f64>,
    experiment: Vec<f64>,
) -> kanary_judge::CanaryAnalysisResult {
    let config: CanaryConfig = serde_json::from_value(json!({
        "judge": judge,
        "metrics": [{"name": "m", "groups": ["g"], "analysisConfigurations": {"canary": canary}}]
    }))
    .expect("config");
    // Built directly: `json!` would turn an infinity into null.
    let pair = MetricSetPair {
        name: "m".into(),
        values: kanary_judge::PairValues {
            control,
            experiment,
        },
        ..Default::default()
    };
    let (_, mut results) = judge_pairs(&config, &[pair], None).expect("judged");
    results.remove(0)
}

/// spinnaker/spinnaker#6278: seven of ten canary points at 100 against an all-1 baseline
/// pass Kayenta's judge (interval lower end 6.8e-5 below the band 0.25 × 99). Kayenta's
/// judge keeps this fault on purpose; the numbers are the ones quoted in the issue.
#[test]
fn spinnaker_6278_kayenta_judge_passes_seventy_fold_increase() {
    let canary = vec![
        100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 1.0, 1.0, 1.0,
    ];
    let baseline = vec![1.0; 10];
    let i = mann_whitney_interval(&canary, &baseline, 0.98).expect("interval");
    assert!((i.lower - 6.825e-5).abs() < 1e-7, "{i:?}");
    assert!((i.estimate - 98.9999).abs() < 1e-3, "{i:?}");
    let r = judge_one(json!({}), baseline, canary);
    assert_eq!(r.classification, MetricClassification::Pass);
    let meta = r.result_metadata.expect("metadata");
    assert!((meta.ratio - 70.3).abs() < 1e-9);
    assert_eq!(meta.lower_confidence, Some(i.lower));
    assert_eq!(meta.estimate, Some(i.estimate));
}

/// Kayenta adds random noise (sd 1e-5 × value) when both sides are constant, so a canary
/// at 1.000001 against a baseline at 1.0 may pass or not by chance. kanary decides as if
/// the noise vanished: a shift of exactly the difference, the same answer every time.
#[test]
fn constant_sides_are_decided_without_noise() {
    for _ in 0..3 {
        let r = judge_one(json!({}), vec![1.0; 5], vec![1.000001; 5]);
        assert_eq!(r.classification, MetricClassification::High);
        let meta = r.result_metadata.expect("metadata");
        assert_eq!(meta.lower_confidence, Some(1.000001 - 1.0));
        assert_eq!(meta.upper_confidence, meta.lower_confidence);
    }
    // ClassifierSuite "Tied Ranks": 10s against 1s is High.
    assert_eq!(
        judge_one(json!({}), vec![1.0; 5], vec![10.0; 5]).classification,
        MetricClassification::High
    );
    // Zeros against ones, direction decrease: Low; mean ratio 0 passes the effect gate.
    assert_eq!(
        judge_one(json!({"direction": "decrease"}), vec![1.0; 5], vec![0.0; 5]).classification,
        MetricClassification::Low
    );
    // Direction gates it as usual.
    assert_eq!(
        judge_one(
            json!({"direction": "decrease"}),
            vec![1.0; 5],
            vec![10.0; 5]
        )
        .classification,
        MetricClassification::Pass
    );
}

/// kayenta#521: users asked for the interval and estimate in the result.
#[test]
fn kayenta_521_interval_and_estimate_are_reported() {
    let r = judge_one(
        json!({}),
        vec![1.0, 2.0, 3.0, 4.0],
        vec![10.0, 20.0, 30.0, 40.0],
    );
    let text = serde_json::to_value(&r).expect("json");
    let meta = r.result_metadata.expect("metadata");
    assert_eq!(
        text["resultMetadata"]["lowerConfidence"],
        json!(meta.lower_confidence.expect("lower"))
    );
    assert!(text["resultMetadata"]["upperConfidence"].is_number());
    assert!(text["resultMetadata"]["estimate"].is_number());
    assert_eq!(text["resultMetadata"]["ratio"], json!(10.0));
}

/// `judge.judgeConfigurations.tolerance` and `.confLevel` are honoured (Kayenta ignores
/// them); the defaults give Kayenta's results.
#[test]
fn judge_configurations_are_honoured() {
    let control: Vec<f64> = (0..30).map(|i| 10.0 + f64::from(i % 7) * 0.3).collect();
    let experiment: Vec<f64> = control.iter().map(|x| x + 1.5).collect();
    let default = judge_with(
        json!({"name": "NetflixACAJudge-v1.0"}),
        json!({}),
        control.clone(),
        experiment.clone(),
    );
    let strict = judge_with(
        json!({"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {"tolerance": 0.25, "confLevel": 0.999999}}),
        json!({}),
        control.clone(),
        experiment.clone(),
    );
    assert_eq!(default.classification, MetricClassification::High);
    let (d, s) = (
        default.result_metadata.expect("d"),
        strict.result_metadata.expect("s"),
    );
    assert!(
        s.lower_confidence < d.lower_confidence,
        "a higher level widens the interval"
    );
    let wide_band = judge_with(
        json!({"judgeConfigurations": {"tolerance": 0.99}}),
        json!({}),
        control,
        experiment,
    );
    assert_eq!(wide_band.classification, MetricClassification::Pass);
    // A tolerance of 1 or more could never flag anything: refused, with the field named.
    let config: CanaryConfig = serde_json::from_value(json!({
        "judge": {"judgeConfigurations": {"tolerance": 25}}, "metrics": [{"name": "m"}]
    }))
    .expect("config");
    let e = judge_pairs(&config, &[], None).expect_err("tolerance 25");
    assert!(
        e.to_string()
            .starts_with("judge.judgeConfigurations.tolerance"),
        "{e}"
    );
    // dredd ignores them.
    assert!(judge_pairs(&config, &[], Some("dredd-v1.0")).is_ok());
    assert_eq!(
        JudgeSettings::default(),
        JudgeSettings {
            tolerance: 0.25,
            conf_level: 0.98
        }
    );
}

/// Infinite values (Prometheus sends "+Inf") give an `Error` with a reason, not an
/// undefined result; a critical metric's Error does not fail the canary (Kayenta).
#[test]
fn infinite_values_are_an_error_classification() {
    let r = judge_one(
        json!({"critical": true}),
        vec![1.0, 2.0, 3.0],
        vec![1.0, f64::INFINITY, 2.0],
    );
    assert_eq!(r.classification, MetricClassification::Error);
    assert!(
        r.classification_reason
            .expect("reason")
            .starts_with("Metric Classification Failed")
    );
    assert!(!r.critical);
    assert!(r.result_metadata.is_none());
    // The stats still describe the data.
    assert_eq!(r.experiment_metadata.stats.max, f64::INFINITY);
}

/// `dredd-v1.0` labels are random in Kayenta; kanary seeds them with the input.
#[test]
fn dredd_reruns_agree() {
    let run = || {
        judge_with(
            json!({"name": "dredd-v1.0"}),
            json!({}),
            vec![1.0, 2.0, 3.0],
            vec![2.0, 3.0, 4.0],
        )
    };
    let first = run();
    for _ in 0..5 {
        assert_eq!(run(), first);
    }
    assert_eq!(first.classification_reason, None);
    assert!(!first.critical);
}

#[test]
fn unknown_judge_and_unknown_metric_are_kayentas_errors() {
    let config: CanaryConfig = serde_json::from_value(json!({
        "judge": {"name": "nope"}, "metrics": [{"name": "m"}]
    }))
    .expect("config");
    let pair: MetricSetPair = serde_json::from_value(json!({"name": "m"})).expect("pair");
    assert_eq!(
        judge_pairs(&config, &[pair], None)
            .expect_err("unknown judge")
            .to_string(),
        "Unable to resolve canary judge 'nope'."
    );
    let pair: MetricSetPair = serde_json::from_value(json!({"name": "other"})).expect("pair");
    assert_eq!(
        judge_pairs(&config, &[pair], Some("NetflixACAJudge-v1.0"))
            .expect_err("unknown metric")
            .to_string(),
        "Could not find metric config for other"
    );
}

/// Missing data: Nodata (critical when the metric is), NodataFailMetric with mustHaveData,
/// Pass with the replace strategy; Kayenta's reason string.
#[test]
fn missing_data_paths() {
    let r = judge_one(
        json!({"critical": true}),
        vec![1.0, 2.0],
        vec![f64::NAN, f64::NAN],
    );
    assert_eq!(
        (r.classification, r.critical),
        (MetricClassification::Nodata, true)
    );
    assert_eq!(
        r.classification_reason.as_deref(),
        Some("Missing data for m")
    );
    assert_eq!(r.result_metadata.expect("meta").ratio, 1.0);
    let r = judge_one(json!({"mustHaveData": true}), vec![1.0, 2.0], vec![]);
    assert_eq!(
        (r.classification, r.critical),
        (MetricClassification::NodataFailMetric, false)
    );
    let r = judge_one(json!({"nanStrategy": "replace"}), vec![1.0, 2.0], vec![]);
    assert_eq!(
        (r.classification, r.classification_reason),
        (MetricClassification::Pass, None)
    );
    // With replace, NaNs count as zeros in the stats.
    let r = judge_one(
        json!({"nanStrategy": "replace"}),
        vec![1.0, 2.0],
        vec![f64::NAN, 4.0],
    );
    assert_eq!(r.experiment_metadata.stats.count, 2);
    assert_eq!(r.experiment_metadata.stats.min, 0.0);
}
