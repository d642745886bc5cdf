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

/// The `n` largest invocations whose label `keep` accepts (all when `None`).
pub fn top_invocations_where(
    profile: &mut Profile,
    n: usize,
    rank: RankBy,
    keep: Option<&dyn Fn(&str) -> bool>,
) -> Result<Vec<Invocation>, ProfileError> {
    let all = |_: &str| true;
    let keep: &dyn Fn(&str) -> bool = keep.unwrap_or(&all);
    let mut found = top_invocations_by(profile, rank, &[(keep, n)])?;
    Ok(found.pop().unwrap_or_default())
}

/// Which labels a top list takes.
pub type LabelFilter<'a> = &'a dyn Fn(&str) -> bool;

/// Several top lists in one walk over the profile: for each `(keep, n)`, the `n` largest
/// invocations whose label `keep` accepts (an invocation may be in several lists). Labels
/// are classified once each, when first seen.
pub fn top_invocations_by(
    profile: &mut Profile,
    rank: RankBy,
    lists: &[(LabelFilter, usize)],
) -> Result<Vec<Vec<Invocation>>, ProfileError> {
    // Per label id: which lists take it (a bit each), once known.
    let mut accepts: Vec<Option<u64>> = Vec::new();
    assert!(lists.len() <= 64, "at most 64 lists");
    let mut kinds: Vec<EventKind> = Vec::new();
    let mut heaps: Vec<BinaryHeap<Reverse<Candidate>>> =
        lists.iter().map(|_| BinaryHeap::new()).collect();
    let mut order = 0u64;
    let mut offer = |frame: Frame, mask: u64, heaps: &mut [BinaryHeap<Reverse<Candidate>>]| {
        let duration = frame.end - frame.start;
        let self_time = duration.saturating_sub(frame.children);
        let key = match rank {
            RankBy::Duration => duration,
            RankBy::SelfTime => self_time,
        };
        order += 1;
        for (list, heap) in heaps.iter_mut().enumerate() {
            if mask & (1 << list) == 0 {
                continue;
            }
            let n = lists[list].1;
            if heap.len() >= n {
                match heap.peek() {
                    Some(Reverse(smallest)) if smallest.key < key => {
                        heap.pop();
                    }
                    _ => continue,
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
        }
    };

    // Open intervals per thread, each with the lists its label goes to.
    let mut stacks: HashMap<u32, Vec<(Frame, u64)>> = HashMap::new();
    if lists.iter().any(|(_, n)| *n > 0) {
        profile.for_each_batch_rev(|profile, events| {
            for event in events {
                let Payload::Interval { start, end } = event.payload else {
                    continue;
                };
                let label = event.label.0 as usize;
                if label >= accepts.len() {
                    accepts.resize(label + 1, None);
                }
                let mask = *accepts[label].get_or_insert_with(|| {
                    let text = profile.label(event.label);
                    lists
                        .iter()
                        .enumerate()
                        .filter(|(_, (keep, n))| *n > 0 && keep(text))
                        .fold(0u64, |mask, (i, _)| mask | 1 << i)
                });
                let stack = stacks.entry(event.thread_id).or_default();
                while let Some((top, _)) = stack.last() {
                    if top.start <= start && end <= top.end {
                        break;
                    }
                    let (frame, mask) = stack.pop().expect("non-empty");
                    if mask != 0 {
                        offer(frame, mask, &mut heaps);
                    }
                }
                if let Some((parent, _)) = stack.last_mut() {
                    parent.children += end - start;
                }
                stack.push((
                    Frame {
                        start,
                        end,
                        children: 0,
                        label: event.label,
                        kind: event.kind,
                        thread: event.thread_id,
                        event_id: event.event_id,
                    },
                    mask,
                ));
            }
        })?;
    }
    for (_, stack) in stacks.drain() {
        for (frame, mask) in stack.into_iter().rev() {
            if mask != 0 {
                offer(frame, mask, &mut heaps);
            }
        }
    }

    Ok(heaps
        .into_iter()
        .map(|heap| {
            let mut found: Vec<Candidate> = heap.into_iter().map(|Reverse(c)| c).collect();
            found.sort_by(|a, b| b.cmp(a));
            found
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
                .collect()
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
