//! `/canary` and `PUT /pipelines/{id}/cancel` through the router with the worker running:
//! Argo Rollouts' and Orca's exact sequences against a real Prometheus with recorded data
//! (`testdata/e2e/`), ExecutionMapper's validation messages, the archive fallback, and
//! the worker's lease handling (resume after a dead replica, give up after 3 attempts).
#![allow(clippy::unwrap_used)]

#[path = "support/service.rs"]
mod service;

#[path = "../metrics-sources/tests/support/prometheus_server.rs"]
mod prometheus_server;

use std::path::Path;
use std::sync::Arc;

use axum::http::StatusCode;
use kanary::accounts::{Accounts, MetricsAccount};
use kanary::store::{
    Execution, ExecutionKind, ExecutionStatus, MemoryStore, ObjectType, PutMode, Store,
    StoredObject,
};
use kanary_judge::{CanaryConfig, CanaryMetricConfig, MetricSet};
use kanary_metrics_sources::http::BoxFuture;
use kanary_metrics_sources::{CanaryScope, MetricsSource, SourceError};
use prometheus_server::PrometheusServer;
use serde_json::{Value, json};
use service::Service;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn e2e_config() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(root().join("testdata/e2e/canary-config.json")).unwrap(),
    )
    .unwrap()
}

fn prometheus() -> PrometheusServer {
    PrometheusServer::start(
        &std::fs::read_to_string(root().join("testdata/e2e/metrics.om")).unwrap(),
    )
}

