//! A metric's judge settings, read from `analysisConfigurations.canary` with Kayenta's
//! defaults and parsing rules (`NetflixACAJudge.scala`, `MapUtils.scala`), and the judge-wide
//! `tolerance` / `confLevel` (a kanary extension: Kayenta hard-codes 0.25 / 0.98).

use crate::JudgeError;
use crate::model::{CanaryConfig, CanaryMetricConfig};
use serde_json::{Map, Value};

/// Which change matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Only an increase fails.
    Increase,
    /// Only a decrease fails.
    Decrease,
    /// Any significant change fails (default; also any unknown string).
    #[default]
    Either,
}

impl Direction {
    /// Kayenta's parse: `"increase"`, `"decrease"`, anything else is either.
    pub fn parse(s: &str) -> Direction {
        match s {
            "increase" => Direction::Increase,
            "decrease" => Direction::Decrease,
            _ => Direction::Either,
        }
    }
    pub(crate) fn allows_increase(self) -> bool {
        matches!(self, Direction::Increase | Direction::Either)
    }
    pub(crate) fn allows_decrease(self) -> bool {
        matches!(self, Direction::Decrease | Direction::Either)
    }
}

/// What to do with NaN (missing) samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NanStrategy {
    /// Drop them (the default, and any unknown string: Kayenta's default `"none"` parses to this).
    #[default]
    Remove,
    /// Replace them with 0.
    Replace,
}

impl NanStrategy {
    /// Kayenta's parse: `"replace"` replaces, anything else removes.
    pub fn parse(s: &str) -> NanStrategy {
        if s == "replace" {
            NanStrategy::Replace
        } else {
            NanStrategy::Remove
        }
    }
}

/// Which effect size gates a High/Low.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EffectSizeMeasure {
    /// mean(canary) / mean(baseline) (default; any unknown string).
    #[default]
    MeanRatio,
    /// Common-language effect size: P(canary > baseline), ties ½.
    Cles,
}

/// One metric's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSettings {
    /// `direction`.
    pub direction: Direction,
    /// `nanStrategy`.
    pub nan_strategy: NanStrategy,
    /// `outliers.strategy == "remove"`.
    pub remove_outliers: bool,
    /// `outliers.outlierFactor` (default 3.0).
    pub outlier_factor: f64,
    /// `critical`.
    pub critical: bool,
    /// `mustHaveData`.
    pub must_have_data: bool,
    /// `muted`.
    pub muted: bool,
    /// `effectSize.measure`.
    pub effect_size_measure: EffectSizeMeasure,
    /// `effectSize.allowedIncrease` (1.0, or 0.5 for CLES).
    pub allowed_increase: f64,
    /// `effectSize.allowedDecrease` (1.0, or 0.5 for CLES).
    pub allowed_decrease: f64,
    /// `effectSize.criticalIncrease` (1.0, or 0.5 for CLES).
    pub critical_increase: f64,
    /// `effectSize.criticalDecrease` (1.0, or 0.5 for CLES).
    pub critical_decrease: f64,
}

impl Default for MetricSettings {
    fn default() -> Self {
        MetricSettings {
            direction: Direction::Either,
            nan_strategy: NanStrategy::Remove,
            remove_outliers: false,
            outlier_factor: 3.0,
            critical: false,
            must_have_data: false,
            muted: false,
            effect_size_measure: EffectSizeMeasure::MeanRatio,
            allowed_increase: 1.0,
            allowed_decrease: 1.0,
            critical_increase: 1.0,
            critical_decrease: 1.0,
        }
    }
}

