//! Wilcoxon's signed-rank test on paired differences and the one-sample Hodges–Lehmann
//! estimate with its distribution-free interval, following R 4.2.2's
//! `wilcox.test(d, ...)` one-sample branch (`src/library/stats/R/wilcox.test.R`):
//! zero differences are dropped (Wilcoxon's convention); the statistic V is the sum of the
//! ranks of |d| over the positive differences.
//!
//! - n < 50: the exact conditional null distribution, by sign-flip enumeration on doubled
//!   mid-ranks (integers), counted by dynamic programming. Without ties this is R's
//!   `psignrank`; with ties it is the exact permutation distribution given the tied ranks
//!   (as `coin::wilcoxsign_test(distribution = "exact", zero.method = "Wilcoxon")`), where R
//!   falls back to the normal approximation.
//! - n >= 50: R's normal approximation with the tie correction
//!   `σ² = n(n+1)(2n+1)/24 − Σ(t³ − t)/48` and the continuity correction.
//!
//! The estimate is the median of the Walsh averages of the non-zero differences, and the
//! interval's ends are Walsh averages at the ranks R uses (`qsignrank`, exact; normal
//! quantile otherwise), found by selection (`selection.rs`).

use super::rank_sum::{Alternative, TestResult, normal_p, r_quantile_index};
use super::selection::{kth_walsh, median_walsh};
use crate::normal::qnorm;

/// Below this many non-zero differences the p-value is exact (R's `n < 50`).
pub const EXACT_BELOW: usize = 50;

/// Doubled mid-ranks of |d| (integers: r_lo + r_hi for a tie group), and Σ(t³ − t).
fn doubled_ranks(d: &[f64]) -> (Vec<u64>, f64) {
    let mut order: Vec<usize> = (0..d.len()).collect();
    order.sort_by(|&a, &b| d[a].abs().total_cmp(&d[b].abs()).then(a.cmp(&b)));
    let mut ranks = vec![0u64; d.len()];
    let mut ties = 0.0;
    let mut k = 0;
    while k < order.len() {
        let mut e = k + 1;
        while e < order.len() && d[order[e]].abs() == d[order[k]].abs() {
            e += 1;
        }
        for &i in &order[k..e] {
            ranks[i] = (k + 1 + e) as u64;
        }
        let t = (e - k) as f64;
        ties += t * t * t - t;
        k = e;
    }
    (ranks, ties)
}

/// Counts of sign assignments by the doubled statistic: `counts[s]` of the 2^n.
fn sign_flip_counts(ranks: &[u64]) -> Vec<u64> {
    let total: u64 = ranks.iter().sum();
    let mut counts = vec![0u64; total as usize + 1];
    counts[0] = 1;
    let mut reach = 0usize;
    for &r in ranks {
        let r = r as usize;
        for s in (0..=reach).rev() {
            counts[s + r] += counts[s];
        }
        reach += r;
    }
    counts
}

