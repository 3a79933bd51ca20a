//! [`Node`]: one run's connection to the world — what its adapters send. A request lands in
//! the world after a latency whether or not the run is still there to hear the answer (a
//! crashed or paused run's requests in flight still land), and may meet a fault: throttled
//! (429) or a server error (5xx) before it lands, a timeout, or an answer lost after it
//! landed.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use neuro_deploy_core::AdapterError;
use rand::RngExt;

use crate::world::World;

/// The world, shared by every run and actor of one history.
pub type Shared = Arc<Mutex<World>>;

/// Locks the world; a panic while holding it already failed the history, so its state is used
/// as it is.
pub fn lock(world: &Shared) -> MutexGuard<'_, World> {
    match world.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Answered,
    /// 429 after the client's retries: not applied.
    Throttled,
    /// 5xx: not applied.
    ServerError,
    /// No answer within the client's timeout: applied or not.
    TimedOut {
        applied: bool,
    },
    /// Applied, and the answer lost on the way back.
    AnswerLost,
}

/// One run's adapters: every trait the executor needs, sent to the world as `process`.
#[derive(Clone)]
pub struct Node {
    pub world: Shared,
    /// The run's name in the world (`run-7`).
    pub process: String,
    pub machine: usize,
    /// Namespace → another holder's Lease as this run first saw it unchanged: its version and
    /// when (this run's monotonic clock), kept across lock attempts.
    pub lease_seen: Arc<Mutex<std::collections::BTreeMap<String, (u64, tokio::time::Instant)>>>,
    /// The process's fate: it may be stopped or killed right after a request it sends.
    pub control: crate::control::Shared,
}

impl Node {
    /// Runs `f` on the world now (no request: the run's own bookkeeping).
    pub fn with<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        f(&mut lock(&self.world))
    }

    /// This run's machine's wall clock.
    pub fn wall(&self) -> DateTime<Utc> {
        self.with(|w| w.wall(self.machine))
    }

    /// Sends one request: after its latency the world applies `apply` (told whether the answer
    /// will reach the run), then the answer travels back. `service` and `operation` name it in
    /// errors and the trace.
    pub async fn request<T: Send + 'static>(
        &self,
        service: &'static str,
        operation: String,
        apply: impl FnOnce(&mut World, &str, bool) -> Result<T, AdapterError> + Send + 'static,
    ) -> Result<T, AdapterError> {
        let (fate, there, back) = self.with(|w| {
            let fate = if w.fault_rate > 0.0 && w.rng.random_bool(w.fault_rate) {
                match w.rng.random_range(0..5u8) {
                    0 => Fate::Throttled,
                    1 => Fate::ServerError,
                    2 => Fate::TimedOut { applied: false },
                    3 => Fate::TimedOut { applied: true },
                    _ => Fate::AnswerLost,
                }
            } else {
                Fate::Answered
            };
            let mut latency = || {
                // Latency spikes are a fault too: none once the faults stop.
                let slow = w.fault_rate > 0.0 && w.rng.random_bool(0.02);
                Duration::from_millis(if slow {
                    w.rng.random_range(500..3000)
                } else {
                    w.rng.random_range(2..40)
                })
            };
            let (there, back) = (latency(), latency());
            match fate {
                Fate::Answered => {}
                Fate::Throttled => w.fault("429 throttled"),
                Fate::ServerError => w.fault("5xx server error"),
                Fate::TimedOut { applied: false } => w.fault("timeout, not applied"),
                Fate::TimedOut { applied: true } => w.fault("timeout, applied"),
                Fate::AnswerLost => w.fault("answer lost, applied"),
            }
            (fate, there, back)
        });
        let failed = |message: &str| AdapterError::failed(service, operation.clone(), message);
        let lands = matches!(
            fate,
            Fate::Answered | Fate::TimedOut { applied: true } | Fate::AnswerLost
        );
        if !lands {
            // Sent, and refused or lost on the way: it never lands.
            crate::control::sent(&self.control);
        }
        match fate {
            Fate::Throttled => {
                tokio::time::sleep(there + back).await;
                return Err(failed("429 Too Many Requests (after retries)"));
            }
            Fate::ServerError => {
                tokio::time::sleep(there + back).await;
                return Err(failed("503 Service Unavailable"));
            }
            Fate::TimedOut { applied: false } => {
                tokio::time::sleep(TIMEOUT).await;
                return Err(timed_out(service, &operation));
            }
            _ => {}
        }
        let answered = fate == Fate::Answered;
        let (sent, arrived) = tokio::sync::oneshot::channel();
        let world = Arc::clone(&self.world);
        let process = self.process.clone();
        // The world's side: it lands whether or not the run waits for the answer.
        tokio::spawn(async move {
            tokio::time::sleep(there).await;
            let mut world = lock(&world);
            world.steps += 1;
            let answer = apply(&mut world, &process, answered);
            crate::invariants::after_step(&mut world);
            let _ = sent.send(answer);
        });
        crate::control::sent(&self.control);
        let answer = arrived.await.map_err(|_| AdapterError::Unanswered {
            service,
            operation: operation.clone(),
            message: "the world dropped the request".to_owned(),
            source: None,
        })?;
        match fate {
            Fate::TimedOut { .. } => {
                tokio::time::sleep(TIMEOUT.saturating_sub(there)).await;
                Err(timed_out(service, &operation))
            }
            Fate::AnswerLost => {
                tokio::time::sleep(back).await;
                Err(AdapterError::Unanswered {
                    service,
                    operation,
                    message: "connection reset by peer".to_owned(),
                    source: None,
                })
            }
            _ => {
                tokio::time::sleep(back).await;
                answer
            }
        }
    }
}

/// The client's timeout for one request.
const TIMEOUT: Duration = Duration::from_secs(10);

fn timed_out(service: &'static str, operation: &str) -> AdapterError {
    AdapterError::Timeout {
        service,
        operation: operation.to_owned(),
        seconds: TIMEOUT.as_secs_f64(),
    }
}
