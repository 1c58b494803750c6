//! Two replicas of `kanary serve` on one real PostgreSQL database: each has its own
//! connection pool, instance id, router and executor, as two pods behind one Service.
//!
//! - many canaries submitted through either router all complete, each run exactly once
//!   (one fetch, one claim, one stored pair list), and the replicas' `/metrics` add up;
//! - a replica that dies mid-run (its executor task aborted while a fetch hangs) leaves
//!   its execution to the other, which claims it when the lease expires and completes it
//!   (attempts 2).
#![allow(clippy::unwrap_used)]

#[path = "support/postgres_server.rs"]
mod postgres_server;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use kanary::accounts::{Accounts, MetricsAccount};
use kanary::executor::{self, WorkerOptions};
use kanary::server::{self, AppState, ServerSettings};
use kanary::store::{ExecutionStatus, ObjectType};
use kanary_judge::{CanaryConfig, CanaryMetricConfig, MetricSet};
use kanary_metrics_sources::http::BoxFuture;
use kanary_metrics_sources::{CanaryScope, MetricsSource, SourceError};
use postgres_server::PostgresServer;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tower::ServiceExt;

/// Polls before a test gives up waiting for the executors (× 50 ms: 60 s).
const POLL_TRIES: usize = 1200;
const POLL_EVERY: Duration = Duration::from_millis(50);

/// A metrics source in memory that counts the fetches of each experiment scope (one
/// execution each), and whose fetches wait for a permit when it has a gate.
struct CountingSource {
    fetches: Mutex<BTreeMap<String, usize>>,
    /// Fetches of a scope named `hang…` wait here for a permit (none is ever given: the
    /// replica dies first).
    gate: Option<Arc<Semaphore>>,
    /// Signalled when a fetch starts waiting at the gate.
    entered: tokio::sync::Notify,
}

impl CountingSource {
    fn new(gate: Option<Arc<Semaphore>>) -> Arc<Self> {
        Arc::new(Self {
            fetches: Mutex::new(BTreeMap::new()),
            gate,
            entered: tokio::sync::Notify::new(),
        })
    }

    fn fetches(&self) -> BTreeMap<String, usize> {
        self.fetches.lock().unwrap().clone()
    }
}

impl MetricsSource for CountingSource {
    fn service_type(&self) -> &'static str {
        "prometheus"
    }

    fn account(&self) -> &str {
        "memory"
    }

    fn build_query(
        &self,
        _config: &CanaryConfig,
        _metric: &CanaryMetricConfig,
        scope: &CanaryScope,
    ) -> Result<String, SourceError> {
        Ok(scope.scope.clone())
    }

    fn query_metrics<'a>(
        &'a self,
        _config: &'a CanaryConfig,
        metric: &'a CanaryMetricConfig,
        scope: &'a CanaryScope,
    ) -> BoxFuture<'a, Result<Vec<MetricSet>, SourceError>> {
        Box::pin(async move {
            if scope.scope != "baseline" {
                *self
                    .fetches
                    .lock()
                    .unwrap()
                    .entry(scope.scope.clone())
                    .or_default() += 1;
            }
            if let Some(gate) = self
                .gate
                .as_ref()
                .filter(|_| scope.scope.starts_with("hang"))
            {
                self.entered.notify_one();
                // Never released: the task is aborted while it waits.
                let _permit = gate.acquire().await;
            }
            // 60 aligned points a minute apart, the same on both sides: a score of 100.
            let start = scope.start.timestamp_millis();
            Ok(vec![MetricSet {
                name: metric.name.clone().unwrap_or_default(),
                tags: Default::default(),
                start_time_millis: start,
                start_time_iso: None,
                end_time_millis: start + 60 * 60_000,
                end_time_iso: None,
                step_millis: 60_000,
                values: (0..60).map(|i| 10.0 + f64::from(i % 7)).collect(),
                attributes: Default::default(),
            }])
        })
    }
}

/// One replica: its own pool to the shared database, instance id, router and executor.
struct Replica {
    state: AppState,
    router: Router,
    worker: Option<JoinHandle<()>>,
}

