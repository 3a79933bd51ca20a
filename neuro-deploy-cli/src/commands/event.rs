//! Events (`merged`, `released`, `promote`, `deploy`, `rollback`, and the Codefresh steps): one
//! [`execute`] for both binaries — refusals that need no facts first, confirmation for
//! production, signals routed to the executor, the report printed.

use std::sync::Arc;

use neuro_deploy_core::config::format_duration;
use neuro_deploy_core::policy::Overrides;
use neuro_deploy_core::{
    AdapterError, Config, DeployTarget, Event, Executor, ExitStatus, Intent, Outcome,
    PreviewVerdict, ReasonCode, Report, Stopped,
};

use super::{Context, Failure, confirm_on_terminal};
use crate::args::EventCommand;
use crate::identity::run_options;
use crate::output::{StderrProgress, note, text};
use crate::signals::Signals;
use crate::wiring;

/// How an event runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Gather facts and evaluate every gate, write nothing.
    pub dry_run: bool,
    /// Production changes are confirmed already (`--yes`, or a pipeline an operator started).
    pub yes: bool,
    /// Stop once the image exists (the Codefresh trigger step with `--no-deploy`).
    pub image_only: bool,
    /// The operator's reasons to let the run through closed gates, by flag.
    pub overrides: Overrides,
}

/// The operator's reasons to let the run through closed gates (`--override-window --reason`
/// …), by flag.
pub fn overrides(command: &EventCommand) -> Overrides {
    match command {
        EventCommand::Merged(a) => a.overrides.overrides.clone(),
        EventCommand::Released(a) => a.overrides.overrides.clone(),
        EventCommand::Promote(a) => a.overrides.overrides.clone(),
        EventCommand::Deploy(a) => a.overrides.overrides.clone(),
        EventCommand::Rollback(_) => Overrides::new(),
    }
}

/// The event a command's arguments name completely (no look-ups).
pub fn from_command(command: EventCommand, config: &Config) -> Result<Event, Failure> {
    Ok(match command {
        EventCommand::Merged(a) => Event::Merged {
            branch: a.branch.unwrap_or_else(|| config.git.main_branch.clone()),
            sha: a.sha,
        },
        EventCommand::Released(a) => Event::Released {
            tag: a.tag,
            sha: a.sha,
            target_branch: a.target.map(Into::into),
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
                (None, None) => return Err(Failure::invalid("deploy needs --env or --namespace")),
            },
        },
        EventCommand::Rollback(a) => Event::Rollback {
            env: a.env,
            skip_queue_gate: a.skip_queue_gate.then(|| a.reason.unwrap_or_default()),
        },
    })
}

/// Fills a release event from GitHub when the caller left parts out (target branch, flags).
pub async fn complete_release(
    event: Event,
    backend: &wiring::Backend,
    config: &Config,
) -> Result<Event, Stopped> {
    let tag = match &event {
        Event::Released {
            tag,
            sha,
            target_branch,
            ..
        } if target_branch.is_none() || sha.is_none() => tag.clone(),
        _ => return Ok(event),
    };
    let Some(releases) = wiring::releases(backend, config)? else {
        return Ok(event);
    };
    let found = releases.release(&tag).await?.ok_or_else(|| {
        Stopped::refused(
            ReasonCode::InvalidInput,
            format!(
                "GitHub has no release for tag `{tag}`; publish it first, or pass --sha and --target"
            ),
        )
    })?;
    let mut event = event;
    if let Event::Released {
        target_branch,
        prerelease,
        draft,
        ..
    } = &mut event
    {
        target_branch.get_or_insert(found.target.into());
        *prerelease |= found.prerelease;
        *draft |= found.draft;
    }
    Ok(event)
}

/// Runs an event and prints its report; the exit status is the report's.
pub async fn execute(
    context: &Context,
    event: Event,
    options: Options,
) -> Result<ExitStatus, Failure> {
    let report = run(context, event, options).await?;
    Ok(context.printer.report(&report))
}

