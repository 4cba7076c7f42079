//! A backend with a deadline per call: the wrapped backend (PostgreSQL) is opened and
//! written on a thread of its own, and a call that has not answered within the deadline
//! fails, so the writer spools its rows instead of hanging on a server that accepts
//! connections but stops answering (a stopped process, a lock held forever, a
//! half-dead network path the kernel still acknowledges).
//!
//! Owned by the database writer thread (cold path; copies each batch to the backend's
//! thread). While a call that missed its deadline is still running, every further call
//! fails at once (the writer spools and backs off); when the late call returns, calls go
//! through again. A late call that did commit only makes its rows' replay from the spool
//! a no-op, as rows are keyed; the rows it inserted are handed to the writer through
//! [`Backend::take_late_inserted`], so "rows written" counts what the database holds.
//! May not touch the spool: failing is its only answer.

use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam::channel::{Receiver, RecvTimeoutError, Sender, TryRecvError, bounded};

use crate::telemetry::db::error::DbError;
use crate::telemetry::db::{Backend, Row};

/// Default deadline of one open or write: a healthy server answers a batch in
/// milliseconds.
pub const WRITE_TIMEOUT_DEFAULT: Duration = Duration::from_secs(2);

/// The wrapped backend's calls and answers.
pub struct DeadlineBackend {
    target: String,
    deadline: Duration,
    calls: Option<Sender<Vec<Row>>>,
    answers: Receiver<Result<usize, DbError>>,
    late: bool,
    late_inserted: u64,
    handle: Option<JoinHandle<()>>,
}

impl DeadlineBackend {
    /// Runs `open` on a new thread and waits up to `deadline` for it: its error is
    /// returned (a schema the server refuses is fatal at start), and a server that does
    /// not answer in time is not (calls fail until it does).
    pub fn open<F>(target: String, deadline: Duration, open: F) -> Result<Self, DbError>
    where
        F: FnOnce() -> Result<Box<dyn Backend>, DbError> + Send + 'static,
    {
        let (calls, call_rx) = bounded::<Vec<Row>>(1);
        let (answer_tx, answers) = bounded(1);
        let handle = std::thread::Builder::new()
            .name("edgeline-db-call".into())
            .spawn(move || serve(open, &call_rx, &answer_tx))
            .map_err(|e| DbError::Open {
                target: target.clone(),
                source: e.into(),
            })?;
        let mut backend = Self {
            target,
            deadline,
            calls: Some(calls),
            answers,
            late: false,
            late_inserted: 0,
            handle: Some(handle),
        };
        match backend.answer(0) {
            Ok(_) => {}
            Err(err @ DbError::Write { .. }) => log::warn!("{err}; rows spool until it answers"),
            Err(err) => return Err(err),
        }
        Ok(backend)
    }

    /// The deadline of each call.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// Waits for the current call's answer, up to the deadline.
    fn answer(&mut self, rows: usize) -> Result<usize, DbError> {
        match self.answers.recv_timeout(self.deadline) {
            Ok(answer) => answer,
            Err(RecvTimeoutError::Timeout) => {
                self.late = true;
                Err(self.error(rows, format!("no answer within {:?}", self.deadline)))
            }
            Err(RecvTimeoutError::Disconnected) => Err(self.error(rows, "its thread ended".into())),
        }
    }

    /// Collects the answer of a call that missed its deadline, if it has come.
    fn collect_late(&mut self, rows: usize) -> Result<(), DbError> {
        match self.answers.try_recv() {
            Ok(answer) => {
                self.late = false;
                match answer {
                    Ok(inserted) => self.late_inserted += inserted as u64,
                    Err(err) => log::warn!("a late database call failed: {err}"),
                }
                Ok(())
            }
            Err(TryRecvError::Empty) => {
                Err(self.error(rows, "an earlier call is still unanswered".into()))
            }
            Err(TryRecvError::Disconnected) => Err(self.error(rows, "its thread ended".into())),
        }
    }

    fn error(&self, rows: usize, reason: String) -> DbError {
        DbError::Write {
            target: self.target.clone(),
            rows,
            source: reason.into(),
        }
    }
}

impl Backend for DeadlineBackend {
    fn write(&mut self, rows: &[Row]) -> Result<usize, DbError> {
        if self.late {
            self.collect_late(rows.len())?;
        }
        let Some(calls) = &self.calls else {
            return Err(self.error(rows.len(), "its thread ended".into()));
        };
        if calls.send(rows.to_vec()).is_err() {
            self.calls = None;
            return Err(self.error(rows.len(), "its thread ended".into()));
        }
        self.answer(rows.len())
    }

