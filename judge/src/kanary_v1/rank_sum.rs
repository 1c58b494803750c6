//! The Wilcoxon–Mann–Whitney two-sample test of canary against baseline, the exact
//! Hodges–Lehmann shift (median of the n·m differences, Hodges & Lehmann, "Estimates of
//! location based on rank tests", Ann. Math. Statist. 34 (1963) 598–611) and Moses'
//! distribution-free interval (order statistics of the differences; Lehmann 1975, §2.6),
//! following R 4.2.2's `wilcox.test(x, y, conf.int = TRUE)` two-sample branch
//! (`src/library/stats/R/wilcox.test.R`): exact `pwilcox` / `qwilcox` when both samples
//! have fewer than 50 values and no ties, otherwise the normal approximation with tie and
//! continuity corrections. The differences are never materialised (`selection.rs`).

use super::pnorm::{pnorm_lower, pnorm_upper};
use super::selection::{kth_difference, median_difference};
use super::signed_rank::normal_index;

/// Which alternative a p-value is for (R's `alternative`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alternative {
    /// The canary is higher or lower.
    TwoSided,
    /// The canary is higher.
    Greater,
    /// The canary is lower.
    Less,
}

/// A rank test with its Hodges–Lehmann estimate and interval (on the scale of the data).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestResult {
    /// R's statistic: V (signed rank) or W (rank sum).
    pub statistic: f64,
    /// The p-value for the alternative asked.
    pub p_value: f64,
    /// Whether the p-value is exact (else the normal approximation).
    pub exact: bool,
    /// Observations used (non-zero differences; or the smaller sample).
    pub n: usize,
    /// Hodges–Lehmann estimate.
    pub estimate: f64,
    /// Lower end: one-sided bound at the level asked.
    pub lower: f64,
    /// Upper end: one-sided bound at the level asked.
    pub upper: f64,
}

impl TestResult {
    pub(crate) fn degenerate(at: f64) -> TestResult {
        TestResult {
            statistic: 0.0,
            p_value: 1.0,
            exact: true,
            n: 0,
            estimate: at,
            lower: at,
            upper: at,
        }
    }
}

/// R's normal-approximation p-value of a centred statistic `z` with standard deviation
/// `sigma`, with the continuity correction (`sign(z)·0.5` two-sided, ±0.5 one-sided).
pub(crate) fn normal_p(z: f64, sigma: f64, alternative: Alternative) -> f64 {
    if sigma.is_nan() || sigma <= 0.0 {
        return 1.0;
    }
    let correction = match alternative {
        Alternative::TwoSided => 0.5 * sign(z),
        Alternative::Greater => 0.5,
        Alternative::Less => -0.5,
    };
    let z = (z - correction) / sigma;
    match alternative {
        Alternative::Less => pnorm_lower(z),
        Alternative::Greater => pnorm_upper(z),
        Alternative::TwoSided => (2.0 * pnorm_lower(z).min(pnorm_upper(z))).min(1.0),
    }
}

