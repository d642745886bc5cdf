//! Cost centres in words: what each is, and the findings that act on it or the one line
//! saying buildscope knows no lever for it.

use std::fmt::Write as _;

use buildscope_analysis::{floor_ns, percent_of, Centre, CostCentre, CostCentres};
use serde::Serialize;

use crate::format::{human_duration, wrap};
use crate::style::Style;
use crate::table::{Align, Table};

/// What a centre is, in a developer's words: `core: incremental bookkeeping`.
pub fn centre_title(c: &CostCentre) -> String {
    let what = match c.centre {
        Centre::Expansion => "parsing and macro expansion",
        Centre::NameResolution => "name resolution and HIR",
        Centre::TypeChecking => "type checking and lints",
        Centre::TraitSolving => "trait solving",
        Centre::BorrowChecking => "borrow checking",
        Centre::Mir => "MIR building and const eval",
        Centre::Metadata => "crate metadata",
        Centre::Incremental => "incremental bookkeeping",
        Centre::Codegen => "codegen (monomorphization and LLVM)",
        Centre::Linking => "linking",
        Centre::OtherCompilerWork => "other compiler work",
        Centre::Compiling => "compiling (not profiled)",
        Centre::BuildScriptRun => "running its build script",
        Centre::Cargo => return "cargo's own work (no unit running)".to_string(),
    };
    // The count where the profile has it (short enough for the table's column).
    let what = match c.codegen_units {
        Some(1) => "codegen, 1 codegen unit".to_string(),
        Some(n) => format!("codegen, {n} codegen units"),
        None => what.to_string(),
    };
    match &c.name {
        Some(name) => format!("{name}: {what}"),
        None => what,
    }
}

/// Why a dependency's centre is in a build from scratch: the chain of features and lines
/// from a member to its package, and the member's line or feature whose removal alone
/// takes it out, with what that saves (when it saves a finding's floor).
pub fn why_in_build(c: &CostCentre, centres: &CostCentres) -> Option<String> {
    let b = c.brought_in.as_ref()?;
    let package = c
        .package
        .as_ref()
        .map_or("the package", |(p, _)| p.as_str());
    let lever = b
        .lever
        .as_ref()
        .filter(|_| b.saving_ns >= floor_ns(centres.wall_ns))
        .map(|lever| {
            format!(
                "without {lever}, the build leaves out {package} and {} more crate{} and ends {} sooner (the bill's replay of this build)",
                b.crates.saturating_sub(1),
                if b.crates == 2 { "" } else { "s" },
                human_duration(b.saving_ns)
            )
        });
    match (&b.chain, lever) {
        (Some(chain), Some(lever)) => Some(format!("in the build through {chain}; {lever}")),
        // A lever under the floor is still one: say none only when there is none.
        (Some(chain), None) if b.lever.is_some() => Some(format!("in the build through {chain}")),
        (Some(chain), None) => Some(format!(
            "in the build through {chain}; no single line or feature of yours takes it out"
        )),
        (None, Some(lever)) => Some(lever),
        (None, None) => None,
    }
}

/// Whether a centre's package leaves the build with one of the member's lines or features
/// worth a finding's floor: its lever is then in the user's Cargo.toml.
fn lever_in_manifest(c: &CostCentre, centres: &CostCentres) -> bool {
    c.brought_in
        .as_ref()
        .is_some_and(|b| b.lever.is_some() && b.saving_ns >= floor_ns(centres.wall_ns))
}

