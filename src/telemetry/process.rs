//! This process's CPU and memory use, read from `/proc` for `/health` and the metrics
//! endpoint. Cold path (reads two small files). Where `/proc` is not readable (not
//! Linux), the figures are `None` and shown as unknown.

use std::fmt;

/// Linux reports CPU times in USER_HZ ticks, 100 per second on every architecture the
/// kernel exposes to user space.
const USER_HZ: f64 = 100.0;

/// CPU and memory of this process.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ProcessUsage {
    /// User + system CPU time since the process started, seconds.
    pub cpu_secs: Option<f64>,
    /// Average CPU use since start, percent of one core (200% = two cores busy).
    pub cpu_pct: Option<f64>,
    /// Resident set size, bytes.
    pub rss_bytes: Option<u64>,
    /// Threads.
    pub threads: Option<u64>,
}

impl ProcessUsage {
    /// Reads `/proc/self/stat`, `/proc/self/status` and `/proc/uptime`.
    pub fn read() -> Self {
        let stat = std::fs::read_to_string("/proc/self/stat").ok();
        let status = std::fs::read_to_string("/proc/self/status").ok();
        let uptime = std::fs::read_to_string("/proc/uptime").ok();
        parse(stat.as_deref(), status.as_deref(), uptime.as_deref())
    }
}

fn parse(stat: Option<&str>, status: Option<&str>, uptime: Option<&str>) -> ProcessUsage {
    // Fields after the parenthesised command name (which may contain spaces):
    // state(3) ... utime(14) stime(15) ... num_threads(20) ... starttime(22).
    let fields: Option<Vec<&str>> = stat
        .and_then(|s| s.rsplit_once(')'))
        .map(|(_, rest)| rest.split_whitespace().collect());
    let field = |n: usize| -> Option<f64> { fields.as_ref()?.get(n - 3)?.parse().ok() };
    let cpu_secs = field(14)
        .zip(field(15))
        .map(|(user, system)| (user + system) / USER_HZ);
    let system_uptime: Option<f64> = uptime
        .and_then(|u| u.split_whitespace().next())
        .and_then(|s| s.parse().ok());
    let cpu_pct = cpu_secs
        .zip(field(22).zip(system_uptime))
        .map(|(cpu, (start, up))| (cpu, up - start / USER_HZ))
        .filter(|&(_, alive)| alive > 0.0)
        .map(|(cpu, alive)| cpu / alive * 100.0);
    let rss_bytes = status
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb * 1024);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a small count
    let threads = field(20).map(|t| t as u64);
    ProcessUsage {
        cpu_secs,
        cpu_pct,
        rss_bytes,
        threads,
    }
}

impl fmt::Display for ProcessUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.cpu_secs, self.cpu_pct) {
            (Some(secs), Some(pct)) => write!(f, "CPU {secs:.1} s ({pct:.0}% of a core)")?,
            _ => f.write_str("CPU unknown")?,
        }
        #[allow(clippy::cast_precision_loss)] // MiB for humans
        match self.rss_bytes {
            Some(b) => write!(f, ", RSS {:.1} MiB", b as f64 / (1024.0 * 1024.0))?,
            None => f.write_str(", RSS unknown")?,
        }
        if let Some(t) = self.threads {
            write!(f, ", {t} threads")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_parse_proc_files() {
        let stat = "1234 (edge line) S 1 2 3 4 5 6 7 8 9 10 250 150 0 0 20 0 7 0 1000 0 0";
        let status = "Name:\tedgeline\nVmRSS:\t   2048 kB\n";
        let usage = parse(Some(stat), Some(status), Some("30.00 50.00"));
        assert_eq!(usage.cpu_secs, Some(4.0));
        assert_eq!(usage.threads, Some(7));
        assert_eq!(usage.rss_bytes, Some(2 * 1024 * 1024));
        // Started at 10 s of uptime, now 30 s: 4 s of CPU over 20 s alive.
        assert_eq!(usage.cpu_pct, Some(20.0));
        assert_eq!(
            usage.to_string(),
            "CPU 4.0 s (20% of a core), RSS 2.0 MiB, 7 threads"
        );
    }

    #[test]
    fn test_unreadable_proc_is_unknown() {
        let usage = parse(None, None, None);
        assert_eq!(usage, ProcessUsage::default());
        assert_eq!(usage.to_string(), "CPU unknown, RSS unknown");
    }

    #[test]
    fn test_reads_this_process() {
        let usage = ProcessUsage::read();
        assert!(usage.rss_bytes.is_some_and(|b| b > 0), "{usage:?}");
    }
}
