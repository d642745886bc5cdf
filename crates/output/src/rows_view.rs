//! Arbitrary result rows (from `sql`): a table that fits the terminal, or CSV.

use crate::csv::quote;
use crate::style::Style;
use crate::table::{Align, Table};

/// A table of `rows` under `columns`; numeric columns align right, and the widest text
/// column gives way when the table is too wide.
pub fn render_rows(
    columns: &[String],
    rows: &[Vec<String>],
    numeric: &[bool],
    style: &Style,
) -> String {
    let headers: Vec<(&str, Align)> = columns
        .iter()
        .zip(numeric)
        .map(|(c, &n)| (c.as_str(), if n { Align::Right } else { Align::Left }))
        .collect();
    let widest = (0..columns.len())
        .filter(|&i| !numeric[i])
        .max_by_key(|&i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .unwrap_or(0);
    let mut table = Table::new(&headers).shrink_column(widest);
    for row in rows {
        table.push(row.clone());
    }
    let mut out = table.render(style);
    out.push_str(&style.dim(&format!(
        "{} row{}\n",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    )));
    out
}

/// The same rows as CSV (RFC 4180 quoting), header first.
pub fn rows_csv(columns: &[String], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    for line in std::iter::once(columns).chain(rows.iter().map(Vec::as_slice)) {
        let quoted: Vec<String> = line.iter().map(|c| quote(c)).collect();
        out.push_str(&quoted.join(","));
        out.push('\n');
    }
    out
}
