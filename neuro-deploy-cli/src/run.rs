//! Carries out a parsed command: load config, build adapters, call the library, print.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use neuro_deploy_core::policy::{
    common_tag, confirmation_refusal, needs_confirmation, runs_completely,
};
use neuro_deploy_core::{
    AdapterError, Config, DeployTarget, Event, Executor, ExitCode as DeployExit, Outcome,
    QueueGateOverrides, ReasonCode, Report, RunContext, decide, hotfix,
};
use serde_json::json;

use crate::args::{Cli, Command, ConfigCommand, EventCommand, HotfixCommand, LockCommand};
use crate::output::{self, Printer, StderrProgress};
use crate::signals::Signals;
use crate::wiring;

/// Who is running, for the lock holder and the audit trail: `user@host`.
pub fn identity() -> String {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned());
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned());
    format!("{user}@{host}")
}

/// A run context with a fresh run id and the current time.
pub fn run_context(dry_run: bool) -> RunContext {
    let now = SystemTime::now();
    let nanos = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    RunContext {
        identity: identity(),
        run_id: format!("{:x}-{:x}", nanos % 0xffff_ffff_ffff, std::process::id()),
        started_at: humantime::format_rfc3339_seconds(now).to_string(),
        dry_run,
    }
}

fn exit(code: DeployExit) -> ExitCode {
    ExitCode::from(code.code())
}

/// Prints an error that happened before any plan and returns its exit code: a refusal
/// (`Some(code)`) exits with that code's status, anything else is an unexpected failure (1).
pub fn fail_early(
    printer: Printer,
    event: Option<&Event>,
    reason: Option<ReasonCode>,
    message: String,
) -> ExitCode {
    let exit_code = reason.map_or(DeployExit::Failed, ReasonCode::exit_code);
    let json = json!({
        "outcome": if reason.is_some() { "refused" } else { "failed" },
        "reason": reason,
        "message": message,
        "event": event,
        "steps": [],
        "exit_code": exit_code.code(),
    });
    let word = reason.map_or_else(|| "failed".to_owned(), |code| format!("refused ({code})"));
    printer.print(&json, &format!("{word}: {message}\n"));
    exit(exit_code)
}

/// Prints invalid input (exit 2, nothing contacted).
pub fn invalid_input(printer: Printer, event: Option<&Event>, message: String) -> ExitCode {
    fail_early(printer, event, Some(ReasonCode::InvalidInput), message)
}

/// Prints an adapter error: a refusal keeps its reason code and exit code, anything else is exit 1.
pub fn adapter_failure(printer: Printer, event: Option<&Event>, error: &AdapterError) -> ExitCode {
    fail_early(printer, event, error.reason_code(), error.to_string())
}

/// Runs the CLI.
pub async fn run(cli: Cli) -> ExitCode {
    output::init_logging(cli.common.verbose, cli.common.quiet);
    let printer = Printer {
        format: cli.common.output,
    };
    let overrides = QueueGateOverrides {
        window: cli.queue_window,
        timeout: cli.queue_timeout,
        poll: cli.queue_poll,
    };
    let (config, origin) = match wiring::load_config(cli.common.config.as_deref(), overrides) {
        Ok(loaded) => loaded,
        Err(error) => {
            return invalid_input(printer, None, error.to_string());
        }
    };
    match cli.command {
        Command::Config {
            action: ConfigCommand::Check,
        } => {
            let json = json!({ "outcome": "valid", "origin": origin, "environments": config.environments, "exit_code": 0 });
            let names: Vec<String> = config
                .environments
                .iter()
                .map(|e| format!("{} → {}", e.name, e.namespace))
                .collect();
            printer.print(
                &json,
                &format!("config OK ({origin}): environments {}\n", names.join(", ")),
            );
            ExitCode::SUCCESS
        }
        Command::Config {
            action: ConfigCommand::Show,
        } => {
            let json = serde_json::to_value(&config).unwrap_or_default();
            printer.print(
                &json,
                &format!("# effective configuration ({origin})\n{}", config.to_toml()),
            );
            ExitCode::SUCCESS
        }
        Command::Plan { event } => {
            let event = match offline_event(event, &config) {
                Ok(event) => event,
                Err(message) => {
                    return invalid_input(printer, None, message);
                }
            };
            let decision = decide(&event, &config, &neuro_deploy_core::Facts::unknown());
            printer.print(
                &output::plan_json(&event, &decision),
                &output::plan_text(&event, &decision),
            );
            let code = match &decision {
                neuro_deploy_core::Decision::Proceed(_) => DeployExit::Done,
                neuro_deploy_core::Decision::Ignore(r) | neuro_deploy_core::Decision::Refuse(r) => {
                    r.code.exit_code()
                }
            };
            exit(code)
        }
        Command::Event(event) => {
            run_event(
                printer,
                &config,
                event,
                cli.common.dry_run,
                cli.yes,
                cli.common.quiet,
            )
            .await
        }
        Command::Status { env } => status(printer, &config, env.as_deref()).await,
        Command::Queues => queues(printer, &config, cli.common.quiet).await,
        Command::Hotfix { action } => hotfix_command(printer, &config, action).await,
        Command::Lock { action } => lock_command(printer, &config, action, cli.yes).await,
    }
}

