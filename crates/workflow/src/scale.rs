//! `buildscope scale`'s workflow: the sizes and the generator checked, each size's runs as
//! measures, and every measure's growth fitted.

use std::collections::BTreeMap;
use std::path::Path;

use buildscope_analysis::{
    fit_growth, largest_measures, run_measures, summarize_inputs, RunRecord, ScaleMeasure,
    SizePoint,
};
use buildscope_measure::{measure_sizes, Generator, ScalePlan, Shape, SHAPES};

use crate::WorkflowError;

/// Queries fitted beside the phases: those with the most self time at the largest size.
const TOP_QUERIES: usize = 8;
/// A program's functions fitted (`--run --sample`): those with the most total time at the
/// largest size.
const TOP_FUNCTIONS: usize = 12;

/// The generator `--shape`, `--generator` or `--edit` names (none with `--run` alone: its
/// command makes its input from `{n}`).
pub fn generator_of(
    shape: Option<&str>,
    command: Option<&str>,
    edit: Option<&Path>,
    run: bool,
) -> Result<Generator, WorkflowError> {
    if let Some(path) = edit {
        let absolute = std::fs::canonicalize(path)
            .map_err(|e| WorkflowError::BadArgument(format!("--edit {}: {e}", path.display())))?;
        return Ok(Generator::EditsOf(absolute));
    }
    match (shape, command) {
        (Some(shape), _) => Shape::parse(shape).map(Generator::Builtin).ok_or_else(|| {
            WorkflowError::BadArgument(format!(
                "--shape {shape}: not a built-in generator (one of {})",
                SHAPES.join(", ")
            ))
        }),
        (None, Some(command)) => Ok(Generator::Command(command.to_string())),
        (None, None) if run => Ok(Generator::Nothing),
        (None, None) => Err(WorkflowError::BadArgument(
            "--shape, --generator or --edit: what makes the project for a size".into(),
        )),
    }
}

/// The sizes, sorted and each once: at least three above 0, to fit a growth.
pub fn sizes_to_fit(sizes: &[u64]) -> Result<Vec<u64>, WorkflowError> {
    let mut sizes = sizes.to_vec();
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.len() < 3 || sizes.contains(&0) {
        return Err(WorkflowError::BadArgument(
            "--sizes: at least three different sizes above 0 to fit a growth".into(),
        ));
    }
    Ok(sizes)
}

/// Where a generator's projects go by default: a folder of the current one named after it.
pub fn default_work_dir(generator: &Generator, here: &Path) -> std::path::PathBuf {
    let slug: String = generator
        .describe()
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() || c == '-' {
            true => c,
            false => '_',
        })
        .take(40)
        .collect();
    here.join("target/buildscope-scale").join(slug)
}

/// What `scale` found: every measure's growth, and the sizes that could not be measured.
pub struct Scaled {
    pub measures: Vec<ScaleMeasure>,
    pub failures: Vec<(u64, String)>,
}

/// Builds and measures each size of `plan` (`on_size` hears each as it starts) and fits
/// every measure; fails only when no size could be measured.
pub fn scale(plan: &ScalePlan, on_size: impl FnMut(u64)) -> Result<Scaled, WorkflowError> {
    let measured = measure_sizes(plan, on_size);
    let failures: Vec<(u64, String)> = measured
        .iter()
        .filter_map(|s| s.error.clone().map(|e| (s.size, e)))
        .collect();
    let per_size: Vec<(u64, Vec<BTreeMap<String, f64>>)> = measured
        .iter()
        .map(|s| (s.size, s.records.iter().map(scale_measures_of).collect()))
        .collect();
    let measures = fits(&per_size);
    if measures.iter().all(|m| m.fit.is_none()) && failures.len() == plan.sizes.len() {
        return Err(WorkflowError::BadArgument(format!(
            "no size could be measured: n={}: {}",
            failures[0].0, failures[0].1
        )));
    }
    Ok(Scaled { measures, failures })
}

/// A run's measures for a growth fit: wall, CPU, peak memory, the units' summed time, each
/// phase summed over the profiled crates (`phase:<phase>`, from the same phase measures
/// every recorded run holds), and each query's self time (`query:<label>`).
pub fn scale_measures_of(record: &RunRecord) -> BTreeMap<String, f64> {
    let mut out: BTreeMap<String, f64> = run_measures(
        &record.units,
        record.totals.wall_ns,
        record.totals.cpu_ns,
        &[],
    )
    .into_iter()
    .filter(|(name, _)| matches!(name.as_str(), "wall" | "cpu" | "rss"))
    .collect();
    // CPU even where no unit measured it: a fit needs the point.
    out.insert("cpu".to_string(), record.totals.cpu_ns as f64);
    match &record.program {
        // A program's run has no units; its peak memory is the program's own.
        Some(program) => {
            out.insert("rss".to_string(), program.peak_rss_bytes as f64);
        }
        None => {
            out.insert(
                "units".to_string(),
                record.units.iter().map(|u| u.duration_ns()).sum::<u64>() as f64,
            );
        }
    }
    // A program's functions (`--run` sampled): each one's total time, itself and what it
    // calls, so that a pass's growth includes the helpers it spends it in.
    for function in record.program.iter().flat_map(|p| &p.functions) {
        out.insert(format!("fn:{}", function.name), function.total_ns as f64);
    }
    for (name, ns) in &record.phase_measures {
        if let Some((_, phase)) = name
            .strip_prefix("phase:")
            .and_then(|rest| rest.split_once(':'))
        {
            *out.entry(format!("phase:{phase}")).or_default() += ns;
        }
    }
    let profiles = record.profile_dirs();
    if !profiles.is_empty() {
        if let Ok(summary) = summarize_inputs(&profiles, 2) {
            for row in summary.rows {
                out.insert(format!("query:{}", row.label), row.self_time_ns as f64);
            }
        }
    }
    out
}

/// Every measure over the sizes, fitted: the build-wide ones, the phases, and the queries
/// that take the most self time at the largest size.
fn fits(per_size: &[(u64, Vec<BTreeMap<String, f64>>)]) -> Vec<ScaleMeasure> {
    let mut names: Vec<String> = ["wall", "cpu", "rss", "units"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    // The phases and queries as the largest size's first run has them.
    if let Some(largest) = per_size.iter().rev().find_map(|(_, runs)| runs.first()) {
        names.extend(largest_measures(largest, "phase:", usize::MAX));
        names.extend(largest_measures(largest, "query:", TOP_QUERIES));
        names.extend(largest_measures(largest, "fn:", TOP_FUNCTIONS));
    }
    names
        .into_iter()
        // A measure no run has (`units` of a program) is no row.
        .filter(|name| {
            per_size
                .iter()
                .any(|(_, runs)| runs.iter().any(|m| m.contains_key(name)))
        })
        .map(|name| {
            let points: Vec<SizePoint> = per_size
                .iter()
                .map(|(size, runs)| SizePoint {
                    size: *size,
                    values: runs.iter().filter_map(|m| m.get(&name).copied()).collect(),
                })
                .collect();
            ScaleMeasure {
                unit: if name == "rss" { "bytes" } else { "ns" },
                fit: fit_growth(&points),
                measure: name,
                points,
            }
        })
        .collect()
}
