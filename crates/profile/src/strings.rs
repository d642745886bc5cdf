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

use measureme::stringtable::{FIRST_REGULAR_STRING_ID, METADATA_STRING_ID};

const TERMINATOR: u8 = 0xFF;
const STRING_REF_TAG: u8 = 0xFE;
const STRING_REF_SIZE: usize = 9;
const ARG_SEPARATOR: u8 = 0x1E;
/// Guards against reference cycles in corrupt files.
const MAX_NESTING: u32 = 64;
/// Guards against pathological expansion (a string referring to one large string many times).
const MAX_DECODED_LEN: usize = 1 << 20;

/// Maps virtual string ids to addresses.
#[derive(Debug)]
enum VirtualIndex {
    /// Ids are dense (rustc numbers query invocations from 0): `addr[id]`, `u64::MAX` if absent.
    Dense(Vec<u64>),
    /// Sparse ids: sorted `(id, addr)` pairs.
    Sorted(Vec<(u64, u64)>),
}

#[derive(Debug)]
pub(crate) struct StringTable {
    data: Vec<u8>,
    index: VirtualIndex,
}

impl StringTable {
    /// `index_entries` is the index stream without its header (16-byte entries).
    pub(crate) fn new(data: Vec<u8>, index_entries: &[u8]) -> StringTable {
        let entries = || {
            index_entries.chunks_exact(16).map(|entry| {
                let id = u64::from_le_bytes(entry[..8].try_into().expect("8 bytes"));
                let addr = u64::from_le_bytes(entry[8..].try_into().expect("8 bytes"));
                (id, addr)
            })
        };
        let entry_count = index_entries.len() / 16;
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
        StringTable { data, index }
    }

    /// The address of a string, or `None` when the table cannot resolve the id.
    #[inline]
    pub(crate) fn addr_of(&self, id: u64) -> Option<usize> {
        let addr = if id <= METADATA_STRING_ID {
            match &self.index {
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
        (addr < self.data.len()).then_some(addr)
    }

    /// The address of the label of an event id: the first component of a composite id,
    /// the id itself otherwise. Two events share a label exactly when this agrees, except
    /// for label text repeated at several addresses (callers deduplicate by text).
    #[inline]
    pub(crate) fn label_addr(&self, event_id: u64) -> Option<usize> {
        let addr = self.addr_of(event_id)?;
        if self.data[addr] == STRING_REF_TAG {
            let inner = self.read_ref(addr)?;
            // The label is a plain string; a reference to a reference is followed once more.
            let inner_addr = self.addr_of(inner)?;
            if self.data[inner_addr] == STRING_REF_TAG {
                return self.addr_of(self.read_ref(inner_addr)?);
            }
            return Some(inner_addr);
        }
        Some(addr)
    }

    #[inline]
    fn read_ref(&self, addr: usize) -> Option<u64> {
        let bytes = self.data.get(addr + 1..addr + STRING_REF_SIZE)?;
        Some(u64::from_le_bytes(bytes.try_into().expect("8 bytes")))
    }

    /// The full text of the string at `addr`, or `None` if it is malformed.
    pub(crate) fn text_at(&self, addr: usize) -> Option<String> {
        let mut out = Vec::new();
        self.expand(addr, &mut out, 0)?;
        Some(String::from_utf8_lossy(&out).into_owned())
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

    fn expand(&self, mut pos: usize, out: &mut Vec<u8>, depth: u32) -> Option<()> {
        if depth > MAX_NESTING {
            return None;
        }
        loop {
            let byte = *self.data.get(pos)?;
            if byte == TERMINATOR {
                return Some(());
            }
            if byte == STRING_REF_TAG {
                let id = self.read_ref(pos)?;
                let addr = self.addr_of(id)?;
                self.expand(addr, out, depth + 1)?;
                pos += STRING_REF_SIZE;
            } else {
                let rest = &self.data[pos..];
                let len = rest
                    .iter()
                    .position(|&b| b == TERMINATOR || b == STRING_REF_TAG)?;
                out.extend_from_slice(&rest[..len]);
                pos += len;
            }
            if out.len() > MAX_DECODED_LEN {
                return None;
            }
        }
    }
}
