//! Google Cloud Monitoring (Stackdriver) `projects.timeSeries.list`, as Kayenta's
//! `kayenta-stackdriver`, read to the last page.
//!
//! - The filter is Kayenta's `StackdriverMetricsService.buildQuery` (see `filter.rs`).
//! - The request is `GET <base>/v3/projects/<account project>/timeSeries` with Kayenta's
//!   parameters; unlike Kayenta, which reads the first page only, every page is read by
//!   following `nextPageToken`.
//! - Every series is put on the requested grid, with `attributes.aligned = "true"`: the
//!   grid starts at the scope start and has `ceil((end − start) / step)` instants (Kayenta's
//!   expected point count, covering `[start, end)`; `endTimeMillis = start + len·step`).
//!   Google stamps each aligned point with the *end* of its alignment period, and counts
//!   the periods back from the request's `interval.endTime`; the point of the period that
//!   ends at `start + (k+1)·step` (when the window is a whole number of steps) goes to
//!   index `k`, the instant where that period begins. A period without a point is NaN
//!   (Kayenta lists the points it gets, so a gap shifts all later values).
//! - Values: `int64Value` (a JSON string per the proto3 mapping, or a number) for `INT64`,
//!   `doubleValue` (a number, or `"NaN"`/`"Infinity"`/`"-Infinity"`) for `DOUBLE`, the
//!   field the point has when `valueType` is missing; `BOOL`, `STRING`, `DISTRIBUTION`
//!   and `MONEY` are an error that names the aligners that turn them into numbers (Kayenta
//!   reads nulls from them).
//! - Tags are the resource labels without `project_id` (Kayenta's stated intent) plus
//!   the metric labels. No series at all gives one placeholder: no tags, NaN on the grid.
//! - Tokens come from a bearer token or a service-account key exchanged at its
//!   `token_uri` with the OAuth2 JWT-bearer flow (`gcp_auth`), cached until shortly before
//!   expiry and shared by concurrent queries.

mod auth;
mod filter;
mod response;

use std::collections::HashSet;
use std::path::PathBuf;

use kanary_judge::{CanaryConfig, CanaryMetricConfig, MetricSet};
use reqwest::header::AUTHORIZATION;

use crate::http::{BoxFuture, HttpRequest, HttpResponse};
use crate::source::{metric_query, non_empty};
use crate::{CanaryScope, HttpClient, MetricsSource, Origin, SourceError};

use auth::Auth;
use response::{ListPage, Shape};

pub use auth::MONITORING_READ_SCOPE;

/// The service type, as Kayenta names it.
const SERVICE: &str = "stackdriver";

/// The most pages one fetch reads. A canary window at one-minute alignment has a few
/// hundred points per series, and Google pages by series; a thousand pages means the
/// filter matches far more series than a canary can pair, or the server loops.
pub const MAX_PAGES: usize = 1000;

/// The public Cloud Monitoring API.
pub const DEFAULT_BASE_URL: &str = "https://monitoring.googleapis.com";

/// How kanary gets an access token.
#[derive(Clone)]
pub enum StackdriverCredentials {
    /// A service-account key file (Kayenta's `jsonPath`), exchanged for access tokens at
    /// its `token_uri`.
    ServiceAccountKey(PathBuf),
    /// A ready access token (`KANARY_STACKDRIVER_TOKEN`, or a file's trimmed content).
    BearerToken(String),
}

impl std::fmt::Debug for StackdriverCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StackdriverCredentials::ServiceAccountKey(p) => {
                f.debug_tuple("ServiceAccountKey").field(p).finish()
            }
            StackdriverCredentials::BearerToken(_) => f.write_str("BearerToken(<redacted>)"),
        }
    }
}

/// A Google metrics account (Kayenta's `kayenta.google.accounts[]`).
#[derive(Clone)]
pub struct StackdriverAccount {
    /// Account name.
    pub name: String,
    /// The project whose metrics are read (`projects/<project>`).
    pub project: String,
    /// API base URL (default [`DEFAULT_BASE_URL`]), without a trailing `/`.
    pub base_url: reqwest::Url,
    /// Credentials.
    pub credentials: StackdriverCredentials,
}

impl std::fmt::Debug for StackdriverAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackdriverAccount")
            .field("name", &self.name)
            .field("project", &self.project)
            .field("base_url", &crate::display_url(&self.base_url))
            .field("credentials", &self.credentials)
            .finish()
    }
}

