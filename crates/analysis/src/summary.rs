//! Per-label summaries of self-profiles: measureme's `summarize` figures, per profile and
//! merged over a whole build.

use std::collections::BTreeMap;
use std::path::PathBuf;

use buildscope_profile::{EventKind, LabelId, Payload, Profile, ProfileError, UNRESOLVED_LABEL};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// The figures of one label (a query or activity name).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelStats {
    pub label: String,
    /// Time in this label's own intervals minus their direct children on the same thread.
    pub self_time_ns: u64,
    /// Time in this label's intervals, children included; an interval nested in another of
    /// the same label is not counted again.
    pub time_ns: u64,
    /// Invocations (cache misses for queries).
    pub count: u64,
    pub cache_hits: u64,
    pub blocked_time_ns: u64,
    pub incremental_load_time_ns: u64,
    pub incremental_hashing_time_ns: u64,
}

impl LabelStats {
    fn add(&mut self, other: &LabelStats) {
        self.self_time_ns += other.self_time_ns;
        self.time_ns += other.time_ns;
        self.count += other.count;
        self.cache_hits += other.cache_hits;
        self.blocked_time_ns += other.blocked_time_ns;
        self.incremental_load_time_ns += other.incremental_load_time_ns;
        self.incremental_hashing_time_ns += other.incremental_hashing_time_ns;
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactSize {
    pub label: String,
    pub bytes: u64,
}

/// The summary of one profile file (one rustc process).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileSummary {
    pub path: PathBuf,
    #[serde(rename = "crate")]
    pub crate_name: String,
    pub process_id: u32,
    pub event_count: u64,
    /// Events whose label the string table cannot resolve (shown as `<unresolved>`).
    pub unresolved_events: u64,
    /// Summed over threads: each thread's span from its first interval's start to its last
    /// interval's end (measureme's "Total cpu time").
    pub total_cpu_time_ns: u64,
    /// First interval start and last interval end, nanoseconds since the Unix epoch.
    pub wall_start_ns: Option<u64>,
    pub wall_end_ns: Option<u64>,
    pub rows: Vec<LabelStats>,
    pub artifact_sizes: Vec<ArtifactSize>,
}

/// Accumulates figures for one label while walking a profile. Signed: a parent's self
/// time is added first and its children are subtracted afterwards.
#[derive(Default, Clone)]
struct Accumulator {
    self_time: i64,
    time: i64,
    count: u64,
    cache_hits: u64,
    blocked: i64,
    incr_load: i64,
    incr_hashing: i64,
    saw_hit_count: bool,
}

struct Frame {
    start: u64,
    end: u64,
    label: LabelId,
    kind: EventKind,
    counts_time: bool,
}

#[derive(Default)]
struct ThreadState {
    stack: Vec<Frame>,
    /// How many frames of each label on the stack count toward `time`.
    open_by_label: Vec<u32>,
    start: u64,
    end: u64,
}

impl ThreadState {
    fn open_count(&mut self, label: LabelId) -> &mut u32 {
        let i = label.0 as usize;
        if i >= self.open_by_label.len() {
            self.open_by_label.resize(i + 1, 0);
        }
        &mut self.open_by_label[i]
    }
}

/// Computes the summary of one profile in a single reverse pass over its events.
///
/// The rules are measureme's `perform_analysis`, so the figures agree with its `summarize`:
/// walking from the last event to the first meets a parent before its children; a stack per
/// thread holds the intervals that contain the current one; each interval's duration is
/// added to its own self time and subtracted from its parent's. Cache hits come from
/// `QueryCacheHitCount` integers, or from `QueryCacheHit` instants for labels that have no
/// count. One deliberate difference: `time` does not count an interval again when an
/// interval of the same label encloses it on the same thread (recursive invocations).
pub fn summarize_profile(profile: &mut Profile) -> Result<ProfileSummary, ProfileError> {
    let mut builder = SummaryBuilder::default();
    profile.for_each_event_rev(|event| builder.visit(event))?;
    Ok(builder.finish(profile))
}

/// [`summarize_profile`]'s walk, one event at a time (last to first), so that another walk
/// can share the decoding of the same events ([`crate::summarize_with_invocations`]).
#[derive(Default)]
pub struct SummaryBuilder {
    acc: Vec<Accumulator>,
    threads: FxHashMap<u32, ThreadState>,
    artifact_sizes: FxHashMap<LabelId, u64>,
    unresolved_events: u64,
    wall: Option<(u64, u64)>,
}

fn slot(acc: &mut Vec<Accumulator>, label: LabelId) -> &mut Accumulator {
    let i = label.0 as usize;
    if i >= acc.len() {
        acc.resize(i + 1, Accumulator::default());
    }
    &mut acc[i]
}

impl SummaryBuilder {
    /// One event, in reverse file order.
    pub fn visit(&mut self, event: &buildscope_profile::Event) {
        let acc = &mut self.acc;
        if event.label == UNRESOLVED_LABEL {
            self.unresolved_events += 1;
        }
        match event.payload {
            Payload::Instant(_) => {
                if event.kind == EventKind::QueryCacheHit {
                    let a = slot(acc, event.label);
                    if !a.saw_hit_count {
                        a.cache_hits += 1;
                    }
                }
            }
            Payload::Integer(value) => match event.kind {
                EventKind::ArtifactSize => {
                    *self.artifact_sizes.entry(event.label).or_default() += value
                }
                EventKind::QueryCacheHitCount => {
                    let a = slot(acc, event.label);
                    a.cache_hits += value;
                    a.saw_hit_count = true;
                }
                _ => {}
            },
            Payload::Interval { start, end } => {
                self.wall = Some(match self.wall {
                    None => (start, end),
                    Some((s, e)) => (s.min(start), e.max(end)),
                });
                let thread = self
                    .threads
                    .entry(event.thread_id)
                    .or_insert_with(|| ThreadState {
                        start,
                        end,
                        ..ThreadState::default()
                    });
                thread.start = thread.start.min(start);
                thread.end = thread.end.max(end);
                // Pop the frames that do not contain this interval.
                while let Some(top) = thread.stack.last() {
                    if top.start <= start && end <= top.end {
                        break;
                    }
                    let top = thread.stack.pop().expect("non-empty");
                    if top.counts_time {
                        *thread.open_count(top.label) -= 1;
                    }
                }
                let duration = (end - start) as i64;
                if let Some(parent) = thread.stack.last() {
                    let p = slot(acc, parent.label);
                    p.self_time -= duration;
                    match parent.kind {
                        EventKind::IncrementalResultHashing => p.incr_hashing -= duration,
                        EventKind::IncrementalLoadResult => p.incr_load -= duration,
                        _ => {}
                    }
                }
                let counts_time = event.kind != EventKind::IncrementalResultHashing;
                let outermost = counts_time && {
                    let open = thread.open_count(event.label);
                    *open += 1;
                    *open == 1
                };
                let a = slot(acc, event.label);
                a.self_time += duration;
                if outermost {
                    a.time += duration;
                }
                match event.kind {
                    EventKind::Query | EventKind::GenericActivity => a.count += 1,
                    EventKind::QueryBlocked => a.blocked += duration,
                    EventKind::IncrementalLoadResult => a.incr_load += duration,
                    EventKind::IncrementalResultHashing => a.incr_hashing += duration,
                    _ => a.count += 1,
                }
                thread.stack.push(Frame {
                    start,
                    end,
                    label: event.label,
                    kind: event.kind,
                    counts_time,
                });
            }
        }
    }

