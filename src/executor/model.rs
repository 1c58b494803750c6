//! What the API stores for an execution and what the worker writes back: Kayenta's
//! `CanaryExecutionRequest`, the execution's record (`Execution::request`) and its
//! progress (`Execution::state`), and Orca's stage names and exception shape.

use std::collections::BTreeMap;

use kanary_metrics_sources::CanaryScope;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::analysis::{AnalysisThresholds, CanaryAnalysisExecutionRequest};

/// `CanaryStageNames.REFID_SET_CONTEXT`.
pub const STAGE_SETUP: &str = "setupContext";
/// `CanaryStageNames.REFID_FETCH_CONTROL_PREFIX`.
pub const STAGE_FETCH_CONTROL: &str = "fetchControl";
/// `CanaryStageNames.REFID_FETCH_EXPERIMENT_PREFIX`.
pub const STAGE_FETCH_EXPERIMENT: &str = "fetchExperiment";
/// `CanaryStageNames.REFID_MIX_METRICS`.
pub const STAGE_MIX: &str = "mixMetrics";
/// `CanaryStageNames.REFID_JUDGE`.
pub const STAGE_JUDGE: &str = "judge";

/// `SetupAndExecuteCanariesStage.STAGE_TYPE`.
pub const SETUP_AND_EXECUTE_TYPE: &str = "setupAndExecuteCanariesStage";
/// `SetupAndExecuteCanariesStage.STAGE_DESCRIPTION` (the stage's name).
pub const SETUP_AND_EXECUTE_NAME: &str =
    "Sets up and executes the wait, run and monitor canary task chain.";
/// `GenerateCanaryAnalysisResultStage.STAGE_TYPE`.
pub const GENERATE_RESULT_TYPE: &str = "generateCanaryAnalysisResultStage";
/// `GenerateCanaryAnalysisResultStage.STAGE_DESCRIPTION` (the stage's name).
pub const GENERATE_RESULT_NAME: &str =
    "Aggregates and evaluates the canary executions and generates the final results.";
/// Orca's `WaitStage.STAGE_TYPE`.
pub const WAIT_TYPE: &str = "wait";
/// `RunCanaryStage.STAGE_TYPE`.
pub const RUN_CANARY_TYPE: &str = "runCanary";
/// `RunCanaryStage.STAGE_NAME_PREFIX`.
pub const RUN_CANARY_PREFIX: &str = "Run Canary #";
/// The warm-up wait's name.
pub const WARMUP_WAIT_NAME: &str = "Warmup Wait";
/// The interval waits' name prefix.
pub const INTERVAL_WAIT_PREFIX: &str = "Interval Wait #";

/// Kayenta's `CanaryExecutionRequest`: the body of `POST /canary/{configId}` (Orca sends
/// integer thresholds, Argo Rollouts integer thresholds and `location: ""`; both read as
/// doubles and are written back as Kayenta writes them, e.g. `95.0`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryExecutionRequest {
    /// Scope pairs by scope name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<BTreeMap<String, ScopePairRequest>>,
    /// The judge's score thresholds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<AnalysisThresholds>,
    /// Free-form metadata (`[{name, value, hidden}]`), passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Vec<Value>>,
    /// Passed through untouched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_local: Option<Map<String, Value>>,
}

/// Kayenta's `CanaryScopePair` as a request carries it: either side may be missing
/// (ExecutionMapper reports which).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopePairRequest {
    /// The baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_scope: Option<CanaryScope>,
    /// The canary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment_scope: Option<CanaryScope>,
}

/// What `Execution::request` holds for a `/canary` execution (the `setupContext` stage
/// context of Kayenta's pipeline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryRecord {
    /// The application.
    pub application: String,
    /// The caller's pipeline, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_pipeline_execution_id: Option<String>,
    /// The config id, or `ad-hoc`.
    pub canary_config_id: String,
    /// The config, templates escaped (`QueryConfigUtils.escapeTemplates`).
    pub config: Value,
    /// The request.
    pub execution_request: CanaryExecutionRequest,
    /// The resolved metrics account.
    pub metrics_account_name: String,
    /// The resolved storage account.
    pub storage_account_name: String,
    /// The resolved configuration account (not for ad-hoc runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_account_name: Option<String>,
}

/// What `Execution::state` holds for a `/canary` execution.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryState {
    /// Stage refId → lower-case Orca status.
    #[serde(default)]
    pub stage_status: BTreeMap<String, String>,
    /// The stored pair list (`mixMetrics` output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_set_pair_list_id: Option<String>,
    /// `{judgeResult, canaryDuration}` once judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// Orca's exception map of the failed stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<Value>,
}

impl CanaryState {
    /// Every stage of a config with `metrics` metrics, `not_started`.
    pub fn initial(metrics: usize) -> Self {
        let mut stage_status = BTreeMap::new();
        stage_status.insert(STAGE_SETUP.to_string(), "not_started".to_string());
        for i in 0..metrics {
            stage_status.insert(format!("{STAGE_FETCH_CONTROL}{i}"), "not_started".into());
            stage_status.insert(format!("{STAGE_FETCH_EXPERIMENT}{i}"), "not_started".into());
        }
        stage_status.insert(STAGE_MIX.to_string(), "not_started".to_string());
        stage_status.insert(STAGE_JUDGE.to_string(), "not_started".to_string());
        Self {
            stage_status,
            ..Self::default()
        }
    }

