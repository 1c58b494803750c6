//! The Mann-Whitney interval + estimate (Kayenta's judge numerics) at n = m = 1k, 10k,
//! 100k per side, normal data (mean 10, sd 2, shift 0.3).
//!
//! `cargo bench --bench mann_whitney`; R on the same data: `benches/compare_r.sh`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;

mod common;

fn interval(c: &mut Criterion) {
    let mut group = c.benchmark_group("mann_whitney_interval");
    group.sample_size(20);
    for n in [1_000usize, 10_000, 100_000] {
        let (baseline, canary) = common::pair(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                kanary_judge::mann_whitney_interval(black_box(&canary), black_box(&baseline), 0.98)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, interval);
criterion_main!(benches);
