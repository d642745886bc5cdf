//! Reads rustc self-profile files (`.mm_profdata`, measureme file format 9) into an
//! interned event stream.
//!
//! This crate owns the file format and nothing else: it knows pages, string tables and raw
//! events, and it hands out events whose kind and label are small interned ids. It does
//! not know what a query's self time is (that is `buildscope-analysis`) nor how anything
//! is shown.
//!
//! Speed is the point. Labels are interned by the address of their string, so each
//! distinct label is decoded once however many events carry it; arguments are decoded
//! only when asked for ([`Profile::event_args`]); event pages stay on disk and are read
//! back one page at a time, so memory does not grow with the event count. Nothing in a
//! file is trusted: every offset is checked and every failure is a [`ProfileError`] that
//! names the file.

mod container;
mod discover;
mod error;
mod strings;

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;
use serde::Deserialize;

use container::{read_container, RAW_EVENT_SIZE};
pub use discover::{find_profiles, ProfileSet, PRUNED_MARK};
pub use error::ProfileError;
pub use strings::ArgAddr;
use strings::StringTable;

/// When the earliest of these profiles started (nanoseconds since the Unix epoch; 0 for
/// none): the clock a whole build's times count from.
pub fn earliest_start(files: &[std::path::PathBuf]) -> Result<u64, ProfileError> {
    let mut origin = u64::MAX;
    for path in files {
        origin = origin.min(Profile::open(path)?.metadata().start_time);
    }
    Ok(if origin == u64::MAX { 0 } else { origin })
}

/// What kind of event this is, from the profile's event-kind string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Query,
    GenericActivity,
    QueryBlocked,
    IncrementalLoadResult,
    IncrementalResultHashing,
    QueryCacheHit,
    QueryCacheHitCount,
    ArtifactSize,
    /// Any other kind string (e.g. `LLVM Pass`), interned per profile.
    Other(u16),
}

impl EventKind {
    /// The kind string rustc writes; `None` for [`EventKind::Other`] (its name is the
    /// profile's: [`Profile::other_kind_name`]).
    pub fn known_name(self) -> Option<&'static str> {
        use measureme::rustc::*;
        Some(match self {
            EventKind::Query => QUERY_EVENT_KIND,
            EventKind::GenericActivity => GENERIC_ACTIVITY_EVENT_KIND,
            EventKind::QueryBlocked => QUERY_BLOCKED_EVENT_KIND,
            EventKind::IncrementalLoadResult => INCREMENTAL_LOAD_RESULT_EVENT_KIND,
            EventKind::IncrementalResultHashing => INCREMENTAL_RESULT_HASHING_EVENT_KIND,
            EventKind::QueryCacheHit => QUERY_CACHE_HIT_EVENT_KIND,
            EventKind::QueryCacheHitCount => QUERY_CACHE_HIT_COUNT_EVENT_KIND,
            EventKind::ArtifactSize => ARTIFACT_SIZE_EVENT_KIND,
            EventKind::Other(_) => return None,
        })
    }

    fn from_name(name: &str, other_id: u16) -> EventKind {
        use measureme::rustc::*;
        match name {
            QUERY_EVENT_KIND => EventKind::Query,
            GENERIC_ACTIVITY_EVENT_KIND => EventKind::GenericActivity,
            QUERY_BLOCKED_EVENT_KIND => EventKind::QueryBlocked,
            INCREMENTAL_LOAD_RESULT_EVENT_KIND => EventKind::IncrementalLoadResult,
            INCREMENTAL_RESULT_HASHING_EVENT_KIND => EventKind::IncrementalResultHashing,
            QUERY_CACHE_HIT_EVENT_KIND => EventKind::QueryCacheHit,
            QUERY_CACHE_HIT_COUNT_EVENT_KIND => EventKind::QueryCacheHitCount,
            ARTIFACT_SIZE_EVENT_KIND => EventKind::ArtifactSize,
            _ => EventKind::Other(other_id),
        }
    }
}

/// An interned label: an index into [`Profile::labels`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelId(pub u32);

