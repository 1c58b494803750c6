//! kanary-v1 across intervals (issue 8): when the config's judge is kanary-v1, each
//! judgement of a multi-interval analysis uses the anytime-valid sequential mode
//! ([`kanary_judge::kanary_v1::judge_kanary_v1_sequential`]) on the data accumulated since
//! the analysis start, and the analysis stops on its own rule:
//!
//! - **Fail early** when the score with every undecided (Inconclusive) metric counted as
//!   Pass would still be at or below the marginal threshold (this includes a critical
//!   High / Low, which scores 0): more data can only settle the undecided metrics, so the
//!   outcome cannot improve past marginal. The result keeps Kayenta's wording ("Final
//!   canary score … is not above the marginal score threshold.").
//! - **Pass early** when every non-muted metric is Pass ("no harm": each metric's
//!   confidence sequence lies within its margin). The confidence sequences hold at every
//!   look at once, so this early pass keeps the stated error rate. The result is a
//!   success whose `canaryScoreMessage` says why it ended early.
//! - Otherwise go on; the last judgement decides, and its message names the metrics that
//!   never decided.
//!
//! Single judgements (`kanary judge`, `POST /canary`, `POST /judge`) keep fixed-sample
//! p-values: a client that calls `POST /canary` once per interval gets no protection
//! against peeking from kanary.

use super::AnalysisError;
use super::model::{AnalysisThresholds, CanaryAnalysisExecutionResult};
use super::plan::Plan;
use kanary_judge::kanary_v1::{Look, SequentialState, judge_kanary_v1_sequential};
use kanary_judge::{
    CanaryConfig, JudgeError, JudgeKind, KANARY_V1_JUDGE, MetricClassification, MetricSetPair,
    ScoreThresholds,
};
use kanary_scoring::CanaryJudgeResult;

/// The progress message of an early pass.
pub const EARLY_PASS_MESSAGE: &str = "Every metric showed no harm: each anytime-valid confidence sequence lies within its metric's margin.";

/// The sequential state of one kanary-v1 analysis.
#[derive(Debug, Clone, Default)]
pub struct Sequential {
    state: SequentialState,
}

impl Sequential {
    /// `Some` when the config's judge is kanary-v1. A lookback is refused: the sequential
    /// mode needs every judgement to see the data since the analysis start.
    pub fn for_analysis(
        config: &CanaryConfig,
        plan: &Plan,
    ) -> Result<Option<Sequential>, AnalysisError> {
        if JudgeKind::resolve(config.judge_name()).ok() != Some(JudgeKind::KanaryV1) {
            return Ok(None);
        }
        if plan.lookback_secs > 0 {
            return Err(AnalysisError::Invalid(format!(
                "lookbackMins (--lookback): a lookback of {} s cannot be used with the \
                 {KANARY_V1_JUDGE} judge, whose multi-interval mode judges all the data since \
                 the analysis start with anytime-valid p-values; remove the lookback",
                plan.lookback_secs
            )));
        }
        Ok(Some(Sequential::default()))
    }

    /// Judges and scores look `index` of `of`.
    pub fn judge(
        &mut self,
        config: &CanaryConfig,
        pairs: &[MetricSetPair],
        thresholds: ScoreThresholds,
        index: usize,
        of: usize,
    ) -> Result<CanaryJudgeResult, JudgeError> {
        let results =
            judge_kanary_v1_sequential(config, pairs, &mut self.state, Look { index, of })?;
        Ok(kanary_scoring::score(
            KANARY_V1_JUDGE,
            results,
            &config.group_weights(),
            thresholds,
        ))
    }

    /// The score this judgement would have with every Inconclusive metric counted as Pass.
    pub fn optimistic_score(config: &CanaryConfig, result: &CanaryJudgeResult) -> f64 {
        let mut results = result.results.clone();
        for r in &mut results {
            if r.classification == MetricClassification::Inconclusive {
                r.classification = MetricClassification::Pass;
                r.classification_reason = None;
            }
        }
        kanary_scoring::score(
            KANARY_V1_JUDGE,
            results,
            &config.group_weights(),
            ScoreThresholds::default(),
        )
        .score
        .score
    }

    /// Fail early: the optimistic score is at or below the marginal threshold.
    pub fn stops_with_fail(
        config: &CanaryConfig,
        result: &CanaryJudgeResult,
        thresholds: &AnalysisThresholds,
    ) -> bool {
        thresholds
            .marginal
            .is_some_and(|m| Self::optimistic_score(config, result) <= m)
    }

    /// Pass early: every non-muted metric is Pass (and there is one).
    pub fn passes_early(result: &CanaryJudgeResult) -> bool {
        let mut live = result.results.iter().filter(|r| !r.muted).peekable();
        live.peek().is_some() && live.all(|r| r.classification == MetricClassification::Pass)
    }

    /// Adds to the final message why the analysis ended where it did: an early pass says
    /// so; an analysis that ran to its end names the metrics that never decided; an early
    /// fail keeps Kayenta's message unchanged.
    pub fn explain(
        result: &mut CanaryAnalysisExecutionResult,
        passed_early_at: Option<usize>,
        stopped_early_at: Option<usize>,
        of: usize,
    ) {
        let extra = match passed_early_at {
            _ if stopped_early_at.is_some() => None,
            Some(i) => Some(format!(
                "Stopped early at judgement {i} of {of}: every metric showed no harm \
                 ({KANARY_V1_JUDGE} sequential mode: each metric's anytime-valid confidence \
                 sequence lies within its margin)."
            )),
            None => {
                let last = result
                    .canary_execution_results
                    .last()
                    .and_then(|e| e.result.as_ref())
                    .and_then(|r| r.judge_result.as_ref());
                let mut names: Vec<&str> = Vec::new();
                for r in last.into_iter().flat_map(|j| &j.results) {
                    if !r.muted
                        && r.classification == MetricClassification::Inconclusive
                        && !names.contains(&r.name.as_str())
                    {
                        names.push(&r.name);
                    }
                }
                (!names.is_empty()).then(|| {
                    format!(
                        "Never decided (Inconclusive at the last judgement): {}.",
                        names.join(", ")
                    )
                })
            }
        };
        if let Some(extra) = extra {
            let message = result.canary_score_message.get_or_insert_with(String::new);
            if !message.is_empty() {
                message.push(' ');
            }
            message.push_str(&extra);
        }
    }
}
