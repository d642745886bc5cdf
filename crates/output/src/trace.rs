//! Chrome trace-event JSON (Perfetto, chrome://tracing, speedscope) straight from
//! self-profiles, streamed: memory does not grow with the output.
//!
//! One process per profile, named by crate, placed on the real wall clock so a whole build
//! reads as one timeline; intervals as complete (`X`) events on their real threads with the
//! recorded arguments; integer events (artifact sizes, aggregated cache hits) as counter
//! (`C`) events at the end of their process. Cache-hit instants are left out (with `all`
//! events there are millions of them).

use std::io::Write;
use std::path::PathBuf;

use buildscope_profile::{ArgAddr, Event, EventKind, LabelId, Payload, Profile, ProfileError};
use rustc_hash::FxHashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceOptions {
    /// Intervals shorter than this are left out.
    pub min_duration_ns: u64,
    /// Put threads whose spans do not overlap on one track.
    pub collapse_threads: bool,
    /// Raise the minimum duration until the output fits in this many bytes.
    pub max_bytes: Option<u64>,
    /// Profiles with at least this many pages of events are formatted by two threads
    /// ([`DEFAULT_SPLIT_PAGES`]; `usize::MAX` for never).
    pub split_pages: usize,
}

/// Profiles from about 64 K events on are formatted by two threads.
pub const DEFAULT_SPLIT_PAGES: usize = 8;

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceReport {
    pub profiles: usize,
    pub intervals_written: u64,
    /// Intervals left out for being shorter than the minimum duration used.
    pub intervals_dropped: u64,
    pub counters_written: u64,
    pub bytes: u64,
    /// The minimum duration finally used (raised to fit `max_bytes`).
    pub min_duration_ns: u64,
}

impl TraceReport {
    /// What `trace` says it wrote to `path`, and what it left out and why (`asked_min_ns`:
    /// the `--min-duration` given; a larger minimum was raised to fit `max_bytes`).
    pub fn describe(&self, path: &std::path::Path, asked_min_ns: u64, max_bytes: u64) -> String {
        let mut text = format!(
            "wrote {}: {} intervals and {} counters from {} profile{}, {:.1} MB\n",
            path.display(),
            self.intervals_written,
            self.counters_written,
            self.profiles,
            if self.profiles == 1 { "" } else { "s" },
            self.bytes as f64 / 1e6
        );
        if self.intervals_dropped > 0 {
            let why = match self.min_duration_ns > asked_min_ns {
                true => format!(
                    " to stay under {:.0} MB (--max-size)",
                    max_bytes as f64 / 1e6
                ),
                false => String::new(),
            };
            text.push_str(&format!(
                "left out {} intervals shorter than {:.1} µs{why}\n",
                self.intervals_dropped,
                self.min_duration_ns as f64 / 1000.0,
            ));
        }
        text
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error("writing the trace: {0}")]
    Write(#[source] std::io::Error),
}

/// Log2 buckets of interval durations: bytes each bucket produced, to pick the smallest
/// minimum duration that fits a size limit.
const BUCKETS: usize = 64;

fn bucket_of(duration_ns: u64) -> usize {
    (64 - duration_ns.leading_zeros()) as usize % BUCKETS
}

/// Writes one trace of all `files` to `out` (a file: it may be rewritten from the start).
///
/// With a size limit, a first pass only measures: it adds up the bytes each interval would
/// take, by duration bucket, without formatting any, on every fourth page of a big profile
/// (every page of a small one); the writing pass then uses the minimum duration that fits
/// with a margin for the sample. Should the sample have misjudged and the output run over
/// the limit, an exact measuring pass over every page and a second writing pass follow.
pub fn write_trace(
    files: &[PathBuf],
    out: &mut std::fs::File,
    options: &TraceOptions,
) -> Result<TraceReport, TraceError> {
    write_trace_sampling(files, out, options, SAMPLE_FROM_PAGES)
}

/// [`write_trace`], sampling profiles from `sample_from_pages` event pages on.
fn write_trace_sampling(
    files: &[PathBuf],
    out: &mut std::fs::File,
    options: &TraceOptions,
    sample_from_pages: usize,
) -> Result<TraceReport, TraceError> {
    use std::io::{Seek, SeekFrom};
    // The build's clock starts at the earliest profile.
    let origin = buildscope_profile::earliest_start(files)?;
    let Some(limit) = options.max_bytes else {
        let report = Attempt::new(options.min_duration_ns, Mode::Write)
            .run(files, origin, options, out, None)?;
        return Ok(report.expect("no size limit"));
    };
    let mut sample = Attempt::new(
        options.min_duration_ns,
        Mode::Measure {
            stride: SAMPLE_STRIDE,
        },
    );
    sample.sample_from_pages = sample_from_pages;
    sample.run(files, origin, options, out, None)?;
    let aim = if sample.estimated {
        limit - limit / SAMPLE_MARGIN
    } else {
        limit
    };
    let threshold = sample.threshold_that_fits(aim);
    let mut write = Attempt::new(threshold, Mode::Write);
    if let Some(report) = write.run(files, origin, options, out, Some(limit))? {
        return Ok(report);
    }
    // Over the limit: measure every page, then write again.
    let mut exact = Attempt::new(options.min_duration_ns, Mode::Measure { stride: 1 });
    exact.run(files, origin, options, out, None)?;
    let threshold = exact.threshold_that_fits(limit);
    out.set_len(0).map_err(TraceError::Write)?;
    out.seek(SeekFrom::Start(0)).map_err(TraceError::Write)?;
    let report = Attempt::new(threshold, Mode::Write).run(files, origin, options, out, None)?;
    Ok(report.expect("no size limit"))
}

/// Big profiles are measured on every `SAMPLE_STRIDE`th page: intervals of all lengths
/// are spread over the whole compilation, so a systematic sample of pages estimates each
/// duration bucket's bytes within a few percent (the benchmark profiles: see
/// bench/RESULTS.md), for a quarter of the decoding.
const SAMPLE_STRIDE: usize = 4;
/// Profiles with fewer event pages than this are measured on every page.
const SAMPLE_FROM_PAGES: usize = 64;
/// An estimate aims at the limit less 1/SAMPLE_MARGIN of it.
const SAMPLE_MARGIN: u64 = 20;

/// What a pass over the profiles does with each interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Formats it and writes it.
    Write,
    /// Only adds up the bytes it would take, on every `stride`th page of a big profile;
    /// writes nothing.
    Measure { stride: usize },
}

