//! Prometheus (`GET /api/v1/query_range`), as Kayenta's `kayenta-prometheus`.
//!
//! Queries are built exactly as Kayenta's `PrometheusMetricsService.buildQuery` builds
//! them (label bindings, custom filter templates, `PromQL:` queries, the `gce_instance`
//! and `aws_ec2_instance` resource types), and each series of the answer becomes one
//! `MetricSet`, as in Kayenta's `PrometheusResponseConverter`, with these differences:
//!
//! * every series lies on the requested grid (`start`, `start + step`, ... `end`): one
//!   value per instant, NaN where Prometheus had no sample, `attributes.aligned =
//!   "true"`. Kayenta drops missing samples (and nulls), which shortens the series and
//!   shifts every later value in time;
//! * an empty answer is one placeholder of grid length, all NaN, with the same
//!   attributes (Kayenta's placeholder has no values and leaves the padding to the mixer);
//! * credentials are sent with the first request (see [`PrometheusAuth`]);
//! * Prometheus's own error text is kept in [`SourceError::Status`].

use std::collections::BTreeMap;

use kanary_judge::{ALIGNED_ATTRIBUTE, CanaryConfig, CanaryMetricConfig, MetricQuery, MetricSet};
use reqwest::header::AUTHORIZATION;
use serde::Deserialize;
use serde_json::Value;

use crate::http::{BoxFuture, HttpRequest, HttpResponse};
use crate::scope::{TimeGrid, iso, iso_millis};
use crate::source::{metric_query, non_empty};
use crate::template::{PROMETHEUS_BASE_ATTRIBUTES, expand_custom_filter};
use crate::{CanaryScope, HttpClient, MetricsSource, Origin, SourceError};

/// The most instants one range query may ask for. Prometheus refuses a query whose
/// `(end − start) / step` exceeds 11,000 ("exceeded maximum resolution of 11,000 points
/// per timeseries"), so the inclusive grid holds at most 11,001 instants.
pub const MAX_POINTS_PER_SERIES: usize = 11_001;

/// The prefix of a custom filter that is a whole PromQL query (Kayenta's convention).
pub const PROMQL_PREFIX: &str = "PromQL:";

/// A Prometheus metrics account (Kayenta's `kayenta.prometheus.accounts[]`).
#[derive(Clone)]
pub struct PrometheusAccount {
    /// Account name.
    pub name: String,
    /// Base URL, without a trailing `/`.
    pub base_url: reqwest::Url,
    /// Credentials sent with every request.
    pub auth: PrometheusAuth,
    /// The label that selects a server group for `gce_instance` (Kayenta's
    /// `kayenta.prometheus.scopeLabel`, default `instance`).
    pub scope_label: String,
}

/// How kanary authenticates to Prometheus.
///
/// The credentials go in the `Authorization` header of every request, marked sensitive.
/// Kayenta (`RetrofitClientFactory`) puts them in an OkHttp authenticator instead, which
/// sends them only after a `401` challenge. kanary sends them up front: reverse proxies and
/// gateways in front of Prometheus often answer `403` or redirect to a login page rather
/// than challenge, so Kayenta's way never authenticates there; and it saves a round trip.
#[derive(Clone, Default)]
pub enum PrometheusAuth {
    /// No credentials.
    #[default]
    None,
    /// HTTP basic auth.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(String),
}

impl std::fmt::Debug for PrometheusAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PrometheusAuth::None => "None",
            PrometheusAuth::Basic { .. } => "Basic(<redacted>)",
            PrometheusAuth::Bearer(_) => "Bearer(<redacted>)",
        })
    }
}

impl std::fmt::Debug for PrometheusAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusAccount")
            .field("name", &self.name)
            .field("base_url", &crate::display_url(&self.base_url))
            .field("auth", &self.auth)
            .field("scope_label", &self.scope_label)
            .finish()
    }
}

impl PrometheusAccount {
    /// An account without credentials; `base_url` must be an absolute http(s) URL (a
    /// trailing `/` is removed).
    pub fn new(name: impl Into<String>, base_url: &str) -> Result<Self, SourceError> {
        let base_url = reqwest::Url::parse(base_url.trim_end_matches('/')).map_err(|e| {
            SourceError::Config(format!(
                "the Prometheus URL '{}' is not a valid URL: {e}",
                crate::error::redact_url_text(base_url)
            ))
        })?;
        Ok(Self {
            name: name.into(),
            base_url,
            auth: PrometheusAuth::None,
            scope_label: "instance".to_string(),
        })
    }

