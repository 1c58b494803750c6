//! Kayenta's standalone canary analysis (`/standalone_canary_analysis`): judge a canary
//! repeatedly over its lifetime, stop early on a bad score, decide on the last score.
//!
//! The runner is independent of the command line: `kanary analyze` and the HTTP service
//! call [`run`] with a [`AnalysisSpec`] (read from Kayenta's
//! [`CanaryAnalysisExecutionRequest`] with [`AnalysisSpec::from_request`], or built with
//! second precision), a canary config, a [`kanary_metrics_sources::MetricsSource`], a
//! [`Clock`] and an [`Observer`].
//!
//! ```
//! use kanary::analysis::{Analysis, AnalysisSpec, CanaryAnalysisExecutionRequest, Plan};
//!
//! let request: CanaryAnalysisExecutionRequest = serde_json::from_str(r#"{
//!     "scopes": [{"controlScope": "web-baseline", "experimentScope": "web-canary",
//!                 "startTimeIso": "2026-11-30T10:00:00Z", "endTimeIso": "2026-11-30T11:00:00Z"}],
//!     "thresholds": {"pass": 95, "marginal": 75},
//!     "analysisIntervalMins": 20}"#)?;
//! let spec = AnalysisSpec::from_request(&request)?;
//! let plan = Plan::new(&spec, chrono::Utc::now())?;
//! assert_eq!(plan.judgements(), 3);
//! assert_eq!(plan.windows[0].end.to_rfc3339(), "2026-11-30T10:20:00+00:00");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod decision;
mod java;
mod model;
mod plan;
mod runner;
mod sequential;

pub use decision::{EARLY_FAIL_MESSAGE, NO_JUDGEMENTS_MESSAGE, aggregated_judgement, stops_early};
pub use java::{double_to_string, duration_to_string};
pub use model::{
    AnalysisThresholds, CanaryAnalysisExecutionRequest, CanaryAnalysisExecutionRequestScope,
    CanaryAnalysisExecutionResult, CanaryExecutionResult, CanaryResult,
};
pub use plan::{AnalysisSpec, MAX_JUDGEMENTS, Plan, ScopeSpec, Window, scope_pairs};
pub use runner::{
    Analysis, AnalysisReport, Clock, DEFAULT_PROGRESS_EVERY, FEW_DATA_POINTS_WARNING,
    MIN_DATA_POINTS, Observer, Progress, SystemClock, run,
};
pub use sequential::{EARLY_PASS_MESSAGE, Sequential};

use chrono::{DateTime, Utc};
use kanary_metrics_sources::SourceError;
use kanary_metrics_sources::scope::iso;

/// Why an analysis could not run to its decision.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// The request is unusable (Kayenta's `IllegalArgumentException` messages where it has
    /// one, e.g. "Canary StageExecution configuration must include either `endTime` or
    /// `lifetimeDuration`.").
    #[error("{0}")]
    Invalid(String),
    /// A judgement failed; the analysis ends there.
    // The failure's text is part of this message (not a `source`), so `{:#}` prints it once.
    #[error("judgement {index}/{of} ({} to {}): {error}", iso(start), iso(end))]
    Interval {
        /// 1-based judgement number.
        index: usize,
        /// Number of judgements.
        of: usize,
        /// Window start.
        start: DateTime<Utc>,
        /// Window end.
        end: DateTime<Utc>,
        /// What failed.
        error: Box<IntervalError>,
        /// The result so far, the failed judgement `TERMINAL` (what Kayenta reports for
        /// a failed run).
        partial: Box<CanaryAnalysisExecutionResult>,
    },
}

/// What failed in one judgement.
#[derive(Debug, thiserror::Error)]
pub enum IntervalError {
    /// The window could not be turned into scopes.
    #[error(transparent)]
    Plan(Box<AnalysisError>),
    /// Fetching the metrics failed.
    #[error(transparent)]
    Fetch(SourceError),
    /// Judging failed (a bad setting in the config).
    #[error(transparent)]
    Judge(kanary_judge::JudgeError),
}

impl From<AnalysisError> for IntervalError {
    fn from(e: AnalysisError) -> Self {
        IntervalError::Plan(Box::new(e))
    }
}
