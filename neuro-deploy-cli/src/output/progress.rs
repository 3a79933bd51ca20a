//! Progress on stderr: on a terminal one live line per step (rewritten as queue samples and
//! waits come in, then settled with the result); elsewhere plain lines.

use std::io::Write;

use neuro_deploy_core::{Observer, Progress, StepStatus};

use super::text::status_word;

/// Progress on stderr: on a terminal one live line per step (rewritten as queue samples and
/// waits come in, then settled with the result); elsewhere plain lines.
pub struct StderrProgress {
    /// Print nothing.
    pub quiet: bool,
}

impl StderrProgress {
    fn live() -> bool {
        std::io::IsTerminal::is_terminal(&std::io::stderr())
    }
}

impl Observer for StderrProgress {
    fn progress(&self, progress: &Progress) {
        if self.quiet {
            return;
        }
        let live = Self::live();
        // `\r` + erase-line rewrites the live line on a terminal.
        let (prefix, end) = if live { ("\r\x1b[2K", "") } else { ("", "\n") };
        let actions = super::actions::enabled();
        let text = match progress {
            // In a GitHub Actions job the waits fold into a group each.
            Progress::StepStarted { kind, .. } if actions && super::actions::grouped(kind) => {
                super::actions::group(kind);
                format!("… {kind}\n")
            }
            Progress::StepStarted { kind, .. } => format!("{prefix}… {kind}{end}"),
            Progress::StepFinished {
                kind,
                status,
                detail,
            } => {
                let mark = match status {
                    StepStatus::Ok => "✓",
                    StepStatus::Skipped | StepStatus::NotRun => "-",
                    StepStatus::Refused | StepStatus::Failed => "✗",
                };
                // On a terminal a refusal or failure is said once, by the report right after.
                let said_by_the_report =
                    live && matches!(status, StepStatus::Refused | StepStatus::Failed);
                let detail = detail
                    .as_ref()
                    .filter(|_| !said_by_the_report)
                    .map(|d| format!(" — {d}"))
                    .unwrap_or_default();
                if actions && super::actions::grouped(kind) {
                    super::actions::end_group();
                }
                format!("{prefix}{mark} {kind}: {}{detail}\n", status_word(*status))
            }
            Progress::QueueSample(sample) => match (&sample.depth, &sample.error) {
                (Some(depth), _) => format!(
                    "{prefix}  queue {} in {}: {depth}{end}",
                    sample.queue, sample.region
                ),
                (None, Some(error)) => format!(
                    "{prefix}  queue {} in {}: unreadable ({error}){end}",
                    sample.queue, sample.region
                ),
                (None, None) => return,
            },
            Progress::Note(note) => format!("{prefix}  {note}\n"),
        };
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(super::actions::inert(&text).as_bytes());
        let _ = err.flush();
    }
}

/// One line for people on stderr (never stdout, which carries the result).
pub fn note(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "{}",
        super::actions::inert(&format!("neuro-deploy: {text}\n"))
    );
    let _ = err.flush();
}

/// Rollout progress on stderr, per Deployment, as `kubectl rollout status` shows it: rewritten
/// in place on a terminal, one line per change elsewhere. `None` when quiet.
pub fn rollout_progress(quiet: bool) -> Option<neuro_deploy_kube::RolloutProgress> {
    if quiet {
        return None;
    }
    Some(std::sync::Arc::new(|name: &str, state: &str| {
        let (prefix, end) = if StderrProgress::live() {
            ("\r\x1b[2K", "")
        } else {
            ("", "\n")
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{prefix}  rollout {name}: {state}{end}");
        let _ = err.flush();
    }))
}
