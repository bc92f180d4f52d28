//! Back-pressure for CPU-bound generation.
//!
//! A local LLM generation keeps `threads` cores busy for seconds. Letting
//! every request start one would time-slice the same cores between all of
//! them (each answer slower, all deadlines missed together); letting them
//! wait without bound piles up timeouts. So generation goes through an
//! admission queue: `concurrency` generations run, at most `depth` more wait
//! in line, and any request beyond that is refused at once with 429 and a
//! `Retry-After` estimated from the recent generation times — the client (or
//! the load balancer) can try another replica instead of waiting to time out.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The admission queue. Cheap to clone.
#[derive(Clone)]
pub struct GenerationQueue {
    inner: Arc<Inner>,
}

struct Inner {
    slots: Arc<Semaphore>,
    concurrency: usize,
    depth: usize,
    /// Requests admitted: running plus waiting.
    admitted: AtomicUsize,
    /// Exponentially weighted mean generation time in seconds (for Retry-After).
    mean_seconds: Mutex<f64>,
}

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueFull {
    /// Seconds after which a retry has a fair chance.
    pub retry_after_seconds: u64,
}

/// Holding this is the right to generate; dropping it frees the slot.
pub struct Admission {
    queue: GenerationQueue,
    permit: Option<OwnedSemaphorePermit>,
}

impl GenerationQueue {
    pub fn new(concurrency: usize, depth: usize) -> Self {
        GenerationQueue {
            inner: Arc::new(Inner {
                slots: Arc::new(Semaphore::new(concurrency.max(1))),
                concurrency: concurrency.max(1),
                depth,
                admitted: AtomicUsize::new(0),
                mean_seconds: Mutex::new(2.0),
            }),
        }
    }

    /// Requests running or waiting now (the `roadmap_rag_queue_depth` gauge
    /// reports the waiting part: `max(0, admitted − concurrency)`).
    pub fn admitted(&self) -> usize {
        self.inner.admitted.load(Ordering::Acquire)
    }

    /// Requests waiting for a slot.
    pub fn waiting(&self) -> usize {
        self.admitted().saturating_sub(self.inner.concurrency)
    }

    /// Capacity: running slots plus queue places.
    pub fn capacity(&self) -> usize {
        self.inner.concurrency + self.inner.depth
    }

    /// Takes a place in line, or refuses at once when the line is full.
    pub fn try_admit(&self) -> Result<Ticket, QueueFull> {
        let cap = self.capacity();
        let admitted = self
            .inner
            .admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < cap).then_some(n + 1)
            });
        match admitted {
            Ok(_) => Ok(Ticket {
                queue: Some(self.clone()),
            }),
            Err(n) => Err(QueueFull {
                retry_after_seconds: self.retry_after(n),
            }),
        }
    }

    /// The wait a refused request should expect: the requests ahead of it,
    /// served `concurrency` at a time at the mean generation time; at least 1 s.
    fn retry_after(&self, ahead: usize) -> u64 {
        let mean = *self.inner.mean_seconds.lock().expect("not poisoned");
        let rounds = (ahead as f64 / self.inner.concurrency as f64).ceil();
        (rounds * mean).ceil().clamp(1.0, 3600.0) as u64
    }

    /// Records how long a generation took (for Retry-After).
    pub fn observe(&self, took: Duration) {
        let mut m = self.inner.mean_seconds.lock().expect("not poisoned");
        *m = 0.8 * *m + 0.2 * took.as_secs_f64();
    }
}

/// A place in line. Waiting for the slot is cancellable: dropping the ticket
/// (the client went away, the deadline passed) frees the place.
pub struct Ticket {
    queue: Option<GenerationQueue>,
}

impl Ticket {
    /// Waits for a generation slot.
    pub async fn ready(mut self) -> Admission {
        let queue = self.queue.take().expect("a ticket is used once");
        let permit = queue
            .inner
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        Admission {
            queue,
            permit: Some(permit),
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(q) = &self.queue {
            q.inner.admitted.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.permit.take();
        self.queue.inner.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn admits_concurrency_plus_depth_then_refuses() {
        let q = GenerationQueue::new(1, 2);
        let a = q.try_admit().unwrap().ready().await; // running
        let t1 = q.try_admit().unwrap(); // waiting
        let t2 = q.try_admit().unwrap(); // waiting
        assert_eq!(q.waiting(), 2);
        let Err(full) = q.try_admit() else {
            panic!("a full queue admitted a request")
        };
        assert!(full.retry_after_seconds >= 1);
        drop(t2); // a waiting client disconnects: its place is freed
        let t3 = q.try_admit().unwrap();
        drop(a);
        let b = t1.ready().await;
        assert_eq!(q.admitted(), 2);
        drop(b);
        drop(t3);
        assert_eq!(q.admitted(), 0);
    }
}
