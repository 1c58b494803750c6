//! Times kanary's Mann-Whitney interval + estimate and writes the same data for R.
//!
//! `cargo run --release --example mw_compare -- N OUT_DIR` prints kanary's best time over
//! repeated runs (ms) and writes `OUT_DIR/x.txt` (canary) and `OUT_DIR/y.txt` (baseline)
//! for `benches/compare_r.sh`.

#[path = "../benches/common/mod.rs"]
mod common;

use std::io::Write;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().ok_or("usage: mw_compare N OUT_DIR")?.parse()?;
    let out = std::path::PathBuf::from(args.next().ok_or("usage: mw_compare N OUT_DIR")?);
    let (baseline, canary) = common::pair(n);
    for (name, data) in [("x.txt", &canary), ("y.txt", &baseline)] {
        let mut f = std::io::BufWriter::new(std::fs::File::create(out.join(name))?);
        for v in data {
            writeln!(f, "{v:?}")?;
        }
    }
    let runs = (2_000_000 / n).clamp(3, 200);
    let mut best = f64::INFINITY;
    let mut result = None;
    for _ in 0..runs {
        let t = Instant::now();
        result = Some(kanary_judge::mann_whitney_interval(
            &canary, &baseline, 0.98,
        )?);
        best = best.min(t.elapsed().as_secs_f64());
    }
    let r = result.ok_or("no run")?;
    println!(
        "{n} {:.6} {:.17e} {:.17e} {:.17e}",
        best * 1e3,
        r.lower,
        r.upper,
        r.estimate
    );
    Ok(())
}
