//! The SQLite store's writer thread: one connection, group commit, a sync only where one is
//! needed (issue 16).
//!
//! One thread owns the store's read-write connection; operations are queued to it. It takes
//! every operation waiting (up to [`MAX_BATCH`]) and runs them in one `BEGIN IMMEDIATE`
//! transaction, each inside its own savepoint: an operation that fails rolls back alone, as if
//! it had been a transaction of its own, and the others see exactly the writes they would have
//! seen one after another. The batch commits once, so writers arriving together share one
//! commit and at most one sync (group commit). No result is handed out before its batch
//! committed.
//!
//! Each write says how soon it must be on disk ([`Durability`]):
//! - [`Durability::Synced`]: the commit syncs the WAL (`synchronous = FULL`) before the caller
//!   hears of it. For what nothing else can rebuild: a reservation (a new SCIM id, the stored
//!   `externalId`), a changed record, a deletion.
//! - [`Durability::Deferred`]: committed to the WAL without a sync (`synchronous = NORMAL`).
//!   It survives a process kill at once (the WAL is in the OS page cache); a power loss loses
//!   it only if no synced commit followed it and the idle flush ([`FLUSH_AFTER`]) had not run.
//!   For what the crash-repair protocol rebuilds from the backend (an activation: the
//!   reservation it completes is synced, and adoption redoes it) and for the audit trail.
//!
//! The WAL is append-only and replayed as a prefix after a power loss, so a synced commit
//! makes every commit before it durable too; what a power loss can take is only a tail of
//! deferred commits. After [`FLUSH_AFTER`] without new work the thread syncs the WAL file
//! itself, so that tail is at most that long.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::oneshot;

use super::Error;

/// Most operations committed together.
const MAX_BATCH: usize = 128;

/// How long deferred commits may wait for a sync when no other work comes.
pub(super) const FLUSH_AFTER: Duration = Duration::from_millis(100);

/// How soon a write must be on disk when its caller hears it succeeded (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Durability {
    /// Synced before the answer: survives a power loss.
    Synced,
    /// Committed without a sync: survives a process kill; synced by the next synced commit or
    /// within [`FLUSH_AFTER`].
    Deferred,
}

/// What a queued operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Reads only.
    Read,
    /// Writes, with this durability.
    Write(Durability),
}

/// A finished operation, waiting for its batch's commit: `deliver` hands the result out,
/// turned into a failure when the batch failed (`Some(reason)`).
struct Outcome {
    ok: bool,
    deliver: Deliver,
}

/// Hands an operation's result to its caller, given the batch's failure (if any).
type Deliver = Box<dyn FnOnce(Option<&str>) + Send>;

/// Runs an operation on the connection; `None`: it cannot run (its batch failed first).
type Run = Box<dyn FnOnce(Option<&Connection>) -> Outcome + Send>;

struct Job {
    kind: Kind,
    run: Run,
}

/// The handle to the writer thread; cheap to clone. The thread ends (and closes the
/// connection) when the last handle is dropped.
#[derive(Clone)]
pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the thread owning `conn`; `wal` is the WAL file to sync when idle (`None` for an
    /// in-memory database, which has nothing to sync).
    pub(super) fn spawn(conn: Connection, wal: Option<PathBuf>) -> Result<Self, Error> {
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("scimgate-sqlite".to_owned())
            .spawn(move || serve(conn, &queue, wal))
            .map_err(|error| Error::Open {
                location: "writer thread".to_owned(),
                reason: error.to_string(),
            })?;
        Ok(Self { jobs })
    }

    /// Runs `work` on the writer thread and answers once its batch committed.
    pub(super) async fn call<T: Send + 'static>(
        &self,
        operation: &'static str,
        kind: Kind,
        work: impl FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let (answer, result) = oneshot::channel();
        let run = move |conn: Option<&Connection>| {
            let result = conn.map(|conn| {
                catch_unwind(AssertUnwindSafe(|| work(conn))).unwrap_or_else(|_| {
                    Err(Error::Interrupted {
                        operation,
                        reason: "the operation panicked and was rolled back".to_owned(),
                    })
                })
            });
            Outcome {
                ok: result.as_ref().is_some_and(Result::is_ok),
                deliver: Box::new(move |failed: Option<&str>| {
                    let result = match (result, failed) {
                        (None, reason) => Err(Error::Database {
                            operation,
                            reason: reason.unwrap_or("not run").to_owned(),
                        }),
                        (Some(Ok(_)), Some(reason)) => Err(Error::Database {
                            operation,
                            reason: reason.to_owned(),
                        }),
                        (Some(result), _) => result,
                    };
                    // The caller may have stopped waiting; the write stands either way.
                    let _ = answer.send(result);
                }),
            }
        };
        let stopped = || Error::Interrupted {
            operation,
            reason: "the store's writer thread has stopped".to_owned(),
        };
        self.jobs
            .send(Job {
                kind,
                run: Box::new(run),
            })
            .map_err(|_| stopped())?;
        result.await.map_err(|_| stopped())?
    }
}

