//! What the host offers for placement: online cores, isolated cores, SMT siblings, read
//! from sysfs at start-up, and the check of a placement against it.
//!
//! Cold path (start-up, control thread). A file that cannot be read leaves that fact
//! unknown; the check then says nothing about it rather than guessing.

use std::fmt;
use std::path::Path;

use crate::runtime::placement::Placement;

/// The host's cores as far as sysfs tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostTopology {
    /// Online cores (`None`: unknown).
    pub online: Option<Vec<usize>>,
    /// Cores isolated from the scheduler (`isolcpus`; `None`: unknown).
    pub isolated: Option<Vec<usize>>,
    /// SMT siblings of each online core, the core itself excluded.
    pub siblings: Vec<(usize, Vec<usize>)>,
}

impl HostTopology {
    /// Reads `/sys/devices/system/cpu`.
    pub fn read() -> Self {
        Self::read_from(Path::new("/sys/devices/system/cpu"))
    }

    /// Reads a sysfs-shaped cpu directory (tests point it elsewhere).
    pub fn read_from(dir: &Path) -> Self {
        let list = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .ok()
                .and_then(|text| parse_cpu_list(text.trim()))
        };
        let online = list("online");
        let siblings = online
            .iter()
            .flatten()
            .filter_map(|&cpu| {
                let others = list(&format!("cpu{cpu}/topology/thread_siblings_list"))?;
                Some((cpu, others.into_iter().filter(|&c| c != cpu).collect()))
            })
            .collect();
        Self {
            online,
            isolated: list("isolated"),
            siblings,
        }
    }

    fn siblings_of(&self, core: usize) -> &[usize] {
        self.siblings
            .iter()
            .find(|(c, _)| *c == core)
            .map_or(&[], |(_, s)| s.as_slice())
    }
}

/// Parses a kernel cpu list (`0-3,8,10-11`); `None` when malformed. Empty means none.
pub fn parse_cpu_list(text: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => cpus.extend(a.trim().parse::<usize>().ok()?..=b.trim().parse().ok()?),
            None => cpus.push(part.trim().parse().ok()?),
        }
    }
    Some(cpus)
}

/// A way a placement falls short of the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlacementIssue {
    /// The core is not online on this host: the thread will run unpinned.
    CoreMissing(usize),
    /// The core is not isolated: the scheduler and other tasks share it.
    NotIsolated(usize),
    /// Two stage threads sit on SMT siblings of one physical core.
    SmtShared {
        /// A stage core.
        core: usize,
        /// Its sibling, also running a stage.
        sibling: usize,
    },
}

impl fmt::Display for PlacementIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlacementIssue::CoreMissing(c) => write!(f, "core {c} does not exist or is offline"),
            PlacementIssue::NotIsolated(c) => {
                write!(
                    f,
                    "core {c} is not isolated (boot with isolcpus, see tuning/check)"
                )
            }
            PlacementIssue::SmtShared { core, sibling } => {
                write!(
                    f,
                    "cores {core} and {sibling} are SMT siblings and both run stages"
                )
            }
        }
    }
}

/// Every issue of `placement` on `host`, in core order.
pub fn check_placement(placement: &Placement, host: &HostTopology) -> Vec<PlacementIssue> {
    let cores: Vec<usize> = placement.cores.iter().filter_map(|p| p.core).collect();
    let mut issues = Vec::new();
    for &core in &cores {
        if host
            .online
            .as_ref()
            .is_some_and(|online| !online.contains(&core))
        {
            issues.push(PlacementIssue::CoreMissing(core));
            continue;
        }
        if host
            .isolated
            .as_ref()
            .is_some_and(|iso| !iso.contains(&core))
        {
            issues.push(PlacementIssue::NotIsolated(core));
        }
        for &sibling in host.siblings_of(core) {
            if sibling > core && cores.contains(&sibling) {
                issues.push(PlacementIssue::SmtShared { core, sibling });
            }
        }
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::stage::StageKind;
    use crate::runtime::{CorePlan, IdlePolicy};

    #[test]
    fn test_parse_cpu_list() {
        assert_eq!(
            parse_cpu_list("0-3,8,10-11"),
            Some(vec![0, 1, 2, 3, 8, 10, 11])
        );
        assert_eq!(parse_cpu_list(""), Some(vec![]));
        assert_eq!(parse_cpu_list("x"), None);
    }

    fn placement(cores: &[usize]) -> Placement {
        let plans = [
            vec![StageKind::Feed, StageKind::Book],
            vec![StageKind::Edge],
            vec![StageKind::Telemetry],
        ];
        Placement {
            cores: cores
                .iter()
                .zip(plans)
                .map(|(&core, stages)| CorePlan {
                    core: Some(core),
                    stages,
                    idle: IdlePolicy::Spin,
                })
                .collect(),
        }
    }

    #[test]
    fn test_check_placement_finds_each_issue() {
        let host = HostTopology {
            online: Some(vec![0, 1, 2, 3]),
            isolated: Some(vec![2, 3]),
            siblings: vec![(2, vec![3]), (3, vec![2])],
        };
        let issues = check_placement(&placement(&[2, 3, 9]), &host);
        assert_eq!(
            issues,
            vec![
                PlacementIssue::SmtShared {
                    core: 2,
                    sibling: 3
                },
                PlacementIssue::CoreMissing(9)
            ]
        );
        let issues = check_placement(&placement(&[1, 2, 0]), &host);
        assert_eq!(
            issues,
            vec![
                PlacementIssue::NotIsolated(1),
                PlacementIssue::NotIsolated(0)
            ]
        );
    }

    #[test]
    fn test_unknown_host_facts_raise_nothing() {
        let issues = check_placement(&placement(&[0, 1, 2]), &HostTopology::default());
        assert!(issues.is_empty());
    }

    #[test]
    fn test_read_from_sysfs_shaped_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("online"), "0-1\n").unwrap();
        std::fs::write(dir.path().join("isolated"), "\n").unwrap();
        for cpu in 0..2 {
            let topo = dir.path().join(format!("cpu{cpu}/topology"));
            std::fs::create_dir_all(&topo).unwrap();
            std::fs::write(topo.join("thread_siblings_list"), "0-1\n").unwrap();
        }
        let host = HostTopology::read_from(dir.path());
        assert_eq!(host.online, Some(vec![0, 1]));
        assert_eq!(host.isolated, Some(vec![]));
        assert_eq!(host.siblings, vec![(0, vec![1]), (1, vec![0])]);
    }
}
