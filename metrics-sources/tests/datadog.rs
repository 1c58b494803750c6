//! The Datadog source against a stand-in Datadog on 127.0.0.1 (no Datadog emulator
//! exists): an axum server serving the documented v1 query response shapes recorded in
//! `testdata/datadog/`, including error bodies, 429, 5xx, a server that never answers and
//! garbage. Also Kayenta's `DatadogMetricsServiceSpec` query vectors.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use chrono::{DateTime, Utc};
use kanary_judge::CanaryConfig;
use kanary_metrics_sources::datadog::{Datadog, DatadogAccount};
use kanary_metrics_sources::http::ReqwestTransport;
use kanary_metrics_sources::{
    CanaryScope, CanaryScopePair, FetchOptions, HttpClient, MetricsSource, RetryPolicy,
    SourceError, fetch_pairs,
};
use serde_json::{Value, json};

const API_KEY: &str = "ddapi-0123456789abcdef0123456789abcdef";
const APP_KEY: &str = "ddapp-fedcba9876543210fedcba9876543210fedcba98";
const ACCOUNT: &str = "dd-prod";
/// 2026-11-30T10:00:00Z.
const T0_MS: i64 = 1_796_032_800_000;

// ---------------------------------------------------------------------------------------
// The stand-in server
// ---------------------------------------------------------------------------------------

/// One request as the stand-in received it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    raw_query: String,
    params: BTreeMap<String, String>,
    api_key: Option<String>,
    app_key: Option<String>,
}

/// What the stand-in answers.
enum Reply {
    Body {
        status: u16,
        headers: Vec<(&'static str, &'static str)>,
        body: String,
    },
    /// Never answers.
    Hang,
}

fn reply(status: u16, body: impl Into<String>) -> Reply {
    Reply::Body {
        status,
        headers: vec![("content-type", "application/json")],
        body: body.into(),
    }
}

type Responder = Box<dyn Fn(usize, &Seen) -> Reply + Send + Sync>;

struct Shared {
    seen: Mutex<Vec<Seen>>,
    responder: Responder,
}

struct StandIn {
    base_url: String,
    shared: Arc<Shared>,
}

impl StandIn {
    /// Starts a stand-in on 127.0.0.1:0; `responder` gets the 0-based request index.
    async fn start(responder: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static) -> Self {
        let shared = Arc::new(Shared {
            seen: Mutex::new(Vec::new()),
            responder: Box::new(responder),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            base_url: format!("http://{addr}"),
            shared,
        }
    }

    /// Answers every request with the same fixture.
    async fn fixture(status: u16, file: &'static str) -> Self {
        Self::start(move |_, _| reply(status, fixture(file))).await
    }

    fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }
}

async fn handle(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap) -> Response {
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_string());
    let raw_query = uri.query().unwrap_or("").to_string();
    let parsed = reqwest::Url::parse(&format!("http://stand.in{uri}")).unwrap();
    let seen = Seen {
        path: uri.path().to_string(),
        raw_query,
        params: parsed.query_pairs().into_owned().collect(),
        api_key: header("dd-api-key"),
        app_key: header("dd-application-key"),
    };
    let index = {
        let mut all = shared.seen.lock().unwrap();
        all.push(seen.clone());
        all.len() - 1
    };
    match (shared.responder)(index, &seen) {
        Reply::Body {
            status,
            headers,
            body,
        } => {
            let mut response = Response::builder().status(status);
            for (k, v) in headers {
                response = response.header(k, v);
            }
            response.body(Body::from(body)).unwrap()
        }
        Reply::Hang => std::future::pending().await,
    }
}

fn fixture(file: &str) -> String {
    let path = format!("{}/../testdata/datadog/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A short policy: the tests never wait for real backoffs.
fn quick_policy() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(10),
        request_timeout: Duration::from_secs(10),
        deadline: Duration::from_secs(20),
        ..RetryPolicy::default()
    }
}

