//! The commands that read self-profiles: summarize, diff, trace, flamegraph, queries, top.
//! Each reads its inputs, calls the analysis and hands the result to output.

use crate::terminal::say;
use buildscope_output::{Contents, Status};
use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use buildscope_analysis::{
    collapse_files, diff, query_trees, summarize_inputs, top_invocations_of_files, FoldedStacks,
    Importance, RankBy, SortKey, StackOptions,
};
use buildscope_measure::{read_folded, SAMPLES_FILE};
use buildscope_output::{
    inputs_title, queries_html, write_collapsed, write_flamegraph, write_trace, DiffResult,
    FlamegraphError, FlamegraphOptions, OutputFile, QueriesResult, StacksSource, Style,
    SummaryResult, SummaryView, TopResult, TraceError, TraceOptions, DEFAULT_SPLIT_PAGES,
};

use crate::cli::{
    DiffArgs, FlamegraphArgs, QueriesArgs, SortBy, SummarizeArgs, TopArgs, TopSort, TraceArgs,
};
use crate::resolve::resolve_target;
use crate::terminal::{print_document, row_limit};

pub(crate) fn summarize(args: SummarizeArgs, jobs: usize, style: &Style) -> Result<()> {
    let summary = summarize_inputs(&args.paths, jobs)?;
    let view = SummaryView {
        top: row_limit(args.top, args.format().is_for_machines()),
        min_percent: args.min_percent,
        sort: match args.sort {
            SortBy::Self_ => SortKey::SelfTime,
            SortBy::Time => SortKey::Time,
            SortBy::Count => SortKey::Count,
            SortBy::Hits => SortKey::CacheHits,
        },
    };
    let result = SummaryResult {
        summary: &summary,
        view: &view,
        per_crate: args.per_crate,
    };
    print_document(&result, args.format(), style)
}

pub(crate) fn diff_command(args: DiffArgs, jobs: usize, style: &Style) -> Result<()> {
    // One side after the other: each side's profiles are unmapped before the next side is
    // read, so peak memory is that of one side (reading both at once was 1.2x faster on
    // two cores but needed twice the memory).
    let base = summarize_inputs(std::slice::from_ref(&args.base), jobs)?;
    let new = summarize_inputs(std::slice::from_ref(&args.new), jobs)?;
    let result = diff(&base, &new, &args.exclude);
    let format = args.format();
    let shown = DiffResult {
        diff: &result,
        top: row_limit(args.top, format.is_for_machines()),
    };
    print_document(&shown, format, style)
}

pub(crate) fn trace(args: TraceArgs) -> Result<()> {
    let set = buildscope_profile::find_profiles(&args.paths)?;
    let mut output = OutputFile::create(&args.output)?;
    let options = TraceOptions {
        min_duration_ns: (args.min_duration.max(0.0) * 1000.0) as u64,
        collapse_threads: args.collapse_threads,
        max_bytes: (args.max_size > 0).then_some(args.max_size),
        split_pages: DEFAULT_SPLIT_PAGES,
    };
    let report = write_trace(&set.files, output.file(), &options).map_err(|e| match e {
        // A profile's error names the profile; a write error needs the output's name.
        TraceError::Profile(e) => anyhow::Error::from(e),
        e @ TraceError::Write(_) => anyhow::anyhow!("{}: {e}", args.output.display()),
    })?;
    output.commit()?;
    eprint!(
        "{}",
        report.describe(&args.output, options.min_duration_ns, args.max_size)
    );
    Ok(())
}

/// The sampled stacks of the one run named (`build --sample`).
fn sampled_stacks(args: &FlamegraphArgs) -> Result<FoldedStacks> {
    let names: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
    if names.len() != 1 {
        bail!("--samples draws one run: name one (an id, `latest`, or its folder)");
    }
    let (record, _) = resolve_target(&names, &args.history, None)?;
    let record = record
        .with_context(|| format!("{}: not a run (--samples draws a run's samples)", names[0]))?;
    let path = record.run_dir.join(SAMPLES_FILE);
    if record.samples.is_none() || !path.is_file() {
        bail!(
            "{}: run {} was not sampled (measure with `buildscope build --sample`)",
            record.run_dir.display(),
            record.id
        );
    }
    let stacks = read_folded(&path).with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(FoldedStacks { stacks })
}

