//! One writer of the history load test (bench/history_load.py): writes RUNS run records of
//! UNITS units each into the history at LOCATION, one transaction per run, and prints each
//! write's latency in microseconds, one per line.
//!
//!     history_writer LOCATION WRITER RUNS UNITS

use std::path::PathBuf;
use std::time::Instant;

use buildscope_analysis::{
    build_totals, critical_path, RunRecord, Scenario, Unit, UnitKind, RUN_SCHEMA,
};
use buildscope_store::{Location, Store};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, location, writer, runs, units] = args.as_slice() else {
        eprintln!("usage: history_writer LOCATION WRITER RUNS UNITS");
        std::process::exit(2);
    };
    let writer: usize = writer.parse().expect("WRITER is a number");
    let runs: usize = runs.parse().expect("RUNS is a number");
    let units: usize = units.parse().expect("UNITS is a number");
    let store = Store::open(&Location::parse(location).expect("a location"))
        .unwrap_or_else(|e| panic!("{e}"));
    for run in 0..runs {
        // Ids as buildscope makes them: time, machine, process, run number; the writer
        // stands in for the machine, so every id is unique across writers.
        let id = format!("20261130-120000-w{writer:05}-{}-{run}", std::process::id());
        // Each unit names its run and writer: rows mixed between runs would show.
        let unit_rows: Vec<Unit> = (0..units)
            .map(|u| Unit {
                linker: None,
                codegen_units: None,
                id: u,
                package: format!("{id}/unit{u}"),
                version: "1.0.0".into(),
                target: format!("w{writer}"),
                kind: UnitKind::Lib,
                start_ns: u as u64 * 1000,
                rmeta_ns: None,
                end_ns: u as u64 * 1000 + 500,
                cpu_ns: Some(500),
                max_rss_bytes: Some(1 << 20),
                exit_code: Some(0),
                link_ns: None,
                deps: if u > 0 { vec![u - 1] } else { vec![] },
                rmeta_deps: vec![],
            })
            .collect();
        let wall_ns = 1_000_000_000 + run as u64;
        let record = RunRecord {
            schema: RUN_SCHEMA.into(),
            id: id.clone(),
            workspace_root: PathBuf::from(format!("/ci/writer-{writer}")),
            command: "build".into(),
            cargo_args: vec![],
            scenario: Scenario::Cold,
            run: 1,
            started_at_ns: (writer * 1_000_000 + run) as u64,
            success: true,
            exit_code: Some(0),
            totals: build_totals(&unit_rows, wall_ns, 2),
            critical_path: critical_path(&unit_rows, wall_ns),
            units: unit_rows,
            fresh_units: 0,
            exact_dependencies: true,
            notes: vec![],
            run_dir: PathBuf::from(format!("/ci/runs/{id}")),
            profile_dir: None,
            cargo_output_tail: vec![],
            failure: None,
            rebuild_reasons: None,
            reasons_from: None,
            settings: None,
            previous_settings: None,
            warm_up: None,
            machine: None,
            binary_size_bytes: Some(1_000_000),
            wrappers: vec![],
            cached_units: vec![],
            samples: None,
            phase_measures: vec![],
            program: None,
        };
        let started = Instant::now();
        store
            .insert_run(&record)
            .unwrap_or_else(|e| panic!("writer {writer}, run {run}: {e}"));
        println!("{}", started.elapsed().as_micros());
    }
}