impl StackdriverAccount {
    /// An account; `base_url` must be an absolute http(s) URL (a trailing `/` is removed);
    /// `project` must not be empty.
    pub fn new(
        name: impl Into<String>,
        base_url: &str,
        project: impl Into<String>,
        credentials: StackdriverCredentials,
    ) -> Result<Self, SourceError> {
        let base_url = reqwest::Url::parse(base_url.trim_end_matches('/')).map_err(|e| {
            SourceError::Config(format!(
                "the Stackdriver URL '{}' is not a valid URL: {e}",
                crate::error::redact_url_text(base_url)
            ))
        })?;
        let project = project.into();
        if project.is_empty() {
            return Err(SourceError::Config(
                "a Stackdriver account needs a project".into(),
            ));
        }
        Ok(Self {
            name: name.into(),
            project,
            base_url,
            credentials,
        })
    }
}

/// The Cloud Monitoring metrics source.
#[derive(Debug, Clone)]
pub struct Stackdriver {
    account: StackdriverAccount,
    http: HttpClient,
    auth: Auth,
}

impl Stackdriver {
    /// A source for `account` over `http`. A key file is read here, so a missing or
    /// malformed file is an error naming it.
    pub fn new(account: StackdriverAccount, http: HttpClient) -> Result<Self, SourceError> {
        let auth = Auth::new(&account.credentials)?;
        Ok(Self {
            account,
            http,
            auth,
        })
    }

    fn origin(&self) -> Origin {
        Origin::new(SERVICE, self.account.name.clone())
    }

    /// `<base>/v3/projects/<account project>/timeSeries`. Kayenta lists in the account's
    /// project even when the scope names another one (that one only enters the filter).
    fn list_url(&self) -> Result<reqwest::Url, SourceError> {
        self.project_url("timeSeries")
    }

    /// `<base>/v3/projects/<account project>/<collection>`.
    fn project_url(&self, collection: &str) -> Result<reqwest::Url, SourceError> {
        let mut url = self.account.base_url.clone();
        url.path_segments_mut()
            .map_err(|_| {
                SourceError::Config(format!(
                    "the Stackdriver URL '{}' cannot have a path",
                    crate::display_url(&self.account.base_url)
                ))
            })?
            .pop_if_empty()
            .extend(["v3", "projects", self.account.project.as_str(), collection]);
        Ok(url)
    }

    /// Every item of a Google list call, page by page (`pageToken` from each page's
    /// `nextPageToken`), at most [`MAX_PAGES`] pages; `check` sees the running count after
    /// each page and may stop the listing with a reason. A repeated token is an error
    /// (the listing would never end).
    async fn list_all<P: response::Paged>(
        &self,
        url: &reqwest::Url,
        what: &str,
        check: impl Fn(usize) -> Result<(), String>,
    ) -> Result<Vec<P::Item>, SourceError> {
        let origin = self.origin();
        let session = self.http.session(origin.clone());
        let token_timeout = self.http.policy().request_timeout;
        let mut items = Vec::new();
        let mut page_token: Option<String> = None;
        let mut seen_tokens = HashSet::new();
        let mut pages = 0usize;
        loop {
            pages += 1;
            let mut page_url = url.clone();
            if let Some(token) = &page_token {
                page_url.query_pairs_mut().append_pair("pageToken", token);
            }
            if pages > MAX_PAGES {
                return Err(origin.bad_response(
                    &page_url,
                    format!(
                        "more than {MAX_PAGES} pages of {what}; narrow the filter or group by fewer fields"
                    ),
                ));
            }
            let authorization = self.auth.authorization(&origin, token_timeout).await?;
            let request =
                HttpRequest::get(page_url.clone()).header(AUTHORIZATION, &authorization, true)?;
            let response = session.get(&request).await?;
            if !response.is_success() {
                if response.status == 401 {
                    // A revoked or expired token: the next query gets a fresh one.
                    self.auth.invalidate().await;
                }
                return Err(origin.status(
                    &page_url,
                    response.status,
                    google_error_message(&response),
                ));
            }
            let page: P = serde_json::from_slice(&response.body).map_err(|e| {
                origin.bad_response(
                    &page_url,
                    format!("the body is not a {} response: {e}", P::METHOD),
                )
            })?;
            let (page_items, next) = page.into_parts();
            items.extend(page_items);
            check(items.len()).map_err(|detail| origin.bad_response(&page_url, detail))?;
            match next.filter(|t| !t.is_empty()) {
                None => break,
                Some(token) => {
                    if !seen_tokens.insert(token.clone()) {
                        return Err(origin.bad_response(
                            &page_url,
                            format!(
                                "page {pages} repeats an earlier nextPageToken; the listing would never end"
                            ),
                        ));
                    }
                    page_token = Some(token);
                }
            }
        }
        tracing::debug!(pages, items = items.len(), "listed Stackdriver {what}");
        Ok(items)
    }

