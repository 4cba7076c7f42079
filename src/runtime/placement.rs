//! Placement: which core runs which stages, and the threads that run them.
//!
//! Each [`CorePlan`] becomes one thread, pinned to its core with `core_affinity` (a core
//! that cannot be pinned is logged and the thread runs unpinned). A thread with several
//! stages polls them in turn, in pipeline order, then applies its idle policy. This is the
//! only module that spawns the stage threads. The rings between stages are the same
//! whatever the placement.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use crate::runtime::idle::{IdlePolicy, Idler, PARK_DEFAULT, SPIN_BEFORE_YIELD_DEFAULT};
use crate::runtime::stage::{Stage, StageKind};

/// One thread: the core it is pinned to, its stages and its idle policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorePlan {
    /// Core id to pin to; `None` leaves the thread to the OS scheduler.
    pub core: Option<usize>,
    /// Stages polled in turn by this thread.
    pub stages: Vec<StageKind>,
    /// What the thread does when a round found no work.
    pub idle: IdlePolicy,
}

/// Why a placement cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    /// A stage appears on no core.
    #[error("stage `{0}` is not placed on any core")]
    Missing(StageKind),
    /// A stage appears on two cores (or twice on one).
    #[error("stage `{0}` is placed more than once")]
    Duplicate(StageKind),
    /// A core plan has no stages.
    #[error("core plan {0} has no stages")]
    Empty(usize),
}

/// The whole map of stages to threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// One entry per thread.
    pub cores: Vec<CorePlan>,
}

impl Placement {
    /// The default for this host: with two or more cores, the hot path (feed, book, edge,
    /// gateway) fused on core 0 with spin-then-yield, telemetry parked on core 1; on one core,
    /// everything on one thread.
    pub fn default_for(core_count: usize) -> Self {
        let hot = [
            StageKind::Feed,
            StageKind::Book,
            StageKind::Edge,
            StageKind::Gateway,
        ];
        let spin = IdlePolicy::SpinThenYield {
            spins: SPIN_BEFORE_YIELD_DEFAULT,
        };
        let park = IdlePolicy::Park {
            sleep: PARK_DEFAULT,
        };
        if core_count < 2 {
            return Self {
                cores: vec![CorePlan {
                    core: None,
                    stages: StageKind::ALL.to_vec(),
                    idle: spin,
                }],
            };
        }
        Self {
            cores: vec![
                CorePlan {
                    core: Some(0),
                    stages: hot.to_vec(),
                    idle: spin,
                },
                CorePlan {
                    core: Some(1),
                    stages: vec![StageKind::Telemetry],
                    idle: park,
                },
            ],
        }
    }

    /// Whether some thread runs `kind`.
    pub fn places(&self, kind: StageKind) -> bool {
        self.cores.iter().any(|plan| plan.stages.contains(&kind))
    }

    /// Checks that every stage runs exactly once (the gateway at most once: it only
    /// exists when paper trading is on) and no thread is empty.
    pub fn validate(&self) -> Result<(), PlacementError> {
        let mut seen = Vec::new();
        for (i, plan) in self.cores.iter().enumerate() {
            if plan.stages.is_empty() {
                return Err(PlacementError::Empty(i));
            }
            for &kind in &plan.stages {
                if seen.contains(&kind) {
                    return Err(PlacementError::Duplicate(kind));
                }
                seen.push(kind);
            }
        }
        let required = |k: &StageKind| *k != StageKind::Gateway;
        match StageKind::ALL
            .into_iter()
            .filter(required)
            .find(|k| !seen.contains(k))
        {
            Some(missing) => Err(PlacementError::Missing(missing)),
            None => Ok(()),
        }
    }

