//! A plain-text table: the first column holds labels and gives up width so the table fits;
//! the other columns hold figures and are never cut.

use crate::format::shorten_middle;
use crate::style::Style;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// How a cell is coloured once padded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Paint {
    None,
    Change(i128),
}

#[derive(Debug, Clone)]
pub struct Table {
    headers: Vec<(String, Align)>,
    rows: Vec<Vec<(String, Paint)>>,
    /// The narrowest the label column may get before the table overflows instead.
    min_label_width: usize,
    /// The column that gives up width (shortened in the middle) so the table fits.
    shrinkable: usize,
}

const GAP: &str = "  ";

impl Table {
    pub fn new(headers: &[(&str, Align)]) -> Table {
        Table {
            headers: headers.iter().map(|(h, a)| (h.to_string(), *a)).collect(),
            rows: Vec::new(),
            min_label_width: 20,
            shrinkable: 0,
        }
    }

    /// Makes `column` the one that gives up width, instead of the first.
    pub fn shrink_column(mut self, column: usize) -> Table {
        self.shrinkable = column.min(self.headers.len().saturating_sub(1));
        self
    }

    pub fn push(&mut self, cells: Vec<String>) {
        self.rows
            .push(cells.into_iter().map(|c| (c, Paint::None)).collect());
    }

    pub(crate) fn push_painted(&mut self, cells: Vec<(String, Paint)>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self, style: &Style) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self
            .headers
            .iter()
            .map(|(h, _)| h.chars().count())
            .collect();
        for row in &self.rows {
            for (i, (cell, _)) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let s = self.shrinkable;
        let others: usize = widths
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != s)
            .map(|(_, w)| w + GAP.len())
            .sum();
        let room = style.width.saturating_sub(others);
        widths[s] = widths[s].min(room.max(self.min_label_width));

        let mut out = String::new();
        let header: Vec<String> = self
            .headers
            .iter()
            .zip(&widths)
            .map(|((h, align), &w)| pad(&shorten_middle(h, w), w, *align))
            .collect();
        out.push_str(&style.bold(header.join(GAP).trim_end()));
        out.push('\n');
        let rule: Vec<String> = widths.iter().map(|&w| "─".repeat(w)).collect();
        out.push_str(&style.dim(&rule.join(GAP)));
        out.push('\n');
        for row in &self.rows {
            let mut line = String::new();
            for (i, ((cell, paint), &w)) in row.iter().zip(&widths).enumerate() {
                if i > 0 {
                    line.push_str(GAP);
                }
                let padded = pad(&shorten_middle(cell, w), w, self.headers[i].1);
                line.push_str(&match paint {
                    Paint::None => padded,
                    Paint::Change(delta) => style.change(*delta, &padded),
                });
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

fn pad(text: &str, width: usize, align: Align) -> String {
    let fill = width.saturating_sub(text.chars().count());
    match align {
        Align::Left => format!("{text}{}", " ".repeat(fill)),
        Align::Right => format!("{}{text}", " ".repeat(fill)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_column_gives_way_so_the_table_fits() {
        let mut t = Table::new(&[("Item", Align::Left), ("Self time", Align::Right)]);
        t.push(vec!["a".repeat(100), "1.23 s".into()]);
        t.push(vec!["short".into(), "12 ms".into()]);
        let out = t.render(&Style::plain());
        for line in out.lines() {
            assert!(line.chars().count() <= 80, "{line:?} is wider than 80");
        }
        assert!(out.contains('…'));
        assert!(out.contains("   12 ms"));
    }
}