    /// The summary of the events visited.
    pub fn finish(self, profile: &Profile) -> ProfileSummary {
        let rows = self
            .acc
            .iter()
            .enumerate()
            .filter(|(_, a)| {
                a.self_time != 0
                    || a.time != 0
                    || a.count != 0
                    || a.cache_hits != 0
                    || a.blocked != 0
            })
            .map(|(i, a)| LabelStats {
                label: profile.label(LabelId(i as u32)).to_string(),
                self_time_ns: a.self_time.max(0) as u64,
                time_ns: a.time.max(0) as u64,
                count: a.count,
                cache_hits: a.cache_hits,
                blocked_time_ns: a.blocked.max(0) as u64,
                incremental_load_time_ns: a.incr_load.max(0) as u64,
                incremental_hashing_time_ns: a.incr_hashing.max(0) as u64,
            })
            .collect();
        let mut artifact_sizes: Vec<ArtifactSize> = self
            .artifact_sizes
            .into_iter()
            .map(|(label, bytes)| ArtifactSize {
                label: profile.label(label).to_string(),
                bytes,
            })
            .collect();
        artifact_sizes.sort_by(|a, b| a.label.cmp(&b.label));
        let start_time = profile.metadata().start_time;
        ProfileSummary {
            path: profile.path().to_path_buf(),
            crate_name: profile.crate_name().to_string(),
            process_id: profile.metadata().process_id,
            event_count: profile.event_count(),
            unresolved_events: self.unresolved_events,
            total_cpu_time_ns: self.threads.values().map(|t| t.end - t.start).sum(),
            wall_start_ns: self.wall.map(|(s, _)| start_time.saturating_add(s)),
            wall_end_ns: self.wall.map(|(_, e)| start_time.saturating_add(e)),
            rows,
            artifact_sizes,
        }
    }
}

/// Opens and summarizes many profiles on up to `jobs` threads. Results keep the order of
/// `files`; the first error (in that order) is returned.
pub fn summarize_files(
    files: &[PathBuf],
    jobs: usize,
) -> Result<Vec<ProfileSummary>, ProfileError> {
    map_files(files, jobs, |path| {
        Profile::open(path).and_then(|mut p| summarize_profile(&mut p))
    })
}

/// Opens each profile and runs `work` on it, `jobs` profiles at a time; results in the
/// order of `files`.
pub fn map_profiles<T: Send>(
    files: &[PathBuf],
    jobs: usize,
    work: impl Fn(&mut Profile) -> Result<T, ProfileError> + Sync,
) -> Result<Vec<T>, ProfileError> {
    map_files(files, jobs, |path| work(&mut Profile::open(path)?))
}

/// Runs `work` on each file, on up to `jobs` threads. Results keep the order of `files`;
/// the first error (in that order) is returned.
pub(crate) fn map_files<T: Send>(
    files: &[PathBuf],
    jobs: usize,
    work: impl Fn(&PathBuf) -> Result<T, ProfileError> + Sync,
) -> Result<Vec<T>, ProfileError> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = jobs.clamp(1, files.len().max(1));
    let done: Vec<Vec<(usize, Result<T, ProfileError>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(path) = files.get(i) else { break };
                        done.push((i, work(path)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a profile worker panicked"))
            .collect()
    });
    let mut results: Vec<Option<Result<T, ProfileError>>> =
        (0..files.len()).map(|_| None).collect();
    for (i, result) in done.into_iter().flatten() {
        results[i] = Some(result);
    }
    results
        .into_iter()
        .map(|r| r.expect("every file was read"))
        .collect()
}

/// The figures of one crate (all profiles that share a unit name, e.g. several processes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrateSummary {
    #[serde(rename = "crate")]
    pub crate_name: String,
    pub profiles: usize,
    pub total_cpu_time_ns: u64,
    pub wall_time_ns: u64,
    pub rows: Vec<LabelStats>,
    pub artifact_sizes: Vec<ArtifactSize>,
}

