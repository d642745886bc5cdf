//! One way every command prints its result: the format is chosen once from the command
//! line (`--json`, `--markdown`, `--csv`, else text) and a command's result is a
//! [`Document`] that knows how to write itself in each format it has. A new format is one
//! method on the trait and one arm in [`emit`] (hyperfine's exporter shape); a new
//! command's result is one `impl Document`.

use buildscope_analysis::{
    Diff, ExperimentRecord, Explanation, FolderState, Invocation, LeverProof, QueryTrees,
    RebuildReason, RebuildRoot, RunRecord, RunRow, Summary, Unit, UnitChange, Verification,
};
use serde::Serialize;

use crate::bill_view::{bill_markdown, render_bill};
use crate::check_view::{check_markdown, render_check, CheckDocument, CheckView};
use crate::csv::summary_csv;
use crate::documents::{
    render_why, run_heading, CompareDocument, ExplainDocument, LeverProofDocument, RunsDocument,
    TopDocument, WhyDocument,
};
use crate::experiment_view::render_experiment;
use crate::explain_view::{
    explanation_markdown, render_explanation, render_lever_proofs, render_verification,
    verification_markdown,
};
use crate::history_view::{render_compare, render_no_runs_on, render_runs};
use crate::queries_view::{queries_csv, render_queries};
use crate::style::Style;
use crate::top_view::render_top;
use crate::views::{render_diff, render_per_crate, render_summary, SummaryView};

/// How a result is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people: tables that fit the terminal, colour when it is one.
    Text,
    /// One `buildscope.*/1` document (docs/json.md).
    Json,
    /// For a CI job summary or a pull-request comment.
    Markdown,
    /// For a spreadsheet.
    Csv,
}

impl Format {
    /// From cargo-style flags (clap keeps them exclusive); text when none is given.
    pub fn from_flags(json: bool, markdown: bool, csv: bool) -> Format {
        match (json, markdown, csv) {
            (true, _, _) => Format::Json,
            (_, true, _) => Format::Markdown,
            (_, _, true) => Format::Csv,
            _ => Format::Text,
        }
    }

    /// A format a program reads: no progress or notes beside it on stdout, every row.
    pub fn is_for_machines(self) -> bool {
        self != Format::Text
    }

    fn flag(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "--json",
            Format::Markdown => "--markdown",
            Format::Csv => "--csv",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    #[error("{0} is not a format this command writes")]
    Unsupported(&'static str),
    #[error("encoding JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// A command's result, in the formats it has (text and JSON always).
pub trait Document {
    fn text(&self, style: &Style) -> String;
    fn json(&self) -> Result<String, serde_json::Error>;
    fn markdown(&self) -> Option<String> {
        None
    }
    fn csv(&self) -> Option<String> {
        None
    }
}

/// The result written in `format`, ready for stdout.
pub fn emit(document: &dyn Document, format: Format, style: &Style) -> Result<String, EmitError> {
    Ok(match format {
        Format::Text => document.text(style),
        Format::Json => document.json()?,
        Format::Markdown => document
            .markdown()
            .ok_or(EmitError::Unsupported(format.flag()))?,
        Format::Csv => document
            .csv()
            .ok_or(EmitError::Unsupported(format.flag()))?,
    })
}

/// Pretty JSON with the newline a terminal expects.
fn pretty(value: &impl Serialize) -> Result<String, serde_json::Error> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

/// `buildscope explain`: the findings, and `--verify`'s measurements when asked.
pub struct ExplainResult<'a> {
    pub explanation: &'a Explanation,
    pub verified: Option<&'a [Verification]>,
    /// The run explained, for the text's heading.
    pub run: Option<&'a RunRecord>,
    pub top: usize,
    /// Every line of the bill, not only those worth a row.
    pub whole_bill: bool,
    /// `--verify` on a cold run: the bill's levers tried by removal.
    pub proofs: &'a [LeverProof],
}

impl Document for ExplainResult<'_> {
    fn text(&self, style: &Style) -> String {
        let heading = match (self.run, self.verified) {
            (Some(run), None) => run_heading(run),
            _ => String::new(),
        };
        let mut text = heading + &render_explanation(self.explanation, self.top, style);
        if let Some(centres) = &self.explanation.cost_centres {
            text.push_str(&crate::render_cost_centres(centres, self.top, style));
        }
        if let Some(bill) = &self.explanation.bill {
            text.push_str(&render_bill(bill, self.whole_bill, style));
        }
        if let Some(verified) = self.verified {
            text.push_str(&render_verification(self.explanation, verified, style));
        }
        text.push_str(&render_lever_proofs(self.proofs, style));
        text
    }

    fn json(&self) -> Result<String, serde_json::Error> {
        let mut document = ExplainDocument::new(self.explanation, self.verified);
        document.proofs = (!self.proofs.is_empty())
            .then(|| self.proofs.iter().map(LeverProofDocument::new).collect());
        pretty(&document)
    }

    fn markdown(&self) -> Option<String> {
        let mut text = explanation_markdown(self.explanation, self.top);
        if let Some(centres) = &self.explanation.cost_centres {
            text.push_str(&crate::cost_centres_markdown(centres));
        }
        if let Some(bill) = &self.explanation.bill {
            text.push_str(&bill_markdown(bill));
        }
        if let Some(verified) = self.verified {
            text.push_str(&verification_markdown(self.explanation, verified));
        }
        Some(text)
    }
}

/// `buildscope check`.
pub struct CheckResult<'a> {
    pub view: &'a CheckView<'a>,
    pub runs: &'a [RunRecord],
}

