//! The query trace, rebuilt from self-profile data: per thread, a tree of query
//! invocations where a miss (a query that ran) is a box holding the queries it asked for,
//! and a cache hit is a leaf. What the old `-Z profile-queries` showed, without keeping
//! millions of nodes: the walk is streamed, and only the nodes worth showing are kept.
//!
//! For each node: depth, extent (how many direct children: the queries it asked for, hit
//! or missed), self and total duration. A node with a huge extent is what makes
//! incremental re-checking expensive: every one of its inputs is re-validated.

use std::path::PathBuf;

use buildscope_profile::{EventKind, LabelId, Payload, Profile, ProfileError};
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::summary::map_files;

/// Which nodes are "important": labelled and shown; the rest are folded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Importance {
    /// Nodes with at least this many direct children.
    pub min_extent: u64,
    /// Nodes whose total duration is at least this percent of all query time.
    pub min_percent: f64,
    /// At most this many nodes kept per profile, largest extents and durations first
    /// (a bound on memory and on the size of the HTML view).
    pub max_nodes: usize,
}

impl Default for Importance {
    fn default() -> Importance {
        Importance {
            min_extent: 6,
            min_percent: 1.0,
            max_nodes: 20_000,
        }
    }
}

/// One provider (query name) over all its invocations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QueryCount {
    pub query: String,
    /// Invocations that ran (cache misses).
    pub count: u64,
    pub hits: u64,
    /// Time in its invocations, an invocation nested in one of the same query counted once.
    pub total_ns: u64,
    /// Time not in child queries (activities a query runs itself stay in it).
    pub self_ns: u64,
    /// The largest extent of any of its invocations.
    pub max_extent: u64,
}

/// A node kept for the tree view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TreeNode {
    /// Unique within its profile; children name their parent by it.
    pub id: u64,
    pub parent: Option<u64>,
    pub query: String,
    /// The query's key, when the profile recorded arguments.
    pub args: Vec<String>,
    pub thread: u32,
    /// 0 for a thread's outermost queries.
    pub depth: u32,
    pub extent: u64,
    /// Direct children that were cache hits.
    pub hits: u64,
    pub self_ns: u64,
    pub total_ns: u64,
    /// Nanoseconds from the profile's start.
    pub start_ns: u64,
    /// Descendants not kept, and their total time (direct children only).
    pub folded_nodes: u64,
    pub folded_ns: u64,
    /// Meets the importance rule itself (not only kept as an ancestor of one that does).
    pub important: bool,
    #[serde(skip)]
    label: LabelId,
}

/// The deepest chain of nested queries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Chain {
    pub depth: u32,
    pub thread: u32,
    /// Outermost first.
    pub queries: Vec<String>,
}

/// The query tree of one profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileQueries {
    #[serde(rename = "crate")]
    pub crate_name: String,
    pub path: PathBuf,
    pub invocations: u64,
    pub hit_leaves: u64,
    pub query_time_ns: u64,
    /// Kept nodes, each after its parent (parents first).
    pub nodes: Vec<TreeNode>,
    /// Kept nodes that were dropped for the `max_nodes` bound.
    pub nodes_dropped: u64,
    pub largest_extents: Vec<TreeNode>,
    pub deepest: Chain,
}

/// The query trees of a set of profiles, with the counts merged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryTrees {
    pub schema: &'static str,
    /// Whether individual cache hits were recorded (`-Zself-profile-events=default,query-cache-hit`);
    /// without them the tree has no hit leaves and hits come from aggregated counts.
    pub has_hit_events: bool,
    pub counts: Vec<QueryCount>,
    pub profiles: Vec<ProfileQueries>,
}

pub const QUERIES_SCHEMA: &str = "buildscope.queries/1";

/// How many of the largest extents are reported.
const LARGEST_EXTENTS: usize = 10;

struct Open {
    id: u64,
    label: LabelId,
    event_id: u64,
    start: u64,
    end: u64,
    depth: u32,
    extent: u64,
    hits: u64,
    children_ns: u64,
    folded_nodes: u64,
    folded_ns: u64,
    /// A descendant was kept: this node is kept too, to place it.
    keep: bool,
    /// The outermost open invocation of its label.
    counts_time: bool,
}

#[derive(Default)]
struct ThreadWalk {
    stack: Vec<Open>,
}

