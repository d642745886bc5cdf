//! `explain`: findings with their evidence, fix and estimate, and where the time went by
//! phase, as terminal text or Markdown (for a CI job summary or a pull-request comment).

use std::fmt::Write as _;

use buildscope_analysis::{
    DependencyKind, Explanation, LeverProof, ManifestEdit, Phase, Verification,
};

use crate::finding_text::{finding_text, verdict_text};
use crate::format::{human_duration, wrap};
use crate::style::Style;
use crate::table::{Align, Table};

/// Findings first (at most `top`), then the phase table.
pub fn render_explanation(e: &Explanation, top: usize, style: &Style) -> String {
    let mut out = String::new();
    if e.findings.is_empty() {
        out.push_str("No finding: nothing in this build stands out (see the phases below).\n\n");
    }
    if let Some(scaled) = e.scaled_to.as_ref().filter(|_| {
        e.findings
            .iter()
            .any(|f| f.replay.as_ref().is_some_and(|r| r.unprofiled))
    }) {
        let note = format!(
            "Estimates from the profiles are for the build without the profiler: replayed on run {} of the same scenario ({} wall; this profiled run {}).",
            scaled.run_id,
            human_duration(scaled.wall_ns),
            human_duration(scaled.profiled_wall_ns)
        );
        let _ = writeln!(out, "{}\n", style.dim(wrap(&note, style.width).trim_end()));
    }
    for (rank, f) in e.findings.iter().take(top).enumerate() {
        let text = finding_text(f);
        let indent = "   ";
        for (i, l) in wrap(&format!("{}. {}", rank + 1, text.title), style.width)
            .lines()
            .enumerate()
        {
            let line = if i == 0 {
                l.to_string()
            } else {
                format!("{indent}{l}")
            };
            let _ = writeln!(out, "{}", style.bold(&line));
        }
        for l in wrap(
            &format!(
                "could save up to {}{}{} ({})",
                human_duration(f.estimate_ns),
                saving_kind(e, f),
                runs_spread_note(e, f.estimate_ns),
                text.basis
            ),
            style.width.saturating_sub(indent.len()),
        )
        .lines()
        {
            let _ = writeln!(out, "{indent}{l}");
        }
        for line in &text.evidence {
            for (i, l) in wrap(line, style.width.saturating_sub(5))
                .lines()
                .enumerate()
            {
                let _ = writeln!(out, "{indent}{} {l}", if i == 0 { "·" } else { " " });
            }
        }
        for (i, l) in wrap(&format!("Fix: {}", text.fix), style.width.saturating_sub(3))
            .lines()
            .enumerate()
        {
            let _ = writeln!(
                out,
                "{indent}{}",
                if i == 0 { style.bold(l) } else { l.to_string() }
            );
        }
        out.push('\n');
    }
    if e.findings.len() > top {
        let _ = writeln!(
            out,
            "{}",
            style.dim(&format!(
                "{} more findings (--top to see them)",
                e.findings.len() - top
            ))
        );
    }
    if let Some(phases) = &e.phases {
        let build = phases.build_ns();
        let mut table = Table::new(&[
            ("Phase (CPU, all profiled crates)", Align::Left),
            ("Time", Align::Right),
            ("Share", Align::Right),
        ]);
        for p in phases.phases.iter().filter(|p| p.phase.is_work()) {
            table.push(vec![
                p.title.to_string(),
                human_duration(p.self_ns),
                format!("{:.1}%", p.self_ns as f64 * 100.0 / build.max(1) as f64),
            ]);
        }
        out.push_str(&table.render(style));
        let overhead = phases.of(Phase::ProfilerOverhead);
        let waiting = phases.of(Phase::WaitingForCodegen);
        if overhead > 0 || waiting > 0 {
            let mut left_out = Vec::new();
            if overhead > 0 {
                left_out.push(format!(
                    "{} of profiler overhead (self_profile_alloc_query_strings)",
                    human_duration(overhead)
                ));
            }
            if waiting > 0 {
                left_out.push(format!(
                    "{} of rustc's threads waiting for LLVM's (LLVM_passes, finish_ongoing_codegen, codegen_crate's own time)",
                    human_duration(waiting)
                ));
            }
            let _ = writeln!(
                out,
                "{}",
                style.dim(&format!("Left out: {}.", left_out.join("; ")))
            );
        }
        if !phases.unknown_labels.is_empty() {
            let names: Vec<String> = phases
                .unknown_labels
                .iter()
                .take(5)
                .map(|(l, ns)| format!("{l} {}", human_duration(*ns)))
                .collect();
            out.push_str(&style.dim(&wrap(
                &format!(
                    "Labels buildscope does not know ({}), counted as Other: {}",
                    phases.unknown_labels.len(),
                    names.join(", ")
                ),
                style.width,
            )));
        }
    }
    if let Some(w) = &e.wall {
        out.push('\n');
        let mut table = Table::new(&[
            ("Wall time (shared among the units running)", Align::Left),
            ("Time", Align::Right),
            ("Share", Align::Right),
        ]);
        for p in &w.by_phase {
            table.push(vec![
                p.what.clone(),
                human_duration(p.wall_ns),
                format!("{:.1}%", p.wall_ns as f64 * 100.0 / w.wall_ns.max(1) as f64),
            ]);
        }
        out.push_str(&table.render(style));
        out.push_str(&wrap(
            &format!(
                "Wall time {} on {} cores: {} with fewer units running than cores ({} with one alone); build scripts {}, proc-macro crates {}, linking {} (unit time).",
                human_duration(w.wall_ns),
                w.cores,
                human_duration(w.fewer_units_than_cores_ns),
                human_duration(w.serial_ns),
                human_duration(w.build_scripts_ns),
                human_duration(w.proc_macros_ns),
                human_duration(w.linking_ns)
            ),
            style.width,
        ));
    }
    if let Some(schedule) = &e.schedule {
        out.push('\n');
        out.push_str(&crate::build_view::schedule_verdict(schedule, style.width));
    }
    out
}

