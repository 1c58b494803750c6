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
//!
//! Serial dependence (issue 8): the differences of a canary and a baseline that run side by
//! side are often autocorrelated (each side's own noise drifts), and a rank test that assumes
//! independent differences then flags healthy canaries far more often than `alpha`. The
//! lag-1 autocorrelation ρ̂ of the differences is estimated ([`serial_correction`]); when it
//! is significantly positive, the statistic's null variance is multiplied by
//! (1 + ρ̃)/(1 − ρ̃), the test uses the effective sample size n(1 − ρ̃)/(1 + ρ̃) and is referred
//! to Student's t on n_eff − 1 degrees of freedom ([`signed_rank_test_serial`]). Otherwise
//! (ρ̂ ≤ 0 or not significant) the test above is used unchanged, exact for small n.

use super::pnorm::{pt_upper, qt_upper};
use super::rank_sum::{Alternative, TestResult, normal_p, r_quantile_index};
use super::selection::{kth_walsh, median_walsh};
use crate::normal::qnorm;

/// One-sided level of the test of "no positive lag-1 autocorrelation" that decides whether
/// the serial correction is applied. Liberal on purpose: a missed autocorrelation costs
/// false alarms at the family level (with ρ = 0.2 over 60 points a 5 % pre-test leaves
/// about half the series uncorrected, at 3.5 times the nominal rate in a simulation with
/// R), while a needless correction costs a little power. In the simulation study
/// (`benches/SIMULATION_RESULTS.md`) 0.05 / 0.10 / 0.25 flag 5.6 / 3.6 / 2.7 % of healthy
/// 20-metric canaries with AR(1) noise under shared load and find +10 % in 93.9 / 92.8 /
/// 90.8 % of runs.
pub const SERIAL_TEST_LEVEL: f64 = 0.10;

/// The largest autocorrelation the correction uses: beyond it the effective sample size
/// (n/39 at 0.95) says the series holds almost no independent information anyway.
const RHO_MAX: f64 = 0.95;

/// Fewer points than this per series: no autocorrelation is estimated and the test stays
/// as it is (exact for small n). Below 20 points r₁'s sampling sd (about 1/√n > 0.22) is as
/// large as the autocorrelations it should find and its O(1/n) bias correction is poor, and
/// a single large change within a short window (spinnaker#6278: seven differences of 99,
/// then three of 0) reads as autocorrelation.
pub const SERIAL_MIN_POINTS: usize = 20;

/// The serial dependence of one or more series (each in time order) and the variance
/// correction it calls for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SerialCorrection {
    /// The lag-1 sample autocorrelation r₁ (pooled over the series), NaN when it cannot be
    /// estimated (too few points, constant series).
    pub rho: f64,
    /// Whether r₁ is significantly positive (one-sided, [`SERIAL_TEST_LEVEL`]), so that the
    /// correction is applied.
    pub applied: bool,
    /// The bias-corrected ρ̃ the correction uses (0 when not applied).
    pub rho_used: f64,
    /// The variance inflation (1 + ρ̃)/(1 − ρ̃) (1 when not applied).
    pub variance_factor: f64,
    /// The effective sample size: the number of points over `variance_factor`.
    pub effective_n: f64,
    /// The degrees of freedom of the estimated `variance_factor`: N(1 − ρ̃²)/2 for N points
    /// (∞ when not applied); see [`serial_correction`].
    pub factor_df: f64,
}

impl SerialCorrection {
    /// No correction, for `n` points.
    pub fn none(n: usize, rho: f64) -> SerialCorrection {
        SerialCorrection {
            rho,
            applied: false,
            rho_used: 0.0,
            variance_factor: 1.0,
            effective_n: n as f64,
            factor_df: f64::INFINITY,
        }
    }

    /// Degrees of freedom of the t reference for `n` points when `params` means are
    /// estimated: the smaller of n_eff − `params` and the factor's own degrees of freedom,
    /// at least 1.
    pub fn degrees_of_freedom_for(&self, n: f64, params: f64) -> f64 {
        (n / self.variance_factor - params)
            .min(self.factor_df)
            .max(1.0)
    }