    fn target(&self) -> &str {
        &self.target
    }

    fn take_late_inserted(&mut self) -> u64 {
        if self.late {
            // Still unanswered: nothing to collect yet (the next write says so).
            let _ = self.collect_late(0);
        }
        std::mem::take(&mut self.late_inserted)
    }
}

impl Drop for DeadlineBackend {
    fn drop(&mut self) {
        self.calls = None;
        // NB: a call still hanging keeps its thread; joining it would hang the writer.
        if !self.late
            && let Some(handle) = self.handle.take()
        {
            let _ = handle.join();
        }
    }
}

/// The backend's thread: opens it, answers the open, then one answer per call.
fn serve<F>(open: F, calls: &Receiver<Vec<Row>>, answers: &Sender<Result<usize, DbError>>)
where
    F: FnOnce() -> Result<Box<dyn Backend>, DbError>,
{
    let mut backend = match open() {
        Ok(backend) => {
            if answers.send(Ok(0)).is_err() {
                return;
            }
            backend
        }
        Err(err) => {
            let _ = answers.send(Err(err));
            return;
        }
    };
    for rows in calls {
        if answers.send(backend.write(&rows)).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::telemetry::db::record::fixtures::opportunity_rows;
    use crate::telemetry::db::row::RowKeys;

    /// A backend whose writes wait until the test opens the gate.
    struct Gated {
        gate: Arc<Mutex<()>>,
        stored: Arc<Mutex<Vec<i64>>>,
    }

    impl Backend for Gated {
        fn write(&mut self, rows: &[Row]) -> Result<usize, DbError> {
            let _open = self.gate.lock().unwrap();
            self.stored
                .lock()
                .unwrap()
                .extend(rows.iter().map(|r| r.seq));
            Ok(rows.len())
        }

        fn target(&self) -> &str {
            "gated"
        }
    }

    #[test]
    fn test_deadline_fails_a_hanging_call_then_recovers() {
        let gate = Arc::new(Mutex::new(()));
        let stored = Arc::new(Mutex::new(Vec::new()));
        let backend = Gated {
            gate: Arc::clone(&gate),
            stored: Arc::clone(&stored),
        };
        let deadline = Duration::from_millis(20);
        let mut db =
            DeadlineBackend::open("gated".into(), deadline, move || Ok(Box::new(backend))).unwrap();
        let rows = opportunity_rows(&mut RowKeys::new(1, 1), 3);
        assert_eq!(db.write(&rows[..1]).unwrap(), 1);
        let closed = gate.lock().unwrap();
        let err = db.write(&rows[1..2]).unwrap_err();
        assert!(err.to_string().contains("no answer within"), "{err}");
        let err = db.write(&rows[2..]).unwrap_err();
        assert!(err.to_string().contains("still unanswered"), "{err}");
        drop(closed);
        // The late call finishes once the gate opens; the next call goes through.
        let written = loop {
            match db.write(&rows[2..]) {
                Ok(n) => break n,
                Err(_) => std::thread::yield_now(),
            }
        };
        assert_eq!(written, 1);
        assert_eq!(*stored.lock().unwrap(), [0, 1, 2]);
        assert_eq!(db.take_late_inserted(), 1, "the late call inserted its row");
        assert_eq!(db.take_late_inserted(), 0, "counted once");
    }

    #[test]
    fn test_deadline_open_error_is_returned_and_slow_open_is_not() {
        let err = DeadlineBackend::open("bad".into(), Duration::from_secs(5), || {
            Err(DbError::TooNew {
                target: "bad".into(),
                found: 9,
                supported: 3,
            })
        })
        .err()
        .unwrap();
        assert!(matches!(err, DbError::TooNew { found: 9, .. }), "{err}");
        let gate = Arc::new(Mutex::new(()));
        let closed = gate.lock().unwrap();
        let opener = Arc::clone(&gate);
        let mut db = DeadlineBackend::open("slow".into(), Duration::from_millis(10), move || {
            drop(opener.lock().unwrap());
            Ok(Box::new(Gated {
                gate: opener,
                stored: Arc::default(),
            }))
        })
        .unwrap();
        let rows = opportunity_rows(&mut RowKeys::new(1, 1), 1);
        assert!(db.write(&rows).is_err(), "still opening");
        drop(closed);
        let written = loop {
            if let Ok(n) = db.write(&rows) {
                break n;
            }
            std::thread::yield_now();
        };
        assert_eq!(written, 1);
    }
}
