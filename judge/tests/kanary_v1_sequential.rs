//! kanary-v1's sequential (anytime-valid) mode, issue 8 "Across intervals": the error
//! rate under the null with a look at every interval, power on a clear regression, the
//! early "no harm" Pass, the scale fixed at the first look, determinism.
//!
//! The simulations use a fixed seed (SplitMix64, Box–Muller), so they are deterministic;
//! their tolerances are stated where they assert.

use kanary_judge::kanary_v1::{
    Look, SequentialState, judge_kanary_v1_sequential, paired_sequential,
};
use kanary_judge::{CanaryAnalysisResult, CanaryConfig, MetricSetPair};
use serde_json::{Value, json};

struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let r = (-2.0 * self.uniform().ln()).sqrt();
        r * (2.0 * std::f64::consts::PI * self.uniform()).cos()
    }
    fn poisson(&mut self, mean: f64) -> f64 {
        let limit = (-mean).exp();
        let (mut k, mut p) = (0.0, self.uniform());
        while p > limit {
            k += 1.0;
            p *= self.uniform();
        }
        k
    }
}

fn config(metrics: &[(String, Value)]) -> CanaryConfig {
    let metrics: Vec<Value> = metrics
        .iter()
        .map(|(n, c)| json!({"name": n, "groups": ["g"], "analysisConfigurations": {"canary": c}}))
        .collect();
    serde_json::from_value(json!({
        "judge": {"name": "kanary-v1", "judgeConfigurations": {}},
        "metrics": metrics,
        "classifier": {"groupWeights": {"g": 100}},
    }))
    .expect("config")
}

fn pair(name: &str, control: &[f64], experiment: &[f64]) -> MetricSetPair {
    serde_json::from_value(json!({"name": name,
        "values": {"control": control, "experiment": experiment},
        "attributes": {"control": {"aligned": "true"}, "experiment": {"aligned": "true"}},
        "scopes": {"control": {"stepMillis": 60000}, "experiment": {"stepMillis": 60000}}}))
    .expect("pair")
}

fn prefix(pairs: &[MetricSetPair], n: usize) -> Vec<MetricSetPair> {
    pairs
        .iter()
        .map(|p| pair(&p.name, &p.values.control[..n], &p.values.experiment[..n]))
        .collect()
}

/// `metrics` latency gauges, `points` a minute a side, log noise N(0, 0.1) per side,
/// metric 0 multiplied by `regress` on the canary.
fn latency(rng: &mut Rng, metrics: usize, points: usize, regress: f64) -> Vec<MetricSetPair> {
    (0..metrics)
        .map(|i| {
            let shift = if i == 0 { regress.ln() } else { 0.0 };
            let c: Vec<f64> = (0..points)
                .map(|_| 100.0 * (0.1 * rng.normal()).exp())
                .collect();
            let e: Vec<f64> = (0..points)
                .map(|_| 100.0 * (0.1 * rng.normal() + shift).exp())
                .collect();
            pair(&format!("m{i}"), &c, &e)
        })
        .collect()
}

fn names(metrics: usize) -> Vec<(String, Value)> {
    (0..metrics).map(|i| (format!("m{i}"), json!({}))).collect()
}

/// Runs `looks` looks of `step` points each; returns every look's results.
fn analyse(
    config: &CanaryConfig,
    pairs: &[MetricSetPair],
    looks: usize,
    step: usize,
) -> Vec<Vec<CanaryAnalysisResult>> {
    let mut state = SequentialState::new();
    (1..=looks)
        .map(|index| {
            judge_kanary_v1_sequential(
                config,
                &prefix(pairs, index * step),
                &mut state,
                Look { index, of: looks },
            )
            .expect("judged")
        })
        .collect()
}

fn flagged(results: &[CanaryAnalysisResult]) -> bool {
    results
        .iter()
        .any(|r| matches!(r.classification.as_str(), "High" | "Low"))
}

