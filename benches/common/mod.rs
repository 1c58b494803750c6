//! Deterministic benchmark data: normal samples from a fixed seed (SplitMix64 +
//! Box–Muller), so that the criterion benches and the R comparison use the same numbers.

/// `n` draws of Normal(mean, sd) from `seed`.
pub fn normal(n: usize, mean: f64, sd: f64, seed: u64) -> Vec<f64> {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        // A uniform in (0, 1].
        ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            let (u1, u2) = (next(), next());
            mean + sd * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        })
        .collect()
}

/// The benchmark pair at size `n`: baseline N(10, 2), canary N(10.3, 2).
pub fn pair(n: usize) -> (Vec<f64>, Vec<f64>) {
    (normal(n, 10.0, 2.0, 1), normal(n, 10.3, 2.0, 2))
}
