//! [`Controlled`]: a run as a process the history can stop. A pause is `SIGSTOP`: the run's
//! future is not polled at all until it resumes (its timers, its lock renewal included, fire
//! late, all at once); a crash is `kill -9`: the future is dropped wherever it waits. Either
//! comes at an instant, or right after the process sent its Nth request (so every await point
//! of a run can be hit, not only the long waits). Requests it already sent still land
//! (`node.rs`).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep, sleep_until};

/// What will happen to one process.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessFate {
    /// Killed at this instant.
    pub crash_at: Option<Instant>,
    /// Killed right after sending this request (1 = its first).
    pub crash_after_request: Option<u32>,
    /// Stopped over this interval.
    pub pause: Option<(Instant, Instant)>,
    /// Stopped this long right after sending this request.
    pub pause_after_request: Option<(u32, Duration)>,
}

/// A process's fate as its requests unfold; shared by the process's adapters (which count
/// the requests) and [`Controlled`] (which stops or drops the future).
#[derive(Debug, Default)]
pub struct Control {
    fate: ProcessFate,
    requests: u32,
    crashed: bool,
    paused: Option<(Instant, Instant)>,
}

/// [`Control`] as the adapters and the process share it.
pub type Shared = Arc<Mutex<Control>>;

fn lock(control: &Shared) -> std::sync::MutexGuard<'_, Control> {
    match control.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// A process's control, starting with `fate`.
pub fn control(fate: ProcessFate) -> Shared {
    Arc::new(Mutex::new(Control {
        paused: fate.pause,
        fate,
        ..Control::default()
    }))
}

/// Counts one request the process sent, and stops or kills it there if that is its fate.
pub fn sent(control: &Shared) {
    let mut c = lock(control);
    c.requests += 1;
    let now = Instant::now();
    if c.fate.crash_after_request == Some(c.requests) {
        c.crashed = true;
    }
    if let Some((n, long)) = c.fate.pause_after_request
        && n == c.requests
    {
        c.paused = Some((now, now + long));
    }
}

/// A future run as a process under a [`Control`]; resolves to `None` when it was killed.
pub struct Controlled<T> {
    inner: Option<Pin<Box<dyn Future<Output = T> + Send>>>,
    control: Shared,
    crash: Option<Pin<Box<Sleep>>>,
    resume: Option<(Instant, Pin<Box<Sleep>>)>,
}

impl<T> Controlled<T> {
    /// `inner`, under `control`.
    pub fn new(inner: impl Future<Output = T> + Send + 'static, control: Shared) -> Self {
        let crash = lock(&control).fate.crash_at;
        Controlled {
            inner: Some(Box::pin(inner)),
            control,
            crash: crash.map(|at| Box::pin(sleep_until(at))),
            resume: None,
        }
    }

    fn killed(&self) -> bool {
        lock(&self.control).crashed
    }
}

impl<T> Future for Controlled<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        let due = this
            .crash
            .as_mut()
            .is_some_and(|crash| crash.as_mut().poll(cx).is_ready());
        if due || this.killed() {
            // kill -9: dropped wherever it waits.
            this.inner = None;
            return Poll::Ready(None);
        }
        let paused = lock(&this.control).paused;
        if let Some((from, until)) = paused {
            let now = Instant::now();
            if now >= from && now < until {
                if this.resume.as_ref().is_none_or(|(at, _)| *at != until) {
                    this.resume = Some((until, Box::pin(sleep_until(until))));
                }
                if let Some((_, resume)) = this.resume.as_mut()
                    && resume.as_mut().poll(cx).is_pending()
                {
                    return Poll::Pending;
                }
            }
        }
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = inner.as_mut().poll(cx).map(Some);
        if polled.is_pending() && this.killed() {
            this.inner = None;
            return Poll::Ready(None);
        }
        if polled.is_pending() {
            // A pause that began during this poll (at a request) takes effect now.
            let paused = lock(&this.control).paused;
            if let Some((from, until)) = paused
                && Instant::now() >= from
                && Instant::now() < until
                && this.resume.as_ref().is_none_or(|(at, _)| *at != until)
            {
                let mut resume = Box::pin(sleep_until(until));
                let _ = resume.as_mut().poll(cx);
                this.resume = Some((until, resume));
            }
        }
        polled
    }
}
