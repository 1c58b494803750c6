//! `/canary`: start a canary judgement (Kayenta's `CanaryController` and
//! `ExecutionMapper.buildExecution`), read its status (`ExecutionMapper.fromExecution`),
//! list an application's runs; and `PUT /pipelines/{id}/cancel` (Kayenta's
//! `PipelineController`).
//!
//! A POST validates, stores the execution and answers at once; the worker
//! ([`crate::executor`]) runs it. Clients poll `GET /canary/{id}` until `complete`.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use kanary_judge::{CanaryConfig, MetricSetPair, ScoreThresholds};
use kanary_scoring::CanaryJudgeResult;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::{ApiError, ApiJson, AppState, QueryParams};
use crate::analysis::AnalysisThresholds;
use crate::executor::model::{CanaryExecutionRequest, CanaryRecord, CanaryState};
use crate::executor::to_value;
use crate::report::html::{self, HtmlReport};
use crate::store::{
    Execution, ExecutionKind, ExecutionQuery, ExecutionStatus, ObjectType, StoredObject,
};

/// The config id and default application of ad-hoc runs (`CanaryController.AD_HOC`).
pub(super) const AD_HOC: &str = "ad-hoc";

/// The metric query types kanary has a scope factory (a provider) for.
const SCOPE_FACTORIES: &[&str] = &["prometheus", "datadog", "stackdriver"];

/// Every status Orca knows (`ExecutionStatus.values()`), for `?statuses=`.
const ORCA_STATUSES: &[&str] = &[
    "NOT_STARTED",
    "BUFFERED",
    "RUNNING",
    "PAUSED",
    "SUSPENDED",
    "SUCCEEDED",
    "FAILED_CONTINUE",
    "TERMINAL",
    "CANCELED",
    "REDIRECT",
    "STOPPED",
    "SKIPPED",
];

/// This module's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/canary", post(initiate_adhoc))
        .route("/canary/executions", get(list))
        .route("/canary/{id}", post(initiate).get(status))
        .route("/canary/{id}/report", get(report))
        .route("/pipelines/{id}/cancel", put(cancel))
}

