//! The exact conditional test for counters: given the total T of events on both sides, the
//! canary's count C is Binomial(T, p0) under "same rate", with p0 the canary's share of the
//! exposure (Lehmann & Romano, *Testing Statistical Hypotheses*, 3rd ed., §4.5, the
//! comparison of two Poisson rates). The p-value and the Clopper–Pearson interval are R
//! 4.2.2's `binom.test` (`src/library/stats/R/binom.test.R`); the rate ratio is
//! `(p / (1 − p)) · (E_b / E_c)`, monotone in the share p, so its interval is the share's,
//! mapped.
//!
//! The binomial probabilities are Loader's saddle-point `dbinom_raw` (C. Loader, "Fast and
//! accurate computation of binomial probabilities", 2000; R's `src/nmath/dbinom.c`,
//! `stirlerr.c`, `bd0.c`); tails are summed from the cut outward until the terms no longer
//! change the sum (the terms fall monotonically away from the mode), so a test costs
//! O(√T) terms rather than O(T).
//!
//! Overdispersion: when the canary's share varies across steps more than the binomial
//! allows, the Pearson statistic X² = Σ_i (c_i − t_i p̂)² / (t_i p̂ (1 − p̂)) over the steps
//! with events estimates the dispersion φ = X² / (k − 1) (McCullagh & Nelder, *Generalized
//! Linear Models*, 2nd ed., 1989, §4.5.2, quasi-binomial). With φ > 1 the counts are divided
//! by φ before the exact test (the design-effect adjustment of Rao & Scott, "On simple
//! adjustments to chi-square tests with sample survey data", Ann. Statist. 15 (1987)
//! 385–397), so bursty errors do not flag a healthy canary. Because φ̂ is itself estimated
//! from k steps, the test on the scaled counts is then referred to Student's t instead of
//! the normal, as R's `summary(glm(..., family = quasibinomial))` does on the residual
//! degrees of freedom k − 1 (McCullagh & Nelder §9.2.4; see `classify.rs`, `quasi_p`),
//! here with Satterthwaite's effective degrees of freedom when a few steps carry the
//! dispersion (see `quasi_dispersion`).

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// ln(n!) − ((n + ½) ln n − n + ½ ln 2π): Stirling's error (R's `stirlerr`). Series for
/// n > 15 (R's coefficients); for small integers from the exact factorial.
fn stirlerr(n: f64) -> f64 {
    const S0: f64 = 1.0 / 12.0;
    const S1: f64 = 1.0 / 360.0;
    const S2: f64 = 1.0 / 1260.0;
    const S3: f64 = 1.0 / 1680.0;
    const S4: f64 = 1.0 / 1188.0;
    if n <= 15.0 {
        // n is an integer count here; n! is exact in a double up to 18!.
        let mut f = 1.0f64;
        let mut k = 2.0;
        while k <= n {
            f *= k;
            k += 1.0;
        }
        return f.ln() - (n + 0.5) * n.ln() + n - 0.5 * LN_2PI;
    }
    let nn = n * n;
    if n > 500.0 {
        return (S0 - S1 / nn) / n;
    }
    if n > 80.0 {
        return (S0 - (S1 - S2 / nn) / nn) / n;
    }
    if n > 35.0 {
        return (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n;
    }
    (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n
}

/// x ln(x / np) + np − x, accurately when x ≈ np (R's `bd0`).
fn bd0(x: f64, np: f64) -> f64 {
    if (x - np).abs() < 0.1 * (x + np) {
        let mut v = (x - np) / (x + np);
        let mut s = (x - np) * v;
        if s.abs() < f64::MIN_POSITIVE {
            return s;
        }
        let mut ej = 2.0 * x * v;
        v *= v;
        for j in 1..1000 {
            ej *= v;
            let s1 = s + ej / f64::from(2 * j + 1);
            if s1 == s {
                return s1;
            }
            s = s1;
        }
    }
    x * (x / np).ln() + np - x
}

/// P(X = x) for X ~ Binomial(n, p), q = 1 − p (R's `dbinom_raw`).
pub(crate) fn dbinom(x: f64, n: f64, p: f64, q: f64) -> f64 {
    if x < 0.0 || x > n {
        return 0.0;
    }
    if p == 0.0 {
        return if x == 0.0 { 1.0 } else { 0.0 };
    }
    if q == 0.0 {
        return if x == n { 1.0 } else { 0.0 };
    }
    if x == 0.0 {
        if n == 0.0 {
            return 1.0;
        }
        let lc = if p < 0.1 {
            -bd0(n, n * q) - n * p
        } else {
            n * q.ln()
        };
        return lc.exp();
    }
    if x == n {
        let lc = if q < 0.1 {
            -bd0(n, n * p) - n * q
        } else {
            n * p.ln()
        };
        return lc.exp();
    }
    let lc = stirlerr(n) - stirlerr(x) - stirlerr(n - x) - bd0(x, n * p) - bd0(n - x, n * q);
    let lf = LN_2PI + x.ln() + (-x / n).ln_1p();
    (lc - 0.5 * lf).exp()
}

/// A Binomial(n, p) distribution over integer counts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Binomial {
    n: u64,
    p: f64,
    q: f64,
}

impl Binomial {
    pub(crate) fn new(n: u64, p: f64) -> Binomial {
        Binomial { n, p, q: 1.0 - p }
    }

    pub(crate) fn pmf(&self, x: u64) -> f64 {
        dbinom(x as f64, self.n as f64, self.p, self.q)
    }

    fn mean(&self) -> f64 {
        self.n as f64 * self.p
    }

    /// Σ pmf from `from` stepping by `down`/up until the terms stop mattering.
    fn sum_outward(&self, from: u64, down: bool) -> f64 {
        let mut term = self.pmf(from);
        let mut sum = 0.0;
        let mut x = from;
        loop {
            sum += term;
            if term <= sum * 1e-17 || term == 0.0 {
                return sum;
            }
            if down {
                if x == 0 {
                    return sum;
                }
                // pmf(x − 1) = pmf(x) · x / (n − x + 1) · q / p
                term *= x as f64 / (self.n - x + 1) as f64 * (self.q / self.p);
                x -= 1;
            } else {
                if x == self.n {
                    return sum;
                }
                term *= (self.n - x) as f64 / (x + 1) as f64 * (self.p / self.q);
                x += 1;
            }
            // Re-anchor every 4096 steps so the recurrence's rounding cannot accumulate.
            if (from.abs_diff(x)) % 4096 == 0 {
                term = self.pmf(x);
            }
        }
    }

    /// P(X ≤ x).
    pub(crate) fn cdf(&self, x: i64) -> f64 {
        if x < 0 {
            return 0.0;
        }
        let x = x as u64;
        if x >= self.n {
            return 1.0;
        }
        if self.p == 0.0 {
            return 1.0;
        }
        if self.q == 0.0 {
            return 0.0;
        }
        if (x as f64) < self.mean() {
            self.sum_outward(x, true).min(1.0)
        } else {
            (1.0 - self.sum_outward(x + 1, false)).max(0.0)
        }
    }

    /// P(X ≥ x).
    pub(crate) fn sf(&self, x: i64) -> f64 {
        if x <= 0 {
            return 1.0;
        }
        let x = x as u64;
        if x > self.n {
            return 0.0;
        }
        if self.q == 0.0 {
            return 1.0;
        }
        if self.p == 0.0 {
            return 0.0;
        }
        if (x as f64) > self.mean() {
            self.sum_outward(x, false).min(1.0)
        } else {
            (1.0 - self.sum_outward(x - 1, true)).max(0.0)
        }
    }
}

/// Which alternative (as in [`super::rank_sum::Alternative`]).
pub use super::rank_sum::Alternative;

/// R's `binom.test(x, n, p, alternative)$p.value`.
pub fn binom_test_p(x: u64, n: u64, p: f64, alternative: Alternative) -> f64 {
    let b = Binomial::new(n, p);
    let xi = x as i64;
    let pv = match alternative {
        Alternative::Less => b.cdf(xi),
        Alternative::Greater => b.sf(xi),
        Alternative::TwoSided => {
            if p == 0.0 {
                f64::from(u8::from(x == 0))
            } else if p == 1.0 {
                f64::from(u8::from(x == n))
            } else {
                // R: relErr <- 1 + 1e-7; the other tail holds the values at most as likely.
                let rel_err = 1.0 + 1e-7;
                let d = b.pmf(x);
                let m = n as f64 * p;
                if (x as f64) == m {
                    1.0
                } else if (x as f64) < m {
                    // y = #{i in ceil(m)..=n : pmf(i) <= d·relErr}; pmf falls beyond the mode.
                    let from = m.ceil() as u64;
                    let y = count_at_most(&b, from, n, d * rel_err, true);
                    b.cdf(xi) + b.sf((n - y) as i64 + 1)
                } else {
                    let to = m.floor() as u64;
                    let y = count_at_most(&b, 0, to, d * rel_err, false);
                    b.cdf(y as i64 - 1) + b.sf(xi)
                }
            }
        }
    };
    pv.min(1.0)
}

/// #{i in lo..=hi : pmf(i) <= limit}, the pmf being unimodal: the qualifying i form the
/// far end of the range (`upper`: lo..=hi rising then falling, count from hi down; else
/// from lo up), plus possibly points at the near end before the mode.
fn count_at_most(b: &Binomial, lo: u64, hi: u64, limit: f64, upper: bool) -> u64 {
    if lo > hi {
        return 0;
    }
    let mode = ((b.n as f64 + 1.0) * b.p)
        .floor()
        .clamp(lo as f64, hi as f64) as u64;
    let mut count = 0;
    if upper {
        // The rising part lo..mode: at most a couple of points; count them directly.
        for i in lo..mode {
            if b.pmf(i) <= limit {
                count += 1;
            }
        }
        // Falling part mode..=hi: binary search the first i with pmf(i) <= limit.
        let (mut a, mut z) = (mode, hi + 1);
        while a < z {
            let mid = a + (z - a) / 2;
            if b.pmf(mid) <= limit {
                z = mid;
            } else {
                a = mid + 1;
            }
        }
        count + (hi + 1 - a)
    } else {
        for i in (mode + 1)..=hi {
            if b.pmf(i) <= limit {
                count += 1;
            }
        }
        // Rising part lo..=mode: the last i with pmf(i) <= limit.
        let (mut a, mut z) = (lo, mode + 1);
        while a < z {
            let mid = a + (z - a) / 2;
            if b.pmf(mid) <= limit {
                a = mid + 1;
            } else {
                z = mid;
            }
        }
        count + (a - lo)
    }
}

/// Clopper–Pearson one-sided bounds for the share at level `conf` each: the p with
/// P(X ≥ x | p) = 1 − conf (lower) and P(X ≤ x | p) = 1 − conf (upper), as R's `binom.test`
/// gets from `qbeta`, here by bisection on the exact tails (monotone in p) to 1e-15.
pub fn clopper_pearson(x: u64, n: u64, conf: f64) -> (f64, f64) {
    let a = 1.0 - conf;
    let solve = |f: &dyn Fn(f64) -> f64| -> f64 {
        // f increasing in p; find f(p) = a.
        let (mut lo, mut hi) = (0.0f64, 1.0f64);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if f(mid) < a {
                lo = mid;
            } else {
                hi = mid;
            }
            if hi - lo <= 1e-16 * hi.max(1e-300) {
                break;
            }
        }
        0.5 * (lo + hi)
    };
    let lower = if x == 0 {
        0.0
    } else {
        solve(&|p| Binomial::new(n, p).sf(x as i64))
    };
    let upper = if x == n {
        1.0
    } else {
        // P(X ≤ x | p) = P(n − X ≥ n − x | 1 − p): solve for u = 1 − p, increasing in u.
        1.0 - solve(&|u| Binomial::new(n, u).sf((n - x) as i64))
    };
    (lower, upper)
}

