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
