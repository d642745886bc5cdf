//! The run history: every measured build as rows in an embedded SQLite database, so builds
//! can be compared over time. One database per user by default, outside any target
//! directory, so `cargo clean` does not erase it; runs are keyed by workspace root.
//!
//! This crate owns the schema and its queries. It does not run builds or print anything.
//!
//! It also owns the other SQLite use: [`EventsDb`], SQL over self-profile events.

mod events_db;

pub use events_db::{EventsDb, SqlError, SqlResult, SqlValue};

use std::path::{Path, PathBuf};

use buildscope_analysis::{Unit, UnitKind};
use rusqlite::{params, Connection, OptionalExtension};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: history database schema version {found} is newer than this buildscope ({supported})")]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("no run {0:?} in the history (see `buildscope runs`)")]
    NoSuchRun(String),
    #[error("run {0:?} is ambiguous: more than one run id starts with it")]
    AmbiguousRun(String),
    #[error("no experiment {0:?} in the history (see `buildscope runs --experiments`)")]
    NoSuchExperiment(String),
}

/// 2: `runs.machine` (the machine and toolchain a run was measured on) and `measures`.
const SCHEMA_VERSION: i64 = 2;

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
const MIGRATIONS: [(i64, &str); 1] = [(
    2,
    "ALTER TABLE runs ADD COLUMN machine TEXT NOT NULL DEFAULT '';",
)];

/// One run as the history keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    pub id: String,
    pub workspace_root: PathBuf,
    pub started_at_ns: u64,
    /// `build` or `check`, with cargo's arguments.
    pub command: String,
    pub cargo_args: Vec<String>,
    /// How the scenario reads (`cold`, `hot, after touching src/main.rs`).
    pub scenario: String,
    pub success: bool,
    pub wall_ns: u64,
    pub cpu_ns: u64,
    pub units: usize,
    pub fresh_units: usize,
    pub critical_chain_ns: u64,
    pub run_dir: PathBuf,
    /// The machine and toolchain it was measured on (`Machine::key`); empty for runs
    /// recorded before buildscope kept it.
    pub machine: String,
}

/// One experiment as the history keeps it: a few columns to list it by, and the whole
/// answer (`buildscope.experiment/1` JSON, which names the runs of every variant).
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentRow {
    pub id: String,
    pub workspace_root: PathBuf,
    pub started_at_ns: u64,
    pub scenario: String,
    pub variants: usize,
    /// The settings that measured significantly faster (`debug=0 linker=mold`), or empty.
    pub recommendation: String,
    pub document: String,
}

pub struct Store {
    path: PathBuf,
    connection: Connection,
}

/// The default database: `$XDG_DATA_HOME/buildscope/history.sqlite`, else
/// `~/.local/share/buildscope/history.sqlite`.
pub fn default_database_path() -> Option<PathBuf> {
    let data_home = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data_home.join("buildscope").join("history.sqlite"))
}

