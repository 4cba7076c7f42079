//! Whether a run, replay or backtest did anything useful, judged from its report once it
//! ended: a run that received no frame, a replay whose window held none (an empty
//! capture, `--from` past the data), a replay whose books never became valid (a capture
//! started after its depth snapshot), and one interrupted before the end of its inputs
//! are failures with the reason, so the command exits non-zero instead of reporting
//! nothing as a success.
//!
//! Pure: reads a finished [`RunReport`] on the control thread; touches no stage.

use crate::runtime::{RunReport, StopReason};

/// Why a run did nothing useful, or did not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Futile {
    /// `--from` is after `--to`: the window holds no time.
    #[error("empty window: --from ({from_ns} ns) is after --to ({to_ns} ns)")]
    EmptyWindow {
        /// First receive time asked for, unix ns.
        from_ns: u64,
        /// Last receive time asked for, unix ns.
        to_ns: u64,
    },
    /// No frame was received or replayed.
    #[error(
        "no frames: nothing was {0} (an empty capture, or no frame inside the --from/--to window)"
    )]
    NoFrames(&'static str),
    /// Frames came, but no book ever became valid: no top of book reached the strategies.
    #[error(
        "no book became valid in {frames} frames ({invalid} top-of-book updates published, none of a valid book): \
         a book needs its depth snapshot (a replay window must start before it)"
    )]
    NoValidBook {
        /// Frames received or replayed.
        frames: u64,
        /// Top-of-book updates published (all of invalid books).
        invalid: u64,
    },
    /// A signal stopped a replay or backtest before the end of its inputs.
    #[error(
        "interrupted by a signal before the end of the inputs: the figures cover only what was replayed"
    )]
    Interrupted,
}

/// The window check made before a replay starts.
pub fn check_window(from_ns: u64, to_ns: u64) -> Result<(), Futile> {
    if from_ns > to_ns {
        return Err(Futile::EmptyWindow { from_ns, to_ns });
    }
    Ok(())
}

/// Judges a live run's report: a run that received no frame failed. (Its books may
/// still be syncing when a short run ends, so a live run is not judged by them.)
pub fn judge_run(report: &RunReport) -> Result<(), Futile> {
    match report.counter("feed.frames") {
        0 => Err(Futile::NoFrames("received")),
        _ => Ok(()),
    }
}

/// Judges a replay's (or backtest's) outcome: `frames` replayed, its stop reason.
pub fn judge_replay(report: &RunReport, stop: StopReason, frames: u64) -> Result<(), Futile> {
    if stop == StopReason::Signal {
        return Err(Futile::Interrupted);
    }
    judge_frames(report, frames, "replayed")
}

fn judge_frames(report: &RunReport, frames: u64, done: &'static str) -> Result<(), Futile> {
    if frames == 0 {
        return Err(Futile::NoFrames(done));
    }
    if report.counter("book.valid_updates") == 0 {
        return Err(Futile::NoValidBook {
            frames,
            invalid: report.counter("book.updates"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(counters: &[(&'static str, u64)]) -> RunReport {
        let mut r = RunReport::default();
        for &(key, value) in counters {
            r.set(key, value);
        }
        r
    }

    #[test]
    fn test_window_from_after_to_is_empty() {
        assert_eq!(
            check_window(2, 1),
            Err(Futile::EmptyWindow {
                from_ns: 2,
                to_ns: 1
            })
        );
        assert_eq!(check_window(1, 1), Ok(()));
    }

    #[test]
    fn test_no_frames_and_no_valid_book_fail() {
        let empty = report(&[]);
        assert_eq!(judge_run(&empty), Err(Futile::NoFrames("received")));
        assert_eq!(
            judge_replay(&empty, StopReason::EndOfInput, 0),
            Err(Futile::NoFrames("replayed"))
        );
        let invalid = report(&[("book.updates", 3), ("book.valid_updates", 0)]);
        let err = judge_replay(&invalid, StopReason::EndOfInput, 500).unwrap_err();
        assert_eq!(
            err,
            Futile::NoValidBook {
                frames: 500,
                invalid: 3
            }
        );
        assert!(err.to_string().contains("depth snapshot"), "{err}");
        let syncing = report(&[("feed.frames", 10), ("book.updates", 1)]);
        assert_eq!(
            judge_run(&syncing),
            Ok(()),
            "a short live run may end syncing"
        );
        let good = report(&[("feed.frames", 10), ("book.valid_updates", 1)]);
        assert_eq!(judge_run(&good), Ok(()));
        assert_eq!(judge_replay(&good, StopReason::EndOfInput, 10), Ok(()));
    }

    #[test]
    fn test_an_interrupted_replay_fails_whatever_it_did() {
        let good = report(&[("book.valid_updates", 1)]);
        assert_eq!(
            judge_replay(&good, StopReason::Signal, 10),
            Err(Futile::Interrupted)
        );
    }
}
