//! What-if experiments: the same build with different settings, each variant in a target
//! directory of its own, applied without touching the user's files (cargo's `--config` for
//! profile keys and rustflags), and checked afterwards against the flags rustc really got.

use std::path::{Path, PathBuf};

use crate::record::UnitRecord;
use crate::BuildError;

/// One combination of settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// `debug=0 incremental=false`, or `baseline`.
    pub name: String,
    pub settings: Vec<(String, String)>,
    /// Extra cargo arguments (`--config ...`).
    pub cargo_args: Vec<String>,
    /// What the recorded rustc flags must show for the variant to have taken effect.
    pub checks: Vec<FlagCheck>,
    /// Environment for the variant's cargo (`RUSTC`, `RUSTC_BOOTSTRAP=1`).
    pub env: Vec<(String, String)>,
    /// Another toolchain's cargo, for a `toolchain` variant.
    pub cargo: Option<PathBuf>,
    /// Uses unstable rustc options (`-Z`), allowed on stable by `RUSTC_BOOTSTRAP=1` for
    /// this variant's builds alone.
    pub unstable: bool,
}

/// What the machine offers to variants that need more than a setting.
#[derive(Debug, Clone, Default)]
pub struct Available {
    /// Linkers found on PATH (`mold`, ...).
    pub linkers: Vec<String>,
    /// The installed rustup toolchains.
    pub toolchains: Vec<Toolchain>,
    /// The user's `RUSTFLAGS`, when set: cargo then ignores configured rustflags, so a
    /// variant's flags are added to it instead of to `build.rustflags`.
    pub rustflags_env: Option<String>,
}

/// An installed rustup toolchain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolchain {
    /// The full name (`stable-x86_64-unknown-linux-gnu`).
    pub name: String,
    /// Its folder, holding `bin/cargo` and `bin/rustc`.
    pub dir: PathBuf,
}

impl Toolchain {
    pub fn rustc(&self) -> PathBuf {
        self.dir.join("bin").join("rustc")
    }
    pub fn cargo(&self) -> PathBuf {
        self.dir.join("bin").join("cargo")
    }
}

/// The installed toolchains, from `rustup toolchain list -v`; none without rustup.
pub fn installed_toolchains() -> Vec<Toolchain> {
    std::process::Command::new("rustup")
        .args(["toolchain", "list", "-v"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| parse_toolchain_list(&String::from_utf8_lossy(&out.stdout)))
        .unwrap_or_default()
}

/// Lines of `rustup toolchain list -v`: `NAME [(active, default)] PATH`.
pub fn parse_toolchain_list(text: &str) -> Vec<Toolchain> {
    text.lines()
        .filter_map(|line| {
            let name = line.split_whitespace().next()?;
            let dir = line.split_whitespace().last()?;
            (dir != name && dir.starts_with('/')).then(|| Toolchain {
                name: name.to_string(),
                dir: PathBuf::from(dir),
            })
        })
        .collect()
}

/// The toolchain `value` names, as rustup's `+name` would: the full name, or a short one
/// (`stable`, `nightly`, `1.95.0`, `nightly-2026-01-01`) without the host triple.
fn find_toolchain<'a>(toolchains: &'a [Toolchain], value: &str) -> Option<&'a Toolchain> {
    let value = value.trim_start_matches('+');
    toolchains.iter().find(|t| t.name == value).or_else(|| {
        toolchains.iter().find(|t| {
            t.name
                .strip_prefix(value)
                .and_then(|rest| rest.strip_prefix('-'))
                // What is left must be a target triple (`x86_64-unknown-linux-gnu`), not
                // the rest of a date (`nightly` is not `nightly-2026-01-01-...`).
                .is_some_and(|triple| {
                    triple.matches('-').count() >= 2
                        && !triple.starts_with(|c: char| c.is_ascii_digit())
                })
        })
    })
}

