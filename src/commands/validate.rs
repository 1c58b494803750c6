//! `kanary validate`: check canary config files, print every problem, exit 0 or 2.

use crate::cli::ValidateArgs;
use crate::report::style::{Style, paint};
use crate::validate::{self, Severity};
use crate::{ExitStatus, Output};

pub(crate) fn run(args: &ValidateArgs, out: &mut Output<'_>) -> anyhow::Result<ExitStatus> {
    let mut all_valid = true;
    for path in &args.files {
        let file = path.display().to_string();
        let problems = match std::fs::read_to_string(path) {
            Ok(text) => validate::check(&text),
            Err(e) => {
                all_valid = false;
                writeln!(out.stdout, "{file}: cannot read: {e}")?;
                continue;
            }
        };
        let count = |s: Severity| problems.iter().filter(|p| p.severity == s).count();
        let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
        for p in &problems {
            let label = match p.severity {
                Severity::Error => String::new(),
                Severity::Warning => {
                    format!("{}: ", paint("warning", Some(Style::Yellow), out.color))
                }
                Severity::Note => format!("{}: ", paint("note", Some(Style::Cyan), out.color)),
            };
            let path = if p.path.is_empty() {
                String::new()
            } else {
                format!("{}: ", p.path)
            };
            writeln!(out.stdout, "{file}: {label}{path}{}", p.message)?;
        }
        if errors == 0 {
            let suffix = match warnings {
                0 => String::new(),
                1 => " (1 warning)".to_string(),
                n => format!(" ({n} warnings)"),
            };
            writeln!(
                out.stdout,
                "{file}: {}{suffix}",
                paint("ok", Some(Style::Green), out.color)
            )?;
        } else {
            all_valid = false;
            let plural =
                |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
            let mut summary = plural(errors, "error");
            if warnings > 0 {
                summary.push_str(&format!(", {}", plural(warnings, "warning")));
            }
            writeln!(
                out.stdout,
                "{file}: {} ({summary})",
                paint("invalid", Some(Style::Red), out.color)
            )?;
        }
    }
    Ok(if all_valid {
        ExitStatus::Success
    } else {
        ExitStatus::Unusable
    })
}
