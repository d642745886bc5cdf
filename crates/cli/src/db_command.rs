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
