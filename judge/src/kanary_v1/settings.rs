//! kanary-v1's settings: per metric under `analysisConfigurations.canary` (Kayenta's keys
//! keep their meaning and parsing; `kind`, `margin`, `denominator`, `spreadShare`, `scale`
//! are new, and the effect-size gates default to 1.05 / 0.95), per config under
//! `judge.judgeConfigurations` (`alpha`, `errorControl`). Wrong values are errors naming
//! the field: a judge that states its error rates must not guess what a config meant.

use super::multiplicity::ErrorControl;
use crate::JudgeError;
use crate::model::{CanaryConfig, CanaryMetricConfig};
use crate::settings::{MetricSettings, describe_json};
use serde_json::{Map, Value};

/// What a metric's values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetricKind {
    /// Levels (latency, CPU): rank tests on location and spread.
    #[default]
    Gauge,
    /// Event counts per step (errors): the conditional binomial test.
    Counter,
}

/// The scale a gauge is compared on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scale {
    /// Log when every value is positive, else linear.
    #[default]
    Auto,
    /// Differences of logs: changes are ratios.
    Log,
    /// Differences of values, relative to the baseline median.
    Linear,
}

/// Default `margin`: the change within which "no harm" can be shown.
pub const DEFAULT_MARGIN: f64 = 0.10;
/// Default `spreadShare`: the spread test's weight in the weighted Bonferroni.
pub const DEFAULT_SPREAD_SHARE: f64 = 0.2;
/// Default `effectSize.allowedIncrease` under kanary-v1.
pub const DEFAULT_ALLOWED_INCREASE: f64 = 1.05;
/// Default `effectSize.allowedDecrease` under kanary-v1.
pub const DEFAULT_ALLOWED_DECREASE: f64 = 0.95;
/// Default `alpha`.
pub const DEFAULT_ALPHA: f64 = 0.05;

/// One metric's kanary-v1 settings.
#[derive(Debug, Clone, PartialEq)]
pub struct V1MetricSettings {
    /// Kayenta's settings (direction, nanStrategy, outliers, critical, mustHaveData, muted,
    /// effect sizes), with kanary-v1's effect-size defaults.
    pub base: MetricSettings,
    /// `kind`.
    pub kind: MetricKind,
    /// `margin` (> 0).
    pub margin: f64,
    /// `denominator`: a metric of the same config holding the exposure (counters).
    pub denominator: Option<String>,
    /// `spreadShare` in [0, 1).
    pub spread_share: f64,
    /// `scale`.
    pub scale: Scale,
}

