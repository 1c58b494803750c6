//! Kayenta-compatible per-metric canary judge.
//!
//! `kanary-judge` holds the Kayenta JSON model (canary config, metric-set pairs, per-metric
//! results), the preprocessing (NaN strategy, IQR outliers), the statistics (descriptive
//! statistics, mean ratio, CLES, the Mann-Whitney interval and estimate) and the
//! classifier of Kayenta's `NetflixACAJudge-v1.0`, reproducing its numbers and labels.
//! It is pure and synchronous: no I/O, no clock, no randomness; the same input gives the
//! same output bytes.
//!
//! ```
//! use kanary_judge::{mann_whitney_interval, CanaryConfig, MetricSetPair, judge_pairs};
//!
//! // The interval and estimate of the shift canary − baseline, at 95 %.
//! let i = mann_whitney_interval(&[10.0, 20.0, 30.0, 40.0], &[1.0, 2.0, 3.0, 4.0], 0.95)?;
//! assert_eq!((i.lower, i.upper), (6.0, 39.0));
//!
//! // A whole config and its recorded pairs.
//! let config: CanaryConfig = serde_json::from_str(
//!     r#"{"metrics": [{"name": "latency", "groups": ["perf"],
//!         "analysisConfigurations": {"canary": {"direction": "increase"}}}]}"#)?;
//! let pairs: Vec<MetricSetPair> = serde_json::from_str(
//!     r#"[{"name": "latency", "values": {"control": [1.0, 1.1, 0.9, 1.0, "NaN"],
//!                                        "experiment": [2.0, 2.1, 1.9, 2.2, 2.0]}}]"#)?;
//! let (_judge, results) = judge_pairs(&config, &pairs, None)?;
//! assert_eq!(results[0].classification.as_str(), "High");
//! assert_eq!(results[0].control_metadata.stats.count, 4); // the NaN was removed
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Deliberate deviations from Kayenta (documented in the README): constant-vs-constant
//! data is decided without random noise; `judge.judgeConfigurations.tolerance` and
//! `.confLevel` are honoured; `dredd-v1.0` is seeded by its input; infinite values give an
//! `Error` classification with a reason instead of an undefined result.

mod classifier;
mod error;
pub mod float;
mod judge;
pub mod kanary_v1;
pub mod mann_whitney;
mod model;
mod normal;
pub mod outliers;
mod settings;
pub mod stats;
pub mod transforms;
pub mod zeroin;

pub use classifier::{MannWhitneyClassifier, MetricClassificationResult, mean_inequality_classify};
pub use error::{JudgeError, MannWhitneyError};
pub use judge::{
    DREDD_JUDGE, JudgeKind, NETFLIX_ACA_JUDGE, dredd_metric, judge_pairs, netflix_metric,
};
pub use kanary_v1::{KANARY_V1_JUDGE, judge_kanary_v1};
pub use mann_whitney::{MannWhitneyInterval, WilcoxonDiff, mann_whitney_interval, qnorm};
pub use model::*;
pub use settings::{
    Direction, EffectSizeMeasure, JudgeSettings, MetricSettings, NanStrategy, describe_json,
    map_get,
};
