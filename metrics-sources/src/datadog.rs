//! Datadog (`GET /api/v1/query`), as Kayenta's `kayenta-datadog`.
//!
//! * Query (`DatadogMetricsService.buildQuery`): without a custom template,
//!   `<metricName>{<scope>}` with the scope used raw (`avg:system.cpu.user{autoscaling_group:web-canary}`);
//!   with one, the expanded template (bindings `scope`, `location` and every
//!   `extendedScopeParams` entry) is the whole query.
//! * Request (`DatadogRemoteService.getTimeSeries`): `from` and `to` in epoch seconds, the
//!   keys in the `DD-API-KEY` and `DD-APPLICATION-KEY` headers (Kayenta moved them out of
//!   the query string in PR #725 after key leaks, issue #684). Here the header values are
//!   marked sensitive, so `Debug` never prints them, and errors show URLs without their
//!   query string.
//! * The scope's `step` is ignored, as in Kayenta: Datadog chooses its own rollup interval
//!   for the window, and each series says which one (`interval`, seconds).
//! * Response (`DatadogTimeSeries.getDataPoints`): each series is walked from `start` to
//!   `end` inclusive at `interval`; a point at an instant gives its value (`null` is NaN),
//!   an instant without a point is NaN. So the series lies on a regular grid and is marked
//!   `aligned`. Kayenta sets no tags, and neither does kanary (the mixer then behaves as
//!   Kayenta's).

use std::collections::BTreeMap;

use kanary_judge::{ALIGNED_ATTRIBUTE, CanaryConfig, CanaryMetricConfig, MetricSet};
use reqwest::header::HeaderName;
use serde_json::Value;

use crate::http::{BoxFuture, HttpRequest, HttpResponse};
use crate::scope::iso_millis;
use crate::template::{DATADOG_BASE_ATTRIBUTES, expand_custom_filter};
use crate::{CanaryScope, HttpClient, MetricsSource, Origin, SourceError, TimeGrid};

/// The header that carries the API key.
pub const API_KEY_HEADER: &str = "DD-API-KEY";
/// The header that carries the application key.
pub const APPLICATION_KEY_HEADER: &str = "DD-APPLICATION-KEY";

/// Timestamps beyond this many milliseconds from the epoch (about the year 33,658) are
/// not epoch milliseconds; refusing them keeps the grid arithmetic far from overflow.
const MAX_ABS_EPOCH_MS: f64 = 1e15;

/// How much of an error body an error message quotes.
const EXCERPT_BYTES: usize = 300;

/// A Datadog metrics account (Kayenta's `kayenta.datadog.accounts[]`). The keys are sent
/// in the `DD-API-KEY` and `DD-APPLICATION-KEY` headers only, and `Debug` hides them.
#[derive(Clone)]
pub struct DatadogAccount {
    /// Account name.
    pub name: String,
    /// Base URL, e.g. `https://api.datadoghq.com`, without a trailing `/`.
    pub base_url: reqwest::Url,
    api_key: String,
    application_key: String,
}

impl std::fmt::Debug for DatadogAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatadogAccount")
            .field("name", &self.name)
            .field("base_url", &crate::display_url(&self.base_url))
            .finish_non_exhaustive()
    }
}

impl DatadogAccount {
    /// An account; `base_url` must be an absolute http(s) URL (a trailing `/` is removed).
    pub fn new(
        name: impl Into<String>,
        base_url: &str,
        api_key: impl Into<String>,
        application_key: impl Into<String>,
    ) -> Result<Self, SourceError> {
        let base_url = reqwest::Url::parse(base_url.trim_end_matches('/')).map_err(|e| {
            SourceError::Config(format!(
                "the Datadog URL '{}' is not a valid URL: {e}",
                crate::error::redact_url_text(base_url)
            ))
        })?;
        if !matches!(base_url.scheme(), "http" | "https") {
            return Err(SourceError::Config(format!(
                "the Datadog URL '{}' must start with http:// or https://",
                crate::display_url(&base_url)
            )));
        }
        Ok(Self {
            name: name.into(),
            base_url,
            api_key: api_key.into(),
            application_key: application_key.into(),
        })
    }
}