#[test]
fn type_one_error_with_a_look_at_every_interval_stays_below_alpha() {
    // 200 healthy 5-metric canaries, 12 looks of 10 points (120 a side): the chance that
    // any metric is High/Low at any look is at most alpha = 0.05 by construction. The
    // 99.5 % quantile of Binomial(200, 0.05) is 19, so more than 19 flagged runs would
    // reject "rate ≤ 5 %" at the 0.5 % level.
    let mut rng = Rng(0x5e9_0001);
    let c = config(&names(5));
    let mut hits = 0;
    for _ in 0..200 {
        let pairs = latency(&mut rng, 5, 120, 1.0);
        if analyse(&c, &pairs, 12, 10).iter().any(|r| flagged(r)) {
            hits += 1;
        }
    }
    eprintln!("i.i.d.: {hits} of 200 healthy runs flagged at some look");
    assert!(
        hits <= 19,
        "{hits} of 200 healthy runs flagged at some look"
    );
}

#[test]
fn autocorrelated_noise_keeps_the_error_rate_with_the_inflation() {
    // Each side's own noise AR(1), φ 0.5, sd 0.1 (so the differences are AR(1) with φ 0.5
    // and a long-run variance 3 times their variance): 200 healthy 5-metric runs, 12 looks.
    // The inflation f = (1 + r)/(1 − r) is a plug-in, so this checks it in practice, with
    // the same tolerance as the i.i.d. case (≤ 19 of 200).
    let mut rng = Rng(0x5e9_0008);
    let c = config(&names(5));
    let ar = |rng: &mut Rng| -> Vec<f64> {
        let innovation = 0.1 * (1.0f64 - 0.25).sqrt();
        let mut x = 0.1 * rng.normal();
        (0..120)
            .map(|_| {
                let v = 100.0 * x.exp();
                x = 0.5 * x + innovation * rng.normal();
                v
            })
            .collect()
    };
    let mut hits = 0;
    for _ in 0..200 {
        let pairs: Vec<MetricSetPair> = (0..5)
            .map(|i| {
                let b = ar(&mut rng);
                let e = ar(&mut rng);
                pair(&format!("m{i}"), &b, &e)
            })
            .collect();
        hits += usize::from(analyse(&c, &pairs, 12, 10).iter().any(|r| flagged(r)));
    }
    eprintln!("autocorrelated: {hits} of 200 healthy runs flagged at some look");
    assert!(hits <= 19, "{hits} of 200");
}

#[test]
fn a_fixed_sample_test_peeked_at_every_interval_would_flag_more() {
    // The same null with the single-judgement (fixed-sample) judge at every look: the
    // reason the sequential mode exists. Not a bound, a contrast: the fixed-sample judge
    // peeked 12 times flags more runs than the sequential mode on the same data.
    let mut rng = Rng(0x5e9_0002);
    let c = config(&names(5));
    let (mut fixed, mut sequential) = (0, 0);
    for _ in 0..40 {
        let pairs = latency(&mut rng, 5, 120, 1.0);
        let peeked = (1..=12).any(|k| {
            let (_, r) =
                kanary_judge::judge_pairs(&c, &prefix(&pairs, 10 * k), None).expect("judged");
            flagged(&r)
        });
        fixed += usize::from(peeked);
        sequential += usize::from(analyse(&c, &pairs, 12, 10).iter().any(|r| flagged(r)));
    }
    eprintln!("fixed-sample peeked {fixed} of 40, sequential {sequential}");
    assert!(
        fixed > sequential,
        "fixed-sample peeked {fixed}, sequential {sequential}"
    );
}

#[test]
fn a_clear_regression_is_found() {
    // +30 % on metric 0 of 5, 120 points: found High by the last look in every run of 50
    // (the e-value grows like exp(n·δ²/(2(δ² + σ²))) per block; here about e^16 by the end).
    let mut rng = Rng(0x5e9_0003);
    let c = config(&names(5));
    let mut found = 0;
    for _ in 0..50 {
        let pairs = latency(&mut rng, 5, 120, 1.3);
        let looks = analyse(&c, &pairs, 12, 10);
        let last = looks.last().expect("looks");
        if last[0].classification.as_str() == "High" {
            found += 1;
        }
    }
    eprintln!("{found} of 50 found");
    assert!(found >= 48, "{found} of 50");
}

