//! Kayenta's `CanaryJudgeResult` and its parts (`kayenta-core/.../canary/results/`).

use kanary_judge::float;
use kanary_judge::{CanaryAnalysisResult, ScoreThresholds};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The judge's whole answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryJudgeResult {
    /// The judge that ran.
    pub judge_name: String,
    /// Every metric's result, muted ones included, in pair order.
    pub results: Vec<CanaryAnalysisResult>,
    /// One score per group.
    pub group_scores: Vec<GroupScore>,
    /// The summary score and verdict.
    pub score: SummaryScore,
}

/// One group's score (not rounded). `classification` and `classificationReason` are always
/// empty, as in Kayenta.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupScore {
    /// Group name.
    pub name: String,
    /// 100 × passes / (passes + highs + lows + NodataFailMetric); 0 when none counted.
    #[serde(with = "float::double")]
    pub score: f64,
    /// Always `""`.
    #[serde(default)]
    pub classification: String,
    /// Always `""`.
    #[serde(default)]
    pub classification_reason: String,
}

/// The summary score and its classification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryScore {
    /// 0–100 (more when weights sum over 100), rounded half up to 2 decimals.
    #[serde(with = "float::double")]
    pub score: f64,
    /// Pass / Marginal / Fail against the request's thresholds.
    pub classification: SummaryClassification,
    /// `""`, or `Canary Failed: ...` when a rule forced the score to 0.
    #[serde(default)]
    pub classification_reason: String,
}

/// Summary labels (`BaseScoreClassifier.scala`); only Pass, Marginal and Fail are produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SummaryClassification {
    /// score ≥ pass.
    Pass,
    /// marginal ≤ score < pass.
    Marginal,
    /// score < marginal.
    Fail,
    /// Never produced by the judges; accepted on input.
    Nodata,
    /// Never produced by the judges; accepted on input.
    Error,
}

impl SummaryClassification {
    /// `ThresholdScoreClassifier`: `score >= pass` Pass, else `score >= marginal` Marginal,
    /// else Fail.
    pub fn from_score(score: f64, t: ScoreThresholds) -> SummaryClassification {
        if score >= t.pass {
            SummaryClassification::Pass
        } else if score >= t.marginal {
            SummaryClassification::Marginal
        } else {
            SummaryClassification::Fail
        }
    }

    /// The label as Kayenta writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            SummaryClassification::Pass => "Pass",
            SummaryClassification::Marginal => "Marginal",
            SummaryClassification::Fail => "Fail",
            SummaryClassification::Nodata => "Nodata",
            SummaryClassification::Error => "Error",
        }
    }
}

impl fmt::Display for SummaryClassification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
