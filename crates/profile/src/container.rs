//! The paged container of a `.mm_profdata` file.
//!
//! Format version 9 interleaves three streams in pages: `[tag: u8][len: u32 LE][len bytes]`.
//! The string data and string index streams are memory-mapped and read in place (located
//! here as segments of the file). Event pages are only located: their bytes are read back
//! page by page with positioned reads, so memory does not grow with the number of events.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use measureme::file_header::{
    CURRENT_FILE_FORMAT_VERSION, FILE_HEADER_SIZE, FILE_MAGIC_EVENT_STREAM,
    FILE_MAGIC_STRINGTABLE_DATA, FILE_MAGIC_STRINGTABLE_INDEX, FILE_MAGIC_TOP_LEVEL,
};

use crate::ProfileError;

/// Size of one serialized `measureme::RawEvent`.
pub(crate) const RAW_EVENT_SIZE: usize = 32;
const PAGE_HEADER_SIZE: u64 = 5;

const TAG_EVENTS: u8 = 0;
const TAG_STRING_DATA: u8 = 1;
const TAG_STRING_INDEX: u8 = 2;

/// A run of whole events inside one page of the file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EventRun {
    pub file_offset: u64,
    pub count: u32,
}

/// A run of one stream's bytes inside one page of the file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment {
    /// Where the run starts in the stream's own address space.
    pub stream_offset: u64,
    pub file_offset: u64,
    pub len: u64,
}

/// The located streams of one profile file.
#[derive(Debug)]
pub(crate) struct Container {
    /// The string data stream's segments, its 8-byte stream header included (string
    /// addresses count from it).
    pub string_data: Vec<Segment>,
    /// The string index stream's segments, its stream header excluded: 16-byte
    /// `(id, addr)` entries.
    pub string_index: Vec<Segment>,
    /// Event runs in file order.
    pub event_runs: Vec<EventRun>,
    pub event_count: u64,
}

