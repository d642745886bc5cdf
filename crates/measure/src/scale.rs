//! `buildscope scale`: a project generated at several sizes, each size built and measured
//! (with self-profiles of the generated crates), so that how compile time grows with the
//! input can be fitted. The generators are the classic shapes that stress one part of the
//! compiler each, or any command that writes a cargo project for a size.

use std::path::{Path, PathBuf};

use crate::run::{execute, BuildPlan};
use crate::{BuildError, SelfProfile};
use buildscope_analysis::{RunRecord, Scenario};

/// A built-in generator: one crate whose source grows with n in one way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// n small independent functions: the baseline every phase should scale linearly on.
    Functions,
    /// One generic function instantiated with n types: monomorphization and LLVM.
    GenericInstances,
    /// n types implementing one trait, each called once: trait selection and codegen.
    TraitImpls,
    /// n structs with `#[derive(<derive>)]`: macro expansion and the code it generates.
    Derives(String),
    /// One `match` on an integer with n arms: pattern exhaustiveness and MIR building.
    MatchArms,
    /// n closures nested in one another: type inference through captured environments.
    NestedClosures,
    /// A type nested n deep (`Option<(Option<(…)>, u8)>`): trait solving on big types.
    DeepTypes,
    /// An iterator chain of n `.map()` calls: each adapter's type wraps the last, so type
    /// sizes (and the work on them) grow with n at every step.
    IteratorChain,
    /// n functions calling each other in the proportions of a real program (7% base
    /// functions, 28% mid ones calling two base ones, 65% leaves calling mid and base
    /// ones): the input for a program that compiles code, such as the example `tinyc`.
    CallGraph,
}

pub const SHAPES: [&str; 9] = [
    "functions",
    "generic-instances",
    "trait-impls",
    "derives[=TRAIT]",
    "match-arms",
    "nested-closures",
    "deep-types",
    "iterator-chain",
    "call-graph",
];

impl Shape {
    pub fn parse(text: &str) -> Option<Shape> {
        Some(match text {
            "functions" => Shape::Functions,
            "generic-instances" => Shape::GenericInstances,
            "trait-impls" => Shape::TraitImpls,
            "derives" => Shape::Derives("Debug".into()),
            "match-arms" => Shape::MatchArms,
            "nested-closures" => Shape::NestedClosures,
            "deep-types" => Shape::DeepTypes,
            "iterator-chain" => Shape::IteratorChain,
            "call-graph" => Shape::CallGraph,
            other => {
                let derive = other.strip_prefix("derives=")?;
                if derive.is_empty() || !derive.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    return None;
                }
                Shape::Derives(derive.to_string())
            }
        })
    }

    pub fn name(&self) -> String {
        match self {
            Shape::Functions => "functions".into(),
            Shape::GenericInstances => "generic-instances".into(),
            Shape::TraitImpls => "trait-impls".into(),
            Shape::Derives(d) => format!("derives={d}"),
            Shape::MatchArms => "match-arms".into(),
            Shape::NestedClosures => "nested-closures".into(),
            Shape::DeepTypes => "deep-types".into(),
            Shape::IteratorChain => "iterator-chain".into(),
            Shape::CallGraph => "call-graph".into(),
        }
    }

    /// The crate's source for size n.
    pub fn source(&self, n: u64) -> String {
        let n = n as usize;
        let mut out = String::new();
        match self {
            Shape::Functions => {
                for i in 0..n {
                    out += &format!(
                        "pub fn f{i}(x: u64) -> u64 {{ x.wrapping_mul({i}).wrapping_add({}) }}\n",
                        i + 1
                    );
                }
            }
            Shape::GenericInstances => {
                out += "pub fn g<T: Copy + Into<u64>>(x: T) -> u64 { x.into() * 3 }\n";
                for i in 0..n {
                    out += &format!("#[derive(Clone, Copy)] pub struct W{i}(pub u8);\nimpl From<W{i}> for u64 {{ fn from(w: W{i}) -> u64 {{ w.0 as u64 + {i} }} }}\n");
                }
                out += "pub fn all() -> u64 { 0";
                for i in 0..n {
                    out += &format!(" + g(W{i}({}))", i % 200);
                }
                out += " }\n";
            }
            Shape::TraitImpls => {
                out += "pub trait Shape { fn area(&self) -> u64; }\n";
                for i in 0..n {
                    out += &format!("pub struct S{i}(pub u64);\nimpl Shape for S{i} {{ fn area(&self) -> u64 {{ self.0 * {i} }} }}\n");
                }
                out += "pub fn total() -> u64 { 0";
                for i in 0..n {
                    out += &format!(" + S{i}({i}).area()");
                }
                out += " }\n";
            }
            Shape::Derives(derive) => {
                for i in 0..n {
                    out += &format!("#[derive({derive})]\npub struct D{i} {{ pub a: u64, pub b: String, pub c: Vec<u8> }}\n");
                }
            }
            Shape::MatchArms => {
                out += "pub fn f(x: u64) -> u64 {\n    match x {\n";
                for i in 0..n {
                    out += &format!("        {i} => {},\n", i * 3 + 1);
                }
                out += "        _ => 0,\n    }\n}\n";
            }
            Shape::NestedClosures => {
                let mut body = "x".to_string();
                for i in 0..n {
                    body = format!(
                        "(move |y{i}: u64| {{ let c = {body}; c.wrapping_add(y{i}) }})({i})"
                    );
                }
                out += &format!("pub fn f(x: u64) -> u64 {{ {body} }}\n");
            }
            Shape::DeepTypes => {
                out += "#![recursion_limit = \"4096\"]\n";
                let mut ty = "u8".to_string();
                for _ in 0..n {
                    ty = format!("Option<({ty}, u8)>");
                }
                out +=
                    &format!("pub type Deep = {ty};\npub fn f(x: Deep) -> Deep {{ x.clone() }}\n");
            }
            Shape::IteratorChain => {
                out += "#![recursion_limit = \"4096\"]\n";
                out += "pub fn f() -> u64 { (0u64..10)";
                for _ in 0..n {
                    out += ".map(|x| x + 1)";
                }
                out += ".sum() }\n";
            }
            Shape::CallGraph => out += &call_graph(n),
        }
        out
    }
}