    /// A one-line description of the layout, for the start-up log.
    pub fn describe(&self) -> String {
        self.cores
            .iter()
            .map(|plan| {
                let core = plan.core.map_or("any".to_string(), |c| c.to_string());
                let names: Vec<&str> = plan.stages.iter().map(|s| s.name()).collect();
                format!("core {core}: {} ({:?})", names.join("+"), plan.idle)
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Stage threads started by [`start_placed`].
pub struct RunningStages {
    handles: Vec<thread::JoinHandle<Vec<Box<dyn Stage>>>>,
    unplaced: Vec<Box<dyn Stage>>,
}

impl RunningStages {
    /// Waits for every thread to see the stop flag and returns all stages in pipeline
    /// order.
    pub fn join(self) -> Vec<Box<dyn Stage>> {
        let mut done: Vec<Box<dyn Stage>> = self
            .handles
            .into_iter()
            .flat_map(|h| h.join().expect("a stage thread panicked"))
            .collect();
        done.extend(self.unplaced);
        done.sort_by_key(|s| s.kind());
        done
    }
}

/// Starts one thread per core plan, each polling its stages until `stop` is set. The
/// placement must be valid; stages it does not name are returned unpolled by `join`.
/// If a thread cannot be spawned, the ones already started are stopped and joined.
pub fn start_placed(
    mut stages: Vec<Box<dyn Stage>>,
    placement: &Placement,
    stop: &Arc<AtomicBool>,
) -> std::io::Result<RunningStages> {
    let mut handles = Vec::with_capacity(placement.cores.len());
    for plan in &placement.cores {
        let mine: Vec<Box<dyn Stage>> = plan
            .stages
            .iter()
            .filter_map(|kind| {
                let at = stages.iter().position(|s| s.kind() == *kind)?;
                Some(stages.swap_remove(at))
            })
            .collect();
        let thread_stop = Arc::clone(stop);
        let plan = plan.clone();
        let name = format!("edgeline-{}", plan.stages[0].name());
        let spawned = thread::Builder::new()
            .name(name)
            .spawn(move || run_core(&plan, mine, &thread_stop));
        match spawned {
            Ok(handle) => handles.push(handle),
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                for handle in handles {
                    let _ = handle.join();
                }
                return Err(e);
            }
        }
    }
    Ok(RunningStages {
        handles,
        unplaced: stages,
    })
}

fn run_core(
    plan: &CorePlan,
    mut stages: Vec<Box<dyn Stage>>,
    stop: &AtomicBool,
) -> Vec<Box<dyn Stage>> {
    if let Some(core) = plan.core
        && !core_affinity::set_for_current(core_affinity::CoreId { id: core })
    {
        log::warn!(
            "could not pin {:?} to core {core}; running unpinned",
            plan.stages
        );
    }
    let mut idler = Idler::new(plan.idle);
    while !stop.load(Ordering::Relaxed) {
        let mut work = 0;
        for stage in &mut stages {
            work += stage.poll();
        }
        idler.after_round(work);
    }
    stages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::report::RunReport;
    use std::time::Duration;

    #[test]
    fn test_default_placements_are_valid() {
        for cores in [1, 2, 16] {
            Placement::default_for(cores).validate().unwrap();
        }
    }

    #[test]
    fn test_validate_finds_missing_and_duplicate() {
        let mut p = Placement::default_for(2);
        p.cores[1].stages.clear();
        assert_eq!(p.validate(), Err(PlacementError::Empty(1)));
        p.cores[1].stages = vec![StageKind::Edge];
        assert_eq!(
            p.validate(),
            Err(PlacementError::Duplicate(StageKind::Edge))
        );
        p.cores[0].stages.retain(|s| *s != StageKind::Edge);
        assert_eq!(
            p.validate(),
            Err(PlacementError::Missing(StageKind::Telemetry))
        );
    }

    struct Ticker(StageKind, u64);
    impl Stage for Ticker {
        fn kind(&self) -> StageKind {
            self.0
        }
        fn poll(&mut self) -> usize {
            self.1 += 1;
            1
        }
        fn finish(&mut self, _: &mut RunReport) {}
    }

    #[test]
    fn test_run_placed_polls_every_stage_and_returns_them_in_order() {
        let stages: Vec<Box<dyn Stage>> = StageKind::ALL
            .into_iter()
            .rev()
            .map(|k| Box::new(Ticker(k, 0)) as Box<dyn Stage>)
            .collect();
        let mut placement = Placement::default_for(2);
        for plan in &mut placement.cores {
            plan.core = None;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let stopper = Arc::clone(&stop);
        let t = thread::spawn(move || {
            crate::runtime::clock::sleep(Duration::from_millis(20));
            stopper.store(true, Ordering::Relaxed);
        });
        let done = start_placed(stages, &placement, &stop).unwrap().join();
        t.join().unwrap();
        let kinds: Vec<StageKind> = done.iter().map(|s| s.kind()).collect();
        assert_eq!(kinds, StageKind::ALL.to_vec());
    }
}