/// A whole summary: every profile merged, and the per-crate split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Identifies the JSON layout; see `docs/json.md`.
    pub schema: String,
    pub profile_count: usize,
    pub event_count: u64,
    pub unresolved_events: u64,
    pub total_cpu_time_ns: u64,
    /// From the first interval's start to the last interval's end over all profiles.
    pub wall_time_ns: u64,
    pub rows: Vec<LabelStats>,
    pub artifact_sizes: Vec<ArtifactSize>,
    pub crates: Vec<CrateSummary>,
}

pub const SUMMARY_SCHEMA: &str = "buildscope.summary/1";

struct Merged {
    cpu: u64,
    wall_start: Option<u64>,
    wall_end: Option<u64>,
    rows: BTreeMap<String, LabelStats>,
    sizes: BTreeMap<String, u64>,
}

impl Merged {
    fn new() -> Merged {
        Merged {
            cpu: 0,
            wall_start: None,
            wall_end: None,
            rows: BTreeMap::new(),
            sizes: BTreeMap::new(),
        }
    }

    fn add(&mut self, p: &ProfileSummary) {
        self.cpu += p.total_cpu_time_ns;
        self.wall_start = min_some(self.wall_start, p.wall_start_ns);
        self.wall_end = max_some(self.wall_end, p.wall_end_ns);
        for row in &p.rows {
            self.rows
                .entry(row.label.clone())
                .or_insert_with(|| LabelStats {
                    label: row.label.clone(),
                    ..LabelStats::default()
                })
                .add(row);
        }
        for size in &p.artifact_sizes {
            *self.sizes.entry(size.label.clone()).or_default() += size.bytes;
        }
    }

