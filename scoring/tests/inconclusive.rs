//! kanary-v1's Inconclusive in scoring (issue 8): not counted in group totals, like Nodata;
//! caps the summary at the midpoint of marginal and pass with a reason naming the undecided
//! metrics; a critical failure still fails.

use kanary_judge::{
    CanaryAnalysisResult, CanaryConfig, MetricClassification, MetricSetPair, ScoreThresholds,
};
use kanary_scoring::{SummaryClassification, inconclusive_cap, score};
use proptest::prelude::*;
use serde_json::json;
use std::collections::BTreeMap;

fn result(
    name: &str,
    class: MetricClassification,
    group: &str,
    critical: bool,
) -> CanaryAnalysisResult {
    CanaryAnalysisResult {
        name: name.to_string(),
        id: None,
        tags: BTreeMap::new(),
        classification: class,
        classification_reason: Some(format!("reason of {name}")),
        groups: vec![group.to_string()],
        experiment_metadata: Default::default(),
        control_metadata: Default::default(),
        result_metadata: None,
        critical,
        muted: false,
    }
}

#[test]
fn inconclusive_is_not_counted_and_caps_the_score() {
    use MetricClassification::*;
    let results = vec![
        result("latency", Pass, "perf", false),
        result("errors", Inconclusive, "perf", false),
        result("cpu", Pass, "system", false),
        result("errors", Inconclusive, "system", false),
        result("disk", Inconclusive, "system", false),
    ];
    let r = score(
        "kanary-v1",
        results,
        &BTreeMap::new(),
        ScoreThresholds::default(),
    );
    // Both groups score 100 (the Inconclusive ones are not counted)...
    assert_eq!(
        r.group_scores.iter().map(|g| g.score).collect::<Vec<_>>(),
        vec![100.0, 100.0]
    );
    // ...but the summary is capped at (75 + 95) / 2.
    assert_eq!(r.score.score, 85.0);
    assert_eq!(r.score.classification, SummaryClassification::Marginal);
    assert_eq!(
        r.score.classification_reason,
        "Inconclusive: not enough data to decide errors, disk; the score is capped at 85"
    );
}

#[test]
fn muted_inconclusive_does_not_cap_and_low_scores_stay() {
    use MetricClassification::*;
    let mut muted = result("errors", Inconclusive, "g", false);
    muted.muted = true;
    let r = score(
        "kanary-v1",
        vec![result("a", Pass, "g", false), muted],
        &BTreeMap::new(),
        ScoreThresholds::default(),
    );
    assert_eq!(r.score.score, 100.0);
    assert_eq!(r.score.classification_reason, "");
    // A score already below the cap keeps its value; the reason still names the metric.
    let r = score(
        "kanary-v1",
        vec![
            result("a", Pass, "g", false),
            result("b", High, "g", false),
            result("c", Inconclusive, "g", false),
        ],
        &BTreeMap::new(),
        ScoreThresholds::default(),
    );
    assert_eq!(r.score.score, 50.0);
    assert_eq!(r.score.classification, SummaryClassification::Fail);
    assert!(r.score.classification_reason.contains("decide c"));
}

#[test]
fn a_critical_failure_still_fails_with_its_reason() {
    use MetricClassification::*;
    let r = score(
        "kanary-v1",
        vec![
            result("a", High, "g", true),
            result("b", Inconclusive, "g", false),
        ],
        &BTreeMap::new(),
        ScoreThresholds::default(),
    );
    assert_eq!(r.score.score, 0.0);
    assert_eq!(r.score.classification_reason, "Canary Failed: reason of a");
}

#[test]
fn equal_thresholds_cannot_turn_inconclusive_into_pass() {
    let t = ScoreThresholds {
        pass: 80.0,
        marginal: 80.0,
    };
    assert_eq!(inconclusive_cap(t), 80.0);
    let r = score(
        "kanary-v1",
        vec![result("a", MetricClassification::Inconclusive, "g", false)],
        &BTreeMap::new(),
        t,
    );
    assert_eq!(r.score.classification, SummaryClassification::Marginal);
}

#[test]
fn kayenta_426_end_to_end_is_marginal_not_pass() {
    let config: CanaryConfig = serde_json::from_value(json!({
        "judge": {"name": "kanary-v1"},
        "metrics": [
            {"name": "errors", "groups": ["g"], "analysisConfigurations": {"canary": {"kind": "counter"}}},
            {"name": "latency", "groups": ["g"]}
        ]
    }))
    .expect("config");
    let pairs: Vec<MetricSetPair> = serde_json::from_value(json!([
        {"name": "errors", "values": {"control": [0, 0, 0, 0, 0, 0], "experiment": [0, 1, 2, 1, 0, 0]}},
        {"name": "latency", "values": {"control": [5, 5, 5], "experiment": [5, 5, 5]}}
    ]))
    .expect("pairs");
    let r =
        kanary_scoring::judge(&config, &pairs, ScoreThresholds::default(), None).expect("judged");
    assert_eq!(r.judge_name, "kanary-v1");
    assert_eq!(r.results[0].classification.as_str(), "Inconclusive");
    assert_eq!(r.score.score, 85.0);
    assert_eq!(r.score.classification, SummaryClassification::Marginal);
}

fn class() -> impl Strategy<Value = MetricClassification> {
    use MetricClassification::*;
    prop::sample::select(vec![
        Pass,
        High,
        Low,
        Nodata,
        NodataFailMetric,
        Error,
        Inconclusive,
    ])
}

proptest! {
    #[test]
    fn any_inconclusive_is_never_a_pass(
        classes in prop::collection::vec((class(), any::<bool>()), 1..20),
        pass in 50.0..100.0f64,
        gap in 0.0..50.0f64,
    ) {
        let results: Vec<CanaryAnalysisResult> = classes
            .iter()
            .enumerate()
            .map(|(i, (c, crit))| result(&format!("m{i}"), *c, if i % 2 == 0 { "a" } else { "b" }, *crit))
            .collect();
        let any_inconclusive = results.iter().any(|r| r.classification == MetricClassification::Inconclusive);
        let r = score("kanary-v1", results, &BTreeMap::new(), ScoreThresholds { pass, marginal: pass - gap });
        prop_assert!((0.0..=100.0).contains(&r.score.score));
        if any_inconclusive {
            prop_assert_ne!(r.score.classification, SummaryClassification::Pass);
        }
    }
}