/// The label every event gets whose label the string table cannot resolve.
pub const UNRESOLVED_LABEL: LabelId = LabelId(0);
/// How [`UNRESOLVED_LABEL`] reads.
pub const UNRESOLVED_LABEL_TEXT: &str = "<unresolved>";

/// The timing payload of an event. Times are nanoseconds since the profile's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    Interval { start: u64, end: u64 },
    Instant(u64),
    Integer(u64),
}

/// One decoded event. Cheap: no strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub label: LabelId,
    pub thread_id: u32,
    pub payload: Payload,
    /// The raw event id, for [`Profile::event_args`].
    pub event_id: u64,
}

/// What rustc recorded about the run that wrote the profile.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Metadata {
    /// Nanoseconds since the Unix epoch.
    pub start_time: u64,
    pub process_id: u32,
    /// The rustc command line.
    pub cmd: String,
}

/// One opened profile file.
#[derive(Debug)]
pub struct Profile {
    path: PathBuf,
    file: File,
    strings: StringTable,
    event_runs: Vec<container::EventRun>,
    event_count: u64,
    metadata: Metadata,
    crate_name: String,
    kinds: Vec<(u64, EventKind)>,
    other_kind_names: Vec<String>,
    label_by_addr: FxHashMap<usize, LabelId>,
    /// The label of each dense virtual id seen so far (`UNKNOWN_LABEL` until seen).
    label_by_virtual_id: Vec<u32>,
    label_by_text: FxHashMap<String, LabelId>,
    labels: Vec<String>,
}

/// Marks a virtual id whose label is not known yet.
const UNKNOWN_LABEL: u32 = u32::MAX;

/// Events whose strings are touched ahead of decoding, per batch.
const PREFETCH_EVENTS: usize = 64;

const INSTANT_MARKER: u64 = 0xFFFF_FFFF_FFFF;
const INTEGER_MARKER: u64 = INSTANT_MARKER - 1;

