//! `/standalone_canary_analysis` through the router with the worker running: analyses
//! with an end time in the past against a real Prometheus with recorded data
//! (`testdata/e2e/`: every interval passes, or an early fail at the first), the cancel of
//! an analysis waiting in real time, and the request checks.
#![allow(clippy::unwrap_used)]

#[path = "support/service.rs"]
mod service;

#[path = "../metrics-sources/tests/support/prometheus_server.rs"]
mod prometheus_server;

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use kanary::accounts::Accounts;
use kanary::server::AppState;
use kanary::store::{ExecutionStatus, MemoryStore, Store};
use prometheus_server::PrometheusServer;
use serde_json::{Value, json};
use service::Service;
use tower::ServiceExt;

/// A replica (its own instance id and worker, lease 600 ms) over a shared store.
fn replica(store: Arc<dyn Store>, accounts: Accounts) -> Service {
    Service::with_worker(
        AppState::new(store, accounts),
        Some(service::worker_options(600)),
    )
}

/// Posts a standalone analysis; its id.
trait PostAnalysis {
    async fn post(&self, uri: &str, body: Value) -> String;
}

impl PostAnalysis for Service {
    async fn post(&self, uri: &str, body: Value) -> String {
        let (status, started) = self.call("POST", uri, Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{started}");
        started["canaryAnalysisExecutionId"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn e2e_config() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(root().join("testdata/e2e/canary-config.json")).unwrap(),
    )
    .unwrap()
}

/// An analysis of the recorded hour in three 20-minute judgements.
fn past_request(canary: &str) -> Value {
    json!({
        "scopes": [{"controlScope": "web-baseline", "experimentScope": canary,
                    "startTimeIso": "2026-01-01T10:00:00Z", "endTimeIso": "2026-01-01T11:00:00Z",
                    "step": 60}],
        "thresholds": {"pass": 95, "marginal": 75},
        "analysisIntervalMins": 20
    })
}

fn stage<'a>(response: &'a Value, name: &str) -> &'a Value {
    response["stageStatus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no stage {name}: {response}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_windows_are_judged_without_waiting_and_a_bad_canary_fails_early() {
    let om = std::fs::read_to_string(root().join("testdata/e2e/metrics.om")).unwrap();
    let prom = PrometheusServer::start(&om);
    let service = replica(
        Arc::new(MemoryStore::new()),
        Accounts::prometheus(&prom.url()).unwrap(),
    );
    service.put_config("web-e2e-id", &e2e_config()).await;

    // A healthy canary: every judgement passes, the analysis SUCCEEDS.
    let id = service
        .post(
            "/standalone_canary_analysis/web-e2e-id?application=web&user=alice&metricsAccountName=prometheus&storageAccountName=store",
            past_request("web-good"),
        )
        .await;
    let uri = format!("/standalone_canary_analysis/{id}");
    let done = service
        .wait_until(&uri, |b| b["complete"] == json!(true))
        .await;
    assert_eq!(done["executionStatus"], "SUCCEEDED", "{done}");
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["user"], "alice");
    assert_eq!(done["application"], "web");
    assert_eq!(done["canaryConfigId"], "web-e2e-id");
    assert_eq!(done["metricsAccountName"], "prometheus");
    let result = &done["canaryAnalysisExecutionResult"];
    assert_eq!(result["didPassThresholds"], true);
    assert_eq!(result["canaryScores"], json!([100.0, 100.0, 100.0]));
    assert_eq!(
        result["canaryScoreMessage"],
        "Final canary score 100.0 met or exceeded the pass score threshold."
    );
    let runs = result["canaryExecutionResults"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[2]["judgementEndTimeIso"], "2026-01-01T11:00:00Z");
    // The last judgement's pairs are stored, so the report draws each metric's series.
    assert!(runs[2]["metricSetPairListId"].is_string(), "{}", runs[2]);
    let response = service
        .router
        .clone()
        .oneshot(
            Request::builder()
                .uri(format!("{uri}/report"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let html = String::from_utf8(html.to_vec()).unwrap();
    for metric in ["latency", "errors", "cpu"] {
        assert!(
            html.contains(&format!(
                "<svg class=\"chart series\" data-metric=\"{metric}\""
            )),
            "no series chart for {metric}"
        );
    }
    // With an end time there are no waits: the runs, the parent, the result stage.
    let names: Vec<&str> = done["stageStatus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "Run Canary #1",
            "Run Canary #2",
            "Run Canary #3",
            "Sets up and executes the wait, run and monitor canary task chain.",
            "Aggregates and evaluates the canary executions and generates the final results.",
        ]
    );
    for s in done["stageStatus"].as_array().unwrap() {
        assert_eq!(s["status"], "SUCCEEDED", "{s}");
    }
    assert_eq!(stage(&done, "Run Canary #2")["type"], "runCanary");
    assert_eq!(
        stage(&done, "Run Canary #2")["executionId"],
        format!("{id}-2").as_str()
    );
    assert_eq!(
        done["canaryAnalysisExecutionRequest"]["analysisIntervalMins"],
        20
    );

    // A bad canary: the first score is at or below marginal, the analysis stops TERMINAL.
    let id = service
        .post(
            "/standalone_canary_analysis",
            json!({"canaryConfig": e2e_config(), "executionRequest": past_request("web-bad")}),
        )
        .await;
    let uri = format!("/standalone_canary_analysis/{id}");
    let done = service
        .wait_until(&uri, |b| b["complete"] == json!(true))
        .await;
    assert_eq!(done["executionStatus"], "TERMINAL", "{done}");
    assert_eq!(done["application"], "ad-hoc");
    assert_eq!(done["user"], "anonymous");
    let result = &done["canaryAnalysisExecutionResult"];
    assert_eq!(result["didPassThresholds"], false);
    assert_eq!(result["canaryScores"], json!([0.0]));
    assert_eq!(
        result["canaryScoreMessage"],
        "Final canary score 0.0 is not above the marginal score threshold."
    );
    assert_eq!(stage(&done, "Run Canary #1")["status"], "TERMINAL");
    assert_eq!(stage(&done, "Run Canary #2")["status"], "NOT_STARTED");
    assert_eq!(
        stage(
            &done,
            "Aggregates and evaluates the canary executions and generates the final results."
        )["status"],
        "SUCCEEDED"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analysis_waiting_in_real_time_is_canceled() {
    // Nothing is fetched before the first interval ends (a minute from now), so an
    // unreachable metrics store is never asked.
    let service = replica(
        Arc::new(MemoryStore::new()),
        Accounts::prometheus("http://127.0.0.1:9").unwrap(),
    );
    let request = json!({
        "scopes": [{"controlScope": "web-baseline", "experimentScope": "web-good"}],
        "thresholds": {"pass": 95, "marginal": 75},
        "lifetimeDurationMins": 2,
        "analysisIntervalMins": 1
    });
    let id = service
        .post(
            "/standalone_canary_analysis",
            json!({"canaryConfig": e2e_config(), "executionRequest": request}),
        )
        .await;
    let uri = format!("/standalone_canary_analysis/{id}");
    let waiting = service
        .wait_until(&uri, |b| {
            b["stageStatus"].as_array().is_some_and(|s| {
                s.iter()
                    .any(|s| s["name"] == "Interval Wait #1" && s["status"] == "RUNNING")
            })
        })
        .await;
    assert_eq!(waiting["executionStatus"], "RUNNING");
    assert_eq!(waiting["complete"], false);
    assert_eq!(stage(&waiting, "Interval Wait #2")["type"], "wait");

    let (status, _) = service
        .call("PUT", &format!("/pipelines/{id}/cancel"), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let done = service
        .wait_until(&uri, |b| b["complete"] == json!(true))
        .await;
    assert_eq!(done["executionStatus"], "CANCELED", "{done}");
    assert_eq!(done["status"], "canceled");
    assert_eq!(stage(&done, "Interval Wait #1")["status"], "CANCELED");
    assert_eq!(stage(&done, "Run Canary #1")["status"], "NOT_STARTED");
    assert!(done.get("canaryAnalysisExecutionResult").is_none());
}

#[tokio::test]
async fn requests_are_checked_when_posted() {
    let service = replica(
        Arc::new(MemoryStore::new()),
        Accounts::prometheus("http://127.0.0.1:9").unwrap(),
    );
    let post = |body: Value| {
        let service = &service;
        async move {
            let (status, body) = service
                .call("POST", "/standalone_canary_analysis", Some(body))
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            body["message"].as_str().unwrap().to_string()
        }
    };
    let no_timing = json!({"scopes": [{"controlScope": "a", "experimentScope": "b"}],
                           "thresholds": {"pass": 95, "marginal": 75}});
    assert_eq!(
        post(json!({"canaryConfig": e2e_config(), "executionRequest": no_timing})).await,
        "Canary StageExecution configuration must include either `endTime` or `lifetimeDuration`."
    );
    let no_thresholds = json!({"scopes": [{"controlScope": "a", "experimentScope": "b"}],
                               "lifetimeDurationMins": 10});
    assert_eq!(
        post(json!({"canaryConfig": e2e_config(), "executionRequest": no_thresholds})).await,
        "Execution request must contain thresholds"
    );
    let other_scope = json!({"scopes": [{"scopeName": "other", "controlScope": "a", "experimentScope": "b"}],
                             "thresholds": {"pass": 95, "marginal": 75}, "lifetimeDurationMins": 10});
    assert_eq!(
        post(json!({"canaryConfig": e2e_config(), "executionRequest": other_scope})).await,
        "Canary metrics require scopes which were not provided in the execution request: [default]"
    );
    assert_eq!(
        post(json!({"canaryConfig": e2e_config()})).await,
        "executionRequest must be provided for ad-hoc requests"
    );

    let (status, body) = service
        .call(
            "POST",
            "/standalone_canary_analysis/missing-config",
            Some(past_request("web-good")),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["message"].as_str().unwrap().contains("missing-config"));
    let (status, body) = service
        .call(
            "POST",
            "/standalone_canary_analysis?metricsAccountName=datadog-prod",
            Some(
                json!({"canaryConfig": e2e_config(), "executionRequest": past_request("web-good")}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["message"], "Unable to resolve account datadog-prod.");
    let (status, _) = service
        .call("GET", "/standalone_canary_analysis/no-such-analysis", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn lifetime_request() -> Value {
    json!({
        "canaryConfig": e2e_config(),
        "executionRequest": {
            "scopes": [{"controlScope": "web-baseline", "experimentScope": "web-good"}],
            "thresholds": {"pass": 95, "marginal": 75},
            "lifetimeDurationMins": 2,
            "analysisIntervalMins": 1
        }
    })
}

fn interval_wait_running(b: &Value) -> bool {
    b["stageStatus"].as_array().is_some_and(|s| {
        s.iter()
            .any(|s| s["name"] == "Interval Wait #1" && s["status"] == "RUNNING")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shut_down_replica_leaves_its_analysis_to_the_next_one() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let accounts = || Accounts::prometheus("http://127.0.0.1:9").unwrap();
    let first = replica(store.clone(), accounts());
    let id = first
        .post("/standalone_canary_analysis", lifetime_request())
        .await;
    let uri = format!("/standalone_canary_analysis/{id}");
    first.wait_until(&uri, interval_wait_running).await;
    let before = store.get_execution(&id).await.unwrap().unwrap();
    let first_owner = before.owner.clone().unwrap();
    assert_eq!(before.attempts, 1);
    drop(first);

    // The analysis is not completed at shutdown: it stays running under its lease,
    // and the next replica claims it once the lease has expired.
    let second = replica(store.clone(), accounts());
    let mut resumed = None;
    for _ in 0..service::POLL_TRIES {
        let e = store.get_execution(&id).await.unwrap().unwrap();
        assert_eq!(e.status, ExecutionStatus::Running, "{e:?}");
        if e.owner.as_deref() != Some(first_owner.as_str()) {
            resumed = Some(e);
            break;
        }
        tokio::time::sleep(service::POLL_EVERY).await;
    }
    let resumed = resumed.expect("the second replica never claimed the analysis");
    assert_eq!(resumed.attempts, 2);
    assert_eq!(
        resumed.started_ms, before.started_ms,
        "the analysis keeps its first start, so its windows do not move"
    );
    let waiting = second.wait_until(&uri, interval_wait_running).await;
    assert_eq!(waiting["executionStatus"], "RUNNING");
    assert_eq!(waiting["startTimeMillis"], json!(before.started_ms));
}
