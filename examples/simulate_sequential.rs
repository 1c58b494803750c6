//! The simulation study of issue 8's "Across intervals": kanary-v1's sequential
//! (anytime-valid) mode against Kayenta's judge run the Kayenta way, on the SAME data,
//! printed as a markdown table (recorded in `benches/SIMULATION_RESULTS.md`, "Sequential").
//!
//! `cargo run --release --example simulate_sequential -- [--runs N] [--seed S]`
//!
//! Fixed parameters (change them here, nowhere else):
//! - an analysis of `POINTS` = 120 points a side (two hours, one a minute), judged at
//!   `LOOKS` = 12 intervals of 10 minutes on growing windows [start, 10·k min] (Kayenta's
//!   default with no lookback), thresholds pass 95 / marginal 75;
//! - Kayenta the Kayenta way: `NetflixACAJudge-v1.0` at every interval, stop (fail) at the
//!   first score ≤ 75, the last score decides;
//! - kanary-v1 sequential: `kanary::analysis::Sequential` at every interval (the runner's
//!   own code), stop with fail when the score with undecided metrics counted as Pass is
//!   ≤ 75, stop with pass when every metric is Pass, else the last score decides;
//! - data as in `examples/simulate.rs`: latency = 100 ms × exp(shared load + own noise),
//!   own noise N(0, 0.1) i.i.d. unless said, shared load AR(1) φ 0.9 sd 0.2 drawn per
//!   metric, own noise AR(1) φ 0.5 sd 0.1 where said; errors Poisson 10 a minute on the
//!   baseline; every pair aligned (`stepMillis` 60000); 20 latency gauges with default
//!   settings (direction `either`, kanary-v1 alpha 0.05, Holm, margin 0.10);
//! - PRNG SplitMix64, Box–Muller normals, Poisson by Knuth's product in chunks of ≤ 30;
//!   each scenario its own stream (seed ⊕ scenario number × a constant).
//!
//! "flagged anywhere": any metric High or Low at any judgement that ran.

use std::time::Instant;

#[path = "support/sim.rs"]
mod sim;

use sim::{Rng, config, pair};

use kanary::analysis::{AnalysisThresholds, Sequential};
use kanary_judge::{CanaryConfig, MetricSetPair, ScoreThresholds};
use serde_json::{Value, json};

const POINTS: usize = 120;
const LOOKS: usize = 12;
const METRICS: usize = 20;
const LATENCY_MS: f64 = 100.0;
const OWN_SD: f64 = 0.1;
const LOAD_PHI: f64 = 0.9;
const LOAD_SD: f64 = 0.2;
const OWN_PHI: f64 = 0.5;
const ERRORS_PER_MIN: f64 = 10.0;
const PASS: f64 = 95.0;
const MARGINAL: f64 = 75.0;

/// One scenario: how its data are drawn and its metrics configured.
#[derive(Clone, Copy)]
enum Data {
    Latency {
        load: bool,
        own_phi: f64,
        regress: f64,
        metrics: usize,
        critical: bool,
    },
    Errors {
        ratio: f64,
    },
}

impl Data {
    fn draw(self, rng: &mut Rng) -> Vec<MetricSetPair> {
        match self {
            Data::Latency {
                load,
                own_phi,
                regress,
                metrics,
                ..
            } => (0..metrics)
                .map(|i| {
                    let shared = if load {
                        rng.ar1(LOAD_PHI, LOAD_SD, POINTS)
                    } else {
                        vec![0.0; POINTS]
                    };
                    let mut own = |sd: f64| {
                        if own_phi == 0.0 {
                            rng.iid(sd, POINTS)
                        } else {
                            rng.ar1(own_phi, sd, POINTS)
                        }
                    };
                    let c = own(OWN_SD);
                    let e = own(OWN_SD);
                    let shift = if i == 0 { regress.ln() } else { 0.0 };
                    pair(
                        &format!("latency{i:02}"),
                        (0..POINTS)
                            .map(|t| LATENCY_MS * (shared[t] + c[t]).exp())
                            .collect(),
                        (0..POINTS)
                            .map(|t| LATENCY_MS * (shared[t] + e[t] + shift).exp())
                            .collect(),
                    )
                })
                .collect(),
            Data::Errors { ratio } => {
                let b = (0..POINTS).map(|_| rng.poisson(ERRORS_PER_MIN)).collect();
                let e = (0..POINTS)
                    .map(|_| rng.poisson(ratio * ERRORS_PER_MIN))
                    .collect();
                vec![pair("errors", b, e)]
            }
        }
    }

