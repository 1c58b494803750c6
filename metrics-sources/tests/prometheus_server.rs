//! The Prometheus source against a real Prometheus (Debian's `prometheus`, started on
//! 127.0.0.1 with the backfilled series of `testdata/prometheus/canary.om`), against a
//! closed port, and against a small axum stand-in that records the credentials it gets.
#![allow(clippy::unwrap_used)]

#[path = "support/prometheus_server.rs"]
mod prometheus_server;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header::AUTHORIZATION};
use axum::routing::get;
use chrono::{DateTime, TimeZone, Utc};
use kanary_judge::{ALIGNED_ATTRIBUTE, CanaryConfig, CanaryMetricConfig, MetricSet};
use kanary_metrics_sources::http::ReqwestTransport;
use kanary_metrics_sources::prometheus::{Prometheus, PrometheusAccount, PrometheusAuth};
use kanary_metrics_sources::{
    CanaryScope, CanaryScopePair, FetchOptions, HttpClient, MetricsSource, RetryPolicy,
    SourceError, fetch_pairs,
};
use prometheus_server::PrometheusServer;

const FIXTURE: &str = include_str!("../../testdata/prometheus/canary.om");
/// The fixture's first sample time (2025-01-01T00:00:00Z), its spacing and its length.
const START: i64 = 1_735_689_600;
const SPACING: i64 = 60;
const POINTS: usize = 61;
/// Indexes at which the fixture's canary latency series has no sample.
const GAP: std::ops::RangeInclusive<usize> = 20..=29;

/// The backfilled values, read back from the fixture: `(metric, pod) -> index -> value`.
fn fixture_values() -> BTreeMap<(String, String), BTreeMap<usize, f64>> {
    let mut out: BTreeMap<(String, String), BTreeMap<usize, f64>> = BTreeMap::new();
    for line in FIXTURE.lines().filter(|l| !l.starts_with('#')) {
        let (series, rest) = line.split_once("} ").unwrap();
        let (name, labels) = series.split_once('{').unwrap();
        let pod = labels
            .split(',')
            .find_map(|l| l.strip_prefix("pod=\""))
            .unwrap()
            .trim_end_matches('"');
        let mut parts = rest.split_whitespace();
        let value: f64 = parts.next().unwrap().parse().unwrap();
        let t: i64 = parts.next().unwrap().parse().unwrap();
        assert_eq!((t - START) % SPACING, 0, "{line}");
        let index = usize::try_from((t - START) / SPACING).unwrap();
        out.entry((name.to_string(), pod.to_string()))
            .or_default()
            .insert(index, value);
    }
    out
}

fn expected(metric: &str, pod: &str) -> BTreeMap<usize, f64> {
    fixture_values()
        .remove(&(metric.to_string(), pod.to_string()))
        .unwrap()
}

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).unwrap()
}

/// The fixture's whole window, at its spacing.
fn scope(name: &str) -> CanaryScope {
    CanaryScope::new(
        name,
        at(START),
        at(START + SPACING * (POINTS as i64 - 1)),
        SPACING,
    )
}

fn metric(json: serde_json::Value) -> CanaryMetricConfig {
    serde_json::from_value(json).unwrap()
}

/// Asserts `values` holds exactly `expected` at its indexes and NaN everywhere else.
fn assert_on_grid(values: &[f64], expected: &BTreeMap<usize, f64>) {
    assert_eq!(values.len(), POINTS);
    for (k, v) in values.iter().enumerate() {
        match expected.get(&k) {
            Some(e) => assert_eq!(v, e, "index {k}"),
            None => assert!(v.is_nan(), "index {k}: expected NaN, got {v}"),
        }
    }
}

