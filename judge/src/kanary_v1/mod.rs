//! `kanary-v1`: kanary's own judge, with stated error rates (issue 8, single judgements).
//!
//! Per metric, after Kayenta's first steps (no data → Nodata; identical data or a single
//! value → Pass): gauges are compared by rank tests on location — paired by timestamp when
//! both sides share a time grid (Wilcoxon signed rank on per-timestamp differences),
//! unpaired otherwise (Wilcoxon–Mann–Whitney) — and on spread (kayenta#780), combined by
//! weighted Bonferroni; counters by the exact conditional binomial test, with a
//! quasi-binomial inflation for bursty counts. The family of tested metrics is adjusted by
//! Holm (or the FDR options), and each metric is High / Low (harm shown), Pass (no harm
//! shown: the bounds at 1 − alpha/m stay within `margin`) or Inconclusive.
//!
//! Single judgements use fixed-sample p-values; [`judge_kanary_v1_sequential`] is the
//! anytime-valid form for multi-interval analyses (see its module).

mod binomial;
mod classify;
mod multiplicity;
mod pnorm;
mod rank_sum;
mod selection;
mod sequential;
mod settings;
mod signed_rank;
mod spread;

pub use binomial::{
    Dispersion, binom_test_p, clopper_pearson, dispersion, poisson_dispersion, quasi_dispersion,
    quasi_poisson_dispersion,
};
pub use multiplicity::{ErrorControl, adjust, holm, step_up};
pub use pnorm::{pt_upper, qt_upper};
pub use rank_sum::{Alternative, TestResult, rank_sum_p_value, rank_sum_test};
pub use sequential::{
    BLOCK, Look, SequentialState, autocorrelation_inflation, counter_sequential,
    judge_kanary_v1_sequential, paired_sequential, spending_share,
};
pub use settings::{MetricKind, Scale, V1JudgeSettings, V1MetricSettings};
pub use signed_rank::{
    SERIAL_MIN_POINTS, SERIAL_TEST_LEVEL, SerialCorrection, serial_correction, signed_rank_test,
    signed_rank_test_serial,
};
pub use spread::{SpreadResult, combine, spread_test, spread_test_serial};

use crate::JudgeError;
use crate::model::{
    CanaryAnalysisResult, CanaryConfig, MetricClassification, MetricMetadata, MetricSetPair,
    ResultMetadata,
};
use crate::stats::{mean_ratio, summary};
use classify::{Prepared, decide, json_num, prepare, run_test};

/// The judge name.
pub const KANARY_V1_JUDGE: &str = "kanary-v1";

