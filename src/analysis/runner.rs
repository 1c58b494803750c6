//! Running the judgements of a plan: wait for each window to end, fetch, judge, score,
//! stop early on a score at or below the marginal threshold, decide on the last score.

use super::decision::{EARLY_FAIL_MESSAGE, aggregated_judgement, stops_early};
use super::java::duration_to_string;
use super::model::{CanaryAnalysisExecutionResult, CanaryExecutionResult, CanaryResult};
use super::plan::{AnalysisSpec, Plan, Window, scope_pairs};
use super::sequential::{EARLY_PASS_MESSAGE, Sequential};
use super::{AnalysisError, IntervalError};
use chrono::{DateTime, Utc};
use kanary_judge::{CanaryConfig, MetricSetPair, ScoreThresholds};
use kanary_metrics_sources::http::BoxFuture;
use kanary_metrics_sources::scope::{iso, iso_millis};
use kanary_metrics_sources::{FetchOptions, MetricsSource, fetch_pairs};
use kanary_scoring::CanaryJudgeResult;
use std::time::Duration;

/// `MonitorCanaryTask`'s warning when a control series is short.
pub const FEW_DATA_POINTS_WARNING: &str = "One of the metrics returned fewer than 50 data points, which can reduce confidence in the final canary score.";

/// Below this many control values a judgement warns (Kayenta's `getResultsWarnings`).
pub const MIN_DATA_POINTS: u64 = 50;

/// How long a waiting analysis stays silent at most: progress is reported at least this
/// often.
pub const DEFAULT_PROGRESS_EVERY: Duration = Duration::from_secs(60);

/// The time source: [`SystemClock`] in production, a fake one in tests.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
    /// Resolves after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'_, ()>;
}

/// The wall clock and tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'_, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// What the runner reports while it works.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// The schedule is known.
    Planned {
        /// The plan.
        plan: &'a Plan,
    },
    /// Waiting for a window to end (reported when the wait starts, then at least every
    /// [`Analysis::progress_every`]).
    Waiting {
        /// The window waited for.
        window: &'a Window,
        /// Number of judgements.
        of: usize,
        /// Time left.
        remaining: Duration,
    },
    /// A window was judged.
    Judged {
        /// The window.
        window: &'a Window,
        /// Number of judgements.
        of: usize,
        /// The judge result.
        result: &'a CanaryJudgeResult,
        /// Warnings of this judgement.
        warnings: &'a [String],
        /// Time until the next window ends (`None` after the last, or after an early stop).
        next_in: Option<Duration>,
    },
    /// A score at or below the marginal threshold ended the analysis.
    StoppedEarly {
        /// The window.
        window: &'a Window,
        /// Number of judgements.
        of: usize,
        /// The score.
        score: f64,
        /// Kayenta's message (or, for an early pass, kanary-v1's).
        message: &'a str,
        /// kanary-v1's sequential mode: every metric showed no harm, an early pass (else
        /// an early fail).
        passed: bool,
    },
}

/// Receives [`Progress`] reports.
pub trait Observer: Send + Sync {
    /// One report.
    fn progress(&self, event: &Progress<'_>);
}

/// Ignores every report.
impl Observer for () {
    fn progress(&self, _event: &Progress<'_>) {}
}

/// Everything one analysis needs.
pub struct Analysis<'a> {
    /// What to analyse and when.
    pub spec: &'a AnalysisSpec,
    /// The canary config.
    pub config: &'a CanaryConfig,
    /// Where the metrics come from.
    pub source: &'a dyn MetricsSource,
    /// The time source.
    pub clock: &'a dyn Clock,
    /// Who hears about progress.
    pub observer: &'a dyn Observer,
    /// How fetching runs.
    pub fetch: FetchOptions,
    /// Judgement `i`'s `executionId` is `<execution_id_prefix>-<i>`.
    pub execution_id_prefix: &'a str,
    /// Longest silent wait (see [`Progress::Waiting`]).
    pub progress_every: Duration,
}

/// A finished analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisReport {
    /// The schedule that ran.
    pub plan: Plan,
    /// Kayenta's result object.
    pub result: CanaryAnalysisExecutionResult,
    /// The judgement whose score ended the analysis early, if one did.
    pub stopped_early_at: Option<usize>,
    /// kanary-v1's sequential mode: the judgement at which every metric showed no harm,
    /// which ended the analysis early with a pass.
    pub passed_early_at: Option<usize>,
    /// The metric-set pairs of the last successful judgement (for the HTML report).
    pub last_pairs: Vec<MetricSetPair>,
}

