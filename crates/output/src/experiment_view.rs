//! The answer of `buildscope experiment`: each variant's measurements and how it compares
//! with the baseline, as a terminal table, Markdown or JSON.

use buildscope_analysis::{ExperimentRecord, Recommendation, Spread};

use crate::format::{human_bytes, human_duration, wrap};
use crate::style::Style;
use crate::table::{Align, Table};

/// The experiment as a table of at most 80 columns, with its notes; or, with `markdown`,
/// as Markdown for a CI job summary.
pub fn render_experiment(view: &ExperimentRecord, markdown: bool, style: &Style) -> String {
    let inline = render_with(view, markdown, false, style);
    if markdown || inline.lines().all(|l| l.chars().count() <= WIDTH) {
        return inline;
    }
    // Names too long for the width move under the table, keyed by number.
    render_with(view, false, true, style)
}

fn render_with(view: &ExperimentRecord, markdown: bool, numbered: bool, style: &Style) -> String {
    let results = &view.variants;
    let rounds = view.rounds;
    let command = view.run.as_deref();
    let mut headers = vec![
        if numbered { "#" } else { "Variant" },
        "Wall",
        "Min–max",
        "vs baseline",
        "CPU",
        "RSS",
        "Binaries",
    ];
    if command.is_some() {
        headers.push("--run");
    }
    let rows: Vec<Vec<String>> = results
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut row = vec![
                if numbered {
                    (i + 1).to_string()
                } else {
                    r.name.clone()
                },
                human_duration(median_of(&r.wall_ns)),
                range(&r.wall_ns),
                match &r.vs_baseline {
                    None => "baseline".to_string(),
                    Some(c) => format!(
                        "{:.2}x [{:.2}–{:.2}]{}",
                        c.ratio,
                        c.low,
                        c.high,
                        if c.significant { "" } else { " n.s." }
                    ),
                },
                human_duration(median_of(&r.cpu_ns)),
                r.peak_rss_bytes
                    .map(human_bytes)
                    .unwrap_or_else(|| "–".into()),
                human_bytes(r.binaries_bytes),
            ];
            if command.is_some() {
                row.push(human_duration(median_of(&r.command_ns)));
            }
            row
        })
        .collect();
    let title = format!(
        "Experiment: cargo {} ({}), {} variants × {} interleaved run{}",
        view.command,
        view.scenario,
        results.len(),
        rounds,
        if rounds == 1 { "" } else { "s" }
    );
    let mut notes = Vec::new();
    if numbered {
        for (i, r) in results.iter().enumerate() {
            notes.push(format!("{}: {}", i + 1, r.name));
        }
    }
    notes.push(
        "Wall and CPU are medians, min–max in the median's unit, RSS the peak of one rustc; \
         vs baseline: ratio of median wall times with its 95% interval, n.s. when the \
         interval includes 1 (no significant difference)."
            .to_string(),
    );
    if let Some(command) = command {
        notes.push(format!(
            "--run: median wall time of `{command}` after each variant's build."
        ));
    }
    let not_applied: Vec<String> = results
        .iter()
        .filter(|r| !r.not_applied.is_empty())
        .map(|r| {
            format!(
                "Not shown to take effect: {}: {}",
                r.name,
                r.not_applied.join("; ")
            )
        })
        .collect();
    if not_applied.is_empty() {
        notes.push(
            "Every variant took effect: its settings are in the flags rustc recorded.".into(),
        );
    }
    let unstable: Vec<&str> = results
        .iter()
        .filter(|r| r.unstable)
        .map(|r| r.name.as_str())
        .collect();
    if !unstable.is_empty() {
        notes.push(format!(
            "Unstable rustc options (-Z), allowed by RUSTC_BOOTSTRAP=1 for those builds alone: {}.",
            unstable.join(", ")
        ));
    }
    if rounds < 3 {
        notes.push(
            "With fewer than 3 runs a variant's spread is a guess: --runs 5 gives intervals worth reading."
                .into(),
        );
    }
    if markdown {
        let mut out = format!(
            "## {title}\n\n| {} |\n|{}\n",
            headers.join(" | "),
            "---|".repeat(headers.len())
        );
        for row in &rows {
            out.push_str(&format!("| {} |\n", row.join(" | ").replace('<', "&lt;")));
        }
        out.push('\n');
        for line in not_applied.iter().chain(&notes) {
            out.push_str(&format!("{line}\n\n"));
        }
        let recommendation = &view.recommendation;
        if recommendation.settings.is_empty() {
            out.push_str("No variant was significantly faster than the baseline.\n");
        } else {
            out.push_str("### Faster, and worth keeping\n\n");
            for (file, text) in &recommendation.files {
                out.push_str(&format!("`{file}`:\n\n```toml\n{text}```\n\n"));
            }
            if let Some(confirm) = &recommendation.confirm_with {
                out.push_str(&format!("Measured one at a time; together: `{confirm}`\n"));
            }
        }
        return out;
    }
    let aligns: Vec<(&str, Align)> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            (
                *h,
                if i == 0 || i == 3 {
                    Align::Left
                } else {
                    Align::Right
                },
            )
        })
        .collect();
    let mut table = Table::new(&aligns);
    for row in rows {
        table.push(row);
    }
    let mut out = wrap(&title, WIDTH);
    out.push_str(&table.render(style));
    for line in &not_applied {
        out.push_str(&style.bold(&wrap(line, WIDTH)));
    }
    for line in &notes {
        out.push_str(&wrap(line, WIDTH));
    }
    out.push('\n');
    out.push_str(&recommendation_text(&view.recommendation, style));
    out
}

