//! The simulation study of issue 8 ("Prove it"), for single judgements: Kayenta's judge
//! (`NetflixACAJudge-v1.0`) and kanary's own (`kanary-v1`) on the SAME simulated data,
//! printed as a markdown table (results recorded in `benches/SIMULATION_RESULTS.md`).
//!
//! `cargo run --release --example simulate -- [--runs N] [--seed S] [--no-timing]`
//!
//! Fixed parameters (change them here, nowhere else):
//! - every series has `POINTS` = 60 points a side, one a minute (`stepMillis` 60000);
//!   every pair is marked aligned (`attributes.<side>.aligned = "true"`), so kanary-v1
//!   pairs by timestamp; Kayenta's judge ignores alignment and compares unpaired bags;
//! - latency (gauges): value = `LATENCY_MS` × exp(log value), log value = shared load +
//!   own noise; own noise i.i.d. N(0, `OWN_SD` = 0.1) per side unless said; the shared load
//!   (when present) is AR(1) with φ `LOAD_PHI` = 0.9 and stationary sd `LOAD_SD` = 0.2,
//!   the same series on both sides, drawn independently for each metric (independent
//!   metrics are the harder case for a family-wise error rate);
//! - scenario 3's own noise is AR(1) with φ `OWN_PHI` = 0.5 on each side, stationary sd 0.1;
//! - 20-metric canaries: `METRICS` = 20 gauges, all with default settings (direction
//!   `either`, kanary-v1: `alpha` 0.05, Holm, margin 0.10, `spreadShare` 0.2, scale auto);
//! - errors (counters, `kind: counter` for kanary-v1): Poisson counts per minute at
//!   `ERRORS_PER_MIN` = 10 on the baseline; one counter per canary (direction `either`);
//! - 1 % traffic: requests Poisson(`REQUESTS_PER_MIN` = 1000) a minute on the baseline and
//!   1 % of that on the canary; errors Poisson(1 % of that minute's requests) on each side;
//!   kanary-v1 reads `denominator: requests` (the requests metric muted);
//! - bursty errors: on each side independently, each minute is a burst with probability
//!   `BURST_P` = 0.05, with rate × `BURST_MULT` = 10;
//! - spread: the canary's own noise sd × √3 (variance × 3) on one metric, i.i.d. noise;
//! - PRNG: SplitMix64 (Steele, Lea & Flood 2014), uniforms from the top 53 bits,
//!   normals by Box–Muller, Poisson by Knuth's product of uniforms (in chunks of mean ≤ 30,
//!   a sum of independent Poissons). Each scenario draws from its own stream
//!   (seed ⊕ scenario number), so rows do not depend on each other or on their order.
//!
//! The timing line: one call of `kanary_judge::kanary_v1::rank_sum_test` (sorting, the rank
//! sum, the exact Hodges–Lehmann shift and both Moses bounds by selection) on 1M × 1M
//! normal values, wall time of one call in this process.

use std::time::Instant;

#[path = "support/sim.rs"]
mod sim;

use sim::{Rng, config, pair};

use kanary_judge::kanary_v1::{Alternative, rank_sum_test};
use kanary_judge::{CanaryConfig, MetricSetPair, ScoreThresholds};
use serde_json::{Value, json};

const POINTS: usize = 60;
const METRICS: usize = 20;
const LATENCY_MS: f64 = 100.0;
const OWN_SD: f64 = 0.1;
const LOAD_PHI: f64 = 0.9;
const LOAD_SD: f64 = 0.2;
const OWN_PHI: f64 = 0.5;
const ERRORS_PER_MIN: f64 = 10.0;
const REQUESTS_PER_MIN: f64 = 1000.0;
const BURST_P: f64 = 0.05;
const BURST_MULT: f64 = 10.0;
const KAYENTA: &str = "NetflixACAJudge-v1.0";
const KANARY_V1: &str = "kanary-v1";

fn metric_name(i: usize) -> String {
    format!("latency{i:02}")
}

/// How a latency metric is generated.
#[derive(Clone, Copy)]
struct Latency {
    /// Shared AR(1) load on both sides.
    load: bool,
    /// φ of each side's own noise (0: i.i.d.).
    own_phi: f64,
    /// Canary's multiplicative regression on metric 0.
    regress: f64,
    /// Canary's own-noise sd multiplier on metric 0.
    canary_sd_mult: f64,
    /// Number of metrics in the canary.
    metrics: usize,
}

