//! Edge cases rustc rarely shows on a small crate, in profiles written with the `measureme`
//! crate (the writer rustc itself uses): recursion, both kinds of cache hits, labels the
//! string table cannot resolve, and arguments.

use std::path::{Path, PathBuf};
use std::time::Duration;

use buildscope_analysis::summarize_profile;
use buildscope_profile::{Payload, Profile};
use measureme::{EventId, EventIdBuilder, Profiler, StringId};

fn spin(d: Duration) {
    // Sleep granularity is coarse; a short busy wait gives distinct, non-zero intervals.
    let start = std::time::Instant::now();
    while start.elapsed() < d {}
}

fn write_profile(dir: &Path) -> PathBuf {
    let stem = dir.join("synthetic-4242");
    let p = Profiler::new(&stem).unwrap();
    let query = p.alloc_string("Query");
    let hit = p.alloc_string("QueryCacheHit");
    let hit_count = p.alloc_string("QueryCacheHitCount");
    let generic = p.alloc_string("GenericActivity");
    let typeck = p.alloc_string("typeck");
    let type_of = p.alloc_string("type_of");
    let expand = p.alloc_string("expand_proc_macro");
    let call_site = p.alloc_string("#[derive(serde::Serialize)] src/main.rs:1:10: 1:26");
    let builder = EventIdBuilder::new(&p);

    {
        // typeck inside typeck inside an activity: recursion of one label.
        let _outer = p.start_recording_interval_event(generic, EventId::from_label(expand), 1);
        spin(Duration::from_millis(2));
        let _t1 = p.start_recording_interval_event(query, EventId::from_label(typeck), 1);
        spin(Duration::from_millis(2));
        {
            let _t2 = p.start_recording_interval_event(query, EventId::from_label(typeck), 1);
            spin(Duration::from_millis(3));
        }
        spin(Duration::from_millis(1));
    }
    {
        // An event with an argument.
        let id = builder.from_label_and_arg(expand, call_site);
        let _e = p.start_recording_interval_event(generic, id, 2);
        spin(Duration::from_millis(1));
    }
    {
        // A virtual id the string table never maps: its label cannot be resolved.
        let _u = p.start_recording_interval_event(
            query,
            EventId::from_virtual(StringId::new_virtual(77u64)),
            2,
        );
        spin(Duration::from_millis(1));
    }
    // type_of: three hit instants and no count; typeck: two instants, then a count of 5,
    // which (as in measureme) replaces the instants.
    for _ in 0..3 {
        p.record_instant_event(hit, EventId::from_label(type_of), 1);
    }
    for _ in 0..2 {
        p.record_instant_event(hit, EventId::from_label(typeck), 1);
    }
    p.record_integer_event(hit_count, EventId::from_label(typeck), 1, 5);
    drop(p);
    stem.with_extension("mm_profdata")
}

#[test]
fn recursion_hits_unresolved_labels_and_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_profile(dir.path());
    let mut profile = Profile::open(&path).unwrap();
    assert_eq!(profile.crate_name(), "synthetic");
    let summary = summarize_profile(&mut profile).unwrap();
    let row = |label: &str| {
        summary
            .rows
            .iter()
            .find(|r| r.label == label)
            .unwrap()
            .clone()
    };

    let typeck = row("typeck");
    assert_eq!(typeck.count, 2);
    // Time counts the outer typeck once: it equals the two self times together.
    assert_eq!(typeck.time_ns, typeck.self_time_ns);
    assert!(typeck.time_ns >= 6_000_000, "{typeck:?}");
    // measureme counts the nested interval again.
    let measureme = analyzeme::ProfilingData::new(&path)
        .unwrap()
        .perform_analysis();
    let mm_typeck = measureme
        .query_data
        .iter()
        .find(|q| q.label == "typeck")
        .unwrap();
    assert!(mm_typeck.time.as_nanos() as u64 > typeck.time_ns);
    assert_eq!(mm_typeck.self_time.as_nanos() as u64, typeck.self_time_ns);

    assert_eq!(typeck.cache_hits, 5);
    assert_eq!(row("type_of").cache_hits, 3);
    assert_eq!(row("type_of").count, 0);

    let unresolved = row("<unresolved>");
    assert_eq!(unresolved.count, 1);
    assert_eq!(summary.unresolved_events, 1);

    // Two expand_proc_macro events: one plain, one with an argument; both under one label.
    assert_eq!(row("expand_proc_macro").count, 2);
    let mut args = Vec::new();
    let mut event_ids = Vec::new();
    profile
        .for_each_event(|e| {
            if matches!(e.payload, Payload::Interval { .. }) && e.thread_id == 2 {
                event_ids.push(e.event_id);
            }
        })
        .unwrap();
    for id in event_ids {
        if let Some(a) = profile.event_args(id) {
            args.extend(a);
        }
    }
    assert_eq!(
        args,
        vec!["#[derive(serde::Serialize)] src/main.rs:1:10: 1:26".to_string()]
    );
}