impl Document for CheckResult<'_> {
    fn text(&self, style: &Style) -> String {
        render_check(self.view, style)
    }

    fn json(&self) -> Result<String, serde_json::Error> {
        pretty(&CheckDocument::new(self.view, self.runs))
    }

    fn markdown(&self) -> Option<String> {
        Some(check_markdown(self.view, usize::MAX))
    }
}

/// `buildscope summarize`: the profiles' queries, merged or per crate.
pub struct SummaryResult<'a> {
    pub summary: &'a Summary,
    pub view: &'a SummaryView,
    pub per_crate: bool,
}

impl Document for SummaryResult<'_> {
    fn text(&self, style: &Style) -> String {
        match self.per_crate {
            true => render_per_crate(self.summary, self.view, style),
            false => render_summary(self.summary, self.view, style),
        }
    }

    fn json(&self) -> Result<String, serde_json::Error> {
        let mut summary = self.summary.clone();
        summary.rows = self.view.apply(&summary.rows, summary.total_cpu_time_ns).0;
        pretty(&summary)
    }

    fn csv(&self) -> Option<String> {
        if !self.per_crate {
            let (rows, _) = self
                .view
                .apply(&self.summary.rows, self.summary.total_cpu_time_ns);
            return Some(summary_csv(&[(
                None,
                &rows,
                self.summary.total_cpu_time_ns,
            )]));
        }
        let rows: Vec<_> = self
            .summary
            .crates
            .iter()
            .map(|c| self.view.apply(&c.rows, c.total_cpu_time_ns).0)
            .collect();
        let sections: Vec<_> = self
            .summary
            .crates
            .iter()
            .zip(&rows)
            .map(|(c, rows)| {
                (
                    Some(c.crate_name.as_str()),
                    rows.as_slice(),
                    c.total_cpu_time_ns,
                )
            })
            .collect();
        Some(summary_csv(&sections))
    }
}

/// `buildscope diff`: `top` rows (every row when `None`).
pub struct DiffResult<'a> {
    pub diff: &'a Diff,
    pub top: Option<usize>,
}

impl Document for DiffResult<'_> {
    fn text(&self, style: &Style) -> String {
        render_diff(self.diff, self.top, style)
    }

    fn json(&self) -> Result<String, serde_json::Error> {
        let mut diff = self.diff.clone();
        if let Some(top) = self.top {
            diff.rows.truncate(top);
        }
        pretty(&diff)
    }
}

/// `buildscope queries`.
pub struct QueriesResult<'a> {
    pub trees: &'a QueryTrees,
    pub top: usize,
}

