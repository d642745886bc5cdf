//! `buildscope db`: the history database itself — migrate, copy, import.

use crate::terminal::say;
use buildscope_output::Status;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use buildscope_analysis::RunRecord;
use buildscope_store::{Location, Store};

use crate::cli::{DbArgs, DbCommand};
use crate::resolve::open_store;
use buildscope_workflow::record_run;

pub(crate) fn db(args: DbArgs) -> Result<ExitCode> {
    match args.command {
        DbCommand::Migrate { history } => {
            let store = open_store(&history)?;
            say(Status::SchemaUpToDate {
                location: &store.location(),
                version: store.schema_version()?,
            });
        }
        DbCommand::Copy { from, to } => {
            let source = Store::open(&Location::parse(&from)?)?;
            let target = Store::open(&Location::parse(&to)?)?;
            let (runs, experiments) = source.copy_into(&target)?;
            say(Status::Copied {
                runs,
                experiments,
                from: &source.location(),
                to: &target.location(),
            });
        }
        DbCommand::Prune {
            older_than,
            dry_run,
            history,
        } => {
            let age =
                parse_age(&older_than).with_context(|| format!("--older-than {older_than}"))?;
            let cutoff = buildscope_measure::now_ns().saturating_sub(age);
            let store = open_store(&history)?;
            let (runs, experiments) = if dry_run {
                store.count_older_than(cutoff)?
            } else {
                store.prune_older_than(cutoff)?
            };
            say(Status::Note(&format!(
                "{} {runs} run{} and {experiments} experiment{} older than {older_than} from {}",
                if dry_run { "would remove" } else { "removed" },
                if runs == 1 { "" } else { "s" },
                if experiments == 1 { "" } else { "s" },
                store.location()
            )));
        }
        DbCommand::Import { runs, history } => {
            let store = open_store(&history)?;
            for path in &runs {
                let record = read_record(path)?;
                record_run(&store, &record)
                    .with_context(|| format!("{}: not added to the history", path.display()))?;
                say(Status::AddedRun {
                    id: &record.id,
                    location: &store.location(),
                });
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The run record of a run folder (or its run.json).
fn read_record(path: &Path) -> Result<RunRecord> {
    let file = if path.is_dir() {
        path.join("run.json")
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("{}: cannot read a run record", file.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{}: not a buildscope run record", file.display()))
}

/// `90d`, `12w`, `36h`: an age in nanoseconds.
fn parse_age(text: &str) -> Result<u64> {
    let (number, unit) = buildscope_analysis::number_and_unit(text);
    let number: u64 = number
        .parse()
        .map_err(|_| anyhow::anyhow!("not an age (write it as 90d, 12w or 36h)"))?;
    let hour = 3_600_000_000_000u64;
    let scale = match unit {
        "h" => hour,
        "d" => 24 * hour,
        "w" => 7 * 24 * hour,
        other => anyhow::bail!("unknown unit `{other}` (h, d or w)"),
    };
    Ok(number.saturating_mul(scale))
}

#[cfg(test)]
mod tests {
    use super::parse_age;

    #[test]
    fn ages_read_in_hours_days_and_weeks() {
        let day = 86_400_000_000_000u64;
        assert_eq!(parse_age("90d").unwrap(), 90 * day);
        assert_eq!(parse_age("2w").unwrap(), 14 * day);
        assert_eq!(parse_age("36h").unwrap(), 36 * day / 24);
        assert!(parse_age("soon").is_err());
        assert!(parse_age("3y").is_err());
    }
}
