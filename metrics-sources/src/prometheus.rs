//! Prometheus (`GET /api/v1/query_range`), as Kayenta's `kayenta-prometheus`.
//!
//! SCAFFOLD: the types and constructors below are the fixed public API; the query
//! building, response parsing and tests are being written.

use kanary_judge::{CanaryConfig, CanaryMetricConfig, MetricSet};

use crate::http::BoxFuture;
use crate::{CanaryScope, HttpClient, MetricsSource, SourceError};

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
                "the Prometheus URL '{base_url}' is not a valid URL: {e}"
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
        _config: &CanaryConfig,
        _metric: &CanaryMetricConfig,
        _scope: &CanaryScope,
    ) -> Result<String, SourceError> {
        Err(SourceError::Config(
            "Prometheus queries are not built yet".into(),
        ))
    }

    fn query_metrics<'a>(
        &'a self,
        _config: &'a CanaryConfig,
        _metric: &'a CanaryMetricConfig,
        _scope: &'a CanaryScope,
    ) -> BoxFuture<'a, Result<Vec<MetricSet>, SourceError>> {
        let _ = &self.http;
        Box::pin(async { Err(SourceError::Config("Prometheus is not wired yet".into())) })
    }
}