    /// Sets the stages whose name is `name` or starts with it (`fetchControl` covers
    /// `fetchControl0..n`).
    pub(crate) fn set(&mut self, prefix: &str, status: &str) {
        for (k, v) in self.stage_status.iter_mut() {
            let matches = if prefix == STAGE_FETCH_CONTROL || prefix == STAGE_FETCH_EXPERIMENT {
                k.strip_prefix(prefix)
                    .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
            } else {
                k == prefix
            };
            if matches {
                *v = status.to_string();
            }
        }
    }

    /// Every running stage becomes `to` (a cancel, a lost run).
    pub(crate) fn finish_running(&mut self, to: &str) {
        for v in self.stage_status.values_mut() {
            if v == "running" {
                *v = to.to_string();
            }
        }
    }
}

/// What `Execution::request` holds for a standalone analysis (Kayenta's
/// `CanaryAnalysisConfig`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StandaloneRecord {
    /// The application (default `ad-hoc`).
    pub application: String,
    /// The initiating user (default `anonymous`).
    pub user: String,
    /// The caller's pipeline, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_pipeline_execution_id: Option<String>,
    /// The stored config's id (absent for ad-hoc analyses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_config_id: Option<String>,
    /// The config, templates escaped.
    pub canary_config: Value,
    /// The request.
    pub execution_request: CanaryAnalysisExecutionRequest,
    /// The resolved metrics account.
    pub metrics_account_name: String,
    /// The resolved storage account.
    pub storage_account_name: String,
    /// The configuration account as given (Kayenta records the unresolved name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_account_name: Option<String>,
}

/// Kayenta's `StageMetadata`: one stage of a standalone analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageMetadata {
    /// The stage type (`wait`, `runCanary`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// The stage name (`Run Canary #1`, ...).
    pub name: String,
    /// Orca's upper-case status.
    pub status: String,
    /// The canary run's id (`runCanary` stages, once started).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
}

impl StageMetadata {
    fn new(kind: &str, name: String) -> Self {
        Self {
            kind: kind.to_string(),
            name,
            status: "NOT_STARTED".to_string(),
            execution_id: None,
        }
    }
}

/// What `Execution::state` holds for a standalone analysis.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StandaloneState {
    /// The stages, in pipeline order.
    #[serde(default)]
    pub stage_status: Vec<StageMetadata>,
    /// The result (`generateCanaryAnalysisResultStage` output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_analysis_execution_result: Option<Value>,
    /// Orca's exception map of the first failed stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<Value>,
}

impl StandaloneState {
    /// The stages `SetupAndExecuteCanariesStage.beforeStages` builds for `judgements`
    /// judgements, all `NOT_STARTED`: the warm-up wait when there is one, an interval
    /// wait before each run when the request has no end time, the runs; then the parent
    /// stage and the result stage.
    pub fn initial(judgements: usize, warmup: bool, interval_waits: bool) -> Self {
        let mut stages = Vec::with_capacity(judgements * 2 + 3);
        if warmup {
            stages.push(StageMetadata::new(WAIT_TYPE, WARMUP_WAIT_NAME.to_string()));
        }
        for i in 1..=judgements {
            if interval_waits {
                stages.push(StageMetadata::new(
                    WAIT_TYPE,
                    format!("{INTERVAL_WAIT_PREFIX}{i}"),
                ));
            }
            stages.push(StageMetadata::new(
                RUN_CANARY_TYPE,
                format!("{RUN_CANARY_PREFIX}{i}"),
            ));
        }
        stages.push(StageMetadata::new(
            SETUP_AND_EXECUTE_TYPE,
            SETUP_AND_EXECUTE_NAME.to_string(),
        ));
        stages.push(StageMetadata::new(
            GENERATE_RESULT_TYPE,
            GENERATE_RESULT_NAME.to_string(),
        ));
        Self {
            stage_status: stages,
            ..Self::default()
        }
    }

    /// The stage named `name`.
    pub(crate) fn stage(&mut self, name: &str) -> Option<&mut StageMetadata> {
        self.stage_status.iter_mut().find(|s| s.name == name)
    }

    /// Sets the status of the stage named `name`, if there is one.
    pub(crate) fn set(&mut self, name: &str, status: &str) {
        if let Some(s) = self.stage(name) {
            s.status = status.to_string();
        }
    }

    /// Every running stage becomes `to`.
    pub(crate) fn finish_running(&mut self, to: &str) {
        for s in &mut self.stage_status {
            if s.status == "RUNNING" {
                s.status = to.to_string();
            }
        }
    }
}

/// Orca's exception map for a failed task (`ExceptionHandler.Response`):
/// `{"exceptionType", "shouldRetry": false, "details": {"error", "errors": [...]}}`.
pub fn exception(exception_type: &str, error: &str, errors: &[String]) -> Value {
    serde_json::json!({
        "exceptionType": exception_type,
        "shouldRetry": false,
        "details": {"error": error, "errors": errors},
    })
}
