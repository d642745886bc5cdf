//! The `build` screen: totals, the slowest units, build scripts and proc macros, and the
//! critical path.

use buildscope_analysis::{
    percent_of, slowest_units, BuildTotals, CriticalPath, PathStep, RebuildRoot, ScheduleSummary,
    Spread, Unit,
};

use crate::format::{human_bytes, human_duration, wrap};
use crate::style::Style;
use crate::table::{Align, Table};

/// What the build screen shows; the caller gathers it from a run record.
pub struct BuildView<'a> {
    /// E.g. `example-workspace: cargo build --release (cold)`.
    pub title: String,
    pub totals: &'a BuildTotals,
    pub critical_path: &'a CriticalPath,
    pub units: &'a [Unit],
    pub fresh_units: usize,
    pub notes: &'a [String],
    /// Wall time over repeated runs.
    pub wall_spread: Option<Spread>,
    /// How many units the slowest-units table shows.
    pub top: usize,
    /// The replay of the build's schedule: its bounds and other core counts.
    pub schedule: Option<&'a ScheduleSummary>,
}

fn steps_table(steps: &[PathStep], units: &[Unit], time_header: &str) -> Table {
    let mut table = Table::new(&[
        ("Unit", Align::Left),
        ("Kind", Align::Left),
        (time_header, Align::Right),
        ("Share", Align::Right),
        ("Saves if free", Align::Right),
    ]);
    for step in steps {
        let Some(unit) = units.iter().find(|u| u.id == step.unit) else {
            continue;
        };
        table.push(vec![
            format!("{} v{}", unit.package, unit.version),
            unit.kind.as_str().to_string(),
            human_duration(step.on_path_ns),
            format!("{:.0}%", step.share_percent),
            human_duration(step.saving_if_free_ns),
        ]);
    }
    table
}

/// What bounds the wall time, from the replay of the schedule: the work divided by the
/// cores against the longest chain; and the build on other core counts.
pub fn schedule_verdict(s: &ScheduleSummary, width: usize) -> String {
    let mut others: Vec<String> = s
        .on_cores
        .iter()
        .enumerate()
        .map(|(i, (n, wall))| match i {
            0 => format!(
                "{} on {}",
                human_duration(*wall),
                plural(*n, "core", "cores")
            ),
            _ => format!("{} on {n}", human_duration(*wall)),
        })
        .collect();
    let last = others.pop().unwrap_or_default();
    let bound = if s.work_bound_ns >= s.chain_bound_ns {
        format!(
            "Verdict: CPU-bound. The units' work on {} is {} of wall time at best, more than              the longest dependency chain ({}): less code to compile (fewer or lighter              dependencies, features) or more cores help; reordering does not.",
            plural(s.cores, "core", "cores"),
            human_duration(s.work_bound_ns),
            human_duration(s.chain_bound_ns)
        )
    } else {
        format!(
            "Verdict: the dependency chain bounds it. The longest chain takes {}, more than the              units' work on {} ({}): no number of cores builds it faster than the chain;              shortening the chain (the units on it, splitting a crate on it) does.",
            human_duration(s.chain_bound_ns),
            plural(s.cores, "core", "cores"),
            human_duration(s.work_bound_ns)
        )
    };
    let replay = format!(
        "Replaying the schedule: {} on {} (measured {}). The same build would take about {} and {}.",
        human_duration(s.simulated_wall_ns),
        plural(s.cores, "core", "cores"),
        human_duration(s.measured_wall_ns),
        others.join(", "),
        last
    );
    wrap(&bound, width) + &wrap(&replay, width)
}