struct Attempt {
    min_duration_ns: u64,
    mode: Mode,
    /// Bytes of interval events per duration bucket (every interval, written or not),
    /// when measuring.
    bucket_bytes: [u64; BUCKETS],
    /// Bytes of the intervals at least `min_duration_ns` long, when measuring.
    kept_bytes: u64,
    /// Bytes of everything else (metadata, counters, brackets).
    fixed_bytes: u64,
    /// The interval bytes are estimated from a sample of pages (some profile was big).
    estimated: bool,
    /// Profiles with fewer pages are measured on every page.
    sample_from_pages: usize,
}

impl Attempt {
    fn new(min_duration_ns: u64, mode: Mode) -> Attempt {
        Attempt {
            min_duration_ns,
            mode,
            bucket_bytes: [0; BUCKETS],
            kept_bytes: 0,
            fixed_bytes: 0,
            estimated: false,
            sample_from_pages: SAMPLE_FROM_PAGES,
        }
    }

    /// After measuring: `min_duration_ns` if what it keeps fits `limit`; else the smallest
    /// bucket boundary at which the intervals of the longer buckets, plus the fixed part,
    /// fit.
    fn threshold_that_fits(&self, limit: u64) -> u64 {
        if self.fixed_bytes + self.kept_bytes <= limit {
            return self.min_duration_ns;
        }
        let mut total = self.fixed_bytes;
        for bucket in (0..BUCKETS).rev() {
            if total + self.bucket_bytes[bucket] > limit {
                // Keep buckets above this one: durations of at least 2^bucket ns.
                return (1u64 << bucket.min(63)).max(self.min_duration_ns);
            }
            total += self.bucket_bytes[bucket];
        }
        self.min_duration_ns
    }

