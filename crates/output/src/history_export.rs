//! The history for analytics engines (DuckDB, Polars, Spark): four Parquet tables joined by
//! `run_id` — the runs, their units, each profiled crate's CPU time by phase, and the
//! findings — written as `<name>.parquet`, `<name>.units.parquet`, `<name>.phases.parquet`
//! and `<name>.findings.parquet`. The columns are in docs/history.md.

use std::path::{Path, PathBuf};

use buildscope_analysis::{CratePhases, Finding, RunRow, Unit};

use crate::export::ExportError;
use crate::finding_text::{finding_text, FindingText};

/// One run as the export sees it: the history's row, its units, and what its folder
/// still holds.
#[derive(Debug, Clone)]
pub struct ExportedRun {
    pub row: RunRow,
    pub units: Vec<Unit>,
    /// From the run's folder, when it is still there (`None`: gone, or never profiled).
    pub phases: Option<Vec<CratePhases>>,
    pub findings: Option<Vec<Finding>>,
}

/// A column of one of the tables.
// Read only by the Parquet writer: without the feature the export says so instead.
#[cfg_attr(not(feature = "parquet"), allow(dead_code))]
enum Column {
    Int(Vec<Option<i64>>),
    Text(Vec<Option<String>>),
    Bool(Vec<Option<bool>>),
}