/// Builds the query tree of one profile.
pub fn query_tree(
    profile: &mut Profile,
    importance: Importance,
) -> Result<(ProfileQueries, Vec<QueryCount>, bool), ProfileError> {
    // The 1% rule needs all query time first: one cheap pass over the intervals, adding
    // up each thread's outermost queries (nested ones are inside their time already).
    let mut query_time = 0u64;
    let mut outermost: FxHashMap<u32, (u64, u64)> = FxHashMap::default();
    profile.for_each_event_rev(|event| {
        if let (EventKind::Query, Payload::Interval { start, end }) = (event.kind, event.payload) {
            let open = outermost.entry(event.thread_id).or_insert((u64::MAX, 0));
            if !(open.0 <= start && end <= open.1) {
                query_time += end - start;
                *open = (start, end);
            }
        }
    })?;
    let threshold_ns = (query_time as f64 * importance.min_percent / 100.0).ceil() as u64;

    let mut threads: FxHashMap<u32, ThreadWalk> = FxHashMap::default();
    let mut counts: Vec<QueryCount> = Vec::new();
    let mut has_hit_events = false;
    let mut invocations = 0u64;
    let mut hit_leaves = 0u64;
    let mut next_id = 0u64;
    let mut kept: Vec<(TreeNode, u64)> = Vec::new(); // (node, event id for its args)
    let mut largest: Vec<TreeNode> = Vec::new();
    let mut deepest = Chain::default();
    let mut deepest_labels: Vec<LabelId> = Vec::new();
    let mut aggregated_hits: FxHashMap<LabelId, u64> = FxHashMap::default();
    let mut open_by_label: FxHashMap<(u32, LabelId), u32> = FxHashMap::default();

    fn count_of(counts: &mut Vec<QueryCount>, label: LabelId) -> &mut QueryCount {
        let i = label.0 as usize;
        if i >= counts.len() {
            counts.resize(i + 1, QueryCount::default());
        }
        &mut counts[i]
    }

    let mut close = |open: Open,
                     thread_id: u32,
                     parent: Option<&mut Open>,
                     counts: &mut Vec<QueryCount>,
                     open_by_label: &mut FxHashMap<(u32, LabelId), u32>| {
        let total = open.end - open.start;
        let self_ns = total.saturating_sub(open.children_ns);
        let c = count_of(counts, open.label);
        c.self_ns += self_ns;
        c.max_extent = c.max_extent.max(open.extent);
        if open.counts_time {
            c.total_ns += total;
            if let Some(n) = open_by_label.get_mut(&(thread_id, open.label)) {
                *n -= 1;
            }
        }
        let important = open.extent >= importance.min_extent || total >= threshold_ns.max(1);
        let node = TreeNode {
            id: open.id,
            parent: parent.as_ref().map(|p| p.id),
            query: String::new(),
            args: Vec::new(),
            thread: thread_id,
            depth: open.depth,
            extent: open.extent,
            hits: open.hits,
            self_ns,
            total_ns: total,
            start_ns: open.start,
            folded_nodes: open.folded_nodes,
            folded_ns: open.folded_ns,
            important,
            label: open.label,
        };
        if largest.len() < LARGEST_EXTENTS || open.extent > largest[largest.len() - 1].extent {
            largest.push(node.clone());
            largest.sort_by(|a, b| b.extent.cmp(&a.extent).then(a.id.cmp(&b.id)));
            largest.truncate(LARGEST_EXTENTS);
        }
        let keep = important || open.keep;
        if let Some(parent) = parent {
            if keep {
                parent.keep = true;
            } else {
                parent.folded_nodes += 1 + open.folded_nodes;
                parent.folded_ns += total;
            }
        }
        if keep {
            kept.push((node, open.event_id));
        }
    };

    profile.for_each_event_rev(|event| {
        // A query that ran spans its interval; a cache hit is a point.
        let (start, end) = match (event.kind, event.payload) {
            (EventKind::Query, Payload::Interval { start, end }) => (start, end),
            (EventKind::QueryCacheHit, Payload::Instant(at)) => (at, at),
            (EventKind::QueryCacheHitCount, Payload::Integer(n)) => {
                *aggregated_hits.entry(event.label).or_default() += n;
                return;
            }
            _ => return,
        };
        let walk = threads.entry(event.thread_id).or_default();
        // Open queries that do not contain this event are complete (reverse order).
        while let Some(top) = walk.stack.last() {
            if top.start <= start && end <= top.end {
                break;
            }
            let done = walk.stack.pop().expect("non-empty");
            close(
                done,
                event.thread_id,
                walk.stack.last_mut(),
                &mut counts,
                &mut open_by_label,
            );
        }
        if event.kind == EventKind::QueryCacheHit {
            has_hit_events = true;
            hit_leaves += 1;
            count_of(&mut counts, event.label).hits += 1;
            if let Some(parent) = walk.stack.last_mut() {
                parent.extent += 1;
                parent.hits += 1;
            }
            return;
        }
        invocations += 1;
        let depth = walk.stack.len() as u32;
        if let Some(parent) = walk.stack.last_mut() {
            parent.extent += 1;
            parent.children_ns += end - start;
        }
        let open_same = open_by_label
            .entry((event.thread_id, event.label))
            .or_insert(0);
        let counts_time = *open_same == 0;
        if counts_time {
            *open_same += 1;
        }
        count_of(&mut counts, event.label).count += 1;
        walk.stack.push(Open {
            id: next_id,
            label: event.label,
            event_id: event.event_id,
            start,
            end,
            depth,
            extent: 0,
            hits: 0,
            children_ns: 0,
            folded_nodes: 0,
            folded_ns: 0,
            keep: false,
            counts_time,
        });
        next_id += 1;
        if depth + 1 > deepest.depth {
            deepest.depth = depth + 1;
            deepest.thread = event.thread_id;
            deepest_labels = walk.stack.iter().map(|o| o.label).collect();
        }
    })?;
    for (thread_id, walk) in threads.iter_mut() {
        while let Some(done) = walk.stack.pop() {
            close(
                done,
                *thread_id,
                walk.stack.last_mut(),
                &mut counts,
                &mut open_by_label,
            );
        }
    }
    if !has_hit_events {
        for (label, n) in aggregated_hits {
            count_of(&mut counts, label).hits += n;
        }
    }

    // Names, now that every label is known; arguments for kept nodes only.
    let mut nodes_dropped = 0u64;
    if kept.len() > importance.max_nodes {
        // Keep the largest, then re-add the ancestors they need.
        nodes_dropped = bound_kept(&mut kept, importance.max_nodes);
    }
    // Kept nodes were closed children-first: reverse for parents first.
    kept.reverse();
    let nodes: Vec<TreeNode> = kept
        .into_iter()
        .map(|(mut node, event_id)| {
            node.query = profile.label(node.label).to_string();
            node.args = profile.event_args(event_id).unwrap_or_default();
            node
        })
        .collect();
    for node in &mut largest {
        node.query = profile.label(node.label).to_string();
    }
    deepest.queries = deepest_labels
        .iter()
        .map(|&l| profile.label(l).to_string())
        .collect();
    for (i, c) in counts.iter_mut().enumerate() {
        c.query = profile.label(LabelId(i as u32)).to_string();
    }
    counts.retain(|c| c.count > 0 || c.hits > 0);
    let queries = ProfileQueries {
        crate_name: profile.crate_name().to_string(),
        path: profile.path().to_path_buf(),
        invocations,
        hit_leaves,
        query_time_ns: query_time,
        nodes,
        nodes_dropped,
        largest_extents: largest,
        deepest,
    };
    Ok((queries, counts, has_hit_events))
}