/// `n` functions in three tiers that call down: base (7%), mid (28%, two base calls),
/// leaf (the rest, a mid call and a base call). Callees are picked by a fixed
/// pseudo-random sequence, so a size always writes the same source.
fn call_graph(n: usize) -> String {
    let bases = (n * 7 / 100).max(1);
    let mids = (n * 28 / 100).max(1);
    let leaves = n.saturating_sub(bases + mids);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut pick = |below: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % below as u64) as usize
    };
    let mut out = String::with_capacity(n * 80);
    for i in 0..bases {
        out += &format!("pub fn base_{i}(x: u64) -> u64 {{ x * 3 + {i} }}\n");
    }
    for i in 0..mids {
        let (a, b) = (pick(bases), pick(bases));
        out += &format!("pub fn mid_{i}(x: u64) -> u64 {{ base_{a}(x) + base_{b}(x + 1) }}\n");
    }
    for i in 0..leaves {
        let (m, b) = (pick(mids), pick(bases));
        out += &format!("pub fn leaf_{i}(x: u64) -> u64 {{ mid_{m}(x) * 2 + base_{b}(x) }}\n");
    }
    out
}

/// What makes the project for a size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Generator {
    Builtin(Shape),
    /// A shell command; `{n}` is the size and `{dir}` the folder to write the project into
    /// (without `{dir}`, the command runs in that folder).
    Command(String),
    /// Nothing generated: the user's own workspace, with the first n function bodies of
    /// this file (absolute) edited, one hot build per size: how a rebuild grows with the
    /// size of a change.
    EditsOf(PathBuf),
    /// Nothing generated: `--run`'s command makes its own input from `{n}`.
    Nothing,
}

impl Generator {
    pub fn describe(&self) -> String {
        match self {
            Generator::Builtin(shape) => shape.name(),
            Generator::Command(command) => command.clone(),
            Generator::EditsOf(path) => format!(
                "edits of {}",
                path.file_name()
                    .map_or(path.as_os_str(), |n| n)
                    .to_string_lossy()
            ),
            Generator::Nothing => "no generator".into(),
        }
    }

    /// Writes the project for size `n` into `dir` (emptied first); nothing for
    /// [`Generator::EditsOf`], whose project is the user's.
    pub fn generate(&self, n: u64, dir: &Path) -> Result<(), String> {
        if let Generator::EditsOf(_) = self {
            return Ok(());
        }
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        match self {
            Generator::Builtin(shape) => {
                let write = |path: PathBuf, text: String| {
                    std::fs::create_dir_all(path.parent().expect("a parent"))
                        .and_then(|_| std::fs::write(&path, text))
                        .map_err(|e| format!("writing {}: {e}", path.display()))
                };
                write(
                    dir.join("Cargo.toml"),
                    "[package]\nname = \"scaled\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[lib]\npath = \"src/lib.rs\"\n\n[workspace]\n".to_string(),
                )?;
                write(dir.join("src/lib.rs"), shape.source(n))
            }
            Generator::EditsOf(_) | Generator::Nothing => Ok(()),
            Generator::Command(command) => {
                let line = command
                    .replace("{n}", &n.to_string())
                    .replace("{dir}", &dir.display().to_string());
                let output = std::process::Command::new("sh")
                    .args(["-c", &line])
                    .current_dir(dir)
                    .output()
                    .map_err(|e| format!("running `{line}`: {e}"))?;
                if !output.status.success() {
                    let stderr = String::from_utf8_lossy(&output.stderr);
                    return Err(format!(
                        "`{line}` failed ({}): {}",
                        output.status,
                        stderr.lines().last().unwrap_or("").trim()
                    ));
                }
                Ok(())
            }
        }
    }
}

