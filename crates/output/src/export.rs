//! The flat event table written for other tools: CSV, JSON lines, or Parquet (for DuckDB,
//! Polars, Spark). One row per interval; columns as `buildscope_analysis::EVENT_COLUMNS`.
//! `args` is a JSON array of strings (in JSON lines, a real array).

use std::io::Write;
use std::path::PathBuf;

use buildscope_analysis::{for_each_event_row, EventRow, EVENT_COLUMNS};
use buildscope_profile::{Profile, ProfileError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Jsonl,
    Parquet,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error("writing: {0}")]
    Write(#[from] std::io::Error),
    #[error("writing Parquet: {0}")]
    Parquet(String),
    #[error("this buildscope was built without Parquet support (cargo feature `parquet`)")]
    NoParquet,
    #[error(transparent)]
    Output(#[from] crate::OutputFileError),
}

/// Writes every interval of `files` to `out`; returns the number of rows.
pub fn export_events(
    files: &[PathBuf],
    format: ExportFormat,
    out: &mut std::fs::File,
) -> Result<u64, ExportError> {
    let origin = buildscope_profile::earliest_start(files)?;
    match format {
        ExportFormat::Csv | ExportFormat::Jsonl => {
            let mut w = std::io::BufWriter::with_capacity(1 << 20, out);
            if format == ExportFormat::Csv {
                writeln!(w, "{}", EVENT_COLUMNS.join(","))?;
            }
            let mut rows = 0u64;
            let mut line = String::new();
            for path in files {
                let mut profile = Profile::open(path)?;
                let mut error = None;
                for_each_event_row(&mut profile, origin, |row| {
                    line.clear();
                    if format == ExportFormat::Csv {
                        push_csv_row(&mut line, row);
                    } else {
                        push_json_row(&mut line, row);
                    }
                    if error.is_none() {
                        if let Err(e) = w.write_all(line.as_bytes()) {
                            error = Some(e);
                        }
                    }
                    rows += 1;
                })?;
                if let Some(e) = error {
                    return Err(e.into());
                }
            }
            w.flush()?;
            Ok(rows)
        }
        ExportFormat::Parquet => write_parquet(files, origin, out),
    }
}

fn push_csv_row(line: &mut String, row: &EventRow) {
    use std::fmt::Write as _;
    let _ = writeln!(
        line,
        "{},{},{},{},{},{},{},{},{},{}",
        crate::csv::quote(row.crate_name),
        crate::csv::quote(row.kind),
        crate::csv::quote(row.label),
        row.thread,
        row.start_ns,
        row.end_ns,
        row.end_ns - row.start_ns,
        row.self_ns,
        row.depth,
        crate::csv::quote(&row.args_json())
    );
}

/// A row as JSON, fields in column order, written without building a `Value`.
#[derive(serde::Serialize)]
struct JsonRow<'a> {
    #[serde(rename = "crate")]
    crate_name: &'a str,
    kind: &'a str,
    label: &'a str,
    thread: u32,
    start_ns: u64,
    end_ns: u64,
    dur_ns: u64,
    self_ns: u64,
    depth: u32,
    args: &'a [String],
}

fn push_json_row(line: &mut String, row: &EventRow) {
    let json = serde_json::to_string(&JsonRow {
        crate_name: row.crate_name,
        kind: row.kind,
        label: row.label,
        thread: row.thread,
        start_ns: row.start_ns,
        end_ns: row.end_ns,
        dur_ns: row.end_ns - row.start_ns,
        self_ns: row.self_ns,
        depth: row.depth,
        args: &row.args,
    })
    .expect("rows serialize");
    line.push_str(&json);
    line.push('\n');
}

#[cfg(not(feature = "parquet"))]
fn write_parquet(
    _files: &[PathBuf],
    _origin: u64,
    _out: &mut std::fs::File,
) -> Result<u64, ExportError> {
    Err(ExportError::NoParquet)
}

#[cfg(feature = "parquet")]
fn write_parquet(
    files: &[PathBuf],
    origin: u64,
    out: &mut std::fs::File,
) -> Result<u64, ExportError> {
    use parquet::basic::Compression;
    use parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use std::sync::Arc;

    const SCHEMA: &str = "message events {
        REQUIRED BYTE_ARRAY crate (UTF8);
        REQUIRED BYTE_ARRAY kind (UTF8);
        REQUIRED BYTE_ARRAY label (UTF8);
        REQUIRED INT32 thread;
        REQUIRED INT64 start_ns;
        REQUIRED INT64 end_ns;
        REQUIRED INT64 dur_ns;
        REQUIRED INT64 self_ns;
        REQUIRED INT32 depth;
        REQUIRED BYTE_ARRAY args (UTF8);
    }";
    /// Rows per row group: big enough for good compression, small enough to bound memory.
    const GROUP_ROWS: usize = 1 << 17;

    #[derive(Default)]
    struct Columns {
        text: [Vec<ByteArray>; 3],
        thread: Vec<i32>,
        times: [Vec<i64>; 4],
        depth: Vec<i32>,
        args: Vec<ByteArray>,
    }

    let pq = |e: parquet::errors::ParquetError| ExportError::Parquet(e.to_string());
    let schema = Arc::new(parquet::schema::parser::parse_message_type(SCHEMA).map_err(pq)?);
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    let mut writer = SerializedFileWriter::new(out, schema, props).map_err(pq)?;
    let mut columns = Columns::default();

    let flush = |columns: &mut Columns,
                 writer: &mut SerializedFileWriter<&mut std::fs::File>|
     -> Result<(), ExportError> {
        if columns.thread.is_empty() {
            return Ok(());
        }
        let mut group = writer.next_row_group().map_err(pq)?;
        let mut index = 0;
        while let Some(mut column) = group.next_column().map_err(pq)? {
            match index {
                0..=2 => {
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(&columns.text[index], None, None)
                }
                3 => column
                    .typed::<Int32Type>()
                    .write_batch(&columns.thread, None, None),
                4..=7 => {
                    column
                        .typed::<Int64Type>()
                        .write_batch(&columns.times[index - 4], None, None)
                }
                8 => column
                    .typed::<Int32Type>()
                    .write_batch(&columns.depth, None, None),
                _ => column
                    .typed::<ByteArrayType>()
                    .write_batch(&columns.args, None, None),
            }
            .map_err(pq)?;
            column.close().map_err(pq)?;
            index += 1;
        }
        group.close().map_err(pq)?;
        *columns = Columns::default();
        Ok(())
    };

    let mut rows = 0u64;
    for path in files {
        let mut profile = Profile::open(path)?;
        let mut pending: Result<(), ExportError> = Ok(());
        for_each_event_row(&mut profile, origin, |row| {
            if pending.is_err() {
                return;
            }
            columns.text[0].push(ByteArray::from(row.crate_name));
            columns.text[1].push(ByteArray::from(row.kind));
            columns.text[2].push(ByteArray::from(row.label));
            columns.thread.push(row.thread as i32);
            columns.times[0].push(row.start_ns as i64);
            columns.times[1].push(row.end_ns as i64);
            columns.times[2].push((row.end_ns - row.start_ns) as i64);
            columns.times[3].push(row.self_ns as i64);
            columns.depth.push(row.depth as i32);
            columns.args.push(ByteArray::from(row.args_json().as_str()));
            rows += 1;
            if columns.thread.len() >= GROUP_ROWS {
                pending = flush(&mut columns, &mut writer);
            }
        })?;
        pending?;
    }
    flush(&mut columns, &mut writer)?;
    writer.close().map_err(pq)?;
    Ok(rows)
}
