//! Kayenta's per-metric classifiers (`classifiers/metric/MannWhitneyClassifier.scala`,
//! `MeanInequalityClassifier.scala`), decision procedure in Kayenta's exact order.

use crate::mann_whitney::{MannWhitneyInterval, mann_whitney_interval};
use crate::model::MetricClassification;
use crate::settings::{Direction, EffectSizeMeasure, JudgeSettings, MetricSettings, NanStrategy};
use crate::stats::{cles, mean, mean_ratio};

/// What a classifier decided for one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricClassificationResult {
    /// The label.
    pub classification: MetricClassification,
    /// Why (absent for a plain Pass).
    pub reason: Option<String>,
    /// Kayenta's "deviation": the mean ratio (1.0 on the no-data, identical and
    /// single-value paths). Written as `resultMetadata.ratio`.
    pub deviation: f64,
    /// True for a critical escalation or a critical Nodata.
    pub critical: bool,
    /// The interval and estimate, when the comparison ran.
    pub interval: Option<MannWhitneyInterval>,
    /// The effect size the gates used (mean ratio or CLES), when the comparison ran.
    pub effect_size: Option<f64>,
}

impl MetricClassificationResult {
    fn simple(
        classification: MetricClassification,
        reason: Option<String>,
        critical: bool,
    ) -> Self {
        MetricClassificationResult {
            classification,
            reason,
            deviation: 1.0,
            critical,
            interval: None,
            effect_size: None,
        }
    }

    /// `Error`, reason `Metric Classification Failed` (Kayenta's catch-all), with a detail
    /// appended when kanary knows more than Kayenta would say.
    pub fn error(detail: Option<&str>) -> Self {
        let reason = match detail {
            None => "Metric Classification Failed".to_string(),
            Some(d) => format!("Metric Classification Failed: {d}"),
        };
        MetricClassificationResult {
            classification: MetricClassification::Error,
            reason: Some(reason),
            deviation: f64::NAN,
            critical: false,
            interval: None,
            effect_size: None,
        }
    }
}

/// The Mann-Whitney classifier with Kayenta's tolerance band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitneyClassifier {
    /// Tolerance and confidence level.
    pub judge: JudgeSettings,
}

impl MannWhitneyClassifier {
    /// Classifies transformed `control` (baseline) and `experiment` (canary) data.
    ///
    /// Order (Kayenta §1.5): no data → identical → single value → compare → critical
    /// escalation. Deviation from Kayenta: when each side is constant, Kayenta adds random
    /// noise (sd 1e-5 × value) to avoid an all-tied interval; kanary decides as if the noise
    /// vanished, with a shift of exactly the difference (deterministic).
    pub fn classify(
        &self,
        metric_name: &str,
        control: &[f64],
        experiment: &[f64],
        settings: &MetricSettings,
    ) -> MetricClassificationResult {
        use MetricClassification::*;

        // 1. No data.
        if experiment.is_empty() || control.is_empty() {
            return match settings.nan_strategy {
                NanStrategy::Remove => {
                    let reason = Some(format!("Missing data for {metric_name}"));
                    if settings.must_have_data && !settings.critical {
                        MetricClassificationResult::simple(NodataFailMetric, reason, false)
                    } else {
                        MetricClassificationResult::simple(Nodata, reason, settings.critical)
                    }
                }
                NanStrategy::Replace => MetricClassificationResult::simple(Pass, None, false),
            };
        }

        // 2. Identical data (sorted, element by element).
        let mut se = experiment.to_vec();
        let mut sc = control.to_vec();
        se.sort_unstable_by(f64::total_cmp);
        sc.sort_unstable_by(f64::total_cmp);
        if se.len() == sc.len() && se.iter().zip(&sc).all(|(a, b)| a == b) {
            return MetricClassificationResult::simple(
                Pass,
                Some("The Canary and Baseline data are identical".to_string()),
                false,
            );
        }

        // 3. A single distinct value across both sides (-0.0 counts as 0.0).
        let first = se[0];
        let constant_e = se[se.len() - 1] == first;
        let constant_c = sc[0] == sc[sc.len() - 1];
        if constant_e && constant_c && sc[0] == first {
            return MetricClassificationResult::simple(Pass, None, false);
        }

        // 4. Compare.
        let mut result = self.compare(
            metric_name,
            control,
            experiment,
            settings,
            constant_e && constant_c,
        );

        // 5. Critical escalation.
        if settings.critical {
            let effect_nan = result.effect_size.is_none_or(f64::is_nan);
            let effect = result.effect_size.unwrap_or(f64::NAN);
            match result.classification {
                High if effect_nan || effect >= settings.critical_increase => {
                    result.critical = true;
                    result.reason = Some(format!(
                        "The metric {metric_name} was classified as High (Critical)"
                    ));
                }
                Low if effect_nan || effect <= settings.critical_decrease => {
                    result.critical = true;
                    result.reason = Some(format!(
                        "The metric {metric_name} was classified as Low (Critical)"
                    ));
                }
                _ => result.critical = false,
            }
        }
        result
    }

