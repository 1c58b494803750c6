//! The Prometheus source without a Prometheus: Kayenta's query-building vectors
//! (`PrometheusMetricsServiceSpec`), its range-query parsing vectors
//! (`PrometheusRemoteServiceTest`, fixtures in `testdata/prometheus/`), and the request,
//! the grid, and the error handling, through an in-memory transport.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use kanary_judge::{ALIGNED_ATTRIBUTE, CanaryConfig, CanaryMetricConfig, MetricQuery, MetricSet};
use kanary_metrics_sources::http::{
    BoxFuture, HttpRequest, HttpResponse, Transport, TransportError,
};
use kanary_metrics_sources::prometheus::{
    MAX_POINTS_PER_SERIES, Prometheus, PrometheusAccount, PrometheusAuth,
};
use kanary_metrics_sources::{CanaryScope, HttpClient, MetricsSource, RetryPolicy, SourceError};
use reqwest::header::{AUTHORIZATION, HeaderMap};
use serde_json::{Value, json};

fn vectors(file: &str) -> Vec<Value> {
    let path = format!(
        "{}/../testdata/kayenta_vectors/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../testdata/prometheus/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn at_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).unwrap()
}

fn metric(query: Value) -> CanaryMetricConfig {
    serde_json::from_value(json!({"name": "m", "query": query})).unwrap()
}

// ---------------------------------------------------------------------------------------
// Query building: Kayenta's PrometheusMetricsServiceSpec, then the error paths.
// ---------------------------------------------------------------------------------------

/// A source whose queries are only built, never sent.
fn builder(scope_label: &str) -> Prometheus {
    Prometheus::new(
        PrometheusAccount::new("prom", "http://127.0.0.1:9")
            .unwrap()
            .with_scope_label(scope_label),
        HttpClient::new(Arc::new(Canned::new(vec![])), RetryPolicy::default()),
    )
}

fn vector_scope(scope: &Value) -> CanaryScope {
    let mut s = CanaryScope::new(
        scope["scope"].as_str().unwrap_or(""),
        at_millis(0),
        at_millis(60_000),
        60,
    );
    s.location = scope["location"].as_str().unwrap_or("").to_string();
    if let Some(params) = scope["extendedScopeParams"].as_object() {
        for (k, v) in params {
            s.extended_scope_params
                .insert(k.clone(), v.as_str().unwrap().to_string());
        }
    }
    s
}

#[test]
fn kayenta_prometheus_metrics_service_spec_vectors() {
    let cases = vectors("prometheus_metrics_service.json");
    assert_eq!(cases.len(), 14);
    for (i, case) in cases.iter().enumerate() {
        let input = &case["input"];
        let config: CanaryConfig =
            serde_json::from_value(json!({"templates": input["templates"]})).unwrap();
        let query: MetricQuery = serde_json::from_value(input["query"].clone()).unwrap();
        let metric = CanaryMetricConfig {
            name: Some("m".into()),
            query: Some(query),
            ..Default::default()
        };
        let source = builder(input["scopeLabel"].as_str().unwrap());
        let built = source
            .build_query(&config, &metric, &vector_scope(&input["scope"]))
            .unwrap_or_else(|e| panic!("vector {i}: {e}"));
        assert_eq!(
            built,
            case["expected"]["query"].as_str().unwrap(),
            "vector {i}"
        );
    }
}

fn build(query: Value, scope: &CanaryScope) -> Result<String, SourceError> {
    builder("instance").build_query(&CanaryConfig::default(), &metric(query), scope)
}

fn scope_at(scope: &str, location: &str, params: &[(&str, &str)]) -> CanaryScope {
    let mut s = CanaryScope::new(scope, at_millis(0), at_millis(60_000), 60);
    s.location = location.to_string();
    for (k, v) in params {
        s.extended_scope_params.insert(k.to_string(), v.to_string());
    }
    s
}

fn invalid(result: Result<String, SourceError>) -> String {
    match result {
        Err(SourceError::InvalidQuery(m)) => m,
        other => panic!("expected InvalidQuery, got {other:?}"),
    }
}

#[test]
fn gce_instance_adds_the_project_and_the_group_by_fields() {
    let scope = scope_at("web-v001", "us-east1", &[("project", "my-proj")]);
    let q = json!({"metricName": "cpu", "resourceType": "gce_instance",
        "labelBindings": ["mode=~\"user|system\""], "groupByFields": ["zone", "mode"]});
    assert_eq!(
        build(q, &scope).unwrap(),
        "avg(cpu{mode=~\"user|system\",instance=~\"web-v001-.{4}\",zone=~\".+/projects/my-proj/zones/us-east1-.{1}\"}) by (zone,mode)"
    );
    // A custom scope label (kayenta.prometheus.scopeLabel), no scope: no instance matcher.
    let q = json!({"metricName": "cpu", "resourceType": "gce_instance"});
    let built = builder("host")
        .build_query(
            &CanaryConfig::default(),
            &metric(q.clone()),
            &scope_at("g", "eu", &[]),
        )
        .unwrap();
    assert_eq!(
        built,
        "avg(cpu{host=~\"g-.{4}\",zone=~\".+/zones/eu-.{1}\"})"
    );
    assert_eq!(
        build(q, &scope_at("", "eu", &[])).unwrap(),
        "avg(cpu{zone=~\".+/zones/eu-.{1}\"})"
    );
}

#[test]
fn the_resource_type_comes_from_the_scope_when_the_query_has_none() {
    let scope = scope_at(
        "asg-v002",
        "us-west-2",
        &[("resourceType", "aws_ec2_instance")],
    );
    assert_eq!(
        build(json!({"metricName": "cpu"}), &scope).unwrap(),
        "avg(cpu{asg_groupName=\"asg-v002\",zone=~\"us-west-2.{1}\"})"
    );
    // The query's own resource type wins.
    assert_eq!(
        invalid(build(
            json!({"metricName": "cpu", "resourceType": "k8s"}),
            &scope
        )),
        "There is no explicit support for resourceType 'k8s'. You may build whatever query makes sense for your environment via label bindings and custom filter templates."
    );
}

#[test]
fn kayenta_error_messages_for_queries_that_cannot_be_built() {
    let scope = scope_at("s", "", &[]);
    assert_eq!(
        invalid(build(json!({"resourceType": "gce_instance"}), &scope)),
        "Metric Name is required when query type is Default."
    );
    assert_eq!(
        invalid(build(json!({"metricName": "cpu"}), &scope)),
        "Either a resource type or a custom filter is required."
    );
    assert_eq!(
        invalid(build(
            json!({"metricName": "cpu", "resourceType": "gce_instance"}),
            &scope
        )),
        "Location (i.e. region) is required when resourceType is 'gce_instance'."
    );
    assert_eq!(
        invalid(build(
            json!({"metricName": "cpu", "resourceType": "aws_ec2_instance"}),
            &scope
        )),
        "Location (i.e. region) is required when resourceType is 'aws_ec2_instance'."
    );
    // Template errors are Kayenta's too.
    assert_eq!(
        invalid(build(
            json!({"metricName": "cpu", "customInlineTemplate": "pod=${nope}"}),
            &scope
        )),
        "Problem evaluating custom filter template: pod=${nope}"
    );
    assert_eq!(
        invalid(build(
            json!({"metricName": "cpu", "customFilterTemplate": "t"}),
            &scope
        )),
        "Custom filter template 't' was referenced, but no templates were defined."
    );
    // No query at all.
    let bare: CanaryMetricConfig = serde_json::from_value(json!({"name": "m"})).unwrap();
    let err = builder("instance")
        .build_query(&CanaryConfig::default(), &bare, &scope)
        .unwrap_err();
    assert!(err.to_string().contains("'m'"), "{err}");
}

#[test]
fn custom_filters_split_on_commas_before_the_label_bindings() {
    let scope = scope_at("web-canary", "", &[]);
    let q = json!({"metricName": "up", "labelBindings": ["job=\"api\""],
        "customInlineTemplate": "pod=~\"${scope}-.*\",,ns=\"prod\","});
    // Java's split keeps inner empty pieces and drops trailing ones.
    assert_eq!(
        build(q, &scope).unwrap(),
        "avg(up{pod=~\"web-canary-.*\",,ns=\"prod\",job=\"api\"})"
    );
    // PromQL: needs no metric name, and Orca's escaped `$\{` form is read too.
    let q = json!({"customInlineTemplate": "PromQL:sum(rate(x{pod=\"$\\{scope}\"}[5m]))"});
    assert_eq!(
        build(q, &scope).unwrap(),
        "sum(rate(x{pod=\"web-canary\"}[5m]))"
    );
    // Without filters the braces are left out.
    let q = json!({"metricName": "up", "customInlineTemplate": ","});
    assert_eq!(build(q, &scope).unwrap(), "avg(up)");
}

// ---------------------------------------------------------------------------------------
// Fetching, through an in-memory transport that records each request.
// ---------------------------------------------------------------------------------------

/// Answers with `responses` in order (the last one repeated) and records every request.
struct Canned {
    responses: Mutex<VecDeque<(u16, Vec<u8>)>>,
    requests: Mutex<Vec<HttpRequest>>,
}

impl Canned {
    fn new(responses: Vec<(u16, Vec<u8>)>) -> Self {
        Self {
            responses: Mutex::new(responses.into()),
            requests: Mutex::new(Vec::new()),
        }
    }

    fn requests(&self) -> Vec<HttpRequest> {
        self.requests.lock().unwrap().clone()
    }
}

impl Transport for Canned {
    fn send<'a>(
        &'a self,
        request: &'a HttpRequest,
        _timeout: Duration,
    ) -> BoxFuture<'a, Result<HttpResponse, TransportError>> {
        self.requests.lock().unwrap().push(request.clone());
        let mut responses = self.responses.lock().unwrap();
        let (status, body) = if responses.len() > 1 {
            responses.pop_front().unwrap()
        } else {
            responses
                .front()
                .cloned()
                .unwrap_or((599, b"no response scripted".to_vec()))
        };
        Box::pin(async move {
            Ok(HttpResponse {
                status,
                headers: HeaderMap::new(),
                body,
            })
        })
    }
}