fn source(base_url: &str, policy: RetryPolicy) -> Datadog {
    let account = DatadogAccount::new(ACCOUNT, base_url, API_KEY, APP_KEY).unwrap();
    let transport = Arc::new(ReqwestTransport::new().unwrap());
    Datadog::new(account, HttpClient::new(transport, policy))
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn canary_scope() -> CanaryScope {
    CanaryScope::new(
        "autoscaling_group:web-canary",
        at("2026-11-30T10:00:00Z"),
        at("2026-11-30T10:10:00Z"),
        60,
    )
}

fn config(metrics: Value) -> CanaryConfig {
    serde_json::from_value(json!({ "metrics": metrics })).unwrap()
}

fn cpu_config() -> CanaryConfig {
    config(json!([{
        "name": "cpu",
        "query": {"type": "datadog", "metricName": "avg:system.cpu.user"},
        "groups": ["system"],
        "analysisConfigurations": {"canary": {}}
    }]))
}

fn same(actual: &[f64], expected: &[f64]) -> bool {
    actual.len() == expected.len()
        && actual
            .iter()
            .zip(expected)
            .all(|(a, e)| a == e || (a.is_nan() && e.is_nan()))
}

const NAN: f64 = f64::NAN;

/// Fetches the `cpu` metric of [`cpu_config`] over [`canary_scope`].
async fn fetch_cpu(source: &Datadog) -> Result<Vec<kanary_judge::MetricSet>, SourceError> {
    let config = cpu_config();
    source
        .query_metrics(&config, &config.metrics[0], &canary_scope())
        .await
}

/// Neither key may appear in `text` (errors, Debug output, logs, URLs).
fn assert_no_key(text: &str) {
    assert!(!text.contains(API_KEY), "API key leaked: {text}");
    assert!(!text.contains(APP_KEY), "application key leaked: {text}");
}

/// An error's Display and Debug, checked for keys, and the Display returned.
fn shown(e: &SourceError) -> String {
    let text = e.to_string();
    assert_no_key(&format!("{text} {e:?}"));
    text
}

/// A tracing subscriber that writes every span field and event field into a string, so
/// that tests can check what the logs would contain.
struct Capture(Arc<Mutex<String>>);

struct Writer<'a>(&'a mut String);

