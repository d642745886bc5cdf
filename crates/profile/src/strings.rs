//! The string table: resolves measureme `StringId`s to text without trusting the file.
//!
//! Encoding (see `measureme::stringtable`): a string is a list of components ended by
//! `0xFF`; a component is UTF-8 text or `0xFE` followed by a little-endian `u64` id of
//! another string. Ids up to `METADATA_STRING_ID` are virtual and go through the index;
//! larger ids are addresses offset by `FIRST_REGULAR_STRING_ID`.
//!
//! Event ids are strings too: an event with arguments has the id
//! `[ref(label), 0x1E, ref(arg0), 0x1E, ref(arg1), ...]`, so the label is found from the
//! first component without building the whole string.
//!
//! The streams are read in place from a memory map of the file: only the pages that hold
//! strings actually looked at are ever loaded, and nothing is copied.

use measureme::stringtable::{FIRST_REGULAR_STRING_ID, METADATA_STRING_ID};
use memmap2::Mmap;

use crate::container::Segment;

const TERMINATOR: u8 = 0xFF;
const STRING_REF_TAG: u8 = 0xFE;
const STRING_REF_SIZE: usize = 9;
const ARG_SEPARATOR: u8 = 0x1E;
/// Guards against reference cycles in corrupt files.
const MAX_NESTING: u32 = 64;
/// Guards against pathological expansion (a string referring to one large string many times).
const MAX_DECODED_LEN: usize = 1 << 20;
/// Guards against exponential expansion of references to empty strings: at most this many
/// components are visited for one string.
const MAX_COMPONENTS: u32 = 1 << 20;

/// Maps virtual string ids to addresses.
#[derive(Debug, Clone)]
enum VirtualIndex {
    /// Ids are dense (rustc numbers query invocations from 0): `addr[id]`, `u64::MAX` if absent.
    Dense(Vec<u64>),
    /// Sparse ids: sorted `(id, addr)` pairs.
    Sorted(Vec<(u64, u64)>),
}

/// The `(id, addr)` entries of the string index, read in place; an entry may straddle
/// two pages.
struct IndexEntries<'a> {
    map: &'a [u8],
    segments: &'a [Segment],
    segment: usize,
    /// Bytes of the current segment already read.
    within: usize,
}

impl Iterator for IndexEntries<'_> {
    type Item = (u64, u64);

    fn next(&mut self) -> Option<(u64, u64)> {
        let mut entry = [0u8; 16];
        let mut filled = 0;
        while filled < entry.len() {
            let segment = self.segments.get(self.segment)?;
            let len = segment.len as usize;
            if self.within >= len {
                self.segment += 1;
                self.within = 0;
                continue;
            }
            let start = segment.file_offset as usize + self.within;
            let take = (entry.len() - filled).min(len - self.within);
            entry[filled..filled + take].copy_from_slice(&self.map[start..start + take]);
            filled += take;
            self.within += take;
        }
        let id = u64::from_le_bytes(entry[..8].try_into().expect("8 bytes"));
        let addr = u64::from_le_bytes(entry[8..].try_into().expect("8 bytes"));
        Some((id, addr))
    }
}

/// One stream of the file, addressed in its own address space.
#[derive(Debug, Clone)]
struct Stream {
    segments: Vec<Segment>,
    /// For each 64 KiB block of the address space, the segment holding its first byte.
    block_segment: Vec<u32>,
    len: u64,
}

const BLOCK_SHIFT: u32 = 16;

impl Stream {
    fn new(segments: Vec<Segment>) -> Stream {
        let len = segments.last().map_or(0, |s| s.stream_offset + s.len);
        let blocks = len.div_ceil(1 << BLOCK_SHIFT) as usize;
        let mut block_segment = Vec::with_capacity(blocks);
        let mut segment = 0usize;
        for block in 0..blocks as u64 {
            let addr = block << BLOCK_SHIFT;
            while segments[segment].stream_offset + segments[segment].len <= addr {
                segment += 1;
            }
            block_segment.push(segment as u32);
        }
        Stream {
            segments,
            block_segment,
            len,
        }
    }

