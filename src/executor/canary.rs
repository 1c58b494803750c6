//! One `/canary` execution: Kayenta's standard canary pipeline (`setupContext`,
//! `fetchControl<i>`/`fetchExperiment<i>`, `mixMetrics`, `judge`) as one task whose
//! stage statuses are published as it goes.

use std::collections::BTreeMap;

use kanary_judge::{CanaryConfig, ScoreThresholds};
use kanary_metrics_sources::{CanaryScopePair, FetchOptions, SourceError, fetch_pairs};
use serde_json::json;

use super::model::{
    CanaryRecord, CanaryState, STAGE_FETCH_CONTROL, STAGE_FETCH_EXPERIMENT, STAGE_JUDGE, STAGE_MIX,
    STAGE_SETUP, exception,
};
use super::{Outcome, Progress, now_ms, to_value};
use crate::analysis::{AnalysisThresholds, duration_to_string};
use crate::server::AppState;
use crate::store::{Execution, ExecutionKind, ExecutionStatus, ObjectType, PutMode, StoredObject};

/// Orca's `error` text for a task that threw.
const TASK_FAILURE: &str = "Unexpected Task Failure";

/// Runs the execution to its final status and state. A resumed execution starts over
/// (its pair list is fetched again and stored under a new id).
pub(super) async fn run(state: &AppState, execution: &Execution, progress: &Progress) -> Outcome {
    let mut st = CanaryState::initial(0);
    let fail = |st: &mut CanaryState, stage: &str, kind: &str, message: String| {
        st.set(stage, "terminal");
        st.exception = Some(exception(kind, TASK_FAILURE, &[message]));
        (ExecutionStatus::Terminal, to_value(st))
    };
    let record: CanaryRecord = match serde_json::from_value(execution.request.clone()) {
        Ok(r) => r,
        Err(e) => {
            return fail(
                &mut st,
                STAGE_SETUP,
                "IllegalStateException",
                format!("the stored execution request cannot be read: {e}"),
            );
        }
    };
    let config: CanaryConfig = match serde_json::from_value(record.config.clone()) {
        Ok(c) => c,
        Err(e) => {
            return fail(
                &mut st,
                STAGE_SETUP,
                "IllegalArgumentException",
                format!("the canary config cannot be read: {e}"),
            );
        }
    };
    st = CanaryState::initial(config.metrics.len());
    st.set(STAGE_SETUP, "running");
    progress.publish(to_value(&st));

    // setupContext: the metrics account (it may have been removed since the POST).
    let account = match state
        .accounts
        .resolve_metrics(Some(&record.metrics_account_name))
    {
        Ok(a) => a,
        Err(message) => return fail(&mut st, STAGE_SETUP, "IllegalArgumentException", message),
    };
    let scopes: BTreeMap<String, CanaryScopePair> = record
        .execution_request
        .scopes
        .iter()
        .flatten()
        .filter_map(|(name, pair)| {
            Some((
                name.clone(),
                CanaryScopePair {
                    control_scope: pair.control_scope.clone()?,
                    experiment_scope: pair.experiment_scope.clone()?,
                },
            ))
        })
        .collect();
    st.set(STAGE_SETUP, "succeeded");
    st.set(STAGE_FETCH_CONTROL, "running");
    st.set(STAGE_FETCH_EXPERIMENT, "running");
    progress.publish(to_value(&st));

    // fetchControl<i> / fetchExperiment<i>, then the mixer.
    let source = state.metrics.instrument(&*account.source, &account.name);
    let fetched = fetch_pairs(&source, &config, &scopes, FetchOptions::default()).await;
    let pairs = match fetched {
        Ok(p) => p,
        Err(e) => {
            let kind = source_exception_type(&e);
            st.set(STAGE_FETCH_CONTROL, "terminal");
            st.set(STAGE_FETCH_EXPERIMENT, "terminal");
            st.exception = Some(exception(kind, TASK_FAILURE, &[e.to_string()]));
            return (ExecutionStatus::Terminal, to_value(&st));
        }
    };
    st.set(STAGE_FETCH_CONTROL, "succeeded");
    st.set(STAGE_FETCH_EXPERIMENT, "succeeded");
    st.set(STAGE_MIX, "running");
    progress.publish(to_value(&st));

    // mixMetrics: the pair list is stored; its id is the stage's output.
    let list_id = uuid::Uuid::new_v4().to_string();
    let object = StoredObject {
        id: list_id.clone(),
        name: None,
        applications: Vec::new(),
        body: to_value(&pairs),
        updated_ms: now_ms(),
    };
    if let Err(e) = state
        .store
        .put_object(ObjectType::MetricSetPairList, &object, PutMode::Create)
        .await
    {
        tracing::error!(error = %e, "storing the metric set pair list failed");
        return fail(
            &mut st,
            STAGE_MIX,
            "StorageException",
            "the metric set pair list could not be stored; the server log has the details"
                .to_string(),
        );
    }
    st.metric_set_pair_list_id = Some(list_id);
    st.set(STAGE_MIX, "succeeded");
    st.set(STAGE_JUDGE, "running");
    progress.publish(to_value(&st));

    // judge: CPU work, off the async threads so that the heartbeat keeps beating.
    let thresholds = judge_thresholds(record.execution_request.thresholds.as_ref());
    let judged = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            kanary_scoring::judge(&config, &pairs, thresholds, None)
        })
        .await
    };
    let result = match judged {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => {
            return fail(
                &mut st,
                STAGE_JUDGE,
                "IllegalArgumentException",
                e.to_string(),
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "the judge task failed");
            return fail(
                &mut st,
                STAGE_JUDGE,
                "IllegalStateException",
                "the judge failed unexpectedly; the server log has the details".to_string(),
            );
        }
    };
    state.metrics.judged(ExecutionKind::Canary, &result);
    let mut canary_result = json!({ "judgeResult": result });
    if let Some(d) = canary_duration(&scopes) {
        canary_result["canaryDuration"] = json!(d);
    }
    st.result = Some(canary_result);
    st.set(STAGE_JUDGE, "succeeded");
    (ExecutionStatus::Succeeded, to_value(&st))
}

/// `CanaryJudgeTask`'s thresholds. Kayenta unboxes missing values into a
/// NullPointerException; kanary reads a missing marginal as 0 and a missing pass as the
/// marginal (only the label of the judge result depends on them).
fn judge_thresholds(t: Option<&AnalysisThresholds>) -> ScoreThresholds {
    let marginal = t.and_then(|t| t.marginal).unwrap_or(0.0);
    let pass = t.and_then(|t| t.pass).unwrap_or(marginal);
    ScoreThresholds {
        pass,
        marginal: marginal.min(pass),
    }
}

/// `CanaryJudgeTask`: the window length when every control and experiment scope has the
/// same one, else none.
fn canary_duration(scopes: &BTreeMap<String, CanaryScopePair>) -> Option<String> {
    let mut lengths = scopes.values().flat_map(|p| {
        [&p.control_scope, &p.experiment_scope].map(|s| (s.end - s.start).num_milliseconds())
    });
    let first = lengths.next()?;
    if first >= 0 && lengths.all(|l| l == first) {
        Some(duration_to_string(first))
    } else {
        None
    }
}

/// The Java exception type Kayenta reports for a fetch failure.
fn source_exception_type(e: &SourceError) -> &'static str {
    match e {
        SourceError::InvalidQuery(_) | SourceError::Mixer(_) | SourceError::Config(_) => {
            "IllegalArgumentException"
        }
        _ => "RetrofitError",
    }
}
