//! The HTML report end to end: the example workspace built by `buildscope build
//! --self-profile`, its report opened in headless Chromium: no console errors, one bar per
//! unit, the critical path highlighted, the summarize table's top row as `summarize` says,
//! and a screenshot kept as a test artefact.

mod common;

use std::path::{Path, PathBuf};

use common::{assert_no_console_errors, buildscope, buildscope_in, chromium, headless, path_str};
use serde_json::Value;

/// A copy of the repository's example workspace (without its target directory).
fn example_copy() -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../example-workspace");
    let root = common::scratch_dir("buildscope-report-");
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if name == "target" {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                copy(&path, &to.join(&name));
            } else {
                std::fs::copy(&path, to.join(&name)).unwrap();
            }
        }
    }
    copy(&source, &root);
    root
}

/// The text of the first cell of the first body row after `marker`.
fn first_cell_after(dom: &str, marker: &str) -> String {
    let at = dom
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in the page"));
    let body = &dom[at..];
    let row = &body[body.find("<tbody>").expect("a table body")..];
    let cell = &row[row.find("<td").unwrap()..];
    let text = &cell[cell.find('>').unwrap() + 1..];
    text[..text.find("</td>").unwrap()]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[test]
fn the_report_of_a_real_build_opens_in_chromium() {
    let root = example_copy();
    let db = root.join("history.sqlite");
    let out = buildscope_in(
        &root,
        &db,
        &["build", "--cold", "--self-profile", "--json", "--quiet"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let record = &doc["runs"][0];
    let run_dir = PathBuf::from(record["run_dir"].as_str().unwrap());
    let report = run_dir.join("report.html");
    let size = std::fs::metadata(&report)
        .expect("build wrote report.html")
        .len();
    assert!(size < 10_000_000, "{size} bytes");
    let page = std::fs::read_to_string(&report).unwrap();
    assert!(
        !page.contains("<script src") && !page.contains("<link rel=\"stylesheet\""),
        "self-contained"
    );

    let Some(browser) = chromium() else {
        eprintln!("chromium not found: the browser half of this test is skipped outside CI");
        return;
    };
    let url = format!("file://{}", report.display());
    let (dom, log) = headless(&browser, &["--dump-dom"], &url);
    assert_no_console_errors(&log);
    assert!(dom.contains("data-ready=\"1\""), "the page's script ran");
    // One bar per unit, the critical path highlighted.
    let units = record["units"].as_array().unwrap().len();
    assert_eq!(dom.matches("<g class=\"unit").count(), units, "bars");
    let critical = record["critical_path"]["steps"].as_array().unwrap().len();
    assert!(critical > 0);
    assert_eq!(dom.matches("<g class=\"unit critical\"").count(), critical);
    // The summarize table of the heaviest crate starts where summarize starts.
    let profiles = record["profile_dir"].as_str().unwrap();
    let summary: Value =
        serde_json::from_slice(&buildscope(&["summarize", "--json", profiles]).stdout).unwrap();
    let heaviest = summary["crates"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|c| c["total_cpu_time_ns"].as_u64().unwrap())
        .unwrap();
    let name = heaviest["crate"].as_str().unwrap();
    let expected = heaviest["rows"][0]["label"].as_str().unwrap();
    let shown = first_cell_after(&dom, &format!("class=\"summarize\" data-crate=\"{name}\""));
    assert_eq!(shown, expected, "top row of {name}");

    // A screenshot, kept as a test artefact.
    let artefacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("artefacts");
    std::fs::create_dir_all(&artefacts).unwrap();
    let shot = artefacts.join("report.png");
    let _ = std::fs::remove_file(&shot);
    headless(
        &browser,
        &[&format!("--screenshot={}", path_str(&shot))],
        &url,
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    eprintln!("screenshot: {}", shot.display());

    // Two runs compared: a hot rebuild against the cold build.
    let out = buildscope_in(
        &root,
        &db,
        &[
            "build",
            "--touch",
            "report/src/main.rs",
            "--runs",
            "2",
            "--self-profile",
            "--quiet",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let compared = root.join("compare.html");
    let out = buildscope_in(
        &root,
        &db,
        &[
            "report",
            "latest",
            "--compare",
            "latest~1",
            "-o",
            path_str(&compared),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (dom, log) = headless(
        &browser,
        &["--dump-dom"],
        &format!("file://{}", compared.display()),
    );
    assert!(!log.contains("Uncaught"), "{log}");
    assert!(dom.contains("data-ready=\"1\""));
    assert!(dom.contains("Against run "), "the compare section");
    assert!(dom.contains("By phase (CPU)"), "per-phase deltas");
    // The rebuild's cost centres, each with its lever or none known.
    assert!(
        dom.contains("<section id=\"centres\" aria-labelledby=\"centres-h\">")
            && dom.contains("class=\"share-bar\"")
            && (dom.contains("finding 1")
                || dom.contains("none known")
                || dom.contains("under the floor")),
        "the cost-centre section"
    );
    assert!(
        dom.contains("Run-to-run spread after"),
        "the spread of --runs 2"
    );
    assert!(
        dom.contains("class=\"down\"") || dom.contains("class=\"up\""),
        "coloured"
    );
}

#[test]
fn profile_text_in_the_report_stays_text() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = buildscope_testkit::hostile_profile(dir.path());
    let page_path = dir.path().join("hostile.html");
    let out = buildscope(&["report", path_str(&hostile), "-o", path_str(&page_path)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(&page_path).unwrap();
    // The data is JSON inside a script element: nothing in it can close the element.
    let data = &page[page.find("id=\"report-data\"").unwrap()..];
    let data = &data[..data.find("</script>").unwrap()];
    assert!(!data.contains('<'), "no raw < in the embedded data");
    let Some(browser) = chromium() else {
        return;
    };
    let (dom, log) = headless(
        &browser,
        &["--dump-dom"],
        &format!("file://{}", page_path.display()),
    );
    assert!(!log.contains("Uncaught"), "{log}");
    assert!(dom.contains("data-ready=\"1\""));
    // Shown as text (escaped in the DOM), never as markup.
    assert!(!dom.contains("<script>alert"), "the argument became markup");
    assert!(
        dom.contains("&lt;T as Trait&lt;&amp;'a U&gt;&gt;::f"),
        "the label is shown as text"
    );
}

/// The report of a build of `MEMBERS` one-function crates, in a frame `height` pixels tall,
/// scrolled by the page's own script; the frame's title says which timeline rows exist.
const SCROLLING_FRAME: &str = r##"<!DOCTYPE html><title>frame</title>
<iframe id="f" style="width:1400px;height:100px;border:0"></iframe>
<script>
var f = document.getElementById("f"), seen = [];
function drawnRows(d) {
  // Each row's name sits at y = row * 16 + 13.
  return Array.prototype.map.call(d.querySelectorAll("#gantt g.unit > text"), function (t) {
    return Math.round((Number(t.getAttribute("y")) - 13) / 16);
  });
}
// Headless Chromium without rendering frames sends no scroll events: sent here as a
// browser would after each scroll.
function scrollTo(w, y) { w.scrollTo(0, y); w.dispatchEvent(new Event("scroll")); }
function after(step, then) { setTimeout(then, 200); step(); }
f.onload = function () {
  var w = f.contentWindow, d = f.contentDocument, g = d.getElementById("gantt");
  var top = g.getBoundingClientRect().top + w.scrollY;
  after(function () { scrollTo(w, top); }, function () {
    seen.push(drawnRows(d));
    after(function () { scrollTo(w, top + g.getBoundingClientRect().height); }, function () {
      seen.push(drawnRows(d));
      after(function () {
        var zoom = d.getElementById("zoom");
        zoom.value = "2";
        zoom.dispatchEvent(new Event("input"));
      }, function () {
        seen.push(drawnRows(d));
        document.body.setAttribute("data-seen", JSON.stringify({ rows: Number(g.getAttribute("data-rows")), seen: seen }));
      });
    });
  });
};
f.src = "REPORT";
</script>"##;

#[test]
fn a_long_timeline_draws_the_rows_in_view_and_more_as_it_scrolls() {
    // Forty crates of one function each: a real build with more timeline rows than a
    // 100-pixel frame shows (and its screen of slack either side).
    const MEMBERS: usize = 40;
    let names: Vec<String> = (0..MEMBERS).map(|i| format!("m{i:02}")).collect();
    let members: Vec<common::Member> = names
        .iter()
        .map(|name| {
            (
                name.as_str(),
                common::manifest(name, &[], ""),
                vec![("src/lib.rs", "pub fn f() -> u32 { 1 }\n".to_string())],
            )
        })
        .collect();
    let root = common::workspace("buildscope-report-long-", &members);
    common::generate_lockfile(&root);
    let db = root.join("history.sqlite");
    let out = buildscope_in(&root, &db, &["build", "--json", "--quiet"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run_dir = PathBuf::from(doc["runs"][0]["run_dir"].as_str().unwrap());
    let Some(browser) = chromium() else {
        eprintln!("chromium not found: the browser half of this test is skipped outside CI");
        return;
    };
    let frame = root.join("frame.html");
    let report = format!("file://{}", run_dir.join("report.html").display());
    std::fs::write(&frame, SCROLLING_FRAME.replace("REPORT", &report)).unwrap();
    let (dom, log) = headless(
        &browser,
        &["--allow-file-access-from-files", "--dump-dom"],
        &format!("file://{}", frame.display()),
    );
    assert_no_console_errors(&log);
    let seen = dom
        .split("data-seen=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("the frame's script did not finish: {log}"))
        .replace("&quot;", "\"");
    let seen: Value = serde_json::from_str(&seen).unwrap();
    let rows = seen["rows"].as_u64().unwrap() as i64;
    assert_eq!(rows, MEMBERS as i64, "one row per unit: {seen}");
    let rows_of = |step: usize| -> Vec<i64> {
        let mut rows: Vec<i64> = seen["seen"][step]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_i64().unwrap())
            .collect();
        rows.sort();
        rows
    };
    // At the timeline's top: its first rows, not all of them.
    let at_top = rows_of(0);
    assert!(at_top.contains(&0), "{seen}");
    assert!(at_top.len() < MEMBERS / 2, "only the rows in view: {seen}");
    // Scrolled to its end: the last rows drawn too, each once.
    let at_end = rows_of(1);
    assert!(at_end.contains(&(rows - 1)), "{seen}");
    let mut unique = at_end.clone();
    unique.dedup();
    assert_eq!(unique, at_end, "no row drawn twice: {seen}");
    // A zoom redraws the rows in view alone.
    let zoomed = rows_of(2);
    assert!(
        zoomed.contains(&(rows - 1)) && !zoomed.contains(&0),
        "{seen}"
    );
}