/// The recommendation as text: the snippet per file, how it was measured, and what
/// `--apply` did.
fn recommendation_text(recommendation: &Recommendation, style: &Style) -> String {
    if recommendation.settings.is_empty() {
        return wrap(
            "No variant was significantly faster than the baseline: nothing to change.",
            WIDTH,
        );
    }
    let settings: Vec<String> = recommendation
        .settings
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mut out = style.bold(&format!(
        "Faster, and worth keeping: {}\n",
        settings.join(" ")
    ));
    if recommendation.applied.is_empty() {
        for (file, text) in &recommendation.files {
            out.push_str(&format!("\n# {file}\n{text}"));
        }
        out.push('\n');
    }
    if let Some(confirm) = &recommendation.confirm_with {
        out.push_str(&wrap(
            "Each was measured alone against the baseline; to measure them together:",
            WIDTH,
        ));
        out.push_str(&format!("  {confirm}\n"));
    }
    if recommendation.applied.is_empty() {
        out.push_str(&wrap(
            "Add it to those files, or let --apply write it (each file is backed up first).",
            WIDTH,
        ));
    }
    for change in &recommendation.applied {
        out.push_str(&format!(
            "\nWrote {}{}\n{}",
            change.path,
            change
                .backup
                .as_ref()
                .map(|b| format!(" (the previous file is in {b})"))
                .unwrap_or_default(),
            change.diff
        ));
    }
    out
}

const WIDTH: usize = 80;

/// `112–117`, in the unit of the median beside it (`ms`), or `980 ms–1.02 s` across units.
fn range(values: &[u64]) -> String {
    let unit = |text: &str| text.rsplit_once(' ').map(|(_, u)| u.to_string());
    let middle = unit(&human_duration(median_of(values)));
    let low = human_duration(values.iter().copied().min().unwrap_or(0));
    let high = human_duration(values.iter().copied().max().unwrap_or(0));
    if unit(&low) == middle && unit(&high) == middle {
        let number = |text: &str| {
            text.rsplit_once(' ')
                .map_or(text.to_string(), |(n, _)| n.to_string())
        };
        format!("{}–{}", number(&low), number(&high))
    } else {
        format!("{low}–{high}")
    }
}

fn median_of(values: &[u64]) -> u64 {
    Spread::of(values).map_or(0, |s| s.median)
}

#[cfg(test)]
mod tests {
    use super::*;
    use buildscope_analysis::{Comparison, ExperimentVariant, EXPERIMENT_SCHEMA};

    fn variant(name: &str, wall_ms: &[u64], vs: Option<Comparison>) -> ExperimentVariant {
        ExperimentVariant {
            name: name.into(),
            settings: vec![],
            cargo_args: vec![],
            wall_ns: wall_ms.iter().map(|ms| ms * 1_000_000).collect(),
            cpu_ns: wall_ms.iter().map(|ms| ms * 1_500_000).collect(),
            peak_rss_bytes: Some(123 << 20),
            binaries_bytes: 30 << 20,
            vs_baseline: vs,
            not_applied: vec![],
            rustc_flags: vec![],
            compilers: vec![],
            unstable: false,
            command_ns: vec![2_000_000_000; wall_ms.len()],
            run_ids: vec![],
        }
    }

    fn view(names: [&str; 2]) -> ExperimentRecord {
        ExperimentRecord {
            schema: EXPERIMENT_SCHEMA.into(),
            command: "build".into(),
            scenario: "hot: touch a-rather-long/path/to/src/main.rs".into(),
            rounds: 5,
            run: Some("cargo test -q $BUILDSCOPE_CARGO_ARGS".into()),
            recommendation: Recommendation::default(),
            variants: vec![
                variant(names[0], &[139, 135, 144, 140, 138], None),
                variant(
                    names[1],
                    &[283, 275, 293, 280, 285],
                    Some(Comparison {
                        ratio: 2.03,
                        low: 1.96,
                        high: 2.11,
                        significant: true,
                    }),
                ),
            ],
        }
    }

    #[test]
    fn the_table_fits_80_columns_with_long_names_keyed_below() {
        let long = view([
            "debug=line-tables-only incremental=true linker=rust-lld",
            "debug=line-tables-only incremental=false linker=gnu-ld",
        ]);
        let text = render_experiment(&long, false, &Style::plain());
        for line in text.lines() {
            assert!(
                line.chars().count() <= 80,
                "{} wide: {line}",
                line.chars().count()
            );
        }
        assert!(text.contains("\n2: debug=line-tables-only incremental=false linker=gnu-ld\n"));
        assert!(text.contains("2.03x [1.96–2.11]"), "{text}");
        assert!(text.contains("139 ms  135–144  "), "{text}");
        // Short names stay in the table when it fits.
        let mut short = view(["linker=rust-lld", "linker=gnu-ld"]);
        short.run = None;
        let short = render_experiment(&short, false, &Style::plain());
        assert!(
            short.lines().any(|l| l.starts_with("linker=gnu-ld ")),
            "{short}"
        );
        let markdown = render_experiment(&long, true, &Style::plain());
        assert!(markdown.contains("| debug=line-tables-only incremental=false linker=gnu-ld |"));
        assert!(
            markdown.contains("\n|---|---|---|---|---|---|---|---|\n"),
            "{markdown}"
        );
    }

    #[test]
    fn ranges_share_their_unit() {
        assert_eq!(range(&[112_000_000, 117_000_000]), "112–117");
        assert_eq!(range(&[980_000_000, 1_020_000_000]), "980 ms–1.02 s");
    }
}
