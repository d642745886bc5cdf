//! A replay of cargo's scheduler over a measured build: the unit graph (dependencies, the
//! metadata point that lets pipelined dependents start early), each unit's measured
//! duration, and a number of job slots (`-j`). Answers what-ifs in wall time: the same
//! build on other core counts, or with a unit shortened (a fix), without building.
//!
//! Like cargo, a free slot goes to the ready unit with the most units depending on it
//! (transitively), so that long chains start first. Not modelled: the time cargo itself
//! spends between units (fingerprints, spawning; a few percent of a cold build), rustc's
//! own threads taking extra jobserver tokens, and contention for cores slowing units
//! down when there are fewer cores than slots.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use serde::Serialize;

use crate::timeline::Unit;

/// How long a unit takes in a simulation, and when its metadata is ready (for pipelined
/// dependents), from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitTime {
    pub duration_ns: u64,
    pub rmeta_after_ns: Option<u64>,
}

impl UnitTime {
    /// As measured.
    pub fn of(unit: &Unit) -> UnitTime {
        UnitTime {
            duration_ns: unit.duration_ns(),
            rmeta_after_ns: unit
                .rmeta_ns
                .map(|r| r.saturating_sub(unit.start_ns).min(unit.duration_ns())),
        }
    }

    /// Shorter by `cut_ns` of back-end work (code generation, linking): the metadata
    /// point stays where it was, unless the unit now ends before it.
    pub fn without_back_end(self, cut_ns: u64) -> UnitTime {
        let duration_ns = self.duration_ns.saturating_sub(cut_ns);
        UnitTime {
            duration_ns,
            rmeta_after_ns: self.rmeta_after_ns.map(|r| r.min(duration_ns)),
        }
    }

    /// Shorter by `cut_ns` of front-end work (everything before the metadata point moves
    /// earlier with it).
    pub fn without_front_end(self, cut_ns: u64) -> UnitTime {
        let duration_ns = self.duration_ns.saturating_sub(cut_ns);
        UnitTime {
            duration_ns,
            rmeta_after_ns: self.rmeta_after_ns.map(|r| r.saturating_sub(cut_ns)),
        }
    }
}

/// When each unit ran in a simulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub wall_ns: u64,
    /// By the units' positions in the slice given.
    pub start_ns: Vec<u64>,
}

/// The build's units on `jobs` slots, each taking its measured time.
pub fn simulate(units: &[Unit], jobs: usize) -> Schedule {
    let times: Vec<UnitTime> = units.iter().map(UnitTime::of).collect();
    simulate_with(units, &times, jobs)
}

/// The build's units on `jobs` slots, unit `i` taking `times[i]`.
pub fn simulate_with(units: &[Unit], times: &[UnitTime], jobs: usize) -> Schedule {
    let jobs = jobs.max(1);
    let index: HashMap<usize, usize> = units.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
    // What each unit waits for (dependencies that did not run were fresh: no wait), and
    // who waits for it, on its metadata or on its end.
    let mut waiting = vec![0usize; units.len()];
    let mut on_rmeta: Vec<Vec<usize>> = vec![Vec::new(); units.len()];
    let mut on_end: Vec<Vec<usize>> = vec![Vec::new(); units.len()];
    for (i, unit) in units.iter().enumerate() {
        for dep in &unit.deps {
            let Some(&d) = index.get(dep) else { continue };
            waiting[i] += 1;
            let pipelined = unit.rmeta_deps.contains(dep) && times[d].rmeta_after_ns.is_some();
            if pipelined {
                on_rmeta[d].push(i);
            } else {
                on_end[d].push(i);
            }
        }
    }
    let priority = dependents(units, &index);
    let mut ready: BinaryHeap<(usize, Reverse<usize>)> = BinaryHeap::new();
    for (i, &w) in waiting.iter().enumerate() {
        if w == 0 {
            ready.push((priority[i], Reverse(i)));
        }
    }
    // Events: (time, order, unit, is_end). Metadata events come before ends at a tie.
    let mut events: BinaryHeap<Reverse<(u64, u8, usize)>> = BinaryHeap::new();
    let mut start_ns = vec![0u64; units.len()];
    let mut running = 0usize;
    let mut now = 0u64;
    let mut wall = 0u64;
    let release = |list: &[usize], waiting: &mut [usize], ready: &mut BinaryHeap<_>| {
        for &j in list {
            waiting[j] -= 1;
            if waiting[j] == 0 {
                ready.push((priority[j], Reverse(j)));
            }
        }
    };
    loop {
        while running < jobs {
            let Some((_, Reverse(i))) = ready.pop() else {
                break;
            };
            start_ns[i] = now;
            running += 1;
            let t = times[i];
            if let Some(r) = t.rmeta_after_ns {
                events.push(Reverse((now + r, 0, i)));
            }
            events.push(Reverse((now + t.duration_ns, 1, i)));
        }
        let Some(Reverse((at, kind, i))) = events.pop() else {
            break;
        };
        now = at;
        if kind == 0 {
            release(&on_rmeta[i], &mut waiting, &mut ready);
        } else {
            running -= 1;
            wall = wall.max(now);
            release(&on_end[i], &mut waiting, &mut ready);
        }
    }
    Schedule {
        wall_ns: wall,
        start_ns,
    }
}

