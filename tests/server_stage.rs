//! `POST /stages/canary`, `GET /stages/canary/{id}`, `POST /stages/canary/{id}/cancel`
//! through the router with the worker running, against the fake Kubernetes API server and
//! an in-memory metrics account. The analysis runs on the wall clock over a few seconds
//! (`lifetime: 3s`, `interval: 1s`, `step: 1`).
#![allow(clippy::unwrap_used)]

#[path = "support/fake_kube/mod.rs"]
mod fake_kube;
#[path = "support/service.rs"]
mod service;
#[path = "support/stage_fixtures.rs"]
mod stage_fixtures;

use std::sync::Arc;

use axum::http::StatusCode;
use fake_kube::FakeKube;
use kanary::accounts::{Accounts, MetricsAccount};
use kanary::server::AppState;
use kanary::store::MemoryStore;
use serde_json::{Value, json};
use service::Service;
use stage_fixtures::{IMAGE_A, IMAGE_B, NS, Source, production};

fn accounts(source: Arc<Source>) -> Accounts {
    Accounts {
        metrics: vec![MetricsAccount {
            name: "memory".into(),
            kind: "prometheus",
            source,
            public: json!({}),
        }],
        ..Accounts::default()
    }
}

fn config_json() -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/analyze/config.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn request() -> Value {
    json!({
        "namespace": NS, "deployment": "web", "container": "app", "image": IMAGE_B,
        "lifetime": "3s", "interval": "1s", "step": 1, "promote": true,
        "metricsAccountName": "memory", "canaryConfig": config_json()
    })
}

fn service(fake: &FakeKube, source: Arc<Source>, kube: bool) -> Service {
    let mut state = AppState::new(Arc::new(MemoryStore::new()), accounts(source));
    if kube {
        state = state.with_kube(kube::Client::try_from(fake.config()).unwrap());
    }
    Service::with_state(state, true)
}