    /// Writes the trace (or, measuring, only counts its bytes); `None` when it went over
    /// `limit` (it then stopped writing).
    fn run(
        &mut self,
        files: &[PathBuf],
        origin: u64,
        options: &TraceOptions,
        out: &mut std::fs::File,
        limit: Option<u64>,
    ) -> Result<Option<TraceReport>, TraceError> {
        // Measuring, the sink is over its limit from the start: it only counts.
        let stride = match self.mode {
            Mode::Measure { stride } => stride,
            Mode::Write => 1,
        };
        let measuring = matches!(self.mode, Mode::Measure { .. });
        let mut sink = Sink::new(out, if measuring { Some(0) } else { limit })?;
        let mut report = TraceReport {
            profiles: files.len(),
            intervals_written: 0,
            intervals_dropped: 0,
            counters_written: 0,
            bytes: 0,
            min_duration_ns: self.min_duration_ns,
        };
        let mut buf: Vec<u8> = Vec::with_capacity(4096);
        buf.extend_from_slice(b"[\n");
        self.fixed_bytes += sink.emit(&mut buf)?;
        let mut first_event = true;
        let mut formatter = Formatter::default();
        let mut helper = Formatter::default();
        for (index, path) in files.iter().enumerate() {
            let mut profile = Profile::open(path)?;
            let pid = profile.metadata().process_id;
            let context = ProcessContext {
                pid,
                offset: profile.metadata().start_time.saturating_sub(origin),
                min_duration_ns: self.min_duration_ns,
                mode: self.mode,
                tracks: if options.collapse_threads {
                    collapsed_tracks(&mut profile)?
                } else {
                    Vec::new()
                },
            };
            // Process metadata: name and order.
            let name = format!(
                "{} ({})",
                profile.crate_name(),
                path.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            );
            separator(&mut buf, &mut first_event);
            push_metadata(&mut buf, "process_name", pid, None, |b| {
                b.extend_from_slice(b"\"name\":");
                push_json_str(b, &name);
            });
            separator(&mut buf, &mut first_event);
            push_metadata(&mut buf, "process_sort_index", pid, None, |b| {
                b.extend_from_slice(b"\"sort_index\":");
                push_u64(b, index as u64);
            });
            self.fixed_bytes += sink.emit(&mut buf)?;

            formatter.start_process();
            helper.start_process();
            // A big profile is split in two: the second half of its pages is formatted on
            // another thread into a scratch file, which is appended after the first half.
            let pages = profile.event_pages();
            let split = if pages >= options.split_pages.max(2) {
                pages / 2
            } else {
                pages
            };
            let stride = if pages >= self.sample_from_pages {
                stride
            } else {
                1
            };
            let mut second_profile = if split < pages {
                Some(profile.share()?)
            } else {
                None
            };
            let mut error = None;
            let (first, second) = std::thread::scope(|scope| {
                let helper = &mut helper;
                let context = &context;
                let second = second_profile.as_mut().map(|p| {
                    scope.spawn(move || format_to_scratch(p, split..pages, stride, context, helper))
                });
                let first = walk_pages(&mut profile, 0..split, stride, |profile, events| {
                    for piece in events.chunks(EVENTS_PER_PIECE) {
                        if error.is_none() {
                            formatter.format(profile, context, piece, &mut buf);
                            if let Err(e) = sink.emit(&mut buf) {
                                error = Some(e);
                            }
                        }
                    }
                });
                let second = second.map(|h| h.join().expect("the trace formatter panicked"));
                (first, second)
            });
            first?;
            if let Some(e) = error {
                return Err(e);
            }
            formatter.name_counters(&profile);
            if let Some(second) = second {
                let (scratch, len) = second?;
                sink.append_file(scratch, len)?;
                formatter.absorb(&mut helper);
            }
            report.intervals_written += formatter.written;
            report.intervals_dropped += formatter.dropped;
            // A sample of pages stands for all of them.
            let sampled = split.div_ceil(stride) + (pages - split).div_ceil(stride);
            let scale = |bytes: u64| {
                if sampled == pages || sampled == 0 {
                    bytes
                } else {
                    (bytes as f64 * pages as f64 / sampled as f64).ceil() as u64
                }
            };
            self.estimated |= sampled != pages;
            for (bucket, bytes) in formatter.bucket_bytes.iter().enumerate() {
                self.bucket_bytes[bucket] += scale(*bytes);
            }
            self.kept_bytes += scale(formatter.kept_bytes);
            // Threads get names; counters sit at the end of their process.
            formatter.threads.sort_unstable();
            for &track in &formatter.threads {
                separator(&mut buf, &mut first_event);
                push_metadata(&mut buf, "thread_name", pid, Some(track), |b| {
                    b.extend_from_slice(b"\"name\":\"thread ");
                    push_u64(b, track as u64);
                    b.push(b'"');
                });
            }
            for ((label, kind), &value) in &formatter.named_counters {
                separator(&mut buf, &mut first_event);
                buf.extend_from_slice(b"{\"name\":");
                push_json_str(&mut buf, label);
                buf.extend_from_slice(b",\"cat\":\"");
                buf.extend_from_slice(kind.as_bytes());
                buf.extend_from_slice(b"\",\"ph\":\"C\",\"ts\":");
                push_micros(&mut buf, context.offset + formatter.last_end);
                buf.extend_from_slice(b",\"pid\":");
                push_u64(&mut buf, pid as u64);
                buf.extend_from_slice(b",\"args\":{\"value\":");
                push_u64(&mut buf, value);
                buf.extend_from_slice(b"}}");
                report.counters_written += 1;
            }
            self.fixed_bytes += sink.emit(&mut buf)?;
        }
        buf.extend_from_slice(b"\n]\n");
        self.fixed_bytes += sink.emit(&mut buf)?;
        let (over, written) = (sink.over && !measuring, sink.written);
        sink.finish()?;
        if over {
            return Ok(None);
        }
        report.bytes = written;
        Ok(Some(report))
    }
}

/// What formatting the events of one profile needs to know about its process.
struct ProcessContext {
    pid: u32,
    /// The profile's start on the build's clock.
    offset: u64,
    min_duration_ns: u64,
    mode: Mode,
    /// `(thread, track)` under `--collapse-threads`.
    tracks: Vec<(u32, u32)>,
}

impl ProcessContext {
    fn track_of(&self, thread: u32) -> u32 {
        self.tracks
            .iter()
            .find(|(t, _)| *t == thread)
            .map_or(thread, |(_, track)| *track)
    }
}