fn canned_source(
    responses: Vec<(u16, Vec<u8>)>,
    auth: PrometheusAuth,
) -> (Prometheus, Arc<Canned>) {
    let canned = Arc::new(Canned::new(responses));
    let account = PrometheusAccount::new("prom-test", "https://prom.example.test/")
        .unwrap()
        .with_auth(auth);
    let policy = RetryPolicy {
        attempts: 3,
        ..Default::default()
    };
    (
        Prometheus::new(account, HttpClient::new(canned.clone(), policy)),
        canned,
    )
}

const PROMQL: &str = "PromQL:requests_total{pod=\"${scope}\"}";

async fn fetch(
    responses: Vec<(u16, Vec<u8>)>,
    scope: &CanaryScope,
) -> Result<Vec<MetricSet>, SourceError> {
    let (source, _) = canned_source(responses, PrometheusAuth::None);
    source
        .query_metrics(
            &CanaryConfig::default(),
            &metric(json!({"customInlineTemplate": PROMQL})),
            scope,
        )
        .await
}

fn query_pairs(request: &HttpRequest) -> BTreeMap<String, String> {
    request.url.query_pairs().into_owned().collect()
}

/// Kayenta's PrometheusRemoteServiceTest: the expected parse of its fixtures, here read
/// onto the grid of the fixtures' own samples (1 s): the same values, start and end.
#[tokio::test]
async fn kayenta_prometheus_remote_service_vectors_on_a_matching_grid() {
    let cases = vectors("prometheus_remote_service.json");
    for (name, file) in [
        ("rangeQueryWithoutTags", "range_query_without_tags.json"),
        ("rangeQueryWithTags", "range_query_with_tags.json"),
    ] {
        let case = cases.iter().find(|c| c["name"] == name).unwrap();
        let want = &case["expected"]["results"][0];
        let start = want["startTimeMillis"].as_i64().unwrap();
        let values: Vec<f64> = want["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert!(values.len() == 57 || values.len() == 58, "{name}");
        let n = values.len() as i64;
        let scope = CanaryScope::new(
            "web",
            at_millis(start),
            at_millis(start + (n - 1) * 1000),
            1,
        );
        let sets = fetch(vec![(200, fixture(file))], &scope).await.unwrap();
        assert_eq!(sets.len(), 1, "{name}");
        let set = &sets[0];
        assert_eq!(set.values, values, "{name}");
        assert_eq!(set.start_time_millis, start, "{name}");
        assert_eq!(
            set.end_time_millis,
            want["endTimeMillis"].as_i64().unwrap(),
            "{name}"
        );
        assert_eq!(
            set.step_millis,
            want["stepSecs"].as_i64().unwrap() * 1000,
            "{name}"
        );
        let tags: BTreeMap<String, String> = serde_json::from_value(want["tags"].clone()).unwrap();
        assert_eq!(set.tags, tags, "{name}: labels without __name__");
        assert_eq!(set.name, "m");
    }
}

#[tokio::test]
async fn kayenta_empty_range_query_gives_one_placeholder_on_the_grid() {
    let scope = CanaryScope::new("web", at_millis(0), at_millis(240_000), 60);
    let sets = fetch(vec![(200, fixture("range_query_empty.json"))], &scope)
        .await
        .unwrap();
    assert_eq!(sets.len(), 1);
    let set = &sets[0];
    assert!(set.tags.is_empty());
    assert_eq!(set.values.len(), 5);
    assert!(set.values.iter().all(|v| v.is_nan()));
    assert_eq!(
        (set.start_time_millis, set.end_time_millis, set.step_millis),
        (0, 300_000, 60_000)
    );
    assert_eq!(set.expected_data_points(), 5);
    assert_eq!(set.attributes["query"], "requests_total{pod=\"web\"}");
    assert_eq!(set.attributes[ALIGNED_ATTRIBUTE], "true");
}

#[tokio::test]
async fn the_request_is_kayentas_query_range_get() {
    let body = br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#.to_vec();
    let (source, canned) = canned_source(vec![(200, body)], PrometheusAuth::None);
    let scope = CanaryScope::new(
        "web-canary",
        "2020-09-09T13:12:56.540500Z".parse().unwrap(),
        "2020-09-09T13:13:56.540500Z".parse().unwrap(),
        5,
    );
    source
        .query_metrics(
            &CanaryConfig::default(),
            &metric(json!({"customInlineTemplate": PROMQL})),
            &scope,
        )
        .await
        .unwrap();
    let requests = canned.requests();
    assert_eq!(requests.len(), 1);
    let url = &requests[0].url;
    assert_eq!(url.path(), "/api/v1/query_range");
    let pairs = query_pairs(&requests[0]);
    let want: BTreeMap<String, String> = [
        ("query", "requests_total{pod=\"web-canary\"}"),
        ("start", "2020-09-09T13:12:56.540500Z"),
        ("end", "2020-09-09T13:13:56.540500Z"),
        ("step", "5"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(pairs, want);
    assert!(requests[0].headers.get(AUTHORIZATION).is_none());
}

#[tokio::test]
async fn credentials_travel_in_a_sensitive_header_only() {
    for (auth, want) in [
        (
            PrometheusAuth::Basic {
                username: "Aladdin".into(),
                password: "open sesame".into(),
            },
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
        ),
        (PrometheusAuth::Bearer("tok-xyz".into()), "Bearer tok-xyz"),
    ] {
        let (source, canned) = canned_source(vec![(401, b"Unauthorized".to_vec())], auth.clone());
        let err = source
            .query_metrics(
                &CanaryConfig::default(),
                &metric(json!({"customInlineTemplate": PROMQL})),
                &CanaryScope::new("web", at_millis(0), at_millis(60_000), 60),
            )
            .await
            .unwrap_err();
        let header = canned.requests()[0]
            .headers
            .get(AUTHORIZATION)
            .cloned()
            .unwrap();
        assert_eq!(header.to_str().unwrap(), want);
        assert!(header.is_sensitive());
        assert!(!canned.requests()[0].url.as_str().contains("sesame"));
        assert!(!canned.requests()[0].url.as_str().contains("tok-xyz"));
        // A 401 is not retried, and its error names no secret.
        assert_eq!(canned.requests().len(), 1);
        let text = format!("{err} {err:?} {:?} {source:?}", auth);
        assert!(
            !text.contains("sesame") && !text.contains("tok-xyz"),
            "{text}"
        );
        assert!(matches!(err, SourceError::Status { status: 401, .. }));
    }
}

fn matrix(series: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"status": "success",
        "data": {"resultType": "matrix", "result": series}}))
    .unwrap()
}

