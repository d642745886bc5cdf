//! The command-line grammar.

use std::path::PathBuf;

use buildscope_output::Format;
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "buildscope",
    version,
    about = "Why is my Rust build slow, and what do I do about it?",
    long_about = "Why is my Rust build slow, and what do I do about it?\n\n\
        buildscope reads rustc's self-profile data (.mm_profdata files) on stable Rust and \
        tells you where compile time goes.",
    after_help = "Start here, in a cargo workspace:\n  \
        buildscope build --self-profile-crates    measure a build (units, critical path, self-profiles)\n  \
        buildscope explain                        why it is slow, and what to do\n  \
        buildscope report                         the latest run's HTML report (also in its run folder)\n  \
        buildscope experiment --touch src/main.rs --vary linker=rust-lld,gnu-ld   prove a fix\n\
        Self-profiles of any build (stable Rust; the -Z flag is allowed by RUSTC_BOOTSTRAP=1):\n  \
        RUSTC_BOOTSTRAP=1 RUSTFLAGS=\"-Zself-profile=$PWD/profiles\" cargo build --target-dir target/profiled\n  \
        buildscope summarize --per-crate profiles/    buildscope diff before/ after/"
)]
pub struct Cli {
    /// When to colour the output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

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
    /// Measure a cargo build: every unit on a timeline, cold or hot, and its critical path.
    #[command(after_help = BUILD_HELP)]
    Build(BuildArgs),
    /// Why is this build slow: the causes in Rust terms, with evidence, a fix and the time
    /// each could save.
    #[command(after_help = EXPLAIN_HELP)]
    Explain(ExplainArgs),
    /// Prove a fix: build under several settings, interleaved, and compare with spread.
    #[command(after_help = experiment_help())]
    Experiment(ExperimentArgs),
    /// Write the HTML report of a run (timeline, phases, inside each crate, findings).
    #[command(after_help = REPORT_HELP)]
    Report(ReportArgs),
    /// Write a Chrome trace (Perfetto, chrome://tracing, speedscope) of profiles.
    #[command(after_help = TRACE_HELP)]
    Trace(TraceArgs),
    /// Draw a flamegraph (interactive SVG) of where self time goes, or write folded stacks.
    #[command(after_help = FLAMEGRAPH_HELP)]
    Flamegraph(FlamegraphArgs),
    /// The query trace: a tree per thread of query invocations (misses with their
    /// children, hits as leaves), counts per query, and the pathological nodes.
    #[command(after_help = QUERIES_HELP)]
    Queries(QueriesArgs),
    /// Write the flat event table (one row per interval) as CSV, JSON lines or Parquet.
    #[command(after_help = EXPORT_HELP)]
    Export(ExportArgs),
    /// Run SQL over the event table and per-query aggregates (embedded SQLite).
    #[command(after_help = SQL_HELP)]
    Sql(SqlArgs),
    /// The most expensive single invocations (not aggregates), with their arguments.
    #[command(after_help = TOP_HELP)]
    Top(TopArgs),
    /// List the builds measured so far (newest first).
    Runs(RunsArgs),
    /// Compare two measured builds, unit by unit.
    #[command(after_help = COMPARE_HELP)]
    Compare(CompareArgs),
    /// Why a package rebuilt in a measured build: its reason, then the dependency that
    /// reason names and its reason, down to the root cause.
    #[command(after_help = WHY_HELP)]
    Why(WhyArgs),
    /// Did this change make the build slower? Measure (or take a run), compare it with
    /// the history's comparable runs or a baseline, and exit 1 on a regression (for CI).
    #[command(after_help = CHECK_HELP)]
    Check(CheckArgs),
    /// Keep run folders within their budget: prune the raw self-profiles of older runs
    /// (their records, reports and summaries stay).
    #[command(after_help = GC_HELP)]
    Gc(GcArgs),
    /// The history database itself: migrate it, copy it into another (a developer's SQLite
    /// file into the team's PostgreSQL), import runs a failed write left in their folders.
    #[command(after_help = DB_HELP)]
    Db(DbArgs),
    /// How compile time grows: build a generated project at several sizes and fit how
    /// every measure, phase and query grows (linear, n log n, superlinear).
    #[command(after_help = SCALE_HELP)]
    Scale(ScaleArgs),
    /// Profile your own program: build it, run it under perf, and show where its time goes
    /// (top functions, per crate, a flamegraph); every run goes into the history.
    #[command(after_help = PROFILE_HELP)]
    Profile(ProfileArgs),
}

const SCALE_HELP: &str = "\
Each size is generated, built (cold by default; --hot: after an edit of its source) --runs
times with the generated crates self-profiled, and measured: wall and CPU time, peak rustc
memory, the units' time, every phase of rustc's work and the queries that take the most self
time. For each measure a power law is fitted on log–log axes (exponent with its 95%
interval) and compared with n log n: linear, n log n, or superlinear (exponent at least 1.2,
its interval above 1.1); the value at 10x the largest size is projected. The fastest-growing
phase or query that matters is the headline.

Built-in generators (--shape), what each stresses:
  functions           n small functions: the linear baseline
  generic-instances   one generic function instantiated with n types: monomorphization, LLVM
  trait-impls         n impls of one trait, each called: trait selection and codegen
  derives[=TRAIT]     n structs deriving TRAIT (default Debug): macro expansion
  match-arms          one match with n arms: exhaustiveness checking, MIR building
  nested-closures     n closures nested in each other: inference through captures
  deep-types          a type nested n deep: trait solving on big types
  iterator-chain      n chained .map() adapters: types that grow with every step
  call-graph          n functions calling each other (base, mid, leaf): an input for a
                      program that compiles code (see --run)

Or any generator: --generator 'CMD' with {n} for the size and {dir} for the folder it must
write a cargo project into (without {dir}, CMD runs inside that folder).

Or your own program and the size of its input: --run 'CMD' runs CMD at each size ({n} the
size, {dir} the folder a --shape or --generator wrote, if any) as `buildscope profile`
would; with --sample each of its functions is fitted, and the headline names the one that
grows fastest (`tinyc::resolve::resolve grows as n^1.9 [1.8, 2.0]`).

Or your own project and the size of a change: --edit PATH rebuilds this workspace after an
edit of the first n function bodies of PATH (restored after each build), so you see how the
rebuild's codegen and wall time grow with the number of functions a change touches.

Examples:
  buildscope scale --shape iterator-chain --sizes 20,40,60,80
  buildscope scale --shape derives=serde::Serialize --sizes 250,500,1000,2000 --runs 3
  buildscope scale --generator 'python3 gen.py {n} {dir}' --sizes 1000,2000,4000,8000 --json
  buildscope scale --edit src/lib.rs --sizes 1,4,16,64
  buildscope scale --run './target/release/tinyc --generated {n}' --sizes 4000,8000,16000,32000 --sample
  buildscope scale --shape call-graph --run 'mycc {dir}/src' --sizes 10000,20000,40000 --sample";

