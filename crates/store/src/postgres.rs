//! The history on a PostgreSQL server (`postgres://user@host/db`), for a team: many CI
//! jobs write at once, each run in one transaction; the schema is set up or migrated under
//! an advisory lock, so the first writers of a new database do not race each other.

use std::error::Error;
use std::time::Duration;

use postgres::types::private::BytesMut;
use postgres::types::{IsNull, ToSql, Type};
use postgres::{Client, Config, NoTls};

use crate::sql::{Row, Sql, Statement, Value};
use crate::{StoreError, SCHEMA_VERSION};

/// Text columns that order rows compare bytewise (`COLLATE "C"`), as SQLite does: the same
/// order from both engines whatever the server's locale.
const SCHEMA: &str = r#"
CREATE TABLE buildscope_schema (version BIGINT NOT NULL);
CREATE TABLE runs (
    id TEXT COLLATE "C" PRIMARY KEY,
    workspace_root TEXT NOT NULL,
    started_at_ns BIGINT NOT NULL,
    command TEXT NOT NULL,
    cargo_args TEXT NOT NULL,
    scenario TEXT NOT NULL,
    success BOOLEAN NOT NULL,
    wall_ns BIGINT NOT NULL,
    cpu_ns BIGINT NOT NULL,
    units BIGINT NOT NULL,
    fresh_units BIGINT NOT NULL,
    critical_chain_ns BIGINT NOT NULL,
    run_dir TEXT NOT NULL,
    machine TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_by_workspace ON runs (workspace_root, started_at_ns);
CREATE TABLE units (
    run_id TEXT COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    unit_id BIGINT NOT NULL,
    package TEXT NOT NULL,
    version TEXT NOT NULL,
    target TEXT NOT NULL,
    kind TEXT NOT NULL,
    start_ns BIGINT NOT NULL,
    rmeta_ns BIGINT,
    end_ns BIGINT NOT NULL,
    cpu_ns BIGINT,
    max_rss_bytes BIGINT,
    exit_code BIGINT,
    deps TEXT NOT NULL,
    on_critical_path BOOLEAN NOT NULL,
    PRIMARY KEY (run_id, unit_id)
);
CREATE TABLE experiments (
    id TEXT COLLATE "C" PRIMARY KEY,
    workspace_root TEXT NOT NULL,
    started_at_ns BIGINT NOT NULL,
    scenario TEXT NOT NULL,
    variants BIGINT NOT NULL,
    recommendation TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX experiments_by_workspace ON experiments (workspace_root, started_at_ns);
CREATE TABLE measures (
    run_id TEXT COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (run_id, name)
);
"#;

/// Steps from each older version (none yet: PostgreSQL histories start at version 2).
const MIGRATIONS: [(i64, &str); 1] = [(3, crate::SCENARIO_KEYS)];

/// Serializes setting up or migrating the schema among concurrent first writers.
const SCHEMA_LOCK: i64 = 0x6275_696c_6473_636f; // "buildsco"

pub struct PostgresSql {
    location: String,
    client: Client,
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((credentials, host)) if credentials.contains(':') => {
            let user = credentials.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_string(),
    }
}

/// The driver's message in one line, its causes after it.
fn message(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        // The server's own words say it all.
        return db.message().replace('\n', " ");
    }
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
        source = cause_of(source);
    }
    text.replace('\n', " ")
}

fn server_error(location: &str, e: &postgres::Error) -> StoreError {
    StoreError::Server {
        location: location.to_string(),
        message: message(e),
    }
}

