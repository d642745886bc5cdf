//! Samples joined to the self-profile: each perf sample of a rustc process prefixed with the
//! self-profile activities (`typeck`, `LLVM_passes`, …) that were running on the same thread
//! at the same instant, so the flamegraph shows rustc's and LLVM's functions beneath the
//! labels a self-profile stops at.
//!
//! perf records on `CLOCK_REALTIME` (`-k realtime`), and a self-profile knows its start in
//! Unix time: a sample's time minus that start is its place on the profile's timeline. The
//! profile's thread ids are rustc's own, not the kernel's: kernel threads and profile
//! threads are paired one to one, the pair whose activities cover the most samples first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use buildscope_analysis::for_each_event_row;
use buildscope_profile::Profile;

/// One sample from `perf script -F comm,pid,tid,time,period,ip,sym --ns`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub comm: String,
    pub pid: u32,
    pub tid: u32,
    /// Nanoseconds since the Unix epoch.
    pub time_ns: u64,
    pub weight: u64,
    /// Outermost first.
    pub frames: Vec<String>,
}

/// Parses perf script's text (header line, then one frame per line, leaf first, a blank
/// line between samples).
pub fn parse_script(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut current: Option<Sample> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            if let Some(mut sample) = current.take() {
                sample.frames.reverse();
                samples.push(sample);
            }
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            if let Some(sample) = current.as_mut() {
                let frame = line.trim();
                // `addr symbol` (the address first); `;` separates folded frames.
                let symbol = frame
                    .split_once(char::is_whitespace)
                    .map_or(frame, |(_, s)| s);
                sample.frames.push(symbol.trim().replace(';', ":"));
            }
            continue;
        }
        if let Some(sample) = current.take() {
            let mut sample = sample;
            sample.frames.reverse();
            samples.push(sample);
        }
        current = parse_header(line);
    }
    if let Some(mut sample) = current {
        sample.frames.reverse();
        samples.push(sample);
    }
    samples
}

/// `rustc 16419/16419 1796012419.173282709:     250000 cpu-clock:` → a sample, no frames.
fn parse_header(line: &str) -> Option<Sample> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let at = tokens.iter().position(|t| {
        t.split_once('/')
            .is_some_and(|(a, b)| a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok())
    })?;
    let (pid, tid) = tokens[at].split_once('/')?;
    let time = tokens.get(at + 1)?.trim_end_matches(':');
    let (secs, frac) = time.split_once('.')?;
    let frac = format!("{frac:0<9}");
    let time_ns = secs.parse::<u64>().ok()? * 1_000_000_000 + frac[..9].parse::<u64>().ok()?;
    let weight = tokens
        .get(at + 2)
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(1);
    Some(Sample {
        comm: tokens[..at].join(" "),
        pid: pid.parse().ok()?,
        tid: tid.parse().ok()?,
        time_ns,
        weight,
        frames: Vec::new(),
    })
}

/// A profile's intervals on one thread, by start, each with the interval enclosing it.
struct Thread {
    start: Vec<u64>,
    end: Vec<u64>,
    label: Vec<String>,
    parent: Vec<Option<usize>>,
}

impl Thread {
    fn new(mut intervals: Vec<(u64, u64, String)>) -> Thread {
        intervals.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut parent = Vec::with_capacity(intervals.len());
        let mut open: Vec<usize> = Vec::new();
        for (i, (start, _, _)) in intervals.iter().enumerate() {
            while open.last().is_some_and(|&j| intervals[j].1 <= *start) {
                open.pop();
            }
            parent.push(open.last().copied());
            open.push(i);
        }
        Thread {
            start: intervals.iter().map(|i| i.0).collect(),
            end: intervals.iter().map(|i| i.1).collect(),
            label: intervals.into_iter().map(|i| i.2).collect(),
            parent,
        }
    }

    /// The activities running at `t`, outermost first.
    fn active(&self, t: u64) -> Vec<&str> {
        let last = self.start.partition_point(|&s| s <= t);
        let mut at = last.checked_sub(1);
        // The last interval to start may have ended: its enclosing ones have not, or the
        // innermost running one is further out.
        while let Some(i) = at {
            if self.end[i] >= t {
                break;
            }
            at = self.parent[i];
        }
        let mut path = Vec::new();
        while let Some(i) = at {
            path.push(self.label[i].as_str());
            at = self.parent[i];
        }
        path.reverse();
        path
    }
}

/// A process's self-profile: its threads' intervals, on the profile's own timeline.
struct ProcessProfile {
    start_time_ns: u64,
    threads: HashMap<u32, Thread>,
}

fn load_profile(path: &Path) -> Option<ProcessProfile> {
    let mut profile = Profile::open(path).ok()?;
    let start_time_ns = profile.metadata().start_time;
    let mut intervals: HashMap<u32, Vec<(u64, u64, String)>> = HashMap::new();
    for_each_event_row(&mut profile, start_time_ns, |row| {
        intervals.entry(row.thread).or_default().push((
            row.start_ns,
            row.end_ns,
            row.label.to_string(),
        ));
    })
    .ok()?;
    Some(ProcessProfile {
        start_time_ns,
        threads: intervals
            .into_iter()
            .map(|(thread, list)| (thread, Thread::new(list)))
            .collect(),
    })
}

/// The process id in a self-profile's file name: `<crate>-<pid>.mm_profdata`.
fn profile_pid(path: &Path) -> Option<u32> {
    let stem = path.file_name()?.to_str()?.strip_suffix(".mm_profdata")?;
    stem.rsplit_once('-')?.1.parse().ok()
}

