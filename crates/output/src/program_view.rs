//! `buildscope profile`: a program's runs as one profile, its time, memory and the
//! functions the samples found, per function and per crate.

use std::path::PathBuf;

use buildscope_analysis::{
    crate_of, crate_times, function_changes, function_spreads, FunctionChange, FunctionSpread,
    FunctionTime, RunRecord, Spread, MIN_FUNCTION_CHANGE, SINGLE_RUN_CHANGE,
};
use serde::Serialize;

use crate::emit::Document;
use crate::format::{human_bytes, human_duration, wrap};
use crate::style::Style;
use crate::table::{Align, Table};

/// One `buildscope profile`: its runs summed up.
#[derive(Debug, Clone, Serialize)]
pub struct ProgramProfile {
    pub schema: &'static str,
    pub command_line: String,
    /// The cargo command that built the program, when buildscope built it.
    pub built_with: Option<String>,
    pub runs: Vec<String>,
    pub wall_ns: Spread,
    pub cpu_ns: Spread,
    pub peak_rss_bytes: Spread,
    /// The exit code of the last run (`None` when a signal ended it).
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// Self and total time per function over the runs (ns), most self time first.
    pub functions: Vec<FunctionSpread>,
    /// Self time per crate, ns: the median run's split of the median CPU time.
    pub crates: Vec<(String, u64)>,
    pub flamegraph: Option<PathBuf>,
    pub folded: Vec<PathBuf>,
    /// Why the runs were not sampled.
    pub not_sampled: Option<String>,
    /// The last lines the program wrote to stderr, when it failed.
    pub stderr_tail: Vec<String>,
    /// The input's size, when given.
    pub input_size: Option<u64>,
    /// Rows the text shows.
    #[serde(skip)]
    pub top: usize,
}

impl ProgramProfile {
    pub const SCHEMA: &'static str = "buildscope.program/1";

    /// The profile of `records` (one program's runs, in order).
    pub fn of(records: &[RunRecord], flamegraph: Option<PathBuf>, top: usize) -> ProgramProfile {
        let spread = |f: &dyn Fn(&RunRecord) -> u64| spread_of(records, f);
        let programs: Vec<_> = records.iter().filter_map(|r| r.program.as_ref()).collect();
        let per_run: Vec<&[FunctionTime]> =
            programs.iter().map(|p| p.functions.as_slice()).collect();
        let functions = function_spreads(&per_run);
        let medians: Vec<FunctionTime> = functions
            .iter()
            .map(|f| FunctionTime {
                name: f.name.clone(),
                krate: f.krate.clone(),
                self_ns: f.self_ns.median,
                total_ns: f.total_ns.median,
                within: f.within.clone(),
            })
            .collect();
        let last = records.last();
        ProgramProfile {
            schema: Self::SCHEMA,
            command_line: last.map(|r| r.command_line()).unwrap_or_default(),
            built_with: programs.first().and_then(|p| p.built_with.clone()),
            runs: records.iter().map(|r| r.id.clone()).collect(),
            wall_ns: spread(&|r| r.totals.wall_ns),
            cpu_ns: spread(&|r| r.totals.cpu_ns),
            peak_rss_bytes: spread(&|r| r.program.as_ref().map_or(0, |p| p.peak_rss_bytes)),
            exit_code: last.and_then(|r| r.exit_code),
            signal: programs.last().and_then(|p| p.signal),
            crates: crate_times(&medians),
            functions,
            flamegraph,
            folded: records.iter().filter_map(|r| r.samples.clone()).collect(),
            not_sampled: programs.first().and_then(|p| p.not_sampled.clone()),
            stderr_tail: last
                .filter(|r| !r.success)
                .map(|r| r.cargo_output_tail.clone())
                .unwrap_or_default(),
            input_size: programs.first().and_then(|p| p.input_size),
            top,
        }
    }

    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0)
    }
}

/// A figure of each run, over the runs.
fn spread_of(runs: &[RunRecord], figure: &dyn Fn(&RunRecord) -> u64) -> Spread {
    Spread::of(&runs.iter().map(figure).collect::<Vec<_>>()).unwrap_or_default()
}

/// `412 ms` for one run, `412 ms (398–430 ms)` for several.
fn with_spread(s: &Spread, show: impl Fn(u64) -> String) -> String {
    if s.n <= 1 || s.min == s.max {
        show(s.median)
    } else {
        format!("{} ({}–{})", show(s.median), show(s.min), show(s.max))
    }
}

