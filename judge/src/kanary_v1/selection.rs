//! The k-th smallest element of an implicitly sorted matrix, without materialising it.
//!
//! The Hodges–Lehmann estimates and their distribution-free intervals are order statistics
//! of the n·m pairwise differences `x_i − y_j` (two samples; Hodges & Lehmann 1963, Moses'
//! interval in Lehmann, *Nonparametrics*, 1975, §2.6) or of the n(n+1)/2 Walsh averages
//! `(d_i + d_j)/2, i ≤ j` (one sample; Tukey's Walsh averages, Hollander & Wolfe 1999,
//! §3.2–3.3). With the samples sorted, both form a matrix whose rows and columns are
//! sorted, and the k-th element is found by shrinking, per row, an active column range
//! that still holds it, as in Johnson & Mizoguchi, "Selecting the Kth element in X + Y and
//! X1 + X2 + ... + Xm", SIAM J. Comput. 7 (1978) 147–153, and J. F. Monahan, "Algorithm
//! 616: fast computation of the Hodges-Lehmann location estimator", ACM TOMS 10 (1984)
//! 265–270. Counting the elements below a pivot is one two-pointer sweep, O(n + m).
//!
//! Pivots: each round draws a stratified sample of s active elements (s = n + m within
//! 2^10..2^18; a fixed-seed generator: deterministic) and takes the two sample order
//! statistics that bracket the sought rank by ±4·√s sample ranks, eight standard deviations
//! of its sample rank (Floyd & Rivest, "Expected time bounds for selection", CACM 18 (1975)
//! 165–172, §2). One round keeps about 8/√s of the active elements (1/64 at s = 2^18), so a
//! 10^6 × 10^6 matrix needs four rounds and a direct selection among at most s elements,
//! where Monahan's weighted median of the row medians (which removes at least a quarter per
//! round) needs about fifty. Both pivots are counted in one pass (`positions`). When a
//! sampled round fails to halve the active set (unlucky sample, many ties) the next round
//! uses Monahan's pivot, so the worst case keeps his bound: O(log(n·m)) rounds of O(n + m)
//! work, O(n + m) memory (four column indices per row: the active range and the two
//! pivots' positions; u32 when the columns fit, 16 MB at 10^6 rows). The result is an
//! element of the matrix, computed by the same expression whatever the path, so it does
//! not depend on the pivots.

use std::cmp::Ordering;

/// Elements drawn per sampled round: n + m (a round's other work is O(n + m) too), within
/// these bounds. The sought element's rank in the sample has a standard deviation of at
/// most √s / 2; the pivots are taken 4·√s ranks either side of its expected rank.
const SAMPLE_MIN: usize = 1 << 10;
const SAMPLE_MAX: usize = 1 << 18;

/// A matrix with `rows` rows and `cols` columns whose row `i` holds the columns
/// `start(i)..cols`, with `value(i, j)` non-decreasing in `j` for fixed `i` and in `i` for
/// fixed `j` (over all `j`, valid or not), and `start` non-decreasing.
pub(crate) struct SortedMatrix<S, V> {
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) start: S,
    pub(crate) value: V,
}

/// SplitMix64 (Steele, Lea & Flood 2014): a fixed-seed source for the pivot samples.
struct SplitMix(u64);

impl SplitMix {
    /// A uniform double in [0, 1).
    fn next_unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A walk of `SortedMatrix::positions`: at row `i` (until `end`), column `j`; `total` is
/// the count so far.
struct Walk {
    i: usize,
    end: usize,
    j: usize,
    total: u64,
}

/// A column index as stored per row: `u32` when the columns fit (half the memory of
/// `usize`: 16 MB instead of 32 MB for the four indices per row at 10^6 rows).
trait Col: Copy {
    fn new(j: usize) -> Self;
    fn get(self) -> usize;
}

impl Col for u32 {
    fn new(j: usize) -> u32 {
        // Only used when `cols <= u32::MAX` (`SortedMatrix::kth_with`, `next_after`).
        j as u32
    }
    fn get(self) -> usize {
        self as usize
    }
}

impl Col for usize {
    fn new(j: usize) -> usize {
        j
    }
    fn get(self) -> usize {
        self
    }
}

/// The active column ranges of the rows and what they leave out.
struct Ranges<C> {
    lo: Vec<C>,
    hi: Vec<C>,
    /// Σ (hi − lo): the elements that may still be the sought one.
    active: u64,
    /// Σ (lo − first): the elements known to be below it.
    below: u64,
}

impl<S: Fn(usize) -> usize, V: Fn(usize, usize) -> f64> SortedMatrix<S, V> {
    /// The first valid column of row `i`.
    fn first(&self, i: usize) -> usize {
        (self.start)(i).min(self.cols)
    }