/// Judges every pair with kanary-v1, in pair order.
pub fn judge_kanary_v1(
    config: &CanaryConfig,
    pairs: &[MetricSetPair],
) -> Result<Vec<CanaryAnalysisResult>, JudgeError> {
    let judge = V1JudgeSettings::from_config(config)?;
    // 1. Settings and Kayenta's first steps: who joins the family.
    let mut items = Vec::with_capacity(pairs.len());
    for pair in pairs {
        let metric = config
            .metric(&pair.name)
            .ok_or_else(|| JudgeError::UnknownMetric(pair.name.clone()))?;
        let settings = V1MetricSettings::from_metric(metric)?;
        let denominator = match &settings.denominator {
            None => None,
            Some(d) => {
                let same_tags = pairs.iter().find(|p| &p.name == d && p.tags == pair.tags);
                let only = {
                    let mut named = pairs.iter().filter(|p| &p.name == d);
                    match (named.next(), named.next()) {
                        (Some(p), None) => Some(p),
                        _ => None,
                    }
                };
                Some(same_tags.or(only))
            }
        };
        let (sides, prepared) = match denominator {
            Some(None) => (
                classify::Sides {
                    control: Vec::new(),
                    experiment: Vec::new(),
                },
                Prepared::Settled {
                    classification: MetricClassification::Error,
                    reason: Some(format!(
                        "Metric Classification Failed: the denominator metric '{}' has no \
                         series with these tags",
                        settings.denominator.as_deref().unwrap_or_default()
                    )),
                    critical: false,
                },
            ),
            Some(Some(d)) => prepare(&pair.name, pair, &settings, Some(d)),
            None => prepare(&pair.name, pair, &settings, None),
        };
        items.push((metric, settings, sides, prepared));
    }
    let m = items
        .iter()
        .filter(|(_, _, _, p)| !matches!(p, Prepared::Settled { .. }))
        .count();
    // 2. Tests at the family's level: each bound one-sided at 1 − alpha/m.
    let conf = 1.0 - judge.alpha / m.max(1) as f64;
    let tested: Vec<Option<classify::Tested>> = items
        .iter()
        .map(|(_, s, _, p)| run_test(p, s, conf))
        .collect();
    // 3. The adjustment across the family.
    let family: Vec<usize> = (0..items.len()).filter(|&i| tested[i].is_some()).collect();
    let p: Vec<f64> = family
        .iter()
        .filter_map(|&i| tested[i].as_ref().map(|t| t.p_value))
        .collect();
    let critical: Vec<bool> = family.iter().map(|&i| items[i].1.base.critical).collect();
    let adjusted = adjust(&p, &critical, judge.error_control);
    let mut adjusted_of = vec![None; items.len()];
    for (k, &i) in family.iter().enumerate() {
        adjusted_of[i] = Some(adjusted[k]);
    }
    // 4. Outcomes.
    let results = items
        .into_iter()
        .zip(tested)
        .zip(adjusted_of)
        .zip(pairs)
        .map(
            |((((metric, settings, sides, prepared), tested), adj), pair)| {
                let deviation = mean_ratio(&sides.control, &sides.experiment);
                let (classification, reason, critical, result_metadata) = match (prepared, tested) {
                    (
                        Prepared::Settled {
                            classification,
                            reason,
                            critical,
                        },
                        _,
                    ) => {
                        let meta = (classification != MetricClassification::Error).then(|| {
                            ResultMetadata {
                                ratio: 1.0,
                                ..Default::default()
                            }
                        });
                        (classification, reason, critical, meta)
                    }
                    (_, Some(t)) => {
                        let adjusted = adj.unwrap_or(1.0);
                        let o = decide(&pair.name, &t, adjusted, judge.alpha, &settings, conf);
                        let mut extra = serde_json::Map::new();
                        extra.insert("confLevel".into(), json_num(conf));
                        for (k, v) in &t.extra {
                            extra.insert((*k).into(), v.clone());
                        }
                        let meta = ResultMetadata {
                            ratio: deviation,
                            lower_confidence: Some(t.lower_ratio()),
                            upper_confidence: Some(t.upper_ratio()),
                            estimate: Some(t.estimate_ratio()),
                            p_value: Some(t.p_value),
                            adjusted_p_value: Some(adjusted),
                            test: Some(t.test.clone()),
                            extra,
                        };
                        (o.classification, o.reason, o.critical, Some(meta))
                    }
                    (_, None) => (
                        MetricClassification::Error,
                        Some("Metric Classification Failed".to_string()),
                        false,
                        None,
                    ),
                };
                CanaryAnalysisResult {
                    name: pair.name.clone(),
                    id: pair.id.clone(),
                    tags: pair.tags.clone(),
                    classification,
                    classification_reason: reason,
                    groups: metric.groups.clone(),
                    experiment_metadata: MetricMetadata {
                        stats: summary(&sides.experiment),
                        ..Default::default()
                    },
                    control_metadata: MetricMetadata {
                        stats: summary(&sides.control),
                        ..Default::default()
                    },
                    result_metadata,
                    critical,
                    muted: settings.base.muted,
                }
            },
        )
        .collect();
    Ok(results)
}