#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// A built-in generator (see below).
    #[arg(
        long,
        value_name = "SHAPE",
        required_unless_present_any = ["generator", "edit", "run"],
        conflicts_with_all = ["generator", "edit"]
    )]
    pub shape: Option<String>,
    /// A command that writes the project for size {n} into {dir}.
    #[arg(long, value_name = "CMD", conflicts_with = "edit")]
    pub generator: Option<String>,
    /// No generator: this workspace, rebuilt after an edit of the first N function bodies
    /// of PATH for each size N (how a rebuild grows with the size of a change); the file is
    /// restored after each build, the builds go to a target directory of their own.
    #[arg(long, value_name = "PATH")]
    pub edit: Option<PathBuf>,
    /// Measure this command at each size instead of a cargo build: {n} is the size, {dir}
    /// the folder the generator (if any) wrote. With --sample, each function's time is
    /// fitted too, and the headline names the one that grows fastest.
    #[arg(long, value_name = "CMD", conflicts_with_all = ["edit", "hot", "toolchain"])]
    pub run: Option<String>,
    /// The sizes to build (at least three for a fit).
    #[arg(long, value_name = "N,N,...", value_delimiter = ',', required = true)]
    pub sizes: Vec<u64>,
    /// Builds per size.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub runs: u32,
    /// Measure a rebuild after an edit of the generated source instead of a cold build.
    #[arg(long)]
    pub hot: bool,
    /// Also sample the generated crates' rustc with `perf` (each run folder's
    /// samples.folded; `buildscope flamegraph RUN_DIR --samples` draws one).
    #[arg(long)]
    pub sample: bool,
    /// Build with this rustup toolchain (`nightly`, `1.85.0`) instead of the default.
    #[arg(long, value_name = "NAME")]
    pub toolchain: Option<String>,
    /// Where the generated projects go [default: target/buildscope-scale/<generator>].
    #[arg(long, value_name = "DIR")]
    pub work: Option<PathBuf>,
    /// Also write the page with a log–log chart per measure.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print the fits as JSON (schema buildscope.scale/1).
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

const PROFILE_HELP: &str = "\
Builds a binary of this workspace as `cargo build` would (the same --bin, --example,
--release, --profile, -p and feature flags), with line-table debug info and frame pointers
added for this build only, in buildscope's own target directory (target/buildscope/program);
then runs it under `perf record -g` --runs times, with the arguments after `--`. Or profile
any program already built: --command 'CMD ARGS'.

Prints wall time, CPU time and peak memory (median and range over the runs), the functions
with the most self time (demangled, grouped by crate) and writes an interactive flamegraph.
Each run is recorded in the history with its folded stacks, so `runs`, `compare` and
`check --run ID` work on programs as on builds; `--check` checks at once. A check compares
wall and CPU time and each function's self time with earlier runs of the same command line,
each run's function times adjusted for the machine's speed in that run (the median
function's change), and names the function that grew. The program's output goes to
stdout.txt and stderr.txt in each run folder (--show-output to see it).

Where perf may not sample (not installed, or kernel.perf_event_paranoid too high), the
profile says why and reports the timings alone.

Examples:
  buildscope profile --release --bin tinyc -- inputs/big
  buildscope profile --example profile_run --release --runs 3
  buildscope profile --command './target/release/mycc big.src' --json
  buildscope profile --release --stdin input.txt --runs 5
  buildscope profile --release --check -- inputs/big      # in CI: fails when it got slower
  buildscope profile --diff latest~3 latest               # what changed, red/blue flamegraph

Try it on the example compiler shipped with buildscope (it makes its input in memory):
  cd example-program && buildscope profile --release --runs 3 -- --generated 16000";

const DB_HELP: &str = "\
A history is a SQLite file (the default: $XDG_DATA_HOME/buildscope/history.sqlite) or a
PostgreSQL database (--db / BUILDSCOPE_DB = postgres://user[:password]@host[:port]/dbname),
which many CI jobs on many machines can write at once. Both hold the same schema; a newer
buildscope upgrades an older history in place, an older one refuses a newer history.

Examples:
  buildscope db migrate --db postgres://ci@db.internal/builds
  buildscope db copy --from ~/.local/share/buildscope/history.sqlite --to postgres://ci@db.internal/builds
  buildscope db import target/buildscope/runs/20261130-101502-3fa9c1-4242-1";

#[derive(Debug, Args)]
pub struct DbArgs {
    #[command(subcommand)]
    pub command: DbCommand,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Bring the history's schema up to date (opening it does that too) and say its version.
    Migrate {
        #[command(flatten)]
        history: HistoryArgs,
    },
    /// Copy every run and experiment of one history into another (runs already there are
    /// replaced, so copying twice is harmless).
    Copy {
        /// The history to read: a SQLite file's path or a postgres:// URL.
        #[arg(long, value_name = "PATH|URL")]
        from: String,
        /// The history to write.
        #[arg(long, value_name = "PATH|URL")]
        to: String,
    },
    /// Remove the runs and experiments older than a duration (with their units and
    /// measures): the history's own retention. Their run folders are left alone.
    Prune {
        /// How old a run must be to go: 90d, 12w, 36h.
        #[arg(long, value_name = "AGE", required = true)]
        older_than: String,
        /// Say how many would go; remove nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        history: HistoryArgs,
    },
    /// Add runs to the history from their folders (their run.json): a run measured while
    /// the history could not be written.
    Import {
        /// Run folders (target/buildscope/runs/<id>) or run.json files.
        #[arg(required = true, value_name = "RUN_DIR")]
        runs: Vec<PathBuf>,
        #[command(flatten)]
        history: HistoryArgs,
    },
}

const CHECK_HELP: &str = "\
Each measure (wall time, CPU time, peak rustc memory, binary size, every unit's time) is
compared with the same measure in the baseline. With the history as baseline (the default),
the comparable runs are the last --history-size runs of this workspace with the same cargo
command, scenario, machine, toolchain, RUSTFLAGS and CARGO_INCREMENTAL / CARGO_PROFILE_*
variables. A value is a regression when it lies beyond the history's noise (the third
quartile plus 3 interquartile ranges; never less than 1% or 10 ms above the median, 5% for
memory) AND crosses a threshold. With fewer than 5 comparable runs there is no noise model:
the check says so and passes, unless --strict (then thresholds alone decide). A named
baseline (a run, or a run.json / `build --json` file kept from the main branch) is judged on
its values, with a noise model when it holds 5 runs or more.

Thresholds (repeat --fail-if; default: wall>10%, cpu>10% and unit:*>20%; for a program's
run from `buildscope profile`: wall>10%, cpu>10% and fn:*>10%):
  wall>10%  wall>2s  cpu>15%  rss>10%  rss>200MB  binary-size>5%  binary-size>1MiB
  unit:serde_derive>20%   one package's units      unit:*>20%   any unit of 2%+ of the build
  phase:app:Trait solving>30%   one profiled crate's phase (CPU time; also phase:<phase>,
                                phase:<crate>, phase:*) — from runs built with self-profiles
  fn:tinyc::resolve::lookup>10%   a program's function (its self time, adjusted for the
                                machine's speed in each run; fn:* any of 2%+ of the wall
                                time) — runs of `buildscope profile`

