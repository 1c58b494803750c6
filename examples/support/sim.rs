//! What the simulation studies (`simulate.rs`, `simulate_sequential.rs`) share: the fixed-seed
//! generator and the pair and config builders. Included with
//! `#[path = "support/sim.rs"] mod sim;`.
#![allow(dead_code)]

use kanary_judge::{CanaryConfig, MetricSetPair, MetricSetScope, PairValues};
use serde_json::{Value, json};

/// SplitMix64 with a cached second Box–Muller normal.
pub struct Rng {
    state: u64,
    spare: Option<f64>,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng {
            state: seed,
            spare: None,
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform on (0, 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let r = (-2.0 * self.uniform().ln()).sqrt();
        let t = 2.0 * std::f64::consts::PI * self.uniform();
        self.spare = Some(r * t.sin());
        r * t.cos()
    }

    pub fn poisson(&mut self, mean: f64) -> f64 {
        let mut left = mean;
        let mut total = 0u64;
        while left > 0.0 {
            let chunk = left.min(30.0);
            left -= chunk;
            let limit = (-chunk).exp();
            let mut p = self.uniform();
            while p > limit {
                total += 1;
                p *= self.uniform();
            }
        }
        total as f64
    }

    /// `points` values of an AR(1) series with coefficient `phi` and stationary sd `sd`,
    /// started stationary.
    pub fn ar1(&mut self, phi: f64, sd: f64, points: usize) -> Vec<f64> {
        let innovation = sd * (1.0 - phi * phi).sqrt();
        let mut x = sd * self.normal();
        let mut out = Vec::with_capacity(points);
        for _ in 0..points {
            out.push(x);
            x = phi * x + innovation * self.normal();
        }
        out
    }

    /// `points` independent N(0, sd²) values.
    pub fn iid(&mut self, sd: f64, points: usize) -> Vec<f64> {
        (0..points).map(|_| sd * self.normal()).collect()
    }
}

/// An aligned pair a minute apart, as the sources write it.
pub fn pair(name: &str, control: Vec<f64>, experiment: Vec<f64>) -> MetricSetPair {
    let scope = MetricSetScope {
        start_time_iso: None,
        start_time_millis: Some(0),
        step_millis: Some(60_000),
    };
    let aligned: std::collections::BTreeMap<String, String> =
        [("aligned".to_string(), "true".to_string())].into();
    MetricSetPair {
        name: name.to_string(),
        id: None,
        tags: Default::default(),
        values: PairValues {
            control,
            experiment,
        },
        scopes: [
            ("control".to_string(), scope.clone()),
            ("experiment".to_string(), scope),
        ]
        .into(),
        attributes: [
            ("control".to_string(), aligned.clone()),
            ("experiment".to_string(), aligned),
        ]
        .into(),
    }
}

/// A one-group config of `metrics` (name, `analysisConfigurations.canary`) for `judge`.
pub fn config(judge: &str, metrics: &[(String, Value)]) -> CanaryConfig {
    let metrics: Vec<Value> = metrics
        .iter()
        .map(|(name, canary)| {
            json!({"name": name, "groups": ["g"],
                   "analysisConfigurations": {"canary": canary}})
        })
        .collect();
    serde_json::from_value(json!({
        "judge": {"name": judge, "judgeConfigurations": {}},
        "metrics": metrics,
        "classifier": {"groupWeights": {"g": 100}},
    }))
    .expect("config")
}