fn image_of_production(fake: &FakeKube) -> String {
    fake.get("Deployment", NS, "web").unwrap()["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_runs_to_promotion_and_reports_its_phases() {
    let fake = FakeKube::start();
    fake.insert(production());
    let svc = service(&fake, Arc::new(Source::new(false)), true);
    let (status, body) = svc.call("POST", "/stages/canary", Some(request())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["stageId"].as_str().unwrap().to_string();
    let uri = format!("/stages/canary/{id}");
    // While it runs, the phase says where it is.
    let running = svc
        .wait_until(&uri, |b| b["phase"] == "Analyzing" || b["complete"] == true)
        .await;
    assert_eq!(running["stageId"], json!(id));
    assert_eq!(running["baseline"], "web-baseline");
    assert_eq!(running["canary"], "web-canary");
    let done = svc.wait_complete(&uri).await;
    assert_eq!(done["phase"], "Succeeded", "{done}");
    assert_eq!(done["status"], "SUCCEEDED");
    assert_eq!(done["verdict"], "pass");
    assert_eq!(done["promoted"], true);
    assert_eq!(done["intervals"], 3);
    assert_eq!(done["scores"], json!([100.0, 100.0, 100.0]));
    assert_eq!(done["analysisId"], json!(id));
    assert_eq!(done["runId"], json!(id));
    assert_eq!(
        done["result"]["canaryExecutionResults"][0]["executionId"],
        json!(format!("{id}-1"))
    );
    assert_eq!(image_of_production(&fake), IMAGE_B);
    assert!(fake.get("Deployment", NS, "web-canary").is_none());
    assert!(fake.get("Deployment", NS, "web-baseline").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_stage_is_terminal_and_production_untouched() {
    let fake = FakeKube::start();
    fake.insert(production());
    let svc = service(&fake, Arc::new(Source::new(true)), true);
    let (_, body) = svc.call("POST", "/stages/canary", Some(request())).await;
    let uri = format!("/stages/canary/{}", body["stageId"].as_str().unwrap());
    let done = svc.wait_complete(&uri).await;
    assert_eq!(done["phase"], "Failed", "{done}");
    assert_eq!(done["status"], "TERMINAL");
    assert_eq!(done["verdict"], "fail");
    assert_eq!(done["promoted"], false);
    assert_eq!(done["scores"].as_array().unwrap().len(), 1, "stopped early");
    assert_eq!(image_of_production(&fake), IMAGE_A);
    assert!(fake.get("Deployment", NS, "web-canary").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_deletes_the_deployments() {
    let fake = FakeKube::start();
    fake.insert(production());
    let mut source = Source::new(false);
    source.hang = true;
    let source = Arc::new(source);
    let svc = service(&fake, source.clone(), true);
    let (_, body) = svc.call("POST", "/stages/canary", Some(request())).await;
    let id = body["stageId"].as_str().unwrap().to_string();
    let uri = format!("/stages/canary/{id}");
    // Wait until the analysis is fetching (the canary exists and serves).
    source.entered.notified().await;
    assert!(fake.get("Deployment", NS, "web-canary").is_some());
    let (status, _) = svc
        .call("POST", &format!("/stages/canary/{id}/cancel"), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let done = svc.wait_complete(&uri).await;
    assert_eq!(done["phase"], "Canceled", "{done}");
    assert_eq!(done["status"], "CANCELED");
    assert!(fake.get("Deployment", NS, "web-canary").is_none());
    assert!(fake.get("Deployment", NS, "web-baseline").is_none());
    assert_eq!(image_of_production(&fake), IMAGE_A);
}

#[tokio::test]
async fn bad_requests_are_400_with_the_field() {
    let fake = FakeKube::start();
    let svc = service(&fake, Arc::new(Source::new(false)), true);
    let cases: Vec<(Value, &str)> = vec![
        (
            {
                let mut r = request();
                r["prometheusUrl"] = json!("http://attacker.example");
                r
            },
            "unknown field `prometheusUrl`",
        ),
        (
            {
                let mut r = request();
                r["lifetime"] = json!("forever");
                r
            },
            "lifetime: 'forever' is not a duration",
        ),
        (
            {
                let mut r = request();
                r.as_object_mut().unwrap().remove("canaryConfig");
                r
            },
            "canaryConfigId or canaryConfig is required",
        ),
        (
            {
                let mut r = request();
                r["metricsAccountName"] = json!("nope");
                r
            },
            "metricsAccountName: ",
        ),
        (
            {
                let mut r = request();
                r["replicas"] = json!(1000);
                r
            },
            "replicas: 1000 is not between 1 and 100",
        ),
        (
            {
                let mut r = request();
                r["canaryConfigId"] = json!("missing");
                r.as_object_mut().unwrap().remove("canaryConfig");
                r
            },
            "No such object named missing",
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = svc.call("POST", "/stages/canary", Some(body)).await;
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND,
            "{status} {answer}"
        );
        assert!(message.contains(expected), "{message} lacks {expected}");
    }
    let (status, answer) = svc.call("GET", "/stages/canary/nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(answer["message"], "No canary stage found for id nope");
}

#[tokio::test]
async fn without_kubernetes_access_the_endpoint_says_so() {
    let fake = FakeKube::start();
    let svc = service(&fake, Arc::new(Source::new(false)), false);
    let (status, answer) = svc.call("POST", "/stages/canary", Some(request())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .starts_with("this kanary has no Kubernetes access"),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_stage_for_the_same_deployment_is_a_conflict() {
    let fake = FakeKube::start();
    fake.insert(production());
    let mut source = Source::new(false);
    source.hang = true;
    let source = Arc::new(source);
    let svc = service(&fake, source.clone(), true);
    let (_, first) = svc.call("POST", "/stages/canary", Some(request())).await;
    let (status, answer) = svc.call("POST", "/stages/canary", Some(request())).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(
        answer["message"],
        json!(format!(
            "a canary stage for shop/web is already running: {}",
            first["stageId"].as_str().unwrap()
        ))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_resumed_by_another_replica_adopts_its_deployments() {
    let fake = FakeKube::start();
    fake.insert(production());
    let store: Arc<dyn kanary::store::Store> = Arc::new(MemoryStore::new());
    let client = || kube::Client::try_from(fake.config()).unwrap();
    let mut hanging = Source::new(false);
    hanging.hang = true;
    let hanging = Arc::new(hanging);
    let first = Service::with_state(
        AppState::new(store.clone(), accounts(hanging.clone())).with_kube(client()),
        true,
    );
    let (_, body) = first.call("POST", "/stages/canary", Some(request())).await;
    let id = body["stageId"].as_str().unwrap().to_string();
    let uri = format!("/stages/canary/{id}");
    hanging.entered.notified().await;
    let before = first
        .wait_until(&uri, |b| b["analysisStartIso"].is_string())
        .await;
    // The first replica dies in the middle of the analysis.
    drop(first);
    let second = Service::with_state(
        AppState::new(store.clone(), accounts(Arc::new(Source::new(false)))).with_kube(client()),
        true,
    );
    let done = second.wait_complete(&uri).await;
    assert_eq!(done["phase"], "Succeeded", "{done}");
    assert_eq!(done["promoted"], true);
    assert_eq!(done["analysisStartIso"], before["analysisStartIso"]);
    let creates = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/deployments"))
        .count();
    assert_eq!(creates, 2, "the second replica adopted the Deployments");
    let execution = store.get_execution(&id).await.unwrap().unwrap();
    assert_eq!(execution.attempts, 2);
    assert!(fake.get("Deployment", NS, "web-canary").is_none());
}