A crossing is confirmed before the check fails: the build is measured again (--confirm, 2
times at most) and the median of all its runs judged; a slow outlier is not a regression.

Exit status: 0 no regression (or not enough history), 1 a threshold crossed, 2 bad input.
When GITHUB_STEP_SUMMARY is set the Markdown summary is appended there.

Examples:
  buildscope check --touch src/lib.rs                  measure a hot build, judge it
  buildscope check --run latest --fail-if-slower 5%    judge a run already measured
  buildscope check --cold --baseline main.json --bmf bmf.json --junit junit.xml";

const COMPARE_HELP: &str = "\
A run is named by its id (or a unique start of it, as `buildscope runs` lists them), or as
`latest`, `latest~1`, ... for this workspace's newest runs.

Examples:
  buildscope compare latest~1 latest
  buildscope compare 20261124-0312 20261124-0330 --json";

const EXPLAIN_HELP: &str = "\
Explains a run measured by `buildscope build` (its units, critical path and self-profiles),
or self-profiles alone. Each finding names the cause (trait solving on a huge type,
monomorphization, LLVM, linking, a crate that serializes the build, build scripts or proc
macros on the critical path, proc-macro expansion, incremental overhead, a dependency built
twice), the crate, the evidence, a fix, and the time it could save at most (and how that
was estimated). Then CPU time by phase.

For the most complete answer, measure with self-profiles first:
  buildscope build --self-profile-crates && buildscope explain

Examples:
  buildscope explain                         the latest run of this workspace
  buildscope explain latest~1 --markdown     for a CI job summary or a PR comment
  buildscope explain target/buildscope/runs/<id>
  buildscope explain profiles/ --json        self-profiles alone";

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A run (id, unique start of one, `latest`, `latest~N`, or its folder), or profile
    /// files and directories [default: the latest run of this workspace].
    #[arg(value_name = "RUN|PATH")]
    pub target: Vec<String>,
    /// The workspace whose runs `latest` means [default: the one around the current directory].
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    #[command(flatten)]
    pub history: HistoryArgs,
    /// How many findings to show.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub top: usize,
    /// Show the whole bill for the members' Cargo.toml: every dependency line with what
    /// only it brings into the build (crates, unit time, the wall time the run's schedule
    /// saves without them), the features that turn on optional dependencies, and what
    /// pairs of lines bring in together. Without it, the lines worth 1% of the wall time.
    #[arg(long)]
    pub bill: bool,
    /// Look for dependency lines the members do not use: one `cargo check` of every
    /// target with rustc's `unused_crate_dependencies` lint (in target/buildscope, your
    /// target/ untouched), each unused line marked in the bill and priced as a finding.
    #[arg(long)]
    pub unused: bool,
    /// Print the explanation as JSON (findings ordered by estimated saving).
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print Markdown, for a CI job summary or a pull-request comment.
    #[arg(long)]
    pub markdown: bool,
    /// For a monomorphization finding, build that crate once more with --emit=llvm-ir
    /// (in target/buildscope/llvm-lines) and show LLVM IR lines and copies per function.
    #[arg(long)]
    pub llvm_lines: bool,
    /// Measure the findings whose fix is a build setting (debug info, linker,
    /// incremental): an experiment on the run's own scenario tries each setting alone
    /// against the project as it is, and each estimate is shown beside the measured
    /// saving. Findings whose fix is a code change say so.
    #[arg(long)]
    pub verify: bool,
    /// Interleaved rounds of the --verify experiment.
    #[arg(long, value_name = "N", default_value_t = 3, requires = "verify")]
    pub runs: u32,
    /// With --verify: fail at once when another buildscope run is measuring this workspace.
    #[arg(long, requires = "verify")]
    pub no_wait: bool,
    /// Profiles read at once [default: the number of CPUs].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// `experiment --help`'s text after the options: the keys and presets from the runner's
/// own tables (`buildscope_measure::KEYS`, `PRESETS`), so the help never lists a key the
/// runner does not take.
fn experiment_help() -> String {
    let keys: String = buildscope_measure::KEYS
        .iter()
        .map(|(key, what)| format!("  {key:<16} {what}\n"))
        .collect();
    let presets: String = buildscope_measure::PRESETS
        .iter()
        .map(|(name, what)| format!("  {name:<16} {what}\n"))
        .collect();
    format!(
        "\
Each variant builds in a target directory of its own (target/buildscope/experiments/…), so
variants never invalidate each other; runs are interleaved (A B C A B C …) so drift hits all
alike; settings are applied with cargo's --config, never by editing your files, and checked
against the -C/-Z flags rustc really got. The first variant is the baseline: the others get
the ratio of medians with a 95% bootstrap interval, or \"no significant difference\".

Keys (the value as-is leaves a key as the project has it; unstable -Z options are allowed
on stable by RUSTC_BOOTSTRAP=1 for those variants alone):
{keys}
Presets:
{presets}
Without --cold, --touch or --edit, every build is cold. Ends with the settings that
measured significantly faster, as the Cargo.toml and .cargo/config.toml text that keeps
them; --apply writes it.

Examples:
  buildscope experiment --touch src/main.rs --vary linker=rust-lld,gnu-ld --runs 5
  buildscope experiment --edit src/lib.rs --vary debug=2,line-tables-only --vary incremental=true,false
  buildscope experiment --cold --release --vary codegen-units=16,1 --vary lto=false,thin --baseline-plus-one
  buildscope experiment --touch src/main.rs --preset fast-dev --runs 5 --run 'cargo test -q $BUILDSCOPE_CARGO_ARGS'
  buildscope experiment --touch src/main.rs --vary toolchain=stable,nightly --vary threads=1,4"
    )
}

