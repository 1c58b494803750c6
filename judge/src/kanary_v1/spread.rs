//! A rank test for a larger spread (or heavier tails) of the canary, spinnaker/kayenta#780:
//! a one-sided Mann–Whitney test on the absolute deviations of each sample from its own
//! median. This is the median-centred rank test for dispersion of Fligner & Killeen,
//! "Distribution-free two-sample tests for scale", JASA 71 (1976) 210–213, in the
//! Wilcoxon-score form that Conover, Johnson & Johnson, "A comparative study of tests for
//! homogeneity of variances", Technometrics 23 (1981) 351–361, found robust to unequal
//! locations and non-normality. Location tests cannot see a change of spread around the
//! same median; this one can.
//!
//! Combined with the location test by weighted Bonferroni (`combine`): the metric's p-value
//! is `min(p_location / (1 − s), p_spread / s, 1)` with `s = spreadShare` (Holm, "A simple
//! sequentially rejective multiple test procedure", Scand. J. Statist. 6 (1979), §4, weighted
//! form), so watching spread costs the location test only the factor 1/(1 − s).

use super::rank_sum::{Alternative, rank_sum_p_value};

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
}

/// Tests whether the canary (`x`) spreads more than the baseline (`y`).
pub fn spread_test(x: &[f64], y: &[f64]) -> SpreadResult {
    let (dx, dy) = (abs_deviations(x), abs_deviations(y));
    // The p-value only: the shift's estimate and interval would cost three selections.
    SpreadResult {
        p_value: rank_sum_p_value(&dx, &dy, Alternative::Greater),
        ratio: median(&dx) / median(&dy),
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
