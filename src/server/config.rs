//! `/canaryConfig`, as Kayenta's `CanaryConfigController` and its stores'
//! `checkForDuplicateCanaryConfig`:
//!
//! - `GET /canaryConfig?application=..&application=..`: summaries `{id, name,
//!   updatedTimestamp, updatedTimestampIso, applications}` of the configs sharing an
//!   application with the filter (all without one);
//! - `GET /canaryConfig/{id}`: the config, 404 when missing;
//! - `POST /canaryConfig`: `{"canaryConfigId"}`; the id is a new UUID when the body has
//!   none; `createdTimestamp` defaults to now and `updatedTimestamp` to it, both `*Iso`
//!   recomputed; 400 when the id exists or another config of one of its applications has
//!   the same name;
//! - `PUT /canaryConfig/{id}`: `updatedTimestamp(+Iso)` set to now; 400 when missing;
//! - `DELETE /canaryConfig/{id}`: 204 (404 when missing).
//!
//! Every endpoint takes `configurationAccountName`, resolved by
//! [`Accounts::resolve_configuration`](crate::accounts::Accounts::resolve_configuration)
//! (Argo Rollouts sends its *storage* account there).
//!
//! The config is stored as Kayenta returns it: read into `kanary_judge::CanaryConfig`
//! (a malformed body is a 400 naming the field) and written back, so unknown top-level
//! and metric fields are dropped as Jackson drops them, while a query's fields of any
//! provider are kept (`MetricQuery.extra`), as Kayenta keeps them in its typed query
//! classes. Store-time checks are Kayenta's, with its messages; the rest of
//! `kanary validate`'s findings are left to run time, as Kayenta stores such configs.

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kanary_judge::CanaryConfig;
use serde_json::{Value, json};

use super::storage::{iso, now_ms, path_id, summary};
use super::{ApiError, ApiJson, AppState, QueryParams};
use crate::store::{ObjectType, PutMode, StoreError, StoredObject};

/// This module's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/canaryConfig", get(list_configs).post(store_config))
        .route(
            "/canaryConfig/{id}",
            get(load_config_route)
                .put(update_config)
                .delete(delete_config),
        )
}

/// The configuration account (Kayenta's `getRequiredOneBy(name, CONFIGURATION_STORE)`),
/// or 400 `Unable to resolve account <name>.`.
pub(super) fn configuration_account(state: &AppState, q: &QueryParams) -> Result<String, ApiError> {
    state
        .accounts
        .resolve_configuration(q.get("configurationAccountName"))
        .map_err(ApiError::bad_request)
}

/// A stored config, or 404 naming it.
pub(super) async fn load_config(state: &AppState, id: &str) -> Result<CanaryConfig, ApiError> {
    let object = state
        .store
        .get_object(ObjectType::CanaryConfig, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("Canary config '{id}' was not found.")))?;
    serde_json::from_value(object.body).map_err(ApiError::internal)
}

async fn list_configs(State(state): State<AppState>, q: QueryParams) -> Result<Response, ApiError> {
    configuration_account(&state, &q)?;
    let filter = q.get_all("application");
    let configs = state.store.list_objects(ObjectType::CanaryConfig).await?;
    let out: Vec<Value> = configs
        .iter()
        // Kayenta's `CanaryConfigIndex.haveCommonElements`.
        .filter(|c| {
            filter.is_empty() || c.applications.iter().any(|a| filter.contains(&a.as_str()))
        })
        .map(|c| {
            let mut m = summary(c);
            m.insert("name".into(), json!(c.name.clone().unwrap_or_default()));
            m.insert("applications".into(), json!(c.applications));
            Value::Object(m)
        })
        .collect();
    Ok(axum::Json(out).into_response())
}

async fn load_config_route(
    State(state): State<AppState>,
    q: QueryParams,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = path_id(id)?;
    configuration_account(&state, &q)?;
    let object = state
        .store
        .get_object(ObjectType::CanaryConfig, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("Canary config '{id}' was not found.")))?;
    Ok(axum::Json(object.body).into_response())
}

async fn store_config(
    State(state): State<AppState>,
    q: QueryParams,
    ApiJson(mut config): ApiJson<CanaryConfig>,
) -> Result<Response, ApiError> {
    configuration_account(&state, &q)?;
    let now = now_ms();
    let created = *config.created_timestamp.get_or_insert(now);
    let updated = *config.updated_timestamp.get_or_insert(created);
    config.created_timestamp_iso = Some(iso(created));
    config.updated_timestamp_iso = Some(iso(updated));
    let id = match config.id.as_deref() {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => {
            // Ensure that the canary config id is stored within the config itself.
            let id = uuid::Uuid::new_v4().to_string();
            config.id = Some(id.clone());
            id
        }
    };
    validate_for_store(&config)?;
    let already = || ApiError::bad_request(format!("Canary config '{id}' already exists."));
    if state
        .store
        .get_object(ObjectType::CanaryConfig, &id)
        .await?
        .is_some()
    {
        return Err(already());
    }
    check_duplicate_name(&state, &config, &id).await?;
    match put(&state, &config, &id, now, PutMode::Create).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Err(already()),
        Err(e) => return Err(e.into()),
    }
    Ok(axum::Json(json!({ "canaryConfigId": id })).into_response())
}

