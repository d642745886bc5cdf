//! Folded stacks (`a;b;c <ns>`): where self time goes, by the chain of activities that
//! led there. The input of flamegraphs, and of any tool that reads Brendan Gregg's
//! collapsed format.
//!
//! The rules are measureme's `collapse_stacks`: intervals nest on their thread by
//! containment, a frame's value is its self time, and the root frame also gets the time
//! on each thread between its first and last event that no event covers. The root is the
//! profile's crate (measureme calls it `rustc`), so a whole build's profiles share one
//! graph with a root per crate.

use std::path::PathBuf;

use buildscope_profile::{LabelId, Payload, Profile, ProfileError};
use rustc_hash::FxHashMap;

use crate::summary::map_files;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StackOptions {
    /// A frame per thread under the crate's root frame.
    pub per_thread: bool,
}

/// Folded stacks: `(frames joined by ';', nanoseconds of self time)`, sorted by stack,
/// stacks with no self time left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FoldedStacks {
    pub stacks: Vec<(String, u64)>,
}

impl FoldedStacks {
    /// The total of all stacks: the profiled CPU time.
    pub fn total_ns(&self) -> u64 {
        self.stacks.iter().map(|(_, ns)| ns).sum()
    }
}

/// What a frame of the stack trie is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Frame {
    Root,
    Thread(u32),
    Label(LabelId),
}

struct Node {
    parent: u32,
    frame: Frame,
    self_ns: i64,
}

/// The stacks of one profile, as a trie: each distinct chain of frames is one node, so
/// memory follows the number of distinct stacks, not of events.
struct Trie {
    nodes: Vec<Node>,
    children: FxHashMap<(u32, Frame), u32>,
}

impl Trie {
    fn new() -> Trie {
        Trie {
            nodes: vec![Node {
                parent: u32::MAX,
                frame: Frame::Root,
                self_ns: 0,
            }],
            children: FxHashMap::default(),
        }
    }

    fn child(&mut self, parent: u32, frame: Frame) -> u32 {
        let nodes = &mut self.nodes;
        *self.children.entry((parent, frame)).or_insert_with(|| {
            nodes.push(Node {
                parent,
                frame,
                self_ns: 0,
            });
            (nodes.len() - 1) as u32
        })
    }
}

#[derive(Default)]
struct ThreadState {
    /// Open intervals: (start, end, trie node).
    stack: Vec<(u64, u64, u32)>,
    first_start: u64,
    last_end: u64,
    /// Time covered by the thread's outermost intervals.
    top_level_ns: u64,
    root: u32,
}

/// The folded stacks of one profile.
pub fn collapse_profile(
    profile: &mut Profile,
    options: StackOptions,
) -> Result<FoldedStacks, ProfileError> {
    let mut trie = Trie::new();
    let mut threads: FxHashMap<u32, ThreadState> = FxHashMap::default();
    // Reverse order (by end, descending): a parent is seen before its children.
    profile.for_each_event_rev(|event| {
        let Payload::Interval { start, end } = event.payload else {
            return;
        };
        let thread = threads
            .entry(event.thread_id)
            .or_insert_with(|| ThreadState {
                first_start: start,
                last_end: end,
                root: if options.per_thread {
                    trie.child(0, Frame::Thread(event.thread_id))
                } else {
                    0
                },
                ..ThreadState::default()
            });
        thread.first_start = thread.first_start.min(start);
        thread.last_end = thread.last_end.max(end);
        while let Some(&(top_start, top_end, _)) = thread.stack.last() {
            if top_start <= start && end <= top_end {
                break;
            }
            thread.stack.pop();
        }
        let duration = (end - start) as i64;
        let parent = match thread.stack.last() {
            Some(&(_, _, parent)) => {
                trie.nodes[parent as usize].self_ns -= duration;
                parent
            }
            None => {
                thread.top_level_ns += duration as u64;
                thread.root
            }
        };
        let node = trie.child(parent, Frame::Label(event.label));
        trie.nodes[node as usize].self_ns += duration;
        thread.stack.push((start, end, node));
    })?;
    // Time on a thread that no event covers belongs to its root (measureme's `rustc`).
    for thread in threads.values() {
        let span = thread.last_end - thread.first_start;
        trie.nodes[thread.root as usize].self_ns += span.saturating_sub(thread.top_level_ns) as i64;
    }
    Ok(fold(&trie, profile))
}

/// Writes out every node with self time as its chain of frame names.
fn fold(trie: &Trie, profile: &Profile) -> FoldedStacks {
    let mut children: Vec<Vec<u32>> = vec![Vec::new(); trie.nodes.len()];
    for (i, node) in trie.nodes.iter().enumerate().skip(1) {
        children[node.parent as usize].push(i as u32);
    }
    let name = |frame: Frame| -> String {
        let text = match frame {
            Frame::Root => profile.crate_name().to_string(),
            Frame::Thread(id) => format!("thread {id}"),
            Frame::Label(label) => profile.label(label).to_string(),
        };
        frame_name(&text)
    };
    let mut stacks = Vec::new();
    // Depth-first with one shared prefix: no per-node copy of its whole path.
    let mut path = String::new();
    let mut work: Vec<(u32, usize)> = vec![(0, 0)];
    while let Some((node, prefix_len)) = work.pop() {
        path.truncate(prefix_len);
        if node != 0 {
            path.push(';');
        }
        path.push_str(&name(trie.nodes[node as usize].frame));
        let self_ns = trie.nodes[node as usize].self_ns;
        if self_ns > 0 {
            stacks.push((path.clone(), self_ns as u64));
        }
        let len = path.len();
        work.extend(children[node as usize].iter().map(|&child| (child, len)));
    }
    stacks.sort_unstable();
    FoldedStacks { stacks }
}

/// A frame name that cannot break the folded format (`;` separates frames, the last
/// space the count, a newline the line).
fn frame_name(text: &str) -> String {
    text.replace(';', ":").replace(['\n', '\r'], " ")
}

/// The folded stacks of many profiles (a whole build), read `jobs` at a time; stacks
/// that several profiles share (the same crate's processes) are added up.
pub fn collapse_files(
    files: &[PathBuf],
    jobs: usize,
    options: StackOptions,
) -> Result<FoldedStacks, ProfileError> {
    let per_file = map_files(files, jobs, |path| {
        collapse_profile(&mut Profile::open(path)?, options)
    })?;
    if per_file.len() == 1 {
        return Ok(per_file.into_iter().next().expect("one"));
    }
    let mut merged: FxHashMap<String, u64> = FxHashMap::default();
    for folded in per_file {
        for (stack, ns) in folded.stacks {
            *merged.entry(stack).or_default() += ns;
        }
    }
    let mut stacks: Vec<(String, u64)> = merged.into_iter().collect();
    stacks.sort_unstable();
    Ok(FoldedStacks { stacks })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_names_cannot_break_the_format() {
        assert_eq!(frame_name("a;b\nc"), "a:b c");
        assert_eq!(frame_name("<T as Trait>"), "<T as Trait>");
    }
}