impl MetricSettings {
    /// Reads `analysisConfigurations.canary` of a metric config.
    ///
    /// Absent keys and `null` take Kayenta's defaults; a value of the wrong JSON type is an
    /// error naming the key (Kayenta casts and fails the whole judge stage).
    pub fn from_metric(metric: &CanaryMetricConfig) -> Result<MetricSettings, JudgeError> {
        // Anything but an object finds nothing, as Kayenta's MapUtils: all defaults.
        let Some(Value::Object(canary)) = metric.analysis_configurations.get("canary") else {
            return Ok(MetricSettings::default());
        };
        let r = Reader { metric, canary };
        let measure = match r.string(&["effectSize", "measure"])?.as_deref() {
            Some("cles") => EffectSizeMeasure::Cles,
            _ => EffectSizeMeasure::MeanRatio,
        };
        let effect_default = match measure {
            EffectSizeMeasure::Cles => 0.5,
            EffectSizeMeasure::MeanRatio => 1.0,
        };
        Ok(MetricSettings {
            direction: r
                .string(&["direction"])?
                .map_or(Direction::Either, |s| Direction::parse(&s)),
            nan_strategy: r
                .string(&["nanStrategy"])?
                .map_or(NanStrategy::Remove, |s| NanStrategy::parse(&s)),
            remove_outliers: r.string(&["outliers", "strategy"])?.as_deref() == Some("remove"),
            outlier_factor: match r.number(&["outliers", "outlierFactor"])?.unwrap_or(3.0) {
                // IQRDetector: require(factor > 0.0); Kayenta's judge stage fails.
                f if f > 0.0 => f,
                f => {
                    return Err(setting_error(
                        metric,
                        "outliers.outlierFactor",
                        format!("must be greater than zero, got {f}"),
                    ));
                }
            },
            critical: r.boolean(&["critical"])?.unwrap_or(false),
            must_have_data: r.boolean(&["mustHaveData"])?.unwrap_or(false),
            muted: r.boolean(&["muted"])?.unwrap_or(false),
            effect_size_measure: measure,
            allowed_increase: r
                .number(&["effectSize", "allowedIncrease"])?
                .unwrap_or(effect_default),
            allowed_decrease: r
                .number(&["effectSize", "allowedDecrease"])?
                .unwrap_or(effect_default),
            critical_increase: r
                .number(&["effectSize", "criticalIncrease"])?
                .unwrap_or(effect_default),
            critical_decrease: r
                .number(&["effectSize", "criticalDecrease"])?
                .unwrap_or(effect_default),
        })
    }
}

struct Reader<'a> {
    metric: &'a CanaryMetricConfig,
    canary: &'a Map<String, Value>,
}

impl Reader<'_> {
    /// `MapUtils.get`: walks nested objects; a missing key, `null`, or a path through a
    /// non-object is `None` (Kayenta then uses the default).
    fn get(&self, path: &[&str]) -> Result<Option<&Value>, JudgeError> {
        let mut cur = self.canary;
        for (i, key) in path.iter().enumerate() {
            match cur.get(*key) {
                None | Some(Value::Null) => return Ok(None),
                Some(v) if i + 1 == path.len() => return Ok(Some(v)),
                Some(Value::Object(m)) => cur = m,
                Some(_) => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Kayenta's `getAsStringWithDefault` calls `toString` on whatever it finds, so a
    /// number or boolean is read as its text (and then parses to the default choice).
    fn string(&self, path: &[&str]) -> Result<Option<String>, JudgeError> {
        Ok(self.get(path)?.map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }))
    }

    fn boolean(&self, path: &[&str]) -> Result<Option<bool>, JudgeError> {
        match self.get(path)? {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(setting_error(
                self.metric,
                &path.join("."),
                format!(
                    "must be a boolean (true or false), got {}",
                    describe_json(other)
                ),
            )),
        }
    }

    fn number(&self, path: &[&str]) -> Result<Option<f64>, JudgeError> {
        match self.get(path)? {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(x) if x.is_finite() => Ok(Some(x)),
                _ => Err(setting_error(
                    self.metric,
                    &path.join("."),
                    format!("must be a finite number, got {n}"),
                )),
            },
            Some(other) => Err(setting_error(
                self.metric,
                &path.join("."),
                format!("must be a number, got {}", describe_json(other)),
            )),
        }
    }
}