/// The writer thread's loop.
fn serve(mut conn: Connection, queue: &mpsc::Receiver<Job>, wal: Option<PathBuf>) {
    let mut state = State {
        synchronous_full: None,
        unsynced: false,
        wal,
    };
    loop {
        let first = if state.unsynced {
            match queue.recv_timeout(FLUSH_AFTER) {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout) => {
                    state.flush();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match queue.recv() {
                Ok(job) => job,
                Err(_) => break,
            }
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(&mut conn, batch, &mut state);
    }
    state.flush();
}

struct State {
    /// The `synchronous` setting last applied (`None`: not yet set by this thread).
    synchronous_full: Option<bool>,
    /// Deferred commits not synced yet.
    unsynced: bool,
    wal: Option<PathBuf>,
}

impl State {
    /// Syncs the WAL file (fdatasync on any descriptor of it flushes its pages).
    fn flush(&mut self) {
        if !self.unsynced {
            return;
        }
        self.unsynced = false;
        let Some(wal) = &self.wal else { return };
        match std::fs::File::open(wal).and_then(|file| file.sync_data()) {
            Ok(()) => {}
            // Checkpointed and removed meanwhile: nothing left to sync.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => tracing::warn!(%error, "The store's WAL could not be synced."),
        }
    }

    fn set_synchronous(&mut self, conn: &Connection, full: bool) -> Result<(), String> {
        if self.synchronous_full == Some(full) {
            return Ok(());
        }
        let pragma = if full {
            "PRAGMA synchronous = FULL"
        } else {
            "PRAGMA synchronous = NORMAL"
        };
        conn.execute_batch(pragma).map_err(|e| e.to_string())?;
        self.synchronous_full = Some(full);
        Ok(())
    }
}

/// Runs one batch: reads alone run outside a transaction; otherwise one transaction, one
/// savepoint per operation, one commit (synced when any write asks for it).
fn run_batch(conn: &mut Connection, batch: Vec<Job>, state: &mut State) {
    let durable = batch
        .iter()
        .any(|job| job.kind == Kind::Write(Durability::Synced));
    if batch.iter().all(|job| job.kind == Kind::Read) {
        for job in batch {
            let outcome = (job.run)(Some(&*conn));
            (outcome.deliver)(None);
        }
        return;
    }
    let mut outcomes = Vec::with_capacity(batch.len());
    let failure = (|| {
        state.set_synchronous(conn, durable)?;
        let mut tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| e.to_string())?;
        let mut jobs = batch.into_iter();
        let mut failure = None;
        for job in jobs.by_ref() {
            if job.kind == Kind::Read {
                outcomes.push((job.run)(Some(&*tx)));
                continue;
            }
            let savepoint = match tx.savepoint() {
                Ok(savepoint) => savepoint,
                Err(error) => {
                    failure = Some(error.to_string());
                    outcomes.push((job.run)(None));
                    break;
                }
            };
            let outcome = (job.run)(Some(&*savepoint));
            let released = if outcome.ok {
                savepoint.commit().map_err(|e| e.to_string())
            } else {
                // Dropping the savepoint rolls back what the failed operation wrote.
                drop(savepoint);
                Ok(())
            };
            outcomes.push(outcome);
            if let Err(reason) = released {
                failure = Some(reason);
                break;
            }
        }
        if let Some(reason) = failure {
            // The transaction rolls back when dropped; operations not run yet fail too.
            drop(tx);
            for job in jobs {
                outcomes.push((job.run)(None));
            }
            return Err(reason);
        }
        tx.commit().map_err(|e| e.to_string())
    })();
    match &failure {
        Ok(()) if durable => state.unsynced = false,
        Ok(()) => state.unsynced = state.wal.is_some(),
        Err(_) => {}
    }
    let failure = failure.err();
    for outcome in outcomes {
        (outcome.deliver)(failure.as_deref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> Writer {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (v TEXT PRIMARY KEY)")
            .unwrap();
        Writer::spawn(conn, None).unwrap()
    }

    fn insert(value: &'static str, fail: bool) -> impl FnOnce(&Connection) -> Result<(), Error> {
        move |conn| {
            conn.execute("INSERT INTO t (v) VALUES (?1)", [value])
                .map_err(|e| Error::Database {
                    operation: "test",
                    reason: e.to_string(),
                })?;
            if fail {
                return Err(Error::Database {
                    operation: "test",
                    reason: "refused after writing".to_owned(),
                });
            }
            Ok(())
        }
    }

    fn values(conn: &Connection) -> Result<Vec<String>, Error> {
        let mut statement = conn.prepare("SELECT v FROM t ORDER BY v").unwrap();
        let rows = statement.query_map([], |row| row.get(0)).unwrap();
        Ok(rows.map(Result::unwrap).collect())
    }

    /// Writes queued behind a slow one run as one batch; the one that fails after writing
    /// rolls back alone, the others commit, and each caller gets its own result.
    #[tokio::test]
    async fn a_failing_write_rolls_back_alone_in_its_batch() {
        let writer = writer();
        let slow = writer.call("slow", Kind::Write(Durability::Synced), |_| {
            std::thread::sleep(Duration::from_millis(100));
            Ok(())
        });
        let (a, b, c, d) = tokio::join!(
            slow,
            writer.call("a", Kind::Write(Durability::Deferred), insert("a", false)),
            writer.call("b", Kind::Write(Durability::Synced), insert("b", true)),
            writer.call("c", Kind::Write(Durability::Deferred), insert("c", false)),
        );
        assert!(a.is_ok() && b.is_ok() && d.is_ok(), "{a:?} {b:?} {d:?}");
        assert!(matches!(c, Err(Error::Database { reason, .. }) if reason.contains("refused")));
        let seen = writer.call("read", Kind::Read, values).await.unwrap();
        assert_eq!(seen, ["a", "c"]);
        // A duplicate is refused by the database inside its savepoint; the batch goes on.
        let (dup, e) = tokio::join!(
            writer.call("dup", Kind::Write(Durability::Synced), insert("a", false)),
            writer.call("e", Kind::Write(Durability::Synced), insert("e", false)),
        );
        assert!(dup.is_err() && e.is_ok(), "{dup:?} {e:?}");
        let seen = writer.call("read", Kind::Read, values).await.unwrap();
        assert_eq!(seen, ["a", "c", "e"]);
    }

    /// A panicking operation is rolled back and reported; the thread keeps serving.
    #[tokio::test]
    async fn a_panicking_write_is_an_error_and_the_writer_goes_on() {
        let writer = writer();
        let panicked = writer
            .call(
                "boom",
                Kind::Write(Durability::Synced),
                |conn| -> Result<(), Error> {
                    conn.execute("INSERT INTO t (v) VALUES ('x')", []).unwrap();
                    panic!("injected");
                },
            )
            .await;
        assert!(
            matches!(panicked, Err(Error::Interrupted { .. })),
            "{panicked:?}"
        );
        writer
            .call("ok", Kind::Write(Durability::Deferred), insert("y", false))
            .await
            .unwrap();
        let seen = writer.call("read", Kind::Read, values).await.unwrap();
        assert_eq!(seen, ["y"]);
    }
}
