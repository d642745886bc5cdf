//! `buildscope check`'s workflow: the thresholds, the baseline (the history's comparable
//! runs, a named run, a saved record), each run's measures, and the confirmation of a
//! crossing by measuring again.

use std::path::Path;

use buildscope_analysis::{
    check_regressions, phase_measures_in, run_measures, BaselineKind, BaselineSource, CheckOutcome,
    Confirmation, Measures, RunRecord, Threshold, DEFAULT_THRESHOLDS, PROGRAM_DEFAULT_THRESHOLDS,
};
use buildscope_store::{RunRow, Store};

use crate::recording::stored_measures;
use crate::WorkflowError;

/// What a run is judged against.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// One set of measures per baseline run.
    pub measures: Vec<Measures>,
    pub kind: BaselineKind,
    pub source: BaselineSource,
}

/// `--fail-if` and `--fail-if-slower` (empty when neither is given: see
/// [`thresholds_or_defaults`]).
pub fn parse_thresholds(
    fail_if: &[String],
    fail_if_slower: Option<&str>,
) -> Result<Vec<Threshold>, WorkflowError> {
    let mut thresholds: Vec<Threshold> = fail_if
        .iter()
        .map(|t| Threshold::parse(t))
        .collect::<Result<_, _>>()?;
    if let Some(limit) = fail_if_slower {
        thresholds.push(Threshold::slower(limit).map_err(|e| {
            WorkflowError::BadArgument(format!(
                "--fail-if-slower {limit}: {}",
                e.to_string().split(": ").last().unwrap_or_default()
            ))
        })?);
    }
    Ok(thresholds)
}

/// The thresholds given, or the defaults for what `records` are: a program's runs
/// (`fn:*`) or a build's (`unit:*`).
pub fn thresholds_or_defaults(given: Vec<Threshold>, records: &[RunRecord]) -> Vec<Threshold> {
    if !given.is_empty() {
        return given;
    }
    let program = records.iter().any(|r| r.program.is_some());
    let defaults: &[&str] = match program {
        true => &PROGRAM_DEFAULT_THRESHOLDS,
        false => &DEFAULT_THRESHOLDS,
    };
    defaults
        .iter()
        .map(|t| Threshold::parse(t).expect("the defaults parse"))
        .collect()
}

/// A run's measures: wall, CPU, peak memory, binary size, each unit, and each profiled
/// crate's phases. A record from before buildscope kept phases in it has them read from
/// its profiles, when they are still there.
pub fn measures_of(record: &RunRecord) -> Measures {
    let mut extra = record.extra_measures();
    let profiles = record.profile_dirs();
    if record.phase_measures.is_empty() && !profiles.is_empty() {
        extra.extend(phase_measures_in(&profiles, 2));
    }
    run_measures(
        &record.units,
        record.totals.wall_ns,
        record.totals.cpu_ns,
        &extra,
    )
}

/// The history's comparable runs before `records` (the runs this check made are not their
/// own baseline), at most `size`.
pub fn baseline_from_history(
    store: &Store,
    records: &[RunRecord],
    size: usize,
) -> Result<Baseline, WorkflowError> {
    let first = records.first().expect("at least one run");
    let mine: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    let rows: Vec<RunRow> = store
        .comparable_runs(&RunRow::of(first), size + mine.len())?
        .into_iter()
        .filter(|r| !mine.contains(&r.id.as_str()))
        .take(size)
        .collect();
    let measures = rows
        .iter()
        .map(|row| stored_measures(store, row))
        .collect::<Result<Vec<_>, _>>()?;
    let runs = measures.len();
    Ok(Baseline {
        measures,
        kind: BaselineKind::History,
        source: BaselineSource::History { runs },
    })
}

/// One run of the history, by id, prefix or `latest~N`.
pub fn baseline_from_run(
    store: &Store,
    name: &str,
    workspace: Option<&Path>,
) -> Result<Baseline, WorkflowError> {
    let (row, _) = store.run(name, workspace).map_err(|e| {
        WorkflowError::BadArgument(format!(
            "--baseline {name}: not a file, and not a run in the history ({e})"
        ))
    })?;
    Ok(Baseline {
        measures: vec![stored_measures(store, &row)?],
        kind: BaselineKind::Named,
        source: BaselineSource::Run { id: row.id },
    })
}

/// A saved record: a run.json, or `buildscope build --json` output.
pub fn baseline_from_file(path: &Path) -> Result<Baseline, WorkflowError> {
    let runs = records_in_file(path)?;
    Ok(Baseline {
        measures: runs.iter().map(measures_of).collect(),
        kind: BaselineKind::Named,
        source: BaselineSource::File {
            path: path.to_path_buf(),
            runs: runs.len(),
        },
    })
}

