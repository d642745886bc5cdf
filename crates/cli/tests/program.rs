//! `buildscope profile`: real programs built by the tests (the example compiler shipped in
//! the repository, and a two-function program), run under the real perf.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// The sampled tests run one at a time: on two cores, two perf runs at once would halve
/// each other's samples and scatter their times.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The example compiler (`example-program/`) copied into a scratch project, so that its
/// builds go to the scratch folder and never to the repository's.
fn tinyc() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = common::scratch_dir("buildscope-program-tinyc-");
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../example-program");
        for file in ["Cargo.toml", "Cargo.lock"] {
            std::fs::copy(example.join(file), root.join(file)).unwrap();
        }
        std::fs::create_dir_all(root.join("src")).unwrap();
        for entry in std::fs::read_dir(example.join("src")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, root.join("src").join(path.file_name().unwrap())).unwrap();
        }
        // An input in the shape of the write-up: base, mid and leaf functions.
        let mut source = String::new();
        for i in 0..300 {
            source += &format!("pub fn base_{i}(x: u64) -> u64 {{ x * 3 + {i} }}\n");
        }
        for i in 0..1200 {
            source += &format!(
                "pub fn mid_{i}(x: u64) -> u64 {{ base_{}(x) + base_{}(x + 1) }}\n",
                i % 300,
                (i * 7) % 300
            );
        }
        for i in 0..2500 {
            source += &format!(
                "pub fn leaf_{i}(x: u64) -> u64 {{ mid_{}(x) * 2 + base_{}(x) }}\n",
                (i * 13) % 1200,
                i % 300
            );
        }
        std::fs::create_dir_all(root.join("input")).unwrap();
        std::fs::write(root.join("input/lib.rs"), source).unwrap();
        root
    })
}

/// The functions a `profile --json` document lists, most self time first.
fn function_names(doc: &Value) -> Vec<&str> {
    doc["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect()
}

fn profile(dir: &Path, args: &[&str]) -> Output {
    common::buildscope_in(dir, &dir.join("history.sqlite"), args)
}

/// Whether perf may sample here; where it may not, CI must (it installs perf as root).
fn sampling_refused(out: &Output) -> bool {
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("not sampled:") {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI samples for real: {stderr}"
        );
        return true;
    }
    false
}

