//! The service's accounts: metrics accounts (a [`MetricsSource`] each) and the names that
//! storage and configuration accounts may use.
//!
//! kanary has one store of its own: the storage and configuration account names declared
//! in `--accounts` (Kayenta's `kayenta.yml`) are aliases of it, and when none are declared
//! any name is accepted, so that an Argo Rollouts template written for Kayenta works
//! unchanged.

use std::sync::Arc;

use kanary_metrics_sources::MetricsSource;
use serde_json::Value;

/// One metrics account.
#[derive(Clone)]
pub struct MetricsAccount {
    /// The account name (`metricsAccountName`).
    pub name: String,
    /// `prometheus`, `datadog` or `stackdriver`.
    pub kind: &'static str,
    /// The source.
    pub source: Arc<dyn MetricsSource>,
    /// What `/credentials` shows besides name and type (`endpoint`, `project`, ...):
    /// never a secret.
    pub public: Value,
}

impl std::fmt::Debug for MetricsAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsAccount")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// Every account of the service.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    /// Metrics accounts, in declaration order (the first is the default).
    pub metrics: Vec<MetricsAccount>,
    /// Declared storage (object store) account names: aliases of kanary's store.
    pub storage: Vec<String>,
    /// Declared configuration store account names: aliases of kanary's store.
    pub configuration: Vec<String>,
}

impl Accounts {
    /// One Prometheus metrics account named `prometheus` (`--prometheus-url` alone).
    pub fn prometheus(url: &str) -> Result<Accounts, String> {
        use kanary_metrics_sources::HttpClient;
        use kanary_metrics_sources::prometheus::{Prometheus, PrometheusAccount};
        let account = PrometheusAccount::new("prometheus", url).map_err(|e| e.to_string())?;
        let endpoint = kanary_metrics_sources::display_url(&account.base_url);
        let http = HttpClient::reqwest().map_err(|e| e.to_string())?;
        Ok(Accounts {
            metrics: vec![MetricsAccount {
                name: "prometheus".into(),
                kind: "prometheus",
                source: Arc::new(Prometheus::new(account, http)),
                public: serde_json::json!({"endpoint": {"baseUrl": endpoint}}),
            }],
            ..Accounts::default()
        })
    }

    /// Reads Kayenta's `kayenta.yml` account sections (`kayenta.prometheus.accounts[]`,
    /// `kayenta.datadog.accounts[]`, `kayenta.google.accounts[]`, storage accounts of any
    /// type as aliases). Being written: the skeleton refuses every file.
    pub fn load(path: &std::path::Path) -> Result<Accounts, String> {
        Err(format!(
            "{}: reading kayenta.yml accounts is not implemented yet",
            path.display()
        ))
    }

    /// Kayenta's `getRequiredOneBy`: a non-empty name must exist (`Unable to resolve
    /// account <name>.`); an empty one is the first metrics account (`Unable to resolve
    /// account of type METRICS_STORE.` when there is none).
    pub fn resolve_metrics(&self, name: Option<&str>) -> Result<&MetricsAccount, String> {
        match name.filter(|n| !n.is_empty()) {
            Some(n) => self
                .metrics
                .iter()
                .find(|a| a.name == n)
                .ok_or_else(|| format!("Unable to resolve account {n}.")),
            None => self
                .metrics
                .first()
                .ok_or_else(|| "Unable to resolve account of type METRICS_STORE.".to_string()),
        }
    }

    /// A storage account name: with declared names, a non-empty name must be one of them
    /// and an empty one is the first; without, any name is accepted and an empty one is
    /// `default`.
    pub fn resolve_storage(&self, name: Option<&str>) -> Result<String, String> {
        resolve_alias(&self.storage, name, "OBJECT_STORE")
    }

    /// A configuration account name, as [`Accounts::resolve_storage`].
    pub fn resolve_configuration(&self, name: Option<&str>) -> Result<String, String> {
        resolve_alias(&self.configuration, name, "CONFIGURATION_STORE")
    }
}

fn resolve_alias(declared: &[String], name: Option<&str>, _kind: &str) -> Result<String, String> {
    match (name.filter(|n| !n.is_empty()), declared.first()) {
        (Some(n), _) if declared.is_empty() || declared.iter().any(|d| d == n) => Ok(n.to_string()),
        (Some(n), _) => Err(format!("Unable to resolve account {n}.")),
        (None, Some(first)) => Ok(first.clone()),
        (None, None) => Ok("default".to_string()),
    }
}