    /// The number of elements.
    pub(crate) fn len(&self) -> u64 {
        (0..self.rows)
            .map(|i| (self.cols - self.first(i)) as u64)
            .sum()
    }

    /// Whether `v` is above the pivot `p`: `>= p` when counting the elements `< p`
    /// (`strict`), `> p` when counting those `<= p`.
    fn above(v: f64, p: f64, strict: bool) -> bool {
        if strict { v >= p } else { v > p }
    }

    /// Row `i`'s position of the pivot `p` (the number of columns, from 0, valid or not,
    /// not above it) by binary search.
    fn position_of_row(&self, i: usize, p: f64, strict: bool) -> usize {
        let (mut base, mut size) = (0usize, self.cols);
        while size > 0 {
            let half = size / 2;
            let mid = base + half;
            if Self::above((self.value)(i, mid), p, strict) {
                size = half;
            } else {
                base = mid + 1;
                size -= half + 1;
            }
        }
        base
    }

    /// One step of the walk `w` for the pivot `(p, strict)`: see `positions`.
    #[inline(always)]
    fn step<C: Col>(&self, w: &mut Walk, p: f64, strict: bool, out: &mut [C]) {
        let (i, j) = (w.i, w.j);
        // Column j − 1 when j > 0; column 0 (any valid index) when j == 0, masked.
        let above = (j > 0) & Self::above((self.value)(i, j.max(1) - 1), p, strict);
        out[i] = C::new(j);
        w.total += u64::from(!above) * j.saturating_sub(self.first(i)) as u64;
        w.i = i + usize::from(!above);
        w.j = j - usize::from(above);
    }

    /// The walks of `positions` for the pivot `(p, strict)`: rows `0..h` and `h..rows`.
    fn walks(&self, p: f64, strict: bool) -> [Walk; 2] {
        let (rows, h) = (self.rows, self.rows / 2);
        let j = if h < rows {
            self.position_of_row(h, p, strict)
        } else {
            0
        };
        [
            Walk {
                i: 0,
                end: h,
                j: self.cols,
                total: 0,
            },
            Walk {
                i: h,
                end: rows,
                j,
                total: 0,
            },
        ]
    }

    /// For each of the pivots `a` and `b`, `(p, strict)`, every row's position (the number
    /// of columns, from 0, valid or not, whose value is `< p` when `strict`, `<= p`
    /// otherwise) into `out_a` / `out_b`, and the number of elements `< p` (`<= p`).
    ///
    /// Positions are non-increasing in the row, so a merge-like walk finds them all in
    /// n + m steps, each moving one column left or one row down. A walk is a chain of
    /// dependent loads and compares, bound by their latency, so each pivot's rows are cut
    /// in two halves (the second half's walk starts from a binary search) and the four
    /// walks advance together: independent chains the processor overlaps. The steps have
    /// no data-dependent branch (a row's position is where an unpredictable comparison
    /// flips, a mispredicted branch per row otherwise): each stores its provisional
    /// position, and the last store for a row is its position.
    fn positions<C: Col>(
        &self,
        (pa, sa): (f64, bool),
        (pb, sb): (f64, bool),
        out_a: &mut [C],
        out_b: &mut [C],
    ) -> (u64, u64) {
        if self.cols == 0 {
            out_a
                .iter_mut()
                .chain(out_b.iter_mut())
                .for_each(|o| *o = C::new(0));
            return (0, 0);
        }
        let [mut a0, mut a1] = self.walks(pa, sa);
        let [mut b0, mut b1] = self.walks(pb, sb);
        while a0.i < a0.end && a1.i < a1.end && b0.i < b0.end && b1.i < b1.end {
            self.step(&mut a0, pa, sa, out_a);
            self.step(&mut a1, pa, sa, out_a);
            self.step(&mut b0, pb, sb, out_b);
            self.step(&mut b1, pb, sb, out_b);
        }
        for w in [&mut a0, &mut a1] {
            while w.i < w.end {
                self.step(w, pa, sa, out_a);
            }
        }
        for w in [&mut b0, &mut b1] {
            while w.i < w.end {
                self.step(w, pb, sb, out_b);
            }
        }
        (a0.total + a1.total, b0.total + b1.total)
    }

