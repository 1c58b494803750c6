//! Kayenta-compatible metric sources for canary analysis.
//!
//! `kanary-metrics-sources` fetches the baseline (control) and canary (experiment) series
//! of every metric of a canary config from Prometheus, Datadog or Google Cloud Monitoring
//! (Stackdriver), builds the queries exactly as Kayenta does (label bindings, custom filter
//! templates, `PromQL:` queries, resource types), retries as Kayenta does, and pairs the
//! series with Kayenta's mixer into the `MetricSetPair` list that `kanary-judge` reads.
//!
//! Where kanary improves on Kayenta it says so: every fetched series lies on a regular
//! time grid (one value per step, NaN where the store has no sample, and
//! `attributes.aligned = "true"`): the requested one for Prometheus and Cloud Monitoring,
//! the rollup Datadog chose for Datadog. Cloud Monitoring is read to its last page.
//!
//! ```no_run
//! use std::collections::BTreeMap;
//! use kanary_judge::CanaryConfig;
//! use kanary_metrics_sources::{CanaryScope, CanaryScopePair, FetchOptions, HttpClient, fetch_pairs};
//! use kanary_metrics_sources::prometheus::{Prometheus, PrometheusAccount};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config: CanaryConfig = serde_json::from_str(r#"{"metrics": [{"name": "cpu",
//!     "query": {"type": "prometheus", "metricName": "cpu_seconds",
//!               "customInlineTemplate": "PromQL:avg(rate(cpu_seconds{pod=~\"${scope}-.*\"}[1m]))"},
//!     "groups": ["system"], "analysisConfigurations": {"canary": {}}}]}"#)?;
//! let account = PrometheusAccount::new("prometheus", "http://127.0.0.1:9090")?;
//! let source = Prometheus::new(account, HttpClient::reqwest()?);
//! let start = "2026-11-30T10:00:00Z".parse()?;
//! let end = "2026-11-30T11:00:00Z".parse()?;
//! let mut scopes = BTreeMap::new();
//! scopes.insert("default".to_string(), CanaryScopePair {
//!     control_scope: CanaryScope::new("web-baseline", start, end, 60),
//!     experiment_scope: CanaryScope::new("web-canary", start, end, 60),
//! });
//! let pairs = fetch_pairs(&source, &config, &scopes, FetchOptions::default()).await?;
//! assert!(pairs.iter().all(|p| p.is_aligned()));
//! # Ok(()) }
//! ```

mod error;
pub mod http;
pub mod mixer;
pub mod scope;
mod source;
pub mod template;

pub mod datadog;
pub mod prometheus;
pub mod stackdriver;

pub use error::{Origin, SourceError, display_url};
pub use http::{HttpClient, RetryPolicy, RetryableStatuses};
pub use scope::{CanaryScope, CanaryScopePair, TimeGrid};
pub use source::{DEFAULT_SCOPE_NAME, FetchOptions, MetricsSource, fetch_pairs};
