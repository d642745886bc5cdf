//! `buildscope check` for people and for CI systems: a terminal table, Markdown (a GitHub
//! step summary, a pull-request comment), Bencher's metric format, and JUnit XML.

use buildscope_analysis::{
    BaselineSource, CheckOutcome, Confirmation, MeasureCheck, RunRecord, ThresholdCheck, Verdict,
    WhatGrew, CHECK_SCHEMA, MIN_HISTORY,
};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::format::{escape_html, human_amount, human_signed_percent};
use crate::style::Style;
use crate::table::{Align, Table};

/// Measures shown in the table beyond the build-wide ones: the units that changed most.
const UNITS_SHOWN: usize = 10;
/// GitHub keeps at most 1 MiB of a step's summary.
pub const STEP_SUMMARY_LIMIT: usize = 1024 * 1024;

/// What a check is about, for its headings.
#[derive(Debug, Clone)]
pub struct CheckView<'a> {
    /// `hot: touch src/lib.rs`.
    pub scenario: String,
    /// `cargo build --release`.
    pub command: String,
    /// The workspace's folder name: Bencher's benchmarks are named after it.
    pub project: String,
    /// `12 comparable runs of the history`, `run 20261130-…`, `main.json (5 runs)`.
    pub baseline: String,
    pub outcome: &'a CheckOutcome,
    /// What grew and why: units, their rebuild reasons.
    pub explanation: Vec<String>,
    /// The check's own runs, when several (`--runs`): their min and max bound BMF values.
    pub current_runs: Vec<std::collections::BTreeMap<String, f64>>,
}

impl<'a> CheckView<'a> {
    /// The view of a check of `runs` (the last one speaks for all): its headings and its
    /// story (how a confirmation ended, what grew and why) written out.
    pub fn new(
        runs: &[RunRecord],
        baseline: &BaselineSource,
        outcome: &'a CheckOutcome,
        confirmation: Option<Confirmation>,
        grew: &WhatGrew,
        current_runs: Vec<std::collections::BTreeMap<String, f64>>,
    ) -> CheckView<'a> {
        let last = runs.last().expect("a check judges at least one run");
        CheckView {
            scenario: last.scenario.describe_in(&last.workspace_root),
            command: last.command_line(),
            project: last
                .workspace_root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "workspace".into()),
            baseline: baseline_text(baseline),
            outcome,
            explanation: confirmation
                .map(confirmation_text)
                .into_iter()
                .chain(what_grew_lines(grew))
                .collect(),
            current_runs,
        }
    }
}

/// `buildscope check --json`.
#[derive(Debug, Serialize)]
pub struct CheckDocument<'a> {
    pub schema: &'static str,
    /// The run that speaks for the check, and every run it measured.
    pub run: &'a str,
    pub runs: Vec<&'a str>,
    pub scenario: &'a str,
    pub command: &'a str,
    pub baseline: &'a str,
    pub explanation: &'a [String],
    pub outcome: &'a CheckOutcome,
}