/// The spread of the runs measured together, beside an estimate: `; the 5 runs' wall
/// times spread over 80.4 ms, so it is within their noise`.
fn runs_spread_note(e: &Explanation, estimate_ns: u64) -> String {
    let Some(spread) = &e.runs_spread else {
        return String::new();
    };
    let range = spread.max.saturating_sub(spread.min);
    format!(
        "; the {} runs' wall times spread over {}{}",
        spread.n,
        human_duration(range),
        if estimate_ns < range {
            ", more than this saving"
        } else {
            ""
        }
    )
}

/// What an estimate is: wall time when the explanation has a run (with the CPU time
/// apart), CPU time when it came from profiles alone.
fn saving_kind(e: &Explanation, f: &buildscope_analysis::Finding) -> String {
    match (e.schedule.is_some(), f.cpu_ns) {
        (true, Some(cpu)) => format!(" of wall time ({} of CPU)", human_duration(cpu)),
        (true, None) => " of wall time".to_string(),
        (false, _) => " of CPU time".to_string(),
    }
}

/// A few findings, a line each, for the end of `buildscope build`; empty when none.
pub fn render_top_findings(e: &Explanation, top: usize, style: &Style) -> String {
    if e.findings.is_empty() {
        return String::new();
    }
    let mut text = format!(
        "\n{}\n",
        style.bold("What to do (buildscope explain has the evidence and fixes):")
    );
    for (rank, f) in e.findings.iter().take(top).enumerate() {
        text.push_str(&wrap(
            &format!(
                "{}. {} — up to {}{}",
                rank + 1,
                finding_text(f).title,
                human_duration(f.estimate_ns),
                saving_kind(e, f)
            ),
            style.width,
        ));
    }
    text
}

