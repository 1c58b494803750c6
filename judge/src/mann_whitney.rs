//! Mann-Whitney confidence interval and location estimate of the shift
//! experiment − control, as Kayenta computes them (`kayenta-mannwhitney/.../MannWhitney.scala`),
//! which ports the approximate branch of R's `wilcox.test.default(x, y, exact = FALSE,
//! correct = TRUE, conf.int = TRUE)` (`src/library/stats/R/wilcox.test.R`).
//!
//! For a candidate shift `d`, R pools `x − d` with `y`, ranks the pool with average ranks,
//! and standardises the rank sum of the `x` part with a continuity and tie correction. The
//! interval's ends are where that statistic crosses `±z`, found with `uniroot` (zeroin)
//! after an endpoint rule; the interval is R's exactly.
//!
//! The estimate is Kayenta's, not R's: Kayenta solves the same *continuity-corrected*
//! function at `zq = 0` (R turns the correction off for its estimate). In large samples
//! the two agree to about 1e-5; in small ones they differ (see the crate docs).
//!
//! Unlike R and Kayenta, the pool is not re-ranked per evaluation: both samples are sorted
//! once and each evaluation merges them in one linear pass, so an evaluation costs
//! O(n + m) instead of O((n + m) log(n + m)), with identical arithmetic on the shifted
//! values (`x_i − d` is monotone in `x_i`, so the sorted order survives the shift).

use crate::MannWhitneyError;
use crate::zeroin::{MAX_ITERATIONS, TOLERANCE, zeroin};

/// The interval and the estimate of the shift experiment − control.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitneyInterval {
    /// Lower end (`root(+z)`); not re-ordered, so with heavy ties it can exceed the upper.
    pub lower: f64,
    /// Upper end (`root(−z)`).
    pub upper: f64,
    /// Kayenta's estimate: the root of the continuity-corrected function at `zq = 0`.
    pub estimate: f64,
}

pub use crate::normal::qnorm;

/// Computes the Mann-Whitney interval and estimate of `experiment − control`.
///
/// Errors when a side is empty, a value is NaN or infinite (or the search range overflows),
/// the confidence level is outside (0, 1), or every pooled value is tied.
pub fn mann_whitney_interval(
    experiment: &[f64],
    control: &[f64],
    conf_level: f64,
) -> Result<MannWhitneyInterval, MannWhitneyError> {
    let w = WilcoxonDiff::new(experiment, control)?;
    w.interval(conf_level)
}

/// The Wilcoxon statistic as a function of the shift, on samples sorted once.
#[derive(Debug, Clone)]
pub struct WilcoxonDiff {
    x: Vec<f64>,
    y: Vec<f64>,
    nx: f64,
    ny: f64,
    /// Σ (t³ − t) over the tie groups of y alone.
    y_ties: u128,
}

impl WilcoxonDiff {
    /// Sorts copies of both samples. `x` is the experiment, `y` the control.
    pub fn new(x: &[f64], y: &[f64]) -> Result<WilcoxonDiff, MannWhitneyError> {
        if x.is_empty() {
            return Err(MannWhitneyError::Empty("experiment"));
        }
        if y.is_empty() {
            return Err(MannWhitneyError::Empty("control"));
        }
        if x.iter().chain(y).any(|v| !v.is_finite()) {
            return Err(MannWhitneyError::NonFinite(
                "the data holds NaN or infinite values",
            ));
        }
        let mut x = x.to_vec();
        let mut y = y.to_vec();
        x.sort_unstable_by(f64::total_cmp);
        y.sort_unstable_by(f64::total_cmp);
        Ok(WilcoxonDiff::from_sorted(x, y))
    }

    fn from_sorted(x: Vec<f64>, y: Vec<f64>) -> WilcoxonDiff {
        let mut y_ties = 0u128;
        let mut k = 0;
        while k < y.len() {
            let start = k;
            while k < y.len() && y[k] == y[start] {
                k += 1;
            }
            let t = (k - start) as u128;
            y_ties += t * t * t - t;
        }
        let (nx, ny) = (x.len() as f64, y.len() as f64);
        WilcoxonDiff {
            x,
            y,
            nx,
            ny,
            y_ties,
        }
    }

