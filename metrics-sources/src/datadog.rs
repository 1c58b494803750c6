//! Datadog (`GET /api/v1/query`), as Kayenta's `kayenta-datadog`.
//!
//! SCAFFOLD: the types and constructors below are the fixed public API; the query
//! building, response parsing and tests are being written.

use kanary_judge::{CanaryConfig, CanaryMetricConfig, MetricSet};

use crate::http::BoxFuture;
use crate::{CanaryScope, HttpClient, MetricsSource, SourceError};

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
                "the Datadog URL '{base_url}' is not a valid URL: {e}"
            ))
        })?;
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
        _config: &CanaryConfig,
        _metric: &CanaryMetricConfig,
        _scope: &CanaryScope,
    ) -> Result<String, SourceError> {
        Err(SourceError::Config(
            "Datadog queries are not built yet".into(),
        ))
    }

    fn query_metrics<'a>(
        &'a self,
        _config: &'a CanaryConfig,
        _metric: &'a CanaryMetricConfig,
        _scope: &'a CanaryScope,
    ) -> BoxFuture<'a, Result<Vec<MetricSet>, SourceError>> {
        let _ = (
            &self.http,
            &self.account.api_key,
            &self.account.application_key,
        );
        Box::pin(async { Err(SourceError::Config("Datadog is not wired yet".into())) })
    }
}