/// Formats interval events as JSON and gathers what the process's closing records need.
struct Formatter {
    /// Labels escaped once each as JSON strings, by label id.
    labels: Vec<Option<Box<[u8]>>>,
    args: ArgsWriter,
    bucket_bytes: [u64; BUCKETS],
    kept_bytes: u64,
    written: u64,
    dropped: u64,
    /// Integer events by label id (ids are per profile handle) and kind...
    counters: FxHashMap<(LabelId, &'static str), u64>,
    /// ...and by label text, once [`Formatter::name_counters`] ran.
    named_counters: std::collections::BTreeMap<(String, &'static str), u64>,
    threads: Vec<u32>,
    last_end: u64,
}

impl Default for Formatter {
    fn default() -> Formatter {
        Formatter {
            labels: Vec::new(),
            args: ArgsWriter::default(),
            bucket_bytes: [0; BUCKETS],
            kept_bytes: 0,
            written: 0,
            dropped: 0,
            counters: Default::default(),
            named_counters: Default::default(),
            threads: Vec::new(),
            last_end: 0,
        }
    }
}

impl Formatter {
    /// Forgets the previous profile (label ids and argument addresses are per profile).
    fn start_process(&mut self) {
        *self = Formatter {
            args: std::mem::take(&mut self.args),
            ..Formatter::default()
        };
        self.args.clear();
    }

    /// Names the integer events seen so far with `profile`'s labels (the handle the
    /// events were decoded with).
    fn name_counters(&mut self, profile: &Profile) {
        for ((label, kind), value) in self.counters.drain() {
            *self
                .named_counters
                .entry((profile.label(label).to_string(), kind))
                .or_default() += value;
        }
    }

    /// Adds what another formatter saw of the same process.
    fn absorb(&mut self, other: &mut Formatter) {
        for (bucket, bytes) in other.bucket_bytes.iter().enumerate() {
            self.bucket_bytes[bucket] += bytes;
        }
        self.kept_bytes += other.kept_bytes;
        self.written += other.written;
        self.dropped += other.dropped;
        for (key, value) in std::mem::take(&mut other.named_counters) {
            *self.named_counters.entry(key).or_default() += value;
        }
        for &thread in &other.threads {
            if !self.threads.contains(&thread) {
                self.threads.push(thread);
            }
        }
        self.last_end = self.last_end.max(other.last_end);
    }

    /// Appends the events kept to `out`, each preceded by `,\n` (they always follow their
    /// process's metadata).
    fn format(
        &mut self,
        profile: &Profile,
        context: &ProcessContext,
        events: &[Event],
        out: &mut Vec<u8>,
    ) {
        for event in events {
            let (start, end) = match event.payload {
                Payload::Interval { start, end } => (start, end),
                Payload::Integer(value) => {
                    *self
                        .counters
                        .entry((event.label, kind_tag(event.kind)))
                        .or_default() += value;
                    continue;
                }
                Payload::Instant(_) => continue,
            };
            let duration = end - start;
            self.last_end = self.last_end.max(end);
            let track = context.track_of(event.thread_id);
            if !self.threads.contains(&track) {
                self.threads.push(track);
            }
            let li = event.label.0 as usize;
            if li >= self.labels.len() {
                self.labels.resize(li + 1, None);
            }
            let name = self.labels[li].get_or_insert_with(|| {
                let mut e = Vec::new();
                push_json_str(&mut e, profile.label(event.label));
                e.into_boxed_slice()
            });
            let kept = duration >= context.min_duration_ns;
            let interval = Interval {
                name,
                kind: kind_tag(event.kind),
                ts: context.offset + start,
                duration,
                pid: context.pid,
                track,
                event_id: event.event_id,
            };
            match context.mode {
                Mode::Measure { .. } => {
                    let mut count = Count(0);
                    interval.put(profile, &mut self.args, &mut count);
                    self.bucket_bytes[bucket_of(duration)] += count.0;
                    if kept {
                        self.kept_bytes += count.0;
                    }
                }
                // Shorter intervals are not formatted at all.
                Mode::Write if kept => interval.put(profile, &mut self.args, out),
                Mode::Write => {}
            }
            if kept {
                self.written += 1;
            } else {
                self.dropped += 1;
            }
        }
    }
}

/// One interval as it is written.
struct Interval<'a> {
    /// The label, escaped as a JSON string.
    name: &'a [u8],
    kind: &'static str,
    ts: u64,
    duration: u64,
    pid: u32,
    track: u32,
    event_id: u64,
}

impl Interval<'_> {
    /// Puts the event, preceded by `,\n` (events always follow their process's metadata).
    /// The same code writes it and measures it, so a measured size is the written one.
    fn put(&self, profile: &Profile, args: &mut ArgsWriter, out: &mut impl ByteSink) {
        out.put(b",\n{\"name\":");
        out.put(self.name);
        out.put(b",\"cat\":\"");
        out.put(self.kind.as_bytes());
        out.put(b"\",\"ph\":\"X\",\"ts\":");
        push_micros(out, self.ts);
        out.put(b",\"dur\":");
        push_micros(out, self.duration);
        out.put(b",\"pid\":");
        push_u64(out, self.pid as u64);
        out.put(b",\"tid\":");
        push_u64(out, self.track as u64);
        out.put_args(args, profile, self.event_id);
        out.put(b"}");
    }
}

/// Where formatted bytes go: a buffer, or a count of them.
trait ByteSink {
    fn put(&mut self, bytes: &[u8]);

    fn put_u64(&mut self, value: u64) {
        self.put(itoa::Buffer::new().format(value).as_bytes());
    }

    /// An event's `"args"` object.
    fn put_args(&mut self, args: &mut ArgsWriter, profile: &Profile, event_id: u64);
}

impl ByteSink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }

    fn put_args(&mut self, args: &mut ArgsWriter, profile: &Profile, event_id: u64) {
        args.push_args(profile, event_id, self);
    }
}

/// Only counts.
struct Count(u64);

impl ByteSink for Count {
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len() as u64;
    }

    fn put_u64(&mut self, value: u64) {
        self.0 += u64::from(value.checked_ilog10().unwrap_or(0) + 1);
    }

    fn put_args(&mut self, args: &mut ArgsWriter, profile: &Profile, event_id: u64) {
        self.0 += args.args_len(profile, event_id);
    }
}

/// Events formatted into one buffer before it is written: buffers stay near 200 KB.
const EVENTS_PER_PIECE: usize = 1024;

/// Formats some pages of a profile into an unnamed scratch file; returns it and its length.
fn format_to_scratch(
    profile: &mut Profile,
    pages: std::ops::Range<usize>,
    stride: usize,
    context: &ProcessContext,
    formatter: &mut Formatter,
) -> Result<(std::fs::File, u64), TraceError> {
    let mut scratch = tempfile::tempfile().map_err(TraceError::Write)?;
    let mut buf = Vec::with_capacity(1 << 18);
    let mut len = 0u64;
    let mut error = None;
    walk_pages(profile, pages, stride, |profile, events| {
        for piece in events.chunks(EVENTS_PER_PIECE) {
            if error.is_none() {
                formatter.format(profile, context, piece, &mut buf);
                len += buf.len() as u64;
                if let Err(e) = scratch.write_all(&buf) {
                    error = Some(TraceError::Write(e));
                }
                buf.clear();
            }
        }
    })?;
    formatter.name_counters(profile);
    match error {
        Some(e) => Err(e),
        None => Ok((scratch, len)),
    }
}

