//! Terminal concerns shared by every command: printing, colour and width, row limits,
//! cores, progress bars. A leaf: it imports no other module of this crate.

use std::io::{IsTerminal, Write};

use anyhow::Result;
use buildscope_output::{emit, Document, Format, Status, Style};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::ColorChoice;

/// Rows shown in the terminal when `--top` is not given.
pub(crate) const DEFAULT_TERMINAL_ROWS: usize = 30;

/// A note on stderr, worded by output.
pub(crate) fn say(status: Status) {
    eprintln!("{status}");
}

/// A command's result in the format asked for, on stdout.
pub(crate) fn print_document(document: &dyn Document, format: Format, style: &Style) -> Result<()> {
    print(&emit(document, format, style)?)
}

pub(crate) fn print(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

pub(crate) fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// `--threads N`, or every core.
pub(crate) fn threads(requested: Option<usize>) -> usize {
    requested.unwrap_or_else(cores)
}

/// Colour only on a terminal and without `NO_COLOR` (unless forced); `COLUMNS` wide.
pub(crate) fn terminal_style(choice: ColorChoice) -> Style {
    let stdout_is_terminal = std::io::stdout().is_terminal();
    let color = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            stdout_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|&w: &usize| w >= 40)
        .unwrap_or(80);
    Style { color, width }
}

/// `--top 0` means all rows; no `--top` means a screenful in the terminal and all rows for
/// machines.
pub(crate) fn row_limit(top: Option<usize>, for_machines: bool) -> Option<usize> {
    match top {
        Some(0) => None,
        Some(n) => Some(n),
        None if for_machines => None,
        None => Some(DEFAULT_TERMINAL_ROWS),
    }
}

/// A progress bar on stderr counting `what` (units, builds); hidden when `hidden` or when
/// stderr is not a terminal.
pub(crate) fn progress_bar(hidden: bool, total: u64, template: &str) -> ProgressBar {
    if hidden || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}
