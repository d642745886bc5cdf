//! Prints the shape of a profile: events, labels, kinds. A quick look for developers.
use buildscope_profile::{Payload, Profile};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for path in std::env::args().skip(1) {
        let t = std::time::Instant::now();
        let mut profile = Profile::open(&path)?;
        let opened = t.elapsed();
        let (mut intervals, mut instants, mut integers, mut unresolved) = (0u64, 0u64, 0u64, 0u64);
        profile.for_each_event_rev(|e| {
            match e.payload {
                Payload::Interval { .. } => intervals += 1,
                Payload::Instant(_) => instants += 1,
                Payload::Integer(_) => integers += 1,
            }
            if e.label == buildscope_profile::UNRESOLVED_LABEL {
                unresolved += 1;
            }
        })?;
        println!(
            "{path}: crate {} events {} (intervals {intervals}, instants {instants}, integers {integers}), labels {}, unresolved {unresolved}; open {:?}, total {:?}",
            profile.crate_name(),
            profile.event_count(),
            profile.labels().len(),
            opened,
            t.elapsed()
        );
    }
    Ok(())
}