    /// Two pivots from a stratified sample of the active elements, bracketing the
    /// `rank`-th (1-based) of them.
    fn sampled_pivots<C: Col>(
        &self,
        r: &Ranges<C>,
        rank: u64,
        sample: &mut Vec<f64>,
    ) -> (f64, f64) {
        let s = self
            .sample_size()
            .min(usize::try_from(r.active).unwrap_or(SAMPLE_MAX));
        let bracket = (4.0 * (s as f64).sqrt()) as usize;
        let mut rng = SplitMix(rank ^ r.active.rotate_left(32));
        sample.clear();
        // The t-th draw is uniform in the t-th of s equal strata of 0..active (rounded,
        // and clamped); the draws ascend, so one pass over the rows places them.
        let scale = r.active as f64 / s as f64;
        let mut row = 0usize;
        let mut row_end = 0u64;
        for t in 0..s {
            let at = (((t as f64 + rng.next_unit()) * scale) as u64).min(r.active - 1);
            while row_end <= at {
                row_end += (r.hi[row].get() - r.lo[row].get()) as u64;
                row += 1;
            }
            let i = row - 1;
            let j = r.hi[i].get() - (row_end - at) as usize;
            sample.push((self.value)(i, j));
        }
        let centre = (rank as f64 / scale) as usize;
        let ia = centre.saturating_sub(bracket).min(s - 1);
        let ib = (centre + bracket).min(s - 1);
        let (_, a, upper) = sample.select_nth_unstable_by(ia, f64::total_cmp);
        let a = *a;
        let b = if ib > ia {
            *upper.select_nth_unstable_by(ib - ia - 1, f64::total_cmp).1
        } else {
            a
        };
        (a, b)
    }

    fn sample_size(&self) -> usize {
        (self.rows + self.cols).clamp(SAMPLE_MIN, SAMPLE_MAX)
    }

    /// The `k`-th smallest element, `1 <= k <= len()`; `None` when `k` is out of range.
    /// At or below one sample's worth of active elements, they are copied out and selected
    /// directly.
    pub(crate) fn kth(&self, k: u64) -> Option<f64> {
        self.kth_with(k, self.sample_size() as u64)
    }

    fn kth_with(&self, k: u64, direct: u64) -> Option<f64> {
        if u32::try_from(self.cols).is_ok() {
            self.kth_in::<u32>(k, direct)
        } else {
            self.kth_in::<usize>(k, direct)
        }
    }

