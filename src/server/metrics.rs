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
//! - recorded by this replica's executor ([`Metrics`]):
//!   `kanary_executions_completed_total{kind,status}`,
//!   `kanary_canary_score{kind,judge}` (a histogram of the score of every judgement: one
//!   per `/canary` execution, one per interval of a standalone analysis),
//!   `kanary_metric_classifications_total{kind,judge,classification}` (one per metric of
//!   each judgement), `kanary_metrics_fetch_duration_seconds{account}` (a histogram, one
//!   observation per query of one metric over one scope, retries included) and
//!   `kanary_metrics_fetch_errors_total{account,reason}`. These count what this replica
//!   did: aggregate replicas with `sum`;
//! - `kanary_metrics_accounts{type}`, `kanary_build_info{version}`,
//!   `process_start_time_seconds`.
//!
//! Every label has a bounded set of values: accounts come from the server's
//! configuration, judges, classifications, kinds, statuses and error reasons are fixed
//! sets (an unknown judge name is `other`). Nothing here carries a secret, an account's
//! endpoint or a client-controlled string. The text format is small enough to write by
//! hand, which keeps a dependency out.

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
use kanary_judge::{CanaryConfig, CanaryMetricConfig, JudgeKind, MetricSet};
use kanary_metrics_sources::http::BoxFuture;
use kanary_metrics_sources::{CanaryScope, MetricsSource, SourceError};
use kanary_scoring::CanaryJudgeResult;

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

/// Fetch latency buckets, seconds: one query of a metric store, with its retries (the
/// fetch deadline is a minute by default).
const FETCH_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0,
];

/// Score buckets: scores are 0 to 100; the finer steps sit where thresholds usually are
/// (Argo Rollouts' and Spinnaker's examples use marginal 75, pass 95).
const SCORE_BUCKETS: [f64; 13] = [
    0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 75.0, 80.0, 90.0, 95.0, 100.0,
];

/// The final statuses, for the completed-executions counter.
const FINAL_STATUSES: [ExecutionStatus; 3] = [
    ExecutionStatus::Succeeded,
    ExecutionStatus::Terminal,
    ExecutionStatus::Canceled,
];

/// Adds `/metrics` and the HTTP instrumentation.
pub(super) fn instrument(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    router
        .route(
            "/metrics",
            get(|State(state): State<AppState>| async move { scrape(&state).await }),
        )
        .layer(middleware::from_fn_with_state(state.metrics.clone(), track))
}

