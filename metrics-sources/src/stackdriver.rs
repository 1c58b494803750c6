//! Google Cloud Monitoring (Stackdriver) `projects.timeSeries.list`, as Kayenta's
//! `kayenta-stackdriver`, read to the last page.
//!
//! SCAFFOLD: the types and constructors below are the fixed public API; the filter
//! building, auth, paging, response parsing and tests are being written.

use std::path::PathBuf;

use kanary_judge::{CanaryConfig, CanaryMetricConfig, MetricSet};

use crate::http::BoxFuture;
use crate::{CanaryScope, HttpClient, MetricsSource, SourceError};

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
#[derive(Debug, Clone)]
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
                "the Stackdriver URL '{base_url}' is not a valid URL: {e}"
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
}

impl Stackdriver {
    /// A source for `account` over `http`. A key file is read here, so a missing or
    /// malformed file is an error naming it.
    pub fn new(account: StackdriverAccount, http: HttpClient) -> Result<Self, SourceError> {
        Ok(Self { account, http })
    }
}

impl MetricsSource for Stackdriver {
    fn service_type(&self) -> &'static str {
        "stackdriver"
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
            "Stackdriver filters are not built yet".into(),
        ))
    }

    fn query_metrics<'a>(
        &'a self,
        _config: &'a CanaryConfig,
        _metric: &'a CanaryMetricConfig,
        _scope: &'a CanaryScope,
    ) -> BoxFuture<'a, Result<Vec<MetricSet>, SourceError>> {
        let _ = &self.http;
        Box::pin(async { Err(SourceError::Config("Stackdriver is not wired yet".into())) })
    }
}
