//! Bad input: a one-line error naming the file and the reason, exit status 2, no panic.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{buildscope, fixture, path_str};

fn scratch() -> PathBuf {
    common::scratch_dir("buildscope-bad-")
}

fn assert_clean_error(out: &Output, names: &Path, reason: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "exit status; stderr: {stderr}");
    assert!(out.stdout.is_empty(), "nothing on stdout");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(path_str(names)), "names the file: {stderr}");
    assert!(stderr.contains(reason), "says {reason:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn summarize(path: &Path) -> Output {
    buildscope(&["summarize", path_str(path)])
}

/// A real profile's pages, to build broken variants from.
fn real_profile_bytes() -> Vec<u8> {
    let f = fixture();
    std::fs::read(f.profile(&f.base_dir, "alpha")).unwrap()
}

/// Rewrites a profile keeping only the pages `keep` accepts (by page tag).
fn filter_pages(bytes: &[u8], keep: impl Fn(u8) -> bool) -> Vec<u8> {
    let mut out = bytes[..8].to_vec();
    let mut pos = 8;
    while pos < bytes.len() {
        let len = u32::from_le_bytes(bytes[pos + 1..pos + 5].try_into().unwrap()) as usize;
        if keep(bytes[pos]) {
            out.extend_from_slice(&bytes[pos..pos + 5 + len]);
        }
        pos += 5 + len;
    }
    out
}

#[test]
fn empty_file() {
    let dir = scratch();
    let path = dir.join("empty.mm_profdata");
    std::fs::write(&path, b"").unwrap();
    assert_clean_error(&summarize(&path), &path, "empty file");
}

#[test]
fn wrong_magic() {
    let dir = scratch();
    let path = dir.join("notes.txt");
    std::fs::write(&path, b"hello, this is not a profile at all\n").unwrap();
    assert_clean_error(&summarize(&path), &path, "not a rustc self-profile");
}

#[test]
fn unsupported_version() {
    let dir = scratch();
    let path = dir.join("v8.mm_profdata");
    let mut bytes = real_profile_bytes();
    bytes[4..8].copy_from_slice(&8u32.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    assert_clean_error(
        &summarize(&path),
        &path,
        "unsupported self-profile format version 8",
    );
}

#[test]
fn truncated_at_every_kind_of_place() {
    let dir = scratch();
    let bytes = real_profile_bytes();
    for cut in [4, 8 + 3, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        let path = dir.join(format!("cut-{cut}.mm_profdata"));
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let out = summarize(&path);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("truncated") || stderr.contains("has no"),
            "cut at {cut}: {stderr}"
        );
        assert_clean_error(&out, &path, "");
    }
}

#[test]
fn corrupt_pages_and_events() {
    let dir = scratch();
    let bytes = real_profile_bytes();

    let path = dir.join("bad-tag.mm_profdata");
    let mut bad_tag = bytes.clone();
    bad_tag[8] = 7;
    std::fs::write(&path, &bad_tag).unwrap();
    assert_clean_error(&summarize(&path), &path, "unknown page tag 7");

    // Garbage over the whole body: whatever it decodes to, a clean error or a result.
    let path = dir.join("garbage.mm_profdata");
    let mut garbage = bytes.clone();
    let mut x: u32 = 0x9e37_79b9;
    for b in garbage[8..].iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    std::fs::write(&path, &garbage).unwrap();
    let out = summarize(&path);
    assert_clean_error(&out, &path, "");

    // Flip bytes inside event records only: intervals that end before they start.
    let path = dir.join("backwards.mm_profdata");
    let mut backwards = bytes.clone();
    let mut pos = 8;
    while pos < backwards.len() {
        let len = u32::from_le_bytes(backwards[pos + 1..pos + 5].try_into().unwrap()) as usize;
        if backwards[pos] == 0 {
            // Skip the stream header, then make every event's end lower word 0 and start huge.
            let body = pos
                + 5
                + if pos == first_event_page(&bytes) {
                    8
                } else {
                    0
                };
            let mut e = body;
            while e + 32 <= pos + 5 + len {
                backwards[e + 20..e + 24].copy_from_slice(&u32::MAX.to_le_bytes());
                backwards[e + 24..e + 28].copy_from_slice(&0u32.to_le_bytes());
                backwards[e + 28..e + 32].copy_from_slice(&0u32.to_le_bytes());
                e += 32;
            }
        }
        pos += 5 + len;
    }
    std::fs::write(&path, &backwards).unwrap();
    assert_clean_error(&summarize(&path), &path, "ends");
}

fn first_event_page(bytes: &[u8]) -> usize {
    let mut pos = 8;
    loop {
        if bytes[pos] == 0 {
            return pos;
        }
        pos += 5 + u32::from_le_bytes(bytes[pos + 1..pos + 5].try_into().unwrap()) as usize;
    }
}

