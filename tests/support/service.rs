//! The service under test: the router, its state, and a worker on a short lease, called
//! through `tower::ServiceExt::oneshot` (no socket). Include it with
//! `#[path = "support/service.rs"] mod service;`.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use std::sync::Arc;

use kanary::accounts::Accounts;
use kanary::executor::{self, WorkerOptions};
use kanary::server::{self, AppState};
use kanary::store::{MemoryStore, ObjectType, PutMode, Store, StoredObject};
use serde_json::{Value, json};
use tower::ServiceExt;

/// Polls of `GET` before a test gives up waiting for the worker (×50 ms: 30 s).
pub const POLL_TRIES: usize = 600;
/// Between two polls.
pub const POLL_EVERY: Duration = Duration::from_millis(50);

/// The router, the state, and (optionally) a worker.
pub struct Service {
    pub state: AppState,
    pub router: Router,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The worker's options in tests: a lease of `lease_ms`, a 50 ms poll.
pub fn worker_options(lease_ms: u64) -> WorkerOptions {
    WorkerOptions {
        lease: Duration::from_millis(lease_ms),
        poll: Duration::from_millis(50),
        concurrency: 4,
    }
}

impl Service {
    /// A memory store and a worker.
    pub fn start(accounts: Accounts) -> Self {
        Self::over(Arc::new(MemoryStore::new()), accounts, true)
    }

    /// A replica (its own instance id, and a worker when `worker`) over a shared store.
    pub fn over(store: Arc<dyn Store>, accounts: Accounts, worker: bool) -> Self {
        Self::with_state(AppState::new(store, accounts), worker)
    }

    /// The service over `state`, with a worker on a 900 ms lease when `worker`.
    pub fn with_state(state: AppState, worker: bool) -> Self {
        Self::with_worker(state, worker.then(|| worker_options(900)))
    }

    /// The service over `state`, with a worker run with `options` when given.
    pub fn with_worker(state: AppState, options: Option<WorkerOptions>) -> Self {
        let router = server::app(state.clone());
        let mut stop = None;
        if let Some(options) = options {
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(executor::run_with(state.clone(), options, async move {
                let _ = rx.await;
            }));
            stop = Some(tx);
        }
        Self {
            state,
            router,
            stop,
        }
    }

    /// The store.
    pub fn store(&self) -> &dyn Store {
        &*self.state.store
    }

    /// Stores a canary config under `id` for the application `web`.
    pub async fn put_config(&self, id: &str, config: &Value) {
        let object = StoredObject {
            id: id.into(),
            name: config["name"].as_str().map(str::to_string),
            applications: vec!["web".into()],
            body: config.clone(),
            updated_ms: 0,
        };
        self.store()
            .put_object(ObjectType::CanaryConfig, &object, PutMode::Upsert)
            .await
            .unwrap();
    }

    /// One request; the body as JSON (`Null` when empty).
    pub async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        let body = match body {
            Some(b) => {
                request = request.header("content-type", "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, value)
    }

    /// Polls `uri` until its body says `complete` (Argo Rollouts and Orca poll the same
    /// way).
    pub async fn wait_complete(&self, uri: &str) -> Value {
        self.wait_until(uri, |body| body["complete"] == json!(true))
            .await
    }

    /// Polls `uri` until `done(body)`.
    pub async fn wait_until(&self, uri: &str, done: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..POLL_TRIES {
            let (status, body) = self.call("GET", uri, None).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            if done(&body) {
                return body;
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
        panic!("{uri} did not reach the awaited state");
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
