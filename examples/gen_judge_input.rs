//! Writes a `kanary judge` input directory of generated data, deterministically (fixed
//! seeds), for the whole-program benchmarks of `benches/judge_cli.sh`.
//!
//! `cargo run --release --example gen_judge_input -- DIR METRICS POINTS` writes
//! `DIR/config.json` (METRICS metrics in four groups, Kayenta's judge) and `DIR/pairs.json`
//! (one pair per metric, POINTS values a side, rounded to 6 decimals as the recorded
//! examples in `testdata/examples` are). Metric `i` has a baseline of N(10 + i, 1 + i/100);
//! every fifth metric's canary is 3 % higher, the rest are the same distribution, so the
//! judge sees both passes and failures. `kanary judge DIR --judge kanary-v1` judges the same
//! files with kanary-v1.

// Only `normal` is used here.
#[allow(dead_code)]
#[path = "../benches/common/mod.rs"]
mod common;

use serde_json::json;
use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: gen_judge_input DIR METRICS POINTS";
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().ok_or(usage)?);
    let metrics: usize = args.next().ok_or(usage)?.parse()?;
    let points: usize = args.next().ok_or(usage)?.parse()?;
    std::fs::create_dir_all(&dir)?;
    let groups = ["latency", "errors", "traffic", "saturation"];
    let metric_configs: Vec<_> = (0..metrics)
        .map(|i| {
            json!({
                "name": format!("metric_{i:04}"),
                "query": {
                    "type": "prometheus",
                    "metricName": format!("metric_{i:04}"),
                    "customInlineTemplate": format!("PromQL:avg(metric_{i:04}{{pod=~\"${{scope}}-.*\"}})"),
                    "serviceType": "prometheus"
                },
                "groups": [groups[i % groups.len()]],
                "analysisConfigurations": {"canary": {"direction": "either", "nanStrategy": "remove"}},
                "scopeName": "default"
            })
        })
        .collect();
    let config = json!({
        "name": "generated",
        "configVersion": "1.0",
        "applications": ["bench"],
        "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
        "metrics": metric_configs,
        "classifier": {
            "groupWeights": {"latency": 40, "errors": 30, "traffic": 10, "saturation": 20},
            "scoreThresholds": {"pass": 95, "marginal": 75}
        }
    });
    std::fs::write(dir.join("config.json"), serde_json::to_vec_pretty(&config)?)?;

    let round6 =
        |v: Vec<f64>| -> Vec<f64> { v.into_iter().map(|x| (x * 1e6).round() / 1e6).collect() };
    let scope = json!({"startTimeIso": "2024-05-14T09:00:00Z", "startTimeMillis": 1715677200000u64, "stepMillis": 60000});
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("pairs.json"))?);
    out.write_all(b"[")?;
    for i in 0..metrics {
        let mean = 10.0 + i as f64;
        let sd = 1.0 + i as f64 / 100.0;
        let shift = if i % 5 == 0 { 1.03 } else { 1.0 };
        let control = round6(common::normal(points, mean, sd, 1000 + 2 * i as u64));
        let experiment = round6(common::normal(
            points,
            mean * shift,
            sd,
            1001 + 2 * i as u64,
        ));
        let pair = json!({
            "name": format!("metric_{i:04}"),
            "id": format!("00000000-0000-0000-0000-{i:012}"),
            "tags": {},
            "values": {"control": control, "experiment": experiment},
            "scopes": {"control": scope, "experiment": scope},
            "attributes": {}
        });
        if i > 0 {
            out.write_all(b",\n")?;
        }
        serde_json::to_writer(&mut out, &pair)?;
    }
    out.write_all(b"]\n")?;
    out.flush()?;
    Ok(())
}
