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

use buildscope_profile::{EventKind, Payload, Profile, ProfileError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceOptions {
    /// Intervals shorter than this are left out.
    pub min_duration_ns: u64,
    /// Put threads whose spans do not overlap on one track.
    pub collapse_threads: bool,
    /// Raise the minimum duration until the output fits in this many bytes.
    pub max_bytes: Option<u64>,
}

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

/// Writes one trace of all `files` to `out` (a file: it may be rewritten from the start
/// when the first attempt does not fit `max_bytes`).
pub fn write_trace(
    files: &[PathBuf],
    out: &mut std::fs::File,
    options: &TraceOptions,
) -> Result<TraceReport, TraceError> {
    use std::io::{Seek, SeekFrom};
    // The build's clock starts at the earliest profile.
    let mut origin = u64::MAX;
    for path in files {
        origin = origin.min(Profile::open(path)?.metadata().start_time);
    }
    let mut attempt = Attempt::new(options.min_duration_ns, options.max_bytes);
    let first = attempt.run(files, origin, options, out)?;
    if let Some(report) = first {
        return Ok(report);
    }
    // Too big: every interval was measured, so the threshold that fits is known exactly.
    let threshold = attempt.threshold_that_fits();
    out.set_len(0).map_err(TraceError::Write)?;
    out.seek(SeekFrom::Start(0)).map_err(TraceError::Write)?;
    let mut second = Attempt::new(threshold, None);
    Ok(second
        .run(files, origin, options, out)?
        .expect("no size limit on the second attempt"))
}

struct Attempt {
    min_duration_ns: u64,
    max_bytes: Option<u64>,
    /// Bytes of interval events per duration bucket (every interval, written or not).
    bucket_bytes: [u64; BUCKETS],
    /// Bytes of everything else (metadata, counters, brackets).
    fixed_bytes: u64,
}

impl Attempt {
    fn new(min_duration_ns: u64, max_bytes: Option<u64>) -> Attempt {
        Attempt {
            min_duration_ns,
            max_bytes,
            bucket_bytes: [0; BUCKETS],
            fixed_bytes: 0,
        }
    }

    /// The smallest bucket boundary at which the intervals of the longer buckets, plus the
    /// fixed part, fit the limit.
    fn threshold_that_fits(&self) -> u64 {
        let limit = self.max_bytes.unwrap_or(u64::MAX);
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

    /// Writes the trace; `None` when it went over the size limit (it then stops writing but
    /// keeps measuring).
    fn run(
        &mut self,
        files: &[PathBuf],
        origin: u64,
        options: &TraceOptions,
        out: &mut std::fs::File,
    ) -> Result<Option<TraceReport>, TraceError> {
        let mut sink = Sink {
            out: std::io::BufWriter::with_capacity(1 << 20, out),
            written: 0,
            limit: self.max_bytes,
            over: false,
        };
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
        for (index, path) in files.iter().enumerate() {
            let mut profile = Profile::open(path)?;
            let pid = profile.metadata().process_id;
            let offset = profile.metadata().start_time.saturating_sub(origin);
            let tracks = if options.collapse_threads {
                collapsed_tracks(&mut profile)?
            } else {
                Vec::new()
            };
            let track_of = |thread: u32| -> u32 {
                tracks
                    .iter()
                    .find(|(t, _)| *t == thread)
                    .map_or(thread, |(_, track)| *track)
            };
            // Process metadata: name and order.
            separator(&mut buf, &mut first_event);
            buf.extend_from_slice(b"{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":");
            push_u64(&mut buf, pid as u64);
            buf.extend_from_slice(b",\"args\":{\"name\":");
            push_json_str(
                &mut buf,
                &format!(
                    "{} ({})",
                    profile.crate_name(),
                    path.file_name()
                        .map(|n| n.to_string_lossy())
                        .unwrap_or_default()
                ),
            );
            buf.extend_from_slice(b"}}");
            separator(&mut buf, &mut first_event);
            buf.extend_from_slice(b"{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":");
            push_u64(&mut buf, pid as u64);
            buf.extend_from_slice(b",\"args\":{\"sort_index\":");
            push_u64(&mut buf, index as u64);
            buf.extend_from_slice(b"}}");
            self.fixed_bytes += sink.emit(&mut buf)?;

            // Labels, escaped once each as JSON strings.
            let mut escaped: Vec<Option<Vec<u8>>> = Vec::new();
            let mut counters: std::collections::BTreeMap<(u32, &'static str), u64> =
                Default::default();
            let mut threads: Vec<u32> = Vec::new();
            let mut last_end = 0u64;
            let mut error = None;
            let min_duration = self.min_duration_ns;
            let bucket_bytes = &mut self.bucket_bytes;
            profile.for_each_batch(|profile, events| {
                for event in events {
                    if error.is_some() {
                        return;
                    }
                    let (start, end) = match event.payload {
                        Payload::Interval { start, end } => (start, end),
                        Payload::Integer(value) => {
                            *counters
                                .entry((event.label.0, kind_tag(event.kind)))
                                .or_default() += value;
                            continue;
                        }
                        Payload::Instant(_) => continue,
                    };
                    let duration = end - start;
                    last_end = last_end.max(end);
                    let track = track_of(event.thread_id);
                    if !threads.contains(&track) {
                        threads.push(track);
                    }
                    let li = event.label.0 as usize;
                    if li >= escaped.len() {
                        escaped.resize(li + 1, None);
                    }
                    let name = escaped[li].get_or_insert_with(|| {
                        let mut e = Vec::new();
                        push_json_str(&mut e, profile.label(event.label));
                        e
                    });
                    // Every interval follows its process's metadata: it always needs a comma.
                    buf.extend_from_slice(b",\n{\"name\":");
                    buf.extend_from_slice(name);
                    buf.extend_from_slice(b",\"cat\":\"");
                    buf.extend_from_slice(kind_tag(event.kind).as_bytes());
                    buf.extend_from_slice(b"\",\"ph\":\"X\",\"ts\":");
                    push_micros(&mut buf, offset + start);
                    buf.extend_from_slice(b",\"dur\":");
                    push_micros(&mut buf, duration);
                    buf.extend_from_slice(b",\"pid\":");
                    push_u64(&mut buf, pid as u64);
                    buf.extend_from_slice(b",\"tid\":");
                    push_u64(&mut buf, track as u64);
                    if let Some(args) = profile.event_args(event.event_id).filter(|a| !a.is_empty())
                    {
                        buf.extend_from_slice(b",\"args\":{");
                        for (i, arg) in args.iter().enumerate() {
                            if i > 0 {
                                buf.push(b',');
                            }
                            buf.extend_from_slice(b"\"arg");
                            push_u64(&mut buf, i as u64);
                            buf.extend_from_slice(b"\":");
                            push_json_str(&mut buf, arg);
                        }
                        buf.push(b'}');
                    }
                    buf.push(b'}');
                    bucket_bytes[bucket_of(duration)] += buf.len() as u64;
                    if duration < min_duration {
                        report.intervals_dropped += 1;
                        buf.clear();
                        continue;
                    }
                    report.intervals_written += 1;
                    if let Err(e) = sink.emit(&mut buf) {
                        error = Some(e);
                    }
                }
            })?;
            if let Some(e) = error {
                return Err(e);
            }
            // Threads get names; counters sit at the end of their process.
            for track in threads {
                separator(&mut buf, &mut first_event);
                buf.extend_from_slice(b"{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":");
                push_u64(&mut buf, pid as u64);
                buf.extend_from_slice(b",\"tid\":");
                push_u64(&mut buf, track as u64);
                buf.extend_from_slice(b",\"args\":{\"name\":\"thread ");
                push_u64(&mut buf, track as u64);
                buf.extend_from_slice(b"\"}}");
            }
            for ((label, kind), value) in counters {
                separator(&mut buf, &mut first_event);
                buf.extend_from_slice(b"{\"name\":");
                push_json_str(&mut buf, &profile.labels()[label as usize]);
                buf.extend_from_slice(b",\"cat\":\"");
                buf.extend_from_slice(kind.as_bytes());
                buf.extend_from_slice(b"\",\"ph\":\"C\",\"ts\":");
                push_micros(&mut buf, offset + last_end);
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
        if sink.over {
            return Ok(None);
        }
        sink.out.flush().map_err(TraceError::Write)?;
        report.bytes = sink.written;
        Ok(Some(report))
    }
}

/// Writes formatted bytes until a size limit is passed; then only counts.
struct Sink<W: Write> {
    out: W,
    written: u64,
    limit: Option<u64>,
    over: bool,
}

impl<W: Write> Sink<W> {
    /// Writes and clears `buf`, returning its length.
    fn emit(&mut self, buf: &mut Vec<u8>) -> Result<u64, TraceError> {
        let len = buf.len() as u64;
        if !self.over && self.limit.is_some_and(|l| self.written + len > l) {
            self.over = true;
        }
        if !self.over {
            self.out.write_all(buf).map_err(TraceError::Write)?;
            self.written += len;
        }
        buf.clear();
        Ok(len)
    }
}

fn separator(buf: &mut Vec<u8>, first: &mut bool) {
    if *first {
        *first = false;
    } else {
        buf.extend_from_slice(b",\n");
    }
}

fn kind_tag(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Query => "Query",
        EventKind::GenericActivity => "GenericActivity",
        EventKind::QueryBlocked => "QueryBlocked",
        EventKind::IncrementalLoadResult => "IncrementalLoadResult",
        EventKind::IncrementalResultHashing => "IncrementalResultHashing",
        EventKind::QueryCacheHit => "QueryCacheHit",
        EventKind::QueryCacheHitCount => "QueryCacheHitCount",
        EventKind::ArtifactSize => "ArtifactSize",
        EventKind::Other(_) => "Other",
    }
}

fn push_u64(buf: &mut Vec<u8>, value: u64) {
    buf.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Nanoseconds as microseconds with three decimals (the format's unit, full precision).
fn push_micros(buf: &mut Vec<u8>, ns: u64) {
    push_u64(buf, ns / 1000);
    let frac = ns % 1000;
    if frac != 0 {
        buf.push(b'.');
        buf.push(b'0' + (frac / 100) as u8);
        buf.push(b'0' + (frac / 10 % 10) as u8);
        buf.push(b'0' + (frac % 10) as u8);
    }
}

/// A JSON string literal: quotes, backslashes and control characters escaped.
fn push_json_str(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    let bytes = s.as_bytes();
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
        buf.extend_from_slice(&bytes[run..i]);
        match escape {
            Some(e) => buf.extend_from_slice(e),
            None => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                buf.extend_from_slice(b"\\u00");
                buf.push(HEX[(b >> 4) as usize]);
                buf.push(HEX[(b & 15) as usize]);
            }
        }
        run = i + 1;
    }
    buf.extend_from_slice(&bytes[run..]);
    buf.push(b'"');
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
    }
}
