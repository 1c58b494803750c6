//! Kayenta's storage, config, judge and account endpoints through the router
//! (`kanary::server::app` over a `MemoryStore`, `tower::ServiceExt::oneshot`), and
//! reading Kayenta's `kayenta.yml`.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use kanary::accounts::Accounts;
use kanary::server::{AppState, ServerSettings, app};
use kanary::store::MemoryStore;
use kanary_judge::{CanaryConfig, MetricSetPair, ScoreThresholds};
use serde_json::{Value, json};
use tower::ServiceExt;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn state_with(accounts: Accounts) -> AppState {
    AppState::new(Arc::new(MemoryStore::new()), accounts)
}

fn router() -> Router {
    app(state_with(Accounts::default()))
}

/// Status, and the body as JSON (`Value::Null` for an empty body).
async fn call(app: &Router, method: Method, uri: &str, body: Option<&str>) -> (StatusCode, Value) {
    let (status, bytes) = call_raw(app, method, uri, body.map(|b| b.as_bytes().to_vec())).await;
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{uri}: body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    (status, json)
}

async fn call_raw(
    app: &Router,
    method: Method,
    uri: &str,
    body: Option<Vec<u8>>,
) -> (StatusCode, Vec<u8>) {
    let mut request = Request::builder().method(method).uri(uri);
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request
        .body(body.map(Body::from).unwrap_or_else(Body::empty))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, bytes.to_vec())
}

async fn get(app: &Router, uri: &str) -> (StatusCode, Value) {
    call(app, Method::GET, uri, None).await
}

async fn post(app: &Router, uri: &str, body: &Value) -> (StatusCode, Value) {
    call(app, Method::POST, uri, Some(&body.to_string())).await
}

async fn put(app: &Router, uri: &str, body: &Value) -> (StatusCode, Value) {
    call(app, Method::PUT, uri, Some(&body.to_string())).await
}

async fn delete(app: &Router, uri: &str) -> (StatusCode, Value) {
    call(app, Method::DELETE, uri, None).await
}

fn message(body: &Value) -> &str {
    body["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message in {body}"))
}

fn example(name: &str, file: &str) -> Value {
    let path = format!("{REPO}/testdata/examples/{name}/{file}");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// No `null` anywhere: Kayenta writes with `NON_NULL`.
fn assert_no_nulls(v: &Value, path: &str) {
    match v {
        Value::Null => panic!("null at {path}"),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, x)| assert_no_nulls(x, &format!("{path}[{i}]"))),
        Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| assert_no_nulls(x, &format!("{path}.{k}"))),
        _ => {}
    }
}

fn is_iso_instant(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok() && s.ends_with('Z')
}

fn config(name: &str, apps: &[&str]) -> Value {
    json!({
        "name": name,
        "applications": apps,
        "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
        "metrics": [{
            "name": "cpu",
            "query": {"type": "prometheus", "metricName": "cpu", "serviceType": "prometheus"},
            "groups": ["system"],
            "analysisConfigurations": {},
            "scopeName": "default"
        }],
        "classifier": {"groupWeights": {"system": 100}},
        "somethingKayentaDoesNotKnow": true
    })
}

// ---------------------------------------------------------------------------------------
// /canaryConfig

#[tokio::test]
async fn canary_config_post_get_stores_what_kayenta_returns() {
    let app = router();
    let (status, body) = post(&app, "/canaryConfig", &config("web-latency", &["web"])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["canaryConfigId"].as_str().unwrap().to_string();
    assert!(
        uuid::Uuid::parse_str(&id).is_ok(),
        "generated id {id} is a UUID"
    );
    assert_eq!(body.as_object().unwrap().len(), 1);

    let (status, stored) = get(&app, &format!("/canaryConfig/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        stored["id"],
        json!(id),
        "the id is stored inside the config"
    );
    assert_eq!(stored["name"], "web-latency");
    let created = stored["createdTimestamp"].as_i64().unwrap();
    assert_eq!(stored["updatedTimestamp"].as_i64(), Some(created));
    let created_iso = stored["createdTimestampIso"].as_str().unwrap();
    assert!(is_iso_instant(created_iso), "{created_iso}");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(created_iso)
            .unwrap()
            .timestamp_millis(),
        created
    );
    assert_eq!(stored["updatedTimestampIso"].as_str(), Some(created_iso));
    // Unknown top-level fields are dropped (Jackson ignores them); a query's fields are
    // kept (Kayenta's query classes hold them); nulls are omitted.
    assert!(stored.get("somethingKayentaDoesNotKnow").is_none());
    assert_eq!(stored["metrics"][0]["query"]["serviceType"], "prometheus");
    assert!(stored.get("description").is_none());
    assert_no_nulls(&stored, "$");
}

#[tokio::test]
async fn canary_config_keeps_given_id_with_dots_and_timestamps() {
    let app = router();
    let mut c = config("dotted", &["web"]);
    c["id"] = json!("web.latency.v1");
    c["createdTimestamp"] = json!(1_500);
    let (status, body) = post(&app, "/canaryConfig", &c).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"canaryConfigId": "web.latency.v1"}));
    let (status, stored) = get(&app, "/canaryConfig/web.latency.v1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored["createdTimestamp"], 1_500);
    assert_eq!(stored["createdTimestampIso"], "1970-01-01T00:00:01.500Z");
    assert_eq!(stored["updatedTimestamp"], 1_500);
    assert_eq!(stored["updatedTimestampIso"], "1970-01-01T00:00:01.500Z");
}

