//! A rank test for a larger spread (or heavier tails) of the canary, spinnaker/kayenta#780:
//! the Fligner–Killeen test, one-sided. Each sample is centred at its own median, the
//! absolute deviations of both samples are ranked together (mid-ranks for ties), and each
//! rank r of N becomes the normal score a = Φ⁻¹((1 + r/(N + 1))/2); the statistic is the
//! canary's sum of scores, standardised by its permutation mean and variance. This is
//! R 4.2.2's `fligner.test` (`src/library/stats/R/fligner.test.R`), whose two-group
//! statistic is the square of this z (Fligner & Killeen, "Distribution-free two-sample tests
//! for scale", JASA 71 (1976) 210–213; the median-centred, normal-score form that Conover,
//! Johnson & Johnson, "A comparative study of tests for homogeneity of variances",
//! Technometrics 23 (1981) 351–361, found the best of 56 tests for robustness to unequal
//! locations and non-normality with good power). Normal scores instead of the Wilcoxon
//! scores of an earlier kanary version: under normal noise their efficiency against the F
//! test is far higher (the Wilcoxon-score form behaves like Ansari–Bradley's test, ARE
//! 0.61 under normality; normal-score scale tests reach 1, Klotz 1962), which matters at the
//! small per-metric levels of a 20-metric family. Location tests cannot see a change of
//! spread around the same median; this one can.
//!
//! Serial dependence (paired gauges only, whose values are in time order on one grid;
//! [`spread_test_serial`]): when the absolute deviations are significantly autocorrelated
//! within each side (pooled lag-1 ρ̂, [`serial_correction`]), the permutation variance is
//! multiplied by (1 + ρ̃)/(1 − ρ̃) and z is referred to Student's t on N_eff − 2 degrees of
//! freedom, as for the signed-rank test (`signed_rank.rs`).
//!
//! Combined with the location test by weighted Bonferroni (`combine`): the metric's p-value
//! is `min(p_location / (1 − s), p_spread / s, 1)` with `s = spreadShare` (Holm, "A simple
//! sequentially rejective multiple test procedure", Scand. J. Statist. 6 (1979), §4, weighted
//! form), so watching spread costs the location test only the factor 1/(1 − s).

use super::pnorm::{pnorm_upper, pt_upper};
use super::signed_rank::{SerialCorrection, serial_correction};
use crate::normal::qnorm;

/// The median of a non-empty slice (mean of the middle two), R's `median`.
pub(crate) fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * v[n / 2 - 1] + 0.5 * v[n / 2]
    }
}

fn abs_deviations(values: &[f64]) -> Vec<f64> {
    let m = median(values);
    values.iter().map(|v| (v - m).abs()).collect()
}

/// The spread test's outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpreadResult {
    /// One-sided p-value: the canary's deviations are larger.
    pub p_value: f64,
    /// Median absolute deviation of the canary over the baseline's (∞ when the baseline's is
    /// 0 and the canary's is not; NaN when both are 0).
    pub ratio: f64,
    /// The standardised Fligner–Killeen statistic (before any serial correction): R's
    /// `fligner.test(list(x, y))$statistic` is its square.
    pub z: f64,
    /// The serial dependence of the absolute deviations and its correction.
    pub serial: SerialCorrection,
}

/// Mid-ranks (1-based) of `v`.
fn mid_ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]).then(a.cmp(&b)));
    let mut ranks = vec![0.0; v.len()];
    let mut k = 0;
    while k < order.len() {
        let mut e = k + 1;
        while e < order.len() && v[order[e]] == v[order[k]] {
            e += 1;
        }
        // Ranks k+1 ..= e share their mean.
        let mid = (k + 1 + e) as f64 / 2.0;
        for &i in &order[k..e] {
            ranks[i] = mid;
        }
        k = e;
    }
    ranks
}

/// Tests whether the canary (`x`) spreads more than the baseline (`y`), values in any
/// order (unpaired: the order of the values does not change the outcome).
pub fn spread_test(x: &[f64], y: &[f64]) -> SpreadResult {
    spread(x, y, false)
}

/// [`spread_test`] for two series in time order on the same grid (paired gauges), with the
/// serial correction when their absolute deviations are significantly autocorrelated.
pub fn spread_test_serial(x: &[f64], y: &[f64]) -> SpreadResult {
    spread(x, y, true)
}

fn spread(x: &[f64], y: &[f64], in_time_order: bool) -> SpreadResult {
    let (dx, dy) = (abs_deviations(x), abs_deviations(y));
    let ratio = median(&dx) / median(&dy);
    let serial = if in_time_order {
        serial_correction(&[&dx, &dy])
    } else {
        SerialCorrection::none(dx.len() + dy.len(), f64::NAN)
    };
    let (n, m) = (dx.len(), dy.len());
    let total = n + m;
    if n == 0 || m == 0 {
        return SpreadResult {
            p_value: 1.0,
            ratio,
            z: 0.0,
            serial,
        };
    }
    // Scores from the sorted deviations: the same sums, bit for bit, whatever the order.
    let mut sx = dx.clone();
    let mut sy = dy.clone();
    sx.sort_by(f64::total_cmp);
    sy.sort_by(f64::total_cmp);
    let pooled: Vec<f64> = sx.iter().chain(&sy).copied().collect();
    let nf1 = total as f64 + 1.0;
    // R: a <- qnorm((1 + rank(abs(x)) / (n + 1)) / 2).
    let scores: Vec<f64> = mid_ranks(&pooled)
        .iter()
        .map(|r| qnorm((1.0 + r / nf1) / 2.0))
        .collect();
    let mean = scores.iter().sum::<f64>() / total as f64;
    let squares: f64 = scores.iter().map(|a| (a - mean).powi(2)).sum();
    let s_x: f64 = scores[..n].iter().sum();
    // Permutation variance of the canary's score sum (sampling n of N without replacement).
    let (nf, mf, tf) = (n as f64, m as f64, total as f64);
    let variance = nf * mf / (tf * (tf - 1.0)) * squares;
    let z = (s_x - nf * mean) / variance.sqrt();
    let p_value = if variance.is_nan() || variance <= 0.0 || !z.is_finite() {
        1.0
    } else if serial.applied {
        pt_upper(
            z / serial.variance_factor.sqrt(),
            serial.degrees_of_freedom(2.0),
        )
    } else {
        pnorm_upper(z)
    };
    SpreadResult {
        p_value,
        ratio,
        z: if z.is_finite() { z } else { 0.0 },
        serial,
    }
}

/// Weighted Bonferroni of the location and spread p-values with spread weight `share`
/// (`0 <= share < 1`; 0 ignores spread).
pub fn combine(p_location: f64, p_spread: Option<f64>, share: f64) -> f64 {
    match p_spread {
        Some(ps) if share > 0.0 => (p_location / (1.0 - share)).min(ps / share).min(1.0),
        _ => p_location.min(1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_follow_the_share() {
        assert!((combine(0.04, Some(0.5), 0.2) - 0.05).abs() < 1e-16);
        assert!((combine(0.5, Some(0.002), 0.2) - 0.01).abs() < 1e-16);
        assert_eq!(combine(0.04, None, 0.2), 0.04);
        assert_eq!(combine(0.9, Some(0.9), 0.2), 1.0);
        assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), 2.5);
    }
}
