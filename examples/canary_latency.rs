//! `POST /canary/{configId}` → `complete`, timed from the client, for `benches/serve.sh`.
//!
//! `cargo run --release --example canary_latency -- --url http://127.0.0.1:PORT
//! [--runs 50] [--metrics 20] [--poll-ms 5] [--canary web-good]` stores a config of
//! `--metrics` Prometheus gauges `bench_metric_00..` (recorded in `testdata/e2e/metrics.om`,
//! 2026-01-01T10:00:00Z..11:00:00Z at 60 s) with `POST /canaryConfig`, then, one run after
//! another, posts a canary run over that hour (Argo Rollouts' body) and polls
//! `GET /canary/{id}` every `--poll-ms` until `complete`. It prints one line per run
//! (`run=.. total_ms=.. post_ms=.. queued_ms=.. running_ms=.. seen_after_ms=.. polls=..`)
//! and a summary (`runs=.. p50_ms=.. p95_ms=.. ...`).
//!
//! The breakdown comes from the execution's own times: `queued` = `startTimeMillis -
//! buildTimeMillis` (from the POST storing it to the worker claiming it: the executor's
//! wake-up), `running` = `endTimeMillis - startTimeMillis` (fetch, mix, judge, complete),
//! `seen_after` = what is left of the client's total (the POST's round trip and the
//! polling granularity).

use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{Value, json};

#[derive(Parser, Debug)]
#[command(about = "POST /canary -> complete latency")]
struct Args {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8090")]
    url: String,
    /// Runs, one after another.
    #[arg(long, default_value_t = 50)]
    runs: usize,
    /// Unmeasured runs first (connections, Prometheus caches).
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Metrics of the config (bench_metric_00 ..).
    #[arg(long, default_value_t = 20)]
    metrics: usize,
    /// Milliseconds between two status polls.
    #[arg(long, default_value_t = 5)]
    poll_ms: u64,
    /// The experiment scope (web-good or web-bad).
    #[arg(long, default_value = "web-good")]
    canary: String,
    /// Polls after which a run is declared stuck.
    #[arg(long, default_value_t = 6000)]
    max_polls: u32,
}

fn config(metrics: usize) -> Value {
    let metrics: Vec<Value> = (0..metrics)
        .map(|m| {
            let name = format!("bench_metric_{m:02}");
            json!({
                "name": name,
                "query": {"type": "prometheus", "metricName": name,
                          "labelBindings": ["app=\"web\""],
                          "customInlineTemplate": "pod=~\"${scope}-[0-9]+\""},
                "groups": ["bench"],
                "analysisConfigurations": {"canary": {"direction": "increase"}},
                "scopeName": "default"
            })
        })
        .collect();
    json!({
        "name": "serve-bench",
        "applications": ["web"],
        "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
        "metrics": metrics,
        "classifier": {"groupWeights": {"bench": 100},
                       "scoreThresholds": {"pass": 95, "marginal": 75}}
    })
}

fn request(canary: &str) -> Value {
    let scope = |s: &str| {
        json!({"scope": s, "location": "", "step": 60,
               "start": "2026-01-01T10:00:00Z", "end": "2026-01-01T11:00:00Z"})
    };
    json!({
        "scopes": {"default": {"controlScope": scope("web-baseline"), "experimentScope": scope(canary)}},
        "thresholds": {"pass": 95, "marginal": 75}
    })
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<&Value>,
) -> Result<Value, Box<dyn std::error::Error>> {
    let mut req = client.request(method, url);
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(serde_json::to_vec(b)?);
    }
    let response = req.send().await?;
    let status = response.status();
    let bytes = response.bytes().await?;
    if !status.is_success() {
        return Err(format!("{url}: {status}: {}", String::from_utf8_lossy(&bytes)).into());
    }
    Ok(serde_json::from_slice(&bytes)?)
}

struct Run {
    total: Duration,
    post: Duration,
    queued_ms: i64,
    running_ms: i64,
    polls: u32,
}

async fn one_run(
    client: &reqwest::Client,
    args: &Args,
    config_id: &str,
) -> Result<Run, Box<dyn std::error::Error>> {
    let base = args.url.trim_end_matches('/');
    let body = request(&args.canary);
    let t0 = Instant::now();
    let started = call(
        client,
        reqwest::Method::POST,
        &format!("{base}/canary/{config_id}?application=web"),
        Some(&body),
    )
    .await?;
    let post = t0.elapsed();
    let id = started["canaryExecutionId"]
        .as_str()
        .ok_or("no canaryExecutionId")?
        .to_string();
    let url = format!("{base}/canary/{id}");
    let mut polls = 0;
    loop {
        let status = call(client, reqwest::Method::GET, &url, None).await?;
        polls += 1;
        if status["complete"] == true {
            let total = t0.elapsed();
            if status["status"] != "succeeded" {
                return Err(format!("run {id} ended {}: {status}", status["status"]).into());
            }
            let ms = |k: &str| status[k].as_i64().unwrap_or(0);
            return Ok(Run {
                total,
                post,
                queued_ms: ms("startTimeMillis") - ms("buildTimeMillis"),
                running_ms: ms("endTimeMillis") - ms("startTimeMillis"),
                polls,
            });
        }
        if polls >= args.max_polls {
            return Err(format!("run {id} not complete after {polls} polls").into());
        }
        tokio::time::sleep(Duration::from_millis(args.poll_ms)).await;
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        // A hung server fails the run instead of hanging it.
        .timeout(Duration::from_secs(10))
        .build()?;
    let base = args.url.trim_end_matches('/');
    let stored = call(
        &client,
        reqwest::Method::POST,
        &format!("{base}/canaryConfig"),
        Some(&config(args.metrics)),
    )
    .await?;
    let config_id = stored["canaryConfigId"]
        .as_str()
        .ok_or("no canaryConfigId")?
        .to_string();
    for _ in 0..args.warmup {
        one_run(&client, &args, &config_id).await?;
    }
    let mut totals = Vec::new();
    let mut queued = Vec::new();
    let mut running = Vec::new();
    for i in 0..args.runs {
        let run = one_run(&client, &args, &config_id).await?;
        let total_ms = run.total.as_secs_f64() * 1000.0;
        println!(
            "run={i} total_ms={total_ms:.1} post_ms={:.1} queued_ms={} running_ms={} seen_after_ms={:.1} polls={}",
            run.post.as_secs_f64() * 1000.0,
            run.queued_ms,
            run.running_ms,
            total_ms - (run.queued_ms + run.running_ms) as f64,
            run.polls,
        );
        totals.push(total_ms);
        queued.push(run.queued_ms as f64);
        running.push(run.running_ms as f64);
    }
    for v in [&mut totals, &mut queued, &mut running] {
        v.sort_by(f64::total_cmp);
    }
    println!(
        "runs={} metrics={} poll_ms={} p50_ms={:.1} p95_ms={:.1} max_ms={:.1} queued_p50_ms={:.0} queued_p95_ms={:.0} running_p50_ms={:.0} running_p95_ms={:.0}",
        totals.len(),
        args.metrics,
        args.poll_ms,
        percentile(&totals, 50.0),
        percentile(&totals, 95.0),
        totals.last().copied().unwrap_or(f64::NAN),
        percentile(&queued, 50.0),
        percentile(&queued, 95.0),
        percentile(&running, 50.0),
        percentile(&running, 95.0),
    );
    Ok(())
}
