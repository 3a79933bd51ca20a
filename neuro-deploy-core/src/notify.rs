//! Notifications: which finished runs tell people (a pure rule over the report and `[notify]`),
//! the message (a Slack incoming-webhook message or the run's JSON report), and sending it
//! through a [`Notifier`] without ever changing the run's outcome. A change of a guardrail
//! (a freeze, an unfreeze, an approval, a cleared quarantine) notifies too, always: it changes
//! what every later run may do.

use std::time::Duration;

use serde_json::{Value, json};

use crate::config::{Config, NotifyFormat, NotifyOn};
use crate::error::{ExitStatus, ReasonCode};
use crate::executor::{Outcome, Report};
use crate::traits::Notifier;

/// How long sending one notification may take, retries included.
pub const NOTIFY_BOUND: Duration = Duration::from_secs(30);

/// Refusals of what someone typed rather than of the deploy: nothing was attempted, so nobody
/// is told.
const INPUT_REFUSALS: [ReasonCode; 4] = [
    ReasonCode::InvalidInput,
    ReasonCode::NotARelease,
    ReasonCode::ProductionRequiresPromotion,
    ReasonCode::ConfirmationRequired,
];

/// The notification outcome of a finished run; `None` for runs that never notify: dry runs,
/// ignored events, plans, an image only prepared, and refused input (a bad argument, a version
/// that is not a release, production outside `promote`, no confirmation) that changed nothing.
pub fn notify_on(report: &Report) -> Option<NotifyOn> {
    if report.dry_run {
        return None;
    }
    match report.outcome {
        Outcome::Deployed => Some(NotifyOn::Deployed),
        Outcome::Refused if report.reason.is_some_and(|r| INPUT_REFUSALS.contains(&r)) => None,
        Outcome::Refused if report.exit_code() == ExitStatus::LockHeld => Some(NotifyOn::LockHeld),
        Outcome::Refused => Some(NotifyOn::Refused),
        Outcome::RolledBack => Some(NotifyOn::RolledBack),
        Outcome::RollbackFailed => Some(NotifyOn::RollbackFailed),
        Outcome::Interrupted => Some(NotifyOn::Interrupted),
        Outcome::Failed => Some(NotifyOn::Failed),
        Outcome::WouldDeploy | Outcome::Ignored | Outcome::ImageReady | Outcome::Planned => None,
    }
}

/// Whether `report` notifies: its outcome is in `notify.on`, or by default every outcome for a
/// promotion-only environment (production) and all but `deployed` elsewhere.
pub fn should_notify(config: &Config, report: &Report) -> bool {
    let Some(on) = notify_on(report) else {
        return false;
    };
    match &config.notify.on {
        Some(outcomes) => outcomes.contains(&on),
        None => {
            let production = report
                .environment
                .as_deref()
                .and_then(|name| config.environment(name))
                .is_some_and(|env| env.is_promotion_target());
            production || on != NotifyOn::Deployed
        }
    }
}

/// The message for `report`, run by `who`, in the configured format.
pub fn message(config: &Config, report: &Report, who: &str) -> Value {
    match config.notify.format {
        NotifyFormat::Json => json!({
            "who": who,
            "exit_code": report.exit_code().code(),
            "report": report,
        }),
        NotifyFormat::Slack => slack_message(config, report, who),
    }
}