/// How many units depend on each unit, transitively, plus one: cargo's priority.
fn dependents(units: &[Unit], index: &HashMap<usize, usize>) -> Vec<usize> {
    let mut reverse: Vec<Vec<usize>> = vec![Vec::new(); units.len()];
    for (i, unit) in units.iter().enumerate() {
        for dep in &unit.deps {
            if let Some(&d) = index.get(dep) {
                reverse[d].push(i);
            }
        }
    }
    (0..units.len())
        .map(|start| {
            let mut seen = vec![false; units.len()];
            let mut stack = vec![start];
            let mut count = 0;
            while let Some(u) = stack.pop() {
                if std::mem::replace(&mut seen[u], true) {
                    continue;
                }
                count += 1;
                stack.extend(reverse[u].iter().copied());
            }
            count
        })
        .collect()
}

/// What bounds a build's wall time, from its units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleSummary {
    /// The measured wall time.
    pub measured_wall_ns: u64,
    // Every figure below includes cargo's own time before the first unit and after the
    // last, as measured.
    /// The replay of the build on its own core count.
    pub simulated_wall_ns: u64,
    pub cores: usize,
    /// The units' time divided by the cores: no schedule is shorter.
    pub work_bound_ns: u64,
    /// The longest chain of dependencies (with pipelining): no core count makes it shorter.
    pub chain_bound_ns: u64,
    /// The same build on other core counts, each `(cores, wall)`, from the replay.
    pub on_cores: Vec<(usize, u64)>,
}

/// The core counts `on_cores` shows.
pub const CORE_COUNTS: [usize; 5] = [1, 2, 4, 8, 16];

pub fn schedule_summary(units: &[Unit], measured_wall_ns: u64, cores: usize) -> ScheduleSummary {
    let cores = cores.max(1);
    let work: u64 = units.iter().map(Unit::duration_ns).sum();
    // Cargo's own time before the first unit starts (reading the workspace, fingerprints)
    // and after the last one ends is no unit's: kept as measured, on any core count.
    let first = units.iter().map(|u| u.start_ns).min().unwrap_or(0);
    let last = units
        .iter()
        .map(|u| u.end_ns)
        .max()
        .unwrap_or(measured_wall_ns);
    let cargo_ns = first + measured_wall_ns.saturating_sub(last);
    let on = |jobs: usize| simulate(units, jobs).wall_ns + cargo_ns;
    ScheduleSummary {
        measured_wall_ns,
        simulated_wall_ns: on(cores),
        cores,
        work_bound_ns: work / cores as u64 + cargo_ns,
        chain_bound_ns: on(usize::MAX),
        on_cores: CORE_COUNTS.iter().map(|&n| (n, on(n))).collect(),
    }
}

/// The wall time a change to some units saves, on the build's own core count: the replay
/// as measured against the replay with `times` (never negative).
pub fn wall_saving(units: &[Unit], times: &[UnitTime], cores: usize) -> u64 {
    let before = simulate(units, cores).wall_ns;
    let after = simulate_with(units, times, cores).wall_ns;
    before.saturating_sub(after)
}