#[cfg_attr(not(feature = "parquet"), allow(dead_code))]
struct Table {
    name: &'static str,
    columns: Vec<(&'static str, Column)>,
}

fn int(v: u64) -> Option<i64> {
    Some(v.min(i64::MAX as u64) as i64)
}

fn text(v: &str) -> Option<String> {
    Some(v.to_string())
}

fn tables(runs: &[ExportedRun]) -> [Table; 4] {
    let runs_table = Table {
        name: "runs",
        columns: vec![
            (
                "run_id",
                Column::Text(runs.iter().map(|r| text(&r.row.id)).collect()),
            ),
            (
                "workspace_root",
                Column::Text(
                    runs.iter()
                        .map(|r| text(&r.row.workspace_root.display().to_string()))
                        .collect(),
                ),
            ),
            (
                "started_at_ns",
                Column::Int(runs.iter().map(|r| int(r.row.started_at_ns)).collect()),
            ),
            (
                "command",
                Column::Text(runs.iter().map(|r| text(&r.row.command)).collect()),
            ),
            (
                "scenario",
                Column::Text(runs.iter().map(|r| text(&r.row.scenario)).collect()),
            ),
            (
                "success",
                Column::Bool(runs.iter().map(|r| Some(r.row.success)).collect()),
            ),
            (
                "wall_ns",
                Column::Int(runs.iter().map(|r| int(r.row.wall_ns)).collect()),
            ),
            (
                "cpu_ns",
                Column::Int(runs.iter().map(|r| int(r.row.cpu_ns)).collect()),
            ),
            (
                "units",
                Column::Int(runs.iter().map(|r| int(r.units.len() as u64)).collect()),
            ),
            (
                "fresh_units",
                Column::Int(runs.iter().map(|r| int(r.row.fresh_units as u64)).collect()),
            ),
            (
                "critical_chain_ns",
                Column::Int(runs.iter().map(|r| int(r.row.critical_chain_ns)).collect()),
            ),
            (
                "run_dir",
                Column::Text(
                    runs.iter()
                        .map(|r| text(&r.row.run_dir.display().to_string()))
                        .collect(),
                ),
            ),
            (
                "machine",
                Column::Text(runs.iter().map(|r| text(&r.row.machine)).collect()),
            ),
        ],
    };
    let units: Vec<(&ExportedRun, &Unit)> = runs
        .iter()
        .flat_map(|r| r.units.iter().map(move |u| (r, u)))
        .collect();
    let units_table = Table {
        name: "units",
        columns: vec![
            (
                "run_id",
                Column::Text(units.iter().map(|(r, _)| text(&r.row.id)).collect()),
            ),
            (
                "unit_id",
                Column::Int(units.iter().map(|(_, u)| int(u.id as u64)).collect()),
            ),
            (
                "package",
                Column::Text(units.iter().map(|(_, u)| text(&u.package)).collect()),
            ),
            (
                "version",
                Column::Text(units.iter().map(|(_, u)| text(&u.version)).collect()),
            ),
            (
                "target",
                Column::Text(units.iter().map(|(_, u)| text(&u.target)).collect()),
            ),
            (
                "kind",
                Column::Text(units.iter().map(|(_, u)| text(u.kind.as_str())).collect()),
            ),
            (
                "start_ns",
                Column::Int(units.iter().map(|(_, u)| int(u.start_ns)).collect()),
            ),
            (
                "rmeta_ns",
                Column::Int(
                    units
                        .iter()
                        .map(|(_, u)| u.rmeta_ns.and_then(int))
                        .collect(),
                ),
            ),
            (
                "end_ns",
                Column::Int(units.iter().map(|(_, u)| int(u.end_ns)).collect()),
            ),
            (
                "duration_ns",
                Column::Int(units.iter().map(|(_, u)| int(u.duration_ns())).collect()),
            ),
            (
                "cpu_ns",
                Column::Int(units.iter().map(|(_, u)| u.cpu_ns.and_then(int)).collect()),
            ),
            (
                "max_rss_bytes",
                Column::Int(
                    units
                        .iter()
                        .map(|(_, u)| u.max_rss_bytes.and_then(int))
                        .collect(),
                ),
            ),
        ],
    };
    let phases: Vec<(&ExportedRun, &str, &str, u64)> = runs
        .iter()
        .flat_map(|r| {
            r.phases.iter().flatten().flat_map(move |c| {
                c.phases
                    .phases
                    .iter()
                    .map(move |p| (r, c.crate_name.as_str(), p.title, p.self_ns))
            })
        })
        .collect();
    let phases_table = Table {
        name: "phases",
        columns: vec![
            (
                "run_id",
                Column::Text(phases.iter().map(|p| text(&p.0.row.id)).collect()),
            ),
            (
                "crate",
                Column::Text(phases.iter().map(|p| text(p.1)).collect()),
            ),
            (
                "phase",
                Column::Text(phases.iter().map(|p| text(p.2)).collect()),
            ),
            (
                "cpu_ns",
                Column::Int(phases.iter().map(|p| int(p.3)).collect()),
            ),
        ],
    };
    let findings: Vec<(&ExportedRun, usize, &Finding, FindingText)> = runs
        .iter()
        .flat_map(|r| {
            r.findings
                .iter()
                .flatten()
                .enumerate()
                .map(move |(i, f)| (r, i + 1, f, finding_text(f)))
        })
        .collect();
    let findings_table = Table {
        name: "findings",
        columns: vec![
            (
                "run_id",
                Column::Text(findings.iter().map(|f| text(&f.0.row.id)).collect()),
            ),
            (
                "rank",
                Column::Int(findings.iter().map(|f| int(f.1 as u64)).collect()),
            ),
            (
                "cause",
                Column::Text(
                    findings
                        .iter()
                        .map(|f| {
                            serde_json::to_value(f.2.cause())
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_string))
                        })
                        .collect(),
                ),
            ),
            (
                "crate",
                Column::Text(findings.iter().map(|f| f.2.crate_name.clone()).collect()),
            ),
            (
                "title",
                Column::Text(findings.iter().map(|f| text(&f.3.title)).collect()),
            ),
            (
                "estimate_ns",
                Column::Int(findings.iter().map(|f| int(f.2.estimate_ns)).collect()),
            ),
            (
                "cpu_ns",
                Column::Int(findings.iter().map(|f| f.2.cpu_ns.and_then(int)).collect()),
            ),
            (
                "fix",
                Column::Text(findings.iter().map(|f| text(&f.3.fix)).collect()),
            ),
        ],
    };
    [runs_table, units_table, phases_table, findings_table]
}

