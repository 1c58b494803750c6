//! Kayenta's standalone canary analysis wire model
//! (`kayenta-standalone-canary-analysis/.../domain/*.java`): the request a client sends and
//! the `canaryAnalysisExecutionResult` it reads back. Field names are Kayenta's (camelCase),
//! nulls are omitted, unknown input fields are ignored.

use kanary_judge::float;
use kanary_scoring::CanaryJudgeResult;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `CanaryAnalysisExecutionRequest`: what to analyse, for how long, how often.
///
/// The durations are whole minutes, as in Kayenta; [`crate::analysis::AnalysisSpec`] turns
/// them into seconds (the CLI builds a spec directly, with second precision).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryAnalysisExecutionRequest {
    /// The scopes; only `scopes[0]`'s start, end and step drive the timing.
    #[serde(default)]
    pub scopes: Vec<CanaryAnalysisExecutionRequestScope>,
    /// The score thresholds of every judgement and of the final decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<AnalysisThresholds>,
    /// How long the analysis lasts; required unless `scopes[0].endTimeIso` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_duration_mins: Option<i64>,
    /// Warm-up before the first window (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub begin_after_mins: Option<i64>,
    /// > 0 judges a sliding window of this length instead of a growing one (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookback_mins: Option<i64>,
    /// How often to judge (default: the lifetime, i.e. once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis_interval_mins: Option<i64>,
    /// Passed through untouched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_local: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `CanaryAnalysisExecutionRequestScope`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryAnalysisExecutionRequestScope {
    /// The scope name the config's metrics refer to (default `default`).
    #[serde(default = "default_scope_name")]
    pub scope_name: String,
    /// The baseline server group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_scope: Option<String>,
    /// The baseline's region or zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_location: Option<String>,
    /// Minutes subtracted from the control window (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_offset_in_minutes: Option<i64>,
    /// The canary server group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment_scope: Option<String>,
    /// The canary's region or zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment_location: Option<String>,
    /// Start of the analysis (ISO-8601; default: when the analysis starts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time_iso: Option<String>,
    /// End of the analysis (ISO-8601); takes precedence over the lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time_iso: Option<String>,
    /// Seconds between data points (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<i64>,
    /// Extra parameters for providers and templates.
    #[serde(default)]
    pub extended_scope_params: BTreeMap<String, String>,
}

impl Default for CanaryAnalysisExecutionRequestScope {
    fn default() -> Self {
        Self {
            scope_name: default_scope_name(),
            control_scope: None,
            control_location: None,
            control_offset_in_minutes: None,
            experiment_scope: None,
            experiment_location: None,
            start_time_iso: None,
            end_time_iso: None,
            step: None,
            extended_scope_params: BTreeMap::new(),
        }
    }
}

fn default_scope_name() -> String {
    kanary_metrics_sources::DEFAULT_SCOPE_NAME.to_string()
}

/// Kayenta's `CanaryClassifierThresholdsConfig`: both values may be missing, which the
/// final decision handles (`GenerateCanaryAnalysisResultTask.getAggregatedJudgment`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct AnalysisThresholds {
    /// The last score must reach this to pass.
    #[serde(
        default,
        with = "float::opt_double",
        skip_serializing_if = "Option::is_none"
    )]
    pub pass: Option<f64>,
    /// A score at or below this fails (and stops the analysis early).
    #[serde(
        default,
        with = "float::opt_double",
        skip_serializing_if = "Option::is_none"
    )]
    pub marginal: Option<f64>,
}

/// `CanaryAnalysisExecutionResult`: the scores of every judgement and the final decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryAnalysisExecutionResult {
    /// Whether the last score passed the thresholds.
    pub did_pass_thresholds: bool,
    /// Whether any judgement had warnings.
    pub has_warnings: bool,
    /// Why the analysis passed or failed (Kayenta's messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_score_message: Option<String>,
    /// The score of every judgement, in order.
    #[serde(default, with = "float::doubles")]
    pub canary_scores: Vec<f64>,
    /// One entry per judgement.
    #[serde(default)]
    pub canary_execution_results: Vec<CanaryExecutionResult>,
    /// When the analysis was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_time_iso: Option<String>,
    /// When the analysis started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time_iso: Option<String>,
    /// When the analysis ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time_iso: Option<String>,
}

/// `CanaryExecutionResult`: one judgement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryExecutionResult {
    /// The judgement's id.
    pub execution_id: String,
    /// Orca's status of the judgement: `SUCCEEDED` when it was judged (even when its score
    /// stopped the analysis), `TERMINAL` when fetching or judging failed.
    pub execution_status: String,
    /// What went wrong, as an Orca exception map (`{"details": {"errors": [...]}}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<serde_json::Value>,
    /// The judge result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<CanaryResult>,
    /// Start of the control window judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judgement_start_time_iso: Option<String>,
    /// Start of the control window judged, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judgement_start_time_millis: Option<i64>,
    /// End of the control window judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judgement_end_time_iso: Option<String>,
    /// End of the control window judged, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judgement_end_time_millis: Option<i64>,
    /// Warnings, e.g. too few data points.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The stored metric-set pair list, when stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_set_pair_list_id: Option<String>,
    /// When the judgement was created, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_time_millis: Option<i64>,
    /// When the judgement was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_time_iso: Option<String>,
    /// When fetching started, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time_millis: Option<i64>,
    /// When fetching started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time_iso: Option<String>,
    /// When the judgement ended, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time_millis: Option<i64>,
    /// When the judgement ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time_iso: Option<String>,
    /// The storage account, when stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_account_name: Option<String>,
    /// The configuration account, when the config came from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_account_name: Option<String>,
}

/// Kayenta's `CanaryResult`: the judge result and the window length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryResult {
    /// What `kanary judge --format json` prints for the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge_result: Option<CanaryJudgeResult>,
    /// The window length as an ISO-8601 duration (`PT20M`), when control and experiment
    /// windows have the same length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_duration: Option<String>,
}