/// `POST /canary/{canaryConfigId}`.
async fn initiate(
    State(state): State<AppState>,
    Path(config_id): Path<String>,
    params: QueryParams,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let request: CanaryExecutionRequest = typed(&body, "")?;
    let accounts = resolve_accounts(&state, &params, true)?;
    let (config, raw) = load_config(&state, &config_id).await?;
    let application = params
        .get("application")
        .map(str::to_string)
        .unwrap_or_else(|| format!("kayenta-{}", state.settings.instance_id));
    start(
        &state,
        &params,
        application,
        config_id,
        config,
        &raw,
        request,
        accounts,
    )
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdhocRequest {
    #[serde(default)]
    canary_config: Option<Value>,
    #[serde(default)]
    execution_request: Option<Value>,
}

/// An ad-hoc body `{"canaryConfig": ..., "executionRequest": ...}` (both `/canary` and
/// `/standalone_canary_analysis` take this shape): the typed config, its raw JSON, and the
/// typed request, with Kayenta's messages for a missing half. Accounts are resolved
/// between parsing and the presence checks, in Kayenta's order.
pub(super) fn parse_adhoc<R: DeserializeOwned>(
    body: &Value,
    state: &AppState,
    params: &QueryParams,
) -> Result<(CanaryConfig, Value, R, ResolvedAccounts), ApiError> {
    let adhoc: AdhocRequest = typed(body, "")?;
    let config = adhoc
        .canary_config
        .as_ref()
        .filter(|c| !c.is_null())
        .map(|c| typed::<CanaryConfig>(c, "canaryConfig"))
        .transpose()?;
    let request = adhoc
        .execution_request
        .as_ref()
        .filter(|r| !r.is_null())
        .map(|r| typed::<R>(r, "executionRequest"))
        .transpose()?;
    let accounts = resolve_accounts(state, params, false)?;
    let config = config.ok_or_else(|| {
        ApiError::bad_request("canaryConfig must be provided for ad-hoc requests")
    })?;
    let request = request.ok_or_else(|| {
        ApiError::bad_request("executionRequest must be provided for ad-hoc requests")
    })?;
    let raw = adhoc.canary_config.unwrap_or(Value::Null);
    Ok((config, raw, request, accounts))
}

/// `POST /canary`: `{"canaryConfig": ..., "executionRequest": ...}`.
async fn initiate_adhoc(
    State(state): State<AppState>,
    params: QueryParams,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let (config, raw, request, accounts) =
        parse_adhoc::<CanaryExecutionRequest>(&body, &state, &params)?;
    let application = params.get("application").unwrap_or(AD_HOC).to_string();
    start(
        &state,
        &params,
        application,
        AD_HOC.to_string(),
        config,
        &raw,
        request,
        accounts,
    )
    .await
}

/// The resolved accounts of a request.
pub(super) struct ResolvedAccounts {
    pub(super) metrics: String,
    pub(super) storage: String,
    pub(super) configuration: Option<String>,
}

/// Kayenta's `getRequiredOneBy` for the metrics, storage and (for stored configs)
/// configuration accounts, in the controller's order.
pub(super) fn resolve_accounts(
    state: &AppState,
    params: &QueryParams,
    configuration: bool,
) -> Result<ResolvedAccounts, ApiError> {
    let metrics = state
        .accounts
        .resolve_metrics(params.get("metricsAccountName"))
        .map_err(ApiError::bad_request)?
        .name
        .clone();
    let storage = state
        .accounts
        .resolve_storage(params.get("storageAccountName"))
        .map_err(ApiError::bad_request)?;
    let configuration = if configuration {
        Some(
            state
                .accounts
                .resolve_configuration(params.get("configurationAccountName"))
                .map_err(ApiError::bad_request)?,
        )
    } else {
        None
    };
    Ok(ResolvedAccounts {
        metrics,
        storage,
        configuration,
    })
}

/// Reads a stored config: the typed config and its JSON (which tells an explicit
/// `"scopeName": null` from a missing one).
pub(super) async fn load_config(
    state: &AppState,
    id: &str,
) -> Result<(CanaryConfig, Value), ApiError> {
    let object = state
        .store
        .get_object(ObjectType::CanaryConfig, id)
        .await?
        .ok_or_else(|| ApiError::not_found(no_such_object(id)))?;
    let config = serde_json::from_value(object.body.clone()).map_err(|e| {
        ApiError::bad_request(format!(
            "the stored canary config '{id}' cannot be read: {e}"
        ))
    })?;
    Ok((config, object.body))
}

/// Kayenta's storage services' `NotFoundException` text.
pub(super) fn no_such_object(id: &str) -> String {
    format!("No such object named {id}")
}

#[allow(clippy::too_many_arguments)]
async fn start(
    state: &AppState,
    params: &QueryParams,
    application: String,
    config_id: String,
    config: CanaryConfig,
    raw_config: &Value,
    request: CanaryExecutionRequest,
    accounts: ResolvedAccounts,
) -> Result<Json<Value>, ApiError> {
    let scopes = request.scopes.as_ref().map(|scopes| {
        scopes
            .iter()
            .map(|(name, pair)| {
                (
                    name.clone(),
                    (
                        pair.control_scope.is_some(),
                        pair.experiment_scope.is_some(),
                    ),
                )
            })
            .collect()
    });
    check_execution(
        &config,
        raw_config,
        scopes.as_ref(),
        request.thresholds.is_some(),
    )
    .map_err(ApiError::bad_request)?;
    let config = kanary_metrics_sources::template::escape_templates(&config);
    let metrics = config.metrics.len();
    let record = CanaryRecord {
        application: application.clone(),
        parent_pipeline_execution_id: params.get("parentPipelineExecutionId").map(str::to_string),
        canary_config_id: config_id,
        config: to_value(&config),
        execution_request: request,
        metrics_account_name: accounts.metrics,
        storage_account_name: accounts.storage,
        configuration_account_name: accounts.configuration,
    };
    let id = submit(
        state,
        ExecutionKind::Canary,
        application,
        to_value(&record),
        to_value(&CanaryState::initial(metrics)),
    )
    .await?;
    Ok(Json(json!({ "canaryExecutionId": id })))
}

/// Stores a new execution (a fresh UUID, its record and initial progress state) and wakes
/// the executor; returns its id. Both `/canary` and `/standalone_canary_analysis` start
/// their work here.
pub(super) async fn submit(
    state: &AppState,
    kind: ExecutionKind,
    application: String,
    record: Value,
    initial_state: Value,
) -> Result<String, ApiError> {
    let id = uuid::Uuid::new_v4().to_string();
    let mut execution = Execution::new(
        id.clone(),
        kind,
        application,
        record,
        crate::executor::now_ms(),
    );
    execution.state = initial_state;
    state.store.create_execution(&execution).await?;
    state.wake.notify_one();
    Ok(id)
}

/// `ExecutionMapper.buildExecution`'s checks, in its order; each failure is Kayenta's
/// `IllegalArgumentException` message. `scopes` maps each scope name of the request to
/// whether it has a control and an experiment side.
pub(super) fn check_execution(
    config: &CanaryConfig,
    raw_config: &Value,
    scopes: Option<&BTreeMap<String, (bool, bool)>>,
    has_thresholds: bool,
) -> Result<(), String> {
    if config.metrics.is_empty() {
        // `CanaryConfigController`'s message for the same mistake.
        return Err("The canary config must specify at least one metric. Otherwise we're not analyzing anything. :)".into());
    }
    let explicit_null = |i: usize| {
        raw_config
            .get("metrics")
            .and_then(|m| m.get(i))
            .and_then(|m| m.get("scopeName"))
            .is_some_and(Value::is_null)
    };
    // Kayenta's `CanaryMetricConfig.scopeName` defaults to `default`; only an explicit
    // null stays null.
    let scope_name = |i: usize| -> Option<&str> {
        if explicit_null(i) {
            None
        } else {
            Some(
                config.metrics[i]
                    .scope_name
                    .as_deref()
                    .unwrap_or(kanary_metrics_sources::DEFAULT_SCOPE_NAME),
            )
        }
    };
    let required: BTreeSet<&str> = (0..config.metrics.len()).filter_map(scope_name).collect();
    if !required.is_empty() && scopes.is_none() {
        return Err(
            "Canary metrics require scopes, but no scopes were provided in the execution request."
                .into(),
        );
    }
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|s| !scopes.is_some_and(|p| p.contains_key(*s)))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "Canary metrics require scopes which were not provided in the execution request: [{}]",
            missing.join(", ")
        ));
    }
    // `generateFetchScopes`: every metric for the experiment, then for the control.
    for experiment in [true, false] {
        for (i, metric) in config.metrics.iter().enumerate() {
            let kind = metric.query.as_ref().and_then(|q| q.kind.as_deref());
            if !kind.is_some_and(|k| SCOPE_FACTORIES.contains(&k)) {
                return Err(format!(
                    "Unable to resolve canary scope factory for '{}'.",
                    kind.unwrap_or("null")
                ));
            }
            let Some(name) = scope_name(i) else {
                return Err(format!(
                    "Canary scope for metric named '{}' is null.",
                    metric.name.as_deref().unwrap_or("null")
                ));
            };
            let sides = scopes.and_then(|p| p.get(name)).copied();
            let present =
                sides.is_some_and(|(control, exp)| if experiment { exp } else { control });
            if !present {
                return Err(format!(
                    "Canary scope for named scope {name} is missing experimentScope or controlScope keys"
                ));
            }
        }
    }
    if !has_thresholds {
        return Err("Execution request must contain thresholds".into());
    }
    Ok(())
}