    fn configs(self) -> (CanaryConfig, CanaryConfig) {
        match self {
            Data::Latency {
                metrics, critical, ..
            } => {
                let m: Vec<(String, Value)> = (0..metrics)
                    .map(|i| {
                        let c = if i == 0 && critical {
                            json!({"critical": true})
                        } else {
                            json!({})
                        };
                        (format!("latency{i:02}"), c)
                    })
                    .collect();
                (config("NetflixACAJudge-v1.0", &m), config("kanary-v1", &m))
            }
            Data::Errors { .. } => (
                config("NetflixACAJudge-v1.0", &[("errors".into(), json!({}))]),
                config(
                    "kanary-v1",
                    &[("errors".into(), json!({"kind": "counter"}))],
                ),
            ),
        }
    }
}

/// One analysis's outcome.
#[derive(Default, Clone, Copy)]
struct Outcome {
    /// Any metric High/Low at any judgement.
    flagged: bool,
    /// Metric 0 High at any judgement.
    first_high: bool,
    /// The final verdict failed.
    failed: bool,
    /// Judgements run.
    looks: usize,
    /// Stopped before the last judgement (pass or fail).
    early: bool,
    /// Stopped early with a pass.
    early_pass: bool,
}

fn window(pairs: &[MetricSetPair], points: usize) -> Vec<MetricSetPair> {
    pairs
        .iter()
        .map(|p| {
            let mut p = p.clone();
            p.values.control.truncate(points);
            p.values.experiment.truncate(points);
            p
        })
        .collect()
}

fn flags(r: &kanary_scoring::CanaryJudgeResult, first: &str) -> (bool, bool) {
    let any = r
        .results
        .iter()
        .any(|m| matches!(m.classification.as_str(), "High" | "Low"));
    let high = r
        .results
        .iter()
        .any(|m| m.name == first && m.classification.as_str() == "High");
    (any, high)
}

fn run_kayenta(config: &CanaryConfig, pairs: &[MetricSetPair], first: &str) -> Outcome {
    let t = ScoreThresholds {
        pass: PASS,
        marginal: MARGINAL,
    };
    let mut o = Outcome::default();
    let mut last = 0.0;
    for k in 1..=LOOKS {
        let w = window(pairs, POINTS * k / LOOKS);
        let r = kanary_scoring::judge(config, &w, t, None).expect("Kayenta");
        let (any, high) = flags(&r, first);
        o.flagged |= any;
        o.first_high |= high;
        o.looks = k;
        last = r.score.score;
        if last <= MARGINAL {
            o.early = k < LOOKS;
            break;
        }
    }
    o.failed = last < PASS;
    o
}

fn run_sequential(config: &CanaryConfig, pairs: &[MetricSetPair], first: &str) -> Outcome {
    let t = ScoreThresholds {
        pass: PASS,
        marginal: MARGINAL,
    };
    let at = AnalysisThresholds {
        pass: Some(PASS),
        marginal: Some(MARGINAL),
    };
    let mut seq = Sequential::default();
    let mut o = Outcome::default();
    let mut last = 0.0;
    for k in 1..=LOOKS {
        let w = window(pairs, POINTS * k / LOOKS);
        let r = seq.judge(config, &w, t, k, LOOKS).expect("kanary-v1");
        let (any, high) = flags(&r, first);
        o.flagged |= any;
        o.first_high |= high;
        o.looks = k;
        last = r.score.score;
        if Sequential::stops_with_fail(config, &r, &at) {
            o.early = k < LOOKS;
            break;
        }
        if k < LOOKS && Sequential::passes_early(&r) {
            o.early = true;
            o.early_pass = true;
            break;
        }
    }
    o.failed = last < PASS;
    o
}

struct Tally {
    runs: usize,
    k: Vec<Outcome>,
    s: Vec<Outcome>,
}

impl Tally {
    fn share(&self, kanary: bool, f: impl Fn(&Outcome) -> bool) -> String {
        let v = if kanary { &self.s } else { &self.k };
        let hits = v.iter().filter(|o| f(o)).count();
        let p = hits as f64 / self.runs as f64;
        let half = 1.96 * (p * (1.0 - p) / self.runs as f64).sqrt();
        format!("{:.1} % (±{:.1})", 100.0 * p, 100.0 * half)
    }
    fn mean_looks(&self, kanary: bool) -> String {
        let v = if kanary { &self.s } else { &self.k };
        format!(
            "{:.2}",
            v.iter().map(|o| o.looks as f64).sum::<f64>() / self.runs as f64
        )
    }
}

