//! The screens: `summarize`, `summarize --per-crate` and `diff`.

use buildscope_analysis::{percent_of, sort_rows, Diff, LabelStats, SortKey, Summary};

use crate::format::{human_bytes, human_duration, human_signed_duration, human_signed_percent};
use crate::style::Style;
use crate::table::{Align, Paint, Table};

/// Which rows of a summary to show, in what order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SummaryView {
    /// At most this many rows; `None` shows all.
    pub top: Option<usize>,
    /// Only rows whose self time is at least this percentage of total CPU time.
    pub min_percent: f64,
    pub sort: SortKey,
}

impl SummaryView {
    /// The rows this view shows, and how many it leaves out.
    pub fn apply(&self, rows: &[LabelStats], total_cpu_ns: u64) -> (Vec<LabelStats>, usize) {
        let mut kept: Vec<LabelStats> = rows
            .iter()
            .filter(|r| percent_of(r.self_time_ns, total_cpu_ns) >= self.min_percent)
            .cloned()
            .collect();
        sort_rows(&mut kept, self.sort);
        if let Some(top) = self.top {
            kept.truncate(top);
        }
        let hidden = rows.len() - kept.len();
        (kept, hidden)
    }
}

/// Columns that are shown only when some row has a value, as in measureme's table.
struct OptionalColumns {
    hits: bool,
    blocked: bool,
    load: bool,
    hashing: bool,
}

impl OptionalColumns {
    fn of(rows: &[LabelStats]) -> OptionalColumns {
        OptionalColumns {
            hits: rows.iter().any(|r| r.cache_hits > 0),
            blocked: rows.iter().any(|r| r.blocked_time_ns > 0),
            load: rows.iter().any(|r| r.incremental_load_time_ns > 0),
            hashing: rows.iter().any(|r| r.incremental_hashing_time_ns > 0),
        }
    }
}

