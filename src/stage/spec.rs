//! What a stage runs ([`StageSpec`], from the command line or from
//! [`StageRequest`], the body of `POST /stages/canary`) and where it stands
//! ([`StageStatus`], the body of `GET /stages/canary/{id}`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::StageError;
use super::resources::{check_deployment_name, check_label_value};
use crate::analysis::{AnalysisThresholds, CanaryAnalysisExecutionResult};
use crate::commands::analyze::parse_duration;

/// Default wait for the baseline and canary to become available.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(600);
/// Default wait for production's rollout after a promotion.
pub const DEFAULT_ROLLOUT_TIMEOUT: Duration = Duration::from_secs(600);
/// The most pods a side may have: a canary is small.
pub const MAX_REPLICAS: i32 = 100;

/// A validated stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StageSpec {
    /// Production's namespace.
    pub namespace: String,
    /// Production's Deployment.
    pub deployment: String,
    /// The container whose image the canary changes.
    pub container: String,
    /// The canary's image.
    pub image: String,
    /// Pods per side.
    pub replicas: i32,
    /// How long the analysis runs.
    pub lifetime_secs: i64,
    /// How often it judges (`None`: once, at the end).
    pub interval_secs: Option<i64>,
    /// Seconds between data points.
    pub step_secs: i64,
    /// Warm-up after both are available, before the first window starts.
    pub begin_after_secs: i64,
    /// Pass and marginal.
    pub thresholds: AnalysisThresholds,
    /// On a pass, set production's image and wait for its rollout.
    pub promote: bool,
    /// Wait for the baseline and canary at most this long.
    pub ready_timeout: Duration,
    /// Wait for production's rollout at most this long.
    pub rollout_timeout: Duration,
    /// Labels set on both sides' pods over production's (e.g. `track=canary`).
    pub pod_labels: BTreeMap<String, String>,
    /// The run id (label `kanary.io/run`).
    pub run_id: String,
    /// The scope name the config's metrics use.
    pub scope_name: String,
}

impl StageSpec {
    /// Checks what the API server or the analysis would refuse later, naming the field.
    pub fn validate(&self) -> Result<(), StageError> {
        check_deployment_name("deployment", &self.deployment)?;
        check_deployment_name("namespace", &self.namespace)?;
        check_label_value("runId", &self.run_id)?;
        if self.container.trim().is_empty() {
            return Err(StageError::Invalid("container: must not be empty".into()));
        }
        if self.image.trim().is_empty() || self.image.chars().any(char::is_whitespace) {
            return Err(StageError::Invalid(format!(
                "image: '{}' is not an image reference like registry/web:1.2.3",
                self.image
            )));
        }
        if !(1..=MAX_REPLICAS).contains(&self.replicas) {
            return Err(StageError::Invalid(format!(
                "replicas: {} is not between 1 and {MAX_REPLICAS}",
                self.replicas
            )));
        }
        if self.lifetime_secs <= 0 {
            return Err(StageError::Invalid(
                "lifetime: must be longer than 0s".into(),
            ));
        }
        if let Some(i) = self.interval_secs {
            if i <= 0 || i > self.lifetime_secs {
                return Err(StageError::Invalid(format!(
                    "interval: {i}s must be longer than 0s and at most the lifetime ({}s)",
                    self.lifetime_secs
                )));
            }
        }
        if self.step_secs <= 0 {
            return Err(StageError::Invalid(
                "step: must be at least 1 second".into(),
            ));
        }
        for (k, v) in &self.pod_labels {
            if k.starts_with("kanary.io/") {
                return Err(StageError::Invalid(format!(
                    "podLabels: '{k}' is kanary's own label"
                )));
            }
            if k.is_empty() || k.len() > 253 || k.chars().any(char::is_whitespace) {
                return Err(StageError::Invalid(format!(
                    "podLabels: '{k}' is not a label key"
                )));
            }
            if !v.is_empty() {
                check_label_value(&format!("podLabels.{k}"), v)?;
            }
        }
        Ok(())
    }

    /// `<production>-baseline`.
    pub fn baseline_name(&self) -> String {
        super::resources::Role::Baseline.name(&self.deployment)
    }

    /// `<production>-canary`.
    pub fn canary_name(&self) -> String {
        super::resources::Role::Canary.name(&self.deployment)
    }
}

