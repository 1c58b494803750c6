//! Kayenta's `ScorerSuite` (`testdata/kayenta_vectors/scorer.json`), plus the scoring rules
//! of `ScoringHelper` that the suite does not cover (muting, thresholds, reasons).

use kanary_judge::{CanaryAnalysisResult, MetricClassification, ScoreThresholds};
use kanary_scoring::{SummaryClassification, score, weighted_sum_score};
use serde_json::Value;
use std::collections::BTreeMap;

fn result(
    name: &str,
    class: MetricClassification,
    groups: &[&str],
    critical: bool,
) -> CanaryAnalysisResult {
    CanaryAnalysisResult {
        name: name.to_string(),
        id: None,
        tags: BTreeMap::new(),
        classification: class,
        classification_reason: Some(format!("reason of {name}")),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        experiment_metadata: Default::default(),
        control_metadata: Default::default(),
        result_metadata: None,
        critical,
        muted: false,
    }
}

fn parse_class(s: &str) -> MetricClassification {
    serde_json::from_value(Value::String(s.to_string())).expect("classification")
}

#[test]
fn scorer_suite() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/kayenta_vectors/scorer.json"
    );
    let vectors: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(path).expect("file")).expect("json");
    assert_eq!(vectors.len(), 13);
    for v in &vectors {
        let name = v["name"].as_str().expect("name");
        let input = &v["input"];
        let weights: BTreeMap<String, f64> =
            serde_json::from_value(input["groupWeights"].clone()).expect("weights");
        let results: Vec<CanaryAnalysisResult> = input["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| {
                let groups: Vec<&str> = r["groups"]
                    .as_array()
                    .expect("groups")
                    .iter()
                    .map(|g| g.as_str().expect("group"))
                    .collect();
                result(
                    r["name"].as_str().expect("name"),
                    parse_class(r["classification"].as_str().expect("class")),
                    &groups,
                    r["critical"].as_bool().expect("critical"),
                )
            })
            .collect();
        let refs: Vec<&CanaryAnalysisResult> = results.iter().collect();
        let b = weighted_sum_score(&refs, &weights);
        let exp = &v["expected"];
        assert_eq!(
            b.summary_score,
            exp["summaryScore"].as_f64().expect("score"),
            "{name}"
        );
        if let Some(n) = exp.get("numGroupScores") {
            assert_eq!(
                b.group_scores.len() as u64,
                n.as_u64().expect("n"),
                "{name}"
            );
        }
        if let Some(gs) = exp.get("groupScores") {
            for g in gs.as_array().expect("groups") {
                let found = b
                    .group_scores
                    .iter()
                    .find(|x| x.name == g["name"].as_str().expect("name"))
                    .expect("group present");
                assert_eq!(found.score, g["score"].as_f64().expect("score"), "{name}");
            }
        }
        if let Some(sorted) = exp.get("groupScoresSorted") {
            let mut got: Vec<f64> = b.group_scores.iter().map(|g| g.score).collect();
            got.sort_by(f64::total_cmp);
            let want: Vec<f64> = sorted
                .as_array()
                .expect("sorted")
                .iter()
                .map(|x| x.as_f64().expect("f64"))
                .collect();
            assert_eq!(got, want, "{name}");
        }
    }
}

#[test]
fn muted_results_are_kept_but_not_scored() {
    use MetricClassification::*;
    let mut muted = result("bad", High, &["g"], true);
    muted.muted = true;
    let results = vec![result("good", Pass, &["g"], false), muted];
    let r = score(
        "NetflixACAJudge-v1.0",
        results,
        &BTreeMap::new(),
        ScoreThresholds::default(),
    );
    assert_eq!(r.results.len(), 2);
    assert_eq!(r.score.score, 100.0);
    assert_eq!(r.score.classification, SummaryClassification::Pass);
    assert_eq!(r.score.classification_reason, "");
}

#[test]
fn critical_failure_reason_is_the_first_critical_result() {
    use MetricClassification::*;
    let results = vec![
        result("a", Pass, &["g"], false),
        result("b", Low, &["g"], true),
        result("c", High, &["g"], true),
    ];
    let r = score("j", results, &BTreeMap::new(), ScoreThresholds::default());
    assert_eq!(r.score.score, 0.0);
    assert_eq!(r.score.classification_reason, "Canary Failed: reason of b");
    assert_eq!(r.score.classification, SummaryClassification::Fail);
    // Group scores are still reported.
    assert_eq!(r.group_scores.len(), 1);
    assert!((r.group_scores[0].score - 100.0 / 3.0).abs() < 1e-12);
}