/// The Datadog metrics source.
#[derive(Debug, Clone)]
pub struct Datadog {
    account: DatadogAccount,
    http: HttpClient,
}

impl Datadog {
    /// A source for `account` over `http`.
    pub fn new(account: DatadogAccount, http: HttpClient) -> Self {
        Self { account, http }
    }

    /// The request for `query` over `scope`'s window: the keys go in sensitive headers,
    /// never in the URL.
    fn request(&self, scope: &CanaryScope, query: &str) -> Result<HttpRequest, SourceError> {
        let mut url = self.account.base_url.clone();
        url.path_segments_mut()
            .map_err(|()| {
                SourceError::Config(format!(
                    "the Datadog URL '{}' cannot have a path",
                    crate::display_url(&self.account.base_url)
                ))
            })?
            .pop_if_empty()
            .extend(["api", "v1", "query"]);
        // Kayenta sends whole epoch seconds (`(int) getEpochSecond()`).
        url.query_pairs_mut()
            .append_pair("from", &scope.start.timestamp().to_string())
            .append_pair("to", &scope.end.timestamp().to_string())
            .append_pair("query", query);
        HttpRequest::get(url)
            .header(
                HeaderName::from_static("dd-api-key"),
                &self.account.api_key,
                true,
            )?
            .header(
                HeaderName::from_static("dd-application-key"),
                &self.account.application_key,
                true,
            )
    }
}

impl Datadog {
    /// Kayenta's `DatadogMetricsService.getMetadata`: the metrics that reported in the
    /// last hour (`GET /api/v1/metrics?from=<now − 3600 s>`), filtered by name. Kayenta
    /// caches this list (Datadog allows 100 listings an hour); kanary asks when asked.
    async fn metric_names(&self, filter: Option<&str>) -> Result<Vec<Value>, SourceError> {
        let mut url = self.account.base_url.clone();
        url.path_segments_mut()
            .map_err(|()| {
                SourceError::Config(format!(
                    "the Datadog URL '{}' cannot have a path",
                    crate::display_url(&self.account.base_url)
                ))
            })?
            .pop_if_empty()
            .extend(["api", "v1", "metrics"]);
        let from = chrono::Utc::now().timestamp() - 3600;
        url.query_pairs_mut().append_pair("from", &from.to_string());
        let request = HttpRequest::get(url.clone())
            .header(
                HeaderName::from_static("dd-api-key"),
                &self.account.api_key,
                true,
            )?
            .header(
                HeaderName::from_static("dd-application-key"),
                &self.account.application_key,
                true,
            )?;
        let session = self
            .http
            .session(Origin::new("datadog", self.account.name.as_str()));
        let response = session.get(&request).await?;
        if !response.is_success() {
            return Err(session
                .origin()
                .status(&url, response.status, error_message(&response)));
        }
        let body: Value = serde_json::from_slice(&response.body).map_err(|e| {
            session
                .origin()
                .bad_response(&url, format!("the body is not JSON ({e})"))
        })?;
        let names = body
            .get("metrics")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                session
                    .origin()
                    .bad_response(&url, "the body has no 'metrics' array")
            })?
            .iter()
            .filter_map(|m| m.as_str().map(str::to_string));
        Ok(crate::source::filter_names(names, filter))
    }
}

