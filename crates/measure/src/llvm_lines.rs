//! The `cargo llvm-lines` view of one crate: LLVM IR lines and copies per generic
//! function, from a build of that crate with `--emit=llvm-ir -Cno-prepopulate-passes` (the
//! IR as rustc generates it, before LLVM optimises any of it away).
//!
//! The build goes to a target directory of its own, so neither the user's cache nor the
//! measured builds' are touched.

use std::path::{Path, PathBuf};
use std::process::Command;

pub use buildscope_analysis::FunctionLines;
use buildscope_analysis::UnitKind;

use crate::BuildError;

/// The cargo target selection (`--lib`, `--bin rg`, …) that builds a unit of this kind and
/// target name alone; an error saying why for a unit that cannot be (a build script's run,
/// cargo's own probes).
pub fn target_selection(kind: UnitKind, target: &str) -> Result<Vec<String>, BuildError> {
    let named = |flag: &str| Ok(vec![flag.to_string(), target.to_string()]);
    match kind {
        UnitKind::Lib | UnitKind::ProcMacro => Ok(vec!["--lib".to_string()]),
        UnitKind::Bin => named("--bin"),
        UnitKind::Example => named("--example"),
        UnitKind::Test => named("--test"),
        UnitKind::Bench => named("--bench"),
        UnitKind::BuildScriptCompile | UnitKind::BuildScriptRun | UnitKind::Other => {
            Err(BuildError::BadArgument(format!(
                "--llvm-lines: `{target}` is a {}, which cargo cannot build alone with --emit=llvm-ir",
                kind.as_str()
            )))
        }
    }
}

/// Builds one target of `package` (`selection`, from [`target_selection`]) with IR output
/// and counts the lines of its crate (`crate_name`) per function, most lines first.
pub fn llvm_lines(
    workspace_root: &Path,
    package: &str,
    selection: &[String],
    crate_name: &str,
    release: bool,
    target_dir: &Path,
) -> Result<Vec<FunctionLines>, BuildError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .arg("rustc")
        .arg("--manifest-path")
        .arg(workspace_root.join("Cargo.toml"))
        .args(["-p", package])
        .args(selection)
        .args(["--quiet", "--target-dir"])
        .arg(target_dir);
    if release {
        command.arg("--release");
    }
    command
        .args(["--", "--emit=llvm-ir", "-Cno-prepopulate-passes"])
        // The user's wrapper or flags would change what is built.
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER");
    let out = command.output().map_err(|e| BuildError::Io {
        what: "running cargo rustc for".into(),
        path: workspace_root.to_path_buf(),
        source: e,
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(BuildError::CommandFailed(format!(
            "cargo rustc -p {package} {} --emit=llvm-ir failed: {}",
            selection.join(" "),
            stderr.lines().last().unwrap_or("")
        )));
    }
    let ir = newest_ir(target_dir, crate_name, release).ok_or_else(|| {
        BuildError::CargoOutput(format!(
            "no LLVM IR of {crate_name} in {}",
            target_dir.display()
        ))
    })?;
    let text = std::fs::read_to_string(&ir).map_err(|e| BuildError::Io {
        what: "reading".into(),
        path: ir.clone(),
        source: e,
    })?;
    Ok(count_lines(&text))
}

/// The newest `<crate>-<hash>.ll` of the crate.
fn newest_ir(target_dir: &Path, crate_name: &str, release: bool) -> Option<PathBuf> {
    let deps = target_dir
        .join(if release { "release" } else { "debug" })
        .join("deps");
    let prefix = format!("{}-", crate_name.replace('-', "_"));
    std::fs::read_dir(deps)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "ll")
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
        })
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
}

