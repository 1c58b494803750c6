//! kanary-v1 across intervals (issue 8, "Across intervals"): anytime-valid p-values and
//! confidence sequences, so that judging a growing window at every interval keeps the
//! stated error rate however often one looks.
//!
//! The runner (`kanary::analysis::run`) calls [`judge_kanary_v1_sequential`] once per
//! interval with all the data since the analysis start and a [`SequentialState`] that
//! lives for the whole analysis. Each look:
//!
//! - **Paired gauges** (per-timestamp differences d on the comparison scale), under "no
//!   change" assumed symmetric about 0 (baseline and canary exchangeable at each
//!   timestamp). Two e-processes for "symmetric about θ", averaged (an average of
//!   e-processes is one):
//!   1. the self-normalized normal mixture on the points,
//!      M_t(θ) = √(ρ / (ρ + f·V_t)) · exp(S_t² / (2(ρ + f·V_t))), S_t = Σ(dᵢ − θ),
//!      V_t = Σ(dᵢ − θ)²: exp(λS_t − λ²V_t/2) is a supermartingale for conditionally
//!      symmetric increments (de la Peña 1999, "A general class of exponential
//!      inequalities for martingales and ratios", Ann. Probab. 27(1); Howard, Ramdas,
//!      McAuliffe & Sekhon 2020, "Time-uniform Chernoff bounds via nonnegative
//!      supermartingales", Probab. Surveys 17, the self-normalized symmetric case), and
//!      the N(0, 1/ρ) mixture over λ is Robbins' normal mixture (Howard, Ramdas,
//!      McAuliffe & Sekhon 2021, "Time-uniform, nonparametric, nonasymptotic confidence
//!      sequences", Ann. Statist. 49(2), §3, the normal-mixture boundary). f is the
//!      autocorrelation correction below (f = 1 for independent points);
//!   2. a sign e-process on block means of [`BLOCK`] points: the Krichevsky–Trofimov
//!      (Beta(½, ½)) mixture of bets on the sign of each block's mean of dᵢ − θ, a fair
//!      coin under symmetry (testing by betting: Shafer & Vovk 2019, "Game-Theoretic
//!      Foundations for Probability and Finance"; Waudby-Smith & Ramdas 2024,
//!      "Estimating means of bounded random variables by betting", JRSS-B 86(1)). It
//!      closes the confidence sequence: the normal mixture alone, being self-normalized,
//!      cannot exclude shifts beyond every point.
//!
//!   The anytime p-value is min(1, 1 / sup_{t ≤ n} E_t(0)) (Ville's inequality: P(sup E ≥
//!   1/a) ≤ a), the confidence sequence {θ : sup_{t ≤ n} E_t(θ) < m/alpha}, intersected
//!   with the earlier looks' (Howard et al. 2021, §2: a running intersection of a
//!   confidence sequence is one). ρ is [`RHO_PER_MARGIN2`] · δ*², δ* the margin as a
//!   change (log(1 + margin), or margin · |baseline median| on the linear scale, fixed at
//!   the metric's first tested look).
//! - **Counters**: per step, given the step's events, the canary's events are binomial
//!   with the canary's exposure share p₀ under "same rate" (the conditioning of the
//!   single judgement's exact test). A discrete mixture, equal weights, of likelihood
//!   ratios over rate ratios e^h (h = ±0.02·2^{k/2}, k = 0..15) is a martingale under the
//!   null rate ratio (Wald 1947; Robbins 1970, "Statistical methods related to the law of
//!   the iterated logarithm", Ann. Math. Statist. 41(5); Howard et al. 2021 §3, discrete
//!   mixtures); the p-value and the confidence sequence for the rate ratio follow as for
//!   gauges. Bursty counts (dispersion φ̂ > 1, `binomial::dispersion`) temper the log
//!   likelihood ratio by 1/φ̂, the quasi-likelihood analogue of the single judgement's
//!   inflation (McCullagh & Nelder 1989, §9.2): approximate, not a proven martingale.
//! - **Unpaired gauges** (sides not on one time grid, so no order to bet along): the
//!   fixed-sample Wilcoxon–Mann–Whitney test with alpha spent over the planned looks,
//!   Lan & DeMets 1983 ("Discrete sequential boundaries for clinical trials",
//!   Biometrika 70(3)) with the power family α(t) = α·t² (Kim & DeMets 1987): look k of K
//!   gets the share w_k = (k² − (k − 1)²)/K² of the level, and by Bonferroni over the
//!   looks p̃ = min over looks of p_k / w_k is a valid p-value for the whole analysis
//!   (valid under any dependence between looks; conservative). Bounds at one-sided level
//!   1 − w_k·alpha/m, intersected over looks. Needs the number of looks, which the plan
//!   knows.
//!
//! Across metrics: the same adjustment as single judgements (Holm by default) on the
//! anytime-valid p-values. Why this stays valid: p_n ≥ p* = inf_n p_n, which is itself a
//! valid p-value (Ville), and Holm (and BH / BY) reject more when p-values shrink, so every
//! look rejects a subset of what the procedure rejects on p*; Holm on p* controls the
//! family-wise error, so no look at any time flags a healthy metric with probability more
//! than alpha (under the block-independence assumption above). The "no harm" (Pass)
//! decision uses each metric's confidence sequence at alpha/m (Bonferroni), valid at every
//! look.
//!
//! Not tested sequentially: the spread (kayenta#780) test, which has no anytime-valid form
//! here; sequential judgements test location only (`test` says which construction ran).
//!
//! Autocorrelation: within a run the differences are not independent. The normal mixture
//! inflates its variance process by f = (1 + r)/(1 − r), r the lag-1 autocorrelation of
//! the differences seen so far (clamped to [0, 0.9]): the variance of a sum of AR(1)
//! terms over the sum of their variances, the effective-sample-size correction n(1 − r)/
//! (1 + r) of issue 8. A plug-in, so approximate: the assumption is that the differences
//! are close to AR(1). The sign bet works on block means of [`BLOCK`] points, nearly
//! independent at such correlations. A load both sides share cancels in the differences
//! and needs no correction.

