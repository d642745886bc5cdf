//! SQL over self-profile events: the flat event table and the per-query aggregates loaded
//! into an in-memory SQLite database (the engine the run history already carries).
//!
//! Tables:
//! - `events(crate, kind, label, thread, start_ns, end_ns, dur_ns, self_ns, depth, args)`:
//!   one row per interval, times in ns from the build's first profile, `args` a JSON
//!   array (use `json_each(args)`);
//! - `queries(crate, label, self_time_ns, time_ns, count, cache_hits, blocked_time_ns,
//!   incremental_load_time_ns, incremental_hashing_time_ns)`: what `summarize
//!   --per-crate` shows, pre-aggregated.
//!
//! Loading is what costs: one transaction, one prepared statement, no journal.

use std::path::PathBuf;

use buildscope_analysis::{for_each_event_row, merge, summarize_files};
use buildscope_profile::{Profile, ProfileError};
use rusqlite::{params, Connection};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error("loading events: {0}")]
    Load(#[source] rusqlite::Error),
    #[error("SQL error: {0}")]
    Query(#[source] rusqlite::Error),
}

/// A value of a result cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SqlValue {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl std::fmt::Display for SqlValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SqlValue::Null => Ok(()),
            SqlValue::Integer(v) => write!(f, "{v}"),
            SqlValue::Real(v) => write!(f, "{v}"),
            SqlValue::Text(v) => f.write_str(v),
            SqlValue::Blob(v) => write!(f, "<{} bytes>", v.len()),
        }
    }
}

/// The result of a query: column names and rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SqlResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<SqlValue>>,
}

pub struct EventsDb {
    conn: Connection,
    pub events: u64,
}

impl EventsDb {
    /// Loads every interval of `files` and their per-query aggregates.
    pub fn load(files: &[PathBuf], jobs: usize) -> Result<EventsDb, SqlError> {
        let conn = Connection::open_in_memory().map_err(SqlError::Load)?;
        conn.execute_batch(
            "PRAGMA journal_mode = OFF;
             PRAGMA synchronous = OFF;
             CREATE TABLE events (
                 crate TEXT NOT NULL, kind TEXT NOT NULL, label TEXT NOT NULL,
                 thread INTEGER NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL,
                 dur_ns INTEGER NOT NULL, self_ns INTEGER NOT NULL, depth INTEGER NOT NULL,
                 args TEXT NOT NULL);
             CREATE TABLE queries (
                 crate TEXT NOT NULL, label TEXT NOT NULL, self_time_ns INTEGER NOT NULL,
                 time_ns INTEGER NOT NULL, count INTEGER NOT NULL, cache_hits INTEGER NOT NULL,
                 blocked_time_ns INTEGER NOT NULL, incremental_load_time_ns INTEGER NOT NULL,
                 incremental_hashing_time_ns INTEGER NOT NULL);",
        )
        .map_err(SqlError::Load)?;
        let origin = buildscope_profile::earliest_start(files)?;
        let tx = conn.unchecked_transaction().map_err(SqlError::Load)?;
        let mut events = 0u64;
        {
            let mut insert = tx
                .prepare("INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")
                .map_err(SqlError::Load)?;
            for path in files {
                let mut profile = Profile::open(path)?;
                let mut failed = None;
                for_each_event_row(&mut profile, origin, |row| {
                    if failed.is_some() {
                        return;
                    }
                    let args = row.args_json();
                    let result = insert.execute(params![
                        row.crate_name,
                        row.kind,
                        row.label,
                        row.thread,
                        row.start_ns as i64,
                        row.end_ns as i64,
                        (row.end_ns - row.start_ns) as i64,
                        row.self_ns as i64,
                        row.depth,
                        args,
                    ]);
                    match result {
                        Ok(_) => events += 1,
                        Err(e) => failed = Some(e),
                    }
                })?;
                if let Some(e) = failed {
                    return Err(SqlError::Load(e));
                }
            }
            let summary = merge(&summarize_files(files, jobs)?);
            let mut insert = tx
                .prepare("INSERT INTO queries VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
                .map_err(SqlError::Load)?;
            for krate in &summary.crates {
                for r in &krate.rows {
                    insert
                        .execute(params![
                            krate.crate_name,
                            r.label,
                            r.self_time_ns as i64,
                            r.time_ns as i64,
                            r.count as i64,
                            r.cache_hits as i64,
                            r.blocked_time_ns as i64,
                            r.incremental_load_time_ns as i64,
                            r.incremental_hashing_time_ns as i64,
                        ])
                        .map_err(SqlError::Load)?;
                }
            }
        }
        tx.commit().map_err(SqlError::Load)?;
        Ok(EventsDb { conn, events })
    }

    /// Runs one statement and collects its rows.
    pub fn query(&self, sql: &str) -> Result<SqlResult, SqlError> {
        let mut statement = self.conn.prepare(sql).map_err(SqlError::Query)?;
        let columns: Vec<String> = statement
            .column_names()
            .into_iter()
            .map(str::to_string)
            .collect();
        let mut rows = Vec::new();
        let mut cursor = statement.query([]).map_err(SqlError::Query)?;
        while let Some(row) = cursor.next().map_err(SqlError::Query)? {
            let mut values = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                use rusqlite::types::ValueRef;
                values.push(match row.get_ref(i).map_err(SqlError::Query)? {
                    ValueRef::Null => SqlValue::Null,
                    ValueRef::Integer(v) => SqlValue::Integer(v),
                    ValueRef::Real(v) => SqlValue::Real(v),
                    ValueRef::Text(v) => SqlValue::Text(String::from_utf8_lossy(v).into_owned()),
                    ValueRef::Blob(v) => SqlValue::Blob(v.to_vec()),
                });
            }
            rows.push(values);
        }
        Ok(SqlResult { columns, rows })
    }
}
