//! Judges by name, and the per-metric pipeline of Kayenta's `NetflixACAJudge`
//! (`NetflixACAJudge.scala`): find the metric config, read its settings, transform each
//! side, describe it, classify, build the `CanaryAnalysisResult`.

use crate::JudgeError;
use crate::classifier::{MannWhitneyClassifier, MetricClassificationResult};
use crate::kanary_v1::{KANARY_V1_JUDGE, judge_kanary_v1};
use crate::model::{
    CanaryAnalysisResult, CanaryConfig, CanaryMetricConfig, MetricClassification, MetricMetadata,
    MetricSetPair, ResultMetadata,
};
use crate::settings::{JudgeSettings, MetricSettings};
use crate::stats::summary;
use crate::transforms::preprocess;

/// Kayenta's judge name.
pub const NETFLIX_ACA_JUDGE: &str = "NetflixACAJudge-v1.0";
/// Kayenta's dummy judge, used by its sample configs.
pub const DREDD_JUDGE: &str = "dredd-v1.0";

/// The judges kanary knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JudgeKind {
    /// `NetflixACAJudge-v1.0`: Kayenta's Mann-Whitney judge (the default).
    NetflixAca,
    /// `dredd-v1.0`: random labels, seeded by the input so that reruns agree.
    Dredd,
    /// `kanary-v1`: kanary's judge with stated error rates (opt-in).
    KanaryV1,
}

impl JudgeKind {
    /// Every judge with its `/judges` visibility, default first.
    pub const ALL: [(JudgeKind, bool); 3] = [
        (JudgeKind::NetflixAca, true),
        (JudgeKind::Dredd, false),
        (JudgeKind::KanaryV1, true),
    ];

    /// The judge's name.
    pub fn name(self) -> &'static str {
        match self {
            JudgeKind::NetflixAca => NETFLIX_ACA_JUDGE,
            JudgeKind::Dredd => DREDD_JUDGE,
            JudgeKind::KanaryV1 => KANARY_V1_JUDGE,
        }
    }

    /// Kayenta's selection: no name (or an empty one) is the first judge; an unknown
    /// name is `Unable to resolve canary judge '<name>'.`.
    pub fn resolve(name: Option<&str>) -> Result<JudgeKind, JudgeError> {
        match name {
            None | Some("") => Ok(JudgeKind::NetflixAca),
            Some(n) => Self::ALL
                .iter()
                .map(|(k, _)| *k)
                .find(|k| k.name() == n)
                .ok_or_else(|| JudgeError::UnknownJudge(n.to_string())),
        }
    }
}

/// Judges every pair with the config's judge (or `override_judge`), in pair order.
///
/// Fails as Kayenta's judge stage fails: on a pair whose metric is not in the config
/// (`Could not find metric config for <name>`), an unknown judge, or a setting of the wrong
/// type. A metric whose classification fails is classified `Error`, not an error.
pub fn judge_pairs(
    config: &CanaryConfig,
    pairs: &[MetricSetPair],
    override_judge: Option<&str>,
) -> Result<(JudgeKind, Vec<CanaryAnalysisResult>), JudgeError> {
    let kind = JudgeKind::resolve(
        override_judge
            .filter(|n| !n.is_empty())
            .or(config.judge_name()),
    )?;
    // Only Kayenta's Mann-Whitney judge reads tolerance and confLevel; kanary-v1 judges the
    // pairs together (the family of metrics shares alpha).
    let per_pair = |judge_settings: Option<JudgeSettings>| {
        pairs
            .iter()
            .map(|pair| {
                let metric = config
                    .metric(&pair.name)
                    .ok_or_else(|| JudgeError::UnknownMetric(pair.name.clone()))?;
                match judge_settings {
                    Some(js) => netflix_metric(metric, pair, js),
                    None => dredd_metric(metric, pair),
                }
            })
            .collect::<Result<Vec<_>, _>>()
    };
    let results = match kind {
        JudgeKind::NetflixAca => per_pair(Some(JudgeSettings::from_config(config)?))?,
        JudgeKind::Dredd => per_pair(None)?,
        JudgeKind::KanaryV1 => judge_kanary_v1(config, pairs)?,
    };
    Ok((kind, results))
}