/// Visits the event pages of `pages` (every `stride`th of them), in order.
fn walk_pages(
    profile: &mut Profile,
    pages: std::ops::Range<usize>,
    stride: usize,
    mut visit: impl FnMut(&Profile, &[Event]),
) -> Result<(), ProfileError> {
    if stride <= 1 {
        return profile.for_each_batch_in(pages, visit);
    }
    for page in pages.step_by(stride) {
        profile.for_each_batch_in(page..page + 1, &mut visit)?;
    }
    Ok(())
}

/// A metadata (`M`) record; `args` writes the inside of its args object.
fn push_metadata(
    buf: &mut Vec<u8>,
    name: &str,
    pid: u32,
    tid: Option<u32>,
    args: impl FnOnce(&mut Vec<u8>),
) {
    buf.extend_from_slice(b"{\"name\":\"");
    buf.extend_from_slice(name.as_bytes());
    buf.extend_from_slice(b"\",\"ph\":\"M\",\"pid\":");
    push_u64(buf, pid as u64);
    if let Some(tid) = tid {
        buf.extend_from_slice(b",\"tid\":");
        push_u64(buf, tid as u64);
    }
    buf.extend_from_slice(b",\"args\":{");
    args(buf);
    buf.extend_from_slice(b"}}");
}

/// Slots of each formatter's argument cache: about 2 MB. On a real `syn` profile a
/// 16k-slot cache got 90% of the hits of an unbounded one, since the same item's queries
/// run close together; 8k slots were as fast and keep two formatters under half of crox's
/// peak memory.
const ARG_CACHE_SLOTS: usize = 1 << 13;

/// Slots of the measuring pass's length cache: 1 MB.
const LENGTH_CACHE_SLOTS: usize = 1 << 16;

/// Writes an event's `"args"` object. Argument strings are shared by many events (the
/// same item is the key of many queries), so recent ones are kept escaped in a
/// direct-mapped cache: bounded memory, no eviction bookkeeping.
#[derive(Default)]
struct ArgsWriter {
    /// By slot: the argument held, and its text escaped as a JSON string.
    cache: Vec<(Option<ArgAddr>, Vec<u8>)>,
    /// Measuring: arguments' escaped lengths, direct-mapped like `cache` but with many
    /// more slots (16 bytes each, no text), so most strings are expanded once.
    lengths: Vec<(Option<ArgAddr>, u32)>,
    addrs: Vec<ArgAddr>,
    /// Scratch for an argument's raw bytes.
    raw: Vec<u8>,
}

impl ArgsWriter {
    fn clear(&mut self) {
        self.cache.iter_mut().for_each(|slot| slot.0 = None);
        self.lengths.iter_mut().for_each(|slot| slot.0 = None);
    }

    /// The bytes [`ArgsWriter::push_args`] would write for the event.
    fn args_len(&mut self, profile: &Profile, event_id: u64) -> u64 {
        if !profile.event_arg_addrs(event_id, &mut self.addrs) {
            let mut count = Vec::new();
            self.push_args(profile, event_id, &mut count);
            return count.len() as u64;
        }
        if self.lengths.is_empty() {
            self.lengths.resize(LENGTH_CACHE_SLOTS, (None, 0));
        }
        let mut len = 0u64;
        for (index, &addr) in self.addrs.iter().enumerate() {
            let slot = &mut self.lengths[addr.slot(LENGTH_CACHE_SLOTS)];
            if slot.0 != Some(addr) {
                self.raw.clear();
                profile.arg_bytes(addr, &mut self.raw);
                *slot = (Some(addr), json_bytes_len(&self.raw) as u32);
            }
            let text = slot.1;
            let mut key = Count(0);
            push_arg_key(&mut key, index);
            len += key.0 + u64::from(text);
        }
        if !self.addrs.is_empty() {
            len += 1;
        }
        len
    }

    fn push_args(&mut self, profile: &Profile, event_id: u64, buf: &mut impl ByteSink) {
        if self.cache.is_empty() {
            self.cache.resize_with(ARG_CACHE_SLOTS, Default::default);
        }
        let mut count = 0;
        if profile.event_arg_addrs(event_id, &mut self.addrs) {
            for &addr in &self.addrs {
                let (cached, text) = &mut self.cache[addr.slot(ARG_CACHE_SLOTS)];
                if *cached != Some(addr) {
                    // Slot buffers are reused: after warm-up, no allocation per argument.
                    self.raw.clear();
                    profile.arg_bytes(addr, &mut self.raw);
                    text.clear();
                    push_json_bytes(text, &self.raw);
                    *cached = Some(addr);
                }
                push_arg_key(buf, count);
                buf.put(text);
                count += 1;
            }
        } else if let Some(args) = profile.event_args(event_id) {
            for arg in &args {
                push_arg_key(buf, count);
                push_json_str(buf, arg);
                count += 1;
            }
        }
        if count > 0 {
            buf.put(b"}");
        }
    }
}

/// `,"args":{"arg0":` for the first argument, `,"argN":` for the others.
fn push_arg_key(buf: &mut impl ByteSink, index: usize) {
    buf.put(if index == 0 {
        b",\"args\":{\"arg"
    } else {
        b",\"arg"
    });
    push_u64(buf, index as u64);
    buf.put(b"\":");
}