/// The same as Markdown.
pub fn explanation_markdown(e: &Explanation, top: usize) -> String {
    let mut out = String::from("## buildscope explain\n\n");
    if e.findings.is_empty() {
        out.push_str("No finding: nothing in this build stands out.\n\n");
    }
    for (rank, f) in e.findings.iter().take(top).enumerate() {
        let text = finding_text(f);
        let _ = writeln!(
            out,
            "### {}. {}\n\n**Could save up to {}{}** ({}).\n",
            rank + 1,
            md(&text.title),
            human_duration(f.estimate_ns),
            saving_kind(e, f),
            md(&text.basis)
        );
        for line in &text.evidence {
            let _ = writeln!(out, "- {}", md(line));
        }
        let _ = writeln!(out, "\n**Fix:** {}\n", md(&text.fix));
    }
    if let Some(phases) = &e.phases {
        let build = phases.build_ns().max(1);
        out.push_str("| Phase (CPU) | Time | Share |\n|---|---:|---:|\n");
        for p in phases.phases.iter().filter(|p| p.phase.is_work()) {
            let _ = writeln!(
                out,
                "| {} | {} | {:.1}% |",
                md(p.title),
                human_duration(p.self_ns),
                p.self_ns as f64 * 100.0 / build as f64
            );
        }
        out.push('\n');
    }
    out
}

/// Text safe inside Markdown: `|` escaped for tables, `<` and `>` outside code spans
/// escaped so that type names do not turn into HTML; code spans kept as they are.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_code = false;
    for c in text.chars() {
        match c {
            '`' => {
                in_code = !in_code;
                out.push(c);
            }
            '|' => out.push_str("\\|"),
            '<' if !in_code => out.push_str("&lt;"),
            '>' if !in_code => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// `explain --verify`: each estimate beside the saving its setting measured.
pub fn render_verification(e: &Explanation, verified: &[Verification], style: &Style) -> String {
    let mut out = format!(
        "\n{}\n",
        style.bold("Verified (each setting alone against the project as it is, same scenario):")
    );
    let mut table = Table::new(&[
        ("Finding", Align::Right),
        ("Estimate", Align::Right),
        ("Setting", Align::Left),
        ("Measured saving", Align::Right),
        ("Time ratio", Align::Right),
    ]);
    // Findings by their rank in the explanation, named once below the table.
    let mut ranks: Vec<usize> = Vec::new();
    for v in verified.iter().filter(|v| v.setting.is_some()) {
        if !ranks.contains(&v.finding) {
            ranks.push(v.finding);
        }
        table.push(vec![
            format!("#{}", v.finding + 1),
            human_duration(v.estimate_ns),
            v.setting.clone().unwrap_or_default(),
            v.saving_ns.map_or("-".to_string(), signed_saving),
            v.comparison.map_or("-".to_string(), |c| {
                format!(
                    "{:.2}x{}",
                    c.ratio,
                    if c.significant { "" } else { " n.s." }
                )
            }),
        ]);
    }
    out.push_str(&table.render(style));
    for rank in ranks {
        out.push_str(&wrap(
            &format!("#{} {}", rank + 1, title_of(e, rank)),
            style.width,
        ));
    }
    for v in verified {
        let verdict = verdict_text(&v.verdict);
        let line = match &v.setting {
            Some(setting) => format!("{setting}: {verdict}"),
            None => format!("{}: {verdict}", title_of(e, v.finding)),
        };
        out.push_str(&wrap(&format!("· {line}"), style.width));
    }
    out
}

/// The title of the explanation's finding at `index`.
fn title_of(e: &Explanation, index: usize) -> String {
    e.findings
        .get(index)
        .map(|f| finding_text(f).title)
        .unwrap_or_default()
}

/// A manifest change in words.
fn describe_edit(edit: &ManifestEdit) -> String {
    match edit {
        ManifestEdit::RemoveDependency {
            member,
            package,
            kind,
            target,
        } => match target {
            Some(platform) => format!(
                "remove `{package}` from {member}'s [target.'{platform}'.{}]",
                kind.table()
            ),
            None => format!("remove `{package}` from {member}'s [{}]", kind.table()),
        },
        ManifestEdit::RemoveDefaultFeature { member, feature } => {
            format!("take `{feature}` out of {member}'s default features")
        }
        ManifestEdit::NoDefaultFeatures {
            member,
            package,
            kind,
        } => format!(
            "`default-features = false` on {member} → {package}{}",
            table_suffix(*kind)
        ),
        ManifestEdit::RemoveFeature {
            member,
            package,
            kind,
            feature,
        } => format!(
            "drop feature `{feature}` from {member} → {package}{}",
            table_suffix(*kind)
        ),
    }
}

/// ` (build-dependency)` for a line not in `[dependencies]`.
fn table_suffix(kind: DependencyKind) -> &'static str {
    match kind {
        DependencyKind::Normal => "",
        DependencyKind::Build => " (build-dependency)",
        DependencyKind::Dev => " (dev-dependency)",
    }
}

/// What removal measured of a lever's estimate.
fn lever_verdict(p: &LeverProof) -> String {
    if let Some(reason) = &p.not_tried {
        return format!("not tried: {reason}");
    }
    if let Some(error) = &p.failure {
        return format!("does not build without it: needed ({error})");
    }
    match p.saving_ns() {
        None => "not measured".to_string(),
        Some(s) if s <= 0 => "no saving measured".to_string(),
        Some(s) => {
            let ratio = s as f64 / p.lever.estimate_ns.max(1) as f64;
            if (0.5..=2.0).contains(&ratio) {
                format!("confirmed: measured {:.0}% of the estimate", ratio * 100.0)
            } else if ratio > 2.0 {
                format!("more than estimated ({ratio:.1}x)")
            } else {
                format!("less than estimated ({:.0}% of it)", ratio * 100.0)
            }
        }
    }
}

/// `explain --verify` on a cold run: each Cargo.toml change tried by removal.
pub fn render_lever_proofs(proofs: &[LeverProof], style: &Style) -> String {
    if proofs.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\n{}",
        style.bold_heading(
            "Proved by removal (scratch copies of the workspace as it is and changed, cold builds):"
        )
    );
    let mut table = Table::new(&[
        ("Change", Align::Left),
        ("Estimate", Align::Right),
        ("Measured saving", Align::Right),
    ])
    .shrink_column(0);
    for p in proofs {
        table.push(vec![
            describe_edit(&p.lever.edit),
            human_duration(p.lever.estimate_ns),
            p.saving_ns().map_or("-".to_string(), signed_saving),
        ]);
    }
    out.push_str(&table.render(style));
    for p in proofs {
        out.push_str(&wrap(
            &format!("· {}: {}", describe_edit(&p.lever.edit), lever_verdict(p)),
            style.width,
        ));
    }
    out
}