#[tokio::test]
async fn canary_config_post_validation_is_kayentas() {
    let app = router();
    let cases: Vec<(Value, &str)> = vec![
        (
            {
                let mut c = config("x", &["web"]);
                c.as_object_mut().unwrap().remove("name");
                c
            },
            "Canary config must specify a name.",
        ),
        (config("", &["web"]), "Canary config must specify a name."),
        (
            config("no-apps", &[]),
            "Canary config must specify at least one application.",
        ),
        (
            {
                let mut c = config("x", &["web"]);
                c.as_object_mut().unwrap().remove("applications");
                c
            },
            "Canary config must specify at least one application.",
        ),
        (
            config("web latency!", &["web"]),
            "Canary config cannot be named 'web latency!'. Names must contain only letters, \
             numbers, dashes (-) and underscores (_).",
        ),
        (
            {
                let mut c = config("dup-metric", &["web"]);
                let m = c["metrics"][0].clone();
                c["metrics"].as_array_mut().unwrap().push(m);
                c
            },
            "Metric config name must be unique. 'cpu' is duplicated.",
        ),
        (
            {
                let mut c = config("unnamed-metric", &["web"]);
                c["metrics"][0].as_object_mut().unwrap().remove("name");
                c
            },
            "Metric config must specify a name.",
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = post(&app, "/canaryConfig", &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(message(&answer), expected);
    }
    // Kayenta's pattern has literal commas: a comma passes.
    let (status, _) = post(&app, "/canaryConfig", &config("a,b_c-D9", &["web"])).await;
    assert_eq!(status, StatusCode::OK);
    // Nothing invalid was stored.
    let (_, list) = get(&app, "/canaryConfig").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn canary_config_duplicates_are_refused_with_kayentas_messages() {
    let app = router();
    let mut c = config("latency", &["web", "api"]);
    c["id"] = json!("cfg-1");
    assert_eq!(post(&app, "/canaryConfig", &c).await.0, StatusCode::OK);

    let (status, body) = post(&app, "/canaryConfig", &c).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(message(&body), "Canary config 'cfg-1' already exists.");

    // Same name, another id, sharing the application `api`.
    let mut other = config("latency", &["api", "batch"]);
    other["id"] = json!("cfg-2");
    let (status, body) = post(&app, "/canaryConfig", &other).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&body),
        "Canary config with name 'latency' already exists in the scope of applications [api, batch]."
    );

    // Same name in an application of its own is fine.
    let mut elsewhere = config("latency", &["batch"]);
    elsewhere["id"] = json!("cfg-3");
    assert_eq!(
        post(&app, "/canaryConfig", &elsewhere).await.0,
        StatusCode::OK
    );

    // A rename onto a name in use is refused by PUT too.
    let mut renamed = config("latency", &["batch"]);
    renamed["id"] = json!("cfg-4");
    renamed["name"] = json!("other");
    assert_eq!(
        post(&app, "/canaryConfig", &renamed).await.0,
        StatusCode::OK
    );
    renamed["name"] = json!("latency");
    let (status, body) = put(&app, "/canaryConfig/cfg-4", &renamed).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).starts_with("Canary config with name 'latency' already exists"));
}

#[tokio::test]
async fn canary_config_put_and_delete() {
    let app = router();
    let mut c = config("latency", &["web"]);
    c["id"] = json!("cfg");
    c["createdTimestamp"] = json!(1_000);
    c["updatedTimestamp"] = json!(1_000);
    assert_eq!(post(&app, "/canaryConfig", &c).await.0, StatusCode::OK);

    let (status, body) = put(&app, "/canaryConfig/missing", &c).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(message(&body), "Canary config 'missing' does not exist.");

    c["description"] = json!("now with a description");
    c.as_object_mut().unwrap().remove("id");
    let (status, body) = put(&app, "/canaryConfig/cfg", &c).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"canaryConfigId": "cfg"}));
    let (_, stored) = get(&app, "/canaryConfig/cfg").await;
    assert_eq!(stored["description"], "now with a description");
    assert_eq!(stored["id"], "cfg", "PUT stores the path id in the config");
    assert_eq!(stored["createdTimestamp"], 1_000);
    let updated = stored["updatedTimestamp"].as_i64().unwrap();
    assert!(updated > 1_000, "PUT resets updatedTimestamp to now");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(stored["updatedTimestampIso"].as_str().unwrap())
            .unwrap()
            .timestamp_millis(),
        updated
    );

    let (status, body) = call_raw(&app, Method::DELETE, "/canaryConfig/cfg", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(body.is_empty());
    let (status, body) = get(&app, "/canaryConfig/cfg").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(message(&body), "Canary config 'cfg' was not found.");
    let (status, body) = delete(&app, "/canaryConfig/cfg").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(message(&body), "Canary config 'cfg' does not exist.");
}

