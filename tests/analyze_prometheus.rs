//! End to end: `kanary analyze` against a real Prometheus on 127.0.0.1, backfilled with the
//! recorded data of `testdata/e2e/` (see its `generate.py`): a healthy canary passes every
//! interval, a bad one fails at the first interval and stops early.
#![allow(clippy::unwrap_used)]

#[path = "../metrics-sources/tests/support/prometheus_server.rs"]
mod prometheus_server;

use std::path::Path;
use std::process::Command;

use prometheus_server::PrometheusServer;
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A server per test: a static one would never be dropped, leaving the process behind.
fn server() -> PrometheusServer {
    let om = std::fs::read_to_string(root().join("testdata/e2e/metrics.om")).unwrap();
    PrometheusServer::start(&om)
}

fn analyze(canary: &str, extra: &[&str]) -> (i32, String, String) {
    let server = server();
    let out = Command::new(env!("CARGO_BIN_EXE_kanary"))
        .current_dir(root())
        .args([
            "analyze",
            "--config",
            "testdata/e2e/canary-config.json",
            "--prometheus-url",
            &server.url(),
            "--control-scope",
            "web-baseline",
            "--experiment-scope",
            canary,
            "--start",
            "2026-01-01T10:00:00Z",
            "--end",
            "2026-01-01T11:00:00Z",
        ])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn classifications(execution: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = execution["result"]["judgeResult"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["classification"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_healthy_canary_passes_every_interval() {
    let (code, stdout, stderr) = analyze("web-good", &["--interval", "20m", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let result: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(result["didPassThresholds"], true);
    assert_eq!(
        result["canaryScores"],
        serde_json::json!([100.0, 100.0, 100.0])
    );
    assert_eq!(
        result["canaryScoreMessage"],
        "Final canary score 100.0 met or exceeded the pass score threshold."
    );
    let executions = result["canaryExecutionResults"].as_array().unwrap();
    assert_eq!(executions.len(), 3);
    assert_eq!(executions[2]["judgementEndTimeIso"], "2026-01-01T11:00:00Z");
    let last = &executions[2];
    assert_eq!(
        classifications(last),
        vec![
            ("cpu".to_string(), "Pass".to_string()),
            ("errors".to_string(), "Pass".to_string()),
            ("latency".to_string(), "Pass".to_string()),
        ]
    );
    // The whole hour at 60 s, both ends: 61 points a side, all present.
    for r in last["result"]["judgeResult"]["results"].as_array().unwrap() {
        assert_eq!(r["controlMetadata"]["stats"]["count"], 61, "{r}");
        assert_eq!(r["experimentMetadata"]["stats"]["count"], 61, "{r}");
    }
    // The first two windows (21 and 41 points) carry Kayenta's low-count warning.
    assert_eq!(result["hasWarnings"], true);
}

#[test]
fn a_bad_canary_fails_at_the_first_interval_and_stops() {
    let (code, stdout, stderr) = analyze("web-bad", &["--interval", "20m", "--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    let result: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(result["didPassThresholds"], false);
    assert_eq!(result["canaryScores"], serde_json::json!([0.0]));
    assert_eq!(
        result["canaryScoreMessage"],
        "Final canary score 0.0 is not above the marginal score threshold."
    );
    let executions = result["canaryExecutionResults"].as_array().unwrap();
    assert_eq!(executions.len(), 1, "the analysis stops early");
    assert_eq!(
        classifications(&executions[0]),
        vec![
            ("cpu".to_string(), "High".to_string()),
            ("errors".to_string(), "High".to_string()),
            ("latency".to_string(), "High".to_string()),
        ]
    );
    assert!(
        stderr.contains("Canary score is not above the marginal score threshold."),
        "{stderr}"
    );
}

#[test]
fn text_output_ends_with_the_verdict() {
    let (code, stdout, _) = analyze("web-good", &[]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("Final canary score 100.0 met or exceeded the pass score threshold."),
        "{stdout}"
    );
}

#[test]
fn a_scope_with_no_series_is_nodata_not_an_error() {
    let (code, stdout, stderr) = analyze("web-missing", &["--format", "json"]);
    // Every canary series is a placeholder of NaN: each metric is Nodata, so the score is
    // 0 (no group has data) and the analysis fails without crashing.
    assert_eq!(code, 1, "{stderr}");
    let result: Value = serde_json::from_str(&stdout).unwrap();
    let execution = &result["canaryExecutionResults"][0];
    assert!(
        classifications(execution)
            .iter()
            .all(|(_, c)| c == "Nodata"),
        "{execution}"
    );
}