    /// [`Self::degrees_of_freedom_for`] the points the correction was estimated on.
    pub fn degrees_of_freedom(&self, params: f64) -> f64 {
        self.degrees_of_freedom_for(self.effective_n * self.variance_factor, params)
    }
}

/// The lag-1 autocorrelation of series in time order and whether to correct for it.
///
/// - r₁ = Σ_s Σ_t (x_t − x̄_s)(x_{t+1} − x̄_s) / Σ_s Σ_t (x_t − x̄_s)², each series `s`
///   centred at its own mean (Box, Jenkins & Reinsel, *Time Series Analysis*, 4th ed.,
///   eq. 2.1.12; R's `acf(x, lag.max = 1)$acf[2]` for one series).
/// - Test of independence: under white noise r₁ is approximately normal with mean −1/n and
///   variance 1/N (Anderson, *The Statistical Analysis of Time Series*, 1971, §6.3;
///   Bartlett 1946), n the mean series length and N the total; the correction is applied
///   when (r₁ + 1/n)·√N exceeds the normal quantile at 1 − [`SERIAL_TEST_LEVEL`].
/// - Bias: for an AR(1) with an estimated mean, E r₁ ≈ ρ − (1 + 3ρ)/n (Marriott & Pope,
///   "Bias in the estimation of autocorrelations", Biometrika 41 (1954) 390–402), so the
///   correction uses ρ̃ = (n r₁ + 1)/(n − 3), kept in [0, 0.95].
/// - The variance of a sum of n AR(1) terms is (1 + ρ)/(1 − ρ) times that of independent
///   ones, to O(1/n): the effective sample size n(1 − ρ)/(1 + ρ) of Bayley & Hammersley,
///   "The 'effective' number of independent observations in an autocorrelated time
///   series", J. R. Stat. Soc. Suppl. 8 (1946) 184–197.
/// - That factor is estimated: with Var r₁ ≈ (1 − ρ²)/N (Bartlett 1946, for an AR(1)) the
///   delta method gives Var ln((1 + ρ̂)/(1 − ρ̂)) ≈ 4/(N(1 − ρ²)), and a variance estimate
///   on ν degrees of freedom has Var ln s² ≈ 2/ν (Satterthwaite 1946), so the factor
///   carries about ν = N(1 − ρ̃²)/2 degrees of freedom; the t reference uses the smaller of
///   that and n_eff − 1.
pub fn serial_correction(series: &[&[f64]]) -> SerialCorrection {
    let total: usize = series.iter().map(|s| s.len()).sum();
    let used: Vec<&&[f64]> = series
        .iter()
        .filter(|s| s.len() >= SERIAL_MIN_POINTS)
        .collect();
    if used.is_empty() {
        return SerialCorrection::none(total, f64::NAN);
    }
    let (mut num, mut den, mut points) = (0.0, 0.0, 0usize);
    for s in &used {
        let mean = s.iter().sum::<f64>() / s.len() as f64;
        num += s
            .windows(2)
            .map(|w| (w[0] - mean) * (w[1] - mean))
            .sum::<f64>();
        den += s.iter().map(|v| (v - mean).powi(2)).sum::<f64>();
        points += s.len();
    }
    let rho = num / den;
    if !rho.is_finite() {
        return SerialCorrection::none(total, f64::NAN);
    }
    let n = points as f64 / used.len() as f64;
    let z = (rho + 1.0 / n) * (points as f64).sqrt();
    if z <= qnorm(1.0 - SERIAL_TEST_LEVEL) {
        return SerialCorrection::none(total, rho);
    }
    let rho_used = ((n * rho + 1.0) / (n - 3.0)).clamp(0.0, RHO_MAX);
    let variance_factor = (1.0 + rho_used) / (1.0 - rho_used);
    SerialCorrection {
        rho,
        applied: true,
        rho_used,
        variance_factor,
        effective_n: total as f64 / variance_factor,
        factor_df: points as f64 * (1.0 - rho_used * rho_used) / 2.0,
    }
}

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
    signed_rank(d, alternative, conf, None)
}

