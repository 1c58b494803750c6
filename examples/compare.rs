//! kanary's two interval estimators on one generated pair, for `benches/compare.sh`.
//!
//! `cargo run --release --example compare -- N OUT_DIR` writes `OUT_DIR/x.txt` (canary,
//! N(10.3, 2)) and `OUT_DIR/y.txt` (baseline, N(10, 2)), N values a side, one shortest
//! round-trip decimal per line (the data of `benches/common`, fixed seeds), and prints one
//! line: `N mw_ms mw_lower mw_upper mw_estimate v1_ms v1_lower v1_upper v1_estimate v1_p`.
//!
//! - `mw`: Kayenta's judge numerics, `kanary_judge::mann_whitney_interval(x, y, 0.95)` (R's
//!   `wilcox.test(x, y, conf.int = TRUE)` asymptotic interval; Kayenta's estimate).
//! - `v1`: kanary-v1's exact Hodges–Lehmann shift and Moses interval,
//!   `kanary_v1::rank_sum_test(x, y, TwoSided, 0.975)` (each end one-sided 97.5 %, so a
//!   two-sided 95 % interval), with its p-value.
//!
//! Times are the best of repeated runs (more runs at small sizes), in milliseconds,
//! including the copy and sort each call makes.

#[path = "../benches/common/mod.rs"]
mod common;

use kanary_judge::kanary_v1::{Alternative, rank_sum_test};
use std::io::Write;
use std::time::Instant;

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut out = f();
    for _ in 0..runs {
        let t = Instant::now();
        out = f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best * 1e3, out)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: compare N OUT_DIR";
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().ok_or(usage)?.parse()?;
    let out = std::path::PathBuf::from(args.next().ok_or(usage)?);
    let (baseline, canary) = common::pair(n);
    for (name, data) in [("x.txt", &canary), ("y.txt", &baseline)] {
        let mut f = std::io::BufWriter::new(std::fs::File::create(out.join(name))?);
        for v in data {
            writeln!(f, "{v:?}")?;
        }
        f.flush()?;
    }
    let runs = (2_000_000 / n).clamp(3, 200);
    let (mw_ms, mw) = best_of(runs, || {
        kanary_judge::mann_whitney_interval(&canary, &baseline, 0.95)
    });
    let mw = mw?;
    let (v1_ms, v1) = best_of(runs, || {
        rank_sum_test(&canary, &baseline, Alternative::TwoSided, 0.975)
    });
    println!(
        "{n} {mw_ms:.6} {:.17e} {:.17e} {:.17e} {v1_ms:.6} {:.17e} {:.17e} {:.17e} {:.17e}",
        mw.lower, mw.upper, mw.estimate, v1.lower, v1.upper, v1.estimate, v1.p_value
    );
    Ok(())
}