impl Replica {
    async fn open(database_url: &str, name: &str, source: Arc<CountingSource>) -> Self {
        let store = kanary::store::open(database_url).await.unwrap();
        let accounts = Accounts {
            metrics: vec![MetricsAccount {
                name: "memory".into(),
                kind: "prometheus",
                source,
                public: json!({}),
            }],
            ..Accounts::default()
        };
        let mut state = AppState::new(store, accounts);
        state.settings = Arc::new(ServerSettings {
            instance_id: format!("{name}@test"),
            ..ServerSettings::default()
        });
        let router = server::app(state.clone());
        Self {
            state,
            router,
            worker: None,
        }
    }

    /// Starts the executor with `lease`.
    fn start(&mut self, lease: Duration) {
        let options = WorkerOptions {
            lease,
            poll: Duration::from_millis(50),
            concurrency: 4,
        };
        self.worker = Some(tokio::spawn(executor::run_with(
            self.state.clone(),
            options,
            std::future::pending::<()>(),
        )));
    }

    /// The replica dies: its executor and everything it runs stop at once, nothing is
    /// completed and no lease is released.
    async fn kill(&mut self) {
        let worker = self.worker.take().unwrap();
        worker.abort();
        assert!(worker.await.unwrap_err().is_cancelled());
    }