impl MetricsSource for Datadog {
    fn service_type(&self) -> &'static str {
        "datadog"
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
        let name = metric.name.as_deref().unwrap_or("");
        let query = crate::source::metric_query(metric)?;
        // DatadogMetricsService.buildQuery: an empty expansion counts as no template.
        let custom = expand_custom_filter(config, query, scope, DATADOG_BASE_ATTRIBUTES)?;
        if let Some(custom) = custom.filter(|c| !c.is_empty()) {
            return Ok(custom);
        }
        // Kayenta would send `null{scope}` here; kanary says what is missing instead.
        let metric_name = query
            .metric_name
            .as_deref()
            .filter(|m| !m.is_empty())
            .ok_or_else(|| {
                SourceError::InvalidQuery(format!(
                    "metric '{name}': a Datadog query needs a metricName (e.g. avg:system.cpu.user) or a customInlineTemplate / customFilterTemplate"
                ))
            })?;
        Ok(format!("{metric_name}{{{}}}", scope.scope))
    }

    fn metadata<'a>(
        &'a self,
        filter: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<Value>, SourceError>> {
        Box::pin(self.metric_names(filter))
    }

    fn query_metrics<'a>(
        &'a self,
        config: &'a CanaryConfig,
        metric: &'a CanaryMetricConfig,
        scope: &'a CanaryScope,
    ) -> BoxFuture<'a, Result<Vec<MetricSet>, SourceError>> {
        Box::pin(async move {
            let query = self.build_query(config, metric, scope)?;
            let request = self.request(scope, &query)?;
            let session = self
                .http
                .session(Origin::new("datadog", self.account.name.as_str()));
            tracing::debug!(
                url = %crate::display_url(&request.url),
                query = %query,
                "querying Datadog"
            );
            let response = session.get(&request).await?;
            let series = read_response(session.origin(), &request.url, &response)?;
            let name = metric.name.clone().unwrap_or_default();
            let attributes = attributes(&query);
            if series.is_empty() {
                // Kayenta's placeholder has the scope's start and end, `stepMillis = 1000`
                // and no values; the mixer pads it to (end − start)/1000 NaNs: 3,600 per
                // hour whatever the real resolution. kanary's placeholder lies on the
                // requested grid (scope start, scope step) instead, all NaN.
                let grid = scope.grid()?;
                return Ok(vec![metric_set(
                    name,
                    &grid,
                    vec![f64::NAN; grid.len()],
                    attributes,
                )]);
            }
            Ok(series
                .into_iter()
                .map(|(grid, values)| metric_set(name.clone(), &grid, values, attributes.clone()))
                .collect())
        })
    }
}

fn attributes(query: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("query".to_string(), query.to_string()),
        (ALIGNED_ATTRIBUTE.to_string(), "true".to_string()),
    ])
}

/// A metric set on `grid`, with Kayenta's end convention (`start + count × step`, so that
/// `expectedDataPoints()` is the number of values) and no tags, as Kayenta sets none.
fn metric_set(
    name: String,
    grid: &TimeGrid,
    values: Vec<f64>,
    attributes: BTreeMap<String, String>,
) -> MetricSet {
    MetricSet {
        name,
        tags: BTreeMap::new(),
        start_time_millis: grid.start_ms(),
        start_time_iso: Some(iso_millis(grid.start_ms())),
        end_time_millis: grid.end_ms(),
        end_time_iso: Some(iso_millis(grid.end_ms())),
        step_millis: grid.step_ms(),
        values,
        attributes,
    }
}

