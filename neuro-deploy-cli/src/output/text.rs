//! Reports and plans for people: a headline with the outcome and reason code, the target,
//! the version and image, what was applied and restored, then one line per step.

use neuro_deploy_core::policy::{GateVerdict, Verdict};
use neuro_deploy_core::{
    Decision, Event, ImageChange, Outcome, Plan, Report, StepReport, StepStatus, model::Changes,
};

/// What happened, as the headline's first words.
fn outcome_word(report: &Report) -> &'static str {
    match report.outcome {
        Outcome::Deployed if matches!(report.event, Event::Rollback { .. }) => "rolled back",
        Outcome::Deployed => "deployed",
        Outcome::WouldDeploy => "would deploy",
        Outcome::Ignored => "ignored",
        Outcome::Refused => "refused",
        Outcome::RolledBack => "rolled back",
        Outcome::RollbackFailed => "ROLLBACK FAILED",
        Outcome::Failed => "failed",
        Outcome::ImageReady => "image ready",
        Outcome::Interrupted => "INTERRUPTED",
        Outcome::Planned => "planned",
    }
}

pub(crate) fn status_word(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Ok => "ok",
        StepStatus::Skipped => "skipped",
        StepStatus::Refused => "refused",
        StepStatus::Failed => "failed",
        StepStatus::NotRun => "not run",
    }
}

/// What an action step that passed without saying more did (its reason says what it was to
/// do); a gate's reason already says what held, so gates have none.
fn done_word(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "acquire_lock" => "lock taken",
        "release_lock" => "released",
        "set_image" => "images set",
        "await_rollout" => "rollout complete",
        "verify" => "checks passed",
        "recheck_queues" => "queues still empty",
        "ensure_image" => "image ready",
        _ => return None,
    })
}

/// What a step came to, in a few words: its detail, or for an action that passed what it did;
/// a detail that repeats `headline` (the refusal or failure the report leads with) is "see above".
pub(crate) fn step_result<'a>(step: &'a StepReport, headline: &str) -> &'a str {
    match (&step.detail, step.status) {
        (Some(detail), _) if detail.starts_with(headline) => "see above",
        (Some(detail), _) => detail.as_str(),
        (None, StepStatus::Ok) => done_word(&step.kind).unwrap_or(&step.reason),
        (None, _) => step.reason.as_str(),
    }
}

/// `sha256:` digests cut to their first 12 hex digits (`sha256:871ffadb1f14…`), so lines fit a
/// terminal; JSON keeps them whole.
pub fn short_digests(text: &str) -> String {
    const HEX: usize = 64;
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("sha256:") {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let digits = &from["sha256:".len()..];
        let whole = digits.len() >= HEX && digits[..HEX].chars().all(|c| c.is_ascii_hexdigit());
        if whole {
            out.push_str("sha256:");
            out.push_str(&digits[..12]);
            out.push('…');
            rest = &digits[HEX..];
        } else {
            out.push_str("sha256:");
            rest = digits;
        }
    }
    out.push_str(rest);
    out
}

/// The report for people; `steps`: include the step table (left out where the live progress
/// on a terminal already showed every step).
pub fn report_text(report: &Report, steps: bool) -> String {
    let mut out = String::new();
    let word = outcome_word(report);
    let reason = report.reason.map(|r| format!(" ({r})")).unwrap_or_default();
    // Say what happened once: a message that starts with it is the headline.
    if report.message.starts_with(word) {
        out.push_str(&format!("{}{reason}\n", report.message));
    } else {
        out.push_str(&format!("{word}{reason}: {}\n", report.message));
    }
    out.push_str(&caused_by(&report.causes));
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
    if let Some(changes) = &report.changes {
        out.push_str(&changes_lines(changes));
    }
    for (label, changes) in [("applied", &report.applied), ("restored", &report.restored)] {
        // One Deployment a line.
        for (i, workload) in ImageChange::workloads(changes).iter().enumerate() {
            let containers: Vec<String> = changes
                .iter()
                .filter(|c| &c.workload == workload)
                .map(|c| format!("{}={}", c.container, c.image))
                .collect();
            let label = if i == 0 { label } else { "" };
            out.push_str(&format!(
                "  {label:<9} {workload}: {}\n",
                containers.join(", ")
            ));
        }
    }
    if let Some(recorded) = &report.recorded {
        out.push_str(&format!(
            "  recorded  GitHub Deployment {} ({})\n",
            recorded.id,
            recorded.state.as_str()
        ));
    }
    if let Some(overridden) = report.notes.overridden() {
        out.push_str(&format!("  override  {overridden}\n"));
    }
    if let Some(approvers) = report.notes.approvers() {
        out.push_str(&format!("  approved  {approvers}\n"));
    }
    if let Some(quarantined) = &report.quarantined {
        out.push_str(&format!("  quarantine {quarantined}\n"));
    }
    for warning in &report.warnings {
        out.push_str(&format!("  warning   {warning}\n"));
    }
    if steps && !report.steps.is_empty() {
        out.push_str("  steps\n");
        for step in &report.steps {
            let detail = step_result(step, &report.message);
            out.push_str(&format!(
                "    {:<8} {:<21} {:>7} ms  {detail}\n",
                status_word(step.status),
                step.kind,
                step.duration_ms
            ));
        }
    }
    short_digests(&out)
}

/// What a deploy changes, as report lines: `  changes   HEADLINE`, then the digests and the
/// commits (newest first) indented under it.
pub fn changes_lines(changes: &Changes) -> String {
    changes
        .lines()
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let label = if i == 0 { "changes" } else { "" };
            format!("  {label:<9} {line}\n")
        })
        .collect()
}

/// One `caused by: …` line per cause, indented under the message it explains (as uv and
/// anyhow's `{:#}` show a chain).
pub fn caused_by(causes: &[String]) -> String {
    causes
        .iter()
        .map(|cause| format!("  caused by: {cause}\n"))
        .collect()
}

/// `promote v1.4.0 → production (namespace leaf-neuro-ui)`.
pub fn plan_headline(event: &Event, plan: &Plan) -> String {
    let target = match &plan.environment {
        Some(env) => format!("{env} (namespace {})", plan.namespace),
        None => format!("namespace {}", plan.namespace),
    };
    format!("{} {} → {target}", event.kind(), plan.version_text())
}

/// Every gate's verdict, one a line, under a refusal.
pub fn gate_lines(gates: &[GateVerdict]) -> String {
    let mut out = String::new();
    if gates.is_empty() {
        return out;
    }
    out.push_str("  gates\n");
    for gate in gates {
        let (word, text) = match &gate.verdict {
            Verdict::Passed { reason } => ("passed", reason.clone()),
            Verdict::Overridden { reason } => ("overridden", reason.clone()),
            Verdict::Refused { reason } => ("refused", reason.message.clone()),
            Verdict::NotJudged { why } => ("not judged", why.clone()),
        };
        out.push_str(&format!("    {word:<10} {:<21} {text}\n", gate.gate));
    }
    out
}

/// An offline plan for people; `gates`: every gate's verdict, shown with a refusal.
pub fn plan_text(event: &Event, decision: &Decision, gates: &[GateVerdict]) -> String {
    short_digests(&match decision {
        Decision::Proceed(plan) => {
            let mut out = format!(
                "plan: {}\n  image {}\n",
                plan_headline(event, plan),
                plan.image_text()
            );
            for (i, step) in plan.steps().into_iter().enumerate() {
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
        Decision::Refuse(reason) => format!(
            "refused ({}): {}\n{}",
            reason.code,
            reason.message,
            gate_lines(gates)
        ),
    })
}