/// The signed-rank test of the differences `d` in time order, corrected for their serial
/// dependence when it is significant (see the module docs and [`serial_correction`]):
/// the normal approximation with the tie-corrected variance times (1 + ρ̃)/(1 − ρ̃) and the
/// continuity correction, referred to Student's t on n_eff − 1 degrees of freedom; the
/// interval's ends are the Walsh averages at the ranks that t quantile gives.
///
/// Approximation: the signed-rank statistic is a sum of scores sign(d_t)·R_t, asymptotically
/// normal under mixing dependence with its variance multiplied by the long-run factor of
/// the scores (Serfling, "The Wilcoxon two-sample statistic on strongly mixing processes",
/// Ann. Math. Statist. 39 (1968) 1202–1209, for the rank sum). For Gaussian differences the
/// scores' autocorrelation is at most the differences' (ranks: (6/π)·arcsin(ρ/2) ≤ ρ), so
/// using ρ of the differences errs on the safe side; the t reference accounts, as in the
/// t-test on an equivalent sample size (Zwiers & von Storch, "Taking serial correlation
/// into account in tests of the mean", J. Climate 8 (1995) 336–351), for ρ being estimated.
pub fn signed_rank_test_serial(
    d: &[f64],
    alternative: Alternative,
    conf: f64,
) -> (TestResult, SerialCorrection) {
    let sc = serial_correction(&[d]);
    if !sc.applied {
        return (signed_rank(d, alternative, conf, None), sc);
    }
    (signed_rank(d, alternative, conf, Some(sc)), sc)
}

fn signed_rank(
    d: &[f64],
    alternative: Alternative,
    conf: f64,
    serial: Option<SerialCorrection>,
) -> TestResult {
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
    let (p_value, exact) = if let Some(sc) = serial {
        let z = statistic - nf * (nf + 1.0) / 4.0;
        let sigma = (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - ties / 48.0).sqrt()
            * sc.variance_factor.sqrt();
        (t_p(z, sigma, alternative, nonzero_df(nf, sc)), false)
    } else if n < EXACT_BELOW {
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
    let k = if let Some(sc) = serial {
        let sigma = (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 * sc.variance_factor).sqrt();
        let q = qt_upper(conf, nonzero_df(nf, sc));
        quantile_index(nf * (nf + 1.0) / 4.0, sigma, q, walsh)
    } else if n < EXACT_BELOW && ties == 0.0 {
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
    quantile_index(mu, sigma, qnorm(1.0 - conf), total)
}

/// The t reference's degrees of freedom for `n` non-zero differences: n_eff − 1, at least 1.
fn nonzero_df(n: f64, sc: SerialCorrection) -> f64 {
    sc.degrees_of_freedom_for(n, 1.0)
}

/// `ceil(μ − 0.5 + q·σ)` clamped to `1..=total`, for a lower quantile `q` of the reference.
pub(crate) fn quantile_index(mu: f64, sigma: f64, q: f64, total: u64) -> u64 {
    let q = (mu - 0.5 + q * sigma).ceil();
    if q.is_nan() || q < 1.0 {
        1
    } else {
        (q as u64).min(total)
    }
}

/// [`normal_p`] with Student's t on `df` degrees of freedom as the reference.
pub(crate) fn t_p(z: f64, sigma: f64, alternative: Alternative, df: f64) -> f64 {
    if sigma.is_nan() || sigma <= 0.0 {
        return 1.0;
    }
    let correction = match alternative {
        Alternative::TwoSided => 0.5 * z.signum() * f64::from(u8::from(z != 0.0)),
        Alternative::Greater => 0.5,
        Alternative::Less => -0.5,
    };
    let t = (z - correction) / sigma;
    match alternative {
        Alternative::Greater => pt_upper(t, df),
        Alternative::Less => pt_upper(-t, df),
        Alternative::TwoSided => (2.0 * pt_upper(t.abs(), df)).min(1.0),
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