    fn compare(
        &self,
        metric_name: &str,
        control: &[f64],
        experiment: &[f64],
        settings: &MetricSettings,
        both_constant: bool,
    ) -> MetricClassificationResult {
        let interval = if both_constant {
            // As if Kayenta's noise vanished: the shift is exactly the difference.
            let shift = experiment[0] - control[0];
            if !shift.is_finite() {
                return MetricClassificationResult::error(Some(
                    "the data holds infinite values or the difference overflows",
                ));
            }
            MannWhitneyInterval {
                lower: shift,
                upper: shift,
                estimate: shift,
            }
        } else {
            match mann_whitney_interval(experiment, control, self.judge.conf_level) {
                Ok(i) => i,
                Err(crate::MannWhitneyError::AllTied) => {
                    return MetricClassificationResult::error(None);
                }
                Err(e) => return MetricClassificationResult::error(Some(&e.to_string())),
            }
        };
        let deviation = mean_ratio(control, experiment);
        let effect_size = match settings.effect_size_measure {
            EffectSizeMeasure::Cles => cles(control, experiment),
            EffectSizeMeasure::MeanRatio => deviation,
        };
        let bound = self.judge.tolerance * interval.estimate.abs();
        let effect_nan = effect_size.is_nan();
        let high = settings.direction.allows_increase()
            && interval.lower > bound
            && (effect_nan || effect_size >= settings.allowed_increase);
        let low = settings.direction.allows_decrease()
            && interval.upper < -bound
            && (effect_nan || effect_size <= settings.allowed_decrease);
        let (classification, reason) = if high {
            (
                MetricClassification::High,
                Some(format!("{metric_name} was classified as High")),
            )
        } else if low {
            (
                MetricClassification::Low,
                Some(format!("{metric_name} was classified as Low")),
            )
        } else {
            (MetricClassification::Pass, None)
        };
        MetricClassificationResult {
            classification,
            reason,
            deviation,
            critical: false,
            interval: Some(interval),
            effect_size: Some(effect_size),
        }
    }
}

/// Kayenta's benchmarking classifier: High if mean(canary) > mean(baseline) (and the
/// direction allows it), Low if lower, else Pass. Not reachable from configs.
pub fn mean_inequality_classify(
    control: &[f64],
    experiment: &[f64],
    direction: Direction,
) -> MetricClassification {
    if control.is_empty() || experiment.is_empty() {
        return MetricClassification::Nodata;
    }
    let (c, e) = (mean(control), mean(experiment));
    if direction.allows_increase() && e > c {
        MetricClassification::High
    } else if direction.allows_decrease() && e < c {
        MetricClassification::Low
    } else {
        MetricClassification::Pass
    }
}
