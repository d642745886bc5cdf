//! A finding's sentences, written from its facts: the title, the evidence lines, the fix
//! (for a dependency, what its user controls instead of its code) and how the estimate was
//! derived. Every view of a finding (the terminal, Markdown, JSON, the report, a CI
//! summary, the history export) reads these, so a figure reads alike everywhere.

use buildscope_analysis::{
    is_slow_linker, percent_of, Cascade, Facts, Finding, GenericCopies, Owner, QueryCall,
    RebuildReason, RerunCause, SettingDifference, Timed, VerificationVerdict,
};

use crate::format::{human_duration, shorten_middle};

/// The sentences of one finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingText {
    /// One line: what is slow.
    pub title: String,
    /// The numbers and items behind it.
    pub evidence: Vec<String>,
    /// What to do, in Rust terms.
    pub fix: String,
    /// How the estimate was derived.
    pub basis: String,
}

pub fn finding_text(f: &Finding) -> FindingText {
    let (title, evidence) = title_and_evidence(&f.facts);
    let fix = match &f.code_owner {
        Some(owner) => fix_for_owner(owner, code_fix(&f.facts)),
        None => code_fix(&f.facts),
    };
    let rule = basis(&f.facts);
    let basis = match &f.replay {
        None => rule,
        Some(replay) => format!(
            "wall time: {} schedule replayed with {} shorter by {}; {}{rule}",
            if replay.unprofiled {
                "the unprofiled run's"
            } else {
                "the run's"
            },
            replay
                .shortened
                .as_deref()
                .map_or("the profiled crates".to_string(), |c| format!("`{c}`")),
            if replay.cpu {
                "the CPU this removes"
            } else {
                "that"
            },
            if replay.cpu { "CPU: " } else { "" },
        ),
    };
    FindingText {
        title,
        evidence,
        fix,
        basis,
    }
}

fn secs(ns: u64) -> String {
    human_duration(ns)
}