/// Writes bytes until a size limit is passed; then only counts. The writing happens on a
/// thread of its own, so the kernel's copying overlaps the formatting of the next page;
/// buffers go back and forth instead of being copied.
struct Sink {
    to_writer: Option<std::sync::mpsc::SyncSender<Chunk>>,
    spare: std::sync::mpsc::Receiver<Vec<u8>>,
    writer: Option<std::thread::JoinHandle<std::io::Result<()>>>,
    /// Small pieces (metadata records) gathered until worth a hand-over.
    pending: Vec<u8>,
    written: u64,
    limit: Option<u64>,
    over: bool,
}

/// What the writer thread writes next.
enum Chunk {
    Bytes(Vec<u8>),
    /// A scratch file to copy in whole.
    File(std::fs::File),
}

/// Pieces smaller than this are gathered before they are handed to the writer.
const HANDOVER_BYTES: usize = 1 << 16;

impl Sink {
    fn new(out: &std::fs::File, limit: Option<u64>) -> Result<Sink, TraceError> {
        let mut file = out.try_clone().map_err(TraceError::Write)?;
        let (to_writer, chunks) = std::sync::mpsc::sync_channel::<Chunk>(2);
        let (give_back, spare) = std::sync::mpsc::channel();
        let writer = std::thread::spawn(move || {
            for chunk in chunks {
                match chunk {
                    Chunk::Bytes(mut bytes) => {
                        file.write_all(&bytes)?;
                        bytes.clear();
                        // The sink may have finished and gone; its spare buffers with it.
                        let _ = give_back.send(bytes);
                    }
                    Chunk::File(mut scratch) => {
                        use std::io::Seek;
                        scratch.seek(std::io::SeekFrom::Start(0))?;
                        // File to file: the kernel copies (copy_file_range), not us.
                        std::io::copy(&mut scratch, &mut file)?;
                    }
                }
            }
            Ok(())
        });
        Ok(Sink {
            to_writer: Some(to_writer),
            spare,
            writer: Some(writer),
            pending: Vec::new(),
            written: 0,
            limit,
            over: false,
        })
    }

    /// Writes and clears `buf`, returning its length.
    fn emit(&mut self, buf: &mut Vec<u8>) -> Result<u64, TraceError> {
        let len = buf.len() as u64;
        if !self.over && self.limit.is_some_and(|l| self.written + len > l) {
            self.over = true;
        }
        if self.over {
            buf.clear();
            return Ok(len);
        }
        self.written += len;
        if buf.len() < HANDOVER_BYTES {
            self.pending.extend_from_slice(buf);
            buf.clear();
            if self.pending.len() >= HANDOVER_BYTES {
                let full = std::mem::take(&mut self.pending);
                self.hand_over(Chunk::Bytes(full))?;
            }
        } else {
            if !self.pending.is_empty() {
                let pending = std::mem::take(&mut self.pending);
                self.hand_over(Chunk::Bytes(pending))?;
            }
            let empty = self.spare.try_recv().unwrap_or_default();
            let full = std::mem::replace(buf, empty);
            self.hand_over(Chunk::Bytes(full))?;
        }
        Ok(len)
    }

    /// Appends a scratch file of `len` bytes, after everything emitted so far.
    fn append_file(&mut self, scratch: std::fs::File, len: u64) -> Result<(), TraceError> {
        if !self.over && self.limit.is_some_and(|l| self.written + len > l) {
            self.over = true;
        }
        if self.over {
            return Ok(());
        }
        self.written += len;
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            self.hand_over(Chunk::Bytes(pending))?;
        }
        self.hand_over(Chunk::File(scratch))
    }

    fn hand_over(&mut self, chunk: Chunk) -> Result<(), TraceError> {
        let sent = self.to_writer.as_ref().map(|tx| tx.send(chunk));
        if matches!(sent, Some(Ok(()))) {
            return Ok(());
        }
        // The writer stopped: it failed, and says why.
        Err(self.join().err().unwrap_or_else(|| {
            TraceError::Write(std::io::Error::other("the trace writer stopped"))
        }))
    }

    /// Writes what is pending and waits until everything is written.
    fn finish(mut self) -> Result<(), TraceError> {
        if !self.over && !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            self.hand_over(Chunk::Bytes(pending))?;
        }
        self.join()
    }

    fn join(&mut self) -> Result<(), TraceError> {
        self.to_writer = None;
        match self.writer.take().map(|w| w.join()) {
            Some(Ok(Err(e))) => Err(TraceError::Write(e)),
            Some(Err(_)) => Err(TraceError::Write(std::io::Error::other(
                "the trace writer panicked",
            ))),
            Some(Ok(Ok(()))) | None => Ok(()),
        }
    }
}

fn separator(buf: &mut Vec<u8>, first: &mut bool) {
    if *first {
        *first = false;
    } else {
        buf.extend_from_slice(b",\n");
    }
}

/// The event's category: its kind as rustc names it (other kinds share `Other`).
fn kind_tag(kind: EventKind) -> &'static str {
    kind.known_name().unwrap_or("Other")
}

fn push_u64(buf: &mut impl ByteSink, value: u64) {
    buf.put_u64(value);
}

/// Nanoseconds as microseconds with three decimals (the format's unit, full precision).
fn push_micros(buf: &mut impl ByteSink, ns: u64) {
    push_u64(buf, ns / 1000);
    let frac = ns % 1000;
    if frac != 0 {
        buf.put(&[
            b'.',
            b'0' + (frac / 100) as u8,
            b'0' + (frac / 10 % 10) as u8,
            b'0' + (frac % 10) as u8,
        ]);
    }
}

