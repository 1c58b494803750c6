//! The score thresholds of `kanary judge`: flags over the thresholds file over 95 / 75.
//!
//! The library takes any thresholds, as Kayenta does; the CLI calls a value outside
//! [0, 100], a non-finite one, or `marginal > pass` (no score could then be Marginal) a
//! mistake.

use crate::input;
use anyhow::bail;
use kanary_judge::ScoreThresholds;
use std::fmt;
use std::path::Path;

/// Where a threshold came from, for messages.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    Default,
    File(String),
    Flag(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("the default"),
            Source::File(path) => f.write_str(path),
            Source::Flag(flag) => f.write_str(flag),
        }
    }
}

/// Resolves the thresholds: `--pass` / `--marginal`, else `file` (when given), else the
/// defaults; then checks them.
pub(crate) fn resolve(
    file: Option<&Path>,
    pass: Option<f64>,
    marginal: Option<f64>,
) -> anyhow::Result<ScoreThresholds> {
    let defaults = ScoreThresholds::default();
    let (mut t, mut pass_from, mut marginal_from) = (defaults, Source::Default, Source::Default);
    if let Some(path) = file {
        let text = input::read_text(path)?;
        let from_file: ScoreThresholds = input::parse_json(path, &text)?;
        let shown = path.display().to_string();
        check_range(from_file.pass, &format!("{shown}: $.pass"))?;
        check_range(from_file.marginal, &format!("{shown}: $.marginal"))?;
        t = from_file;
        pass_from = Source::File(shown.clone());
        marginal_from = Source::File(shown);
    }
    if let Some(p) = pass {
        check_range(p, "--pass")?;
        t.pass = p;
        pass_from = Source::Flag("--pass");
    }
    if let Some(m) = marginal {
        check_range(m, "--marginal")?;
        t.marginal = m;
        marginal_from = Source::Flag("--marginal");
    }
    if t.marginal > t.pass {
        bail!(
            "the marginal threshold {} (from {marginal_from}) is above the pass threshold {} \
             (from {pass_from}): no score could be Marginal; use marginal <= pass",
            t.marginal,
            t.pass
        );
    }
    Ok(t)
}

fn check_range(value: f64, what: &str) -> anyhow::Result<()> {
    if !(value.is_finite() && (0.0..=100.0).contains(&value)) {
        bail!("{what}: a score threshold must be a number from 0 to 100, got {value}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_then_flags() {
        let t = resolve(None, None, None).expect("defaults");
        assert_eq!((t.pass, t.marginal), (95.0, 75.0));
        let t = resolve(None, Some(90.0), None).expect("flag");
        assert_eq!((t.pass, t.marginal), (90.0, 75.0));
        let t = resolve(None, Some(50.0), Some(50.0)).expect("equal is fine");
        assert_eq!((t.pass, t.marginal), (50.0, 50.0));
    }

    #[test]
    fn mistakes_are_named() {
        let e = resolve(None, Some(70.0), Some(80.0)).expect_err("marginal > pass");
        assert_eq!(
            e.to_string(),
            "the marginal threshold 80 (from --marginal) is above the pass threshold 70 \
             (from --pass): no score could be Marginal; use marginal <= pass"
        );
        let e = resolve(None, Some(f64::NAN), None).expect_err("NaN");
        assert_eq!(
            e.to_string(),
            "--pass: a score threshold must be a number from 0 to 100, got NaN"
        );
        let e = resolve(None, None, Some(-1.0)).expect_err("negative");
        assert!(e.to_string().starts_with("--marginal: "), "{e}");
        let e = resolve(None, Some(70.0), None).expect_err("default marginal 75 > 70");
        assert!(e.to_string().contains("(from the default)"), "{e}");
    }
}