/// An estimated dispersion and the degrees of freedom it rests on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dispersion {
    /// φ̂, at least 1 (1: binomial, or nothing to estimate it from).
    pub phi: f64,
    /// Degrees of freedom of φ̂: Satterthwaite's effective number of the steps behind it,
    /// at most k − 1 for k steps with events (R's `df.residual` of
    /// `glm(cbind(c, t − c) ~ 1, family = quasibinomial)`); ∞ when φ̂ = 1 (no
    /// overdispersion found: the binomial is used as exact).
    pub df: f64,
}

/// The dispersion φ̂ of per-step canary counts `c_i` out of totals `t_i` (steps with
/// t_i > 0): the larger of Pearson's X² / (k − 1) and the direct variance ratio of the
/// total (see the body), at least 1; 1 when fewer than two steps have events or the pooled
/// share is 0 or 1.
pub fn dispersion(canary: &[f64], total: &[f64]) -> f64 {
    quasi_dispersion(canary, total).phi
}

/// [`dispersion`] with its degrees of freedom.
pub fn quasi_dispersion(canary: &[f64], total: &[f64]) -> Dispersion {
    let binomial = Dispersion {
        phi: 1.0,
        df: f64::INFINITY,
    };
    let (c_sum, t_sum): (f64, f64) = canary
        .iter()
        .zip(total)
        .filter(|(_, t)| **t > 0.0)
        .fold((0.0, 0.0), |(a, b), (c, t)| (a + c, b + t));
    let k = total.iter().filter(|t| **t > 0.0).count();
    if k < 2 || t_sum <= 0.0 {
        return binomial;
    }
    let p = c_sum / t_sum;
    if !(p > 0.0 && p < 1.0) {
        return binomial;
    }
    let steps = || canary.iter().zip(total).filter(|(_, t)| **t > 0.0);
    let x2: f64 = steps()
        .map(|(c, t)| (c - t * p).powi(2) / (t * p * (1.0 - p)))
        .sum();
    let pearson = x2 / (k - 1) as f64;
    // Pearson's φ̂ assumes each step's extra variance grows with its count, and weights the
    // steps so that a few bursty minutes barely move it. The variance of the canary's
    // *total* is what the test needs: Σ(c_i − p·t_i)² over the binomial p(1 − p)·Σt_i,
    // with k/(k − 1) for the fitted p (the "robust" or sandwich variance of a total,
    // e.g. McCullagh & Nelder, Generalized Linear Models, 2nd ed., §4.5 and §9.2).
    // The larger of the two is used, so bursts on a healthy canary are not read as harm.
    let squares: f64 = steps().map(|(c, t)| (c - t * p).powi(2)).sum();
    let direct = squares / (p * (1.0 - p) * t_sum) * k as f64 / (k - 1) as f64;
    let phi = pearson.max(direct);
    if !(phi.is_finite() && phi > 1.0) {
        return binomial;
    }
    // Degrees of freedom of φ̂. R's quasibinomial `summary` uses k − 1, right when every
    // step carries the same share of the extra variance. When a few bursts carry most of
    // it, φ̂ rests on those few steps: Satterthwaite's approximation for a sum of
    // one-degree-of-freedom terms, ν = (Σ w_i)² / Σ w_i² over the terms w_i of the
    // estimator used (Satterthwaite, "An approximate distribution of estimates of variance
    // components", Biometrics Bulletin 2 (1946) 110–114, eq. 5 with each ν_i = 1; Kish's
    // effective number of the terms), at most k − 1. On bursty healthy errors the median ν
    // is about 5 of 59, and the t reference keeps the false alarms at α (see
    // benches/SIMULATION_RESULTS.md).
    let terms: Vec<f64> = if pearson >= direct {
        steps()
            .map(|(c, t)| (c - t * p).powi(2) / (t * p * (1.0 - p)))
            .collect()
    } else {
        steps().map(|(c, t)| (c - t * p).powi(2)).collect()
    };
    let sum: f64 = terms.iter().sum();
    let sum_sq: f64 = terms.iter().map(|w| w * w).sum();
    let satterthwaite = sum * sum / sum_sq;
    let df = if satterthwaite.is_finite() {
        satterthwaite.min((k - 1) as f64).max(1.0)
    } else {
        (k - 1) as f64
    };
    Dispersion { phi, df }
}