/// The run records of a file: a run.json, or `buildscope build --json` output.
pub fn records_in_file(path: &Path) -> Result<Vec<RunRecord>, WorkflowError> {
    let bad = |reason: &str| WorkflowError::BadFile {
        argument: "--baseline",
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(&format!("cannot read it: {e}")))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(&format!("not JSON: {e}")))?;
    let runs = match value.get("runs") {
        Some(runs) => serde_json::from_value::<Vec<RunRecord>>(runs.clone()),
        None => serde_json::from_value::<RunRecord>(value).map(|r| vec![r]),
    }
    .map_err(|_| bad("not a run record (run.json) nor `buildscope build --json` output"))?;
    if runs.is_empty() {
        return Err(bad("holds no runs"));
    }
    Ok(runs)
}

/// A check's runs, their measures, the outcome, and how a confirmation ended.
pub type Judged = (
    Vec<RunRecord>,
    Vec<Measures>,
    CheckOutcome,
    Option<Confirmation>,
);

/// Judges `records` against `baseline`; a crossing is measured again (`confirm` more runs,
/// by `measure_again`) and the median of all runs judged, since a build can be slow once
/// (a neighbour on the machine, a cold cache). Every confirming run is measured, even when
/// one already brought the median back: the median of two is their mean, which one fast
/// run drags under a threshold that a real regression crosses (CI: a planted 15% slower
/// function measured +17% then +3%, a mean within the noise). With `confirm` 2 the verdict
/// is the middle of three runs, which no single run decides. Returns the runs, their
/// measures, the outcome, and how a confirmation ended.
pub fn confirm<E>(
    mut records: Vec<RunRecord>,
    baseline: &Baseline,
    thresholds: &[Threshold],
    strict: bool,
    confirm: usize,
    mut measure_again: impl FnMut() -> Result<Vec<RunRecord>, E>,
) -> Result<Judged, E> {
    let judge = |current: &[Measures]| {
        check_regressions(
            current,
            &baseline.measures,
            thresholds,
            baseline.kind,
            strict,
        )
    };
    let mut current: Vec<Measures> = records.iter().map(measures_of).collect();
    let mut outcome = judge(&current);
    if !outcome.failed || confirm == 0 {
        return Ok((records, current, outcome, None));
    }
    let first = records.len();
    while records.len() - first < confirm {
        // The new runs' measures only: the earlier ones' stand.
        let more = measure_again()?;
        current.extend(more.iter().map(measures_of));
        records.extend(more);
        outcome = judge(&current);
    }
    let (again, runs) = (records.len() - first, records.len());
    let confirmation = match outcome.failed {
        true => Confirmation::Confirmed { again, runs },
        false => Confirmation::NotReproduced { again, runs },
    };
    Ok((records, current, outcome, Some(confirmation)))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use buildscope_analysis::{build_totals, critical_path, Scenario, Unit, UnitKind, RUN_SCHEMA};

    use super::*;

    fn run(id: &str, wall_ns: u64) -> RunRecord {
        let units = vec![Unit {
            linker: None,
            codegen_units: None,
            id: 0,
            package: "app".into(),
            version: "0.1.0".into(),
            target: "app".into(),
            kind: UnitKind::Lib,
            start_ns: 0,
            rmeta_ns: None,
            end_ns: wall_ns,
            cpu_ns: Some(wall_ns),
            max_rss_bytes: Some(1 << 20),
            exit_code: Some(0),
            link_ns: None,
            deps: vec![],
            rmeta_deps: vec![],
        }];
        RunRecord {
            schema: RUN_SCHEMA.into(),
            id: id.into(),
            workspace_root: PathBuf::from("/ws"),
            command: "build".into(),
            cargo_args: vec![],
            scenario: Scenario::Cold,
            run: 1,
            started_at_ns: 1,
            success: true,
            exit_code: Some(0),
            totals: build_totals(&units, wall_ns, 2),
            critical_path: critical_path(&units, wall_ns),
            units,
            fresh_units: 0,
            exact_dependencies: true,
            notes: vec![],
            run_dir: PathBuf::from("/nowhere"),
            profile_dir: None,
            cargo_output_tail: vec![],
            failure: None,
            rebuild_reasons: None,
            reasons_from: None,
            settings: None,
            previous_settings: None,
            warm_up: None,
            machine: None,
            binary_size_bytes: None,
            wrappers: vec![],
            cached_units: vec![],
            samples: None,
            phase_measures: vec![("phase:app:LLVM".into(), 5.0e8)],
            program: None,
        }
    }

    fn baseline(walls: &[u64]) -> Baseline {
        Baseline {
            measures: walls.iter().map(|w| measures_of(&run("b", *w))).collect(),
            kind: BaselineKind::History,
            source: BaselineSource::History { runs: walls.len() },
        }
    }

    const STEADY: [u64; 6] = [
        1_000_000_000,
        1_010_000_000,
        990_000_000,
        1_005_000_000,
        995_000_000,
        1_000_000_000,
    ];

    #[test]
    fn a_record_s_measures_hold_its_phases() {
        let measures = measures_of(&run("r", 1_000_000_000));
        assert_eq!(measures.get("phase:app:LLVM"), Some(&5.0e8));
        assert_eq!(measures.get("wall"), Some(&1.0e9));
    }

    #[test]
    fn a_slow_run_once_is_measured_again_and_not_reproduced() {
        let thresholds = parse_thresholds(&["wall>10%".into()], None).unwrap();
        let mut again = 0;
        let (records, current, outcome, confirmation) = confirm(
            vec![run("slow", 2_000_000_000)],
            &baseline(&STEADY),
            &thresholds,
            false,
            2,
            || -> Result<_, WorkflowError> {
                again += 1;
                Ok(vec![run(&format!("again{again}"), 1_000_000_000)])
            },
        )
        .unwrap();
        assert_eq!(again, 2, "every confirming run measured");
        assert_eq!((records.len(), current.len()), (3, 3));
        assert!(!outcome.failed);
        assert_eq!(
            confirmation,
            Some(Confirmation::NotReproduced { again: 2, runs: 3 })
        );
    }

    #[test]
    fn a_real_regression_is_confirmed_and_a_steady_run_is_not_remeasured() {
        let thresholds = parse_thresholds(&[], Some("10%")).unwrap();
        let slow = || -> Result<_, WorkflowError> { Ok(vec![run("slow", 2_000_000_000)]) };
        let (_, _, outcome, confirmation) = confirm(
            vec![run("slow", 2_000_000_000)],
            &baseline(&STEADY),
            &thresholds,
            false,
            2,
            slow,
        )
        .unwrap();
        assert!(outcome.failed);
        assert_eq!(
            confirmation,
            Some(Confirmation::Confirmed { again: 2, runs: 3 })
        );
        let (records, _, outcome, confirmation) = confirm(
            vec![run("steady", 1_000_000_000)],
            &baseline(&STEADY),
            &thresholds,
            false,
            2,
            || -> Result<Vec<RunRecord>, WorkflowError> { panic!("not measured again") },
        )
        .unwrap();
        assert_eq!(
            (records.len(), outcome.failed, confirmation),
            (1, false, None)
        );
    }

    #[test]
    fn one_fast_confirming_run_does_not_clear_a_regression() {
        // 15% slower, then one run at the baseline's speed, then 15% slower again: the
        // first two alone average within a 10% threshold; the middle of three does not.
        let thresholds = parse_thresholds(&["wall>10%".into()], None).unwrap();
        let mut again = [1_000_000_000, 1_150_000_000].into_iter();
        let (records, _, outcome, confirmation) = confirm(
            vec![run("slow", 1_150_000_000)],
            &baseline(&STEADY),
            &thresholds,
            false,
            2,
            || -> Result<_, WorkflowError> { Ok(vec![run("again", again.next().unwrap())]) },
        )
        .unwrap();
        assert_eq!(records.len(), 3);
        assert!(outcome.failed);
        assert_eq!(
            confirmation,
            Some(Confirmation::Confirmed { again: 2, runs: 3 })
        );
    }

    #[test]
    fn bad_thresholds_and_baseline_files_say_which() {
        let err = parse_thresholds(&["speed>5%".into()], None).unwrap_err();
        assert!(err.to_string().contains("threshold `speed>5%`"), "{err}");
        let err = parse_thresholds(&[], Some("lots")).unwrap_err();
        assert!(
            err.to_string().starts_with("--fail-if-slower lots"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("base.json");
        std::fs::write(&file, "{\"runs\": []}").unwrap();
        let err = baseline_from_file(&file).unwrap_err().to_string();
        assert!(err.ends_with("base.json: holds no runs"), "{err}");
        std::fs::write(&file, "not json").unwrap();
        let err = baseline_from_file(&file).unwrap_err().to_string();
        assert!(
            err.contains("--baseline") && err.contains("not JSON"),
            "{err}"
        );
    }
}
