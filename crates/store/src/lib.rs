//! The run history: every measured build as rows in a database, so builds can be compared
//! over time. One SQLite file per user by default (outside any target directory, so `cargo
//! clean` does not erase it); or, for a team, a PostgreSQL server many CI jobs write to at
//! once (`postgres://…`, the `postgres` feature). Both hold the same schema and answer the
//! same queries, written once over the [`sql::Sql`] seam; runs are keyed by id and listed
//! by workspace root.
//!
//! This crate owns the schemas, their migrations and the queries. It does not run builds or
//! print anything.
//!
//! It also owns the other SQLite use: [`EventsDb`], SQL over self-profile events.

mod events_db;
#[cfg(feature = "postgres")]
mod postgres;
mod sql;
mod sqlite;

pub use events_db::{EventsDb, SqlError, SqlResult, SqlValue};

use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub use buildscope_analysis::RunRow;

use buildscope_analysis::{scenario_text_of, RunRecord, Unit, UnitKind};

use crate::sql::{Row, Sql, Statement, Value};

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
    /// The server refused, went away, or answered with an error.
    #[error("{location}: {message}")]
    Server { location: String, message: String },
    #[error("{location}: history schema version {found} is newer than this buildscope ({supported}); use a newer buildscope")]
    NewerSchema {
        location: String,
        found: i64,
        supported: i64,
    },
    #[error("{location}: not a buildscope history (it holds other tables: {}); give buildscope a database of its own", tables.join(", "))]
    NotAHistory {
        location: String,
        tables: Vec<String>,
    },
    #[error(
        "{location}: this buildscope was built without PostgreSQL support (the `postgres` feature)"
    )]
    Unsupported { location: String },
    #[error("{0}: a history is a SQLite file's path or a postgres:// URL")]
    UnknownScheme(String),
    #[error("no run {0:?} in the history (see `buildscope runs`)")]
    NoSuchRun(String),
    #[error("run {0:?} is ambiguous: more than one run id starts with it")]
    AmbiguousRun(String),
    #[error("no experiment {0:?} in the history (see `buildscope runs --experiments`)")]
    NoSuchExperiment(String),
}

impl StoreError {
    /// The database could not be reached or written (as opposed to a question it could
    /// not answer): what `build` keeps the run's record for, to import later.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Server { .. } | StoreError::Sqlite { .. } | StoreError::Io { .. }
        )
    }
}

/// 2: `runs.machine` (the machine, toolchain and settings a run was measured with) and
/// `measures`. 3: `runs.scenario` holds the scenario's stable key (`touch:src/main.rs`),
/// not its prose (`hot: touch src/main.rs`).
pub(crate) const SCHEMA_VERSION: i64 = 3;

/// From schema 2 to 3: each run's scenario prose to its key, as `Scenario::key_in` makes
/// it (the prose held the same root-relative path). Portable SQL, run by both engines.
pub(crate) const SCENARIO_KEYS: &str = "
UPDATE runs SET scenario = 'touch:' || substr(scenario, 12) WHERE scenario LIKE 'hot: touch %';
UPDATE runs SET scenario = 'edit:' || substr(scenario, 11) WHERE scenario LIKE 'hot: edit %';
UPDATE runs SET scenario = 'as-is' WHERE scenario = 'as is';
";

/// Where a history is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Postgres(String),
}

impl Location {
    /// A `postgres://` or `postgresql://` URL, else a SQLite file's path.
    pub fn parse(text: &str) -> Result<Location, StoreError> {
        if let Some((scheme, rest)) = text.split_once("://") {
            let is_scheme = !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if is_scheme && matches!(scheme, "postgres" | "postgresql") {
                return Ok(Location::Postgres(text.to_string()));
            }
            if is_scheme && !rest.is_empty() {
                return Err(StoreError::UnknownScheme(text.to_string()));
            }
        }
        Ok(Location::File(PathBuf::from(text)))
    }
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

const RUN_COLUMNS: &str = "id, workspace_root, started_at_ns, command, cargo_args, scenario, \
     success, wall_ns, cpu_ns, units, fresh_units, critical_chain_ns, run_dir, machine";

const EXPERIMENT_COLUMNS: &str =
    "id, workspace_root, started_at_ns, scenario, variants, recommendation, document";

pub struct Store {
    sql: Mutex<Box<dyn Sql>>,
    location: Location,
}

impl Store {
    /// Opens (creating if needed, migrating an older schema) the history at `location`.
    pub fn open(location: &Location) -> Result<Store, StoreError> {
        Ok(Store {
            sql: Mutex::new(Store::connect(location)?),
            location: location.clone(),
        })
    }

    fn connect(location: &Location) -> Result<Box<dyn Sql>, StoreError> {
        Ok(match location {
            Location::File(path) => Box::new(sqlite::SqliteSql::open(path)?),
            #[cfg(feature = "postgres")]
            Location::Postgres(url) => Box::new(postgres::PostgresSql::open(url)?),
            #[cfg(not(feature = "postgres"))]
            Location::Postgres(url) => {
                return Err(StoreError::Unsupported {
                    location: url.clone(),
                })
            }
        })
    }

