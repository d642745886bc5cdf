//! The most expensive single invocations of a profile: not aggregates, but the one
//! `evaluate_obligation` among 31,000 that took 40 s, with the arguments rustc recorded.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rustc_hash::FxHashMap;
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
    let mut collector = TopCollector::new(rank, lists);
    if collector.wants_events() {
        profile.for_each_batch_rev(|profile, events| {
            for event in events {
                collector.visit(profile, event);
            }
        })?;
    }
    Ok(collector.finish(profile, &vec![true; lists.len()]))
}

/// [`top_invocations_by`]'s walk, one event at a time (last to first), so that another walk
/// can share the decoding of the same events ([`crate::summarize_with_invocations`]).
pub struct TopCollector<'a> {
    lists: &'a [(LabelFilter<'a>, usize)],
    /// Per label id: which lists take it (a bit each), once known.
    accepts: Vec<Option<u64>>,
    /// Open intervals per thread, each with the lists its label goes to.
    stacks: FxHashMap<u32, Vec<(Frame, u64)>>,
    ranked: Ranked<'a>,
}

/// The running top lists.
struct Ranked<'a> {
    rank: RankBy,
    lists: &'a [(LabelFilter<'a>, usize)],
    kinds: Vec<EventKind>,
    heaps: Vec<BinaryHeap<Reverse<Candidate>>>,
    order: u64,
}

impl<'a> TopCollector<'a> {
    pub fn new(rank: RankBy, lists: &'a [(LabelFilter<'a>, usize)]) -> TopCollector<'a> {
        assert!(lists.len() <= 64, "at most 64 lists");
        TopCollector {
            lists,
            accepts: Vec::new(),
            stacks: FxHashMap::default(),
            ranked: Ranked {
                rank,
                lists,
                kinds: Vec::new(),
                heaps: lists.iter().map(|_| BinaryHeap::new()).collect(),
                order: 0,
            },
        }
    }

    /// Whether any list takes anything (a walk for none is not needed).
    pub fn wants_events(&self) -> bool {
        self.lists.iter().any(|(_, n)| *n > 0)
    }

    /// One event, in reverse file order, with its profile at hand for its label.
    pub fn visit(&mut self, profile: &Profile, event: &buildscope_profile::Event) {
        let Payload::Interval { start, end } = event.payload else {
            return;
        };
        let label = event.label.0 as usize;
        if label >= self.accepts.len() {
            self.accepts.resize(label + 1, None);
        }
        let lists = self.lists;
        let mask = *self.accepts[label].get_or_insert_with(|| {
            let text = profile.label(event.label);
            lists
                .iter()
                .enumerate()
                .filter(|(_, (keep, n))| *n > 0 && keep(text))
                .fold(0u64, |mask, (i, _)| mask | 1 << i)
        });
        let stack = self.stacks.entry(event.thread_id).or_default();
        while let Some((top, _)) = stack.last() {
            if top.start <= start && end <= top.end {
                break;
            }
            let (frame, mask) = stack.pop().expect("non-empty");
            if mask != 0 {
                self.ranked.offer(frame, mask);
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
}

impl Ranked<'_> {
    fn offer(&mut self, frame: Frame, mask: u64) {
        let duration = frame.end - frame.start;
        let self_time = duration.saturating_sub(frame.children);
        let key = match self.rank {
            RankBy::Duration => duration,
            RankBy::SelfTime => self_time,
        };
        self.order += 1;
        for (list, heap) in self.heaps.iter_mut().enumerate() {
            if mask & (1 << list) == 0 {
                continue;
            }
            let n = self.lists[list].1;
            if heap.len() >= n {
                match heap.peek() {
                    Some(Reverse(smallest)) if smallest.key < key => {
                        heap.pop();
                    }
                    _ => continue,
                }
            }
            let kind_index = match self.kinds.iter().position(|k| *k == frame.kind) {
                Some(i) => i,
                None => {
                    self.kinds.push(frame.kind);
                    self.kinds.len() - 1
                }
            } as u16;
            heap.push(Reverse(Candidate {
                key,
                order: Reverse(self.order),
                duration,
                self_time,
                start: frame.start,
                thread: frame.thread,
                event_id: frame.event_id,
                label: frame.label,
                kind_index,
            }));
        }
    }
}

impl TopCollector<'_> {
    /// Each list, largest first; a list `keep` turns down is empty (its arguments are never
    /// decoded).
    pub fn finish(mut self, profile: &Profile, keep: &[bool]) -> Vec<Vec<Invocation>> {
        for (_, stack) in self.stacks.drain() {
            for (frame, mask) in stack.into_iter().rev() {
                if mask != 0 {
                    self.ranked.offer(frame, mask);
                }
            }
        }
        let kinds = self.ranked.kinds;
        self.ranked
            .heaps
            .into_iter()
            .enumerate()
            .map(|(list, heap)| {
                if !keep.get(list).copied().unwrap_or(false) {
                    return Vec::new();
                }
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
            .collect()
    }
}

/// One walk over a profile for its summary and its top lists together (the events decoded
/// once); `keep` says, from the summary, which lists are worth their arguments.
pub fn summarize_with_invocations(
    profile: &mut Profile,
    rank: RankBy,
    lists: &[(LabelFilter, usize)],
    keep: impl FnOnce(&crate::ProfileSummary) -> Vec<bool>,
) -> Result<(crate::ProfileSummary, Vec<Vec<Invocation>>), ProfileError> {
    let mut summary = crate::summary::SummaryBuilder::default();
    let mut collector = TopCollector::new(rank, lists);
    profile.for_each_batch_rev(|profile, events| {
        for event in events {
            summary.visit(event);
            collector.visit(profile, event);
        }
    })?;
    let summary = summary.finish(profile);
    let keep = keep(&summary);
    let lists = collector.finish(profile, &keep);
    Ok((summary, lists))
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