/// Kayenta's `MapUtils.get(data, path...)`: walks objects by key; through an array it maps
/// over the elements and flattens; `None` when nothing is found (an empty path is the
/// whole value).
pub fn map_get(data: &Value, path: &[&str]) -> Option<Value> {
    let Some((key, rest)) = path.split_first() else {
        return Some(data.clone());
    };
    match data {
        Value::Object(m) => match m.get(*key) {
            None | Some(Value::Null) => None,
            Some(v) => map_get(v, rest),
        },
        Value::Array(items) => {
            let mut found = Vec::new();
            for item in items {
                match map_get(item, path) {
                    Some(Value::Array(vs)) if matches!(item, Value::Array(_)) => found.extend(vs),
                    Some(v) => found.push(v),
                    None => {}
                }
            }
            (!found.is_empty()).then_some(Value::Array(found))
        }
        _ => None,
    }
}

/// Describes a JSON value for an error message: `the string "x"`, `the number 3`, `an array`.
pub fn describe_json(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {}", Value::String(s.clone())),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn setting_error(metric: &CanaryMetricConfig, key: &str, problem: String) -> JudgeError {
    let field = if key.is_empty() {
        "analysisConfigurations.canary".to_string()
    } else {
        format!("analysisConfigurations.canary.{key}")
    };
    JudgeError::InvalidSetting {
        metric: metric.name().to_string(),
        field,
        problem,
    }
}

/// Judge-wide settings: the tolerance band and the confidence level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JudgeSettings {
    /// Half-width of the acceptance band, relative to |estimate| (Kayenta: 0.25).
    pub tolerance: f64,
    /// Confidence level of the interval (Kayenta: 0.98).
    pub conf_level: f64,
}

impl Default for JudgeSettings {
    fn default() -> Self {
        JudgeSettings {
            tolerance: 0.25,
            conf_level: 0.98,
        }
    }
}

impl JudgeSettings {
    /// Builds settings, checking `0 <= tolerance < 1` and `0 < confLevel < 1`.
    ///
    /// A tolerance of 1 or more makes High and Low impossible (the interval's lower end
    /// cannot exceed its own estimate), so every metric would pass: refused.
    pub fn new(tolerance: f64, conf_level: f64) -> Result<JudgeSettings, JudgeError> {
        if !(tolerance.is_finite() && (0.0..1.0).contains(&tolerance)) {
            return Err(JudgeError::InvalidJudgeSetting {
                field: "judge.judgeConfigurations.tolerance".into(),
                problem: format!(
                    "must be at least 0 and below 1 (a fraction of the estimate, Kayenta's is 0.25), got {tolerance}"
                ),
            });
        }
        if !(conf_level > 0.0 && conf_level < 1.0) {
            return Err(JudgeError::InvalidJudgeSetting {
                field: "judge.judgeConfigurations.confLevel".into(),
                problem: format!("must be strictly between 0 and 1, got {conf_level}"),
            });
        }
        Ok(JudgeSettings {
            tolerance,
            conf_level,
        })
    }