/// A Slack incoming-webhook message: a one-line `text` (what notifications show) and blocks
/// with the environment, version, previous version, who, outcome and reason.
pub fn slack_message(config: &Config, report: &Report, who: &str) -> Value {
    let (mark, word) = match report.outcome {
        Outcome::Deployed => (":white_check_mark:", "deployed"),
        Outcome::Refused => (":no_entry:", "refused"),
        Outcome::RolledBack => (":rewind:", "rolled back"),
        Outcome::RollbackFailed => (":rotating_light:", "ROLLBACK FAILED"),
        Outcome::Interrupted => (":octagonal_sign:", "interrupted"),
        Outcome::Failed => (":x:", "failed"),
        _ => (":information_source:", "finished"),
    };
    let app = &config.app.name;
    let version = report.version.as_deref().unwrap_or("?");
    let place = match (&report.environment, &report.namespace) {
        (Some(env), _) => env.clone(),
        (None, Some(ns)) => format!("namespace {ns}"),
        (None, None) => "?".to_owned(),
    };
    let text = format!("{mark} {app} {version} → {place}: {word}");
    let mut details = vec![format!("*by* {who}")];
    if let Some(previous) = &report.previous_version {
        details.push(format!("*previous* {previous}"));
    }
    if let Some(reason) = report.reason {
        details.push(format!("*reason* `{reason}`"));
    }
    if let Some(overridden) = report.notes.overridden() {
        details.push(format!("*override* {overridden}"));
    }
    if let Some(approvers) = report.notes.approvers() {
        details.push(format!("*approved by* {approvers}"));
    }
    let mut blocks = vec![
        json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!("*{text}*\n{}", slack_escape(&report.message)) } }),
        json!({ "type": "context", "elements": [ { "type": "mrkdwn", "text": details.join(" · ") } ] }),
    ];
    if let Some(changes) = &report.changes {
        let mut lines = changes.lines().into_iter().map(|line| slack_escape(&line));
        let headline = lines.next().unwrap_or_default();
        let listed: Vec<String> = lines.map(|line| format!("• {line}")).collect();
        blocks.push(json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!("*What changed* {headline}\n{}", listed.join("\n")) } }));
    }
    json!({ "text": text, "blocks": blocks })
}

/// Text made literal for Slack's mrkdwn: `&`, `<` and `>` escaped, as Slack asks (a commit
/// title such as `Fix <script> handling` must not become a link or a mention).
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Sends the notification `report` calls for, bounded by [`NOTIFY_BOUND`]; a failure is a
/// warning in the report, never a different outcome.
pub async fn send(notifier: &dyn Notifier, config: &Config, report: &mut Report, who: &str) {
    if !should_notify(config, report) {
        return;
    }
    let body = message(config, report, who);
    if let Err(why) = crate::bounded::within(NOTIFY_BOUND, notifier.notify(&body)).await {
        report.warnings.push(unsent(&why));
    }
}

/// A guardrail someone changed on the record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GuardrailChange {
    /// What happened: `frozen`, `unfrozen`, `approved`, `quarantine_cleared`.
    pub change: &'static str,
    /// The environment.
    pub environment: String,
    /// A sentence for people (who, why, until when).
    pub message: String,
}

/// The message for a guardrail change by `who`, in the configured format.
pub fn guardrail_message(config: &Config, change: &GuardrailChange, who: &str) -> Value {
    match config.notify.format {
        NotifyFormat::Json => json!({ "who": who, "guardrail": change }),
        NotifyFormat::Slack => {
            let mark = match change.change {
                "frozen" => ":ice_cube:",
                "unfrozen" => ":sunny:",
                "approved" => ":ballot_box_with_check:",
                _ => ":information_source:",
            };
            let text = format!(
                "{mark} {} {}: {}",
                config.app.name,
                change.environment,
                change.change.replace('_', " ")
            );
            json!({
                "text": text,
                "blocks": [
                    { "type": "section", "text": { "type": "mrkdwn", "text": format!("*{text}*\n{}", change.message) } },
                    { "type": "context", "elements": [ { "type": "mrkdwn", "text": format!("*by* {who}") } ] },
                ],
            })
        }
    }
}

/// Sends a guardrail change, bounded by [`NOTIFY_BOUND`]; the error is the warning to show.
pub async fn send_guardrail(
    notifier: &dyn Notifier,
    config: &Config,
    change: &GuardrailChange,
    who: &str,
) -> Result<(), String> {
    let body = guardrail_message(config, change, who);
    crate::bounded::within(NOTIFY_BOUND, notifier.notify(&body))
        .await
        .map_err(|why| unsent(&why))
}

/// The report's warning for a notification that could not be sent, and why.
pub fn unsent(why: &str) -> String {
    format!("the notification could not be sent ({why}); the run's outcome is unaffected")
}