use super::binomial::dispersion;
use super::classify::{Prepared, json_num, percent, prepare};
use super::multiplicity::adjust;
use super::rank_sum::{Alternative, rank_sum_test};
use super::settings::{MetricKind, Scale, V1JudgeSettings, V1MetricSettings};
use crate::JudgeError;
use crate::model::{
    CanaryAnalysisResult, CanaryConfig, MetricClassification, MetricMetadata, MetricSetPair,
    ResultMetadata,
};
use crate::settings::NanStrategy;
use crate::stats::{mean_ratio, summary};
use std::collections::BTreeMap;

/// Points per block for paired gauges: the e-process bets on block means, which are
/// nearly independent when each side's own noise is autocorrelated over a few steps.
pub const BLOCK: usize = 5;

/// The normal mixture's ρ in units of the margin squared (δ*²): a prior sd of λ of
/// 1/(√10·δ*), the best bet δ/σ² against a shift of the margin's size when the per-point
/// noise sd is about 1.8 δ* (the simulation's 0.141 against log(1.1) = 0.095). Measured
/// on 120 i.i.d. points at alpha 0.0025: the width of the confidence sequence changes by
/// less than 4 % for ρ from 1 to 50 δ*², so the choice is not delicate.
pub const RHO_PER_MARGIN2: f64 = 10.0;

/// Which look of how many this judgement is (1-based `index`, `of` planned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    /// 1-based judgement number.
    pub index: usize,
    /// Number of planned judgements.
    pub of: usize,
}

/// What a sequential analysis remembers between looks, per (metric, tags).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SequentialState {
    metrics: BTreeMap<String, Memory>,
}

#[derive(Debug, Clone, PartialEq)]
struct Memory {
    /// `scale: auto`'s choice at the first tested look (gauges).
    log: Option<bool>,
    /// Linear scale: the baseline median at the first tested look.
    reference: Option<f64>,
    /// Running minimum of the anytime p-value.
    p: f64,
    /// Running intersection of the confidence sequence (additive units).
    lower: f64,
    upper: f64,
}

impl Default for Memory {
    fn default() -> Self {
        Memory {
            log: None,
            reference: None,
            p: 1.0,
            lower: f64::NEG_INFINITY,
            upper: f64::INFINITY,
        }
    }
}

fn key(pair: &MetricSetPair) -> String {
    let mut k = pair.name.clone();
    for (t, v) in &pair.tags {
        k.push('\u{1f}');
        k.push_str(t);
        k.push('=');
        k.push_str(v);
    }
    k
}

impl SequentialState {
    /// A fresh analysis.
    pub fn new() -> SequentialState {
        SequentialState::default()
    }

    /// The scale fixed for a gauge at its first tested look: `Some("log")`,
    /// `Some("linear")`, or `None` before it was tested.
    pub fn scale_of(&self, pair: &MetricSetPair) -> Option<&'static str> {
        self.metrics
            .get(&key(pair))
            .and_then(|m| m.log)
            .map(|l| if l { "log" } else { "linear" })
    }
}

/// One metric's evidence at this look, additive units (log ratio or linear shift).
#[derive(Debug, Clone)]
struct Evidence {
    /// The anytime-valid p-value (running minimum over the looks).
    p_value: f64,
    estimate: f64,
    lower: f64,
    upper: f64,
    /// sup_t E_t under "no change", when the construction is an e-process.
    e_value: Option<f64>,
    /// Linear scale: the reference (ratio = (b + v) / b); None: log units.
    reference: Option<f64>,
    test: &'static str,
    amount: String,
}