#[tokio::test]
async fn missing_samples_nulls_and_special_values_land_on_their_instants() {
    // Grid 0, 60, ..., 300 s. Prometheus skipped 120 s and 240 s; 180 s is null.
    let body = matrix(json!([
        {"metric": {"__name__": "requests_total", "pod": "web-1"},
         "values": [[0, "1"], [60, "+Inf"], [180, null], [300, "NaN"]]},
        {"metric": {"pod": "web-2"},
         "values": [[0.0, "-Inf"], [120, "2.5e-3"], [240.0004, "7"], [999, "8"]]}
    ]));
    let scope = CanaryScope::new("web", at_millis(0), at_millis(300_000), 60);
    let sets = fetch(vec![(200, body)], &scope).await.unwrap();
    assert_eq!(sets.len(), 2);
    let v = &sets[0].values;
    assert_eq!(v.len(), 6);
    assert_eq!(v[0], 1.0);
    assert_eq!(v[1], f64::INFINITY);
    assert!(v[2].is_nan() && v[3].is_nan() && v[4].is_nan() && v[5].is_nan());
    assert_eq!(sets[0].tags.get("pod").map(String::as_str), Some("web-1"));
    assert!(!sets[0].tags.contains_key("__name__"));
    let v = &sets[1].values;
    assert_eq!(v[0], f64::NEG_INFINITY);
    assert!(v[1].is_nan());
    assert_eq!(v[2], 0.0025);
    assert!(v[3].is_nan());
    assert_eq!(v[4], 7.0);
    // A sample outside the window is not on the grid.
    assert!(v[5].is_nan());
    for set in &sets {
        assert_eq!(set.end_time_millis, 360_000);
        assert_eq!(set.start_time_iso.as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(set.end_time_iso.as_deref(), Some("1970-01-01T00:06:00Z"));
        assert!(set.is_aligned());
    }
}

fn error_body(kind: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"status": "error", "errorType": kind, "error": message})).unwrap()
}