/// A condition on the `-C`/`-Z` flags some rustc of the build received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagCheck {
    /// Some rustc got exactly this flag (`-C debuginfo=2`).
    Present(String),
    /// No rustc got a flag starting with this, other than `allowed`.
    AbsentExcept { prefix: String, allowed: String },
    /// Every rustc was this compiler.
    Rustc(String),
    /// The check, on the packages from outside the workspace alone (what
    /// `profile.<p>.package."*"` reaches).
    OnDependencies(Box<FlagCheck>),
}

/// The keys `--vary` knows, with what they change.
pub const KEYS: &[(&str, &str)] = &[
    ("debug", "profile debuginfo: 0, 1, 2, line-tables-only, ..."),
    ("incremental", "profile incremental: true, false"),
    ("codegen-units", "profile codegen-units: a number"),
    ("opt-level", "profile opt-level: 0, 1, 2, 3, s, z"),
    ("lto", "profile lto: false, thin, fat, off"),
    (
        "split-debuginfo",
        "profile split-debuginfo: off, packed, unpacked",
    ),
    (
        "deps-opt-level",
        "opt-level of every dependency (profile.<p>.package.\"*\".opt-level)",
    ),
    (
        "linker",
        "rust-lld (rustc's default on x86_64 Linux), gnu-ld, mold",
    ),
    (
        "toolchain",
        "an installed rustup toolchain: stable, nightly, 1.95.0, ... (like cargo +NAME)",
    ),
    (
        "share-generics",
        "unstable -Zshare-generics: y, n (with RUSTC_BOOTSTRAP=1 for that variant)",
    ),
    (
        "threads",
        "unstable -Zthreads: the parallel front end's threads, 1, 2, 8, ... (RUSTC_BOOTSTRAP=1)",
    ),
];

/// The value that leaves a key as the project configures it (the baseline of a preset).
pub const AS_IS: &str = "as-is";

/// The presets `--preset` knows: the usual candidates, each tried alone against the
/// project as it is.
pub const PRESETS: &[(&str, &str)] = &[(
    "fast-dev",
    "the dev loop: debug=line-tables-only, deps-opt-level=1, linker=mold (if installed), \
     codegen-units=16, incremental=false, each against the project as it is",
)];

/// The `--vary` specs of a preset (all with `as-is` first: the baseline is the project as
/// it is), or `None` for an unknown preset.
pub fn preset(name: &str, available: &Available) -> Option<Vec<(String, Vec<String>)>> {
    let vary =
        |key: &str, value: &str| (key.to_string(), vec![AS_IS.to_string(), value.to_string()]);
    match name {
        "fast-dev" => {
            let mut varies = vec![
                vary("debug", "line-tables-only"),
                vary("deps-opt-level", "1"),
                vary("codegen-units", "16"),
                vary("incremental", "false"),
            ];
            // rust-lld is already rustc's default on x86_64 Linux; GNU ld would only be
            // slower. mold is the candidate, where it is installed.
            if available.linkers.iter().any(|l| l == "mold") {
                varies.insert(2, vary("linker", "mold"));
            }
            Some(varies)
        }
        _ => None,
    }
}

/// Parses `KEY=V1,V2,...`.
pub fn parse_vary(spec: &str) -> Result<(String, Vec<String>), BuildError> {
    let (key, values) = spec
        .split_once('=')
        .ok_or_else(|| BuildError::BadArgument(format!("--vary {spec}: expected KEY=V1,V2,...")))?;
    let key = key.trim().to_string();
    if !KEYS.iter().any(|(k, _)| *k == key) {
        let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
        return Err(BuildError::BadArgument(format!(
            "--vary {spec}: unknown key {key:?} (known: {})",
            known.join(", ")
        )));
    }
    let values: Vec<String> = values
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    if values.is_empty() {
        return Err(BuildError::BadArgument(format!("--vary {spec}: no values")));
    }
    Ok((key, values))
}

/// A TOML value as cargo's `--config` wants it: numbers and booleans bare, text quoted.
fn toml_value(value: &str) -> String {
    if value.parse::<i64>().is_ok() || value == "true" || value == "false" {
        value.to_string()
    } else {
        format!("\"{}\"", value.replace('"', ""))
    }
}

