//! Invariants of the judge, as property tests.

use kanary_judge::{
    CanaryMetricConfig, JudgeSettings, MetricClassification, MetricSetPair, PairValues,
    netflix_metric,
};
use proptest::prelude::*;
use serde_json::json;

/// Values a metric store can send: ordinary numbers, zeros, ties, NaN gaps, infinities,
/// extremes.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => -1e3f64..1e3,
        2 => Just(0.0),
        2 => (0i32..4).prop_map(f64::from),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(1e308),
        1 => Just(-1e308),
        1 => Just(5e-324),
        1 => -1e-9f64..1e-9,
    ]
}

fn series() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(value(), 0..40)
}

fn settings() -> impl Strategy<Value = serde_json::Value> {
    (
        prop::sample::select(vec!["increase", "decrease", "either"]),
        prop::sample::select(vec!["remove", "replace"]),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(vec!["meanRatio", "cles"]),
    )
        .prop_map(|(direction, nan, critical, must, outliers, measure)| {
            json!({
                "direction": direction, "nanStrategy": nan, "critical": critical,
                "mustHaveData": must,
                "outliers": {"strategy": if outliers { "remove" } else { "keep" }},
                "effectSize": {"measure": measure}
            })
        })
}

fn metric(canary: serde_json::Value) -> CanaryMetricConfig {
    serde_json::from_value(json!({
        "name": "m", "groups": ["g"], "analysisConfigurations": {"canary": canary}
    }))
    .expect("metric")
}

fn pair(control: Vec<f64>, experiment: Vec<f64>) -> MetricSetPair {
    MetricSetPair {
        name: "m".into(),
        values: PairValues {
            control,
            experiment,
        },
        ..Default::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Any input gives a classification (never a panic), and the result serialises to
    /// JSON that reads back equal (non-finite numbers as strings).
    #[test]
    fn any_input_gives_a_defined_classification(c in series(), e in series(), s in settings()) {
        let r = netflix_metric(&metric(s), &pair(c, e), JudgeSettings::default())
            .expect("valid settings");
        let text = serde_json::to_string(&r).expect("serialise");
        let back: kanary_judge::CanaryAnalysisResult = serde_json::from_str(&text).expect("read back");
        prop_assert_eq!(serde_json::to_string(&back).expect("again"), text);
        if r.classification == MetricClassification::Error {
            prop_assert!(r.result_metadata.is_none());
            prop_assert!(r.classification_reason.is_some());
        }
    }

    /// The order of the values within each series does not change the result.
    #[test]
    fn order_within_a_series_does_not_matter(
        c in series(), e in series(), s in settings(), rot_c in 0usize..40, rot_e in 0usize..40
    ) {
        let m = metric(s);
        let a = netflix_metric(&m, &pair(c.clone(), e.clone()), JudgeSettings::default()).expect("a");
        let mut c2 = c.clone();
        let mut e2 = e.clone();
        c2.reverse();
        e2.reverse();
        if !c2.is_empty() { let k = rot_c % c2.len(); c2.rotate_left(k); }
        if !e2.is_empty() { let k = rot_e % e2.len(); e2.rotate_left(k); }
        let b = netflix_metric(&m, &pair(c2, e2), JudgeSettings::default()).expect("b");
        prop_assert_eq!(serde_json::to_string(&a).expect("a"), serde_json::to_string(&b).expect("b"));
    }

    /// Finite data far apart is always classified High or Low in the direction of the change.
    #[test]
    fn a_large_clean_shift_is_detected(
        base in prop::collection::vec(10.0f64..11.0, 20..60),
        noise in prop::collection::vec(0.0f64..1.0, 20..60),
    ) {
        let shifted: Vec<f64> = noise.iter().map(|x| x + 100.0).collect();
        let r = netflix_metric(&metric(json!({})), &pair(base.clone(), shifted.clone()), JudgeSettings::default()).expect("up");
        prop_assert_eq!(r.classification, MetricClassification::High);
        let r = netflix_metric(&metric(json!({})), &pair(shifted, base), JudgeSettings::default()).expect("down");
        prop_assert_eq!(r.classification, MetricClassification::Low);
    }
}