/// Argo Rollouts' body (`metricproviders/kayenta/kayenta.go`): integer thresholds,
/// `location` from the empty `region`, RFC 3339 times.
fn argo_body(canary: &str) -> Value {
    let scope = |s: &str| {
        json!({"scope": s, "location": "", "step": 60,
               "start": "2026-01-01T10:00:00Z", "end": "2026-01-01T11:00:00Z"})
    };
    json!({
        "scopes": {"default": {"controlScope": scope("web-baseline"), "experimentScope": scope(canary)}},
        "thresholds": {"pass": 95, "marginal": 75}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn argo_rollouts_sequence_against_prometheus() {
    let prom = prometheus();
    let service = Service::start(Accounts::prometheus(&prom.url()).unwrap());
    service.put_config("web-e2e-id", &e2e_config()).await;

    // 1. Argo resolves the config name to an id, passing its storage account as the
    // configuration account.
    let (status, configs) = service
        .call(
            "GET",
            "/canaryConfig?application=web&configurationAccountName=store",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{configs}");
    let config_id = configs
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "web-e2e")
        .and_then(|c| c["id"].as_str())
        .unwrap()
        .to_string();
    assert_eq!(config_id, "web-e2e-id");

    let mut scores = Vec::new();
    for canary in ["web-good", "web-bad"] {
        // 2. Argo posts with the storage account as the configuration account.
        let (status, started) = service
            .call(
                "POST",
                &format!(
                    "/canary/{config_id}?application=web&metricsAccountName=prometheus&configurationAccountName=store&storageAccountName=store"
                ),
                Some(argo_body(canary)),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{started}");
        let id = started["canaryExecutionId"].as_str().unwrap().to_string();
        // Argo polls without parameters until complete.
        let done = service.wait_complete(&format!("/canary/{id}")).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        assert_eq!(done["pipelineId"], id.as_str());
        // Argo truncates the score to an int and compares it with its thresholds.
        let score = done["result"]["judgeResult"]["score"]["score"]
            .as_f64()
            .unwrap();
        scores.push(score.trunc() as i64);
        assert_eq!(done["result"]["canaryDuration"], "PT1H");
        for stage in [
            "setupContext",
            "fetchControl0",
            "fetchExperiment2",
            "mixMetrics",
            "judge",
        ] {
            assert_eq!(done["stageStatus"][stage], "succeeded", "{stage}: {done}");
        }
        assert_eq!(
            done["canaryExecutionRequest"]["thresholds"],
            json!({"pass": 95.0, "marginal": 75.0})
        );
        assert_eq!(
            done["canaryExecutionRequest"]["scopes"]["default"]["experimentScope"]["scope"],
            canary
        );
        assert_eq!(done["canaryConfigId"], "web-e2e-id");
        assert_eq!(done["configurationAccountName"], "store");
        assert_eq!(done["storageAccountName"], "store");
        assert_eq!(done["metricsAccountName"], "prometheus");
        assert!(done.get("exception").is_none(), "{done}");
        // The pair list is stored under the id the response names.
        let list_id = done["metricSetPairListId"].as_str().unwrap();
        let list = service
            .store()
            .get_object(ObjectType::MetricSetPairList, list_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(list.body.as_array().unwrap().len(), 3);
    }
    assert_eq!(scores[0], 100, "a healthy canary passes");
    assert!(scores[1] < 75, "a bad canary fails: {}", scores[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orca_sequence_against_prometheus() {
    let prom = prometheus();
    let service = Service::start(Accounts::prometheus(&prom.url()).unwrap());
    service.put_config("web-e2e-id", &e2e_config()).await;
    // Orca's `KayentaService.create`: Int thresholds, its scope with a location and
    // extendedScopeParams, siteLocal.
    let scope = |s: &str| {
        json!({"scope": s, "location": "us-east-1", "step": 60, "extendedScopeParams": {},
               "start": "2026-01-01T10:00:00Z", "end": "2026-01-01T11:00:00Z"})
    };
    let body = json!({
        "scopes": {"default": {"controlScope": scope("web-baseline"), "experimentScope": scope("web-good")}},
        "thresholds": {"pass": 90, "marginal": 50},
        "siteLocal": {"team": "web"}
    });
    let (status, started) = service
        .call(
            "POST",
            "/canary/web-e2e-id?application=web&parentPipelineExecutionId=01PIPELINE&metricsAccountName=prometheus&configurationAccountName=store&storageAccountName=store",
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let id = started["canaryExecutionId"].as_str().unwrap().to_string();
    let done = service
        .wait_complete(&format!("/canary/{id}?storageAccountName=store"))
        .await;
    // What Orca's `CanaryResults` reads.
    assert_eq!(done["complete"], true);
    assert_eq!(done["status"], "succeeded");
    let score = &done["result"]["judgeResult"]["score"];
    assert_eq!(score["score"], 100.0);
    assert_eq!(score["classification"], "Pass");
    assert!(score.get("classificationReason").is_some(), "{score}");
    for r in done["result"]["judgeResult"]["results"].as_array().unwrap() {
        assert_eq!(r["controlMetadata"]["stats"]["count"], 61, "{r}");
    }
    assert_eq!(done["result"]["canaryDuration"], "PT1H");
    assert_eq!(done["application"], "web");
    assert_eq!(done["parentPipelineExecutionId"], "01PIPELINE");
    assert_eq!(done["storageAccountName"], "store");
    assert_eq!(
        done["canaryExecutionRequest"]["siteLocal"],
        json!({"team": "web"})
    );
    assert_eq!(
        done["canaryExecutionRequest"]["scopes"]["default"]["controlScope"]["start"],
        "2026-01-01T10:00:00Z"
    );
    for t in ["buildTime", "startTime", "endTime"] {
        let millis = done[format!("{t}Millis")].as_i64().unwrap();
        let iso = done[format!("{t}Iso")].as_str().unwrap();
        let parsed = chrono::DateTime::parse_from_rfc3339(iso).unwrap();
        assert_eq!(parsed.timestamp_millis(), millis, "{t}");
    }
    // Orca cancels a stage's canary when the stage is canceled: a complete one stays.
    let (status, _) = service
        .call("PUT", &format!("/pipelines/{id}/cancel"), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, after) = service.call("GET", &format!("/canary/{id}"), None).await;
    assert_eq!(after["status"], "succeeded");
}

/// A metrics source in memory: every series is 60 values a side, the canary's 10× the
/// baseline's when its scope name contains `bad`; `fail` scopes fail the fetch.
struct FakeSource;

impl MetricsSource for FakeSource {
    fn service_type(&self) -> &'static str {
        "prometheus"
    }

    fn account(&self) -> &str {
        "fake"
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
            if scope.scope.contains("fail") {
                return Err(SourceError::InvalidQuery(format!(
                    "no such server group {}",
                    scope.scope
                )));
            }
            let factor = if scope.scope.contains("bad") {
                10.0
            } else {
                1.0
            };
            let values: Vec<f64> = (0..60)
                .map(|i| factor * (10.0 + f64::from(i % 7)))
                .collect();
            let start = scope.start.timestamp_millis();
            Ok(vec![MetricSet {
                name: metric.name.clone().unwrap_or_default(),
                tags: Default::default(),
                start_time_millis: start,
                start_time_iso: None,
                end_time_millis: start + 60 * 60_000,
                end_time_iso: None,
                step_millis: 60_000,
                values,
                attributes: Default::default(),
            }])
        })
    }
}

fn fake_accounts() -> Accounts {
    Accounts {
        metrics: vec![MetricsAccount {
            name: "fake".into(),
            kind: "prometheus",
            source: Arc::new(FakeSource),
            public: json!({}),
        }],
        ..Accounts::default()
    }
}

fn small_config() -> Value {
    json!({
        "name": "small",
        "applications": ["web"],
        "metrics": [{
            "name": "latency",
            "query": {"type": "prometheus", "metricName": "latency"},
            "groups": ["latency"],
            "analysisConfigurations": {"canary": {"direction": "increase"}},
            "scopeName": "default"
        }],
        "classifier": {"groupWeights": {"latency": 100}}
    })
}

fn fake_request(canary: &str) -> Value {
    let scope = |s: &str| {
        json!({"scope": s, "location": "", "step": 60,
               "start": "2026-01-01T10:00:00Z", "end": "2026-01-01T10:59:00Z"})
    };
    json!({
        "scopes": {"default": {"controlScope": scope("baseline"), "experimentScope": scope(canary)}},
        "thresholds": {"pass": 95, "marginal": 75}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ad_hoc_canary_runs_and_lists_under_its_application() {
    let service = Service::start(fake_accounts());
    let (status, started) = service
        .call(
            "POST",
            "/canary",
            Some(json!({"canaryConfig": small_config(), "executionRequest": fake_request("bad-canary")})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let id = started["canaryExecutionId"].as_str().unwrap().to_string();
    let done = service.wait_complete(&format!("/canary/{id}")).await;
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["canaryConfigId"], "ad-hoc");
    assert_eq!(done["application"], "ad-hoc");
    assert_eq!(done["result"]["judgeResult"]["score"]["score"], 0.0);
    assert_eq!(done["result"]["canaryDuration"], "PT59M");
    assert!(done.get("configurationAccountName").is_none(), "{done}");

    let (status, list) = service.call("GET", "/canary/executions", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["pipelineId"], id.as_str());
    let (_, none) = service
        .call("GET", "/canary/executions?application=web", None)
        .await;
    assert_eq!(none, json!([]));
    let (_, running) = service
        .call(
            "GET",
            "/canary/executions?statuses=RUNNING,NOT_STARTED",
            None,
        )
        .await;
    assert_eq!(running, json!([]));
    let (_, succeeded) = service
        .call(
            "GET",
            "/canary/executions?statuses=SUCCEEDED&limit=5&page=1",
            None,
        )
        .await;
    assert_eq!(succeeded.as_array().unwrap().len(), 1);
    let (_, page2) = service
        .call(
            "GET",
            "/canary/executions?statuses=SUCCEEDED&limit=1&page=2",
            None,
        )
        .await;
    assert_eq!(page2, json!([]));
    let (status, bad) = service
        .call("GET", "/canary/executions?statuses=DONE", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad["message"].as_str().unwrap().contains("'DONE'"), "{bad}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fetch_is_terminal_with_orcas_exception() {
    let service = Service::start(fake_accounts());
    service.put_config("small", &small_config()).await;
    let (_, started) = service
        .call("POST", "/canary/small", Some(fake_request("fail-canary")))
        .await;
    let id = started["canaryExecutionId"].as_str().unwrap();
    let done = service.wait_complete(&format!("/canary/{id}")).await;
    assert_eq!(done["status"], "terminal");
    assert!(done.get("result").is_none(), "{done}");
    let exception = &done["exception"];
    assert_eq!(exception["shouldRetry"], false);
    assert!(exception["exceptionType"].is_string(), "{exception}");
    assert_eq!(exception["details"]["error"], "Unexpected Task Failure");
    assert_eq!(
        exception["details"]["errors"],
        json!(["no such server group fail-canary"])
    );
    assert_eq!(done["stageStatus"]["setupContext"], "succeeded");
    assert_eq!(done["stageStatus"]["fetchExperiment0"], "terminal");
    assert_eq!(done["stageStatus"]["judge"], "not_started");
    // The default application is Kayenta's `kayenta-<instance id>`.
    assert!(
        done["application"]
            .as_str()
            .unwrap()
            .starts_with("kayenta-")
    );
}

/// Each of `ExecutionMapper.buildExecution`'s checks, in its order, with its message.
#[tokio::test]
async fn execution_mapper_validation_messages() {
    let service = Service::over(Arc::new(MemoryStore::new()), fake_accounts(), false);
    let post = |config: Value, request: Value| {
        let service = &service;
        async move {
            let (status, body) = service
                .call(
                    "POST",
                    "/canary",
                    Some(json!({"canaryConfig": config, "executionRequest": request})),
                )
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            body["message"].as_str().unwrap().to_string()
        }
    };
    let mut no_metrics = small_config();
    no_metrics["metrics"] = json!([]);
    assert!(
        post(no_metrics, fake_request("c"))
            .await
            .contains("at least one metric")
    );

    let mut no_scopes = fake_request("c");
    no_scopes.as_object_mut().unwrap().remove("scopes");
    assert_eq!(
        post(small_config(), no_scopes).await,
        "Canary metrics require scopes, but no scopes were provided in the execution request."
    );

    let mut two = small_config();
    two["metrics"][0]["scopeName"] = json!("other");
    let mut second = two["metrics"][0].clone();
    second["scopeName"] = json!("zeta");
    second["name"] = json!("cpu");
    two["metrics"].as_array_mut().unwrap().push(second);
    assert_eq!(
        post(two, fake_request("c")).await,
        "Canary metrics require scopes which were not provided in the execution request: [other, zeta]"
    );

    let mut atlas = small_config();
    atlas["metrics"][0]["query"]["type"] = json!("atlas");
    assert_eq!(
        post(atlas, fake_request("c")).await,
        "Unable to resolve canary scope factory for 'atlas'."
    );

    let mut null_scope = small_config();
    null_scope["metrics"][0]["scopeName"] = Value::Null;
    assert_eq!(
        post(null_scope, fake_request("c")).await,
        "Canary scope for metric named 'latency' is null."
    );

    let mut no_experiment = fake_request("c");
    no_experiment["scopes"]["default"]
        .as_object_mut()
        .unwrap()
        .remove("experimentScope");
    assert_eq!(
        post(small_config(), no_experiment).await,
        "Canary scope for named scope default is missing experimentScope or controlScope keys"
    );

    let mut no_thresholds = fake_request("c");
    no_thresholds.as_object_mut().unwrap().remove("thresholds");
    assert_eq!(
        post(small_config(), no_thresholds).await,
        "Execution request must contain thresholds"
    );

    // The controller's own checks, and a body that does not parse names the field.
    let (status, body) = service
        .call(
            "POST",
            "/canary",
            Some(json!({"executionRequest": fake_request("c")})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["message"],
        "canaryConfig must be provided for ad-hoc requests"
    );
    let (status, body) = service
        .call(
            "POST",
            "/canary",
            Some(json!({"canaryConfig": small_config()})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["message"],
        "executionRequest must be provided for ad-hoc requests"
    );
    let mut bad_time = fake_request("c");
    bad_time["scopes"]["default"]["controlScope"]["start"] = json!("yesterday");
    let (status, body) = service
        .call(
            "POST",
            "/canary",
            Some(json!({"canaryConfig": small_config(), "executionRequest": bad_time})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("executionRequest.scopes.default.controlScope.start"),
        "{message}"
    );
    let (status, body) = service.call("POST", "/canary/small", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Nothing was stored.
    let (_, list) = service.call("GET", "/canary/executions", None).await;
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn unknown_config_is_404_and_unknown_account_is_400() {
    let service = Service::over(Arc::new(MemoryStore::new()), fake_accounts(), false);
    let (status, body) = service
        .call("POST", "/canary/nope", Some(fake_request("c")))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["message"].as_str().unwrap().contains("nope"), "{body}");

    service.put_config("small", &small_config()).await;
    let (status, body) = service
        .call(
            "POST",
            "/canary/small?metricsAccountName=missing",
            Some(fake_request("c")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["message"], "Unable to resolve account missing.");

    let (status, body) = service.call("GET", "/canary/unknown-id", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["message"].as_str().unwrap().contains("unknown-id"));
    let (status, _) = service
        .call("PUT", "/pipelines/unknown-id/cancel", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn get_falls_back_to_the_result_archive() {
    let service = Service::over(Arc::new(MemoryStore::new()), fake_accounts(), false);
    let archived = json!({"pipelineId": "old-run", "complete": true, "status": "succeeded"});
    service
        .store()
        .put_object(
            ObjectType::CanaryResultArchive,
            &StoredObject {
                id: "old-run".into(),
                name: None,
                applications: vec![],
                body: archived.clone(),
                updated_ms: 0,
            },
            PutMode::Create,
        )
        .await
        .unwrap();
    let (status, body) = service.call("GET", "/canary/old-run", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, archived);
}

#[tokio::test]
async fn cancel_of_an_unclaimed_execution_is_immediate() {
    let service = Service::over(Arc::new(MemoryStore::new()), fake_accounts(), false);
    service.put_config("small", &small_config()).await;
    let (_, started) = service
        .call("POST", "/canary/small", Some(fake_request("c")))
        .await;
    let id = started["canaryExecutionId"].as_str().unwrap();
    let (_, before) = service.call("GET", &format!("/canary/{id}"), None).await;
    assert_eq!(before["status"], "not_started");
    assert_eq!(before["complete"], false);
    assert_eq!(before["stageStatus"]["judge"], "not_started");
    let (status, _) = service
        .call("PUT", &format!("/pipelines/{id}/cancel"), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, after) = service.call("GET", &format!("/canary/{id}"), None).await;
    assert_eq!(after["status"], "canceled");
    assert_eq!(after["complete"], true);
}

/// A stored canary execution left `Running` by a replica that died.
async fn orphan(store: &dyn Store, attempts: u32) -> String {
    let scratch = Service::over(Arc::new(MemoryStore::new()), fake_accounts(), false);
    let (_, started) = scratch
        .call(
            "POST",
            "/canary",
            Some(
                json!({"canaryConfig": small_config(), "executionRequest": fake_request("canary")}),
            ),
        )
        .await;
    let id = started["canaryExecutionId"].as_str().unwrap().to_string();
    let mut execution: Execution = scratch.store().get_execution(&id).await.unwrap().unwrap();
    assert_eq!(execution.kind, ExecutionKind::Canary);
    execution.status = ExecutionStatus::Running;
    execution.owner = Some("dead-replica@gone".into());
    execution.lease_expires_ms = Some(1);
    execution.attempts = attempts;
    execution.started_ms = Some(2);
    let mut state = execution.state.clone();
    state["stageStatus"]["setupContext"] = json!("running");
    execution.state = state;
    store.create_execution(&execution).await.unwrap();
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_of_a_dead_replica_is_resumed_by_a_new_worker() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let id = orphan(&*store, 1).await;
    let service = Service::over(store, fake_accounts(), true);
    let done = service.wait_complete(&format!("/canary/{id}")).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["result"]["judgeResult"]["score"]["score"], 100.0);
    let execution = service.store().get_execution(&id).await.unwrap().unwrap();
    assert_eq!(execution.attempts, 2);
    assert_eq!(execution.started_ms, Some(2), "the first start is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_interrupted_three_times_is_failed_with_a_reason() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let id = orphan(&*store, 3).await;
    let service = Service::over(store, fake_accounts(), true);
    let done = service.wait_complete(&format!("/canary/{id}")).await;
    assert_eq!(done["status"], "terminal", "{done}");
    let errors = done["exception"]["details"]["errors"].as_array().unwrap();
    assert!(
        errors[0].as_str().unwrap().contains("interrupted 3 times"),
        "{errors:?}"
    );
    assert_eq!(done["stageStatus"]["setupContext"], "terminal");
    assert!(done.get("result").is_none());
}