    async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, String) {
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
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    async fn json(&self, method: &str, uri: &str, body: Option<Value>) -> Value {
        let (status, text) = self.call(method, uri, body).await;
        assert_eq!(status, StatusCode::OK, "{method} {uri}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// The value of one series of `/metrics`.
    async fn metric(&self, series: &str) -> Option<f64> {
        let (status, text) = self.call("GET", "/metrics", None).await;
        assert_eq!(status, StatusCode::OK);
        text.lines().find_map(|line| {
            line.strip_prefix(series)?
                .strip_prefix(' ')
                .map(|v| v.parse().unwrap())
        })
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(worker) = self.worker.take() {
            worker.abort();
        }
    }
}

/// An ad-hoc `/canary` body whose experiment scope is `canary`.
fn canary_body(canary: &str) -> Value {
    let scope = |s: &str| {
        json!({"scope": s, "location": "", "step": 60,
               "start": "2026-01-01T10:00:00Z", "end": "2026-01-01T10:59:00Z"})
    };
    json!({
        "canaryConfig": {
            "name": "replicas",
            "metrics": [{
                "name": "latency",
                "query": {"type": "prometheus", "metricName": "latency"},
                "groups": ["latency"],
                "analysisConfigurations": {"canary": {"direction": "increase"}},
                "scopeName": "default"
            }],
            "classifier": {"groupWeights": {"latency": 100}}
        },
        "executionRequest": {
            "scopes": {"default": {"controlScope": scope("baseline"), "experimentScope": scope(canary)}},
            "thresholds": {"pass": 95, "marginal": 75}
        }
    })
}

/// Polls `GET /canary/{id}` on `replica` until the execution is complete.
async fn wait_complete(replica: &Replica, id: &str) -> Value {
    for _ in 0..POLL_TRIES {
        let body = replica.json("GET", &format!("/canary/{id}"), None).await;
        if body["complete"] == json!(true) {
            return body;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    panic!("{id} did not complete");
}

const COMPLETED_CANARIES: &str =
    r#"kanary_executions_completed_total{kind="canary",status="succeeded"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_run_each_execution_exactly_once() {
    const EXECUTIONS: usize = 40;
    let pg = PostgresServer::shared();
    let url = pg.create_database();
    let source = CountingSource::new(None);
    let mut a = Replica::open(&url, "replica-a", source.clone()).await;
    let mut b = Replica::open(&url, "replica-b", source.clone()).await;
    // Nobody dies here: a lease long enough that a slow store never loses one.
    a.start(Duration::from_secs(10));
    b.start(Duration::from_secs(10));

    let mut ids = Vec::new();
    for i in 0..EXECUTIONS {
        let replica = if i % 2 == 0 { &a } else { &b };
        let started = replica
            .json("POST", "/canary", Some(canary_body(&format!("canary-{i}"))))
            .await;
        ids.push(started["canaryExecutionId"].as_str().unwrap().to_string());
    }
    for (i, id) in ids.iter().enumerate() {
        // Read through the other replica than the one that took the POST.
        let replica = if i % 2 == 0 { &b } else { &a };
        let done = wait_complete(replica, id).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        assert_eq!(done["result"]["judgeResult"]["score"]["score"], 100.0);
    }

    // Each execution fetched once, was claimed once, and stored one pair list.
    let fetches = source.fetches();
    assert_eq!(fetches.len(), EXECUTIONS, "{fetches:?}");
    for i in 0..EXECUTIONS {
        assert_eq!(fetches.get(&format!("canary-{i}")), Some(&1), "canary-{i}");
    }
    for id in &ids {
        let execution = a.state.store.get_execution(id).await.unwrap().unwrap();
        assert_eq!(execution.status, ExecutionStatus::Succeeded);
        assert_eq!(execution.attempts, 1, "{id}");
        assert_eq!(execution.owner, None);
    }
    let lists = b
        .state
        .store
        .list_objects(ObjectType::MetricSetPairList)
        .await
        .unwrap();
    assert_eq!(lists.len(), EXECUTIONS);

    // What each replica counted adds up to the whole: every completion was accepted once.
    // (An executor counts a completion right after the store accepted it, which a client
    // may see first: polled.)
    let mut counted = (0.0, 0.0);
    for _ in 0..POLL_TRIES {
        counted = (
            a.metric(COMPLETED_CANARIES).await.unwrap(),
            b.metric(COMPLETED_CANARIES).await.unwrap(),
        );
        if counted.0 + counted.1 >= EXECUTIONS as f64 {
            break;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    assert_eq!(counted.0 + counted.1, EXECUTIONS as f64, "{counted:?}");
    let series = r#"kanary_metrics_fetch_duration_seconds_count{account="memory"}"#;
    let fetched = a.metric(series).await.unwrap_or(0.0) + b.metric(series).await.unwrap_or(0.0);
    assert_eq!(fetched, 2.0 * EXECUTIONS as f64);
    // Both replicas report the same (empty) backlog of the shared database.
    for replica in [&a, &b] {
        assert_eq!(
            replica
                .metric(r#"kanary_executions{kind="canary",status="running"}"#)
                .await,
            Some(0.0)
        );
    }
    a.kill().await;
    b.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_other_replica_resumes_the_execution_of_a_dead_one() {
    let pg = PostgresServer::shared();
    let url = pg.create_database();
    let lease = Duration::from_secs(1);
    // Replica A's fetch of `hang` never returns; B's source answers at once.
    let hanging = CountingSource::new(Some(Arc::new(Semaphore::new(0))));
    let answering = CountingSource::new(None);
    let mut a = Replica::open(&url, "replica-a", hanging.clone()).await;
    let mut b = Replica::open(&url, "replica-b", answering.clone()).await;

    a.start(lease);
    let entered = hanging.entered.notified();
    let started = a.json("POST", "/canary", Some(canary_body("hang"))).await;
    let id = started["canaryExecutionId"].as_str().unwrap().to_string();
    tokio::time::timeout(Duration::from_secs(60), entered)
        .await
        .expect("replica A never started the fetch");
    let running = a.state.store.get_execution(&id).await.unwrap().unwrap();
    assert_eq!(running.status, ExecutionStatus::Running);
    assert_eq!(running.owner.as_deref(), Some("replica-a@test"));
    assert_eq!(running.attempts, 1);

    // A dies mid-fetch; B starts afterwards, so that only the lease decides when it may
    // take the execution over.
    a.kill().await;
    b.start(lease);
    let done = wait_complete(&b, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["result"]["judgeResult"]["score"]["score"], 100.0);

    let execution = b.state.store.get_execution(&id).await.unwrap().unwrap();
    assert_eq!(execution.attempts, 2);
    assert_eq!(execution.status, ExecutionStatus::Succeeded);
    assert_eq!(hanging.fetches().get("hang"), Some(&1));
    assert_eq!(answering.fetches().get("hang"), Some(&1));
    // B completed it; A never did.
    let mut counted = None;
    for _ in 0..POLL_TRIES {
        counted = b.metric(COMPLETED_CANARIES).await;
        if counted != Some(0.0) {
            break;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    assert_eq!(counted, Some(1.0));
    assert_eq!(a.metric(COMPLETED_CANARIES).await, Some(0.0));
    // One pair list: A died before its mixer stage.
    let lists = b
        .state
        .store
        .list_objects(ObjectType::MetricSetPairList)
        .await
        .unwrap();
    assert_eq!(lists.len(), 1);
    b.kill().await;
}
