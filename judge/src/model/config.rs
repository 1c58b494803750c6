//! Kayenta's canary config (`CanaryConfig`, `CanaryMetricConfig`, query configs).
//!
//! Field names and shapes follow `kayenta-core/.../canary/CanaryConfig.java` and
//! `CanaryMetricConfig.java`. Unknown fields are ignored on input (Kayenta disables
//! `FAIL_ON_UNKNOWN_PROPERTIES`); `null` fields are omitted on output. Lists and maps that
//! Kayenta defaults to empty (`applications`, `metrics`, `templates`, `groups`) are always
//! written, as Jackson writes them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A canary config: the metrics to compare, how to query them, how to judge and score.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryConfig {
    /// Creation time, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_timestamp: Option<i64>,
    /// Last update time, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_timestamp: Option<i64>,
    /// `createdTimestamp` as an ISO-8601 instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_timestamp_iso: Option<String>,
    /// `updatedTimestamp` as an ISO-8601 instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_timestamp_iso: Option<String>,
    /// Config name; Kayenta requires it to match `[A-Z,a-z,0-9,\-,\_]*` when stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Config id (a UUID when generated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `"1.0"` or `1.0`: both are accepted and kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_version: Option<Value>,
    /// Applications the config belongs to.
    #[serde(default, deserialize_with = "null_as_default")]
    pub applications: Vec<String>,
    /// The judge to use (`NetflixACAJudge-v1.0` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<CanaryJudgeConfig>,
    /// The metrics to compare.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metrics: Vec<CanaryMetricConfig>,
    /// Named filter templates (`customFilterTemplate` refers to them).
    #[serde(default, deserialize_with = "null_as_default")]
    pub templates: BTreeMap<String, String>,
    /// Group weights and UI score thresholds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classifier: Option<CanaryClassifierConfig>,
}

impl CanaryConfig {
    /// The judge name the config selects, if any (empty counts as none).
    pub fn judge_name(&self) -> Option<&str> {
        self.judge
            .as_ref()
            .and_then(|j| j.name.as_deref())
            .filter(|n| !n.is_empty())
    }

    /// The metric config with this name (the first one, as Kayenta's lookup).
    pub fn metric(&self, name: &str) -> Option<&CanaryMetricConfig> {
        self.metrics
            .iter()
            .find(|m| m.name.as_deref() == Some(name))
    }

    /// `classifier.groupWeights`, empty when absent.
    pub fn group_weights(&self) -> BTreeMap<String, f64> {
        self.classifier
            .as_ref()
            .map(|c| c.group_weights.clone())
            .unwrap_or_default()
    }
}

/// `judge`: which judge runs, and its settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryJudgeConfig {
    /// Judge name, e.g. `NetflixACAJudge-v1.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Judge settings. Kayenta ignores them; kanary reads `tolerance` and `confLevel`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub judge_configurations: Map<String, Value>,
}

/// `classifier`: group weights (and the UI-only score thresholds).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryClassifierConfig {
    /// Group name to weight (0..100); groups not listed share the remainder.
    #[serde(default, deserialize_with = "null_as_default")]
    pub group_weights: BTreeMap<String, f64>,
    /// Shown by Spinnaker's UI; Kayenta's backend uses the request's thresholds instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_thresholds: Option<ScoreThresholds>,
}

/// Pass and marginal score thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoreThresholds {
    /// A score at or above this passes.
    pub pass: f64,
    /// A score at or above this (and below pass) is marginal; below it fails.
    pub marginal: f64,
}

impl Default for ScoreThresholds {
    fn default() -> Self {
        ScoreThresholds {
            pass: 95.0,
            marginal: 75.0,
        }
    }
}

/// One metric of a canary config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryMetricConfig {
    /// Metric name; the metric-set pairs refer to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How to query the metric store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<MetricQuery>,
    /// Scoring groups.
    #[serde(default, deserialize_with = "null_as_default")]
    pub groups: Vec<String>,
    /// Judge settings, by judge kind; the judges read the `"canary"` entry
    /// (see [`MetricSettings`](crate::MetricSettings)).
    #[serde(default, deserialize_with = "null_as_default")]
    pub analysis_configurations: Map<String, Value>,
    /// Which scope of the execution request this metric is fetched for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_name: Option<String>,
}

impl CanaryMetricConfig {
    /// The metric name, or `""` when missing.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }
}

/// A metric query, polymorphic by `type` (`prometheus`, `datadog`, `stackdriver`, ...).
///
/// The fields the Prometheus, Datadog and Stackdriver providers read are typed; anything
/// else (other providers' fields, the UI's `serviceType`) is kept in `extra` and written
/// back unchanged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricQuery {
    /// The provider type, e.g. `prometheus`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Prometheus/Datadog metric name (Datadog's includes the aggregator, e.g. `avg:system.cpu.user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_name: Option<String>,
    /// Stackdriver metric type, e.g. `compute.googleapis.com/instance/cpu/utilization`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_type: Option<String>,
    /// Resource type (`gce_instance`, `aws_ec2_instance`, `k8s_container`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// Prometheus label matchers, e.g. `mode=~"user|system"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_bindings: Option<Vec<String>>,
    /// Group-by fields (Prometheus `by (...)`, Stackdriver `groupByFields`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by_fields: Option<Vec<String>>,
    /// An inline filter template (wins over `customFilterTemplate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_inline_template: Option<String>,
    /// The name of an entry of the config's `templates`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_filter_template: Option<String>,
    /// Deprecated by Kayenta: using it is an error at query time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_filter: Option<String>,
    /// Stackdriver cross-series reducer (default `REDUCE_MEAN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cross_series_reducer: Option<String>,
    /// Stackdriver per-series aligner (default `ALIGN_MEAN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_series_aligner: Option<String>,
    /// Every other field, kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Reads `null` as the type's default (Jackson leaves Kayenta's defaults in place).
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
