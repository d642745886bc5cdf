//! What cargo itself says about a build: the unit graph (which units exist and what they
//! depend on) and the `--timings` report (when each unit ran, build-script runs included).

use buildscope_analysis::UnitKind;
use serde::Deserialize;

use crate::BuildError;

/// One unit of `cargo build --unit-graph` (format version 1).
#[derive(Debug, Clone, Deserialize)]
pub struct GraphUnit {
    pub pkg_id: String,
    pub target: GraphTarget,
    pub mode: String,
    #[serde(default)]
    pub platform: Option<String>,
    #[serde(default)]
    pub features: Vec<String>,
    pub dependencies: Vec<GraphDependency>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GraphTarget {
    pub kind: Vec<String>,
    #[serde(default)]
    pub crate_types: Vec<String>,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GraphDependency {
    pub index: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UnitGraph {
    pub version: u32,
    pub units: Vec<GraphUnit>,
    pub roots: Vec<usize>,
}

pub fn parse_unit_graph(json: &str) -> Result<UnitGraph, BuildError> {
    let graph: UnitGraph = serde_json::from_str(json)
        .map_err(|e| BuildError::CargoOutput(format!("unreadable --unit-graph output: {e}")))?;
    if graph.version != 1 {
        return Err(BuildError::CargoOutput(format!(
            "--unit-graph format version {} is not 1",
            graph.version
        )));
    }
    Ok(graph)
}

/// One unit of the `UNIT_DATA` table in cargo's `--timings` HTML report.
#[derive(Debug, Clone, Deserialize)]
pub struct TimingUnit {
    /// The unit's index, the same as in the unit graph.
    pub i: usize,
    pub name: String,
    pub version: String,
    pub mode: String,
    /// `""` for a library, `" build-script"`, `" build-script (run)"`, `" app \"bin\""`, ...
    pub target: String,
    /// Seconds from the start of cargo's build.
    pub start: f64,
    pub duration: f64,
    #[serde(default)]
    pub rmeta_time: Option<f64>,
    #[serde(default)]
    pub unblocked_units: Vec<usize>,
    #[serde(default)]
    pub unblocked_rmeta_units: Vec<usize>,
    #[serde(default)]
    pub sections: Option<Vec<(String, TimingSection)>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TimingSection {
    pub start: f64,
    pub end: f64,
}

impl TimingUnit {
    /// Seconds from the unit's start to its metadata: `rmeta_time`, or the end of the
    /// `frontend` section.
    pub fn rmeta_offset(&self) -> Option<f64> {
        self.rmeta_time.or_else(|| {
            self.sections
                .as_ref()?
                .iter()
                .find(|(name, _)| name == "frontend")
                .map(|(_, s)| s.end)
        })
    }

    pub fn is_build_script_run(&self) -> bool {
        self.mode == "run-custom-build"
    }
}

/// Reads `UNIT_DATA` out of a `cargo-timing.html` report.
pub fn parse_timings_html(html: &str) -> Result<Vec<TimingUnit>, BuildError> {
    const MARKER: &str = "const UNIT_DATA = ";
    let start = html
        .find(MARKER)
        .ok_or_else(|| BuildError::CargoOutput("the --timings report has no UNIT_DATA".into()))?;
    let mut values = serde_json::Deserializer::from_str(&html[start + MARKER.len()..])
        .into_iter::<Vec<TimingUnit>>();
    match values.next() {
        Some(Ok(units)) => Ok(units),
        Some(Err(e)) => Err(BuildError::CargoOutput(format!(
            "unreadable UNIT_DATA in the --timings report: {e}"
        ))),
        None => Err(BuildError::CargoOutput("empty UNIT_DATA".into())),
    }
}

/// Name and version from a package id (`registry+...#serde@1.0.1`,
/// `path+file:///x/geometry#0.1.0`).
pub fn package_name_version(package_id: &str) -> (String, String) {
    let (url, fragment) = package_id.rsplit_once('#').unwrap_or((package_id, ""));
    if let Some((name, version)) = fragment.split_once('@') {
        return (name.to_string(), version.to_string());
    }
    let path = url.split(['?', ' ']).next().unwrap_or(url);
    let name = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path);
    (name.to_string(), fragment.to_string())
}

/// A unit's kind from cargo's words for it: its mode (`build`, `test`,
/// `run-custom-build`) and its target's kind (`lib`, `bin`, `custom-build`, …), as the
/// unit graph and the build-analysis log both give them.
pub(crate) fn unit_kind(mode: &str, target_kind: &str) -> UnitKind {
    match (mode, target_kind) {
        ("run-custom-build", _) => UnitKind::BuildScriptRun,
        (_, "custom-build") => UnitKind::BuildScriptCompile,
        ("test", _) | (_, "test") => UnitKind::Test,
        (_, "proc-macro") => UnitKind::ProcMacro,
        (_, "bin") => UnitKind::Bin,
        (_, "example") => UnitKind::Example,
        (_, "bench") => UnitKind::Bench,
        (_, k) if k.ends_with("lib") => UnitKind::Lib,
        _ => UnitKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_data_is_read_from_the_report() {
        let html = r#"<script>
const UNIT_DATA = [
  {"i": 1, "name": "geometry", "version": "0.1.0", "mode": "todo", "target": " build-script",
   "features": [], "start": 0.09, "duration": 0.32, "unblocked_units": [2],
   "unblocked_rmeta_units": [], "sections": null},
  {"i": 0, "name": "geometry", "version": "0.1.0", "mode": "todo", "target": "",
   "features": [], "start": 0.43, "duration": 0.1, "unblocked_units": [3],
   "unblocked_rmeta_units": [], "sections": [["frontend", {"start": 0.0, "end": 0.08}],
   ["codegen", {"start": 0.08, "end": 0.1}]]}
];
const CONCURRENCY_DATA = [];
</script>"#;
        let units = parse_timings_html(html).unwrap();
        assert_eq!(units.len(), 2);
        assert_eq!(units[0].unblocked_units, vec![2]);
        assert_eq!(units[1].rmeta_offset(), Some(0.08));
        assert!(parse_timings_html("<html></html>").is_err());
    }
}
