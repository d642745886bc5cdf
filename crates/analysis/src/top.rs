//! The most expensive single invocations of a profile: not aggregates, but the one
//! `evaluate_obligation` among 31,000 that took 40 s, with the arguments rustc recorded.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::PathBuf;

use buildscope_profile::{EventKind, LabelId, Payload, Profile, ProfileError};
use serde::{Deserialize, Serialize};

use crate::events::kind_name;

/// One invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invocation {
    pub label: String,
    /// `Query`, `GenericActivity`, ... as the profile names the kind.
    pub kind: String,
    #[serde(rename = "crate")]
    pub crate_name: String,
    pub thread_id: u32,
    /// Nanoseconds from the start of the profile.
    pub start_ns: u64,
    pub duration_ns: u64,
    /// Duration minus the direct children on the same thread.
    pub self_time_ns: u64,
    /// What rustc recorded with it (`-Zself-profile-events=args`): the item, type or macro.
    pub args: Vec<String>,
    pub profile: PathBuf,
}

/// Which figure ranks invocations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankBy {
    Duration,
    SelfTime,
}

/// An interval on a thread's stack, waiting for its children to be counted.
struct Frame {
    start: u64,
    end: u64,
    children: u64,
    label: LabelId,
    kind: EventKind,
    thread: u32,
    event_id: u64,
}

/// A finished frame in the running top list. Ordered by the ranked figure, then by walk
/// order so ties are stable.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    key: u64,
    order: Reverse<u64>,
    duration: u64,
    self_time: u64,
    start: u64,
    thread: u32,
    event_id: u64,
    label: LabelId,
    kind_index: u16,
}

/// The `n` largest invocations of one profile, optionally only those whose label
/// contains `label_filter`.
pub fn top_invocations(
    profile: &mut Profile,
    n: usize,
    rank: RankBy,
    label_filter: Option<&str>,
) -> Result<Vec<Invocation>, ProfileError> {
    match label_filter {
        None => top_invocations_where(profile, n, rank, None),
        Some(text) => top_invocations_where(profile, n, rank, Some(&|l: &str| l.contains(text))),
    }
}

/// Like [`top_invocations`], keeping only labels for which `keep` says yes.
pub fn top_invocations_where(
    profile: &mut Profile,
    n: usize,
    rank: RankBy,
    keep: Option<&dyn Fn(&str) -> bool>,
) -> Result<Vec<Invocation>, ProfileError> {
    // Which labels count: known only once every label is interned, so a filter costs a
    // first walk that only interns.
    let allowed: Option<Vec<bool>> = match keep {
        None => None,
        Some(keep) => {
            profile.for_each_event(|_| {})?;
            Some(profile.labels().iter().map(|l| keep(l)).collect())
        }
    };
    let mut kinds: Vec<EventKind> = Vec::new();
    let mut heap: BinaryHeap<Reverse<Candidate>> = BinaryHeap::new();
    let mut order = 0u64;
    let mut offer = |frame: Frame, heap: &mut BinaryHeap<Reverse<Candidate>>| {
        if let Some(allowed) = &allowed {
            if !allowed
                .get(frame.label.0 as usize)
                .copied()
                .unwrap_or(false)
            {
                return;
            }
        }
        let duration = frame.end - frame.start;
        let self_time = duration.saturating_sub(frame.children);
        let key = match rank {
            RankBy::Duration => duration,
            RankBy::SelfTime => self_time,
        };
        order += 1;
        if heap.len() >= n {
            match heap.peek() {
                Some(Reverse(smallest)) if smallest.key < key => {
                    heap.pop();
                }
                _ => return,
            }
        }
        let kind_index = match kinds.iter().position(|k| *k == frame.kind) {
            Some(i) => i,
            None => {
                kinds.push(frame.kind);
                kinds.len() - 1
            }
        } as u16;
        heap.push(Reverse(Candidate {
            key,
            order: Reverse(order),
            duration,
            self_time,
            start: frame.start,
            thread: frame.thread,
            event_id: frame.event_id,
            label: frame.label,
            kind_index,
        }));
    };

    let mut stacks: HashMap<u32, Vec<Frame>> = HashMap::new();
    if n > 0 {
        profile.for_each_event_rev(|event| {
            let Payload::Interval { start, end } = event.payload else {
                return;
            };
            let stack = stacks.entry(event.thread_id).or_default();
            while let Some(top) = stack.last() {
                if top.start <= start && end <= top.end {
                    break;
                }
                let frame = stack.pop().expect("non-empty");
                offer(frame, &mut heap);
            }
            if let Some(parent) = stack.last_mut() {
                parent.children += end - start;
            }
            stack.push(Frame {
                start,
                end,
                children: 0,
                label: event.label,
                kind: event.kind,
                thread: event.thread_id,
                event_id: event.event_id,
            });
        })?;
    }
    for (_, stack) in stacks.drain() {
        for frame in stack.into_iter().rev() {
            offer(frame, &mut heap);
        }
    }

    let mut found: Vec<Candidate> = heap.into_iter().map(|Reverse(c)| c).collect();
    found.sort_by(|a, b| b.cmp(a));
    Ok(found
        .into_iter()
        .map(|c| Invocation {
            label: profile.label(c.label).to_string(),
            kind: kind_name(profile, kinds[c.kind_index as usize]).to_string(),
            crate_name: profile.crate_name().to_string(),
            thread_id: c.thread,
            start_ns: c.start,
            duration_ns: c.duration,
            self_time_ns: c.self_time,
            args: profile.event_args(c.event_id).unwrap_or_default(),
            profile: profile.path().to_path_buf(),
        })
        .collect())
}

/// The top invocations over many profiles (on up to `jobs` threads), largest first.
pub fn top_invocations_of_files(
    files: &[PathBuf],
    jobs: usize,
    n: usize,
    rank: RankBy,
    label_filter: Option<&str>,
) -> Result<Vec<Invocation>, ProfileError> {
    let per_file = crate::summary::map_files(files, jobs, |path| {
        let mut profile = Profile::open(path)?;
        top_invocations(&mut profile, n, rank, label_filter)
    })?;
    let mut all: Vec<Invocation> = per_file.into_iter().flatten().collect();
    let key = |i: &Invocation| match rank {
        RankBy::Duration => i.duration_ns,
        RankBy::SelfTime => i.self_time_ns,
    };
    all.sort_by_key(|i| std::cmp::Reverse(key(i)));
    all.truncate(n);
    Ok(all)
}