    /// Sets the credentials.
    pub fn with_auth(mut self, auth: PrometheusAuth) -> Self {
        self.auth = auth;
        self
    }

    /// Sets the `gce_instance` scope label.
    pub fn with_scope_label(mut self, label: impl Into<String>) -> Self {
        self.scope_label = label.into();
        self
    }
}

/// The Prometheus metrics source.
#[derive(Debug, Clone)]
pub struct Prometheus {
    account: PrometheusAccount,
    http: HttpClient,
}

impl Prometheus {
    /// A source for `account` over `http`.
    pub fn new(account: PrometheusAccount, http: HttpClient) -> Self {
        Self { account, http }
    }
}

impl MetricsSource for Prometheus {
    fn service_type(&self) -> &'static str {
        "prometheus"
    }

    fn account(&self) -> &str {
        &self.account.name
    }

    fn build_query(
        &self,
        config: &CanaryConfig,
        metric: &CanaryMetricConfig,
        scope: &CanaryScope,
    ) -> Result<String, SourceError> {
        let query = metric_query(metric)?;
        build_query(config, query, scope, &self.account.scope_label)
    }

    fn max_points_per_series(&self) -> Option<usize> {
        Some(MAX_POINTS_PER_SERIES)
    }

    fn query_metrics<'a>(
        &'a self,
        config: &'a CanaryConfig,
        metric: &'a CanaryMetricConfig,
        scope: &'a CanaryScope,
    ) -> BoxFuture<'a, Result<Vec<MetricSet>, SourceError>> {
        Box::pin(self.fetch(config, metric, scope))
    }

    /// Kayenta's `PrometheusMetricDescriptorsCache`: the metric names of
    /// `GET /api/v1/label/__name__/values` as `{"name": ...}`, filtered by a
    /// case-insensitive substring. kanary asks Prometheus on each call instead of caching.
    fn metadata<'a>(
        &'a self,
        filter: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<Value>, SourceError>> {
        Box::pin(self.metric_names(filter))
    }
}

impl Prometheus {
    async fn fetch(
        &self,
        config: &CanaryConfig,
        metric: &CanaryMetricConfig,
        scope: &CanaryScope,
    ) -> Result<Vec<MetricSet>, SourceError> {
        let query = self.build_query(config, metric, scope)?;
        let grid = scope.grid()?;
        if grid.len() > MAX_POINTS_PER_SERIES {
            return Err(SourceError::InvalidQuery(format!(
                "the window {} to {} at a step of {} s holds {} points, but Prometheus returns at most {MAX_POINTS_PER_SERIES} points per series: use a larger step",
                iso(&scope.start),
                iso(&scope.end),
                scope.step,
                grid.len()
            )));
        }
        tracing::debug!(query = %query, points = grid.len(), "Prometheus range query");
        let url = self.query_range_url(&query, scope);
        let request = self.authorize(HttpRequest::get(url.clone()))?;
        let session = self
            .http
            .session(Origin::new("prometheus", &self.account.name));
        let response = session.get(&request).await?;
        let name = metric.name.clone().unwrap_or_default();
        if !response.is_success() {
            return Err(session
                .origin()
                .status(&url, response.status, error_message(&response)));
        }
        parse_query_range(&response.body, &grid, &name, &query)
            .map_err(|detail| session.origin().bad_response(&url, detail))
    }