/// Runs `analysis`: Kayenta's `SetupAndExecuteCanariesStage`, `RunCanaryTask`,
/// `MonitorCanaryTask` and `GenerateCanaryAnalysisResultTask` in one loop.
///
/// Kayenta waits in real time before every judgement when the request has no end, even
/// for windows long past; kanary judges window `i` at `max(now, end_i)`: a window wholly
/// in the past at once, a live one as soon as it ends. With an end, Kayenta never waits
/// (except its warm-up wait, which moves no window and which kanary skips); kanary waits
/// only for windows that end in the future.
///
/// A fetch or judge error ends the analysis with [`AnalysisError::Interval`], which
/// carries the result so far with the failed judgement `TERMINAL` and its score 0.0, as
/// Kayenta's result task reads a failed run stage.
pub async fn run(analysis: &Analysis<'_>) -> Result<AnalysisReport, AnalysisError> {
    let clock = analysis.clock;
    let build_time = clock.now();
    let plan = Plan::new(analysis.spec, build_time)?;
    let mut sequential = Sequential::for_analysis(analysis.config, &plan)?;
    preflight(&plan, analysis)?;
    let of = plan.judgements();
    analysis
        .observer
        .progress(&Progress::Planned { plan: &plan });
    let thresholds = analysis.spec.thresholds;
    let judge_thresholds = judge_thresholds(&thresholds);

    let mut executions = Vec::with_capacity(of);
    let mut scores = Vec::with_capacity(of);
    let mut stopped_early_at = None;
    let mut passed_early_at = None;
    let mut last_pairs = Vec::new();
    for (k, window) in plan.windows.iter().enumerate() {
        wait_until(analysis, window, of).await;
        let run_build = clock.now();
        let mut execution = CanaryExecutionResult {
            execution_id: format!("{}-{}", analysis.execution_id_prefix, window.index),
            execution_status: "RUNNING".into(),
            exception: None,
            result: None,
            judgement_start_time_iso: None,
            judgement_start_time_millis: None,
            judgement_end_time_iso: None,
            judgement_end_time_millis: None,
            warnings: Vec::new(),
            metric_set_pair_list_id: None,
            build_time_millis: Some(run_build.timestamp_millis()),
            build_time_iso: Some(iso(&run_build)),
            start_time_millis: Some(run_build.timestamp_millis()),
            start_time_iso: Some(iso(&run_build)),
            end_time_millis: None,
            end_time_iso: None,
            storage_account_name: None,
            configuration_account_name: None,
        };
        let judged = judge_window(
            analysis,
            window,
            judge_thresholds,
            &mut execution,
            sequential.as_mut(),
            of,
        )
        .await;
        let ended = clock.now();
        execution.end_time_millis = Some(ended.timestamp_millis());
        execution.end_time_iso = Some(iso(&ended));
        let result = match judged {
            Ok((result, pairs)) => {
                last_pairs = pairs;
                result
            }
            Err(error) => {
                // `MonitorCanaryTask`: a halted canary run is TERMINAL with its exception;
                // the result task reads its missing score as 0.0.
                execution.execution_status = "TERMINAL".into();
                execution.exception = Some(serde_json::json!({
                    "details": {"errors": [error.to_string()]}
                }));
                executions.push(execution);
                scores.push(0.0);
                let partial = finish(&thresholds, scores, executions, build_time, clock.now());
                return Err(AnalysisError::Interval {
                    index: window.index,
                    of,
                    start: window.start,
                    end: window.end,
                    error: Box::new(error),
                    partial: Box::new(partial),
                });
            }
        };
        let score = result.score.score;
        let warnings = warnings(analysis.source, &result);
        // kanary-v1 across intervals stops on its own rule (see `sequential`); Kayenta's
        // judge on a score at or below marginal.
        let (stop, pass_early) = match &sequential {
            Some(_) => {
                let stop = Sequential::stops_with_fail(analysis.config, &result, &thresholds);
                let pass = !stop && k + 1 < of && Sequential::passes_early(&result);
                (stop, pass)
            }
            None => (stops_early(score, &thresholds), false),
        };
        let stop = stop || pass_early;
        let next_in = match plan.windows.get(k + 1) {
            Some(next) if !stop => Some((next.end - clock.now()).to_std().unwrap_or_default()),
            _ => None,
        };
        analysis.observer.progress(&Progress::Judged {
            window,
            of,
            result: &result,
            warnings: &warnings,
            next_in,
        });
        execution.execution_status = "SUCCEEDED".into();
        execution.warnings = warnings;
        execution.result = Some(CanaryResult {
            canary_duration: Some(duration_to_string(
                (window.end - window.start).num_milliseconds(),
            )),
            judge_result: Some(result),
        });
        executions.push(execution);
        scores.push(score);
        if stop {
            analysis.observer.progress(&Progress::StoppedEarly {
                window,
                of,
                score,
                message: if pass_early {
                    EARLY_PASS_MESSAGE
                } else {
                    EARLY_FAIL_MESSAGE
                },
                passed: pass_early,
            });
            if pass_early {
                passed_early_at = Some(window.index);
            } else {
                stopped_early_at = Some(window.index);
            }
            break;
        }
    }
    let mut result = finish(&thresholds, scores, executions, build_time, clock.now());
    if sequential.is_some() {
        Sequential::explain(&mut result, passed_early_at, stopped_early_at, of);
    }
    Ok(AnalysisReport {
        plan,
        result,
        stopped_early_at,
        passed_early_at,
        last_pairs,
    })
}

