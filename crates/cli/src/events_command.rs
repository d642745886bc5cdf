//! `export` and `sql`: the flat event table for other tools, and SQL over it.

use crate::terminal::say;
use buildscope_output::{Contents, Status};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use buildscope_output::{
    export_events, render_rows, rows_csv, ExportError, ExportFormat, Format, OutputFile, Style,
};
use buildscope_store::{EventsDb, SqlError, SqlValue};

use crate::cli::{ExportArgs, ExportFormatArg, SqlArgs};
use crate::terminal::print;

pub(crate) fn export(args: ExportArgs) -> Result<ExitCode> {
    let set = buildscope_profile::find_profiles(&args.paths)?;
    let extension = args
        .output
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let format = match (args.format, extension.as_deref()) {
        (Some(ExportFormatArg::Csv), _) => ExportFormat::Csv,
        (Some(ExportFormatArg::Jsonl), _) => ExportFormat::Jsonl,
        (Some(ExportFormatArg::Parquet), _) => ExportFormat::Parquet,
        (None, Some("parquet")) => ExportFormat::Parquet,
        (None, Some("jsonl" | "ndjson" | "json")) => ExportFormat::Jsonl,
        (None, _) => ExportFormat::Csv,
    };
    let mut output = OutputFile::create(&args.output)?;
    let rows = export_events(&set.files, format, output.file()).map_err(|e| match e {
        // A profile's error names the profile; the others concern the output.
        ExportError::Profile(e) => anyhow::Error::from(e),
        e => anyhow::anyhow!("{}: {e}", args.output.display()),
    })?;
    output.commit()?;
    say(Status::WroteWith(
        &args.output,
        Contents::EventRows {
            rows,
            profiles: set.files.len(),
        },
    ));
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn sql(args: SqlArgs, threads: usize, style: &Style) -> Result<ExitCode> {
    let (statement, paths) = args
        .paths_and_sql
        .split_last()
        .expect("clap requires at least two values");
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    let set = buildscope_profile::find_profiles(&paths)?;
    let db = EventsDb::load(&set.files, threads).map_err(|e| match e {
        SqlError::Profile(e) => anyhow::Error::from(e),
        e => anyhow::Error::from(e),
    })?;
    let result = db.query(statement)?;
    let format = args.format();
    let text = if format == Format::Json {
        let objects: Vec<serde_json::Map<String, serde_json::Value>> = result
            .rows
            .iter()
            .map(|row| {
                result
                    .columns
                    .iter()
                    .cloned()
                    .zip(
                        row.iter()
                            .map(|v| serde_json::to_value(v).expect("values serialize")),
                    )
                    .collect()
            })
            .collect();
        serde_json::to_string_pretty(&objects)? + "\n"
    } else {
        let rows: Vec<Vec<String>> = result
            .rows
            .iter()
            .map(|row| row.iter().map(SqlValue::to_string).collect())
            .collect();
        if format == Format::Csv {
            rows_csv(&result.columns, &rows)
        } else {
            let numeric: Vec<bool> = (0..result.columns.len())
                .map(|i| {
                    !result.rows.is_empty()
                        && result.rows.iter().all(|r| {
                            matches!(
                                r[i],
                                SqlValue::Integer(_) | SqlValue::Real(_) | SqlValue::Null
                            )
                        })
                })
                .collect();
            render_rows(&result.columns, &rows, &numeric, style)
        }
    };
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}
