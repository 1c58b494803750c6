//! The k-th smallest element of an implicitly sorted matrix, without materialising it.
//!
//! The Hodges–Lehmann estimates and their distribution-free intervals are order statistics
//! of the n·m pairwise differences `x_i − y_j` (two samples; Hodges & Lehmann 1963, Moses'
//! interval in Lehmann, *Nonparametrics*, 1975, §2.6) or of the n(n+1)/2 Walsh averages
//! `(d_i + d_j)/2, i ≤ j` (one sample; Tukey's Walsh averages, Hollander & Wolfe 1999,
//! §3.2–3.3). With the samples sorted, both form a matrix whose rows and columns are
//! sorted, and the k-th element is found by the selection of Johnson & Mizoguchi,
//! "Selecting the Kth element in X + Y and X1 + X2 + ... + Xm", SIAM J. Comput. 7 (1978)
//! 147–153, in the form Monahan uses for the one-sample estimate (J. F. Monahan, "Algorithm
//! 616: fast computation of the Hodges-Lehmann location estimator", ACM TOMS 10 (1984)
//! 265–270): keep per row an active column range; pick as pivot the weighted median of the
//! active rows' middle elements (weights: active lengths), a deterministic rule that removes
//! at least a quarter of the active elements per round; count the elements below and at the
//! pivot in one two-pointer sweep; shrink the ranges. O(log(n·m)) rounds of O(n + m) work:
//! O((n + m) log(n + m)) time, O(n + m) memory.

use std::cmp::Ordering;

/// A matrix with `rows` rows and `cols` columns whose row `i` holds the columns
/// `start(i)..cols`, with `value(i, j)` non-decreasing in `j` for fixed `i` and in `i` for
/// fixed `j` (over all `j`, valid or not), and `start` non-decreasing.
pub(crate) struct SortedMatrix<S, V> {
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) start: S,
    pub(crate) value: V,
}

impl<S: Fn(usize) -> usize, V: Fn(usize, usize) -> f64> SortedMatrix<S, V> {
    /// The number of elements.
    pub(crate) fn len(&self) -> u64 {
        (0..self.rows)
            .map(|i| self.cols.saturating_sub((self.start)(i)) as u64)
            .sum()
    }

    /// Per row, the number of columns (from 0, valid or not) whose value is `< p`
    /// (`strict`) or `<= p`: non-increasing in the row, found in one sweep.
    fn positions(&self, p: f64, strict: bool, out: &mut [usize]) {
        let mut j = self.cols;
        for (i, slot) in out.iter_mut().enumerate() {
            while j > 0 {
                let v = (self.value)(i, j - 1);
                let above = if strict { v >= p } else { v > p };
                if above {
                    j -= 1;
                } else {
                    break;
                }
            }
            *slot = j;
        }
    }

    /// The `k`-th smallest element, `1 <= k <= len()`; `None` when `k` is out of range.
    pub(crate) fn kth(&self, k: u64) -> Option<f64> {
        if k == 0 || k > self.len() {
            return None;
        }
        let n = self.rows;
        let mut lo: Vec<usize> = (0..n).map(|i| (self.start)(i).min(self.cols)).collect();
        let mut hi: Vec<usize> = vec![self.cols; n];
        let mut pos_lt = vec![0usize; n];
        let mut pos_le = vec![0usize; n];
        let threshold = (self.rows + self.cols).max(64) as u64;
        let mut medians: Vec<(f64, u64)> = Vec::with_capacity(n);
        loop {
            let active: u64 = (0..n).map(|i| (hi[i] - lo[i]) as u64).sum();
            if active <= threshold {
                let below: u64 = (0..n)
                    .map(|i| (lo[i] - (self.start)(i).min(self.cols)) as u64)
                    .sum();
                let mut rest: Vec<f64> = Vec::with_capacity(active as usize);
                for i in 0..n {
                    rest.extend((lo[i]..hi[i]).map(|j| (self.value)(i, j)));
                }
                let r = usize::try_from(k - below - 1).ok()?;
                if r >= rest.len() {
                    return None;
                }
                let (_, v, _) = rest.select_nth_unstable_by(r, f64::total_cmp);
                return Some(*v);
            }
            medians.clear();
            for i in 0..n {
                if hi[i] > lo[i] {
                    let mid = lo[i] + (hi[i] - lo[i] - 1) / 2;
                    medians.push(((self.value)(i, mid), (hi[i] - lo[i]) as u64));
                }
            }
            let pivot = weighted_median(&mut medians, active.div_ceil(2));
            self.positions(pivot, true, &mut pos_lt);
            self.positions(pivot, false, &mut pos_le);
            let count = |pos: &[usize]| -> u64 {
                (0..n)
                    .map(|i| pos[i].saturating_sub((self.start)(i)) as u64)
                    .sum()
            };
            if k <= count(&pos_lt) {
                for i in 0..n {
                    hi[i] = hi[i].min(pos_lt[i]).max(lo[i]);
                }
            } else if k <= count(&pos_le) {
                return Some(pivot);
            } else {
                for i in 0..n {
                    lo[i] = lo[i].max(pos_le[i]).min(hi[i]);
                }
            }
        }
    }
}