#[derive(Debug, Args)]
pub struct ExperimentArgs {
    /// A setting and its values to try, as KEY=V1,V2,... (repeatable; the first values
    /// make the baseline).
    #[arg(long, value_name = "KEY=V1,V2")]
    pub vary: Vec<String>,
    /// Vary one key at a time against the baseline instead of every combination.
    #[arg(long)]
    pub baseline_plus_one: bool,
    /// Try a preset's candidates, each alone against the project as it is (with any
    /// --vary added): fast-dev tries debug=line-tables-only, deps-opt-level=1 (if there
    /// are dependencies), mold (if installed), codegen-units=16 and incremental=false.
    #[arg(long, value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(buildscope_measure::PRESETS.iter().map(|(name, _)| *name)))]
    pub preset: Option<String>,
    /// Write the winning settings into Cargo.toml / .cargo/config.toml /
    /// rust-toolchain.toml (each backed up first as FILE.buildscope-backup) and show the
    /// diff. Without it, nothing of yours is changed.
    #[arg(long)]
    pub apply: bool,
    /// Also time this shell command after each variant's build (e.g. the tests), to show a
    /// faster build that makes the program slower. It runs in the workspace with the
    /// variant's CARGO_TARGET_DIR, and $BUILDSCOPE_CARGO_ARGS holds the variant's cargo
    /// arguments: --run 'cargo test -q $BUILDSCOPE_CARGO_ARGS'.
    #[arg(long, value_name = "CMD")]
    pub run: Option<String>,
    /// Print the table as Markdown.
    #[arg(long)]
    pub markdown: bool,
    #[command(flatten)]
    pub build: BuildArgs,
}

const REPORT_HELP: &str = "\
One self-contained HTML page (no network needed): the summary and top findings, a timeline
of every unit split at its metadata point with the critical path marked and the
concurrency under it, where the time went by phase, and for each self-profiled crate its
summarize table, a flame graph and its heaviest invocations. `buildscope build` writes one
into every run folder.

Examples:
  buildscope report                              the latest run of this workspace
  buildscope report latest --compare latest~1 -o compare.html
  buildscope report profiles/ -o profiles.html   self-profiles alone";

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run (id, unique start, `latest`, `latest~N`, or its folder), or profile files and
    /// directories [default: the latest run of this workspace].
    #[arg(value_name = "RUN|PATH")]
    pub target: Vec<String>,
    /// Also compare with this earlier run.
    #[arg(long, value_name = "RUN")]
    pub compare: Option<String>,
    /// Draw an experiment from the history instead (its id, a unique start of it,
    /// `latest` or `latest~N`; see `buildscope runs --experiments`).
    #[arg(long, value_name = "ID", conflicts_with_all = ["target", "compare"])]
    pub experiment: Option<String>,
    /// Where to write the page [default: report.html in the run folder,
    /// buildscope-report.html here for profiles, experiment-ID.html here for --experiment].
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The workspace whose runs `latest` means [default: the one around the current directory].
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    #[command(flatten)]
    pub history: HistoryArgs,
    /// Profiles read at once [default: the number of CPUs].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

const TRACE_HELP: &str = "\
One process per profile, named by crate, on the real wall clock, so a whole build reads as
one timeline; intervals on their real threads with the arguments rustc recorded; artifact
sizes and other integer events as counters. Open it in https://ui.perfetto.dev or
chrome://tracing. Whole-build traces get big: --max-size (default 100MB) raises the minimum
duration until the trace fits, and says what it left out.

Examples:
  buildscope trace target/buildscope/runs/<id>/profiles -o build-trace.json
  buildscope trace --min-duration 50 --collapse-threads syn-1234.mm_profdata";

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// Profile files or directories of them.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Where to write the trace.
    #[arg(short = 'o', long, value_name = "FILE", default_value = "trace.json")]
    pub output: PathBuf,
    /// Leave out intervals shorter than this many microseconds.
    #[arg(long, value_name = "US", default_value_t = 0.0)]
    pub min_duration: f64,
    /// Put threads that never overlap on one track.
    #[arg(long)]
    pub collapse_threads: bool,
    /// Keep the trace under this size (e.g. 100MB, 2GB; 0 for no limit).
    #[arg(long, value_name = "SIZE", default_value = "100MB", value_parser = parse_size)]
    pub max_size: u64,
}

fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim().to_ascii_uppercase();
    let (number, unit) = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((t.as_str(), ""), |i| t.split_at(i));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 100MB"))?;
    let scale = match unit.trim() {
        "" | "B" => 1.0,
        "K" | "KB" => 1e3,
        "M" | "MB" => 1e6,
        "G" | "GB" => 1e9,
        "KIB" => 1024.0,
        "MIB" => 1024.0 * 1024.0,
        "GIB" => 1024.0 * 1024.0 * 1024.0,
        other => return Err(format!("unknown size unit {other:?} (use B, KB, MB, GB)")),
    };
    Ok((value * scale) as u64)
}

const TOP_HELP: &str = "\
Finds the one pathological invocation among thousands: the `evaluate_obligation` that took
40 s on a giant type, the `expand_proc_macro` of one derive. Arguments (the item, type or
macro and its call site) are recorded by rustc with -Zself-profile-events=default,args.

Examples:
  buildscope top profiles/                          the 20 longest invocations of a build
  buildscope top --label evaluate_obligation --full my_crate-1234.mm_profdata
  buildscope top --sort self --top 50 --json profiles/";

const FLAMEGRAPH_HELP: &str = "\
Each frame is an activity (a query, a codegen step); its width is the time spent in it and
what it called. A directory gives one graph of the whole build with a root frame per crate.
Frame names and times show on hover; click to zoom, Ctrl-F to search.

Examples:
  buildscope flamegraph target/buildscope/runs/<id>/profiles -o build.svg
  buildscope flamegraph --icicle --per-thread my_crate-1234.mm_profdata
  buildscope flamegraph profiles/ --collapsed stacks.folded    (for inferno, speedscope, ...)";