/// Bytes as a JSON string literal: UTF-8 as is, anything else replaced like
/// `String::from_utf8_lossy` does.
fn push_json_bytes(buf: &mut impl ByteSink, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => push_json_str(buf, text),
        Err(_) => push_json_str(buf, &String::from_utf8_lossy(bytes)),
    }
}

/// The length of what [`push_json_bytes`] writes for `bytes`, without writing it.
fn json_bytes_len(bytes: &[u8]) -> usize {
    let Ok(text) = std::str::from_utf8(bytes) else {
        let mut count = Count(0);
        push_json_bytes(&mut count, bytes);
        return count.0 as usize;
    };
    // Most text needs no escaping; this check vectorizes, the count below does not.
    if !text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        return text.len() + 2;
    }
    let escapes: usize = text
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' => 1,
            0..=0x1f => 5,
            _ => 0,
        })
        .sum();
    text.len() + escapes + 2
}

/// A JSON string literal: quotes, backslashes and control characters escaped.
fn push_json_str(buf: &mut impl ByteSink, s: &str) {
    buf.put(b"\"");
    let bytes = s.as_bytes();
    // Most text needs no escaping; this check vectorizes, the loop below does not.
    if !bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\') {
        buf.put(bytes);
        buf.put(b"\"");
        return;
    }
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        buf.put(&bytes[run..i]);
        match escape {
            Some(e) => buf.put(e),
            None => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                buf.put(b"\\u00");
                buf.put(&[HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
            }
        }
        run = i + 1;
    }
    buf.put(&bytes[run..]);
    buf.put(b"\"");
}