    async fn metric_names(&self, filter: Option<&str>) -> Result<Vec<Value>, SourceError> {
        let mut url = self.account.base_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .extend(["api", "v1", "label", "__name__", "values"]);
        }
        let request = self.authorize(HttpRequest::get(url.clone()))?;
        let session = self
            .http
            .session(Origin::new("prometheus", &self.account.name));
        let response = session.get(&request).await?;
        if !response.is_success() {
            return Err(session
                .origin()
                .status(&url, response.status, error_message(&response)));
        }
        #[derive(Deserialize)]
        struct Names {
            #[serde(default)]
            data: Vec<String>,
        }
        let names: Names = serde_json::from_slice(&response.body).map_err(|e| {
            session.origin().bad_response(
                &url,
                format!("the body is not a Prometheus label values answer ({e})"),
            )
        })?;
        Ok(crate::source::filter_names(names.data, filter))
    }

    /// `<base>/api/v1/query_range?query=..&start=..&end=..&step=..`, with Kayenta's
    /// parameters (`PrometheusRemoteService.rangeQuery`): `start` and `end` as
    /// `Instant.toString()`, `step` in whole seconds.
    fn query_range_url(&self, query: &str, scope: &CanaryScope) -> reqwest::Url {
        let mut url = self.account.base_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(["api", "v1", "query_range"]);
        }
        url.query_pairs_mut()
            .append_pair("query", query)
            .append_pair("start", &iso(&scope.start))
            .append_pair("end", &iso(&scope.end))
            .append_pair("step", &scope.step.to_string());
        url
    }

    /// Adds the account's credentials, pre-emptively (see [`PrometheusAuth`]).
    fn authorize(&self, request: HttpRequest) -> Result<HttpRequest, SourceError> {
        match &self.account.auth {
            PrometheusAuth::None => Ok(request),
            PrometheusAuth::Basic { username, password } => {
                let token = base64(format!("{username}:{password}").as_bytes());
                request.header(AUTHORIZATION, &format!("Basic {token}"), true)
            }
            PrometheusAuth::Bearer(token) => {
                request.header(AUTHORIZATION, &format!("Bearer {token}"), true)
            }
        }
    }
}

/// Kayenta's `PrometheusMetricsService.buildQuery`, step for step:
///
/// 1. the resource type is the query's, else the scope's `resourceType` parameter;
/// 2. the custom filter is the expanded template (base attributes `project`,
///    `resourceType`, `scope`, `location`);
/// 3. a custom filter starting with `PromQL:` is the whole query;
/// 4. otherwise `metricName` is required and the label filters are the custom filter's
///    comma-separated pieces followed by the label bindings, or, without a custom filter,
///    the label bindings followed by the resource type's scope and location matchers;
/// 5. `avg(metricName{filters})`, plus ` by (g1,g2)` when `groupByFields` is set.
pub fn build_query(
    config: &CanaryConfig,
    query: &MetricQuery,
    scope: &CanaryScope,
    scope_label: &str,
) -> Result<String, SourceError> {
    let resource_type = non_empty(query.resource_type.as_deref())
        .or_else(|| scope.param("resourceType"))
        .unwrap_or("");
    let custom_filter = expand_custom_filter(config, query, scope, PROMETHEUS_BASE_ATTRIBUTES)?
        .filter(|f| !f.is_empty());
    if let Some(promql) = custom_filter
        .as_deref()
        .and_then(|f| f.strip_prefix(PROMQL_PREFIX))
    {
        return Ok(promql.to_string());
    }
    let metric_name = non_empty(query.metric_name.as_deref()).ok_or_else(|| {
        SourceError::InvalidQuery("Metric Name is required when query type is Default.".into())
    })?;
    let mut filters: Vec<String> = query.label_bindings.clone().unwrap_or_default();
    match custom_filter.as_deref() {
        Some(custom) => {
            let pieces = java_split_commas(custom);
            filters.splice(0..0, pieces);
        }
        None => match resource_type {
            "gce_instance" => gce_filters(scope, scope_label, &mut filters)?,
            "aws_ec2_instance" => ec2_filters(scope, &mut filters)?,
            "" => {
                return Err(SourceError::InvalidQuery(
                    "Either a resource type or a custom filter is required.".into(),
                ));
            }
            other => {
                return Err(SourceError::InvalidQuery(format!(
                    "There is no explicit support for resourceType '{other}'. You may build whatever query makes sense for your environment via label bindings and custom filter templates."
                )));
            }
        },
    }
    let mut out = String::from("avg(");
    out.push_str(metric_name);
    if !filters.is_empty() {
        out.push('{');
        out.push_str(&filters.join(","));
        out.push('}');
    }
    out.push(')');
    if let Some(group_by) = query.group_by_fields.as_ref().filter(|g| !g.is_empty()) {
        out.push_str(" by (");
        out.push_str(&group_by.join(","));
        out.push(')');
    }
    Ok(out)
}