impl Store {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Io {
                path: parent.to_path_buf(),
                source: e,
            })?;
        }
        let sqlite = |e| StoreError::Sqlite {
            path: path.to_path_buf(),
            source: e,
        };
        let connection = Connection::open(path).map_err(sqlite)?;
        // Several builds may finish at once (CI matrix on one machine): wait, don't fail.
        connection
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sqlite)?;
        let version: i64 = connection
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sqlite)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: path.to_path_buf(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        let fresh: bool = connection
            .query_row(
                "SELECT COUNT(*) = 0 FROM sqlite_master WHERE type = 'table' AND name = 'runs'",
                [],
                |r| r.get(0),
            )
            .map_err(sqlite)?;
        if !fresh {
            for (to, step) in MIGRATIONS.iter().filter(|(to, _)| *to > version) {
                connection
                    .execute_batch(&format!(
                        "BEGIN; {step} PRAGMA user_version = {to}; COMMIT;"
                    ))
                    .map_err(sqlite)?;
            }
        }
        connection
            .execute_batch(&format!(
                "PRAGMA foreign_keys = ON; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION};"
            ))
            .map_err(sqlite)?;
        Ok(Store {
            path: path.to_path_buf(),
            connection,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sqlite(&self, e: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source: e,
        }
    }

    /// Adds a run and its units, in one transaction.
    pub fn insert_run(
        &mut self,
        run: &RunRow,
        units: &[Unit],
        critical: &[usize],
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sqlite = |e| StoreError::Sqlite {
            path: path.clone(),
            source: e,
        };
        let tx = self.connection.transaction().map_err(sqlite)?;
        tx.execute(
            "INSERT OR REPLACE INTO runs (id, workspace_root, started_at_ns, command, cargo_args,
                scenario, success, wall_ns, cpu_ns, units, fresh_units, critical_chain_ns, run_dir,
                machine)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                run.id,
                run.workspace_root.to_string_lossy(),
                run.started_at_ns as i64,
                run.command,
                serde_json::to_string(&run.cargo_args).expect("strings serialize"),
                run.scenario,
                run.success,
                run.wall_ns as i64,
                run.cpu_ns as i64,
                run.units as i64,
                run.fresh_units as i64,
                run.critical_chain_ns as i64,
                run.run_dir.to_string_lossy(),
                run.machine,
            ],
        )
        .map_err(sqlite)?;
        {
            let mut insert = tx
                .prepare(
                    "INSERT OR REPLACE INTO units (run_id, unit_id, package, version, target, kind,
                        start_ns, rmeta_ns, end_ns, cpu_ns, max_rss_bytes, exit_code, deps,
                        on_critical_path)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                )
                .map_err(sqlite)?;
            for unit in units {
                insert
                    .execute(params![
                        run.id,
                        unit.id as i64,
                        unit.package,
                        unit.version,
                        unit.target,
                        unit.kind.as_str(),
                        unit.start_ns as i64,
                        unit.rmeta_ns.map(|v| v as i64),
                        unit.end_ns as i64,
                        unit.cpu_ns.map(|v| v as i64),
                        unit.max_rss_bytes.map(|v| v as i64),
                        unit.exit_code,
                        serde_json::to_string(&unit.deps).expect("ids serialize"),
                        critical.contains(&unit.id),
                    ])
                    .map_err(sqlite)?;
            }
        }
        tx.commit().map_err(sqlite)
    }

    /// The newest runs first, of one workspace or of all.
    pub fn runs(&self, workspace: Option<&Path>, limit: usize) -> Result<Vec<RunRow>, StoreError> {
        self.newest(
            "SELECT id, workspace_root, started_at_ns, command, cargo_args, scenario, success,
                    wall_ns, cpu_ns, units, fresh_units, critical_chain_ns, run_dir, machine
             FROM runs WHERE (?1 IS NULL OR workspace_root = ?1)
             ORDER BY started_at_ns DESC, id DESC LIMIT ?2",
            workspace,
            limit,
            run_from_row,
        )
    }

    /// The rows of `sql` (filtered by workspace as `?1`, limited by `?2`), newest first.
    fn newest<T>(
        &self,
        sql: &str,
        workspace: Option<&Path>,
        limit: usize,
        from_row: fn(&rusqlite::Row) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut query = self.connection.prepare(sql).map_err(|e| self.sqlite(e))?;
        let rows = query
            .query_map(
                params![
                    workspace.map(|w| w.to_string_lossy().into_owned()),
                    limit as i64
                ],
                from_row,
            )
            .map_err(|e| self.sqlite(e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sqlite(e))
    }

    /// A run by id, or by a unique prefix of its id; `latest` and `latest~N` name the
    /// newest runs of `workspace`.
    pub fn run(
        &self,
        name: &str,
        workspace: Option<&Path>,
    ) -> Result<(RunRow, Vec<Unit>), StoreError> {
        let id = self.resolve(name, workspace)?;
        let run = self
            .connection
            .query_row(
                "SELECT id, workspace_root, started_at_ns, command, cargo_args, scenario, success,
                        wall_ns, cpu_ns, units, fresh_units, critical_chain_ns, run_dir, machine
                 FROM runs WHERE id = ?1",
                params![id],
                run_from_row,
            )
            .map_err(|e| self.sqlite(e))?;
        let mut query = self
            .connection
            .prepare(
                "SELECT unit_id, package, version, target, kind, start_ns, rmeta_ns, end_ns,
                        cpu_ns, max_rss_bytes, exit_code, deps
                 FROM units WHERE run_id = ?1 ORDER BY unit_id",
            )
            .map_err(|e| self.sqlite(e))?;
        let units = query
            .query_map(params![id], unit_from_row)
            .map_err(|e| self.sqlite(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sqlite(e))?;
        Ok((run, units))
    }

    /// Keeps measures of a run beyond its units and times (binary size, ...).
    pub fn add_measures(
        &mut self,
        run_id: &str,
        measures: &[(String, f64)],
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sqlite = |e| StoreError::Sqlite {
            path: path.clone(),
            source: e,
        };
        let tx = self.connection.transaction().map_err(sqlite)?;
        {
            let mut insert = tx
                .prepare(
                    "INSERT OR REPLACE INTO measures (run_id, name, value) VALUES (?1, ?2, ?3)",
                )
                .map_err(sqlite)?;
            for (name, value) in measures {
                insert
                    .execute(params![run_id, name, value])
                    .map_err(sqlite)?;
            }
        }
        tx.commit().map_err(sqlite)
    }

    /// The measures kept for a run with [`Store::add_measures`].
    pub fn measures(&self, run_id: &str) -> Result<Vec<(String, f64)>, StoreError> {
        let mut query = self
            .connection
            .prepare("SELECT name, value FROM measures WHERE run_id = ?1 ORDER BY name")
            .map_err(|e| self.sqlite(e))?;
        let rows = query
            .query_map(params![run_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.sqlite(e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sqlite(e))
    }

    /// The newest successful runs comparable with `like` (same workspace, command line,
    /// scenario and machine) that started before it, newest first.
    pub fn comparable_runs(&self, like: &RunRow, limit: usize) -> Result<Vec<RunRow>, StoreError> {
        let mut query = self
            .connection
            .prepare(
                "SELECT id, workspace_root, started_at_ns, command, cargo_args, scenario, success,
                        wall_ns, cpu_ns, units, fresh_units, critical_chain_ns, run_dir, machine
                 FROM runs
                 WHERE workspace_root = ?1 AND command = ?2 AND scenario = ?3 AND machine = ?4
                   AND success AND started_at_ns < ?5 AND id <> ?6
                 ORDER BY started_at_ns DESC, id DESC LIMIT ?7",
            )
            .map_err(|e| self.sqlite(e))?;
        let rows = query
            .query_map(
                params![
                    like.workspace_root.to_string_lossy(),
                    like.command,
                    like.scenario,
                    like.machine,
                    like.started_at_ns as i64,
                    like.id,
                    limit as i64
                ],
                run_from_row,
            )
            .map_err(|e| self.sqlite(e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sqlite(e))
    }

    /// Adds an experiment (its variants' runs are already in as runs).
    pub fn insert_experiment(&mut self, experiment: &ExperimentRow) -> Result<(), StoreError> {
        self.connection
            .execute(
                "INSERT OR REPLACE INTO experiments
                 (id, workspace_root, started_at_ns, scenario, variants, recommendation, document)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    experiment.id,
                    experiment.workspace_root.to_string_lossy(),
                    experiment.started_at_ns as i64,
                    experiment.scenario,
                    experiment.variants as i64,
                    experiment.recommendation,
                    experiment.document,
                ],
            )
            .map_err(|e| self.sqlite(e))?;
        Ok(())
    }

    /// The newest experiments first, of one workspace or of all.
    pub fn experiments(
        &self,
        workspace: Option<&Path>,
        limit: usize,
    ) -> Result<Vec<ExperimentRow>, StoreError> {
        self.newest(
            "SELECT id, workspace_root, started_at_ns, scenario, variants, recommendation,
                    document
             FROM experiments WHERE (?1 IS NULL OR workspace_root = ?1)
             ORDER BY started_at_ns DESC, id DESC LIMIT ?2",
            workspace,
            limit,
            experiment_from_row,
        )
    }

    /// An experiment by id, unique id prefix, `latest` or `latest~N` (of `workspace`).
    pub fn experiment(
        &self,
        name: &str,
        workspace: Option<&Path>,
    ) -> Result<ExperimentRow, StoreError> {
        let missing = || StoreError::NoSuchExperiment(name.to_string());
        if let Some(skip) = latest_offset(name) {
            let skip = skip.ok_or_else(missing)?;
            return self
                .experiments(workspace, skip + 1)?
                .into_iter()
                .nth(skip)
                .ok_or_else(missing);
        }
        let all = self.experiments(workspace, usize::MAX >> 1)?;
        if let Some(exact) = all.iter().find(|e| e.id == name) {
            return Ok(exact.clone());
        }
        let mut matches = all.into_iter().filter(|e| e.id.starts_with(name));
        match (matches.next(), matches.next()) {
            (Some(one), None) => Ok(one),
            (None, _) => Err(missing()),
            (Some(_), Some(_)) => Err(StoreError::AmbiguousRun(name.to_string())),
        }
    }

    fn resolve(&self, name: &str, workspace: Option<&Path>) -> Result<String, StoreError> {
        if let Some(skip) = latest_offset(name) {
            let skip = skip.ok_or_else(|| StoreError::NoSuchRun(name.to_string()))?;
            let runs = self.runs(workspace, skip + 1)?;
            return runs
                .get(skip)
                .map(|r| r.id.clone())
                .ok_or_else(|| StoreError::NoSuchRun(name.to_string()));
        }
        let mut query = self
            .connection
            .prepare("SELECT id FROM runs WHERE substr(id, 1, length(?1)) = ?1 LIMIT 2")
            .map_err(|e| self.sqlite(e))?;
        let ids: Vec<String> = query
            .query_map(params![name], |r| r.get(0))
            .map_err(|e| self.sqlite(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.sqlite(e))?;
        match ids.as_slice() {
            [id] => Ok(id.clone()),
            [] => Err(StoreError::NoSuchRun(name.to_string())),
            _ => {
                // An exact id wins over longer ids it prefixes.
                let exact: Option<String> = self
                    .connection
                    .query_row("SELECT id FROM runs WHERE id = ?1", params![name], |r| {
                        r.get(0)
                    })
                    .optional()
                    .map_err(|e| self.sqlite(e))?;
                exact.ok_or_else(|| StoreError::AmbiguousRun(name.to_string()))
            }
        }
    }
}

/// For `latest` and `latest~N`, how many of the newest to skip (`None` inside when the
/// `~N` is not a number); `None` for any other name.
fn latest_offset(name: &str) -> Option<Option<usize>> {
    let back = name.strip_prefix("latest")?;
    Some(match back.strip_prefix('~') {
        Some(n) => n.parse().ok(),
        None if back.is_empty() => Some(0),
        None => None,
    })
}

fn experiment_from_row(row: &rusqlite::Row) -> rusqlite::Result<ExperimentRow> {
    Ok(ExperimentRow {
        id: row.get(0)?,
        workspace_root: PathBuf::from(row.get::<_, String>(1)?),
        started_at_ns: row.get::<_, i64>(2)? as u64,
        scenario: row.get(3)?,
        variants: row.get::<_, i64>(4)? as usize,
        recommendation: row.get(5)?,
        document: row.get(6)?,
    })
}

fn run_from_row(row: &rusqlite::Row) -> rusqlite::Result<RunRow> {
    let args: String = row.get(4)?;
    Ok(RunRow {
        id: row.get(0)?,
        workspace_root: PathBuf::from(row.get::<_, String>(1)?),
        started_at_ns: row.get::<_, i64>(2)? as u64,
        command: row.get(3)?,
        cargo_args: serde_json::from_str(&args).unwrap_or_default(),
        scenario: row.get(5)?,
        success: row.get(6)?,
        wall_ns: row.get::<_, i64>(7)? as u64,
        cpu_ns: row.get::<_, i64>(8)? as u64,
        units: row.get::<_, i64>(9)? as usize,
        fresh_units: row.get::<_, i64>(10)? as usize,
        critical_chain_ns: row.get::<_, i64>(11)? as u64,
        run_dir: PathBuf::from(row.get::<_, String>(12)?),
        machine: row.get(13)?,
    })
}

fn unit_from_row(row: &rusqlite::Row) -> rusqlite::Result<Unit> {
    let kind: String = row.get(4)?;
    let deps: String = row.get(11)?;
    Ok(Unit {
        id: row.get::<_, i64>(0)? as usize,
        package: row.get(1)?,
        version: row.get(2)?,
        target: row.get(3)?,
        kind: UnitKind::from_name(&kind),
        start_ns: row.get::<_, i64>(5)? as u64,
        rmeta_ns: row.get::<_, Option<i64>>(6)?.map(|v| v as u64),
        end_ns: row.get::<_, i64>(7)? as u64,
        cpu_ns: row.get::<_, Option<i64>>(8)?.map(|v| v as u64),
        max_rss_bytes: row.get::<_, Option<i64>>(9)?.map(|v| v as u64),
        exit_code: row.get(10)?,
        link_ns: None,
        deps: serde_json::from_str(&deps).unwrap_or_default(),
        rmeta_deps: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: usize, package: &str, start: u64, end: u64) -> Unit {
        Unit {
            id,
            package: package.into(),
            version: "1.0.0".into(),
            target: package.into(),
            kind: UnitKind::Lib,
            start_ns: start,
            rmeta_ns: Some(start + 1),
            end_ns: end,
            cpu_ns: Some(end - start),
            max_rss_bytes: Some(1 << 20),
            exit_code: Some(0),
            link_ns: None,
            deps: if id > 0 { vec![id - 1] } else { vec![] },
            rmeta_deps: vec![],
        }
    }

    fn run(id: &str, at: u64, workspace: &str) -> RunRow {
        RunRow {
            id: id.into(),
            workspace_root: PathBuf::from(workspace),
            started_at_ns: at,
            command: "build".into(),
            cargo_args: vec!["--release".into()],
            scenario: "cold".into(),
            success: true,
            wall_ns: 100,
            cpu_ns: 150,
            units: 2,
            fresh_units: 0,
            critical_chain_ns: 90,
            run_dir: PathBuf::from("/tmp/r"),
            machine: "cpu · 2 cores".into(),
        }
    }

    #[test]
    fn comparable_runs_share_workspace_command_scenario_and_machine() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("h.sqlite")).unwrap();
        let units = vec![unit(0, "a", 0, 10)];
        for (id, at) in [("r1", 1), ("r2", 2), ("r3", 3), ("now", 10), ("later", 11)] {
            store.insert_run(&run(id, at, "/ws"), &units, &[]).unwrap();
        }
        let mut other = run("elsewhere", 5, "/ws");
        other.machine = "another".into();
        store.insert_run(&other, &units, &[]).unwrap();
        let mut failed = run("failed", 6, "/ws");
        failed.success = false;
        store.insert_run(&failed, &units, &[]).unwrap();
        let mut hot = run("hot", 7, "/ws");
        hot.scenario = "hot".into();
        store.insert_run(&hot, &units, &[]).unwrap();
        let now = run("now", 10, "/ws");
        let ids: Vec<String> = store
            .comparable_runs(&now, 10)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, vec!["r3", "r2", "r1"]);
        assert_eq!(store.comparable_runs(&now, 2).unwrap().len(), 2);
        store
            .add_measures("r1", &[("binary-size".into(), 4096.0)])
            .unwrap();
        assert_eq!(
            store.measures("r1").unwrap(),
            vec![("binary-size".to_string(), 4096.0)]
        );
        assert!(store.measures("r2").unwrap().is_empty());
    }

    #[test]
    fn a_version_1_history_is_migrated_and_keeps_its_runs() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("old.sqlite");
        {
            // The schema as buildscope kept it before machines and measures.
            let old = Connection::open(&db).unwrap();
            let v1 = SCHEMA
                .replace(",\n    machine TEXT NOT NULL DEFAULT ''", "")
                .split("CREATE TABLE IF NOT EXISTS measures")
                .next()
                .unwrap()
                .to_string();
            old.execute_batch(&format!("{v1} PRAGMA user_version = 1;"))
                .unwrap();
            old.execute(
                "INSERT INTO runs (id, workspace_root, started_at_ns, command, cargo_args, scenario,
                    success, wall_ns, cpu_ns, units, fresh_units, critical_chain_ns, run_dir)
                 VALUES ('old', '/ws', 1, 'build', '[]', 'cold', 1, 5, 5, 0, 0, 5, '/r')",
                [],
            )
            .unwrap();
        }
        let mut store = Store::open(&db).unwrap();
        let (row, _) = store.run("old", None).unwrap();
        assert_eq!(row.machine, "");
        store.add_measures("old", &[("rss".into(), 1.0)]).unwrap();
        store
            .insert_run(&run("new", 2, "/ws"), &[unit(0, "a", 0, 1)], &[])
            .unwrap();
        assert_eq!(store.runs(None, 10).unwrap().len(), 2);
    }

    #[test]
    fn runs_round_trip_and_are_found_by_prefix_or_recency() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("nested/history.sqlite");
        let mut store = Store::open(&db).unwrap();
        let units = vec![unit(0, "a", 0, 10), unit(1, "b", 10, 30)];
        store
            .insert_run(&run("20260101-1", 1, "/ws"), &units, &[0, 1])
            .unwrap();
        store
            .insert_run(&run("20260102-1", 2, "/ws"), &units[..1], &[0])
            .unwrap();
        store
            .insert_run(&run("20260103-1", 3, "/other"), &units, &[])
            .unwrap();
        drop(store);

        let store = Store::open(&db).unwrap();
        let ws = Path::new("/ws");
        let listed: Vec<String> = store
            .runs(Some(ws), 10)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(listed, vec!["20260102-1", "20260101-1"]);
        assert_eq!(store.runs(None, 10).unwrap().len(), 3);

        let (row, loaded) = store.run("20260101", None).unwrap();
        assert_eq!(row.cargo_args, vec!["--release".to_string()]);
        assert_eq!(loaded.len(), 2);
        assert_eq!(loaded[1].deps, vec![0]);
        assert_eq!(loaded[1].end_ns, 30);
        assert_eq!(store.run("latest", Some(ws)).unwrap().0.id, "20260102-1");
        assert_eq!(store.run("latest~1", Some(ws)).unwrap().0.id, "20260101-1");
        assert!(matches!(
            store.run("2026", None),
            Err(StoreError::AmbiguousRun(_))
        ));
        assert!(matches!(
            store.run("1999", None),
            Err(StoreError::NoSuchRun(_))
        ));
        assert!(matches!(
            store.run("latest~5", Some(ws)),
            Err(StoreError::NoSuchRun(_))
        ));
    }

    #[test]
    fn experiments_round_trip_and_are_found_by_prefix_or_recency() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("history.sqlite")).unwrap();
        let experiment = |id: &str, at: u64, workspace: &str| ExperimentRow {
            id: id.into(),
            workspace_root: PathBuf::from(workspace),
            started_at_ns: at,
            scenario: "hot: touch src/main.rs".into(),
            variants: 2,
            recommendation: "linker=mold".into(),
            document: format!("{{\"id\":\"{id}\"}}"),
        };
        store
            .insert_experiment(&experiment("20261124-100000-1", 1, "/w"))
            .unwrap();
        store
            .insert_experiment(&experiment("20261124-110000-2", 2, "/w"))
            .unwrap();
        store
            .insert_experiment(&experiment("20261124-120000-3", 3, "/other"))
            .unwrap();
        let here = store.experiments(Some(Path::new("/w")), 10).unwrap();
        assert_eq!(here.len(), 2);
        assert_eq!(here[0], experiment("20261124-110000-2", 2, "/w"));
        let w = Some(Path::new("/w"));
        assert_eq!(
            store.experiment("latest", w).unwrap().id,
            "20261124-110000-2"
        );
        assert_eq!(
            store.experiment("latest~1", w).unwrap().id,
            "20261124-100000-1"
        );
        assert_eq!(
            store.experiment("20261124-12", None).unwrap().started_at_ns,
            3
        );
        assert!(matches!(
            store.experiment("20261124", None),
            Err(StoreError::AmbiguousRun(_))
        ));
        let missing = store.experiment("latest~5", w).unwrap_err().to_string();
        assert!(missing.contains("no experiment \"latest~5\""), "{missing}");
        // Runs and experiments live side by side in one database.
        assert!(store.runs(None, 10).unwrap().is_empty());
    }
}