#[derive(Debug, Args)]
pub struct FlamegraphArgs {
    /// Profile files or directories of them.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Where to write the SVG [default: flamegraph.svg, unless only --collapsed is asked for].
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the folded stacks (`a;b;c <ns>` per line) to FILE ('-' for stdout).
    #[arg(long, value_name = "FILE")]
    pub collapsed: Option<PathBuf>,
    /// Draw it upside down: roots at the top.
    #[arg(long)]
    pub icicle: bool,
    /// A frame per thread under each crate.
    #[arg(long)]
    pub per_thread: bool,
    /// Draw a run's sampled stacks (`build --sample`) instead of self-profiles: the one
    /// run named (id, `latest`, or its folder).
    #[arg(long)]
    pub samples: bool,
    #[command(flatten)]
    pub history: HistoryArgs,
    /// The title drawn at the top [default: the inputs].
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    /// Profiles read at once [default: the number of CPUs].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

const QUERIES_HELP: &str = "\
Each query that ran (a cache miss) is a node holding the queries it asked for; a cache hit
is a leaf. Extent is a node's number of direct children: a query with a huge extent makes
incremental builds re-check all of them. Hit leaves need profiles recorded with
-Zself-profile-events=default,query-cache-hit (add ,args to see each query's key).

Examples:
  buildscope queries my_crate-1234.mm_profdata
  buildscope queries profiles/ --html queries.html --min-extent 20
  buildscope queries profiles/ --csv > counts.csv";

#[derive(Debug, Args)]
pub struct QueriesArgs {
    /// Profile files or directories of them.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Rows of the counts table shown in the terminal.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub top: usize,
    /// Write the counts as CSV instead of a table.
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// Write counts, pathological nodes and the kept tree as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML view of the tree to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// A node with at least this many direct children is important.
    #[arg(long, value_name = "N", default_value_t = 6)]
    pub min_extent: u64,
    /// A node taking at least this percent of all query time is important.
    #[arg(long, value_name = "PERCENT", default_value_t = 1.0, value_parser = parse_percent)]
    pub min_percent: f64,
    /// At most this many nodes per profile in the tree (the most significant).
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    pub max_nodes: usize,
    /// Profiles read at once [default: the number of CPUs].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

const EXPORT_HELP: &str = "\
Columns: crate, kind, label, thread, start_ns, end_ns, dur_ns, self_ns, depth, args.
Times are nanoseconds from the start of the first profile; args is a JSON array of the
arguments rustc recorded (profile with -Zself-profile-events=default,args). One row per
interval event: cache-hit instants are counted by `summarize`, not listed.

Examples:
  buildscope export profiles/ --format parquet -o events.parquet
  duckdb -c \"SELECT label, sum(self_ns) FROM 'events.parquet' GROUP BY 1 ORDER BY 2 DESC\"
  buildscope export my_crate-1234.mm_profdata --format jsonl -o events.jsonl";

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Profile files or directories of them.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The file format [default: from the output's extension, else csv].
    #[arg(long, value_enum)]
    pub format: Option<ExportFormatArg>,
    /// Where to write the table.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormatArg {
    Csv,
    Jsonl,
    Parquet,
}

const SQL_HELP: &str = "\
Tables:
  events(crate, kind, label, thread, start_ns, end_ns, dur_ns, self_ns, depth, args)
      one row per interval; args is a JSON array (see SQLite's json_each)
  queries(crate, label, self_time_ns, time_ns, count, cache_hits, blocked_time_ns,
          incremental_load_time_ns, incremental_hashing_time_ns)
      the per-crate aggregates that `summarize --per-crate` shows

Examples:
  buildscope sql profiles/ \"SELECT label, count(*), sum(self_ns)/1e6 AS ms FROM events GROUP BY label ORDER BY ms DESC LIMIT 10\"
  buildscope sql profiles/ \"SELECT crate, sum(self_time_ns) FROM queries WHERE label LIKE 'LLVM%' GROUP BY crate\" --csv
  buildscope sql my_crate-1234.mm_profdata \"SELECT dur_ns, args FROM events WHERE label = 'evaluate_obligation' ORDER BY dur_ns DESC LIMIT 5\"";

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// Profile files or directories of them, then the SQL statement.
    #[arg(required = true, num_args = 2.., value_name = "PATH... SQL")]
    pub paths_and_sql: Vec<String>,
    /// Print CSV instead of a table.
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// Print a JSON array of objects.
    #[arg(long)]
    pub json: bool,
    /// Profiles read at once for the aggregates [default: the number of CPUs].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

#[derive(Debug, Args)]
pub struct TopArgs {
    /// Profile files or directories of them.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// How many invocations.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub top: usize,
    /// Rank by duration (children included) or self time.
    #[arg(long, value_enum, default_value_t = TopSort::Time)]
    pub sort: TopSort,
    /// Only invocations whose label contains this text.
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
    /// Show each invocation's arguments whole, not shortened to fit.
    #[arg(long)]
    pub full: bool,
    /// Print the invocations as JSON.
    #[arg(long)]
    pub json: bool,
    /// Profiles read at once [default: the number of CPUs].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TopSort {
    Time,
    #[value(name = "self")]
    Self_,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Judge this run of the history (id, `latest`, `latest~N`, or its folder) instead of
    /// measuring a new one.
    #[arg(long, value_name = "RUN")]
    pub run: Option<String>,
    /// What to compare with: `history` (this workspace's comparable runs), a run of the
    /// history (id or `latest~N`), or a file: a run.json, or `buildscope build --json`
    /// output (all its runs).
    #[arg(long, value_name = "history|RUN|FILE", default_value = "history")]
    pub baseline: String,
    /// Fail when the wall time grew by more than this, beyond the noise: `10%` or `2s`.
    #[arg(long, value_name = "LIMIT")]
    pub fail_if_slower: Option<String>,
    /// Fail when a measure grew beyond a limit and the noise: `wall>5%`, `rss>10%`,
    /// `binary-size>5%`, `unit:serde_derive>20%`, `unit:*>20%` (repeatable).
    #[arg(long, value_name = "MEASURE>LIMIT")]
    pub fail_if: Vec<String>,
    /// How many comparable runs of the history make the baseline.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_HISTORY_SIZE, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub history_size: u32,
    /// Judge the thresholds even without a noise model (too few comparable runs).
    #[arg(long)]
    pub strict: bool,
    /// When a threshold is crossed, measure up to N more times and judge the median of all
    /// runs before failing (a build can be slow once); 0 fails at once. Not with --run.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=20))]
    pub confirm: u32,
    /// Print Markdown (for a pull-request comment) instead of the table.
    #[arg(long)]
    pub markdown: bool,
    /// Also write the measures in Bencher's metric format (BMF JSON) to this file.
    #[arg(long, value_name = "FILE")]
    pub bmf: Option<PathBuf>,
    /// Also write JUnit XML (one test case per threshold) to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write the run's HTML report to this file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub build: BuildArgs,
}

/// Where the run history lives.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The history: a SQLite file, or a PostgreSQL database many machines share
    /// (postgres://user@host/dbname) [default: $XDG_DATA_HOME/buildscope/history.sqlite].
    #[arg(long, value_name = "PATH|URL", env = "BUILDSCOPE_DB")]
    pub db: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    #[command(flatten)]
    pub history: HistoryArgs,
    /// Runs of every workspace, not only the one here.
    #[arg(long)]
    pub all: bool,
    /// List the experiments (`buildscope experiment`) instead of the runs.
    #[arg(long)]
    pub experiments: bool,
    /// The workspace whose runs to list [default: the one around the current directory].
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// At most N runs.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,
    /// Only runs measured on a machine whose description contains TEXT (its CPU model,
    /// cores, memory, OS, toolchain and build settings, as `--json` shows it); without
    /// TEXT, this machine.
    #[arg(long, value_name = "TEXT", num_args = 0..=1, default_missing_value = "")]
    pub machine: Option<String>,
    /// The trend of the latest run's comparable runs (same command, scenario, machine and
    /// settings): a sparkline per measure (wall, CPU, memory, binary size, the largest
    /// units), oldest to newest, each point judged against the ones before it.
    #[arg(long, conflicts_with = "experiments")]
    pub trend: bool,
    /// Write the runs listed (with --all, of every workspace) for analytics engines:
    /// `parquet` writes FILE and, beside it, FILE's units, phases and findings tables
    /// (runs.parquet, runs.units.parquet, runs.phases.parquet, runs.findings.parquet;
    /// columns in docs/history.md).
    #[arg(long, value_name = "FORMAT", value_parser = ["parquet"], requires = "output", conflicts_with_all = ["trend", "experiments"])]
    pub export: Option<String>,
    /// Where --export writes.
    #[arg(short = 'o', long, value_name = "FILE", requires = "export")]
    pub output: Option<PathBuf>,
    /// Print the runs as JSON.
    #[arg(long)]
    pub json: bool,
}

const WHY_HELP: &str = "\
Reasons come from cargo itself (what `cargo build -v` prints for each unit that was not
fresh), recorded by `buildscope build` for every unit that ran: a source file changed, a
dependency was rebuilt, a tracked file is missing, an environment variable, flags,
features or the toolchain changed, or not built before. Without a package, every unit that
ran, with the roots (the units dirty for a reason of their own) and what each cost.

Examples:
  buildscope why                  every rebuilt unit of the latest run, and the roots
  buildscope why report           why `report` rebuilt in the latest run
  buildscope why latest~1 report  in the run before";

#[derive(Debug, Args)]
pub struct WhyArgs {
    /// `[RUN] [PACKAGE]`: a run (id, `latest`, `latest~N`, or its folder) and a package;
    /// one word is a package, unless it names a run [default: the latest run, every unit].
    #[arg(value_name = "RUN|PACKAGE", num_args = 0..=2)]
    pub words: Vec<String>,
    /// The workspace whose runs `latest` means [default: the one around the current directory].
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    #[command(flatten)]
    pub history: HistoryArgs,
    /// Print the reasons as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    #[command(flatten)]
    pub budget: BudgetArgs,
    /// Say what would be pruned; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The workspace whose run folders to prune [default: the one around the current directory].
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// When a buildscope run is measuring this workspace, fail at once instead of waiting
    /// for it to finish.
    #[arg(long)]
    pub no_wait: bool,
    /// Print what was pruned as JSON.
    #[arg(long)]
    pub json: bool,
}

/// How many runs keep their raw self-profiles, and how much disk they may take.
#[derive(Debug, Args, Clone, Default)]
pub struct BudgetArgs {
    /// Keep the raw profiles of the newest N profiled runs [default: $BUILDSCOPE_KEEP_PROFILES, or 10].
    #[arg(long = "keep", value_name = "N")]
    pub keep: Option<usize>,
    /// Keep at most SIZE of raw profiles (2GiB, 500MiB) [default: $BUILDSCOPE_MAX_PROFILE_SIZE, or 2GiB].
    #[arg(long = "max-size", value_name = "SIZE")]
    pub max_size: Option<String>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The earlier run.
    pub a: String,
    /// The later run.
    pub b: String,
    #[command(flatten)]
    pub history: HistoryArgs,
    /// The workspace `latest` refers to [default: the one around the current directory].
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Show at most N units (0 shows all).
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
}

const GC_HELP: &str = "\
A run folder (target/buildscope/runs/<id>) keeps the run's record, its report and the
summaries explain needs, and its raw self-profiles with the Chrome trace made from them:
hundreds of MB for a whole build. The raw profiles are kept for the newest profiled runs
within a budget (the last 10, at most 2 GiB, per workspace); every measuring command applies
it at its end in one line, and gc applies it now. explain, report, compare, check and runs
work on a pruned run; trace, flamegraph, queries, top, export and sql need its raw profiles.
A team's copy outside target/ is build --store-profiles DIR's, never pruned here.

Examples:
  buildscope gc --dry-run              what the budget would prune now
  buildscope gc --keep 3 --max-size 1GiB
  buildscope build --self-profile-crates --keep-profiles 1   (the run just made is always kept)";

const BUILD_HELP: &str = "\
Runs cargo in a target directory of its own (target/buildscope/target), with buildscope as
RUSTC_WRAPPER to time every rustc, and reports the wall time, how busy the cores were, the
slowest units, build scripts and proc macros, and the critical path: the chain of units that
set the wall time, with what the build would save if each were free. Your sources and your
normal target directory are never changed (an --edit is undone, even after Ctrl-C or kill).

Each run leaves a folder (target/buildscope/runs/<id>/) with run.json, logs and profiles.

Examples:
  buildscope build                         the build as it is (cold the first time)
  buildscope build --cold --release        from scratch, release profile
  buildscope build --touch src/main.rs     hot: a rebuild after touching a file
  buildscope build --edit src/lib.rs --runs 5
  buildscope build --self-profile-crates   also self-profile the workspace members
  buildscope build --json > run.json";

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

    /// Profiles read at once [default: the number of CPUs].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortBy {
    #[value(name = "self")]
    Self_,
    Time,
    Count,
    Hits,
}

/// Comparable runs a check's baseline takes: `check --history-size`'s default, and
/// `profile --check`'s.
pub const DEFAULT_HISTORY_SIZE: u32 = 20;

#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Compare two profiles instead of making one: the functions whose self time changed
    /// beyond the runs' spread, and a differential flamegraph (red grew, blue shrank). Each
    /// RUN is a run of the history (id, `latest`, `latest~N`) or its folder; the other runs
    /// of the same `profile --runs N` count with it.
    #[arg(long, num_args = 2, value_names = ["RUN_A", "RUN_B"], conflicts_with_all = ["command", "check"])]
    pub diff: Vec<String>,
    /// Run this command line instead of building one (a program already built); quoted
    /// like a shell would.
    #[arg(long, value_name = "CMD", conflicts_with_all = ["release", "profile", "bins", "examples", "packages", "features", "all_features", "no_default_features", "manifest_path"])]
    pub command: Option<String>,
    /// Build with the release profile (cargo's --release).
    #[arg(short = 'r', long, help_heading = "Cargo options")]
    pub release: bool,
    /// Build with this profile (cargo's --profile).
    #[arg(long, value_name = "NAME", help_heading = "Cargo options")]
    pub profile: Option<String>,
    /// The binary to build and run.
    #[arg(long = "bin", value_name = "NAME", help_heading = "Cargo options")]
    pub bins: Vec<String>,
    /// The example to build and run.
    #[arg(long = "example", value_name = "NAME", help_heading = "Cargo options")]
    pub examples: Vec<String>,
    /// The package whose binary to build (cargo's -p).
    #[arg(
        short = 'p',
        long = "package",
        value_name = "SPEC",
        help_heading = "Cargo options"
    )]
    pub packages: Vec<String>,
    /// Features to activate (cargo's --features).
    #[arg(
        short = 'F',
        long,
        value_name = "FEATURES",
        help_heading = "Cargo options"
    )]
    pub features: Vec<String>,
    #[arg(long, help_heading = "Cargo options")]
    pub all_features: bool,
    #[arg(long, help_heading = "Cargo options")]
    pub no_default_features: bool,
    /// The Cargo.toml to build.
    #[arg(long, value_name = "PATH", help_heading = "Cargo options")]
    pub manifest_path: Option<PathBuf>,
    #[arg(long, help_heading = "Cargo options")]
    pub locked: bool,
    #[arg(long, help_heading = "Cargo options")]
    pub offline: bool,
    #[arg(long, help_heading = "Cargo options")]
    pub frozen: bool,

    /// Run the program N times; figures are medians with their range.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub runs: u32,
    /// The size of the input in your unit (functions, lines, bytes): kept with each run;
    /// runs compare (`check`, `--check`) only with runs of the same command line and size.
    #[arg(long, value_name = "N")]
    pub input_size: Option<u64>,
    /// Feed this file to the program's stdin, on every run (else it reads buildscope's).
    #[arg(long, value_name = "FILE")]
    pub stdin: Option<PathBuf>,
    /// Show the program's output instead of keeping it in the run folder.
    #[arg(long)]
    pub show_output: bool,
    /// Time the runs without sampling them.
    #[arg(long)]
    pub no_sample: bool,
    /// Samples per second [default: perf's, 4000]; more make a short run's function times
    /// steadier (the kernel caps it: /proc/sys/kernel/perf_event_max_sample_rate).
    #[arg(long, value_name = "HZ", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub frequency: Option<u32>,
    /// How many functions to list.
    #[arg(long, value_name = "N", default_value_t = 15)]
    pub top: usize,
    /// Then check the runs against earlier runs of the same command line in the history,
    /// as `buildscope check` checks a build (thresholds wall>10%, cpu>10% and fn:*>10% by
    /// default; a crossing is confirmed by running twice more): exit status 1 when the
    /// program got slower, with the functions that grew named.
    #[arg(long)]
    pub check: bool,
    /// With --check: a threshold instead of the defaults (repeatable; `buildscope check
    /// --help` lists them).
    #[arg(long, value_name = "THRESHOLD", requires = "check")]
    pub fail_if: Vec<String>,
    /// Write the flamegraph here [default: flamegraph.svg in the last run's folder].
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print the profile as JSON (schema buildscope.program/1).
    #[arg(long)]
    pub json: bool,
    /// No progress spinner.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    #[command(flatten)]
    pub history: HistoryArgs,
    /// The program's arguments (after `--`).
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<std::ffi::OsString>,
}

