//! The Kayenta JSON model: reading Kayenta's own fixtures, writing what Kayenta writes.

use kanary_judge::{CanaryAnalysisResult, CanaryConfig, MetricSetPair, MetricSettings};
use serde_json::{Value, json};

/// `kayenta-integration-tests/.../canary-configs/prometheus/muted-metric.json`, verbatim
/// from the reference (§3.6), plus UI fields Kayenta ignores.
const MUTED_METRIC_CONFIG: &str = r#"{
  "name": "integration-test-canary-config",
  "description": "A very simple config for integration testing",
  "judge": {"judgeConfigurations": {}, "name": "NetflixACAJudge-v1.0"},
  "metrics": [
    {"name": "Failing metric",
     "query": {"type": "prometheus", "metricName": "integration_failing_metric",
               "customFilterTemplate": "standard-template", "serviceType": "prometheus"},
     "analysisConfigurations": {"canary": {"critical": true, "muted": true, "direction": "increase"}},
     "groups": ["pod-group"], "scopeName": "default"},
    {"name": "Successful metric",
     "query": {"type": "prometheus", "metricName": "integration_successful_metric",
               "customFilterTemplate": "standard-template"},
     "analysisConfigurations": {"canary": {"critical": true, "direction": "increase"}},
     "groups": ["pod-group"], "scopeName": "default"}
  ],
  "templates": {"standard-template": "namespace='${namespace}', scope='${scope}'"},
  "classifier": {"groupWeights": {"pod-group": 100}, "scoreThresholds": {"marginal": 50, "pass": 75}},
  "someFutureField": {"ignored": true}
}"#;

#[test]
fn reads_kayentas_fixture_and_writes_it_back() {
    let config: CanaryConfig = serde_json::from_str(MUTED_METRIC_CONFIG).expect("config");
    assert_eq!(config.metrics.len(), 2);
    assert_eq!(config.judge_name(), Some("NetflixACAJudge-v1.0"));
    let failing = config.metric("Failing metric").expect("metric");
    let s = MetricSettings::from_metric(failing).expect("settings");
    assert!(s.critical && s.muted);
    let q = failing.query.as_ref().expect("query");
    assert_eq!(q.kind.as_deref(), Some("prometheus"));
    assert_eq!(
        q.custom_filter_template.as_deref(),
        Some("standard-template")
    );
    assert_eq!(config.group_weights()["pod-group"], 100.0);

    let written = serde_json::to_value(&config).expect("write");
    // Unknown top-level fields are dropped (as Jackson with FAIL_ON_UNKNOWN_PROPERTIES off);
    // unknown query fields (the UI's serviceType) are kept.
    assert!(written.get("someFutureField").is_none());
    assert_eq!(written["metrics"][0]["query"]["serviceType"], "prometheus");
    // Nulls omitted; Kayenta's empty defaults written.
    assert!(written.get("id").is_none());
    assert_eq!(written["applications"], json!([]));
    // Reading what we wrote gives the same config.
    let again: CanaryConfig = serde_json::from_value(written).expect("again");
    assert_eq!(again, config);
}

#[test]
fn config_version_may_be_a_string_or_a_number_and_nulls_are_defaults() {
    for v in [json!("1.0"), json!(1.0)] {
        let c: CanaryConfig = serde_json::from_value(json!({
            "configVersion": v.clone(), "applications": null, "metrics": null, "templates": null
        }))
        .expect("config");
        assert_eq!(c.config_version, Some(v));
        assert!(c.metrics.is_empty() && c.applications.is_empty() && c.templates.is_empty());
    }
}

#[test]
fn metric_set_pair_reads_kayentas_wire_form() {
    let pair: MetricSetPair = serde_json::from_value(json!({
        "name": "cpu", "id": "3f0c", "tags": {"pod": "a"},
        "values": {"control": [1.0, "NaN", 2], "experiment": ["Infinity", "-Infinity", null]},
        "scopes": {"control": {"startTimeIso": "2020-07-27T19:17:36Z", "startTimeMillis": 1595877456000i64, "stepMillis": 60000}},
        "attributes": {"control": {"query": "avg(cpu)"}},
        "extra": 1
    }))
    .expect("pair");
    assert_eq!(pair.values.control.len(), 3);
    assert!(pair.values.control[1].is_nan());
    assert_eq!(pair.values.experiment[0], f64::INFINITY);
    assert!(pair.values.experiment[2].is_nan());
    assert_eq!(pair.scopes["control"].step_millis, Some(60000));
    let out = serde_json::to_value(&pair).expect("write");
    assert_eq!(out["values"]["control"], json!([1.0, "NaN", 2.0]));
    assert_eq!(
        out["values"]["experiment"],
        json!(["Infinity", "-Infinity", "NaN"])
    );
}

#[test]
fn wrong_types_are_errors_that_say_where() {
    let e = serde_json::from_str::<Vec<MetricSetPair>>(
        r#"[{"name": "cpu", "values": {"control": "1,2,3", "experiment": []}}]"#,
    )
    .expect_err("string series");
    let text = e.to_string();
    assert!(text.contains("line 1"), "{text}");
    assert!(text.contains("array"), "{text}");
    let e = serde_json::from_str::<CanaryConfig>(r#"{"metrics": {"name": "x"}}"#)
        .expect_err("object metrics");
    assert!(e.to_string().contains("sequence"), "{e}");
}

#[test]
fn result_writes_non_finite_scalars_as_strings() {
    let r: CanaryAnalysisResult = serde_json::from_value(json!({
        "name": "cpu", "classification": "High", "groups": ["system"],
        "experimentMetadata": {"stats": {"min": 1, "max": 2, "mean": 1.5, "std": 0.5, "count": 2}},
        "controlMetadata": {"stats": {"min": 0, "max": 0, "mean": 0, "std": 0, "count": 2}},
        "resultMetadata": {"ratio": "NaN"}, "critical": false, "muted": false
    }))
    .expect("result");
    let v: Value = serde_json::to_value(&r).expect("write");
    assert_eq!(v["resultMetadata"]["ratio"], "NaN");
    assert!(v.get("classificationReason").is_none());
    assert!(v["resultMetadata"].get("lowerConfidence").is_none());
    assert_eq!(v["controlMetadata"]["stats"]["count"], 2);
}