impl Evidence {
    fn ratio(&self, v: f64) -> f64 {
        match self.reference {
            None => v.exp(),
            Some(b) => (b + v) / b,
        }
    }
    fn additive(&self, ratio: f64) -> f64 {
        match self.reference {
            None => ratio.ln(),
            Some(b) => (ratio - 1.0) * b.abs(),
        }
    }
}

/// ln(e^a + e^b) without overflow.
fn log_add(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if hi == f64::NEG_INFINITY {
        return hi;
    }
    hi + (lo - hi).exp().ln_1p()
}

/// sup over t ≤ n of ln E_t(θ) for per-point differences `d`: E = ½·(normal mixture on
/// the points, the variance process inflated by `inflation`) + ½·(sign KT on block means).
fn gauge_log_e(d: &[f64], theta: f64, rho: f64, inflation: f64, block: usize) -> f64 {
    let (mut s, mut v) = (0.0, 0.0);
    let (mut pos, mut neg) = (0.0f64, 0.0f64);
    let mut log_kt = 0.0;
    let mut block_sum = 0.0;
    let mut best = f64::NEG_INFINITY;
    for (i, di) in d.iter().enumerate() {
        let y = di - theta;
        s += y;
        v += y * y;
        block_sum += y;
        if (i + 1) % block == 0 {
            // KT: the probability of this block's sign given the past, against ½.
            if block_sum > 0.0 {
                log_kt += (2.0 * (pos + 0.5) / (pos + neg + 1.0)).ln();
                pos += 1.0;
            } else if block_sum < 0.0 {
                log_kt += (2.0 * (neg + 0.5) / (pos + neg + 1.0)).ln();
                neg += 1.0;
            }
            block_sum = 0.0;
        }
        let w = rho + inflation * v;
        let log_nm = 0.5 * (rho / w).ln() + s * s / (2.0 * w);
        let log_e = log_add(log_nm, log_kt) - std::f64::consts::LN_2;
        best = best.max(log_e);
    }
    best
}

/// The long-run variance factor (1 + r)/(1 − r) of the lag-1 autocorrelation r of `d`
/// (r clamped to [0, 0.9]): the variance of a sum of AR(1)-like terms over the sum of
/// their variances (the effective sample size n(1 − r)/(1 + r) of issue 8; e.g. Bartlett
/// 1946, or Wilks 2011, "Statistical Methods in the Atmospheric Sciences", eq. 5.12).
pub fn autocorrelation_inflation(d: &[f64]) -> f64 {
    let n = d.len();
    if n < 3 {
        return 1.0;
    }
    let mean = d.iter().sum::<f64>() / n as f64;
    let den: f64 = d.iter().map(|x| (x - mean).powi(2)).sum();
    if den.is_nan() || den <= 0.0 {
        return 1.0;
    }
    let num: f64 = d.windows(2).map(|w| (w[0] - mean) * (w[1] - mean)).sum();
    let r = (num / den).clamp(0.0, 0.9);
    (1.0 + r) / (1.0 - r)
}

/// The end of {θ : f(θ) < 0} on one side of `center`, by a geometric scan outwards and
/// bisection at the last crossing; ±∞ when the scan never leaves the set.
fn boundary(f: impl Fn(f64) -> f64, center: f64, unit: f64, up: bool) -> f64 {
    let sign = if up { 1.0 } else { -1.0 };
    let at = |g: f64| center + sign * unit * g;
    if f(center) >= 0.0 {
        return center;
    }
    // Grid 0, 0.01, 0.01·1.2, … up to 1e4 units.
    let mut grid = vec![0.0];
    let mut g = 0.01;
    while g < 1e4 {
        grid.push(g);
        g *= 1.2;
    }
    let inside: Vec<bool> = grid.iter().map(|&g| f(at(g)) < 0.0).collect();
    let Some(last) = inside.iter().rposition(|i| *i) else {
        return center;
    };
    if last + 1 == grid.len() {
        return sign * f64::INFINITY;
    }
    let (mut lo, mut hi) = (grid[last], grid[last + 1]);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if f(at(mid)) < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    at(hi)
}