fn sign(z: f64) -> f64 {
    if z > 0.0 {
        1.0
    } else if z < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// R's `qsignrank` / `qwilcox` search (`src/nmath/signrank.c`, `wilcox.c`): the smallest q
/// with `Σ_{i≤q} counts[i] / total ≥ p − 10·DBL_EPSILON`, then `if (qu == 0) qu <- 1`: the
/// 1-based rank of the interval's lower end among the sorted differences.
pub(crate) fn r_quantile_index(counts: &[f64], total: f64, p: f64) -> u64 {
    let target = p - 10.0 * f64::EPSILON;
    let mut cum = 0.0;
    for (q, c) in counts.iter().enumerate() {
        cum += *c / total;
        if cum >= target {
            return (q as u64).max(1);
        }
    }
    (counts.len() as u64).max(1)
}

/// Null frequencies of W = (rank sum of x) − n(n+1)/2 for sizes n and m without ties: the
/// coefficients of the Gaussian binomial ∏_{i=1..n} (1 − q^{m+i}) / (1 − q^i) (Mann &
/// Whitney 1947; the frequencies R's `cwilcox` counts), computed in exact integers
/// (C(98, 49) < 2^96) and returned as doubles, as R holds them.
fn wilcox_counts_f64(n: usize, m: usize) -> Vec<f64> {
    let deg = n * m;
    let mut c = vec![0i128; deg + 1];
    c[0] = 1;
    for i in 1..=n {
        let a = m + i;
        for s in (a..=deg).rev() {
            c[s] -= c[s - a];
        }
        for s in i..=deg {
            c[s] += c[s - i];
        }
    }
    c.iter().map(|v| *v as f64).collect()
}

fn choose_f64(n: usize, k: usize) -> f64 {
    let k = k.min(n - k);
    let mut r: u128 = 1;
    for i in 0..k {
        // Exact: r · (n − i) is divisible by (i + 1) after the multiplication.
        r = r * (n - i) as u128 / (i + 1) as u128;
    }
    r as f64
}

/// Rank sum of `x` in the pool with `y` (both sorted), average ranks, and Σ(t³ − t).
fn rank_sum(x: &[f64], y: &[f64]) -> (f64, f64, bool) {
    let (mut i, mut j) = (0usize, 0usize);
    let mut twice = 0u128;
    let mut ties = 0.0;
    let mut any_tie = false;
    while i < x.len() || j < y.len() {
        let v = match (x.get(i), y.get(j)) {
            (Some(a), Some(b)) => a.min(*b),
            (Some(a), None) => *a,
            (None, Some(b)) => *b,
            (None, None) => break,
        };
        let below = (i + j) as u128;
        let (si, sj) = (i, j);
        while i < x.len() && x[i] == v {
            i += 1;
        }
        while j < y.len() && y[j] == v {
            j += 1;
        }
        let a = (i - si) as u128;
        let t = a + (j - sj) as u128;
        twice += a * (2 * below + t + 1);
        if t > 1 {
            any_tie = true;
            let tf = t as f64;
            ties += tf * tf * tf - tf;
        }
    }
    (twice as f64 / 2.0, ties, any_tie)
}

/// Below this size on both sides, without ties, the p-value is exact (R's `< 50`).
pub const EXACT_BELOW: usize = 50;

/// The two-sample test of `x` (canary) against `y` (baseline), finite values only, both
/// non-empty. `conf` is the one-sided level of each end of the interval of the shift x − y.
pub fn rank_sum_test(x: &[f64], y: &[f64], alternative: Alternative, conf: f64) -> TestResult {
    let Some((x, y, test)) = statistic_and_p(x, y, alternative) else {
        return TestResult::degenerate(f64::NAN);
    };
    let (n, m) = (x.len(), y.len());
    let total = (n as u64) * (m as u64);
    let k = if test.exact {
        r_quantile_index(&wilcox_counts_f64(n, m), choose_f64(n + m, n), 1.0 - conf)
    } else {
        normal_k(n as f64, m as f64, conf, total)
    };
    TestResult {
        estimate: median_difference(&x, &y).unwrap_or(f64::NAN),
        lower: kth_difference(&x, &y, k).unwrap_or(f64::NAN),
        upper: kth_difference(&x, &y, total + 1 - k).unwrap_or(f64::NAN),
        ..test
    }
}

/// The p-value of `rank_sum_test(x, y, alternative, _)`, the same bits, without the
/// estimate and interval (three selections among the n·m differences): for callers that
/// use only the p-value, such as the spread test. 1 when a side is empty.
pub fn rank_sum_p_value(x: &[f64], y: &[f64], alternative: Alternative) -> f64 {
    statistic_and_p(x, y, alternative).map_or(1.0, |(_, _, t)| t.p_value)
}

/// Both samples sorted, and the test's statistic, p-value and sizes (estimate and
/// interval left NaN); `None` when a side is empty.
fn statistic_and_p(
    x: &[f64],
    y: &[f64],
    alternative: Alternative,
) -> Option<(Vec<f64>, Vec<f64>, TestResult)> {
    if x.is_empty() || y.is_empty() {
        return None;
    }
    let mut x = x.to_vec();
    let mut y = y.to_vec();
    // Unstable is enough: values equal under `total_cmp` are the same bits.
    x.sort_unstable_by(f64::total_cmp);
    y.sort_unstable_by(f64::total_cmp);
    let (n, m) = (x.len(), y.len());
    let (nf, mf) = (n as f64, m as f64);
    let (r, ties, any_tie) = rank_sum(&x, &y);
    let w = r - nf * (nf + 1.0) / 2.0;
    let exact = n < EXACT_BELOW && m < EXACT_BELOW && !any_tie;
    let p_value = if exact {
        let counts = wilcox_counts_f64(n, m);
        let total = choose_f64(n + m, n);
        let wi = w as usize;
        let at_most: f64 = counts[..=wi].iter().sum::<f64>() / total;
        let at_least: f64 = counts[wi..].iter().sum::<f64>() / total;
        match alternative {
            Alternative::Greater => at_least,
            Alternative::Less => at_most,
            Alternative::TwoSided => {
                if w > nf * mf / 2.0 {
                    (2.0 * at_least).min(1.0)
                } else {
                    (2.0 * at_most).min(1.0)
                }
            }
        }
    } else {
        let z = w - nf * mf / 2.0;
        let sigma =
            ((nf * mf / 12.0) * ((nf + mf + 1.0) - ties / ((nf + mf) * (nf + mf - 1.0)))).sqrt();
        normal_p(z, sigma, alternative)
    };
    let test = TestResult {
        statistic: w,
        p_value,
        exact,
        n: n.min(m),
        estimate: f64::NAN,
        lower: f64::NAN,
        upper: f64::NAN,
    };
    Some((x, y, test))
}

fn normal_k(nf: f64, mf: f64, conf: f64, total: u64) -> u64 {
    let sigma = (nf * mf * (nf + mf + 1.0) / 12.0).sqrt();
    normal_index(nf * mf / 2.0, sigma, conf, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_sum_to_the_binomial() {
        for (n, m) in [(1, 1), (3, 4), (10, 12), (49, 49)] {
            let c = wilcox_counts_f64(n, m);
            let s: f64 = c.iter().sum();
            assert!((s / choose_f64(n + m, n) - 1.0).abs() < 1e-12, "{n} {m}");
        }
    }

    #[test]
    fn kayenta_suite_interval_at_95() {
        // R: wilcox.test(c(10,20,30,40), c(1,2,3,4), conf.int=TRUE): exact, [6, 39], 22.5.
        let r = rank_sum_test(
            &[10.0, 20.0, 30.0, 40.0],
            &[1.0, 2.0, 3.0, 4.0],
            Alternative::TwoSided,
            0.975,
        );
        assert_eq!((r.lower, r.upper, r.estimate), (6.0, 39.0, 22.5));
        assert!((r.p_value - 0.02857142857142857).abs() < 1e-15);
        let p = rank_sum_p_value(
            &[10.0, 20.0, 30.0, 40.0],
            &[1.0, 2.0, 3.0, 4.0],
            Alternative::TwoSided,
        );
        assert_eq!(p.to_bits(), r.p_value.to_bits());
        assert_eq!(rank_sum_p_value(&[], &[1.0], Alternative::Less), 1.0);
    }
}
