//! Shared test fixtures: small real crates, built by the real cargo and rustc with the
//! self-profiler on, once per test binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// A new directory for one test's projects and outputs, under this test binary's scratch
/// root.
///
/// Fixtures built once per binary live in statics that are never dropped, so a `TempDir`
/// would never be removed and every run would leave hundreds of MB of target dirs in
/// `/tmp` (it filled a CI disk once). Instead all of a binary's directories share one root
/// that is emptied when the binary first asks for one: disk use stays at one run's worth,
/// and the last run's projects stay there to inspect after a failure.
pub fn scratch_dir(prefix: &str) -> PathBuf {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(scratch_root())
        .unwrap()
        .keep()
}

/// `$TMPDIR/buildscope-tests-<checkout>-<test binary>`: outside the repository (a project
/// under it would be taken for a member of buildscope's own workspace), and distinct per
/// checkout so a CI clone and a working copy testing at once never empty each other's.
fn scratch_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        use std::hash::{Hash, Hasher};
        let mut checkout = std::collections::hash_map::DefaultHasher::new();
        env!("CARGO_TARGET_TMPDIR").hash(&mut checkout);
        let exe = std::env::current_exe().unwrap();
        let stem = exe.file_stem().unwrap().to_string_lossy();
        // Cargo names test binaries `<name>-<hash>`; the hash changes with every edit.
        let binary = stem.rsplit_once('-').map_or(&*stem, |(name, _)| name);
        let root = std::env::temp_dir().join(format!(
            "buildscope-tests-{:08x}-{binary}",
            checkout.finish() as u32
        ));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        root
    })
}

pub struct Fixture {
    pub root: PathBuf,
    /// Profiles of the first build: one file per crate (alpha, beta, alpha's build script).
    pub base_dir: PathBuf,
    /// Profiles of a second build after alpha grew more generic code.
    pub new_dir: PathBuf,
}

impl Fixture {
    /// The profile of one crate in a profile directory.
    pub fn profile(&self, dir: &Path, crate_name: &str) -> PathBuf {
        let prefix = format!("{crate_name}-");
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                let name = p.file_name().unwrap().to_string_lossy();
                name.starts_with(&prefix)
                    && name[prefix.len()..]
                        .trim_end_matches(".mm_profdata")
                        .chars()
                        .all(|c| c.is_ascii_digit())
            })
            .unwrap_or_else(|| panic!("no profile of {crate_name} in {}", dir.display()))
    }
}

const ALPHA_LIB: &str = r#"
use std::collections::BTreeMap;
use std::fmt::Debug;

pub trait Shape: Debug + Clone {
    fn area(&self) -> f64;
    fn describe(&self) -> String {
        format!("{:?} with area {:.2}", self, self.area())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Circle { pub r: f64 }
#[derive(Debug, Clone, PartialEq)]
pub struct Rect { pub w: f64, pub h: f64 }

impl Shape for Circle { fn area(&self) -> f64 { std::f64::consts::PI * self.r * self.r } }
impl Shape for Rect { fn area(&self) -> f64 { self.w * self.h } }

pub fn largest<T: Shape>(shapes: &[T]) -> Option<&T> {
    shapes.iter().max_by(|a, b| a.area().total_cmp(&b.area()))
}

pub fn histogram<T: Shape>(shapes: &[T]) -> BTreeMap<u64, Vec<String>> {
    let mut out = BTreeMap::new();
    for s in shapes {
        out.entry(s.area() as u64).or_insert_with(Vec::new).push(s.describe());
    }
    out
}

pub const BUILT_BY: &str = env!("ALPHA_BUILT_BY");
"#;

const ALPHA_EXTRA: &str = r#"
pub fn sorted_descriptions<T: Shape + PartialEq>(mut shapes: Vec<T>) -> Vec<String> {
    shapes.sort_by(|a, b| b.area().total_cmp(&a.area()));
    shapes.dedup();
    shapes.iter().map(|s| s.describe()).collect()
}

pub fn pairs<A: Shape, B: Shape>(a: &[A], b: &[B]) -> Vec<(String, String)> {
    a.iter().flat_map(|x| b.iter().map(move |y| (x.describe(), y.describe()))).collect()
}
"#;

const BETA_MAIN: &str = r#"
use alpha::{histogram, largest, Circle, Rect, Shape};

fn main() {
    let circles: Vec<Circle> = (1..10).map(|r| Circle { r: r as f64 }).collect();
    let rects: Vec<Rect> = (1..10).map(|w| Rect { w: w as f64, h: 2.0 }).collect();
    println!("{:?}", largest(&circles).map(|c| c.describe()));
    println!("{:?}", histogram(&rects));
    println!("{}", alpha::BUILT_BY);
}
"#;

pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn profiled_build(root: &Path, profile_dir: &Path, target_dir: &Path) {
    std::fs::create_dir_all(profile_dir).unwrap();
    let out = Command::new(env!("CARGO"))
        .args(["build", "--offline", "--quiet", "--target-dir"])
        .arg(target_dir)
        .current_dir(root)
        .env("RUSTC_BOOTSTRAP", "1")
        .env(
            "RUSTFLAGS",
            format!(
                "-Zself-profile={} -Zself-profile-events=default,args",
                profile_dir.display()
            ),
        )
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "profiled build failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds the fixture workspace twice with the profiler on (a second time after a change
/// to `alpha`), once per test binary.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let root = scratch_dir("buildscope-fixture-");
        write(
            &root.join("Cargo.toml"),
            "[workspace]\nresolver = \"2\"\nmembers = [\"alpha\", \"beta\"]\n",
        );
        write(
            &root.join("alpha/Cargo.toml"),
            "[package]\nname = \"alpha\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        );
        write(
            &root.join("alpha/build.rs"),
            "fn main() { println!(\"cargo:rustc-env=ALPHA_BUILT_BY=build.rs\"); }\n",
        );
        write(&root.join("alpha/src/lib.rs"), ALPHA_LIB);
        write(
            &root.join("beta/Cargo.toml"),
            "[package]\nname = \"beta\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nalpha = { path = \"../alpha\" }\n",
        );
        write(&root.join("beta/src/main.rs"), BETA_MAIN);
        let base_dir = root.join("profiles-base");
        let new_dir = root.join("profiles-new");
        profiled_build(&root, &base_dir, &root.join("target-base"));
        write(
            &root.join("alpha/src/lib.rs"),
            &format!("{ALPHA_LIB}{ALPHA_EXTRA}"),
        );
        profiled_build(&root, &new_dir, &root.join("target-new"));
        Fixture {
            root,
            base_dir,
            new_dir,
        }
    })
}

/// Runs the `buildscope` binary.
pub fn buildscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_buildscope"))
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("buildscope runs")
}

