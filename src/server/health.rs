//! Health endpoints, open without a token (they never show a secret):
//!
//! - `GET /health`: Spring Boot actuator's shape, as Kayenta serves it with
//!   `management.endpoint.health.show-details: always` —
//!   `{"status":"UP","components":{"store":{"status":"UP"},"prometheus":{"status":"UP",
//!   "details":{"<account>":{"status":"UP"}}}}}`; `DOWN` with 503 when the store does not
//!   answer (Spring maps DOWN to 503). Orca polls it and starts work only once it is UP.
//! - `GET /livez`: 200 while the process serves requests (Kubernetes liveness).
//! - `GET /readyz`: 200 when the store answers, else 503 (Kubernetes readiness).
//!
//! The store component plays the part of Kayenta's `redisHealth`. Metrics accounts are
//! grouped by type with one entry per account, as Kayenta's `PrometheusHealthIndicator`
//! lays them out, but kanary does not query the metric stores from here: a probe every few
//! seconds would hit every store, and an unreachable Prometheus must not take the judge
//! service (configs, stored results, `POST /judge`) out of rotation. An account is UP when
//! it is configured, as with Kayenta's default `kayenta.prometheus.health.enabled: false`
//! (where an unreachable store shows up only when a canary runs). Only names appear: no
//! endpoint, project or credential, since these routes need no token.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::AppState;
use crate::store::ExecutionQuery;

/// How long a store check may take before the store counts as down: a hanging database
/// must not hang the probes (Kubernetes' default probe timeout is 1 s; a slow answer is
/// still DOWN rather than a timed-out probe).
const STORE_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// This module's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
}

/// Whether the store answers a cheap query; the reason (for logs and the body) never
/// includes the database's own error text, which may name hosts or users.
pub(super) async fn check_store(state: &AppState) -> Result<(), &'static str> {
    let query = ExecutionQuery {
        limit: 1,
        ..ExecutionQuery::default()
    };
    match tokio::time::timeout(STORE_CHECK_TIMEOUT, state.store.list_executions(&query)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: the store failed");
            Err("the store failed; the server log has the details")
        }
        Err(_) => {
            tracing::warn!("health check: the store did not answer in time");
            Err("the store did not answer in time")
        }
    }
}

async fn health(State(state): State<AppState>) -> Response {
    let store = check_store(&state).await;
    let mut components = Map::new();
    components.insert(
        "store".into(),
        match store {
            Ok(()) => json!({"status": "UP"}),
            Err(reason) => json!({"status": "DOWN", "details": {"error": reason}}),
        },
    );
    for account in &state.accounts.metrics {
        let group = components
            .entry(account.kind)
            .or_insert_with(|| json!({"status": "UP", "details": {}}));
        if let Some(details) = group.get_mut("details").and_then(Value::as_object_mut) {
            details.insert(account.name.clone(), json!({"status": "UP"}));
        }
    }
    let (status, code) = match store {
        Ok(()) => ("UP", StatusCode::OK),
        Err(_) => ("DOWN", StatusCode::SERVICE_UNAVAILABLE),
    };
    (
        code,
        axum::Json(json!({"status": status, "components": components})),
    )
        .into_response()
}

async fn readyz(State(state): State<AppState>) -> Response {
    match check_store(&state).await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, reason).into_response(),
    }
}

/// A store whose every call fails, for the DOWN paths here and in `metrics`.
#[cfg(test)]
pub(super) mod failing {
    use serde_json::Value;

    use crate::store::{
        BoxFuture, Execution, ExecutionQuery, ExecutionStatus, Lease, ObjectSummary, ObjectType,
        PutMode, Store, StoreError, StoredObject,
    };

    /// The error text health must not repeat.
    pub(in crate::server) const DETAIL: &str = "connection to db.internal:5432 as kanary refused";

    pub(in crate::server) struct FailingStore;

