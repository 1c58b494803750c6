//! The mixer against Kayenta's `MetricSetMixerServiceSpec` and `MetricSetSpec` vectors
//! (`testdata/kayenta_vectors/mixer.json`, `metric_set.json`), plus kanary's own cases.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use kanary_judge::{MetricSet, MetricSetPair};
use kanary_metrics_sources::SourceError;
use kanary_metrics_sources::mixer::{mix_all, mix_one};
use serde_json::{Value, json};

fn vectors(file: &str) -> Vec<Value> {
    let path = format!(
        "{}/../testdata/kayenta_vectors/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn set(v: &Value) -> MetricSet {
    serde_json::from_value(v.clone()).unwrap()
}

fn sets(v: &Value) -> Vec<MetricSet> {
    v.as_array().unwrap().iter().map(set).collect()
}

/// A pair's values as JSON, NaN as "NaN" (Kayenta's wire form, as in the vectors).
fn values_json(p: &MetricSetPair) -> Value {
    let v = serde_json::to_value(&p.values).unwrap();
    // Integers in the vectors: compare numerically by normalising to f64.
    normalise(&v)
}

fn normalise(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64().unwrap()),
        Value::Array(a) => Value::Array(a.iter().map(normalise).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), normalise(v))).collect())
        }
        other => other.clone(),
    }
}

fn named(name: Option<&str>) -> MetricSet {
    MetricSet {
        name: name.unwrap_or_default().to_string(),
        ..MetricSet::default()
    }
}

#[test]
fn kayenta_mixer_vectors() {
    let vs = vectors("mixer.json");
    assert_eq!(vs.len(), 15);
    for v in &vs {
        let name = v["name"].as_str().unwrap();
        let input = &v["input"];
        let expected = &v["expected"];
        let function = input["function"].as_str().unwrap();
        let outcome: Result<Vec<MetricSetPair>, SourceError> = if function.starts_with("mixOne") {
            if input.get("control").is_some() {
                mix_one(&set(&input["control"]), &set(&input["experiment"])).map(|p| vec![p])
            } else {
                mix_one(
                    &named(input["controlName"].as_str()),
                    &named(input["experimentName"].as_str()),
                )
                .map(|p| vec![p])
            }
        } else {
            let names: Vec<String> = input["metricConfigNames"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap().to_string())
                .collect();
            mix_all(
                &names,
                &sets(&input["control"]),
                &sets(&input["experiment"]),
            )
        };
        if let Some(fragment) = expected.get("messageContains") {
            let err = outcome.expect_err(name);
            assert!(
                err.to_string().contains(fragment.as_str().unwrap()),
                "{name}: {err}"
            );
            continue;
        }
        let pairs = outcome.unwrap_or_else(|e| panic!("{name}: {e}"));
        if let Some(names) = expected.get("pairNames") {
            let got: Vec<&str> = pairs.iter().map(|p| p.name.as_str()).collect();
            let want: Vec<&str> = names
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap())
                .collect();
            assert_eq!(got, want, "{name}");
            let tags: Vec<Value> = pairs.iter().map(|p| json!(p.tags)).collect();
            assert_eq!(Value::Array(tags), expected["pairTags"], "{name}");
            let values: Vec<Value> = pairs.iter().map(values_json).collect();
            assert_eq!(
                Value::Array(values),
                normalise(&expected["pairValues"]),
                "{name}"
            );
        } else {
            let p = &pairs[0];
            assert_eq!(values_json(p), normalise(&expected["values"]), "{name}");
            if let Some(tags) = expected.get("tags") {
                assert_eq!(json!(p.tags), *tags, "{name}");
            }
            if let Some(attrs) = expected.get("attributes") {
                assert_eq!(json!(p.attributes), *attrs, "{name}");
            }
            if expected.get("id").is_some() {
                let id = p.id.as_deref().unwrap();
                assert_eq!(id.len(), 36, "{name}: a UUID-shaped id, got {id}");
            }
        }
    }
}