/// For `--collapse-threads`: each thread's track, so that threads whose spans never overlap
/// share one (first-fit by span start).
fn collapsed_tracks(profile: &mut Profile) -> Result<Vec<(u32, u32)>, ProfileError> {
    let mut spans: std::collections::BTreeMap<u32, (u64, u64)> = Default::default();
    profile.for_each_event(|event| {
        if let Payload::Interval { start, end } = event.payload {
            let span = spans.entry(event.thread_id).or_insert((start, end));
            span.0 = span.0.min(start);
            span.1 = span.1.max(end);
        }
    })?;
    let mut by_start: Vec<(u32, (u64, u64))> = spans.into_iter().collect();
    by_start.sort_by_key(|(thread, (start, _))| (*start, *thread));
    let mut track_ends: Vec<(u32, u64)> = Vec::new(); // (track id, end of its last span)
    let mut assignment = Vec::new();
    for (thread, (start, end)) in by_start {
        match track_ends.iter_mut().find(|(_, last)| *last <= start) {
            Some(track) => {
                track.1 = end;
                assignment.push((thread, track.0));
            }
            None => {
                track_ends.push((thread, end));
                assignment.push((thread, thread));
            }
        }
    }
    Ok(assignment)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two real profiles (one with arguments) and the hostile one.
    fn profiles(dir: &std::path::Path) -> Vec<PathBuf> {
        let source = "pub fn f<T: Clone + std::fmt::Debug>(t: T) -> String { format!(\"{:?}\", t.clone()) }\n\
                      pub fn g() -> String { f(1u8) + &f(\"x\") + &f(vec![1.5f64]) }\n";
        let args = dir.join("args");
        let plain = dir.join("plain");
        std::fs::create_dir_all(&args).unwrap();
        std::fs::create_dir_all(&plain).unwrap();
        vec![
            buildscope_testkit::rustc_profile(&args, "sized", source, "default,args"),
            buildscope_testkit::rustc_profile(&plain, "plain", source, "default"),
            buildscope_testkit::hostile_profile(dir),
        ]
    }

    /// Every interval, under an optional size limit.
    fn limited(max_bytes: Option<u64>, split_pages: usize) -> TraceOptions {
        TraceOptions {
            min_duration_ns: 0,
            collapse_threads: false,
            max_bytes,
            split_pages,
        }
    }

    fn write(files: &[PathBuf], options: &TraceOptions) -> (TraceReport, Vec<u8>) {
        write_sampling(files, options, SAMPLE_FROM_PAGES)
    }

    fn write_sampling(
        files: &[PathBuf],
        options: &TraceOptions,
        sample_from_pages: usize,
    ) -> (TraceReport, Vec<u8>) {
        let mut out = tempfile::tempfile().unwrap();
        let report = write_trace_sampling(files, &mut out, options, sample_from_pages).unwrap();
        use std::io::{Read, Seek};
        out.rewind().unwrap();
        let mut bytes = Vec::new();
        out.read_to_end(&mut bytes).unwrap();
        (report, bytes)
    }

    #[test]
    fn the_measuring_pass_predicts_the_written_bytes_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let files = profiles(dir.path());
        let origin = buildscope_profile::earliest_start(&files).unwrap();
        for (min_duration_ns, split_pages) in [(0, usize::MAX), (0, 2), (20_000, 2)] {
            let options = TraceOptions {
                min_duration_ns,
                collapse_threads: false,
                max_bytes: None,
                split_pages,
            };
            let mut measured = Attempt::new(min_duration_ns, Mode::Measure { stride: 1 });
            let mut scratch = tempfile::tempfile().unwrap();
            let counted = measured
                .run(&files, origin, &options, &mut scratch, None)
                .unwrap()
                .unwrap();
            assert_eq!(
                scratch.metadata().unwrap().len(),
                0,
                "measuring writes nothing"
            );
            let (written, bytes) = write(&files, &options);
            assert_eq!(
                measured.fixed_bytes + measured.kept_bytes,
                bytes.len() as u64,
                "min {min_duration_ns} ns, split at {split_pages} pages"
            );
            assert_eq!(counted.intervals_written, written.intervals_written);
            assert_eq!(counted.intervals_dropped, written.intervals_dropped);
            // With every interval kept, the buckets hold every interval's bytes.
            if min_duration_ns == 0 {
                assert_eq!(
                    measured.bucket_bytes.iter().sum::<u64>(),
                    measured.kept_bytes
                );
            }
        }
    }

    #[test]
    fn a_size_limit_keeps_everything_that_fits_and_cuts_by_duration_when_not() {
        let dir = tempfile::tempdir().unwrap();
        let files = profiles(dir.path());
        let options = |max_bytes| limited(max_bytes, DEFAULT_SPLIT_PAGES);
        let (_, full) = write(&files, &options(None));
        // Exactly the size: nothing left out, the same bytes.
        let (report, exact) = write(&files, &options(Some(full.len() as u64)));
        assert_eq!(report.intervals_dropped, 0);
        assert_eq!(exact, full);
        // One byte less: the shortest intervals go, and the rest fits.
        let (report, cut) = write(&files, &options(Some(full.len() as u64 - 1)));
        assert!(report.intervals_dropped > 0);
        assert!(report.min_duration_ns > 0);
        assert!(cut.len() < full.len());
        let events: Vec<serde_json::Value> = serde_json::from_slice(&cut).unwrap();
        assert!(events
            .iter()
            .filter(|e| e["ph"] == "X")
            .all(|e| e["dur"].as_f64().unwrap() * 1000.0 >= report.min_duration_ns as f64 - 0.5));
    }

    #[test]
    fn a_sampled_estimate_never_lets_the_output_run_over_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let files = profiles(dir.path());
        let options = |max_bytes| limited(max_bytes, 2);
        let (_, full) = write(&files, &options(None));
        let full = full.len() as u64;
        // Sampling forced on for these small profiles (every fourth of a few pages is a
        // rough estimate): whatever it guessed, the output fits, by the margin or by the
        // exact second try.
        for limit in [full, full - 1, full * 9 / 10, full / 2, full / 4] {
            let (report, bytes) = write_sampling(&files, &options(Some(limit)), 2);
            assert!(bytes.len() as u64 <= limit, "{} > {limit}", bytes.len());
            assert_eq!(report.bytes, bytes.len() as u64);
            let _: Vec<serde_json::Value> = serde_json::from_slice(&bytes).unwrap();
        }
    }

    #[test]
    fn a_sample_of_pages_stands_for_all_of_them() {
        let dir = tempfile::tempdir().unwrap();
        let files = profiles(dir.path());
        let origin = buildscope_profile::earliest_start(&files).unwrap();
        let options = TraceOptions {
            min_duration_ns: 0,
            collapse_threads: false,
            max_bytes: None,
            split_pages: usize::MAX,
        };
        let measure = |stride| {
            let mut attempt = Attempt::new(0, Mode::Measure { stride });
            attempt.sample_from_pages = 2;
            let mut scratch = tempfile::tempfile().unwrap();
            attempt
                .run(&files, origin, &options, &mut scratch, None)
                .unwrap();
            attempt
        };
        let (exact, sampled) = (measure(1), measure(SAMPLE_STRIDE));
        assert!(!exact.estimated);
        let pages: usize = files
            .iter()
            .map(|f| Profile::open(f).unwrap().event_pages())
            .sum();
        if pages >= 2 * SAMPLE_STRIDE {
            assert!(sampled.estimated);
            let ratio = sampled.kept_bytes as f64 / exact.kept_bytes as f64;
            assert!(
                (0.5..2.0).contains(&ratio),
                "estimate {ratio:.2} of the exact bytes"
            );
        }
    }

    #[test]
    fn json_strings_and_microseconds_are_written_exactly() {
        let mut buf = Vec::new();
        push_json_str(&mut buf, "a\"b\\c\n<T as Trait>\u{1}");
        assert_eq!(
            String::from_utf8(buf.clone()).unwrap(),
            r#""a\"b\\c\n<T as Trait>\u0001""#
        );
        let parsed: String = serde_json::from_slice(&buf).unwrap();
        assert_eq!(parsed, "a\"b\\c\n<T as Trait>\u{1}");
        let mut buf = Vec::new();
        push_micros(&mut buf, 1_234_567);
        buf.push(b' ');
        push_micros(&mut buf, 5_000);
        buf.push(b' ');
        push_micros(&mut buf, 7);
        assert_eq!(String::from_utf8(buf).unwrap(), "1234.567 5 0.007");
        // Lengths measured without writing are the lengths written.
        for text in [
            &b"plain"[..],
            b"a\"b\\c\n\r\t<T as Trait>\x01\x1f",
            "caf\u{e9} \u{1F980}".as_bytes(),
            b"broken \xff\xfe utf-8",
            b"",
        ] {
            let mut written = Vec::new();
            push_json_bytes(&mut written, text);
            assert_eq!(json_bytes_len(text), written.len(), "{text:?}");
        }
        for value in [0, 9, 10, 99, 100, 12_345, u64::MAX] {
            let (mut written, mut counted) = (Vec::new(), Count(0));
            push_micros(&mut written, value);
            push_micros(&mut counted, value);
            assert_eq!(counted.0, written.len() as u64, "{value}");
        }
    }
}