/// The smallest value whose cumulative weight (values in ascending order) reaches `half`;
/// expected linear time by repeated partitioning (`select_nth_unstable_by` is
/// deterministic).
fn weighted_median(items: &mut [(f64, u64)], half: u64) -> f64 {
    let cmp = |a: &(f64, u64), b: &(f64, u64)| -> Ordering { a.0.total_cmp(&b.0) };
    let mut slice = items;
    let mut need = half.max(1);
    loop {
        if slice.len() == 1 {
            return slice[0].0;
        }
        let mid = slice.len() / 2;
        slice.select_nth_unstable_by(mid, cmp);
        let left: u64 = slice[..mid].iter().map(|e| e.1).sum();
        if left >= need {
            slice = &mut slice[..mid];
        } else if left + slice[mid].1 >= need {
            return slice[mid].0;
        } else {
            need -= left + slice[mid].1;
            slice = &mut slice[mid + 1..];
        }
    }
}

/// The k-th smallest (1-based) of the differences `x_i − y_j` (both sorted ascending).
pub(crate) fn kth_difference(x: &[f64], y: &[f64], k: u64) -> Option<f64> {
    let m = y.len();
    SortedMatrix {
        rows: x.len(),
        cols: m,
        start: |_| 0,
        // Columns run over y descending, so each row ascends.
        value: |i: usize, j: usize| x[i] - y[m - 1 - j],
    }
    .kth(k)
}

/// The k-th smallest (1-based) of the Walsh averages `(d_i + d_j)/2, i <= j` (d sorted
/// ascending). Halving each term first cannot overflow.
pub(crate) fn kth_walsh(d: &[f64], k: u64) -> Option<f64> {
    SortedMatrix {
        rows: d.len(),
        cols: d.len(),
        start: |i| i,
        value: |i: usize, j: usize| 0.5 * d[i] + 0.5 * d[j],
    }
    .kth(k)
}

/// The median of the differences (the mean of the two middle ones for an even count), as
/// R's `median(sort(outer(x, y, "-")))`.
pub(crate) fn median_difference(x: &[f64], y: &[f64]) -> Option<f64> {
    let total = (x.len() as u64) * (y.len() as u64);
    median_of(total, |k| kth_difference(x, y, k))
}

/// The median of the Walsh averages (R's `wilcox.test` one-sample `(pseudo)median`).
pub(crate) fn median_walsh(d: &[f64]) -> Option<f64> {
    let n = d.len() as u64;
    median_of(n * (n + 1) / 2, |k| kth_walsh(d, k))
}

fn median_of(total: u64, kth: impl Fn(u64) -> Option<f64>) -> Option<f64> {
    if total == 0 {
        return None;
    }
    if total % 2 == 1 {
        kth(total / 2 + 1)
    } else {
        Some(0.5 * kth(total / 2)? + 0.5 * kth(total / 2 + 1)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 33) % 1000) as f64 / 10.0
    }

    #[test]
    fn equals_enumeration_with_ties() {
        let mut seed = 7;
        for (n, m) in [(1, 1), (3, 5), (40, 7), (90, 120), (200, 3)] {
            let mut x: Vec<f64> = (0..n).map(|_| lcg(&mut seed).round()).collect();
            let mut y: Vec<f64> = (0..m).map(|_| lcg(&mut seed).round()).collect();
            x.sort_by(f64::total_cmp);
            y.sort_by(f64::total_cmp);
            let mut all: Vec<f64> = x
                .iter()
                .flat_map(|a| y.iter().map(move |b| a - b))
                .collect();
            all.sort_by(f64::total_cmp);
            for k in [1, all.len() / 3 + 1, all.len() / 2, all.len()] {
                let k = k.max(1);
                assert_eq!(
                    kth_difference(&x, &y, k as u64),
                    Some(all[k - 1]),
                    "{n}x{m} k={k}"
                );
            }
            let mut walsh = Vec::new();
            for i in 0..n {
                for j in i..n {
                    walsh.push(0.5 * x[i] + 0.5 * x[j]);
                }
            }
            walsh.sort_by(f64::total_cmp);
            for k in [1, walsh.len() / 2 + 1, walsh.len()] {
                assert_eq!(
                    kth_walsh(&x, k as u64),
                    Some(walsh[k - 1]),
                    "walsh n={n} k={k}"
                );
            }
        }
        assert_eq!(kth_difference(&[1.0], &[2.0], 2), None);
        assert_eq!(median_walsh(&[]), None);
    }
}