    fn kth_in<C: Col>(&self, k: u64, direct: u64) -> Option<f64> {
        if k == 0 || k > self.len() {
            return None;
        }
        let n = self.rows;
        let lo: Vec<C> = (0..n).map(|i| C::new(self.first(i))).collect();
        let active = (0..n).map(|i| (self.cols - lo[i].get()) as u64).sum();
        let mut r = Ranges {
            lo,
            hi: vec![C::new(self.cols); n],
            active,
            below: 0,
        };
        let mut pos_a = vec![C::new(0); n];
        let mut pos_b = vec![C::new(0); n];
        let mut sample: Vec<f64> = Vec::new();
        let mut medians: Vec<(f64, u64)> = Vec::new();
        let mut sampled = true;
        loop {
            let rank = k.checked_sub(r.below)?;
            if r.active <= direct {
                let mut rest: Vec<f64> = Vec::with_capacity(r.active as usize);
                for i in 0..n {
                    rest.extend((r.lo[i].get()..r.hi[i].get()).map(|j| (self.value)(i, j)));
                }
                let at = usize::try_from(rank.checked_sub(1)?).ok()?;
                if at >= rest.len() {
                    return None;
                }
                let (_, v, _) = rest.select_nth_unstable_by(at, f64::total_cmp);
                return Some(*v);
            }
            let (a, b) = if sampled {
                self.sampled_pivots(&r, rank, &mut sample)
            } else {
                medians.clear();
                for i in 0..n {
                    let (lo, hi) = (r.lo[i].get(), r.hi[i].get());
                    if hi > lo {
                        let mid = lo + (hi - lo - 1) / 2;
                        medians.push(((self.value)(i, mid), (hi - lo) as u64));
                    }
                }
                let p = weighted_median(&mut medians, r.active.div_ceil(2));
                (p, p)
            };
            let before = r.active;
            let (lt_a, le_b) = self.positions((a, true), (b, false), &mut pos_a, &mut pos_b);
            if k <= lt_a {
                // Below a: drop every element >= a.
                self.narrow(&mut r, |i, lo, hi| (lo, hi.min(pos_a[i].get()).max(lo)));
            } else if k > le_b {
                // Above b: drop every element <= b.
                self.narrow(&mut r, |i, lo, hi| (lo.max(pos_b[i].get()).min(hi), hi));
            } else if a == b {
                return Some(a);
            } else {
                // In [a, b]: keep only those.
                self.narrow(&mut r, |i, lo, hi| {
                    let lo = lo.max(pos_a[i].get()).min(hi);
                    (lo, hi.min(pos_b[i].get()).max(lo))
                });
            }
            // A sampled round that did not halve the active set is followed by one with
            // Monahan's pivot, which removes at least a quarter or returns.
            sampled = !sampled || r.active * 2 <= before;
        }
    }

    /// Applies `f(i, lo, hi) -> (lo, hi)` to every row and recounts.
    fn narrow<C: Col>(&self, r: &mut Ranges<C>, f: impl Fn(usize, usize, usize) -> (usize, usize)) {
        let (mut active, mut below) = (0u64, 0u64);
        for (i, (lo, hi)) in r.lo.iter_mut().zip(r.hi.iter_mut()).enumerate() {
            let (l, h) = f(i, lo.get(), hi.get());
            (*lo, *hi) = (C::new(l), C::new(h));
            active += (h - l) as u64;
            below += (l - self.first(i)) as u64;
        }
        r.active = active;
        r.below = below;
    }

    /// The smallest element greater than `v` (an element of the matrix) when there are at
    /// most `k` elements `<= v`, else `v`: the (k+1)-th element given that `v` is the k-th.
    fn next_after(&self, v: f64, k: u64) -> Option<f64> {
        // Positions are at most `cols`; u32 when they fit, as in `kth_with`.
        if u32::try_from(self.cols).is_ok() {
            self.next_after_in::<u32>(v, k)
        } else {
            self.next_after_in::<usize>(v, k)
        }
    }

    fn next_after_in<C: Col>(&self, v: f64, k: u64) -> Option<f64> {
        let mut pos = vec![C::new(0); self.rows];
        let mut unused = vec![C::new(0); self.rows];
        if self
            .positions((v, false), (v, false), &mut pos, &mut unused)
            .0
            > k
        {
            return Some(v);
        }
        (0..self.rows)
            .filter_map(|i| {
                let j = pos[i].get().max(self.first(i));
                (j < self.cols).then(|| (self.value)(i, j))
            })
            .min_by(f64::total_cmp)
    }

    /// The `k`-th and `(k+1)`-th smallest elements.
    fn kth_and_next(&self, k: u64) -> Option<(f64, f64)> {
        let v = self.kth(k)?;
        Some((v, self.next_after(v, k)?))
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

/// The matrix of the differences `x_i − y_j` (both sorted ascending); columns run over y
/// descending, so each row ascends.
fn differences<'a>(
    x: &'a [f64],
    y: &'a [f64],
) -> SortedMatrix<impl Fn(usize) -> usize, impl Fn(usize, usize) -> f64 + 'a> {
    let m = y.len();
    SortedMatrix {
        rows: x.len(),
        cols: m,
        start: |_| 0,
        value: move |i: usize, j: usize| x[i] - y[m - 1 - j],
    }
}

/// The matrix of the Walsh averages `(d_i + d_j)/2, i <= j` (d sorted ascending). Halving
/// each term first cannot overflow.
fn walsh(d: &[f64]) -> SortedMatrix<impl Fn(usize) -> usize, impl Fn(usize, usize) -> f64 + '_> {
    SortedMatrix {
        rows: d.len(),
        cols: d.len(),
        start: |i| i,
        value: move |i: usize, j: usize| 0.5 * d[i] + 0.5 * d[j],
    }
}