/// How one setting is applied, and how to tell it took effect.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Setting {
    /// A cargo `--config` entry (`profile.dev.debug=0`).
    pub config: Option<String>,
    /// Flags for every rustc; a variant's are merged into one `build.rustflags`, since
    /// several `build.rustflags` entries would replace each other.
    pub rustflags: Vec<String>,
    pub checks: Vec<FlagCheck>,
    /// Environment for cargo.
    pub env: Vec<(String, String)>,
    /// Another toolchain's cargo.
    pub cargo: Option<PathBuf>,
    /// An unstable (`-Z`) option.
    pub unstable: bool,
}

/// How to apply one setting. `profile` is cargo's profile name (`dev`, `release`, ...).
pub fn setting(
    key: &str,
    value: &str,
    profile: &str,
    available: &Available,
) -> Result<Setting, BuildError> {
    let linkers = &available.linkers;
    if value == AS_IS {
        // The setting as the project has it: nothing applied, nothing to check.
        return Ok(Setting::default());
    }
    let config = |path: &str| Some(format!("{path}={}", toml_value(value)));
    let profile_key = |k: &str| format!("profile.{profile}.{k}");
    let refuse = |why: &str| {
        Err(BuildError::BadArgument(format!(
            "--vary {key}={value}: {why}"
        )))
    };
    let (config, checks) = match key {
        "debug" => {
            let flag = match value {
                "0" | "false" | "none" => None,
                "1" | "limited" => Some("1"),
                "2" | "true" | "full" => Some("2"),
                "line-tables-only" | "line-directives-only" => Some(value),
                _ => return refuse("not a debug level"),
            };
            let check = match flag {
                Some(level) => FlagCheck::Present(format!("-C debuginfo={level}")),
                None => FlagCheck::AbsentExcept {
                    prefix: "-C debuginfo=".into(),
                    allowed: "-C debuginfo=0".into(),
                },
            };
            (config(&profile_key("debug")), vec![check])
        }
        "incremental" => {
            let check = match value {
                "true" => FlagCheck::Present("-C incremental".into()),
                "false" => FlagCheck::AbsentExcept {
                    prefix: "-C incremental=".into(),
                    allowed: String::new(),
                },
                _ => return refuse("expected true or false"),
            };
            (config(&profile_key("incremental")), vec![check])
        }
        "codegen-units" => {
            if value.parse::<u32>().is_err() {
                return refuse("expected a number");
            }
            (
                config(&profile_key("codegen-units")),
                vec![FlagCheck::Present(format!("-C codegen-units={value}"))],
            )
        }
        "opt-level" | "deps-opt-level" => {
            if !matches!(value, "0" | "1" | "2" | "3" | "s" | "z") {
                return refuse("expected 0, 1, 2, 3, s or z");
            }
            let path = if key == "opt-level" {
                profile_key("opt-level")
            } else {
                format!("profile.{profile}.package.\"*\".opt-level")
            };
            let check = if value == "0" {
                FlagCheck::AbsentExcept {
                    prefix: "-C opt-level=".into(),
                    allowed: "-C opt-level=0".into(),
                }
            } else {
                FlagCheck::Present(format!("-C opt-level={value}"))
            };
            let check = if key == "deps-opt-level" {
                FlagCheck::OnDependencies(Box::new(check))
            } else {
                check
            };
            (config(&path), vec![check])
        }
        "lto" => {
            let check = match value {
                "fat" | "true" => FlagCheck::Present("-C lto".into()),
                "thin" => FlagCheck::Present("-C lto=thin".into()),
                "off" => FlagCheck::Present("-C lto=off".into()),
                "false" => FlagCheck::AbsentExcept {
                    prefix: "-C lto".into(),
                    allowed: "-C lto=off".into(),
                },
                _ => return refuse("expected false, thin, fat or off"),
            };
            (config(&profile_key("lto")), vec![check])
        }
        "split-debuginfo" => {
            if !matches!(value, "off" | "packed" | "unpacked") {
                return refuse("expected off, packed or unpacked");
            }
            (
                config(&profile_key("split-debuginfo")),
                vec![FlagCheck::Present(format!("-C split-debuginfo={value}"))],
            )
        }
        "linker" => {
            let flags: Vec<&str> = match value {
                "rust-lld" | "default" => Vec::new(),
                "gnu-ld" => vec!["-Clinker-features=-lld"],
                "mold" if linkers.iter().any(|l| l == "mold") => vec!["-Clink-arg=-fuse-ld=mold"],
                "mold" => return refuse("mold is not installed (not on PATH)"),
                _ => return refuse("expected rust-lld, gnu-ld or mold"),
            };
            let checks = match value {
                "gnu-ld" => vec![FlagCheck::Present("-C linker-features=-lld".into())],
                "mold" => vec![FlagCheck::Present("-C link-arg=-fuse-ld=mold".into())],
                _ => vec![FlagCheck::AbsentExcept {
                    prefix: "-C linker-features=".into(),
                    allowed: String::new(),
                }],
            };
            return Ok(Setting {
                rustflags: flags.iter().map(|f| f.to_string()).collect(),
                checks,
                ..Setting::default()
            });
        }
        "toolchain" => {
            let Some(toolchain) = find_toolchain(&available.toolchains, value) else {
                let names: Vec<&str> = available
                    .toolchains
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect();
                return refuse(&if names.is_empty() {
                    "no rustup toolchains found (is rustup installed?)".to_string()
                } else {
                    format!(
                        "not an installed toolchain (installed: {})",
                        names.join(", ")
                    )
                });
            };
            let rustc = toolchain.rustc().to_string_lossy().into_owned();
            return Ok(Setting {
                // RUSTC for cargo, RUSTUP_TOOLCHAIN for what build scripts run through
                // rustup's proxies.
                env: vec![
                    ("RUSTC".into(), rustc.clone()),
                    ("RUSTUP_TOOLCHAIN".into(), toolchain.name.clone()),
                ],
                cargo: Some(toolchain.cargo()),
                checks: vec![FlagCheck::Rustc(rustc)],
                ..Setting::default()
            });
        }
        "share-generics" | "threads" => {
            let valid = if key == "threads" {
                value.parse::<u32>().is_ok_and(|n| n >= 1)
            } else {
                matches!(value, "y" | "n" | "yes" | "no")
            };
            if !valid {
                return refuse(if key == "threads" {
                    "expected a number of threads (1 or more)"
                } else {
                    "expected y or n"
                });
            }
            return Ok(Setting {
                rustflags: vec![format!("-Z{key}={value}")],
                checks: vec![FlagCheck::Present(format!("-Z {key}={value}"))],
                env: vec![("RUSTC_BOOTSTRAP".into(), "1".into())],
                unstable: true,
                ..Setting::default()
            });
        }
        _ => return refuse("unknown key"),
    };
    Ok(Setting {
        config,
        checks,
        ..Setting::default()
    })
}

