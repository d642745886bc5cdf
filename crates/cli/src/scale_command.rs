//! `buildscope scale`: a generated project at several sizes, built and measured, and how
//! each measure grows.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{bail, Result};
use buildscope_analysis::{
    fit_growth, largest_measures, merge, scale_headline, RunRecord, ScaleMeasure, SizePoint,
};
use buildscope_measure::{cargo, explain_run, measure_sizes, Generator, ScalePlan, Shape, SHAPES};
use buildscope_output::{render_scale, write_scale_page, ScaleView, Style, SCALE_SCHEMA};

use crate::cli::ScaleArgs;
use crate::terminal::{cores, print, progress_bar};

/// Queries shown beside the phases: those with the most self time at the largest size.
const TOP_QUERIES: usize = 8;

pub(crate) fn scale(args: ScaleArgs, style: &Style) -> Result<ExitCode> {
    let generator = match (&args.shape, &args.generator) {
        (Some(shape), _) => Generator::Builtin(Shape::parse(shape).ok_or_else(|| {
            anyhow::anyhow!(
                "--shape {shape}: not a built-in generator (one of {})",
                SHAPES.join(", ")
            )
        })?),
        (None, Some(command)) => Generator::Command(command.clone()),
        (None, None) => bail!("--shape or --generator: what makes the project for a size"),
    };
    let mut sizes = args.sizes.clone();
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.len() < 3 || sizes.contains(&0) {
        bail!("--sizes: at least three different sizes above 0 to fit a growth");
    }
    let slug: String = generator
        .describe()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let work = args.work.clone().unwrap_or_else(|| {
        std::env::current_dir()
            .unwrap_or_default()
            .join("target/buildscope-scale")
            .join(slug)
    });
    let plan = ScalePlan {
        cargo: cargo(),
        generator: generator.clone(),
        sizes: sizes.clone(),
        runs: args.runs as usize,
        hot: args.hot,
        work,
        cores: cores(),
        env: args
            .toolchain
            .iter()
            .map(|t| ("RUSTUP_TOOLCHAIN".to_string(), t.clone()))
            .collect(),
        sample: args.sample,
    };
    let bar = progress_bar(
        args.quiet || args.json,
        sizes.len() as u64,
        "{spinner} [{bar:30}] {pos}/{len} sizes  {wide_msg}",
    );
    let measured = measure_sizes(&plan, |size| {
        bar.set_message(format!("n={size}"));
        bar.inc(1);
    });
    bar.finish_and_clear();
    let failures: Vec<(u64, String)> = measured
        .iter()
        .filter_map(|s| s.error.clone().map(|e| (s.size, e)))
        .collect();
    // Each size's runs as measures (name → value), from their records and self-profiles.
    let per_size: Vec<(u64, Vec<BTreeMap<String, f64>>)> = measured
        .iter()
        .map(|s| (s.size, s.records.iter().map(measures_of).collect()))
        .collect();
    let measures = fits(&per_size);
    if measures.iter().all(|m| m.fit.is_none()) && failures.len() == sizes.len() {
        bail!(
            "no size could be measured: n={}: {}",
            failures[0].0,
            failures[0].1
        );
    }
    let view = ScaleView {
        schema: SCALE_SCHEMA,
        generator: generator.describe(),
        scenario: if args.hot {
            "hot: after an edit".into()
        } else {
            "cold".into()
        },
        sizes,
        runs: args.runs as usize,
        headline: scale_headline(&measures),
        measures,
        failures,
    };
    if let Some(path) = &args.output {
        write_scale_page(&view, path)?;
        if !args.json {
            eprintln!("wrote {}", path.display());
        }
    }
    if args.json {
        print(&(serde_json::to_string_pretty(&view)? + "\n"))?;
    } else {
        print(&render_scale(&view, style))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A run's measures: its times and memory, and from its self-profiles the CPU time of each
/// phase and each query's self time.
fn measures_of(record: &RunRecord) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    out.insert("wall".to_string(), record.totals.wall_ns as f64);
    out.insert("cpu".to_string(), record.totals.cpu_ns as f64);
    if let Some(rss) = record.units.iter().filter_map(|u| u.max_rss_bytes).max() {
        out.insert("rss".to_string(), rss as f64);
    }
    out.insert(
        "units".to_string(),
        record.units.iter().map(|u| u.duration_ns()).sum::<u64>() as f64,
    );
    if let Ok(explained) = explain_run(Some(record), &record.profile_dirs(), cores(), false) {
        if let Some(phases) = &explained.explanation.phases {
            for phase in &phases.phases {
                out.insert(format!("phase:{}", phase.title), phase.self_ns as f64);
            }
        }
        if !explained.evidence.summaries.is_empty() {
            for row in merge(&explained.evidence.summaries).rows {
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
    }
    names
        .into_iter()
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
