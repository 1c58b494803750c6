//! `fetch_pairs`: bounded concurrency, config order, scope selection, errors; with an
//! in-memory source on a paused clock.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use kanary_judge::{CanaryConfig, CanaryMetricConfig, MetricSet};
use kanary_metrics_sources::http::BoxFuture;
use kanary_metrics_sources::{
    CanaryScope, CanaryScopePair, FetchOptions, MetricsSource, SourceError, fetch_pairs,
};

/// Answers every query after 1 s (paused clock) with one aligned set whose values encode
/// the scope; counts queries in flight.
#[derive(Default)]
struct Slow {
    in_flight: Mutex<(usize, usize)>,
    asked: Mutex<Vec<String>>,
    fail_on: Option<&'static str>,
}

impl MetricsSource for Slow {
    fn service_type(&self) -> &'static str {
        "prometheus"
    }

    fn account(&self) -> &str {
        "mem"
    }

    fn build_query(
        &self,
        _config: &CanaryConfig,
        metric: &CanaryMetricConfig,
        scope: &CanaryScope,
    ) -> Result<String, SourceError> {
        Ok(format!(
            "{}@{}",
            metric.name.as_deref().unwrap_or(""),
            scope.scope
        ))
    }

    fn query_metrics<'a>(
        &'a self,
        config: &'a CanaryConfig,
        metric: &'a CanaryMetricConfig,
        scope: &'a CanaryScope,
    ) -> BoxFuture<'a, Result<Vec<MetricSet>, SourceError>> {
        Box::pin(async move {
            let q = self.build_query(config, metric, scope)?;
            self.asked.lock().unwrap().push(q.clone());
            {
                let mut f = self.in_flight.lock().unwrap();
                f.0 += 1;
                f.1 = f.1.max(f.0);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            self.in_flight.lock().unwrap().0 -= 1;
            if self.fail_on == metric.name.as_deref() {
                return Err(SourceError::InvalidQuery(format!("cannot query {q}")));
            }
            let grid = scope.grid()?;
            let base = if scope.scope.ends_with("canary") {
                100.0
            } else {
                0.0
            };
            Ok(vec![MetricSet {
                // Left empty on purpose: fetch_pairs names the sets after the metric.
                name: String::new(),
                start_time_millis: grid.start_ms(),
                end_time_millis: grid.end_ms(),
                step_millis: grid.step_ms(),
                values: (0..grid.len()).map(|i| base + i as f64).collect(),
                attributes: BTreeMap::from([("aligned".into(), "true".into())]),
                ..MetricSet::default()
            }])
        })
    }
}

fn config(names: &[&str]) -> CanaryConfig {
    let metrics = names
        .iter()
        .map(|n| {
            serde_json::from_value(serde_json::json!({
                "name": n, "query": {"type": "prometheus", "metricName": n}, "groups": ["g"]
            }))
            .unwrap()
        })
        .collect();
    CanaryConfig {
        metrics,
        ..CanaryConfig::default()
    }
}

fn scopes() -> BTreeMap<String, CanaryScopePair> {
    let start = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
    let end = Utc.timestamp_opt(1_700_000_600, 0).unwrap();
    BTreeMap::from([(
        "default".to_string(),
        CanaryScopePair {
            control_scope: CanaryScope::new("web-baseline", start, end, 60),
            experiment_scope: CanaryScope::new("web-canary", start, end, 60),
        },
    )])
}

#[tokio::test(start_paused = true)]
async fn at_most_n_queries_run_at_once_and_pairs_keep_config_order() {
    let names: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let source = Slow::default();
    let started = tokio::time::Instant::now();
    let pairs = fetch_pairs(
        &source,
        &config(&refs),
        &scopes(),
        FetchOptions { concurrency: 4 },
    )
    .await
    .unwrap();
    // 20 queries of 1 s each, 4 at a time.
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert_eq!(source.in_flight.lock().unwrap().1, 4);
    let got: Vec<&str> = pairs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(got, refs);
    let p = &pairs[3];
    assert!(p.is_aligned());
    assert_eq!(p.values.control.len(), 11);
    assert_eq!(p.values.control[10], 10.0);
    assert_eq!(p.values.experiment[0], 100.0);
}

#[tokio::test(start_paused = true)]
async fn the_first_failure_in_config_order_is_returned() {
    let source = Slow {
        fail_on: Some("b"),
        ..Slow::default()
    };
    let err = fetch_pairs(
        &source,
        &config(&["a", "b", "c"]),
        &scopes(),
        FetchOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.to_string(), "cannot query b@web-baseline");
}

#[tokio::test(start_paused = true)]
async fn a_metric_naming_an_unknown_scope_is_an_error() {
    let mut cfg = config(&["a"]);
    cfg.metrics[0].scope_name = Some("eu".into());
    let err = fetch_pairs(&Slow::default(), &cfg, &scopes(), FetchOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "metric 'a' uses the scope 'eu', but no such scope was given"
    );
}

#[tokio::test(start_paused = true)]
async fn a_metric_without_query_or_name_is_an_error_naming_it() {
    let mut cfg = config(&["a"]);
    cfg.metrics[0].query = None;
    let err = fetch_pairs(&Slow::default(), &cfg, &scopes(), FetchOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "metrics[0] ('a') has no query");
    cfg.metrics[0].name = None;
    let err = fetch_pairs(&Slow::default(), &cfg, &scopes(), FetchOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "metrics[0].name is required");
}