impl V1MetricSettings {
    /// Reads and checks a metric's settings.
    pub fn from_metric(metric: &CanaryMetricConfig) -> Result<V1MetricSettings, JudgeError> {
        let mut base = MetricSettings::from_metric(metric)?;
        let empty = Map::new();
        let canary = match metric.analysis_configurations.get("canary") {
            Some(Value::Object(m)) => m,
            _ => &empty,
        };
        let err = |key: &str, problem: String| JudgeError::InvalidSetting {
            metric: metric.name().to_string(),
            field: format!("analysisConfigurations.canary.{key}"),
            problem,
        };
        let get = |path: &[&str]| -> Option<&Value> {
            let mut cur = canary;
            for (i, k) in path.iter().enumerate() {
                match cur.get(*k) {
                    None | Some(Value::Null) => return None,
                    Some(v) if i + 1 == path.len() => return Some(v),
                    Some(Value::Object(m)) => cur = m,
                    Some(_) => return None,
                }
            }
            None
        };
        let string = |key: &str| -> Result<Option<&str>, JudgeError> {
            match get(&[key]) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(other) => Err(err(
                    key,
                    format!("must be a string, got {}", describe_json(other)),
                )),
            }
        };
        let number = |key: &str, default: f64| -> Result<f64, JudgeError> {
            match get(&[key]) {
                None => Ok(default),
                Some(Value::Number(n)) => n
                    .as_f64()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| err(key, format!("must be a finite number, got {n}"))),
                Some(other) => Err(err(
                    key,
                    format!("must be a number, got {}", describe_json(other)),
                )),
            }
        };
        let kind = match string("kind")? {
            None | Some("gauge") => MetricKind::Gauge,
            Some("counter") => MetricKind::Counter,
            Some(other) => {
                return Err(err(
                    "kind",
                    format!("must be \"gauge\" or \"counter\", got \"{other}\""),
                ));
            }
        };
        let scale = match string("scale")? {
            None | Some("auto") => Scale::Auto,
            Some("log") => Scale::Log,
            Some("linear") => Scale::Linear,
            Some(other) => {
                return Err(err(
                    "scale",
                    format!("must be \"auto\", \"log\" or \"linear\", got \"{other}\""),
                ));
            }
        };
        let margin = number("margin", DEFAULT_MARGIN)?;
        if margin <= 0.0 {
            return Err(err(
                "margin",
                format!(
                    "must be greater than 0 (the relative change within which no harm can be \
                     shown, default 0.10), got {margin}"
                ),
            ));
        }
        let spread_share = number("spreadShare", DEFAULT_SPREAD_SHARE)?;
        if !(0.0..1.0).contains(&spread_share) {
            return Err(err(
                "spreadShare",
                format!(
                    "must be at least 0 and below 1 (the share of alpha spent on the spread \
                     test, default 0.2), got {spread_share}"
                ),
            ));
        }
        let denominator = string("denominator")?.map(str::to_string);
        if denominator.as_deref() == Some("") {
            return Err(err("denominator", "must name a metric, got \"\"".into()));
        }
        if denominator.is_some() && kind != MetricKind::Counter {
            return Err(err(
                "denominator",
                "is only read for counters (kind: \"counter\")".into(),
            ));
        }
        // kanary-v1's gates: the smallest change that counts as harm. Kayenta's 1.0
        // defaults would flag any significant change, however small.
        let given = |k: &str| get(&["effectSize", k]).is_some();
        if !given("allowedIncrease") {
            base.allowed_increase = DEFAULT_ALLOWED_INCREASE;
        }
        if !given("allowedDecrease") {
            base.allowed_decrease = DEFAULT_ALLOWED_DECREASE;
        }
        let inc = base.allowed_increase;
        if !(1.0..=1.0 + margin).contains(&inc) {
            return Err(err(
                "effectSize.allowedIncrease",
                format!(
                    "must be between 1 and 1 + margin = {} under kanary-v1 (a gate beyond the \
                     margin leaves changes that are neither harm nor no harm), got {inc}",
                    1.0 + margin
                ),
            ));
        }
        let dec = base.allowed_decrease;
        if !((1.0 - margin).max(0.0)..=1.0).contains(&dec) {
            return Err(err(
                "effectSize.allowedDecrease",
                format!(
                    "must be between 1 − margin = {} and 1 under kanary-v1, got {dec}",
                    (1.0 - margin).max(0.0)
                ),
            ));
        }
        Ok(V1MetricSettings {
            base,
            kind,
            margin,
            denominator,
            spread_share,
            scale,
        })
    }
}

/// kanary-v1's judge-wide settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct V1JudgeSettings {
    /// `alpha`: the error rate stated across the family of metrics.
    pub alpha: f64,
    /// `errorControl`.
    pub error_control: ErrorControl,
}

impl Default for V1JudgeSettings {
    fn default() -> Self {
        V1JudgeSettings {
            alpha: DEFAULT_ALPHA,
            error_control: ErrorControl::Holm,
        }
    }
}

impl V1JudgeSettings {
    /// Reads `judge.judgeConfigurations.alpha` and `.errorControl`.
    pub fn from_config(config: &CanaryConfig) -> Result<V1JudgeSettings, JudgeError> {
        let Some(judge) = &config.judge else {
            return Ok(V1JudgeSettings::default());
        };
        let err = |key: &str, problem: String| JudgeError::InvalidJudgeSetting {
            field: format!("judge.judgeConfigurations.{key}"),
            problem,
        };
        let c = &judge.judge_configurations;
        let alpha = match c.get("alpha") {
            None | Some(Value::Null) => DEFAULT_ALPHA,
            Some(Value::Number(n)) => match n.as_f64() {
                Some(a) if a > 0.0 && a < 1.0 => a,
                _ => {
                    return Err(err(
                        "alpha",
                        format!("must be strictly between 0 and 1 (default 0.05), got {n}"),
                    ));
                }
            },
            Some(other) => {
                return Err(err(
                    "alpha",
                    format!("must be a number, got {}", describe_json(other)),
                ));
            }
        };
        let error_control = match c.get("errorControl") {
            None | Some(Value::Null) => ErrorControl::Holm,
            Some(Value::String(s)) => ErrorControl::parse(s).ok_or_else(|| {
                err(
                    "errorControl",
                    format!("must be \"holm\", \"fdr\" or \"fdr-by\", got \"{s}\""),
                )
            })?,
            Some(other) => {
                return Err(err(
                    "errorControl",
                    format!("must be a string, got {}", describe_json(other)),
                ));
            }
        };
        Ok(V1JudgeSettings {
            alpha,
            error_control,
        })
    }
}
