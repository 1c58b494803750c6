//! A bounded, closed-loop load generator for `POST /judge` (Kayenta's `RemoteJudge-v1.0`
//! contract), for `benches/serve.sh`.
//!
//! `cargo run --release --example load_judge -- --url http://127.0.0.1:PORT
//! [--connections 16] [--duration 10] [--warmup 2] [--metrics 20] [--points 60]`
//! keeps exactly `--connections` requests in flight (each connection sends its next
//! request when the previous answer is read: the load is bounded, it never queues up
//! unboundedly the way an open-loop generator does against a slow server), for
//! `--duration` seconds after `--warmup` seconds, and prints one line:
//! `requests=.. seconds=.. rps=.. p50_ms=.. p99_ms=.. max_ms=.. errors=.. body_bytes=..`.
//!
//! `--print-body` prints the request body instead (for `wrk`'s Lua script). The body is a
//! `RemoteJudgeRequest` with `--metrics` metrics and `--points` values a side, as Kayenta's
//! mixer writes them after a Prometheus fetch (values with 6 decimals, as in
//! `testdata/e2e/metrics.om`; scopes; the query as an attribute: about 40 KB for 20 × 60); it is deterministic (a fixed-seed generator), so runs compare.

use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{Value, json};

#[derive(Parser, Debug)]
#[command(about = "Bounded closed-loop load on POST /judge")]
struct Args {
    /// The server's base URL, e.g. http://127.0.0.1:8090.
    #[arg(long, default_value = "http://127.0.0.1:8090")]
    url: String,
    /// Requests in flight at once (one keep-alive connection each).
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of load before measuring (connections opened, caches warm).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Metrics in the pair list (and the config).
    #[arg(long, default_value_t = 20)]
    metrics: usize,
    /// Values per side of each pair.
    #[arg(long, default_value_t = 60)]
    points: usize,
    /// Print the request body and exit.
    #[arg(long)]
    print_body: bool,
}

/// xorshift64*: a deterministic stream without a dependency.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The `RemoteJudgeRequest` body.
fn body(metrics: usize, points: usize) -> Value {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let start_ms: i64 = 1_767_261_600_000; // 2026-01-01T10:00:00Z
    let names: Vec<String> = (0..metrics)
        .map(|m| format!("bench_metric_{m:02}"))
        .collect();
    let config_metrics: Vec<Value> = names
        .iter()
        .map(|name| {
            json!({
                "name": name,
                "query": {"type": "prometheus", "metricName": name,
                          "customInlineTemplate": "pod=~\"${scope}-[0-9]+\""},
                "groups": ["bench"],
                "analysisConfigurations": {"canary": {"direction": "either"}},
                "scopeName": "default"
            })
        })
        .collect();
    let scope = |side: &str| {
        json!({"startTimeIso": "2026-01-01T10:00:00Z", "startTimeMillis": start_ms,
               "stepMillis": 60_000, "scope": side})
    };
    let pairs: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(m, name)| {
            let base = 10.0 + m as f64;
            let mut series = |shift: f64| -> Vec<f64> {
                (0..points)
                    .map(|_| ((base + shift + rng.next_f64() * 2.0) * 1e6).round() / 1e6)
                    .collect()
            };
            let control = series(0.0);
            let experiment = series(if m == 3 { 1.5 } else { 0.0 });
            json!({
                "name": name,
                "id": format!("00000000-0000-4000-8000-{m:012}"),
                "tags": {},
                "values": {"control": control, "experiment": experiment},
                "scopes": {"control": scope("web-baseline"), "experiment": scope("web-good")},
                "attributes": {
                    "control": {"query": format!("avg({name}{{pod=~\"web-baseline-[0-9]+\"}})")},
                    "experiment": {"query": format!("avg({name}{{pod=~\"web-good-[0-9]+\"}})")}
                }
            })
        })
        .collect();
    json!({
        "canaryConfig": {
            "name": "bench",
            "applications": ["bench"],
            "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
            "metrics": config_metrics,
            "classifier": {"groupWeights": {"bench": 100}}
        },
        "scoreThresholds": {"pass": 95.0, "marginal": 75.0},
        "metricSetPairList": pairs
    })
}

/// What one connection saw.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
}

async fn connection(
    client: reqwest::Client,
    url: String,
    body: &'static [u8],
    measure_from: Instant,
    stop_at: Instant,
) -> Tally {
    let mut tally = Tally::default();
    while Instant::now() < stop_at {
        let sent = Instant::now();
        let outcome = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        let result = match outcome {
            Ok(response) => {
                let status = response.status();
                match response.bytes().await {
                    Ok(bytes) if status.is_success() => {
                        if bytes.starts_with(b"{") {
                            Ok(())
                        } else {
                            Err(format!("{status}: not a JSON object"))
                        }
                    }
                    Ok(bytes) => Err(format!("{status}: {}", String::from_utf8_lossy(&bytes))),
                    Err(e) => Err(e.to_string()),
                }
            }
            Err(e) => Err(e.to_string()),
        };
        let done = Instant::now();
        if sent < measure_from || done > stop_at {
            continue;
        }
        match result {
            Ok(()) => tally.latencies.push(done - sent),
            Err(e) => {
                tally.errors += 1;
                tally.first_error.get_or_insert(e);
            }
        }
    }
    tally
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let body = serde_json::to_vec(&body(args.metrics, args.points))?;
    if args.print_body {
        println!("{}", String::from_utf8(body)?);
        return Ok(());
    }
    let url = format!("{}/judge", args.url.trim_end_matches('/'));
    // Leaked once so that every request sends the same bytes without a copy.
    let body: &'static [u8] = Box::leak(body.into_boxed_slice());
    // One client per connection: each keeps its own single keep-alive connection, so
    // exactly `connections` sockets carry the load.
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(args.warmup);
    let stop_at = measure_from + Duration::from_secs_f64(args.duration);
    let mut tasks = Vec::new();
    for _ in 0..args.connections.max(1) {
        let client = reqwest::Client::builder()
            // A hung server fails the run instead of hanging it.
            .timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(1)
            .build()?;
        tasks.push(tokio::spawn(connection(
            client,
            url.clone(),
            body,
            measure_from,
            stop_at,
        )));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for task in tasks {
        let tally = task.await?;
        latencies.extend(tally.latencies);
        errors += tally.errors;
        if first_error.is_none() {
            first_error = tally.first_error;
        }
    }
    latencies.sort_unstable();
    let seconds = args.duration;
    println!(
        "requests={} seconds={seconds} rps={:.0} p50_ms={:.2} p99_ms={:.2} max_ms={:.2} errors={errors} body_bytes={} connections={}",
        latencies.len(),
        latencies.len() as f64 / seconds,
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies
            .last()
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0),
        body.len(),
        args.connections,
    );
    if let Some(e) = first_error {
        eprintln!("first error: {e}");
    }
    Ok(())
}
