//! Template expansion against Kayenta's `QueryConfigUtilsSpec` and `QueryConfigUtilsTest`
//! vectors (`testdata/kayenta_vectors/query_config_utils_{spec,test}.json`).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use kanary_judge::{CanaryConfig, CanaryMetricConfig, MetricQuery};
use kanary_metrics_sources::CanaryScope;
use kanary_metrics_sources::template::{
    PROMETHEUS_BASE_ATTRIBUTES, escape_templates, expand_custom_filter, unescape_template,
};
use serde_json::Value;

fn vectors(file: &str) -> Vec<Value> {
    let path = format!(
        "{}/../testdata/kayenta_vectors/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn scope_from(input: &Value) -> CanaryScope {
    let t = Utc.timestamp_opt(0, 0).unwrap();
    let mut scope = CanaryScope::new("", t, t, 60);
    let s = &input["scope"];
    if s.is_object() {
        scope.scope = s["scope"].as_str().unwrap_or_default().to_string();
        scope.location = s["location"].as_str().unwrap_or_default().to_string();
        scope.extended_scope_params = string_map(&s["extendedScopeParams"]);
        // The Prometheus/Stackdriver scope classes hold project and resourceType; kanary
        // reads them from extendedScopeParams.
        for key in ["project", "resourceType"] {
            if let Some(v) = s[key].as_str() {
                scope
                    .extended_scope_params
                    .insert(key.to_string(), v.to_string());
            }
        }
    } else {
        scope.extended_scope_params = string_map(&input["extendedScopeParams"]);
    }
    scope
}

fn config_and_query(input: &Value) -> (CanaryConfig, MetricQuery) {
    let config = CanaryConfig {
        templates: string_map(&input["templates"]),
        ..CanaryConfig::default()
    };
    let query = MetricQuery {
        custom_inline_template: input["customInlineTemplate"].as_str().map(String::from),
        custom_filter_template: input["customFilterTemplate"].as_str().map(String::from),
        ..MetricQuery::default()
    };
    (config, query)
}

fn base_attributes(input: &Value) -> Vec<String> {
    if let Some(list) = input["baseScopeAttributes"].as_array() {
        return list
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
    }
    let function = input["function"].as_str().unwrap_or_default();
    if function.contains("project, resourceType, scope, location") {
        PROMETHEUS_BASE_ATTRIBUTES
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        Vec::new()
    }
}

fn run_expand_vectors(file: &str) -> usize {
    let mut n = 0;
    for v in vectors(file) {
        let input = &v["input"];
        let name = v["name"].as_str().unwrap();
        if !input["function"]
            .as_str()
            .unwrap()
            .starts_with("expandCustomFilter")
        {
            continue;
        }
        n += 1;
        let (config, query) = config_and_query(input);
        let attrs = base_attributes(input);
        let attrs: Vec<&str> = attrs.iter().map(String::as_str).collect();
        let outcome = expand_custom_filter(&config, &query, &scope_from(input), &attrs);
        let expected = &v["expected"];
        if expected.get("throws").is_some() {
            let err = outcome.expect_err(name);
            if let Some(m) = expected["message"].as_str() {
                assert_eq!(err.to_string(), m, "{name}");
            }
        } else {
            assert_eq!(
                outcome.unwrap_or_else(|e| panic!("{name}: {e}")).as_deref(),
                expected["result"].as_str(),
                "{name}"
            );
        }
    }
    n
}

#[test]
fn kayenta_query_config_utils_test_vectors() {
    assert_eq!(run_expand_vectors("query_config_utils_test.json"), 5);
}

#[test]
fn kayenta_stackdriver_template_vectors() {
    assert_eq!(run_expand_vectors("stackdriver_query_config_spec.json"), 23);
}

#[test]
fn kayenta_escaping_vectors() {
    let mut n = 0;
    for v in vectors("query_config_utils_spec.json") {
        let input = &v["input"];
        let name = v["name"].as_str().unwrap();
        let function = input["function"].as_str().unwrap();
        n += 1;
        if function == "unescapeTemplate" {
            assert_eq!(
                unescape_template(input["template"].as_str().unwrap()),
                v["expected"]["result"].as_str().unwrap(),
                "{name}"
            );
        } else if function.ends_with(".templates") {
            let config = CanaryConfig {
                templates: string_map(&input["templates"]),
                ..CanaryConfig::default()
            };
            let escaped = escape_templates(&config);
            assert_eq!(
                escaped.templates,
                string_map(&v["expected"]["templates"]),
                "{name}"
            );
        } else {
            let config = CanaryConfig {
                metrics: vec![CanaryMetricConfig {
                    query: Some(MetricQuery {
                        custom_inline_template: input["customInlineTemplate"]
                            .as_str()
                            .map(String::from),
                        ..MetricQuery::default()
                    }),
                    ..CanaryMetricConfig::default()
                }],
                ..CanaryConfig::default()
            };
            let escaped = escape_templates(&config);
            let got = escaped.metrics[0]
                .query
                .as_ref()
                .unwrap()
                .custom_inline_template
                .as_deref();
            assert_eq!(got, v["expected"]["result"].as_str(), "{name}");
        }
    }
    assert_eq!(n, 13);
}

#[test]
fn the_deprecated_custom_filter_is_refused_with_kayentas_message() {
    let (config, mut query) = config_and_query(&serde_json::json!({}));
    query.custom_filter = Some("a=b".into());
    let err = expand_custom_filter(&config, &query, &scope_from(&Value::Null), &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "CanaryMetricSetQueryConfig.customFilter is deprecated, use CanaryMetricSetQueryConfig.customInlineTemplate instead."
    );
}

#[test]
fn missing_templates_have_kayentas_messages() {
    let input = serde_json::json!({"customFilterTemplate": "t"});
    let (config, query) = config_and_query(&input);
    let err = expand_custom_filter(&config, &query, &scope_from(&input), &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Custom filter template 't' was referenced, but no templates were defined."
    );
    let input = serde_json::json!({"customFilterTemplate": "t", "templates": {"u": "x"}});
    let (config, query) = config_and_query(&input);
    let err = expand_custom_filter(&config, &query, &scope_from(&input), &[]).unwrap_err();
    assert_eq!(err.to_string(), "Custom filter template 't' was not found.");
}

#[test]
fn extended_params_override_scope_and_query_attributes() {
    let t = Utc.timestamp_opt(0, 0).unwrap();
    let mut scope = CanaryScope::new("web-canary", t, t, 60);
    scope.location = "eu".into();
    let config = CanaryConfig::default();
    let query = MetricQuery {
        resource_type: Some("k8s_container".into()),
        custom_inline_template: Some("${scope} ${location} ${resourceType} ${q:-0.99}".into()),
        ..MetricQuery::default()
    };
    let got = expand_custom_filter(&config, &query, &scope, PROMETHEUS_BASE_ATTRIBUTES).unwrap();
    assert_eq!(got.as_deref(), Some("web-canary eu k8s_container 0.99"));
    scope
        .extended_scope_params
        .insert("location".into(), "us".into());
    scope.extended_scope_params.insert("q".into(), "0.5".into());
    let got = expand_custom_filter(&config, &query, &scope, PROMETHEUS_BASE_ATTRIBUTES).unwrap();
    assert_eq!(got.as_deref(), Some("web-canary us k8s_container 0.5"));
}
