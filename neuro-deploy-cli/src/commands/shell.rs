//! `neuro-deploy completion SHELL` and `neuro-deploy man`: generated from the same clap
//! definitions the binary parses with, so they never drift from it. The man page is one page:
//! every command is described in it (it refers to no other page), with the environment, the exit
//! statuses and examples.

use std::io::Write;

use neuro_deploy_core::{ExitStatus, ReasonCode};

use crate::output::write_quietly;

/// Prints the completion script for `shell` on stdout (rendered first: a closed pipe, as in
/// `| head`, ends the output quietly instead of failing inside the generator).
pub fn completion(shell: clap_complete::Shell) -> ExitStatus {
    let mut command = crate::args::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "neuro-deploy", &mut script);
    write_quietly(
        &mut std::io::stdout().lock(),
        &String::from_utf8_lossy(&script),
    );
    ExitStatus::Done
}

/// Every variable `neuro-deploy` reads, and what for.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "NEURO_DEPLOY_CONFIG",
        "the configuration file (as --config)",
    ),
    ("NEURO_DEPLOY_OUTPUT", "text or json (as --output)"),
    (
        "NEURO_DEPLOY_QUEUE_WINDOW, NEURO_DEPLOY_QUEUE_TIMEOUT, NEURO_DEPLOY_QUEUE_POLL",
        "the queue gate's knobs (as the flags)",
    ),
    (
        "NEURO_DEPLOY_WEBHOOK_URL",
        "where notifications are posted (a secret: never printed)",
    ),
    (
        "KUBECONFIG",
        "the kubeconfig (default ~/.kube/config, else in-cluster)",
    ),
    (
        "AWS_REGION, AWS_DEFAULT_REGION",
        "the ECR region when `registry.region` is not set",
    ),
    (
        "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN",
        "AWS credentials, through the default provider chain",
    ),
    (
        "AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_ECR",
        "AWS endpoints other than the default",
    ),
    (
        "AWS_EC2_METADATA_DISABLED",
        "true: never ask the instance-metadata service",
    ),
    ("GITHUB_TOKEN", "the GitHub token (a secret: never printed)"),
    (
        "GITHUB_API_URL",
        "the GitHub API (GitHub Enterprise: https://HOST/api/v3)",
    ),
    (
        "CF_API_KEY, CF_URL",
        "the Codefresh API, for `[builder] kind = \"codefresh\"`",
    ),
    (
        "CF_BUILD_URL, CF_BUILD_INITIATOR",
        "the Codefresh build and who started it (recorded with a deploy)",
    ),
    (
        "GITHUB_ACTOR, GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID",
        "the GitHub Actions run and who started it (recorded with a deploy)",
    ),
    (
        "USER, LOGNAME, USERNAME, HOSTNAME",
        "who runs, for the lock and the audit trail",
    ),
    (
        "NEURO_DEPLOY_PROMETHEUS_TOKEN, NEURO_DEPLOY_ALERTMANAGER_TOKEN, NEURO_DEPLOY_PUSHGATEWAY_TOKEN",
        "bearer tokens for the monitoring stack, when it needs them (secrets: never printed)",
    ),
    (
        "NEURO_DEPLOY_KUBECONFIG",
        "read by the example pipelines only: the kubeconfig they write to a private file for KUBECONFIG",
    ),
    ("RUST_LOG", "log filter on stderr (overrides -v and -q)"),
    ("NO_COLOR", "set: no colour on stderr"),
];

const EXAMPLES: &[(&str, &str)] = &[
    (
        "neuro-deploy demo",
        "the whole release process on a simulated world",
    ),
    (
        "neuro-deploy released --tag v1.4.0",
        "CI: a release deploys to staging, retagging the commit's image",
    ),
    (
        "neuro-deploy promote v1.4.0 --dry-run",
        "every gate's verdict now; nothing written",
    ),
    (
        "neuro-deploy promote v1.4.0",
        "show the plan, ask, promote to production",
    ),
    (
        "neuro-deploy rollback --env production",
        "back to the image that ran before",
    ),
    ("neuro-deploy status -o json", "what runs where, as JSON"),
    (
        "until neuro-deploy queues; [ $? -ne 3 ]; do sleep 60; done",
        "wait while the queues are busy (exit 3); stops when they are drained (exit 0) or one could not be read (exit 1: check the last output)",
    ),
];

/// roff text: backslashes and hyphens escaped, no line starting with a control character.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    match escaped.chars().next() {
        Some('.' | '\'') => format!("\\&{escaped}"),
        _ => escaped,
    }
}

/// How an option is written with its value (`--config <CONFIG>`), or an argument (`<VERSION>`).
fn option_usage(arg: &clap::Arg) -> String {
    let value = arg.get_action().takes_values().then(|| {
        arg.get_value_names()
            .and_then(|names| names.first())
            .map_or_else(
                || arg.get_id().to_string().to_uppercase(),
                ToString::to_string,
            )
    });
    let name = match (arg.get_long(), arg.get_short()) {
        (Some(long), _) => format!("--{long}"),
        (None, Some(short)) => format!("-{short}"),
        (None, None) => return format!("<{}>", arg.get_id().to_string().to_uppercase()),
    };
    match value {
        Some(value) => format!("{name} <{value}>"),
        None => name,
    }
}