type RequestKey = (&'static str, String, u16);
type LatencyKey = (&'static str, String);
/// (kind, judge)
type JudgeKey = (&'static str, &'static str);
/// (kind, judge, classification)
type ClassificationKey = (&'static str, &'static str, &'static str);

/// What one replica measured: the HTTP series and what its executor recorded. One per
/// [`AppState`] (shared by its clones), so that the routers and the executor built from
/// one state report together.
pub struct Metrics {
    started: SystemTime,
    in_flight: AtomicI64,
    series: Mutex<Series>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Series {
    requests: BTreeMap<RequestKey, u64>,
    latency: BTreeMap<LatencyKey, Histogram>,
    completed: BTreeMap<(&'static str, &'static str), u64>,
    scores: BTreeMap<JudgeKey, Histogram>,
    classifications: BTreeMap<ClassificationKey, u64>,
    fetch_latency: BTreeMap<String, Histogram>,
    fetch_errors: BTreeMap<(String, &'static str), u64>,
}

/// One histogram's counts.
#[derive(Default)]
struct Histogram {
    /// Per bucket (not cumulative): observations at or below the bound, above the previous.
    buckets: Vec<u64>,
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], value: f64) {
        if self.buckets.len() != bounds.len() {
            self.buckets.resize(bounds.len(), 0);
        }
        if let Some(i) = bounds.iter().position(|bound| value <= *bound) {
            self.buckets[i] += 1;
        }
        self.count += 1;
        self.sum += value;
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Empty series; the process start time is now.
    pub fn new() -> Self {
        Metrics {
            started: SystemTime::now(),
            in_flight: AtomicI64::new(0),
            series: Mutex::new(Series::default()),
        }
    }

    fn series(&self) -> std::sync::MutexGuard<'_, Series> {
        // A panic elsewhere while holding the lock leaves counters that are still valid.
        self.series.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, method: &'static str, route: String, status: u16, seconds: f64) {
        let mut series = self.series();
        *series
            .requests
            .entry((method, route.clone(), status))
            .or_default() += 1;
        series
            .latency
            .entry((method, route))
            .or_default()
            .observe(&BUCKETS, seconds);
    }

    /// Counts an execution this replica completed (the store accepted the completion).
    pub fn execution_completed(&self, kind: ExecutionKind, status: ExecutionStatus) {
        *self
            .series()
            .completed
            .entry((kind.as_str(), status.as_lower()))
            .or_default() += 1;
    }

    /// Records one judgement: its score (unless it is not a number) and the
    /// classification of each of its metrics.
    pub fn judged(&self, kind: ExecutionKind, result: &CanaryJudgeResult) {
        let judge = judge_label(&result.judge_name);
        let kind = kind.as_str();
        let mut series = self.series();
        let score = result.score.score;
        if score.is_finite() {
            series
                .scores
                .entry((kind, judge))
                .or_default()
                .observe(&SCORE_BUCKETS, score);
        }
        for metric in &result.results {
            *series
                .classifications
                .entry((kind, judge, metric.classification.as_str()))
                .or_default() += 1;
        }
    }

    /// `source` (the source of the metrics account `account`, as configured), recording
    /// the latency and failure of each of its queries here.
    pub fn instrument<'a>(
        &'a self,
        source: &'a dyn MetricsSource,
        account: &'a str,
    ) -> impl MetricsSource + 'a {
        InstrumentedSource {
            inner: source,
            account,
            metrics: self,
        }
    }

    /// Records one query of a metrics account: how long it took and, if it failed, why.
    pub fn fetched(&self, account: &str, seconds: f64, error: Option<&SourceError>) {
        let mut series = self.series();
        match series.fetch_latency.get_mut(account) {
            Some(h) => h.observe(&FETCH_BUCKETS, seconds),
            None => {
                let mut h = Histogram::default();
                h.observe(&FETCH_BUCKETS, seconds);
                series.fetch_latency.insert(account.to_string(), h);
            }
        }
        if let Some(e) = error {
            *series
                .fetch_errors
                .entry((account.to_string(), error_reason(e)))
                .or_default() += 1;
        }
    }
}

/// The judge label: one of kanary's judges, or `other` (a result read from elsewhere).
fn judge_label(name: &str) -> &'static str {
    JudgeKind::ALL
        .iter()
        .map(|(kind, _)| kind.name())
        .find(|known| *known == name)
        .unwrap_or("other")
}

/// Every value of the `reason` label of the fetch errors.
const ERROR_REASONS: [&str; 7] = [
    "config",
    "deadline",
    "invalid_query",
    "mixer",
    "response",
    "status",
    "unreachable",
];

/// The error reason label: the kind of failure, never its text (which names URLs).
fn error_reason(e: &SourceError) -> &'static str {
    match e {
        SourceError::InvalidQuery(_) => "invalid_query",
        SourceError::Mixer(_) => "mixer",
        SourceError::Config(_) => "config",
        SourceError::Status { .. } => "status",
        SourceError::Unreachable { .. } => "unreachable",
        SourceError::Deadline { .. } => "deadline",
        SourceError::Response { .. } => "response",
    }
}

/// A metrics account's source that records each query's latency and failure in
/// [`Metrics`] under the account's name (the executor wraps the account's source in it
/// for each run: [`Metrics::instrument`]).
struct InstrumentedSource<'a> {
    inner: &'a dyn MetricsSource,
    account: &'a str,
    metrics: &'a Metrics,
}

impl MetricsSource for InstrumentedSource<'_> {
    fn service_type(&self) -> &'static str {
        self.inner.service_type()
    }

    fn account(&self) -> &str {
        self.inner.account()
    }

    fn build_query(
        &self,
        config: &CanaryConfig,
        metric: &CanaryMetricConfig,
        scope: &CanaryScope,
    ) -> Result<String, SourceError> {
        self.inner.build_query(config, metric, scope)
    }

    fn max_points_per_series(&self) -> Option<usize> {
        self.inner.max_points_per_series()
    }

    fn query_metrics<'b>(
        &'b self,
        config: &'b CanaryConfig,
        metric: &'b CanaryMetricConfig,
        scope: &'b CanaryScope,
    ) -> BoxFuture<'b, Result<Vec<MetricSet>, SourceError>> {
        Box::pin(async move {
            let start = Instant::now();
            let result = self.inner.query_metrics(config, metric, scope).await;
            self.metrics.fetched(
                self.account,
                start.elapsed().as_secs_f64(),
                result.as_ref().err(),
            );
            result
        })
    }

    fn metadata<'b>(
        &'b self,
        filter: Option<&'b str>,
    ) -> BoxFuture<'b, Result<Vec<serde_json::Value>, SourceError>> {
        self.inner.metadata(filter)
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