/// One size: its runs, or why it has none.
#[derive(Debug, Clone)]
pub struct ScaledSize {
    pub size: u64,
    pub records: Vec<RunRecord>,
    pub error: Option<String>,
}

/// How each size is built.
#[derive(Debug, Clone)]
pub struct ScalePlan {
    pub cargo: PathBuf,
    pub generator: Generator,
    pub sizes: Vec<u64>,
    pub runs: usize,
    /// Cold (every size from scratch) or hot (after an edit of the generated crate's source).
    pub hot: bool,
    /// Where each size's project goes (`<work>/<n>`).
    pub work: PathBuf,
    pub cores: usize,
    pub env: Vec<(String, String)>,
    /// Sample the generated crates' rustc with perf (with `run`: the command).
    pub sample: bool,
    /// Measure this command instead of a cargo build (`{n}` the size, `{dir}` the folder
    /// the generator wrote): a program's growth with its input (`buildscope profile`'s
    /// runs, per function when sampled).
    pub run: Option<String>,
}

/// Generates, builds and measures each size; a size that fails is reported and the others
/// still measured. `on_size` hears each size as it starts.
pub fn measure_sizes(plan: &ScalePlan, mut on_size: impl FnMut(u64)) -> Vec<ScaledSize> {
    plan.sizes
        .iter()
        .map(|&size| {
            on_size(size);
            let dir = plan.work.join(size.to_string());
            match measure_size(plan, size, &dir) {
                Ok(records) => ScaledSize {
                    size,
                    records,
                    error: None,
                },
                Err(error) => ScaledSize {
                    size,
                    records: Vec::new(),
                    error: Some(error),
                },
            }
        })
        .collect()
}

fn measure_size(plan: &ScalePlan, size: u64, dir: &Path) -> Result<Vec<RunRecord>, String> {
    if let Generator::EditsOf(path) = &plan.generator {
        return measure_edit_size(plan, path, size);
    }
    plan.generator.generate(size, dir)?;
    if let Some(command) = &plan.run {
        return measure_command(plan, command, size, dir);
    }
    if !dir.join("Cargo.toml").is_file() {
        return Err(format!(
            "`{}` wrote no Cargo.toml into {}",
            plan.generator.describe(),
            dir.display()
        ));
    }
    let workspace = crate::Workspace::load(&plan.cargo, Some(&dir.join("Cargo.toml")))
        .map_err(|e| format!("the generated project: {e}"))?;
    let source = workspace
        .members
        .iter()
        .find_map(|m| m.root_source.clone())
        .ok_or("the generated project has no library or binary to edit")?;
    let scenario = if plan.hot {
        Scenario::Edit {
            path: source,
            functions: 1,
        }
    } else {
        Scenario::Cold
    };
    let edited = plan.hot.then(|| workspace.member_names().remove(0));
    measured(
        SizeBuild {
            root: dir,
            target_dir: dir.join("target").join("scale"),
            state_dir: dir.join("target").join("buildscope"),
            scenario,
            profiled: workspace.member_names(),
            edited,
        }
        .plan(plan, &workspace),
    )
}

/// One size of `--run`: the command, `{n}` and `{dir}` filled in, profiled `plan.runs`
/// times as `buildscope profile --command` does (sampled with `plan.sample`), the runs
/// kept under the size's folder.
fn measure_command(
    plan: &ScalePlan,
    command: &str,
    size: u64,
    dir: &Path,
) -> Result<Vec<RunRecord>, String> {
    let line = command
        .replace("{n}", &size.to_string())
        .replace("{dir}", &dir.display().to_string());
    let argv = crate::split_command_line(&line).map_err(|e| e.to_string())?;
    let program = crate::ProgramPlan {
        workspace_root: dir.to_path_buf(),
        runs_dir: dir.join("runs"),
        build: None,
        built: None,
        argv,
        runs: plan.runs.max(1) as u32,
        stdin: None,
        show_output: false,
        sample: plan.sample,
        frequency: None,
        input_size: Some(size),
    };
    let records = crate::profile_program(&program, |_| {}).map_err(|e| e.to_string())?;
    match records.iter().find(|r| !r.success) {
        Some(failed) => Err(format!(
            "`{line}` failed (exit status {}): {}",
            failed
                .exit_code
                .map_or("none".to_string(), |c| c.to_string()),
            failed.cargo_output_tail.last().map_or("", String::as_str)
        )),
        None => Ok(records),
    }
}