/// The paired-gauge e-process on per-timestamp differences `d`: `(p, sup E, estimate,
/// lower, upper)` with the confidence sequence at level `1 − alpha` (two-sided) and the
/// mixture's `rho`. The estimate is the mean difference.
pub fn paired_sequential(d: &[f64], alpha: f64, rho: f64) -> (f64, f64, f64, f64, f64) {
    if d.is_empty() {
        return (1.0, 1.0, 0.0, f64::NEG_INFINITY, f64::INFINITY);
    }
    let rho = if rho > 0.0 && rho.is_finite() {
        rho
    } else {
        f64::MIN_POSITIVE
    };
    let inflation = autocorrelation_inflation(d);
    let n = d.len() as f64;
    let center = d.iter().sum::<f64>() / n;
    let log_e = |theta: f64| gauge_log_e(d, theta, rho, inflation, BLOCK);
    let log_e0 = log_e(0.0);
    let p = (-log_e0).exp().min(1.0);
    let threshold = (1.0 / alpha).ln();
    let sd = (d.iter().map(|v| (v - center).powi(2)).sum::<f64>() / n).sqrt();
    let unit = if sd > 0.0 {
        sd / n.sqrt()
    } else {
        rho.sqrt().max(center.abs()).max(1e-12)
    };
    let f = |theta: f64| log_e(theta) - threshold;
    let upper = boundary(f, center, unit, true);
    let lower = boundary(f, center, unit, false);
    (p, log_e0.exp(), center, lower, upper)
}

/// One counter step: canary events, baseline events, canary exposure, baseline exposure.
type Step = (f64, f64, f64, f64);

/// The mixture components: log rate ratios relative to the null.
fn components() -> Vec<f64> {
    let mut h = Vec::with_capacity(32);
    for k in 0..16 {
        let v = 0.02 * 2f64.powf(k as f64 / 2.0);
        h.push(v);
        h.push(-v);
    }
    h
}

/// ln(share) and ln(1 − share) of the canary's events at log rate ratio `g`.
fn log_shares(p0: f64, g: f64) -> (f64, f64) {
    let a = p0.ln() + g;
    let b = (1.0 - p0).ln();
    let z = log_add(a, b);
    (a - z, b - z)
}

/// sup over steps of ln E_t(g) for the counter mixture, log likelihoods tempered by 1/φ.
fn counter_log_e(steps: &[Step], g: f64, phi: f64, h: &[f64]) -> f64 {
    let mut sums = vec![0.0; h.len()];
    // Per component, the log likelihood ratio per canary and per baseline event; steps
    // with the share p₀ of the step before (every step without a denominator) reuse it.
    let mut per_event = vec![(0.0, 0.0); h.len()];
    let mut last_p0 = f64::NAN;
    let log_w = -(h.len() as f64).ln();
    // The sup over a subset of the times is still bounded by Ville's inequality, so long
    // runs look at most about MAX_LOOKS_PER_RUN of their steps (all of them up to that).
    let stride = steps.len().div_ceil(MAX_LOOKS_PER_RUN).max(1);
    let mut best = f64::NEG_INFINITY;
    for (i, &(c, b, ec, eb)) in steps.iter().enumerate() {
        if c + b > 0.0 {
            let p0 = ec / (ec + eb);
            if p0 != last_p0 {
                let (n1, n0) = log_shares(p0, g);
                for (pe, hk) in per_event.iter_mut().zip(h) {
                    let (a1, a0) = log_shares(p0, g + hk);
                    *pe = ((a1 - n1) / phi, (a0 - n0) / phi);
                }
                last_p0 = p0;
            }
            for (s, pe) in sums.iter_mut().zip(&per_event) {
                *s += c * pe.0 + b * pe.1;
            }
        }
        if (i + 1) % stride == 0 || i + 1 == steps.len() {
            let log_e = sums
                .iter()
                .fold(f64::NEG_INFINITY, |acc, s| log_add(acc, s + log_w));
            best = best.max(log_e);
        }
    }
    best.max(0.0)
}

/// Counters evaluate their mixture at most about this many times per judgement (every
/// step of runs up to this many steps).
pub const MAX_LOOKS_PER_RUN: usize = 256;

/// The counter mixture martingale on per-step counts: `(p, sup E, estimate, lower,
/// upper)` for the log rate ratio, confidence sequence at `1 − alpha`, tempered by `phi`.
pub fn counter_sequential(steps: &[Step], alpha: f64, phi: f64) -> (f64, f64, f64, f64, f64) {
    let phi = if phi.is_finite() { phi.max(1.0) } else { 1.0 };
    let (c, b, ec, eb) = steps.iter().fold((0.0, 0.0, 0.0, 0.0), |a, s| {
        (a.0 + s.0, a.1 + s.1, a.2 + s.2, a.3 + s.3)
    });
    if c + b <= 0.0 || ec <= 0.0 || eb <= 0.0 {
        return (1.0, 1.0, 0.0, f64::NEG_INFINITY, f64::INFINITY);
    }
    let h = components();
    let log_e0 = counter_log_e(steps, 0.0, phi, &h);
    let p = (-log_e0).exp().min(1.0);
    let estimate = (c / ec).ln() - (b / eb).ln();
    let center = if estimate.is_finite() {
        estimate
    } else {
        // No events on one side: scan from a large finite ratio towards the data.
        ((c + 0.5) / ec).ln() - ((b + 0.5) / eb).ln()
    };
    let threshold = (1.0 / alpha).ln();
    let f = |g: f64| counter_log_e(steps, g, phi, &h) - threshold;
    let upper = boundary(f, center, 0.1, true);
    let lower = boundary(f, center, 0.1, false);
    (p, log_e0.exp(), estimate, lower, upper)
}

