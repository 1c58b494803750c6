//! Kayenta's `MetricSetPair`: the control (baseline) and experiment (canary) series of one
//! metric and one tag combination, as the mixer stores them (`METRIC_SET_PAIR_LIST`) and
//! `GET /metricSetPairList/{id}` serves them.

use crate::float;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::config::null_as_default;

/// One metric's baseline and canary series.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricSetPair {
    /// The metric name; matches a `CanaryMetricConfig.name`.
    #[serde(default)]
    pub name: String,
    /// A unique id for this pair (a UUID made by the mixer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The series' tags (for example Prometheus labels); one pair per tag combination.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: BTreeMap<String, String>,
    /// `{"control": [...], "experiment": [...]}`; NaN marks a missing sample.
    #[serde(default, deserialize_with = "null_as_default")]
    pub values: PairValues,
    /// The time grid of each side.
    #[serde(default, deserialize_with = "null_as_default")]
    pub scopes: BTreeMap<String, MetricSetScope>,
    /// Per side, string attributes such as the `query` that fetched it.
    #[serde(default, deserialize_with = "null_as_default")]
    pub attributes: BTreeMap<String, BTreeMap<String, String>>,
}

/// The two series of a pair.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PairValues {
    /// Baseline values.
    #[serde(default, with = "float::doubles")]
    pub control: Vec<f64>,
    /// Canary values.
    #[serde(default, with = "float::doubles")]
    pub experiment: Vec<f64>,
}

/// Where a side's series lies in time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricSetScope {
    /// First sample time, ISO-8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time_iso: Option<String>,
    /// First sample time, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time_millis: Option<i64>,
    /// Sample spacing in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_millis: Option<i64>,
}

/// The attribute a metric set carries when it lies on its requested time grid: one value
/// per step from `startTimeMillis`, NaN where the store had no sample.
pub const ALIGNED_ATTRIBUTE: &str = "aligned";

impl MetricSetPair {
    /// Whether baseline and canary may be compared timestamp by timestamp: both sides say
    /// they are aligned (`attributes.<side>.aligned == "true"`), have the same step and the
    /// same length. Pairs recorded by Kayenta carry no such promise.
    pub fn is_aligned(&self) -> bool {
        let side_aligned = |side: &str| {
            self.attributes
                .get(side)
                .and_then(|a| a.get(ALIGNED_ATTRIBUTE))
                .is_some_and(|v| v == "true")
        };
        let step = |side: &str| self.scopes.get(side).and_then(|s| s.step_millis);
        side_aligned("control")
            && side_aligned("experiment")
            && step("control").is_some()
            && step("control") == step("experiment")
            && self.values.control.len() == self.values.experiment.len()
    }
}

/// Kayenta's `MetricSet`: one series of one metric for one scope, as a metrics provider
/// returns it (`METRIC_SET_LIST`, `GET /metricSetList/{id}`).
///
/// `endTimeMillis` follows Kayenta's convention `start + count × step`, so that
/// [`MetricSet::expected_data_points`] is the number of values of a full series.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricSet {
    /// The metric name (a `CanaryMetricConfig.name`); empty means not set.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// The series' tags, for example Prometheus labels without `__name__`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: BTreeMap<String, String>,
    /// First sample time, epoch milliseconds.
    #[serde(default, deserialize_with = "null_as_default")]
    pub start_time_millis: i64,
    /// First sample time, ISO-8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time_iso: Option<String>,
    /// End of the series, epoch milliseconds.
    #[serde(default, deserialize_with = "null_as_default")]
    pub end_time_millis: i64,
    /// End of the series, ISO-8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time_iso: Option<String>,
    /// Sample spacing in milliseconds.
    #[serde(default, deserialize_with = "null_as_default")]
    pub step_millis: i64,
    /// The values; NaN marks a missing sample.
    #[serde(default, with = "float::doubles")]
    pub values: Vec<f64>,
    /// String attributes: `query`, `aligned`, provider details.
    #[serde(default, deserialize_with = "null_as_default")]
    pub attributes: BTreeMap<String, String>,
}

impl MetricSet {
    /// Kayenta's `expectedDataPoints()`: `(end − start) / step`, 0 when the step is 0 (or
    /// the span negative).
    pub fn expected_data_points(&self) -> usize {
        if self.step_millis <= 0 {
            return 0;
        }
        let span = self.end_time_millis.saturating_sub(self.start_time_millis);
        usize::try_from(span / self.step_millis).unwrap_or(0)
    }

    /// Kayenta's `getMetricSetKey()`: `name -> {k1:v1, k2:v2}` with the tags sorted by key;
    /// `None` when the name is empty (Kayenta throws).
    pub fn metric_set_key(&self) -> Option<String> {
        if self.name.is_empty() {
            return None;
        }
        let tags: Vec<String> = self.tags.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        Some(format!("{} -> {{{}}}", self.name, tags.join(", ")))
    }

    /// Whether the set says it lies on its requested time grid (see [`ALIGNED_ATTRIBUTE`]).
    pub fn is_aligned(&self) -> bool {
        self.attributes
            .get(ALIGNED_ATTRIBUTE)
            .is_some_and(|v| v == "true")
    }
}
