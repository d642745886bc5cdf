//! The bill for a Cargo.toml, as explain shows it: the dependency lines and features that
//! cost the most (all of them with `--bill`), what each brings in that nothing else does,
//! and what pairs of lines bring in together.

use std::fmt::Write as _;

use buildscope_analysis::{line_name, Bill, BillLine, DependencyKind, FeatureLine, Price};

use crate::format::{human_duration, wrap};
use crate::style::Style;
use crate::table::{Align, Table};

/// Lines shown without `--bill`.
const TOP_LINES: usize = 5;

/// A line or feature is worth a row of its own when removing it saves at least this much
/// of the wall time (or 20 ms, whichever is more); the rest fold into one line.
pub(crate) fn worth_a_row(wall_saving_ns: u64, wall_ns: u64) -> bool {
    wall_saving_ns >= floor(wall_ns)
}

use buildscope_analysis::floor_ns as floor;

fn kind(k: DependencyKind) -> &'static str {
    match k {
        DependencyKind::Normal => "normal",
        DependencyKind::Build => "build",
        DependencyKind::Dev => "dev",
    }
}

fn line_label(l: &BillLine) -> String {
    let mut label = format!("{} {}", line_name(&l.member, &l.package), l.version);
    if l.optional {
        label.push_str(" (optional)");
    }
    if l.unused {
        label.push_str(" (unused)");
    }
    label
}

fn feature_label(f: &FeatureLine) -> String {
    if f.member == f.package {
        return match f.feature.as_str() {
            "default" => format!("{}'s default features", f.member),
            own => format!(
                "{}'s own feature `{own}`{}",
                f.member,
                if f.in_default {
                    " (a default feature)"
                } else {
                    ""
                }
            ),
        };
    }
    let feature = if f.feature == "default" {
        "default features".to_string()
    } else {
        format!("feature `{}`", f.feature)
    };
    format!("{}: {feature}", line_name(&f.member, &f.package))
}

/// `clap_builder 3.1 s, clap_derive 1.2 s and 4 more`.
fn brings(price: &Price, at_most: usize) -> String {
    let shown: Vec<String> = price
        .packages
        .iter()
        .take(at_most)
        .map(|p| format!("{} {}", p.package, human_duration(p.ns)))
        .collect();
    let more = price.packages.len().saturating_sub(shown.len());
    match more {
        0 => shown.join(", "),
        n => format!("{} and {n} more", shown.join(", ")),
    }
}

/// The bill: its heading, a table of lines, their features, and the folded tail; every
/// line and the shared pairs when `all`. Empty when nothing in it costs anything.
pub fn render_bill(bill: &Bill, all: bool, style: &Style) -> String {
    let priced: Vec<&BillLine> = bill
        .lines
        .iter()
        .filter(|l| l.price.units > 0 || l.unused)
        .collect();
    if priced.is_empty() && bill.features.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\n{}",
        style.bold_heading(&format!(
            "The bill for your Cargo.toml: what each dependency line alone brings into this build ({} of unit time in dependencies, {} wall)",
            human_duration(bill.dependency_ns),
            human_duration(bill.wall_ns)
        ))
    );
    let shown: Vec<&BillLine> = priced
        .iter()
        .copied()
        .filter(|l| all || l.unused || worth_a_row(l.price.wall_saving_ns, bill.wall_ns))
        .take(if all { usize::MAX } else { TOP_LINES })
        .collect();
    let mut table = Table::new(&[
        ("Line", Align::Left),
        ("Kind", Align::Left),
        ("Crates", Align::Right),
        ("Unit time", Align::Right),
        ("Wall saving", Align::Right),
    ])
    .shrink_column(0);
    for l in &shown {
        table.push(vec![
            line_label(l),
            kind(l.kind).to_string(),
            l.price.units.to_string(),
            human_duration(l.price.unit_ns),
            human_duration(l.price.wall_saving_ns),
        ]);
    }
    if !table.is_empty() {
        out.push_str(&table.render(style));
    }
    for l in &shown {
        out.push_str(&wrap(
            &format!(
                "· {}{}: {}{}",
                line_name(&l.member, &l.package),
                l.target.as_ref().map_or(String::new(), |t| format!(
                    " (only for {})",
                    crate::format::shorten_middle(t, 48)
                )),
                brings(&l.price, 4),
                if l.shared_units > 0 {
                    format!(
                        "; it shares {} more crate(s) ({}) with other lines",
                        l.shared_units,
                        human_duration(l.shared_ns)
                    )
                } else {
                    String::new()
                }
            ),
            style.width,
        ));
    }
    let features: Vec<&FeatureLine> = bill
        .features
        .iter()
        .filter(|f| all || worth_a_row(f.price.wall_saving_ns, bill.wall_ns))
        .collect();
    for f in &features {
        out.push_str(&wrap(
            &format!(
                "· {} {} {} ({} crate(s), {} of unit time): turning {} off saves {} of wall time",
                feature_label(f),
                if f.feature == "default" {
                    "turn on"
                } else {
                    "turns on"
                },
                f.enables
                    .iter()
                    .map(|e| format!("`{e}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                f.price.units,
                human_duration(f.price.unit_ns),
                if f.feature == "default" { "them" } else { "it" },
                human_duration(f.price.wall_saving_ns)
            ),
            style.width,
        ));
    }
    let folded: Vec<&&BillLine> = priced.iter().filter(|l| !shown.contains(l)).collect();
    if !folded.is_empty() {
        let unit_ns: u64 = folded.iter().map(|l| l.price.unit_ns).sum();
        out.push_str(&style.dim(&wrap(
            &format!(
                "{} more line(s), {} of unit time between them, each saving less than {} of wall time (`buildscope explain --bill` lists them)",
                folded.len(),
                human_duration(unit_ns),
                human_duration(floor(bill.wall_ns))
            ),
            style.width,
        )));
    }
    if all {
        for s in &bill.shared {
            out.push_str(&wrap(
                &format!(
                    "· brought in together by {} and {}: {} ({} crate(s), {} of unit time; removing both saves {} of wall time)",
                    s.lines[0],
                    s.lines[1],
                    brings(&s.price, 3),
                    s.price.units,
                    human_duration(s.price.unit_ns),
                    human_duration(s.price.wall_saving_ns)
                ),
                style.width,
            ));
        }
    }
    out
}

/// The same as Markdown: every line worth a row, and the features.
pub fn bill_markdown(bill: &Bill) -> String {
    let mut out = String::new();
    let rows: Vec<&BillLine> = bill
        .lines
        .iter()
        .filter(|l| l.price.units > 0 && worth_a_row(l.price.wall_saving_ns, bill.wall_ns))
        .collect();
    if rows.is_empty() && bill.features.is_empty() {
        return out;
    }
    out.push_str("### The bill for your Cargo.toml\n\n| Line | Kind | Brings in only it | Unit time | Wall saving |\n|---|---|---|---:|---:|\n");
    for l in rows {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} |",
            line_label(l),
            kind(l.kind),
            brings(&l.price, 4),
            human_duration(l.price.unit_ns),
            human_duration(l.price.wall_saving_ns)
        );
    }
    for f in &bill.features {
        let _ = writeln!(
            out,
            "\n- {} {} {}: {} of wall time",
            feature_label(f),
            if f.feature == "default" {
                "turn on"
            } else {
                "turns on"
            },
            f.enables.join(", "),
            human_duration(f.price.wall_saving_ns)
        );
    }
    out.push('\n');
    out
}