    /// Kayenta's metadata for Cloud Monitoring: the project's metric descriptors
    /// (`projects.metricDescriptors.list`, every page), as Google returns them, those whose
    /// `type` contains `filter` (case-insensitive) when one is given.
    async fn metric_descriptors(
        &self,
        filter: Option<&str>,
    ) -> Result<Vec<serde_json::Value>, SourceError> {
        let url = self.project_url("metricDescriptors")?;
        let descriptors = self
            .list_all::<response::DescriptorPage>(&url, "metric descriptors", |_| Ok(()))
            .await?;
        let filter = filter
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_lowercase);
        Ok(descriptors
            .into_iter()
            .filter(|d| {
                filter.as_deref().is_none_or(|f| {
                    d.get("type")
                        .and_then(serde_json::Value::as_str)
                        .is_some_and(|t| t.to_lowercase().contains(f))
                })
            })
            .collect())
    }
}

/// `message (STATUS)` from Google's error body `{"error": {"code", "message", "status"}}`,
/// else the start of the body.
fn google_error_message(response: &HttpResponse) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(&response.body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let message = error
        .and_then(|e| e.get("message"))
        .and_then(|m| m.as_str())
        .filter(|m| !m.is_empty());
    let status = error
        .and_then(|e| e.get("status"))
        .and_then(|s| s.as_str())
        .filter(|s| !s.is_empty());
    match (message, status) {
        (Some(m), Some(s)) => format!("{m} ({s})"),
        (Some(m), None) => m.to_string(),
        _ => {
            let excerpt = response.body_excerpt(300);
            if excerpt.is_empty() {
                "(empty body)".to_string()
            } else {
                excerpt
            }
        }
    }
}

impl MetricsSource for Stackdriver {
    fn service_type(&self) -> &'static str {
        SERVICE
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
        filter::build_filter(config, metric, scope, &self.account.project)
    }

    fn metadata<'a>(
        &'a self,
        filter: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<serde_json::Value>, SourceError>> {
        Box::pin(self.metric_descriptors(filter))
    }

    fn query_metrics<'a>(
        &'a self,
        config: &'a CanaryConfig,
        metric: &'a CanaryMetricConfig,
        scope: &'a CanaryScope,
    ) -> BoxFuture<'a, Result<Vec<MetricSet>, SourceError>> {
        Box::pin(async move {
            let query = metric_query(metric)?;
            let filter = self.build_query(config, metric, scope)?;
            // Kayenta: the query's value, else the scope's, else the default.
            let aligner = non_empty(query.per_series_aligner.as_deref())
                .or_else(|| scope.param("perSeriesAligner"))
                .unwrap_or("ALIGN_MEAN");
            let reducer = non_empty(query.cross_series_reducer.as_deref())
                .or_else(|| scope.param("crossSeriesReducer"))
                .unwrap_or("REDUCE_MEAN");
            let start_ms = scope.start.timestamp_millis();
            let end_ms = scope.end.timestamp_millis();
            let grid = response::grid(start_ms, end_ms, scope.step.saturating_mul(1000))?;
            let shape = Shape {
                name: metric.name(),
                grid,
                end_ms,
                attributes: response::attributes(&filter, reducer, aligner),
            };

            let mut url = self.list_url()?;
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("filter", &filter)
                    .append_pair("interval.startTime", &crate::scope::iso(&scope.start))
                    .append_pair("interval.endTime", &crate::scope::iso(&scope.end))
                    .append_pair("aggregation.alignmentPeriod", &format!("{}s", scope.step))
                    .append_pair("aggregation.perSeriesAligner", aligner)
                    .append_pair("aggregation.crossSeriesReducer", reducer);
                for field in query.group_by_fields.iter().flatten() {
                    q.append_pair("aggregation.groupByFields", field);
                }
            }

            let grid_len = shape.grid.len();
            let series: Vec<response::TimeSeries> = self
                .list_all::<ListPage>(&url, "time series", |n| {
                    crate::scope::check_fetch_size(n, grid_len)
                })
                .await?;
            let origin = self.origin();

            if series.is_empty() {
                // Kayenta adds one empty placeholder series; here it lies on the grid.
                return Ok(vec![shape.placeholder()]);
            }
            series
                .into_iter()
                .enumerate()
                .map(|(i, ts)| {
                    shape
                        .series(i, ts)
                        .map_err(|detail| origin.bad_response(&url, detail))
                })
                .collect()
        })
    }
}
