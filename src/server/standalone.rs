//! `/standalone_canary_analysis`: Kayenta's multi-interval canary analysis
//! (`StandaloneCanaryAnalysisController`, `CanaryAnalysisService`).
//!
//! A POST validates, stores the analysis and answers at once; the worker
//! ([`crate::executor`]) runs it with [`crate::analysis::run`]: with an end time no waits
//! (a window ending in the future is judged once it has ended), with a lifetime a
//! judgement at the end of each interval in real time, an early fail at or below the
//! marginal score, the decision on the last score.
//!
//! kanary checks the timing and the config against the request when it is posted (400
//! with Kayenta's message) where Kayenta accepts the request and fails the pipeline
//! TERMINAL when it sets up its stages.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::Html;
use axum::routing::{get, post};
use axum::{Json, Router};
use kanary_judge::CanaryConfig;
use serde_json::{Map, Value, json};

use super::canary::{
    AD_HOC, ResolvedAccounts, check_execution, insert_times, load_config, load_pairs,
    no_such_object, resolve_accounts, typed,
};
use super::{ApiError, ApiJson, AppState, QueryParams};
use crate::analysis::{
    AnalysisSpec, AnalysisThresholds, CanaryAnalysisExecutionRequest,
    CanaryAnalysisExecutionResult, stops_early,
};
use crate::executor::model::{StandaloneRecord, StandaloneState};
use crate::executor::{plan_stages, to_value};
use crate::report::html::{self, AnalysisPart, HtmlReport};
use crate::store::{Execution, ExecutionKind, ObjectType};

/// This module's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/standalone_canary_analysis", post(initiate_adhoc))
        .route(
            "/standalone_canary_analysis/{id}",
            post(initiate).get(status),
        )
        .route("/standalone_canary_analysis/{id}/report", get(report))
}

/// `POST /standalone_canary_analysis/{canaryConfigId}`.
async fn initiate(
    State(state): State<AppState>,
    Path(config_id): Path<String>,
    params: QueryParams,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let request: CanaryAnalysisExecutionRequest = typed(&body, "")?;
    let accounts = resolve_accounts(&state, &params, true)?;
    let (config, raw) = load_config(&state, &config_id).await?;
    // Kayenta records the configuration account as given, not resolved.
    let accounts = ResolvedAccounts {
        configuration: params.get("configurationAccountName").map(str::to_string),
        ..accounts
    };
    start(
        &state,
        &params,
        Some(config_id),
        config,
        &raw,
        request,
        accounts,
    )
    .await
}

/// `POST /standalone_canary_analysis`: `{"canaryConfig": ..., "executionRequest": ...}`.
async fn initiate_adhoc(
    State(state): State<AppState>,
    params: QueryParams,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let (config, raw, request, accounts) =
        super::canary::parse_adhoc::<CanaryAnalysisExecutionRequest>(&body, &state, &params)?;
    start(&state, &params, None, config, &raw, request, accounts).await
}

async fn start(
    state: &AppState,
    params: &QueryParams,
    config_id: Option<String>,
    config: CanaryConfig,
    raw_config: &Value,
    request: CanaryAnalysisExecutionRequest,
    accounts: ResolvedAccounts,
) -> Result<Json<Value>, ApiError> {
    // `SetupAndExecuteCanariesStage`'s checks, then `ExecutionMapper`'s for each run.
    let spec =
        AnalysisSpec::from_request(&request).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let initial: StandaloneState =
        plan_stages(&spec, chrono::Utc::now()).map_err(ApiError::bad_request)?;
    let scopes: BTreeMap<String, (bool, bool)> = spec
        .scopes
        .iter()
        .map(|s| (s.name.clone(), (true, true)))
        .collect();
    check_execution(&config, raw_config, Some(&scopes), true).map_err(ApiError::bad_request)?;

    let application = params.get("application").unwrap_or(AD_HOC).to_string();
    let config = kanary_metrics_sources::template::escape_templates(&config);
    let record = StandaloneRecord {
        application: application.clone(),
        user: params.get("user").unwrap_or("anonymous").to_string(),
        parent_pipeline_execution_id: params.get("parentPipelineExecutionId").map(str::to_string),
        canary_config_id: config_id,
        canary_config: to_value(&config),
        execution_request: request,
        metrics_account_name: accounts.metrics,
        storage_account_name: accounts.storage,
        configuration_account_name: accounts.configuration,
    };
    let id = super::canary::submit(
        state,
        ExecutionKind::Standalone,
        application,
        to_value(&record),
        to_value(&initial),
    )
    .await?;
    Ok(Json(json!({ "canaryAnalysisExecutionId": id })))
}

/// `GET /standalone_canary_analysis/{id}`: the analysis, else its archive.
async fn status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: QueryParams,
) -> Result<Json<Value>, ApiError> {
    if let Some(execution) = state.store.get_execution(&id).await? {
        if execution.kind == ExecutionKind::Standalone {
            return Ok(Json(status_response(&execution)?));
        }
    }
    state
        .accounts
        .resolve_storage(params.get("storageAccountName"))
        .map_err(ApiError::bad_request)?;
    state
        .store
        .get_object(ObjectType::StandaloneCanaryArchive, &id)
        .await?
        .map(|o| Json(o.body))
        .ok_or_else(|| ApiError::not_found(no_such_object(&id)))
}