fn timed_list(items: &[Timed]) -> String {
    items
        .iter()
        .map(|t| format!("{} {}", t.name, secs(t.ns)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn quoted_list(items: &[String], at_most: usize) -> String {
    let shown: Vec<String> = items
        .iter()
        .take(at_most)
        .map(|p| format!("`{p}`"))
        .collect();
    let more = items.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

fn call(c: &QueryCall, width: usize) -> String {
    shorten_middle(&c.argument, width)
}

fn title_and_evidence(facts: &Facts) -> (String, Vec<String>) {
    match facts {
        Facts::PathologicalTraitSolving {
            krate,
            crate_ns,
            obligation,
            inside,
            trait_solving_ns,
        } => {
            let mut evidence = vec![format!(
                "one `{}` took {} ({:.0}% of {krate}'s {} of CPU): {}",
                obligation.query,
                secs(obligation.ns),
                percent_of(obligation.ns, *crate_ns),
                secs(*crate_ns),
                call(obligation, 160)
            )];
            if let Some(item) = inside {
                evidence.push(format!(
                    "inside `{}` of {} ({})",
                    item.query,
                    call(item, 100),
                    secs(item.ns)
                ));
            }
            evidence.push(format!(
                "trait solving is {} of the crate's CPU time",
                secs(*trait_solving_ns)
            ));
            (
                format!(
                    "one trait obligation dominates `{krate}`: rustc proves it on a very large type"
                ),
                evidence,
            )
        }
        Facts::PathologicalItem {
            krate,
            crate_ns,
            item,
            own_share,
            inference,
        } => {
            let name = call(item, 80);
            let title = if *inference {
                format!(
                    "type checking one function dominates `{krate}`: `{name}` (inference and trait solving on its types)"
                )
            } else {
                format!("one item dominates `{krate}`: `{}` of `{name}`", item.query)
            };
            let evidence = vec![
                format!(
                    "`{}` of {name} took {} ({:.0}% of the crate's {} of CPU)",
                    item.query,
                    secs(item.ns),
                    percent_of(item.ns, *crate_ns),
                    secs(*crate_ns)
                ),
                format!(
                    "{:.0}% of it in the query itself, not in the queries it called",
                    own_share * 100.0
                ),
            ];
            (title, evidence)
        }
        Facts::Monomorphization {
            krate,
            crate_ns,
            mono_ns,
            llvm_ns,
            top,
            attributed,
            instances,
            largest,
            foreign,
            llvm_lines,
        } => {
            let shown: Vec<String> = largest.iter().map(describe_copies).collect();
            let mut evidence = vec![
                format!(
                    "generic functions of `{krate}` by the instances they account for: {}",
                    shown.join(", ")
                ),
                format!(
                    "`{}` accounts for {attributed} of the crate's {instances} instances ({} copies, and its closures and other crates' generic code only it instantiates: {}); monomorphization and LLVM IR generation {}, LLVM {} ({:.0}% of the crate's {} of CPU)",
                    top.function,
                    top.copies,
                    attributed - top.copies,
                    secs(*mono_ns),
                    secs(*llvm_ns),
                    percent_of(mono_ns + llvm_ns, *crate_ns),
                    secs(*crate_ns)
                ),
            ];
            if !foreign.is_empty() {
                let listed: Vec<String> =
                    foreign.iter().map(|(f, n)| format!("{f} ×{n}")).collect();
                evidence.push(format!(
                    "other crates' generic code instantiated here (changed only by calling it with fewer types): {}",
                    listed.join(", ")
                ));
            }
            evidence.push(match llvm_lines {
                Some((total, lines)) => {
                    let top: Vec<String> = lines
                        .iter()
                        .map(|l| {
                            format!(
                                "{} {} lines in {} copies",
                                shorten_middle(&l.function, 70),
                                l.lines,
                                l.copies
                            )
                        })
                        .collect();
                    format!(
                        "LLVM IR lines (cargo llvm-lines view, {total} in all): {}",
                        top.join("; ")
                    )
                }
                None => format!(
                    "lines per function: `buildscope explain --llvm-lines` builds `{krate}` once more with --emit=llvm-ir"
                ),
            });
            (
                format!(
                    "heavy monomorphization in `{krate}`: `{}` is compiled {} times",
                    top.function, top.copies
                ),
                evidence,
            )
        }
        Facts::LlvmDominates {
            optimization_ns,
            codegen_ns,
            total_ns,
            largest,
            unprofiled,
        } => {
            let mut evidence = vec![
                format!(
                    "LLVM optimisation {}, code generation {} of {} CPU",
                    secs(*optimization_ns),
                    secs(*codegen_ns),
                    secs(*total_ns)
                ),
                format!("most in: {}", timed_list(largest)),
            ];
            if let Some(u) = unprofiled {
                evidence.push(format!(
                    "{} more crates without a profile ({} CPU): at the same share, about {} of LLVM work, counted in the estimate",
                    u.crates,
                    secs(u.cpu_ns),
                    secs(u.llvm_ns)
                ));
            }
            (
                format!(
                    "LLVM takes {:.0}% of the compile time",
                    percent_of(optimization_ns + codegen_ns, *total_ns)
                ),
                evidence,
            )
        }
        Facts::FewCodegenUnits {
            krate,
            codegen_units,
            llvm_ns,
            cores,
        } => (
            format!(
                "`{krate}`'s code generation runs on {} ({} of LLVM work; this machine has {cores} cores)",
                if *codegen_units == 1 { "one thread".to_string() } else { format!("{codegen_units} threads") },
                secs(*llvm_ns)
            ),
            vec![format!(
                "the profile sets `codegen-units = {codegen_units}`: rustc splits the crate's code into at most that many LLVM modules, one thread each"
            )],
        ),
        Facts::IncrementalInColdBuild {
            crates,
            incremental_ns,
            total_ns,
            partitioning_ns,
            most_codegen_units,
        } => {
            let mut evidence = vec![
                format!("by crate: {}", timed_list(crates)),
                "hashing every query's result and saving the dependency graph and work products, for a next build that reuses them".to_string(),
            ];
            if let Some((krate, units)) = most_codegen_units {
                evidence.push(format!(
                    "code generation cut per module for the next edit: `{krate}` in {units} codegen units (16 without incremental); about {} of monomorphization and LLVM work on the extra units",
                    secs(*partitioning_ns)
                ));
            }
            (
                format!(
                    "incremental compilation prepares a next build this build from scratch never reuses: {} of bookkeeping ({:.0}% of its compile time){}",
                    secs(*incremental_ns),
                    percent_of(*incremental_ns, *total_ns),
                    most_codegen_units
                        .as_ref()
                        .map(|(krate, units)| format!(", `{krate}` cut into {units} codegen units"))
                        .unwrap_or_default()
                ),
                evidence,
            )
        }
        Facts::WholeCrateRework {
            krate,
            parts,
            crate_ns,
            claimed_by_macros_ns,
            total_ns,
        } => {
            let rework: u64 = parts.iter().map(|p| p.self_ns).sum();
            (
                format!(
                    "`{krate}` redoes {} of work on the whole crate on every edit ({:.0}% of this rebuild's compile time)",
                    secs(rework),
                    percent_of(rework, *total_ns)
                ),
                vec![
                    format!(
                        "{} of its {} CPU",
                        parts
                            .iter()
                            .filter(|p| p.self_ns > 0)
                            .map(|p| format!("{} {}", lower_first(p.title), secs(p.self_ns)))
                            .collect::<Vec<_>>()
                            .join(", "),
                        secs(*crate_ns)
                    ),
                    "incremental compilation reuses type checking, MIR and codegen of what the edit did not change, not these: they grow with the crate, not with the edit".to_string(),
                ]
                .into_iter()
                .chain((*claimed_by_macros_ns > 0).then(|| format!(
                    "{} of it is the macros' expansion and the code they generate, which the proc-macro finding claims: not counted here",
                    secs(*claimed_by_macros_ns)
                )))
                .collect(),
            )
        }
        Facts::Linking {
            unit,
            link_ns,
            wall_ns,
            installed_linkers,
            linker,
        } => {
            let mut evidence = vec![format!(
                "the final link took {} of {} wall{}",
                secs(*link_ns),
                secs(*wall_ns),
                linker
                    .as_deref()
                    .map(|l| format!(", linked by {l}"))
                    .unwrap_or_default()
            )];
            evidence.push(format!(
                "linkers on this machine: {}",
                if installed_linkers.is_empty() {
                    "none found besides rustc's bundled rust-lld".to_string()
                } else {
                    installed_linkers.join(", ")
                }
            ));
            (
                format!(
                    "linking is {:.0}% of this rebuild ({unit})",
                    percent_of(*link_ns, *wall_ns)
                ),
                evidence,
            )
        }
        Facts::SerializingCrate {
            target,
            unit,
            unit_ns,
            alone_ns,
            wall_ns,
            cores,
            dependents,
            ..
        } => (
            format!(
                "`{target}` serializes the build: it compiles alone for {} ({:.0}% of the wall time)",
                secs(*alone_ns),
                percent_of(*alone_ns, *wall_ns)
            ),
            vec![
                format!(
                    "{unit} ran {} in all, {} of it with every other core idle ({cores} cores)",
                    secs(*unit_ns),
                    secs(*alone_ns),
                ),
                if dependents.is_empty() {
                    "it is the last unit of the build".to_string()
                } else {
                    format!("waiting on it: {}", dependents.join(", "))
                },
            ],
        ),
        Facts::BuildScriptOnCriticalPath {
            package,
            on_path_ns,
            steps,
            path,
            brought_in_by,
        }
        | Facts::ProcMacroCrateOnCriticalPath {
            package,
            on_path_ns,
            steps,
            path,
            brought_in_by,
        } => {
            let what = if matches!(facts, Facts::ProcMacroCrateOnCriticalPath { .. }) {
                "proc-macro crates"
            } else {
                "build scripts"
            };
            (
                format!(
                    "{what} on the critical path: {} of the wall time (`{package}`)",
                    secs(*on_path_ns)
                ),
                {
                    let mut evidence = vec![format!("on the path: {}", timed_list(steps))];
                    if path.len() > 1 {
                        evidence.push(format!("in the build through: {}", path.join(" → ")));
                    }
                    if let Some(line) = brought_in_by {
                        evidence.push(format!("only {line} brings it into the build"));
                    }
                    evidence
                },
            )
        }
        Facts::ProcMacroExpansion {
            krate,
            expansions,
            ns,
            hot,
            by_macro,
            slowest,
            ..
        } => {
            let macros: Vec<String> = by_macro
                .iter()
                .map(|(m, n, ns)| format!("{m} ×{n} ({})", secs(*ns)))
                .collect();
            let sites: Vec<String> = slowest
                .iter()
                .map(|s| format!("{} ({})", shorten_middle(&s.name, 90), secs(s.ns)))
                .collect();
            (
                format!(
                    "proc-macro expansion in `{krate}`: {expansions} expansions take {}{}",
                    secs(*ns),
                    if *hot { " on every rebuild" } else { "" }
                ),
                vec![
                    format!("by macro: {}", macros.join(", ")),
                    format!("slowest call sites: {}", sites.join("; ")),
                ],
            )
        }
        Facts::DuplicateDependency {
            puller,
            puller_version,
            puller_is_member,
            path,
            copies,
            ..
        } => {
            let who = if *puller_is_member {
                format!("`{puller}`")
            } else {
                format!("`{puller}` {puller_version}")
            };
            let listed: Vec<String> = copies
                .iter()
                .map(|c| {
                    format!(
                        "{} {} ({} here too) {}",
                        c.package,
                        c.version,
                        c.newest,
                        secs(c.ns)
                    )
                })
                .collect();
            (
                format!(
                    "{who} pulls in older copies of {} crate(s) the build also compiles at newer versions",
                    copies.len()
                ),
                vec![
                    format!("how: {}", path.join(" → ")),
                    format!("the older copies: {}", listed.join(", ")),
                ],
            )
        }
        Facts::HostCopies { users, copies } => (
            format!(
                "{} compiled a second time, at the same version, for {}",
                quoted_names(copies),
                join_words(users)
            ),
            vec![
                format!("the second copies: {}", timed_list(copies)),
                "build scripts and proc macros run on the host, and cargo compiles what they use \
                 apart from your code's copy when the features it resolves for them differ, or \
                 their profile does (`[profile.*.build-override]`: in release builds they are not \
                 optimised)"
                    .to_string(),
            ],
        ),
        Facts::UnusedDependency {
            member,
            package,
            kind,
            crates,
            unit_ns,
        } => (
            format!("`{member}` does not use its dependency `{package}`"),
            vec![
                format!(
                    "rustc's `unused_crate_dependencies` lint finds it unused in every target of `{member}` that is given it ({} dependency)",
                    match kind {
                        buildscope_analysis::DependencyKind::Normal => "a normal",
                        buildscope_analysis::DependencyKind::Build => "a build",
                        buildscope_analysis::DependencyKind::Dev => "a dev",
                    }
                ),
                format!(
                    "the line alone brings {crates} crate(s) into the build, {} of unit time",
                    secs(*unit_ns)
                ),
            ],
        ),
        Facts::DependencyOfOneMember {
            member,
            dependencies,
            exclusive_ns,
            total_ns,
        } => {
            let shown: Vec<Timed> = dependencies.iter().take(6).cloned().collect();
            (
                format!(
                    "{} dependencies ({} of compile time) are needed only by `{member}`",
                    dependencies.len(),
                    secs(*exclusive_ns)
                ),
                vec![
                    format!("only `{member}` uses: {}", timed_list(&shown)),
                    format!(
                        "{:.0}% of the build's summed unit time",
                        percent_of(*exclusive_ns, *total_ns)
                    ),
                ],
            )
        }
        Facts::BuildScriptReruns {
            package,
            cause,
            ran_ns,
            waiting,
        } => {
            let why = match cause {
                RerunCause::NoRerunIfChanged => "its build script prints no \
                    `cargo:rerun-if-changed` line, so cargo reruns it whenever any file of \
                    the package changes"
                    .to_string(),
                RerunCause::WatchesMissingFile { file } => format!(
                    "its build script watches `{file}`, which does not exist, so cargo reruns \
                     it on every build"
                ),
                RerunCause::WatchesGeneratedFile { file } => format!(
                    "its build script watches `{file}`, a file the build itself writes, so \
                     every build makes the next one rerun it"
                ),
            };
            let ran = format!(
                "the script ran for {}{}",
                secs(*ran_ns),
                if *waiting > 0 {
                    format!(
                        ", and the {waiting} unit(s) rebuilt after it waited for it (they would \
                         rebuild for the edit anyway: only the script's run is saved)"
                    )
                } else {
                    String::new()
                }
            );
            (
                format!("`{package}`'s build script reruns on every rebuild"),
                vec![format!("`{package}` was rebuilt because {why}"), ran],
            )
        }
        Facts::ChangingEnvironmentVariable {
            package,
            variable,
            before,
            after,
            cascade,
            ..
        } => {
            let values = value_change(before.as_deref(), after.as_deref())
                .map(|change| format!(" ({change})"))
                .unwrap_or_default();
            (
                format!("`{variable}` changed between builds and rebuilt `{package}`"),
                vec![
                    format!(
                        "`{package}` depends on the environment variable `{variable}` (a build \
                         script's `cargo:rerun-if-env-changed`, or `env!`/`option_env!`), which \
                         changed{values}"
                    ),
                    cascade_line(cascade),
                ],
            )
        }
        Facts::EditCascade {
            package,
            file,
            units,
            packages,
            unit_ns,
        } => (
            format!(
                "An edit of `{package}` rebuilds {} crates that depend on it",
                packages.len()
            ),
            vec![
                format!(
                    "`{file}` changed; {units} unit(s) of {} other package(s) rebuilt only \
                     because `{package}` did: {} of unit time",
                    packages.len(),
                    secs(*unit_ns)
                ),
                format!("rebuilt for it: {}", quoted_list(packages, 8)),
            ],
        ),
        Facts::SettingsThrash {
            changes,
            units,
            unit_ns,
            ..
        } => {
            let mut evidence: Vec<String> = changes
                .iter()
                .take(6)
                .map(|c| {
                    format!(
                        "differs from the previous build into this target directory: {}",
                        describe_setting_change(c)
                    )
                })
                .collect();
            evidence.push(format!(
                "{units} unit(s) compiled again for it ({} of unit time): cargo keeps a copy \
                 of each unit per setting, so builds that alternate between the two compile \
                 both copies after every edit",
                secs(*unit_ns)
            ));
            let what = match changes.first() {
                Some(SettingDifference::Rustflags { variable, .. }) => variable.clone(),
                Some(SettingDifference::Selection { .. }) | None => {
                    "the package selection".to_string()
                }
                Some(SettingDifference::Features { package, .. }) => {
                    format!("features of {package}")
                }
            };
            (
                format!("Builds into one target directory with different settings ({what})"),
                evidence,
            )
        }
    }
}

/// `` `a`, `b` and `c` `` from `name version` entries.
fn quoted_names(items: &[Timed]) -> String {
    let names: Vec<String> = items
        .iter()
        .map(|t| format!("`{}`", t.name.split(' ').next().unwrap_or(&t.name)))
        .collect();
    join_words(&names)
}

/// `a`, `a and b`, `a, b and c`.
fn join_words(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The older copy the puller asks for directly (the path's end), else the largest.
fn asked_for<'a>(
    path: &[String],
    copies: &'a [buildscope_analysis::OlderCopy],
) -> Option<&'a buildscope_analysis::OlderCopy> {
    let last = path.last();
    copies
        .iter()
        .find(|c| last == Some(&format!("{} {}", c.package, c.version)))
        .or(copies.first())
}

/// `` `rand` 0.6.5 where the rest of the build has 0.8.5 ``.
fn first_copy(path: &[String], copies: &[buildscope_analysis::OlderCopy]) -> String {
    asked_for(path, copies).map_or(String::new(), |c| {
        format!(
            "`{}` {} where the rest of the build has {}",
            c.package, c.version, c.newest
        )
    })
}

fn describe_copies(g: &GenericCopies) -> String {
    match &g.default_method_of {
        Some(t) => format!(
            "{} ×{} (the default method of trait `{t}`, once per implementing type)",
            g.function, g.copies
        ),
        None => format!("{} ×{}", g.function, g.copies),
    }
}

fn cascade_line(c: &Cascade) -> String {
    format!(
        "{} unit(s) rebuilt after it{}; {} of unit time, {} of wall time in all",
        c.units,
        if c.packages.is_empty() {
            String::new()
        } else {
            format!(" ({})", quoted_list(&c.packages, 6))
        },
        secs(c.unit_ns),
        secs(c.wall_ns)
    )
}

/// The fix as it reads for the crate's own code.
fn code_fix(facts: &Facts) -> String {
    match facts {
        Facts::PathologicalTraitSolving { .. } => "Erase the type where it is built: return `Box<dyn Trait>` / `impl Trait` behind a boxed boundary (for futures and streams `.boxed()`), or break the nested combinator chain into named functions; simplify where-clauses on it.".to_string(),
        Facts::PathologicalItem { inference: true, .. } => "Give the compiler smaller types: box or erase the combinator where it is built (`Box<dyn Trait>`, `.boxed()`), split the chain into functions with explicit return types, and simplify the where-clauses it must prove.".to_string(),
        Facts::PathologicalItem { .. } => "Split the item (smaller functions, fewer generic parameters), annotate the types the compiler has to infer, or move it to a crate that rarely changes.".to_string(),
        Facts::Monomorphization { top, .. } => match &top.default_method_of {
            Some(t) => format!(
                "Move the body of `{t}`'s default method into a non-generic function that takes what it needs (`&dyn {t}` or plain data) and call it from the default method, so each implementing type gets a one-line copy; `cargo llvm-lines` shows what each copy costs."
            ),
            None => "Make each of these a thin generic wrapper around a non-generic inner function (`fn f<T: AsRef<str>>(x: T) { fn inner(x: &str) { … } inner(x.as_ref()) }`), or take `&dyn Trait` where the call is not hot; `cargo llvm-lines` shows the lines each copy costs.".to_string(),
        },
        Facts::LlvmDominates { .. } => "In dev builds, emit less debug info (`[profile.dev] debug = \"line-tables-only\"` or `debug = 0` for dependencies), keep `opt-level = 0` for your own crates, and check `codegen-units`; rebuild with each setting to measure it.".to_string(),
        Facts::FewCodegenUnits { codegen_units, .. } => format!("`codegen-units = {codegen_units}` trades build time for the program's speed (more inlining across the crate). Where that matters, keep it in a profile for the builds you ship (`[profile.dist]` with `inherits = \"release\"`) and build the rest with the default (16 in release), which spreads LLVM over the cores."),
        Facts::IncrementalInColdBuild { .. } => "A build from scratch (CI, a release build, a fresh clone) never reuses its incremental state: build with `CARGO_INCREMENTAL=0` there, or set `incremental = false` in the profile such builds use. Keep it on in the edit loop, where it pays for itself.".to_string(),
        Facts::WholeCrateRework { krate, .. } => format!(
            "Split `{krate}`: move what rarely changes (types and their derives, traits, generic helpers, whole modules the edits do not touch) into a crate it depends on. An edit then redoes this work for its own part only; an edit in the lower crate rebuilds both, so split along what changes least."
        ),
        Facts::Linking { linker: Some(l), .. } if is_slow_linker(l) => format!("This link ran {l}: link with rust-lld (bundled with rustc and its default on x86_64 Linux since 1.90: drop `-C linker-features=-lld` or the `linker` setting that chose {l}) or mold (`-C link-arg=-fuse-ld=mold`); emitting less debug info (`debug = \"line-tables-only\"`) shrinks what any linker copies."),
        Facts::Linking { linker, .. } => {
            let which = linker.as_deref().unwrap_or("rustc's default linker");
            format!("Emit less debug info (`[profile.dev] debug = \"line-tables-only\"`, or `split-debuginfo = \"unpacked\"`), which shrinks what the linker copies. The linker itself is not the lever here: this link ran {which}, and mold measured no faster than rust-lld.")
        }
        Facts::SerializingCrate { target, .. } => format!(
            "Split `{target}` into crates that can compile in parallel (by feature area or layer), and move what its dependents need first into a small crate of its own."
        ),
        Facts::ProcMacroCrateOnCriticalPath { .. } => "Proc-macro crates and their dependencies (syn, quote) must finish before any crate using them starts: trim the macro's dependencies (syn features), or move the users off the critical path.".to_string(),
        Facts::BuildScriptOnCriticalPath { package, brought_in_by, .. } if package.ends_with("-sys") => format!(
            "`{package}` builds a native library in its build script, and everything above it waits. What you control: {}many `-sys` crates link the library installed on the system instead of building it (through pkg-config, or the environment variable their documentation names: see `{package}`'s README); and in CI a compiler cache for C (`CC=\"sccache cc\"`, or sccache as `RUSTC_WRAPPER`) keeps the compiled library between builds.",
            brought_in_by
                .as_ref()
                .map_or(String::new(), |l| format!("{l}, which alone brings it in (turn it off if you can do without it); "))
        ),
        Facts::BuildScriptOnCriticalPath { .. } => "Everything that depends on the package waits for its build script: make it do less (cache generated files, skip work with `cargo:rerun-if-changed`), or move generated code into a crate of its own that rarely rebuilds.".to_string(),
        Facts::ProcMacroExpansion { .. } => "Proc-macro output is never cached: move the derived types into a crate that rarely changes, derive only what is used (e.g. `Serialize` without `Deserialize`), or replace derives on many small types with a hand-written impl for a generic wrapper.".to_string(),
        Facts::DuplicateDependency {
            puller,
            puller_is_member: true,
            path,
            copies,
            ..
        } => format!(
            "`{puller}`'s Cargo.toml asks for {}: raise the requirement to the version the rest of the build uses, so that one copy is compiled (`cargo tree -d` lists the duplicates and who asks for each).",
            first_copy(path, copies)
        ),
        Facts::DuplicateDependency {
            puller,
            puller_version,
            path,
            copies,
            brought_in_by,
            ..
        } => format!(
            "`{puller}` {puller_version} asks for {}: a newer release of `{puller}` may ask for the version the rest of the build uses (`cargo update -p {puller}`{}); {}. `cargo tree -i {}` shows every path to the old copy.",
            first_copy(path, copies),
            // Its requirement is in the user's Cargo.toml only when the member uses it directly.
            if path.len() == 3 {
                ", or raise its requirement in your Cargo.toml"
            } else {
                ""
            },
            // A line of the member's own names the puller itself when the member uses it
            // directly: then the alternative is the lever.
            match brought_in_by.as_ref().filter(|_| path.len() > 3) {
                Some(line) => format!("otherwise {line}, which alone brings `{puller}` into the build, is what you control"),
                None if path.len() > 3 => format!(
                    "otherwise the dependency that brings it in, `{}`, is what you control: a release of it that moved on, or an alternative",
                    path[1].split(' ').next().unwrap_or(&path[1])
                ),
                None => format!("otherwise consider an alternative to `{puller}`"),
            },
            asked_for(path, copies)
                .map_or(String::new(), |c| format!("{}@{}", c.package, c.version))
        ),
        Facts::HostCopies { copies, .. } => format!(
            "Give the build-dependency the features your code's copy has (or turn off the default features the build script does not need) so that cargo builds one copy; `cargo tree -e features -i {} --target all` shows each copy's features. If the build script needs little of it, drop the dependency from the build script.",
            copies
                .first()
                .and_then(|c| c.name.split(' ').next())
                .unwrap_or_default()
        ),
        Facts::UnusedDependency { member, package, .. } => format!(
            "Remove `{package}` from `{member}`'s Cargo.toml; if code for another platform uses it (`#[cfg(windows)]`, …), move the line to that platform's table (`[target.'cfg(windows)'.dependencies]`) so this platform's builds skip it. The lint sees only the targets built here: `explain --verify` builds without the line to prove it."
        ),
        Facts::DependencyOfOneMember { member, .. } => format!(
            "Builds that do not need `{member}` still compile these: put them behind an optional feature of `{member}`, or leave `{member}` out of `default-members` so that `cargo build` skips it unless asked."
        ),
        Facts::BuildScriptReruns { cause, .. } => match cause {
            RerunCause::NoRerunIfChanged => "Print `cargo:rerun-if-changed=build.rs` from build.rs, plus one \
                `cargo:rerun-if-changed=<path>` per file or folder the script reads: cargo then \
                reruns it only when those change, and an edit of the package's code no longer \
                reruns the script."
                .to_string(),
            RerunCause::WatchesMissingFile { file } => format!(
                "Point `cargo:rerun-if-changed` at a file that exists (or create `{file}`), or \
                 drop that line: a missing path is always out of date."
            ),
            RerunCause::WatchesGeneratedFile { .. } => "Watch the inputs the script reads, not a file it or the build generates; write \
                generated files to `OUT_DIR` and only when their content changes."
                .to_string(),
        },
        Facts::ChangingEnvironmentVariable {
            variable, volatile, ..
        } => format!(
            "Keep `{variable}` the same from build to build during development: set it once in \
             `.cargo/config.toml` (`[env]`), or have the build script read it only for release \
             or CI builds (a fixed placeholder otherwise), or read it at run time with \
             `std::env::var` if the program can.{}",
            volatile
                .map(|k| format!(" Its value looks like {k}, which is new on every build."))
                .unwrap_or_default()
        ),
        Facts::EditCascade { package, .. } => format!(
            "Every change to `{package}` recompiles everything that depends on it. If the code you \
             edit most is in it, move that code into a crate near the top of the graph (one \
             few crates depend on, such as the binary's own), or have the dependents use it \
             through a trait object or a small interface crate, so that edits behind the \
             interface recompile only the crate that holds them."
        ),
        Facts::SettingsThrash { changes, .. } => {
            let mut fixes: Vec<String> = Vec::new();
            for change in changes {
                let fix = setting_fix(change);
                if !fixes.contains(&fix) {
                    fixes.push(fix);
                }
            }
            fixes.join(" ")
        }
    }
}

/// The fix for a problem in a crate's code: as it is for the user's own code; for a
/// dependency, what the user controls instead.
fn fix_for_owner(owner: &Owner, code_fix: String) -> String {
    match owner {
        Owner::Member | Owner::Unknown => code_fix,
        Owner::Dependency {
            package,
            path: true,
            ..
        } => format!(
            "`{package}` is a path dependency outside the workspace: if its code is yours, change it there. {code_fix}"
        ),
        Owner::Dependency { package, hot, .. } => format!(
            "`{package}` is a dependency: its code is not yours to change{}. What you control: its features (turn off what you do not use), its version (a newer release may be lighter), a lighter alternative or whether you need it at all, and how it is built (`[profile.dev.package.{package}]` settings).",
            if *hot {
                ""
            } else {
                ", and it is compiled once and cached, so it costs cold builds only: the edit-rebuild loop does not recompile it (`buildscope build --touch` on your own file measures that loop)"
            }
        ),
    }
}

/// How the estimate was derived, before any replay on the run's schedule.
fn basis(facts: &Facts) -> String {
    match facts {
        Facts::PathologicalTraitSolving { .. } => "at most the time of that one invocation".to_string(),
        Facts::PathologicalItem { .. } => "the item's own time (at most its whole time): what erasing or splitting the type removes".to_string(),
        Facts::Monomorphization { top, attributed, instances, .. } => format!(
            "the crate's monomorphization and LLVM time × the share of its instances owed to `{}` ({attributed} of {instances}) × ({} − 1)/{}, the copies a non-generic body removes",
            top.function, top.copies, top.copies
        ),
        Facts::LlvmDominates { .. } => "a third of the LLVM time: what less debug info typically removes from code generation".to_string(),
        Facts::FewCodegenUnits { codegen_units, cores, .. } => format!("the crate's LLVM time × (1 − {codegen_units}/{}): the share that {} threads would take off", (*cores).min(16), (*cores).min(16)),
        Facts::IncrementalInColdBuild { .. } => "twice the bookkeeping (hashing, the dependency graph, work products: the dependency tracking inside every query, which incremental off also removes, is not a separate event in the profile), and the share of code generation spent on codegen units beyond the 16 a build without incremental makes (derived on just 1.36.0, checked on ripgrep's repository)".to_string(),
        Facts::WholeCrateRework { .. } => "half the whole-crate work: a split in two halves, the edit in one (two planted crates split so saved 139 ms and 1.52 s where this estimated 141 ms and 1.49 s)".to_string(),
        Facts::Linking { linker: Some(l), .. } if is_slow_linker(l) => "two thirds of the final link: what rust-lld (77%) and mold (52%) took off a link by GNU ld measured; less debug info, a third, is the smaller lever here".to_string(),
        Facts::Linking { .. } => "a third of the final link: what less debug info took off the links measured so far (24–56%)".to_string(),
        Facts::SerializingCrate { cores, front_end_share, .. } => format!(
            "its time alone × (1 − 1/{cores}) × the share of its CPU before code generation ({:.0}%): a split over {cores} cores parallelizes the front end; LLVM already spreads code generation over codegen units",
            front_end_share * 100.0
        ),
        Facts::BuildScriptOnCriticalPath { .. } | Facts::ProcMacroCrateOnCriticalPath { .. } => "how much shorter the longest dependency chain gets if the slowest of them took no time".to_string(),
        Facts::ProcMacroExpansion { generated_share: Some(share), .. } => format!(
            "expansion time, plus the crate's work after expansion (resolution, type and borrow checking, MIR, code generation, incremental) × {:.0}% (the macros' share of its parse-and-expand time, their expansion and the parsing of what the derives produced, standing for the share of its code they generate), at most the crate's CPU: what moving the derived types into a crate that rarely changes saves on each rebuild",
            share * 100.0
        ),
        Facts::ProcMacroExpansion { .. } => "half the expansion time (deriving only what is used)".to_string(),
        Facts::DuplicateDependency { .. } => "wall time: the run's schedule replayed without the older copies".to_string(),
        Facts::HostCopies { .. } => "wall time: the run's schedule replayed without the second copies".to_string(),
        Facts::UnusedDependency { .. } => "wall time: the run's schedule replayed without what only this line brings in".to_string(),
        Facts::DependencyOfOneMember { .. } => "wall time: the run's schedule replayed without those packages, saved by every build that leaves the member out".to_string(),
        Facts::BuildScriptReruns { .. } => "wall time: the run's schedule replayed without the build script's \
            run (what rebuilt after it may have rebuilt for the edit anyway)".to_string(),
        Facts::ChangingEnvironmentVariable { .. } => "wall time: the run's schedule replayed without the units the change \
            rebuilt".to_string(),
        Facts::EditCascade { .. } => "wall time: the run's schedule replayed without the other crates that \
            rebuilt for the edit (at most: moving the code saves part of it)".to_string(),
        Facts::SettingsThrash { from_warm_up: true, .. } => "wall time of the warm-up build that compiled them (before the measured rebuild)".to_string(),
        Facts::SettingsThrash { .. } => "wall time: the run's schedule replayed without the units built for the \
            changed settings".to_string(),
    }
}

/// What a measurement says of a finding's estimate.
pub fn verdict_text(verdict: &VerificationVerdict) -> String {
    match verdict {
        VerificationVerdict::CodeChange => {
            "a code change: not tried (an experiment tries build settings)".to_string()
        }
        VerificationVerdict::NotMeasured => "not measured".to_string(),
        VerificationVerdict::NotApplied => {
            "the setting did not reach rustc: no verdict".to_string()
        }
        VerificationVerdict::NoDifference => {
            "no significant difference: the estimate did not hold".to_string()
        }
        VerificationVerdict::Slower => {
            "slower: the estimate did not hold; do not apply this setting".to_string()
        }
        VerificationVerdict::Confirmed { ratio } => {
            format!("confirmed: measured {:.0}% of the estimate", ratio * 100.0)
        }
        VerificationVerdict::FasterThanEstimated { ratio } => {
            format!("faster than estimated ({ratio:.1}x the estimate)")
        }
        VerificationVerdict::SmallerThanEstimated { ratio } => format!(
            "a smaller saving than estimated ({:.0}% of it)",
            ratio * 100.0
        ),
    }
}

/// `from \`a\` to \`b\``, `unset` for a missing value; `None` when both are missing.
fn value_change(before: Option<&str>, after: Option<&str>) -> Option<String> {
    let shown = |v: Option<&str>| v.map_or("unset".to_string(), |v| format!("`{v}`"));
    (before.is_some() || after.is_some())
        .then(|| format!("from {} to {}", shown(before), shown(after)))
}

/// Why a unit rebuilt, in one line.
pub fn describe_reason(reason: &RebuildReason) -> String {
    match reason {
        RebuildReason::FileChanged { file } => format!("`{file}` changed"),
        RebuildReason::PackageChanged => {
            "a file of the package changed (no rerun-if-changed)".to_string()
        }
        RebuildReason::DependencyRebuilt { dependency } => {
            format!("its dependency `{dependency}` was rebuilt")
        }
        RebuildReason::FileMissing { file } => format!("`{file}` is missing"),
        RebuildReason::EnvChanged {
            variable,
            before,
            after,
        } => match value_change(before.as_deref(), after.as_deref()) {
            None => format!("`{variable}` changed"),
            Some(change) => format!("`{variable}` changed {change}"),
        },
        RebuildReason::FlagsChanged { detail } | RebuildReason::FeaturesChanged { detail } => {
            detail.clone()
        }
        RebuildReason::ToolchainChanged => "the toolchain changed".to_string(),
        RebuildReason::NotBuiltBefore => "not built before in this target directory".to_string(),
        RebuildReason::Other { text } => text.clone(),
    }
}

/// One line: what differs between two builds' settings, before → now.
fn describe_setting_change(change: &SettingDifference) -> String {
    let list = |items: &[String], empty: &str| {
        if items.is_empty() {
            empty.to_string()
        } else {
            format!("`{}`", items.join(" "))
        }
    };
    match change {
        SettingDifference::Rustflags {
            variable,
            before,
            after,
        } => format!(
            "{variable}: {} before, {} now",
            list(before, "none"),
            list(after, "none")
        ),
        SettingDifference::Selection { before, after } => format!(
            "the command line: {} before, {} now",
            list(before, "no selection (the default members)"),
            list(after, "no selection (the default members)")
        ),
        SettingDifference::Features {
            package,
            before,
            after,
        } => format!(
            "features of {package}: [{}] before, [{}] now",
            before.join(", "),
            after.join(", ")
        ),
    }
}

/// What to do about two builds' settings taking turns.
fn setting_fix(change: &SettingDifference) -> String {
    match change {
        SettingDifference::Rustflags { variable, .. } => format!(
            "Give every tool that builds here the same flags: put them in \
             `.cargo/config.toml` (`[build] rustflags = [...]`) instead of `{variable}` in \
             one shell or editor, or give the tool with other flags a target directory \
             of its own (`CARGO_TARGET_DIR`, or rust-analyzer's `cargo.targetDir = true`)"
        ),
        SettingDifference::Selection { .. } | SettingDifference::Features { .. } => {
            "Build with one selection everywhere (always `--workspace`, or always the same \
             `-p`): cargo unifies features over the packages a command selects, so `-p \
             member` and the whole workspace compile shared dependencies with different \
             features. Or make the features agree: enable them in every member that uses \
             the dependency (a workspace-hack crate, as `cargo hakari` keeps, does it for \
             all)"
                .to_string()
        }
    }
}

/// `Name resolution and HIR` → `name resolution and HIR`.
fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or(String::new(), |first| {
        first.to_lowercase().chain(chars).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dependencys_fix_names_what_its_user_controls() {
        let code = "Split it.".to_string();
        assert_eq!(fix_for_owner(&Owner::Member, code.clone()), "Split it.");
        let cold = Owner::Dependency {
            package: "regex".into(),
            hot: false,
            path: false,
        };
        let fix = fix_for_owner(&cold, code.clone());
        assert!(!fix.contains("Split"), "{fix}");
        assert!(fix.contains("`regex` is a dependency"), "{fix}");
        assert!(fix.contains("cold builds only"), "{fix}");
        let hot = Owner::Dependency {
            package: "regex".into(),
            hot: true,
            path: false,
        };
        assert!(!fix_for_owner(&hot, code.clone()).contains("cold builds only"));
        let path = Owner::Dependency {
            package: "mine".into(),
            hot: true,
            path: true,
        };
        assert!(fix_for_owner(&path, code).ends_with("Split it."));
    }

    #[test]
    fn a_figure_reads_the_same_in_the_title_the_evidence_and_the_tables() {
        let facts = Facts::Linking {
            unit: "bin \"app\"".into(),
            link_ns: 450_000_000,
            wall_ns: 1_500_000_000,
            installed_linkers: vec!["mold".into()],
            linker: None,
        };
        let (title, evidence) = title_and_evidence(&facts);
        assert_eq!(title, "linking is 30% of this rebuild (bin \"app\")");
        assert_eq!(
            evidence[0],
            format!(
                "the final link took {} of {} wall",
                human_duration(450_000_000),
                human_duration(1_500_000_000)
            )
        );
        assert_eq!(evidence[1], "linkers on this machine: mold");
    }
}