#[test]
fn doubled_errors_are_high_early() {
    let mut rng = Rng(0x5e9_0004);
    let c = config(&[("errors".into(), json!({"kind": "counter"}))]);
    let b: Vec<f64> = (0..60).map(|_| rng.poisson(10.0)).collect();
    let e: Vec<f64> = (0..60).map(|_| rng.poisson(20.0)).collect();
    let looks = analyse(&c, &[pair("errors", &b, &e)], 6, 10);
    // 10 minutes already hold ~100 vs ~200 events.
    assert_eq!(
        looks[0][0].classification.as_str(),
        "High",
        "{:?}",
        looks[0][0]
    );
    let m = looks[0][0].result_metadata.as_ref().expect("meta");
    assert_eq!(m.test.as_deref(), Some("sequential-binomial-mixture"));
    assert!(m.adjusted_p_value.expect("p") < 1e-6);
    assert!(m.lower_confidence.expect("lo") > 1.3, "{m:?}");
}

#[test]
fn a_clearly_healthy_run_shows_no_harm_before_the_end() {
    // Tight noise (sd 0.02 in log scale, 5 % of the margin's width per point): every
    // metric's confidence sequence is inside ±10 % well before 120 points.
    let mut rng = Rng(0x5e9_0005);
    let c = config(&names(3));
    let pairs: Vec<MetricSetPair> = (0..3)
        .map(|i| {
            let c: Vec<f64> = (0..120)
                .map(|_| 100.0 * (0.02 * rng.normal()).exp())
                .collect();
            let e: Vec<f64> = (0..120)
                .map(|_| 100.0 * (0.02 * rng.normal()).exp())
                .collect();
            pair(&format!("m{i}"), &c, &e)
        })
        .collect();
    let looks = analyse(&c, &pairs, 12, 10);
    let first_pass = looks
        .iter()
        .position(|r| r.iter().all(|m| m.classification.as_str() == "Pass"))
        .expect("a look where every metric passes");
    assert!(first_pass < 11, "first all-Pass look {}", first_pass + 1);
    // Before there is enough data it says so.
    assert_eq!(looks[0][0].classification.as_str(), "Inconclusive");
    let reason = looks[0][0]
        .classification_reason
        .as_deref()
        .expect("reason");
    assert!(reason.contains("more data needed"), "{reason}");
    let m = looks[first_pass][0].result_metadata.as_ref().expect("meta");
    assert_eq!(m.extra["anytimeValid"], json!(true));
    assert!(m.upper_confidence.expect("hi") <= 1.1 && m.lower_confidence.expect("lo") >= 1.0 / 1.1);
}

#[test]
fn scale_auto_keeps_its_first_choice() {
    // First look all positive: log. A later look with a zero keeps log (and says log needs
    // positive values) instead of silently switching to linear.
    let c = config(&names(1));
    let mut state = SequentialState::new();
    let b: Vec<f64> = (0..20).map(|i| 100.0 + (i % 3) as f64).collect();
    let mut e: Vec<f64> = (0..20).map(|i| 101.0 + (i % 4) as f64).collect();
    let first = pair("m0", &b[..10], &e[..10]);
    let r = judge_kanary_v1_sequential(
        &c,
        std::slice::from_ref(&first),
        &mut state,
        Look { index: 1, of: 2 },
    )
    .expect("judged");
    assert_eq!(state.scale_of(&first), Some("log"));
    assert_eq!(
        r[0].result_metadata.as_ref().expect("m").extra["scale"],
        json!("log")
    );
    e[15] = 0.0;
    let r = judge_kanary_v1_sequential(
        &c,
        &[pair("m0", &b, &e)],
        &mut state,
        Look { index: 2, of: 2 },
    )
    .expect("judged");
    assert_eq!(r[0].classification.as_str(), "Error");
    assert!(
        r[0].classification_reason
            .as_deref()
            .unwrap_or("")
            .contains("scale \"log\""),
        "{:?}",
        r[0].classification_reason
    );
    // A fresh single judgement of the same data picks linear.
    let (_, single) = kanary_judge::judge_pairs(&c, &[pair("m0", &b, &e)], None).expect("judged");
    assert_eq!(
        single[0].result_metadata.as_ref().expect("m").extra["scale"],
        json!("linear")
    );
}

#[test]
fn same_input_same_output_bytes() {
    let mut rng = Rng(0x5e9_0006);
    let c = config(&names(4));
    let pairs = latency(&mut rng, 4, 60, 1.1);
    let a = serde_json::to_string(&analyse(&c, &pairs, 6, 10)).expect("json");
    let b = serde_json::to_string(&analyse(&c, &pairs, 6, 10)).expect("json");
    assert_eq!(a, b);
}