fn assert_grid_metadata(set: &MetricSet, query: &str) {
    assert_eq!(set.start_time_millis, START * 1000);
    assert_eq!(set.step_millis, SPACING * 1000);
    assert_eq!(
        set.end_time_millis,
        (START + SPACING * POINTS as i64) * 1000
    );
    assert_eq!(set.expected_data_points(), POINTS);
    assert_eq!(set.start_time_iso.as_deref(), Some("2025-01-01T00:00:00Z"));
    assert_eq!(set.end_time_iso.as_deref(), Some("2025-01-01T01:01:00Z"));
    assert_eq!(set.attributes.get("query").map(String::as_str), Some(query));
    assert_eq!(
        set.attributes.get(ALIGNED_ATTRIBUTE).map(String::as_str),
        Some("true")
    );
}

fn source(url: &str) -> Prometheus {
    Prometheus::new(
        PrometheusAccount::new("prom-main", url).unwrap(),
        HttpClient::reqwest().unwrap(),
    )
}

/// A lookback shorter than the spacing: each grid instant sees only its own sample, so a
/// missing sample is missing (with the default 5 minutes, Prometheus would repeat the
/// sample before the gap into its first five instants).
const LOOKBACK: &str = "--query.lookback-delta=30s";

#[tokio::test]
async fn reads_backfilled_series_onto_the_requested_grid() {
    let server = PrometheusServer::start_with_args(FIXTURE, &[LOOKBACK]);
    let prometheus = source(&server.url());
    let config = CanaryConfig::default();

    // A PromQL template: the raw series, with all its labels.
    let raw = metric(
        serde_json::json!({"name": "latency", "query": {"type": "prometheus",
        "customInlineTemplate": "PromQL:request_latency_seconds{pod=\"${scope}\"}"}}),
    );
    let canary = scope("web-canary-1");
    let sets = prometheus
        .query_metrics(&config, &raw, &canary)
        .await
        .unwrap();
    assert_eq!(sets.len(), 1);
    let set = &sets[0];
    assert_eq!(set.name, "latency");
    let tags: BTreeMap<String, String> = [("app", "web"), ("pod", "web-canary-1")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(set.tags, tags, "labels without __name__");
    let want = expected("request_latency_seconds", "web-canary-1");
    assert!(GAP.clone().all(|k| !want.contains_key(&k)));
    assert_eq!(want.len(), POINTS - GAP.count());
    assert_on_grid(&set.values, &want);
    for k in GAP {
        assert!(set.values[k].is_nan(), "the gap is NaN at {k}");
    }
    assert!(!set.values[GAP.start() - 1].is_nan());
    assert!(!set.values[GAP.end() + 1].is_nan());
    assert_grid_metadata(set, "request_latency_seconds{pod=\"web-canary-1\"}");

    // Kayenta's default query type: avg(metric{custom filter}) keeps no label.
    let avg = metric(
        serde_json::json!({"name": "latency", "query": {"type": "prometheus",
        "metricName": "request_latency_seconds", "customInlineTemplate": "pod=\"${scope}\""}}),
    );
    let baseline = scope("web-baseline-1");
    let sets = prometheus
        .query_metrics(&config, &avg, &baseline)
        .await
        .unwrap();
    assert_eq!(sets.len(), 1);
    assert!(sets[0].tags.is_empty());
    assert_on_grid(
        &sets[0].values,
        &expected("request_latency_seconds", "web-baseline-1"),
    );
    assert_grid_metadata(
        &sets[0],
        "avg(request_latency_seconds{pod=\"web-baseline-1\"})",
    );

    // No series: one placeholder of grid length.
    let none = scope("web-nobody-1");
    let sets = prometheus
        .query_metrics(&config, &raw, &none)
        .await
        .unwrap();
    assert_eq!(sets.len(), 1);
    assert!(sets[0].tags.is_empty());
    assert_on_grid(&sets[0].values, &BTreeMap::new());
    assert_grid_metadata(&sets[0], "request_latency_seconds{pod=\"web-nobody-1\"}");
}

#[tokio::test]
async fn prometheus_errors_and_limits_are_reported_with_its_own_words() {
    let server = PrometheusServer::start_with_args(FIXTURE, &[LOOKBACK]);
    let prometheus = source(&server.url());
    let config = CanaryConfig::default();

    let bad = metric(
        serde_json::json!({"name": "broken", "query": {"type": "prometheus",
        "customInlineTemplate": "PromQL:sum(request_latency_seconds{pod=\"${scope}\"}"}}),
    );
    let err = prometheus
        .query_metrics(&config, &bad, &scope("web-canary-1"))
        .await
        .unwrap_err();
    match &err {
        SourceError::Status {
            service,
            account,
            url,
            status,
            message,
        } => {
            assert_eq!(*service, "prometheus");
            assert_eq!(account, "prom-main");
            assert_eq!(url, &format!("{}/api/v1/query_range", server.url()));
            assert_eq!(*status, 400);
            // Prometheus's own parse error, not a generic text.
            assert!(message.contains("parse error"), "{message}");
        }
        other => panic!("expected a Status error, got {other:?}"),
    }

    // Prometheus's limit is (end − start) / step ≤ 11,000: 11,001 instants are served...
    let raw = metric(
        serde_json::json!({"name": "latency", "query": {"type": "prometheus",
        "customInlineTemplate": "PromQL:request_latency_seconds{pod=\"${scope}\"}"}}),
    );
    let mut wide = scope("web-baseline-1");
    wide.step = 1;
    wide.end = at(START + 11_000);
    let sets = prometheus
        .query_metrics(&config, &raw, &wide)
        .await
        .unwrap();
    assert_eq!(sets[0].values.len(), 11_001);
    assert_eq!(
        sets[0].values[60],
        expected("request_latency_seconds", "web-baseline-1")[&1]
    );
    // ...one more is refused before any request is sent.
    wide.end = at(START + 11_001);
    let err = prometheus
        .query_metrics(&config, &raw, &wide)
        .await
        .unwrap_err();
    match err {
        SourceError::InvalidQuery(m) => assert!(m.contains("larger step"), "{m}"),
        other => panic!("expected InvalidQuery, got {other:?}"),
    }
}

#[tokio::test]
async fn fetch_pairs_pairs_two_metrics_in_config_order() {
    let server = PrometheusServer::start_with_args(FIXTURE, &[LOOKBACK]);
    let prometheus = source(&server.url());
    let config: CanaryConfig = serde_json::from_value(serde_json::json!({
        "metrics": [
            {"name": "latency", "query": {"type": "prometheus",
                "metricName": "request_latency_seconds", "customInlineTemplate": "pod=\"${scope}\""},
             "groups": ["perf"], "analysisConfigurations": {"canary": {}}},
            {"name": "errors", "query": {"type": "prometheus",
                "customInlineTemplate": "PromQL:max(error_ratio{pod=\"${scope}\"})"},
             "groups": ["errors"], "analysisConfigurations": {"canary": {}}}
        ]
    }))
    .unwrap();
    let mut scopes = BTreeMap::new();
    scopes.insert(
        "default".to_string(),
        CanaryScopePair {
            control_scope: scope("web-baseline-1"),
            experiment_scope: scope("web-canary-1"),
        },
    );
    let pairs = fetch_pairs(&prometheus, &config, &scopes, FetchOptions::default())
        .await
        .unwrap();
    let names: Vec<&str> = pairs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["latency", "errors"]);
    for pair in &pairs {
        assert!(pair.is_aligned(), "{} is aligned", pair.name);
        assert!(pair.tags.is_empty());
        assert_eq!(pair.values.control.len(), POINTS);
        assert_eq!(pair.values.experiment.len(), POINTS);
    }
    assert_on_grid(
        &pairs[0].values.control,
        &expected("request_latency_seconds", "web-baseline-1"),
    );
    assert_on_grid(
        &pairs[0].values.experiment,
        &expected("request_latency_seconds", "web-canary-1"),
    );
    assert_on_grid(
        &pairs[1].values.control,
        &expected("error_ratio", "web-baseline-1"),
    );
    assert_on_grid(
        &pairs[1].values.experiment,
        &expected("error_ratio", "web-canary-1"),
    );
    assert_eq!(
        pairs[1].attributes["experiment"]["query"],
        "max(error_ratio{pod=\"web-canary-1\"})"
    );
}

