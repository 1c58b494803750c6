//! `analysisConfigurations.canary`: the judge crate reads it (and reports wrong types); here,
//! what Kayenta accepts but almost certainly does not mean what the author meant
//! (`NetflixACAJudge.scala` parses unknown strings to defaults without a word).

use super::Checker;
use crate::json_path::{dotted, key};
use crate::report::number::compact;
use kanary_judge::{
    CanaryMetricConfig, EffectSizeMeasure, JudgeError, MetricSettings, NanStrategy,
};
use serde_json::{Map, Value};

const CANARY_KEYS: &[&str] = &[
    "direction",
    "nanStrategy",
    "outliers",
    "critical",
    "mustHaveData",
    "muted",
    "effectSize",
];
const OUTLIER_KEYS: &[&str] = &["strategy", "outlierFactor"];
const EFFECT_KEYS: &[&str] = &[
    "measure",
    "allowedIncrease",
    "allowedDecrease",
    "criticalIncrease",
    "criticalDecrease",
];
const DIRECTIONS: &[&str] = &["increase", "decrease", "either"];
/// `none` is Kayenta's own default string (it reads as `remove`).
const NAN_STRATEGIES: &[&str] = &["remove", "replace", "none"];
const OUTLIER_STRATEGIES: &[&str] = &["remove", "keep", "none"];
const MEASURES: &[&str] = &["meanRatio", "cles"];

/// Checks one metric's settings; `canary` is the raw `analysisConfigurations.canary`.
pub(super) fn check(
    c: &mut Checker,
    metric_path: &str,
    path: &str,
    canary: Option<&Value>,
    metric: &CanaryMetricConfig,
) {
    let settings = match MetricSettings::from_metric(metric) {
        Ok(s) => s,
        Err(JudgeError::InvalidSetting { field, problem, .. }) => {
            c.error(&dotted(metric_path, &field), problem);
            return;
        }
        Err(other) => {
            c.error(path, other.to_string());
            return;
        }
    };
    let Some(Value::Object(canary)) = canary else {
        return;
    };
    c.unknown_keys(canary, path, CANARY_KEYS, "setting");
    known_string(c, canary, path, "direction", DIRECTIONS, "either");
    known_string(c, canary, path, "nanStrategy", NAN_STRATEGIES, "remove");

    if let Some(Value::Object(outliers)) = Checker::get(canary, "outliers") {
        let at = key(path, "outliers");
        c.unknown_keys(outliers, &at, OUTLIER_KEYS, "outlier setting");
        known_string(c, outliers, &at, "strategy", OUTLIER_STRATEGIES, "keep");
        if Checker::get(outliers, "outlierFactor").is_some() {
            let factor_path = key(&at, "outlierFactor");
            if settings.outlier_factor <= 0.0 {
                c.error(
                    &factor_path,
                    format!(
                        "must be > 0, got {}: it multiplies the interquartile range to set the \
                         outlier fences (default 3.0)",
                        compact(settings.outlier_factor)
                    ),
                );
            } else if !settings.remove_outliers {
                c.warning(
                    &factor_path,
                    "has no effect: outliers are removed only with strategy \"remove\"",
                );
            }
        }
    }

    if let Some(Value::Object(effect)) = Checker::get(canary, "effectSize") {
        let at = key(path, "effectSize");
        c.unknown_keys(effect, &at, EFFECT_KEYS, "effect-size setting");
        known_string(c, effect, &at, "measure", MEASURES, "meanRatio");
        effect_sizes(c, effect, &at, &settings);
    }

    if settings.critical && settings.muted {
        c.warning(
            &key(path, "muted"),
            "the metric is critical and muted: a muted metric is not scored, so critical has \
             no effect",
        );
    }
    if settings.must_have_data {
        let at = key(path, "mustHaveData");
        if settings.nan_strategy == NanStrategy::Replace {
            c.warning(
                &at,
                "has no effect with nanStrategy \"replace\": Kayenta passes a side without data \
                 instead of classifying it NodataFailMetric",
            );
        } else if settings.critical {
            c.note(
                &at,
                "ignored on a critical metric: missing data already fails the canary (Nodata, \
                 critical)",
            );
        }
    }
}

