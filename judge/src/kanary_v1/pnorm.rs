//! The standard normal distribution function, both tails, a port of R's `pnorm_both`
//! (`src/nmath/pnorm.c`, R 4.2.2), which implements W. J. Cody, "Rational Chebyshev
//! approximations for the error function", Math. Comp. 23 (1969) 631–637. The upper tail
//! is computed directly (not as 1 − lower), so small p-values keep full precision.

// Coefficients as published, with more digits than a double holds.
#![allow(clippy::excessive_precision)]

const A: [f64; 5] = [
    2.2352520354606839287,
    161.02823106855587881,
    1067.6894854603709582,
    18154.981253343561249,
    0.065682337918207449113,
];
const B: [f64; 4] = [
    47.20258190468824187,
    976.09855173777669322,
    10260.932208618978205,
    45507.789335026729956,
];
const C: [f64; 9] = [
    0.39894151208813466764,
    8.8831497943883759412,
    93.506656132177855979,
    597.27027639480026226,
    2494.5375852903726711,
    6848.1904505362823326,
    11602.651437647350124,
    9842.7148383839780218,
    1.0765576773720192317e-8,
];
const D: [f64; 8] = [
    22.266688044328115691,
    235.38790178262499861,
    1519.377599407554805,
    6485.558298266760755,
    18615.571640885098091,
    34900.952721145977266,
    38912.003286093271411,
    19685.429676859990727,
];
const P: [f64; 6] = [
    0.21589853405795699,
    0.1274011611602473639,
    0.022235277870649807,
    0.001421619193227893466,
    2.9112874951168792e-5,
    0.02307344176494017303,
];
const Q: [f64; 5] = [
    1.28426009614491121,
    0.468238212480865118,
    0.0659881378689285515,
    0.00378239633202758244,
    7.29751555083966205e-5,
];
const M_SQRT_32: f64 = 5.656854249492380195206754896838;
const M_1_SQRT_2PI: f64 = 0.398942280401432677939946059934;

/// `(P(Z ≤ x), P(Z > x))` for a standard normal Z; NaN for NaN.
pub(crate) fn pnorm_both(x: f64) -> (f64, f64) {
    if x.is_nan() {
        return (x, x);
    }
    let eps = f64::EPSILON * 0.5;
    let y = x.abs();
    if y <= 0.67448975 {
        let (mut xnum, mut xden) = (0.0, 0.0);
        if y > eps {
            let xsq = x * x;
            xnum = A[4] * xsq;
            xden = xsq;
            for i in 0..3 {
                xnum = (xnum + A[i]) * xsq;
                xden = (xden + B[i]) * xsq;
            }
        }
        let temp = x * (xnum + A[3]) / (xden + B[3]);
        return (0.5 + temp, 0.5 - temp);
    }
    // do_del + swap_tail of pnorm.c: exp(-x²/2) split so that x*x is exact in its head.
    let tails = |t: f64, temp: f64| -> (f64, f64) {
        let xsq = (t * 16.0).trunc() / 16.0;
        let del = (t - xsq) * (t + xsq);
        let cum = (-xsq * xsq * 0.5).exp() * (-del * 0.5).exp() * temp;
        let ccum = 1.0 - cum;
        if x > 0.0 { (ccum, cum) } else { (cum, ccum) }
    };
    if y <= M_SQRT_32 {
        let mut xnum = C[8] * y;
        let mut xden = y;
        for i in 0..7 {
            xnum = (xnum + C[i]) * y;
            xden = (xden + D[i]) * y;
        }
        let temp = (xnum + C[7]) / (xden + D[7]);
        return tails(y, temp);
    }
    if y < 37.5193 {
        let xsq = 1.0 / (x * x);
        let mut xnum = P[5] * xsq;
        let mut xden = xsq;
        for i in 0..4 {
            xnum = (xnum + P[i]) * xsq;
            xden = (xden + Q[i]) * xsq;
        }
        let mut temp = xsq * (xnum + P[4]) / (xden + Q[4]);
        temp = (M_1_SQRT_2PI - temp) / y;
        return tails(x, temp);
    }
    if x > 0.0 { (1.0, 0.0) } else { (0.0, 1.0) }
}

/// P(Z ≤ x).
pub(crate) fn pnorm_lower(x: f64) -> f64 {
    pnorm_both(x).0
}

/// P(Z > x).
pub(crate) fn pnorm_upper(x: f64) -> f64 {
    pnorm_both(x).1
}

