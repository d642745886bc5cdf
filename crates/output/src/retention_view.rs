//! What keeping run folders within their budget did: `buildscope gc`, and the one line a
//! measuring command ends with.

use serde::Serialize;

use crate::emit::Document;
use crate::format::human_bytes;
use crate::style::Style;
use crate::table::{Align, Table};

/// A run whose raw profiles were (or would be) pruned.
#[derive(Debug, Clone, Serialize)]
pub struct PrunedRun {
    pub id: String,
    pub freed_bytes: u64,
}

/// `buildscope gc`, or the budget applied at the end of a measuring command.
#[derive(Debug, Clone, Serialize)]
pub struct Retention {
    pub schema: &'static str,
    pub dry_run: bool,
    /// The budget: profiled runs kept, and their raw profiles' bytes at most.
    pub keep: usize,
    pub max_bytes: u64,
    /// The runs that keep their raw profiles, and the bytes those take.
    pub kept_runs: usize,
    pub kept_bytes: u64,
    pub pruned: Vec<PrunedRun>,
    /// Runs left whole because what explain needs could not be saved first: (run, why).
    pub skipped: Vec<(String, String)>,
    /// Every run folder of the workspace after the prune.
    pub total_bytes: u64,
}

impl Retention {
    pub const SCHEMA: &'static str = "buildscope.gc/1";

    pub fn freed_bytes(&self) -> u64 {
        self.pruned.iter().map(|p| p.freed_bytes).sum()
    }

    /// The one line a measuring command ends with.
    pub fn line(&self) -> String {
        let kept = format!(
            "Run folders: {} ({} run{} raw profiles, {}; budget {} runs, {})",
            human_bytes(self.total_bytes),
            self.kept_runs,
            if self.kept_runs == 1 {
                " keeps"
            } else {
                "s keep"
            },
            human_bytes(self.kept_bytes),
            self.keep,
            human_bytes(self.max_bytes)
        );
        if self.pruned.is_empty() {
            kept
        } else {
            format!(
                "{kept}: pruned the raw profiles of {} older run{}, freed {} (`buildscope gc` to change the budget)",
                self.pruned.len(),
                if self.pruned.len() == 1 { "" } else { "s" },
                human_bytes(self.freed_bytes())
            )
        }
    }
}

impl Document for Retention {
    fn text(&self, style: &Style) -> String {
        let mut out = String::new();
        let verb = if self.dry_run {
            "Would prune"
        } else {
            "Pruned"
        };
        if self.pruned.is_empty() {
            out.push_str("Nothing to prune: every run's raw profiles fit the budget.\n");
        } else {
            out.push_str(&format!(
                "{verb} the raw profiles of {} run{} ({}); their records, reports and saved summaries stay, so explain, report, compare and check still work on them:\n",
                self.pruned.len(),
                if self.pruned.len() == 1 { "" } else { "s" },
                human_bytes(self.freed_bytes())
            ));
            let mut table = Table::new(&[("Run", Align::Left), ("Raw profiles", Align::Right)]);
            for p in &self.pruned {
                table.push(vec![p.id.clone(), human_bytes(p.freed_bytes)]);
            }
            out.push_str(&table.render(style));
        }
        for (id, why) in &self.skipped {
            out.push_str(&format!(
                "Kept {id} whole: its summaries could not be saved first ({why})\n"
            ));
        }
        out.push_str(&style.dim(&format!(
            "Kept: {} run{} with raw profiles ({}), budget {} runs and {} (--keep, --max-size, or ${} and ${}); all run folders {}.\n",
            self.kept_runs,
            if self.kept_runs == 1 { "" } else { "s" },
            human_bytes(self.kept_bytes),
            self.keep,
            human_bytes(self.max_bytes),
            "BUILDSCOPE_KEEP_PROFILES",
            "BUILDSCOPE_MAX_PROFILE_SIZE",
            human_bytes(self.total_bytes)
        )));
        if self.dry_run && !self.pruned.is_empty() {
            out.push_str(&style.dim("Dry run: nothing was removed.\n"));
        }
        out
    }

    fn json(&self) -> Result<String, serde_json::Error> {
        Ok(serde_json::to_string_pretty(self)? + "\n")
    }
}