/// `GET /canary/{canaryExecutionId}`: the execution, else the archived result.
async fn status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: QueryParams,
) -> Result<Json<Value>, ApiError> {
    state
        .accounts
        .resolve_storage(params.get("storageAccountName"))
        .map_err(ApiError::bad_request)?;
    if let Some(execution) = state.store.get_execution(&id).await? {
        if execution.kind == ExecutionKind::Canary {
            return Ok(Json(status_response(&execution)?));
        }
    }
    let archived: Option<StoredObject> = state
        .store
        .get_object(ObjectType::CanaryResultArchive, &id)
        .await?;
    archived
        .map(|o| Json(o.body))
        .ok_or_else(|| ApiError::not_found(no_such_object(&id)))
}

/// The status JSON of a canary execution, else its archive.
async fn status_json(state: &AppState, id: &str) -> Result<Option<Value>, ApiError> {
    if let Some(execution) = state.store.get_execution(id).await? {
        if execution.kind == ExecutionKind::Canary {
            return Ok(Some(status_response(&execution)?));
        }
    }
    let archived = state
        .store
        .get_object(ObjectType::CanaryResultArchive, id)
        .await?;
    Ok(archived.map(|o| o.body))
}

/// `GET /canary/{canaryExecutionId}/report`: the HTML report of a complete judgement,
/// built from the stored judge result and the stored pair list; 404 while it runs, when
/// it failed without a result, or when there is no such execution.
async fn report(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Html<String>, ApiError> {
    let status = status_json(&state, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(no_such_object(&id)))?;
    if status.get("complete") != Some(&Value::Bool(true)) {
        return Err(ApiError::not_found(format!(
            "canary execution {id} is not complete: no report yet"
        )));
    }
    let judge_result = status
        .pointer("/result/judgeResult")
        .filter(|r| !r.is_null())
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "canary execution {id} has no judge result: no report"
            ))
        })?;
    let judge_result: CanaryJudgeResult = serde_json::from_value(judge_result.clone())
        .map_err(|e| ApiError::internal(format!("execution {id}: judge result: {e}")))?;
    let config: CanaryConfig = status
        .get("config")
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .unwrap_or_default();
    let thresholds = request_thresholds(status.pointer("/canaryExecutionRequest/thresholds"));
    let list_id = status.get("metricSetPairListId").and_then(Value::as_str);
    let pairs = load_pairs(&state, list_id).await?;
    Ok(Html(html::render(&HtmlReport {
        config: &config,
        result: Some(&judge_result),
        pairs: &pairs,
        thresholds,
        analysis: None,
    })))
}