/// The body of `POST /stages/canary`: the CLI's flags as JSON (durations as text like
/// `1h` or `5m`), metrics from a configured account, and the canary config by id or
/// inline, never by URL.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StageRequest {
    /// Production's namespace.
    pub namespace: String,
    /// Production's Deployment.
    pub deployment: String,
    /// The container whose image changes.
    pub container: String,
    /// The canary's image.
    pub image: String,
    /// Pods per side (default 1).
    #[serde(default)]
    pub replicas: Option<i32>,
    /// How long the analysis runs, e.g. `1h`.
    pub lifetime: String,
    /// How often to judge, e.g. `5m` (default: once).
    #[serde(default)]
    pub interval: Option<String>,
    /// Seconds between data points (default 60).
    #[serde(default)]
    pub step: Option<i64>,
    /// Warm-up, e.g. `2m`.
    #[serde(default)]
    pub begin_after: Option<String>,
    /// Pass threshold (default 95).
    #[serde(default)]
    pub pass: Option<f64>,
    /// Marginal threshold (default 75).
    #[serde(default)]
    pub marginal: Option<f64>,
    /// Promote on a pass.
    #[serde(default)]
    pub promote: bool,
    /// Wait for availability, e.g. `10m`.
    #[serde(default)]
    pub ready_timeout: Option<String>,
    /// Wait for production's rollout, e.g. `10m`.
    #[serde(default)]
    pub rollout_timeout: Option<String>,
    /// Labels for both sides' pods over production's.
    #[serde(default)]
    pub pod_labels: BTreeMap<String, String>,
    /// The scope name the config's metrics use (default `default`).
    #[serde(default)]
    pub scope_name: Option<String>,
    /// A configured metrics account (default: the only or the first one).
    #[serde(default)]
    pub metrics_account_name: Option<String>,
    /// A stored canary config.
    #[serde(default)]
    pub canary_config_id: Option<String>,
    /// An inline canary config.
    #[serde(default)]
    pub canary_config: Option<Value>,
    /// The application (listings filter on it).
    #[serde(default)]
    pub application: Option<String>,
}

impl StageRequest {
    /// The spec, run id `run_id`; errors name the field.
    pub fn to_spec(&self, run_id: &str) -> Result<StageSpec, StageError> {
        let duration = |field: &str, text: &str| {
            parse_duration(field, text).map_err(|e| StageError::Invalid(e.to_string()))
        };
        let optional = |field: &str, text: &Option<String>| {
            text.as_deref().map(|t| duration(field, t)).transpose()
        };
        let thresholds = crate::commands::thresholds::resolve(None, self.pass, self.marginal)
            .map_err(|e| StageError::Invalid(e.to_string()))?;
        let timeout = |field: &str, text: &Option<String>, default: Duration| {
            optional(field, text).map(|s| {
                s.map(|s| Duration::from_secs(u64::try_from(s).unwrap_or(0)))
                    .unwrap_or(default)
            })
        };
        let spec = StageSpec {
            namespace: self.namespace.clone(),
            deployment: self.deployment.clone(),
            container: self.container.clone(),
            image: self.image.clone(),
            replicas: self.replicas.unwrap_or(1),
            lifetime_secs: duration("lifetime", &self.lifetime)?,
            interval_secs: optional("interval", &self.interval)?,
            step_secs: self.step.unwrap_or(60),
            begin_after_secs: optional("beginAfter", &self.begin_after)?.unwrap_or(0),
            thresholds: AnalysisThresholds {
                pass: Some(thresholds.pass),
                marginal: Some(thresholds.marginal),
            },
            promote: self.promote,
            ready_timeout: timeout("readyTimeout", &self.ready_timeout, DEFAULT_READY_TIMEOUT)?,
            rollout_timeout: timeout(
                "rolloutTimeout",
                &self.rollout_timeout,
                DEFAULT_ROLLOUT_TIMEOUT,
            )?,
            pod_labels: self.pod_labels.clone(),
            run_id: run_id.to_string(),
            scope_name: self
                .scope_name
                .clone()
                .unwrap_or_else(|| "default".to_string()),
        };
        spec.validate()?;
        Ok(spec)
    }
}

/// Where a stage is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum StagePhase {
    /// Not started yet.
    #[default]
    Pending,
    /// Creating the baseline and canary and waiting for them.
    Deploying,
    /// Judging.
    Analyzing,
    /// Setting production's image and waiting for its rollout.
    Promoting,
    /// The canary passed (and was promoted when asked).
    Succeeded,
    /// The canary failed, or the stage could not finish.
    Failed,
    /// Someone canceled it.
    Canceled,
}

impl StagePhase {
    /// Whether the stage is over.
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            StagePhase::Succeeded | StagePhase::Failed | StagePhase::Canceled
        )
    }
}

/// The analysis's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The last score reached the pass threshold.
    Pass,
    /// It did not, or a score at or below marginal stopped the analysis.
    Fail,
}

