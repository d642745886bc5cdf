//! The machine a build was measured on. Build times compare only between runs of the same
//! machine and toolchain: a regression check that mixed a laptop's runs with a CI
//! runner's would see noise that is not there, or hide a regression that is.

use buildscope_analysis::Machine;

/// This machine, with the toolchain `rustc` release line.
pub fn this_machine(rustc: &str) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    Machine {
        cpu: cpu_model(&cpuinfo),
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        memory_bytes: memory_total(&meminfo),
        os: format!("{} {}", std::env::consts::OS, release.trim())
            .trim()
            .to_string(),
        rustc: rustc.to_string(),
    }
}

/// Six hex digits that tell this machine from others in one history: a hash of the OS's
/// machine id (`/etc/machine-id`), else of the host name.
pub fn machine_id() -> String {
    let seed = std::fs::read_to_string("/etc/machine-id")
        .or_else(|_| std::fs::read_to_string("/var/lib/dbus/machine-id"))
        .or_else(|_| std::fs::read_to_string("/proc/sys/kernel/hostname"))
        .unwrap_or_default();
    format!("{:06x}", stable_hash(seed.trim()) & 0xff_ffff)
}

/// FNV-1a: a hash that stays the same across runs, machines and Rust versions (std's may
/// not), for names kept on disk or in a shared history.
pub(crate) fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

fn cpu_model(cpuinfo: &str) -> String {
    cpuinfo
        .lines()
        .find_map(|l| {
            let (key, value) = l.split_once(':')?;
            matches!(key.trim(), "model name" | "Model" | "cpu model").then(|| value.trim())
        })
        .map(|m| m.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

fn memory_total(meminfo: &str) -> u64 {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_is_read_from_proc() {
        assert_eq!(
            cpu_model("processor\t: 0\nmodel name\t: AMD  EPYC 7B13 64-Core Processor\n"),
            "AMD EPYC 7B13 64-Core Processor"
        );
        assert_eq!(
            memory_total("MemTotal:        8148128 kB\nMemFree: 1 kB\n"),
            8148128 * 1024
        );
        assert!(this_machine("rustc x").cores >= 1);
        let id = machine_id();
        assert_eq!(id.len(), 6);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(id, machine_id(), "the same machine, the same id");
    }
}
