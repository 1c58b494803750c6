//! Outlier detectors (`detectors/IQRDetector.scala`, `detectors/KSigmaDetector.scala`).

use crate::stats::{mean, percentile_sorted, population_std};

/// Interquartile-range fences, R-7 quartiles. With `reduce_sensitivity` (always on in the
/// judge) the fences widen to the 1st and 99th percentiles when those lie further out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IqrDetector {
    /// Fence distance in IQRs (the judge's `outlierFactor`, default 3.0).
    pub factor: f64,
    /// Widen the fences to P1 / P99.
    pub reduce_sensitivity: bool,
}

impl IqrDetector {
    /// `(lowerFence, upperFence)`; NaN for empty data.
    pub fn fences(&self, data: &[f64]) -> (f64, f64) {
        let mut sorted = data.to_vec();
        sorted.sort_unstable_by(f64::total_cmp);
        let q1 = percentile_sorted(&sorted, 25.0);
        let q3 = percentile_sorted(&sorted, 75.0);
        let iqr = q3 - q1;
        let lower = q1 - self.factor * iqr;
        let upper = q3 + self.factor * iqr;
        if self.reduce_sensitivity {
            let p01 = percentile_sorted(&sorted, 1.0);
            let p99 = percentile_sorted(&sorted, 99.0);
            (min_java(p01, lower), max_java(p99, upper))
        } else {
            (lower, upper)
        }
    }

    /// One flag per value: outside the fences (comparisons with NaN fences are false).
    pub fn detect(&self, data: &[f64]) -> Vec<bool> {
        let (lo, hi) = self.fences(data);
        data.iter().map(|&x| x > hi || x < lo).collect()
    }
}

/// `math.min` as Scala/Java define it: NaN if either is NaN.
fn min_java(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

fn max_java(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// mean ± k·(population std), strict comparison. Kayenta tests it; its judge never uses it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KSigmaDetector {
    /// Number of standard deviations.
    pub k: f64,
}

impl KSigmaDetector {
    /// One flag per value: `|x − mean| > k·σ`.
    pub fn detect(&self, data: &[f64]) -> Vec<bool> {
        if data.is_empty() {
            return Vec::new();
        }
        let m = mean(data);
        let s = population_std(data);
        data.iter().map(|&x| (x - m).abs() > self.k * s).collect()
    }
}