async fn three_configs(app: &Router) {
    for (id, name, apps) in [
        ("c-a", "only-a", vec!["a"]),
        ("c-b", "only-b", vec!["b"]),
        ("c-ac", "a-and-c", vec!["a", "c"]),
    ] {
        let mut c = config(name, &apps);
        c["id"] = json!(id);
        assert_eq!(post(app, "/canaryConfig", &c).await.0, StatusCode::OK);
    }
}

fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn canary_config_list_filters_by_repeated_application() {
    let app = router();
    three_configs(&app).await;

    let (status, all) = get(&app, "/canaryConfig").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&all), ["c-a", "c-ac", "c-b"]);
    let summary = all
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "c-ac")
        .unwrap();
    let mut keys: Vec<&String> = summary.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "applications",
            "id",
            "name",
            "updatedTimestamp",
            "updatedTimestampIso"
        ]
    );
    assert_eq!(summary["name"], "a-and-c");
    assert_eq!(summary["applications"], json!(["a", "c"]));
    assert!(is_iso_instant(
        summary["updatedTimestampIso"].as_str().unwrap()
    ));

    assert_eq!(
        ids(&get(&app, "/canaryConfig?application=a").await.1),
        ["c-a", "c-ac"]
    );
    assert_eq!(
        ids(&get(&app, "/canaryConfig?application=b&application=c")
            .await
            .1),
        ["c-ac", "c-b"]
    );
    // Spring binds a comma-separated value to the same list.
    assert_eq!(
        ids(&get(&app, "/canaryConfig?application=b,c").await.1),
        ["c-ac", "c-b"]
    );
    assert_eq!(
        get(&app, "/canaryConfig?application=zzz").await.1,
        json!([])
    );
}

#[tokio::test]
async fn argo_rollouts_config_lookup_without_declared_accounts() {
    // Argo Rollouts passes its *storage* account as configurationAccountName.
    let app = router();
    three_configs(&app).await;
    let (status, list) = get(
        &app,
        "/canaryConfig?application=a&configurationAccountName=my-s3-account",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(ids(&list), ["c-a", "c-ac"]);
    let found = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "only-a")
        .unwrap();
    assert_eq!(found["id"], "c-a");
}