/// Java's `String.split(",")`: trailing empty pieces are dropped, inner and leading ones
/// kept (Kayenta splits the custom filter this way).
fn java_split_commas(s: &str) -> Vec<String> {
    let mut pieces: Vec<String> = s.split(',').map(str::to_string).collect();
    while pieces.last().is_some_and(|p| p.is_empty()) {
        pieces.pop();
    }
    pieces
}

/// Kayenta's `addGCEFilters`: `<scopeLabel>=~"<scope>-.{4}"` (a managed instance group's
/// instances are named `<group>-xxxx`) when there is a scope, and the zone of the region.
fn gce_filters(
    scope: &CanaryScope,
    scope_label: &str,
    filters: &mut Vec<String>,
) -> Result<(), SourceError> {
    if scope.location.is_empty() {
        return Err(SourceError::InvalidQuery(
            "Location (i.e. region) is required when resourceType is 'gce_instance'.".into(),
        ));
    }
    if !scope.scope.is_empty() {
        filters.push(format!("{scope_label}=~\"{}-.{{4}}\"", scope.scope));
    }
    let mut zone = String::from(".+/");
    if let Some(project) = scope.param("project") {
        zone.push_str("projects/");
        zone.push_str(project);
        zone.push('/');
    }
    zone.push_str("zones/");
    zone.push_str(&scope.location);
    zone.push_str("-.{1}");
    filters.push(format!("zone=~\"{zone}\""));
    Ok(())
}

/// Kayenta's `addEC2Filters`: the auto scaling group and the zones of the region.
fn ec2_filters(scope: &CanaryScope, filters: &mut Vec<String>) -> Result<(), SourceError> {
    if scope.location.is_empty() {
        return Err(SourceError::InvalidQuery(
            "Location (i.e. region) is required when resourceType is 'aws_ec2_instance'.".into(),
        ));
    }
    if !scope.scope.is_empty() {
        filters.push(format!("asg_groupName=\"{}\"", scope.scope));
    }
    filters.push(format!("zone=~\"{}.{{1}}\"", scope.location));
    Ok(())
}

/// Prometheus's own message for a failed query (`{"status":"error","errorType":..,
/// "error":..}`), else the start of the body (a proxy's error page, say).
fn error_message(response: &HttpResponse) -> String {
    match serde_json::from_slice::<Envelope>(&response.body) {
        Ok(Envelope {
            error: Some(error), ..
        }) if !error.is_empty() => error,
        _ => response.body_excerpt(500),
    }
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    error: Option<String>,
    /// Prometheus's warnings on a successful query (e.g. from a remote-read endpoint).
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    result_type: String,
    result: Vec<Series>,
}

#[derive(Deserialize)]
struct Series {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(Value, Value)>,
}

