//! Kayenta's per-metric result (`CanaryAnalysisResult`) and its parts.

use crate::float;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

use super::config::null_as_default;

/// A metric's classification (`BaseMetricClassifier.scala`), written as its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MetricClassification {
    /// No significant difference (or not in a direction that matters).
    Pass,
    /// The canary is significantly higher than the baseline.
    High,
    /// The canary is significantly lower than the baseline.
    Low,
    /// A side had no data.
    Nodata,
    /// A side had no data and the metric has `mustHaveData`.
    NodataFailMetric,
    /// The classifier failed on this data.
    Error,
    /// kanary-v1 only: neither harm nor "no harm" could be shown with the data at hand
    /// (not scored in the group totals; caps the summary at marginal).
    Inconclusive,
}

impl MetricClassification {
    /// The name Kayenta writes.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricClassification::Pass => "Pass",
            MetricClassification::High => "High",
            MetricClassification::Low => "Low",
            MetricClassification::Nodata => "Nodata",
            MetricClassification::NodataFailMetric => "NodataFailMetric",
            MetricClassification::Error => "Error",
            MetricClassification::Inconclusive => "Inconclusive",
        }
    }
}

impl fmt::Display for MetricClassification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Descriptive statistics of one side after the transforms
/// (`MetricStatistics`: min, max, mean, sample std, count).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricStatistics {
    /// Smallest value (0 when empty).
    #[serde(default, with = "float::double")]
    pub min: f64,
    /// Largest value (0 when empty).
    #[serde(default, with = "float::double")]
    pub max: f64,
    /// Arithmetic mean (0 when empty).
    #[serde(default, with = "float::double")]
    pub mean: f64,
    /// Sample standard deviation, n − 1 denominator (0 for fewer than two values).
    #[serde(default, with = "float::double")]
    pub std: f64,
    /// Number of values after the transforms.
    #[serde(default)]
    pub count: u64,
}

/// `experimentMetadata` / `controlMetadata`: `{"stats": {...}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricMetadata {
    /// The side's statistics.
    #[serde(default)]
    pub stats: MetricStatistics,
    /// Anything else a judge adds, kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `resultMetadata`: the mean ratio, and the interval and estimate when computed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultMetadata {
    /// mean(canary) / mean(baseline); NaN when either mean is 0 (or when absent on input).
    #[serde(default = "nan", with = "float::double")]
    pub ratio: f64,
    /// Lower end of the confidence interval of the shift canary − baseline.
    #[serde(
        default,
        with = "float::opt_double",
        skip_serializing_if = "Option::is_none"
    )]
    pub lower_confidence: Option<f64>,
    /// Upper end of the confidence interval of the shift canary − baseline.
    #[serde(
        default,
        with = "float::opt_double",
        skip_serializing_if = "Option::is_none"
    )]
    pub upper_confidence: Option<f64>,
    /// Estimated shift canary − baseline (kanary-v1: the change as a ratio).
    #[serde(
        default,
        with = "float::opt_double",
        skip_serializing_if = "Option::is_none"
    )]
    pub estimate: Option<f64>,
    /// kanary-v1: the metric's p-value (before the adjustment across metrics).
    #[serde(
        default,
        with = "float::opt_double",
        skip_serializing_if = "Option::is_none"
    )]
    pub p_value: Option<f64>,
    /// kanary-v1: the p-value adjusted across the family of metrics, compared with alpha.
    #[serde(
        default,
        with = "float::opt_double",
        skip_serializing_if = "Option::is_none"
    )]
    pub adjusted_p_value: Option<f64>,
    /// kanary-v1: the test that produced the p-value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    /// Anything else a judge adds, kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn nan() -> f64 {
    f64::NAN
}

/// One metric's result (`CanaryAnalysisResult.java`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryAnalysisResult {
    /// Metric name.
    pub name: String,
    /// The metric-set pair's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The pair's tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: BTreeMap<String, String>,
    /// The classification.
    pub classification: MetricClassification,
    /// Why; absent for a plain Pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification_reason: Option<String>,
    /// The metric's scoring groups.
    #[serde(default, deserialize_with = "null_as_default")]
    pub groups: Vec<String>,
    /// Canary statistics.
    #[serde(default)]
    pub experiment_metadata: MetricMetadata,
    /// Baseline statistics.
    #[serde(default)]
    pub control_metadata: MetricMetadata,
    /// Ratio, interval, estimate; absent on `Error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_metadata: Option<ResultMetadata>,
    /// True for a critical High/Low escalation or a critical Nodata.
    #[serde(default)]
    pub critical: bool,
    /// Reported but not scored.
    #[serde(default)]
    pub muted: bool,
}