/// A string Kayenta compares with a few values and otherwise reads as `fallback`.
fn known_string(
    c: &mut Checker,
    obj: &Map<String, Value>,
    parent: &str,
    field: &str,
    accepted: &[&str],
    fallback: &str,
) {
    let Some(Value::String(s)) = Checker::get(obj, field) else {
        return;
    };
    if !accepted.contains(&s.as_str()) {
        let hint = super::closest(s, accepted)
            .map(|a| format!(" Did you mean '{a}'?"))
            .unwrap_or_default();
        c.warning(
            &key(parent, field),
            format!(
                "'{s}' is not a {field} Kayenta knows; it reads it as '{fallback}'.{hint} \
                 (accepted: {})",
                accepted.join(", ")
            ),
        );
    }
}

/// Thresholds on the wrong side of "no change" loosen the gate instead of tolerating a
/// change: with meanRatio no change is 1, with CLES 0.5 (`MannWhitneyClassifier`).
fn effect_sizes(c: &mut Checker, effect: &Map<String, Value>, at: &str, s: &MetricSettings) {
    let (pivot, measure) = match s.effect_size_measure {
        EffectSizeMeasure::MeanRatio => (1.0, "meanRatio"),
        EffectSizeMeasure::Cles => (0.5, "cles"),
    };
    let given = |k: &str| Checker::get(effect, k).and_then(Value::as_f64);
    let increase_example = match s.effect_size_measure {
        EffectSizeMeasure::MeanRatio => "1.1 tolerates a 10 % increase",
        EffectSizeMeasure::Cles => "0.6 tolerates a canary above its baseline 60 % of the time",
    };
    let decrease_example = match s.effect_size_measure {
        EffectSizeMeasure::MeanRatio => "0.9 tolerates a 10 % decrease",
        EffectSizeMeasure::Cles => {
            "0.4 tolerates a canary above its baseline only 40 % of the time"
        }
    };
    for (field, below_pivot_is_wrong, example) in [
        ("allowedIncrease", true, increase_example),
        ("criticalIncrease", true, increase_example),
        ("allowedDecrease", false, decrease_example),
        ("criticalDecrease", false, decrease_example),
    ] {
        let Some(v) = given(field) else { continue };
        let path = key(at, field);
        let wrong_side = if below_pivot_is_wrong {
            v < pivot
        } else {
            v > pivot
        };
        if s.effect_size_measure == EffectSizeMeasure::Cles && !(0.0..=1.0).contains(&v) {
            c.warning(
                &path,
                format!(
                    "{} is outside [0, 1]: CLES is a probability, so this gate always or never \
                     holds",
                    compact(v)
                ),
            );
        } else if wrong_side {
            let side = if below_pivot_is_wrong {
                "below"
            } else {
                "above"
            };
            c.warning(
                &path,
                format!(
                    "{} is {side} {} (no change with {measure}): it loosens the gate instead of \
                     tolerating a change; {example}",
                    compact(v),
                    compact(pivot)
                ),
            );
        }
        if field.starts_with("critical") && !s.critical {
            c.warning(
                &path,
                "has no effect: the metric is not critical (critical: true enables it)",
            );
        }
        let direction_ignores = match s.direction {
            kanary_judge::Direction::Increase => field.ends_with("Decrease"),
            kanary_judge::Direction::Decrease => field.ends_with("Increase"),
            kanary_judge::Direction::Either => false,
        };
        if direction_ignores {
            c.warning(
                &path,
                format!(
                    "has no effect: direction is \"{}\"",
                    if field.ends_with("Decrease") {
                        "increase"
                    } else {
                        "decrease"
                    }
                ),
            );
        }
    }
}