#[test]
fn bounds_are_a_confidence_sequence_for_a_known_shift() {
    // 300 i.i.d. N(0.05, 0.1²) differences: the 95 % confidence sequence holds 0.05 at every
    // prefix in at least 95 % of 200 runs (Binomial(200, 0.05): more than 19 misses would
    // reject the coverage at the 0.5 % level).
    let mut rng = Rng(0x5e9_0007);
    let mut misses = 0;
    for _ in 0..200 {
        let d: Vec<f64> = (0..300).map(|_| 0.05 + 0.1 * rng.normal()).collect();
        let missed = (1..=12).any(|k| {
            let (_, _, _, lo, hi) = paired_sequential(&d[..25 * k], 0.05, 0.01);
            !(lo <= 0.05 && 0.05 <= hi)
        });
        misses += usize::from(missed);
    }
    eprintln!("{misses} of 200 missed");
    assert!(misses <= 19, "{misses} of 200");
}

#[test]
fn unpaired_gauges_spend_alpha_over_the_planned_looks() {
    // Sides not on one grid: the fixed-sample rank-sum p-value divided by the look's share
    // of alpha, (k² − (k − 1)²)/K² = 1/16 at look 1 of 4 (Lan–DeMets power family α·t²).
    let c = config(&names(1));
    let b: Vec<f64> = (0..30).map(|i| 100.0 + (i % 7) as f64).collect();
    let e: Vec<f64> = (0..30).map(|i| 103.0 + (i % 5) as f64).collect();
    let unaligned: MetricSetPair =
        serde_json::from_value(json!({"name": "m0", "values": {"control": b, "experiment": e}}))
            .expect("pair");
    let (_, single) =
        kanary_judge::judge_pairs(&c, std::slice::from_ref(&unaligned), None).expect("judged");
    let fixed = single[0].result_metadata.as_ref().expect("m").extra["locationPValue"]
        .as_f64()
        .expect("p");
    let mut state = SequentialState::new();
    let r = judge_kanary_v1_sequential(&c, &[unaligned], &mut state, Look { index: 1, of: 4 })
        .expect("judged");
    let m = r[0].result_metadata.as_ref().expect("meta");
    assert_eq!(m.test.as_deref(), Some("wilcoxon-rank-sum+alpha-spending"));
    let p = m.p_value.expect("p");
    assert!(
        (p - (16.0 * fixed).min(1.0)).abs() < 1e-12,
        "{p} vs 16 × {fixed}"
    );
}

#[test]
fn counters_with_a_denominator_compare_rates_per_step() {
    // The canary takes 10 % of the requests; its errors per request equal the baseline's
    // (healthy), then double (harm). The per-step shares under the null are the traffic
    // shares, so the healthy counter is not flagged despite 9 times fewer errors.
    let mut rng = Rng(0x5e9_0009);
    let c = config(&[
        (
            "errors".into(),
            json!({"kind": "counter", "denominator": "requests"}),
        ),
        ("requests".into(), json!({"kind": "counter", "muted": true})),
    ]);
    let req_b: Vec<f64> = (0..120).map(|_| rng.poisson(900.0)).collect();
    let req_e: Vec<f64> = (0..120).map(|_| rng.poisson(100.0)).collect();
    let run = |rng: &mut Rng, ratio: f64| {
        let err_b: Vec<f64> = req_b.iter().map(|q| rng.poisson(0.05 * q)).collect();
        let err_e: Vec<f64> = req_e
            .iter()
            .map(|q| rng.poisson(0.05 * ratio * q))
            .collect();
        let pairs = [
            pair("errors", &err_b, &err_e),
            pair("requests", &req_b, &req_e),
        ];
        let looks = analyse(&c, &pairs, 12, 10);
        looks
            .iter()
            .map(|r| r[0].classification.as_str().to_string())
            .collect::<Vec<_>>()
    };
    let healthy = run(&mut rng, 1.0);
    assert!(
        healthy.iter().all(|c| c != "High" && c != "Low"),
        "{healthy:?}"
    );
    let harmed = run(&mut rng, 2.0);
    assert_eq!(
        harmed.last().map(String::as_str),
        Some("High"),
        "{harmed:?}"
    );
}