/// The series of a `/api/v1/query` answer, each as its grid and its values; a non-2xx
/// answer, or a 2xx one with `"status": "error"`, is a [`SourceError::Status`] with
/// Datadog's messages.
fn read_response(
    origin: &Origin,
    url: &reqwest::Url,
    response: &HttpResponse,
) -> Result<Vec<(TimeGrid, Vec<f64>)>, SourceError> {
    if !response.is_success() {
        return Err(origin.status(url, response.status, error_message(response)));
    }
    let body: Value = serde_json::from_slice(&response.body).map_err(|e| {
        origin.bad_response(
            url,
            format!(
                "the body is not JSON ({e}): {}",
                response.body_excerpt(EXCERPT_BYTES)
            ),
        )
    })?;
    let Some(body) = body.as_object() else {
        return Err(origin.bad_response(url, "the body is not a JSON object"));
    };
    if body.get("status").and_then(Value::as_str) == Some("error") {
        let message = body
            .get("error")
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| response.body_excerpt(EXCERPT_BYTES));
        return Err(origin.status(url, response.status, message));
    }
    let series = match body.get("series") {
        Some(Value::Array(series)) => series,
        Some(Value::Null) | None => {
            return Err(origin.bad_response(url, "the body has no 'series' array"));
        }
        Some(_) => return Err(origin.bad_response(url, "'series' is not an array")),
    };
    let mut total = 0usize;
    let mut out = Vec::with_capacity(series.len());
    for (i, s) in series.iter().enumerate() {
        let (grid, values) =
            series_values(s).map_err(|e| origin.bad_response(url, format!("series[{i}]{e}")))?;
        total = total.saturating_add(grid.len());
        crate::scope::check_fetch_size(1, total).map_err(|e| origin.bad_response(url, e))?;
        out.push((grid, values));
    }
    Ok(out)
}