impl Latency {
    const HEALTHY: Latency = Latency {
        load: false,
        own_phi: 0.0,
        regress: 1.0,
        canary_sd_mult: 1.0,
        metrics: METRICS,
    };

    fn draw(self, rng: &mut Rng) -> Vec<MetricSetPair> {
        (0..self.metrics)
            .map(|i| {
                let load = if self.load {
                    rng.ar1(LOAD_PHI, LOAD_SD, POINTS)
                } else {
                    vec![0.0; POINTS]
                };
                let mut own = |sd: f64| {
                    if self.own_phi == 0.0 {
                        rng.iid(sd, POINTS)
                    } else {
                        rng.ar1(self.own_phi, sd, POINTS)
                    }
                };
                let c_noise = own(OWN_SD);
                let sd_mult = if i == 0 { self.canary_sd_mult } else { 1.0 };
                let e_noise = own(OWN_SD * sd_mult);
                let shift = if i == 0 { self.regress.ln() } else { 0.0 };
                let control = (0..POINTS)
                    .map(|t| LATENCY_MS * (load[t] + c_noise[t]).exp())
                    .collect();
                let experiment = (0..POINTS)
                    .map(|t| LATENCY_MS * (load[t] + e_noise[t] + shift).exp())
                    .collect();
                pair(&metric_name(i), control, experiment)
            })
            .collect()
    }

    fn configs(self) -> (CanaryConfig, CanaryConfig) {
        let metrics: Vec<(String, Value)> = (0..self.metrics)
            .map(|i| (metric_name(i), json!({})))
            .collect();
        (config(KAYENTA, &metrics), config(KANARY_V1, &metrics))
    }
}

