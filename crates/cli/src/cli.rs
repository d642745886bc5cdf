//! The command-line grammar.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "buildscope",
    version,
    about = "Why is my Rust build slow, and what do I do about it?",
    long_about = "Why is my Rust build slow, and what do I do about it?\n\n\
        buildscope reads rustc's self-profile data (.mm_profdata files) on stable Rust and \
        tells you where compile time goes.",
    after_help = "Make profiles of a build (stable Rust; the -Z flag is allowed by RUSTC_BOOTSTRAP=1):\n  \
        RUSTC_BOOTSTRAP=1 RUSTFLAGS=\"-Zself-profile=$PWD/profiles\" cargo build --target-dir target/profiled\n\
        Then:\n  \
        buildscope summarize profiles/            where the time went, all crates\n  \
        buildscope summarize --per-crate profiles/\n  \
        buildscope diff before/ after/            what changed between two builds"
)]
pub struct Cli {
    /// When to colour the output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// Profiles read at once [default: the number of CPUs].
    #[arg(short = 'j', long, global = true, value_name = "N")]
    pub jobs: Option<usize>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Where compile time went: a table of rustc queries and activities by self time.
    #[command(after_help = SUMMARIZE_HELP)]
    Summarize(SummarizeArgs),
    /// What changed between two profiles, two builds, or two saved summaries.
    #[command(after_help = DIFF_HELP)]
    Diff(DiffArgs),
}

const SUMMARIZE_HELP: &str = "\
Columns:
  Self time   time in the item itself, minus the items it called (on the same thread)
  %           self time as a share of total CPU time
  Time        time in the item including what it called (recursion counted once)
  Count       invocations (for queries: cache misses, i.e. times actually computed)
  Hits        cache hits: times a query's result was already known
  Blocked     time a thread waited for another thread computing the same query
  Incr load / Incr hash   incremental compilation: loading and hashing results
Total CPU time sums each thread's busy span; wall time runs from the first event to the last.

Examples:
  buildscope summarize target/profiles/                  a whole build, all crates merged
  buildscope summarize --per-crate target/profiles/      which crate, then which query
  buildscope summarize --top 10 --sort time my_crate-1234.mm_profdata
  buildscope summarize --json profiles/ > base.json      save a small summary for `diff`";

const DIFF_HELP: &str = "\
BASE and NEW may each be a profile file, a directory of profiles (a whole build: rows are
then paired by crate, and a per-crate totals table follows), or a `summarize --json` output
saved earlier. Rows are sorted by the size of their self-time change.

Examples:
  buildscope diff before.mm_profdata after.mm_profdata
  buildscope diff profiles-main/ profiles-branch/
  buildscope diff base.json profiles/ --exclude LLVM";

#[derive(Debug, Args)]
pub struct SummarizeArgs {
    /// Profile files, directories of them, or a measureme-style file prefix.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Show at most N rows (0 shows all) [default: 30 in the terminal, all with --json/--csv].
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,

    /// Only rows whose self time is at least P percent of total CPU time.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = parse_percent)]
    pub min_percent: f64,

    /// Order rows by this figure, largest first.
    #[arg(long, value_enum, default_value_t = SortBy::Self_)]
    pub sort: SortBy,

    /// A table of crates, then each crate's own top rows (with --csv: a `crate` column).
    #[arg(long)]
    pub per_crate: bool,

    /// Print the summary as JSON (schema: docs/json.md).
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,

    /// Print the rows as CSV (raw nanoseconds).
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortBy {
    #[value(name = "self")]
    Self_,
    Time,
    Count,
    Hits,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The baseline: a profile, a directory of profiles, or a saved summary (JSON).
    pub base: PathBuf,
    /// The new measurement, in the same forms.
    pub new: PathBuf,

    /// Leave out items whose label contains this text (repeatable).
    #[arg(short = 'e', long, value_name = "PATTERN")]
    pub exclude: Vec<String>,

    /// Show at most N rows (0 shows all) [default: 30 in the terminal, all with --json].
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,

    /// Print the diff as JSON (schema: docs/json.md).
    #[arg(long)]
    pub json: bool,
}

fn parse_percent(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if (0.0..=100.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not a percentage from 0 to 100"))
    }
}