/// Refuses, before any wait, a plan whose largest window cannot be fetched: more points
/// per series than the store returns, or than kanary holds. Without this a growing
/// window would fail hours into a live analysis.
fn preflight(plan: &Plan, analysis: &Analysis<'_>) -> Result<(), AnalysisError> {
    let step = analysis.spec.step_secs.max(1);
    let Some(widest) = plan.windows.iter().max_by_key(|w| w.end - w.start) else {
        return Ok(());
    };
    let span = (widest.end - widest.start).num_seconds().max(0);
    let points = usize::try_from(span / step + 1).unwrap_or(usize::MAX);
    let limit = analysis
        .source
        .max_points_per_series()
        .unwrap_or(usize::MAX)
        .min(kanary_metrics_sources::scope::MAX_GRID_POINTS);
    if points > limit {
        return Err(AnalysisError::Invalid(format!(
            "judgement {} covers {} to {}: {points} points per series at a step of {step} s, but {} returns at most {limit}; use a larger step{}",
            widest.index,
            iso(&widest.start),
            iso(&widest.end),
            analysis.source.service_type(),
            if plan.lookback_secs > 0 {
                ""
            } else {
                " or a lookback"
            }
        )));
    }
    Ok(())
}

/// Fetches and judges one window, recording the judgement window (the first scope's
/// control window, as `RunCanaryTask` records it).
async fn judge_window(
    analysis: &Analysis<'_>,
    window: &Window,
    thresholds: ScoreThresholds,
    execution: &mut CanaryExecutionResult,
    sequential: Option<&mut Sequential>,
    of: usize,
) -> Result<(CanaryJudgeResult, Vec<MetricSetPair>), IntervalError> {
    let scopes = scope_pairs(analysis.spec, window)?;
    let first = analysis
        .spec
        .scopes
        .first()
        .and_then(|s| scopes.get(&s.name));
    if let Some(pair) = first {
        let (start, end) = (&pair.control_scope.start, &pair.control_scope.end);
        execution.judgement_start_time_iso = Some(iso_millis(start.timestamp_millis()));
        execution.judgement_start_time_millis = Some(start.timestamp_millis());
        execution.judgement_end_time_iso = Some(iso_millis(end.timestamp_millis()));
        execution.judgement_end_time_millis = Some(end.timestamp_millis());
    }
    let pairs = fetch_pairs(analysis.source, analysis.config, &scopes, analysis.fetch)
        .await
        .map_err(IntervalError::Fetch)?;
    let result = match sequential {
        Some(seq) => seq.judge(analysis.config, &pairs, thresholds, window.index, of),
        None => kanary_scoring::judge(analysis.config, &pairs, thresholds, None),
    }
    .map_err(IntervalError::Judge)?;
    Ok((result, pairs))
}

/// Waits until `window` has ended, reporting progress.
async fn wait_until(analysis: &Analysis<'_>, window: &Window, of: usize) {
    let every = analysis.progress_every.max(Duration::from_secs(1));
    loop {
        let Ok(remaining) = (window.end - analysis.clock.now()).to_std() else {
            return;
        };
        if remaining.is_zero() {
            return;
        }
        analysis.observer.progress(&Progress::Waiting {
            window,
            of,
            remaining,
        });
        analysis.clock.sleep(remaining.min(every)).await;
    }
}

/// The thresholds each judgement is classified with. Kayenta's judge unboxes missing
/// thresholds into a NullPointerException; kanary reads a missing marginal as 0 and a
/// missing pass as the marginal (only the judge result's label depends on them).
fn judge_thresholds(t: &super::model::AnalysisThresholds) -> ScoreThresholds {
    let marginal = t.marginal.unwrap_or(0.0);
    let pass = t.pass.unwrap_or(marginal);
    ScoreThresholds {
        pass,
        marginal: marginal.min(pass),
    }
}

/// `MonitorCanaryTask.getResultsWarnings`: a control side with fewer than 50 values warns,
/// except for Datadog, which returns a fixed number of points whatever the window
/// (kayenta#283).
fn warnings(source: &dyn MetricsSource, result: &CanaryJudgeResult) -> Vec<String> {
    let short = result
        .results
        .iter()
        .any(|r| r.control_metadata.stats.count < MIN_DATA_POINTS);
    if short && source.service_type() != "datadog" {
        vec![FEW_DATA_POINTS_WARNING.to_string()]
    } else {
        Vec::new()
    }
}

/// `GenerateCanaryAnalysisResultTask`.
fn finish(
    thresholds: &super::model::AnalysisThresholds,
    scores: Vec<f64>,
    executions: Vec<CanaryExecutionResult>,
    build_time: DateTime<Utc>,
    end_time: DateTime<Utc>,
) -> CanaryAnalysisExecutionResult {
    let (did_pass, message) = aggregated_judgement(&scores, thresholds);
    CanaryAnalysisExecutionResult {
        did_pass_thresholds: did_pass,
        has_warnings: executions.iter().any(|e| !e.warnings.is_empty()),
        canary_score_message: Some(message),
        canary_scores: scores,
        canary_execution_results: executions,
        build_time_iso: Some(iso(&build_time)),
        start_time_iso: Some(iso(&build_time)),
        end_time_iso: Some(iso(&end_time)),
    }
}