/// Datadog's error text: the `errors` array of its error bodies joined with `; `, else
/// the start of the body.
fn error_message(response: &HttpResponse) -> String {
    let joined = serde_json::from_slice::<Value>(&response.body)
        .ok()
        .and_then(|v| {
            let errors = v.get("errors")?.as_array()?;
            let texts: Vec<String> = errors
                .iter()
                .map(|e| match e {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            Some(texts.join("; "))
        })
        .filter(|m| !m.is_empty());
    joined.unwrap_or_else(|| response.body_excerpt(EXCERPT_BYTES))
}

/// One series on its grid: Kayenta's walk `t = start; t <= end; t += interval·1000`.
///
/// Kayenta emits a point's value only when its timestamp equals the walk's `t` exactly,
/// so one point off the walk stops every later point from matching and the rest of the
/// series turns NaN. kanary places each point at the nearest instant within half an
/// interval ([`TimeGrid::place`]), which gives the same values as Kayenta on every
/// on-grid series. Errors start with the field path after `series[i]`.
fn series_values(series: &Value) -> Result<(TimeGrid, Vec<f64>), String> {
    let start = epoch_ms(series, "start")?;
    let end = epoch_ms(series, "end")?;
    let interval = match series.get("interval") {
        None | Some(Value::Null) => return Err(" has no 'interval'".to_string()),
        Some(v) => v
            .as_f64()
            .ok_or_else(|| format!(".interval is {v}, not a number of seconds"))?,
    };
    let step_ms = (interval * 1000.0).round();
    if !(1.0..=MAX_ABS_EPOCH_MS).contains(&step_ms) {
        return Err(format!(
            ".interval is {interval}; it must be a positive number of seconds"
        ));
    }
    let step_ms = step_ms as i64;
    if end < start {
        return Err(format!(
            ".end ({}) is before its start ({})",
            iso_millis(end),
            iso_millis(start)
        ));
    }
    let grid = TimeGrid::inclusive(start, end, step_ms).map_err(|e| format!(": {e}"))?;
    let points = match series.get("pointlist") {
        Some(Value::Array(points)) => points.as_slice(),
        // A series without points is all NaN, like Kayenta's walk over an empty list.
        None | Some(Value::Null) => &[],
        Some(_) => return Err(".pointlist is not an array".to_string()),
    };
    let mut placed = Vec::with_capacity(points.len());
    for (k, point) in points.iter().enumerate() {
        let pair = point
            .as_array()
            .filter(|p| p.len() >= 2)
            .ok_or_else(|| format!(".pointlist[{k}] is {point}, not [timestamp, value]"))?;
        let t = pair[0]
            .as_f64()
            .filter(|t| t.is_finite() && t.abs() <= MAX_ABS_EPOCH_MS)
            .ok_or_else(|| {
                format!(
                    ".pointlist[{k}] timestamp is {}, not epoch milliseconds",
                    pair[0]
                )
            })?;
        let v = match &pair[1] {
            // DatadogTimeSeries: a null value is NaN; NaN is already the default.
            Value::Null => continue,
            v => v
                .as_f64()
                .ok_or_else(|| format!(".pointlist[{k}] value is {v}, not a number or null"))?,
        };
        placed.push((t.round() as i64, v));
    }
    Ok((grid, grid.place(placed)))
}

/// A required epoch-millisecond field of a series.
fn epoch_ms(series: &Value, field: &str) -> Result<i64, String> {
    match series.get(field) {
        None | Some(Value::Null) => Err(format!(" has no '{field}'")),
        Some(v) => v
            .as_f64()
            .filter(|t| t.is_finite() && t.abs() <= MAX_ABS_EPOCH_MS)
            .map(|t| t.round() as i64)
            .ok_or_else(|| format!(".{field} is {v}, not epoch milliseconds")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(series: Value) -> Result<Vec<f64>, String> {
        series_values(&series).map(|(_, v)| v)
    }

    fn same(actual: &[f64], expected: &[f64]) -> bool {
        actual.len() == expected.len()
            && actual
                .iter()
                .zip(expected)
                .all(|(a, e)| a == e || (a.is_nan() && e.is_nan()))
    }

    #[test]
    fn kayenta_time_series_vectors() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../testdata/kayenta_vectors/datadog_time_series.json"
        );
        let text = std::fs::read_to_string(path).expect("vector file");
        let vectors: Vec<Value> = serde_json::from_str(&text).expect("vectors");
        assert_eq!(vectors.len(), 2);
        for v in vectors {
            let expected: Vec<f64> = v["expected"]["values"]
                .as_array()
                .expect("values")
                .iter()
                .map(|x| x.as_f64().unwrap_or(f64::NAN))
                .collect();
            let (grid, actual) = series_values(&v["input"]["series"]).expect("parses");
            assert!(same(&actual, &expected), "{}: {actual:?}", v["name"]);
            assert_eq!(grid.step_ms(), 5_000);
            assert_eq!(grid.start_ms(), 1_620_785_040_000);
            // Kayenta's end convention: expectedDataPoints() equals the count.
            assert_eq!(grid.end_ms(), 1_620_785_040_000 + 11 * 5_000);
        }
    }

    #[test]
    fn a_jittered_point_does_not_shift_the_rest_into_nan() {
        // Kayenta's exact-match walk would give [1, NaN, NaN, NaN].
        let v = values(json!({"start": 0, "end": 180_000, "interval": 60,
            "pointlist": [[0.0, 1.0], [60_250.0, 2.0], [120_000.0, 3.0], [179_990, 4]]}))
        .expect("parses");
        assert!(same(&v, &[1.0, 2.0, 3.0, 4.0]), "{v:?}");
    }

    #[test]
    fn points_off_the_window_are_ignored() {
        let v = values(json!({"start": 60_000, "end": 120_000, "interval": 60,
            "pointlist": [[0, 9.0], [60_000, 1.0], [300_000, 9.0]]}))
        .expect("parses");
        assert!(same(&v, &[1.0, f64::NAN]), "{v:?}");
    }

    #[test]
    fn bad_series_are_errors_naming_the_field() {
        let cases = [
            (
                json!({"start": 0, "end": 10, "interval": 0, "pointlist": []}),
                ".interval is 0",
            ),
            (
                json!({"start": 0, "end": 10, "pointlist": []}),
                "has no 'interval'",
            ),
            (
                json!({"start": 0, "end": 10, "interval": -5}),
                ".interval is -5",
            ),
            (
                json!({"start": 0, "end": 10, "interval": "60"}),
                ".interval is \"60\"",
            ),
            (
                json!({"start": 10_000, "end": 0, "interval": 1}),
                ".end (1970-01-01T00:00:00Z) is before its start",
            ),
            (json!({"end": 0, "interval": 1}), "has no 'start'"),
            (
                json!({"start": 0, "end": 1e300, "interval": 1}),
                ".end is 1e+300",
            ),
            (
                json!({"start": 0, "end": 86_400_000_000i64, "interval": 1}),
                "at most 1000000 points",
            ),
            (
                json!({"start": 0, "end": 0, "interval": 1, "pointlist": [[0, "1.5"]]}),
                ".pointlist[0] value is \"1.5\", not a number or null",
            ),
            (
                json!({"start": 0, "end": 0, "interval": 1, "pointlist": [[0]]}),
                ".pointlist[0] is [0], not [timestamp, value]",
            ),
            (
                json!({"start": 0, "end": 0, "interval": 1, "pointlist": [[null, 1]]}),
                ".pointlist[0] timestamp is null",
            ),
            (
                json!({"start": 0, "end": 0, "interval": 1, "pointlist": {}}),
                ".pointlist is not an array",
            ),
        ];
        for (series, expected) in cases {
            let e = series_values(&series).expect_err("must fail");
            assert!(e.contains(expected), "{series}: {e}");
        }
    }

    #[test]
    fn a_series_without_points_is_all_nan() {
        let v = values(json!({"start": 0, "end": 120_000, "interval": 60, "pointlist": []}))
            .expect("parses");
        assert_eq!(v.len(), 3);
        assert!(v.iter().all(|x| x.is_nan()));
    }

    #[test]
    fn requests_keep_the_keys_out_of_the_url_and_debug_output() {
        let account = DatadogAccount::new(
            "dd",
            "https://api.datadoghq.com/",
            "api-secret-123",
            "app-secret-456",
        )
        .expect("account");
        let source = Datadog::new(account.clone(), HttpClient::reqwest().expect("client"));
        let start = "2026-11-30T10:00:00Z".parse().expect("time");
        let end = "2026-11-30T11:00:00Z".parse().expect("time");
        let scope = CanaryScope::new("autoscaling_group:web-canary", start, end, 60);
        let request = source
            .request(&scope, "avg:system.cpu.user{autoscaling_group:web-canary}")
            .expect("request");
        assert_eq!(
            request.url.as_str(),
            "https://api.datadoghq.com/api/v1/query?from=1796032800&to=1796036400&query=avg%3Asystem.cpu.user%7Bautoscaling_group%3Aweb-canary%7D"
        );
        assert_eq!(
            request.headers.get(API_KEY_HEADER).map(|v| v.as_bytes()),
            Some(&b"api-secret-123"[..])
        );
        assert_eq!(
            request
                .headers
                .get(APPLICATION_KEY_HEADER)
                .map(|v| v.as_bytes()),
            Some(&b"app-secret-456"[..])
        );
        let shown = format!("{request:?} {account:?} {source:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }

    #[test]
    fn a_base_url_with_a_path_keeps_it() {
        let account =
            DatadogAccount::new("dd", "http://127.0.0.1:1/proxy/dd/", "a", "b").expect("account");
        let source = Datadog::new(account, HttpClient::reqwest().expect("client"));
        let t = "2026-11-30T10:00:00Z".parse().expect("time");
        let request = source
            .request(&CanaryScope::new("s", t, t, 60), "q")
            .expect("request");
        assert_eq!(request.url.path(), "/proxy/dd/api/v1/query");
    }

    #[test]
    fn accounts_need_an_http_url() {
        assert!(matches!(
            DatadogAccount::new("dd", "ftp://example.com", "a", "b"),
            Err(SourceError::Config(_))
        ));
        assert!(matches!(
            DatadogAccount::new("dd", "not a url", "a", "b"),
            Err(SourceError::Config(_))
        ));
    }
}