    /// Connects again: a connection held through a long build may have been dropped by
    /// the server or a proxy on the way.
    pub fn reconnect(&self) -> Result<(), StoreError> {
        let fresh = Store::connect(&self.location)?;
        *self.sql() = fresh;
        Ok(())
    }

    /// Opens a SQLite history file.
    pub fn open_file(path: &Path) -> Result<Store, StoreError> {
        Store::open(&Location::File(path.to_path_buf()))
    }

    /// Where it is (a URL's password hidden).
    pub fn location(&self) -> String {
        self.sql().location().to_string()
    }

    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.sql().schema_version()
    }

    fn sql(&self) -> std::sync::MutexGuard<'_, Box<dyn Sql>> {
        self.sql.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        self.sql().query(sql, params)
    }

    /// Adds a run: its row, its units and every measure it holds (its binary's size, each
    /// profiled crate's phases), in one transaction, whichever command measured it: a
    /// reader never sees half a run, and runs written at once never mix. Adding a run
    /// again replaces it.
    pub fn insert_run(&self, record: &RunRecord) -> Result<(), StoreError> {
        let critical: Vec<usize> = record.critical_path.steps.iter().map(|s| s.unit).collect();
        self.insert_rows(
            &RunRow::of(record),
            &record.units,
            &critical,
            &record.extra_measures(),
        )
    }

    /// Copies every run (its row, units, critical path and measures) and every experiment
    /// into `target`: `buildscope db copy`.
    pub fn copy_into(&self, target: &Store) -> Result<(usize, usize), StoreError> {
        let ids = self.run_ids()?;
        for id in &ids {
            let (row, units) = self.run(id, None)?;
            let critical = self.critical_units(id)?;
            let measures = self.measures(id)?;
            target.insert_rows(&row, &units, &critical, &measures)?;
        }
        let experiments = self.experiments(None, usize::MAX >> 1)?;
        for experiment in &experiments {
            target.insert_experiment(experiment)?;
        }
        Ok((ids.len(), experiments.len()))
    }

    pub(crate) fn insert_rows(
        &self,
        run: &RunRow,
        units: &[Unit],
        critical: &[usize],
        measures: &[(String, f64)],
    ) -> Result<(), StoreError> {
        let mut statements: Vec<Statement> = vec![
            (
                "DELETE FROM measures WHERE run_id = $1",
                vec![run.id.as_str().into()],
            ),
            (
                "DELETE FROM units WHERE run_id = $1",
                vec![run.id.as_str().into()],
            ),
            (
                "INSERT INTO runs (id, workspace_root, started_at_ns, command, cargo_args,
                    scenario, success, wall_ns, cpu_ns, units, fresh_units, critical_chain_ns,
                    run_dir, machine)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                 ON CONFLICT (id) DO UPDATE SET workspace_root = excluded.workspace_root,
                    started_at_ns = excluded.started_at_ns, command = excluded.command,
                    cargo_args = excluded.cargo_args, scenario = excluded.scenario,
                    success = excluded.success, wall_ns = excluded.wall_ns,
                    cpu_ns = excluded.cpu_ns, units = excluded.units,
                    fresh_units = excluded.fresh_units,
                    critical_chain_ns = excluded.critical_chain_ns, run_dir = excluded.run_dir,
                    machine = excluded.machine",
                vec![
                    run.id.as_str().into(),
                    run.workspace_root.to_string_lossy().into_owned().into(),
                    run.started_at_ns.into(),
                    run.command.as_str().into(),
                    serde_json::to_string(&run.cargo_args)
                        .expect("strings serialize")
                        .into(),
                    run.scenario.as_str().into(),
                    run.success.into(),
                    run.wall_ns.into(),
                    run.cpu_ns.into(),
                    run.units.into(),
                    run.fresh_units.into(),
                    run.critical_chain_ns.into(),
                    run.run_dir.to_string_lossy().into_owned().into(),
                    run.machine.as_str().into(),
                ],
            ),
        ];
        for unit in units {
            statements.push((
                "INSERT INTO units (run_id, unit_id, package, version, target, kind, start_ns,
                    rmeta_ns, end_ns, cpu_ns, max_rss_bytes, exit_code, deps, on_critical_path)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                vec![
                    run.id.as_str().into(),
                    unit.id.into(),
                    unit.package.as_str().into(),
                    unit.version.as_str().into(),
                    unit.target.as_str().into(),
                    unit.kind.as_str().into(),
                    unit.start_ns.into(),
                    unit.rmeta_ns.into(),
                    unit.end_ns.into(),
                    unit.cpu_ns.into(),
                    unit.max_rss_bytes.into(),
                    unit.exit_code.map(i64::from).into(),
                    serde_json::to_string(&unit.deps)
                        .expect("ids serialize")
                        .into(),
                    critical.contains(&unit.id).into(),
                ],
            ));
        }
        for (name, value) in measures {
            statements.push((
                "INSERT INTO measures (run_id, name, value) VALUES ($1, $2, $3)",
                vec![
                    run.id.as_str().into(),
                    name.as_str().into(),
                    (*value).into(),
                ],
            ));
        }
        self.sql().transaction(&statements)
    }

    /// The newest runs first whose machine column contains `machine`, of one workspace or
    /// of all: filtered by the database, so a long history is never read whole.
    pub fn runs_on(
        &self,
        workspace: Option<&Path>,
        machine: &str,
        limit: usize,
    ) -> Result<Vec<RunRow>, StoreError> {
        // LIKE with the pattern's own wildcards escaped; SQLite's LIKE ignores ASCII case,
        // so the exact match is checked again here.
        let escaped: String = machine
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let rows = self.query(
            &format!(
                "SELECT {RUN_COLUMNS} FROM runs
                 WHERE (CAST($1 AS TEXT) IS NULL OR workspace_root = CAST($1 AS TEXT))
                   AND machine LIKE $2 ESCAPE '\\'
                 ORDER BY started_at_ns DESC, id DESC LIMIT $3"
            ),
            &[
                workspace_value(workspace),
                format!("%{escaped}%").into(),
                limit_value(limit),
            ],
        )?;
        Ok(rows
            .iter()
            .map(|r| run_from_row(r))
            .filter(|r| r.machine.contains(machine))
            .collect())
    }

    /// The newest runs first, of one workspace or of all.
    pub fn runs(&self, workspace: Option<&Path>, limit: usize) -> Result<Vec<RunRow>, StoreError> {
        let rows = self.query(
            &format!(
                "SELECT {RUN_COLUMNS} FROM runs
                 WHERE (CAST($1 AS TEXT) IS NULL OR workspace_root = CAST($1 AS TEXT))
                 ORDER BY started_at_ns DESC, id DESC LIMIT $2"
            ),
            &[workspace_value(workspace), limit_value(limit)],
        )?;
        Ok(rows.iter().map(|r| run_from_row(r)).collect())
    }

    /// A run and its units by id, by a unique prefix of its id, or `latest` / `latest~N`
    /// (the newest runs of `workspace`).
    pub fn run(
        &self,
        name: &str,
        workspace: Option<&Path>,
    ) -> Result<(RunRow, Vec<Unit>), StoreError> {
        let id = self.resolve(name, workspace)?;
        let run = self
            .query(
                &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1"),
                &[id.as_str().into()],
            )?
            .first()
            .map(|r| run_from_row(r))
            .ok_or_else(|| StoreError::NoSuchRun(name.to_string()))?;
        let units = self
            .query(
                "SELECT unit_id, package, version, target, kind, start_ns, rmeta_ns, end_ns,
                        cpu_ns, max_rss_bytes, exit_code, deps
                 FROM units WHERE run_id = $1 ORDER BY unit_id",
                &[id.as_str().into()],
            )?
            .iter()
            .map(|r| unit_from_row(r))
            .collect();
        Ok((run, units))
    }

    /// Keeps measures of a run beyond its units and times (binary size, ...).
    #[cfg(test)]
    pub(crate) fn add_measures(
        &self,
        run_id: &str,
        measures: &[(String, f64)],
    ) -> Result<(), StoreError> {
        let statements: Vec<Statement> = measures
            .iter()
            .flat_map(|(name, value)| {
                [
                    (
                        "DELETE FROM measures WHERE run_id = $1 AND name = $2",
                        vec![run_id.into(), name.as_str().into()],
                    ),
                    (
                        "INSERT INTO measures (run_id, name, value) VALUES ($1, $2, $3)",
                        vec![run_id.into(), name.as_str().into(), (*value).into()],
                    ),
                ]
            })
            .collect();
        self.sql().transaction(&statements)
    }

    /// The measures kept for a run.
    pub fn measures(&self, run_id: &str) -> Result<Vec<(String, f64)>, StoreError> {
        Ok(self
            .query(
                "SELECT name, value FROM measures WHERE run_id = $1 ORDER BY name",
                &[run_id.into()],
            )?
            .iter()
            .map(|r| (r[0].text(), r[1].real()))
            .collect())
    }

    /// The newest successful runs comparable with `like` (same workspace, command line,
    /// scenario and machine) that started before it, newest first.
    pub fn comparable_runs(&self, like: &RunRow, limit: usize) -> Result<Vec<RunRow>, StoreError> {
        let rows = self.query(
            &format!(
                "SELECT {RUN_COLUMNS} FROM runs
                 WHERE workspace_root = $1 AND command = $2 AND scenario = $3 AND machine = $4
                   AND success AND started_at_ns < $5 AND id <> $6
                 ORDER BY started_at_ns DESC, id DESC LIMIT $7"
            ),
            &[
                like.workspace_root.to_string_lossy().into_owned().into(),
                like.command.as_str().into(),
                like.scenario.as_str().into(),
                like.machine.as_str().into(),
                like.started_at_ns.into(),
                like.id.as_str().into(),
                limit_value(limit),
            ],
        )?;
        Ok(rows.iter().map(|r| run_from_row(r)).collect())
    }

    /// Adds an experiment (its variants' runs are already in as runs).
    pub fn insert_experiment(&self, experiment: &ExperimentRow) -> Result<(), StoreError> {
        self.sql().transaction(&[(
            "INSERT INTO experiments
                 (id, workspace_root, started_at_ns, scenario, variants, recommendation, document)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET workspace_root = excluded.workspace_root,
                 started_at_ns = excluded.started_at_ns, scenario = excluded.scenario,
                 variants = excluded.variants, recommendation = excluded.recommendation,
                 document = excluded.document",
            vec![
                experiment.id.as_str().into(),
                experiment
                    .workspace_root
                    .to_string_lossy()
                    .into_owned()
                    .into(),
                experiment.started_at_ns.into(),
                experiment.scenario.as_str().into(),
                experiment.variants.into(),
                experiment.recommendation.as_str().into(),
                experiment.document.as_str().into(),
            ],
        )])
    }

    /// The newest experiments first, of one workspace or of all.
    pub fn experiments(
        &self,
        workspace: Option<&Path>,
        limit: usize,
    ) -> Result<Vec<ExperimentRow>, StoreError> {
        let rows = self.query(
            &format!(
                "SELECT {EXPERIMENT_COLUMNS} FROM experiments
                 WHERE (CAST($1 AS TEXT) IS NULL OR workspace_root = CAST($1 AS TEXT))
                 ORDER BY started_at_ns DESC, id DESC LIMIT $2"
            ),
            &[workspace_value(workspace), limit_value(limit)],
        )?;
        Ok(rows.iter().map(|r| experiment_from_row(r)).collect())
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
        // By id, or a unique prefix of one, in the database: the history is never read whole.
        let rows = self.query(
            &format!(
                "SELECT {EXPERIMENT_COLUMNS} FROM experiments
                 WHERE (CAST($1 AS TEXT) IS NULL OR workspace_root = CAST($1 AS TEXT))
                   AND id >= CAST($2 AS TEXT) AND id < CAST($3 AS TEXT)
                 ORDER BY (id = CAST($2 AS TEXT)) DESC, id LIMIT 2"
            ),
            &[
                workspace_value(workspace),
                name.into(),
                prefix_end(name).into(),
            ],
        )?;
        let found: Vec<ExperimentRow> = rows.iter().map(|r| experiment_from_row(r)).collect();
        if let Some(exact) = found.iter().find(|e| e.id == name) {
            return Ok(exact.clone());
        }
        let mut matches = found.into_iter();
        match (matches.next(), matches.next()) {
            (Some(one), None) => Ok(one),
            (None, _) => Err(missing()),
            (Some(_), Some(_)) => Err(StoreError::AmbiguousRun(name.to_string())),
        }
    }

    /// How many runs and experiments started before `cutoff_ns` (what a prune removes).
    pub fn count_older_than(&self, cutoff_ns: u64) -> Result<(usize, usize), StoreError> {
        let count = |table: &str| -> Result<usize, StoreError> {
            let rows = self.query(
                &format!("SELECT COUNT(*) FROM {table} WHERE started_at_ns < $1"),
                &[cutoff_ns.into()],
            )?;
            Ok(rows.first().map_or(0, |r| r[0].int() as usize))
        };
        Ok((count("runs")?, count("experiments")?))
    }

    /// Removes the runs (with their units and measures) and experiments that started
    /// before `cutoff_ns`, in one transaction: `buildscope db prune --older-than`.
    pub fn prune_older_than(&self, cutoff_ns: u64) -> Result<(usize, usize), StoreError> {
        let counted = self.count_older_than(cutoff_ns)?;
        let statements: Vec<Statement> =
            vec![
            (
                "DELETE FROM measures WHERE run_id IN
                    (SELECT id FROM runs WHERE started_at_ns < $1)",
                vec![cutoff_ns.into()],
            ),
            (
                "DELETE FROM units WHERE run_id IN (SELECT id FROM runs WHERE started_at_ns < $1)",
                vec![cutoff_ns.into()],
            ),
            ("DELETE FROM runs WHERE started_at_ns < $1", vec![cutoff_ns.into()]),
            (
                "DELETE FROM experiments WHERE started_at_ns < $1",
                vec![cutoff_ns.into()],
            ),
        ];
        self.sql().transaction(&statements)?;
        Ok(counted)
    }

    /// Every run id, oldest first (for copying a history).
    pub fn run_ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .query("SELECT id FROM runs ORDER BY started_at_ns, id", &[])?
            .iter()
            .map(|r| r[0].text())
            .collect())
    }

    /// The critical-path flags of a run's units (for copying a history).
    pub fn critical_units(&self, run_id: &str) -> Result<Vec<usize>, StoreError> {
        Ok(self
            .query(
                "SELECT unit_id FROM units WHERE run_id = $1 AND on_critical_path ORDER BY unit_id",
                &[run_id.into()],
            )?
            .iter()
            .map(|r| r[0].int() as usize)
            .collect())
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
        // An exact id first (and it wins over longer ids it prefixes); then a prefix, as a
        // range of the primary key, never a scan of the whole history.
        if !self
            .query("SELECT id FROM runs WHERE id = $1", &[name.into()])?
            .is_empty()
        {
            return Ok(name.to_string());
        }
        let ids: Vec<String> = self
            .query(
                "SELECT id FROM runs WHERE id >= $1 AND id < $2 ORDER BY id LIMIT 2",
                &[name.into(), prefix_end(name).into()],
            )?
            .iter()
            .map(|r| r[0].text())
            .collect();
        match ids.as_slice() {
            [id] => Ok(id.clone()),
            [] => Err(StoreError::NoSuchRun(name.to_string())),
            _ => Err(StoreError::AmbiguousRun(name.to_string())),
        }
    }
}