/// One sentence on what limits this build, from the figures above it.
fn verdict(view: &BuildView) -> String {
    let t = view.totals;
    let path = view.critical_path;
    let busy = if t.cores == 0 {
        0.0
    } else {
        t.average_parallelism / t.cores as f64
    };
    let chain_share = percent_of(path.longest_chain_ns, t.wall_ns);
    if busy >= 0.8 && chain_share < 60.0 {
        format!(
            "Verdict: CPU-bound. The {} cores were {:.0}% busy and the longest dependency chain is \
             {:.0}% of the wall time: less code to compile (fewer or lighter dependencies, \
             features) or more cores help; reordering does not.\n",
            t.cores,
            busy * 100.0,
            chain_share
        )
    } else if let Some(biggest) = path
        .steps
        .iter()
        .max_by_key(|s| s.saving_if_free_ns)
        .filter(|s| s.saving_if_free_ns > 0)
        .and_then(|s| view.units.iter().find(|u| u.id == s.unit).map(|u| (s, u)))
    {
        format!(
            "Verdict: the dependency chain sets the wall time ({:.0}% busy cores). The most to \
             gain on it: {} v{} ({}), up to {} if it took no time.\n",
            busy * 100.0,
            biggest.1.package,
            biggest.1.version,
            biggest.1.kind.as_str(),
            human_duration(biggest.0.saving_if_free_ns)
        )
    } else {
        String::new()
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn render_build(view: &BuildView, style: &Style) -> String {
    let t = view.totals;
    let mut out = String::new();
    out.push_str(&style.bold(&view.title));
    out.push('\n');
    out.push_str(&format!(
        "{} {}   {} {}   {} {:.1} of {} cores ({:.0}%)\n",
        style.bold("Wall time"),
        human_duration(t.wall_ns),
        style.bold("CPU time"),
        human_duration(t.cpu_ns),
        style.bold("Parallelism"),
        t.average_parallelism,
        t.cores,
        percent_of(
            (t.average_parallelism * 1000.0) as u64,
            t.cores as u64 * 1000
        ),
    ));
    if let Some(spread) = view.wall_spread {
        out.push_str(&format!(
            "Over {} runs: min {}  median {}  max {}  (spread {})\n",
            spread.n,
            human_duration(spread.min),
            human_duration(spread.median),
            human_duration(spread.max),
            human_duration(spread.max - spread.min),
        ));
    }
    out.push_str(&format!(
        "{} built, {} fresh.\nBuild scripts {} (compile {}, run {})   Proc macros {}   Linking {}{}\n\n",
        plural(t.units, "unit", "units"),
        view.fresh_units,
        human_duration(t.build_script_compile_ns + t.build_script_run_ns),
        human_duration(t.build_script_compile_ns),
        human_duration(t.build_script_run_ns),
        human_duration(t.proc_macro_ns),
        human_duration(t.link_ns),
        t.final_link_ns
            .map(|l| format!(" (final link {})", human_duration(l)))
            .unwrap_or_default(),
    ));

    if !view.units.is_empty() {
        let mut slowest = Table::new(&[
            ("Slowest units", Align::Left),
            ("Kind", Align::Left),
            ("Time", Align::Right),
            ("CPU", Align::Right),
            ("Peak RSS", Align::Right),
            ("Link", Align::Right),
        ]);
        let all = slowest_units(view.units);
        for unit in all.iter().take(view.top) {
            slowest.push(vec![
                format!("{} v{}", unit.package, unit.version),
                unit.kind.as_str().to_string(),
                human_duration(unit.duration_ns()),
                unit.cpu_ns
                    .map(human_duration)
                    .unwrap_or_else(|| "-".into()),
                unit.max_rss_bytes
                    .map(human_bytes)
                    .unwrap_or_else(|| "-".into()),
                unit.link_ns
                    .map(human_duration)
                    .unwrap_or_else(|| "-".into()),
            ]);
        }
        out.push_str(&slowest.render(style));
        if all.len() > view.top {
            out.push_str(&style.dim(&format!("… {} more units\n", all.len() - view.top)));
        }
        out.push('\n');
    }

    let path = view.critical_path;
    if !path.steps.is_empty() {
        out.push_str(&format!(
            "{} the chain of units that set the wall time ({} of dependent work, unlimited cores)\n",
            style.bold("Critical path:"),
            human_duration(path.longest_chain_ns),
        ));
        let table = steps_table(&path.steps, view.units, "On path");
        out.push_str(&table.render(style));
        out.push_str(&format!(
            "Not on the chain: {} (cargo's own work, waiting for a free core)\n",
            human_duration(path.waiting_ns)
        ));
        let same_chain = path
            .steps
            .iter()
            .map(|s| s.unit)
            .eq(path.longest_chain.iter().map(|s| s.unit));
        if !same_chain && !path.longest_chain.is_empty() {
            out.push('\n');
            out.push_str(&format!(
                "{} what bounds the build on any number of cores ({})\n",
                style.bold("Longest dependency chain:"),
                human_duration(path.longest_chain_ns)
            ));
            out.push_str(&steps_table(&path.longest_chain, view.units, "Time").render(style));
        }
        out.push('\n');
        match view.schedule {
            Some(schedule) => out.push_str(&schedule_verdict(schedule, style.width)),
            None => out.push_str(&wrap(&verdict(view), style.width)),
        }
    }
    for note in view.notes {
        out.push_str(&style.dim(&format!("note: {note}\n")));
    }
    out
}

/// One row of `build --edit-each-member`.
pub struct MemberEdit {
    pub package: String,
    /// The edited file, relative to the workspace.
    pub file: String,
    pub wall: Spread,
    /// Packages rebuilt after the edit.
    pub rebuilt: Vec<String>,
    pub link_ns: u64,
}

impl MemberEdit {
    /// One member's row from its edit's runs (the run nearest the median speaks for all).
    pub fn of(
        package: &str,
        file: &std::path::Path,
        workspace_root: &std::path::Path,
        runs: &[buildscope_analysis::RunRecord],
    ) -> MemberEdit {
        let (wall, shown) = wall_spread(runs);
        let rebuilt: std::collections::BTreeSet<String> = runs[shown]
            .units
            .iter()
            .map(|u| u.package.clone())
            .collect();
        MemberEdit {
            package: package.to_string(),
            file: file
                .strip_prefix(workspace_root)
                .unwrap_or(file)
                .display()
                .to_string(),
            wall,
            rebuilt: rebuilt.into_iter().collect(),
            link_ns: runs[shown].totals.link_ns,
        }
    }
}

/// The wall-time spread of a plan's runs, and the index of the run nearest its median
/// (the one that speaks for all).
pub fn wall_spread(runs: &[buildscope_analysis::RunRecord]) -> (Spread, usize) {
    let walls: Vec<u64> = runs.iter().map(|r| r.totals.wall_ns).collect();
    let spread = Spread::of(&walls).expect("a plan measures at least once");
    let shown = spread.nearest_to_median(&walls).unwrap_or(0);
    (spread, shown)
}

/// Units in a build summary's slowest-units table.
const SLOWEST_SHOWN: usize = 10;
/// Findings a build summary ends with.
const FINDINGS_SHOWN: usize = 3;

/// What `buildscope build` prints: the run nearest the median of a plan's runs (the spread
/// beside its wall time), its timeline's figures, critical path and schedule, a hot
/// build's rebuild roots, where it is kept, and the top findings (or why there are none).
pub fn render_build_summary(
    runs: &[buildscope_analysis::RunRecord],
    explained: &[Result<buildscope_analysis::Explanation, String>],
    style: &Style,
) -> String {
    let (spread, shown_index) = wall_spread(runs);
    let shown = &runs[shown_index];
    let root = &shown.workspace_root;
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| root.display().to_string());
    let title = format!(
        "{name}: {} ({})",
        shown.command_line(),
        shown.scenario.describe_in(root)
    );
    let schedule = buildscope_analysis::schedule_summary(
        &shown.units,
        shown.totals.wall_ns,
        shown.totals.cores,
    );
    let mut text = render_build(
        &BuildView {
            title,
            totals: &shown.totals,
            critical_path: &shown.critical_path,
            units: &shown.units,
            fresh_units: shown.fresh_units,
            notes: &shown.notes,
            wall_spread: (runs.len() > 1).then_some(spread),
            top: SLOWEST_SHOWN,
            schedule: Some(&schedule),
        },
        style,
    );
    if shown.scenario.is_hot() {
        let roots = shown.rebuild_reasons.as_ref().map(|reasons| {
            buildscope_analysis::rebuild_roots(&shown.units, reasons, shown.totals.cores)
        });
        text.push_str(&render_rebuild_roots(roots.as_deref(), &shown.units, style));
    }
    text.push_str(&render_run_footer(shown));
    text.push_str(&match &explained[shown_index] {
        Ok(e) => crate::render_top_findings(e, FINDINGS_SHOWN, style),
        Err(why) => format!("\n(no findings: {why})\n"),
    });
    text
}

/// The rebuild cost of an edit in each workspace member, most expensive first.
pub fn render_member_edits(rows: &[MemberEdit], runs: usize, style: &Style) -> String {
    let mut sorted: Vec<&MemberEdit> = rows.iter().collect();
    sorted.sort_by_key(|row| std::cmp::Reverse(row.wall.median));
    let mut table = Table::new(&[
        ("Edited file", Align::Left),
        ("Rebuild", Align::Right),
        ("Spread", Align::Right),
        ("Link", Align::Right),
        ("Crates rebuilt", Align::Left),
    ]);
    for row in sorted {
        table.push(vec![
            row.file.clone(),
            human_duration(row.wall.median),
            human_duration(row.wall.max - row.wall.min),
            human_duration(row.link_ns),
            row.rebuilt.join(", "),
        ]);
    }
    let mut out = style.bold(&format!(
        "Rebuild after a one-line edit in each workspace member (median of {runs} run{})",
        if runs == 1 { "" } else { "s" }
    ));
    out.push('\n');
    out.push_str(&table.render(style));
    out
}

/// After a rebuild: the units dirty for a reason of their own, and what rebuilt because of
/// each. `None` for a run recorded before buildscope kept cargo's reasons.
pub fn render_rebuild_roots(
    roots: Option<&[RebuildRoot]>,
    units: &[Unit],
    style: &Style,
) -> String {
    let Some(roots) = roots else {
        return "\nWhy it rebuilt: reasons not recorded (a run from before buildscope kept them).\n"
            .to_string();
    };
    if roots.is_empty() {
        return String::new();
    }
    let mut table = Table::new(&[
        ("Root", Align::Left),
        ("Why", Align::Left),
        ("Cascade", Align::Right),
        ("Unit time", Align::Right),
        ("Wall", Align::Right),
    ]);
    for root in roots {
        let name =
            units
                .iter()
                .find(|u| u.id == root.unit)
                .map_or(root.package.clone(), |u| match u.kind {
                    buildscope_analysis::UnitKind::Lib => u.package.clone(),
                    kind => format!("{} ({})", u.package, kind.as_str()),
                });
        table.push(vec![
            name,
            crate::format::shorten_middle(&crate::finding_text::describe_reason(&root.reason), 40),
            format!("+{}", root.cascade.len()),
            human_duration(root.unit_ns),
            human_duration(root.wall_ns),
        ]);
    }
    format!(
        "\n{}\n{}",
        style.bold("Why it rebuilt (buildscope why PACKAGE for the chain):"),
        table.render(style)
    )
}

/// What a build's summary ends with: the user's rustc wrappers it went through (and what
/// a compiler cache served), where the run folder and its self-profiles are.
pub fn render_run_footer(run: &buildscope_analysis::RunRecord) -> String {
    let mut text = String::new();
    for wrapper in &run.wrappers {
        let served = match (wrapper.role.as_str(), run.cached_units.len()) {
            ("rustc-wrapper", cached) if cached > 0 => format!(
                ": {cached} of {} units served from its cache",
                run.units.len()
            ),
            _ => String::new(),
        };
        text.push_str(&format!(
            "\nThrough your {} `{}` (from {}){served}",
            wrapper.role, wrapper.program, wrapper.source
        ));
    }
    if !run.wrappers.is_empty() {
        text.push('\n');
    }
    text.push_str(&format!("\nRun folder: {}\n", run.run_dir.display()));
    if let Some(profiles) = &run.profile_dir {
        text.push_str(&format!(
            "Self-profiles: {0}  (buildscope summarize --per-crate {0})\n",
            profiles.display()
        ));
    }
    text
}