#[test]
fn half_nodata_forces_zero_and_nodata_fail_metric_does_not_count_there() {
    use MetricClassification::*;
    let r = score(
        "j",
        vec![
            result("a", Pass, &["g"], false),
            result("b", Nodata, &["h"], false),
        ],
        &BTreeMap::new(),
        ScoreThresholds::default(),
    );
    assert_eq!(r.score.score, 0.0);
    assert_eq!(
        r.score.classification_reason,
        "Canary Failed: 50% or more metrics returned NODATA"
    );
    let r = score(
        "j",
        vec![
            result("a", Pass, &["g"], false),
            result("b", NodataFailMetric, &["g"], false),
        ],
        &BTreeMap::new(),
        ScoreThresholds::default(),
    );
    assert_eq!(r.score.score, 50.0);
}

#[test]
fn thresholds_decide_and_equal_marginal_is_marginal() {
    use MetricClassification::*;
    let t = ScoreThresholds {
        pass: 90.0,
        marginal: 50.0,
    };
    let two = |a, b| vec![result("a", a, &["g"], false), result("b", b, &["g"], false)];
    assert_eq!(
        score("j", two(Pass, High), &BTreeMap::new(), t)
            .score
            .classification,
        SummaryClassification::Marginal
    );
    assert_eq!(
        score("j", two(Pass, Pass), &BTreeMap::new(), t)
            .score
            .classification,
        SummaryClassification::Pass
    );
    assert_eq!(
        score("j", two(Low, High), &BTreeMap::new(), t)
            .score
            .classification,
        SummaryClassification::Fail
    );
}

#[test]
fn unweighted_groups_share_the_remainder_and_weights_are_not_normalised() {
    use MetricClassification::*;
    let results = [
        result("a", Pass, &["w"], false),
        result("b", Pass, &["u1"], false),
        result("c", High, &["u2"], false),
    ];
    let refs: Vec<&CanaryAnalysisResult> = results.iter().collect();
    // w = 40, absent group "gone" = 20 still counts in the sum; u1 and u2 share 40: 20 each.
    let weights = BTreeMap::from([("w".to_string(), 40.0), ("gone".to_string(), 20.0)]);
    assert_eq!(weighted_sum_score(&refs, &weights).summary_score, 60.0);
    // Weights over 100 push the score over 100.
    let weights = BTreeMap::from([("w".to_string(), 150.0)]);
    let only_w = [&results[0]];
    assert_eq!(weighted_sum_score(&only_w, &weights).summary_score, 150.0);
}

#[test]
fn no_results_score_zero() {
    let b = weighted_sum_score(&[], &BTreeMap::new());
    assert_eq!(b.summary_score, 0.0);
    assert_eq!(b.reason, None);
}

/// The summary's last bits decide the half-up rounding, so the arithmetic follows
/// `WeightedSumScorer` operation for operation: (1/8)·100 = 12.5, 12.5 · (29/100) =
/// 3.6249999999999996, which rounds to 3.62 (100·1/8·29/100 would give 3.625 → 3.63).
#[test]
fn summary_arithmetic_is_kayentas_operation_order() {
    use MetricClassification::*;
    let mut results = vec![result("p", Pass, &["g"], false)];
    for i in 0..7 {
        results.push(result(&format!("h{i}"), High, &["g"], false));
    }
    let refs: Vec<&CanaryAnalysisResult> = results.iter().collect();
    let weights = BTreeMap::from([("g".to_string(), 29.0)]);
    assert_eq!(weighted_sum_score(&refs, &weights).summary_score, 3.62);
    // Group scores are written unrounded, as Kayenta computes them.
    let three = [
        result("a", Pass, &["g"], false),
        result("b", High, &["g"], false),
        result("c", Low, &["g"], false),
    ];
    let refs: Vec<&CanaryAnalysisResult> = three.iter().collect();
    let b = weighted_sum_score(&refs, &BTreeMap::new());
    assert_eq!(b.group_scores[0].score, 33.33333333333333);
    assert_eq!(b.summary_score, 33.33);
}