/// The event for commands whose arguments name it completely (no lookups).
fn offline_event(command: EventCommand, config: &Config) -> Result<Event, String> {
    Ok(match command {
        EventCommand::Merged(a) => Event::Merged {
            branch: a.branch.unwrap_or_else(|| config.main_branch.clone()),
            sha: a.sha,
        },
        EventCommand::Released(a) => Event::Released {
            tag: a.tag,
            sha: a.sha,
            target_branch: a.target,
            prerelease: a.prerelease,
            draft: a.draft,
        },
        EventCommand::Promote(a) => Event::Promote {
            version: a.version,
            to: a.to,
            allow_downgrade: a.allow_downgrade,
        },
        EventCommand::Deploy(a) => Event::Deploy {
            version: a.version,
            target: match (a.env, a.namespace) {
                (Some(env), _) => DeployTarget::Environment(env),
                (None, Some(ns)) => DeployTarget::Namespace(ns),
                (None, None) => return Err("deploy needs --env or --namespace".to_owned()),
            },
        },
        EventCommand::Rollback(a) => Event::Rollback {
            env: a.env,
            skip_queue_gate: a.skip_queue_gate.then(|| a.reason.unwrap_or_default()),
        },
    })
}

/// Fills a release event from GitHub when the caller left parts out (target branch, flags).
pub async fn complete_release(event: Event, config: &Config) -> Result<Event, AdapterError> {
    let tag = match &event {
        Event::Released {
            tag,
            sha,
            target_branch,
            ..
        } if target_branch.is_none() || sha.is_none() => tag.clone(),
        _ => return Ok(event),
    };
    let Some(releases) = wiring::releases(config)? else {
        return Ok(event);
    };
    let found = releases.release(&tag).await?.ok_or_else(|| AdapterError::Refused {
        code: ReasonCode::InvalidInput,
        message: format!("GitHub has no release for tag `{tag}`; publish it first, or pass --sha and --target"),
    })?;
    let mut event = event;
    if let Event::Released {
        target_branch,
        prerelease,
        draft,
        ..
    } = &mut event
    {
        target_branch.get_or_insert(found.target);
        *prerelease |= found.prerelease;
        *draft |= found.draft;
    }
    Ok(event)
}

