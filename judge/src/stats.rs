//! Descriptive statistics and effect sizes (`stats/DescriptiveStatistics.scala`,
//! `stats/EffectSizes.scala`).

use crate::model::MetricStatistics;

/// min, max, mean, sample std and count; all zero for an empty array (Kayenta's summary).
///
/// The mean and variance are Commons Math's corrected two-pass formulas (as Kayenta's
/// `StatUtils.mean`), run over the values in ascending order so that the result does not
/// depend on the order of the series (Kayenta runs them in series order; the corrected
/// formulas make the two agree except in rare last-bit cases).
pub fn summary(values: &[f64]) -> MetricStatistics {
    if values.is_empty() {
        return MetricStatistics::default();
    }
    let sorted = sorted_copy(values);
    MetricStatistics {
        min: sorted[0],
        max: sorted[sorted.len() - 1],
        mean: mean_sorted(&sorted),
        std: sample_std_sorted(&sorted),
        count: values.len() as u64,
    }
}

fn sorted_copy(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_unstable_by(f64::total_cmp);
    v
}

/// Commons Math `Mean` (`StatUtils.mean`, which Kayenta's `meanRatio` calls): the sum over
/// n, then a correction pass `xbar + Σ(x − xbar) / n`.
fn mean_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len() as f64;
    let xbar = sorted.iter().sum::<f64>() / n;
    if !xbar.is_finite() {
        return xbar;
    }
    let correction: f64 = sorted.iter().map(|x| x - xbar).sum();
    xbar + correction / n
}

/// Commons Math `Variance` (bias-corrected, two-pass with correction):
/// `(Σ(x − m)² − (Σ(x − m))² / n) / (n − 1)`, then the square root.
fn sample_std_sorted(sorted: &[f64]) -> f64 {
    if sorted.len() < 2 {
        return 0.0;
    }
    let m = mean_sorted(sorted);
    let (mut accum, mut dev_sum) = (0.0f64, 0.0f64);
    for x in sorted {
        let dev = x - m;
        accum += dev * dev;
        dev_sum += dev;
    }
    let n = sorted.len() as f64;
    ((accum - dev_sum * dev_sum / n) / (n - 1.0)).sqrt()
}

/// Arithmetic mean (NaN for an empty array), summed in ascending order.
pub fn mean(values: &[f64]) -> f64 {
    mean_sorted(&sorted_copy(values))
}

/// Sample standard deviation (n − 1 denominator), two-pass; 0 for fewer than two values.
pub fn sample_std(values: &[f64]) -> f64 {
    sample_std_sorted(&sorted_copy(values))
}

/// Population standard deviation (n denominator), used by the k-sigma detector.
pub fn population_std(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let m = mean(values);
    let ss: f64 = values.iter().map(|x| (x - m) * (x - m)).sum();
    (ss / values.len() as f64).sqrt()
}

/// Percentile `p` in (0, 100] of **sorted** data, R type 7 / Commons Math `R_7`
/// (linear interpolation between order statistics). NaN for empty data.
pub fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 0 || p.is_nan() {
        return f64::NAN;
    }
    // Commons Math Percentile.EstimationType.R_7: pos = 1 + (n − 1)·p/100, 1-based.
    let q = p / 100.0;
    let pos = if q == 0.0 {
        0.0
    } else if q == 1.0 {
        n as f64
    } else {
        1.0 + (n as f64 - 1.0) * q
    };
    if pos < 1.0 {
        return sorted[0];
    }
    if pos >= n as f64 {
        return sorted[n - 1];
    }
    let fpos = pos.floor();
    let int_pos = fpos as usize;
    let dif = pos - fpos;
    let lower = sorted[int_pos - 1];
    let upper = sorted[int_pos];
    lower + dif * (upper - lower)
}

/// Percentile `p` in (0, 100] of unsorted data.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    percentile_sorted(&sorted, p)
}

/// mean(experiment) / mean(control); NaN when either mean is exactly 0.
pub fn mean_ratio(control: &[f64], experiment: &[f64]) -> f64 {
    let c = mean(control);
    let e = mean(experiment);
    if c == 0.0 || e == 0.0 {
        f64::NAN
    } else {
        e / c
    }
}

/// Common-language effect size (Vargha–Delaney A): P(experiment > control), ties ½,
/// computed as `(2·R1 − m(m+1)) / (2·n·m)` with R1 the experiment's rank sum in the pooled
/// sample (`EffectSizes.cles`). NaN when a side is empty.
pub fn cles(control: &[f64], experiment: &[f64]) -> f64 {
    let (n, m) = (control.len(), experiment.len());
    if n == 0 || m == 0 {
        return f64::NAN;
    }
    let mut c = control.to_vec();
    let mut e = experiment.to_vec();
    c.sort_unstable_by(f64::total_cmp);
    e.sort_unstable_by(f64::total_cmp);
    let r1 = crate::mann_whitney::rank_sum_sorted(&e, &c);
    let (n, m) = (n as f64, m as f64);
    (2.0 * r1 - m * (m + 1.0)) / (2.0 * n * m)
}

/// Cohen's d: |mean(second) − mean(first)| / pooled sample std.
pub fn cohen_d(first: &[f64], second: &[f64]) -> f64 {
    let (n1, n2) = (first.len() as f64, second.len() as f64);
    let (s1, s2) = (sample_std(first), sample_std(second));
    let pooled = (((n1 - 1.0) * s1 * s1 + (n2 - 1.0) * s2 * s2) / (n1 + n2 - 2.0)).sqrt();
    (mean(second) - mean(first)).abs() / pooled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r7_percentiles() {
        let v = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5];
        assert!((percentile(&v, 5.0) - 0.175).abs() < 1e-12);
        assert_eq!(percentile(&v, 50.0), 1.75);
        assert_eq!(percentile(&v, 100.0), 3.5);
        assert!(percentile(&[], 50.0).is_nan());
    }

    #[test]
    fn summary_of_nothing_is_zero() {
        assert_eq!(summary(&[]), MetricStatistics::default());
        let s = summary(&[1.0, 1.0, 1.0, 10.0, 10.0, 10.0]);
        assert!((s.std - 4.9295).abs() < 1e-4);
        assert_eq!((s.min, s.max, s.mean, s.count), (1.0, 10.0, 5.5, 6));
    }
}
