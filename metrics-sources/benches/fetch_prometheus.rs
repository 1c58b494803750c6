//! Fetch benchmark: 50 metrics × 2 scopes × 1 h at 60 s from a local Prometheus (the goal
//! of issue 4 is under 1 s), through `fetch_pairs` with the default concurrency.
//!
//! Needs `prometheus` and `promtool` (Debian package `prometheus`). Run with
//! `cargo bench -p kanary-metrics-sources --bench fetch_prometheus`.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../tests/support/prometheus_server.rs"]
mod prometheus_server;

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use kanary_judge::CanaryConfig;
use kanary_metrics_sources::prometheus::{Prometheus, PrometheusAccount};
use kanary_metrics_sources::{CanaryScope, CanaryScopePair, FetchOptions, HttpClient, fetch_pairs};

/// The 50 `bench_metric_NN` gauges of `testdata/e2e/metrics.om`.
fn config() -> CanaryConfig {
    let metrics: Vec<serde_json::Value> = (0..50)
        .map(|m| {
            serde_json::json!({
                "name": format!("bench_metric_{m:02}"),
                "query": {"type": "prometheus", "metricName": format!("bench_metric_{m:02}"),
                          "customInlineTemplate": "pod=~\"${scope}-[0-9]+\""},
                "groups": ["bench"],
                "analysisConfigurations": {"canary": {}}
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({"metrics": metrics})).unwrap()
}

fn bench(c: &mut Criterion) {
    let om = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/e2e/metrics.om"
    ))
    .unwrap();
    let server = prometheus_server::PrometheusServer::start(&om);
    let account = PrometheusAccount::new("prometheus", &server.url()).unwrap();
    let source = Prometheus::new(account, HttpClient::reqwest().unwrap());
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 10, 0, 0).unwrap();
    let end = Utc.with_ymd_and_hms(2026, 1, 1, 11, 0, 0).unwrap();
    let scopes = BTreeMap::from([(
        "default".to_string(),
        CanaryScopePair {
            control_scope: CanaryScope::new("web-baseline", start, end, 60),
            experiment_scope: CanaryScope::new("web-good", start, end, 60),
        },
    )]);
    let config = config();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // Check once that the data is really there: 50 pairs of 61 finite points a side.
    let pairs = runtime
        .block_on(fetch_pairs(
            &source,
            &config,
            &scopes,
            FetchOptions::default(),
        ))
        .unwrap();
    assert_eq!(pairs.len(), 50);
    assert!(
        pairs
            .iter()
            .all(|p| p.values.control.len() == 61
                && p.values.experiment.iter().all(|v| v.is_finite()))
    );

    let mut group = c.benchmark_group("fetch_prometheus");
    group.sample_size(20);
    group.bench_function("50_metrics_x2_scopes_1h_at_60s", |b| {
        b.iter(|| {
            runtime
                .block_on(fetch_pairs(
                    &source,
                    &config,
                    &scopes,
                    FetchOptions::default(),
                ))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