/// Folded stacks of the samples (`comm;[activity;…;]frame;… weight`), each prefixed with
/// the self-profile activities running on its thread where the process was profiled.
pub fn join_samples(samples: &[Sample], profiles: &[PathBuf]) -> HashMap<String, u64> {
    let by_pid: HashMap<u32, &PathBuf> = profiles
        .iter()
        .filter_map(|p| Some((profile_pid(p)?, p)))
        .collect();
    let mut loaded: HashMap<u32, Option<ProcessProfile>> = HashMap::new();
    for pid in samples.iter().map(|s| s.pid) {
        loaded
            .entry(pid)
            .or_insert_with(|| by_pid.get(&pid).and_then(|p| load_profile(p)));
    }
    // Each kernel thread to the profile thread whose activities cover most of its samples.
    let mut coverage: HashMap<(u32, u32), HashMap<u32, usize>> = HashMap::new();
    let mut per_tid: HashMap<(u32, u32), usize> = HashMap::new();
    for sample in samples {
        let Some(Some(profile)) = loaded.get(&sample.pid) else {
            continue;
        };
        *per_tid.entry((sample.pid, sample.tid)).or_default() += 1;
        let t = sample.time_ns.saturating_sub(profile.start_time_ns);
        for (thread_id, thread) in &profile.threads {
            if !thread.active(t).is_empty() {
                *coverage
                    .entry((sample.pid, sample.tid))
                    .or_default()
                    .entry(*thread_id)
                    .or_default() += 1;
            }
        }
    }
    // One to one, the strongest evidence first: the compiler's main thread has activities
    // through all of codegen (`codegen_crate`) and would otherwise claim LLVM's worker
    // threads too, whose own profile threads hold `LLVM_passes`.
    let mut pairs: Vec<((u32, u32), u32, usize)> = coverage
        .into_iter()
        .flat_map(|(key, counts)| counts.into_iter().map(move |(thread, n)| (key, thread, n)))
        .collect();
    pairs.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    let mut thread_of: HashMap<(u32, u32), u32> = HashMap::new();
    let mut taken: std::collections::HashSet<(u32, u32)> = Default::default();
    for (key, thread, hits) in pairs {
        // Half its samples at least, or the match is a guess.
        if thread_of.contains_key(&key)
            || taken.contains(&(key.0, thread))
            || hits * 2 < per_tid[&key]
        {
            continue;
        }
        thread_of.insert(key, thread);
        taken.insert((key.0, thread));
    }
    let mut folded: HashMap<String, u64> = HashMap::new();
    for sample in samples {
        // LLVM's worker threads are named after their codegen unit (`opt 8ycrddpllb7`): one
        // root for all of them.
        let root = sample
            .comm
            .split_whitespace()
            .next()
            .unwrap_or("?")
            .to_string();
        let mut stack = vec![root];
        if let (Some(Some(profile)), Some(thread)) = (
            loaded.get(&sample.pid),
            thread_of.get(&(sample.pid, sample.tid)),
        ) {
            let t = sample.time_ns.saturating_sub(profile.start_time_ns);
            if let Some(activities) = profile.threads.get(thread).map(|th| th.active(t)) {
                stack.extend(
                    activities
                        .iter()
                        .map(|a| format!("[{}]", a.replace(';', ":"))),
                );
            }
        }
        stack.extend(sample.frames.iter().cloned());
        *folded.entry(stack.join(";")).or_default() += sample.weight;
    }
    folded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perf_script_is_parsed_into_samples_outermost_first() {
        let text = "rustc 16419/16421 1796012419.173282709:     250000 \n\t  7f00 llvm::FPPassManager::runOnFunction\n\t  7e00 rustc_codegen_llvm::back::write::optimize\n\t 0 [unknown]\n\nopt_abc 16419/16430 1796012419.5:  250000 \n\t  1 <[u8; 4] as core::fmt::Debug>::fmt\n";
        let samples = parse_script(text);
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0].comm, "rustc");
        assert_eq!((samples[0].pid, samples[0].tid), (16419, 16421));
        assert_eq!(samples[0].time_ns, 1_796_012_419_173_282_709);
        assert_eq!(samples[0].weight, 250_000);
        assert_eq!(
            samples[0].frames,
            [
                "[unknown]",
                "rustc_codegen_llvm::back::write::optimize",
                "llvm::FPPassManager::runOnFunction"
            ]
        );
        assert_eq!(samples[1].time_ns, 1_796_012_419_500_000_000);
        assert_eq!(samples[1].frames, ["<[u8: 4] as core::fmt::Debug>::fmt"]);
    }

    #[test]
    fn the_activity_running_at_an_instant_is_found_with_its_parents() {
        let thread = Thread::new(vec![
            (0, 100, "analysis".into()),
            (10, 20, "typeck".into()),
            (12, 15, "evaluate_obligation".into()),
            (30, 40, "typeck".into()),
            (200, 300, "LLVM_passes".into()),
        ]);
        assert_eq!(
            thread.active(13),
            ["analysis", "typeck", "evaluate_obligation"]
        );
        assert_eq!(thread.active(17), ["analysis", "typeck"]);
        assert_eq!(thread.active(25), ["analysis"]);
        assert_eq!(thread.active(150), Vec::<&str>::new());
        assert_eq!(thread.active(250), ["LLVM_passes"]);
        assert_eq!(
            profile_pid(Path::new("/p/alpha-0016419.mm_profdata")),
            Some(16419)
        );
    }
}