/// The synopsis, every option with its value's name (clap_mangen's leaves the names out).
fn synopsis_section(command: &clap::Command, out: &mut Vec<u8>) -> std::io::Result<()> {
    let options: Vec<String> = command
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !matches!(a.get_id().as_str(), "help" | "version"))
        .map(|a| format!("[{}]", option_usage(a)))
        .collect();
    writeln!(out, ".SH SYNOPSIS")?;
    writeln!(
        out,
        "\\fBneuro\\-deploy\\fR {} \\fICOMMAND\\fR [\\fICOMMAND OPTIONS\\fR] [\\fIARGUMENTS\\fR]",
        roff(&options.join(" "))
    )?;
    writeln!(
        out,
        ".PP\nEach command's own options and arguments are listed under COMMANDS; `{}` shows them too.",
        roff("neuro-deploy COMMAND --help")
    )
}

/// The commands, each with its usage and description (nested ones by their full name).
fn commands_section(command: &clap::Command, out: &mut Vec<u8>) -> std::io::Result<()> {
    writeln!(out, ".SH COMMANDS")?;
    let mut stack: Vec<(String, &clap::Command)> = command
        .get_subcommands()
        .map(|sc| (sc.get_name().to_owned(), sc))
        .collect();
    stack.reverse();
    while let Some((name, sc)) = stack.pop() {
        if sc.is_hide_set() || name.ends_with("help") {
            continue;
        }
        if sc.has_subcommands() {
            let mut nested: Vec<_> = sc
                .get_subcommands()
                .map(|inner| (format!("{name} {}", inner.get_name()), inner))
                .collect();
            nested.reverse();
            stack.extend(nested);
            continue;
        }
        let mut usage_command = sc.clone().bin_name(format!("neuro-deploy {name}"));
        let usage = usage_command.render_usage().to_string();
        let usage = usage.trim_start_matches("Usage: ").trim();
        writeln!(out, ".TP\n\\fB{}\\fR", roff(usage))?;
        let about = sc
            .get_long_about()
            .or(sc.get_about())
            .map(ToString::to_string)
            .unwrap_or_default();
        writeln!(out, "{}", roff(&about.replace("\n\n", " ")))?;
        // Its own options and arguments (the global ones are under OPTIONS).
        for arg in sc
            .get_arguments()
            .filter(|a| !a.is_global_set() && !a.is_hide_set() && a.get_id() != "help")
        {
            let name = option_usage(arg);
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            writeln!(out, ".RS\n.TP\n{}\n{}\n.RE", roff(&name), roff(&help))?;
        }
    }
    Ok(())
}

fn table_section(
    out: &mut Vec<u8>,
    title: &str,
    rows: impl Iterator<Item = (String, String)>,
) -> std::io::Result<()> {
    writeln!(out, ".SH {title}")?;
    for (term, text) in rows {
        writeln!(out, ".TP\n\\fB{}\\fR\n{}", roff(&term), roff(&text))?;
    }
    Ok(())
}

fn render_man(out: &mut Vec<u8>) -> std::io::Result<()> {
    let command = crate::args::command();
    let page = clap_mangen::Man::new(command.clone());
    page.render_title(out)?;
    page.render_name_section(out)?;
    synopsis_section(&command, out)?;
    page.render_description_section(out)?;
    page.render_options_section(out)?;
    commands_section(&command, out)?;
    table_section(
        out,
        "ENVIRONMENT",
        ENVIRONMENT
            .iter()
            .map(|(names, what)| ((*names).to_owned(), (*what).to_owned())),
    )?;
    table_section(
        out,
        "EXIT STATUS",
        ExitStatus::ALL.iter().map(|status| {
            let reasons: Vec<&str> = ReasonCode::ALL
                .iter()
                .filter(|code| code.exit_code() == *status)
                .map(|code| code.as_str())
                .collect();
            let text = if reasons.is_empty() {
                status.meaning().to_owned()
            } else {
                format!("{} (reasons: {})", status.meaning(), reasons.join(", "))
            };
            (status.code().to_string(), text)
        }),
    )?;
    table_section(
        out,
        "EXAMPLES",
        EXAMPLES
            .iter()
            .map(|(line, what)| ((*line).to_owned(), (*what).to_owned())),
    )?;
    page.render_version_section(out)
}

/// Prints the man page (roff) on stdout.
pub fn man() -> ExitStatus {
    let mut out = Vec::new();
    match render_man(&mut out) {
        Ok(()) => {
            write_quietly(
                &mut std::io::stdout().lock(),
                &String::from_utf8_lossy(&out),
            );
            ExitStatus::Done
        }
        Err(error) => {
            crate::output::note(&format!("cannot render the man page: {error}"));
            ExitStatus::Failed
        }
    }
}
