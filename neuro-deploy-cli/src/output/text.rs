//! Reports and plans for people: a headline with the outcome and reason code, the target,
//! the version and image, what was applied and restored, then one line per step.

use neuro_deploy_core::{Decision, Event, Outcome, Plan, Report, StepStatus};

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

/// The report for people.
pub fn report_text(report: &Report) -> String {
    let mut out = String::new();
    let reason = report.reason.map(|r| format!(" ({r})")).unwrap_or_default();
    out.push_str(&format!(
        "{}{reason}: {}\n",
        outcome_word(report.outcome),
        report.message
    ));
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
    for (label, changes) in [("applied", &report.applied), ("restored", &report.restored)] {
        if !changes.is_empty() {
            let listed: Vec<String> = changes
                .iter()
                .map(|c| format!("{}/{}={}", c.workload, c.container, c.image))
                .collect();
            out.push_str(&format!("  {label:<9} {}\n", listed.join(", ")));
        }
    }
    if let Some(recorded) = &report.recorded {
        out.push_str(&format!(
            "  recorded  GitHub Deployment {} ({})\n",
            recorded.id,
            recorded.state.as_str()
        ));
    }
    for warning in &report.warnings {
        out.push_str(&format!("  warning   {warning}\n"));
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
