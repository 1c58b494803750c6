//! Accounts, as Kayenta's `CredentialsController`, `MetricsServicesController` and
//! `MetricsServiceMetadataController`:
//!
//! - `GET /credentials`: every account with `name`, `type`, `supportedTypes`, `locations`,
//!   `recommendedLocations` and its non-secret fields (`endpoint`, `project`). Metrics
//!   accounts first; then the storage and configuration names, which are aliases of
//!   kanary's one store and so support both `OBJECT_STORE` and `CONFIGURATION_STORE`
//!   (type `kanary`), or a single `default` account when none is declared. Kayenta
//!   serialises its Prometheus accounts' `password` and `bearerToken`; kanary never writes
//!   a secret here.
//! - `GET /metricsServices`: `[{name, type, locations, recommendedLocations}]` of the
//!   metrics accounts.
//! - `GET /metadata/metricsService?metricsAccountName=&filter=`: the account's metric
//!   descriptors (`MetricsSource::metadata`); a store that fails answers 502 with the
//!   source's message (which names the account and URL, never a credential).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::{ApiError, AppState, QueryParams};
use crate::accounts::MetricsAccount;

/// The account type kanary's store aliases report.
const STORE_TYPE: &str = "kanary";

/// This module's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/credentials", get(credentials))
        .route("/metricsServices", get(metrics_services))
        .route("/metadata/metricsService", get(metadata))
}

/// Kayenta's account `type`: its Google accounts (Cloud Monitoring) say `google`.
fn account_type(account: &MetricsAccount) -> &'static str {
    match account.kind {
        "stackdriver" => "google",
        other => other,
    }
}

async fn credentials(State(state): State<AppState>) -> Response {
    let accounts = &state.accounts;
    let mut aliases: Vec<&str> = accounts
        .storage
        .iter()
        .chain(&accounts.configuration)
        .map(String::as_str)
        .collect();
    let mut seen = std::collections::HashSet::new();
    aliases.retain(|a| seen.insert(*a));
    if aliases.is_empty() {
        aliases.push("default");
    }
    let store_types = ["OBJECT_STORE", "CONFIGURATION_STORE"];
    let mut out: Vec<Value> = Vec::new();
    for account in &accounts.metrics {
        // Public fields first, so that they can never replace the ones below.
        let mut m: Map<String, Value> = account.public.as_object().cloned().unwrap_or_default();
        let mut types = vec!["METRICS_STORE"];
        // A Google account may hold metrics and objects under one name.
        if aliases.contains(&account.name.as_str()) {
            types.extend(store_types);
        }
        m.insert("name".into(), json!(account.name));
        m.insert("type".into(), json!(account_type(account)));
        m.insert("supportedTypes".into(), json!(types));
        m.insert("locations".into(), json!([]));
        m.insert("recommendedLocations".into(), json!([]));
        out.push(Value::Object(m));
    }
    for alias in aliases {
        if accounts.metrics.iter().any(|a| a.name == alias) {
            continue;
        }
        out.push(json!({
            "name": alias,
            "type": STORE_TYPE,
            "supportedTypes": store_types,
            "locations": [],
            "recommendedLocations": [],
        }));
    }
    axum::Json(out).into_response()
}

async fn metrics_services(State(state): State<AppState>) -> Response {
    let out: Vec<Value> = state
        .accounts
        .metrics
        .iter()
        .map(|a| {
            json!({
                "name": a.name,
                "type": account_type(a),
                "locations": [],
                "recommendedLocations": [],
            })
        })
        .collect();
    axum::Json(out).into_response()
}

async fn metadata(State(state): State<AppState>, q: QueryParams) -> Result<Response, ApiError> {
    let account = state
        .accounts
        .resolve_metrics(q.get("metricsAccountName"))
        .map_err(ApiError::bad_request)?;
    let descriptors = account
        .source
        .metadata(q.get("filter"))
        .await
        .map_err(|e| ApiError {
            status: StatusCode::BAD_GATEWAY,
            message: e.to_string(),
        })?;
    Ok(axum::Json(descriptors).into_response())
}
