//! At home in a GitHub Actions job (`GITHUB_ACTIONS=true`, and only then): the report appended
//! to `$GITHUB_STEP_SUMMARY` as Markdown, step outputs in `$GITHUB_OUTPUT` (`outcome`, `reason`,
//! `version`, `image`, `digest`, `exit_code`), refusals and failures as `::error` workflow
//! commands and warnings as `::warning`, the queue gate and the rollout inside `::group::`.
//!
//! Everything written into a workflow command is escaped by GitHub's rules (the toolkit's
//! `escapeData` / `escapeProperty`), and any other line neuro-deploy prints that would start
//! like a workflow command is made inert, so no text from outside (a tag name, a Kubernetes
//! error) can inject a command.

use std::io::Write;

use neuro_deploy_core::{ExitStatus, Outcome, ReasonCode, Report, StepStatus};

use super::text::{status_word, step_result};
use super::write_quietly;

/// Whether this process runs as a GitHub Actions step.
pub fn enabled() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// A workflow command's message: `%`, `\r` and `\n` escaped.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: like data, and `:` and `,` too.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// `text` with every line that would start like a workflow command (`::` or `##[`, after any
/// leading white space) broken up, so the runner reads it as text (only in Actions).
pub fn inert(text: &str) -> String {
    if !enabled() {
        return text.to_owned();
    }
    text.split_inclusive('\n')
        .map(|line| {
            let start = line.len() - line.trim_start().len();
            let rest = &line[start..];
            if rest.starts_with("::") || rest.starts_with("##[") {
                format!("{}{} {}", &line[..start], &rest[..1], &rest[1..])
            } else {
                line.to_owned()
            }
        })
        .collect()
}

fn command(line: &str) {
    write_quietly(&mut std::io::stderr().lock(), &format!("{line}\n"));
}

/// `::error title=TITLE::MESSAGE` on stderr.
pub fn error(title: &str, message: &str) {
    command(&format!(
        "::error title={}::{}",
        escape_property(title),
        escape_data(message)
    ));
}

/// `::warning::MESSAGE` on stderr.
pub fn warning(message: &str) {
    command(&format!("::warning::{}", escape_data(message)));
}

/// `::group::TITLE` on stderr: the lines until [`end_group`] fold under it.
pub fn group(title: &str) {
    command(&format!("::group::{}", escape_data(title)));
}

/// `::endgroup::` on stderr.
pub fn end_group() {
    command("::endgroup::");
}

/// The steps whose progress folds into a group.
pub fn grouped(kind: &str) -> bool {
    matches!(kind, "gate_queues_drained" | "await_rollout" | "verify")
}

/// `message` with one `caused by:` line per cause, as an annotation shows it.
fn with_causes(message: &str, causes: &[String]) -> String {
    causes.iter().fold(message.to_owned(), |text, cause| {
        format!("{text}\ncaused by: {cause}")
    })
}

/// What a run that ended before any report says to the job: an annotation and the outputs.
pub fn failure(reason: Option<ReasonCode>, message: &str, causes: &[String], status: ExitStatus) {
    let outcome = if reason.is_some() {
        "refused"
    } else {
        "failed"
    };
    let title = match reason {
        Some(code) => format!("neuro-deploy refused ({code})"),
        None => "neuro-deploy failed".to_owned(),
    };
    error(&title, &with_causes(message, causes));
    let reason = reason.map(|r| r.as_str().to_owned()).unwrap_or_default();
    let code = status.code().to_string();
    outputs(&[
        ("outcome", outcome),
        ("reason", &reason),
        ("version", ""),
        ("image", ""),
        ("digest", ""),
        ("exit_code", &code),
    ]);
}

/// What a finished run says to the job: annotations, the outputs and the summary.
pub fn report(report: &Report) {
    let outcome = report.outcome.as_str();
    if report.exit_code() != ExitStatus::Done {
        let title = match report.reason {
            Some(code) => format!("neuro-deploy {outcome} ({code})"),
            None => format!("neuro-deploy {outcome}"),
        };
        error(&title, &with_causes(&report.message, &report.causes));
    }
    for text in &report.warnings {
        warning(text);
    }
    let image = report.image.clone().unwrap_or_default();
    let digest = image
        .split_once('@')
        .map(|(_, digest)| digest.to_owned())
        .unwrap_or_default();
    let reason = report
        .reason
        .map(|r| r.as_str().to_owned())
        .unwrap_or_default();
    let code = report.exit_code().code().to_string();
    outputs(&[
        ("outcome", outcome),
        ("reason", &reason),
        ("version", report.version.as_deref().unwrap_or_default()),
        ("image", &image),
        ("digest", &digest),
        ("exit_code", &code),
    ]);
    append("GITHUB_STEP_SUMMARY", &summary(report));
}

