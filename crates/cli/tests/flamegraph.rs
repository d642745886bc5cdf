//! `flamegraph`: folded stacks checked against analyzeme's `collapse_stacks` on real
//! profiles; the SVG parsed as XML, with hostile names escaped.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use analyzeme::{collapse_stacks, ProfilingData};
use buildscope_testkit::{hostile_profile, HOSTILE_LABEL};
use common::{buildscope_ok, fixture, path_str};
use quick_xml::events::Event;

fn folded(inputs: &[&Path], flags: &[&str]) -> BTreeMap<String, u64> {
    let mut args = vec!["flamegraph", "--collapsed", "-"];
    args.extend(inputs.iter().map(|p| path_str(p)));
    args.extend_from_slice(flags);
    let out = buildscope_ok(&args);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (stack, ns) = line.rsplit_once(' ').expect("`stack count` per line");
            (stack.to_string(), ns.parse().expect("an integer count"))
        })
        .collect()
}

/// Parses an SVG with an XML reader; returns its element names and all text, unescaped.
fn parse_svg(path: &Path) -> (Vec<String>, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut elements = Vec::new();
    let mut all_text = String::new();
    loop {
        match reader.read_event().expect("the SVG is well-formed XML") {
            Event::Start(e) | Event::Empty(e) => {
                elements.push(String::from_utf8(e.name().as_ref().to_vec()).unwrap());
                for attr in e.attributes() {
                    attr.expect("well-formed attributes");
                }
            }
            Event::Text(t) => all_text.push_str(&t.decode().unwrap()),
            Event::GeneralRef(r) => {
                let name = String::from_utf8(r.to_vec()).unwrap();
                all_text.push_str(match name.as_str() {
                    "lt" => "<",
                    "gt" => ">",
                    "amp" => "&",
                    "quot" => "\"",
                    "apos" => "'",
                    other => panic!("unexpected entity &{other};"),
                });
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (elements, all_text)
}

#[test]
fn folded_stacks_match_analyzeme() {
    let f = fixture();
    for crate_name in ["alpha", "beta"] {
        let path = f.profile(&f.base_dir, crate_name);
        let ours = folded(&[&path], &[]);
        let data = ProfilingData::new(&path).unwrap();
        // measureme roots every stack in `rustc`; buildscope in the crate.
        let theirs: BTreeMap<String, u64> = collapse_stacks(&data)
            .into_iter()
            .filter(|(_, ns)| *ns > 0)
            .map(|(stack, ns)| {
                // analyzeme names an unresolvable label `<unknown>`.
                let rest = stack
                    .strip_prefix("rustc")
                    .unwrap()
                    .replace("<unknown>", "<unresolved>");
                (format!("{crate_name}{rest}"), ns)
            })
            .collect();
        let differing: Vec<_> = ours
            .keys()
            .chain(theirs.keys())
            .filter(|k| ours.get(*k) != theirs.get(*k))
            .map(|k| (k, ours.get(k), theirs.get(k)))
            .take(5)
            .collect();
        assert!(
            differing.is_empty(),
            "{crate_name} (stack, buildscope, analyzeme): {differing:?}"
        );
        assert!(ours.keys().any(|s| s.contains(";typeck")), "{ours:?}");
    }
}

#[test]
fn a_build_gets_a_root_per_crate_and_threads_get_frames() {
    let f = fixture();
    let whole = folded(&[&f.base_dir], &[]);
    let roots: std::collections::BTreeSet<&str> =
        whole.keys().map(|s| s.split(';').next().unwrap()).collect();
    assert_eq!(
        roots.into_iter().collect::<Vec<_>>(),
        [
            "___ (cargo's target probe)",
            "alpha",
            "beta",
            "build_script_build(alpha)"
        ]
    );
    let per_file: u64 = std::fs::read_dir(&f.base_dir)
        .unwrap()
        .map(|e| folded(&[&e.unwrap().path()], &[]).values().sum::<u64>())
        .sum();
    assert_eq!(whole.values().sum::<u64>(), per_file);

    let threaded = folded(&[&f.base_dir], &["--per-thread"]);
    assert!(threaded.keys().all(|s| s
        .split(';')
        .nth(1)
        .is_some_and(|frame| frame.starts_with("thread "))));
    assert_eq!(
        threaded.values().sum::<u64>(),
        per_file,
        "threads split the time, they do not add to it"
    );
}

#[test]
fn the_svg_is_well_formed_and_escapes_what_comes_from_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = hostile_profile(dir.path());
    let f = fixture();
    for flags in [&[][..], &["--icicle"][..]] {
        let svg = dir.path().join("graph.svg");
        let mut args = vec![
            "flamegraph",
            "-o",
            path_str(&svg),
            "--title",
            "<b>&title",
            path_str(&hostile),
            path_str(&f.base_dir),
        ];
        args.extend_from_slice(flags);
        buildscope_ok(&args);
        let (elements, text) = parse_svg(&svg);
        assert_eq!(elements[0], "svg");
        assert!(elements.iter().filter(|e| *e == "g").count() > 50, "frames");
        assert!(elements.iter().any(|e| e == "script"), "interactive");
        assert!(
            text.contains(HOSTILE_LABEL),
            "the label, unescaped by the parser"
        );
        assert!(text.contains("<b>&title"), "the title");
        assert!(text.contains("typeck"), "the real profiles' frames");
    }
}