/// Every combination of the values (or, with `one_at_a_time`, the baseline — each key's
/// first value — and one variant per other value of one key).
pub fn variants(
    varies: &[(String, Vec<String>)],
    one_at_a_time: bool,
    profile: &str,
    available: &Available,
) -> Result<Vec<Variant>, BuildError> {
    let mut combos: Vec<Vec<(String, String)>> = vec![Vec::new()];
    if one_at_a_time {
        let baseline: Vec<(String, String)> = varies
            .iter()
            .map(|(k, vs)| (k.clone(), vs[0].clone()))
            .collect();
        combos = vec![baseline.clone()];
        for (i, (key, values)) in varies.iter().enumerate() {
            for value in &values[1..] {
                let mut c = baseline.clone();
                c[i] = (key.clone(), value.clone());
                combos.push(c);
            }
        }
    } else {
        for (key, values) in varies {
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    values.iter().map(move |v| {
                        let mut c = c.clone();
                        c.push((key.clone(), v.clone()));
                        c
                    })
                })
                .collect();
        }
    }
    let baseline = combos[0].clone();
    combos
        .into_iter()
        .enumerate()
        .map(|(index, settings)| {
            let mut cargo_args = Vec::new();
            let mut checks = Vec::new();
            let mut rustflags: Vec<String> = Vec::new();
            let mut env: Vec<(String, String)> = Vec::new();
            let mut cargo = None;
            let mut unstable = false;
            for (k, v) in &settings {
                let applied = setting(k, v, profile, available)?;
                if let Some(config) = applied.config {
                    cargo_args.push("--config".to_string());
                    cargo_args.push(config);
                }
                rustflags.extend(applied.rustflags);
                checks.extend(applied.checks);
                for pair in applied.env {
                    if !env.contains(&pair) {
                        env.push(pair);
                    }
                }
                cargo = applied.cargo.or(cargo);
                unstable |= applied.unstable;
            }
            match (&available.rustflags_env, rustflags.is_empty()) {
                (_, true) => {}
                // Cargo ignores every configured rustflags when RUSTFLAGS is set: the
                // variant's flags join the user's there.
                (Some(user), false) => {
                    env.push((
                        "RUSTFLAGS".into(),
                        format!("{user} {}", rustflags.join(" ")),
                    ));
                }
                (None, false) => {
                    // No spaces: `--run` hands the arguments to a shell as one variable.
                    let quoted: Vec<String> =
                        rustflags.iter().map(|f| format!("\"{f}\"")).collect();
                    cargo_args.push("--config".into());
                    cargo_args.push(format!("build.rustflags=[{}]", quoted.join(",")));
                }
            }
            // One at a time, a variant is named by what it changes; `as-is` goes unsaid.
            let name = settings
                .iter()
                .filter(|setting| {
                    !(one_at_a_time && index > 0 && baseline.contains(setting))
                        && setting.1 != AS_IS
                })
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ");
            Ok(Variant {
                name: if name.is_empty() {
                    "baseline".into()
                } else {
                    name
                },
                settings,
                cargo_args,
                checks,
                env,
                cargo,
                unstable,
            })
        })
        .collect()
}

