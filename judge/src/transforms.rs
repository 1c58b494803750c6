//! Per-side preprocessing (`preprocessing/Transforms.scala`): NaN handling, then outliers.

use crate::outliers::IqrDetector;
use crate::settings::{MetricSettings, NanStrategy};

/// Drops every NaN, keeping order.
pub fn remove_nans(data: &[f64]) -> Vec<f64> {
    data.iter().copied().filter(|x| !x.is_nan()).collect()
}

/// Replaces every NaN with `value`.
pub fn replace_nans(data: &[f64], value: f64) -> Vec<f64> {
    data.iter()
        .map(|&x| if x.is_nan() { value } else { x })
        .collect()
}

/// Drops the values a detector flags, keeping order.
pub fn remove_flagged(data: &[f64], flags: &[bool]) -> Vec<f64> {
    data.iter()
        .zip(flags)
        .filter(|(_, f)| !**f)
        .map(|(x, _)| *x)
        .collect()
}

/// What the transforms did to one side, for reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransformCounts {
    /// NaN values removed (or replaced).
    pub nans: usize,
    /// Outliers removed.
    pub outliers: usize,
}

/// The judge's preprocessing of one side: the NaN strategy, then, when
/// `outliers.strategy == "remove"`, IQR removal with `reduceSensitivity`.
pub fn preprocess(data: &[f64], settings: &MetricSettings) -> (Vec<f64>, TransformCounts) {
    let nans = data.iter().filter(|x| x.is_nan()).count();
    let cleaned = match settings.nan_strategy {
        NanStrategy::Remove => remove_nans(data),
        NanStrategy::Replace => replace_nans(data, 0.0),
    };
    if !settings.remove_outliers {
        return (cleaned, TransformCounts { nans, outliers: 0 });
    }
    let detector = IqrDetector {
        factor: settings.outlier_factor,
        reduce_sensitivity: true,
    };
    let flags = detector.detect(&cleaned);
    let kept = remove_flagged(&cleaned, &flags);
    let outliers = cleaned.len() - kept.len();
    (kept, TransformCounts { nans, outliers })
}
