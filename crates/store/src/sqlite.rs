//! The history in a SQLite file: the default, nothing to start for one user. Many local
//! processes may write at once (a CI matrix on one machine): the file is in WAL mode, each
//! run is written in one immediate transaction, and a busy database is waited for.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::Value as SqliteValue;
use rusqlite::{Connection, TransactionBehavior};

use crate::sql::{Row, Sql, Statement, Value};
use crate::{StoreError, SCHEMA_VERSION};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    workspace_root TEXT NOT NULL,
    started_at_ns INTEGER NOT NULL,
    command TEXT NOT NULL,
    cargo_args TEXT NOT NULL,
    scenario TEXT NOT NULL,
    success INTEGER NOT NULL,
    wall_ns INTEGER NOT NULL,
    cpu_ns INTEGER NOT NULL,
    units INTEGER NOT NULL,
    fresh_units INTEGER NOT NULL,
    critical_chain_ns INTEGER NOT NULL,
    run_dir TEXT NOT NULL,
    machine TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_by_workspace ON runs (workspace_root, started_at_ns);
CREATE TABLE IF NOT EXISTS units (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    unit_id INTEGER NOT NULL,
    package TEXT NOT NULL,
    version TEXT NOT NULL,
    target TEXT NOT NULL,
    kind TEXT NOT NULL,
    start_ns INTEGER NOT NULL,
    rmeta_ns INTEGER,
    end_ns INTEGER NOT NULL,
    cpu_ns INTEGER,
    max_rss_bytes INTEGER,
    exit_code INTEGER,
    deps TEXT NOT NULL,
    on_critical_path INTEGER NOT NULL,
    PRIMARY KEY (run_id, unit_id)
);
CREATE TABLE IF NOT EXISTS experiments (
    id TEXT PRIMARY KEY,
    workspace_root TEXT NOT NULL,
    started_at_ns INTEGER NOT NULL,
    scenario TEXT NOT NULL,
    variants INTEGER NOT NULL,
    recommendation TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS experiments_by_workspace ON experiments (workspace_root, started_at_ns);
CREATE TABLE IF NOT EXISTS measures (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (run_id, name)
);
";

/// What a database of an older schema needs to become the current one (each step from the
/// version before it). Its rows stay; what they did not record stays empty.
const MIGRATIONS: [(i64, &str); 2] = [
    (
        2,
        "ALTER TABLE runs ADD COLUMN machine TEXT NOT NULL DEFAULT '';",
    ),
    (3, crate::SCENARIO_KEYS),
];

/// The tables a buildscope history holds (any other table means the file is not one).
const OURS: [&str; 4] = ["runs", "units", "experiments", "measures"];

pub struct SqliteSql {
    location: String,
    connection: Connection,
}

impl SqliteSql {
    /// Opens (creating if needed) the history at `path`, bringing an older schema up to
    /// date.
    pub fn open(path: &Path) -> Result<SqliteSql, StoreError> {
        let location = path.display().to_string();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Io {
                path: parent.to_path_buf(),
                source: e,
            })?;
        }
        let fail = |e: rusqlite::Error| failure(path, e);
        let connection = Connection::open(path).map_err(fail)?;
        // Several builds may finish at once (a CI matrix on one machine): wait, don't fail.
        connection
            .busy_timeout(Duration::from_secs(30))
            .map_err(fail)?;
        let mut sql = SqliteSql {
            location,
            connection,
        };
        sql.set_up(path)?;
        Ok(sql)
    }

    /// Sets up, migrates or refuses the schema inside one immediate transaction: processes
    /// opening a new history at once take turns, and none sees another's half-made schema.
    fn set_up(&mut self, path: &Path) -> Result<(), StoreError> {
        let fail = |e: rusqlite::Error| failure(path, e);
        // Readers never block the writer, nor the writer them (not on network file systems).
        // Outside the transaction, as SQLite requires; another process may be doing it.
        let _ = self.connection.pragma_update(None, "journal_mode", "WAL");
        let tx = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(fail)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                location: self.location.clone(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        let tables: Vec<String> = tx
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .and_then(|mut q| {
                q.query_map([], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()
            })
            .map_err(fail)?;
        let foreign: Vec<String> = tables
            .iter()
            .filter(|t| !OURS.contains(&t.as_str()))
            .cloned()
            .collect();
        if version == 0 && !foreign.is_empty() {
            return Err(StoreError::NotAHistory {
                location: self.location.clone(),
                tables: foreign,
            });
        }
        if tables.iter().any(|t| t == "runs") {
            for (_, step) in MIGRATIONS.iter().filter(|(to, _)| *to > version) {
                tx.execute_batch(step).map_err(fail)?;
            }
        }
        tx.execute_batch(&format!("{SCHEMA} PRAGMA user_version = {SCHEMA_VERSION};"))
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
        self.connection
            .execute_batch("PRAGMA foreign_keys = ON;")
            .map_err(fail)
    }

    fn fail(&self, e: rusqlite::Error) -> StoreError {
        failure(Path::new(&self.location), e)
    }
}

fn failure(path: &Path, e: rusqlite::Error) -> StoreError {
    StoreError::Sqlite {
        path: PathBuf::from(path),
        source: e,
    }
}

fn to_sqlite(value: &Value) -> SqliteValue {
    match value {
        Value::Null => SqliteValue::Null,
        Value::Int(i) => SqliteValue::Integer(*i),
        Value::Real(r) => SqliteValue::Real(*r),
        Value::Text(t) => SqliteValue::Text(t.clone()),
        Value::Bool(b) => SqliteValue::Integer(*b as i64),
    }
}

fn from_sqlite(value: SqliteValue) -> Value {
    match value {
        SqliteValue::Null => Value::Null,
        SqliteValue::Integer(i) => Value::Int(i),
        SqliteValue::Real(r) => Value::Real(r),
        SqliteValue::Text(t) => Value::Text(t),
        SqliteValue::Blob(b) => Value::Text(String::from_utf8_lossy(&b).into_owned()),
    }
}

impl Sql for SqliteSql {
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(sql)
            .map_err(|e| self.fail(e))?;
        let columns = statement.column_count();
        let values: Vec<SqliteValue> = params.iter().map(to_sqlite).collect();
        let rows = statement
            .query_map(rusqlite::params_from_iter(values.iter()), |row| {
                (0..columns)
                    .map(|i| row.get::<_, SqliteValue>(i).map(from_sqlite))
                    .collect::<rusqlite::Result<Row>>()
            })
            .map_err(|e| failure(Path::new(&self.location), e))?;
        rows.collect::<rusqlite::Result<Vec<Row>>>()
            .map_err(|e| failure(Path::new(&self.location), e))
    }

    fn transaction(&mut self, statements: &[Statement]) -> Result<(), StoreError> {
        let location = self.location.clone();
        let fail = |e| failure(Path::new(&location), e);
        // Immediate: take the write lock at the start, so that two writers wait for each
        // other instead of failing when one upgrades its read lock.
        let tx = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        for (sql, params) in statements {
            let values: Vec<SqliteValue> = params.iter().map(to_sqlite).collect();
            tx.prepare_cached(sql)
                .and_then(|mut s| s.execute(rusqlite::params_from_iter(values.iter())))
                .map_err(fail)?;
        }
        tx.commit().map_err(fail)
    }

    fn location(&self) -> &str {
        &self.location
    }

    fn schema_version(&mut self) -> Result<i64, StoreError> {
        self.connection
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.fail(e))
    }
}

/// The statements of the schema a version-1 history had, for the migration test.
#[cfg(test)]
pub(crate) fn version_1_schema() -> String {
    SCHEMA
        .replace(",\n    machine TEXT NOT NULL DEFAULT ''", "")
        .split("CREATE TABLE IF NOT EXISTS measures")
        .next()
        .unwrap()
        .to_string()
}