/// One size of [`Generator::EditsOf`]: the user's workspace rebuilt after an edit of the
/// file's first `size` function bodies (restored after each run), in a target directory of
/// its own under `plan.work` (the user's own builds stay as they are).
fn measure_edit_size(plan: &ScalePlan, path: &Path, size: u64) -> Result<Vec<RunRecord>, String> {
    let functions = u32::try_from(size).map_err(|_| format!("{size}: too many functions"))?;
    let workspace = crate::Workspace::load(&plan.cargo, None)
        .map_err(|e| format!("the workspace around {}: {e}", path.display()))?;
    let scenario = Scenario::Edit {
        path: path.to_path_buf(),
        functions,
    };
    let edited = workspace.edited_package(&scenario);
    measured(
        SizeBuild {
            root: &workspace.root,
            target_dir: plan.work.join("target"),
            state_dir: plan.work.join("state"),
            scenario,
            profiled: edited.iter().cloned().collect(),
            edited,
        }
        .plan(plan, &workspace),
    )
}

/// What differs between the builds of a size: where, which scenario, what is profiled.
struct SizeBuild<'a> {
    root: &'a Path,
    target_dir: PathBuf,
    state_dir: PathBuf,
    scenario: Scenario,
    profiled: Vec<String>,
    edited: Option<String>,
}

impl SizeBuild<'_> {
    fn plan(self, plan: &ScalePlan, workspace: &crate::Workspace) -> BuildPlan {
        BuildPlan {
            cargo: plan.cargo.clone(),
            command: "build".into(),
            cargo_args: Vec::new(),
            cwd: self.root.to_path_buf(),
            workspace_root: workspace.root.clone(),
            target_dir: self.target_dir,
            state_dir: self.state_dir,
            scenario: self.scenario,
            runs: plan.runs.max(1),
            self_profile: Some(SelfProfile {
                crates: self.profiled,
                events: None,
            }),
            packages: Vec::new(),
            edited_package: self.edited,
            cores: plan.cores,
            journal_dir: None,
            env: plan.env.clone(),
            show_diagnostics: false,
            cargo_timings: false,
            cargo_log: false,
            sample: plan.sample,
        }
    }
}

/// The records of a size's builds, or why they failed.
fn measured(build: BuildPlan) -> Result<Vec<RunRecord>, String> {
    let records = execute(&build, |_| {}, |_| {}).map_err(|e: BuildError| e.to_string())?;
    if let Some(failed) = records.iter().find(|r| !r.success) {
        return Err(format!("the build failed: {}", failed.first_error()));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_parse_and_grow_with_n() {
        for name in [
            "functions",
            "generic-instances",
            "trait-impls",
            "derives",
            "match-arms",
            "nested-closures",
            "deep-types",
            "iterator-chain",
            "derives=Clone",
        ] {
            let shape = Shape::parse(name).unwrap_or_else(|| panic!("{name}"));
            assert!(shape.source(20).len() > shape.source(10).len(), "{name}");
        }
        assert_eq!(
            Shape::parse("derives=Clone").unwrap().name(),
            "derives=Clone"
        );
        assert_eq!(Shape::parse("derives=a b"), None);
        assert_eq!(Shape::parse("recursion"), None);
    }

    #[test]
    fn a_command_generator_that_writes_nothing_says_so() {
        let dir = tempfile::tempdir().unwrap();
        // To build, a size needs a cargo project; a command to `--run` needs none.
        let plan = ScalePlan {
            cargo: "cargo".into(),
            generator: Generator::Command("true {n}".into()),
            sizes: vec![5],
            runs: 1,
            hot: false,
            work: dir.path().to_path_buf(),
            cores: 1,
            env: Vec::new(),
            sample: false,
            run: None,
        };
        let error = measure_size(&plan, 5, &dir.path().join("5")).unwrap_err();
        assert!(error.contains("wrote no Cargo.toml"), "{error}");
        assert!(plan.generator.generate(5, &dir.path().join("6")).is_ok());
        let failing = Generator::Command("echo broken >&2; exit 3".into());
        let error = failing.generate(5, &dir.path().join("x")).unwrap_err();
        assert!(
            error.contains("failed") && error.contains("broken"),
            "{error}"
        );
    }
}