fn workspace_value(workspace: Option<&Path>) -> Value {
    workspace.map(|w| w.to_string_lossy().into_owned()).into()
}

/// The end of the key range of ids that start with `prefix`: ids compare bytewise in both
/// engines (`COLLATE "C"` on PostgreSQL), and no character sorts after U+10FFFF.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

fn limit_value(limit: usize) -> Value {
    Value::Int(limit.min(i64::MAX as usize) as i64)
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

fn run_from_row(row: &[Value]) -> RunRow {
    RunRow {
        id: row[0].text(),
        workspace_root: PathBuf::from(row[1].text()),
        started_at_ns: row[2].int() as u64,
        command: row[3].text(),
        cargo_args: serde_json::from_str(&row[4].text()).unwrap_or_default(),
        scenario: row[5].text(),
        scenario_text: scenario_text_of(&row[5].text()),
        success: row[6].bool(),
        wall_ns: row[7].int() as u64,
        cpu_ns: row[8].int() as u64,
        units: row[9].int() as usize,
        fresh_units: row[10].int() as usize,
        critical_chain_ns: row[11].int() as u64,
        run_dir: PathBuf::from(row[12].text()),
        machine: row[13].text(),
    }
}

fn experiment_from_row(row: &[Value]) -> ExperimentRow {
    ExperimentRow {
        id: row[0].text(),
        workspace_root: PathBuf::from(row[1].text()),
        started_at_ns: row[2].int() as u64,
        scenario: row[3].text(),
        variants: row[4].int() as usize,
        recommendation: row[5].text(),
        document: row[6].text(),
    }
}

fn unit_from_row(row: &[Value]) -> Unit {
    Unit {
        linker: None,
        codegen_units: None,
        id: row[0].int() as usize,
        package: row[1].text(),
        version: row[2].text(),
        target: row[3].text(),
        kind: UnitKind::from_name(&row[4].text()),
        start_ns: row[5].int() as u64,
        rmeta_ns: row[6].opt_int().map(|v| v as u64),
        end_ns: row[7].int() as u64,
        cpu_ns: row[8].opt_int().map(|v| v as u64),
        max_rss_bytes: row[9].opt_int().map(|v| v as u64),
        exit_code: row[10].opt_int().map(|v| v as i32),
        link_ns: None,
        deps: serde_json::from_str(&row[11].text()).unwrap_or_default(),
        rmeta_deps: Vec::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn unit(id: usize, package: &str, start: u64, end: u64) -> Unit {
        Unit {
            linker: None,
            codegen_units: None,
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

    pub(crate) fn run(id: &str, at: u64, workspace: &str) -> RunRow {
        RunRow {
            id: id.into(),
            workspace_root: PathBuf::from(workspace),
            started_at_ns: at,
            command: "build".into(),
            cargo_args: vec!["--release".into()],
            scenario: "cold".into(),
            scenario_text: "cold".into(),
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

    /// A PostgreSQL database of its own for one test, on the server
    /// `BUILDSCOPE_TEST_POSTGRES` names (a URL to a database the role may create others
    /// from); `None` without it, except on CI, which must test both engines.
    pub(crate) fn postgres_database(name: &str) -> Option<String> {
        let Some(admin) = std::env::var("BUILDSCOPE_TEST_POSTGRES")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI tests the history on PostgreSQL too: set BUILDSCOPE_TEST_POSTGRES (.ci/run does)"
            );
            return None;
        };
        #[cfg(feature = "postgres")]
        {
            let database = format!("bs_{name}_{}", std::process::id());
            let mut client = ::postgres::Client::connect(&admin, ::postgres::NoTls)
                .expect("the test server answers");
            // One statement each: neither may run inside a transaction block.
            client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {database}"))
                .unwrap();
            client
                .batch_execute(&format!("CREATE DATABASE {database}"))
                .unwrap();
            let (base, _) = admin.rsplit_once('/').expect("a URL with a database");
            Some(format!("{base}/{database}"))
        }
        #[cfg(not(feature = "postgres"))]
        {
            let _ = (admin, name);
            None
        }
    }

    /// A fresh history on each engine at hand: SQLite always, PostgreSQL when configured.
    fn engines(name: &str) -> Vec<(&'static str, Store, tempfile::TempDir)> {
        let dir = tempfile::tempdir().unwrap();
        let mut out = vec![(
            "sqlite",
            Store::open_file(&dir.path().join("nested/history.sqlite")).unwrap(),
            dir,
        )];
        if let Some(url) = postgres_database(name) {
            out.push((
                "postgres",
                Store::open(&Location::Postgres(url)).unwrap(),
                tempfile::tempdir().unwrap(),
            ));
        }
        out
    }

    /// A run record as `build`, `check`, `experiment` or `scale` leaves it: they all
    /// measure through the same plan, and the history takes the record as it is.
    fn record(id: &str, at: u64, scenario: buildscope_analysis::Scenario) -> RunRecord {
        let units = vec![unit(0, "a", 0, 10), unit(1, "b", 10, 30)];
        RunRecord {
            schema: buildscope_analysis::RUN_SCHEMA.into(),
            id: id.into(),
            workspace_root: PathBuf::from("/ws"),
            command: "build".into(),
            cargo_args: vec![],
            scenario,
            run: 1,
            started_at_ns: at,
            success: true,
            exit_code: Some(0),
            totals: buildscope_analysis::build_totals(&units, 30, 2),
            critical_path: buildscope_analysis::critical_path(&units, 30),
            units,
            fresh_units: 0,
            exact_dependencies: true,
            notes: vec![],
            run_dir: PathBuf::from(format!("/ws/target/buildscope/runs/{id}")),
            profile_dir: None,
            cargo_output_tail: vec![],
            failure: None,
            rebuild_reasons: None,
            reasons_from: None,
            settings: None,
            previous_settings: None,
            warm_up: None,
            machine: None,
            binary_size_bytes: Some(4096),
            wrappers: vec![],
            cached_units: vec![],
            samples: None,
            phase_measures: vec![
                ("phase:app:Trait solving".into(), 1.5e6),
                ("phase:app:LLVM".into(), 2.5e6),
            ],
            program: None,
        }
    }

    #[test]
    fn a_record_goes_in_whole_and_compares_by_its_scenario_key() {
        for (engine, store, _dir) in engines("whole_record") {
            let touch = || buildscope_analysis::Scenario::Touch {
                path: "/ws/src/main.rs".into(),
            };
            store.insert_run(&record("r1", 1, touch())).unwrap();
            store.insert_run(&record("r2", 2, touch())).unwrap();
            store
                .insert_run(&record("r3", 3, buildscope_analysis::Scenario::Cold))
                .unwrap();
            // Every measure the record holds, phases included, whoever recorded it.
            assert_eq!(
                store.measures("r1").unwrap(),
                vec![
                    ("binary-size".to_string(), 4096.0),
                    ("phase:app:LLVM".to_string(), 2.5e6),
                    ("phase:app:Trait solving".to_string(), 1.5e6),
                ],
                "{engine}"
            );
            let (row, units) = store.run("r2", None).unwrap();
            assert_eq!(units.len(), 2, "{engine}");
            assert_eq!(store.critical_units("r2").unwrap(), vec![0, 1], "{engine}");
            // The key, not the prose: a reworded description compares the same runs.
            assert_eq!(row.scenario, "touch:src/main.rs", "{engine}");
            assert_eq!(row.scenario_text, "hot: touch src/main.rs", "{engine}");
            let reworded = RunRow {
                scenario_text: "after touching main.rs (reworded)".into(),
                ..row.clone()
            };
            let ids = |like: &RunRow| -> Vec<String> {
                store
                    .comparable_runs(like, 10)
                    .unwrap()
                    .into_iter()
                    .map(|r| r.id)
                    .collect()
            };
            assert_eq!(ids(&row), vec!["r1"], "{engine}");
            assert_eq!(ids(&reworded), ids(&row), "{engine}");
        }
    }

    #[test]
    fn runs_round_trip_and_are_found_by_prefix_or_recency() {
        for (engine, store, _dir) in engines("round_trip") {
            let units = vec![unit(0, "a", 0, 10), unit(1, "b", 10, 30)];
            store
                .insert_rows(&run("20260101-1", 1, "/ws"), &units, &[0, 1], &[])
                .unwrap();
            store
                .insert_rows(&run("20260102-1", 2, "/ws"), &units[..1], &[0], &[])
                .unwrap();
            store
                .insert_rows(&run("20260103-1", 3, "/other"), &units, &[], &[])
                .unwrap();
            let ws = Path::new("/ws");
            let listed: Vec<String> = store
                .runs(Some(ws), 10)
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect();
            assert_eq!(listed, vec!["20260102-1", "20260101-1"], "{engine}");
            assert_eq!(store.runs(None, 10).unwrap().len(), 3, "{engine}");

            let (row, loaded) = store.run("20260101", None).unwrap();
            assert_eq!(row, run("20260101-1", 1, "/ws"), "{engine}");
            assert_eq!(loaded, units, "{engine}");
            assert_eq!(store.critical_units("20260101-1").unwrap(), vec![0, 1]);
            assert_eq!(store.run("latest", Some(ws)).unwrap().0.id, "20260102-1");
            assert_eq!(store.run("latest~1", Some(ws)).unwrap().0.id, "20260101-1");
            assert!(
                matches!(store.run("2026", None), Err(StoreError::AmbiguousRun(_))),
                "{engine}"
            );
            assert!(matches!(
                store.run("1999", None),
                Err(StoreError::NoSuchRun(_))
            ));
            assert!(matches!(
                store.run("latest~5", Some(ws)),
                Err(StoreError::NoSuchRun(_))
            ));
            // Adding a run again replaces it whole (an import repeated).
            store
                .insert_rows(
                    &run("20260101-1", 1, "/ws"),
                    &units[..1],
                    &[0],
                    &[("rss".into(), 2.0)],
                )
                .unwrap();
            assert_eq!(
                store.run("20260101-1", None).unwrap().1.len(),
                1,
                "{engine}"
            );
            assert_eq!(
                store.measures("20260101-1").unwrap(),
                vec![("rss".to_string(), 2.0)]
            );
        }
    }

    #[test]
    fn experiments_round_trip_and_are_found_by_prefix_or_recency() {
        for (engine, store, _dir) in engines("experiments") {
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
            assert_eq!(here.len(), 2, "{engine}");
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
                store.experiment("2026", None),
                Err(StoreError::AmbiguousRun(_))
            ));
            assert!(matches!(
                store.experiment("latest~9", w),
                Err(StoreError::NoSuchExperiment(_))
            ));
        }
    }

    #[test]
    fn comparable_runs_share_workspace_command_scenario_and_machine() {
        for (engine, store, _dir) in engines("comparable") {
            let units = vec![unit(0, "a", 0, 10)];
            for (id, at) in [("r1", 1), ("r2", 2), ("r3", 3), ("now", 10), ("later", 11)] {
                store
                    .insert_rows(&run(id, at, "/ws"), &units, &[], &[])
                    .unwrap();
            }
            let mut other = run("elsewhere", 5, "/ws");
            other.machine = "another".into();
            store.insert_rows(&other, &units, &[], &[]).unwrap();
            let mut failed = run("failed", 6, "/ws");
            failed.success = false;
            store.insert_rows(&failed, &units, &[], &[]).unwrap();
            let mut hot = run("hot", 7, "/ws");
            hot.scenario = "hot".into();
            store.insert_rows(&hot, &units, &[], &[]).unwrap();
            let now = run("now", 10, "/ws");
            let ids: Vec<String> = store
                .comparable_runs(&now, 10)
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect();
            assert_eq!(ids, vec!["r3", "r2", "r1"], "{engine}");
            assert_eq!(store.comparable_runs(&now, 2).unwrap().len(), 2);
            store
                .add_measures("r1", &[("binary-size".into(), 4096.0)])
                .unwrap();
            store
                .add_measures("r1", &[("binary-size".into(), 4097.5)])
                .unwrap();
            assert_eq!(
                store.measures("r1").unwrap(),
                vec![("binary-size".to_string(), 4097.5)],
                "{engine}"
            );
            assert!(store.measures("r2").unwrap().is_empty());
        }
    }

    /// Every query, asked of both engines holding the same runs, gives the same rows.
    #[test]
    fn both_engines_give_the_same_answers() {
        let engines = engines("same_answers");
        if engines.len() < 2 {
            eprintln!("no PostgreSQL server configured: compared nothing");
            return;
        }
        for (_, store, _) in &engines {
            for i in 0..30u64 {
                let mut row = run(
                    &format!("2026113{}-{:06}-ab12cd-{}-1", i % 3, i * 7, 100 + i),
                    1000 - i * 3,
                    if i % 2 == 0 { "/ws" } else { "/other" },
                );
                row.wall_ns = 1_000 + i * 13;
                row.success = i % 5 != 0;
                row.scenario = if i % 3 == 0 {
                    "cold".into()
                } else {
                    "hot: touch src/lib.rs".into()
                };
                let units: Vec<Unit> = (0..(i as usize % 4 + 1))
                    .map(|u| unit(u, &format!("p{u}"), u as u64 * 5, u as u64 * 5 + i + 1))
                    .collect();
                store
                    .insert_rows(&row, &units, &[0], &[("rss".into(), i as f64 * 1.5)])
                    .unwrap();
            }
        }
        let answers = |store: &Store| {
            let ws = Some(Path::new("/ws"));
            let runs = store.runs(None, 100).unwrap();
            let like = runs[3].clone();
            let mut text = format!("{:?}\n{:?}\n", runs, store.runs(ws, 7).unwrap());
            text += &format!("{:?}\n", store.comparable_runs(&like, 50).unwrap());
            text += &format!(
                "{:?}\n{:?}\n",
                store.run("latest~4", ws).unwrap(),
                store.run("2026113", None).err()
            );
            for row in &runs {
                text += &format!(
                    "{:?}{:?}{:?}\n",
                    store.run(&row.id, None).unwrap(),
                    store.measures(&row.id).unwrap(),
                    store.critical_units(&row.id).unwrap()
                );
            }
            text + &format!("{:?}", store.run_ids().unwrap())
        };
        assert_eq!(answers(&engines[0].1), answers(&engines[1].1));
    }

    #[test]
    fn a_version_1_history_is_migrated_and_keeps_its_runs() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("old.sqlite");
        {
            // The schema as buildscope kept it before machines and measures.
            let old = rusqlite::Connection::open(&db).unwrap();
            old.execute_batch(&format!(
                "{} PRAGMA user_version = 1;",
                sqlite::version_1_schema()
            ))
            .unwrap();
            old.execute(
                "INSERT INTO runs (id, workspace_root, started_at_ns, command, cargo_args, scenario,
                    success, wall_ns, cpu_ns, units, fresh_units, critical_chain_ns, run_dir)
                 VALUES ('old', '/ws', 1, 'build', '[]', 'cold', 1, 5, 5, 0, 0, 5, '/r'),
                        ('touched', '/ws', 2, 'build', '[]', 'hot: touch src/main.rs', 1, 5, 5,
                         0, 0, 5, '/r2'),
                        ('edited', '/ws', 3, 'build', '[]', 'hot: edit src/lib.rs', 1, 5, 5,
                         0, 0, 5, '/r3')",
                [],
            )
            .unwrap();
        }
        let store = Store::open_file(&db).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let (row, _) = store.run("old", None).unwrap();
        assert_eq!(row.machine, "");
        // Scenario prose became the keys runs compare by.
        let scenario = |id: &str| store.run(id, None).unwrap().0.scenario;
        assert_eq!(scenario("old"), "cold");
        assert_eq!(scenario("touched"), "touch:src/main.rs");
        assert_eq!(scenario("edited"), "edit:src/lib.rs");
        assert_eq!(
            store.run("touched", None).unwrap().0.scenario_text,
            "hot: touch src/main.rs"
        );
        store.add_measures("old", &[("rss".into(), 1.0)]).unwrap();
        store
            .insert_rows(&run("new", 2, "/ws"), &[unit(0, "a", 0, 1)], &[], &[])
            .unwrap();
        assert_eq!(store.runs(None, 10).unwrap().len(), 4);
    }

    #[test]
    fn a_newer_history_and_a_foreign_database_are_refused_with_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let newer = dir.path().join("newer.sqlite");
        rusqlite::Connection::open(&newer)
            .unwrap()
            .execute_batch("PRAGMA user_version = 99;")
            .unwrap();
        let error = Store::open_file(&newer).err().unwrap().to_string();
        assert!(
            error.contains(&format!(
                "schema version 99 is newer than this buildscope ({SCHEMA_VERSION})"
            )),
            "{error}"
        );
        let foreign = dir.path().join("app.sqlite");
        rusqlite::Connection::open(&foreign)
            .unwrap()
            .execute_batch("CREATE TABLE customers (id INTEGER);")
            .unwrap();
        let error = Store::open_file(&foreign).err().unwrap().to_string();
        assert!(
            error.contains("not a buildscope history (it holds other tables: customers)"),
            "{error}"
        );
        if let Some(url) = postgres_database("refused") {
            #[cfg(feature = "postgres")]
            {
                let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
                client
                    .batch_execute("CREATE TABLE customers (id BIGINT)")
                    .unwrap();
                let error = Store::open(&Location::Postgres(url.clone()))
                    .err()
                    .unwrap()
                    .to_string();
                assert!(
                    error.contains("not a buildscope history (it holds other tables: customers)"),
                    "{error}"
                );
                client.batch_execute("DROP TABLE customers").unwrap();
                Store::open(&Location::Postgres(url.clone())).unwrap();
                client
                    .batch_execute("UPDATE buildscope_schema SET version = 99")
                    .unwrap();
                let error = Store::open(&Location::Postgres(url))
                    .err()
                    .unwrap()
                    .to_string();
                assert!(error.contains("schema version 99 is newer"), "{error}");
            }
        }
    }

    #[test]
    fn locations_are_files_or_postgres_urls() {
        assert_eq!(
            Location::parse("postgres://ci@db/builds").unwrap(),
            Location::Postgres("postgres://ci@db/builds".into())
        );
        assert_eq!(
            Location::parse("postgresql:///builds").unwrap(),
            Location::Postgres("postgresql:///builds".into())
        );
        assert_eq!(
            Location::parse("/home/me/history.sqlite").unwrap(),
            Location::File("/home/me/history.sqlite".into())
        );
        assert!(matches!(
            Location::parse("mysql://db/x"),
            Err(StoreError::UnknownScheme(_))
        ));
        // Paths that only look like URLs stay paths.
        assert!(matches!(
            Location::parse("weird:/name").unwrap(),
            Location::File(_)
        ));
        assert!(matches!(
            Location::parse("dir/a://b").unwrap(),
            Location::File(_)
        ));
    }
}