impl ProfileArgs {
    /// The cargo profile the flags select.
    pub fn cargo_profile(&self) -> String {
        match (&self.profile, self.release) {
            (Some(profile), _) => profile.clone(),
            (None, true) => "release".into(),
            (None, false) => "dev".into(),
        }
    }

    /// The flags for `cargo build`, as given.
    pub fn cargo_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        let mut flag = |on: bool, name: &str| {
            if on {
                args.push(name.to_string());
            }
        };
        flag(self.release, "--release");
        flag(self.all_features, "--all-features");
        flag(self.no_default_features, "--no-default-features");
        flag(self.locked, "--locked");
        flag(self.offline, "--offline");
        flag(self.frozen, "--frozen");
        let pairs = [
            (
                "--profile",
                self.profile.iter().cloned().collect::<Vec<_>>(),
            ),
            ("--bin", self.bins.clone()),
            ("--example", self.examples.clone()),
            ("-p", self.packages.clone()),
            ("--features", self.features.clone()),
            (
                "--manifest-path",
                self.manifest_path
                    .iter()
                    .map(|m| m.display().to_string())
                    .collect(),
            ),
        ];
        for (name, values) in pairs {
            for value in values {
                args.extend([name.to_string(), value]);
            }
        }
        args
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CargoCommand {
    Build,
    Check,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The cargo command to measure.
    #[arg(long, value_enum, default_value_t = CargoCommand::Build)]
    pub command: CargoCommand,

    /// Build with the release profile (cargo's --release).
    #[arg(short = 'r', long, help_heading = "Cargo options")]
    pub release: bool,
    /// Build with this profile (cargo's --profile).
    #[arg(long, value_name = "NAME", help_heading = "Cargo options")]
    pub profile: Option<String>,
    /// Package(s) to build (cargo's -p).
    #[arg(
        short = 'p',
        long = "package",
        value_name = "SPEC",
        help_heading = "Cargo options"
    )]
    pub packages: Vec<String>,
    /// Build all workspace members.
    #[arg(long, help_heading = "Cargo options")]
    pub workspace: bool,
    /// Features to activate (cargo's --features).
    #[arg(
        short = 'F',
        long,
        value_name = "FEATURES",
        help_heading = "Cargo options"
    )]
    pub features: Vec<String>,
    #[arg(long, help_heading = "Cargo options")]
    pub all_features: bool,
    #[arg(long, help_heading = "Cargo options")]
    pub no_default_features: bool,
    /// Build for this target triple.
    #[arg(long, value_name = "TRIPLE", help_heading = "Cargo options")]
    pub target: Vec<String>,
    /// Build only the library.
    #[arg(long, help_heading = "Cargo options")]
    pub lib: bool,
    /// Build only this binary.
    #[arg(long = "bin", value_name = "NAME", help_heading = "Cargo options")]
    pub bins: Vec<String>,
    #[arg(long, help_heading = "Cargo options")]
    pub all_targets: bool,
    /// Parallel jobs for cargo.
    #[arg(short = 'j', long, value_name = "N", help_heading = "Cargo options")]
    pub jobs: Option<u32>,
    /// The Cargo.toml to build.
    #[arg(long, value_name = "PATH", help_heading = "Cargo options")]
    pub manifest_path: Option<PathBuf>,
    #[arg(long, help_heading = "Cargo options")]
    pub locked: bool,
    #[arg(long, help_heading = "Cargo options")]
    pub offline: bool,
    #[arg(long, help_heading = "Cargo options")]
    pub frozen: bool,

    /// Build from a clean state (the selected packages, or everything).
    #[arg(long, conflicts_with_all = ["touch", "edit"])]
    pub cold: bool,
    /// Hot build: build once, set this file's mtime, measure the rebuild.
    #[arg(long, value_name = "PATH", conflicts_with = "edit")]
    pub touch: Option<PathBuf>,
    /// Hot build: build once, make a one-line change inside a function body of this file,
    /// measure the rebuild, restore the file byte for byte.
    #[arg(long, value_name = "PATH")]
    pub edit: Option<PathBuf>,
    /// With --edit (or --edit-each-member): change the first N function bodies of the file
    /// instead of one, to see how the rebuild grows with the size of a change (codegen
    /// redoes every codegen unit an edited function is in).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub edit_size: u32,
    /// Hot builds, one per workspace member: edit the member's main source file (lib.rs or
    /// main.rs), measure the rebuild, restore; then a table of the rebuild cost of each.
    #[arg(long, conflicts_with_all = ["cold", "touch", "edit"])]
    pub edit_each_member: bool,
    /// The scenario in one word: cold, touch:PATH or edit:PATH (as --cold, --touch PATH,
    /// --edit PATH).
    #[arg(
        long,
        value_name = "cold|touch:PATH|edit:PATH",
        value_parser = parse_scenario,
        conflicts_with_all = ["cold", "touch", "edit", "edit_each_member"]
    )]
    pub scenario: Option<ScenarioSpec>,
    /// Repeat each measurement N times and report min/median/max.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub runs: u32,

    /// Self-profile every crate (rustc -Zself-profile, on stable via RUSTC_BOOTSTRAP=1 for
    /// this build only); profiles land in the run folder.
    #[arg(long)]
    pub self_profile: bool,
    /// Self-profile these crates only (comma-separated); without names, the workspace
    /// members.
    #[arg(long, value_name = "CRATES", num_args = 0..=1, default_missing_value = "")]
    pub self_profile_crates: Option<String>,
    /// Passed to rustc as -Zself-profile-events. The default records what each query
    /// worked on (the type, the item, the macro), which `explain` and `top` name.
    #[arg(long, value_name = "EVENTS", default_value = "default,args")]
    pub self_profile_events: Option<String>,

    /// Also sample the self-profiled crates' rustc processes with `perf` (the members when
    /// no crate is named): the functions inside rustc and LLVM beneath the self-profile's
    /// labels, drawn by `buildscope flamegraph RUN --samples`. Where sampling is not
    /// permitted the build says why and runs unsampled.
    #[arg(long)]
    pub sample: bool,
    /// Copy each run's folder (record, self-profiles, report, trace) to DIR/<run id> — a
    /// directory the team shares — and record that location in the history.
    #[arg(long, value_name = "DIR")]
    pub store_profiles: Option<PathBuf>,
    /// At the end, keep the raw profiles of the newest N profiled runs of this workspace
    /// (older runs keep their records and summaries; `buildscope gc --help`) [default:
    /// $BUILDSCOPE_KEEP_PROFILES, or 10].
    #[arg(long, value_name = "N")]
    pub keep_profiles: Option<usize>,
    /// At the end, keep at most SIZE of raw profiles in this workspace [default:
    /// $BUILDSCOPE_MAX_PROFILE_SIZE, or 2GiB].
    #[arg(long, value_name = "SIZE")]
    pub max_profile_size: Option<String>,
    /// Take the rebuild reasons from cargo's unstable build-analysis log
    /// (`-Zbuild-analysis`, on stable via RUSTC_BOOTSTRAP=1 for this build only; cargo
    /// writes it under $CARGO_HOME/log, where `cargo report rebuilds` reads it too). It
    /// names the old and new value of a changed environment variable and the exact
    /// dependency that rebuilt; without it the reasons come from `cargo -v`.
    #[arg(long)]
    pub cargo_log: bool,

    #[command(flatten)]
    pub history: HistoryArgs,

    /// The target directory of measured builds [default: target/buildscope/target].
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// Print the run record as JSON (schema: docs/json.md) instead of the report.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// When another buildscope run is measuring this workspace, fail at once instead of
    /// waiting for it to finish (runs in one workspace take turns: they share its target
    /// directory and the files they touch or edit).
    #[arg(long)]
    pub no_wait: bool,
}

