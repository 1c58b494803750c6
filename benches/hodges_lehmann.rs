//! kanary-v1's exact Hodges–Lehmann shift + Moses interval + rank-sum p-value
//! (`kanary_judge::kanary_v1::rank_sum_test`, two-sided, each end at 97.5 %) at n = m = 1k,
//! 100k and 1M per side, normal data (mean 10, sd 2, shift 0.3). Goal: under 1 s at 1M.
//!
//! `cargo bench --bench hodges_lehmann`; side by side with R and SciPy: `benches/compare.sh`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use kanary_judge::kanary_v1::{Alternative, rank_sum_test};
use std::hint::black_box;
use std::time::Duration;

mod common;

fn hodges_lehmann(c: &mut Criterion) {
    let mut group = c.benchmark_group("kanary_v1_rank_sum_test");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for n in [1_000usize, 100_000, 1_000_000] {
        let (baseline, canary) = common::pair(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                rank_sum_test(
                    black_box(&canary),
                    black_box(&baseline),
                    Alternative::TwoSided,
                    0.975,
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, hodges_lehmann);
criterion_main!(benches);