/// The four files for `path` (`runs.parquet` → `runs.parquet`, `runs.units.parquet`, …).
pub fn history_export_paths(path: &Path) -> [PathBuf; 4] {
    let stem = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "history.parquet".into());
    let stem = stem.strip_suffix(".parquet").unwrap_or(&stem).to_string();
    let sibling = |table: &str| path.with_file_name(format!("{stem}.{table}.parquet"));
    [
        path.to_path_buf(),
        sibling("units"),
        sibling("phases"),
        sibling("findings"),
    ]
}

/// Writes the four tables; returns each file and its row count.
pub fn export_history(
    runs: &[ExportedRun],
    path: &Path,
) -> Result<Vec<(PathBuf, usize)>, ExportError> {
    let paths = history_export_paths(path);
    let mut written = Vec::new();
    for (table, path) in tables(runs).iter().zip(paths) {
        let rows = write_table(table, &path)?;
        written.push((path, rows));
    }
    Ok(written)
}

#[cfg(not(feature = "parquet"))]
fn write_table(_table: &Table, _path: &Path) -> Result<usize, ExportError> {
    Err(ExportError::NoParquet)
}

#[cfg(feature = "parquet")]
fn write_table(table: &Table, path: &Path) -> Result<usize, ExportError> {
    use parquet::basic::Compression;
    use parquet::data_type::{BoolType, ByteArray, ByteArrayType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use std::sync::Arc;

    let pq = |e: parquet::errors::ParquetError| ExportError::Parquet(e.to_string());
    let fields: Vec<String> = table
        .columns
        .iter()
        .map(|(name, column)| {
            let kind = match column {
                Column::Int(_) => "INT64",
                Column::Text(_) => "BYTE_ARRAY",
                Column::Bool(_) => "BOOLEAN",
            };
            let logical = if matches!(column, Column::Text(_)) {
                " (UTF8)"
            } else {
                ""
            };
            format!("OPTIONAL {kind} {name}{logical};")
        })
        .collect();
    let schema = format!("message {} {{ {} }}", table.name, fields.join(" "));
    let schema = Arc::new(parquet::schema::parser::parse_message_type(&schema).map_err(pq)?);
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    let out = crate::OutputFile::create(path)?;
    let mut out = out;
    let rows = table.columns.first().map_or(0, |(_, c)| match c {
        Column::Int(v) => v.len(),
        Column::Text(v) => v.len(),
        Column::Bool(v) => v.len(),
    });
    {
        let mut writer = SerializedFileWriter::new(out.file(), schema, props).map_err(pq)?;
        let mut group = writer.next_row_group().map_err(pq)?;
        for (_, column) in &table.columns {
            let mut writer = group
                .next_column()
                .map_err(pq)?
                .expect("a column per field");
            // Present values, and a definition level per row (1: present, 0: null).
            fn split<T: Clone>(values: &[Option<T>]) -> (Vec<T>, Vec<i16>) {
                let present = values.iter().flatten().cloned().collect();
                let levels = values.iter().map(|v| v.is_some() as i16).collect();
                (present, levels)
            }
            match column {
                Column::Int(v) => {
                    let (values, levels) = split(v);
                    writer
                        .typed::<Int64Type>()
                        .write_batch(&values, Some(&levels), None)
                }
                Column::Bool(v) => {
                    let (values, levels) = split(v);
                    writer
                        .typed::<BoolType>()
                        .write_batch(&values, Some(&levels), None)
                }
                Column::Text(v) => {
                    let (values, levels) = split(v);
                    let values: Vec<ByteArray> =
                        values.iter().map(|s| ByteArray::from(s.as_str())).collect();
                    writer
                        .typed::<ByteArrayType>()
                        .write_batch(&values, Some(&levels), None)
                }
            }
            .map_err(pq)?;
            writer.close().map_err(pq)?;
        }
        group.close().map_err(pq)?;
        writer.close().map_err(pq)?;
    }
    out.commit()?;
    Ok(rows)
}
