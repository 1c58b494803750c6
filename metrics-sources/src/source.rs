//! The provider trait, and fetching every metric of a config for a control and an
//! experiment scope into metric-set pairs.

use std::collections::BTreeMap;

use futures_util::{StreamExt, TryStreamExt, stream};
use kanary_judge::{CanaryConfig, CanaryMetricConfig, MetricQuery, MetricSet, MetricSetPair};
use tracing::Instrument;

use crate::http::BoxFuture;
use crate::{CanaryScope, CanaryScopePair, SourceError, mixer};

/// A metrics store (Kayenta's `MetricsService`): builds a query for a metric and a scope,
/// and fetches it as metric sets.
pub trait MetricsSource: Send + Sync {
    /// Kayenta's service type: `prometheus`, `datadog` or `stackdriver`.
    fn service_type(&self) -> &'static str;

    /// The metrics account's name (errors and logs name it).
    fn account(&self) -> &str;

    /// The query text for `metric` over `scope` (Kayenta's `buildQuery`, used for dry
    /// runs and stored as the metric set's `query` attribute).
    fn build_query(
        &self,
        config: &CanaryConfig,
        metric: &CanaryMetricConfig,
        scope: &CanaryScope,
    ) -> Result<String, SourceError>;

    /// The most points the store returns per series, if it has a limit (Prometheus: 11,001),
    /// so that a long analysis can refuse a window that will not fit before it starts.
    fn max_points_per_series(&self) -> Option<usize> {
        None
    }

    /// Fetches `metric` over `scope` (Kayenta's `queryMetrics`): one metric set per
    /// series, named after the metric, on the scope's time grid with
    /// `attributes.aligned = "true"`; a single placeholder set (no tags) when the store
    /// has no series.
    fn query_metrics<'a>(
        &'a self,
        config: &'a CanaryConfig,
        metric: &'a CanaryMetricConfig,
        scope: &'a CanaryScope,
    ) -> BoxFuture<'a, Result<Vec<MetricSet>, SourceError>>;

    /// Metric descriptors for a UI (Kayenta's `MetricsService.getMetadata`, served by
    /// `GET /metadata/metricsService`): those whose name contains `filter`, ignoring
    /// case, or all of them without a filter. Empty for a store that cannot list them.
    fn metadata<'a>(
        &'a self,
        filter: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<serde_json::Value>, SourceError>> {
        let _ = filter;
        Box::pin(std::future::ready(Ok(Vec::new())))
    }
}

/// How [`fetch_pairs`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchOptions {
    /// Queries in flight at once (at least 1).
    pub concurrency: usize,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self { concurrency: 8 }
    }
}

/// The scope name a metric uses when it names none.
pub const DEFAULT_SCOPE_NAME: &str = "default";

/// Fetches every metric of `config` for both scopes of its `scopeName` (default
/// `default`), at most `options.concurrency` queries at a time, and pairs them with the
/// mixer, in config order. The first failure (in config order) is returned.
pub async fn fetch_pairs(
    source: &dyn MetricsSource,
    config: &CanaryConfig,
    scopes: &BTreeMap<String, CanaryScopePair>,
    options: FetchOptions,
) -> Result<Vec<MetricSetPair>, SourceError> {
    let mut jobs = Vec::with_capacity(config.metrics.len() * 2);
    let mut names = Vec::with_capacity(config.metrics.len());
    for (i, metric) in config.metrics.iter().enumerate() {
        let name = metric
            .name
            .as_deref()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| SourceError::InvalidQuery(format!("metrics[{i}].name is required")))?;
        if metric.query.is_none() {
            return Err(SourceError::InvalidQuery(format!(
                "metrics[{i}] ('{name}') has no query"
            )));
        }
        let scope_name = metric
            .scope_name
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(DEFAULT_SCOPE_NAME);
        let pair = scopes.get(scope_name).ok_or_else(|| {
            SourceError::InvalidQuery(format!(
                "metric '{name}' uses the scope '{scope_name}', but no such scope was given"
            ))
        })?;
        names.push(name.to_string());
        jobs.push((true, name, metric, &pair.control_scope));
        jobs.push((false, name, metric, &pair.experiment_scope));
    }
    // The futures are built before they enter the stream (they start only when polled):
    // a closure inside the stream type makes this future not `Send` for callers that
    // spawn it (rustc cannot prove the closure general over the references' lifetimes,
    // rust#102211), and the service runs fetches on spawned tasks.
    let queries: Vec<_> = jobs
        .into_iter()
        .map(|(is_control, name, metric, scope)| {
            let span = tracing::info_span!(
                "query",
                service = source.service_type(),
                account = source.account(),
                metric = name,
                side = if is_control { "control" } else { "experiment" },
                scope = %scope.scope,
            );
            async move {
                let mut sets = source.query_metrics(config, metric, scope).await?;
                for s in &mut sets {
                    if s.name.is_empty() {
                        s.name = name.to_string();
                    }
                }
                tracing::debug!(series = sets.len(), "fetched");
                Ok::<_, SourceError>((is_control, sets))
            }
            .instrument(span)
        })
        .collect();
    let results: Vec<(bool, Vec<MetricSet>)> = stream::iter(queries)
        .buffered(options.concurrency.max(1))
        .try_collect()
        .await?;
    let mut control = Vec::new();
    let mut experiment = Vec::new();
    for (is_control, sets) in results {
        if is_control {
            control.extend(sets);
        } else {
            experiment.extend(sets);
        }
    }
    mixer::mix_all(&names, &control, &experiment)
}

/// The metric's query, or an error naming the metric.
pub(crate) fn metric_query(metric: &CanaryMetricConfig) -> Result<&MetricQuery, SourceError> {
    metric.query.as_ref().ok_or_else(|| {
        SourceError::InvalidQuery(format!(
            "metric '{}' has no query",
            metric.name.as_deref().unwrap_or("")
        ))
    })
}

/// `Some` only for a non-empty string (Spring's `StringUtils.hasText` for our purposes).
pub(crate) fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

/// Kayenta's metadata filter: the names that contain `filter` ignoring case (all of them
/// without a filter), as `{"name": ...}` descriptors.
pub(crate) fn filter_names(
    names: impl IntoIterator<Item = String>,
    filter: Option<&str>,
) -> Vec<serde_json::Value> {
    let filter = filter
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_lowercase);
    names
        .into_iter()
        .filter(|n| {
            filter
                .as_deref()
                .is_none_or(|f| n.to_lowercase().contains(f))
        })
        .map(|n| serde_json::json!({ "name": n }))
        .collect()
}