/// The k-th smallest (1-based) of the differences `x_i − y_j` (both sorted ascending).
pub(crate) fn kth_difference(x: &[f64], y: &[f64], k: u64) -> Option<f64> {
    differences(x, y).kth(k)
}

/// The k-th smallest (1-based) of the Walsh averages `(d_i + d_j)/2, i <= j` (d sorted
/// ascending).
pub(crate) fn kth_walsh(d: &[f64], k: u64) -> Option<f64> {
    walsh(d).kth(k)
}

/// The median of the differences (the mean of the two middle ones for an even count), as
/// R's `median(sort(outer(x, y, "-")))`.
pub(crate) fn median_difference(x: &[f64], y: &[f64]) -> Option<f64> {
    let matrix = differences(x, y);
    median_of(matrix.len(), |k| matrix.kth(k), |k| matrix.kth_and_next(k))
}

/// The median of the Walsh averages (R's `wilcox.test` one-sample `(pseudo)median`).
pub(crate) fn median_walsh(d: &[f64]) -> Option<f64> {
    let matrix = walsh(d);
    median_of(matrix.len(), |k| matrix.kth(k), |k| matrix.kth_and_next(k))
}

fn median_of(
    total: u64,
    kth: impl Fn(u64) -> Option<f64>,
    kth_and_next: impl Fn(u64) -> Option<(f64, f64)>,
) -> Option<f64> {
    if total == 0 {
        return None;
    }
    if total % 2 == 1 {
        kth(total / 2 + 1)
    } else {
        let (a, b) = kth_and_next(total / 2)?;
        Some(0.5 * a + 0.5 * b)
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
    }

    /// The sampled rounds and Monahan's fallback rounds, forced on small matrices by a
    /// small direct-selection threshold, against full enumeration; with ties (few distinct
    /// values: many rounds fall back) and without.
    #[test]
    fn sampled_rounds_equal_enumeration() {
        let mut seed = 11;
        for (n, m, levels) in [(300, 250, 1000.0), (280, 301, 7.0), (500, 120, 1.0e9)] {
            let draw = |seed: &mut u64| (lcg(seed) * levels / 100.0).round();
            let mut x: Vec<f64> = (0..n).map(|_| draw(&mut seed)).collect();
            let mut y: Vec<f64> = (0..m).map(|_| draw(&mut seed) * 0.5).collect();
            x.sort_by(f64::total_cmp);
            y.sort_by(f64::total_cmp);
            let mut all: Vec<f64> = x
                .iter()
                .flat_map(|a| y.iter().map(move |b| a - b))
                .collect();
            all.sort_by(f64::total_cmp);
            let matrix = differences(&x, &y);
            for k in [
                1,
                2,
                all.len() / 40,
                all.len() / 2,
                all.len() / 2 + 1,
                all.len() - 3,
                all.len(),
            ] {
                let k = k.max(1);
                assert_eq!(
                    matrix.kth_with(k as u64, 64),
                    Some(all[k - 1]),
                    "{n}x{m} levels {levels} k={k}"
                );
                if k < all.len() {
                    assert_eq!(
                        matrix.kth_and_next(k as u64),
                        Some((all[k - 1], all[k])),
                        "{n}x{m} levels {levels} k={k} and next"
                    );
                }
            }
            let mut walsh_all = Vec::new();
            for i in 0..n {
                for j in i..n {
                    walsh_all.push(0.5 * x[i] + 0.5 * x[j]);
                }
            }
            walsh_all.sort_by(f64::total_cmp);
            let w = walsh(&x);
            for k in [1, walsh_all.len() / 7, walsh_all.len() / 2, walsh_all.len()] {
                let k = k.max(1);
                assert_eq!(
                    w.kth_with(k as u64, 64),
                    Some(walsh_all[k - 1]),
                    "walsh n={n} levels {levels} k={k}"
                );
            }
        }
        assert_eq!(median_walsh(&[]), None);
    }
}
