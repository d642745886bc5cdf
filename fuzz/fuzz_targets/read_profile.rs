//! Feeds arbitrary bytes to the profile reader and the summary: any input must end in a
//! summary or a `ProfileError`, never a panic, a hang or an overflow.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The reader takes a path (it reads pages with positioned reads), so the input goes to
    // a file in memory-backed /dev/shm when there is one.
    let dir = if std::path::Path::new("/dev/shm").is_dir() { "/dev/shm" } else { "/tmp" };
    let path = std::path::PathBuf::from(format!("{dir}/buildscope-fuzz-{}.mm_profdata", std::process::id()));
    std::fs::File::create(&path).unwrap().write_all(data).unwrap();
    if let Ok(mut profile) = buildscope_profile::Profile::open(&path) {
        if let Ok(summary) = buildscope_analysis::summarize_profile(&mut profile) {
            for row in &summary.rows {
                assert!(row.label.len() <= 1 << 20);
            }
        }
        let _ = profile.event_args(0);
        // Arguments as the trace writer reads them: addresses, then bytes.
        let mut addrs = Vec::new();
        let mut bytes = Vec::new();
        // The second half of the pages through a shared handle, as the two-thread trace does.
        if let Ok(mut shared) = profile.share() {
            let pages = shared.event_pages();
            let _ = shared.for_each_batch_in(pages / 2..pages, |p, events| {
                for event in events.iter().take(16) {
                    let _ = p.label(event.label);
                }
            });
            // A range past the end reads nothing.
            let _ = shared.for_each_batch_in(pages..pages + 3, |_, events| assert!(events.is_empty()));
        }
        let _ = profile.for_each_batch(|profile, events| {
            for event in events.iter().take(64) {
                let _ = profile.event_args(event.event_id);
                if profile.event_arg_addrs(event.event_id, &mut addrs) {
                    for &addr in &addrs {
                        bytes.clear();
                        profile.arg_bytes(addr, &mut bytes);
                        assert!(bytes.len() <= 2 << 20);
                    }
                }
            }
        });
    }
});