/// Why a centre has no finding: what it is, and that buildscope knows no lever for it here
/// (or that its lever saves less than a finding's floor).
pub fn no_lever_note(c: &CostCentre, centres: &CostCentres) -> String {
    let note = no_lever_of_its_own(c, centres);
    match why_in_build(c, centres) {
        Some(why) if c.centre == Centre::BuildScriptRun && !centres.hot => format!(
            "the package's build script, which every build from scratch runs (compiling bundled C code, probing the system): {why}"
        ),
        Some(why) => format!("{note}. {}", capitalised(&why)),
        None => note,
    }
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// What a centre is and why buildscope knows no lever for it, before why it is in the build.
fn no_lever_of_its_own(c: &CostCentre, centres: &CostCentres) -> String {
    let floor = human_duration(floor_ns(centres.wall_ns));
    // What the centre's work covers: in a rebuild, what the edit changed; from scratch, all.
    let covers = if centres.hot {
        "the items the edit changed and what depends on them"
    } else {
        "the whole crate, as every build from scratch does"
    };
    if let Some(estimate) = c.under_floor_ns {
        return format!(
            "its best lever would save {}, under the {floor} a finding must save",
            human_duration(estimate)
        );
    }
    match c.centre {
        Centre::Cargo => "cargo checking fingerprints, scheduling and writing outputs between units: no lever known".into(),
        Centre::Compiling => "this unit was not profiled: build with `--self-profile-crates` (the workspace's own crates) or `--self-profile` (every crate) to split it into phases and find its levers".into(),
        // A build from scratch runs every build script once: no reason to ask why.
        Centre::BuildScriptRun if !centres.hot => "the package's build script, which every build from scratch runs (compiling bundled C code, probing the system): `buildscope explain --bill` says which dependency line of your Cargo.toml brings the package in; no other lever known".into(),
        Centre::BuildScriptRun => "its build script ran again: `buildscope why` says what made cargo run it".into(),
        Centre::OtherCompilerWork => "compiler work under labels buildscope does not classify (`buildscope summarize` lists them): no lever known".into(),
        Centre::Expansion | Centre::NameResolution => "done for the whole crate, and again on every edit of it (not incremental); no macro or derive stands out: no lever known".into(),
        Centre::Metadata => "reading the metadata of the crates it uses and writing its own for its dependents; it grows with the dependencies in scope and the public items: no lever known".into(),
        // The parallel front end is the setting that acts on these phases; on two cores it
        // measured no faster on two front-end-heavy rebuilds (bench/RESULTS.md), so it gets
        // no estimate, only the experiment that measures it.
        Centre::TypeChecking | Centre::TraitSolving | Centre::BorrowChecking | Centre::Mir => format!("done for {covers}; no single item would save {floor}. rustc's parallel front end (`-Zthreads=N`, unstable) spreads this work over threads, but measured no faster on two cores, so buildscope makes no estimate: `buildscope experiment --vary threads=1,4` with this scenario measures it here"),
        Centre::Incremental => "hashing, loading and saving the crate's incremental state: no detector found a lever worth a finding here".into(),
        Centre::Codegen => match c.codegen_units {
            // What the size of an edit changes (`build --edit-size`, `scale --edit`): the
            // codegen units it spans, not its lines.
            Some(n) if centres.hot => format!("monomorphization and LLVM for the {n} codegen unit{} the edit made rustc redo (rustc cuts an incrementally compiled crate into one or two units per module; an edit redoes the units of the modules it touches and of those inlining what changed, the rest come from the incremental cache): an edit spanning fewer modules redoes fewer; no detector found a lever worth a finding here", if n == 1 { "" } else { "s" }),
            _ => format!("monomorphization and LLVM for {covers}: no detector found a lever worth a finding here"),
        },
        Centre::Linking => "the final link: no detector found a lever worth a finding here".into(),
    }
}

/// The centres worth a sentence, as `explain --json` gives them (`cost_centres`).
#[derive(Debug, Clone, Serialize)]
pub struct CostCentresDocument<'a> {
    pub wall_ns: u64,
    /// Every centre of at least 1% of the wall time, largest first.
    pub centres: Vec<CostCentreDocument<'a>>,
    /// The wall time of the smaller centres.
    pub rest_ns: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CostCentreDocument<'a> {
    #[serde(flatten)]
    pub centre: &'a CostCentre,
    pub title: String,
    /// Its share of the wall time, 0–1.
    pub share: f64,
    /// Worth a sentence: 5% of the wall or more.
    pub named: bool,
    /// When no finding acts on it: what it is and that no lever is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_lever: Option<String>,
    /// A dependency's centre in a build from scratch: the chain that brings its package in
    /// and the line or feature of yours that takes it out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_in_build: Option<String>,
    /// One of the member's lines or features takes the package out, saving a finding's
    /// floor or more: the lever is in the user's Cargo.toml.
    pub lever_in_manifest: bool,
}