/// A stage's state: what `GET /stages/canary/{id}` answers and what the service persists
/// (a resumed stage reads `analysisStartIso` back).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct StageStatus {
    /// The stage id (the service's; empty in the CLI).
    #[serde(default)]
    pub stage_id: String,
    /// Where it is.
    pub phase: StagePhase,
    /// What it is doing or why it ended, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Production's namespace.
    pub namespace: String,
    /// Production's Deployment.
    pub deployment: String,
    /// The canary's image.
    pub image: String,
    /// Production's image before the stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production_image: Option<String>,
    /// The baseline Deployment.
    pub baseline: String,
    /// The canary Deployment.
    pub canary: String,
    /// The run id (label `kanary.io/run`).
    pub run_id: String,
    /// The judgement being waited for or last made (1-based), while analyzing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<usize>,
    /// Number of judgements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intervals: Option<usize>,
    /// The scores so far.
    #[serde(default)]
    pub scores: Vec<f64>,
    /// The decision, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// The analysis's id (its judgements are `<analysisId>-<i>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis_id: Option<String>,
    /// When the analysis started (kept across a resume, so the windows do not move).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis_start_iso: Option<String>,
    /// Whether production now runs the canary's image.
    #[serde(default)]
    pub promoted: bool,
    /// Things worth knowing (a selector overlap, a leftover deleted, a failed delete).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Why the stage failed, when it failed without a verdict or after one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Kayenta's analysis result, once there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<CanaryAnalysisExecutionResult>,
}

impl StageStatus {
    /// The status of a stage about to start.
    pub fn new(stage_id: &str, spec: &StageSpec) -> Self {
        StageStatus {
            stage_id: stage_id.to_string(),
            phase: StagePhase::Pending,
            namespace: spec.namespace.clone(),
            deployment: spec.deployment.clone(),
            image: spec.image.clone(),
            baseline: spec.baseline_name(),
            canary: spec.canary_name(),
            run_id: spec.run_id.clone(),
            ..StageStatus::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(body: Value) -> Result<StageSpec, String> {
        let r: StageRequest = serde_json::from_value(body).map_err(|e| e.to_string())?;
        r.to_spec("run-1").map_err(|e| e.to_string())
    }

    #[test]
    fn a_request_becomes_a_spec_in_seconds() {
        let spec = request(json!({
            "namespace": "prod", "deployment": "web", "container": "app",
            "image": "repo/web:B", "lifetime": "1h", "interval": "5m",
            "beginAfter": "2m", "pass": 90, "marginal": 70, "promote": true,
            "podLabels": {"track": "canary"}, "canaryConfigId": "c1"
        }))
        .expect("valid");
        assert_eq!(spec.lifetime_secs, 3600);
        assert_eq!(spec.interval_secs, Some(300));
        assert_eq!(spec.begin_after_secs, 120);
        assert_eq!(spec.step_secs, 60);
        assert_eq!(spec.replicas, 1);
        assert_eq!(spec.thresholds.pass, Some(90.0));
        assert_eq!(spec.thresholds.marginal, Some(70.0));
        assert!(spec.promote);
        assert_eq!(spec.ready_timeout, DEFAULT_READY_TIMEOUT);
        assert_eq!(spec.baseline_name(), "web-baseline");
    }

    #[test]
    fn bad_fields_are_named() {
        let base = json!({"namespace": "prod", "deployment": "web", "container": "app",
                          "image": "repo/web:B", "lifetime": "1h"});
        let with = |k: &str, v: Value| {
            let mut b = base.clone();
            b[k] = v;
            request(b).expect_err("invalid")
        };
        assert!(with("lifetime", json!("1x")).starts_with("lifetime: '1x' is not a duration"));
        assert!(with("interval", json!("2h")).starts_with("interval: 7200s must be"));
        assert_eq!(
            with("replicas", json!(0)),
            "replicas: 0 is not between 1 and 100"
        );
        assert!(with("deployment", json!("Web_1")).starts_with("deployment: 'Web_1'"));
        assert!(with("image", json!("a b")).starts_with("image: 'a b'"));
        assert!(
            with("podLabels", json!({"kanary.io/role": "x"}))
                .starts_with("podLabels: 'kanary.io/role' is kanary's own label")
        );
        assert!(with("prometheusUrl", json!("http://evil")).contains("unknown field"));
    }

    #[test]
    fn status_round_trips() {
        let spec = request(json!({"namespace": "prod", "deployment": "web",
            "container": "app", "image": "repo/web:B", "lifetime": "10m"}))
        .expect("valid");
        let mut s = StageStatus::new("s1", &spec);
        s.phase = StagePhase::Analyzing;
        s.scores = vec![100.0, 87.5];
        s.verdict = Some(Verdict::Pass);
        let text = serde_json::to_string(&s).expect("serializes");
        assert!(text.contains(r#""phase":"Analyzing""#), "{text}");
        assert!(text.contains(r#""verdict":"pass""#), "{text}");
        let back: StageStatus = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, s);
    }
}