/// Lines per function of an LLVM IR module: from each `define` to its closing `}`,
/// grouped by the demangled function without generic arguments.
pub fn count_lines(ir: &str) -> Vec<FunctionLines> {
    let mut by_function: std::collections::HashMap<String, (u64, u64)> = Default::default();
    let mut current: Option<(String, u64)> = None;
    for line in ir.lines() {
        if let Some((name, lines)) = current.as_mut() {
            *lines += 1;
            if line == "}" {
                let entry = by_function.entry(std::mem::take(name)).or_default();
                entry.0 += *lines;
                entry.1 += 1;
                current = None;
            }
            continue;
        }
        if line.starts_with("define ") {
            if let Some(symbol) = defined_symbol(line) {
                current = Some((function_name(symbol), 1));
            }
        }
    }
    let mut out: Vec<FunctionLines> = by_function
        .into_iter()
        .map(|(function, (lines, copies))| FunctionLines {
            function,
            lines,
            copies,
        })
        .collect();
    out.sort_by(|a, b| b.lines.cmp(&a.lines).then(a.function.cmp(&b.function)));
    out
}

/// `_ZN6report6render17h…E` from `define internal void @_ZN6report6render17h…E(ptr %x) … {`,
/// quotes removed.
fn defined_symbol(line: &str) -> Option<&str> {
    let at = line.find('@')? + 1;
    let rest = &line[at..];
    if let Some(quoted) = rest.strip_prefix('"') {
        return quoted.find('"').map(|end| &quoted[..end]);
    }
    let end = rest.find('(')?;
    Some(&rest[..end])
}

/// The demangled name without hash and generic arguments: copies of one generic function
/// share it.
fn function_name(symbol: &str) -> String {
    let demangled = format!("{:#}", rustc_demangle::demangle(symbol));
    strip_generics(&demangled)
}

/// `report::render::<report::Ty3>` → `report::render`; `<T as Trait>::f` keeps its
/// qualified form with `T`'s own generics removed.
fn strip_generics(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut depth = 0usize;
    let chars: Vec<char> = name.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // `::<` opens generic arguments to drop.
        if depth == 0
            && c == ':'
            && chars.get(i + 1) == Some(&':')
            && chars.get(i + 2) == Some(&'<')
        {
            depth = 1;
            i += 3;
            continue;
        }
        if depth > 0 {
            match c {
                '<' => depth += 1,
                '>' => depth -= 1,
                _ => {}
            }
            i += 1;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_per_generic_function() {
        let ir = "\
; ModuleID = 'report'
define internal void @_ZN6report6render17h0000000000000001E(ptr %x) unnamed_addr {
start:
  ret void
}

define internal void @_ZN6report6render17h0000000000000002E(ptr %x) unnamed_addr {
start:
  call void @foo()
  ret void
}
define void @\"quoted name\"() {
  ret void
}
declare void @foo()
";
        let lines = count_lines(ir);
        assert_eq!(
            lines[0],
            FunctionLines {
                function: "report::render".into(),
                lines: 9,
                copies: 2
            }
        );
        assert_eq!(lines[1].function, "quoted name");
        assert_eq!(
            strip_generics("report::render::<report::Ty3>"),
            "report::render"
        );
        assert_eq!(
            strip_generics("<alloc::vec::Vec<T> as core::clone::Clone>::clone"),
            "<alloc::vec::Vec<T> as core::clone::Clone>::clone"
        );
    }
}

#[cfg(test)]
mod selection_tests {
    use super::*;

    #[test]
    fn every_kind_of_target_is_selected_or_refused_with_a_reason() {
        assert_eq!(
            target_selection(UnitKind::Lib, "geo").unwrap(),
            vec!["--lib"]
        );
        assert_eq!(
            target_selection(UnitKind::ProcMacro, "derive").unwrap(),
            vec!["--lib"]
        );
        assert_eq!(
            target_selection(UnitKind::Bin, "rg").unwrap(),
            vec!["--bin", "rg"]
        );
        assert_eq!(
            target_selection(UnitKind::Test, "integration").unwrap(),
            vec!["--test", "integration"]
        );
        assert_eq!(
            target_selection(UnitKind::Example, "demo").unwrap(),
            vec!["--example", "demo"]
        );
        let e = target_selection(UnitKind::BuildScriptRun, "build-script-build").unwrap_err();
        assert!(e.to_string().contains("cannot build alone"), "{e}");
    }
}