/// Kayenta's `NetflixACAJudge` on one pair.
pub fn netflix_metric(
    metric: &CanaryMetricConfig,
    pair: &MetricSetPair,
    judge: JudgeSettings,
) -> Result<CanaryAnalysisResult, JudgeError> {
    let (settings, mut control, mut experiment) = prepare(metric, pair)?;
    // Every statistic below is order-independent and sorts its own copy; sorting once here
    // makes those sorts single linear passes over sorted data (`sort_unstable` detects a
    // sorted run), which is a few percent of `POST /judge`.
    control.sort_unstable_by(f64::total_cmp);
    experiment.sort_unstable_by(f64::total_cmp);
    let classifier = MannWhitneyClassifier { judge };
    let outcome = classifier.classify(&pair.name, &control, &experiment, &settings);
    Ok(build_result(
        metric,
        pair,
        &settings,
        &control,
        &experiment,
        outcome,
    ))
}

/// A metric's settings and both sides after the NaN and outlier transforms.
fn prepare(
    metric: &CanaryMetricConfig,
    pair: &MetricSetPair,
) -> Result<(MetricSettings, Vec<f64>, Vec<f64>), JudgeError> {
    let settings = MetricSettings::from_metric(metric)?;
    let (control, _) = preprocess(&pair.values.control, &settings);
    let (experiment, _) = preprocess(&pair.values.experiment, &settings);
    Ok((settings, control, experiment))
}

fn build_result(
    metric: &CanaryMetricConfig,
    pair: &MetricSetPair,
    settings: &MetricSettings,
    control: &[f64],
    experiment: &[f64],
    outcome: MetricClassificationResult,
) -> CanaryAnalysisResult {
    let result_metadata =
        (outcome.classification != MetricClassification::Error).then(|| ResultMetadata {
            ratio: outcome.deviation,
            lower_confidence: outcome.interval.map(|i| i.lower),
            upper_confidence: outcome.interval.map(|i| i.upper),
            estimate: outcome.interval.map(|i| i.estimate),
            ..Default::default()
        });
    CanaryAnalysisResult {
        name: pair.name.clone(),
        id: pair.id.clone(),
        tags: pair.tags.clone(),
        classification: outcome.classification,
        classification_reason: outcome.reason,
        groups: metric.groups.clone(),
        experiment_metadata: MetricMetadata {
            stats: summary(experiment),
            ..Default::default()
        },
        control_metadata: MetricMetadata {
            stats: summary(control),
            ..Default::default()
        },
        result_metadata,
        critical: outcome.critical,
        muted: settings.muted,
    }
}

/// Kayenta's `RandomDummyJudge` (`dredd-v1.0`): u in [0, 100) rounded to 2 decimals,
/// ≥ 66 High, ≥ 33 Pass, else Low. Kayenta draws u unseeded; kanary seeds a SplitMix64
/// generator with a hash of the pair (name, tags, values), so the same input gives the same
/// labels. Like Kayenta, it sets neither `critical` nor `muted`.
pub fn dredd_metric(
    metric: &CanaryMetricConfig,
    pair: &MetricSetPair,
) -> Result<CanaryAnalysisResult, JudgeError> {
    let (settings, control, experiment) = prepare(metric, pair)?;
    let mut h = Fnv64::default();
    h.write(pair.name.as_bytes());
    for (k, v) in &pair.tags {
        h.write(k.as_bytes());
        h.write(&[0]);
        h.write(v.as_bytes());
        h.write(&[1]);
    }
    for v in pair
        .values
        .control
        .iter()
        .chain(&[f64::NAN])
        .chain(&pair.values.experiment)
    {
        h.write(&v.to_bits().to_le_bytes());
    }
    let draw = splitmix64(h.0);
    let u = ((draw >> 11) as f64 / (1u64 << 53) as f64 * 100.0 * 100.0).round() / 100.0;
    let classification = if u >= 66.0 {
        MetricClassification::High
    } else if u >= 33.0 {
        MetricClassification::Pass
    } else {
        MetricClassification::Low
    };
    let outcome = MetricClassificationResult {
        classification,
        reason: None,
        deviation: crate::stats::mean_ratio(&control, &experiment),
        critical: false,
        interval: None,
        effect_size: None,
    };
    let settings = MetricSettings {
        muted: false,
        ..settings
    };
    Ok(build_result(
        metric,
        pair,
        &settings,
        &control,
        &experiment,
        outcome,
    ))
}

struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
