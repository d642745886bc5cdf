//! Colour, only when the caller says the output is a terminal that wants it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
    /// The width to fit tables into.
    pub width: usize,
}

impl Style {
    pub fn plain() -> Style {
        Style {
            color: false,
            width: 80,
        }
    }

    /// A heading: wrapped to the width, each line bold (so a terminal never splits one).
    pub fn bold_heading(&self, text: &str) -> String {
        crate::format::wrap(text, self.width)
            .lines()
            .map(|l| self.bold(l) + "\n")
            .collect()
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    pub(crate) fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    /// Red for more time (worse), green for less.
    pub(crate) fn change(&self, delta: i128, text: &str) -> String {
        match delta.signum() {
            1 => self.paint("31", text),
            -1 => self.paint("32", text),
            _ => text.to_string(),
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color && !text.is_empty() {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}