/// Per-step counts for the sequential counter test: aligned steps where both sides have
/// a value (NaN as 0 under `nanStrategy: replace`), exposures from the denominator at the
/// same step or 1 a step; unaligned series become one step of totals.
fn counter_steps(
    pair: &MetricSetPair,
    s: &V1MetricSettings,
    denominator: Option<&MetricSetPair>,
) -> Vec<Step> {
    let replace = s.base.nan_strategy == NanStrategy::Replace;
    let fix = |v: f64| if v.is_nan() && replace { 0.0 } else { v };
    let (cv, ev) = (&pair.values.control, &pair.values.experiment);
    if pair.is_aligned() {
        let den = denominator.filter(|d| d.values.control.len() == cv.len());
        let mut steps = Vec::new();
        for i in 0..cv.len().min(ev.len()) {
            let (b, c) = (fix(cv[i]), fix(ev[i]));
            if !(b.is_finite() && c.is_finite()) {
                continue;
            }
            let (ec, eb) = match (denominator, den) {
                (None, _) => (1.0, 1.0),
                (Some(_), Some(d)) => (
                    d.values.experiment.get(i).copied().unwrap_or(f64::NAN),
                    d.values.control.get(i).copied().unwrap_or(f64::NAN),
                ),
                (Some(_), None) => (f64::NAN, f64::NAN),
            };
            if ec > 0.0 && eb > 0.0 {
                steps.push((c, b, ec, eb));
            }
        }
        if denominator.is_some() && den.is_none() {
            // A denominator on another grid: one step of totals.
            return totals(pair, s, denominator);
        }
        steps
    } else {
        totals(pair, s, denominator)
    }
}

fn totals(
    pair: &MetricSetPair,
    s: &V1MetricSettings,
    denominator: Option<&MetricSetPair>,
) -> Vec<Step> {
    let replace = s.base.nan_strategy == NanStrategy::Replace;
    let kept = |v: &[f64]| -> Vec<f64> {
        v.iter()
            .map(|x| if x.is_nan() && replace { 0.0 } else { *x })
            .filter(|x| x.is_finite())
            .collect()
    };
    let (c, b) = (kept(&pair.values.experiment), kept(&pair.values.control));
    let (ec, eb) = match denominator {
        Some(d) => (
            d.values.experiment.iter().filter(|x| x.is_finite()).sum(),
            d.values.control.iter().filter(|x| x.is_finite()).sum(),
        ),
        None => (c.len() as f64, b.len() as f64),
    };
    if ec > 0.0 && eb > 0.0 {
        vec![(c.iter().sum(), b.iter().sum(), ec, eb)]
    } else {
        Vec::new()
    }
}

fn alternative(s: &V1MetricSettings) -> Alternative {
    match (
        s.base.direction.allows_increase(),
        s.base.direction.allows_decrease(),
    ) {
        (true, false) => Alternative::Greater,
        (false, true) => Alternative::Less,
        _ => Alternative::TwoSided,
    }
}

/// Lan–DeMets power-family share of the level for look `k` of `of`: ((k² − (k−1)²) / K²).
pub fn spending_share(look: Look) -> f64 {
    let of = look.of.max(1) as f64;
    let k = (look.index.clamp(1, look.of.max(1))) as f64;
    (k * k - (k - 1.0) * (k - 1.0)) / (of * of)
}

