//! The per-interval early stop and the final decision, with Kayenta's messages.

use super::java::double_to_string;
use super::model::AnalysisThresholds;

/// `MonitorCanaryTask`: the message stored when an interval's score is at or below the
/// marginal threshold, which ends the analysis early.
pub const EARLY_FAIL_MESSAGE: &str = "Canary score is not above the marginal score threshold.";

/// `GenerateCanaryAnalysisResultTask`: the final decision when nothing was judged.
pub const NO_JUDGEMENTS_MESSAGE: &str = "There were no successful canary judgements to aggregate";

/// Whether an interval's score stops the analysis (`score <= marginal`). Kayenta unboxes
/// a missing marginal threshold into a NullPointerException here; kanary does not stop.
pub fn stops_early(score: f64, thresholds: &AnalysisThresholds) -> bool {
    thresholds.marginal.is_some_and(|m| score <= m)
}

/// `GenerateCanaryAnalysisResultTask.getAggregatedJudgment` over the scores in order:
/// `(didPassThresholds, canaryScoreMessage)` from the last score.
pub fn aggregated_judgement(scores: &[f64], thresholds: &AnalysisThresholds) -> (bool, String) {
    let Some(&last) = scores.last() else {
        return (false, NO_JUDGEMENTS_MESSAGE.to_string());
    };
    let text = double_to_string(last);
    match (thresholds.marginal, thresholds.pass) {
        (None, None) => (true, "No score thresholds were specified.".into()),
        (Some(marginal), _) if last <= marginal => (
            false,
            format!("Final canary score {text} is not above the marginal score threshold."),
        ),
        (_, None) => (true, "No pass score threshold was specified.".into()),
        (_, Some(pass)) if last < pass => (
            false,
            format!("Final canary score {text} is below the pass score threshold."),
        ),
        _ => (
            true,
            format!("Final canary score {text} met or exceeded the pass score threshold."),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Vec<Value> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/kayenta_vectors/generate_canary_analysis_result_task.json"
        );
        let text = std::fs::read_to_string(path).expect("read the vectors");
        serde_json::from_str(&text).expect("vectors are JSON")
    }

    #[test]
    fn kayenta_final_decision_table() {
        let mut checked = 0;
        for v in vectors() {
            let input = &v["input"];
            let Some(score) = input["finalCanaryScore"].as_f64() else {
                continue;
            };
            let thresholds = AnalysisThresholds {
                pass: input["passThreshold"].as_f64(),
                marginal: input["marginalThreshold"].as_f64(),
            };
            let expected = v["expected"]["didPassThresholds"]
                .as_bool()
                .expect("didPassThresholds");
            let (passed, message) = aggregated_judgement(&[score], &thresholds);
            assert_eq!(passed, expected, "{input}: {message}");
            checked += 1;
        }
        assert_eq!(
            checked, 5,
            "the five rows of GenerateCanaryAnalysisResultTaskTest"
        );
    }

    #[test]
    fn final_messages_are_kayentas() {
        let both = AnalysisThresholds {
            pass: Some(95.0),
            marginal: Some(75.0),
        };
        let cases = [
            (
                vec![100.0],
                both,
                true,
                "Final canary score 100.0 met or exceeded the pass score threshold.",
            ),
            (
                vec![100.0, 85.5],
                both,
                false,
                "Final canary score 85.5 is below the pass score threshold.",
            ),
            (
                vec![100.0, 75.0],
                both,
                false,
                "Final canary score 75.0 is not above the marginal score threshold.",
            ),
            // Only the last score counts: an earlier low score does not fail the analysis.
            (
                vec![80.0, 95.0],
                both,
                true,
                "Final canary score 95.0 met or exceeded the pass score threshold.",
            ),
            (
                vec![10.0],
                AnalysisThresholds::default(),
                true,
                "No score thresholds were specified.",
            ),
            (
                vec![80.0],
                AnalysisThresholds {
                    pass: None,
                    marginal: Some(75.0),
                },
                true,
                "No pass score threshold was specified.",
            ),
            (vec![], both, false, NO_JUDGEMENTS_MESSAGE),
        ];
        for (scores, thresholds, passed, message) in cases {
            assert_eq!(
                aggregated_judgement(&scores, &thresholds),
                (passed, message.to_string()),
                "{scores:?}"
            );
        }
    }

    #[test]
    fn early_stop_is_at_or_below_marginal() {
        let t = AnalysisThresholds {
            pass: Some(95.0),
            marginal: Some(75.0),
        };
        assert!(stops_early(75.0, &t));
        assert!(stops_early(0.0, &t));
        assert!(!stops_early(75.01, &t));
        assert!(!stops_early(0.0, &AnalysisThresholds::default()));
    }
}
