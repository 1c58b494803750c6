//! The service under test: the router, its state, and a worker on a short lease, called
//! through `tower::ServiceExt::oneshot` (no socket). Include it with
//! `#[path = "support/service.rs"] mod service;`.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use kanary::executor::{self, WorkerOptions};
use kanary::server::{self, AppState};
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

impl Service {
    /// The service over `state`, with a worker on a 900 ms lease when `worker`.
    pub fn with_state(state: AppState, worker: bool) -> Self {
        let router = server::app(state.clone());
        let mut stop = None;
        if worker {
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let options = WorkerOptions {
                lease: Duration::from_millis(900),
                poll: Duration::from_millis(50),
                concurrency: 4,
            };
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
