//! The lock around the writes: taken (the adapter judges other holders), renewed while the
//! steps run, our own hold judged by elapsed time, released on every path.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::config::{format_duration, format_elapsed};
use crate::error::{AdapterError, Reason, ReasonCode};
use crate::model::{LockAttempt, LockHandle};
use crate::policy::DeployPhase;

use super::interrupt::{Halt, UNLOCK_BOUND, Watch};
use super::progress::Progress;
use super::run::{LivePlan, Run};
use super::{Ending, Executor, StepEnd, Stop};

pub(super) fn lock_value(shared: &Mutex<LockHandle>) -> LockHandle {
    match shared.lock() {
        Ok(guard) => guard.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

impl Executor {
    /// Takes the lock, runs the locked steps while renewing it, and releases it on every path.
    pub(super) async fn locked(&self, plan: &mut LivePlan, run: &mut Run<'_>) -> Ending {
        let DeployPhase::Write {
            lock: lock_step,
            release: release_step,
            ..
        } = plan.deploy.clone()
        else {
            return Ending::Deployed;
        };
        let started = self.step_started(&lock_step);
        let holder = run.options.holder();
        let unlocked = Watch::unlocked(&self.interrupt);
        let (attempt, asked) = match unlocked
            .race(self.take_lock(&plan.namespace, &holder))
            .await
        {
            Ok(attempt) => attempt,
            Err(_) => {
                self.record_halt(run, &lock_step, started, &Halt::Interrupted);
                return Ending::Interrupted(
                    "interrupted while taking the lock; nothing was changed".to_owned(),
                );
            }
        };
        let (handle, taken_at) = match attempt {
            Ok(LockAttempt::Acquired(handle)) => {
                // Our hold counts from when the acquiring request was sent, never from its
                // answer: an answer that comes late (a slow network, a process stopped and
                // resumed) must not stretch it. When taking the lock took long (a dead holder's
                // Lease watched for its whole duration), one renewal now starts it afresh.
                let (handle, taken_at) = if asked.elapsed() < self.hold() / 2 {
                    (handle, asked)
                } else {
                    let renewing = Instant::now();
                    match self.adapters.cluster.renew(&handle).await {
                        Ok(renewed) => (renewed, renewing),
                        Err(error) => {
                            // Nothing was written; let go of what may still be ours.
                            let _ = self.adapters.cluster.unlock(&handle).await;
                            return self.stop(run, &lock_step, started, Stop::Failed(error));
                        }
                    }
                };
                self.step_finished(
                    run,
                    &lock_step,
                    started,
                    StepEnd::Ok(Some(format!("held by {holder}"))),
                );
                let samples = super::metrics::lock_taken(run.instant());
                self.push_metrics(run, samples).await;
                (handle, taken_at)
            }
            Ok(LockAttempt::Held {
                holder: other,
                expires,
            }) => {
                let until = expires.map(|e| format!(" until {e}")).unwrap_or_default();
                let reason = Reason::new(
                    ReasonCode::LockHeld,
                    format!(
                        "another deploy holds the lock on namespace `{}`: {other}{until}; wait for it to finish and run again (a dead holder's lock is taken over once it has stayed unrenewed for {}; see `neuro-deploy lock status`)",
                        plan.namespace,
                        format_duration(self.config.lock.lease)
                    ),
                );
                return self.stop(run, &lock_step, started, Stop::Refused(reason));
            }
            Err(error) => return self.stop(run, &lock_step, started, Stop::Failed(error)),
        };
        let shared = Arc::new(Mutex::new(handle));
        let (lost_tx, lost) = tokio::sync::watch::channel(None);
        let held_until = Arc::new(Mutex::new(taken_at + self.hold()));
        let watch = Watch {
            interrupt: self.interrupt.clone(),
            lost: Some(lost),
            held_until: Some(Arc::clone(&held_until)),
        };
        // `biased`: polled in this order every time, so a run is deterministic under paused
        // time (tokio's default picks a random branch first; the simulation replays seeds).
        let ending = tokio::select! {
            biased;
            ending = self.locked_steps(plan, run, &watch) => ending,
            never = self.keep_lock(Arc::clone(&shared), taken_at, held_until, lost_tx) => match never {},
        };
        // Release on every path; bounded once a signal asked the run to stop.
        let handle = lock_value(&shared);
        let started = Instant::now();
        let unlock = self.adapters.cluster.unlock(&handle);
        let released = if self.interrupt.count() > 0 {
            tokio::time::timeout(UNLOCK_BOUND, unlock)
                .await
                .unwrap_or_else(|_| {
                    Err(AdapterError::Timeout {
                        service: "kubernetes",
                        operation: "releasing the lock".to_owned(),
                        seconds: UNLOCK_BOUND.as_secs_f64(),
                    })
                })
        } else {
            unlock.await
        };
        let end = match released {
            Ok(()) => StepEnd::Ok(None),
            Err(error) => {
                self.observer.progress(&Progress::Note(format!(
                    "could not release the lock ({error}); it expires by itself after {}",
                    format_duration(self.config.lock.lease)
                )));
                StepEnd::Stop(Stop::Failed(error))
            }
        };
        self.step_finished(run, &release_step, started, end);
        ending
    }

    /// Renews the lock every `lock.renew_every`. Our hold is judged by elapsed time on this
    /// process's monotonic clock: when no renewal has succeeded within the lease minus a
    /// margin, others may soon take the lock over, so the run is told to stop before its next
    /// write. Never returns.
    pub(super) async fn keep_lock(
        &self,
        shared: Arc<Mutex<LockHandle>>,
        taken_at: Instant,
        held_until: Arc<Mutex<Instant>>,
        lost: tokio::sync::watch::Sender<Option<String>>,
    ) -> std::convert::Infallible {
        let every = self.config.lock.renew_every;
        let hold = self.hold();
        // Until when the lock is surely ours; shared with the checks before each write.
        let mut deadline = taken_at + hold;
        let mut next_attempt = taken_at + every;
        let why = loop {
            if next_attempt >= deadline {
                tokio::time::sleep_until(deadline).await;
                break format!("no renewal succeeded for {}", format_elapsed(hold));
            }
            tokio::time::sleep_until(next_attempt).await;
            let handle = lock_value(&shared);
            let attempt_at = Instant::now();
            match tokio::time::timeout_at(deadline, self.adapters.cluster.renew(&handle)).await {
                Ok(Ok(renewed)) => {
                    if let Ok(mut slot) = shared.lock() {
                        *slot = renewed;
                    }
                    deadline = attempt_at + hold;
                    if let Ok(mut until) = held_until.lock() {
                        *until = deadline;
                    }
                    next_attempt = attempt_at + every;
                }
                Ok(Err(error @ AdapterError::Conflict { .. })) => {
                    break format!("another holder took it ({error})");
                }
                Ok(Err(error)) => {
                    self.observer.progress(&Progress::Note(format!(
                        "lock renewal failed: {error}; retrying"
                    )));
                    next_attempt = Instant::now() + (every / 4).max(Duration::from_millis(500));
                }
                Err(_) => break format!("no renewal succeeded for {}", format_elapsed(hold)),
            }
        };
        let handle = lock_value(&shared);
        self.observer.progress(&Progress::Note(format!(
            "the lock on namespace `{}` was lost: {why}; no further write",
            handle.namespace
        )));
        let _ = lost.send(Some(format!(
            "the lock on namespace `{}` was lost ({why})",
            handle.namespace
        )));
        std::future::pending().await
    }

    /// How long after its last successful renewal (or its taking) the lock is surely ours: the
    /// lease less a margin for the renewal's latency and clocks running at slightly different
    /// rates. Others take it over only after watching it unrenewed for the whole lease.
    fn hold(&self) -> Duration {
        let lease = self.config.lock.lease;
        lease - lease / 4
    }

    /// Tries to take the lock; while another deploy holds it, tries again for up to
    /// `lock.wait` (`--wait-for-lock`), saying whom it waits for.
    /// Also gives when its last attempt was sent.
    async fn take_lock(
        &self,
        namespace: &str,
        holder: &str,
    ) -> (Result<LockAttempt, AdapterError>, Instant) {
        let wait = self.config.lock.wait;
        let since = Instant::now();
        loop {
            let asked = Instant::now();
            let attempt = self
                .adapters
                .cluster
                .lock(namespace, holder, self.config.lock.lease)
                .await;
            let waited = since.elapsed();
            match attempt {
                Ok(LockAttempt::Held { holder: other, .. }) if waited < wait => {
                    let left = wait - waited;
                    self.observer.progress(&Progress::Note(format!(
                        "the lock on `{namespace}` is held by {other}; waiting for it ({} left)",
                        format_elapsed(left)
                    )));
                    tokio::time::sleep(left.min(LOCK_RETRY)).await;
                }
                other => return (other, asked),
            }
        }
    }
}

/// How often a held lock is tried again while waiting for it.
const LOCK_RETRY: Duration = Duration::from_secs(2);