async fn update_config(
    State(state): State<AppState>,
    q: QueryParams,
    id: Result<Path<String>, PathRejection>,
    ApiJson(mut config): ApiJson<CanaryConfig>,
) -> Result<Response, ApiError> {
    let id = path_id(id)?;
    configuration_account(&state, &q)?;
    let now = now_ms();
    config.updated_timestamp = Some(now);
    config.updated_timestamp_iso = Some(iso(now));
    validate_for_store(&config)?;
    let missing = || ApiError::bad_request(format!("Canary config '{id}' does not exist."));
    if state
        .store
        .get_object(ObjectType::CanaryConfig, &id)
        .await?
        .is_none()
    {
        return Err(missing());
    }
    if config.id.as_deref().is_none_or(str::is_empty) {
        config.id = Some(id.clone());
    }
    check_duplicate_name(&state, &config, &id).await?;
    match put(&state, &config, &id, now, PutMode::Update).await {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => return Err(missing()),
        Err(e) => return Err(e.into()),
    }
    Ok(axum::Json(json!({ "canaryConfigId": id })).into_response())
}

async fn delete_config(
    State(state): State<AppState>,
    q: QueryParams,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = path_id(id)?;
    configuration_account(&state, &q)?;
    if state
        .store
        .delete_object(ObjectType::CanaryConfig, &id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found(format!(
            "Canary config '{id}' does not exist."
        )))
    }
}

async fn put(
    state: &AppState,
    config: &CanaryConfig,
    id: &str,
    now: i64,
    mode: PutMode,
) -> Result<(), StoreError> {
    let body = serde_json::to_value(config).map_err(|e| StoreError::Backend(e.to_string()))?;
    let object = StoredObject {
        id: id.to_string(),
        name: config.name.clone(),
        applications: config.applications.clone(),
        body,
        updated_ms: now,
    };
    state
        .store
        .put_object(ObjectType::CanaryConfig, &object, mode)
        .await
}

/// Kayenta's `validateNameAndApplicationAttributes`, then the metric-name checks of
/// newer Kayenta (`kayenta.disable.metricname.validation` off).
fn validate_for_store(config: &CanaryConfig) -> Result<(), ApiError> {
    let name = config.name.as_deref().unwrap_or("");
    if name.is_empty() {
        return Err(ApiError::bad_request("Canary config must specify a name."));
    }
    if config.applications.is_empty() {
        return Err(ApiError::bad_request(
            "Canary config must specify at least one application.",
        ));
    }
    // `[A-Z,a-z,0-9,\-,\_]*`: the class holds literal commas, so commas pass.
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ',' | '-' | '_'))
    {
        return Err(ApiError::bad_request(format!(
            "Canary config cannot be named '{name}'. Names must contain only letters, \
             numbers, dashes (-) and underscores (_)."
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for metric in &config.metrics {
        let metric_name = metric.name.as_deref().unwrap_or("");
        if metric_name.is_empty() {
            return Err(ApiError::bad_request("Metric config must specify a name."));
        }
        if !seen.insert(metric_name) {
            return Err(ApiError::bad_request(format!(
                "Metric config name must be unique. '{metric_name}' is duplicated."
            )));
        }
    }
    Ok(())
}

/// Kayenta's `checkForDuplicateCanaryConfig`: another config (by id) with the same name
/// sharing an application is refused, so that a rename cannot collide.
async fn check_duplicate_name(
    state: &AppState,
    config: &CanaryConfig,
    id: &str,
) -> Result<(), ApiError> {
    let name = config.name.as_deref().unwrap_or("");
    let configs = state.store.list_objects(ObjectType::CanaryConfig).await?;
    let clash = configs.iter().any(|c| {
        c.id != id
            && c.name.as_deref() == Some(name)
            && c.applications
                .iter()
                .any(|a| config.applications.contains(a))
    });
    if clash {
        // Java's `List.toString()`: `[a, b]`.
        return Err(ApiError::bad_request(format!(
            "Canary config with name '{name}' already exists in the scope of applications [{}].",
            config.applications.join(", ")
        )));
    }
    Ok(())
}