#[test]
fn a_profile_names_the_programs_own_functions_and_is_recorded() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let root = tinyc();
    let out = profile(
        root,
        &[
            "profile",
            "--release",
            "--runs",
            "2",
            "--input-size",
            "4000",
            "--json",
            "-q",
            "--",
            "input",
        ],
    );
    if sampling_refused(&out) {
        return;
    }
    let doc = common::stdout_json(&out);
    assert_eq!(doc["schema"], "buildscope.program/1");
    assert_eq!(doc["command_line"], "tinyc input");
    assert_eq!(doc["runs"].as_array().unwrap().len(), 2);
    assert_eq!(doc["input_size"], 4000);
    assert!(doc["wall_ns"]["median"].as_u64().unwrap() > 0);
    assert!(doc["peak_rss_bytes"]["median"].as_u64().unwrap() > 1 << 20);
    let names = function_names(&doc);
    // Its passes, demangled and without hashes; the evaluator is the heaviest at this size.
    assert!(names.contains(&"tinyc::lower::evaluate"), "{names:?}");
    assert!(
        names.iter().any(|n| n.starts_with("tinyc::resolve::")),
        "{names:?}"
    );
    let evaluate = doc["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "tinyc::lower::evaluate")
        .unwrap();
    assert_eq!(evaluate["crate"], "tinyc");
    let crates: Vec<&str> = doc["crates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c[0].as_str().unwrap())
        .collect();
    assert!(crates.contains(&"tinyc"), "{crates:?}");
    // The folded stacks and the flamegraph hold the program's frames, rooted at main.
    for folded in doc["folded"].as_array().unwrap() {
        let text = std::fs::read_to_string(folded.as_str().unwrap()).unwrap();
        assert!(
            text.contains("tinyc::main;"),
            "{}",
            &text[..text.len().min(500)]
        );
        let run_dir = Path::new(folded.as_str().unwrap()).parent().unwrap();
        assert!(
            !run_dir.join("perf.data").exists(),
            "the raw perf data is not kept"
        );
        assert!(std::fs::read_to_string(run_dir.join("stdout.txt"))
            .unwrap()
            .contains("4000 functions"));
    }
    let svg = std::fs::read_to_string(doc["flamegraph"].as_str().unwrap()).unwrap();
    assert!(svg.contains("tinyc::lower::evaluate"));
    // The profiled build went to buildscope's own target directory.
    assert!(root.join("target/buildscope/program").is_dir());
    assert!(!root.join("target/release").exists());
    // In the history as program runs.
    let runs = common::stdout_json(&profile(root, &["runs", "--json"]));
    let listed = runs["runs"].as_array().unwrap();
    assert!(
        listed
            .iter()
            .filter(|r| r["command"] == "tinyc input"
                && r["scenario_key"] == "program:tinyc input (input size 4000)")
            .count()
            >= 2,
        "{runs:#}"
    );
}

#[test]
fn bad_programs_get_one_line_and_a_non_zero_exit() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = common::scratch_dir("buildscope-program-bad-");
    let one_line = |out: &Output, needle: &str| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{stderr}");
        assert!(errors[0].contains(needle), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    };
    // A program that does not exist.
    let out = profile(&dir, &["profile", "--command", "no-such-program-here --x"]);
    assert_eq!(out.status.code(), Some(2));
    one_line(&out, "no-such-program-here: no such program on PATH");
    // An unclosed quote.
    let out = profile(&dir, &["profile", "--command", "ls 'x"]);
    assert_eq!(out.status.code(), Some(2));
    one_line(&out, "unclosed");
    // A program that fails: its status, and its own words.
    let out = profile(
        &dir,
        &[
            "profile",
            "--no-sample",
            "--command",
            "sh -c 'echo broken input >&2; exit 3'",
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("exited with status 3"), "{text}");
    assert!(text.contains("broken input"), "{text}");
    // perf refused (here: not on PATH): the timings, one line why, a non-zero exit.
    let true_bin = which("true");
    let empty = dir.join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_buildscope"))
        .args(["profile", "--command", true_bin.to_str().unwrap()])
        .current_dir(&dir)
        .env("PATH", &empty)
        .env("BUILDSCOPE_DB", dir.join("history.sqlite"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    one_line(&out, "not sampled: perf is not installed");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Wall "));
    // A binary without symbols, when perf may sample.
    let stripped = dir.join("stripped-true");
    let made = std::process::Command::new("strip")
        .arg("-o")
        .arg(&stripped)
        .arg(&true_bin)
        .status();
    if made.is_ok_and(|s| s.success()) {
        let out = profile(&dir, &["profile", "--command", stripped.to_str().unwrap()]);
        if !sampling_refused(&out) {
            assert_eq!(out.status.code(), Some(2));
            one_line(&out, "no symbol table");
        }
    }
}

fn which(program: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} on PATH"))
}

/// A program with four busy functions whose work is read from stdin, so that one can be
/// made slower without changing the command line the history compares by. They take
/// turns in a hundred slices: a shared machine's slow spells (measured here: one of two
/// functions run one after the other 10% slower for three runs in a row) then fall on
/// all alike, and the machine factor (the median function's change) takes them out.
///
/// Each function and loop starts on a 64-byte line (the project's own config, which the
/// profile's frame-pointer flag joins): the same loop 112 bytes further on ran 0–25%
/// slower than its twins from one run to the next (timed in-process, 8 runs: 140 ms for
/// two, 146–174 ms for the two in between), which no machine factor can take out; aligned,
/// the four moved together within 1%.
fn four_function_program() -> PathBuf {
    let root = common::scratch_dir("buildscope-program-four-");
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"fourfn\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[workspace]\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join(".cargo")).unwrap();
    std::fs::write(
        root.join(".cargo/config.toml"),
        "[build]\nrustflags = [\"-C\", \"llvm-args=-align-all-functions=6\", \"-C\", \"llvm-args=-align-all-nofallthru-blocks=6\"]\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(
        root.join("src/main.rs"),
        r#"use std::hint::black_box;
use std::io::Read;
// Four functions doing the same work apiece (`black_box` keeps LLVM from unrolling one of
// them into something faster: without it, four such loops took 65 to 347 ms).
macro_rules! mix {
    ($name:ident, $seed:expr) => {
        #[inline(never)]
        fn $name(n: u64) -> u64 {
            let mut x: u64 = $seed;
            for i in 0..n {
                x = black_box(x).wrapping_mul(6364136223846793005).wrapping_add(i);
            }
            x
        }
    };
}
mix!(mix_a, 1);
mix!(mix_b, 3);
mix!(mix_c, 5);
mix!(mix_d, 7);
fn main() {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).unwrap();
    let n: Vec<u64> = input.split_whitespace().map(|w| w.parse().unwrap()).collect();
    let mut out = 0;
    for _ in 0..100 {
        let slice = |i: usize| black_box(n[i] / 100);
        out ^= mix_a(slice(0)) ^ mix_b(slice(1)) ^ mix_c(slice(2)) ^ mix_d(slice(3));
    }
    println!("{out}");
}
"#,
    )
    .unwrap();
    root
}

#[test]
fn check_passes_an_unchanged_program_and_names_the_function_that_got_slower() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let root = four_function_program();
    let input = root.join("work.txt");
    // About 0.12 s in each function here (100M iterations measured 114–121 ms); 20,000
    // samples a second keep each function's time steady to a couple of percent, where
    // 2,600 samples in all had moved it by 15%.
    let iterations = 100_000_000u64;
    let work = |a: u64| format!("{a} {iterations} {iterations} {iterations}");
    std::fs::write(&input, work(iterations)).unwrap();
    // Every profile of the program the same way; `more` says what it does besides.
    let profile_with = |more: &[&str]| {
        let mut args = vec![
            "profile",
            "--release",
            "--frequency",
            "20000",
            "--stdin",
            input.to_str().unwrap(),
            "--json",
            "-q",
        ];
        args.extend_from_slice(more);
        profile(&root, &args)
    };
    let first = profile_with(&["--runs", "10"]);
    if sampling_refused(&first) {
        return;
    }
    let doc = common::stdout_json(&first);
    let names = function_names(&doc);
    assert!(names[..4].contains(&"fourfn::mix_a"), "{names:?}");
    // The functions' gate: a shared runner's wall and CPU time moved by 17% for three
    // runs in a row in CI with the program unchanged (no adjustment can take that out of
    // a wall time; builds' wall checks have their own tests), while every function's
    // adjusted time stayed within 1%.
    let check = || profile_with(&["--check", "--fail-if", "fn:*>10%"]);
    // Unchanged: every check passes (a crossing by chance is measured again, twice at
    // most, and the median judged, as a build's check does).
    for attempt in 0..15 {
        let out = check();
        let outcome: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "unchanged program failed check {attempt}: {:#}",
            outcome["check"]
        );
    }
    // mix_a does 15% more work.
    std::fs::write(&input, work(iterations + iterations * 15 / 100)).unwrap();
    let out = check();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let outcome: Value = serde_json::from_slice(&out.stdout).unwrap();
    let crossed: Vec<String> = outcome["check"]["outcome"]["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["crossed"].as_array().unwrap().iter())
        .map(|m| m.as_str().unwrap().to_string())
        .collect();
    assert_eq!(crossed, ["fn:fourfn::mix_a"], "{outcome:#}");
    // The differential view: the baseline profile against the slower one.
    let baseline_run = doc["runs"][0].as_str().unwrap();
    let diff = common::stdout_json(&profile(
        &root,
        &["profile", "--diff", baseline_run, "latest", "--json"],
    ));
    assert_eq!(diff["before"].as_array().unwrap().len(), 10, "{diff:#}");
    let first = &diff["functions"][0];
    assert_eq!(first["name"], "fourfn::mix_a", "{diff:#}");
    assert!(first["change"].as_f64().unwrap() > 0.08, "{diff:#}");
    let svg = std::fs::read_to_string(diff["flamegraph"].as_str().unwrap()).unwrap();
    assert!(svg.contains("fourfn::mix_a"));
    // `compare` on two program runs is the same view.
    let compared = common::stdout_json(&profile(
        &root,
        &["compare", baseline_run, "latest", "--json"],
    ));
    assert_eq!(compared["schema"], "buildscope.program-diff/1");
    assert_eq!(compared["functions"][0]["name"], "fourfn::mix_a");
    // A build's run is not a program's: one line.
    let out = profile(&root, &["profile", "--diff", "latest", "no-such-run"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The example compiler built once by `buildscope profile` (line tables, frame pointers).
fn tinyc_executable() -> PathBuf {
    let root = tinyc();
    let out = profile(
        root,
        &["profile", "--release", "--no-sample", "-q", "--", "--help"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    root.join("target/buildscope/program/release/tinyc")
}

#[test]
fn scale_run_finds_the_planted_quadratic_pass_and_the_linear_ones() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tinyc = tinyc_executable();
    let root = common::scratch_dir("buildscope-program-scale-");
    let command = format!("{} --generated {{n}}", tinyc.display());
    let out = profile(
        &root,
        &[
            "scale",
            "--run",
            &command,
            "--sizes",
            "4000,8000,16000,32000",
            "--runs",
            "2",
            "--sample",
            "--json",
            "-q",
        ],
    );
    let doc = common::stdout_json(&out);
    let measure = |name: &str| {
        doc["measures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["measure"] == name)
            .cloned()
    };
    // The timings are there sampled or not.
    assert!(
        measure("wall").is_some() && measure("rss").is_some(),
        "{doc:#}"
    );
    assert!(
        measure("units").is_none(),
        "a program has no units: {doc:#}"
    );
    let Some(resolve) = measure("fn:tinyc::resolve::resolve") else {
        // Not sampled here (perf missing or refused): CI samples for real.
        assert!(std::env::var_os("CI").is_none(), "{doc:#}");
        return;
    };
    // The planted pass: calls × functions, its interval above linear.
    let low = resolve["fit"]["interval"][0].as_f64().unwrap();
    assert!(low > 1.2, "resolve grows superlinearly: {resolve:#}");
    let headline = doc["headline"].as_str().unwrap_or_default();
    assert!(
        headline.starts_with("`tinyc::resolve::"),
        "the headline names the quadratic pass: {headline}"
    );
    // The evaluator, the largest linear pass, fits as linear.
    let evaluate = measure("fn:tinyc::lower::evaluate").expect("evaluate fitted");
    let (lo, hi) = (
        evaluate["fit"]["interval"][0].as_f64().unwrap(),
        evaluate["fit"]["interval"][1].as_f64().unwrap(),
    );
    let growth = evaluate["fit"]["growth"].as_str().unwrap();
    assert!(
        matches!(growth, "linear" | "n-log-n") || (lo <= 1.0 && 1.0 <= hi),
        "evaluate is linear: {evaluate:#}"
    );
    assert!(hi < 1.5, "evaluate is not superlinear: {evaluate:#}");
}
