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