impl BuildArgs {
    /// The arguments that go to cargo as they are.
    pub fn cargo_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        let flag = |args: &mut Vec<String>, on: bool, name: &str| {
            if on {
                args.push(name.to_string());
            }
        };
        flag(&mut args, self.release, "--release");
        if let Some(profile) = &self.profile {
            args.extend(["--profile".to_string(), profile.clone()]);
        }
        for p in &self.packages {
            args.extend(["-p".to_string(), p.clone()]);
        }
        flag(&mut args, self.workspace, "--workspace");
        for f in &self.features {
            args.extend(["--features".to_string(), f.clone()]);
        }
        flag(&mut args, self.all_features, "--all-features");
        flag(&mut args, self.no_default_features, "--no-default-features");
        for t in &self.target {
            args.extend(["--target".to_string(), t.clone()]);
        }
        flag(&mut args, self.lib, "--lib");
        for b in &self.bins {
            args.extend(["--bin".to_string(), b.clone()]);
        }
        flag(&mut args, self.all_targets, "--all-targets");
        if let Some(j) = self.jobs {
            args.extend(["-j".to_string(), j.to_string()]);
        }
        if let Some(m) = &self.manifest_path {
            args.extend(["--manifest-path".to_string(), m.display().to_string()]);
        }
        flag(&mut args, self.locked, "--locked");
        flag(&mut args, self.offline, "--offline");
        flag(&mut args, self.frozen, "--frozen");
        args
    }
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

    /// Profiles read at once [default: the number of CPUs].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
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