/// Keeps about `max` of the kept nodes, the most significant first (important ones, then
/// by extent times duration), each with all its ancestors so that every node shown has
/// its parent shown; returns how many were dropped.
fn bound_kept(kept: &mut Vec<(TreeNode, u64)>, max: usize) -> u64 {
    let before = kept.len();
    let mut ranked: Vec<usize> = (0..kept.len()).collect();
    ranked.sort_by(|&a, &b| {
        let (a, b) = (&kept[a].0, &kept[b].0);
        (
            b.important,
            b.extent.max(1).saturating_mul(b.total_ns.max(1)),
        )
            .cmp(&(
                a.important,
                a.extent.max(1).saturating_mul(a.total_ns.max(1)),
            ))
    });
    let index: FxHashMap<u64, usize> = kept
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (n.id, i))
        .collect();
    let mut keep = vec![false; kept.len()];
    let mut count = 0;
    for i in ranked {
        if count >= max {
            break;
        }
        // The node and every ancestor not kept yet.
        let mut at = Some(i);
        while let Some(j) = at {
            if keep[j] {
                break;
            }
            keep[j] = true;
            count += 1;
            at = kept[j].0.parent.and_then(|p| index.get(&p).copied());
        }
    }
    let mut i = 0;
    kept.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    (before - kept.len()) as u64
}

/// The query trees of many profiles, `jobs` at a time, with the counts merged by query
/// and sorted by total duration.
pub fn query_trees(
    files: &[PathBuf],
    jobs: usize,
    importance: Importance,
) -> Result<QueryTrees, ProfileError> {
    let per_file = map_files(files, jobs, |path| {
        query_tree(&mut Profile::open(path)?, importance)
    })?;
    let mut merged: FxHashMap<String, QueryCount> = FxHashMap::default();
    let mut has_hit_events = false;
    let mut profiles = Vec::new();
    for (queries, counts, hits) in per_file {
        has_hit_events |= hits;
        for c in counts {
            let m = merged.entry(c.query.clone()).or_insert_with(|| QueryCount {
                query: c.query.clone(),
                ..QueryCount::default()
            });
            m.count += c.count;
            m.hits += c.hits;
            m.total_ns += c.total_ns;
            m.self_ns += c.self_ns;
            m.max_extent = m.max_extent.max(c.max_extent);
        }
        profiles.push(queries);
    }
    let mut counts: Vec<QueryCount> = merged.into_values().collect();
    counts.sort_by(|a, b| b.total_ns.cmp(&a.total_ns).then(a.query.cmp(&b.query)));
    Ok(QueryTrees {
        schema: QUERIES_SCHEMA,
        has_hit_events,
        counts,
        profiles,
    })
}