impl Profile {
    /// Opens a profile: reads its string table and locates its events.
    pub fn open(path: impl AsRef<Path>) -> Result<Profile, ProfileError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| ProfileError::io(path, e))?;
        if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(ProfileError::io(
                path,
                std::io::Error::other("is a directory, expected a file"),
            ));
        }
        let container = read_container(path, &file)?;
        // SAFETY: the map is only read. Were the file cut short while it is mapped, reading
        // the lost pages would fault; profiles are written once, by a rustc that has exited.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| ProfileError::io(path, e))?;
        let strings = StringTable::new(map, container.string_data, &container.string_index);
        let metadata_text = strings
            .text_of(measureme::stringtable::METADATA_STRING_ID)
            .ok_or_else(|| ProfileError::corrupt(path, "the string table has no metadata entry"))?;
        let metadata: Metadata = serde_json::from_str(&metadata_text)
            .map_err(|e| ProfileError::corrupt(path, format!("unreadable metadata entry: {e}")))?;
        let crate_name = crate_name_from(&metadata.cmd, path);
        let dense_virtual_ids = strings.dense_virtual_ids();
        Ok(Profile {
            path: path.to_path_buf(),
            file,
            strings,
            event_runs: container.event_runs,
            event_count: container.event_count,
            metadata,
            crate_name,
            kinds: Vec::new(),
            other_kind_names: Vec::new(),
            label_by_addr: FxHashMap::default(),
            label_by_virtual_id: vec![UNKNOWN_LABEL; dense_virtual_ids],
            label_by_text: FxHashMap::default(),
            labels: vec![UNRESOLVED_LABEL_TEXT.to_string()],
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The crate this profile is of (`--crate-name` on the recorded command line, else
    /// the file name up to its process id).
    pub fn crate_name(&self) -> &str {
        &self.crate_name
    }

    pub fn event_count(&self) -> u64 {
        self.event_count
    }

    /// The labels interned so far, indexed by [`LabelId`]. Complete after a full walk.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    pub fn label(&self, id: LabelId) -> &str {
        &self.labels[id.0 as usize]
    }

    /// The name of an [`EventKind::Other`] kind.
    pub fn other_kind_name(&self, id: u16) -> &str {
        &self.other_kind_names[id as usize]
    }

    /// The arguments recorded with an event (e.g. a proc macro and its call site), decoded
    /// now. Empty when the event has none; `None` if the string table cannot resolve it.
    pub fn event_args(&self, event_id: u64) -> Option<Vec<String>> {
        self.strings.event_args(event_id)
    }

    /// Where each argument of an event is stored, for callers that format many events:
    /// equal [`ArgAddr`]s are equal text, so each needs decoding once ([`Profile::arg_text`]).
    /// Fills `out` (empty: no arguments) and returns `false` when the event id has an
    /// unusual shape; then use [`Profile::event_args`].
    pub fn event_arg_addrs(&self, event_id: u64, out: &mut Vec<ArgAddr>) -> bool {
        let ok = self.strings.event_arg_addrs(event_id, out).is_some();
        if !ok {
            out.clear();
        }
        ok
    }

    /// The text of one argument string; `None` if it is malformed.
    pub fn arg_text(&self, addr: ArgAddr) -> Option<String> {
        self.strings.text_at(addr.0)
    }

    /// The raw bytes of one argument string appended to `out` (UTF-8 unless the file is
    /// corrupt), without allocating; `false` if it is malformed.
    pub fn arg_bytes(&self, addr: ArgAddr, out: &mut Vec<u8>) -> bool {
        self.strings.bytes_at(addr.0, out)
    }

    /// Walks every event from last to first. Rustc writes an interval when it ends, so in
    /// this order a parent is seen before its children, which is what self-time needs.
    pub fn for_each_event_rev(
        &mut self,
        mut visit: impl FnMut(&Event),
    ) -> Result<(), ProfileError> {
        self.for_each_batch_rev(|_, events| events.iter().for_each(&mut visit))
    }

    /// Walks every event in file order (by end time).
    pub fn for_each_event(&mut self, mut visit: impl FnMut(&Event)) -> Result<(), ProfileError> {
        self.for_each_batch(|_, events| events.iter().for_each(&mut visit))
    }

    /// Walks every event in file order, a page at a time, with the profile itself at hand
    /// (its labels so far, [`Profile::event_args`]) while each batch is visited.
    pub fn for_each_batch(
        &mut self,
        visit: impl FnMut(&Profile, &[Event]),
    ) -> Result<(), ProfileError> {
        self.for_each_batch_in(0..self.event_pages(), visit)
    }

    /// How many pages of events the file holds: the unit [`Profile::for_each_batch_in`]
    /// splits work by.
    pub fn event_pages(&self) -> usize {
        self.event_runs.len()
    }

    /// Like [`Profile::for_each_batch`], over a range of event pages only: with
    /// [`Profile::share`], several threads can each walk a part of one profile. A range
    /// past the last page walks nothing.
    pub fn for_each_batch_in(
        &mut self,
        pages: std::ops::Range<usize>,
        visit: impl FnMut(&Profile, &[Event]),
    ) -> Result<(), ProfileError> {
        let pages = if pages.start <= pages.end && pages.end <= self.event_pages() {
            pages
        } else {
            0..0
        };
        self.walk_pages(pages, false, visit)
    }

    /// Another handle on the same profile, for another thread: it shares the memory map
    /// of the string table (no second copy in memory) and keeps label ids of its own.
    pub fn share(&self) -> Result<Profile, ProfileError> {
        Ok(Profile {
            path: self.path.clone(),
            file: self
                .file
                .try_clone()
                .map_err(|e| ProfileError::io(&self.path, e))?,
            strings: self.strings.clone(),
            event_runs: self.event_runs.clone(),
            event_count: self.event_count,
            metadata: self.metadata.clone(),
            crate_name: self.crate_name.clone(),
            kinds: Vec::new(),
            other_kind_names: Vec::new(),
            label_by_addr: FxHashMap::default(),
            label_by_virtual_id: vec![UNKNOWN_LABEL; self.label_by_virtual_id.len()],
            label_by_text: FxHashMap::default(),
            labels: vec![UNRESOLVED_LABEL_TEXT.to_string()],
        })
    }

    /// Like [`Profile::for_each_batch`], from last to first (pages in reverse, each batch
    /// reversed): parents before their children, with labels and arguments at hand.
    pub fn for_each_batch_rev(
        &mut self,
        visit: impl FnMut(&Profile, &[Event]),
    ) -> Result<(), ProfileError> {
        self.walk_pages((0..self.event_pages()).rev(), true, visit)
    }

    /// Reads and decodes the given pages in that order, each reversed when `reverse`, and
    /// hands each to `visit` with the profile at hand; stops at the first error.
    fn walk_pages(
        &mut self,
        pages: impl Iterator<Item = usize>,
        reverse: bool,
        mut visit: impl FnMut(&Profile, &[Event]),
    ) -> Result<(), ProfileError> {
        let mut page = Vec::new();
        let mut decoded = Vec::new();
        let runs = std::mem::take(&mut self.event_runs);
        let mut result = Ok(());
        for run in pages.filter_map(|i| runs.get(i)) {
            result = self
                .read_run(run, &mut page)
                .and_then(|()| self.decode_page(&page, &mut decoded));
            if result.is_err() {
                break;
            }
            if reverse {
                decoded.reverse();
            }
            visit(self, &decoded);
        }
        self.event_runs = runs;
        result
    }

    /// Decodes a whole page before any of it is visited: the label look-ups of a page are
    /// independent memory loads into the string table, and done in one tight loop the CPU
    /// overlaps their cache misses instead of waiting on each behind the caller's work.
    fn decode_page(&mut self, page: &[u8], decoded: &mut Vec<Event>) -> Result<(), ProfileError> {
        decoded.clear();
        decoded.reserve(page.len() / RAW_EVENT_SIZE);
        for chunk in page.chunks(RAW_EVENT_SIZE * PREFETCH_EVENTS) {
            // Touch each event's string first in a loop with no data-dependent branches,
            // so the cache misses overlap; the decode loop then finds the lines in cache.
            let mut touched = 0u8;
            for raw in chunk.chunks_exact(RAW_EVENT_SIZE) {
                let event_id = u64::from_le_bytes(raw[8..16].try_into().expect("8 bytes"));
                touched ^= self.touch(event_id);
            }
            std::hint::black_box(touched);
            for raw in chunk.chunks_exact(RAW_EVENT_SIZE) {
                decoded.push(self.decode(raw)?);
            }
        }
        Ok(())
    }

    fn read_run(&self, run: &container::EventRun, page: &mut Vec<u8>) -> Result<(), ProfileError> {
        page.resize(run.count as usize * RAW_EVENT_SIZE, 0);
        self.file.read_exact_at(page, run.file_offset).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                ProfileError::truncated(&self.path, "the file shrank while it was being read")
            } else {
                ProfileError::io(&self.path, e)
            }
        })
    }

    #[inline]
    fn decode(&mut self, raw: &[u8]) -> Result<Event, ProfileError> {
        let word = |at: usize| u64::from_le_bytes(raw[at..at + 8].try_into().expect("8 bytes"));
        let half = |at: usize| u32::from_le_bytes(raw[at..at + 4].try_into().expect("4 bytes"));
        let kind_id = word(0);
        let event_id = word(8);
        let thread_id = half(16);
        let (lower1, lower2, upper) = (half(20) as u64, half(24) as u64, half(28) as u64);
        let first = lower1 | ((upper & 0xFFFF_0000) << 16);
        let second = lower2 | ((upper & 0x0000_FFFF) << 32);
        let payload = match second {
            INSTANT_MARKER => Payload::Instant(first),
            INTEGER_MARKER => Payload::Integer(first),
            end if end >= first => Payload::Interval { start: first, end },
            end => {
                return Err(ProfileError::corrupt(
                    &self.path,
                    format!("an interval event ends ({end}) before it starts ({first})"),
                ))
            }
        };
        Ok(Event {
            kind: self.kind(kind_id),
            label: self.intern_label(event_id),
            thread_id,
            payload,
            event_id,
        })
    }

    #[inline]
    fn kind(&mut self, kind_id: u64) -> EventKind {
        if let Some(&(_, kind)) = self.kinds.iter().find(|(id, _)| *id == kind_id) {
            return kind;
        }
        let name = self
            .strings
            .text_of(kind_id)
            .unwrap_or_else(|| UNRESOLVED_LABEL_TEXT.to_string());
        let kind = EventKind::from_name(&name, self.other_kind_names.len() as u16);
        if let EventKind::Other(_) = kind {
            self.other_kind_names.push(name);
        }
        self.kinds.push((kind_id, kind));
        kind
    }

    #[inline]
    fn intern_label(&mut self, event_id: u64) -> LabelId {
        // Virtual ids (query invocations) repeat, once per cache hit: remember their label.
        let slot = usize::try_from(event_id).unwrap_or(usize::MAX);
        if let Some(&known) = self.label_by_virtual_id.get(slot) {
            if known != UNKNOWN_LABEL {
                return LabelId(known);
            }
        }
        let id = match self.strings.label_addr(event_id) {
            None => UNRESOLVED_LABEL,
            Some(addr) => match self.label_by_addr.get(&addr) {
                Some(&id) => id,
                None => self.intern_new_label(addr),
            },
        };
        if let Some(known) = self.label_by_virtual_id.get_mut(slot) {
            *known = id.0;
        }
        id
    }

    /// Where the decode loop will look first for an event id: the label cache of a virtual
    /// id, else the string itself.
    #[inline]
    fn touch(&self, event_id: u64) -> u8 {
        match self
            .label_by_virtual_id
            .get(usize::try_from(event_id).unwrap_or(usize::MAX))
        {
            Some(&label) => label as u8,
            None => self.strings.first_byte(event_id),
        }
    }

    #[cold]
    fn intern_new_label(&mut self, addr: usize) -> LabelId {
        let id = match self.strings.label_text_at(addr) {
            None => UNRESOLVED_LABEL,
            Some(text) => {
                let next = LabelId(self.labels.len() as u32);
                *self.label_by_text.entry(text).or_insert_with_key(|text| {
                    self.labels.push(text.clone());
                    next
                })
            }
        };
        self.label_by_addr.insert(addr, id);
        id
    }
}

