//! stdout carries the result (text, or one JSON document); stderr carries logs and progress.
//! A closed stdout (`| head`) is not an error.

use std::io::Write;

use neuro_deploy_core::{Decision, Event, Observer, Outcome, Plan, Progress, Report, StepStatus};
use serde_json::{Value, json};

use crate::args::OutputFormat;

/// Writes results to stdout.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// Text or JSON.
    pub format: OutputFormat,
}

impl Printer {
    /// Prints `json` or `text` depending on the format.
    pub fn print(&self, json: &Value, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = match self.format {
            OutputFormat::Json => writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(json).unwrap_or_default()
            ),
            OutputFormat::Text => write!(out, "{text}"),
        };
        let _ = out.flush();
    }

    /// Prints a run report.
    pub fn report(&self, report: &Report) {
        self.print(&report_json(report), &report_text(report));
    }
}

/// The report as JSON (the documented fields first, then everything the core records).
pub fn report_json(report: &Report) -> Value {
    let mut value = serde_json::to_value(report).unwrap_or_else(|_| json!({}));
    value["exit_code"] = json!(report.exit_code().code());
    value
}

fn outcome_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Deployed => "deployed",
        Outcome::WouldDeploy => "would deploy (dry run)",
        Outcome::Ignored => "ignored",
        Outcome::Refused => "refused",
        Outcome::RolledBack => "rolled back",
        Outcome::RollbackFailed => "ROLLBACK FAILED",
        Outcome::Failed => "failed",
        Outcome::ImageReady => "image ready",
        Outcome::Interrupted => "INTERRUPTED",
    }
}

fn status_word(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Ok => "ok",
        StepStatus::Skipped => "skipped",
        StepStatus::Refused => "refused",
        StepStatus::Failed => "failed",
        StepStatus::NotRun => "not run",
    }
}

/// The report for people.
pub fn report_text(report: &Report) -> String {
    let mut out = String::new();
    let reason = report.reason.map(|r| format!(" ({r})")).unwrap_or_default();
    out.push_str(&format!(
        "{}{reason}: {}\n",
        outcome_word(report.outcome),
        report.message
    ));
    let target = match (&report.environment, &report.namespace) {
        (Some(env), Some(ns)) => format!("{env} (namespace {ns})"),
        (None, Some(ns)) => format!("namespace {ns}"),
        _ => String::new(),
    };
    if !target.is_empty() {
        out.push_str(&format!("  target    {target}\n"));
    }
    if let Some(version) = &report.version {
        out.push_str(&format!("  version   {version}\n"));
    }
    if let Some(image) = &report.image {
        out.push_str(&format!("  image     {image}\n"));
    }
    if let Some(previous) = &report.previous_version {
        out.push_str(&format!("  previous  {previous}\n"));
    }
    for (label, changes) in [("applied", &report.applied), ("restored", &report.restored)] {
        if !changes.is_empty() {
            let listed: Vec<String> = changes
                .iter()
                .map(|c| format!("{}/{}={}", c.workload, c.container, c.image))
                .collect();
            out.push_str(&format!("  {label:<9} {}\n", listed.join(", ")));
        }
    }
    if !report.steps.is_empty() {
        out.push_str("  steps\n");
        for step in &report.steps {
            let detail = step.detail.as_deref().unwrap_or(&step.reason);
            out.push_str(&format!(
                "    {:<8} {:<21} {:>7} ms  {detail}\n",
                status_word(step.status),
                step.kind,
                step.duration_ms
            ));
        }
    }
    out
}

/// An offline plan as JSON, in the report's shape.
pub fn plan_json(event: &Event, decision: &Decision) -> Value {
    match decision {
        Decision::Proceed(plan) => json!({
            "outcome": "planned",
            "reason": null,
            "message": plan_headline(event, plan),
            "event": event,
            "environment": plan.environment,
            "namespace": plan.namespace,
            "version": plan.version,
            "image": plan.image.to_string(),
            "steps": plan.steps.iter().map(|s| json!({
                "kind": s.step.kind(),
                "status": "planned",
                "duration_ms": 0,
                "reason": s.reason,
                "step": s.step,
            })).collect::<Vec<_>>(),
            "exit_code": 0,
        }),
        Decision::Ignore(reason) | Decision::Refuse(reason) => json!({
            "outcome": if reason.code.is_ignore() { "ignored" } else { "refused" },
            "reason": reason.code,
            "message": reason.message,
            "event": event,
            "steps": [],
            "exit_code": reason.code.exit_code().code(),
        }),
    }
}

fn plan_headline(event: &Event, plan: &Plan) -> String {
    let target = match &plan.environment {
        Some(env) => format!("{env} (namespace {})", plan.namespace),
        None => format!("namespace {}", plan.namespace),
    };
    format!("{} {} → {target}", event.kind(), plan.version)
}

/// An offline plan for people.
pub fn plan_text(event: &Event, decision: &Decision) -> String {
    match decision {
        Decision::Proceed(plan) => {
            let mut out = format!(
                "plan: {}\n  image {}\n",
                plan_headline(event, plan),
                plan.image
            );
            for (i, step) in plan.steps.iter().enumerate() {
                out.push_str(&format!(
                    "  {:>2}. {:<21} {}\n",
                    i + 1,
                    step.step.kind(),
                    step.reason
                ));
            }
            out
        }
        Decision::Ignore(reason) => format!("ignored ({}): {}\n", reason.code, reason.message),
        Decision::Refuse(reason) => format!("refused ({}): {}\n", reason.code, reason.message),
    }
}

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
        let text = match progress {
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
                let detail = detail
                    .as_ref()
                    .map(|d| format!(" — {d}"))
                    .unwrap_or_default();
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
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }
}

/// One line for people on stderr (never stdout, which carries the result).
pub fn note(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "neuro-deploy: {text}");
    let _ = err.flush();
}

/// Installs the tracing subscriber on stderr: warn by default, `-v` info, `-vv` debug,
/// `-vvv` trace, `-q` errors only; `RUST_LOG` overrides.
pub fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