    /// `(muMin, muMax) = (min x − max y, max x − min y)`: the search range.
    pub fn search_range(&self) -> (f64, f64) {
        let (x0, x1) = (self.x[0], self.x[self.x.len() - 1]);
        let (y0, y1) = (self.y[0], self.y[self.y.len() - 1]);
        (x0 - y1, x1 - y0)
    }

    /// R's `wdiff(d, zq)` with the continuity correction:
    /// `(dz − 0.5·sign(dz)) / sigma − zq`.
    pub fn wdiff(&self, d: f64, zq: f64) -> Result<f64, MannWhitneyError> {
        Ok(self.standardized(d)? - zq)
    }

    /// `(dz − correction) / sigma` at shift `d` (so `wdiff(d, zq) = this − zq`).
    fn standardized(&self, d: f64) -> Result<f64, MannWhitneyError> {
        let (rank_sum_x, ties) = self.merge_ranks(d);
        let (nx, ny) = (self.nx, self.ny);
        let dz = rank_sum_x - nx * (nx + 1.0) / 2.0 - nx * ny / 2.0;
        let correction = if dz > 0.0 {
            0.5
        } else if dz < 0.0 {
            -0.5
        } else {
            0.0
        };
        let sigma =
            ((nx * ny / 12.0) * ((nx + ny + 1.0) - ties / ((nx + ny) * (nx + ny - 1.0)))).sqrt();
        if sigma == 0.0 || sigma.is_nan() {
            return Err(MannWhitneyError::AllTied);
        }
        Ok((dz - correction) / sigma)
    }

    /// One merge pass over `x − d` and `y`: the rank sum of the `x` part (average ranks for
    /// ties) and `Σ (t³ − t)` over tie groups.
    ///
    /// Both sums are kept in exact integers (twice the rank sum, since average ranks are
    /// half-integers) and rounded to a double once at the end. R sums the same exact terms
    /// in long double and rounds once, so the results are R's.
    fn merge_ranks(&self, d: f64) -> (f64, f64) {
        let (x, y) = (&self.x[..], &self.y[..]);
        let (nx, ny) = (x.len(), y.len());
        let (mut i, mut j) = (0usize, 0usize);
        let mut twice_rank_sum: u128 = 0;
        // Start from the ties among y alone; each x group adjusts the y group it meets.
        let mut ties: u128 = self.y_ties;
        while i < nx {
            let v = x[i] - d;
            // Every y below v ranks below this x group.
            while j < ny && y[j] < v {
                j += 1;
            }
            let (start_i, start_j) = (i, j);
            i += 1;
            while i < nx && x[i] - d == v {
                i += 1;
            }
            while j < ny && y[j] == v {
                j += 1;
            }
            let a = (i - start_i) as u128;
            let b = (j - start_j) as u128;
            let below = (start_i + start_j) as u128;
            let t = a + b;
            // Ranks below+1 ..= below+t share their average (2·below + t + 1) / 2.
            twice_rank_sum += a * (2 * below + t + 1);
            if t > 1 {
                ties = ties + (t * t * t - t) - (b * b * b - b);
            }
        }
        (twice_rank_sum as f64 / 2.0, ties as f64)
    }