/// What a run counts as a hit.
#[derive(Clone, Copy)]
enum Measure {
    /// Any metric High or Low.
    AnyFlag,
    /// The named metric High.
    High(&'static str),
    /// The named metric High or Low.
    Flagged(&'static str),
    /// The named metric Inconclusive.
    Inconclusive(&'static str),
    /// Any metric flagged by the spread test (kanary-v1's reason says "spread grew").
    AnySpreadFlag,
}

impl Measure {
    fn hit(self, result: &kanary_scoring::CanaryJudgeResult) -> bool {
        let class = |name: &str| {
            result
                .results
                .iter()
                .find(|r| r.name == name)
                .map(|r| r.classification.as_str())
                .expect("the metric's result")
        };
        match self {
            Measure::AnyFlag => result
                .results
                .iter()
                .any(|r| matches!(r.classification.as_str(), "High" | "Low")),
            Measure::High(name) => class(name) == "High",
            Measure::Flagged(name) => matches!(class(name), "High" | "Low"),
            Measure::Inconclusive(name) => class(name) == "Inconclusive",
            Measure::AnySpreadFlag => result.results.iter().any(|r| {
                matches!(r.classification.as_str(), "High" | "Low")
                    && r.classification_reason
                        .as_deref()
                        .is_some_and(|t| t.contains("spread grew"))
            }),
        }
    }
}

struct Row {
    scenario: String,
    measured: &'static str,
    goal: &'static str,
    runs: usize,
    kayenta: usize,
    kanary: usize,
}

/// Runs `runs` canaries from `draw`, judges each with both configs, counts hits of each
/// measure.
fn study(
    seed: u64,
    runs: usize,
    configs: &(CanaryConfig, CanaryConfig),
    measures: &[Measure],
    mut draw: impl FnMut(&mut Rng) -> Vec<MetricSetPair>,
) -> Vec<(usize, usize)> {
    let mut rng = Rng::new(seed);
    let thresholds = ScoreThresholds {
        pass: 95.0,
        marginal: 75.0,
    };
    let mut counts = vec![(0usize, 0usize); measures.len()];
    for _ in 0..runs {
        let pairs = draw(&mut rng);
        let k = kanary_scoring::judge(&configs.0, &pairs, thresholds, None).expect("Kayenta");
        let v = kanary_scoring::judge(&configs.1, &pairs, thresholds, None).expect("kanary-v1");
        for (m, c) in measures.iter().zip(counts.iter_mut()) {
            c.0 += usize::from(m.hit(&k));
            c.1 += usize::from(m.hit(&v));
        }
    }
    counts
}

fn pct(hits: usize, runs: usize) -> String {
    let p = hits as f64 / runs as f64;
    let half = 1.96 * (p * (1.0 - p) / runs as f64).sqrt();
    format!("{:.1} % (±{:.1})", 100.0 * p, 100.0 * half)
}

fn counter_configs(denominator: bool) -> (CanaryConfig, CanaryConfig) {
    let mut kanary = vec![("errors".to_string(), json!({"kind": "counter"}))];
    let mut kayenta = vec![("errors".to_string(), json!({}))];
    if denominator {
        kanary[0].1 = json!({"kind": "counter", "denominator": "requests"});
        kanary.push((
            "requests".to_string(),
            json!({"kind": "counter", "muted": true}),
        ));
        kayenta.push(("requests".to_string(), json!({"muted": true})));
    }
    (config(KAYENTA, &kayenta), config(KANARY_V1, &kanary))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut runs = 1000usize;
    let mut seed = 0x6b61_6e61_7279_0008u64;
    let mut timing = true;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().ok_or("--runs N")?.parse()?,
            "--seed" => seed = args.next().ok_or("--seed S")?.parse()?,
            "--no-timing" => timing = false,
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    let started = Instant::now();
    let mut rows: Vec<Row> = Vec::new();
    let mut scenario = 0u64;
    let mut next_seed = || {
        scenario += 1;
        seed ^ scenario.wrapping_mul(0xD1B5_4A32_D192_ED03)
    };

    // 1–3: healthy 20-metric canaries.
    let healthy = [
        ("1. healthy, 20 metrics, i.i.d. noise", Latency::HEALTHY),
        (
            "2. healthy, 20 metrics, shared load",
            Latency {
                load: true,
                ..Latency::HEALTHY
            },
        ),
        (
            "3. healthy, 20 metrics, shared load + AR(1) φ 0.5 own noise",
            Latency {
                load: true,
                own_phi: OWN_PHI,
                ..Latency::HEALTHY
            },
        ),
        (
            "3b. healthy, 20 metrics, AR(1) φ 0.5 own noise, no load",
            Latency {
                own_phi: OWN_PHI,
                ..Latency::HEALTHY
            },
        ),
    ];
    for (name, l) in healthy {
        let c = study(
            next_seed(),
            runs,
            &l.configs(),
            &[Measure::AnyFlag, Measure::AnySpreadFlag],
            |r| l.draw(r),
        );
        rows.push(Row {
            scenario: name.to_string(),
            measured: "any metric High/Low",
            goal: "≤ 5 %",
            runs,
            kayenta: c[0].0,
            kanary: c[0].1,
        });
        if l.own_phi != 0.0 {
            rows.push(Row {
                scenario: name.to_string(),
                measured: "(diagnosis) any metric flagged by the spread test",
                goal: "—",
                runs,
                kayenta: c[1].0,
                kanary: c[1].1,
            });
        }
    }

    // 4: latency regressions on one metric of 20.
    for load in [false, true] {
        for regress in [1.05, 1.10, 1.20] {
            let l = Latency {
                load,
                regress,
                ..Latency::HEALTHY
            };
            let c = study(
                next_seed(),
                runs,
                &l.configs(),
                &[Measure::High("latency00")],
                |r| l.draw(r),
            );
            let goal = if load && regress == 1.10 {
                "≥ 90 %"
            } else {
                "—"
            };
            rows.push(Row {
                scenario: format!(
                    "4. +{:.0} % latency on 1 of 20 metrics, {}",
                    (regress - 1.0) * 100.0,
                    if load { "shared load" } else { "i.i.d. noise" }
                ),
                measured: "that metric High",
                goal,
                runs,
                kayenta: c[0].0,
                kanary: c[0].1,
            });
        }
    }

    // 5: 2× errors, 10 a minute on the baseline, one hour.
    let c = study(
        next_seed(),
        runs,
        &counter_configs(false),
        &[Measure::High("errors")],
        |r| {
            let b = (0..POINTS).map(|_| r.poisson(ERRORS_PER_MIN)).collect();
            let e = (0..POINTS)
                .map(|_| r.poisson(2.0 * ERRORS_PER_MIN))
                .collect();
            vec![pair("errors", b, e)]
        },
    );
    rows.push(Row {
        scenario: "5. 2× errors (10/min baseline, 60 min, counter)".to_string(),
        measured: "errors High",
        goal: "≥ 95 %",
        runs,
        kayenta: c[0].0,
        kanary: c[0].1,
    });

    // 6: the canary takes 1 % of the traffic, healthy.
    let c = study(
        next_seed(),
        runs,
        &counter_configs(true),
        &[Measure::Flagged("errors"), Measure::Inconclusive("errors")],
        |r| {
            let rate = ERRORS_PER_MIN / REQUESTS_PER_MIN;
            let req_b: Vec<f64> = (0..POINTS).map(|_| r.poisson(REQUESTS_PER_MIN)).collect();
            let req_e: Vec<f64> = (0..POINTS)
                .map(|_| r.poisson(0.01 * REQUESTS_PER_MIN))
                .collect();
            let err_b = req_b.iter().map(|q| r.poisson(rate * q)).collect();
            let err_e = req_e.iter().map(|q| r.poisson(rate * q)).collect();
            vec![pair("errors", err_b, err_e), pair("requests", req_b, req_e)]
        },
    );
    let name6 = "6. healthy canary with 1 % of the traffic (counter + denominator)";
    rows.push(Row {
        scenario: name6.to_string(),
        measured: "errors High/Low",
        goal: "0",
        runs,
        kayenta: c[0].0,
        kanary: c[0].1,
    });
    rows.push(Row {
        scenario: name6.to_string(),
        measured: "errors Inconclusive",
        goal: "all (not enough data)",
        runs,
        kayenta: c[1].0,
        kanary: c[1].1,
    });

    // 7: the canary's own noise variance × 3 (kayenta#780).
    for metrics in [1, METRICS] {
        let l = Latency {
            canary_sd_mult: 3f64.sqrt(),
            metrics,
            ..Latency::HEALTHY
        };
        let c = study(
            next_seed(),
            runs,
            &l.configs(),
            &[Measure::Flagged("latency00")],
            |r| l.draw(r),
        );
        rows.push(Row {
            scenario: format!(
                "7. canary noise variance × 3 on 1 of {metrics} metric{}, i.i.d. noise",
                if metrics == 1 { "" } else { "s" }
            ),
            measured: "that metric High/Low",
            goal: "≥ 80 %",
            runs,
            kayenta: c[0].0,
            kanary: c[0].1,
        });
    }

    // 8: bursty errors, healthy.
    let c = study(
        next_seed(),
        runs,
        &counter_configs(false),
        &[Measure::Flagged("errors")],
        |r| {
            let side = |r: &mut Rng| -> Vec<f64> {
                (0..POINTS)
                    .map(|_| {
                        let burst = r.uniform() < BURST_P;
                        let mean = ERRORS_PER_MIN * if burst { BURST_MULT } else { 1.0 };
                        r.poisson(mean)
                    })
                    .collect()
            };
            let b = side(r);
            let e = side(r);
            vec![pair("errors", b, e)]
        },
    );
    rows.push(Row {
        scenario: "8. healthy, bursty errors (5 % of minutes ×10, each side)".to_string(),
        measured: "errors High/Low",
        goal: "≤ 5 %",
        runs,
        kayenta: c[0].0,
        kanary: c[0].1,
    });

    println!("| scenario | measured | runs | Kayenta (NetflixACAJudge-v1.0) | kanary-v1 | goal |");
    println!("|---|---|---:|---:|---:|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            r.scenario,
            r.measured,
            r.runs,
            pct(r.kayenta, r.runs),
            pct(r.kanary, r.runs),
            r.goal
        );
    }
    println!();
    println!(
        "seed {seed:#x}; study wall time {:.1} s",
        started.elapsed().as_secs_f64()
    );

    if timing {
        let mut rng = Rng::new(seed);
        let n = 1_000_000;
        let x: Vec<f64> = (0..n).map(|_| rng.normal() + 0.01).collect();
        let y: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let t = Instant::now();
        let mut xs = x.clone();
        let mut ys = y.clone();
        xs.sort_by(f64::total_cmp);
        ys.sort_by(f64::total_cmp);
        std::hint::black_box((&xs, &ys));
        let sort_secs = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let r = std::hint::black_box(rank_sum_test(
            std::hint::black_box(&x),
            std::hint::black_box(&y),
            Alternative::TwoSided,
            0.975,
        ));
        let secs = t.elapsed().as_secs_f64();
        println!(
            "rank_sum_test (exact Hodges–Lehmann + Moses interval) at 1M × 1M: {secs:.3} s \
             (estimate {:.5}, interval [{:.5}, {:.5}], p {:.3})",
            r.estimate, r.lower, r.upper, r.p_value
        );
        println!("of which copying and sorting both samples alone takes {sort_secs:.3} s");
    }
    Ok(())
}