    fn fail<'a, T: Send + 'a>() -> BoxFuture<'a, Result<T, StoreError>> {
        Box::pin(async { Err(StoreError::Backend(DETAIL.into())) })
    }

    impl Store for FailingStore {
        fn put_object<'a>(
            &'a self,
            _: ObjectType,
            _: &'a StoredObject,
            _: PutMode,
        ) -> BoxFuture<'a, Result<(), StoreError>> {
            fail()
        }
        fn get_object<'a>(
            &'a self,
            _: ObjectType,
            _: &'a str,
        ) -> BoxFuture<'a, Result<Option<StoredObject>, StoreError>> {
            fail()
        }
        fn delete_object<'a>(
            &'a self,
            _: ObjectType,
            _: &'a str,
        ) -> BoxFuture<'a, Result<bool, StoreError>> {
            fail()
        }
        fn list_objects<'a>(
            &'a self,
            _: ObjectType,
        ) -> BoxFuture<'a, Result<Vec<ObjectSummary>, StoreError>> {
            fail()
        }
        fn create_execution<'a>(
            &'a self,
            _: &'a Execution,
        ) -> BoxFuture<'a, Result<(), StoreError>> {
            fail()
        }
        fn get_execution<'a>(
            &'a self,
            _: &'a str,
        ) -> BoxFuture<'a, Result<Option<Execution>, StoreError>> {
            fail()
        }
        fn list_executions<'a>(
            &'a self,
            _: &'a ExecutionQuery,
        ) -> BoxFuture<'a, Result<Vec<Execution>, StoreError>> {
            fail()
        }
        fn claim<'a>(
            &'a self,
            _: &'a str,
            _: std::time::Duration,
            _: i64,
        ) -> BoxFuture<'a, Result<Option<Execution>, StoreError>> {
            fail()
        }
        fn renew<'a>(
            &'a self,
            _: &'a str,
            _: &'a str,
            _: std::time::Duration,
            _: i64,
            _: Option<&'a Value>,
        ) -> BoxFuture<'a, Result<Lease, StoreError>> {
            fail()
        }
        fn complete<'a>(
            &'a self,
            _: &'a str,
            _: &'a str,
            _: ExecutionStatus,
            _: &'a Value,
            _: i64,
        ) -> BoxFuture<'a, Result<(), StoreError>> {
            fail()
        }
        fn request_cancel<'a>(
            &'a self,
            _: &'a str,
            _: i64,
        ) -> BoxFuture<'a, Result<Option<ExecutionStatus>, StoreError>> {
            fail()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use super::*;
    use crate::accounts::Accounts;
    use crate::store::{MemoryStore, Store};
    use axum::body::Body;
    use axum::extract::Request;
    use tower::ServiceExt;

    async fn get_path(
        store: Arc<dyn Store>,
        accounts: Accounts,
        path: &str,
    ) -> (StatusCode, String) {
        let app = crate::server::app(AppState::new(store, accounts));
        let response = app
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn health_is_spring_shaped_and_lists_accounts_without_details() {
        let accounts = Accounts::prometheus("http://user:pw@prometheus.internal:9090").unwrap();
        let (status, body) = get_path(Arc::new(MemoryStore::new()), accounts, "/health").await;
        assert_eq!(status, StatusCode::OK);
        let json: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            json,
            json!({
                "status": "UP",
                "components": {
                    "store": {"status": "UP"},
                    "prometheus": {"status": "UP", "details": {"prometheus": {"status": "UP"}}}
                }
            })
        );
        assert!(!body.contains("internal") && !body.contains("pw"), "{body}");
    }

    #[tokio::test]
    async fn a_failing_store_is_down_with_503_without_its_error_text() {
        let store: Arc<dyn Store> = Arc::new(failing::FailingStore);
        let (status, body) = get_path(store.clone(), Accounts::default(), "/health").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        let json: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["status"], "DOWN");
        assert_eq!(json["components"]["store"]["status"], "DOWN");
        assert_eq!(
            json["components"]["store"]["details"]["error"],
            "the store failed; the server log has the details"
        );
        assert!(!body.contains("db.internal"), "{body}");

        let (status, body) = get_path(store.clone(), Accounts::default(), "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!body.contains("db.internal"), "{body}");
        // Liveness does not depend on the store: restarting would not fix the database.
        assert_eq!(
            get_path(store, Accounts::default(), "/livez").await,
            (StatusCode::OK, "ok".to_string())
        );
    }

    #[tokio::test]
    async fn probes_answer_when_the_store_does() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        for path in ["/livez", "/readyz"] {
            assert_eq!(
                get_path(store.clone(), Accounts::default(), path).await,
                (StatusCode::OK, "ok".to_string()),
                "{path}"
            );
        }
    }
}