/// Judges every pair with kanary-v1's sequential (anytime-valid) mode at this look.
///
/// `pairs` hold all the data since the analysis start; `state` must be the same value
/// for every look of one analysis (it keeps each metric's scale, the running minimum of
/// its p-value and the running intersection of its confidence sequence).
pub fn judge_kanary_v1_sequential(
    config: &CanaryConfig,
    pairs: &[MetricSetPair],
    state: &mut SequentialState,
    look: Look,
) -> Result<Vec<CanaryAnalysisResult>, JudgeError> {
    use MetricClassification::*;
    let judge = V1JudgeSettings::from_config(config)?;
    // 1. Settings (with the remembered scale) and Kayenta's first steps.
    let mut items = Vec::with_capacity(pairs.len());
    for pair in pairs {
        let metric = config
            .metric(&pair.name)
            .ok_or_else(|| JudgeError::UnknownMetric(pair.name.clone()))?;
        let mut settings = V1MetricSettings::from_metric(metric)?;
        let memory = state.metrics.entry(key(pair)).or_default().clone();
        if settings.kind == MetricKind::Gauge && settings.scale == Scale::Auto {
            if let Some(log) = memory.log {
                settings.scale = if log { Scale::Log } else { Scale::Linear };
            }
        }
        let denominator = match &settings.denominator {
            None => None,
            Some(d) => {
                let same_tags = pairs.iter().find(|p| &p.name == d && p.tags == pair.tags);
                let mut named = pairs.iter().filter(|p| &p.name == d);
                let only = match (named.next(), named.next()) {
                    (Some(p), None) => Some(p),
                    _ => None,
                };
                Some(same_tags.or(only))
            }
        };
        let (sides, prepared) = match denominator {
            Some(None) => (
                None,
                Prepared::Settled {
                    classification: Error,
                    reason: Some(format!(
                        "Metric Classification Failed: the denominator metric '{}' has no \
                         series with these tags",
                        settings.denominator.as_deref().unwrap_or_default()
                    )),
                    critical: false,
                },
            ),
            Some(Some(d)) => {
                let (s, p) = prepare(&pair.name, pair, &settings, Some(d));
                (Some(s), p)
            }
            None => {
                let (s, p) = prepare(&pair.name, pair, &settings, None);
                (Some(s), p)
            }
        };
        let den = denominator.flatten();
        items.push((metric, settings, sides, prepared, den, memory));
    }
    let m = items
        .iter()
        .filter(|i| !matches!(i.3, Prepared::Settled { .. }))
        .count();
    let level = judge.alpha / m.max(1) as f64;
    // 2. The evidence of each tested metric.
    let mut evidence: Vec<Option<Evidence>> = Vec::with_capacity(items.len());
    for (pair, (_, settings, _, prepared, den, memory)) in pairs.iter().zip(items.iter_mut()) {
        let e = match prepared {
            Prepared::Settled { .. } => None,
            Prepared::Gauge(g) => {
                if memory.log.is_none() {
                    memory.log = Some(g.log);
                }
                if !g.log && memory.reference.is_none() {
                    memory.reference = Some(g.baseline_median);
                }
                let reference = (!g.log).then(|| memory.reference.unwrap_or(g.baseline_median));
                let delta = match reference {
                    None => (1.0 + settings.margin).ln(),
                    Some(b) => settings.margin * b.abs(),
                };
                Some(match &g.paired {
                    Some(d) => {
                        let rho = RHO_PER_MARGIN2 * delta * delta;
                        let (p, e0, est, lo, hi) = paired_sequential(d, level, rho);
                        Evidence {
                            p_value: p,
                            estimate: est,
                            lower: lo,
                            upper: hi,
                            e_value: Some(e0),
                            reference,
                            test: "sequential-normal-mixture+sign",
                            amount: format!(
                                "{} paired points ({} blocks of {BLOCK})",
                                d.len(),
                                d.len() / BLOCK
                            ),
                        }
                    }
                    None => {
                        let w = spending_share(look);
                        let t = rank_sum_test(
                            &g.canary,
                            &g.baseline,
                            alternative(settings),
                            1.0 - level * w,
                        );
                        Evidence {
                            p_value: (t.p_value / w).min(1.0),
                            estimate: t.estimate,
                            lower: t.lower,
                            upper: t.upper,
                            e_value: None,
                            reference,
                            test: "wilcoxon-rank-sum+alpha-spending",
                            amount: format!(
                                "{} canary and {} baseline points",
                                g.canary.len(),
                                g.baseline.len()
                            ),
                        }
                    }
                })
            }
            Prepared::Counter(_) => {
                let steps = counter_steps(pair, settings, *den);
                let phi = if pair.is_aligned() && steps.len() > 1 {
                    let canary: Vec<f64> = steps.iter().map(|s| s.0).collect();
                    let total: Vec<f64> = steps.iter().map(|s| s.0 + s.1).collect();
                    dispersion(&canary, &total)
                } else {
                    1.0
                };
                let (p, e0, est, lo, hi) = counter_sequential(&steps, level, phi);
                let (c, b) = steps.iter().fold((0.0, 0.0), |a, s| (a.0 + s.0, a.1 + s.1));
                Some(Evidence {
                    p_value: p,
                    estimate: est,
                    lower: lo,
                    upper: hi,
                    e_value: Some(e0),
                    reference: None,
                    test: if phi > 1.0 {
                        "sequential-binomial-mixture-tempered"
                    } else {
                        "sequential-binomial-mixture"
                    },
                    amount: format!("{c} canary events against {b} baseline events"),
                })
            }
        };
        // Running minimum and intersection over the looks.
        let e = e.map(|mut e| {
            e.p_value = e.p_value.min(memory.p);
            let (lo, hi) = (e.lower.max(memory.lower), e.upper.min(memory.upper));
            if lo <= hi {
                e.lower = lo;
                e.upper = hi;
            }
            memory.p = e.p_value;
            memory.lower = e.lower;
            memory.upper = e.upper;
            e
        });
        state.metrics.insert(key(pair), memory.clone());
        evidence.push(e);
    }
    // 3. The adjustment across the family.
    let family: Vec<usize> = (0..items.len())
        .filter(|&i| evidence[i].is_some())
        .collect();
    let p: Vec<f64> = family
        .iter()
        .filter_map(|&i| evidence[i].as_ref().map(|e| e.p_value))
        .collect();
    let critical: Vec<bool> = family.iter().map(|&i| items[i].1.base.critical).collect();
    let adjusted = adjust(&p, &critical, judge.error_control);
    let mut adjusted_of = vec![None; items.len()];
    for (k, &i) in family.iter().enumerate() {
        adjusted_of[i] = Some(adjusted[k]);
    }
    // 4. Outcomes.
    let mut results = Vec::with_capacity(items.len());
    for ((((metric, settings, sides, prepared, _, _), ev), adj), pair) in
        items.into_iter().zip(evidence).zip(adjusted_of).zip(pairs)
    {
        let (control, experiment) = match sides {
            Some(s) => (s.control, s.experiment),
            None => (Vec::new(), Vec::new()),
        };
        let deviation = mean_ratio(&control, &experiment);
        let (classification, reason, critical, meta) = match (prepared, ev) {
            (
                Prepared::Settled {
                    classification,
                    reason,
                    critical,
                },
                _,
            ) => {
                let meta = (classification != Error).then(|| ResultMetadata {
                    ratio: 1.0,
                    ..Default::default()
                });
                (classification, reason, critical, meta)
            }
            (_, Some(e)) => {
                let adjusted = adj.unwrap_or(1.0);
                let (class, reason, critical) =
                    decide(&pair.name, &e, adjusted, judge.alpha, &settings, level);
                let mut extra = serde_json::Map::new();
                extra.insert("confLevel".into(), json_num(1.0 - level));
                extra.insert("anytimeValid".into(), serde_json::json!(true));
                extra.insert("look".into(), serde_json::json!(look.index));
                if let Some(e0) = e.e_value {
                    extra.insert("eValue".into(), json_num(e0));
                }
                extra.insert(
                    "scale".into(),
                    serde_json::json!(if e.reference.is_some() {
                        "linear"
                    } else {
                        "log"
                    }),
                );
                let meta = ResultMetadata {
                    ratio: deviation,
                    lower_confidence: Some(e.ratio(e.lower)),
                    upper_confidence: Some(e.ratio(e.upper)),
                    estimate: Some(e.ratio(e.estimate)),
                    p_value: Some(e.p_value),
                    adjusted_p_value: Some(adjusted),
                    test: Some(e.test.to_string()),
                    extra,
                };
                (class, reason, critical, Some(meta))
            }
            (_, None) => (
                Error,
                Some("Metric Classification Failed".to_string()),
                false,
                None,
            ),
        };
        results.push(CanaryAnalysisResult {
            name: pair.name.clone(),
            id: pair.id.clone(),
            tags: pair.tags.clone(),
            classification,
            classification_reason: reason,
            groups: metric.groups.clone(),
            experiment_metadata: MetricMetadata {
                stats: summary(&experiment),
                ..Default::default()
            },
            control_metadata: MetricMetadata {
                stats: summary(&control),
                ..Default::default()
            },
            result_metadata: meta,
            critical,
            muted: settings.base.muted,
        });
    }
    Ok(results)
}

