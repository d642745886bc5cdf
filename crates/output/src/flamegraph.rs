//! Flamegraphs (interactive SVG, via inferno) and the folded-stack text they are drawn
//! from.

use std::io::Write;

use buildscope_analysis::FoldedStacks;

#[derive(Debug, Clone, Default)]
pub struct FlamegraphOptions {
    pub title: String,
    /// Roots at the top, stacks growing down.
    pub icicle: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum FlamegraphError {
    #[error("nothing to draw: the profiles have no intervals")]
    Empty,
    #[error("drawing the flamegraph: {0}")]
    Draw(String),
    #[error("writing: {0}")]
    Write(#[from] std::io::Error),
}

/// The folded stacks as text: `frame;frame;frame <nanoseconds>` per line.
pub fn write_collapsed(stacks: &FoldedStacks, out: &mut impl Write) -> std::io::Result<()> {
    let mut line = Vec::with_capacity(256);
    for (stack, ns) in &stacks.stacks {
        line.clear();
        line.extend_from_slice(stack.as_bytes());
        line.push(b' ');
        line.extend_from_slice(itoa::Buffer::new().format(*ns).as_bytes());
        line.push(b'\n');
        out.write_all(&line)?;
    }
    out.flush()
}

/// An interactive SVG flamegraph: search, zoom, and each frame's full name and time on
/// hover. inferno escapes every name it writes into the SVG.
pub fn write_flamegraph(
    stacks: &FoldedStacks,
    options: &FlamegraphOptions,
    out: impl Write,
) -> Result<(), FlamegraphError> {
    if stacks.stacks.is_empty() {
        return Err(FlamegraphError::Empty);
    }
    let lines: Vec<String> = stacks
        .stacks
        .iter()
        .map(|(stack, ns)| format!("{stack} {ns}"))
        .collect();
    let mut inferno_options = inferno::flamegraph::Options::default();
    inferno_options.title = options.title.clone();
    inferno_options.count_name = "ns".to_string();
    inferno_options.name_type = "Activity:".to_string();
    if options.icicle {
        inferno_options.direction = inferno::flamegraph::Direction::Inverted;
    }
    // The stacks come sorted already.
    inferno_options.no_sort = true;
    inferno::flamegraph::from_lines(
        &mut inferno_options,
        lines.iter().map(String::as_str),
        std::io::BufWriter::with_capacity(1 << 16, out),
    )
    .map_err(|e| FlamegraphError::Draw(e.to_string()))
}

/// A differential flamegraph (inferno's): the `after` stacks drawn, each frame red where it
/// grew from `before` and blue where it shrank. `before` is scaled to `after`'s total
/// first, so a machine that was slower overall does not paint everything red.
pub fn write_differential_flamegraph(
    before: &FoldedStacks,
    after: &FoldedStacks,
    title: &str,
    out: impl Write,
) -> Result<(), FlamegraphError> {
    if after.stacks.is_empty() && before.stacks.is_empty() {
        return Err(FlamegraphError::Empty);
    }
    let text = |stacks: &FoldedStacks| -> Vec<u8> {
        let mut bytes = Vec::new();
        write_collapsed(stacks, &mut bytes).expect("writing to memory");
        bytes
    };
    let mut lines = Vec::new();
    inferno::differential::from_readers(
        inferno::differential::Options {
            normalize: true,
            strip_hex: false,
        },
        std::io::Cursor::new(text(before)),
        std::io::Cursor::new(text(after)),
        &mut lines,
    )?;
    let lines = String::from_utf8_lossy(&lines);
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_string();
    options.subtitle =
        Some("red: grew, blue: shrank (the earlier run scaled to this one's total)".into());
    inferno::flamegraph::from_lines(
        &mut options,
        lines.lines(),
        std::io::BufWriter::with_capacity(1 << 16, out),
    )
    .map_err(|e| FlamegraphError::Draw(e.to_string()))
}

/// Where a flame graph's stacks came from, for the line that says what was drawn.
#[derive(Debug, Clone, Copy)]
pub enum StacksSource {
    /// A run's perf samples (`build --sample`), their CPU time.
    Sampled { cpu_ns: u64 },
    /// Self-profiles, their self time.
    SelfProfiles { self_ns: u64, profiles: usize },
}

impl std::fmt::Display for StacksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            StacksSource::Sampled { cpu_ns } => {
                write!(f, "{} of sampled CPU time", crate::human_duration(cpu_ns))
            }
            StacksSource::SelfProfiles { self_ns, profiles } => write!(
                f,
                "{} of self time from {profiles} profile{}",
                crate::human_duration(self_ns),
                if profiles == 1 { "" } else { "s" }
            ),
        }
    }
}

/// A page's title from the inputs it shows: `buildscope: a.mm_profdata b.mm_profdata`
/// (`what` after `buildscope`, such as ` queries`).
pub fn inputs_title(what: &str, paths: &[std::path::PathBuf]) -> String {
    let inputs: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    format!("buildscope{what}: {}", inputs.join(" "))
}