/// Runs the `buildscope` binary and insists that it succeeds.
pub fn buildscope_ok(args: &[&str]) -> Output {
    let out = buildscope(args);
    assert!(
        out.status.success(),
        "buildscope {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn stdout_json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "buildscope failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `count` functions whose bodies give rustc real work in a debug build.
pub fn busy_functions(prefix: &str, count: usize) -> String {
    (0..count)
        .map(|i| {
            format!(
                "pub fn {prefix}{i}(x: u64) -> u64 {{ let v: Vec<u64> = (0..x).map(|i| i * {i} + 1).collect(); v.iter().sum::<u64>() + x.count_ones() as u64 }}\n"
            )
        })
        .collect()
}

pub fn manifest(name: &str, deps: &[&str], extra: &str) -> String {
    let deps: String = deps
        .iter()
        .map(|d| format!("{d} = {{ path = \"../{d}\" }}\n"))
        .collect();
    format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{extra}\n[dependencies]\n{deps}")
}

/// A workspace member: its name, Cargo.toml, and files (path, text).
pub type Member<'a> = (&'a str, String, Vec<(&'a str, String)>);

/// A new workspace of `members`.
pub fn workspace(prefix: &str, members: &[Member]) -> PathBuf {
    let root = scratch_dir(prefix);
    let names: Vec<String> = members.iter().map(|(n, _, _)| format!("\"{n}\"")).collect();
    write(
        &root.join("Cargo.toml"),
        &format!(
            "[workspace]\nresolver = \"2\"\nmembers = [{}]\n",
            names.join(", ")
        ),
    );
    for (name, cargo_toml, files) in members {
        write(&root.join(name).join("Cargo.toml"), cargo_toml);
        for (file, text) in files {
            write(&root.join(name).join(file), text);
        }
    }
    root
}

/// Writes the workspace's Cargo.lock, as a real project has one (cargo would write it on the
/// first build, and a test checks the sources are unchanged afterwards).
pub fn generate_lockfile(root: &Path) {
    let lock = Command::new(env!("CARGO"))
        .args(["generate-lockfile", "--offline"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        lock.status.success(),
        "{}",
        String::from_utf8_lossy(&lock.stderr)
    );
}

/// Runs `buildscope` in `dir` with its own history database and a clean environment.
pub fn buildscope_in(dir: &Path, db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_buildscope"))
        .args(args)
        .current_dir(dir)
        .env("BUILDSCOPE_DB", db)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTFLAGS")
        .env_remove("NO_COLOR")
        .output()
        .expect("buildscope runs")
}

/// Chromium, from Debian's `chromium` package (installed by .ci/run); `None` outside CI
/// when it is not installed (CI must have it).
pub fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            let out = Command::new("which").arg(name).output().ok()?;
            out.status
                .success()
                .then(|| PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()))
        });
    assert!(
        found.is_some() || std::env::var_os("CI").is_none(),
        "CI must have chromium: .ci/run installs it"
    );
    found
}

/// Loads a page in headless Chromium with `extra` flags (`--dump-dom`, `--screenshot=`);
/// returns stdout (the DOM after its scripts ran) and the browser's console and error log.
pub fn headless(browser: &Path, extra: &[&str], url: &str) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            "--window-size=1400,2400",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Chromium's log holds no script error and no console message.
pub fn assert_no_console_errors(log: &str) {
    for bad in [
        "Uncaught",
        "CONSOLE",
        "SyntaxError",
        "ReferenceError",
        "TypeError",
    ] {
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(bad)).collect();
        assert!(lines.is_empty(), "console errors: {lines:?}");
    }
}

/// A run record's unit of `package` of kind `kind` (`lib`, `bin`, `build-script-run`).
pub fn unit_of<'a>(run: &'a serde_json::Value, package: &str, kind: &str) -> &'a serde_json::Value {
    run["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["package"] == package && u["kind"] == kind)
        .unwrap_or_else(|| panic!("no {package} {kind} unit in {}", run["units"]))
}