#[test]
fn kayenta_metric_set_key_vectors() {
    for v in vectors("metric_set.json") {
        let input = &v["input"];
        if let Some(names) = input.get("names") {
            for n in names.as_array().unwrap() {
                assert_eq!(named(n.as_str()).metric_set_key(), None);
            }
            continue;
        }
        let s = MetricSet {
            name: input["name"].as_str().unwrap().to_string(),
            tags: serde_json::from_value(input["tags"].clone()).unwrap(),
            ..MetricSet::default()
        };
        assert_eq!(
            s.metric_set_key().as_deref(),
            v["expected"]["key"].as_str(),
            "{}",
            v["name"]
        );
    }
}

fn tagged(name: &str, tags: &[(&str, &str)], values: &[f64], start: i64, step: i64) -> MetricSet {
    MetricSet {
        name: name.to_string(),
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        start_time_millis: start,
        end_time_millis: start + step * values.len() as i64,
        step_millis: step,
        values: values.to_vec(),
        attributes: BTreeMap::from([("aligned".to_string(), "true".to_string())]),
        ..MetricSet::default()
    }
}

#[test]
fn a_tag_combination_missing_on_one_side_is_padded_with_nan_of_that_sides_length() {
    let control = vec![
        tagged("lat", &[("code", "200")], &[1.0, 2.0, 3.0], 0, 60_000),
        tagged("lat", &[("code", "500")], &[9.0, 9.0, 9.0], 0, 60_000),
    ];
    let experiment = vec![tagged(
        "lat",
        &[("code", "200")],
        &[1.5, 2.5, 3.5],
        0,
        60_000,
    )];
    let pairs = mix_all(&["lat".to_string()], &control, &experiment).unwrap();
    assert_eq!(pairs.len(), 2);
    assert_eq!(pairs[0].tags["code"], "200");
    assert!(pairs[0].is_aligned());
    assert_eq!(pairs[1].tags["code"], "500");
    assert_eq!(pairs[1].values.control, vec![9.0, 9.0, 9.0]);
    assert_eq!(pairs[1].values.experiment.len(), 3);
    assert!(pairs[1].values.experiment.iter().all(|v| v.is_nan()));
}

#[test]
fn a_placeholder_side_becomes_nan_of_its_expected_length() {
    // Prometheus found no canary series: the provider sent an untagged placeholder.
    let control = vec![tagged("lat", &[("pod", "a")], &[1.0, 2.0], 0, 60_000)];
    let mut placeholder = tagged("lat", &[], &[f64::NAN, f64::NAN], 0, 60_000);
    placeholder.values = vec![];
    let pairs = mix_all(&["lat".to_string()], &control, &[placeholder]).unwrap();
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0].tags["pod"], "a");
    assert_eq!(pairs[0].values.experiment.len(), 2);
    assert!(pairs[0].values.experiment.iter().all(|v| v.is_nan()));
}

#[test]
fn different_tag_keys_name_both_sets() {
    let control = vec![tagged("lat", &[("pod", "a")], &[1.0], 0, 1)];
    let experiment = vec![tagged("lat", &[("host", "a")], &[1.0], 0, 1)];
    let err = mix_all(&["lat".to_string()], &control, &experiment).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Control metrics have different tag keys than the experiment tag set ([pod] != [host])."
    );
}

#[test]
fn mixing_is_deterministic() {
    let control = vec![tagged("lat", &[("code", "200")], &[1.0, 2.0], 0, 1000)];
    let experiment = vec![tagged("lat", &[("code", "200")], &[1.0, 2.0], 0, 1000)];
    let a =
        serde_json::to_string(&mix_all(&["lat".into()], &control, &experiment).unwrap()).unwrap();
    let b =
        serde_json::to_string(&mix_all(&["lat".into()], &control, &experiment).unwrap()).unwrap();
    assert_eq!(a, b);
}
