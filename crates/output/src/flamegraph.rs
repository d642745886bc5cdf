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