/// Runs an event command with `options` (its overrides read from the command).
pub async fn run_command(
    context: &Context,
    command: EventCommand,
    mut options: Options,
) -> Result<ExitStatus, Failure> {
    options.overrides = overrides(&command);
    let event = from_command(command, &context.config)?;
    execute(context, event, options).await
}

/// Runs an event through the executor with the real adapters, asking for confirmation when it
/// changes production (unless `options.yes`), notifies when `[notify]` says so, and returns
/// the report (not printed).
pub async fn run(context: &Context, event: Event, options: Options) -> Result<Report, Failure> {
    let mut report = run_unnotified(context, event, options).await?;
    match wiring::notifier(&context.backend) {
        Ok(Some(notifier)) => {
            let who = crate::identity::identity();
            neuro_deploy_core::notify::send(notifier.as_ref(), &context.config, &mut report, &who)
                .await;
        }
        Ok(None) => {}
        Err(error) => report
            .warnings
            .push(neuro_deploy_core::notify::unsent(&error.to_string())),
    }
    Ok(report)
}

async fn run_unnotified(
    context: &Context,
    event: Event,
    options: Options,
) -> Result<Report, Failure> {
    let (printer, config) = (context.printer, &context.config);
    let event = complete_release(event.clone(), &context.backend, config)
        .await
        .map_err(|error| Failure::from(error).about(&event))?;
    // Where the run goes and whether it must be confirmed, from config alone; refusals that
    // need no facts come first: nothing is contacted for them.
    let intent = match Intent::of(&event, config) {
        Ok(intent) => intent,
        Err(reason) => return Ok(Report::from_reason(&event, options.dry_run, reason)),
    };
    let confirmation = intent
        .confirmation
        .clone()
        .filter(|_| !options.yes && !options.dry_run);
    if let Some(reason) = confirmation.clone().filter(|_| !super::on_terminal()) {
        return Ok(Report::from_reason(&event, options.dry_run, reason));
    }
    let signals = Signals::install(printer, &event);
    let progress = crate::output::progress::rollout_progress(context.quiet);
    let adapters = wiring::adapters(
        &context.backend,
        config,
        &context.cluster,
        &intent.environments(),
        progress,
    )
    .await
    .map_err(|error| Failure::from(error).about(&event))?;
    let observer = Arc::new(StderrProgress {
        quiet: context.quiet,
    });
    if let Some(refusal) = confirmation {
        let preview = Executor::new(adapters.clone(), config.clone())
            .with_observer(observer.clone())
            .with_interrupt(signals.interrupt());
        let preview = signals
            .during(preview.preview(&event, &run_options(true)))
            .await;
        // A run that would not deploy is reported once, as it is; nobody is asked.
        if !preview.verdict.worth_confirming() {
            return Ok(preview.report);
        }
        note(&format!(
            "preview:\n{}",
            text::report_text(&preview.report, false)
        ));
        if let PreviewVerdict::WaitsForQueues { timeout, window } = preview.verdict {
            note(&format!(
                "the queues are busy now; after confirmation the run waits up to {} for them to drain and stay drained for {}",
                format_duration(timeout),
                format_duration(window)
            ));
        }
        if !confirm_on_terminal("Proceed with this change to production? [y/N] ") {
            return Ok(Report::without_plan(
                &event,
                false,
                Outcome::Refused,
                Some(refusal.code),
                "not confirmed; nothing changed",
            ));
        }
    }
    let mut executor = Executor::new(adapters, config.clone())
        .with_observer(observer)
        .with_interrupt(signals.interrupt());
    let unavailable = |error: AdapterError| Failure::from(error).about(&event);
    executor = wiring::verification(executor, config).map_err(unavailable)?;
    if let Some(sink) = wiring::metrics(&context.backend, config).map_err(unavailable)? {
        executor = executor.with_metrics(sink);
    }
    if let Some(recorder) = wiring::recorder(&context.backend, config).map_err(unavailable)? {
        executor = executor.with_recorder(recorder);
    }
    let mut ctx = run_options(options.dry_run);
    ctx.overrides = options.overrides.clone();
    Ok(if options.image_only {
        signals.during(executor.prepare_image(&event, &ctx)).await
    } else {
        signals.during(executor.run(&event, &ctx)).await
    })
}
