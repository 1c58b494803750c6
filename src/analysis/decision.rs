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