impl<'a> CheckDocument<'a> {
    pub fn new(view: &'a CheckView<'a>, runs: &'a [RunRecord]) -> CheckDocument<'a> {
        CheckDocument {
            schema: CHECK_SCHEMA,
            run: &runs.last().expect("a check judges at least one run").id,
            runs: runs.iter().map(|r| r.id.as_str()).collect(),
            scenario: &view.scenario,
            command: &view.command,
            baseline: &view.baseline,
            explanation: &view.explanation,
            outcome: view.outcome,
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn baseline_text(source: &BaselineSource) -> String {
    match source {
        BaselineSource::History { runs } => {
            format!("{runs} comparable run{} of the history", plural(*runs))
        }
        BaselineSource::Run { id } => format!("run {id}"),
        BaselineSource::File { path, runs } => {
            format!("{} ({runs} run{})", path.display(), plural(*runs))
        }
    }
}

fn confirmation_text(confirmation: Confirmation) -> String {
    match confirmation {
        Confirmation::Confirmed { again, runs } => format!(
            "confirmed: measured {again} more time(s), and the median of all {runs} runs still crosses"
        ),
        Confirmation::NotReproduced { again, runs } => format!(
            "not reproduced: a first run crossed a threshold, {again} more put the median of {runs} runs within them"
        ),
    }
}

/// What grew, a line per unit with its rebuild reason; then what rebuilt anew.
fn what_grew_lines(grew: &WhatGrew) -> Vec<String> {
    let mut lines: Vec<String> = grew
        .grew
        .iter()
        .map(|g| {
            format!(
                "{} took {} more ({:+.0}%){}",
                g.unit,
                crate::human_duration(g.more_ns),
                g.change * 100.0,
                g.reason
                    .as_ref()
                    .map(|r| format!(
                        "; rebuilt because {}",
                        crate::finding_text::describe_reason(r)
                    ))
                    .unwrap_or_default()
            )
        })
        .collect();
    if !grew.rebuilt_new.is_empty() {
        let units: Vec<String> = grew
            .rebuilt_new
            .iter()
            .map(|n| match &n.reason {
                Some(r) => format!("{} ({})", n.unit, crate::finding_text::describe_reason(r)),
                None => n.unit.clone(),
            })
            .collect();
        lines.push(format!(
            "rebuilt now but not in the baseline: {}",
            units.join(", ")
        ));
    }
    lines
}

fn value(measure: &MeasureCheck, v: f64) -> String {
    human_amount(measure.unit, v)
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Regressed => "slower",
        Verdict::Improved => "faster",
        Verdict::WithinNoise => "noise",
        Verdict::NoNoiseModel => "no noise model",
        Verdict::New => "new",
    }
}

/// The measures worth a row: the build-wide ones, then the units that changed most (and
/// every unit a threshold names).
fn shown<'a>(view: &CheckView<'a>) -> Vec<&'a MeasureCheck> {
    let crossed: Vec<&str> = view
        .outcome
        .thresholds
        .iter()
        .flat_map(|t| t.crossed.iter().map(String::as_str))
        .collect();
    // Build-wide measures always; a profiled crate's phases when they moved beyond the
    // noise or crossed a threshold (there are a dozen per crate).
    let mut rows: Vec<&MeasureCheck> = view
        .outcome
        .measures
        .iter()
        .filter(|m| !m.measure.starts_with("unit:"))
        .filter(|m| {
            !(m.measure.starts_with("phase:") || m.measure.starts_with("fn:"))
                || matches!(m.verdict, Verdict::Regressed | Verdict::Improved)
                || crossed.contains(&m.measure.as_str())
        })
        .collect();
    let mut units: Vec<&MeasureCheck> = view
        .outcome
        .measures
        .iter()
        .filter(|m| m.measure.starts_with("unit:"))
        .collect();
    let delta = |m: &MeasureCheck| (m.current - m.baseline.unwrap_or(0.0)).abs();
    units.sort_by(|a, b| {
        crossed
            .contains(&b.measure.as_str())
            .cmp(&crossed.contains(&a.measure.as_str()))
            .then(delta(b).total_cmp(&delta(a)))
    });
    let keep = UNITS_SHOWN.max(crossed.len());
    rows.extend(units.into_iter().take(keep));
    rows
}

fn threshold_line(t: &ThresholdCheck, outcome: &CheckOutcome) -> (char, String) {
    if !t.crossed.is_empty() {
        let which: Vec<String> = t
            .crossed
            .iter()
            .map(|name| {
                let m = outcome.measures.iter().find(|m| &m.measure == name);
                match m {
                    Some(m) => format!(
                        "{name} {}",
                        human_signed_percent(m.change.map(|c| c * 100.0))
                    ),
                    None => name.clone(),
                }
            })
            .collect();
        ('✗', format!("{}: {}", t.threshold.text, which.join(", ")))
    } else if t.judged {
        ('✓', t.threshold.text.clone())
    } else {
        (
            '·',
            format!(
                "{}: not judged (no noise model: {} of {MIN_HISTORY} comparable runs)",
                t.threshold.text, outcome.baseline_runs
            ),
        )
    }
}

/// The one line a check ends with.
pub fn check_verdict(outcome: &CheckOutcome) -> String {
    let crossed = outcome
        .thresholds
        .iter()
        .filter(|t| !t.crossed.is_empty())
        .count();
    if outcome.failed {
        format!("regression: {crossed} threshold(s) crossed")
    } else if !outcome.noise_model
        && outcome.thresholds.iter().all(|t| !t.judged)
        && outcome.baseline_kind == buildscope_analysis::BaselineKind::History
    {
        format!(
            "not enough history to judge: {} of {MIN_HISTORY} comparable runs (measure more, or pass --strict to judge on thresholds alone)",
            outcome.baseline_runs
        )
    } else {
        "no regression".to_string()
    }
}

pub fn render_check(view: &CheckView, style: &Style) -> String {
    let outcome = view.outcome;
    let mut out = format!(
        "{}\n{} · against {}\n\n",
        style.bold(&format!("Check: {}", view.scenario)),
        view.command,
        view.baseline
    );
    let mut table = Table::new(&[
        ("Measure", Align::Left),
        ("Baseline", Align::Right),
        ("Now", Align::Right),
        ("Change", Align::Right),
        ("Noise up to", Align::Right),
        ("Verdict", Align::Left),
    ])
    .shrink_column(0);
    for m in shown(view) {
        let change = human_signed_percent(m.change.map(|c| c * 100.0));
        let delta = match m.verdict {
            Verdict::Regressed => 1,
            Verdict::Improved => -1,
            _ => 0,
        };
        table.push(vec![
            m.measure.clone(),
            m.baseline.map_or("-".into(), |b| value(m, b)),
            value(m, m.current),
            style.change(delta, &change),
            m.fence.map_or("-".into(), |f| value(m, f.high)),
            verdict_word(m.verdict).to_string(),
        ]);
    }
    out.push_str(&table.render(style));
    out.push_str("\nThresholds:\n");
    for t in &outcome.thresholds {
        let (mark, line) = threshold_line(t, outcome);
        out.push_str(&format!("  {mark} {line}\n"));
    }
    if !view.explanation.is_empty() {
        out.push_str("\nWhat grew:\n");
        for line in &view.explanation {
            out.push_str(&format!("  · {line}\n"));
        }
    }
    out.push_str(&format!("\n{}\n", style.bold(&check_verdict(outcome))));
    out
}

/// Markdown for a CI summary; never longer than `limit` bytes (rows are dropped first).
pub fn check_markdown(view: &CheckView, limit: usize) -> String {
    let outcome = view.outcome;
    let icon = if outcome.failed { "❌" } else { "✅" };
    let head = format!(
        "### {icon} buildscope check: {}\n\n`{}` · {} · against {}\n\n",
        check_verdict(outcome),
        view.command,
        view.scenario,
        view.baseline
    );
    let mut tail = String::from("\n**Thresholds**\n\n");
    for t in &outcome.thresholds {
        let (mark, line) = threshold_line(t, outcome);
        tail.push_str(&format!("- {mark} `{}`\n", line.replace('`', "'")));
    }
    if !view.explanation.is_empty() {
        tail.push_str("\n**What grew**\n\n");
        for line in &view.explanation {
            tail.push_str(&format!("- {line}\n"));
        }
    }
    let header = "| Measure | Baseline | Now | Change | Noise up to | Verdict |\n|---|---:|---:|---:|---:|---|\n";
    let rows: Vec<String> = shown(view)
        .into_iter()
        .map(|m| {
            format!(
                "| `{}` | {} | {} | {} | {} | {} |\n",
                m.measure.replace('|', "\\|"),
                m.baseline.map_or("-".into(), |b| value(m, b)),
                value(m, m.current),
                human_signed_percent(m.change.map(|c| c * 100.0)),
                m.fence.map_or("-".into(), |f| value(m, f.high)),
                verdict_word(m.verdict)
            )
        })
        .collect();
    let trimmed_note = "| … | | | | | (trimmed to fit) |\n";
    let mut text = head.clone() + header;
    let budget = limit.saturating_sub(head.len() + header.len() + tail.len() + trimmed_note.len());
    let mut used = 0;
    let mut trimmed = false;
    for row in rows {
        if used + row.len() > budget {
            trimmed = true;
            break;
        }
        used += row.len();
        text.push_str(&row);
    }
    if trimmed {
        text.push_str(trimmed_note);
    }
    text.push_str(&tail);
    if text.len() > limit {
        // Even the head and tail are too long: cut on a character boundary.
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// Bencher Metric Format: `{ benchmark: { measure: { value, lower_value, upper_value } } }`,
/// one benchmark for the build and one per unit. Times in nanoseconds, sizes in bytes.
pub fn check_bmf(view: &CheckView) -> Value {
    let mut doc = Map::new();
    let build_name = format!("{}: {} ({})", view.project, view.scenario, view.command);
    let metric = |m: &MeasureCheck| -> Value {
        let samples: Vec<f64> = view
            .current_runs
            .iter()
            .filter_map(|r| r.get(&m.measure).copied())
            .collect();
        let mut metric = json!({ "value": m.current });
        if samples.len() > 1 {
            let low = samples.iter().copied().fold(f64::INFINITY, f64::min);
            let high = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            metric["lower_value"] = json!(low);
            metric["upper_value"] = json!(high);
        }
        metric
    };
    let mut build = Map::new();
    for m in view.outcome.measures.iter() {
        let slug = match m.measure.as_str() {
            "wall" => "build-time",
            "cpu" => "cpu-time",
            "rss" => "max-rss",
            "binary-size" => "file-size",
            _ => continue,
        };
        build.insert(slug.to_string(), metric(m));
    }
    doc.insert(build_name.clone(), Value::Object(build));
    for m in view
        .outcome
        .measures
        .iter()
        .filter(|m| m.measure.starts_with("unit:"))
    {
        let name = format!("{build_name}: {}", m.measure);
        doc.insert(name, json!({ "build-time": metric(m) }));
    }
    Value::Object(doc)
}

/// XML text and attribute values: HTML's escaping, without the control characters XML 1.0
/// does not allow.
fn xml_escape(text: &str) -> String {
    let allowed: String = text
        .chars()
        .filter(|&c| (c as u32) >= 0x20 || matches!(c, '\n' | '\t' | '\r'))
        .collect();
    escape_html(&allowed)
}

/// JUnit XML: one test case per threshold (failed when crossed, skipped when not judged).
pub fn check_junit(view: &CheckView) -> String {
    let outcome = view.outcome;
    let failures = outcome
        .thresholds
        .iter()
        .filter(|t| !t.crossed.is_empty())
        .count();
    let skipped = outcome
        .thresholds
        .iter()
        .filter(|t| t.crossed.is_empty() && !t.judged)
        .count();
    let tests = outcome.thresholds.len();
    let suite = xml_escape(&format!("buildscope check: {}", view.scenario));
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"buildscope check\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"{skipped}\">\n  <testsuite name=\"{suite}\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"{skipped}\">\n"
    );
    for t in &outcome.thresholds {
        let name = xml_escape(&t.threshold.text);
        let (_, line) = threshold_line(t, outcome);
        xml.push_str(&format!(
            "    <testcase classname=\"buildscope.check\" name=\"{name}\">\n"
        ));
        if !t.crossed.is_empty() {
            let details: Vec<String> = t
                .crossed
                .iter()
                .filter_map(|n| outcome.measures.iter().find(|m| &m.measure == n))
                .map(|m| {
                    format!(
                        "{}: {} → {} ({}), noise up to {}",
                        m.measure,
                        m.baseline.map_or("-".into(), |b| value(m, b)),
                        value(m, m.current),
                        human_signed_percent(m.change.map(|c| c * 100.0)),
                        m.fence.map_or("-".into(), |f| value(m, f.high))
                    )
                })
                .chain(view.explanation.iter().cloned())
                .collect();
            xml.push_str(&format!(
                "      <failure message=\"{}\" type=\"regression\">{}</failure>\n",
                xml_escape(&line),
                xml_escape(&details.join("\n"))
            ));
        } else if !t.judged {
            xml.push_str(&format!(
                "      <skipped message=\"{}\"/>\n",
                xml_escape(&line)
            ));
        }
        xml.push_str("    </testcase>\n");
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}
