//! The flat event table: one row per interval event with its crate, kind, label, thread,
//! times, self time, nesting depth and arguments. What `export` writes and `sql` loads.
//!
//! Rows are streamed: a row is produced when its interval's children are all known (its
//! self time needs them), so memory follows the nesting depth, not the number of events.
//! Cache-hit instants and integer events are not rows; `summarize` counts them.

use buildscope_profile::{EventKind, LabelId, Payload, Profile, ProfileError};
use rustc_hash::FxHashMap;

/// One interval event. Times are nanoseconds from `origin` (the build's first profile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow<'a> {
    pub crate_name: &'a str,
    pub kind: &'a str,
    pub label: &'a str,
    pub thread: u32,
    pub start_ns: u64,
    pub end_ns: u64,
    pub self_ns: u64,
    /// 0 for a thread's outermost intervals.
    pub depth: u32,
    pub args: Vec<String>,
}

impl EventRow<'_> {
    /// The arguments as a JSON array of strings: one column, queryable (`json_each`).
    pub fn args_json(&self) -> String {
        serde_json::to_string(&self.args).expect("strings serialize")
    }
}

/// The column names, in order, for writers that need them.
pub const EVENT_COLUMNS: [&str; 10] = [
    "crate", "kind", "label", "thread", "start_ns", "end_ns", "dur_ns", "self_ns", "depth", "args",
];

struct Frame {
    start: u64,
    end: u64,
    label: LabelId,
    kind: EventKind,
    event_id: u64,
    children_ns: u64,
}

/// The name of an event kind as rustc writes it.
pub fn kind_name(profile: &Profile, kind: EventKind) -> &str {
    match kind {
        EventKind::Other(id) => profile.other_kind_name(id),
        known => known.known_name().expect("a known kind has a name"),
    }
}

/// Calls `visit` with every interval of the profile (children before their parent).
/// `origin` is the build's clock start, nanoseconds since the Unix epoch.
pub fn for_each_event_row(
    profile: &mut Profile,
    origin: u64,
    mut visit: impl FnMut(&EventRow),
) -> Result<(), ProfileError> {
    let offset = profile.metadata().start_time.saturating_sub(origin);
    let mut stacks: FxHashMap<u32, Vec<Frame>> = FxHashMap::default();
    let emit = |profile: &Profile,
                thread: u32,
                frame: Frame,
                depth: usize,
                visit: &mut dyn FnMut(&EventRow)| {
        visit(&EventRow {
            crate_name: profile.crate_name(),
            kind: kind_name(profile, frame.kind),
            label: profile.label(frame.label),
            thread,
            start_ns: offset + frame.start,
            end_ns: offset + frame.end,
            self_ns: (frame.end - frame.start).saturating_sub(frame.children_ns),
            depth: depth as u32,
            args: profile.event_args(frame.event_id).unwrap_or_default(),
        })
    };
    let mut walk = |profile: &Profile, events: &[buildscope_profile::Event]| {
        for event in events {
            let Payload::Interval { start, end } = event.payload else {
                continue;
            };
            let stack = stacks.entry(event.thread_id).or_default();
            while let Some(top) = stack.last() {
                if top.start <= start && end <= top.end {
                    break;
                }
                let done = stack.pop().expect("non-empty");
                emit(profile, event.thread_id, done, stack.len(), &mut visit);
            }
            if let Some(parent) = stack.last_mut() {
                parent.children_ns += end - start;
            }
            stack.push(Frame {
                start,
                end,
                label: event.label,
                kind: event.kind,
                event_id: event.event_id,
                children_ns: 0,
            });
        }
    };
    profile.for_each_batch_rev(&mut walk)?;
    // What is still open closes at the end.
    let profile = &*profile;
    for (thread, stack) in stacks.iter_mut() {
        while let Some(done) = stack.pop() {
            emit(profile, *thread, done, stack.len(), &mut visit);
        }
    }
    Ok(())
}