/// Fisher's index of dispersion of counts (variance over mean, pooled over both sides with
/// one degree of freedom per side: Cochran, "Some methods for strengthening the common χ²
/// tests", Biometrics 10 (1954) 417–451, §5), at least 1: the quasi-Poisson inflation when
/// the two sides share no time grid.
pub fn poisson_dispersion(a: &[f64], b: &[f64]) -> f64 {
    quasi_poisson_dispersion(a, b).phi
}

/// [`poisson_dispersion`] with its degrees of freedom (Σ (n_side − 1)).
pub fn quasi_poisson_dispersion(a: &[f64], b: &[f64]) -> Dispersion {
    let poisson = Dispersion {
        phi: 1.0,
        df: f64::INFINITY,
    };
    let mut x2 = 0.0;
    let mut df = 0usize;
    for side in [a, b] {
        if side.len() < 2 {
            continue;
        }
        let mean = side.iter().sum::<f64>() / side.len() as f64;
        if mean <= 0.0 {
            continue;
        }
        x2 += side.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / mean;
        df += side.len() - 1;
    }
    if df == 0 {
        return poisson;
    }
    let phi = x2 / df as f64;
    if phi.is_finite() && phi > 1.0 {
        Dispersion { phi, df: df as f64 }
    } else {
        poisson
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn dispersion_takes_the_direct_variance_of_the_total_when_bursts_dominate() {
        // p = 60/80 = 0.75; deviations −2.5 (×3) and 7.5. Pearson: (3·6.25/1.875 +
        // 56.25/9.375)/3 = 16/3; direct: 75/(0.1875·80)·4/3 = 20/3.
        let phi = dispersion(&[5.0, 5.0, 5.0, 45.0], &[10.0, 10.0, 10.0, 50.0]);
        assert!((phi - 20.0 / 3.0).abs() < 1e-12, "{phi}");
        // Steps exactly at the pooled share: no extra variance.
        assert_eq!(dispersion(&[5.0, 5.0, 5.0], &[10.0, 10.0, 10.0]), 1.0);
    }

    use super::*;

    #[test]
    fn issue_numbers() {
        // kayenta#426: 4 events against none, equal exposure: 2 · 0.5^4.
        assert_eq!(binom_test_p(4, 4, 0.5, Alternative::TwoSided), 0.125);
        assert!((binom_test_p(8, 8, 0.5, Alternative::TwoSided) - 0.0078125).abs() < 1e-17);
    }

    #[test]
    fn pmf_sums_to_one() {
        for (n, p) in [(10u64, 0.3), (1000, 0.5), (12345, 0.01)] {
            let b = Binomial::new(n, p);
            let s: f64 = (0..=n).map(|x| b.pmf(x)).sum();
            assert!((s - 1.0).abs() < 1e-12, "{n} {p}: {s}");
            let half = n / 3;
            let direct: f64 = (0..=half).map(|x| b.pmf(x)).sum();
            assert!((b.cdf(half as i64) - direct).abs() < 1e-12);
        }
    }
}