/// The request's thresholds as the judge used them (`executor::canary`: a missing
/// marginal is 0, a missing pass is the marginal).
pub(super) fn request_thresholds(value: Option<&Value>) -> ScoreThresholds {
    let t: Option<AnalysisThresholds> = value.and_then(|v| serde_json::from_value(v.clone()).ok());
    let marginal = t.and_then(|t| t.marginal).unwrap_or(0.0);
    let pass = t.and_then(|t| t.pass).unwrap_or(marginal);
    ScoreThresholds {
        pass,
        marginal: marginal.min(pass),
    }
}

/// The stored pair list `id`; none (a report without charts) when it is absent or
/// unreadable, which the log records.
pub(super) async fn load_pairs(
    state: &AppState,
    id: Option<&str>,
) -> Result<Vec<MetricSetPair>, ApiError> {
    let Some(id) = id else {
        return Ok(Vec::new());
    };
    let Some(object) = state
        .store
        .get_object(ObjectType::MetricSetPairList, id)
        .await?
    else {
        return Ok(Vec::new());
    };
    Ok(serde_json::from_value(object.body).unwrap_or_else(|e| {
        tracing::warn!(error = %e, list = id, "stored metric set pair list unreadable; report without charts");
        Vec::new()
    }))
}

/// `GET /canary/executions`: an application's runs, newest first.
async fn list(State(state): State<AppState>, params: QueryParams) -> Result<Json<Value>, ApiError> {
    state
        .accounts
        .resolve_storage(params.get("storageAccountName"))
        .map_err(ApiError::bad_request)?;
    let limit: i64 = params.number("limit")?.unwrap_or(20);
    let page: i64 = params.number("page")?.unwrap_or(1);
    if limit < 1 {
        return Err(ApiError::bad_request(format!(
            "query parameter 'limit' must be at least 1, got {limit}"
        )));
    }
    if page < 1 {
        return Err(ApiError::bad_request(format!(
            "query parameter 'page' must be at least 1, got {page}"
        )));
    }
    let requested = params.get_all("statuses");
    let mut statuses = Vec::new();
    for s in &requested {
        if !ORCA_STATUSES.iter().any(|o| o.eq_ignore_ascii_case(s)) {
            return Err(ApiError::bad_request(format!(
                "query parameter 'statuses': unknown status '{s}'; expected a comma-separated list of {}",
                ORCA_STATUSES.join(", ")
            )));
        }
        // Statuses that Orca knows and kanary never uses match no execution.
        statuses.extend(ExecutionStatus::parse(s));
    }
    if !requested.is_empty() && statuses.is_empty() {
        return Ok(Json(json!([])));
    }
    let limit = usize::try_from(limit.min(10_000)).unwrap_or(20);
    let page = usize::try_from(page).unwrap_or(1);
    let query = ExecutionQuery {
        kind: Some(ExecutionKind::Canary),
        application: Some(params.get("application").unwrap_or(AD_HOC).to_string()),
        statuses,
        limit,
        offset: (page - 1).saturating_mul(limit),
    };
    let executions = state.store.list_executions(&query).await?;
    let list = executions
        .iter()
        .map(status_response)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(Value::Array(list)))
}