/// A name for the compilation unit: rustc's `--crate-name`, told apart where several units
/// share it (every build script is `build_script_build`, a test harness shares its crate's
/// name). Falls back to the file name up to the process id.
fn crate_name_from(cmd: &str, path: &Path) -> String {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let mut name = None;
    for (i, word) in words.iter().enumerate() {
        if *word == "--crate-name" {
            name = words.get(i + 1).map(|s| s.to_string());
        } else if let Some(value) = word.strip_prefix("--crate-name=") {
            name = Some(value.to_string());
        }
    }
    let Some(mut name) = name else {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        return match stem.rsplit_once('-') {
            Some((name, pid)) if pid.chars().all(|c| c.is_ascii_digit()) => name.to_string(),
            _ => stem,
        };
    };
    if name == "___" {
        // cargo runs `rustc - --crate-name ___ --print=file-names` to learn about the target.
        return "___ (cargo's target probe)".to_string();
    }
    if name.starts_with("build_script_") {
        // The package directory (`foo-1.2.3` in the registry) says whose build script it is.
        let package = words
            .iter()
            .filter(|w| w.ends_with(".rs"))
            .filter_map(|w| Path::new(w).parent()?.file_name())
            .next();
        if let Some(package) = package {
            name = format!("{name}({})", package.to_string_lossy());
        }
    }
    if words.contains(&"--test") {
        name.push_str(" (test)");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_name_comes_from_the_command_line_then_the_file_name() {
        let p = Path::new("/x/foo_bar-1234.mm_profdata");
        assert_eq!(
            crate_name_from("rustc --crate-name syn --edition=2021", p),
            "syn"
        );
        assert_eq!(
            crate_name_from("rustc --crate-name=quote src/lib.rs", p),
            "quote"
        );
        assert_eq!(crate_name_from("rustc src/main.rs", p), "foo_bar");
        assert_eq!(crate_name_from("", Path::new("weird.mm_profdata")), "weird");
        assert_eq!(
            crate_name_from(
                "rustc --crate-name build_script_build --edition=2021 /r/serde-1.0.1/build.rs",
                p
            ),
            "build_script_build(serde-1.0.1)"
        );
        assert_eq!(
            crate_name_from("rustc --crate-name app --test src/main.rs", p),
            "app (test)"
        );
    }
}