/// Runs an event through the executor with the real adapters, asking for confirmation when
/// it changes production.
pub async fn run_event(
    printer: Printer,
    config: &Config,
    command: EventCommand,
    dry_run: bool,
    yes: bool,
    quiet: bool,
) -> ExitCode {
    let event = match offline_event(command, config) {
        Ok(event) => event,
        Err(message) => {
            return invalid_input(printer, None, message);
        }
    };
    let event = match complete_release(event.clone(), config).await {
        Ok(event) => event,
        Err(error) => return adapter_failure(printer, Some(&event), &error),
    };
    // Refusals that need no facts come first: nothing is contacted for them.
    if let Err(reason) = neuro_deploy_core::policy::target(&event, config) {
        let report = Report::from_reason(&event, dry_run, reason);
        printer.report(&report);
        return exit(report.exit_code());
    }
    let confirm = needs_confirmation(&event, config) && !yes && !dry_run;
    if confirm && !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        let reason = confirmation_refusal(&event);
        let report = Report::from_reason(&event, dry_run, reason);
        printer.report(&report);
        return exit(report.exit_code());
    }
    let signals = Signals::install(printer, &event);
    let adapters = match wiring::adapters(config).await {
        Ok(adapters) => adapters,
        Err(error) => return adapter_failure(printer, Some(&event), &error),
    };
    let executor = Executor::new(adapters, config.clone())
        .with_observer(Arc::new(StderrProgress { quiet }))
        .with_interrupt(signals.interrupt());
    if confirm {
        let preview = signals
            .during(executor.run(&event, &run_context(true)))
            .await;
        let _ = write!(
            std::io::stderr().lock(),
            "{}",
            output::report_text(&preview)
        );
        if preview.outcome != Outcome::WouldDeploy {
            printer.report(&preview);
            return exit(preview.exit_code());
        }
        if !confirm_on_terminal("Proceed with this change to production? [y/N] ") {
            let reason = confirmation_refusal(&event);
            let report = Report::without_plan(
                &event,
                false,
                Outcome::Refused,
                Some(reason.code),
                "not confirmed; nothing changed",
            );
            printer.report(&report);
            return exit(report.exit_code());
        }
    }
    let report = signals
        .during(executor.run(&event, &run_context(dry_run)))
        .await;
    printer.report(&report);
    exit(report.exit_code())
}

async fn status(printer: Printer, config: &Config, only: Option<&str>) -> ExitCode {
    let environments: Vec<_> = config
        .environments
        .iter()
        .filter(|e| only.is_none_or(|name| e.name == name))
        .collect();
    if environments.is_empty() {
        let known: Vec<&str> = config
            .environments
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        return invalid_input(
            printer,
            None,
            format!(
                "there is no environment `{}`; configured: {}",
                only.unwrap_or_default(),
                known.join(", ")
            ),
        );
    }
    let cluster = match wiring::cluster(config).await {
        Ok(cluster) => cluster,
        Err(error) => return adapter_failure(printer, None, &error),
    };
    let repository = match wiring::registry(config).await.repository_uri().await {
        Ok(uri) => uri,
        Err(error) => return adapter_failure(printer, None, &error),
    };
    let mut rows = Vec::new();
    let mut text = format!(
        "{:<12} {:<16} {:<12} {:<7} {:<10} {}\n",
        "ENVIRONMENT", "NAMESPACE", "VERSION", "READY", "ROLLOUT", "LAST DEPLOY"
    );
    for env in environments {
        let workloads = match cluster.workloads(&env.namespace).await {
            Ok(workloads) => workloads,
            Err(error) => return adapter_failure(printer, None, &error),
        };
        let version = common_tag(&workloads, &repository);
        let (available, desired) = workloads.iter().fold((0, 0), |(a, d), w| {
            (a + w.rollout.available, d + w.rollout.desired)
        });
        let complete =
            !workloads.is_empty() && workloads.iter().all(|w| w.rollout.state().is_complete());
        let rollout = if workloads.is_empty() {
            "none"
        } else if complete {
            "complete"
        } else {
            "progressing"
        };
        let verified = version
            .as_ref()
            .is_some_and(|v| runs_completely(&workloads, &repository, v));
        let last = workloads.iter().find_map(|w| {
            w.audit
                .deployed_at
                .clone()
                .map(|at| (at, w.audit.deployed_by.clone()))
        });
        rows.push(json!({
            "environment": env.name,
            "namespace": env.namespace,
            "version": version,
            "image": version.as_ref().map(|v| format!("{repository}:{v}")),
            "ready": format!("{available}/{desired}"),
            "rollout": rollout,
            "verified": verified,
            "workloads": workloads.len(),
            "deployed_at": last.as_ref().map(|l| l.0.clone()),
            "deployed_by": last.as_ref().and_then(|l| l.1.clone()),
        }));
        let last_text = last
            .map(|(at, by)| format!("{at} by {}", by.unwrap_or_default()))
            .unwrap_or_else(|| "-".to_owned());
        text.push_str(&format!(
            "{:<12} {:<16} {:<12} {:<7} {:<10} {last_text}\n",
            env.name,
            env.namespace,
            version.as_deref().unwrap_or("mixed/none"),
            format!("{available}/{desired}"),
            rollout
        ));
    }
    printer.print(&json!({ "environments": rows }), &text);
    ExitCode::SUCCESS
}

