//! Compact numbers for tables: 4 significant digits, scientific when very large or small.

/// Significant digits shown.
const DIGITS: i32 = 4;
/// At or above this magnitude, scientific notation.
const LARGE: f64 = 1e5;
/// Below this magnitude (and not 0), scientific notation.
const SMALL: f64 = 1e-3;

/// `0.1218`, `1.359`, `60`, `1.235e8`, `6.8e-5`, `NaN`, `inf`.
pub(crate) fn compact(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return "0".into();
    }
    let magnitude = x.abs();
    if !(SMALL..LARGE).contains(&magnitude) {
        let s = format!("{:.*e}", (DIGITS - 1) as usize, x);
        let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
        return format!("{}e{exponent}", trim_zeros(mantissa));
    }
    let decimals = (DIGITS - 1 - magnitude.log10().floor() as i32).max(0) as usize;
    trim_zeros(&format!("{x:.decimals$}")).to_string()
}

/// A summary score as Kayenta shows it: `50.0`, `33.33`.
pub(crate) fn score(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

/// `1.500` → `1.5`, `2.000` → `2`; integers are left alone.
fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_significant_digits() {
        assert_eq!(compact(0.121845), "0.1218");
        assert_eq!(compact(1.35934), "1.359");
        assert_eq!(compact(60.0), "60");
        assert_eq!(compact(12.5), "12.5");
        assert_eq!(compact(-0.04012345), "-0.04012");
        assert_eq!(compact(99999.0), "99999");
        assert_eq!(compact(9.99996), "10");
        assert_eq!(compact(0.001), "0.001");
    }

    #[test]
    fn scientific_when_large_or_small() {
        assert_eq!(compact(123_456_789.0), "1.235e8");
        assert_eq!(compact(100_000.0), "1e5");
        assert_eq!(compact(6.8e-5), "6.8e-5");
        assert_eq!(compact(-2.5e-7), "-2.5e-7");
    }

    #[test]
    fn special_values() {
        assert_eq!(compact(0.0), "0");
        assert_eq!(compact(-0.0), "0");
        assert_eq!(compact(f64::NAN), "NaN");
        assert_eq!(compact(f64::INFINITY), "inf");
        assert_eq!(compact(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn scores() {
        assert_eq!(score(50.0), "50.0");
        assert_eq!(score(33.33), "33.33");
        assert_eq!(score(100.0), "100.0");
    }
}