/// Half the range over the runs as a share of the median: `±4%`.
fn half_range(s: &Spread) -> String {
    if s.median == 0 {
        return "-".into();
    }
    format!(
        "{:.0}%",
        (s.max - s.min) as f64 / 2.0 * 100.0 / s.median as f64
    )
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".into();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

impl Document for ProgramProfile {
    fn text(&self, style: &Style) -> String {
        let mut out = String::new();
        let runs = self.runs.len();
        out.push_str(&style.bold_heading(&format!(
            "{}: {runs} run{}{}",
            self.command_line,
            if runs == 1 { "" } else { "s" },
            self.input_size
                .map_or(String::new(), |n| format!(", input size {n}"))
        )));
        out.push('\n');
        if let Some(built) = &self.built_with {
            out.push_str(&style.dim(&format!(
                "Built with `{built}` (line tables and frame pointers for this build only)\n"
            )));
        }
        out.push_str(&format!(
            "Wall {}   CPU {}   Peak memory {}\n",
            with_spread(&self.wall_ns, human_duration),
            with_spread(&self.cpu_ns, human_duration),
            with_spread(&self.peak_rss_bytes, human_bytes),
        ));
        if !self.succeeded() {
            let how = match (self.exit_code, self.signal) {
                (Some(code), _) => format!("exited with status {code}"),
                (None, Some(signal)) => format!("was killed by signal {signal}"),
                (None, None) => "did not exit normally".into(),
            };
            out.push_str(&format!("The program {how} (run {runs}).\n"));
            for line in &self.stderr_tail {
                out.push_str(&format!("  {line}\n"));
            }
        }
        if let Some(why) = &self.not_sampled {
            out.push_str(&format!(
                "Not sampled: {why}. The timings above stand alone.\n"
            ));
            return out;
        }
        if self.functions.is_empty() {
            out.push_str("No samples: the program ended before perf sampled it.\n");
            return out;
        }
        let cpu = self.cpu_ns.median;
        out.push('\n');
        let several = runs > 1;
        let mut headers = vec![
            ("Function (by self time)", Align::Left),
            ("Crate", Align::Left),
            ("Self", Align::Right),
            ("", Align::Right),
        ];
        if several {
            headers.push(("±", Align::Right));
        }
        headers.extend([("Total", Align::Right), ("", Align::Right)]);
        let mut table = Table::new(&headers);
        for f in self.functions.iter().take(self.top) {
            let mut row = vec![
                f.name.clone(),
                f.krate.clone(),
                human_duration(f.self_ns.median),
                percent(f.self_ns.median, cpu),
            ];
            if several {
                row.push(half_range(&f.self_ns));
            }
            row.extend([
                human_duration(f.total_ns.median),
                percent(f.total_ns.median, cpu),
            ]);
            table.push(row);
        }
        out.push_str(&table.render(style));
        for f in self.functions.iter().take(self.top.min(5)) {
            let hidden_caller =
                |within: &&String| f.krate == "system" && crate_of(within) != "system";
            if let Some(within) = f.within.as_ref().filter(hidden_caller) {
                out.push_str(&style.dim(&format!(
                    "{} runs within {within} (a C library function without frame pointers hides its direct caller)\n",
                    f.name
                )));
            }
        }
        let crates: Vec<String> = self
            .crates
            .iter()
            .take(6)
            .filter(|(_, ns)| *ns * 1000 >= cpu)
            .map(|(krate, ns)| format!("{krate} {}", percent(*ns, cpu)))
            .collect();
        out.push_str(&format!("By crate (self time): {}\n", crates.join(" · ")));
        if let Some(svg) = &self.flamegraph {
            out.push_str(&style.dim(&format!(
                "Flamegraph: {}   (folded stacks: samples.folded in each run folder)\n",
                svg.display()
            )));
        }
        out
    }

    fn json(&self) -> Result<String, serde_json::Error> {
        Ok(serde_json::to_string_pretty(self)? + "\n")
    }
}

/// `buildscope profile --diff A B`: two profiles of a program, what changed.
#[derive(Debug, Clone, Serialize)]
pub struct ProgramDiff {
    pub schema: &'static str,
    pub command_line: String,
    /// The runs of each side (a profile's `--runs` are one side).
    pub before: Vec<String>,
    pub after: Vec<String>,
    pub wall_ns: (Spread, Spread),
    pub cpu_ns: (Spread, Spread),
    /// The functions whose self time changed beyond the runs' spread.
    pub functions: Vec<FunctionChange>,
    pub flamegraph: Option<PathBuf>,
}

impl ProgramDiff {
    pub const SCHEMA: &'static str = "buildscope.program-diff/1";

    pub fn of(
        before: &[RunRecord],
        after: &[RunRecord],
        flamegraph: Option<PathBuf>,
    ) -> ProgramDiff {
        let spread = spread_of;
        let programs = |runs: &[RunRecord]| -> Vec<buildscope_analysis::ProgramRun> {
            runs.iter().filter_map(|r| r.program.clone()).collect()
        };
        let (old, new) = (programs(before), programs(after));
        ProgramDiff {
            schema: Self::SCHEMA,
            command_line: after.last().map(|r| r.command_line()).unwrap_or_default(),
            before: before.iter().map(|r| r.id.clone()).collect(),
            after: after.iter().map(|r| r.id.clone()).collect(),
            wall_ns: (
                spread(before, &|r| r.totals.wall_ns),
                spread(after, &|r| r.totals.wall_ns),
            ),
            cpu_ns: (
                spread(before, &|r| r.totals.cpu_ns),
                spread(after, &|r| r.totals.cpu_ns),
            ),
            functions: function_changes(
                &old.iter().collect::<Vec<_>>(),
                &new.iter().collect::<Vec<_>>(),
            ),
            flamegraph,
        }
    }
}

impl Document for ProgramDiff {
    fn text(&self, style: &Style) -> String {
        let mut out = String::new();
        let runs = |n: usize| format!("{n} run{}", if n == 1 { "" } else { "s" });
        out.push_str(&style.bold_heading(&format!(
            "{}: {} ({}) → {} ({})",
            self.command_line,
            self.before.first().map_or("", String::as_str),
            runs(self.before.len()),
            self.after.first().map_or("", String::as_str),
            runs(self.after.len()),
        )));
        out.push('\n');
        let change = |(a, b): &(Spread, Spread)| {
            format!(
                "{} → {} ({:+.1}%)",
                human_duration(a.median),
                human_duration(b.median),
                (b.median as f64 / a.median.max(1) as f64 - 1.0) * 100.0
            )
        };
        out.push_str(&format!(
            "Wall {}   CPU {}\n",
            change(&self.wall_ns),
            change(&self.cpu_ns)
        ));
        let several = self.before.len() >= 2 && self.after.len() >= 2;
        if self.functions.is_empty() {
            out.push_str(&if several {
                "No function's time moved beyond the runs' spread.\n".to_string()
            } else {
                format!(
                    "No function's self time moved by {:.0}% or more (one run a side: profile with --runs 3 for the runs' spread).\n",
                    SINGLE_RUN_CHANGE * 100.0
                )
            });
        } else {
            out.push('\n');
            let mut table = Table::new(&[
                ("Function (self time changed)", Align::Left),
                ("Crate", Align::Left),
                ("Before", Align::Right),
                ("After", Align::Right),
                ("Adjusted", Align::Right),
            ]);
            let median = |v: &[f64]| buildscope_analysis::median(v).unwrap_or(0.0) as u64;
            for f in &self.functions {
                table.push(vec![
                    f.name.clone(),
                    f.krate.clone(),
                    human_duration(median(&f.before)),
                    human_duration(median(&f.after)),
                    f.change
                        .map_or("new".into(), |c| format!("{:+.1}%", c * 100.0)),
                ]);
            }
            out.push_str(&table.render(style));
            out.push_str(&style.dim(&wrap(&if several {
                format!(
                    "Listed: functions whose time, adjusted for the machine's speed in each run (the median function's change), moved beyond the runs' spread by {:.0}% or more.\n",
                    MIN_FUNCTION_CHANGE * 100.0
                )
            } else {
                format!(
                    "Listed: changes of {:.0}% or more (one run a side, no spread to judge by).\n",
                    SINGLE_RUN_CHANGE * 100.0
                )
            }, style.width)));
        }
        if let Some(svg) = &self.flamegraph {
            out.push_str(&style.dim(&format!(
                "Differential flamegraph: {} (red grew, blue shrank)\n",
                svg.display()
            )));
        }
        out
    }

    fn json(&self) -> Result<String, serde_json::Error> {
        Ok(serde_json::to_string_pretty(self)? + "\n")
    }
}