/// Appends `name<<DELIMITER` / value / `DELIMITER` blocks to `$GITHUB_OUTPUT` (GitHub's syntax
/// for values that may hold a newline), with a delimiter no value contains.
fn outputs(values: &[(&str, &str)]) {
    let mut delimiter = String::from("NEURO_DEPLOY_EOF");
    while values.iter().any(|(_, value)| value.contains(&delimiter)) {
        delimiter.push('_');
    }
    let text: String = values
        .iter()
        .map(|(name, value)| format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"))
        .collect();
    append("GITHUB_OUTPUT", &text);
}

/// Appends `text` to the file the variable `name` names; a missing variable or a file that
/// cannot be written is a warning, never a failed run.
fn append(name: &str, text: &str) {
    let Some(path) = std::env::var_os(name).filter(|p| !p.is_empty()) else {
        return;
    };
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| file.write_all(text.as_bytes()));
    if let Err(error) = written {
        warning(&format!(
            "cannot append to {name} ({}): {error}",
            std::path::Path::new(&path).display()
        ));
    }
}

/// A table cell: no pipe or newline breaks the table.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('\r', "")
        .replace('\n', "<br>")
}

/// The report as the job summary's Markdown.
fn summary(report: &Report) -> String {
    let mark = match report.outcome {
        Outcome::Deployed | Outcome::ImageReady => "✅",
        Outcome::WouldDeploy | Outcome::Ignored | Outcome::Planned => "ℹ️",
        Outcome::Refused => "⛔",
        Outcome::RolledBack | Outcome::RollbackFailed | Outcome::Failed | Outcome::Interrupted => {
            "❌"
        }
    };
    let reason = report
        .reason
        .map(|r| format!(" (`{r}`)"))
        .unwrap_or_default();
    let mut out = format!(
        "### {mark} neuro-deploy: {}{reason}\n\n{}\n\n",
        report.outcome.as_str().replace('_', " "),
        cell(&report.message)
    );
    out.push_str("| | |\n|---|---|\n");
    let target = match (&report.environment, &report.namespace) {
        (Some(env), Some(ns)) => Some(format!("{env} (namespace `{ns}`)")),
        (None, Some(ns)) => Some(format!("namespace `{ns}`")),
        _ => None,
    };
    let rows = [
        ("environment", target),
        ("version", report.version.clone()),
        ("image", report.image.as_ref().map(|i| format!("`{i}`"))),
        ("previous", report.previous_version.clone()),
        ("exit code", Some(report.exit_code().code().to_string())),
    ];
    for (label, value) in rows {
        if let Some(value) = value {
            out.push_str(&format!("| {label} | {} |\n", cell(&value)));
        }
    }
    if let Some(recorded) = &report.recorded {
        let link = match (
            std::env::var("GITHUB_SERVER_URL"),
            std::env::var("GITHUB_REPOSITORY"),
        ) {
            (Ok(server), Ok(repository)) => {
                format!(
                    "[{} ({})]({server}/{repository}/deployments)",
                    recorded.id,
                    recorded.state.as_str()
                )
            }
            _ => format!("{} ({})", recorded.id, recorded.state.as_str()),
        };
        out.push_str(&format!("| GitHub Deployment | {link} |\n"));
    }
    if let Some(changes) = &report.changes {
        let mut lines = changes.lines().into_iter();
        let headline = lines.next().unwrap_or_default();
        out.push_str(&format!("\n**What changed**: {}\n", cell(&headline)));
        let listed: String = lines.map(|line| format!("- {}\n", cell(&line))).collect();
        if !listed.is_empty() {
            out.push_str(&format!("\n{listed}"));
        }
    }
    if !report.steps.is_empty() {
        out.push_str("\n| step | status | duration | detail |\n|---|---|---:|---|\n");
        for step in &report.steps {
            out.push_str(&format!(
                "| `{}` | {} | {} ms | {} |\n",
                step.kind,
                status_word(step.status),
                step.duration_ms,
                cell(step_result(step, &report.message))
            ));
        }
    }
    if !report.queues.is_empty() {
        out.push_str("\n**Queues** (the last look)\n\n| queue | region | visible | in flight | delayed |\n|---|---|---:|---:|---:|\n");
        for sample in &report.queues {
            match (&sample.depth, &sample.error) {
                (Some(depth), _) => out.push_str(&format!(
                    "| `{}` | {} | {} | {} | {} |\n",
                    sample.queue, sample.region, depth.visible, depth.in_flight, depth.delayed
                )),
                (None, error) => out.push_str(&format!(
                    "| `{}` | {} | unreadable: {} | | |\n",
                    sample.queue,
                    sample.region,
                    cell(error.as_deref().unwrap_or("no answer"))
                )),
            }
        }
    }
    if let Some(verify) = report.steps.iter().find(|s| s.kind == "verify")
        && verify.status != StepStatus::NotRun
    {
        out.push_str(&format!(
            "\n**Verification**: {} — {}\n",
            status_word(verify.status),
            cell(verify.detail.as_deref().unwrap_or(&verify.reason))
        ));
    }
    for text in &report.warnings {
        out.push_str(&format!("\n> ⚠️ {}\n", cell(text)));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::{escape_data, escape_property};

    #[test]
    fn messages_and_properties_are_escaped_by_githubs_rules() {
        assert_eq!(
            escape_data("50% done\r\n::error::x"),
            "50%25 done%0D%0A::error::x"
        );
        assert_eq!(
            escape_property("v1.4.0,title=x::y\n"),
            "v1.4.0%2Ctitle=x%3A%3Ay%0A"
        );
    }
}
