//! What can stop a run from outside its steps: a signal ([`Interrupter`] → [`Interrupt`]) and,
//! once the run holds the lock, losing it. [`Watch`] races a step against both.
//!
//! What it is not: it does not decide what a stop means; the locked steps and the rollback do.

use std::time::Duration;

/// What can stop a run from outside its steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Halt {
    /// SIGINT/SIGTERM (the count of signals so far).
    Interrupted,
    /// The lock could not be kept; the text says why.
    LockLost(String),
}

/// How long the clean-up after a signal may take (restore and unlock): pipelines kill a
/// cancelled step after a grace period, and the clean-up must fit in it.
pub const CLEANUP_BOUND: Duration = Duration::from_secs(20);

/// How long releasing the lock may take once a run is interrupted.
pub(super) const UNLOCK_BOUND: Duration = Duration::from_secs(5);

/// Sends interrupts (SIGINT, SIGTERM) to a running [`Executor`](super::Executor); see [`interrupt_channel`].
#[derive(Debug)]
pub struct Interrupter {
    signals: tokio::sync::watch::Sender<u32>,
}

impl Interrupter {
    /// Counts one more signal. The first asks the run to stop and clean up; the second asks
    /// it to skip the restore and only release the lock.
    pub fn interrupt(&self) {
        self.signals.send_modify(|count| *count += 1);
    }
}

/// What a run watches for interrupts; [`Interrupt::never`] when nothing can interrupt it.
#[derive(Debug, Clone)]
pub struct Interrupt {
    signals: Option<tokio::sync::watch::Receiver<u32>>,
}

impl Interrupt {
    /// An interrupt that never fires.
    pub fn never() -> Interrupt {
        Interrupt { signals: None }
    }

    /// Signals received so far.
    pub fn count(&self) -> u32 {
        self.signals.as_ref().map_or(0, |signals| *signals.borrow())
    }

    /// Resolves once at least `at_least` signals have arrived (never, when nothing can send them).
    pub async fn reached(&self, at_least: u32) {
        if let Some(signals) = &self.signals {
            let mut signals = signals.clone();
            if signals.wait_for(|count| *count >= at_least).await.is_ok() {
                return;
            }
        }
        std::future::pending::<()>().await;
    }
}

/// A connected [`Interrupter`] and [`Interrupt`]: the binary's signal handler holds the first,
/// the executor the second ([`Executor::with_interrupt`](super::Executor::with_interrupt)).
pub fn interrupt_channel() -> (Interrupter, Interrupt) {
    let (signals_tx, signals) = tokio::sync::watch::channel(0);
    (
        Interrupter {
            signals: signals_tx,
        },
        Interrupt {
            signals: Some(signals),
        },
    )
}

/// Watches both ways a run can be stopped from outside: a signal and, once it holds the
/// lock, losing it.
pub(super) struct Watch {
    pub(super) interrupt: Interrupt,
    pub(super) lost: Option<tokio::sync::watch::Receiver<Option<String>>>,
    /// Until when the lock is surely ours (its last successful renewal plus the hold), judged
    /// at every check on the monotonic clock — not only when the renewal task next runs: a
    /// process stopped past its lease and resumed runs its steps before that task, and must not
    /// write on a lock someone else may hold by now.
    pub(super) held_until: Option<std::sync::Arc<std::sync::Mutex<tokio::time::Instant>>>,
}

impl Watch {
    /// Before the lock: only signals.
    pub(super) fn unlocked(interrupt: &Interrupt) -> Watch {
        Watch {
            interrupt: interrupt.clone(),
            lost: None,
            held_until: None,
        }
    }

    /// What has stopped the run, if anything.
    pub(super) fn check(&self) -> Option<Halt> {
        if let Some(why) = self.lock_lost() {
            return Some(Halt::LockLost(why));
        }
        (self.interrupt.count() > 0).then_some(Halt::Interrupted)
    }

    /// Why the lock can no longer be counted on, if so: the renewal task said so, or its hold
    /// ran out on the monotonic clock. What must be checked right before every write.
    pub(super) fn lock_lost(&self) -> Option<String> {
        if let Some(why) = self.lost.as_ref().and_then(|lost| lost.borrow().clone()) {
            return Some(why);
        }
        let held_until = self.held_until.as_ref()?;
        let until = match held_until.lock() {
            Ok(until) => *until,
            Err(poisoned) => *poisoned.into_inner(),
        };
        let now = tokio::time::Instant::now();
        (now >= until).then(|| {
            format!(
                "the lock was not renewed in time ({} past its hold; the process may have been stopped)",
                crate::config::format_elapsed(now.duration_since(until))
            )
        })
    }

    /// Resolves when something stops the run.
    pub(super) async fn halted(&self) -> Halt {
        let lock_lost = async {
            if let Some(lost) = &self.lost {
                let mut lost = lost.clone();
                if let Ok(why) = lost.wait_for(Option::is_some).await {
                    return why.clone().unwrap_or_default();
                }
            }
            std::future::pending().await
        };
        // `biased`: the same order every time (deterministic replays; see `Executor::locked`).
        tokio::select! {
            biased;
            () = self.interrupt.reached(1) => Halt::Interrupted,
            why = lock_lost => Halt::LockLost(why),
        }
    }

    /// Runs `work` unless something stops the run first.
    pub(super) async fn race<T>(
        &self,
        work: impl std::future::Future<Output = T>,
    ) -> Result<T, Halt> {
        if let Some(halt) = self.check() {
            return Err(halt);
        }
        tokio::select! {
            biased;
            halt = self.halted() => Err(halt),
            value = work => Ok(value),
        }
    }
}

pub(super) fn halt_text(halt: &Halt) -> &str {
    match halt {
        Halt::Interrupted => "interrupted",
        Halt::LockLost(why) => why,
    }
}
