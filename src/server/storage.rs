//! Stored metric data and archives, as Kayenta's `MetricSetPairListController`,
//! `MetricSetListController` and `CanaryResultArchiveController`:
//!
//! - `/metricSetPairList` and `/metricSetList`: `GET` (summaries), `GET /{id}`, `POST`
//!   (a new UUID), `DELETE /{id}` (204), with the storage account in `accountName`;
//!   `GET /metricSetPairList/{listId}/{pairId}` answers one pair or an empty 404;
//! - `/canaryResultArchive`: `GET`, `GET /{pipelineId}`, `POST` (`pipelineId` parameter,
//!   a UUID by default; 400 if it exists), `PUT /{pipelineId}` (400 if it does not
//!   exist), `DELETE /{pipelineId}` (204), with the account in `storageAccountName`.
//!
//! Pair lists and metric-set lists are read through `kanary_judge`'s `MetricSetPair` and
//! `MetricSet`, so a malformed body is a 400 naming the field, and values are stored and
//! served as Kayenta writes them (NaN as `"NaN"`). Unknown fields are dropped, as Jackson
//! drops them when Kayenta reads these classes. Archives are kept as the JSON object given
//! (the status response is written by kanary's own executions; this endpoint is for
//! maintenance, as Kayenta's documentation says).
//!
//! Missing objects are 404 `{"message"}` (Kayenta's object stores throw kork's
//! `NotFoundException`; its in-memory store throws 400 `Does not exist` instead).

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kanary_judge::{MetricSet, MetricSetPair};
use serde_json::{Map, Value, json};

use super::{ApiError, ApiJson, AppState, QueryParams};
use crate::store::{ObjectSummary, ObjectType, PutMode, StoredObject};

/// This module's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/metricSetPairList",
            get(list_pair_lists).post(store_pair_list),
        )
        .route(
            "/metricSetPairList/{id}",
            get(load_pair_list).delete(delete_pair_list),
        )
        .route("/metricSetPairList/{list_id}/{pair_id}", get(load_pair))
        .route("/metricSetList", get(list_set_lists).post(store_set_list))
        .route(
            "/metricSetList/{id}",
            get(load_set_list).delete(delete_set_list),
        )
        .route(
            "/canaryResultArchive",
            get(list_archives).post(store_archive),
        )
        .route(
            "/canaryResultArchive/{pipeline_id}",
            get(load_archive).put(update_archive).delete(delete_archive),
        )
}

/// Now, epoch milliseconds.
pub(super) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Epoch milliseconds as Java's `Instant.toString()` writes them.
pub(super) fn iso(ms: i64) -> String {
    kanary_metrics_sources::scope::iso_millis(ms)
}

/// A path segment, or 400 `{"message"}` (axum's own rejection is plain text).
pub(super) fn path_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(id)| id)
        .map_err(|e| ApiError::bad_request(format!("invalid path: {e}")))
}

/// Kayenta's list summary: `{"id", "updatedTimestamp", "updatedTimestampIso"}`.
pub(super) fn summary(s: &ObjectSummary) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(s.id));
    m.insert("updatedTimestamp".into(), json!(s.updated_ms));
    m.insert("updatedTimestampIso".into(), json!(iso(s.updated_ms)));
    m
}

/// The storage account (Kayenta's `getRequiredOneBy(name, OBJECT_STORE)`), or 400.
pub(super) fn storage_account(state: &AppState, name: Option<&str>) -> Result<String, ApiError> {
    state
        .accounts
        .resolve_storage(name)
        .map_err(ApiError::bad_request)
}

/// A stored metric set pair list, or 404 naming it.
pub(super) async fn load_pairs(state: &AppState, id: &str) -> Result<Vec<MetricSetPair>, ApiError> {
    let object = get_or_404(state, Kind::PairList, id).await?;
    serde_json::from_value(object.body).map_err(ApiError::internal)
}

#[derive(Clone, Copy)]
enum Kind {
    PairList,
    SetList,
    Archive,
}

impl Kind {
    fn object_type(self) -> ObjectType {
        match self {
            Kind::PairList => ObjectType::MetricSetPairList,
            Kind::SetList => ObjectType::MetricSetList,
            Kind::Archive => ObjectType::CanaryResultArchive,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::PairList => "Metric set pair list",
            Kind::SetList => "Metric set list",
            Kind::Archive => "Archived canary result",
        }
    }

    /// The query parameter naming the storage account.
    fn account_param(self) -> &'static str {
        match self {
            Kind::PairList | Kind::SetList => "accountName",
            Kind::Archive => "storageAccountName",
        }
    }
}

async fn get_or_404(state: &AppState, kind: Kind, id: &str) -> Result<StoredObject, ApiError> {
    state
        .store
        .get_object(kind.object_type(), id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("{} '{id}' was not found.", kind.label())))
}

async fn list(state: AppState, q: QueryParams, kind: Kind) -> Result<Response, ApiError> {
    storage_account(&state, q.get(kind.account_param()))?;
    let list = state.store.list_objects(kind.object_type()).await?;
    let out: Vec<Value> = list.iter().map(|s| Value::Object(summary(s))).collect();
    Ok(axum::Json(out).into_response())
}

async fn load(
    state: AppState,
    q: QueryParams,
    kind: Kind,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = path_id(id)?;
    storage_account(&state, q.get(kind.account_param()))?;
    let object = get_or_404(&state, kind, &id).await?;
    Ok(axum::Json(object.body).into_response())
}

async fn delete(
    state: AppState,
    q: QueryParams,
    kind: Kind,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = path_id(id)?;
    storage_account(&state, q.get(kind.account_param()))?;
    if state.store.delete_object(kind.object_type(), &id).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found(format!(
            "{} '{id}' does not exist.",
            kind.label()
        )))
    }
}