async fn queues(printer: Printer, config: &Config, quiet: bool) -> ExitCode {
    let inspector = wiring::queues(config).await;
    let samples = neuro_deploy_core::sample_queues(
        inspector.as_ref(),
        &StderrProgress { quiet },
        &config.queues.names,
        &config.queues.regions,
    )
    .await;
    let drained = samples.iter().all(|s| s.is_drained());
    let mut text = format!(
        "{:<44} {:<10} {:>8} {:>10} {:>8}\n",
        "QUEUE", "REGION", "VISIBLE", "IN FLIGHT", "DELAYED"
    );
    for s in &samples {
        match (&s.depth, &s.error) {
            (Some(d), _) => text.push_str(&format!(
                "{:<44} {:<10} {:>8} {:>10} {:>8}\n",
                s.queue, s.region, d.visible, d.in_flight, d.delayed
            )),
            (None, e) => text.push_str(&format!(
                "{:<44} {:<10} unreadable: {}\n",
                s.queue,
                s.region,
                e.as_deref().unwrap_or("")
            )),
        }
    }
    text.push_str(if drained {
        "drained in every region\n"
    } else {
        "NOT drained\n"
    });
    printer.print(
        &json!({ "drained": drained, "queues": samples, "exit_code": if drained { 0 } else { 3 } }),
        &text,
    );
    if drained {
        ExitCode::SUCCESS
    } else {
        exit(DeployExit::Refused)
    }
}

async fn hotfix_command(printer: Printer, config: &Config, action: HotfixCommand) -> ExitCode {
    let source = match wiring::required_releases(config) {
        Ok(source) => source,
        Err(error) => return adapter_failure(printer, None, &error),
    };
    match action {
        HotfixCommand::Start => match hotfix::start(source.as_ref(), config).await {
            Ok(started) => {
                let verb = if started.created {
                    "created"
                } else {
                    "already exists at"
                };
                printer.print(
                    &json!({ "outcome": "done", "hotfix": started, "exit_code": 0 }),
                    &format!(
                        "hotfix branch `{}` {verb} {} (release {}); merge the fix into it, then `neuro-deploy hotfix release {}`\n",
                        started.branch,
                        started.sha,
                        started.base,
                        started.branch.trim_start_matches(&config.hotfix_prefix)
                    ),
                );
                ExitCode::SUCCESS
            }
            Err(error) => adapter_failure(printer, None, &error),
        },
        HotfixCommand::Release { tag } => {
            match hotfix::release(source.as_ref(), config, &tag).await {
                Ok(release) => {
                    printer.print(
                    &json!({ "outcome": "done", "release": release, "exit_code": 0 }),
                    &format!(
                        "release `{}` created targeting `{}`; its `released` event deploys it to staging\n",
                        release.tag, release.target
                    ),
                );
                    ExitCode::SUCCESS
                }
                Err(error) => adapter_failure(printer, None, &error),
            }
        }
    }
}

/// The namespace of a configured environment, or the invalid-input exit naming the known ones.
fn environment_namespace(config: &Config, name: &str) -> Result<String, String> {
    config
        .environment(name)
        .map(|e| e.namespace.clone())
        .ok_or_else(|| {
            let known: Vec<&str> = config
                .environments
                .iter()
                .map(|e| e.name.as_str())
                .collect();
            format!(
                "there is no environment `{name}`; configured: {}",
                known.join(", ")
            )
        })
}

