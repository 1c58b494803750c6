//! What the stage tests share: production's Deployment and an in-memory metrics source.
//! Include it with `#[path = "support/stage_fixtures.rs"] mod stage_fixtures;`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Mutex;

use kanary_judge::{CanaryConfig, CanaryMetricConfig, MetricSet};
use kanary_metrics_sources::http::BoxFuture;
use kanary_metrics_sources::{CanaryScope, MetricsSource, SourceError};
use serde_json::{Value, json};
use tokio::sync::Notify;

pub const NS: &str = "shop";
pub const IMAGE_A: &str = "registry.example/web:A";
pub const IMAGE_B: &str = "registry.example/web:B";

pub fn config() -> CanaryConfig {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/analyze/config.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("config")).expect("config")
}

pub fn production() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [
                    {"name": "app", "image": IMAGE_A},
                    {"name": "proxy", "image": "envoy:1.30"}
                ]}
            }
        }
    })
}

/// Aligned series a minute apart: the same pattern on both sides, the canary's 5 times
/// higher when `bad`. `hang` makes every fetch wait forever after signalling `entered`.
pub struct Source {
    pub bad: bool,
    pub hang: bool,
    pub entered: Notify,
    pub scopes: Mutex<Vec<(String, String)>>,
}

impl Source {
    pub fn new(bad: bool) -> Self {
        Self {
            bad,
            hang: false,
            entered: Notify::new(),
            scopes: Mutex::new(Vec::new()),
        }
    }
}

impl MetricsSource for Source {
    fn service_type(&self) -> &'static str {
        "prometheus"
    }

    fn account(&self) -> &str {
        "memory"
    }

    fn build_query(
        &self,
        _config: &CanaryConfig,
        metric: &CanaryMetricConfig,
        scope: &CanaryScope,
    ) -> Result<String, SourceError> {
        Ok(format!("{}{{pod=~\"{}-.*\"}}", metric.name(), scope.scope))
    }

    fn query_metrics<'a>(
        &'a self,
        _config: &'a CanaryConfig,
        metric: &'a CanaryMetricConfig,
        scope: &'a CanaryScope,
    ) -> BoxFuture<'a, Result<Vec<MetricSet>, SourceError>> {
        Box::pin(async move {
            self.scopes
                .lock()
                .expect("lock")
                .push((scope.scope.clone(), scope.location.clone()));
            if self.hang {
                self.entered.notify_one();
                std::future::pending::<()>().await;
            }
            let grid = scope.grid()?;
            let factor = if self.bad && scope.scope.ends_with("-canary") {
                5.0
            } else {
                1.0
            };
            let values = (0..grid.len())
                .map(|k| {
                    let t = grid.instant_ms(k);
                    factor * (1.0 + ((t / 60_000) % 7) as f64 * 0.05)
                })
                .collect();
            Ok(vec![MetricSet {
                name: metric.name().to_string(),
                tags: BTreeMap::new(),
                start_time_millis: grid.start_ms(),
                start_time_iso: None,
                end_time_millis: grid.end_ms(),
                end_time_iso: None,
                step_millis: grid.step_ms(),
                values,
                attributes: BTreeMap::new(),
            }])
        })
    }
}