impl<'a> CostCentresDocument<'a> {
    pub fn new(centres: &'a CostCentres) -> CostCentresDocument<'a> {
        CostCentresDocument {
            wall_ns: centres.wall_ns,
            centres: centres
                .centres
                .iter()
                .map(|c| CostCentreDocument {
                    centre: c,
                    title: centre_title(c),
                    share: c.wall_ns as f64 / centres.wall_ns.max(1) as f64,
                    named: centres.is_named(c),
                    no_lever: c.findings.is_empty().then(|| no_lever_note(c, centres)),
                    why_in_build: why_in_build(c, centres),
                    lever_in_manifest: lever_in_manifest(c, centres),
                })
                .collect(),
            rest_ns: centres.rest_ns,
        }
    }
}

/// The findings acting on a centre, by rank: `finding 1, 3`.
fn finding_ranks(c: &CostCentre) -> String {
    let ranks: Vec<String> = c.findings.iter().map(|i| (i + 1).to_string()).collect();
    format!(
        "finding{} {}",
        if ranks.len() > 1 { "s" } else { "" },
        ranks.join(", ")
    )
}

/// The table of centres of 5% of the wall or more, each with its findings or its note.
pub fn render_cost_centres(centres: &CostCentres, top: usize, style: &Style) -> String {
    let named: Vec<&CostCentre> = centres.named().collect();
    if named.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n");
    let mut table = Table::new(&[
        ("Where the wall time goes (cost centres)", Align::Left),
        ("Time", Align::Right),
        ("Share", Align::Right),
        ("Lever", Align::Left),
    ]);
    let mut notes = Vec::new();
    for c in &named {
        let lever = if c.findings.is_empty() {
            notes.push(format!(
                "· {}: {}",
                centre_title(c),
                no_lever_note(c, centres)
            ));
            if lever_in_manifest(c, centres) {
                "your Cargo.toml".to_string()
            } else if c.under_floor_ns.is_some() {
                "under the floor".to_string()
            } else {
                "none known".to_string()
            }
        } else {
            if let Some(why) = why_in_build(c, centres) {
                notes.push(format!("· {}: {why}", centre_title(c)));
            }
            if c.findings.iter().all(|&i| i >= top) {
                format!("{} (--top {})", finding_ranks(c), c.findings[0] + 1)
            } else {
                finding_ranks(c)
            }
        };
        table.push(vec![
            centre_title(c),
            human_duration(c.wall_ns),
            format!("{:.1}%", percent_of(c.wall_ns, centres.wall_ns)),
            lever,
        ]);
    }
    out.push_str(&table.render(style));
    for note in notes {
        out.push_str(&style.dim(&wrap(&note, style.width)));
    }
    let smaller: u64 = centres
        .centres
        .iter()
        .skip(named.len())
        .map(|c| c.wall_ns)
        .sum::<u64>()
        + centres.rest_ns;
    if smaller > 0 {
        out.push_str(&style.dim(&wrap(
            &format!(
                "The other centres, each under 5% of the wall: {} together.",
                human_duration(smaller)
            ),
            style.width,
        )));
    }
    out
}

/// The same as Markdown.
pub fn cost_centres_markdown(centres: &CostCentres) -> String {
    let mut out = String::from(
        "### Where the wall time goes (cost centres)\n\n| Cost centre | Time | Share | Lever |\n|---|---:|---:|---|\n",
    );
    for c in centres.named() {
        let lever = if c.findings.is_empty() {
            let lead = if lever_in_manifest(c, centres) {
                "your Cargo.toml"
            } else {
                "none known"
            };
            format!("{lead}: {}", no_lever_note(c, centres))
        } else {
            match why_in_build(c, centres) {
                Some(why) => format!("{}; why it is in the build: {why}", finding_ranks(c)),
                None => finding_ranks(c),
            }
        };
        let _ = writeln!(
            out,
            "| {} | {} | {:.1}% | {} |",
            centre_title(c),
            human_duration(c.wall_ns),
            percent_of(c.wall_ns, centres.wall_ns),
            lever
        );
    }
    out.push('\n');
    out
}