/// `--scenario`'s value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScenarioSpec {
    Cold,
    Touch(PathBuf),
    Edit(PathBuf),
}

fn parse_scenario(text: &str) -> Result<ScenarioSpec, String> {
    match text.split_once(':') {
        None if text == "cold" => Ok(ScenarioSpec::Cold),
        Some(("touch", path)) if !path.is_empty() => Ok(ScenarioSpec::Touch(path.into())),
        Some(("edit", path)) if !path.is_empty() => Ok(ScenarioSpec::Edit(path.into())),
        _ => Err("expected cold, touch:PATH or edit:PATH".to_string()),
    }
}

impl BuildArgs {
    /// The scenario asked for, by --scenario or by --cold / --touch / --edit.
    pub fn scenario_spec(&self) -> Option<ScenarioSpec> {
        self.scenario.clone().or_else(|| {
            if self.cold {
                Some(ScenarioSpec::Cold)
            } else if let Some(path) = &self.touch {
                Some(ScenarioSpec::Touch(path.clone()))
            } else {
                self.edit.clone().map(ScenarioSpec::Edit)
            }
        })
    }
}

/// Each command's output format, from its flags.
macro_rules! output_format {
    ($($args:ty => |$a:ident| ($json:expr, $markdown:expr, $csv:expr);)*) => {
        $(impl $args {
            pub fn format(&self) -> Format {
                let $a = self;
                Format::from_flags($json, $markdown, $csv)
            }
        })*
    };
}

output_format! {
    ExplainArgs => |a| (a.json, a.markdown, false);
    ExperimentArgs => |a| (a.build.json, a.markdown, false);
    CheckArgs => |a| (a.build.json, a.markdown, false);
    QueriesArgs => |a| (a.json, false, a.csv);
    SqlArgs => |a| (a.json, false, a.csv);
    SummarizeArgs => |a| (a.json, false, a.csv);
    TopArgs => |a| (a.json, false, false);
    RunsArgs => |a| (a.json, false, false);
    GcArgs => |a| (a.json, false, false);
    WhyArgs => |a| (a.json, false, false);
    CompareArgs => |a| (a.json, false, false);
    DiffArgs => |a| (a.json, false, false);
    ScaleArgs => |a| (a.json, false, false);
    BuildArgs => |a| (a.json, false, false);
}
