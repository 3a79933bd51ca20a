//! `neuro-deploy-codefresh`: the seed's `deploy-trigger` and `deploy` pipelines as one binary.
//!
//! `trigger` reads what the pipeline was triggered for (merge, release or the manual
//! NAMESPACE + version form), decides with the core policy, exports `NAMESPACE` and
//! `NEURO_UI_VERSION` for later steps (cf_export semantics), makes sure the image exists (retag,
//! or build through the Codefresh `build` pipeline) and deploys unless `--no-deploy`. `deploy`
//! deploys `NAMESPACE` + version with every gate; into production that is a promotion (the
//! operator starting the pipeline by hand is the confirmation). Same report and exit codes as
//! `neuro-deploy`.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use neuro_deploy_codefresh::{PipelineRequest, cf_export, export_file};
use neuro_deploy_core::{Event, Executor, Outcome, QueueGateOverrides, Report};

use crate::args::{CommonArgs, exit_codes};
use crate::output::{self, Printer, StderrProgress};
use crate::run::{adapter_failure, complete_release, fail_early, invalid_input, run_context};
use crate::signals::Signals;
use crate::wiring;

/// Codefresh pipeline steps of neuro-deploy.
#[derive(Debug, Parser)]
#[command(name = "neuro-deploy-codefresh", version, after_help = exit_codes())]
pub struct CodefreshCli {
    /// Options every binary shares (`--dry-run` also skips the export).
    #[command(flatten)]
    pub common: CommonArgs,
    /// The step.
    #[command(subcommand)]
    pub command: Step,
}

/// Steps.
#[derive(Debug, Subcommand)]
pub enum Step {
    /// The deploy-trigger pipeline: decide, export NAMESPACE and NEURO_UI_VERSION, ensure the image, deploy.
    Trigger {
        /// Stop after the image exists and the variables are exported.
        #[arg(long)]
        no_deploy: bool,
    },
    /// The deploy pipeline: deploy NAMESPACE + NEURO_UI_VERSION with every gate.
    Deploy,
}

/// Runs the step binary.
pub async fn run(cli: CodefreshCli) -> ExitCode {
    output::init_logging(cli.common.verbose, cli.common.quiet);
    let printer = Printer {
        format: cli.common.output,
    };
    let (config, _) =
        match wiring::load_config(cli.common.config.as_deref(), QueueGateOverrides::default()) {
            Ok(loaded) => loaded,
            Err(error) => {
                return invalid_input(printer, None, error.to_string());
            }
        };
    let request = match PipelineRequest::from_env(|name| std::env::var(name).ok()) {
        Ok(request) => request,
        Err(error) => {
            return invalid_input(printer, None, error.to_string());
        }
    };
    let (deploy, image) = match cli.command {
        Step::Trigger { no_deploy } => (!no_deploy, true),
        Step::Deploy => {
            if !matches!(request, PipelineRequest::Manual { .. }) {
                return invalid_input(
                    printer,
                    None,
                    "the deploy step needs NAMESPACE and NEURO_UI_VERSION (or neuro-ui_VERSION); set them on the pipeline run".to_owned(),
                );
            }
            (true, false)
        }
    };
    // Codefresh does not say which branch a release targets; GitHub does.
    let event = request.to_event(&config);
    let event = match complete_release(event.clone(), &config).await {
        Ok(event) => event,
        Err(error) => return adapter_failure(printer, Some(&event), &error),
    };
    let target = match neuro_deploy_core::policy::target(&event, &config) {
        Ok(target) => target,
        Err(reason) => {
            let report = Report::from_reason(&event, cli.common.dry_run, reason);
            printer.report(&report);
            return ExitCode::from(report.exit_code().code());
        }
    };
    let version = target
        .version
        .as_ref()
        .map(|v| v.image_tag(config.short_sha_length))
        .unwrap_or_default();
    if image && !cli.common.dry_run {
        let file = export_file(std::env::var("CF_VOLUME_PATH").ok().as_deref());
        let exported = cf_export(
            &file,
            &[
                ("NAMESPACE", target.namespace.as_str()),
                ("NEURO_UI_VERSION", version.as_str()),
            ],
        );
        if let Err(error) = exported {
            return fail_early(
                printer,
                Some(&event),
                None,
                format!("cannot export variables to {}: {error}", file.display()),
            );
        }
    }
    // A production request never builds; with --no-deploy its gates wait for the deploy step.
    if !deploy && matches!(event, Event::Promote { .. }) {
        let report = Report::without_plan(
            &event,
            cli.common.dry_run,
            Outcome::Ignored,
            None,
            format!(
                "exported NAMESPACE={} NEURO_UI_VERSION={version}; the deploy step promotes it",
                target.namespace
            ),
        );
        printer.report(&report);
        return ExitCode::SUCCESS;
    }
    // A cancelled Codefresh build sends SIGTERM: the run cleans up (see `signals`).
    let signals = Signals::install(printer, &event);
    let adapters = match wiring::adapters(&config).await {
        Ok(adapters) => adapters,
        Err(error) => return adapter_failure(printer, Some(&event), &error),
    };
    let executor = Executor::new(adapters, config.clone())
        .with_observer(Arc::new(StderrProgress {
            quiet: cli.common.quiet,
        }))
        .with_interrupt(signals.interrupt());
    let ctx = run_context(cli.common.dry_run);
    let report = if deploy {
        signals.during(executor.run(&event, &ctx)).await
    } else {
        signals.during(executor.prepare_image(&event, &ctx)).await
    };
    printer.report(&report);
    ExitCode::from(report.exit_code().code())
}