fn p_text(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

/// High / Low on an adjusted anytime p-value below alpha (watched direction, beyond the
/// effect gate); Pass when the confidence sequence lies within the margin in each watched
/// direction; else Inconclusive.
fn decide(
    name: &str,
    e: &Evidence,
    adjusted: f64,
    alpha: f64,
    s: &V1MetricSettings,
    level: f64,
) -> (MetricClassification, Option<String>, bool) {
    use MetricClassification::*;
    let up = s.base.direction.allows_increase();
    let down = s.base.direction.allows_decrease();
    let ratio = e.ratio(e.estimate);
    let gate_up = e.additive(s.base.allowed_increase);
    let gate_down = e.additive(s.base.allowed_decrease);
    let mut flagged = None;
    if adjusted < alpha {
        if up && e.estimate > 0.0 && (e.estimate >= gate_up || gate_up.is_nan()) {
            flagged = Some(High);
        } else if down && e.estimate < 0.0 && (e.estimate <= gate_down || gate_down.is_nan()) {
            flagged = Some(Low);
        }
    }
    if let Some(class) = flagged {
        let escalate = s.base.critical
            && match class {
                High => ratio.is_nan() || ratio >= s.base.critical_increase,
                _ => ratio.is_nan() || ratio <= s.base.critical_decrease,
            };
        if escalate {
            return (
                class,
                Some(format!(
                    "The metric {name} was classified as {class} (Critical)"
                )),
                true,
            );
        }
        return (
            class,
            Some(format!(
                "{name} was classified as {class}: {} (anytime-valid adjusted p = {}, {})",
                percent(ratio),
                p_text(adjusted),
                e.test
            )),
            false,
        );
    }
    let margin_up = e.additive(1.0 + s.margin);
    let margin_down = match e.reference {
        None => -(1.0 + s.margin).ln(),
        Some(b) => -s.margin * b.abs(),
    };
    let up_ok = !up || e.upper <= margin_up;
    let down_ok = !down || e.lower >= margin_down;
    if up_ok && down_ok {
        return (Pass, None, false);
    }
    let mut missing = Vec::new();
    if !up_ok {
        missing.push(format!(
            "an increase up to {} cannot be excluded",
            percent(e.ratio(e.upper))
        ));
    }
    if !down_ok {
        missing.push(format!(
            "a decrease down to {} cannot be excluded",
            percent(e.ratio(e.lower))
        ));
    }
    (
        Inconclusive,
        Some(format!(
            "{name} is Inconclusive: no harm shown yet (change {}, anytime-valid adjusted p = \
             {}), and {} by the {:.1} % confidence sequence, beyond the margin of ±{:.0} %; \
             more data needed ({})",
            percent(ratio),
            p_text(adjusted),
            missing.join(" and "),
            (1.0 - level) * 100.0,
            s.margin * 100.0,
            e.amount
        )),
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spending_shares_sum_to_one() {
        let total: f64 = (1..=12)
            .map(|index| spending_share(Look { index, of: 12 }))
            .sum();
        assert!((total - 1.0).abs() < 1e-12, "{total}");
        assert_eq!(spending_share(Look { index: 1, of: 1 }), 1.0);
        assert!((spending_share(Look { index: 1, of: 4 }) - 1.0 / 16.0).abs() < 1e-15);
    }

    #[test]
    fn normal_mixture_matches_its_closed_form() {
        // Five equal points 1 (no autocorrelation to inflate by): at t = 5, S = 5, V = 5;
        // with ρ = 1 the normal mixture is √(1/6)·e^{25/12}, and the sign bet on the one
        // block 2·(½)/1 = 1; the sup over t is at t = 5.
        let d = [1.0; 5];
        let (_, e0, est, _, _) = paired_sequential(&d, 0.05, 1.0);
        let nm = (1.0f64 / 6.0).sqrt() * (25.0f64 / 12.0).exp();
        assert!((e0 - 0.5 * (nm + 1.0)).abs() < 1e-12, "{e0}");
        assert_eq!(est, 1.0);
    }

    #[test]
    fn confidence_sequence_holds_the_estimate_and_shrinks() {
        let d: Vec<f64> = (0..200)
            .map(|i| 0.1 + 0.05 * ((i * 7 % 11) as f64 - 5.0) / 5.0)
            .collect();
        let (_, _, est, lo, hi) = paired_sequential(&d[..50], 0.01, 0.01);
        let (_, _, est2, lo2, hi2) = paired_sequential(&d, 0.01, 0.01);
        assert!(lo < est && est < hi, "{lo} {est} {hi}");
        assert!(lo2 < est2 && est2 < hi2);
        assert!(hi2 - lo2 < hi - lo, "{lo} {hi} → {lo2} {hi2}");
        assert!(lo2 > 0.0, "200 points at +0.1 exclude 0: {lo2}");
    }

    #[test]
    fn counter_mixture_sees_doubled_errors_and_not_equal_ones() {
        let doubled: Vec<Step> = (0..60).map(|_| (20.0, 10.0, 1.0, 1.0)).collect();
        let (p, _, est, lo, _) = counter_sequential(&doubled, 0.05, 1.0);
        assert!(p < 1e-6, "{p}");
        assert!((est - 2f64.ln()).abs() < 1e-12);
        assert!(lo > 0.5, "{lo}");
        let equal: Vec<Step> = (0..60).map(|_| (10.0, 10.0, 1.0, 1.0)).collect();
        let (p, _, est, lo, hi) = counter_sequential(&equal, 0.05, 1.0);
        assert_eq!(p, 1.0);
        assert_eq!(est, 0.0);
        assert!(lo < 0.0 && hi > 0.0 && hi < 0.2, "{lo} {hi}");
    }
}
