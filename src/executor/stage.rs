//! One Kubernetes canary stage (`POST /stages/canary`): [`crate::stage::run`] with the
//! service's accounts and Kubernetes client, its status published through the lease
//! heartbeat. A resumed stage (its replica died) runs again with the same run id: it
//! adopts its Deployments and keeps its analysis start.

use kanary_judge::CanaryConfig;
use kanary_metrics_sources::FetchOptions;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;

use super::{Outcome, Progress, to_value};
use crate::analysis::SystemClock;
use crate::server::AppState;
use crate::stage::{self, Stage, StageObserver, StagePhase, StageRequest, StageStatus};
use crate::store::{Execution, ExecutionStatus};

/// What the service stores for a stage when it is posted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageRecord {
    /// The request body as posted.
    pub request: Value,
    /// The canary config (resolved from `canaryConfigId` when given).
    pub canary_config: Value,
    /// The resolved metrics account.
    pub metrics_account_name: String,
}

/// Runs the stage to its final status and state.
pub(super) async fn run(
    state: &AppState,
    execution: &Execution,
    progress: &Progress,
    cancel: watch::Receiver<bool>,
) -> Outcome {
    let mut status: StageStatus =
        serde_json::from_value(execution.state.clone()).unwrap_or_default();
    status.stage_id = execution.id.clone();
    let fail = |mut status: StageStatus, message: String| {
        status.phase = StagePhase::Failed;
        status.error = Some(message.clone());
        status.message = Some(message);
        (ExecutionStatus::Terminal, to_value(&status))
    };
    let record: StageRecord = match serde_json::from_value(execution.request.clone()) {
        Ok(r) => r,
        Err(e) => return fail(status, format!("the stored stage cannot be read: {e}")),
    };
    let request: StageRequest = match serde_json::from_value(record.request.clone()) {
        Ok(r) => r,
        Err(e) => {
            return fail(
                status,
                format!("the stored stage request cannot be read: {e}"),
            );
        }
    };
    let spec = match request.to_spec(&execution.id) {
        Ok(s) => s,
        Err(e) => return fail(status, e.to_string()),
    };
    let config: CanaryConfig = match serde_json::from_value(record.canary_config.clone()) {
        Ok(c) => c,
        Err(e) => return fail(status, format!("the canary config cannot be read: {e}")),
    };
    let account = match state
        .accounts
        .resolve_metrics(Some(&record.metrics_account_name))
    {
        Ok(a) => a,
        Err(message) => return fail(status, message),
    };
    let Some(client) = state.kube.clone() else {
        return fail(
            status,
            "this kanary has no Kubernetes access (run it in a cluster or with --kubeconfig)"
                .into(),
        );
    };
    if status.namespace.is_empty() {
        status = StageStatus::new(&execution.id, &spec);
    }
    let source = state.metrics.instrument(&*account.source, &account.name);
    let observer = Publish { progress };
    let outcome = stage::run(Stage {
        spec: &spec,
        config: &config,
        source: &source,
        client,
        clock: &SystemClock,
        observer: &observer,
        fetch: FetchOptions::default(),
        status,
        cancel,
    })
    .await;
    let final_status = match outcome.status.phase {
        StagePhase::Succeeded => ExecutionStatus::Succeeded,
        StagePhase::Canceled => ExecutionStatus::Canceled,
        _ => ExecutionStatus::Terminal,
    };
    (final_status, to_value(&outcome.status))
}

/// Publishes every status through the heartbeat.
struct Publish<'a> {
    progress: &'a Progress,
}

impl StageObserver for Publish<'_> {
    fn status(&self, status: &StageStatus) {
        self.progress.publish(to_value(status));
    }

    // The driver logs its lines itself.
    fn line(&self, _line: &str) {}
}
