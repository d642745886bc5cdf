//! The rustc wrappers the user's cargo would run (sccache, a logging script, clippy's
//! driver), so that buildscope measures the build the user has and not another one.
//! buildscope is cargo's `RUSTC_WRAPPER` while it measures, which hides a wrapper set in
//! `.cargo/config.toml` (`build.rustc-wrapper`) from cargo: buildscope runs it itself,
//! inside its own. A workspace wrapper (`RUSTC_WORKSPACE_WRAPPER`,
//! `build.rustc-workspace-wrapper`) cargo still runs, inside buildscope's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use buildscope_analysis::WrapperUse;

/// The wrappers cargo would use for a build in `cwd` with `env` on top of buildscope's
/// own environment. Asked of cargo once per folder and process (`cargo config get`,
/// unstable, on stable through RUSTC_BOOTSTRAP for that query alone).
pub fn user_wrappers(cargo: &Path, cwd: &Path, env: &[(String, String)]) -> Vec<WrapperUse> {
    /// The folder and the extra environment a build ran with.
    type Asked = (PathBuf, Vec<(String, String)>);
    static CACHE: OnceLock<Mutex<HashMap<Asked, Vec<WrapperUse>>>> = OnceLock::new();
    let key = (cwd.to_path_buf(), env.to_vec());
    let cache = CACHE.get_or_init(Default::default);
    if let Some(found) = cache.lock().expect("not poisoned").get(&key) {
        return found.clone();
    }
    let var = |name: &str| build_var(env, name).filter(|v| !v.is_empty());
    let mut found = Vec::new();
    for (role, variable) in [
        ("rustc-wrapper", "RUSTC_WRAPPER"),
        ("rustc-workspace-wrapper", "RUSTC_WORKSPACE_WRAPPER"),
    ] {
        let from_env = var(variable).map(|program| WrapperUse {
            role: role.to_string(),
            program,
            source: variable.to_string(),
        });
        if let Some(used) = from_env.or_else(|| configured(cargo, cwd, env, role)) {
            found.push(used);
        }
    }
    cache
        .lock()
        .expect("not poisoned")
        .insert(key, found.clone());
    found
}

/// The value a variable has for a build: the build's own environment (`env`, the last
/// setting winning) over buildscope's.
pub(crate) fn build_var(env: &[(String, String)], name: &str) -> Option<String> {
    env.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var(name).ok())
}

/// `build.<role>` from cargo's configuration (its files and `CARGO_BUILD_*` variables).
fn configured(
    cargo: &Path,
    cwd: &Path,
    env: &[(String, String)],
    role: &str,
) -> Option<WrapperUse> {
    let output = std::process::Command::new(cargo)
        .args(["-Zunstable-options", "config", "get", "--show-origin"])
        .arg(format!("build.{role}"))
        .current_dir(cwd)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("RUSTC_BOOTSTRAP", "1")
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None; // not configured
    }
    parse_config_line(&String::from_utf8_lossy(&output.stdout), role)
}

/// `build.rustc-wrapper = "../sccache" # /w/.cargo/config.toml` → the wrapper, a relative
/// path with a slash resolved as cargo does: against the folder holding `.cargo`.
fn parse_config_line(text: &str, role: &str) -> Option<WrapperUse> {
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("build.{role}")))?;
    let (_, rest) = line.split_once('=')?;
    let rest = rest.trim_start();
    let value_end = rest.strip_prefix('"')?.find('"')? + 1;
    let value = &rest[1..value_end];
    let origin = rest[value_end + 1..]
        .trim_start()
        .strip_prefix('#')
        .map(str::trim)
        .unwrap_or("configuration")
        .to_string();
    if value.is_empty() {
        return None; // set empty: no wrapper
    }
    let program = if value.contains('/') && Path::new(value).is_relative() {
        let config = Path::new(&origin);
        config
            .parent()
            .and_then(Path::parent)
            .filter(|_| config.is_absolute())
            .map_or_else(
                || value.to_string(),
                |base| base.join(value).display().to_string(),
            )
    } else {
        value.to_string()
    };
    Some(WrapperUse {
        role: role.to_string(),
        program,
        source: origin,
    })
}

/// Cache hits sccache has counted so far (all languages), or `None` when it cannot say.
pub fn sccache_hits(program: &str) -> Option<u64> {
    let output = std::process::Command::new(program)
        .args(["--show-stats", "--stats-format", "json"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let stats: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
    let counts = stats.get("stats")?.get("cache_hits")?.get("counts")?;
    Some(
        counts
            .as_object()?
            .values()
            .filter_map(|v| v.as_u64())
            .sum(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_wrappers_are_read_as_cargo_resolves_them() {
        let used = parse_config_line(
            "build.rustc-wrapper = \"../tools/wrap\" # /w/app/.cargo/config.toml\n",
            "rustc-wrapper",
        )
        .unwrap();
        assert_eq!(used.program, "/w/app/../tools/wrap");
        assert_eq!(used.source, "/w/app/.cargo/config.toml");
        let used = parse_config_line(
            "build.rustc-wrapper = \"sccache\" # environment variable `CARGO_BUILD_RUSTC_WRAPPER`",
            "rustc-wrapper",
        )
        .unwrap();
        assert_eq!(used.program, "sccache");
        assert!(used.is_sccache());
        assert_eq!(
            used.source,
            "environment variable `CARGO_BUILD_RUSTC_WRAPPER`"
        );
        assert_eq!(
            parse_config_line(
                "build.rustc-wrapper = \"\" # /w/.cargo/config.toml",
                "rustc-wrapper"
            ),
            None
        );
        assert_eq!(parse_config_line("", "rustc-wrapper"), None);
    }
}