impl tracing::field::Visit for Writer<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        span.record(&mut Writer(&mut self.0.lock().unwrap()));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut Writer(&mut self.0.lock().unwrap()));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut log = self.0.lock().unwrap();
        log.push_str(event.metadata().level().as_str());
        log.push(' ');
        event.record(&mut Writer(&mut log));
        log.push('\n');
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Captures the logs of this thread until the guard drops (the tests run on a
/// current-thread runtime, so the source and the client log here).
fn capture_logs() -> (Arc<Mutex<String>>, tracing::subscriber::DefaultGuard) {
    let log = Arc::new(Mutex::new(String::new()));
    let guard = tracing::subscriber::set_default(Capture(log.clone()));
    (log, guard)
}

// ---------------------------------------------------------------------------------------
// Queries (DatadogMetricsServiceSpec)
// ---------------------------------------------------------------------------------------

#[test]
fn kayenta_query_vectors() {
    let path = format!(
        "{}/../testdata/kayenta_vectors/datadog_metrics_service.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let vectors: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(vectors.len(), 2);
    let source = source("http://127.0.0.1:1", quick_policy());
    for v in &vectors {
        let config = config(json!([{"name": "m", "query": v["input"]["query"]}]));
        let mut scope = canary_scope();
        scope.scope = v["input"]["scope"]["scope"].as_str().unwrap().to_string();
        let query = source
            .build_query(&config, &config.metrics[0], &scope)
            .unwrap();
        assert_eq!(query, v["expected"]["query"].as_str().unwrap(), "{v}");
    }
}

#[test]
fn templates_bind_scope_location_and_extended_params() {
    let source = source("http://127.0.0.1:1", quick_policy());
    let config: CanaryConfig = serde_json::from_value(json!({
        "templates": {"errors": "sum:trace.http.request.errors{$\\{scope},region:${location},env:${env}}.as_count()"},
        "metrics": [{"name": "errors", "query": {"type": "datadog", "metricName": "ignored", "customFilterTemplate": "errors"}}]
    }))
    .unwrap();
    let mut scope = canary_scope();
    scope.location = "us-east-1".into();
    scope
        .extended_scope_params
        .insert("env".into(), "prod".into());
    let query = source
        .build_query(&config, &config.metrics[0], &scope)
        .unwrap();
    assert_eq!(
        query,
        "sum:trace.http.request.errors{autoscaling_group:web-canary,region:us-east-1,env:prod}.as_count()"
    );
}

#[test]
fn a_query_without_metric_name_or_template_is_invalid() {
    let source = source("http://127.0.0.1:1", quick_policy());
    for query in [
        json!({"type": "datadog"}),
        json!({"type": "datadog", "metricName": ""}),
        json!({"type": "datadog", "customInlineTemplate": ""}),
    ] {
        let config = config(json!([{"name": "cpu", "query": query}]));
        let e = source
            .build_query(&config, &config.metrics[0], &canary_scope())
            .unwrap_err();
        match e {
            SourceError::InvalidQuery(m) => {
                assert!(m.contains("metricName") && m.contains("'cpu'"), "{m}")
            }
            other => panic!("{other:?}"),
        }
    }
    let config = config(json!([{"name": "cpu"}]));
    assert!(matches!(
        source.build_query(&config, &config.metrics[0], &canary_scope()),
        Err(SourceError::InvalidQuery(_))
    ));
}

#[test]
fn an_undefined_template_variable_is_kayentas_error() {
    let source = source("http://127.0.0.1:1", quick_policy());
    let config = config(json!([{"name": "cpu", "query": {"type": "datadog",
        "customInlineTemplate": "avg:system.cpu.user{${nope}}"}}]));
    let e = source
        .build_query(&config, &config.metrics[0], &canary_scope())
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Problem evaluating custom filter template: avg:system.cpu.user{${nope}}"
    );
}

// ---------------------------------------------------------------------------------------
// Successful answers
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn gaps_and_nulls_are_nan_on_the_series_grid() {
    let server = StandIn::fixture(200, "query_gaps_and_nulls.json").await;
    let (log, guard) = capture_logs();
    let sets = fetch_cpu(&source(&server.base_url, quick_policy()))
        .await
        .unwrap();
    drop(guard);
    assert_eq!(sets.len(), 1);
    let s = &sets[0];
    assert_eq!(s.name, "cpu");
    assert!(s.tags.is_empty());
    assert!(same(
        &s.values,
        &[
            41.25, 43.5, 40.75, NAN, 42.0, NAN, 44.25, 45.0, 43.75, 42.5, 41.0
        ]
    ));
    assert_eq!(s.step_millis, 60_000);
    assert_eq!(s.start_time_millis, T0_MS);
    assert_eq!(s.end_time_millis, T0_MS + 11 * 60_000);
    assert_eq!(s.expected_data_points(), 11);
    assert_eq!(s.start_time_iso.as_deref(), Some("2026-11-30T10:00:00Z"));
    assert_eq!(s.end_time_iso.as_deref(), Some("2026-11-30T10:11:00Z"));
    assert_eq!(
        s.attributes,
        BTreeMap::from([
            (
                "query".to_string(),
                "avg:system.cpu.user{autoscaling_group:web-canary}".to_string()
            ),
            ("aligned".to_string(), "true".to_string()),
        ])
    );
    assert!(s.is_aligned());

    // The request: Kayenta's path and parameters, the keys in headers only.
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    let r = &seen[0];
    assert_eq!(r.path, "/api/v1/query");
    assert_eq!(
        r.params,
        BTreeMap::from([
            ("from".to_string(), "1796032800".to_string()),
            ("to".to_string(), "1796033400".to_string()),
            (
                "query".to_string(),
                "avg:system.cpu.user{autoscaling_group:web-canary}".to_string()
            ),
        ])
    );
    assert_eq!(r.api_key.as_deref(), Some(API_KEY));
    assert_eq!(r.app_key.as_deref(), Some(APP_KEY));
    assert_no_key(&r.raw_query);
    let log = log.lock().unwrap().clone();
    assert!(log.contains("querying Datadog"), "{log}");
    assert_no_key(&log);
}

#[tokio::test]
async fn several_series_give_several_untagged_sets() {
    let server = StandIn::fixture(200, "query_two_series.json").await;
    let sets = fetch_cpu(&source(&server.base_url, quick_policy()))
        .await
        .unwrap();
    assert_eq!(sets.len(), 2);
    // Kayenta sets no tags; kanary invents none.
    assert!(sets.iter().all(|s| s.tags.is_empty() && s.is_aligned()));
    assert!(same(&sets[0].values, &[38.5, 39.0, 40.25, 39.75, 38.0]));
    assert_eq!(sets[0].start_time_millis, T0_MS);
    assert_eq!(sets[0].end_time_millis, T0_MS + 5 * 60_000);
    // The second host reports from 10:02: its series starts there, as in Kayenta.
    assert!(same(&sets[1].values, &[55.5, 56.0, 54.25]));
    assert_eq!(sets[1].start_time_millis, T0_MS + 120_000);
    assert_eq!(sets[1].end_time_millis, T0_MS + 120_000 + 3 * 60_000);
}

#[tokio::test]
async fn no_series_gives_one_placeholder_on_the_requested_grid() {
    let server = StandIn::fixture(200, "query_no_series.json").await;
    let sets = fetch_cpu(&source(&server.base_url, quick_policy()))
        .await
        .unwrap();
    assert_eq!(sets.len(), 1);
    let p = &sets[0];
    assert_eq!(p.name, "cpu");
    assert!(p.tags.is_empty());
    // 10:00..=10:10 at the scope's 60 s step: 11 NaNs (Kayenta: step 1 s, 601 after mixing).
    assert_eq!(p.values.len(), 11);
    assert!(p.values.iter().all(|v| v.is_nan()));
    assert_eq!(p.step_millis, 60_000);
    assert_eq!(p.start_time_millis, T0_MS);
    assert_eq!(p.expected_data_points(), 11);
    assert!(p.is_aligned());
    assert_eq!(
        p.attributes.get("query").map(String::as_str),
        Some("avg:system.cpu.user{autoscaling_group:web-canary}")
    );
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn error_bodies_become_status_errors_with_datadogs_messages() {
    let cases = [
        (
            400,
            "error_400_bad_query.json",
            "Error parsing query: \nunable to parse avg:system.cpu.user{autoscaling_group:web-canary: Rule 'scope_expr' didn't match at ':web-canary' (line 1, column 42).",
        ),
        (403, "error_403_forbidden.json", "Forbidden"),
        (404, "error_404_not_found.json", "Not found"),
    ];
    for (code, file, message) in cases {
        let server = StandIn::fixture(code, file).await;
        let e = fetch_cpu(&source(&server.base_url, quick_policy()))
            .await
            .unwrap_err();
        let text = shown(&e);
        match &e {
            SourceError::Status {
                service,
                account,
                url,
                status,
                message: m,
            } => {
                assert_eq!(*service, "datadog");
                assert_eq!(account, ACCOUNT);
                assert_eq!(url, &format!("{}/api/v1/query", server.base_url));
                assert_eq!(*status, code);
                assert_eq!(m, message);
            }
            other => panic!("{file}: {other:?}"),
        }
        assert!(
            text.contains(ACCOUNT) && text.contains(&server.base_url),
            "{text}"
        );
        // 4xx other than 408/429 are not retried (Kayenta's SynchronousQueryProcessor).
        assert_eq!(server.seen().len(), 1, "{file}");
    }
}

#[tokio::test]
async fn a_status_error_in_a_200_is_a_status_error() {
    let server = StandIn::fixture(200, "query_status_error.json").await;
    let e = fetch_cpu(&source(&server.base_url, quick_policy()))
        .await
        .unwrap_err();
    shown(&e);
    match e {
        SourceError::Status {
            status, message, ..
        } => {
            assert_eq!(status, 200);
            assert_eq!(
                message,
                "Error parsing query: unknown rollup method 'bogus'"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn malformed_json_is_a_response_error() {
    let server = StandIn::fixture(200, "query_truncated.json").await;
    let e = fetch_cpu(&source(&server.base_url, quick_policy()))
        .await
        .unwrap_err();
    let text = shown(&e);
    match &e {
        SourceError::Response {
            account,
            url,
            detail,
            ..
        } => {
            assert_eq!(account, ACCOUNT);
            assert_eq!(url, &format!("{}/api/v1/query", server.base_url));
            assert!(detail.starts_with("the body is not JSON"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        text.contains("sent a response kanary cannot read"),
        "{text}"
    );
}

#[tokio::test]
async fn a_series_with_interval_zero_is_a_response_error_not_a_hang() {
    let server = StandIn::start(|_, _| {
        reply(
            200,
            json!({"status": "ok", "series": [{"scope": "x", "start": T0_MS, "end": T0_MS + 60_000,
                "interval": 0, "pointlist": [[T0_MS, 1.0]]}]})
            .to_string(),
        )
    })
    .await;
    let e = fetch_cpu(&source(&server.base_url, quick_policy()))
        .await
        .unwrap_err();
    match e {
        SourceError::Response { detail, .. } => {
            assert_eq!(
                detail,
                "series[0].interval is 0; it must be a positive number of seconds"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_body_without_series_is_a_response_error() {
    let server = StandIn::start(|_, _| reply(200, r#"{"status": "ok"}"#)).await;
    let e = fetch_cpu(&source(&server.base_url, quick_policy()))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SourceError::Response { detail, .. } if detail == "the body has no 'series' array"),
        "{e:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Retries (Session::get, Kayenta's SynchronousQueryProcessor)
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_429_with_retry_after_is_retried() {
    let server = StandIn::start(|i, _| {
        if i == 0 {
            Reply::Body {
                status: 429,
                headers: vec![("content-type", "application/json"), ("retry-after", "0")],
                body: fixture("error_429_rate_limited.json"),
            }
        } else {
            reply(200, fixture("query_gaps_and_nulls.json"))
        }
    })
    .await;
    let (log, guard) = capture_logs();
    let sets = fetch_cpu(&source(&server.base_url, quick_policy()))
        .await
        .unwrap();
    drop(guard);
    assert_eq!(sets[0].values.len(), 11);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter()
            .all(|r| r.api_key.as_deref() == Some(API_KEY) && r.app_key.as_deref() == Some(APP_KEY))
    );
    let log = log.lock().unwrap().clone();
    assert!(log.contains("status=429"), "{log}");
    assert_no_key(&log);
}

#[tokio::test]
async fn a_500_is_retried() {
    let server = StandIn::start(|i, _| {
        if i == 0 {
            reply(500, fixture("error_500.json"))
        } else {
            reply(200, fixture("query_two_series.json"))
        }
    })
    .await;
    let sets = fetch_cpu(&source(&server.base_url, quick_policy()))
        .await
        .unwrap();
    assert_eq!(sets.len(), 2);
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn a_500_every_time_is_a_status_error_after_the_attempts() {
    let server = StandIn::fixture(500, "error_500.json").await;
    let (log, guard) = capture_logs();
    let e = fetch_cpu(&source(&server.base_url, quick_policy()))
        .await
        .unwrap_err();
    drop(guard);
    assert_eq!(server.seen().len(), 3);
    shown(&e);
    assert!(
        matches!(&e, SourceError::Status { status: 500, message, .. } if message == "Internal Server Error"),
        "{e:?}"
    );
    assert_no_key(&log.lock().unwrap());
}

#[tokio::test]
async fn a_server_that_never_answers_is_unreachable_naming_account_and_url() {
    let server = StandIn::start(|_, _| Reply::Hang).await;
    let policy = RetryPolicy {
        attempts: 2,
        backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(10),
        request_timeout: Duration::from_millis(200),
        deadline: Duration::from_secs(2),
        ..RetryPolicy::default()
    };
    let e = fetch_cpu(&source(&server.base_url, policy))
        .await
        .unwrap_err();
    let text = shown(&e);
    match &e {
        SourceError::Unreachable {
            service,
            account,
            url,
            attempts,
            ..
        } => {
            assert_eq!(*service, "datadog");
            assert_eq!(account, ACCOUNT);
            assert_eq!(url, &format!("{}/api/v1/query", server.base_url));
            assert_eq!(*attempts, 2);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        text.contains(&format!("'{ACCOUNT}'")) && text.contains("/api/v1/query"),
        "{text}"
    );
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn nothing_listening_is_unreachable() {
    // Bind, note the port, close: nothing listens there any more.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = fetch_cpu(&source(&format!("http://127.0.0.1:{port}"), quick_policy()))
        .await
        .unwrap_err();
    shown(&e);
    assert!(
        matches!(&e, SourceError::Unreachable { attempts: 3, account, .. } if account == ACCOUNT),
        "{e:?}"
    );
}

// ---------------------------------------------------------------------------------------
// fetch_pairs
// ---------------------------------------------------------------------------------------

/// A Datadog-shaped answer with one series at 60 s from 10:00.
fn series_body(query: &str, scope: &str, values: &[Option<f64>]) -> String {
    let points: Vec<Value> = values
        .iter()
        .enumerate()
        .map(|(i, v)| json!([(T0_MS + i as i64 * 60_000) as f64, v]))
        .collect();
    let n = values.len() as i64;
    json!({
        "status": "ok", "res_type": "time_series", "query": query,
        "from_date": T0_MS, "to_date": T0_MS + 240_000, "group_by": [], "message": "",
        "series": [{
            "metric": "x", "display_name": "x", "aggr": "avg", "scope": scope, "expression": query,
            "tag_set": [], "query_index": 0, "interval": 60, "length": n,
            "start": T0_MS, "end": T0_MS + (n - 1) * 60_000 + 59_999, "pointlist": points
        }]
    })
    .to_string()
}

#[tokio::test]
async fn fetch_pairs_pairs_control_and_experiment_of_two_metrics() {
    let server = StandIn::start(|_, seen| {
        let q = seen.params.get("query").cloned().unwrap_or_default();
        let body = match q.as_str() {
            "avg:system.cpu.user{autoscaling_group:web-baseline}" => series_body(
                &q,
                "autoscaling_group:web-baseline",
                &[Some(40.0), Some(41.0), None, Some(42.0), Some(40.5)],
            ),
            "avg:system.cpu.user{autoscaling_group:web-canary}" => series_body(
                &q,
                "autoscaling_group:web-canary",
                &[Some(50.0), Some(51.5), Some(52.0), Some(50.0), Some(49.5)],
            ),
            "sum:trace.http.request.errors{autoscaling_group:web-baseline}.as_count()" => {
                series_body(
                    &q,
                    "autoscaling_group:web-baseline",
                    &[Some(1.0), Some(0.0), Some(2.0), Some(1.0), Some(0.0)],
                )
            }
            // The canary has no errors series at all: a placeholder stands in.
            "sum:trace.http.request.errors{autoscaling_group:web-canary}.as_count()" => {
                fixture("query_no_series.json")
            }
            other => {
                return reply(
                    400,
                    json!({"errors": [format!("unexpected query {other}")]}).to_string(),
                );
            }
        };
        reply(200, body)
    })
    .await;
    let config = config(json!([
        {"name": "cpu", "query": {"type": "datadog", "metricName": "avg:system.cpu.user"},
         "groups": ["system"], "analysisConfigurations": {"canary": {}}},
        {"name": "errors", "query": {"type": "datadog",
            "customInlineTemplate": "sum:trace.http.request.errors{${scope}}.as_count()"},
         "groups": ["errors"], "analysisConfigurations": {"canary": {}}}
    ]));
    let start = at("2026-11-30T10:00:00Z");
    let end = at("2026-11-30T10:04:00Z");
    let scopes = BTreeMap::from([(
        "default".to_string(),
        CanaryScopePair {
            control_scope: CanaryScope::new("autoscaling_group:web-baseline", start, end, 60),
            experiment_scope: CanaryScope::new("autoscaling_group:web-canary", start, end, 60),
        },
    )]);
    let source = source(&server.base_url, quick_policy());
    let pairs = fetch_pairs(&source, &config, &scopes, FetchOptions::default())
        .await
        .unwrap();
    assert_eq!(server.seen().len(), 4);
    assert_eq!(pairs.len(), 2);
    assert_eq!(pairs[0].name, "cpu");
    assert!(pairs[0].tags.is_empty());
    assert!(same(
        &pairs[0].values.control,
        &[40.0, 41.0, NAN, 42.0, 40.5]
    ));
    assert!(same(
        &pairs[0].values.experiment,
        &[50.0, 51.5, 52.0, 50.0, 49.5]
    ));
    assert_eq!(
        pairs[0].attributes["control"]["query"],
        "avg:system.cpu.user{autoscaling_group:web-baseline}"
    );
    assert_eq!(
        pairs[0].attributes["experiment"]["query"],
        "avg:system.cpu.user{autoscaling_group:web-canary}"
    );
    assert_eq!(pairs[1].name, "errors");
    assert!(same(&pairs[1].values.control, &[1.0, 0.0, 2.0, 1.0, 0.0]));
    assert_eq!(pairs[1].values.experiment.len(), 5);
    assert!(pairs[1].values.experiment.iter().all(|v| v.is_nan()));
    assert!(pairs.iter().all(|p| p.is_aligned()));
    assert_eq!(pairs[1].scopes["experiment"].step_millis, Some(60_000));
}

#[test]
fn debug_output_hides_the_keys() {
    let source = source("http://127.0.0.1:1", quick_policy());
    assert_no_key(&format!("{source:?}"));
    let account =
        DatadogAccount::new(ACCOUNT, "https://api.datadoghq.com", API_KEY, APP_KEY).unwrap();
    let text = format!("{account:?} {account:#?}");
    assert_no_key(&text);
    assert!(text.contains(ACCOUNT));
}

#[tokio::test]
async fn metadata_lists_the_last_hours_metrics_filtered_by_name() {
    let server = StandIn::start(|_, _| {
        reply(
            200,
            r#"{"metrics": ["system.cpu.user", "system.CPU.idle", "app.errors"], "from": "1"}"#,
        )
    })
    .await;
    let dd = source(&server.base_url, quick_policy());
    let all = dd.metadata(None).await.unwrap();
    assert_eq!(all.len(), 3);
    let cpu = dd.metadata(Some("cpu")).await.unwrap();
    assert_eq!(
        cpu,
        vec![
            serde_json::json!({"name": "system.cpu.user"}),
            serde_json::json!({"name": "system.CPU.idle"})
        ]
    );
    let seen = server.seen();
    assert_eq!(seen[0].path, "/api/v1/metrics");
    let from: i64 = seen[0]
        .params
        .iter()
        .find(|(k, _)| k.as_str() == "from")
        .unwrap()
        .1
        .parse()
        .unwrap();
    let hour_ago = chrono::Utc::now().timestamp() - 3600;
    assert!((hour_ago - 60..=hour_ago).contains(&from), "from={from}");
    assert_eq!(seen[0].api_key.as_deref(), Some(API_KEY));
    assert_no_key(&seen[0].raw_query);
    let bad = StandIn::start(|_, _| reply(200, r#"{"status": "ok"}"#)).await;
    let e = source(&bad.base_url, quick_policy())
        .metadata(None)
        .await
        .unwrap_err();
    assert!(shown(&e).contains("no 'metrics' array"), "{}", shown(&e));
}