/// ln Γ(x) for x > 0: Lanczos' approximation with g = 7 and nine coefficients (C. Lanczos,
/// "A precision approximation of the gamma function", SIAM J. Numer. Anal. B 1 (1964)
/// 86–96; the coefficient set of Numerical Recipes 3rd ed. §6.1 / Boost), relative error
/// about 1e-15, with the reflection formula below 0.5.
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Γ(x)Γ(1 − x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = COEF[0];
    let t = x + G + 0.5;
    for (i, c) in COEF.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The continued fraction of the incomplete beta function by the modified Lentz method
/// (Numerical Recipes 3rd ed. §6.4, `betacf`; Didonato & Morris's form of the same fraction).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..10_000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() <= 1e-16 {
            break;
        }
    }
    h
}

/// The regularized incomplete beta function I_x(a, b) (Numerical Recipes 3rd ed. §6.4):
/// the continued fraction on the side of the mean where it converges fast.
fn beta_inc(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (-x).ln_1p();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_cf(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_cf(b, a, 1.0 - x) / b
    }
}

/// Above this many degrees of freedom Student's t is taken as the standard normal (the two
/// differ by less than 1e-9 in the tails used here).
const T_NORMAL_DF: f64 = 1e9;

/// P(T > t) for Student's t on `df` > 0 degrees of freedom (real `df` allowed), R's
/// `pt(t, df, lower.tail = FALSE)`: P(T > t) = ½ I_{df/(df + t²)}(df/2, ½) for t ≥ 0
/// (Abramowitz & Stegun 26.7.1 with 26.5.27). NaN for NaN; the normal for `df` = ∞.
pub fn pt_upper(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if df >= T_NORMAL_DF {
        return pnorm_upper(t);
    }
    if t.is_infinite() {
        return if t > 0.0 { 0.0 } else { 1.0 };
    }
    // P(|T| > |t|) = I_{df/(df + t²)}(df/2, ½) = 1 − I_{t²/(df + t²)}(½, df/2); like R's
    // `pt` (`src/nmath/pt.c`), the form whose argument does not round to 1.
    let ratio = (t / df.sqrt()).powi(2);
    let both = if df > t * t {
        1.0 - beta_inc(0.5, 0.5 * df, ratio / (1.0 + ratio))
    } else {
        beta_inc(0.5 * df, 0.5, 1.0 / (1.0 + ratio))
    };
    let tail = 0.5 * both;
    if t >= 0.0 { tail } else { 1.0 - tail }
}

/// The t quantile: the `t` with P(T > t) = `upper` (R's `qt(upper, df, lower.tail =
/// FALSE)`), by bisection on `pt_upper` (monotone) to the last bit; ±∞ at 0 and 1.
pub fn qt_upper(upper: f64, df: f64) -> f64 {
    if upper.is_nan() || df.is_nan() || df <= 0.0 || !(0.0..=1.0).contains(&upper) {
        return f64::NAN;
    }
    if upper == 0.0 {
        return f64::INFINITY;
    }
    if upper == 1.0 {
        return f64::NEG_INFINITY;
    }
    if df >= T_NORMAL_DF {
        return -crate::normal::qnorm(upper);
    }
    // Bracket: widen until P(T > hi) < upper < P(T > lo).
    let (mut lo, mut hi) = (-1.0f64, 1.0f64);
    while pt_upper(hi, df) > upper && hi < 1e300 {
        hi *= 4.0;
    }
    while pt_upper(lo, df) < upper && lo > -1e300 {
        lo *= 4.0;
    }
    for _ in 0..2000 {
        let mid = 0.5 * (lo + hi);
        if mid == lo || mid == hi {
            break;
        }
        if pt_upper(mid, df) > upper {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R 4.2.2: `sprintf("%.17g", pnorm(x))`, `pnorm(x, lower.tail = FALSE)`.
    #[test]
    fn matches_r() {
        assert_eq!(pnorm_lower(0.0), 0.5);
        assert!((pnorm_lower(-1.959963984540054) - 0.025).abs() < 1e-16);
        assert!((pnorm_upper(3.0) - 0.0013498980316300946).abs() < 1e-18);
        assert!((pnorm_upper(10.0) - 7.6198530241605269e-24).abs() < 1e-36);
        assert!((pnorm_lower(-40.0)).abs() < 1e-300);
        assert_eq!(pnorm_upper(f64::INFINITY), 0.0);
        assert!(pnorm_lower(f64::NAN).is_nan());
    }
}
