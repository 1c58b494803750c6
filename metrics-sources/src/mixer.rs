//! Kayenta's `MetricSetMixerService`: pairs the control and experiment metric sets of each
//! metric by their tags, pads short or missing sides with NaN, and produces the
//! `MetricSetPair` list the judge reads.

use std::collections::{BTreeMap, BTreeSet};

use kanary_judge::{MetricSet, MetricSetPair, MetricSetScope, PairValues};

use crate::SourceError;

/// Pairs one control set with one experiment set (Kayenta's `mixOne`): the names must be
/// set and equal, the tags equal; each side is right-padded with NaN up to its
/// `expectedDataPoints()`.
pub fn mix_one(control: &MetricSet, experiment: &MetricSet) -> Result<MetricSetPair, SourceError> {
    if control.name.is_empty() {
        return Err(SourceError::Mixer(
            "Control metric set name was not set.".into(),
        ));
    }
    if experiment.name.is_empty() {
        return Err(SourceError::Mixer(
            "Experiment metric set name was not set.".into(),
        ));
    }
    if control.name != experiment.name {
        return Err(SourceError::Mixer(format!(
            "Control metric set name '{}' does not match experiment metric set name '{}'.",
            control.name, experiment.name
        )));
    }
    if control.tags != experiment.tags {
        return Err(SourceError::Mixer(format!(
            "Control metric set tags {} do not match experiment metric set tags {}.",
            java_map(&control.tags),
            java_map(&experiment.tags)
        )));
    }
    let scope = |s: &MetricSet| MetricSetScope {
        start_time_iso: s.start_time_iso.clone(),
        start_time_millis: Some(s.start_time_millis),
        step_millis: Some(s.step_millis),
    };
    let mut scopes = BTreeMap::new();
    scopes.insert("control".to_string(), scope(control));
    scopes.insert("experiment".to_string(), scope(experiment));
    let mut attributes = BTreeMap::new();
    attributes.insert("control".to_string(), control.attributes.clone());
    attributes.insert("experiment".to_string(), experiment.attributes.clone());
    Ok(MetricSetPair {
        name: control.name.clone(),
        id: Some(pair_id(control, experiment)),
        tags: control.tags.clone(),
        values: PairValues {
            control: padded(control),
            experiment: padded(experiment),
        },
        scopes,
        attributes,
    })
}

/// Pairs every metric of `metric_names` (config order) across the two lists (Kayenta's
/// `mixAll`). Within a metric, pairs come in the order of their tags.
pub fn mix_all(
    metric_names: &[String],
    control: &[MetricSet],
    experiment: &[MetricSet],
) -> Result<Vec<MetricSetPair>, SourceError> {
    let mut pairs = Vec::new();
    for name in metric_names {
        let c: Vec<&MetricSet> = control.iter().filter(|s| &s.name == name).collect();
        let e: Vec<&MetricSet> = experiment.iter().filter(|s| &s.name == name).collect();
        if c.is_empty() {
            return Err(SourceError::Mixer(format!(
                "No control metrics found for {name} and the metric service did not create a placeholder."
            )));
        }
        if e.is_empty() {
            return Err(SourceError::Mixer(format!(
                "No experiment metrics found for {name} and the metric service did not create a placeholder."
            )));
        }
        pairs.extend(mix_metric(&c, &e)?);
    }
    Ok(pairs)
}