/// `GET /standalone_canary_analysis/{id}/report`: the HTML report of a complete
/// analysis (the score per interval, the last judgement); 404 while it runs or when
/// there is no such analysis. The last judgement's series are drawn when its
/// `metricSetPairListId` names a stored pair list.
async fn report(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Html<String>, ApiError> {
    let mut status = None;
    if let Some(execution) = state.store.get_execution(&id).await? {
        if execution.kind == ExecutionKind::Standalone {
            status = Some(status_response(&execution)?);
        }
    }
    if status.is_none() {
        status = state
            .store
            .get_object(ObjectType::StandaloneCanaryArchive, &id)
            .await?
            .map(|o| o.body);
    }
    let status = status.ok_or_else(|| ApiError::not_found(no_such_object(&id)))?;
    let result = status
        .get("canaryAnalysisExecutionResult")
        .filter(|_| status.get("complete") == Some(&Value::Bool(true)))
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "canary analysis {id} is not complete: no report yet"
            ))
        })?;
    let result: CanaryAnalysisExecutionResult = serde_json::from_value(result.clone())
        .map_err(|e| ApiError::internal(format!("analysis {id}: result: {e}")))?;
    let config: CanaryConfig = status
        .get("canaryConfig")
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .unwrap_or_default();
    let request_thresholds = status.pointer("/canaryAnalysisExecutionRequest/thresholds");
    let thresholds = super::canary::request_thresholds(request_thresholds);
    let analysis_thresholds: AnalysisThresholds = request_thresholds
        .and_then(|t| serde_json::from_value(t.clone()).ok())
        .unwrap_or_default();
    // The runner stops at the first successful judgement at or below marginal.
    let stopped_early_at = result
        .canary_execution_results
        .iter()
        .zip(&result.canary_scores)
        .position(|(e, score)| {
            e.execution_status == "SUCCEEDED" && stops_early(*score, &analysis_thresholds)
        })
        .map(|i| i + 1);
    let last = result
        .canary_execution_results
        .iter()
        .rev()
        .find(|e| e.result.as_ref().is_some_and(|r| r.judge_result.is_some()));
    let judge_result = last.and_then(|e| e.result.as_ref()?.judge_result.as_ref());
    let list_id = last.and_then(|e| e.metric_set_pair_list_id.as_deref());
    let pairs = load_pairs(&state, list_id).await?;
    Ok(Html(html::render(&HtmlReport {
        config: &config,
        result: judge_result,
        pairs: &pairs,
        thresholds,
        analysis: Some(AnalysisPart {
            result: &result,
            stopped_early_at,
        }),
    })))
}

/// `CanaryAnalysisService.fromExecution`: Kayenta's
/// `CanaryAnalysisExecutionStatusResponse`.
fn status_response(execution: &Execution) -> Result<Value, ApiError> {
    let record: StandaloneRecord = serde_json::from_value(execution.request.clone())
        .map_err(|e| ApiError::internal(format!("execution {}: {e}", execution.id)))?;
    let st: StandaloneState = serde_json::from_value(execution.state.clone()).unwrap_or_default();
    let mut out = Map::new();
    out.insert("application".into(), json!(record.application));
    out.insert("user".into(), json!(record.user));
    if let Some(p) = &record.parent_pipeline_execution_id {
        out.insert("parentPipelineExecutionId".into(), json!(p));
    }
    out.insert("pipelineId".into(), json!(execution.id));
    out.insert("stageStatus".into(), to_value(&st.stage_status));
    out.insert("complete".into(), json!(execution.status.is_complete()));
    out.insert("executionStatus".into(), json!(execution.status.as_upper()));
    out.insert("status".into(), json!(execution.status.as_lower()));
    if let Some(e) = st.exception {
        out.insert("exception".into(), e);
    }
    if let Some(r) = st.canary_analysis_execution_result {
        out.insert("canaryAnalysisExecutionResult".into(), r);
        if execution.status.is_complete() {
            out.insert(
                "reportUrl".into(),
                json!(format!(
                    "/standalone_canary_analysis/{}/report",
                    execution.id
                )),
            );
        }
    }
    out.insert(
        "canaryAnalysisExecutionRequest".into(),
        to_value(&record.execution_request),
    );
    out.insert("canaryConfig".into(), record.canary_config);
    if let Some(id) = record.canary_config_id {
        out.insert("canaryConfigId".into(), json!(id));
    }
    insert_times(&mut out, execution);
    out.insert(
        "storageAccountName".into(),
        json!(record.storage_account_name),
    );
    out.insert(
        "metricsAccountName".into(),
        json!(record.metrics_account_name),
    );
    Ok(Value::Object(out))
}