pub(crate) fn flamegraph(args: FlamegraphArgs, threads: usize) -> Result<()> {
    let (stacks, source) = stacks_of(&args, threads)?;
    if let Some(path) = &args.collapsed {
        if path.as_os_str() == "-" {
            write_collapsed(&stacks, &mut std::io::stdout().lock())?;
        } else {
            let mut output = OutputFile::create(path)?;
            write_collapsed(&stacks, &mut std::io::BufWriter::new(output.file()))
                .with_context(|| format!("{}: cannot write", path.display()))?;
            output.commit()?;
            say(Status::WroteWith(
                path,
                Contents::Stacks {
                    stacks: stacks.stacks.len(),
                    source: None,
                },
            ));
        }
    }
    let svg_path = match (&args.output, &args.collapsed) {
        (Some(path), _) => path.clone(),
        (None, Some(_)) => return Ok(()),
        (None, None) => PathBuf::from("flamegraph.svg"),
    };
    let title = args
        .title
        .clone()
        .unwrap_or_else(|| inputs_title("", &args.paths));
    let options = FlamegraphOptions {
        title,
        icicle: args.icicle,
    };
    let mut output = OutputFile::create(&svg_path)?;
    write_flamegraph(&stacks, &options, output.file()).map_err(|e| match e {
        FlamegraphError::Empty => anyhow::anyhow!("{}: {e}", args.paths[0].display()),
        e => anyhow::anyhow!("{}: {e}", svg_path.display()),
    })?;
    output.commit()?;
    say(Status::WroteWith(
        &svg_path,
        Contents::Stacks {
            stacks: stacks.stacks.len(),
            source: Some(&source.to_string()),
        },
    ));
    Ok(())
}

pub(crate) fn queries(args: QueriesArgs, threads: usize, style: &Style) -> Result<()> {
    let set = buildscope_profile::find_profiles(&args.paths)?;
    let importance = Importance {
        min_extent: args.min_extent,
        min_percent: args.min_percent,
        max_nodes: args.max_nodes,
    };
    let trees = query_trees(&set.files, threads, importance)?;
    if let Some(path) = &args.html {
        let html = queries_html(&trees, &inputs_title(" queries", &args.paths));
        let mut output = OutputFile::create(path)?;
        output
            .file()
            .write_all(html.as_bytes())
            .with_context(|| format!("{}: cannot write", path.display()))?;
        output.commit()?;
        let nodes: usize = trees.profiles.iter().map(|p| p.nodes.len()).sum();
        say(Status::WroteWith(path, Contents::Nodes(nodes)));
    }
    let result = QueriesResult {
        trees: &trees,
        top: args.top,
    };
    print_document(&result, args.format(), style)
}

pub(crate) fn top(args: TopArgs, threads: usize, style: &Style) -> Result<()> {
    let set = buildscope_profile::find_profiles(&args.paths)?;
    let rank = match args.sort {
        TopSort::Time => RankBy::Duration,
        TopSort::Self_ => RankBy::SelfTime,
    };
    let found =
        top_invocations_of_files(&set.files, threads, args.top, rank, args.label.as_deref())?;
    let result = TopResult {
        invocations: &found,
        full: args.full,
    };
    print_document(&result, args.format(), style)
}

/// The stacks to draw: sampled, or from the self-profiles; and where they came from.
fn stacks_of(args: &FlamegraphArgs, threads: usize) -> Result<(FoldedStacks, StacksSource)> {
    Ok(if args.samples {
        let stacks = sampled_stacks(args)?;
        let source = StacksSource::Sampled {
            cpu_ns: stacks.total_ns(),
        };
        (stacks, source)
    } else {
        let set = buildscope_profile::find_profiles(&args.paths)?;
        let options = StackOptions {
            per_thread: args.per_thread,
        };
        let stacks = collapse_files(&set.files, threads, options)?;
        let source = StacksSource::SelfProfiles {
            self_ns: stacks.total_ns(),
            profiles: set.files.len(),
        };
        (stacks, source)
    })
}
