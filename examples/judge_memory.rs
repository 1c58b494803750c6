//! Peak memory of the judge library on one metric of N points a side held in memory, for
//! `benches/judge_cli.sh memory` (run under `/usr/bin/time -v`, read "Maximum resident set
//! size").
//!
//! `cargo run --release --example judge_memory -- N MODE`, MODE one of
//! - `input`: builds the pair (2·N f64 in two `Vec`s, 16 MB at N = 10^6) and stops: the
//!   process and its input, to subtract;
//! - `kayenta`: builds the pair and judges it with Kayenta's judge
//!   (`kanary_judge::judge_pairs`, `NetflixACAJudge-v1.0`);
//! - `kanary-v1`: the same with kanary-v1 (`judge_pairs(.., Some("kanary-v1"))`).
//!
//! Data: baseline N(10, 2), canary N(10.3, 2) (`benches/common`). Prints the
//! classification, so that the judge's work is not optimised away.

#[path = "../benches/common/mod.rs"]
mod common;

use kanary_judge::{CanaryConfig, MetricSetPair, PairValues};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: judge_memory N input|kayenta|kanary-v1";
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().ok_or(usage)?.parse()?;
    let mode = args.next().ok_or(usage)?;
    let (control, experiment) = common::pair(n);
    let pair = MetricSetPair {
        name: "m".into(),
        values: PairValues {
            control,
            experiment,
        },
        ..MetricSetPair::default()
    };
    let config: CanaryConfig = serde_json::from_value(serde_json::json!({
        "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
        "metrics": [{
            "name": "m",
            "query": {"type": "prometheus", "metricName": "m"},
            "groups": ["g"],
            "analysisConfigurations": {"canary": {"direction": "either"}},
            "scopeName": "default"
        }],
        "classifier": {"groupWeights": {"g": 100}}
    }))?;
    let judge = match mode.as_str() {
        "input" => {
            println!(
                "input only: {} + {} values",
                pair.values.control.len(),
                pair.values.experiment.len()
            );
            return Ok(());
        }
        "kayenta" => None,
        "kanary-v1" => Some("kanary-v1"),
        _ => return Err(usage.into()),
    };
    let (_, results) = kanary_judge::judge_pairs(&config, std::slice::from_ref(&pair), judge)?;
    for r in &results {
        println!("{}: {:?}", r.name, r.classification);
    }
    Ok(())
}
