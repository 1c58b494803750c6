//! A plain aligned table: columns padded to their widest cell, two spaces apart, colour
//! applied after padding so that escapes never shift a column.

use crate::report::style::{Style, paint};

/// How a column aligns its cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    /// Text.
    Left,
    /// Numbers.
    Right,
}

/// One cell: its text and how to colour it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cell {
    pub(crate) text: String,
    pub(crate) style: Option<Style>,
}

impl Cell {
    pub(crate) fn plain(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            style: None,
        }
    }
    pub(crate) fn styled(text: impl Into<String>, style: Option<Style>) -> Cell {
        Cell {
            text: text.into(),
            style,
        }
    }
}

/// A table with a header row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Table {
    columns: Vec<(String, Align)>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    pub(crate) fn new(columns: &[(&str, Align)]) -> Table {
        Table {
            columns: columns.iter().map(|(h, a)| (h.to_string(), *a)).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are empty, extra cells are dropped.
    pub(crate) fn row(&mut self, mut cells: Vec<Cell>) {
        cells.resize_with(self.columns.len(), || Cell::plain(""));
        self.rows.push(cells);
    }

    /// The table, one line per row, `\n`-terminated, without trailing spaces.
    pub(crate) fn render(&self, color: bool) -> String {
        let width = |s: &str| s.chars().count();
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| width(&r[c].text))
                    .chain(std::iter::once(width(&self.columns[c].0)))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let header: Vec<Cell> = self
            .columns
            .iter()
            .map(|(h, _)| Cell::styled(h.clone(), Some(Style::Bold)))
            .collect();
        let mut out = String::new();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                let pad = " ".repeat(widths[c] - width(&cell.text));
                let painted = paint(&cell.text, cell.style, color);
                if c > 0 {
                    line.push_str("  ");
                }
                match self.columns[c].1 {
                    Align::Left => {
                        line.push_str(&painted);
                        line.push_str(&pad);
                    }
                    Align::Right => {
                        line.push_str(&pad);
                        line.push_str(&painted);
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns_without_trailing_spaces() {
        let mut t = Table::new(&[
            ("name", Align::Left),
            ("n", Align::Right),
            ("why", Align::Left),
        ]);
        t.row(vec![Cell::plain("a"), Cell::plain("100"), Cell::plain("")]);
        t.row(vec![
            Cell::plain("longer"),
            Cell::plain("7"),
            Cell::plain("because"),
        ]);
        assert_eq!(
            t.render(false),
            "name      n  why\n\
             a       100\n\
             longer    7  because\n"
        );
    }

    #[test]
    fn colour_does_not_shift_columns() {
        let mut t = Table::new(&[("c", Align::Left), ("d", Align::Left)]);
        t.row(vec![
            Cell::styled("Pass", Some(Style::Green)),
            Cell::plain("x"),
        ]);
        let plain = t.render(false);
        let coloured = t.render(true);
        let stripped = coloured
            .replace("\x1b[32m", "")
            .replace("\x1b[1m", "")
            .replace("\x1b[0m", "");
        assert_eq!(stripped, plain);
    }
}