    /// The interval at `conf_level` and Kayenta's estimate.
    pub fn interval(&self, conf_level: f64) -> Result<MannWhitneyInterval, MannWhitneyError> {
        if !(conf_level > 0.0 && conf_level < 1.0) {
            return Err(MannWhitneyError::ConfLevel(conf_level));
        }
        let (mu_min, mu_max) = self.search_range();
        if !(mu_min.is_finite() && mu_max.is_finite()) {
            return Err(MannWhitneyError::NonFinite(
                "the range of pairwise differences overflows",
            ));
        }
        let alpha = 1.0 - conf_level;
        let z = qnorm(alpha / 2.0);
        // The statistic at the ends does not depend on zq: evaluate it once.
        let g_min = self.standardized(mu_min)?;
        let g_max = self.standardized(mu_max)?;
        let root = |zq: f64| -> Result<f64, MannWhitneyError> {
            let f_lower = g_min - zq;
            let f_upper = g_max - zq;
            if f_lower <= 0.0 {
                return Ok(mu_min);
            }
            if f_upper >= 0.0 {
                return Ok(mu_max);
            }
            zeroin(
                mu_min,
                mu_max,
                f_lower,
                f_upper,
                |d| self.wdiff(d, zq),
                TOLERANCE,
                MAX_ITERATIONS,
            )
        };
        let lower = root(-z)?;
        let upper = root(z)?;
        let estimate = zeroin(
            mu_min,
            mu_max,
            g_min - 0.0,
            g_max - 0.0,
            |d| self.wdiff(d, 0.0),
            TOLERANCE,
            MAX_ITERATIONS,
        )?;
        Ok(MannWhitneyInterval {
            lower,
            upper,
            estimate,
        })
    }
}

/// Rank sum of `a` in the pool of sorted `a` and sorted `b`, average ranks for ties.
pub(crate) fn rank_sum_sorted(a: &[f64], b: &[f64]) -> f64 {
    WilcoxonDiff::from_sorted(a.to_vec(), b.to_vec())
        .merge_ranks(0.0)
        .0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ranks the pool the slow way, as R does, for comparison with the merge.
    fn naive(x: &[f64], y: &[f64], d: f64) -> (f64, f64) {
        let mut pool: Vec<(f64, bool)> = x.iter().map(|v| (v - d, true)).collect();
        pool.extend(y.iter().map(|v| (*v, false)));
        pool.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (mut rank_sum, mut ties, mut k) = (0.0, 0.0, 0);
        while k < pool.len() {
            let mut e = k;
            while e < pool.len() && pool[e].0 == pool[k].0 {
                e += 1;
            }
            let avg = (k + 1 + e) as f64 / 2.0;
            rank_sum += pool[k..e].iter().filter(|p| p.1).count() as f64 * avg;
            let t = (e - k) as f64;
            ties += t * t * t - t;
            k = e;
        }
        (rank_sum, ties)
    }

    #[test]
    fn merge_ranks_equal_naive_ranks() {
        let x = [3.0, 1.0, 2.0, 2.0, 5.0, 0.0, 0.0];
        let y = [2.0, 2.0, 0.0, 4.0, 1.0];
        let w = WilcoxonDiff::new(&x, &y).expect("valid");
        for d in [-3.0, -1.0, 0.0, 0.5, 1.0, 2.0, 7.0] {
            assert_eq!(w.merge_ranks(d), naive(&x, &y, d), "d = {d}");
        }
    }

    #[test]
    fn kayenta_suite_small_case() {
        let r = mann_whitney_interval(&[10.0, 20.0, 30.0, 40.0], &[1.0, 2.0, 3.0, 4.0], 0.95)
            .expect("interval");
        assert!((r.lower - 6.0).abs() < 1e-6, "{r:?}");
        assert!((r.upper - 39.0).abs() < 1e-6, "{r:?}");
        assert!((r.estimate - 22.5).abs() < 1e-6, "{r:?}");
    }

    #[test]
    fn qnorm_matches_r() {
        assert!((qnorm(0.01) - -2.326348).abs() < 1e-6);
        assert_eq!(qnorm(0.025), -1.9599639845400538);
    }

    #[test]
    fn all_tied_is_an_error() {
        assert_eq!(
            mann_whitney_interval(&[1.0, 1.0], &[1.0], 0.98),
            Err(MannWhitneyError::AllTied)
        );
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(mann_whitney_interval(&[], &[1.0], 0.98).is_err());
        assert!(mann_whitney_interval(&[f64::NAN], &[1.0], 0.98).is_err());
        assert!(mann_whitney_interval(&[f64::INFINITY, 1.0], &[1.0], 0.98).is_err());
        assert!(mann_whitney_interval(&[1e308, 2.0], &[-1e308, 3.0], 0.98).is_err());
        assert!(mann_whitney_interval(&[1.0, 2.0], &[3.0], 1.0).is_err());
    }
}
