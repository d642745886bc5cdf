//! A profile formatted by two threads (its pages split, the second half appended from a
//! scratch file) gives the same trace, byte for byte, as one thread: with and without a
//! size limit. The profile is a real one, from rustc.

use std::path::PathBuf;

use buildscope_output::{write_trace, TraceOptions};

fn real_profile(dir: &std::path::Path) -> PathBuf {
    buildscope_testkit::rustc_profile(
        dir,
        "split",
        "use std::collections::BTreeMap;\n\
         pub fn words(text: &str) -> BTreeMap<String, usize> {\n\
             let mut m = BTreeMap::new();\n\
             for w in text.split_whitespace() { *m.entry(w.to_lowercase()).or_insert(0) += 1; }\n\
             m\n\
         }\n\
         pub fn show<T: std::fmt::Debug>(v: &[T]) -> String { format!(\"{v:?}\") }\n",
        "default,args",
    )
}

fn trace(files: &[PathBuf], options: &TraceOptions) -> Vec<u8> {
    let mut out = tempfile::tempfile().unwrap();
    write_trace(files, &mut out, options).unwrap();
    use std::io::{Read, Seek};
    out.seek(std::io::SeekFrom::Start(0)).unwrap();
    let mut bytes = Vec::new();
    out.read_to_end(&mut bytes).unwrap();
    bytes
}

#[test]
fn two_threads_write_what_one_writes() {
    let dir = tempfile::tempdir().unwrap();
    let files = vec![real_profile(dir.path())];
    let pages = buildscope_profile::Profile::open(&files[0])
        .unwrap()
        .event_pages();
    assert!(pages >= 2, "a profile of {pages} page(s) cannot be split");
    for max_bytes in [None, Some(200_000)] {
        let serial = trace(
            &files,
            &TraceOptions {
                min_duration_ns: 0,
                collapse_threads: false,
                max_bytes,
                split_pages: usize::MAX,
            },
        );
        let split = trace(
            &files,
            &TraceOptions {
                min_duration_ns: 0,
                collapse_threads: false,
                max_bytes,
                split_pages: 2,
            },
        );
        assert!(serial.len() > 10_000);
        assert!(
            serial == split,
            "the split trace differs (limit {max_bytes:?})"
        );
        let events: Vec<serde_json::Value> = serde_json::from_slice(&split).unwrap();
        assert!(
            events.iter().any(|e| e["ph"] == "C"),
            "counters survive the merge"
        );
    }
}