impl Document for QueriesResult<'_> {
    fn text(&self, style: &Style) -> String {
        render_queries(self.trees, self.top, style)
    }

    fn json(&self) -> Result<String, serde_json::Error> {
        pretty(self.trees)
    }

    fn csv(&self) -> Option<String> {
        Some(queries_csv(self.trees))
    }
}

/// `buildscope top`: the longest invocations; `full` arguments in the text.
pub struct TopResult<'a> {
    pub invocations: &'a [Invocation],
    pub full: bool,
}

impl Document for TopResult<'_> {
    fn text(&self, style: &Style) -> String {
        render_top(self.invocations, self.full, style)
    }

    fn json(&self) -> Result<String, serde_json::Error> {
        pretty(&TopDocument::new(self.invocations))
    }
}

/// `buildscope why`: each unit's chain of reasons; the roots when no package was named.
pub struct WhyResult<'a> {
    pub run: &'a RunRecord,
    pub chains: &'a [(&'a Unit, Vec<(usize, RebuildReason)>)],
    pub roots: &'a [RebuildRoot],
    pub show_roots: bool,
}

impl Document for WhyResult<'_> {
    fn text(&self, style: &Style) -> String {
        let roots = self.show_roots.then_some(self.roots);
        render_why(self.run, self.chains, roots, style)
    }

    fn json(&self) -> Result<String, serde_json::Error> {
        pretty(&WhyDocument::new(
            self.run,
            self.chains,
            self.roots.to_vec(),
        ))
    }
}

/// `buildscope runs`; `machine` when the list was filtered by one.
pub struct RunsResult<'a> {
    pub runs: &'a [RunRow],
    /// What is left of each run's folder, in the same order.
    pub folders: &'a [FolderState],
    pub machine: Option<&'a str>,
}

impl Document for RunsResult<'_> {
    fn text(&self, style: &Style) -> String {
        match (self.runs.is_empty(), self.machine) {
            (true, Some(machine)) => render_no_runs_on(machine),
            _ => render_runs(self.runs, self.folders, style),
        }
    }

    fn json(&self) -> Result<String, serde_json::Error> {
        pretty(&RunsDocument::new(self.runs, self.folders))
    }
}

/// `buildscope compare A B`: `top` unit changes (every one when `None`).
pub struct CompareResult<'a> {
    pub a: &'a RunRow,
    pub b: &'a RunRow,
    pub changes: &'a [UnitChange],
    pub top: Option<usize>,
}

impl Document for CompareResult<'_> {
    fn text(&self, style: &Style) -> String {
        render_compare(self.a, self.b, self.changes, self.top, style)
    }

    fn json(&self) -> Result<String, serde_json::Error> {
        let shown = &self.changes[..self.top.unwrap_or(usize::MAX).min(self.changes.len())];
        pretty(&CompareDocument::new(self.a, self.b, shown))
    }
}

/// `buildscope experiment`.
pub struct ExperimentResult<'a>(pub &'a ExperimentRecord);

impl Document for ExperimentResult<'_> {
    fn text(&self, style: &Style) -> String {
        render_experiment(self.0, false, style)
    }

    fn json(&self) -> Result<String, serde_json::Error> {
        pretty(self.0)
    }

    fn markdown(&self) -> Option<String> {
        Some(render_experiment(self.0, true, &Style::plain()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TextAndJson;

    impl Document for TextAndJson {
        fn text(&self, _: &Style) -> String {
            "text\n".into()
        }
        fn json(&self) -> Result<String, serde_json::Error> {
            pretty(&serde_json::json!({ "schema": "x/1" }))
        }
    }

    #[test]
    fn a_format_a_document_lacks_is_an_error_naming_the_flag() {
        let style = Style::plain();
        assert_eq!(Format::from_flags(false, false, false), Format::Text);
        assert_eq!(Format::from_flags(true, false, false), Format::Json);
        assert_eq!(emit(&TextAndJson, Format::Text, &style).unwrap(), "text\n");
        assert!(emit(&TextAndJson, Format::Json, &style)
            .unwrap()
            .ends_with("}\n"));
        let err = emit(&TextAndJson, Format::Csv, &style).unwrap_err();
        assert_eq!(err.to_string(), "--csv is not a format this command writes");
    }
}
