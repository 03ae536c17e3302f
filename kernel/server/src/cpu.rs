//! CPU-heavy work (decoding and resizing an uploaded picture, say) off the
//! async workers: on tokio's blocking pool, at most a few at once, so one
//! person's uploads cannot stall every tenant's requests.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

/// How long a job waits for a free slot before the person is asked to try
/// again.
const QUEUE_WAIT: Duration = Duration::from_secs(20);

/// Why a job did not run to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CpuError {
    #[error("every slot for heavy work stayed busy")]
    Busy,
    #[error("the job panicked")]
    Panicked,
}

/// Runs jobs on the blocking pool, `slots` at a time.
#[derive(Debug, Clone)]
pub struct CpuPool {
    slots: Arc<Semaphore>,
    count: usize,
}

impl CpuPool {
    pub fn new(slots: usize) -> Self {
        let count = slots.max(1);
        Self {
            slots: Arc::new(Semaphore::new(count)),
            count,
        }
    }

    /// How many jobs run at once.
    pub fn slots(&self) -> usize {
        self.count
    }

    /// Half the machine's cores (at least one): the other half keeps
    /// answering requests.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(cores / 2)
    }

    /// Runs `job` when a slot is free (waiting at most [`QUEUE_WAIT`]).
    pub async fn run<T, F>(&self, job: F) -> Result<T, CpuError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = tokio::time::timeout(QUEUE_WAIT, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| CpuError::Busy)?
            .map_err(|_| CpuError::Busy)?;
        tokio::task::spawn_blocking(move || {
            let out = job();
            drop(permit);
            out
        })
        .await
        .map_err(|_| CpuError::Panicked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// With one slot, a second job starts only when the first is done, and
    /// the async worker (a current-thread runtime: one thread) stays free
    /// to run other tasks meanwhile.
    #[tokio::test(flavor = "current_thread")]
    async fn jobs_wait_for_a_slot_and_never_block_the_worker() {
        let pool = CpuPool::new(1);
        let (release, gate) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel::<u8>();
        let first = {
            let (pool, started_tx) = (pool.clone(), started_tx.clone());
            tokio::spawn(async move {
                pool.run(move || {
                    started_tx.send(1).unwrap();
                    gate.recv().unwrap();
                })
                .await
            })
        };
        let second = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(move || started_tx.send(2).unwrap()).await })
        };
        // The worker is free although the first job blocks its thread.
        let answered = tokio::spawn(async { 42 }).await.unwrap();
        assert_eq!(answered, 42);
        assert_eq!(started.recv().unwrap(), 1);
        tokio::task::yield_now().await;
        assert!(started.try_recv().is_err(), "the second job waits");
        release.send(()).unwrap();
        first.await.unwrap().unwrap();
        second.await.unwrap().unwrap();
        assert_eq!(started.recv().unwrap(), 2);
    }
}