#[tokio::test]
async fn argo_rollouts_config_lookup_with_declared_accounts() {
    let accounts = Accounts {
        storage: vec!["my-s3-account".into()],
        configuration: vec!["my-config-account".into()],
        ..Accounts::default()
    };
    let app = app(state_with(accounts));
    three_configs(&app).await;
    // A storage-only account resolves as a configuration account, as in Kayenta
    // (`getRequiredOneBy` with a name looks the name up whatever its types).
    let (status, list) = get(
        &app,
        "/canaryConfig?application=a&configurationAccountName=my-s3-account",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(ids(&list), ["c-a", "c-ac"]);
    let (status, _) = get(
        &app,
        "/canaryConfig?configurationAccountName=my-config-account",
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = get(
        &app,
        "/canaryConfig?application=a&configurationAccountName=unknown",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(message(&body), "Unable to resolve account unknown.");
    for uri in [
        "/canaryConfig/c-a?configurationAccountName=unknown",
        "/metricSetPairList?accountName=unknown",
        "/canaryResultArchive?storageAccountName=unknown",
    ] {
        let (status, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(
            message(&body),
            "Unable to resolve account unknown.",
            "{uri}"
        );
    }
}

#[tokio::test]
async fn malformed_json_is_a_400_naming_the_place() {
    let app = router();
    let (status, body) = call(&app, Method::POST, "/canaryConfig", Some("{\"name\": ")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).contains("line 1 column"), "{body}");

    let (status, body) = call(
        &app,
        Method::POST,
        "/canaryConfig",
        Some(r#"{"name": "x", "applications": ["a"], "metrics": [{"name": "m", "groups": "g"}]}"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).contains("metrics[0].groups"), "{body}");

    let (status, body) = call(&app, Method::POST, "/canaryConfig", Some("")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).contains("empty"), "{body}");

    let (status, body) = call(
        &app,
        Method::POST,
        "/metricSetPairList",
        Some(r#"[{"name": "m", "values": {"control": [1, "x"], "experiment": []}}]"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).contains("[0].values.control"), "{body}");

    let (status, body) = call(&app, Method::POST, "/judge", Some("[1, 2]")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).starts_with("invalid JSON body"), "{body}");
}

#[tokio::test]
async fn bodies_above_the_limit_are_413() {
    let mut state = state_with(Accounts::default());
    state.settings = Arc::new(ServerSettings {
        max_body_bytes: 256,
        ..ServerSettings::default()
    });
    let app = app(state);
    let big = config(&"x".repeat(300), &["web"]).to_string();
    assert!(big.len() > 256);
    let (status, body) = call(&app, Method::POST, "/canaryConfig", Some(&big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        message(&body).contains("larger than the server accepts"),
        "{body}"
    );
    let (status, _) = call(
        &app,
        Method::POST,
        "/metricSetPairList",
        Some(&format!("[{}]", " ".repeat(300))),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // Under the limit is fine.
    let (status, _) = post(&app, "/metricSetPairList", &json!([])).await;
    assert_eq!(status, StatusCode::OK);
}

// ---------------------------------------------------------------------------------------
// /metricSetPairList, /metricSetList, /canaryResultArchive

/// The positions of `"NaN"` strings and the numbers of a value array.
fn series(v: &Value) -> Vec<Option<f64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| match x {
            Value::String(s) if s == "NaN" => None,
            other => Some(other.as_f64().unwrap()),
        })
        .collect()
}

#[tokio::test]
async fn metric_set_pair_list_round_trips_nan_strings() {
    let app = router();
    let pairs = example("no-data", "pairs.json");
    let (status, body) = post(&app, "/metricSetPairList", &pairs).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["metricSetPairListId"].as_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok());

    let (status, stored) = get(&app, &format!("/metricSetPairList/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (original, stored_list) = (pairs.as_array().unwrap(), stored.as_array().unwrap());
    assert_eq!(original.len(), stored_list.len());
    let mut nans = 0;
    for (o, s) in original.iter().zip(stored_list) {
        assert_eq!(o["name"], s["name"]);
        assert_eq!(o["id"], s["id"]);
        assert_eq!(o["tags"], s["tags"]);
        assert_eq!(o["scopes"], s["scopes"]);
        for side in ["control", "experiment"] {
            let (a, b) = (series(&o["values"][side]), series(&s["values"][side]));
            assert_eq!(a, b, "{side}");
            nans += b.iter().filter(|x| x.is_none()).count();
        }
    }
    assert!(nans > 0, "the example has NaN values");
    assert_no_nulls(&stored, "$");

    let pair_id = original[1]["id"].as_str().unwrap();
    let (status, pair) = get(&app, &format!("/metricSetPairList/{id}/{pair_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(pair["id"], original[1]["id"]);
    assert_eq!(pair["name"], original[1]["name"]);
    // A missing pair is an empty 404, as Kayenta's ResponseEntity(NOT_FOUND).
    let (status, body) = call_raw(
        &app,
        Method::GET,
        &format!("/metricSetPairList/{id}/nope"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.is_empty());
    let (status, body) = get(&app, "/metricSetPairList/nope/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(message(&body), "Metric set pair list 'nope' was not found.");

    let (status, list) = get(&app, "/metricSetPairList?accountName=any").await;
    assert_eq!(status, StatusCode::OK);
    let summary = &list[0];
    assert_eq!(summary["id"], json!(id));
    assert_eq!(summary.as_object().unwrap().len(), 3);
    assert!(summary["updatedTimestamp"].is_i64());
    assert!(is_iso_instant(
        summary["updatedTimestampIso"].as_str().unwrap()
    ));

    let (status, _) = call_raw(
        &app,
        Method::DELETE,
        &format!("/metricSetPairList/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = get(&app, &format!("/metricSetPairList/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        message(&body),
        format!("Metric set pair list '{id}' was not found.")
    );
    let (status, body) = delete(&app, &format!("/metricSetPairList/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(message(&body).contains(&id));
}

#[tokio::test]
async fn metric_set_list_crud() {
    let app = router();
    let sets = json!([{
        "name": "cpu",
        "tags": {"pod": "a"},
        "startTimeMillis": 0,
        "startTimeIso": "1970-01-01T00:00:00Z",
        "endTimeMillis": 180000,
        "endTimeIso": "1970-01-01T00:03:00Z",
        "stepMillis": 60000,
        "values": [1.5, "NaN", 2],
        "attributes": {"query": "avg(cpu)"},
        "unknownField": 1
    }]);
    let (status, body) = post(&app, "/metricSetList?accountName=x", &sets).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["metricSetListId"].as_str().unwrap().to_string();
    let (status, stored) = get(&app, &format!("/metricSetList/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored[0]["values"], json!([1.5, "NaN", 2.0]));
    assert_eq!(stored[0]["endTimeIso"], "1970-01-01T00:03:00Z");
    assert_eq!(stored[0]["attributes"], json!({"query": "avg(cpu)"}));
    assert!(stored[0].get("unknownField").is_none());
    let (_, list) = get(&app, "/metricSetList").await;
    assert_eq!(ids(&list), vec![id.clone()]);
    let (status, body) = call(
        &app,
        Method::POST,
        "/metricSetList",
        Some(r#"[{"name": "cpu", "stepMillis": "sixty"}]"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).contains("[0].stepMillis"), "{body}");
    assert_eq!(
        call_raw(&app, Method::DELETE, &format!("/metricSetList/{id}"), None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        get(&app, &format!("/metricSetList/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn canary_result_archive_crud() {
    let app = router();
    let archived = json!({"complete": true, "status": "succeeded", "pipelineId": "p1"});
    let (status, body) = post(&app, "/canaryResultArchive?pipelineId=p1.x", &archived).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"pipelineId": "p1.x"}));
    let (status, body) = post(&app, "/canaryResultArchive?pipelineId=p1.x", &archived).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&body),
        "Archived canary result 'p1.x' already exists."
    );
    let (status, body) = post(&app, "/canaryResultArchive", &archived).await;
    assert_eq!(status, StatusCode::OK);
    assert!(uuid::Uuid::parse_str(body["pipelineId"].as_str().unwrap()).is_ok());

    let (status, stored) = get(&app, "/canaryResultArchive/p1.x?storageAccountName=s").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored, archived);

    let updated = json!({"complete": true, "status": "terminal"});
    let (status, body) = put(&app, "/canaryResultArchive/p1.x", &updated).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"pipelineId": "p1.x"}));
    assert_eq!(get(&app, "/canaryResultArchive/p1.x").await.1, updated);
    let (status, body) = put(&app, "/canaryResultArchive/nope", &updated).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&body),
        "Archived canary result 'nope' does not exist."
    );
    let (status, body) = post(&app, "/canaryResultArchive", &json!([1])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).starts_with("invalid JSON body"));

    let (_, list) = get(&app, "/canaryResultArchive").await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(
        call_raw(&app, Method::DELETE, "/canaryResultArchive/p1.x", None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (status, body) = get(&app, "/canaryResultArchive/p1.x").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        message(&body),
        "Archived canary result 'p1.x' was not found."
    );
}

// ---------------------------------------------------------------------------------------
// /judges, /judge

#[tokio::test]
async fn judges_lists_kayentas_judges_and_kanarys_own() {
    let (status, body) = get(&router(), "/judges").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!([
            {"name": "NetflixACAJudge-v1.0", "visible": true},
            {"name": "dredd-v1.0", "visible": false},
            {"name": "kanary-v1", "visible": true}
        ])
    );
}

fn expected_result(name: &str, thresholds: ScoreThresholds) -> Value {
    let config: CanaryConfig = serde_json::from_value(example(name, "config.json")).unwrap();
    let pairs: Vec<MetricSetPair> = serde_json::from_value(example(name, "pairs.json")).unwrap();
    let result = kanary_scoring::judge(&config, &pairs, thresholds, None).unwrap();
    serde_json::to_value(result).unwrap()
}

#[tokio::test]
async fn remote_judge_contract_matches_the_scorer() {
    let app = router();
    for name in ["latency-regression", "no-data", "error-spike-critical"] {
        let thresholds = example(name, "thresholds.json");
        let request = json!({
            "canaryConfig": example(name, "config.json"),
            "scoreThresholds": thresholds,
            "metricSetPairList": example(name, "pairs.json"),
        });
        let (status, body) = post(&app, "/judge", &request).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
        let t: ScoreThresholds = serde_json::from_value(thresholds).unwrap();
        assert_eq!(body, expected_result(name, t), "{name}");
        assert_no_nulls(&body, name);
    }
}

#[tokio::test]
async fn remote_judge_judges_a_config_that_selects_the_remote_judge() {
    // A Kayenta delegating to kanary sends its config with judge RemoteJudge-v1.0.
    let name = "latency-regression";
    let mut config = example(name, "config.json");
    config["judge"]["name"] = json!("RemoteJudge-v1.0");
    let request = json!({
        "canaryConfig": config,
        "scoreThresholds": {"pass": 95.0, "marginal": 75.0},
        "metricSetPairList": example(name, "pairs.json"),
    });
    let (status, body) = post(&router(), "/judge", &request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, expected_result(name, ScoreThresholds::default()));
    assert_eq!(body["judgeName"], "NetflixACAJudge-v1.0");
}

#[tokio::test]
async fn remote_judge_errors_are_400() {
    let app = router();
    let name = "latency-regression";
    let (status, body) = post(
        &app,
        "/judge",
        &json!({"canaryConfig": example(name, "config.json"), "metricSetPairList": []}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).contains("scoreThresholds"), "{body}");

    let mut config = example(name, "config.json");
    config["judge"]["name"] = json!("nope-v9");
    let (status, body) = post(
        &app,
        "/judge",
        &json!({"canaryConfig": config, "scoreThresholds": {"pass": 95, "marginal": 75},
                "metricSetPairList": example(name, "pairs.json")}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(message(&body), "Unable to resolve canary judge 'nope-v9'.");

    let (status, body) = post(
        &app,
        "/judge",
        &json!({"canaryConfig": example(name, "config.json"),
                "scoreThresholds": {"pass": 95, "marginal": 75},
                "metricSetPairList": [{"name": "not_in_config", "values": {"control": [1], "experiment": [1]}}]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&body),
        "Could not find metric config for not_in_config"
    );
}

#[tokio::test]
async fn judges_judge_rejudges_stored_data() {
    let app = router();
    let name = "latency-regression";
    let mut config = example(name, "config.json");
    config["id"] = json!("stored.config");
    let (status, body) = post(&app, "/canaryConfig", &config).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = post(&app, "/metricSetPairList", &example(name, "pairs.json")).await;
    let list_id = body["metricSetPairListId"].as_str().unwrap().to_string();

    let uri = format!(
        "/judges/judge?canaryConfigId=stored.config&metricSetPairListId={list_id}\
         &passThreshold=90&marginalThreshold=40"
    );
    let (status, body) = call(&app, Method::POST, &uri, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        expected_result(
            name,
            ScoreThresholds {
                pass: 90.0,
                marginal: 40.0
            }
        )
    );

    let (status, body) = call(
        &app,
        Method::POST,
        "/judges/judge?canaryConfigId=x&passThreshold=1",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&body),
        "Required request parameters 'metricSetPairListId' (String), 'marginalThreshold' (Double) are not present"
    );
    let (status, body) = call(
        &app,
        Method::POST,
        &format!("/judges/judge?canaryConfigId=stored.config&metricSetPairListId={list_id}&passThreshold=high&marginalThreshold=1"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&body),
        "query parameter 'passThreshold' is not a number: 'high'"
    );
    let (status, body) = call(
        &app,
        Method::POST,
        &format!("/judges/judge?canaryConfigId=missing&metricSetPairListId={list_id}&passThreshold=1&marginalThreshold=1"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(message(&body), "Canary config 'missing' was not found.");
    let (status, body) = call(
        &app,
        Method::POST,
        "/judges/judge?canaryConfigId=stored.config&metricSetPairListId=missing&passThreshold=1&marginalThreshold=1",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        message(&body),
        "Metric set pair list 'missing' was not found."
    );
}

// ---------------------------------------------------------------------------------------
// Accounts: kayenta.yml, /credentials, /metricsServices, /metadata/metricsService

const DD_API_KEY: &str = "dd-api-key-SECRET-4f1c";
const DD_APP_KEY: &str = "dd-app-key-SECRET-9a2e";

fn fake_env(name: &str) -> Option<String> {
    match name {
        "DD_API_KEY" => Some(DD_API_KEY.into()),
        "DD_APP_KEY" => Some(DD_APP_KEY.into()),
        _ => None,
    }
}

fn example_accounts() -> Accounts {
    let path = PathBuf::from(format!("{REPO}/testdata/serve/kayenta.yml"));
    Accounts::load_with_env(&path, &fake_env).unwrap()
}

/// A private directory for a test's files.
fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "kanary-server-api-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn kayenta_yml_example_loads_every_provider() {
    let accounts = example_accounts();
    let metrics: Vec<(&str, &str)> = accounts
        .metrics
        .iter()
        .map(|a| (a.name.as_str(), a.kind))
        .collect();
    assert_eq!(
        metrics,
        [
            ("prometheus-prod", "prometheus"),
            ("prometheus-behind-proxy", "prometheus"),
            ("datadog", "datadog"),
            ("google-monitoring", "stackdriver"),
        ]
    );
    assert_eq!(accounts.metrics[1].source.service_type(), "prometheus");
    assert_eq!(accounts.metrics[2].source.account(), "datadog");
    assert_eq!(
        accounts.metrics[0].public,
        json!({"endpoint": {"baseUrl": "http://prometheus.monitoring.svc:9090/"}})
    );
    assert_eq!(
        accounts.metrics[3].public,
        json!({"project": "kanary-test"})
    );
    // Storage accounts are aliases; the disabled memory section is skipped.
    assert_eq!(accounts.storage, ["gcs-canary", "s3-canary"]);
    assert_eq!(accounts.configuration, ["s3-canary"]);
    assert_eq!(
        accounts.resolve_configuration(None),
        Ok("s3-canary".to_string())
    );
    assert_eq!(accounts.resolve_storage(None), Ok("gcs-canary".to_string()));
    assert_eq!(
        accounts.resolve_configuration(Some("gcs-canary")),
        Ok("gcs-canary".to_string())
    );
    assert_eq!(
        accounts.resolve_storage(Some("in-memory")),
        Err("Unable to resolve account in-memory.".to_string())
    );

    let debug = format!("{accounts:?}");
    for secret in [DD_API_KEY, DD_APP_KEY, "not-a-real-password", "PRIVATE KEY"] {
        assert!(!debug.contains(secret), "Debug shows a secret: {debug}");
    }
    assert!(debug.contains("prometheus-prod"));
}

#[test]
fn kayenta_yml_missing_field_names_file_and_field() {
    let dir = temp_dir();
    let path = write(
        &dir,
        "kayenta.yml",
        "kayenta:\n  prometheus:\n    enabled: true\n    accounts:\n      - name: ok\n        endpoint:\n          baseUrl: http://localhost:9090\n      - name: broken\n        supportedTypes: [METRICS_STORE]\n",
    );
    let err = Accounts::load_with_env(&path, &fake_env).unwrap_err();
    assert_eq!(
        err,
        format!(
            "{}: kayenta.prometheus.accounts[1].endpoint.baseUrl is required",
            path.display()
        )
    );

    let path = write(
        &dir,
        "no-name.yml",
        "kayenta:\n  datadog:\n    accounts:\n      - endpoint.baseUrl: https://api.datadoghq.com\n",
    );
    let err = Accounts::load_with_env(&path, &fake_env).unwrap_err();
    assert!(
        err.ends_with("kayenta.datadog.accounts[0].name is required"),
        "{err}"
    );

    let path = write(&dir, "bad.yml", "kayenta: [unclosed\n");
    let err = Accounts::load_with_env(&path, &fake_env).unwrap_err();
    assert!(
        err.starts_with(&format!("{}: invalid YAML", path.display())),
        "{err}"
    );

    let missing = dir.join("absent.yml");
    let err = Accounts::load(&missing).unwrap_err();
    assert!(err.starts_with(&missing.display().to_string()), "{err}");

    let path = write(
        &dir,
        "google.yml",
        "kayenta:\n  google:\n    accounts:\n      - name: g\n        project: p\n        jsonPath: no-such-key.json\n",
    );
    let err = Accounts::load_with_env(&path, &fake_env).unwrap_err();
    assert!(err.contains("kayenta.google.accounts[0].jsonPath"), "{err}");
    assert!(err.contains("no-such-key.json"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn kayenta_yml_placeholders_and_secret_files() {
    let dir = temp_dir();
    let yml = "kayenta:\n  datadog:\n    enabled: ${DD_ENABLED:true}\n    accounts:\n      - name: dd\n        endpoint.baseUrl: ${DD_SITE:https://api.datadoghq.eu}\n        apiKey: ${DD_API_KEY}\n        applicationKey: ${DD_APP_KEY}\n";
    let path = write(&dir, "kayenta.yml", yml);
    let accounts = Accounts::load_with_env(&path, &fake_env).unwrap();
    assert_eq!(accounts.metrics.len(), 1);
    assert_eq!(
        accounts.metrics[0].public,
        json!({"endpoint": {"baseUrl": "https://api.datadoghq.eu/"}})
    );

    // An unset variable without a default names the field and the variable only.
    let err = Accounts::load_with_env(&path, &|name| {
        (name == "DD_APP_KEY").then(|| DD_APP_KEY.to_string())
    })
    .unwrap_err();
    assert!(
        err.contains(
            "kayenta.datadog.accounts[0].apiKey: the placeholder ${DD_API_KEY} is not set"
        ),
        "{err}"
    );
    assert!(!err.contains(DD_APP_KEY));

    // Secrets from files (kanary's `<field>File`), relative to the YAML file.
    write(&dir, "dd-api-key", &format!("{DD_API_KEY}\n"));
    write(&dir, "dd-app-key", DD_APP_KEY);
    write(&dir, "prom-auth", "kayenta:s3cr3t-pass\n");
    let path = write(
        &dir,
        "files.yml",
        "kayenta:\n  prometheus:\n    accounts:\n      - name: prom\n        endpoint.baseUrl: http://localhost:9090\n        usernamePasswordFile: prom-auth\n  datadog:\n    accounts:\n      - name: dd\n        endpoint.baseUrl: https://api.datadoghq.com\n        apiKeyFile: dd-api-key\n        applicationKeyFile: dd-app-key\n",
    );
    let accounts = Accounts::load_with_env(&path, &|_| None).unwrap();
    let names: Vec<&str> = accounts.metrics.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["prom", "dd"]);
    let debug = format!("{accounts:?}");
    assert!(
        !debug.contains("s3cr3t-pass") && !debug.contains(DD_API_KEY),
        "{debug}"
    );

    // A disabled section is skipped, placeholders and all.
    let accounts = Accounts::load_with_env(&write(&dir, "off.yml", yml), &|name| {
        (name == "DD_ENABLED").then(|| "false".to_string())
    })
    .unwrap();
    assert!(accounts.metrics.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn credentials_list_accounts_without_secrets() {
    let app = app(state_with(example_accounts()));
    let (status, body) = get(&app, "/credentials").await;
    assert_eq!(status, StatusCode::OK);
    let text = body.to_string();
    for secret in [
        DD_API_KEY,
        DD_APP_KEY,
        "not-a-real-password",
        "PRIVATE KEY",
        "kayenta\"",
    ] {
        assert!(
            !text.contains(secret),
            "/credentials shows a secret: {text}"
        );
    }
    let by_name = |n: &str| {
        body.as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == n)
            .unwrap_or_else(|| panic!("{n} missing from {body}"))
            .clone()
    };
    assert_eq!(
        by_name("prometheus-prod"),
        json!({
            "name": "prometheus-prod",
            "type": "prometheus",
            "supportedTypes": ["METRICS_STORE"],
            "locations": [],
            "recommendedLocations": [],
            "endpoint": {"baseUrl": "http://prometheus.monitoring.svc:9090/"}
        })
    );
    assert_eq!(by_name("google-monitoring")["type"], "google");
    assert_eq!(by_name("google-monitoring")["project"], "kanary-test");
    assert_eq!(by_name("datadog")["type"], "datadog");
    assert_eq!(
        by_name("s3-canary"),
        json!({
            "name": "s3-canary",
            "type": "kanary",
            "supportedTypes": ["OBJECT_STORE", "CONFIGURATION_STORE"],
            "locations": [],
            "recommendedLocations": []
        })
    );
    assert_eq!(
        by_name("gcs-canary")["supportedTypes"],
        json!(["OBJECT_STORE", "CONFIGURATION_STORE"])
    );
    assert_eq!(body.as_array().unwrap().len(), 6);

    // Argo's lookup with the example's OBJECT_STORE-only account.
    let (status, _) = get(
        &app,
        "/canaryConfig?application=a&configurationAccountName=gcs-canary",
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (status, services) = get(&app, "/metricsServices").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(services.as_array().unwrap().len(), 4);
    assert_eq!(
        services[3],
        json!({"name": "google-monitoring", "type": "google", "locations": [], "recommendedLocations": []})
    );
}

#[tokio::test]
async fn credentials_without_accounts_is_one_default_store() {
    let app = router();
    let (status, body) = get(&app, "/credentials").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!([{
            "name": "default",
            "type": "kanary",
            "supportedTypes": ["OBJECT_STORE", "CONFIGURATION_STORE"],
            "locations": [],
            "recommendedLocations": []
        }])
    );
    assert_eq!(get(&app, "/metricsServices").await.1, json!([]));
    let (status, body) = get(&app, "/metadata/metricsService").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message(&body),
        "Unable to resolve account of type METRICS_STORE."
    );
}

/// A stand-in Prometheus on 127.0.0.1 answering `/api/v1/label/__name__/values`.
async fn stand_in_prometheus(status: StatusCode, body: Value) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Router::new().route(
        "/api/v1/label/__name__/values",
        axum::routing::get(move || {
            let body = body.clone();
            async move { (status, axum::Json(body)) }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn metadata_lists_prometheus_metric_names_filtered() {
    let url = stand_in_prometheus(
        StatusCode::OK,
        json!({"status": "success", "data": ["http_requests_total", "HTTP_errors", "up", "process_cpu_seconds_total"]}),
    )
    .await;
    let app = kanary::server::app(state_with(Accounts::prometheus(&url).unwrap()));
    let (status, body) = get(&app, "/metadata/metricsService?filter=http").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!([{"name": "http_requests_total"}, {"name": "HTTP_errors"}])
    );
    let (status, body) = get(
        &app,
        "/metadata/metricsService?metricsAccountName=prometheus",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.as_array().unwrap().len(), 4);
    let (status, body) = get(&app, "/metadata/metricsService?metricsAccountName=other").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(message(&body), "Unable to resolve account other.");

    let url = stand_in_prometheus(
        StatusCode::BAD_REQUEST,
        json!({"status": "error", "errorType": "bad_data", "error": "no thanks"}),
    )
    .await;
    let app = kanary::server::app(state_with(Accounts::prometheus(&url).unwrap()));
    let (status, body) = get(&app, "/metadata/metricsService").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(message(&body).contains("no thanks"), "{body}");
}