/// Each proof's change and verdict in words, for JSON.
pub fn lever_proof_text(p: &LeverProof) -> (String, String) {
    (describe_edit(&p.lever.edit), lever_verdict(p))
}

/// A saving, or a loss with a minus sign.
fn signed_saving(ns: i64) -> String {
    if ns >= 0 {
        human_duration(ns as u64)
    } else {
        format!("−{} (slower)", human_duration(ns.unsigned_abs()))
    }
}

/// The same as Markdown.
pub fn verification_markdown(e: &Explanation, verified: &[Verification]) -> String {
    let mut out = String::from(
        "\n### Verified\n\n| Finding | Estimate | Setting | Measured saving | Ratio | Verdict |\n|---|---|---|---|---|---|\n",
    );
    for v in verified {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            md(&title_of(e, v.finding)),
            human_duration(v.estimate_ns),
            v.setting
                .as_deref()
                .map_or("(a code change)".to_string(), md),
            v.saving_ns.map_or("-".to_string(), signed_saving),
            v.comparison.map_or("-".to_string(), |c| format!(
                "{:.2}x [{:.2}–{:.2}]",
                c.ratio, c.low, c.high
            )),
            md(&verdict_text(&v.verdict))
        );
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn markdown_escapes_type_names_outside_code() {
        assert_eq!(
            super::md("Vec<u8> and `Box<dyn Fn()>` | x"),
            "Vec&lt;u8&gt; and `Box<dyn Fn()>` \\| x"
        );
    }
}
