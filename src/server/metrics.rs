//! `/metrics` in Prometheus' text format (version 0.0.4), and the HTTP instrumentation
//! behind it (linkerd's admin server serves the same next to `/livez` and `/readyz`).
//!
//! - `kanary_http_requests_total{method,route,status}` and
//!   `kanary_http_request_duration_seconds{method,route}` (a histogram): `route` is the
//!   matched route template (`/canary/{id}`), never the raw path, `unmatched` for a path
//!   that matches no route, and `method` is one of the standard methods or `OTHER`, so
//!   that no client can grow the number of series;
//! - `kanary_http_requests_in_flight`;
//! - `kanary_executions{kind,status}`: the executions waiting (`not_started`) or running
//!   in the store, read at scrape time. With PostgreSQL every replica reports the same
//!   shared numbers (aggregate with `max`, not `sum`). Each count stops at
//!   [`EXECUTION_COUNT_LIMIT`] to keep a scrape cheap;
//! - `kanary_store_up`: whether the store answered that query;
//! - `kanary_metrics_accounts{type}`, `kanary_build_info{version}`,
//!   `process_start_time_seconds`.
//!
//! Nothing here carries a secret, an account's endpoint or a client-controlled string.
//! The text format is small enough to write by hand, which keeps a dependency out.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use crate::store::{ExecutionKind, ExecutionQuery, ExecutionStatus};

/// The most executions counted per status at a scrape.
pub(super) const EXECUTION_COUNT_LIMIT: usize = 1000;

/// How long the store query of a scrape may take (Prometheus' default scrape timeout is
/// 10 s).
const STORE_TIMEOUT: Duration = Duration::from_secs(5);

/// Request latency buckets, seconds: from a cached GET to a multi-megabyte pair list.
const BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Adds `/metrics` and the HTTP instrumentation.
pub(super) fn instrument(router: Router<AppState>, _state: &AppState) -> Router<AppState> {
    let metrics = Arc::new(HttpMetrics::new());
    let scraped = metrics.clone();
    router
        .route(
            "/metrics",
            get(move |State(state): State<AppState>| {
                let metrics = scraped.clone();
                async move { scrape(&metrics, &state).await }
            }),
        )
        .layer(middleware::from_fn_with_state(metrics, track))
}