pub(crate) fn read_container(path: &Path, file: &File) -> Result<Container, ProfileError> {
    let file_len = file
        .metadata()
        .map_err(|e| ProfileError::io(path, e))?
        .len();
    if file_len == 0 {
        return Err(ProfileError::Empty {
            path: path.to_path_buf(),
        });
    }
    // Positioned reads only: event pages are skipped without reading them, and a buffered
    // reader would refill its whole buffer after every skip.
    let read_at = |buf: &mut [u8], at: u64| {
        file.read_exact_at(buf, at)
            .map_err(|e| ProfileError::io(path, e))
    };
    let mut header = [0u8; FILE_HEADER_SIZE];
    if file_len < FILE_HEADER_SIZE as u64 {
        return Err(ProfileError::truncated(
            path,
            format!("{file_len} bytes is shorter than the 8-byte file header"),
        ));
    }
    read_at(&mut header, 0)?;
    check_header(path, &header, FILE_MAGIC_TOP_LEVEL, "file")?;

    // First the page headers alone, so each stream's buffer is allocated once at its size.
    let mut pages: Vec<(u8, u64, u64)> = Vec::new();
    let mut pos = FILE_HEADER_SIZE as u64;
    while pos < file_len {
        if file_len - pos < PAGE_HEADER_SIZE {
            return Err(ProfileError::truncated(
                path,
                format!("page header at offset {pos} is cut off at the end of the file"),
            ));
        }
        let mut page_header = [0u8; PAGE_HEADER_SIZE as usize];
        read_at(&mut page_header, pos)?;
        let tag = page_header[0];
        let len = u32::from_le_bytes(page_header[1..5].try_into().expect("4 bytes")) as u64;
        let body = pos + PAGE_HEADER_SIZE;
        if len == 0 {
            return Err(ProfileError::corrupt(
                path,
                format!("empty page at offset {pos}"),
            ));
        }
        if len > file_len - body {
            return Err(ProfileError::truncated(
                path,
                format!(
                    "page at offset {pos} holds {len} bytes but only {} remain",
                    file_len - body
                ),
            ));
        }
        if !matches!(tag, TAG_EVENTS | TAG_STRING_DATA | TAG_STRING_INDEX) {
            return Err(ProfileError::corrupt(
                path,
                format!("unknown page tag {tag} at offset {pos}"),
            ));
        }
        pages.push((tag, body, len));
        pos = body + len;
    }
    let mut string_data: Vec<Segment> = Vec::new();
    let mut string_index: Vec<Segment> = Vec::new();
    let append = |segments: &mut Vec<Segment>, file_offset: u64, len: u64| {
        let stream_offset = segments.last().map_or(0, |s| s.stream_offset + s.len);
        segments.push(Segment {
            stream_offset,
            file_offset,
            len,
        });
    };
    let mut event_runs = Vec::new();
    let mut event_count = 0u64;
    let mut events_stream_len = 0u64;
    for &(tag, body, len) in &pages {
        match tag {
            TAG_STRING_DATA => append(&mut string_data, body, len),
            TAG_STRING_INDEX => append(&mut string_index, body, len),
            _ => {
                let mut first = body;
                let mut payload = len;
                if events_stream_len == 0 {
                    // The first event page starts with the event stream's own header.
                    if len < FILE_HEADER_SIZE as u64 {
                        return Err(ProfileError::corrupt(path, "event stream header is cut"));
                    }
                    let mut stream_header = [0u8; FILE_HEADER_SIZE];
                    read_at(&mut stream_header, body)?;
                    check_header(
                        path,
                        &stream_header,
                        FILE_MAGIC_EVENT_STREAM,
                        "event stream",
                    )?;
                    first += FILE_HEADER_SIZE as u64;
                    payload -= FILE_HEADER_SIZE as u64;
                }
                if payload % RAW_EVENT_SIZE as u64 != 0 {
                    return Err(ProfileError::corrupt(
                        path,
                        format!(
                            "event page at offset {} holds {payload} bytes, not a whole number of {RAW_EVENT_SIZE}-byte events",
                            body - PAGE_HEADER_SIZE
                        ),
                    ));
                }
                let count = payload / RAW_EVENT_SIZE as u64;
                if count > 0 {
                    event_runs.push(EventRun {
                        file_offset: first,
                        count: count as u32,
                    });
                }
                event_count += count;
                events_stream_len += len;
            }
        }
    }

    if events_stream_len == 0 {
        return Err(missing(path, "event stream"));
    }
    if string_data.is_empty() {
        return Err(missing(path, "string table (string data stream)"));
    }
    if string_index.is_empty() {
        return Err(missing(path, "string table (string index stream)"));
    }
    for (segments, magic, what) in [
        (&string_data, FILE_MAGIC_STRINGTABLE_DATA, "string data"),
        (&string_index, FILE_MAGIC_STRINGTABLE_INDEX, "string index"),
    ] {
        let first = segments[0];
        if first.len < FILE_HEADER_SIZE as u64 {
            return Err(ProfileError::corrupt(
                path,
                format!("{what} stream is shorter than its header"),
            ));
        }
        let mut stream_header = [0u8; FILE_HEADER_SIZE];
        read_at(&mut stream_header, first.file_offset)?;
        check_header(path, &stream_header, magic, what)?;
    }
    // Entries may straddle pages (rustc writes bulk index updates in one go), but the
    // stream as a whole holds whole entries.
    let header = FILE_HEADER_SIZE as u64;
    string_index[0].file_offset += header;
    string_index[0].len -= header;
    for segment in &mut string_index {
        segment.stream_offset = segment.stream_offset.saturating_sub(header);
    }
    let index_len: u64 = string_index.iter().map(|s| s.len).sum();
    if index_len % 16 != 0 {
        return Err(ProfileError::corrupt(
            path,
            format!(
                "the string index holds {index_len} bytes, not a whole number of 16-byte entries"
            ),
        ));
    }
    Ok(Container {
        string_data,
        string_index,
        event_runs,
        event_count,
    })
}

fn missing(path: &Path, stream: &'static str) -> ProfileError {
    ProfileError::MissingStream {
        path: path.to_path_buf(),
        stream,
    }
}

fn check_header(
    path: &Path,
    header: &[u8],
    magic: &[u8; 4],
    what: &str,
) -> Result<(), ProfileError> {
    if &header[..4] != magic {
        let found = String::from_utf8_lossy(&header[..4])
            .escape_debug()
            .to_string();
        if what == "file" {
            return Err(ProfileError::BadMagic {
                path: path.to_path_buf(),
                found,
            });
        }
        return Err(ProfileError::corrupt(
            path,
            format!(
                "{what} has magic {found:?}, expected {:?}",
                String::from_utf8_lossy(magic)
            ),
        ));
    }
    let version = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
    if version != CURRENT_FILE_FORMAT_VERSION {
        return Err(ProfileError::UnsupportedVersion {
            path: path.to_path_buf(),
            version,
            supported: CURRENT_FILE_FORMAT_VERSION,
        });
    }
    Ok(())
}
