//! tinyc: a small compiler in the shape of a real one, for trying `buildscope profile` and
//! `buildscope scale --run` on a program rather than a build.
//!
//! It reads every `.rs` file under a folder (or one file), and compiles the functions in
//! it (`pub fn name(x: u64) -> u64 { expression }`, calls to other functions allowed)
//! through six passes: lex, parse, resolve, check, lower (with a peephole optimizer) and
//! evaluate (each function run on 256 inputs). Five passes are linear in the input. `resolve` is not: it looks every call's callee up
//! in a symbol table that is a plain list searched from the start, so the pass grows with
//! calls × functions. That is the planted cause a profile and a growth fit should find.
//!
//!     tinyc PATH [--repeat N]
//!     tinyc --generated N [--repeat N]
//!
//! `--generated N` compiles a program of N functions made in memory, in the shape
//! `buildscope scale --shape call-graph` writes (7% base functions, 28% mid ones calling
//! two base ones, the rest leaves calling a mid and a base one): an input of any size
//! without a file.
//!
//! Each pass is `#[inline(never)]` so that it is a frame of its own in every profile, as
//! a real compiler's passes (large functions, called once) are anyway.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod lex;
mod lower;
mod parse;
mod resolve;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut path = None;
    let mut generated = None;
    let mut repeat = 1usize;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--repeat" => {
                i += 1;
                match args.get(i).and_then(|n| n.parse().ok()) {
                    Some(n) => repeat = n,
                    None => return usage("--repeat needs a number"),
                }
            }
            "--generated" => {
                i += 1;
                match args.get(i).and_then(|n| n.parse().ok()) {
                    Some(n) => generated = Some(n),
                    None => return usage("--generated needs a number"),
                }
            }
            "-h" | "--help" => {
                println!("usage: tinyc PATH [--repeat N]   (PATH: a .rs file or a folder of them)");
                println!("       tinyc --generated N [--repeat N]   (N functions made in memory)");
                return ExitCode::SUCCESS;
            }
            other if path.is_none() => path = Some(PathBuf::from(other)),
            other => return usage(&format!("unexpected argument `{other}`")),
        }
        i += 1;
    }
    if let Some(n) = generated {
        return run(&[call_graph(n)], repeat);
    }
    let Some(path) = path else {
        return usage("no input given");
    };
    let sources = match read_sources(&path) {
        Ok(sources) if !sources.is_empty() => sources,
        Ok(_) => {
            eprintln!("tinyc: {}: no .rs files", path.display());
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("tinyc: {}: {e}", path.display());
            return ExitCode::from(1);
        }
    };
    run(&sources, repeat)
}

/// Compiles `sources` `repeat` times and prints what was compiled.
fn run(sources: &[String], repeat: usize) -> ExitCode {
    let mut summary = String::new();
    for _ in 0..repeat.max(1) {
        match compile(sources) {
            Ok(s) => summary = s,
            Err(e) => {
                eprintln!("tinyc: {e}");
                return ExitCode::from(1);
            }
        }
    }
    println!("{summary}");
    ExitCode::SUCCESS
}

/// `n` functions in three tiers (the same sequence as buildscope's call-graph shape).
#[inline(never)]
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

fn usage(problem: &str) -> ExitCode {
    eprintln!("tinyc: {problem}\nusage: tinyc PATH [--repeat N], or tinyc --generated N");
    ExitCode::from(2)
}

/// Every `.rs` file under `path` (sorted, so a run is repeatable), or `path` itself.
fn read_sources(path: &Path) -> std::io::Result<Vec<String>> {
    if path.is_file() {
        return Ok(vec![std::fs::read_to_string(path)?]);
    }
    let mut files = Vec::new();
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?.path();
            if entry.is_dir() {
                pending.push(entry);
            } else if entry.extension().is_some_and(|e| e == "rs") {
                files.push(entry);
            }
        }
    }
    files.sort();
    files.iter().map(std::fs::read_to_string).collect()
}

/// All five passes over the sources; a line saying what was compiled.
fn compile(sources: &[String]) -> Result<String, String> {
    let mut functions = Vec::new();
    for source in sources {
        let tokens = lex::lex(source)?;
        functions.extend(parse::parse(&tokens)?);
    }
    let calls = resolve::resolve(&mut functions)?;
    resolve::check(&functions)?;
    let code = lower::lower(&functions);
    let ops: usize = code.iter().map(Vec::len).sum();
    let checksum = code
        .iter()
        .flatten()
        .fold(lower::evaluate(&code, 256), |h, op| h.rotate_left(5) ^ op.hash());
    Ok(format!(
        "{} functions, {calls} calls, {ops} operations, checksum {checksum:016x}",
        functions.len()
    ))
}