type RequestKey = (&'static str, String, u16);
type LatencyKey = (&'static str, String);

struct HttpMetrics {
    started: SystemTime,
    in_flight: AtomicI64,
    series: Mutex<Series>,
}

#[derive(Default)]
struct Series {
    requests: BTreeMap<RequestKey, u64>,
    latency: BTreeMap<LatencyKey, Histogram>,
}

#[derive(Default)]
struct Histogram {
    /// Per bucket (not cumulative): observations at or below the bound, above the previous.
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl HttpMetrics {
    fn new() -> Self {
        HttpMetrics {
            started: SystemTime::now(),
            in_flight: AtomicI64::new(0),
            series: Mutex::new(Series::default()),
        }
    }

    fn record(&self, method: &'static str, route: String, status: u16, seconds: f64) {
        // A panic elsewhere while holding the lock leaves counters that are still valid.
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        *series
            .requests
            .entry((method, route.clone(), status))
            .or_default() += 1;
        let histogram = series.latency.entry((method, route)).or_default();
        if let Some(i) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            histogram.buckets[i] += 1;
        }
        histogram.count += 1;
        histogram.sum += seconds;
    }
}

/// Decrements the in-flight gauge even when the client goes away mid-request (the future
/// is dropped).
struct InFlight<'a>(&'a AtomicI64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn track(State(metrics): State<Arc<HttpMetrics>>, request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    // Routing runs before `Router::layer` middleware, so the template is known here.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let _in_flight = InFlight(&metrics.in_flight);
    let start = Instant::now();
    let response = next.run(request).await;
    metrics.record(
        method,
        route,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Executions per (kind, status) among the active ones, or `None` when the store failed.
async fn active_executions(
    state: &AppState,
) -> Option<BTreeMap<(&'static str, &'static str), usize>> {
    let mut counts = BTreeMap::new();
    for status in [ExecutionStatus::NotStarted, ExecutionStatus::Running] {
        for kind in [ExecutionKind::Canary, ExecutionKind::Standalone] {
            counts.insert((kind.as_str(), status.as_lower()), 0);
        }
        let query = ExecutionQuery {
            statuses: vec![status],
            limit: EXECUTION_COUNT_LIMIT,
            ..ExecutionQuery::default()
        };
        let executions =
            match tokio::time::timeout(STORE_TIMEOUT, state.store.list_executions(&query)).await {
                Ok(Ok(executions)) => executions,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "/metrics: the store failed");
                    return None;
                }
                Err(_) => {
                    tracing::warn!("/metrics: the store did not answer in time");
                    return None;
                }
            };
        for execution in executions {
            *counts
                .entry((execution.kind.as_str(), status.as_lower()))
                .or_default() += 1;
        }
    }
    Some(counts)
}

async fn scrape(metrics: &HttpMetrics, state: &AppState) -> Response {
    let executions = active_executions(state).await;
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = render(metrics, state, executions.as_ref(), &mut out);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

fn render(
    metrics: &HttpMetrics,
    state: &AppState,
    executions: Option<&BTreeMap<(&'static str, &'static str), usize>>,
    out: &mut String,
) -> std::fmt::Result {
    {
        let series = metrics
            .series
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        header_lines(
            out,
            "kanary_http_requests_total",
            "counter",
            "HTTP requests by method, matched route and status.",
        )?;
        for ((method, route, status), count) in &series.requests {
            writeln!(
                out,
                "kanary_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                escape(route)
            )?;
        }
        header_lines(
            out,
            "kanary_http_request_duration_seconds",
            "histogram",
            "HTTP request latency by method and matched route, until the response head.",
        )?;
        for ((method, route), histogram) in &series.latency {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            let mut cumulative = 0;
            for (bound, count) in BUCKETS.iter().zip(histogram.buckets) {
                cumulative += count;
                writeln!(
                    out,
                    "kanary_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                )?;
            }
            writeln!(
                out,
                "kanary_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                histogram.count
            )?;
            writeln!(
                out,
                "kanary_http_request_duration_seconds_sum{{{labels}}} {}",
                histogram.sum
            )?;
            writeln!(
                out,
                "kanary_http_request_duration_seconds_count{{{labels}}} {}",
                histogram.count
            )?;
        }
    }
    header_lines(
        out,
        "kanary_http_requests_in_flight",
        "gauge",
        "HTTP requests being served.",
    )?;
    writeln!(
        out,
        "kanary_http_requests_in_flight {}",
        metrics.in_flight.load(Ordering::Relaxed)
    )?;

    header_lines(
        out,
        "kanary_store_up",
        "gauge",
        "Whether the store answered the query of this scrape (1) or not (0).",
    )?;
    writeln!(out, "kanary_store_up {}", u8::from(executions.is_some()))?;
    if let Some(executions) = executions {
        header_lines(
            out,
            "kanary_executions",
            "gauge",
            &format!(
                "Executions waiting or running in the store (shared by the replicas of one \
                 database), by kind and status; each count stops at {EXECUTION_COUNT_LIMIT}."
            ),
        )?;
        for ((kind, status), count) in executions {
            writeln!(
                out,
                "kanary_executions{{kind=\"{kind}\",status=\"{status}\"}} {count}"
            )?;
        }
    }

    header_lines(
        out,
        "kanary_metrics_accounts",
        "gauge",
        "Configured metrics accounts by type.",
    )?;
    let mut accounts: BTreeMap<&str, usize> = BTreeMap::new();
    for account in &state.accounts.metrics {
        *accounts.entry(account.kind).or_default() += 1;
    }
    for (kind, count) in accounts {
        writeln!(
            out,
            "kanary_metrics_accounts{{type=\"{}\"}} {count}",
            escape(kind)
        )?;
    }
    header_lines(
        out,
        "kanary_build_info",
        "gauge",
        "The running kanary version (always 1).",
    )?;
    writeln!(
        out,
        "kanary_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    )?;
    header_lines(
        out,
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since the Unix epoch, in seconds.",
    )?;
    let started = metrics
        .started
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    writeln!(out, "process_start_time_seconds {started}")
}

fn header_lines(out: &mut String, name: &str, kind: &str, help: &str) -> std::fmt::Result {
    writeln!(out, "# HELP {name} {help}")?;
    writeln!(out, "# TYPE {name} {kind}")
}

/// Label values escape `\`, `"` and newlines (the text format's only escapes).
fn escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::accounts::Accounts;
    use crate::store::{Execution, MemoryStore, Store};
    use axum::body::Body;
    use axum::http::StatusCode;
    use serde_json::json;
    use tower::ServiceExt;

    async fn send(app: &Router, method: Method, path: &str) -> (StatusCode, String) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    fn line_value<'a>(text: &'a str, series: &str) -> Option<&'a str> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
    }

    #[tokio::test]
    async fn requests_counted_by_route_template_and_status() {
        let state = AppState::new(Arc::new(MemoryStore::new()), Accounts::default());
        let routes = Router::new().route("/things/{id}", get(|| async { "thing" }));
        let app = instrument(routes, &state).with_state(state);
        for id in ["a", "b", "c"] {
            assert_eq!(
                send(&app, Method::GET, &format!("/things/{id}")).await.0,
                StatusCode::OK
            );
        }
        assert_eq!(
            send(&app, Method::POST, "/things/a").await.0,
            StatusCode::METHOD_NOT_ALLOWED
        );
        let custom = Method::from_bytes(b"BREW").unwrap();
        send(&app, custom, "/things/a").await;
        send(&app, Method::GET, "/no/such/path").await;

        let (status, text) = send(&app, Method::GET, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            line_value(
                &text,
                r#"kanary_http_requests_total{method="GET",route="/things/{id}",status="200"}"#
            ),
            Some("3")
        );
        assert_eq!(
            line_value(
                &text,
                r#"kanary_http_requests_total{method="POST",route="/things/{id}",status="405"}"#
            ),
            Some("1")
        );
        assert_eq!(
            line_value(
                &text,
                r#"kanary_http_requests_total{method="OTHER",route="/things/{id}",status="405"}"#
            ),
            Some("1")
        );
        assert_eq!(
            line_value(
                &text,
                r#"kanary_http_request_duration_seconds_count{method="GET",route="/things/{id}"}"#
            ),
            Some("3")
        );
        assert_eq!(
            line_value(
                &text,
                r#"kanary_http_request_duration_seconds_bucket{method="GET",route="/things/{id}",le="+Inf"}"#
            ),
            Some("3")
        );
        assert_eq!(
            line_value(
                &text,
                r#"kanary_http_requests_total{method="GET",route="unmatched",status="404"}"#
            ),
            Some("1")
        );
        // Raw paths never become labels.
        assert!(
            !text.contains("/things/a") && !text.contains("/no/such/path"),
            "{text}"
        );
        assert!(!text.contains("BREW"), "{text}");
        // The scrape itself is in flight while it renders.
        assert_eq!(
            line_value(&text, "kanary_http_requests_in_flight"),
            Some("1")
        );
        assert_eq!(line_value(&text, "kanary_store_up"), Some("1"));
    }

    #[tokio::test]
    async fn active_executions_from_the_store() {
        let store = Arc::new(MemoryStore::new());
        for (i, kind) in [
            ExecutionKind::Canary,
            ExecutionKind::Canary,
            ExecutionKind::Standalone,
            ExecutionKind::Canary,
        ]
        .into_iter()
        .enumerate()
        {
            let execution = Execution::new(format!("e{i}"), kind, "app", json!({}), i as i64);
            store.create_execution(&execution).await.unwrap();
        }
        // The oldest (a canary) is claimed: running.
        let claimed = store
            .claim("test", Duration::from_secs(60), 10)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claimed.id, "e0");
        let state = AppState::new(
            store,
            Accounts::prometheus("http://127.0.0.1:9090").unwrap(),
        );
        let app = crate::server::app(state);
        let (_, text) = send(&app, Method::GET, "/metrics").await;
        for (series, value) in [
            (
                r#"kanary_executions{kind="canary",status="not_started"}"#,
                "2",
            ),
            (r#"kanary_executions{kind="canary",status="running"}"#, "1"),
            (
                r#"kanary_executions{kind="standalone",status="not_started"}"#,
                "1",
            ),
            (
                r#"kanary_executions{kind="standalone",status="running"}"#,
                "0",
            ),
            (r#"kanary_metrics_accounts{type="prometheus"}"#, "1"),
            ("kanary_store_up", "1"),
        ] {
            assert_eq!(line_value(&text, series), Some(value), "{series}\n{text}");
        }
        assert!(!text.contains("127.0.0.1"), "{text}");
    }

    #[tokio::test]
    async fn a_failing_store_is_reported_not_a_500() {
        let store = Arc::new(super::super::health::failing::FailingStore);
        let app = crate::server::app(AppState::new(store, Accounts::default()));
        let (status, text) = send(&app, Method::GET, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(line_value(&text, "kanary_store_up"), Some("0"));
        assert!(!text.contains("kanary_executions{"), "{text}");
        assert!(
            !text.contains(super::super::health::failing::DETAIL),
            "{text}"
        );
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let metrics = HttpMetrics::new();
        for seconds in [0.0005, 0.003, 0.003, 0.2, 60.0] {
            metrics.record("GET", "/r".into(), 200, seconds);
        }
        let state = AppState::new(Arc::new(MemoryStore::new()), Accounts::default());
        let mut text = String::new();
        render(&metrics, &state, None, &mut text).unwrap();
        let bucket = |le: &str| {
            line_value(
                &text,
                &format!(r#"kanary_http_request_duration_seconds_bucket{{method="GET",route="/r",le="{le}"}}"#),
            )
            .map(str::to_string)
        };
        assert_eq!(bucket("0.001").as_deref(), Some("1"));
        assert_eq!(bucket("0.005").as_deref(), Some("3"));
        assert_eq!(bucket("0.25").as_deref(), Some("4"));
        assert_eq!(bucket("10").as_deref(), Some("4"));
        assert_eq!(bucket("+Inf").as_deref(), Some("5"));
        let sum: f64 = line_value(
            &text,
            r#"kanary_http_request_duration_seconds_sum{method="GET",route="/r"}"#,
        )
        .unwrap()
        .parse()
        .unwrap();
        approx::assert_abs_diff_eq!(sum, 60.2065, epsilon = 1e-9);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape("x\ny"), "x\\ny");
    }
}
