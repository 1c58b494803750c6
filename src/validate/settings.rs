//! `analysisConfigurations.canary`: the judge crate reads it (and reports wrong types); here,
//! what Kayenta accepts but almost certainly does not mean what the author meant
//! (`NetflixACAJudge.scala` parses unknown strings to defaults without a word).

use super::Checker;
use crate::json_path::{dotted, key};
use crate::report::number::compact;
use kanary_judge::kanary_v1::{MetricKind, V1MetricSettings};
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
/// The keys only kanary-v1 reads.
const V1_KEYS: &[&str] = &["kind", "margin", "denominator", "spreadShare", "scale"];
/// Every key kanary-v1 knows.
const V1_CANARY_KEYS: &[&str] = &[
    "direction",
    "nanStrategy",
    "outliers",
    "critical",
    "mustHaveData",
    "muted",
    "effectSize",
    "kind",
    "margin",
    "denominator",
    "spreadShare",
    "scale",
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
    if c.kanary_v1 {
        // kanary-v1's own reader: its range checks, with the field's path.
        match V1MetricSettings::from_metric(metric) {
            Ok(_) => {}
            Err(JudgeError::InvalidSetting { field, problem, .. }) => {
                c.error(&dotted(metric_path, &field), problem);
            }
            Err(other) => c.error(path, other.to_string()),
        }
    }
    let Some(Value::Object(canary)) = canary else {
        return;
    };
    if c.kanary_v1 {
        c.unknown_keys(canary, path, V1_CANARY_KEYS, "setting");
        v1_notes(c, canary, path, &settings);
    } else {
        let kayenta_keys: Map<String, Value> = canary
            .iter()
            .filter(|(k, _)| !V1_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        c.unknown_keys(&kayenta_keys, path, CANARY_KEYS, "setting");
        for k in canary.keys().filter(|k| V1_KEYS.contains(&k.as_str())) {
            c.warning(
                &key(path, k),
                format!(
                    "only the kanary-v1 judge reads {k}; this config's judge ignores it (set \
                     judge.name to \"kanary-v1\" to use it)"
                ),
            );
        }
    }
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

/// What kanary-v1 reads differently from Kayenta's judge.
fn v1_notes(c: &mut Checker, canary: &Map<String, Value>, path: &str, s: &MetricSettings) {
    if s.effect_size_measure == EffectSizeMeasure::Cles {
        c.warning(
            &key(&key(path, "effectSize"), "measure"),
            "kanary-v1 does not use measure \"cles\": its gates are ratios of the change \
             (allowedIncrease / allowedDecrease, default 1.05 / 0.95)",
        );
    }
    let counter = Checker::get(canary, "kind").and_then(Value::as_str) == Some("counter");
    if !counter && s.nan_strategy == NanStrategy::Replace {
        c.note(
            &key(path, "nanStrategy"),
            "kanary-v1 always drops NaN from gauges; \"replace\" applies to counters (no \
             sample, no event)",
        );
    }
    if counter && Checker::get(canary, "spreadShare").is_some() {
        c.warning(
            &key(path, "spreadShare"),
            "has no effect on a counter: the spread test is for gauges",
        );
    }
}

/// kanary-v1: each `denominator` names another metric of the config, a counter.
pub(super) fn check_denominators(c: &mut Checker, obj: &Map<String, Value>) {
    let Some(Value::Array(metrics)) = Checker::get(obj, "metrics") else {
        return;
    };
    let kind_of = |m: &Value| -> Option<MetricKind> {
        match m
            .pointer("/analysisConfigurations/canary/kind")
            .and_then(Value::as_str)
        {
            None | Some("gauge") => Some(MetricKind::Gauge),
            Some("counter") => Some(MetricKind::Counter),
            Some(_) => None,
        }
    };
    for (i, m) in metrics.iter().enumerate() {
        let Some(d) = m
            .pointer("/analysisConfigurations/canary/denominator")
            .and_then(Value::as_str)
        else {
            continue;
        };
        let at = format!("$.metrics[{i}].analysisConfigurations.canary.denominator");
        let name = m.get("name").and_then(Value::as_str);
        if d.is_empty() {
            continue; // the reader's error already names it
        }
        if Some(d) == name {
            c.error(
                &at,
                format!("'{d}' is this metric itself; name the metric that counts the requests"),
            );
            continue;
        }
        match metrics.iter().find(|o| o.get("name").and_then(Value::as_str) == Some(d)) {
            None => c.error(
                &at,
                format!("no metric named '{d}' in this config: the denominator must be one of its metrics"),
            ),
            Some(o) if kind_of(o) == Some(MetricKind::Gauge) => c.error(
                &at,
                format!("metric '{d}' is a gauge; a denominator counts requests (kind: \"counter\")"),
            ),
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Problem, Severity, check};
    use serde_json::json;

    fn problems(config: serde_json::Value) -> Vec<Problem> {
        check(&config.to_string())
    }

    fn find<'a>(p: &'a [Problem], path: &str) -> Option<&'a Problem> {
        p.iter().find(|x| x.path == path)
    }

    fn v1(canary: serde_json::Value, judge: serde_json::Value) -> serde_json::Value {
        json!({
            "name": "c", "applications": ["a"],
            "judge": {"name": "kanary-v1", "judgeConfigurations": judge},
            "metrics": [
                {"name": "errors", "groups": ["g"], "scopeName": "default",
                 "query": {"type": "prometheus", "metricName": "errors_total"},
                 "analysisConfigurations": {"canary": canary}},
                {"name": "requests", "groups": ["g"], "scopeName": "default",
                 "query": {"type": "prometheus", "metricName": "requests_total"},
                 "analysisConfigurations": {"canary": {"kind": "counter", "muted": true}}}
            ],
            "classifier": {"groupWeights": {"g": 100}}
        })
    }

    #[test]
    fn kanary_v1_settings_are_checked_with_their_path() {
        let at = "$.metrics[0].analysisConfigurations.canary";
        for (canary, field) in [
            (json!({"kind": "gauges"}), "kind"),
            (json!({"margin": -0.1}), "margin"),
            (json!({"spreadShare": 1.5}), "spreadShare"),
            (json!({"scale": "log2"}), "scale"),
            (
                json!({"effectSize": {"allowedIncrease": 1.5}}),
                "effectSize.allowedIncrease",
            ),
            (
                json!({"kind": "counter", "denominator": "nope"}),
                "denominator",
            ),
            (
                json!({"kind": "counter", "denominator": "errors"}),
                "denominator",
            ),
        ] {
            let p = problems(v1(canary.clone(), json!({})));
            let e = find(&p, &format!("{at}.{field}"));
            assert!(
                e.is_some_and(|e| e.severity == Severity::Error),
                "{canary}: {p:?}"
            );
        }
        let p = problems(v1(json!({}), json!({"alpha": 0})));
        assert!(
            find(&p, "$.judge.judgeConfigurations.alpha").is_some(),
            "{p:?}"
        );
        let p = problems(v1(json!({}), json!({"errorControl": "bh"})));
        assert!(
            find(&p, "$.judge.judgeConfigurations.errorControl").is_some(),
            "{p:?}"
        );
    }

    #[test]
    fn a_good_kanary_v1_config_has_no_errors() {
        let p = problems(v1(
            json!({"kind": "counter", "denominator": "requests", "direction": "increase",
                   "margin": 0.2, "effectSize": {"allowedIncrease": 1.1}}),
            json!({"alpha": 0.01, "errorControl": "fdr"}),
        ));
        assert!(p.iter().all(|x| x.severity != Severity::Error), "{p:?}");
        // cles, tolerance: accepted but not read.
        let p = problems(v1(
            json!({"effectSize": {"measure": "cles"}}),
            json!({"tolerance": 0.25}),
        ));
        let cles = find(
            &p,
            "$.metrics[0].analysisConfigurations.canary.effectSize.measure",
        );
        assert!(
            cles.is_some_and(|w| w.message.contains("kanary-v1 does not use")),
            "{p:?}"
        );
        let tol = find(&p, "$.judge.judgeConfigurations.tolerance");
        assert!(
            tol.is_some_and(|w| w.message.contains("kanary-v1 does not read")),
            "{p:?}"
        );
    }

    #[test]
    fn kanary_v1_keys_under_kayentas_judge_are_flagged() {
        let mut config = v1(json!({"margin": 0.1}), json!({"alpha": 0.05}));
        config["judge"]["name"] = json!("NetflixACAJudge-v1.0");
        let p = problems(config);
        let m = find(&p, "$.metrics[0].analysisConfigurations.canary.margin");
        assert!(
            m.is_some_and(
                |w| w.severity == Severity::Warning && w.message.contains("only the kanary-v1")
            ),
            "{p:?}"
        );
        assert!(
            find(&p, "$.judge.judgeConfigurations.alpha").is_some(),
            "{p:?}"
        );
    }
}
