//! Kayenta-compatible canary scoring.
//!
//! Turns per-metric results into group scores, a summary score of 0–100 and a verdict,
//! exactly as Kayenta's `ScoringHelper`, `WeightedSumScorer` and
//! `ThresholdScoreClassifier` do, and builds Kayenta's `CanaryJudgeResult`. Pure and
//! synchronous, like `kanary-judge`.
//!
//! ```
//! use kanary_judge::{CanaryConfig, MetricSetPair, ScoreThresholds};
//!
//! let config: CanaryConfig = serde_json::from_str(
//!     r#"{"metrics": [{"name": "cpu", "groups": ["system"]}],
//!         "classifier": {"groupWeights": {"system": 100}}}"#)?;
//! let pairs: Vec<MetricSetPair> = serde_json::from_str(
//!     r#"[{"name": "cpu", "values": {"control": [1.0, 1.2, 0.9, 1.1],
//!                                    "experiment": [1.1, 1.0, 0.95, 1.15]}}]"#)?;
//! let result = kanary_scoring::judge(&config, &pairs, ScoreThresholds::default(), None)?;
//! assert_eq!(result.score.score, 100.0);
//! assert_eq!(result.score.classification.as_str(), "Pass");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod result;
mod weighted_sum;

pub use kanary_judge::JudgeError;
pub use result::{CanaryJudgeResult, GroupScore, SummaryClassification, SummaryScore};
pub use weighted_sum::{ScoreBreakdown, round_half_up_2, weighted_sum_score};

use kanary_judge::{
    CanaryAnalysisResult, CanaryConfig, MetricClassification, MetricSetPair, ScoreThresholds,
};
use std::collections::BTreeMap;

/// Judges every pair and scores the results: Kayenta's judge stage, end to end.
///
/// `override_judge` plays the role of Kayenta's `overrideJudgeName`; `None` uses the
/// config's `judge.name` (or the default judge).
pub fn judge(
    config: &CanaryConfig,
    pairs: &[MetricSetPair],
    thresholds: ScoreThresholds,
    override_judge: Option<&str>,
) -> Result<CanaryJudgeResult, JudgeError> {
    let (kind, results) = kanary_judge::judge_pairs(config, pairs, override_judge)?;
    Ok(score(
        kind.name(),
        results,
        &config.group_weights(),
        thresholds,
    ))
}

/// `ScoringHelper.score`: leaves muted results out of the score (but keeps them in the
/// output), computes the weighted sum, classifies it against the thresholds.
///
/// kanary-v1's `Inconclusive` (issue 8): while any non-muted metric is Inconclusive, the
/// score is capped at the midpoint of the marginal and pass thresholds ([`inconclusive_cap`])
/// and the reason names the undecided metrics, so that no client reads "not enough data"
/// as a pass. A critical failure or the Nodata rule (score 0) keeps its own reason.
pub fn score(
    judge_name: &str,
    results: Vec<CanaryAnalysisResult>,
    group_weights: &BTreeMap<String, f64>,
    thresholds: ScoreThresholds,
) -> CanaryJudgeResult {
    let not_muted: Vec<&CanaryAnalysisResult> = results.iter().filter(|r| !r.muted).collect();
    let mut breakdown = weighted_sum_score(&not_muted, group_weights);
    let mut classification = SummaryClassification::from_score(breakdown.summary_score, thresholds);
    let undecided: Vec<&str> = not_muted
        .iter()
        .filter(|r| r.classification == MetricClassification::Inconclusive)
        .map(|r| r.name.as_str())
        .collect();
    if !undecided.is_empty() && breakdown.reason.is_none() {
        let cap = inconclusive_cap(thresholds);
        breakdown.summary_score = breakdown.summary_score.min(cap);
        classification = SummaryClassification::from_score(breakdown.summary_score, thresholds);
        // Thresholds with pass == marginal leave no room below pass: still not a Pass.
        if classification == SummaryClassification::Pass {
            classification = SummaryClassification::Marginal;
        }
        let mut names: Vec<&str> = Vec::new();
        for n in undecided {
            if !names.contains(&n) {
                names.push(n);
            }
        }
        breakdown.reason = Some(format!(
            "Inconclusive: not enough data to decide {}; the score is capped at {}",
            names.join(", "),
            cap
        ));
    }
    CanaryJudgeResult {
        judge_name: judge_name.to_string(),
        group_scores: breakdown
            .group_scores
            .iter()
            .map(|g| GroupScore {
                name: g.name.clone(),
                score: g.score,
                classification: String::new(),
                classification_reason: String::new(),
            })
            .collect(),
        score: SummaryScore {
            score: breakdown.summary_score,
            classification,
            classification_reason: breakdown.reason.unwrap_or_default(),
        },
        results,
    }
}

/// The highest score while a metric is Inconclusive: the midpoint of the marginal and pass
/// thresholds, rounded half up to 2 decimals (85 with Kayenta's 75 / 95).
pub fn inconclusive_cap(thresholds: ScoreThresholds) -> f64 {
    round_half_up_2(0.5 * thresholds.marginal + 0.5 * thresholds.pass)
}
