//! `/stages/canary`: the Kubernetes canary stage as a service (kanary's own endpoint;
//! Kayenta has none). A POST validates and stores the stage and answers `{"stageId"}` at
//! once; the worker runs it ([`crate::stage::run`]), persisted and resumed like the other
//! executions.
//!
//! Metrics come from a configured account and the canary config from `canaryConfigId` or
//! inline, never from a URL in the request: callers cannot point kanary at other hosts.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::canary::{AD_HOC, check_execution, load_config, typed};
use super::{ApiError, ApiJson, AppState};
use crate::executor::to_value;
use crate::stage::{StagePhase, StageRequest, StageStatus};
use crate::store::{Execution, ExecutionKind, ExecutionQuery, ExecutionStatus};

/// This module's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/stages/canary", post(start))
        .route("/stages/canary/{id}", get(status))
        .route("/stages/canary/{id}/cancel", post(cancel))
}

/// `POST /stages/canary` → `{"stageId"}`.
async fn start(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let request: StageRequest = typed(&body, "")?;
    if state.kube.is_none() {
        return Err(ApiError::bad_request(
            "this kanary has no Kubernetes access: run it in a cluster (service account) or \
             with --kubeconfig",
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let spec = request
        .to_spec(&id)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let account = state
        .accounts
        .resolve_metrics(request.metrics_account_name.as_deref())
        .map_err(|m| ApiError::bad_request(format!("metricsAccountName: {m}")))?
        .name
        .clone();
    let (config, raw) = match (&request.canary_config_id, &request.canary_config) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give canaryConfigId or canaryConfig, not both",
            ));
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "canaryConfigId or canaryConfig is required",
            ));
        }
        (Some(id), None) => load_config(&state, id).await?,
        (None, Some(raw)) => (typed(raw, "canaryConfig")?, raw.clone()),
    };
    // The stage's one scope pair: the baseline and the canary, both named.
    let scopes = std::collections::BTreeMap::from([(spec.scope_name.clone(), (true, true))]);
    check_execution(&config, &raw, Some(&scopes), true)
        .map_err(|m| ApiError::bad_request(format!("canaryConfig: {m}")))?;

    // One stage per production Deployment at a time: both would use the same
    // `<deployment>-canary`, and the second would delete the first's as a leftover.
    let active = state
        .store
        .list_executions(&ExecutionQuery {
            kind: Some(ExecutionKind::Stage),
            statuses: vec![ExecutionStatus::NotStarted, ExecutionStatus::Running],
            limit: 10_000,
            ..ExecutionQuery::default()
        })
        .await?;
    for other in &active {
        let s: StageStatus = serde_json::from_value(other.state.clone()).unwrap_or_default();
        if s.namespace == spec.namespace && s.deployment == spec.deployment {
            return Err(ApiError::conflict(format!(
                "a canary stage for {}/{} is already running: {}",
                spec.namespace, spec.deployment, other.id
            )));
        }
    }

    let config = kanary_metrics_sources::template::escape_templates(&config);
    let record = crate::executor::StageRecord {
        request: body.clone(),
        canary_config: to_value(&config),
        metrics_account_name: account,
    };
    let initial = StageStatus::new(&id, &spec);
    let application = request.application.as_deref().unwrap_or(AD_HOC).to_string();
    let mut execution = Execution::new(
        id.clone(),
        ExecutionKind::Stage,
        application,
        to_value(&record),
        crate::executor::now_ms(),
    );
    execution.state = to_value(&initial);
    state.store.create_execution(&execution).await?;
    state.wake.notify_one();
    tracing::info!(stage = %id, namespace = %spec.namespace, deployment = %spec.deployment, image = %spec.image, "canary stage submitted");
    Ok(Json(json!({ "stageId": id })))
}

/// `GET /stages/canary/{id}`: the stage's status (phase, interval i/n, scores, verdict,
/// analysis id, and `complete`).
async fn status(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let execution = find(&state, &id).await?;
    let mut status: StageStatus =
        serde_json::from_value(execution.state.clone()).unwrap_or_default();
    status.stage_id = execution.id.clone();
    // The executor's view wins where a replica died before writing its own final phase.
    if execution.status.is_complete() && !status.phase.is_final() {
        status.phase = match execution.status {
            ExecutionStatus::Succeeded => StagePhase::Succeeded,
            ExecutionStatus::Canceled => StagePhase::Canceled,
            _ => StagePhase::Failed,
        };
    }
    let mut body = to_value(&status);
    if let Value::Object(map) = &mut body {
        map.insert("complete".into(), json!(execution.status.is_complete()));
        map.insert("status".into(), json!(execution.status.as_upper()));
        map.insert("cancelRequested".into(), json!(execution.cancel_requested));
    }
    Ok(Json(body))
}

/// `POST /stages/canary/{id}/cancel`: 202; the stage deletes its Deployments and ends
/// `Canceled` (nothing happens to a complete stage).
async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    find(&state, &id).await?;
    state
        .store
        .request_cancel(&id, crate::executor::now_ms())
        .await?;
    state.wake.notify_one();
    Ok(StatusCode::ACCEPTED)
}

async fn find(state: &AppState, id: &str) -> Result<Execution, ApiError> {
    match state.store.get_execution(id).await? {
        Some(e) if e.kind == ExecutionKind::Stage => Ok(e),
        _ => Err(ApiError::not_found(format!(
            "No canary stage found for id {id}"
        ))),
    }
}
