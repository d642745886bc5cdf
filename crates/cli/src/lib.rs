//! The `buildscope` command line. It parses arguments and wires the library crates
//! together; it holds no analysis and no rendering of its own.

// Arguments, and the modules every command shares (none imports a command module).
mod budget;
mod cli;
mod measuring;
mod pages;
mod resolve;
mod terminal;
// One module per command or family of commands; they import only the shared ones above.
mod build_command;
mod check_command;
mod db_command;
mod events_command;
mod experiment_command;
mod explain_command;
mod gc_command;
mod history_command;
mod profile_commands;
mod program_command;
mod report_command;
mod scale_command;
mod why_command;

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use crate::cli::{Cli, Command};
use crate::terminal::{terminal_style, threads};

/// Exit status for bad input (a missing, unreadable or corrupt file, a bad argument).
const EXIT_BAD_INPUT: u8 = 2;

pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    // Started by rustc as its linker, or by cargo as RUSTC_WRAPPER: be transparent, and
    // nothing else.
    if buildscope_measure::invoked_as_linker() {
        let args: Vec<OsString> = args.into_iter().skip(1).collect();
        return ExitCode::from(buildscope_measure::run_linker_shim(&args).clamp(0, 255) as u8);
    }
    if buildscope_measure::invoked_as_timer() {
        let args: Vec<OsString> = args.into_iter().skip(1).collect();
        return ExitCode::from(buildscope_measure::run_timer(&args).clamp(0, 255) as u8);
    }
    if buildscope_measure::invoked_as_wrapper() {
        let args: Vec<OsString> = args.into_iter().skip(1).collect();
        return ExitCode::from(buildscope_measure::run_wrapper(&args).clamp(0, 255) as u8);
    }
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print to stdout and succeed; usage errors exit 2.
            let _ = e.print();
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            crate::terminal::say(buildscope_output::Status::Error(&one_line(&e)));
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

/// Hands each subcommand its arguments, with the terminal's style and thread count.
fn dispatch(cli: Cli) -> Result<ExitCode> {
    let style = terminal_style(cli.color);
    let done = |result: Result<()>| result.map(|()| ExitCode::SUCCESS);
    match cli.command {
        Command::Summarize(args) => {
            let threads = threads(args.threads);
            done(profile_commands::summarize(args, threads, &style))
        }
        Command::Diff(args) => {
            let threads = threads(args.threads);
            done(profile_commands::diff_command(args, threads, &style))
        }
        Command::Build(args) => build_command::build(args, &style),
        Command::Explain(args) => {
            let threads = threads(args.threads);
            explain_command::explain(args, threads, &style)
        }
        Command::Experiment(args) => experiment_command::experiment(args, &style),
        Command::Report(args) => {
            let threads = threads(args.threads);
            report_command::report(args, threads)
        }
        Command::Trace(args) => done(profile_commands::trace(args)),
        Command::Flamegraph(args) => {
            let threads = threads(args.threads);
            done(profile_commands::flamegraph(args, threads))
        }
        Command::Queries(args) => {
            let threads = threads(args.threads);
            done(profile_commands::queries(args, threads, &style))
        }
        Command::Export(args) => events_command::export(args),
        Command::Sql(args) => {
            let threads = threads(args.threads);
            events_command::sql(args, threads, &style)
        }
        Command::Top(args) => {
            let threads = threads(args.threads);
            done(profile_commands::top(args, threads, &style))
        }
        Command::Runs(args) => history_command::runs(args, &style),
        Command::Compare(args) => history_command::compare(args, &style),
        Command::Why(args) => why_command::why(args, &style),
        Command::Gc(args) => gc_command::gc(args, &style),
        Command::Check(args) => check_command::check(args, &style),
        Command::Db(args) => db_command::db(args),
        Command::Scale(args) => scale_command::scale(args, &style),
        Command::Profile(args) => program_command::profile(args, &style),
    }
}

/// `summarize ... | head` closes the pipe early: that is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes on one line, without repeating a cause its parent already says.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.replace('\n', " ")
}