    fn wall(&self) -> u64 {
        match (self.wall_start, self.wall_end) {
            (Some(s), Some(e)) => e.saturating_sub(s),
            _ => 0,
        }
    }

    fn rows(&self) -> Vec<LabelStats> {
        let mut rows: Vec<LabelStats> = self.rows.values().cloned().collect();
        sort_rows(&mut rows, SortKey::SelfTime);
        rows
    }

    fn sizes(&self) -> Vec<ArtifactSize> {
        self.sizes
            .iter()
            .map(|(label, &bytes)| ArtifactSize {
                label: label.clone(),
                bytes,
            })
            .collect()
    }
}

fn min_some(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_some(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Merges profile summaries into one summary with a per-crate split.
pub fn merge(profiles: &[ProfileSummary]) -> Summary {
    let mut total = Merged::new();
    let mut by_crate: BTreeMap<&str, (usize, Merged)> = BTreeMap::new();
    for p in profiles {
        total.add(p);
        let (count, merged) = by_crate
            .entry(p.crate_name.as_str())
            .or_insert_with(|| (0, Merged::new()));
        *count += 1;
        merged.add(p);
    }
    let mut crates: Vec<CrateSummary> = by_crate
        .into_iter()
        .map(|(name, (profiles, merged))| CrateSummary {
            crate_name: name.to_string(),
            profiles,
            total_cpu_time_ns: merged.cpu,
            wall_time_ns: merged.wall(),
            rows: merged.rows(),
            artifact_sizes: merged.sizes(),
        })
        .collect();
    crates.sort_by(|a, b| {
        b.total_cpu_time_ns
            .cmp(&a.total_cpu_time_ns)
            .then_with(|| a.crate_name.cmp(&b.crate_name))
    });
    Summary {
        schema: SUMMARY_SCHEMA.to_string(),
        profile_count: profiles.len(),
        event_count: profiles.iter().map(|p| p.event_count).sum(),
        unresolved_events: profiles.iter().map(|p| p.unresolved_events).sum(),
        total_cpu_time_ns: total.cpu,
        wall_time_ns: total.wall(),
        rows: total.rows(),
        artifact_sizes: total.sizes(),
        crates,
    }
}

/// The orders `summarize --sort` offers; ties go by label so output is stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    SelfTime,
    Time,
    Count,
    CacheHits,
}

pub fn sort_rows(rows: &mut [LabelStats], key: SortKey) {
    let metric = |r: &LabelStats| match key {
        SortKey::SelfTime => r.self_time_ns,
        SortKey::Time => r.time_ns,
        SortKey::Count => r.count,
        SortKey::CacheHits => r.cache_hits,
    };
    rows.sort_by(|a, b| {
        metric(b)
            .cmp(&metric(a))
            .then_with(|| a.label.cmp(&b.label))
    });
}

/// A row's self time as a percentage of `total_ns` (0 when the total is 0).
pub fn percent_of(part_ns: u64, total_ns: u64) -> f64 {
    if total_ns == 0 {
        0.0
    } else {
        part_ns as f64 * 100.0 / total_ns as f64
    }
}
