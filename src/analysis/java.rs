//! Java's text forms that Kayenta's messages and JSON carry.

/// `Double.toString(d)`: what Kayenta's `String.format("%s", score)` writes, e.g. `100.0`,
/// `66.67`, `0.0`, `1.0E-4`, `1.2345678E7`, `NaN`, `Infinity`.
///
/// Java writes the shortest digits that read back as the same double (JDK 19+, and for
/// every score the scorer produces on older JDKs too), plain from 10⁻³ up to 10⁷ with at
/// least one decimal, and in computerized scientific notation (`d.dddE±n`) outside.
pub fn double_to_string(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let magnitude = d.abs();
    if (1e-3..1e7).contains(&magnitude) {
        let s = format!("{d}");
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        let s = format!("{d:e}");
        let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_string()
        } else {
            format!("{mantissa}.0")
        };
        format!("{mantissa}E{exponent}")
    }
}

/// `java.time.Duration.toString()` of a non-negative duration in milliseconds: `PT20M`,
/// `PT1H30M`, `PT48H`, `PT1M30.5S`, `PT0S`.
pub fn duration_to_string(millis: i64) -> String {
    if millis < 0 {
        // Java writes negative parts (`PT-5M`); windows are never negative here.
        return format!("PT{}S", millis as f64 / 1000.0);
    }
    let total_secs = millis / 1000;
    let frac_ms = millis % 1000;
    let hours = total_secs / 3600;
    let minutes = (total_secs % 3600) / 60;
    let secs = total_secs % 60;
    let mut out = String::from("PT");
    if hours != 0 {
        out.push_str(&format!("{hours}H"));
    }
    if minutes != 0 {
        out.push_str(&format!("{minutes}M"));
    }
    if secs == 0 && frac_ms == 0 && out.len() > 2 {
        return out;
    }
    out.push_str(&secs.to_string());
    if frac_ms != 0 {
        let frac = format!("{frac_ms:03}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('S');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_read_as_java_writes_them() {
        assert_eq!(double_to_string(100.0), "100.0");
        assert_eq!(double_to_string(95.0), "95.0");
        assert_eq!(double_to_string(66.67), "66.67");
        assert_eq!(double_to_string(33.33), "33.33");
        assert_eq!(double_to_string(0.0), "0.0");
        assert_eq!(double_to_string(-0.0), "-0.0");
        assert_eq!(double_to_string(0.001), "0.001");
        assert_eq!(double_to_string(0.0001), "1.0E-4");
        assert_eq!(double_to_string(1.5e-5), "1.5E-5");
        assert_eq!(double_to_string(9_999_999.0), "9999999.0");
        assert_eq!(double_to_string(1e7), "1.0E7");
        assert_eq!(double_to_string(12_345_678.0), "1.2345678E7");
        assert_eq!(double_to_string(f64::NAN), "NaN");
        assert_eq!(double_to_string(f64::INFINITY), "Infinity");
        assert_eq!(double_to_string(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn durations_read_as_java_writes_them() {
        assert_eq!(duration_to_string(0), "PT0S");
        assert_eq!(duration_to_string(240_000), "PT4M");
        assert_eq!(duration_to_string(3_600_000), "PT1H");
        assert_eq!(duration_to_string(5_400_000), "PT1H30M");
        assert_eq!(duration_to_string(48 * 3_600_000), "PT48H");
        assert_eq!(duration_to_string(90_500), "PT1M30.5S");
        assert_eq!(duration_to_string(30_000), "PT30S");
        assert_eq!(duration_to_string(3_600_001), "PT1H0.001S");
    }
}