fn status_of(err: SourceError) -> (u16, String, String) {
    match err {
        SourceError::Status {
            status,
            message,
            account,
            url,
            ..
        } => {
            assert_eq!(account, "prom-test");
            (status, message, url)
        }
        other => panic!("expected Status, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn prometheus_errors_carry_prometheus_own_message() {
    let scope = CanaryScope::new("web", at_millis(0), at_millis(60_000), 60);
    let parse = "1:5: parse error: unclosed left parenthesis";
    let (status, message, url) = status_of(
        fetch(vec![(400, error_body("bad_data", parse))], &scope)
            .await
            .unwrap_err(),
    );
    assert_eq!((status, message.as_str()), (400, parse));
    assert_eq!(url, "https://prom.example.test/api/v1/query_range");

    let (status, message, _) = status_of(
        fetch(
            vec![(422, error_body("execution", "query timed out"))],
            &scope,
        )
        .await
        .unwrap_err(),
    );
    assert_eq!((status, message.as_str()), (422, "query timed out"));

    // 503 is retried (Kayenta's SERVER_ERROR series); the last answer is reported.
    let (source, canned) = canned_source(
        vec![(503, error_body("unavailable", "TSDB not ready"))],
        PrometheusAuth::None,
    );
    let err = source
        .query_metrics(
            &CanaryConfig::default(),
            &metric(json!({"customInlineTemplate": PROMQL})),
            &scope,
        )
        .await
        .unwrap_err();
    assert_eq!(canned.requests().len(), 3);
    assert_eq!(status_of(err).1, "TSDB not ready");

    // A proxy's page, not Prometheus's JSON: the start of the body.
    let (status, message, _) = status_of(
        fetch(vec![(502, b"<html>Bad Gateway</html>".to_vec())], &scope)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, message.as_str()),
        (502, "<html>Bad Gateway</html>")
    );

    // A 503 then a success: the success is read.
    let ok = matrix(json!([{"metric": {}, "values": [[0, "4"], [60, "5"]]}]));
    let sets = fetch(
        vec![(503, error_body("unavailable", "busy")), (200, ok)],
        &scope,
    )
    .await
    .unwrap();
    assert_eq!(sets[0].values, [4.0, 5.0]);
}

fn response_detail(err: SourceError) -> String {
    match err {
        SourceError::Response {
            service,
            account,
            detail,
            ..
        } => {
            assert_eq!((service, account.as_str()), ("prometheus", "prom-test"));
            detail
        }
        other => panic!("expected Response, got {other:?}"),
    }
}

#[tokio::test]
async fn unreadable_success_answers_are_response_errors() {
    let scope = CanaryScope::new("web", at_millis(0), at_millis(60_000), 60);
    for (body, expect) in [
        (
            b"<html>login</html>".to_vec(),
            "not a Prometheus API answer",
        ),
        (
            br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#.to_vec(),
            "'vector'",
        ),
        (br#"{"status":"success"}"#.to_vec(), "no 'data'"),
        (
            br#"{"data":{"resultType":"matrix","result":[]}}"#.to_vec(),
            "no 'status'",
        ),
        (error_body("internal", "boom"), "boom"),
        (
            matrix(json!([{"metric": {}, "values": [[0, "lots"]]}])),
            "data.result[0].values[0]",
        ),
        (
            matrix(json!([{"metric": {}, "values": [["x", "1"]]}])),
            "not a number of seconds",
        ),
        (
            matrix(json!([{"metric": {"a": 1}, "values": []}])),
            "not a Prometheus API answer",
        ),
        (Vec::new(), "not a Prometheus API answer"),
    ] {
        let detail = response_detail(fetch(vec![(200, body)], &scope).await.unwrap_err());
        assert!(detail.contains(expect), "{detail} should contain {expect}");
    }
}

#[tokio::test]
async fn grids_prometheus_would_refuse_are_refused_before_sending() {
    let (source, canned) = canned_source(vec![], PrometheusAuth::None);
    let m = metric(json!({"customInlineTemplate": PROMQL}));
    let too_many = i64::try_from(MAX_POINTS_PER_SERIES).unwrap();
    let scope = CanaryScope::new("web", at_millis(0), at_millis(too_many * 1000), 1);
    let err = source
        .query_metrics(&CanaryConfig::default(), &m, &scope)
        .await
        .unwrap_err();
    match err {
        SourceError::InvalidQuery(msg) => {
            assert!(msg.contains("11002 points"), "{msg}");
            assert!(msg.contains("use a larger step"), "{msg}");
        }
        other => panic!("expected InvalidQuery, got {other:?}"),
    }
    // Bad steps and reversed windows are query errors too.
    for scope in [
        CanaryScope::new("web", at_millis(0), at_millis(60_000), 0),
        CanaryScope::new("web", at_millis(60_000), at_millis(0), 60),
    ] {
        let err = source
            .query_metrics(&CanaryConfig::default(), &m, &scope)
            .await
            .unwrap_err();
        assert!(matches!(err, SourceError::InvalidQuery(_)), "{err:?}");
    }
    assert!(canned.requests().is_empty());
}
