//! SIGINT and SIGTERM during a deploy: Codefresh terminates a cancelled build with SIGTERM,
//! an operator presses Ctrl-C.
//!
//! While the executor runs, a signal is forwarded to it (it stops waiting, restores what it
//! changed if that rollout is incomplete, cancels a build it started, releases the lock and
//! reports `interrupted`, exit 7); a second signal makes it skip the restore and only release
//! the lock. Outside a run (reading config, the confirmation question) nothing has been
//! changed, so a signal ends the process at once with exit 7. This module only routes signals;
//! what they do is the core's.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use neuro_deploy_core::{Event, ExitStatus, Interrupt, Outcome, Report, interrupt_channel};

use crate::output::{Printer, note};

/// After a second signal, the process ends by itself if the run has not returned by then.
const HARD_STOP: Duration = Duration::from_secs(10);

/// Signal routing for one process.
pub struct Signals {
    interrupt: Interrupt,
    running: Arc<AtomicBool>,
    listener: tokio::task::JoinHandle<()>,
}

impl Signals {
    /// Starts listening. `event` and `printer` report an interruption outside a run.
    pub fn install(printer: Printer, event: &Event) -> Signals {
        let (interrupter, interrupt) = interrupt_channel();
        let running = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&running);
        let event = event.clone();
        let listener = tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut terminate), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                note("cannot watch SIGINT/SIGTERM here; a signal ends the process at once");
                return;
            };
            let mut count = 0u32;
            loop {
                let name = tokio::select! {
                    _ = terminate.recv() => "SIGTERM",
                    _ = int.recv() => "SIGINT",
                };
                count += 1;
                if !flag.load(Ordering::SeqCst) {
                    let report = Report::without_plan(
                        &event,
                        false,
                        Outcome::Interrupted,
                        None,
                        format!("interrupted ({name}) before any change; nothing was changed"),
                    );
                    printer.report(&report);
                    std::process::exit(i32::from(ExitStatus::Interrupted.code()));
                }
                interrupter.interrupt();
                if count == 1 {
                    note(&format!(
                        "{name}: stopping; what this run changed is restored and the lock released (a second signal skips the restore)"
                    ));
                } else {
                    note(&format!(
                        "{name} again: skipping the restore, releasing the lock"
                    ));
                    tokio::spawn(async {
                        tokio::time::sleep(HARD_STOP).await;
                        note("the run did not stop in time; exiting (an operator is needed)");
                        std::process::exit(i32::from(ExitStatus::RollbackFailed.code()));
                    });
                }
            }
        });
        Signals {
            interrupt,
            running,
            listener,
        }
    }

    /// The interrupt to hand to the executor.
    pub fn interrupt(&self) -> Interrupt {
        self.interrupt.clone()
    }

    /// Runs `work` with signals forwarded to the executor instead of ending the process.
    pub async fn during<T>(&self, work: impl std::future::Future<Output = T>) -> T {
        self.running.store(true, Ordering::SeqCst);
        let value = work.await;
        self.running.store(false, Ordering::SeqCst);
        value
    }
}

impl Drop for Signals {
    /// The run is over: its listener stops (the playground shell runs many in one process).
    fn drop(&mut self) {
        self.listener.abort();
    }
}
