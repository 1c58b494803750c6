//! One standalone canary analysis (`/standalone_canary_analysis`): [`crate::analysis::run`]
//! with an observer that turns its progress into Kayenta's stage list
//! (`SetupAndExecuteCanariesStage`'s waits and `Run Canary #i` stages, then
//! `generateCanaryAnalysisResultStage`), published through the lease heartbeat.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use kanary_judge::CanaryConfig;
use kanary_metrics_sources::FetchOptions;

use super::model::{
    GENERATE_RESULT_NAME, INTERVAL_WAIT_PREFIX, RUN_CANARY_PREFIX, SETUP_AND_EXECUTE_NAME,
    StandaloneRecord, StandaloneState, WARMUP_WAIT_NAME, exception,
};
use super::{Outcome, Progress, to_value};
use crate::analysis::{
    self, Analysis, AnalysisError, AnalysisSpec, DEFAULT_PROGRESS_EVERY, Observer, Plan,
    Progress as Event, SystemClock,
};
use crate::server::{AppState, Metrics};
use crate::store::{Execution, ExecutionKind, ExecutionStatus, ObjectType, PutMode, StoredObject};

/// The stages of an analysis planned at `now`, all `NOT_STARTED`; the error is Kayenta's
/// message for a request that cannot be planned.
pub fn plan_stages(spec: &AnalysisSpec, now: DateTime<Utc>) -> Result<StandaloneState, String> {
    let plan = Plan::new(spec, now).map_err(|e| e.to_string())?;
    Ok(initial(spec, &plan))
}

fn initial(spec: &AnalysisSpec, plan: &Plan) -> StandaloneState {
    StandaloneState::initial(
        plan.judgements(),
        spec.begin_after_secs > 0,
        spec.end.is_none(),
    )
}

/// Runs the analysis to its final status and state. A resumed analysis keeps the start
/// time of its first run (its windows do not move) and judges again the windows already
/// judged, which have ended, without waiting.
pub(super) async fn run(state: &AppState, execution: &Execution, progress: &Progress) -> Outcome {
    let mut st = StandaloneState::initial(0, false, false);
    let invalid = |st: &mut StandaloneState, message: String| {
        st.finish_running("TERMINAL");
        st.set(SETUP_AND_EXECUTE_NAME, "TERMINAL");
        st.exception = Some(exception(
            "IllegalArgumentException",
            "Unexpected Task Failure",
            &[message],
        ));
        (ExecutionStatus::Terminal, to_value(st))
    };
    let record: StandaloneRecord = match serde_json::from_value(execution.request.clone()) {
        Ok(r) => r,
        Err(e) => {
            return invalid(
                &mut st,
                format!("the stored execution request cannot be read: {e}"),
            );
        }
    };
    let config: CanaryConfig = match serde_json::from_value(record.canary_config.clone()) {
        Ok(c) => c,
        Err(e) => return invalid(&mut st, format!("the canary config cannot be read: {e}")),
    };
    let mut spec = match AnalysisSpec::from_request(&record.execution_request) {
        Ok(s) => s,
        Err(e) => return invalid(&mut st, e.to_string()),
    };
    if spec.start.is_none() {
        // Kayenta's "now" is when the pipeline started: the first claim, even on resume.
        spec.start = execution
            .started_ms
            .and_then(DateTime::<Utc>::from_timestamp_millis);
    }
    st = match Plan::new(&spec, Utc::now()) {
        Ok(plan) => initial(&spec, &plan),
        Err(e) => return invalid(&mut st, e.to_string()),
    };
    let account = match state
        .accounts
        .resolve_metrics(Some(&record.metrics_account_name))
    {
        Ok(a) => a,
        Err(message) => return invalid(&mut st, message),
    };

    let observer = StageObserver {
        progress,
        metrics: &state.metrics,
        state: Mutex::new(st),
        prefix: execution.id.clone(),
        warmup_waits: spec.begin_after_secs > 0 && spec.end.is_none(),
        interval_waits: spec.end.is_none(),
    };
    let source = state.metrics.instrument(&*account.source, &account.name);
    let analysis = Analysis {
        spec: &spec,
        config: &config,
        source: &source,
        clock: &SystemClock,
        observer: &observer,
        fetch: FetchOptions::default(),
        execution_id_prefix: &execution.id,
        progress_every: DEFAULT_PROGRESS_EVERY,
    };
    let outcome = analysis::run(&analysis).await;
    let mut st = observer.take();
    st.set(GENERATE_RESULT_NAME, "SUCCEEDED");
    match outcome {
        Ok(mut report) => {
            // The last judgement's pairs, stored as its pair list so that
            // `GET /standalone_canary_analysis/{id}/report` can draw the series.
            if !report.last_pairs.is_empty() {
                if let Some(last) = report.result.canary_execution_results.last_mut() {
                    last.metric_set_pair_list_id = store_pairs(state, &report.last_pairs).await;
                }
            }
            let status = if report.stopped_early_at.is_some() {
                // `MonitorCanaryTask`: a score at or below marginal ends the pipeline
                // TERMINAL (spinnaker#2697).
                ExecutionStatus::Terminal
            } else {
                ExecutionStatus::Succeeded
            };
            st.set(SETUP_AND_EXECUTE_NAME, status.as_upper());
            st.canary_analysis_execution_result = Some(to_value(&report.result));
            (status, to_value(&st))
        }
        Err(AnalysisError::Interval { index, partial, .. }) => {
            st.finish_running("TERMINAL");
            st.set(&format!("{RUN_CANARY_PREFIX}{index}"), "TERMINAL");
            st.set(SETUP_AND_EXECUTE_NAME, "TERMINAL");
            // The failed run's exception, as `MonitorCanaryTask` copies it.
            st.exception = partial
                .canary_execution_results
                .last()
                .and_then(|e| e.exception.clone());
            st.canary_analysis_execution_result = Some(to_value(&*partial));
            (ExecutionStatus::Terminal, to_value(&st))
        }
        Err(e @ AnalysisError::Invalid(_)) => {
            st.set(GENERATE_RESULT_NAME, "NOT_STARTED");
            invalid(&mut st, e.to_string())
        }
    }
}