/// The signed-rank test of `d` (NaN and infinite values must be removed by the caller).
///
/// `conf` is the one-sided level of each interval end (the interval is two-sided at
/// `2·conf − 1`). With no non-zero difference, p is 1 and the interval is the point 0.
pub fn signed_rank_test(d: &[f64], alternative: Alternative, conf: f64) -> TestResult {
    let mut x: Vec<f64> = d.iter().copied().filter(|v| *v != 0.0).collect();
    let n = x.len();
    if n == 0 {
        return TestResult::degenerate(0.0);
    }
    let (ranks, ties) = doubled_ranks(&x);
    let v2: u64 = x
        .iter()
        .zip(&ranks)
        .filter(|(v, _)| **v > 0.0)
        .map(|(_, r)| r)
        .sum();
    let nf = n as f64;
    let statistic = v2 as f64 / 2.0;
    let (p_value, exact) = if n < EXACT_BELOW {
        let counts = sign_flip_counts(&ranks);
        let all = 2f64.powi(n as i32);
        let at_least: f64 = counts[v2 as usize..].iter().map(|c| *c as f64).sum::<f64>() / all;
        let at_most: f64 = counts[..=v2 as usize]
            .iter()
            .map(|c| *c as f64)
            .sum::<f64>()
            / all;
        let p = match alternative {
            Alternative::Greater => at_least,
            Alternative::Less => at_most,
            // R: if (V > n(n+1)/4) 2·P(V ≥ v) else 2·P(V ≤ v), at most 1.
            Alternative::TwoSided => {
                if 2.0 * statistic > nf * (nf + 1.0) / 2.0 {
                    (2.0 * at_least).min(1.0)
                } else {
                    (2.0 * at_most).min(1.0)
                }
            }
        };
        (p, true)
    } else {
        let z = statistic - nf * (nf + 1.0) / 4.0;
        let sigma = (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - ties / 48.0).sqrt();
        (normal_p(z, sigma, alternative), false)
    };

    x.sort_by(f64::total_cmp);
    let walsh = (n as u64) * (n as u64 + 1) / 2;
    let k = if n < EXACT_BELOW && ties == 0.0 {
        // R: qu <- qsignrank(alpha, n); if (qu == 0) qu <- 1.
        let counts = sign_flip_counts(&ranks);
        // Doubled ranks without ties are 2, 4, ...: every other count is 0.
        let undoubled: Vec<f64> = counts.iter().step_by(2).map(|c| *c as f64).collect();
        r_quantile_index(&undoubled, 2f64.powi(n as i32), 1.0 - conf)
    } else {
        // Normal approximation of the same rank (Hollander & Wolfe 1999, eq. 3.28).
        let sigma = (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0).sqrt();
        normal_index(nf * (nf + 1.0) / 4.0, sigma, conf, walsh)
    };
    let lower = kth_walsh(&x, k).unwrap_or(f64::NAN);
    let upper = kth_walsh(&x, walsh + 1 - k).unwrap_or(f64::NAN);
    TestResult {
        statistic,
        p_value,
        exact,
        n,
        estimate: median_walsh(&x).unwrap_or(0.0),
        lower,
        upper,
    }
}

/// `ceil(μ − 0.5 + z_{1−conf}·σ)` clamped to `1..=total`: the 1-based rank of the lower end
/// under the normal approximation with continuity correction.
pub(crate) fn normal_index(mu: f64, sigma: f64, conf: f64, total: u64) -> u64 {
    let q = (mu - 0.5 + qnorm(1.0 - conf) * sigma).ceil();
    if q.is_nan() || q < 1.0 {
        1
    } else {
        (q as u64).min(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force over the 2^n sign flips of the doubled mid-ranks.
    fn brute(d: &[f64]) -> f64 {
        let x: Vec<f64> = d.iter().copied().filter(|v| *v != 0.0).collect();
        let (ranks, _) = doubled_ranks(&x);
        let obs: u64 = x
            .iter()
            .zip(&ranks)
            .filter(|(v, _)| **v > 0.0)
            .map(|(_, r)| r)
            .sum();
        let n = x.len();
        let mut ge = 0u64;
        for mask in 0u64..(1 << n) {
            let s: u64 = (0..n)
                .filter(|i| mask >> i & 1 == 1)
                .map(|i| ranks[i])
                .sum();
            if s >= obs {
                ge += 1;
            }
        }
        ge as f64 / (1u64 << n) as f64
    }

    #[test]
    fn exact_tied_distribution_equals_brute_force() {
        for d in [
            vec![1.0, 2.0, 2.0, -1.0, 3.0, 3.0, 3.0, 0.0, -2.0],
            vec![99.0; 7],
            vec![
                1.0, -1.0, 1.0, 1.0, 2.0, -2.0, 5.0, 5.0, 5.0, 5.0, 0.5, -0.5,
            ],
        ] {
            let r = signed_rank_test(&d, Alternative::Greater, 0.975);
            assert!((r.p_value - brute(&d)).abs() < 1e-15, "{d:?}: {r:?}");
        }
        // spinnaker#6278: seven differences of 99, three zeros: 2/128.
        let mut d = vec![99.0; 7];
        d.extend([0.0; 3]);
        let r = signed_rank_test(&d, Alternative::TwoSided, 0.975);
        assert_eq!(r.p_value, 0.015625);
    }
}