/// Stores a new list under a new UUID and answers `{"<response_key>": id}`.
async fn store_new(
    state: &AppState,
    kind: Kind,
    body: Value,
    response_key: &str,
) -> Result<Response, ApiError> {
    let id = uuid::Uuid::new_v4().to_string();
    let object = StoredObject {
        id: id.clone(),
        name: None,
        applications: Vec::new(),
        body,
        updated_ms: now_ms(),
    };
    state
        .store
        .put_object(kind.object_type(), &object, PutMode::Create)
        .await?;
    Ok(axum::Json(json!({ response_key: id })).into_response())
}

async fn list_pair_lists(
    State(state): State<AppState>,
    q: QueryParams,
) -> Result<Response, ApiError> {
    list(state, q, Kind::PairList).await
}

async fn load_pair_list(
    State(state): State<AppState>,
    q: QueryParams,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    load(state, q, Kind::PairList, id).await
}

/// `GET /metricSetPairList/{listId}/{pairId}`: the pair whose `id` matches, else an
/// empty 404 (`ResponseEntity<>(HttpStatus.NOT_FOUND)`, as Kayenta answers).
async fn load_pair(
    State(state): State<AppState>,
    q: QueryParams,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((list_id, pair_id)) =
        ids.map_err(|e| ApiError::bad_request(format!("invalid path: {e}")))?;
    storage_account(&state, q.get("accountName"))?;
    let object = get_or_404(&state, Kind::PairList, &list_id).await?;
    let pair = object
        .body
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p.get("id").and_then(Value::as_str) == Some(pair_id.as_str()));
    Ok(match pair {
        Some(p) => axum::Json(p.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    })
}

async fn store_pair_list(
    State(state): State<AppState>,
    q: QueryParams,
    ApiJson(pairs): ApiJson<Vec<MetricSetPair>>,
) -> Result<Response, ApiError> {
    storage_account(&state, q.get("accountName"))?;
    let body = serde_json::to_value(&pairs).map_err(ApiError::internal)?;
    store_new(&state, Kind::PairList, body, "metricSetPairListId").await
}

async fn delete_pair_list(
    State(state): State<AppState>,
    q: QueryParams,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    delete(state, q, Kind::PairList, id).await
}

async fn list_set_lists(
    State(state): State<AppState>,
    q: QueryParams,
) -> Result<Response, ApiError> {
    list(state, q, Kind::SetList).await
}

async fn load_set_list(
    State(state): State<AppState>,
    q: QueryParams,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    load(state, q, Kind::SetList, id).await
}

async fn store_set_list(
    State(state): State<AppState>,
    q: QueryParams,
    ApiJson(sets): ApiJson<Vec<MetricSet>>,
) -> Result<Response, ApiError> {
    storage_account(&state, q.get("accountName"))?;
    let body = serde_json::to_value(&sets).map_err(ApiError::internal)?;
    store_new(&state, Kind::SetList, body, "metricSetListId").await
}

async fn delete_set_list(
    State(state): State<AppState>,
    q: QueryParams,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    delete(state, q, Kind::SetList, id).await
}

async fn list_archives(
    State(state): State<AppState>,
    q: QueryParams,
) -> Result<Response, ApiError> {
    list(state, q, Kind::Archive).await
}

async fn load_archive(
    State(state): State<AppState>,
    q: QueryParams,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    load(state, q, Kind::Archive, id).await
}

/// `POST /canaryResultArchive?pipelineId=`: Kayenta's `storeArchivedCanaryResult`.
async fn store_archive(
    State(state): State<AppState>,
    q: QueryParams,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<Response, ApiError> {
    storage_account(&state, q.get("storageAccountName"))?;
    let id = q
        .get("pipelineId")
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let exists = || ApiError::bad_request(format!("Archived canary result '{id}' already exists."));
    if state
        .store
        .get_object(ObjectType::CanaryResultArchive, &id)
        .await?
        .is_some()
    {
        return Err(exists());
    }
    let object = StoredObject {
        id: id.clone(),
        name: None,
        applications: Vec::new(),
        body: Value::Object(body),
        updated_ms: now_ms(),
    };
    match state
        .store
        .put_object(ObjectType::CanaryResultArchive, &object, PutMode::Create)
        .await
    {
        Ok(()) => Ok(axum::Json(json!({ "pipelineId": id })).into_response()),
        Err(crate::store::StoreError::Conflict(_)) => Err(exists()),
        Err(e) => Err(e.into()),
    }
}

/// `PUT /canaryResultArchive/{pipelineId}`: Kayenta's `updateArchivedCanaryResult`.
async fn update_archive(
    State(state): State<AppState>,
    q: QueryParams,
    id: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let id = path_id(id)?;
    storage_account(&state, q.get("storageAccountName"))?;
    let missing =
        || ApiError::bad_request(format!("Archived canary result '{id}' does not exist."));
    let object = StoredObject {
        id: id.clone(),
        name: None,
        applications: Vec::new(),
        body: Value::Object(body),
        updated_ms: now_ms(),
    };
    match state
        .store
        .put_object(ObjectType::CanaryResultArchive, &object, PutMode::Update)
        .await
    {
        Ok(()) => Ok(axum::Json(json!({ "pipelineId": id })).into_response()),
        Err(crate::store::StoreError::NotFound(_)) => Err(missing()),
        Err(e) => Err(e.into()),
    }
}

async fn delete_archive(
    State(state): State<AppState>,
    q: QueryParams,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    delete(state, q, Kind::Archive, id).await
}