fn cause_of<'a>(e: Option<&'a (dyn Error + 'static)>) -> Option<&'a (dyn Error + 'static)> {
    e.and_then(|e| e.source())
}

impl PostgresSql {
    pub fn open(url: &str) -> Result<PostgresSql, StoreError> {
        let location = redact(url);
        let fail = |e: postgres::Error| server_error(&location, &e);
        let mut config: Config = url
            .parse()
            .map_err(|e: postgres::Error| StoreError::Server {
                location: location.clone(),
                message: format!("not a PostgreSQL URL: {}", message(&e)),
            })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let client = config.connect(NoTls).map_err(fail)?;
        let mut sql = PostgresSql { location, client };
        sql.set_up()?;
        Ok(sql)
    }

    fn fail(&self, e: postgres::Error) -> StoreError {
        server_error(&self.location, &e)
    }

    /// Creates the schema in an empty database, migrates an older one, refuses a newer one
    /// or a database that holds tables of something else.
    fn set_up(&mut self) -> Result<(), StoreError> {
        let location = self.location.clone();
        let fail = |e: postgres::Error| server_error(&location, &e);
        let mut tx = self.client.transaction().map_err(fail)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .map_err(fail)?;
        let tables: Vec<String> = tx
            .query(
                "SELECT table_name::text FROM information_schema.tables
                 WHERE table_schema = current_schema() ORDER BY table_name",
                &[],
            )
            .map_err(fail)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if !tables.iter().any(|t| t == "buildscope_schema") {
            if !tables.is_empty() {
                return Err(StoreError::NotAHistory { location, tables });
            }
            tx.batch_execute(SCHEMA).map_err(fail)?;
            tx.execute(
                "INSERT INTO buildscope_schema (version) VALUES ($1)",
                &[&SCHEMA_VERSION],
            )
            .map_err(fail)?;
            return tx.commit().map_err(fail);
        }
        let version: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM buildscope_schema",
                &[],
            )
            .map_err(fail)?
            .get(0);
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                location,
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        for (to, step) in MIGRATIONS.iter().filter(|(to, _)| *to > version) {
            tx.batch_execute(step).map_err(fail)?;
            tx.execute("UPDATE buildscope_schema SET version = $1", &[to])
                .map_err(fail)?;
        }
        tx.commit().map_err(fail)
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Text(t) => t.as_str().to_sql(ty, out),
            Value::Bool(b) if *ty == Type::BOOL => b.to_sql(ty, out),
            Value::Bool(b) => Value::Int(*b as i64).to_sql(ty, out),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                _ => i.to_string().to_sql(ty, out),
            },
            Value::Real(r) => match *ty {
                Type::FLOAT4 => (*r as f32).to_sql(ty, out),
                Type::INT8 => (*r as i64).to_sql(ty, out),
                _ => r.to_sql(ty, out),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

fn from_row(row: &postgres::Row) -> Row {
    (0..row.len())
        .map(|i| {
            let ty = row.columns()[i].type_();
            let value = match *ty {
                Type::INT8 => row.get::<_, Option<i64>>(i).map(Value::Int),
                Type::INT4 => row.get::<_, Option<i32>>(i).map(|v| Value::Int(v as i64)),
                Type::INT2 => row.get::<_, Option<i16>>(i).map(|v| Value::Int(v as i64)),
                Type::BOOL => row.get::<_, Option<bool>>(i).map(Value::Bool),
                Type::FLOAT8 => row.get::<_, Option<f64>>(i).map(Value::Real),
                Type::FLOAT4 => row.get::<_, Option<f32>>(i).map(|v| Value::Real(v as f64)),
                _ => row
                    .try_get::<_, Option<String>>(i)
                    .ok()
                    .flatten()
                    .map(Value::Text),
            };
            value.unwrap_or(Value::Null)
        })
        .collect()
}

fn params(values: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

impl Sql for PostgresSql {
    fn query(&mut self, sql: &str, values: &[Value]) -> Result<Vec<Row>, StoreError> {
        let rows = self
            .client
            .query(sql, &params(values))
            .map_err(|e| self.fail(e))?;
        Ok(rows.iter().map(from_row).collect())
    }

    fn transaction(&mut self, statements: &[Statement]) -> Result<(), StoreError> {
        let location = self.location.clone();
        let fail = |e: postgres::Error| server_error(&location, &e);
        let mut tx = self.client.transaction().map_err(fail)?;
        // A run's units are one statement many times: prepared once.
        let mut prepared: std::collections::HashMap<&str, postgres::Statement> =
            std::collections::HashMap::new();
        for (sql, values) in statements {
            if !prepared.contains_key(sql) {
                prepared.insert(sql, tx.prepare(sql).map_err(fail)?);
            }
            tx.execute(&prepared[sql], &params(values)).map_err(fail)?;
        }
        tx.commit().map_err(fail)
    }

    fn location(&self) -> &str {
        &self.location
    }

    fn schema_version(&mut self) -> Result<i64, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT COALESCE(MAX(version), 0) FROM buildscope_schema",
                &[],
            )
            .map_err(|e| self.fail(e))?;
        Ok(rows.first().map_or(0, |r| r.get(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://ci:s3cret@db.example:5432/builds"),
            "postgres://ci:***@db.example:5432/builds"
        );
        assert_eq!(redact("postgres://ci@db/builds"), "postgres://ci@db/builds");
        assert_eq!(
            redact("postgresql:///builds?host=/tmp"),
            "postgresql:///builds?host=/tmp"
        );
    }
}
