//! Where the time of one `POST /judge` goes, in-process and on one thread (no HTTP):
//! parsing the ~40 KB body as the server does (`serde_path_to_error` over `serde_json`),
//! judging (`kanary_scoring::judge`), and writing the response (`serde_json::to_vec`).
//!
//! `cargo run --release --example judge_breakdown -- BODY.json [ITERATIONS]`, with the body
//! from `load_judge --print-body`. Prints the mean microseconds of each step, and the
//! judge's split between the per-metric judging (`kanary_judge::judge_pairs`) and the
//! scoring. One core's requests/s is 1e6 / the total.

use std::time::Instant;

use kanary_judge::{CanaryConfig, MetricSetPair, ScoreThresholds};
use serde::Deserialize;

/// The server's `RemoteJudgeRequest` (src/server/judges.rs), for the same parse.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct RemoteJudgeRequest {
    canary_config: CanaryConfig,
    score_thresholds: ScoreThresholds,
    metric_set_pair_list: Vec<MetricSetPair>,
}

fn parse(bytes: &[u8]) -> RemoteJudgeRequest {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).unwrap_or_else(|e| panic!("parse: {e}"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: judge_breakdown BODY.json [ITERATIONS]")?;
    let n: u32 = args.next().map_or(Ok(2000), |s| s.parse())?;
    let bytes = std::fs::read(path)?;

    let time = |f: &mut dyn FnMut()| {
        for _ in 0..n.min(100) {
            f();
        }
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
    };

    let parse_us = time(&mut || {
        std::hint::black_box(parse(&bytes));
    });
    let plain_us = time(&mut || {
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        let r: RemoteJudgeRequest =
            RemoteJudgeRequest::deserialize(de).unwrap_or_else(|e| panic!("{e}"));
        std::hint::black_box(r);
    });
    let request = parse(&bytes);
    let judge = || {
        kanary_scoring::judge(
            &request.canary_config,
            &request.metric_set_pair_list,
            request.score_thresholds,
            None,
        )
        .unwrap_or_else(|e| panic!("judge: {e}"))
    };
    let judge_us = time(&mut || {
        std::hint::black_box(judge());
    });
    let pairs_us = time(&mut || {
        std::hint::black_box(
            kanary_judge::judge_pairs(&request.canary_config, &request.metric_set_pair_list, None)
                .unwrap_or_else(|e| panic!("judge_pairs: {e}")),
        );
    });
    let result = judge();
    let write_us = time(&mut || {
        std::hint::black_box(serde_json::to_vec(&result).unwrap_or_default());
    });
    let response = serde_json::to_vec(&result)?;
    let total = parse_us + judge_us + write_us;
    println!(
        "body_bytes={} response_bytes={} parse_us={parse_us:.0} (without serde_path_to_error {plain_us:.0}) judge_us={judge_us:.0} (judge_pairs {pairs_us:.0}) write_us={write_us:.0} total_us={total:.0} one_core_rps={:.0}",
        bytes.len(),
        response.len(),
        1e6 / total
    );
    Ok(())
}