    /// The file offset of a stream address and how many bytes follow it in its segment.
    #[inline]
    fn locate(&self, addr: u64) -> Option<(usize, usize)> {
        if addr >= self.len {
            return None;
        }
        let mut i = self.block_segment[(addr >> BLOCK_SHIFT) as usize] as usize;
        while self.segments[i].stream_offset + self.segments[i].len <= addr {
            i += 1;
        }
        let segment = &self.segments[i];
        let within = addr - segment.stream_offset;
        Some((
            (segment.file_offset + within) as usize,
            (segment.len - within) as usize,
        ))
    }
}

/// Where a string is stored in the string data stream: equal addresses, equal text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArgAddr(pub(crate) usize);

impl ArgAddr {
    /// A well-spread slot in `0..slots` (a power of two), for direct-mapped caches.
    pub fn slot(self, slots: usize) -> usize {
        debug_assert!(slots.is_power_of_two());
        let hash = (self.0 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (hash >> (64 - slots.trailing_zeros().max(1))) as usize & (slots - 1)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct StringTable {
    /// Shared by the profiles that [`crate::Profile::share`] makes.
    map: std::sync::Arc<Mmap>,
    data: Stream,
    /// Shared like the map: for a large profile it is tens of MB.
    index: std::sync::Arc<VirtualIndex>,
}

impl StringTable {
    /// `map` maps the whole file; the segments locate the string data stream (header
    /// included) and the index entries (header excluded, whole entries per segment).
    pub(crate) fn new(map: Mmap, data: Vec<Segment>, index: &[Segment]) -> StringTable {
        let map = std::sync::Arc::new(map);
        let entries = || IndexEntries {
            map: &map,
            segments: index,
            segment: 0,
            within: 0,
        };
        let entry_count: usize = index.iter().map(|s| s.len as usize / 16).sum();
        let max_virtual = entries()
            .map(|(id, _)| id)
            .filter(|&id| id < METADATA_STRING_ID)
            .max();
        let dense_len = max_virtual.map_or(0, |max| max as usize + 1);
        // Later entries win, as in measureme's hash map.
        let index = if dense_len <= entry_count * 4 + 4096 {
            // The last slot holds the metadata string.
            let mut dense = vec![u64::MAX; dense_len + 1];
            for (id, addr) in entries() {
                if id == METADATA_STRING_ID {
                    dense[dense_len] = addr;
                } else if id < METADATA_STRING_ID {
                    dense[id as usize] = addr;
                }
            }
            VirtualIndex::Dense(dense)
        } else {
            let mut pairs: Vec<(u64, u64)> = entries().collect();
            // Stable sort, then keep the last entry of each id.
            pairs.sort_by_key(|&(id, _)| id);
            let mut deduped: Vec<(u64, u64)> = Vec::with_capacity(pairs.len());
            for pair in pairs {
                match deduped.last_mut() {
                    Some(last) if last.0 == pair.0 => *last = pair,
                    _ => deduped.push(pair),
                }
            }
            VirtualIndex::Sorted(deduped)
        };
        StringTable {
            map,
            data: Stream::new(data),
            index: std::sync::Arc::new(index),
        }
    }

    /// How many virtual ids (from 0) the dense index covers; 0 when it is sparse. The
    /// metadata id is never among them.
    pub(crate) fn dense_virtual_ids(&self) -> usize {
        match &*self.index {
            VirtualIndex::Dense(dense) => dense.len().saturating_sub(1),
            VirtualIndex::Sorted(_) => 0,
        }
    }

    /// The byte at a string data address.
    #[inline]
    fn byte_at(&self, addr: usize) -> Option<u8> {
        let (offset, _) = self.data.locate(addr as u64)?;
        Some(self.map[offset])
    }

    /// The rest of the segment from a string data address (at least one byte).
    fn run_at(&self, addr: usize) -> Option<&[u8]> {
        let (offset, len) = self.data.locate(addr as u64)?;
        Some(&self.map[offset..offset + len])
    }

    /// The address of a string, or `None` when the table cannot resolve the id.
    #[inline]
    pub(crate) fn addr_of(&self, id: u64) -> Option<usize> {
        let addr = if id <= METADATA_STRING_ID {
            match &*self.index {
                VirtualIndex::Dense(dense) => {
                    let slot = if id == METADATA_STRING_ID {
                        dense.len().checked_sub(1)?
                    } else {
                        let slot = id as usize;
                        if slot + 1 >= dense.len() {
                            return None;
                        }
                        slot
                    };
                    let addr = dense[slot];
                    if addr == u64::MAX {
                        return None;
                    }
                    addr
                }
                VirtualIndex::Sorted(sorted) => {
                    let at = sorted.binary_search_by_key(&id, |&(id, _)| id).ok()?;
                    sorted[at].1
                }
            }
        } else {
            id.checked_sub(FIRST_REGULAR_STRING_ID)?
        };
        let addr = usize::try_from(addr).ok()?;
        ((addr as u64) < self.data.len).then_some(addr)
    }

    /// The address of the label of an event id: the first component of a composite id,
    /// the id itself otherwise. Two events share a label exactly when this agrees, except
    /// for label text repeated at several addresses (callers deduplicate by text).
    #[inline]
    pub(crate) fn label_addr(&self, event_id: u64) -> Option<usize> {
        let addr = self.addr_of(event_id)?;
        if self.byte_at(addr)? == STRING_REF_TAG {
            let inner = self.read_ref(addr)?;
            // The label is a plain string; a reference to a reference is followed once more.
            let inner_addr = self.addr_of(inner)?;
            if self.byte_at(inner_addr)? == STRING_REF_TAG {
                return self.addr_of(self.read_ref(inner_addr)?);
            }
            return Some(inner_addr);
        }
        Some(addr)
    }

    /// The first byte of the string with this id, or 0: only used to pull the string's
    /// cache line in ahead of decoding.
    #[inline]
    pub(crate) fn first_byte(&self, id: u64) -> u8 {
        self.addr_of(id)
            .and_then(|addr| self.byte_at(addr))
            .unwrap_or(0)
    }

    #[inline]
    fn read_ref(&self, addr: usize) -> Option<u64> {
        let run = self.run_at(addr)?;
        if let Some(bytes) = run.get(1..STRING_REF_SIZE) {
            return Some(u64::from_le_bytes(bytes.try_into().expect("8 bytes")));
        }
        // A reference split across two pages (long strings are written in several pages).
        let mut bytes = [0u8; 8];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = self.byte_at(addr + 1 + i)?;
        }
        Some(u64::from_le_bytes(bytes))
    }

    /// The full text of the string at `addr`, or `None` if it is malformed.
    pub(crate) fn text_at(&self, addr: usize) -> Option<String> {
        let mut out = Vec::new();
        let mut budget = MAX_COMPONENTS;
        self.expand(addr, &mut out, 0, &mut budget)?;
        Some(String::from_utf8_lossy(&out).into_owned())
    }

    /// The raw bytes of the string at `addr` appended to `out` (UTF-8 unless the file is
    /// corrupt); `false` if it is malformed (then `out` holds a partial string).
    pub(crate) fn bytes_at(&self, addr: usize, out: &mut Vec<u8>) -> bool {
        let mut budget = MAX_COMPONENTS;
        self.expand(addr, out, 0, &mut budget).is_some()
    }

    /// The text of an id.
    pub(crate) fn text_of(&self, id: u64) -> Option<String> {
        self.text_at(self.addr_of(id)?)
    }

    /// The label part of a string (text up to the first argument separator).
    pub(crate) fn label_text_at(&self, addr: usize) -> Option<String> {
        let text = self.text_at(addr)?;
        Some(match text.split_once(ARG_SEPARATOR as char) {
            Some((label, _)) => label.to_string(),
            None => text,
        })
    }

    /// The arguments of an event id (the components after the label), decoded on demand.
    pub(crate) fn event_args(&self, event_id: u64) -> Option<Vec<String>> {
        let text = self.text_of(event_id)?;
        Some(
            text.split(ARG_SEPARATOR as char)
                .skip(1)
                .map(str::to_string)
                .collect(),
        )
    }

    /// The addresses of an event's argument strings when its id has the usual shape
    /// (`ref(label)`, then `0x1E ref(arg)` per argument): equal addresses are equal text,
    /// so a caller can decode each argument once. An id that is a plain label has none.
    /// `None` for any other shape (the caller falls back to [`StringTable::event_args`]).
    pub(crate) fn event_arg_addrs(&self, event_id: u64, out: &mut Vec<ArgAddr>) -> Option<()> {
        out.clear();
        let mut pos = self.addr_of(event_id)?;
        if self.byte_at(pos)? != STRING_REF_TAG {
            // A plain string (it may go on in the next segment): no arguments unless its
            // text holds a separator or a reference, which the slow path handles.
            let start = pos;
            loop {
                let run = self.run_at(pos)?;
                match run
                    .iter()
                    .position(|&b| b == TERMINATOR || b == STRING_REF_TAG || b == ARG_SEPARATOR)
                {
                    Some(at) => return (run[at] == TERMINATOR).then_some(()),
                    None if pos - start > MAX_DECODED_LEN => return None,
                    None => pos += run.len(),
                }
            }
        }
        pos += STRING_REF_SIZE;
        loop {
            match self.byte_at(pos)? {
                TERMINATOR => return Some(()),
                ARG_SEPARATOR if self.byte_at(pos + 1)? == STRING_REF_TAG => {
                    out.push(ArgAddr(self.addr_of(self.read_ref(pos + 1)?)?));
                    pos += 1 + STRING_REF_SIZE;
                }
                _ => return None,
            }
        }
    }

    fn expand(
        &self,
        mut pos: usize,
        out: &mut Vec<u8>,
        depth: u32,
        budget: &mut u32,
    ) -> Option<()> {
        if depth > MAX_NESTING {
            return None;
        }
        loop {
            *budget = budget.checked_sub(1)?;
            let run = self.run_at(pos)?;
            let byte = run[0];
            if byte == TERMINATOR {
                return Some(());
            }
            if byte == STRING_REF_TAG {
                let id = self.read_ref(pos)?;
                let addr = self.addr_of(id)?;
                self.expand(addr, out, depth + 1, budget)?;
                pos += STRING_REF_SIZE;
            } else {
                // Text up to the next tag, or to the segment's end (text goes on in the next).
                let len = run
                    .iter()
                    .position(|&b| b == TERMINATOR || b == STRING_REF_TAG)
                    .unwrap_or(run.len());
                out.extend_from_slice(&run[..len]);
                pos += len;
            }
            if out.len() > MAX_DECODED_LEN {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Lays `stream` out in the file in pieces of `piece` bytes with junk between them,
    /// as interleaved pages are, and maps it.
    fn table(stream: &[u8], piece: usize, index: &[(u64, u64)]) -> StringTable {
        let mut file_bytes = Vec::new();
        let mut data = Vec::new();
        for (i, chunk) in stream.chunks(piece).enumerate() {
            file_bytes.extend_from_slice(&[0xAB; 3]);
            data.push(Segment {
                stream_offset: (i * piece) as u64,
                file_offset: file_bytes.len() as u64,
                len: chunk.len() as u64,
            });
            file_bytes.extend_from_slice(chunk);
        }
        // The index goes in pieces of 5 bytes, so entries straddle pages as in real files.
        let mut index_bytes = Vec::new();
        for (id, addr) in index {
            index_bytes.extend_from_slice(&id.to_le_bytes());
            index_bytes.extend_from_slice(&addr.to_le_bytes());
        }
        let mut index_segments = Vec::new();
        for (i, chunk) in index_bytes.chunks(5).enumerate() {
            file_bytes.extend_from_slice(&[0xCD; 2]);
            index_segments.push(Segment {
                stream_offset: (i * 5) as u64,
                file_offset: file_bytes.len() as u64,
                len: chunk.len() as u64,
            });
            file_bytes.extend_from_slice(chunk);
        }
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&file_bytes).unwrap();
        let map = unsafe { Mmap::map(&file) }.unwrap();
        StringTable::new(map, data, &index_segments)
    }

    fn regular(addr: usize) -> u64 {
        addr as u64 + FIRST_REGULAR_STRING_ID
    }

    fn reference(id: u64) -> Vec<u8> {
        let mut bytes = vec![STRING_REF_TAG];
        bytes.extend_from_slice(&id.to_le_bytes());
        bytes
    }

    #[test]
    fn strings_and_references_that_straddle_pages_resolve() {
        let mut stream = b"MMSD\x09\0\0\0".to_vec();
        let label = stream.len();
        stream.extend_from_slice(b"expand_proc_macro\xFF");
        let arg = stream.len();
        stream.extend_from_slice(b"#[derive(Debug)] src/lib.rs:1:10\xFF");
        let composite = stream.len();
        stream.extend(reference(regular(label)));
        stream.push(ARG_SEPARATOR);
        stream.extend(reference(regular(arg)));
        stream.push(TERMINATOR);
        let looped = stream.len();
        stream.extend(reference(regular(looped)));
        stream.push(TERMINATOR);
        // Every piece size splits some string or reference somewhere.
        for piece in [1, 2, 5, 7, 13, 64] {
            let t = table(&stream, piece, &[(7, label as u64)]);
            assert_eq!(t.text_of(regular(label)).unwrap(), "expand_proc_macro");
            assert_eq!(t.label_addr(regular(composite)), Some(label));
            assert_eq!(t.label_addr(7), Some(label), "virtual id through the index");
            assert_eq!(
                t.event_args(regular(composite)).unwrap(),
                vec!["#[derive(Debug)] src/lib.rs:1:10".to_string()]
            );
            assert_eq!(t.label_text_at(composite).unwrap(), "expand_proc_macro");
            let mut addrs = Vec::new();
            assert_eq!(t.event_arg_addrs(regular(composite), &mut addrs), Some(()));
            assert_eq!(addrs, vec![ArgAddr(arg)]);
            assert_eq!(t.event_arg_addrs(regular(label), &mut addrs), Some(()));
            assert!(addrs.is_empty());
            // Unmapped virtual ids, addresses past the end, and reference cycles are
            // unresolved, not a crash.
            assert_eq!(t.addr_of(8), None);
            assert_eq!(t.addr_of(regular(stream.len() + 10)), None);
            assert_eq!(t.text_of(regular(looped)), None);
        }
    }

    #[test]
    fn exponential_expansion_of_empty_strings_stops() {
        // s0 is empty; s(k+1) refers to s(k) 200 times: 200^30 visits if nothing stops it.
        let mut stream = b"MMSD\x09\0\0\0".to_vec();
        let mut previous = stream.len();
        stream.push(TERMINATOR);
        for _ in 0..30 {
            let here = stream.len();
            for _ in 0..200 {
                stream.extend(reference(regular(previous)));
            }
            stream.push(TERMINATOR);
            previous = here;
        }
        let t = table(&stream, 1 << 20, &[]);
        assert_eq!(t.text_of(regular(previous)), None);
    }

    #[test]
    fn sparse_virtual_ids_use_the_sorted_index() {
        let stream = b"MMSD\x09\0\0\0typeck\xFF".to_vec();
        let t = table(&stream, 4, &[(90_000_000, 8), (3, 8), (3, 8)]);
        assert!(matches!(*t.index, VirtualIndex::Sorted(_)));
        assert_eq!(t.text_of(90_000_000).unwrap(), "typeck");
        assert_eq!(t.text_of(3).unwrap(), "typeck");
        assert_eq!(t.text_of(4), None);
    }
}