#[tokio::test]
async fn a_closed_port_is_unreachable_after_the_retries() {
    // Bound and released: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let http = HttpClient::new(
        Arc::new(ReqwestTransport::new().unwrap()),
        RetryPolicy {
            attempts: 2,
            backoff: Duration::from_millis(10),
            ..Default::default()
        },
    );
    let account = PrometheusAccount::new("prom-down", &format!("http://127.0.0.1:{port}")).unwrap();
    let prometheus = Prometheus::new(account, http);
    let raw = metric(
        serde_json::json!({"name": "latency", "query": {"type": "prometheus",
        "customInlineTemplate": "PromQL:up"}}),
    );
    let err = prometheus
        .query_metrics(&CanaryConfig::default(), &raw, &scope("web-canary-1"))
        .await
        .unwrap_err();
    let url = format!("http://127.0.0.1:{port}/api/v1/query_range");
    match &err {
        SourceError::Unreachable {
            service,
            account,
            url: u,
            attempts,
            ..
        } => {
            assert_eq!(*service, "prometheus");
            assert_eq!(account, "prom-down");
            assert_eq!(u, &url);
            assert_eq!(*attempts, 2);
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("prom-down") && text.contains(&url), "{text}");
}

/// A stand-in `query_range` that records the `Authorization` header of each request and,
/// like an authenticating proxy that never challenges, answers 403 without one.
async fn stand_in() -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let record = seen.clone();
    let handler = move |headers: HeaderMap| {
        let record = record.clone();
        async move {
            let auth = headers
                .get(AUTHORIZATION)
                .map(|v| v.to_str().unwrap().to_string());
            let ok = auth.is_some();
            record.lock().unwrap().push(auth);
            if ok {
                (
                    StatusCode::OK,
                    r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#,
                )
            } else {
                (StatusCode::FORBIDDEN, "forbidden")
            }
        }
    };
    let app = Router::new()
        .route("/api/v1/query_range", get(handler.clone()))
        .route("/prom/api/v1/query_range", get(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

async fn query_with(url: &str, auth: PrometheusAuth) -> Result<Vec<MetricSet>, SourceError> {
    let account = PrometheusAccount::new("prom-auth", url)
        .unwrap()
        .with_auth(auth);
    let prometheus = Prometheus::new(account, HttpClient::reqwest().unwrap());
    let raw = metric(
        serde_json::json!({"name": "latency", "query": {"type": "prometheus",
        "customInlineTemplate": "PromQL:up"}}),
    );
    prometheus
        .query_metrics(&CanaryConfig::default(), &raw, &scope("web-canary-1"))
        .await
}

#[tokio::test]
async fn basic_credentials_are_sent_with_the_first_request() {
    let (url, seen) = stand_in().await;
    let sets = query_with(
        &url,
        PrometheusAuth::Basic {
            username: "kanary".into(),
            password: "s3cret:pw".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(sets.len(), 1, "the placeholder");
    assert_eq!(
        *seen.lock().unwrap(),
        [Some("Basic a2FuYXJ5OnMzY3JldDpwdw==".to_string())]
    );
}

#[tokio::test]
async fn bearer_tokens_are_sent_with_the_first_request_under_a_path_prefix() {
    let (url, seen) = stand_in().await;
    query_with(
        &format!("{url}/prom/"),
        PrometheusAuth::Bearer("tok-123".into()),
    )
    .await
    .unwrap();
    assert_eq!(*seen.lock().unwrap(), [Some("Bearer tok-123".to_string())]);
}

#[tokio::test]
async fn without_credentials_a_refusal_is_a_status_error() {
    let (url, seen) = stand_in().await;
    let err = query_with(&url, PrometheusAuth::None).await.unwrap_err();
    match err {
        SourceError::Status {
            status, message, ..
        } => {
            assert_eq!(status, 403);
            assert_eq!(message, "forbidden");
        }
        other => panic!("expected Status, got {other:?}"),
    }
    assert_eq!(*seen.lock().unwrap(), [None]);
}