fn study(seed: u64, runs: usize, data: Data) -> Tally {
    let mut rng = Rng::new(seed);
    let (kc, sc) = data.configs();
    let first = match data {
        Data::Latency { .. } => "latency00",
        Data::Errors { .. } => "errors",
    };
    let mut t = Tally {
        runs,
        k: Vec::with_capacity(runs),
        s: Vec::with_capacity(runs),
    };
    for _ in 0..runs {
        let pairs = data.draw(&mut rng);
        t.k.push(run_kayenta(&kc, &pairs, first));
        t.s.push(run_sequential(&sc, &pairs, first));
    }
    t
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut runs = 500usize;
    let mut seed = 0x6b61_6e61_7279_5e71u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().ok_or("--runs N")?.parse()?,
            "--seed" => seed = args.next().ok_or("--seed S")?.parse()?,
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    let started = Instant::now();
    let mut scenario = 0u64;
    let mut next_seed = || {
        scenario += 1;
        seed ^ scenario.wrapping_mul(0xD1B5_4A32_D192_ED03)
    };
    let healthy = |load: bool, own_phi: f64| Data::Latency {
        load,
        own_phi,
        regress: 1.0,
        metrics: METRICS,
        critical: false,
    };
    println!(
        "| scenario | measured | runs | Kayenta, judged every interval | kanary-v1 sequential | goal |"
    );
    println!("|---|---|---:|---:|---:|---|");
    let row =
        |scenario: &str, measured: &str, t: &Tally, f: &dyn Fn(&Outcome) -> bool, goal: &str| {
            println!(
                "| {scenario} | {measured} | {} | {} | {} | {goal} |",
                t.runs,
                t.share(false, f),
                t.share(true, f)
            );
        };
    let looks = |scenario: &str, t: &Tally| {
        println!(
            "| {scenario} | mean judgements run (of {LOOKS}) | {} | {} | {} | — |",
            t.runs,
            t.mean_looks(false),
            t.mean_looks(true)
        );
    };

    for (name, data) in [
        ("1. healthy, 20 metrics, i.i.d. noise", healthy(false, 0.0)),
        ("2. healthy, 20 metrics, shared load", healthy(true, 0.0)),
        (
            "3. healthy, 20 metrics, shared load + AR(1) φ 0.5 own noise",
            healthy(true, OWN_PHI),
        ),
    ] {
        let t = study(next_seed(), runs, data);
        row(
            name,
            "any metric High/Low at any judgement",
            &t,
            &|o| o.flagged,
            "≤ 5 %",
        );
        row(name, "final verdict fail", &t, &|o| o.failed, "—");
        row(
            name,
            "stopped early with a pass",
            &t,
            &|o| o.early_pass,
            "—",
        );
        looks(name, &t);
    }
    for regress in [1.10, 1.20] {
        let data = Data::Latency {
            load: true,
            own_phi: 0.0,
            regress,
            metrics: METRICS,
            critical: false,
        };
        let name = format!(
            "4. +{:.0} % latency on 1 of 20 metrics, shared load",
            (regress - 1.0) * 100.0
        );
        let t = study(next_seed(), runs, data);
        let goal = if regress == 1.10 { "≥ 90 %" } else { "—" };
        row(
            &name,
            "that metric High at some judgement",
            &t,
            &|o| o.first_high,
            goal,
        );
        looks(&name, &t);
    }
    let data = Data::Latency {
        load: true,
        own_phi: 0.0,
        regress: 1.2,
        metrics: METRICS,
        critical: true,
    };
    let name = "5. +20 % latency on a critical metric of 20, shared load";
    let t = study(next_seed(), runs, data);
    row(name, "final verdict fail", &t, &|o| o.failed, "—");
    row(
        name,
        "stopped early (fail)",
        &t,
        &|o| o.early && o.failed,
        "clear case",
    );
    looks(name, &t);
    let name = "6. 2× errors (10/min baseline, counter, 1 metric)";
    let t = study(next_seed(), runs, Data::Errors { ratio: 2.0 });
    row(
        name,
        "errors High at some judgement",
        &t,
        &|o| o.first_high,
        "≥ 95 %",
    );
    row(
        name,
        "stopped early (fail)",
        &t,
        &|o| o.early && o.failed,
        "clear case",
    );
    looks(name, &t);
    let name = "7. healthy errors (counter, 1 metric)";
    let t = study(next_seed(), runs, Data::Errors { ratio: 1.0 });
    row(
        name,
        "errors High/Low at any judgement",
        &t,
        &|o| o.flagged,
        "≤ 5 %",
    );
    row(
        name,
        "stopped early with a pass",
        &t,
        &|o| o.early_pass,
        "clear case",
    );
    looks(name, &t);
    let name = "8. healthy, 5 metrics, shared load";
    let t = study(
        next_seed(),
        runs,
        Data::Latency {
            load: true,
            own_phi: 0.0,
            regress: 1.0,
            metrics: 5,
            critical: false,
        },
    );
    row(
        name,
        "any metric High/Low at any judgement",
        &t,
        &|o| o.flagged,
        "≤ 5 %",
    );
    row(
        name,
        "stopped early with a pass",
        &t,
        &|o| o.early_pass,
        "clear case",
    );
    looks(name, &t);
    println!();
    println!(
        "seed {seed:#x}; {POINTS} points a side, {LOOKS} judgements; study wall time {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
