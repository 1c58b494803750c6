//! The judge crate's error type.

use thiserror::Error;

/// Why a judgement could not be made at all (as opposed to a metric classified `Error`).
#[derive(Debug, Error, Clone, PartialEq)]
pub enum JudgeError {
    /// A metric's `analysisConfigurations.canary` value has the wrong type.
    #[error("metric '{metric}': {field} {problem}")]
    InvalidSetting {
        /// Metric name.
        metric: String,
        /// JSON path of the setting.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// `judge.judgeConfigurations` has a bad value.
    #[error("{field} {problem}")]
    InvalidJudgeSetting {
        /// JSON path of the setting.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// A metric-set pair names no metric of the config (Kayenta's message).
    #[error("Could not find metric config for {0}")]
    UnknownMetric(String),
    /// The config selects a judge that does not exist (Kayenta's message).
    #[error("Unable to resolve canary judge '{0}'.")]
    UnknownJudge(String),
}

/// Why the Mann-Whitney interval could not be computed.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum MannWhitneyError {
    /// One side is empty.
    #[error("cannot compute confidence interval: {0} sample is empty")]
    Empty(&'static str),
    /// The data holds NaN or an infinity, or the search interval overflows.
    #[error("cannot compute confidence interval: {0}")]
    NonFinite(&'static str),
    /// Every pooled observation is tied (R's and Kayenta's message).
    #[error("cannot compute confidence interval when all observations are tied")]
    AllTied,
    /// The confidence level is not in (0, 1).
    #[error("confidence level must be strictly between 0 and 1, got {0}")]
    ConfLevel(f64),
}