/// The wall time the build would save if the units `removed` (by id) took no time.
pub fn wall_saving_without(units: &[Unit], removed: &[usize], cores: usize) -> u64 {
    let times: Vec<UnitTime> = units
        .iter()
        .map(|u| {
            if removed.contains(&u.id) {
                UnitTime {
                    duration_ns: 0,
                    rmeta_after_ns: Some(0),
                }
            } else {
                UnitTime::of(u)
            }
        })
        .collect();
    wall_saving(units, &times, cores)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::tests::unit;

    const MS: u64 = 1_000_000;

    /// A unit lasting `ms` (start times are the simulator's to choose), metadata ready
    /// after `rmeta_ms`, waiting for `deps` and pipelined on `rmeta_deps`.
    fn u(id: usize, ms: u64, rmeta_ms: Option<u64>, deps: &[usize], rmeta_deps: &[usize]) -> Unit {
        let mut u = unit(id, &format!("p{id}"), 0, ms * MS, deps);
        u.rmeta_ns = rmeta_ms.map(|r| r * MS);
        u.rmeta_deps = rmeta_deps.to_vec();
        u
    }

    #[test]
    fn a_chain_takes_the_sum_of_its_links() {
        let units = vec![
            u(0, 100, None, &[], &[]),
            u(1, 50, None, &[0], &[]),
            u(2, 30, None, &[1], &[]),
        ];
        for jobs in [1, 2, 8] {
            assert_eq!(simulate(&units, jobs).wall_ns, 180 * MS, "-j{jobs}");
        }
        assert_eq!(simulate(&units, 2).start_ns, vec![0, 100 * MS, 150 * MS]);
    }

    #[test]
    fn fan_in_waits_for_the_slowest_and_slots_limit_parallelism() {
        // Three independent units, then one that needs all three.
        let units = vec![
            u(0, 100, None, &[], &[]),
            u(1, 60, None, &[], &[]),
            u(2, 40, None, &[], &[]),
            u(3, 10, None, &[0, 1, 2], &[]),
        ];
        assert_eq!(simulate(&units, 3).wall_ns, 110 * MS);
        // Two slots: 0 and 1 start (most dependents tie; lower id first), 2 starts when
        // 1 ends at 60 and ends at 100 with 0; then 3.
        assert_eq!(simulate(&units, 2).wall_ns, 110 * MS);
        assert_eq!(simulate(&units, 2).start_ns[2], 60 * MS);
        // One slot: everything in a row.
        assert_eq!(simulate(&units, 1).wall_ns, 210 * MS);
    }

    #[test]
    fn pipelined_dependents_start_at_the_metadata_point() {
        // lib (100 ms, metadata at 40) → dependent lib (50 ms, pipelined), and a binary
        // (20 ms) that needs the whole of both.
        let units = vec![
            u(0, 100, Some(40), &[], &[]),
            u(1, 50, Some(20), &[0], &[0]),
            u(2, 20, None, &[0, 1], &[]),
        ];
        let s = simulate(&units, 2);
        assert_eq!(s.start_ns, vec![0, 40 * MS, 100 * MS]);
        assert_eq!(s.wall_ns, 120 * MS);
        // On one slot the dependent waits for the slot, not for the end of its dependency.
        assert_eq!(simulate(&units, 1).wall_ns, 170 * MS);
    }

    #[test]
    fn the_unit_with_the_most_dependents_goes_first() {
        // One slot: 1 has two dependents and goes before 0, although 0 has the lower id.
        let units = vec![
            u(0, 10, None, &[], &[]),
            u(1, 10, None, &[], &[]),
            u(2, 10, None, &[1], &[]),
            u(3, 10, None, &[2], &[]),
        ];
        assert_eq!(simulate(&units, 1).start_ns[1], 0);
        // Two slots: 1 and 0 start together; the chain 1 → 2 → 3 sets the wall.
        assert_eq!(simulate(&units, 2).wall_ns, 30 * MS);
    }

    #[test]
    fn savings_are_wall_time_on_the_builds_cores() {
        // Two parallel units of 100 and 60 ms on 2 cores: shortening the short one saves
        // no wall time; shortening the long one by 30 ms saves 30 ms.
        let units = vec![u(0, 100, None, &[], &[]), u(1, 60, None, &[], &[])];
        let mut times: Vec<UnitTime> = units.iter().map(UnitTime::of).collect();
        times[1] = times[1].without_back_end(50 * MS);
        assert_eq!(wall_saving(&units, &times, 2), 0);
        let mut times: Vec<UnitTime> = units.iter().map(UnitTime::of).collect();
        times[0] = times[0].without_back_end(30 * MS);
        assert_eq!(wall_saving(&units, &times, 2), 30 * MS);
        // On one core every cut counts.
        times[1] = times[1].without_back_end(50 * MS);
        assert_eq!(wall_saving(&units, &times, 1), 80 * MS);
        // Measured 105 ms: the 5 ms after the last unit ended are cargo's, on any core count.
        let summary = schedule_summary(&units, 105 * MS, 2);
        assert_eq!(summary.simulated_wall_ns, 105 * MS);
        assert_eq!(summary.work_bound_ns, 85 * MS);
        assert_eq!(summary.chain_bound_ns, 105 * MS);
        assert_eq!(summary.on_cores[0], (1, 165 * MS));
    }

    #[test]
    fn a_dependency_that_did_not_run_is_no_wait() {
        // Unit 7 was fresh: not in the list.
        let units = vec![u(0, 10, None, &[7], &[])];
        assert_eq!(simulate(&units, 1).wall_ns, 10 * MS);
    }
}