/// Stores `pairs` as a metric-set pair list; its id, or `None` (logged) if the store
/// refused it: the analysis result stands without it.
async fn store_pairs(state: &AppState, pairs: &[kanary_judge::MetricSetPair]) -> Option<String> {
    let id = uuid::Uuid::new_v4().to_string();
    let object = StoredObject {
        id: id.clone(),
        name: None,
        applications: Vec::new(),
        body: to_value(&pairs),
        updated_ms: super::now_ms(),
    };
    match state
        .store
        .put_object(ObjectType::MetricSetPairList, &object, PutMode::Create)
        .await
    {
        Ok(()) => Some(id),
        Err(e) => {
            tracing::error!(error = %e, "storing the last judgement's pair list failed");
            None
        }
    }
}

/// Turns the runner's progress into stage statuses and publishes them.
struct StageObserver<'a> {
    progress: &'a Progress,
    /// Where each judgement is recorded.
    metrics: &'a Metrics,
    state: Mutex<StandaloneState>,
    prefix: String,
    /// The warm-up wait happens in real time (no end time: it shifts the windows).
    warmup_waits: bool,
    /// Interval waits exist (no end time).
    interval_waits: bool,
}

impl StageObserver<'_> {
    fn take(&self) -> StandaloneState {
        self.state
            .lock()
            .map(|mut g| std::mem::take(&mut *g))
            .unwrap_or_default()
    }

    /// Marks the first stage of judgement `i` running.
    fn start(&self, st: &mut StandaloneState, i: usize) {
        if i == 1 && self.warmup_waits {
            st.set(WARMUP_WAIT_NAME, "RUNNING");
        } else if self.interval_waits {
            st.set(&format!("{INTERVAL_WAIT_PREFIX}{i}"), "RUNNING");
        } else {
            self.run_stage(st, i, "RUNNING");
        }
    }

    fn run_stage(&self, st: &mut StandaloneState, i: usize, status: &str) {
        let execution_id = format!("{}-{i}", self.prefix);
        if let Some(s) = st.stage(&format!("{RUN_CANARY_PREFIX}{i}")) {
            s.status = status.to_string();
            s.execution_id = Some(execution_id);
        }
    }
}

impl Observer for StageObserver<'_> {
    fn progress(&self, event: &Event<'_>) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        match event {
            Event::Planned { .. } => {
                st.set(SETUP_AND_EXECUTE_NAME, "RUNNING");
                if !self.warmup_waits {
                    // With an end time the warm-up moves no window: kanary skips it.
                    st.set(WARMUP_WAIT_NAME, "SUCCEEDED");
                }
                self.start(&mut st, 1);
            }
            Event::Waiting { window, .. } => {
                if window.index == 1 && self.warmup_waits {
                    st.set(WARMUP_WAIT_NAME, "RUNNING");
                } else {
                    st.set(
                        &format!("{INTERVAL_WAIT_PREFIX}{}", window.index),
                        "RUNNING",
                    );
                }
            }
            Event::Judged {
                window,
                next_in,
                result,
                ..
            } => {
                self.metrics.judged(ExecutionKind::Standalone, result);
                let i = window.index;
                if i == 1 {
                    st.set(WARMUP_WAIT_NAME, "SUCCEEDED");
                }
                st.set(&format!("{INTERVAL_WAIT_PREFIX}{i}"), "SUCCEEDED");
                self.run_stage(&mut st, i, "SUCCEEDED");
                if next_in.is_some() {
                    self.start(&mut st, i + 1);
                }
            }
            // An early fail ends the run stage TERMINAL (Kayenta); kanary-v1's early pass
            // ends it SUCCEEDED.
            Event::StoppedEarly { window, passed, .. } => {
                let status = if *passed { "SUCCEEDED" } else { "TERMINAL" };
                self.run_stage(&mut st, window.index, status);
            }
        }
        self.progress.publish(to_value(&*st));
    }
}
