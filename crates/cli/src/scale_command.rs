//! `buildscope scale`: a generated project at several sizes, built and measured, and how
//! each measure grows.

use crate::terminal::say;
use buildscope_output::Status;
use std::process::ExitCode;

use anyhow::Result;
use buildscope_measure::{cargo, Generator, ScalePlan};
use buildscope_output::{render_scale, write_scale_page, ScaleView, Style};
use buildscope_workflow::{
    default_work_dir, generator_of, scale as scale_sizes, sizes_to_fit, Scaled,
};

use crate::cli::ScaleArgs;
use crate::terminal::{cores, print, progress_bar};

pub(crate) fn scale(args: ScaleArgs, style: &Style) -> Result<ExitCode> {
    let generator = generator_of(
        args.shape.as_deref(),
        args.generator.as_deref(),
        args.edit.as_deref(),
        args.run.is_some(),
    )?;
    // Sizes of an edit are rebuilds after it.
    let hot = args.hot || args.edit.is_some();
    let sizes = sizes_to_fit(&args.sizes)?;
    let here = std::env::current_dir().unwrap_or_default();
    let plan = ScalePlan {
        cargo: cargo(),
        generator: generator.clone(),
        sizes: sizes.clone(),
        runs: args.runs as usize,
        hot,
        work: (args.work.clone()).unwrap_or_else(|| match (&generator, &args.run) {
            (Generator::Nothing, Some(run)) => {
                default_work_dir(&Generator::Command(run.clone()), &here)
            }
            _ => default_work_dir(&generator, &here),
        }),
        cores: cores(),
        env: args
            .toolchain
            .iter()
            .map(|t| ("RUSTUP_TOOLCHAIN".to_string(), t.clone()))
            .collect(),
        sample: args.sample,
        run: args.run.clone(),
    };
    let bar = progress_bar(
        args.quiet || args.format().is_for_machines(),
        sizes.len() as u64,
        "{spinner} [{bar:30}] {pos}/{len} sizes  {wide_msg}",
    );
    let scaled = scale_sizes(&plan, |size| {
        bar.set_message(buildscope_output::Activity::Size(size).to_string());
        bar.inc(1);
    });
    bar.finish_and_clear();
    let Scaled { measures, failures } = scaled?;
    let runs = args.runs as usize;
    let described = match &args.run {
        Some(run) => format!("{run} ({})", generator.describe()),
        None => generator.describe(),
    };
    let view = ScaleView::new(&described, hot, sizes, runs, measures, failures);
    if let Some(path) = &args.output {
        write_scale_page(&view, path)?;
        if !args.format().is_for_machines() {
            say(Status::Wrote(path));
        }
    }
    let text = match args.format().is_for_machines() {
        true => serde_json::to_string_pretty(&view)? + "\n",
        false => render_scale(&view, style),
    };
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}