/// Reads a `query_range` answer onto `grid`: one set per series (Kayenta's
/// `PrometheusResponseConverter`), with tags = labels minus `__name__`, `"+Inf"`,
/// `"-Inf"`, `"NaN"` as numbers, a null value as NaN, and NaN where a grid instant has no
/// sample; or one all-NaN placeholder without tags when there is no series. The error is
/// what is wrong with the body.
pub fn parse_query_range(
    body: &[u8],
    grid: &TimeGrid,
    name: &str,
    query: &str,
) -> Result<Vec<MetricSet>, String> {
    let envelope: Envelope = serde_json::from_slice(body)
        .map_err(|e| format!("the body is not a Prometheus API answer ({e})"))?;
    match envelope.status.as_deref() {
        Some("success") => {}
        Some(status) => {
            return Err(format!(
                "status '{status}': {}",
                envelope.error.as_deref().unwrap_or("no error message")
            ));
        }
        None => return Err("the answer has no 'status'".into()),
    }
    for warning in &envelope.warnings {
        tracing::warn!(query, warning = %warning, "Prometheus answered with a warning");
    }
    let data = envelope
        .data
        .ok_or_else(|| "the answer has no 'data'".to_string())?;
    if data.result_type != "matrix" {
        return Err(format!(
            "expected data.resultType 'matrix', got '{}'",
            data.result_type
        ));
    }
    let mut attributes = BTreeMap::new();
    attributes.insert("query".to_string(), query.to_string());
    attributes.insert(ALIGNED_ATTRIBUTE.to_string(), "true".to_string());
    let set = |tags: BTreeMap<String, String>, values: Vec<f64>| MetricSet {
        name: name.to_string(),
        tags,
        start_time_millis: grid.start_ms(),
        start_time_iso: Some(iso_millis(grid.start_ms())),
        end_time_millis: grid.end_ms(),
        end_time_iso: Some(iso_millis(grid.end_ms())),
        step_millis: grid.step_ms(),
        values,
        attributes: attributes.clone(),
    };
    if data.result.is_empty() {
        // Kayenta's placeholder, so that the mixer can pair a side without data.
        return Ok(vec![set(BTreeMap::new(), vec![f64::NAN; grid.len()])]);
    }
    crate::scope::check_fetch_size(data.result.len(), grid.len())?;
    let mut sets = Vec::with_capacity(data.result.len());
    for (i, series) in data.result.into_iter().enumerate() {
        let mut points = Vec::with_capacity(series.values.len());
        for (k, (t, v)) in series.values.iter().enumerate() {
            let t_ms = timestamp_millis(t).ok_or_else(|| {
                format!(
                    "data.result[{i}].values[{k}] has the timestamp {t}, not a number of seconds"
                )
            })?;
            let v = sample_value(v).ok_or_else(|| {
                format!("data.result[{i}].values[{k}] has the value {v}, not a number")
            })?;
            points.push((t_ms, v));
        }
        let mut tags = series.metric;
        tags.remove("__name__");
        sets.push(set(tags, grid.place(points)));
    }
    Ok(sets)
}

/// A sample time (float seconds) in epoch milliseconds.
fn timestamp_millis(t: &Value) -> Option<i64> {
    let secs = match t {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.parse::<f64>().ok()?,
        _ => return None,
    };
    let ms = (secs * 1000.0).round();
    // Also rejects NaN and infinities.
    (ms.abs() < 9.0e15).then_some(ms as i64)
}

/// A sample value: Go's float text, with `+Inf`, `-Inf` and `NaN` (Kayenta's converter);
/// null is a missing sample.
fn sample_value(v: &Value) -> Option<f64> {
    match v {
        Value::Null => Some(f64::NAN),
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "+Inf" | "Inf" => Some(f64::INFINITY),
            "-Inf" => Some(f64::NEG_INFINITY),
            "NaN" => Some(f64::NAN),
            other => other.parse::<f64>().ok(),
        },
        _ => None,
    }
}

/// Standard base64 with padding (RFC 4648), for `Authorization: Basic`.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (j, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if j <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("Aladdin:open sesame", "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
        ] {
            assert_eq!(base64(input.as_bytes()), expected, "{input}");
        }
    }

    #[test]
    fn java_split_drops_trailing_empty_pieces_only() {
        assert_eq!(java_split_commas("a,b"), ["a", "b"]);
        assert_eq!(java_split_commas("a,,b,,"), ["a", "", "b"]);
        assert_eq!(java_split_commas(",a"), ["", "a"]);
        assert!(java_split_commas(",,").is_empty());
    }

    #[test]
    fn sample_values_read_go_float_text() {
        assert_eq!(sample_value(&Value::from("+Inf")), Some(f64::INFINITY));
        assert_eq!(sample_value(&Value::from("-Inf")), Some(f64::NEG_INFINITY));
        assert!(sample_value(&Value::from("NaN")).is_some_and(f64::is_nan));
        assert!(sample_value(&Value::Null).is_some_and(f64::is_nan));
        assert_eq!(sample_value(&Value::from("1e+06")), Some(1e6));
        assert_eq!(sample_value(&Value::from("-0.25")), Some(-0.25));
        assert_eq!(sample_value(&Value::from("x1")), None);
        assert_eq!(sample_value(&Value::Bool(true)), None);
        assert_eq!(timestamp_millis(&Value::from(1.5)), Some(1500));
        assert_eq!(timestamp_millis(&Value::from(1e300)), None);
        assert_eq!(timestamp_millis(&Value::Null), None);
    }
}
