//! The Kayenta JSON model shared by the judge, the scorer, the sources and the service.

pub(crate) mod config;
mod metric_set;
mod result;

pub use config::{
    CanaryClassifierConfig, CanaryConfig, CanaryJudgeConfig, CanaryMetricConfig, MetricQuery,
    ScoreThresholds,
};
pub use metric_set::{ALIGNED_ATTRIBUTE, MetricSet, MetricSetPair, MetricSetScope, PairValues};
pub use result::{
    CanaryAnalysisResult, MetricClassification, MetricMetadata, MetricStatistics, ResultMetadata,
};