/// `lock status` and `lock break`.
async fn lock_command(
    printer: Printer,
    config: &Config,
    action: LockCommand,
    yes: bool,
) -> ExitCode {
    let env = match &action {
        LockCommand::Status { env } | LockCommand::Break { env, .. } => env.clone(),
    };
    let namespace = match environment_namespace(config, &env) {
        Ok(namespace) => namespace,
        Err(message) => return invalid_input(printer, None, message),
    };
    if let LockCommand::Break { reason, force, .. } = &action {
        if reason.trim().is_empty() {
            return invalid_input(
                printer,
                None,
                "`lock break` needs a reason: pass `--reason TEXT` (it is recorded on the Lease)"
                    .to_owned(),
            );
        }
        if *force
            && !yes
            && !confirm_on_terminal(&format!(
                "Break the lock of `{env}` (namespace `{namespace}`) even if its holder is alive? Two deploys may then run at once. [y/N] "
            ))
        {
            return fail_early(
                printer,
                None,
                Some(ReasonCode::ConfirmationRequired),
                "`lock break --force` needs confirmation: pass `--yes`, or run it on a terminal and answer y".to_owned(),
            );
        }
    }
    let cluster = match wiring::kube_cluster(config).await {
        Ok(cluster) => cluster,
        Err(error) => return adapter_failure(printer, None, &error),
    };
    match action {
        LockCommand::Status { .. } => match cluster.lock_status(&namespace).await {
            Ok(info) => {
                let text = lock_status_text(&env, &namespace, info.as_ref());
                printer.print(
                    &json!({ "environment": env, "namespace": namespace, "held": info.as_ref().is_some_and(|i| i.holder.is_some()), "lease": info, "exit_code": 0 }),
                    &text,
                );
                ExitCode::SUCCESS
            }
            Err(error) => adapter_failure(printer, None, &error),
        },
        LockCommand::Break { reason, force, .. } => {
            let who = identity();
            let record = format!(
                "{who} at {}{}: {reason}",
                humantime::format_rfc3339_seconds(SystemTime::now()),
                if force { " (forced)" } else { "" }
            );
            if !force {
                output::note(&format!(
                    "watching the lock of `{env}` for its whole duration before breaking it (it is kept if its holder renews it)"
                ));
            }
            match cluster.break_lock(&namespace, &record, force).await {
                Ok(result) => {
                    use neuro_deploy_kube::BreakResult;
                    let (outcome, text, code) = match &result {
                        BreakResult::NotHeld => (
                            "not_held",
                            format!("the lock of `{env}` is not held; nothing to break\n"),
                            DeployExit::Done,
                        ),
                        BreakResult::Broken { holder } => {
                            tracing::warn!(%namespace, %holder, by = %who, %reason, forced = force, "lock broken");
                            (
                                "broken",
                                format!(
                                    "broke the lock of `{env}` held by {holder}; recorded on the Lease: {record}\n"
                                ),
                                DeployExit::Done,
                            )
                        }
                        BreakResult::Alive { holder } => (
                            "refused",
                            format!(
                                "refused (lock_held): {holder} renewed the lock while it was watched, so it is alive and was left alone; wait for it, or pass `--force` if it is truly stuck\n"
                            ),
                            DeployExit::LockHeld,
                        ),
                    };
                    printer.print(
                        &json!({
                            "outcome": outcome,
                            "reason": matches!(result, BreakResult::Alive { .. }).then_some(ReasonCode::LockHeld),
                            "environment": env,
                            "namespace": namespace,
                            "result": result,
                            "recorded": record,
                            "exit_code": code.code(),
                        }),
                        &text,
                    );
                    exit(code)
                }
                Err(error) => adapter_failure(printer, None, &error),
            }
        }
    }
}

/// `lock status` for people.
fn lock_status_text(
    env: &str,
    namespace: &str,
    info: Option<&neuro_deploy_kube::LeaseInfo>,
) -> String {
    let Some(info) = info else {
        return format!("lock of `{env}` (namespace `{namespace}`): free (no Lease yet)\n");
    };
    let mut text = match &info.holder {
        Some(holder) => format!(
            "lock of `{env}` (namespace `{namespace}`): held by {holder}\n  since     {}\n  renewed   {}{}\n  lease     {}s, {} transition(s)\n",
            info.acquired_at.as_deref().unwrap_or("-"),
            info.renewed_at.as_deref().unwrap_or("-"),
            if info.looks_expired {
                " (looks old: it is taken over once it stays unrenewed for its whole duration)"
            } else {
                ""
            },
            info.lease_seconds.unwrap_or(0),
            info.transitions
        ),
        None => format!("lock of `{env}` (namespace `{namespace}`): free\n"),
    };
    if let Some(broken) = &info.broken_by {
        text.push_str(&format!("  last broken by {broken}\n"));
    }
    text
}

/// Asks `question` on a terminal; false when stdin or stderr is not one, or the answer is not yes.
fn confirm_on_terminal(question: &str) -> bool {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return false;
    }
    let _ = write!(std::io::stderr().lock(), "{question}");
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes")
}
