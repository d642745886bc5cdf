//! The one-line notes a command writes to stderr beside its result (what it wrote, what it
//! is waiting for, what it could not do): worded here, printed by the caller.

use std::fmt;
use std::path::Path;

/// One note for stderr.
pub enum Status<'a> {
    /// A file written.
    Wrote(&'a Path),
    /// A file written, with what is in it (`12 rows`, `340 stacks`).
    WroteWith(&'a Path, Contents<'a>),
    /// A build's report page.
    Report(&'a Path),
    /// An experiment's report page.
    ExperimentReport(&'a Path),
    /// `build --edit-each-member`: the member being measured.
    MeasuringEdit {
        member: &'a str,
        path: &'a Path,
    },
    /// `explain --verify` starting its experiment.
    Verifying {
        variants: usize,
        rounds: u32,
        scenario: &'a str,
    },
    /// `explain --verify` trying the bill's levers on scratch copies.
    ProvingLevers {
        levers: usize,
        rounds: usize,
    },
    /// Another run holds the workspace.
    WaitingForLock(Option<u32>),
    NoReport {
        run: &'a str,
        error: &'a str,
    },
    ExperimentNotRecorded(&'a str),
    NoExperimentReport(&'a str),
    /// A run measured but not added to the history.
    RunNotRecorded {
        error: &'a str,
        run_dir: &'a Path,
    },
    SchemaUpToDate {
        location: &'a str,
        version: i64,
    },
    Copied {
        runs: usize,
        experiments: usize,
        from: &'a str,
        to: &'a str,
    },
    AddedRun {
        id: &'a str,
        location: &'a str,
    },
    /// An edit a killed run left behind, undone.
    Restored(&'a Path),
    /// A note a library worded.
    Note(&'a str),
    /// A warning a library worded.
    Warning(&'a str),
    /// The one line a failed command ends with.
    Error(&'a str),
}

/// What a progress bar says it is doing.
pub enum Activity<'a> {
    Cleaning,
    WarmUp(usize),
    Building,
    /// Run `run` of `of` (more than one).
    Run {
        run: usize,
        of: usize,
    },
    /// The units rustc is compiling now.
    Compiling(&'a [String]),
    /// An experiment's first build of a variant.
    FirstBuild(&'a str),
    /// An experiment's round, with the time it expects to take still.
    Round {
        round: usize,
        rounds: usize,
        variant: &'a str,
        time_left_ns: Option<u64>,
    },
    /// `scale`: the size being measured.
    Size(u64),
}

impl fmt::Display for Activity<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Activity::Cleaning => write!(f, "cleaning"),
            Activity::WarmUp(run) => write!(f, "warm-up {run}"),
            Activity::Building => write!(f, "building"),
            Activity::Run { run, of } => write!(f, "run {run}/{of}"),
            Activity::Compiling(units) => write!(f, "compiling {}", units.join(", ")),
            Activity::FirstBuild(variant) => write!(f, "first build: {variant}"),
            // The estimate first: a long variant name is what the terminal cuts.
            Activity::Round {
                round,
                rounds,
                variant,
                time_left_ns,
            } => {
                if let Some(ns) = time_left_ns {
                    write!(f, "about {} left, ", crate::format::human_duration(*ns))?;
                }
                write!(f, "round {round}/{rounds}: {variant}")
            }
            Activity::Size(n) => write!(f, "n={n}"),
        }
    }
}

/// What a written file holds.
pub enum Contents<'a> {
    Rows(usize),
    EventRows {
        rows: u64,
        profiles: usize,
    },
    Stacks {
        stacks: usize,
        source: Option<&'a str>,
    },
    Nodes(usize),
}

impl fmt::Display for Contents<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Contents::Rows(n) => write!(f, "{n} rows"),
            Contents::EventRows { rows, profiles } => write!(
                f,
                "{rows} rows from {profiles} profile{}",
                if *profiles == 1 { "" } else { "s" }
            ),
            Contents::Stacks {
                stacks,
                source: None,
            } => write!(f, "{stacks} stacks"),
            Contents::Stacks {
                stacks,
                source: Some(source),
            } => write!(f, "{stacks} stacks, {source}"),
            Contents::Nodes(n) => write!(f, "{n} nodes"),
        }
    }
}

impl fmt::Display for Status<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Wrote(path) => write!(f, "wrote {}", path.display()),
            Status::WroteWith(path, contents) => write!(f, "wrote {}: {contents}", path.display()),
            Status::Report(path) => write!(f, "Report: {}", path.display()),
            Status::ExperimentReport(path) => write!(f, "report: {}", path.display()),
            Status::MeasuringEdit { member, path } => write!(
                f,
                "buildscope: measuring an edit in {member} ({})",
                path.display()
            ),
            Status::Verifying {
                variants,
                rounds,
                scenario,
            } => write!(
                f,
                "buildscope: verifying with {variants} variants × {rounds} rounds ({scenario})…"
            ),
            Status::ProvingLevers { levers, rounds } => write!(
                f,
                "buildscope: trying {levers} Cargo.toml change(s) on scratch copies of the workspace, {rounds} cold build(s) each way…"
            ),
            Status::WaitingForLock(pid) => write!(
                f,
                "buildscope: waiting for another buildscope run{} measuring this workspace \
                 (--no-wait to fail instead)",
                pid.map(|p| format!(" (process {p})")).unwrap_or_default()
            ),
            Status::NoReport { run, error } => write!(f, "warning: no report for run {run}: {error}"),
            Status::ExperimentNotRecorded(error) => write!(
                f,
                "warning: the experiment was not added to the history: {error}"
            ),
            Status::NoExperimentReport(error) => {
                write!(f, "warning: no report of the experiment: {error}")
            }
            Status::RunNotRecorded { error, run_dir } => write!(
                f,
                "warning: the run was not added to the history ({error}); it is kept in {0}: add it later with `buildscope db import {0}`",
                run_dir.display()
            ),
            Status::SchemaUpToDate { location, version } => {
                write!(f, "{location}: schema version {version}, up to date")
            }
            Status::Copied {
                runs,
                experiments,
                from,
                to,
            } => write!(
                f,
                "copied {runs} runs and {experiments} experiments from {from} to {to}"
            ),
            Status::AddedRun { id, location } => write!(f, "added run {id} to {location}"),
            Status::Restored(path) => write!(
                f,
                "buildscope: restored {} (an earlier run was interrupted during its --edit)",
                path.display()
            ),
            Status::Note(note) => write!(f, "buildscope: {note}"),
            Status::Warning(warning) => write!(f, "warning: {warning}"),
            Status::Error(line) => write!(f, "error: {line}"),
        }
    }
}