fn mix_metric(
    control: &[&MetricSet],
    experiment: &[&MetricSet],
) -> Result<Vec<MetricSetPair>, SourceError> {
    let tagged = |sets: &[&MetricSet]| sets.iter().any(|s| !s.tags.is_empty());
    let (c_tagged, e_tagged) = (tagged(control), tagged(experiment));
    if c_tagged && e_tagged {
        let keys = |sets: &[&MetricSet]| -> BTreeSet<String> {
            sets.iter().flat_map(|s| s.tags.keys().cloned()).collect()
        };
        let (ck, ek) = (keys(control), keys(experiment));
        if ck != ek {
            return Err(SourceError::Mixer(format!(
                "Control metrics have different tag keys than the experiment tag set ({} != {}).",
                java_list(&ck),
                java_list(&ek)
            )));
        }
    }
    // A side whose sets carry no tags while the other side's do is a placeholder: its
    // values are dropped and it serves as the NaN template of each tagged set (Kayenta).
    let template =
        |sets: &[&MetricSet], other_tagged: bool, own_tagged: bool| -> Option<MetricSet> {
            if other_tagged && !own_tagged {
                let mut t = sets[0].clone();
                t.values.clear();
                Some(t)
            } else {
                None
            }
        };
    let c_template = template(control, e_tagged, c_tagged);
    let e_template = template(experiment, c_tagged, e_tagged);

    let by_tags = |sets: &[&MetricSet]| -> BTreeMap<BTreeMap<String, String>, MetricSet> {
        let mut m = BTreeMap::new();
        for s in sets {
            // The first set of a tag combination wins, as Kayenta's map insertion keeps one.
            m.entry(s.tags.clone()).or_insert_with(|| (*s).clone());
        }
        m
    };
    let c_map = if c_template.is_some() {
        BTreeMap::new()
    } else {
        by_tags(control)
    };
    let e_map = if e_template.is_some() {
        BTreeMap::new()
    } else {
        by_tags(experiment)
    };
    let all_tags: BTreeSet<&BTreeMap<String, String>> = c_map.keys().chain(e_map.keys()).collect();

    let fill =
        |template: Option<&MetricSet>, first: &MetricSet, tags: &BTreeMap<String, String>| {
            let mut s = template.cloned().unwrap_or_else(|| {
                let mut s = first.clone();
                s.values.clear();
                s
            });
            s.tags = tags.clone();
            s
        };
    let mut pairs = Vec::with_capacity(all_tags.len());
    for tags in all_tags {
        let c = match c_map.get(tags) {
            Some(s) => s.clone(),
            None => fill(c_template.as_ref(), control[0], tags),
        };
        let e = match e_map.get(tags) {
            Some(s) => s.clone(),
            None => fill(e_template.as_ref(), experiment[0], tags),
        };
        pairs.push(mix_one(&c, &e)?);
    }
    Ok(pairs)
}

fn padded(set: &MetricSet) -> Vec<f64> {
    let mut v = set.values.clone();
    let expected = set.expected_data_points();
    if v.len() < expected {
        v.resize(expected, f64::NAN);
    }
    v
}

/// Java's `Map.toString()`: `{k1=v1, k2=v2}`.
fn java_map(m: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", parts.join(", "))
}

/// Java's `Collection.toString()`: `[a, b]`.
fn java_list(s: &BTreeSet<String>) -> String {
    let parts: Vec<&str> = s.iter().map(String::as_str).collect();
    format!("[{}]", parts.join(", "))
}

/// A UUID-shaped id derived from the pair's content, so that the same input gives the
/// same bytes (Kayenta draws a random UUID; clients only need it unique within a list).
fn pair_id(control: &MetricSet, experiment: &MetricSet) -> String {
    let key = format!(
        "{}\u{0}{}\u{0}{}\u{0}{}",
        control.metric_set_key().unwrap_or_default(),
        control.start_time_millis,
        experiment.start_time_millis,
        control.step_millis
    );
    let a = fnv1a64(key.as_bytes(), 0xcbf2_9ce4_8422_2325);
    let b = fnv1a64(key.as_bytes(), 0x8422_2325_cbf2_9ce4);
    // Version 8 (custom) and the RFC 4122 variant bits.
    let hi = (a & 0xffff_ffff_ffff_0fff) | 0x8000;
    let lo = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

fn fnv1a64(bytes: &[u8], seed: u64) -> u64 {
    let mut h = seed;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
