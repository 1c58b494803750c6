//! Invariants of the scorer, as property tests.

use kanary_judge::{CanaryAnalysisResult, MetricClassification, ScoreThresholds};
use kanary_scoring::{SummaryClassification, score};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn classification() -> impl Strategy<Value = MetricClassification> {
    use MetricClassification::*;
    prop::sample::select(vec![Pass, High, Low, Nodata, NodataFailMetric, Error])
}

fn results() -> impl Strategy<Value = Vec<CanaryAnalysisResult>> {
    prop::collection::vec(
        (
            classification(),
            prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "d"]), 0..3),
            any::<bool>(),
            any::<bool>(),
        ),
        0..30,
    )
    .prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(
                |(i, (class, groups, critical, muted))| CanaryAnalysisResult {
                    name: format!("m{i}"),
                    id: None,
                    tags: BTreeMap::new(),
                    classification: class,
                    classification_reason: Some(format!("m{i} was classified as {class}")),
                    groups: groups.into_iter().map(String::from).collect(),
                    experiment_metadata: Default::default(),
                    control_metadata: Default::default(),
                    result_metadata: None,
                    // Only High/Low/Nodata can be critical in the judge.
                    critical: critical
                        && matches!(
                            class,
                            MetricClassification::High
                                | MetricClassification::Low
                                | MetricClassification::Nodata
                        ),
                    muted,
                },
            )
            .collect()
    })
}

/// Non-negative weights for some of the groups, summing to at most 100.
fn weights() -> impl Strategy<Value = BTreeMap<String, f64>> {
    prop::collection::vec(
        (prop::sample::select(vec!["a", "b", "c", "e"]), 0.0f64..1.0),
        0..4,
    )
    .prop_map(|v| {
        let total: f64 = v.iter().map(|(_, w)| w).sum();
        let scale = if total > 1.0 { 100.0 / total } else { 100.0 };
        v.into_iter()
            .map(|(g, w)| (g.to_string(), w * scale * 0.999_999))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn score_stays_within_0_and_100(rs in results(), w in weights()) {
        let r = score("NetflixACAJudge-v1.0", rs, &w, ScoreThresholds::default());
        prop_assert!((0.0..=100.0).contains(&r.score.score), "score {}", r.score.score);
        for g in &r.group_scores {
            prop_assert!((0.0..=100.0).contains(&g.score));
        }
    }

    #[test]
    fn a_non_muted_critical_high_always_scores_zero(mut rs in results(), w in weights(), at in 0usize..30) {
        let critical = CanaryAnalysisResult {
            name: "critical".into(),
            id: None,
            tags: BTreeMap::new(),
            classification: MetricClassification::High,
            classification_reason: Some("The metric critical was classified as High (Critical)".into()),
            groups: vec!["a".into()],
            experiment_metadata: Default::default(),
            control_metadata: Default::default(),
            result_metadata: None,
            critical: true,
            muted: false,
        };
        let k = at.min(rs.len());
        rs.insert(k, critical);
        let r = score("NetflixACAJudge-v1.0", rs, &w, ScoreThresholds::default());
        prop_assert_eq!(r.score.score, 0.0);
        prop_assert_eq!(r.score.classification, SummaryClassification::Fail);
        prop_assert!(r.score.classification_reason.starts_with("Canary Failed: "));
    }
}