/// Which checks the recorded rustc flags of a build fail (empty: the variant took effect).
/// `members` are the workspace's packages.
pub fn failed_checks(
    records: &[UnitRecord],
    checks: &[FlagCheck],
    members: &[String],
) -> Vec<String> {
    checks
        .iter()
        .filter_map(|check| check_failure(records, check, members))
        .collect()
}

fn check_failure(records: &[UnitRecord], check: &FlagCheck, members: &[String]) -> Option<String> {
    let flags = || {
        records
            .iter()
            .flat_map(|r| r.codegen_flags.iter().map(String::as_str))
    };
    match check {
        FlagCheck::Rustc(rustc) => records
            .iter()
            .any(|r| r.rustc.as_deref() != Some(rustc.as_str()))
            .then(|| format!("not every unit was built by {rustc}")),
        FlagCheck::Present(flag) => (!flags()
            .any(|f| f == flag || f.starts_with(&format!("{flag}="))))
        .then(|| format!("no rustc got {flag}")),
        FlagCheck::AbsentExcept { prefix, allowed } => flags()
            .any(|f| f.starts_with(prefix.as_str()) && (allowed.is_empty() || f != allowed))
            .then(|| format!("a rustc still got {prefix}…")),
        FlagCheck::OnDependencies(inner) => {
            let dependencies: Vec<UnitRecord> = records
                .iter()
                .filter(|r| r.package.as_ref().is_some_and(|p| !members.contains(p)))
                .cloned()
                .collect();
            if dependencies.is_empty() {
                return Some(
                    "this build compiled no package from outside the workspace, so it changed nothing"
                        .into(),
                );
            }
            check_failure(&dependencies, inner, members)
                .map(|why| format!("{why} (of the packages outside the workspace)"))
        }
    }
}

/// A directory-safe name for a variant's settings (not its name, which one at a time
/// leaves out the baseline's: two variants of one name but other settings must not share a
/// target directory). Keys left as-is go unsaid, sorted so the order of --vary is moot.
pub fn slug(variant: &Variant) -> String {
    let mut settings: Vec<String> = variant
        .settings
        .iter()
        .filter(|(_, v)| v != AS_IS)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    settings.sort();
    let s: String = settings
        .join(" ")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "baseline".into()
    } else {
        s
    }
}