async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
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
        for kind in [
            ExecutionKind::Canary,
            ExecutionKind::Standalone,
            ExecutionKind::Stage,
        ] {
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

async fn scrape(state: &AppState) -> Response {
    let executions = active_executions(state).await;
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = render(state, executions.as_ref(), &mut out);
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
    state: &AppState,
    executions: Option<&BTreeMap<(&'static str, &'static str), usize>>,
    out: &mut String,
) -> std::fmt::Result {
    let metrics = &*state.metrics;
    {
        let series = metrics.series();
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
            histogram_lines(
                out,
                "kanary_http_request_duration_seconds",
                &labels,
                &BUCKETS,
                histogram,
            )?;
        }
        render_executor(out, state, &series)?;
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

/// What the executor of this replica recorded.
fn render_executor(out: &mut String, state: &AppState, series: &Series) -> std::fmt::Result {
    header_lines(
        out,
        "kanary_executions_completed_total",
        "counter",
        "Executions this replica completed, by kind and final status.",
    )?;
    // Every (kind, final status) is written, 0 until it happens, so that rates and
    // ratios exist from the start.
    let mut completed: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for kind in [
        ExecutionKind::Canary,
        ExecutionKind::Standalone,
        ExecutionKind::Stage,
    ] {
        for status in FINAL_STATUSES {
            completed.insert((kind.as_str(), status.as_lower()), 0);
        }
    }
    for (key, count) in &series.completed {
        completed.insert(*key, *count);
    }
    for ((kind, status), count) in completed {
        writeln!(
            out,
            "kanary_executions_completed_total{{kind=\"{kind}\",status=\"{status}\"}} {count}"
        )?;
    }

    header_lines(
        out,
        "kanary_canary_score",
        "histogram",
        "Scores of the canary judgements of this replica (one per /canary execution, one \
         per interval of a standalone analysis), by kind and judge.",
    )?;
    for ((kind, judge), histogram) in &series.scores {
        let labels = format!("kind=\"{kind}\",judge=\"{}\"", escape(judge));
        histogram_lines(
            out,
            "kanary_canary_score",
            &labels,
            &SCORE_BUCKETS,
            histogram,
        )?;
    }

    header_lines(
        out,
        "kanary_metric_classifications_total",
        "counter",
        "Metric classifications of the canary judgements of this replica (one per metric \
         of each judgement), by kind, judge and classification.",
    )?;
    for ((kind, judge, classification), count) in &series.classifications {
        writeln!(
            out,
            "kanary_metric_classifications_total{{kind=\"{kind}\",judge=\"{}\",classification=\"{classification}\"}} {count}",
            escape(judge)
        )?;
    }

    header_lines(
        out,
        "kanary_metrics_fetch_duration_seconds",
        "histogram",
        "Latency of the metric store queries of this replica (one metric over one scope, \
         retries included), by metrics account.",
    )?;
    for (account, histogram) in &series.fetch_latency {
        let labels = format!("account=\"{}\"", escape(account));
        histogram_lines(
            out,
            "kanary_metrics_fetch_duration_seconds",
            &labels,
            &FETCH_BUCKETS,
            histogram,
        )?;
    }

    header_lines(
        out,
        "kanary_metrics_fetch_errors_total",
        "counter",
        "Failed metric store queries of this replica, by metrics account and reason \
         (config, deadline, invalid_query, mixer, response, status, unreachable).",
    )?;
    // Each configured account has every reason from the start (0 until a query fails),
    // so that `rate()` alerts see a series before the first failure.
    let mut errors: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for account in &state.accounts.metrics {
        for reason in ERROR_REASONS {
            errors.insert((account.name.as_str(), reason), 0);
        }
    }
    for ((account, reason), count) in &series.fetch_errors {
        errors.insert((account.as_str(), reason), *count);
    }
    for ((account, reason), count) in errors {
        writeln!(
            out,
            "kanary_metrics_fetch_errors_total{{account=\"{}\",reason=\"{reason}\"}} {count}",
            escape(account)
        )?;
    }
    Ok(())
}

/// A histogram's `_bucket` (cumulative), `_sum` and `_count` lines.
fn histogram_lines(
    out: &mut String,
    name: &str,
    labels: &str,
    bounds: &[f64],
    histogram: &Histogram,
) -> std::fmt::Result {
    let mut cumulative = 0;
    for (i, bound) in bounds.iter().enumerate() {
        cumulative += histogram.buckets.get(i).copied().unwrap_or(0);
        writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}")?;
    }
    writeln!(
        out,
        "{name}_bucket{{{labels},le=\"+Inf\"}} {}",
        histogram.count
    )?;
    writeln!(out, "{name}_sum{{{labels}}} {}", histogram.sum)?;
    writeln!(out, "{name}_count{{{labels}}} {}", histogram.count)
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
    use serde_json::{Value, json};
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
        let state = AppState::new(Arc::new(MemoryStore::new()), Accounts::default());
        for seconds in [0.0005, 0.003, 0.003, 0.2, 60.0] {
            state.metrics.record("GET", "/r".into(), 200, seconds);
        }
        let mut text = String::new();
        render(&state, None, &mut text).unwrap();
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

    fn judge_result(judge: &str, score: f64, classifications: &[&str]) -> CanaryJudgeResult {
        let results: Vec<Value> = classifications
            .iter()
            .enumerate()
            .map(|(i, c)| json!({"name": format!("m{i}"), "classification": c}))
            .collect();
        serde_json::from_value(json!({
            "judgeName": judge,
            "results": results,
            "groupScores": [],
            "score": {"score": score, "classification": "Pass", "classificationReason": ""}
        }))
        .unwrap()
    }

    fn fake_account(name: &str) -> crate::accounts::MetricsAccount {
        crate::accounts::MetricsAccount {
            name: name.into(),
            kind: "prometheus",
            source: Arc::new(Flaky),
            public: json!({}),
        }
    }

    /// A source whose queries of a scope named `down` fail as an unreachable store.
    struct Flaky;

    impl MetricsSource for Flaky {
        fn service_type(&self) -> &'static str {
            "prometheus"
        }

        fn account(&self) -> &str {
            "flaky"
        }

        fn build_query(
            &self,
            _: &CanaryConfig,
            _: &CanaryMetricConfig,
            scope: &CanaryScope,
        ) -> Result<String, SourceError> {
            Ok(scope.scope.clone())
        }

        fn query_metrics<'a>(
            &'a self,
            _: &'a CanaryConfig,
            _: &'a CanaryMetricConfig,
            scope: &'a CanaryScope,
        ) -> BoxFuture<'a, Result<Vec<MetricSet>, SourceError>> {
            Box::pin(async move {
                if scope.scope == "down" {
                    Err(SourceError::Unreachable {
                        service: "prometheus",
                        account: "flaky".into(),
                        url: "http://10.1.2.3:9090/api/v1/query_range".into(),
                        attempts: 3,
                        detail: "connection refused".into(),
                    })
                } else {
                    // 60 points a minute apart; a scope named `bad…` is 10× the others.
                    let factor = if scope.scope.starts_with("bad") {
                        10.0
                    } else {
                        1.0
                    };
                    let start = scope.start.timestamp_millis();
                    Ok(vec![MetricSet {
                        name: "latency".into(),
                        tags: Default::default(),
                        start_time_millis: start,
                        start_time_iso: None,
                        end_time_millis: start + 60 * 60_000,
                        end_time_iso: None,
                        step_millis: 60_000,
                        values: (0..60)
                            .map(|i| factor * (10.0 + f64::from(i % 7)))
                            .collect(),
                        attributes: Default::default(),
                    }])
                }
            })
        }
    }

    #[test]
    fn executor_series_render_with_their_values() {
        let accounts = Accounts {
            metrics: vec![fake_account("prod"), fake_account("idle")],
            ..Accounts::default()
        };
        let state = AppState::new(Arc::new(MemoryStore::new()), accounts);
        let m = &state.metrics;
        m.execution_completed(ExecutionKind::Canary, ExecutionStatus::Succeeded);
        m.execution_completed(ExecutionKind::Canary, ExecutionStatus::Succeeded);
        m.execution_completed(ExecutionKind::Standalone, ExecutionStatus::Terminal);
        m.judged(
            ExecutionKind::Canary,
            &judge_result("NetflixACAJudge-v1.0", 100.0, &["Pass", "Pass", "High"]),
        );
        m.judged(
            ExecutionKind::Canary,
            &judge_result("NetflixACAJudge-v1.0", 72.5, &["Pass", "Nodata"]),
        );
        m.judged(
            ExecutionKind::Standalone,
            &judge_result("kanary-v1", 0.0, &["Inconclusive", "Low", "Error"]),
        );
        // A judge name from elsewhere is `other`; a NaN score is not observed.
        m.judged(
            ExecutionKind::Canary,
            &judge_result("my \"judge\"", f64::NAN, &["Pass"]),
        );
        m.fetched("prod", 0.02, None);
        m.fetched("prod", 3.0, None);
        let unreachable = SourceError::Unreachable {
            service: "prometheus",
            account: "prod".into(),
            url: "http://10.1.2.3:9090/api/v1/query_range".into(),
            attempts: 3,
            detail: "connection refused".into(),
        };
        m.fetched("prod", 70.0, Some(&unreachable));
        m.fetched(
            "prod",
            0.001,
            Some(&SourceError::InvalidQuery("bad".into())),
        );

        let mut text = String::new();
        render(&state, None, &mut text).unwrap();
        let expect = [
            (
                r#"kanary_executions_completed_total{kind="canary",status="succeeded"}"#,
                "2",
            ),
            (
                r#"kanary_executions_completed_total{kind="canary",status="canceled"}"#,
                "0",
            ),
            (
                r#"kanary_executions_completed_total{kind="standalone",status="terminal"}"#,
                "1",
            ),
            (
                r#"kanary_canary_score_bucket{kind="canary",judge="NetflixACAJudge-v1.0",le="70"}"#,
                "0",
            ),
            (
                r#"kanary_canary_score_bucket{kind="canary",judge="NetflixACAJudge-v1.0",le="75"}"#,
                "1",
            ),
            (
                r#"kanary_canary_score_bucket{kind="canary",judge="NetflixACAJudge-v1.0",le="95"}"#,
                "1",
            ),
            (
                r#"kanary_canary_score_bucket{kind="canary",judge="NetflixACAJudge-v1.0",le="100"}"#,
                "2",
            ),
            (
                r#"kanary_canary_score_bucket{kind="canary",judge="NetflixACAJudge-v1.0",le="+Inf"}"#,
                "2",
            ),
            (
                r#"kanary_canary_score_sum{kind="canary",judge="NetflixACAJudge-v1.0"}"#,
                "172.5",
            ),
            (
                r#"kanary_canary_score_count{kind="canary",judge="NetflixACAJudge-v1.0"}"#,
                "2",
            ),
            (
                r#"kanary_canary_score_bucket{kind="standalone",judge="kanary-v1",le="0"}"#,
                "1",
            ),
            (
                r#"kanary_canary_score_count{kind="canary",judge="other"}"#,
                "",
            ),
            (
                r#"kanary_metric_classifications_total{kind="canary",judge="NetflixACAJudge-v1.0",classification="Pass"}"#,
                "3",
            ),
            (
                r#"kanary_metric_classifications_total{kind="canary",judge="NetflixACAJudge-v1.0",classification="High"}"#,
                "1",
            ),
            (
                r#"kanary_metric_classifications_total{kind="canary",judge="NetflixACAJudge-v1.0",classification="Nodata"}"#,
                "1",
            ),
            (
                r#"kanary_metric_classifications_total{kind="canary",judge="other",classification="Pass"}"#,
                "1",
            ),
            (
                r#"kanary_metric_classifications_total{kind="standalone",judge="kanary-v1",classification="Inconclusive"}"#,
                "1",
            ),
            (
                r#"kanary_metric_classifications_total{kind="standalone",judge="kanary-v1",classification="Low"}"#,
                "1",
            ),
            (
                r#"kanary_metric_classifications_total{kind="standalone",judge="kanary-v1",classification="Error"}"#,
                "1",
            ),
            (
                r#"kanary_metrics_fetch_duration_seconds_bucket{account="prod",le="0.005"}"#,
                "1",
            ),
            (
                r#"kanary_metrics_fetch_duration_seconds_bucket{account="prod",le="0.025"}"#,
                "2",
            ),
            (
                r#"kanary_metrics_fetch_duration_seconds_bucket{account="prod",le="5"}"#,
                "3",
            ),
            (
                r#"kanary_metrics_fetch_duration_seconds_bucket{account="prod",le="60"}"#,
                "3",
            ),
            (
                r#"kanary_metrics_fetch_duration_seconds_bucket{account="prod",le="+Inf"}"#,
                "4",
            ),
            (
                r#"kanary_metrics_fetch_duration_seconds_count{account="prod"}"#,
                "4",
            ),
            (
                r#"kanary_metrics_fetch_errors_total{account="prod",reason="unreachable"}"#,
                "1",
            ),
            (
                r#"kanary_metrics_fetch_errors_total{account="prod",reason="invalid_query"}"#,
                "1",
            ),
            (
                r#"kanary_metrics_fetch_errors_total{account="prod",reason="deadline"}"#,
                "0",
            ),
            (
                r#"kanary_metrics_fetch_errors_total{account="idle",reason="unreachable"}"#,
                "0",
            ),
        ];
        for (series, value) in expect {
            let want = (!value.is_empty()).then_some(value);
            assert_eq!(line_value(&text, series), want, "{series}\n{text}");
        }
        let sum: f64 = line_value(
            &text,
            r#"kanary_metrics_fetch_duration_seconds_sum{account="prod"}"#,
        )
        .unwrap()
        .parse()
        .unwrap();
        approx::assert_abs_diff_eq!(sum, 73.021, epsilon = 1e-9);
        // Seven reasons for each of the two accounts, nothing else.
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with("kanary_metrics_fetch_errors_total{"))
                .count(),
            14
        );
        for name in [
            "kanary_executions_completed_total counter",
            "kanary_canary_score histogram",
            "kanary_metric_classifications_total counter",
            "kanary_metrics_fetch_duration_seconds histogram",
            "kanary_metrics_fetch_errors_total counter",
        ] {
            assert!(text.contains(&format!("# TYPE {name}\n")), "{name}");
        }
        // Neither an error's text nor its URL is a label.
        assert!(!text.contains("10.1.2.3"), "{text}");
        assert!(!text.contains("connection refused"), "{text}");
        assert!(!text.contains("my \\\"judge"), "{text}");
    }

    #[tokio::test]
    async fn an_instrumented_source_records_each_query() {
        let metrics = Metrics::new();
        let source = metrics.instrument(&Flaky, "prod");
        let config: CanaryConfig = serde_json::from_value(json!({
            "name": "c",
            "metrics": [{"name": "m", "query": {"type": "prometheus", "metricName": "m"},
                         "groups": ["g"], "analysisConfigurations": {}, "scopeName": "default"}],
            "classifier": {"groupWeights": {"g": 100}}
        }))
        .unwrap();
        let scope = |name: &str| CanaryScope {
            scope: name.into(),
            location: String::new(),
            start: chrono::DateTime::from_timestamp(0, 0).unwrap(),
            end: chrono::DateTime::from_timestamp(60, 0).unwrap(),
            step: 60,
            extended_scope_params: BTreeMap::new(),
        };
        let metric = &config.metrics[0];
        assert!(
            source
                .query_metrics(&config, metric, &scope("up"))
                .await
                .is_ok()
        );
        assert!(
            source
                .query_metrics(&config, metric, &scope("down"))
                .await
                .is_err()
        );
        assert!(
            source
                .query_metrics(&config, metric, &scope("up"))
                .await
                .is_ok()
        );
        // The wrapper is transparent.
        assert_eq!(source.account(), "flaky");
        assert_eq!(
            source.build_query(&config, metric, &scope("q")).unwrap(),
            "q"
        );
        let series = metrics.series();
        assert_eq!(series.fetch_latency["prod"].count, 3);
        assert_eq!(
            series
                .fetch_errors
                .get(&("prod".to_string(), "unreachable")),
            Some(&1)
        );
        assert_eq!(series.fetch_errors.len(), 1);
    }

    /// Sends a JSON body.
    async fn post(app: &Router, path: &str, body: Value) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn canaries_run_by_the_executor_are_counted() {
        let accounts = Accounts {
            metrics: vec![fake_account("fake")],
            ..Accounts::default()
        };
        let state = AppState::new(Arc::new(MemoryStore::new()), accounts);
        let app = crate::server::app(state.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let options = crate::executor::WorkerOptions {
            lease: Duration::from_secs(5),
            poll: Duration::from_millis(50),
            concurrency: 2,
        };
        let worker = tokio::spawn(crate::executor::run_with(state.clone(), options, async {
            let _ = stopped.await;
        }));

        let config = json!({
            "name": "small",
            "metrics": [{
                "name": "latency",
                "query": {"type": "prometheus", "metricName": "latency"},
                "groups": ["latency"],
                "analysisConfigurations": {"canary": {"direction": "increase"}},
                "scopeName": "default"
            }],
            "classifier": {"groupWeights": {"latency": 100}}
        });
        let request = |canary: &str| {
            let scope = |s: &str| {
                json!({"scope": s, "location": "", "step": 60,
                       "start": "2026-01-01T10:00:00Z", "end": "2026-01-01T10:59:00Z"})
            };
            json!({
                "canaryConfig": config,
                "executionRequest": {
                    "scopes": {"default": {"controlScope": scope("baseline"), "experimentScope": scope(canary)}},
                    "thresholds": {"pass": 95, "marginal": 75}
                }
            })
        };
        let mut ids = Vec::new();
        for canary in ["good", "bad", "down"] {
            let (status, started) = post(&app, "/canary", request(canary)).await;
            assert_eq!(status, StatusCode::OK, "{started}");
            ids.push(started["canaryExecutionId"].as_str().unwrap().to_string());
        }
        let mut statuses = Vec::new();
        for id in &ids {
            let mut done = None;
            // Bounded: 600 × 20 ms.
            for _ in 0..600 {
                let (_, body) = send(&app, Method::GET, &format!("/canary/{id}")).await;
                let body: Value = serde_json::from_str(&body).unwrap();
                if body["complete"] == json!(true) {
                    done = Some(body);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let done = done.unwrap_or_else(|| panic!("{id} did not complete"));
            statuses.push(done["status"].as_str().unwrap().to_string());
        }
        assert_eq!(statuses, ["succeeded", "succeeded", "terminal"]);
        let _ = stop.send(());
        worker.await.unwrap();

        let (status, text) = send(&app, Method::GET, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        let judge = "NetflixACAJudge-v1.0";
        let expect = [
            (
                r#"kanary_executions_completed_total{kind="canary",status="succeeded"}"#
                    .to_string(),
                "2",
            ),
            (
                r#"kanary_executions_completed_total{kind="canary",status="terminal"}"#.to_string(),
                "1",
            ),
            (
                r#"kanary_executions_completed_total{kind="standalone",status="succeeded"}"#
                    .to_string(),
                "0",
            ),
            // good: 100, bad: 0.
            (
                format!(r#"kanary_canary_score_count{{kind="canary",judge="{judge}"}}"#),
                "2",
            ),
            (
                format!(r#"kanary_canary_score_sum{{kind="canary",judge="{judge}"}}"#),
                "100",
            ),
            (
                format!(r#"kanary_canary_score_bucket{{kind="canary",judge="{judge}",le="0"}}"#),
                "1",
            ),
            (
                format!(
                    r#"kanary_metric_classifications_total{{kind="canary",judge="{judge}",classification="Pass"}}"#
                ),
                "1",
            ),
            (
                format!(
                    r#"kanary_metric_classifications_total{{kind="canary",judge="{judge}",classification="High"}}"#
                ),
                "1",
            ),
            // Two scopes per canary, three canaries.
            (
                r#"kanary_metrics_fetch_duration_seconds_count{account="fake"}"#.to_string(),
                "6",
            ),
            (
                r#"kanary_metrics_fetch_errors_total{account="fake",reason="unreachable"}"#
                    .to_string(),
                "1",
            ),
            (
                r#"kanary_metrics_fetch_errors_total{account="fake",reason="status"}"#.to_string(),
                "0",
            ),
            (
                r#"kanary_http_requests_total{method="POST",route="/canary",status="200"}"#
                    .to_string(),
                "3",
            ),
        ];
        for (series, value) in &expect {
            assert_eq!(line_value(&text, series), Some(*value), "{series}\n{text}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape("x\ny"), "x\\ny");
    }
}