    /// Reads `judge.judgeConfigurations.tolerance` and `.confLevel`, defaulting to Kayenta's
    /// constants, so configs written for Kayenta judge identically.
    pub fn from_config(config: &CanaryConfig) -> Result<JudgeSettings, JudgeError> {
        let Some(judge) = &config.judge else {
            return Ok(JudgeSettings::default());
        };
        let read = |key: &str, default: f64| -> Result<f64, JudgeError> {
            match judge.judge_configurations.get(key) {
                None | Some(Value::Null) => Ok(default),
                Some(Value::Number(n)) => {
                    n.as_f64().ok_or_else(|| JudgeError::InvalidJudgeSetting {
                        field: format!("judge.judgeConfigurations.{key}"),
                        problem: format!("must be a number, got {n}"),
                    })
                }
                Some(other) => Err(JudgeError::InvalidJudgeSetting {
                    field: format!("judge.judgeConfigurations.{key}"),
                    problem: format!("must be a number, got {}", describe_json(other)),
                }),
            }
        };
        JudgeSettings::new(read("tolerance", 0.25)?, read("confLevel", 0.98)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn metric(canary: Value) -> CanaryMetricConfig {
        serde_json::from_value(json!({"name": "m", "analysisConfigurations": {"canary": canary}}))
            .expect("metric config")
    }

    #[test]
    fn defaults_are_kaynetas() {
        let s = MetricSettings::from_metric(&metric(json!({}))).expect("settings");
        assert_eq!(s, MetricSettings::default());
        assert_eq!(s.nan_strategy, NanStrategy::Remove);
        assert_eq!(s.outlier_factor, 3.0);
    }

    #[test]
    fn unknown_strings_fall_back_as_kayenta_parses_them() {
        let s = MetricSettings::from_metric(&metric(json!({
            "direction": "up", "nanStrategy": "none", "outliers": {"strategy": "drop"},
            "effectSize": {"measure": "cohen"}
        })))
        .expect("settings");
        assert_eq!(s.direction, Direction::Either);
        assert_eq!(s.nan_strategy, NanStrategy::Remove);
        assert!(!s.remove_outliers);
        assert_eq!(s.effect_size_measure, EffectSizeMeasure::MeanRatio);
    }

    #[test]
    fn cles_changes_the_effect_size_defaults() {
        let s = MetricSettings::from_metric(&metric(json!({"effectSize": {"measure": "cles"}})))
            .expect("settings");
        assert_eq!(
            (
                s.allowed_increase,
                s.allowed_decrease,
                s.critical_increase,
                s.critical_decrease
            ),
            (0.5, 0.5, 0.5, 0.5)
        );
    }

    #[test]
    fn integer_outlier_factor_is_a_double() {
        let s = MetricSettings::from_metric(&metric(
            json!({"outliers": {"strategy": "remove", "outlierFactor": 2}}),
        ))
        .expect("settings");
        assert!(s.remove_outliers);
        assert_eq!(s.outlier_factor, 2.0);
    }

    #[test]
    fn wrong_types_name_the_field() {
        let s = MetricSettings::from_metric(&metric(json!({"direction": 1})))
            .expect("Kayenta reads a number as its text");
        assert_eq!(s.direction, Direction::Either);
        let e = MetricSettings::from_metric(&metric(
            json!({"outliers": {"strategy": "remove", "outlierFactor": 0}}),
        ))
        .expect_err("factor 0");
        assert!(
            e.to_string()
                .contains("outlierFactor must be greater than zero"),
            "{e}"
        );
        let e = MetricSettings::from_metric(&metric(json!({"critical": "true"})))
            .expect_err("string critical");
        assert_eq!(
            e.to_string(),
            "metric 'm': analysisConfigurations.canary.critical must be a boolean (true or false), got the string \"true\""
        );
        // Kayenta's MapUtils finds nothing under a non-object and uses the defaults.
        let s = MetricSettings::from_metric(&metric(json!({"effectSize": 3})))
            .expect("number effectSize is ignored");
        assert_eq!(s.allowed_increase, 1.0);
    }

    #[test]
    fn judge_settings_are_validated() {
        let config: CanaryConfig = serde_json::from_value(json!({
            "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {"tolerance": 0.1, "confLevel": 0.95}}
        }))
        .expect("config");
        assert_eq!(
            JudgeSettings::from_config(&config).expect("settings"),
            JudgeSettings {
                tolerance: 0.1,
                conf_level: 0.95
            }
        );
        let config: CanaryConfig = serde_json::from_value(json!({
            "judge": {"judgeConfigurations": {"confLevel": 98}}
        }))
        .expect("config");
        let e = JudgeSettings::from_config(&config).expect_err("98 is not a probability");
        assert!(
            e.to_string()
                .contains("judge.judgeConfigurations.confLevel"),
            "{e}"
        );
    }
}