/// `PUT /pipelines/{id}/cancel`: 202; nothing happens to a complete execution.
async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    match state
        .store
        .request_cancel(&id, crate::executor::now_ms())
        .await?
    {
        Some(_) => Ok(StatusCode::ACCEPTED),
        None => Err(ApiError::not_found(format!(
            "No execution found for id {id}"
        ))),
    }
}

/// `ExecutionMapper.fromExecution`: Kayenta's `CanaryExecutionStatusResponse`.
fn status_response(execution: &Execution) -> Result<Value, ApiError> {
    let record: CanaryRecord = serde_json::from_value(execution.request.clone())
        .map_err(|e| ApiError::internal(format!("execution {}: {e}", execution.id)))?;
    let st: CanaryState = serde_json::from_value(execution.state.clone()).unwrap_or_default();
    let mut out = Map::new();
    out.insert("application".into(), json!(record.application));
    if let Some(p) = &record.parent_pipeline_execution_id {
        out.insert("parentPipelineExecutionId".into(), json!(p));
    }
    out.insert("pipelineId".into(), json!(execution.id));
    out.insert("stageStatus".into(), json!(st.stage_status));
    out.insert("complete".into(), json!(execution.status.is_complete()));
    out.insert("status".into(), json!(execution.status.as_lower()));
    if let Some(e) = st.exception {
        out.insert("exception".into(), e);
    }
    if execution.status == ExecutionStatus::Succeeded {
        if let Some(r) = st.result {
            out.insert("result".into(), r);
            // The HTML report exists once there is a judge result to draw.
            out.insert(
                "reportUrl".into(),
                json!(format!("/canary/{}/report", execution.id)),
            );
        }
    }
    out.insert("config".into(), record.config);
    out.insert("canaryConfigId".into(), json!(record.canary_config_id));
    out.insert(
        "canaryExecutionRequest".into(),
        to_value(&record.execution_request),
    );
    if let Some(id) = st.metric_set_pair_list_id {
        out.insert("metricSetPairListId".into(), json!(id));
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
    if let Some(c) = record.configuration_account_name {
        out.insert("configurationAccountName".into(), json!(c));
    }
    Ok(Value::Object(out))
}

/// `buildTime*`, `startTime*`, `endTime*` as Kayenta writes them (millis and
/// `Instant.toString()`), each only when known.
pub(super) fn insert_times(out: &mut Map<String, Value>, execution: &Execution) {
    use kanary_metrics_sources::scope::iso_millis;
    for (name, ms) in [
        ("buildTime", Some(execution.created_ms)),
        ("startTime", execution.started_ms),
        ("endTime", execution.ended_ms),
    ] {
        if let Some(ms) = ms {
            out.insert(format!("{name}Millis"), json!(ms));
            out.insert(format!("{name}Iso"), json!(iso_millis(ms)));
        }
    }
}

/// Reads `value` as `T`, naming the field of an error (`at` prefixes the path).
pub(super) fn typed<T: DeserializeOwned>(value: &Value, at: &str) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value.clone()).map_err(|e| {
        let inner = e.path().to_string();
        let path = match (at.is_empty(), inner.is_empty() || inner == ".") {
            (true, true) => String::new(),
            (true, false) => inner,
            (false, true) => at.to_string(),
            (false, false) => format!("{at}.{inner}"),
        };
        if path.is_empty() {
            ApiError::bad_request(format!("invalid JSON body: {}", e.inner()))
        } else {
            ApiError::bad_request(format!("invalid JSON body at {path}: {}", e.inner()))
        }
    })
}
