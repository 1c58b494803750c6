//! ANSI colours, applied only when the caller decided colour is wanted.

/// A text style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// Bold: headers.
    Bold,
    /// Dim: muted metrics, absent values.
    Dim,
    /// Green: Pass.
    Green,
    /// Bold green: a Pass verdict.
    BoldGreen,
    /// Red: High, Low, NodataFailMetric.
    Red,
    /// Bold red: critical failures, a Fail verdict.
    BoldRed,
    /// Yellow: Nodata, warnings.
    Yellow,
    /// Bold yellow: a Marginal verdict.
    BoldYellow,
    /// Magenta: Error.
    Magenta,
    /// Cyan: notes.
    Cyan,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Bold => "1",
            Style::Dim => "2",
            Style::Green => "32",
            Style::BoldGreen => "1;32",
            Style::Red => "31",
            Style::BoldRed => "1;31",
            Style::Yellow => "33",
            Style::BoldYellow => "1;33",
            Style::Magenta => "35",
            Style::Cyan => "36",
        }
    }
}

/// `text` in `style` when `color`, else `text` unchanged.
pub(crate) fn paint(text: &str, style: Option<Style>, color: bool) -> String {
    match style {
        Some(s) if color && !text.is_empty() => format!("\x1b[{}m{text}\x1b[0m", s.code()),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paints_only_with_colour() {
        assert_eq!(paint("Pass", Some(Style::Green), false), "Pass");
        assert_eq!(paint("Pass", None, true), "Pass");
        assert_eq!(
            paint("Pass", Some(Style::Green), true),
            "\x1b[32mPass\x1b[0m"
        );
    }
}
