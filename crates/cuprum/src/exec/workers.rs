//! The threads that supervise threaded executions.
//!
//! Starting a thread costs more than a short-lived command's whole
//! supervision, so supervisor threads are kept for reuse: a finished
//! supervisor's thread waits a while for the next execution before it exits.
//! Each execution still has a thread to itself while it runs, so one run
//! blocking on a slow echo sink never stalls another.

use std::collections::VecDeque;
use std::io;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use super::supervisor::Supervisor;

/// How long an idle supervisor thread waits for work before it exits.
const IDLE: Duration = Duration::from_secs(1);

struct Queue {
    pending: VecDeque<Supervisor>,
    idle: usize,
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue {
    pending: VecDeque::new(),
    idle: 0,
});
static READY: Condvar = Condvar::new();

/// Hands `supervisor` to an idle thread, or to a new one.
///
/// # Errors
///
/// The thread could not be created; the supervisor is returned so the
/// caller can run it itself.
pub(crate) fn submit(supervisor: Supervisor) -> Result<(), Box<(io::Error, Supervisor)>> {
    let mut queue = QUEUE.lock().unwrap_or_else(PoisonError::into_inner);
    if queue.idle > queue.pending.len() {
        queue.pending.push_back(supervisor);
        drop(queue);
        READY.notify_one();
        return Ok(());
    }
    drop(queue);
    let slot = std::sync::Arc::new(Mutex::new(Some(supervisor)));
    let theirs = std::sync::Arc::clone(&slot);
    let spawned = std::thread::Builder::new()
        .name("cuprum-supervisor".into())
        .spawn(move || {
            let first = theirs.lock().unwrap_or_else(PoisonError::into_inner).take();
            if let Some(first) = first {
                first.run();
            }
            work();
        });
    match spawned {
        Ok(_) => Ok(()),
        Err(err) => {
            let supervisor = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
            // The closure never ran, so the supervisor is still in the slot.
            supervisor.map_or(Ok(()), |supervisor| Err(Box::new((err, supervisor))))
        }
    }
}

/// Runs queued supervisors until none arrives for [`IDLE`].
fn work() {
    loop {
        let mut queue = QUEUE.lock().unwrap_or_else(PoisonError::into_inner);
        queue.idle += 1;
        let (mut queue, _) = READY
            .wait_timeout_while(queue, IDLE, |queue| queue.pending.is_empty())
            .unwrap_or_else(PoisonError::into_inner);
        queue.idle -= 1;
        let Some(next) = queue.pending.pop_front() else {
            return;
        };
        drop(queue);
        next.run();
    }
}