#[test]
fn missing_string_table() {
    let dir = scratch();
    let bytes = real_profile_bytes();
    let path = dir.join("no-strings.mm_profdata");
    std::fs::write(&path, filter_pages(&bytes, |tag| tag != 1)).unwrap();
    assert_clean_error(&summarize(&path), &path, "has no string table");
    let path = dir.join("no-index.mm_profdata");
    std::fs::write(&path, filter_pages(&bytes, |tag| tag != 2)).unwrap();
    assert_clean_error(&summarize(&path), &path, "has no string table");
    let path = dir.join("no-events.mm_profdata");
    std::fs::write(&path, filter_pages(&bytes, |tag| tag != 0)).unwrap();
    assert_clean_error(&summarize(&path), &path, "has no event stream");
}

#[test]
fn directories_and_paths_that_hold_nothing() {
    let dir = scratch();
    let empty = dir.join("no-profiles-here");
    std::fs::create_dir_all(empty.join("sub")).unwrap();
    std::fs::write(empty.join("sub/readme.txt"), "x").unwrap();
    assert_clean_error(&summarize(&empty), &empty, "no .mm_profdata files");

    let missing = dir.join("does-not-exist.mm_profdata");
    assert_clean_error(&summarize(&missing), &missing, "No such file");

    let out = buildscope(&["diff", path_str(&missing), path_str(&missing)]);
    assert_clean_error(&out, &missing, "No such file");
}

#[test]
fn a_broken_saved_summary() {
    let dir = scratch();
    let path = dir.join("summary.json");
    std::fs::write(&path, "{\"schema\": \"something-else/9\", \"rows\": []}").unwrap();
    assert_clean_error(
        &buildscope(&["diff", path_str(&path), path_str(&path)]),
        &path,
        "summary schema",
    );
    std::fs::write(&path, "{ not json").unwrap();
    assert_clean_error(
        &buildscope(&["diff", path_str(&path), path_str(&path)]),
        &path,
        "not a buildscope summary",
    );
}

#[test]
fn bad_arguments_exit_2_with_usage() {
    let out = buildscope(&["summarize", "--min-percent", "140", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a percentage"));
    let out = buildscope(&["summarize"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let f = fixture();
    let mut child = Command::new(env!("CARGO_BIN_EXE_buildscope"))
        // JSON with every crate's rows: far more than a pipe buffer holds.
        .args(["summarize", "--json", path_str(&f.base_dir)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped here: the pipe closes with most of the output unread.
    let out = child.wait_with_output().unwrap();
    assert_eq!(first.trim(), "{");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{:?}", out.status);
}

/// Every command that reads profiles fails the same clean way on a broken one, and a
/// trace that cannot be finished leaves whatever was at its output path untouched.
#[test]
fn every_profile_reader_reports_a_broken_profile_in_one_line() {
    let dir = scratch();
    let broken = dir.join("broken-1234.mm_profdata");
    let bytes = real_profile_bytes();
    std::fs::write(&broken, &bytes[..bytes.len() / 2]).unwrap();
    let missing = dir.join("missing.mm_profdata");
    let out_path = dir.join("out.file");
    std::fs::write(&out_path, "previous contents").unwrap();
    let out = path_str(&out_path);
    let commands: Vec<Vec<&str>> = vec![vec!["trace", "-o", out], vec!["top"]];
    for command in &commands {
        for (input, reason) in [(&broken, "truncated"), (&missing, "No such file")] {
            let mut args = command.clone();
            args.push(path_str(input));
            assert_clean_error(&buildscope(&args), input, reason);
            assert_eq!(
                std::fs::read_to_string(&out_path).unwrap(),
                "previous contents",
                "{command:?} left its output alone"
            );
        }
    }
    let unwritable = dir.join("no-such-dir/trace.json");
    let f = fixture();
    assert_clean_error(
        &buildscope(&["trace", "-o", path_str(&unwritable), path_str(&f.base_dir)]),
        &unwritable,
        "cannot create",
    );
}

#[test]
fn a_history_url_is_never_taken_for_a_file() {
    let dir = scratch();
    // A server that cannot be reached: one line naming it, nothing created on disk.
    let url = "postgres://ci@db.invalid/buildscope";
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_buildscope"))
        .args(["runs", "--all"])
        .current_dir(&dir)
        .env("BUILDSCOPE_DB", url)
        .output()
        .unwrap();
    assert_clean_error(&out, Path::new(url), "");
    assert!(!dir.join("postgres:").exists());
    // Another engine's URL is refused as such.
    let url = "mysql://ci@db.invalid/buildscope";
    let out = buildscope(&["runs", "--db", url]);
    assert_clean_error(
        &out,
        Path::new(url),
        "a SQLite file's path or a postgres:// URL",
    );
}
