//! Adaptive batching of query embeddings (as BentoML's adaptive batching does).
//!
//! Embedding the query dominates a search's cost: a BERT forward pass over
//! one 10-token query costs nearly as much as one over 16 queries, because the
//! weights are read from memory either way. So concurrent requests do not each
//! run their own forward pass: they hand their query to one embedding thread,
//! which takes whatever has arrived — up to `max_batch` queries, waiting at
//! most `max_wait` after the first for company — embeds them in one pass and
//! answers each. Under no load a query waits for nobody (the first in an empty
//! queue goes at once if nothing else is queued); under load batches grow and
//! throughput with them, while the latency cap bounds what any query pays.
//!
//! The batch sizes are observed in `roadmap_rag_embed_batch_size`.
//!
//! The queue in front of the thread is bounded: when it is full a query is
//! refused at once ([`EmbedError::Full`], a 429 for the client) instead of
//! waiting behind hundreds of others. Under overload the service then answers
//! everyone quickly, some with "retry later", rather than everyone slowly
//! (past their own timeouts, which a client sees as a dead server).

use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// An embedding function: texts in, one vector per text out.
pub type EmbedFn = Box<dyn FnMut(&[&str]) -> Result<Vec<Vec<f32>>, String> + Send>;

struct Job {
    text: String,
    reply: oneshot::Sender<Result<Vec<f32>, String>>,
}

/// Why a query got no vector.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmbedError {
    /// The queue is full: the service is overloaded, retry later.
    #[error("the embedding queue is full ({0} queries waiting)")]
    Full(usize),
    /// The embedding thread is gone (it panicked, or the service is stopping).
    #[error("the embedding thread stopped")]
    Stopped,
    /// The embedder failed on this batch.
    #[error("{0}")]
    Failed(String),
}

/// The handle requests use. Cheap to clone.
#[derive(Clone)]
pub struct Batcher {
    tx: mpsc::SyncSender<Job>,
    queue: usize,
}

/// Limits of the batcher.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    pub max_batch: usize,
    pub max_wait: Duration,
    /// Queries that may wait for the embedding thread before callers get an
    /// error instead of queueing (bounded memory under overload).
    pub queue: usize,
}

impl Batcher {
    /// Starts the embedding thread. `on_batch` is told each batch's size.
    pub fn start(
        mut embed: EmbedFn,
        limits: BatchLimits,
        on_batch: impl Fn(usize) + Send + 'static,
    ) -> Batcher {
        let queue = limits.queue.max(1);
        let (tx, rx) = mpsc::sync_channel::<Job>(queue);
        std::thread::Builder::new()
            .name("embed-batcher".into())
            .spawn(move || {
                let max = limits.max_batch.max(1);
                while let Ok(first) = rx.recv() {
                    let mut jobs = vec![first];
                    // Take what is already queued, then wait up to max_wait for more.
                    let deadline = Instant::now() + limits.max_wait;
                    while jobs.len() < max {
                        match rx.try_recv() {
                            Ok(j) => jobs.push(j),
                            Err(mpsc::TryRecvError::Disconnected) => break,
                            Err(mpsc::TryRecvError::Empty) => {
                                let now = Instant::now();
                                if now >= deadline {
                                    break;
                                }
                                match rx.recv_timeout(deadline - now) {
                                    Ok(j) => jobs.push(j),
                                    Err(_) => break,
                                }
                            }
                        }
                    }
                    // Callers that gave up (deadline, disconnect) are skipped.
                    jobs.retain(|j| !j.reply.is_closed());
                    if jobs.is_empty() {
                        continue;
                    }
                    on_batch(jobs.len());
                    let texts: Vec<&str> = jobs.iter().map(|j| j.text.as_str()).collect();
                    match embed(&texts) {
                        Ok(vectors) if vectors.len() == jobs.len() => {
                            for (job, v) in jobs.into_iter().zip(vectors) {
                                let _ = job.reply.send(Ok(v));
                            }
                        }
                        Ok(vectors) => {
                            let msg = format!(
                                "the embedder returned {} vectors for {} texts",
                                vectors.len(),
                                jobs.len()
                            );
                            for job in jobs {
                                let _ = job.reply.send(Err(msg.clone()));
                            }
                        }
                        Err(e) => {
                            for job in jobs {
                                let _ = job.reply.send(Err(e.clone()));
                            }
                        }
                    }
                }
            })
            .expect("spawning the embedding thread");
        Batcher { tx, queue }
    }

    /// Embeds one query together with whatever else is waiting.
    pub async fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .try_send(Job {
                text: text.to_string(),
                reply,
            })
            .map_err(|e| match e {
                mpsc::TrySendError::Full(_) => EmbedError::Full(self.queue),
                mpsc::TrySendError::Disconnected(_) => EmbedError::Stopped,
            })?;
        rx.await
            .map_err(|_| EmbedError::Stopped)?
            .map_err(EmbedError::Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_queries_share_forward_passes_and_get_their_own_vectors() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let b = Batcher::start(
            Box::new(|texts: &[&str]| {
                // A forward pass that costs the same for any batch size.
                std::thread::sleep(Duration::from_millis(20));
                Ok(texts.iter().map(|t| vec![t.len() as f32]).collect())
            }),
            BatchLimits {
                max_batch: 8,
                max_wait: Duration::from_millis(5),
                queue: 64,
            },
            move |n| seen.lock().unwrap().push(n),
        );
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let b = b.clone();
                tokio::spawn(async move { (i, b.embed(&"x".repeat(i + 1)).await.unwrap()) })
            })
            .collect();
        for t in tasks {
            let (i, v) = t.await.unwrap();
            assert_eq!(v, vec![(i + 1) as f32]);
        }
        let sizes = sizes.lock().unwrap();
        assert_eq!(sizes.iter().sum::<usize>(), 32);
        assert!(sizes.iter().all(|&n| n <= 8), "{sizes:?}");
        assert!(sizes.len() < 32, "no batching happened: {sizes:?}");
    }

    #[tokio::test]
    async fn errors_reach_every_caller() {
        let b = Batcher::start(
            Box::new(|_: &[&str]| Err("model not loaded".to_string())),
            BatchLimits {
                max_batch: 4,
                max_wait: Duration::from_millis(1),
                queue: 4,
            },
            |_| {},
        );
        assert_eq!(
            b.embed("q").await.unwrap_err(),
            EmbedError::Failed("model not loaded".into())
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_refuses_at_once() {
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Mutex::new(gate);
        let b = Batcher::start(
            Box::new(move |texts: &[&str]| {
                // Held until the test lets it go: the queue fills behind it.
                gate.lock().unwrap().recv().unwrap();
                Ok(texts.iter().map(|_| vec![1.0]).collect())
            }),
            BatchLimits {
                max_batch: 1,
                max_wait: Duration::ZERO,
                queue: 2,
            },
            |_| {},
        );
        let running = tokio::spawn({
            let b = b.clone();
            async move { b.embed("first").await }
        });
        // Wait until the thread has taken the first query off the queue.
        while b
            .tx
            .try_send(Job {
                text: "probe".into(),
                reply: oneshot::channel().0,
            })
            .is_ok()
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // The queue (2 places) is full now: the next caller is refused without waiting.
        let t0 = std::time::Instant::now();
        assert_eq!(b.embed("late").await.unwrap_err(), EmbedError::Full(2));
        assert!(t0.elapsed() < Duration::from_secs(1));
        for _ in 0..3 {
            release.send(()).unwrap();
        }
        assert_eq!(running.await.unwrap().unwrap(), vec![1.0]);
    }
}