/// The size of the build's binaries: the executable files in the profile's output folder.
pub fn binaries_size(target_dir: &Path, profile_dir_name: &str) -> u64 {
    use std::os::unix::fs::PermissionsExt;
    let dir: PathBuf = target_dir.join(profile_dir_name);
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_two_by_two_matrix_and_one_at_a_time() {
        let varies = vec![
            parse_vary("debug=0,2").unwrap(),
            parse_vary("incremental=true,false").unwrap(),
        ];
        let all = variants(&varies, false, "dev", &Available::default()).unwrap();
        let names: Vec<&str> = all.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "debug=0 incremental=true",
                "debug=0 incremental=false",
                "debug=2 incremental=true",
                "debug=2 incremental=false"
            ]
        );
        assert_eq!(
            all[3].cargo_args,
            [
                "--config",
                "profile.dev.debug=2",
                "--config",
                "profile.dev.incremental=false"
            ]
        );
        let one = variants(&varies, true, "dev", &Available::default()).unwrap();
        assert_eq!(one.len(), 3);
        assert!(parse_vary("colour=red").is_err());
        assert!(
            setting("linker", "mold", "dev", &Available::default()).is_err(),
            "mold missing"
        );
        let applied = setting(
            "debug",
            "line-tables-only",
            "release",
            &Available::default(),
        )
        .unwrap();
        assert_eq!(
            applied.config.as_deref(),
            Some("profile.release.debug=\"line-tables-only\"")
        );
    }

    #[test]
    fn checks_read_the_recorded_flags() {
        let record = |flags: &[&str]| UnitRecord {
            linker: None,
            pid: 1,
            package: None,
            version: None,
            crate_name: Some("x".into()),
            crate_types: vec![],
            test: false,
            start_ns: 0,
            rmeta_ns: None,
            end_ns: 1,
            cpu_ns: None,
            max_rss_bytes: None,
            exit_code: Some(0),
            self_profiled: false,
            link_start_ns: None,
            link_end_ns: None,
            codegen_flags: flags.iter().map(|f| f.to_string()).collect(),
            rustc: Some("/t/stable/bin/rustc".into()),
        };
        let debug2 = setting("debug", "2", "dev", &Available::default()).unwrap();
        let debug0 = setting("debug", "0", "dev", &Available::default()).unwrap();
        let incr_off = setting("incremental", "false", "dev", &Available::default()).unwrap();
        let built = [record(&["-C debuginfo=2", "-C incremental=/t/incr"])];
        assert!(failed_checks(&built, &debug2.checks, &[]).is_empty());
        assert_eq!(failed_checks(&built, &debug0.checks, &[]).len(), 1);
        assert_eq!(failed_checks(&built, &incr_off.checks, &[]).len(), 1);
        let incr_on = setting("incremental", "true", "dev", &Available::default()).unwrap();
        assert!(failed_checks(&built, &incr_on.checks, &[]).is_empty());

        // deps-opt-level reaches packages outside the workspace alone.
        let deps1 = setting("deps-opt-level", "1", "dev", &Available::default()).unwrap();
        let package = |name: &str, flags: &[&str]| UnitRecord {
            package: Some(name.into()),
            ..record(flags)
        };
        let members = ["app".to_string()];
        let both = [
            package("app", &["-C debuginfo=2"]),
            package("serde", &["-C opt-level=1"]),
        ];
        assert!(failed_checks(&both, &deps1.checks, &members).is_empty());
        let unoptimized = [package("app", &[]), package("serde", &[])];
        let why = failed_checks(&unoptimized, &deps1.checks, &members);
        assert_eq!(
            why,
            ["no rustc got -C opt-level=1 (of the packages outside the workspace)"]
        );
        let hot = [package("app", &["-C opt-level=1"])];
        let why = failed_checks(&hot, &deps1.checks, &members);
        assert!(
            why[0].contains("compiled no package from outside the workspace"),
            "{why:?}"
        );
    }

    #[test]
    fn toolchains_are_found_by_short_and_full_name_and_checked_by_compiler() {
        let listed = parse_toolchain_list(
            "stable-x86_64-unknown-linux-gnu (active, default) /r/toolchains/stable-x86_64-unknown-linux-gnu\n\
             nightly-2026-01-01-x86_64-unknown-linux-gnu /r/toolchains/nightly-2026-01-01-x86_64-unknown-linux-gnu\n\
             no path here\n",
        );
        assert_eq!(listed.len(), 2);
        let available = Available {
            toolchains: listed,
            ..Available::default()
        };
        let stable = setting("toolchain", "stable", "dev", &available).unwrap();
        let rustc = "/r/toolchains/stable-x86_64-unknown-linux-gnu/bin/rustc";
        assert!(stable.env.contains(&("RUSTC".into(), rustc.into())));
        assert_eq!(
            stable.cargo.as_deref(),
            Some(Path::new(
                "/r/toolchains/stable-x86_64-unknown-linux-gnu/bin/cargo"
            ))
        );
        assert_eq!(stable.checks, [FlagCheck::Rustc(rustc.into())]);
        assert!(setting("toolchain", "+nightly-2026-01-01", "dev", &available).is_ok());
        // `nightly` is not installed: only a dated nightly is, and `nightly-2026` is no name.
        for missing in ["nightly", "nightly-2026", "beta"] {
            let err = setting("toolchain", missing, "dev", &available).unwrap_err();
            assert!(
                err.to_string().contains("not an installed toolchain"),
                "{err}"
            );
        }

        let unit = |rustc: &str| {
            UnitRecord {
            rustc: Some(rustc.into()),
            ..serde_json::from_str(r#"{"pid":1,"package":null,"version":null,"crate_name":"x","crate_types":[],"test":false,"start_ns":0,"rmeta_ns":null,"end_ns":1,"cpu_ns":null,"max_rss_bytes":null,"exit_code":0,"self_profiled":false}"#).unwrap()
        }
        };
        assert!(failed_checks(&[unit(rustc), unit(rustc)], &stable.checks, &[]).is_empty());
        assert_eq!(
            failed_checks(&[unit(rustc), unit("rustc")], &stable.checks, &[]).len(),
            1
        );
    }

    #[test]
    fn unstable_options_are_marked_and_allowed_for_their_variant_alone() {
        let varies = vec![
            parse_vary("share-generics=n,y").unwrap(),
            parse_vary("threads=1,4").unwrap(),
        ];
        let all = variants(&varies, true, "dev", &Available::default()).unwrap();
        assert!(all.iter().all(|v| v.unstable));
        assert_eq!(
            all[2].cargo_args,
            [
                "--config",
                "build.rustflags=[\"-Zshare-generics=n\",\"-Zthreads=4\"]"
            ]
        );
        assert_eq!(
            all[2].env,
            [("RUSTC_BOOTSTRAP".to_string(), "1".to_string())]
        );
        assert_eq!(
            all[2].checks,
            [
                FlagCheck::Present("-Z share-generics=n".into()),
                FlagCheck::Present("-Z threads=4".into())
            ]
        );
        // With the user's RUSTFLAGS set, cargo would ignore build.rustflags: the flags join
        // RUSTFLAGS.
        let with_env = Available {
            rustflags_env: Some("-Ctarget-cpu=native".into()),
            ..Available::default()
        };
        let gnu = variants(
            &[parse_vary("linker=gnu-ld").unwrap()],
            false,
            "dev",
            &with_env,
        )
        .unwrap();
        assert!(gnu[0].cargo_args.is_empty());
        assert_eq!(
            gnu[0].env,
            [(
                "RUSTFLAGS".to_string(),
                "-Ctarget-cpu=native -Clinker-features=-lld".to_string()
            )]
        );
        let stable = variants(
            &[parse_vary("debug=0,2").unwrap()],
            false,
            "dev",
            &Available::default(),
        )
        .unwrap();
        assert!(stable.iter().all(|v| !v.unstable && v.env.is_empty()));
        assert!(setting("threads", "0", "dev", &Available::default()).is_err());
        assert!(setting("share-generics", "maybe", "dev", &Available::default()).is_err());
    }
}