fn rows_table(rows: &[LabelStats], total_cpu_ns: u64, all_rows: &[LabelStats]) -> Table {
    let optional = OptionalColumns::of(all_rows);
    let mut headers = vec![
        ("Item", Align::Left),
        ("Self time", Align::Right),
        ("%", Align::Right),
        ("Time", Align::Right),
        ("Count", Align::Right),
    ];
    let extra = [
        (optional.hits, "Hits"),
        (optional.blocked, "Blocked"),
        (optional.load, "Incr load"),
        (optional.hashing, "Incr hash"),
    ];
    headers.extend(
        extra
            .iter()
            .filter(|(shown, _)| *shown)
            .map(|(_, h)| (*h, Align::Right)),
    );
    let mut table = Table::new(&headers);
    for r in rows {
        let mut cells = vec![
            r.label.clone(),
            human_duration(r.self_time_ns),
            format!("{:.2}%", percent_of(r.self_time_ns, total_cpu_ns)),
            human_duration(r.time_ns),
            r.count.to_string(),
        ];
        if optional.hits {
            cells.push(r.cache_hits.to_string());
        }
        if optional.blocked {
            cells.push(human_duration(r.blocked_time_ns));
        }
        if optional.load {
            cells.push(human_duration(r.incremental_load_time_ns));
        }
        if optional.hashing {
            cells.push(human_duration(r.incremental_hashing_time_ns));
        }
        table.push(cells);
    }
    table
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The `summarize` screen.
pub fn render_summary(summary: &Summary, view: &SummaryView, style: &Style) -> String {
    let mut out = String::new();
    let crates: Vec<&str> = summary
        .crates
        .iter()
        .map(|c| c.crate_name.as_str())
        .collect();
    let mut heading = format!(
        "{} ({}), {} events",
        plural(summary.profile_count, "profile", "profiles"),
        crates.join(", "),
        summary.event_count
    );
    if heading.chars().count() > style.width {
        heading = format!(
            "{} of {} (--per-crate lists them), {} events",
            plural(summary.profile_count, "profile", "profiles"),
            plural(crates.len(), "crate", "crates"),
            summary.event_count
        );
    }
    out.push_str(&heading);
    out.push_str("\n\n");
    let (rows, hidden) = view.apply(&summary.rows, summary.total_cpu_time_ns);
    out.push_str(&rows_table(&rows, summary.total_cpu_time_ns, &summary.rows).render(style));
    if hidden > 0 {
        out.push_str(&style.dim(&format!(
            "… {} not shown (--top 0 shows all)\n",
            plural(hidden, "row", "rows")
        )));
    }
    out.push('\n');
    out.push_str(&totals_line(summary, &rows, style));
    if summary.unresolved_events > 0 {
        out.push_str(&format!(
            "<unresolved>: {} events whose label the string table lacks.\n",
            summary.unresolved_events
        ));
    }
    if !summary.artifact_sizes.is_empty() {
        out.push('\n');
        let mut sizes = Table::new(&[("Artifact", Align::Left), ("Size", Align::Right)]);
        for size in &summary.artifact_sizes {
            sizes.push(vec![size.label.clone(), human_bytes(size.bytes)]);
        }
        out.push_str(&sizes.render(style));
    }
    out
}

fn totals_line(summary: &Summary, shown: &[LabelStats], style: &Style) -> String {
    let shown_self: u64 = shown.iter().map(|r| r.self_time_ns).sum();
    format!(
        "{} {}   {} {}   (rows shown: {:.1}% of CPU time)\n",
        style.bold("Total CPU time"),
        human_duration(summary.total_cpu_time_ns),
        style.bold("Wall time"),
        human_duration(summary.wall_time_ns),
        percent_of(shown_self, summary.total_cpu_time_ns),
    )
}

/// The `summarize --per-crate` screen: a table of crates, then each crate's top rows.
pub fn render_per_crate(summary: &Summary, view: &SummaryView, style: &Style) -> String {
    let mut out = String::new();
    let mut crates = Table::new(&[
        ("Crate", Align::Left),
        ("CPU time", Align::Right),
        ("% total", Align::Right),
        ("Wall time", Align::Right),
        ("Profiles", Align::Right),
        ("Top item", Align::Left),
    ])
    .shrink_column(5);
    for c in &summary.crates {
        crates.push(vec![
            c.crate_name.clone(),
            human_duration(c.total_cpu_time_ns),
            format!(
                "{:.1}%",
                percent_of(c.total_cpu_time_ns, summary.total_cpu_time_ns)
            ),
            human_duration(c.wall_time_ns),
            c.profiles.to_string(),
            c.rows.first().map(|r| r.label.clone()).unwrap_or_default(),
        ]);
    }
    out.push_str(&crates.render(style));
    out.push('\n');
    out.push_str(&totals_line(summary, &summary.rows, style));
    for c in &summary.crates {
        out.push('\n');
        out.push_str(&style.bold(&format!(
            "{}: {} CPU time",
            c.crate_name,
            human_duration(c.total_cpu_time_ns)
        )));
        out.push('\n');
        let (rows, hidden) = view.apply(&c.rows, c.total_cpu_time_ns);
        out.push_str(&rows_table(&rows, c.total_cpu_time_ns, &c.rows).render(style));
        if hidden > 0 {
            out.push_str(&style.dim(&format!("… {} not shown\n", plural(hidden, "row", "rows"))));
        }
    }
    out
}

/// The `diff` screen: measureme's `summarize diff` table, then per-crate totals.
pub fn render_diff(diff: &Diff, top: Option<usize>, style: &Style) -> String {
    let mut out = String::new();
    let rows = &diff.rows[..top.map_or(diff.rows.len(), |t| t.min(diff.rows.len()))];
    let any = |f: fn(&buildscope_analysis::DiffRow) -> i128| diff.rows.iter().any(|r| f(r) != 0);
    let show_hits = any(|r| r.cache_hits.delta());
    let show_blocked = any(|r| r.blocked_time_ns.delta());
    let show_load = any(|r| r.incremental_load_time_ns.delta());
    let show_hashing = any(|r| r.incremental_hashing_time_ns.delta());
    let mut headers = vec![("Item", Align::Left)];
    if diff.by_crate {
        headers.push(("Crate", Align::Left));
    }
    headers.extend([
        ("Self time", Align::Right),
        ("Change", Align::Right),
        ("Time", Align::Right),
        ("Change", Align::Right),
        ("Count", Align::Right),
    ]);
    for (shown, header) in [
        (show_hits, "Hits"),
        (show_blocked, "Blocked"),
        (show_load, "Incr load"),
        (show_hashing, "Incr hash"),
    ] {
        if shown {
            headers.push((header, Align::Right));
        }
    }
    let mut table = Table::new(&headers);
    for r in rows {
        let mut cells = vec![(r.label.clone(), Paint::None)];
        if let Some(c) = &r.crate_name {
            cells.push((c.clone(), Paint::None));
        }
        let self_delta = r.self_time_ns.delta();
        let time_delta = r.time_ns.delta();
        cells.extend([
            (human_signed_duration(self_delta), Paint::Change(self_delta)),
            (
                human_signed_percent(r.self_time_ns.percent()),
                Paint::Change(self_delta),
            ),
            (human_signed_duration(time_delta), Paint::Change(time_delta)),
            (
                human_signed_percent(r.time_ns.percent()),
                Paint::Change(time_delta),
            ),
            (format!("{:+}", r.count.delta()), Paint::None),
        ]);
        if show_hits {
            cells.push((format!("{:+}", r.cache_hits.delta()), Paint::None));
        }
        for (shown, change) in [
            (show_blocked, r.blocked_time_ns),
            (show_load, r.incremental_load_time_ns),
            (show_hashing, r.incremental_hashing_time_ns),
        ] {
            if shown {
                cells.push((
                    human_signed_duration(change.delta()),
                    Paint::Change(change.delta()),
                ));
            }
        }
        table.push_painted(cells);
    }
    out.push_str(&table.render(style));
    if rows.len() < diff.rows.len() {
        out.push_str(&style.dim(&format!(
            "… {} not shown (--top 0 shows all)\n",
            plural(diff.rows.len() - rows.len(), "row", "rows")
        )));
    }
    out.push('\n');
    for (name, change) in [
        ("Total CPU time", diff.total_cpu_time_ns),
        ("Wall time", diff.wall_time_ns),
    ] {
        out.push_str(&format!(
            "{} {} → {} ({}, {})\n",
            style.bold(name),
            human_duration(change.base),
            human_duration(change.new),
            style.change(change.delta(), &human_signed_duration(change.delta())),
            human_signed_percent(change.percent()),
        ));
    }
    if diff.by_crate && !diff.crates.is_empty() {
        out.push('\n');
        let mut crates = Table::new(&[
            ("Crate", Align::Left),
            ("Base CPU", Align::Right),
            ("New CPU", Align::Right),
            ("Change", Align::Right),
            ("%", Align::Right),
            ("Base wall", Align::Right),
            ("New wall", Align::Right),
        ]);
        for c in &diff.crates {
            let delta = c.total_cpu_time_ns.delta();
            crates.push_painted(vec![
                (c.crate_name.clone(), Paint::None),
                (human_duration(c.total_cpu_time_ns.base), Paint::None),
                (human_duration(c.total_cpu_time_ns.new), Paint::None),
                (human_signed_duration(delta), Paint::Change(delta)),
                (
                    human_signed_percent(c.total_cpu_time_ns.percent()),
                    Paint::Change(delta),
                ),
                (human_duration(c.wall_time_ns.base), Paint::None),
                (human_duration(c.wall_time_ns.new), Paint::None),
            ]);
        }
        out.push_str(&crates.render(style));
    }
    let changed_sizes: Vec<_> = diff
        .artifact_sizes
        .iter()
        .filter(|s| s.bytes.delta() != 0)
        .collect();
    if !changed_sizes.is_empty() {
        out.push('\n');
        let mut sizes = Table::new(&[
            ("Artifact", Align::Left),
            ("Base", Align::Right),
            ("New", Align::Right),
            ("Change", Align::Right),
        ]);
        for s in changed_sizes {
            let delta = s.bytes.delta();
            let sign = if delta < 0 { "-" } else { "+" };
            sizes.push_painted(vec![
                (s.label.clone(), Paint::None),
                (human_bytes(s.bytes.base), Paint::None),
                (human_bytes(s.bytes.new), Paint::None),
                (
                    format!("{sign}{}", human_bytes(delta.unsigned_abs() as u64)),
                    Paint::Change(delta),
                ),
            ]);
        }
        out.push_str(&sizes.render(style));
    }
    out
}
