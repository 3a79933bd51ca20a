//! One module per command, each returning `Result<ExitStatus, Failure>`; [`dispatch`] is the one
//! place a [`Failure`] is printed. `event::execute` serves both binaries.
//!
//! What it is not: no policy here — commands parse, build adapters through `wiring`, call the
//! library and print typed documents.

pub mod approvals;
pub mod approve;
pub mod approvers;
pub mod checks;
pub mod config;
pub mod dashboard;
pub mod demo;
pub mod doctor;
mod duties;
pub mod event;
pub mod freeze;
pub mod history;
pub mod hotfix;
pub mod lock;
pub mod plan;
pub mod quarantine;
pub mod queues;
pub mod rbac;
pub mod record;
pub mod shell;
pub mod status;
mod story;
pub mod verify;

use neuro_deploy_core::{
    AdapterError, Config, ConfigError, Event, ExitStatus, Outcome, ReasonCode,
};

use crate::args::{Cli, Command, OutputFormat};
use crate::output::documents::FailureDocument;
use crate::output::{Printer, SCHEMA_VERSION, text};
use crate::wiring;
use neuro_deploy_kube::ClusterChoice;

/// What every command gets: how to print, and the configuration.
pub struct Context {
    /// Where results go.
    pub printer: Printer,
    /// The effective configuration.
    pub config: Config,
    /// Where it came from (a path, or `built-in defaults`).
    pub origin: String,
    /// `-q`: no progress on stderr.
    pub quiet: bool,
    /// `--kubeconfig` and `--context`.
    pub cluster: ClusterChoice,
    /// Where the adapters come from.
    pub backend: wiring::Backend,
    /// `--dry-run`: say what would be written, write nothing.
    pub dry_run: bool,
}

impl Context {
    /// The context both binaries build from their shared options and the loaded config.
    pub fn new(common: &crate::args::CommonArgs, config: Config, origin: String) -> Context {
        Context {
            printer: Printer::of(common),
            config,
            origin,
            quiet: common.quiet,
            cluster: common.cluster_choice(),
            backend: wiring::Backend::Real,
            dry_run: common.dry_run,
        }
    }
}

/// Why a command ended before it could report normally: a refusal that needs no facts, bad
/// input, or an adapter that could not do its job.
#[derive(Debug)]
pub struct Failure {
    /// The reason code, for a refusal; none for an unexpected failure (exit 1).
    pub reason: Option<ReasonCode>,
    /// What happened and what to do.
    pub message: String,
    /// The causes behind it, outermost first (see [`neuro_deploy_core::causes`]).
    pub causes: Vec<String>,
    /// The event, when it was understood.
    pub event: Option<Box<Event>>,
}

impl Failure {
    /// Invalid input or config: exit 2, nothing contacted.
    pub fn invalid(message: impl Into<String>) -> Failure {
        Failure::refused(ReasonCode::InvalidInput, message)
    }

    /// A refusal with `code`.
    pub fn refused(code: ReasonCode, message: impl Into<String>) -> Failure {
        Failure {
            reason: Some(code),
            ..Failure::failed(message)
        }
    }

    /// An unexpected failure (exit 1) that no adapter reported.
    pub fn failed(message: impl Into<String>) -> Failure {
        Failure {
            reason: None,
            message: message.into(),
            causes: Vec::new(),
            event: None,
        }
    }

    /// The same failure, caused by `cause` (and whatever caused that).
    pub fn because(mut self, cause: &(dyn std::error::Error + 'static)) -> Failure {
        self.causes.push(cause.to_string());
        self.causes.extend(neuro_deploy_core::causes(cause));
        self
    }

    /// The same failure, about `event`.
    pub fn about(mut self, event: &Event) -> Failure {
        self.event = Some(Box::new(event.clone()));
        self
    }

    /// The exit status: the reason's, else 1.
    pub fn exit_status(&self) -> ExitStatus {
        self.reason
            .map_or(ExitStatus::Failed, ReasonCode::exit_code)
    }

    /// Prints the failure document and returns the exit status.
    pub fn print(&self, printer: Printer) -> ExitStatus {
        let status = self.exit_status();
        let document = FailureDocument {
            schema_version: SCHEMA_VERSION,
            outcome: if self.reason.is_some() {
                Outcome::Refused
            } else {
                Outcome::Failed
            },
            reason: self.reason,
            message: &self.message,
            causes: &self.causes,
            event: self.event.as_deref(),
            steps: [],
            exit_code: status.code(),
        };
        let word = self
            .reason
            .map_or_else(|| "failed".to_owned(), |code| format!("refused ({code})"));
        let text = format!(
            "{word}: {}\n{}",
            self.message,
            text::caused_by(&self.causes)
        );
        printer.print_unsuccessful(&document, &text);
        if crate::output::actions::enabled() {
            crate::output::actions::failure(self.reason, &self.message, &self.causes, status);
        }
        status
    }
}

impl From<AdapterError> for Failure {
    /// An adapter's refusal keeps its reason code; anything else is an unexpected failure.
    fn from(error: AdapterError) -> Failure {
        Failure {
            reason: error.reason_code(),
            message: error.to_string(),
            causes: neuro_deploy_core::causes(&error),
            event: None,
        }
    }
}

impl From<neuro_deploy_core::Stopped> for Failure {
    /// A rule's refusal keeps its reason code; an adapter's failure is what it is.
    fn from(stopped: neuro_deploy_core::Stopped) -> Failure {
        match stopped {
            neuro_deploy_core::Stopped::Refused(reason) => {
                Failure::refused(reason.code, reason.message)
            }
            neuro_deploy_core::Stopped::Failed(error) => Failure::from(error),
        }
    }
}

impl From<ConfigError> for Failure {
    fn from(error: ConfigError) -> Failure {
        Failure::invalid(error.to_string())
    }
}

/// Runs the `neuro-deploy` command line: one dispatcher, one failure path.
pub async fn dispatch(cli: Cli) -> ExitStatus {
    crate::output::init_logging(cli.common.verbose, cli.common.quiet);
    let printer = Printer::of(&cli.common);
    // Generated from the argument definitions: no config needed.
    match &cli.command {
        Command::Completion { shell } => return shell::completion(*shell),
        Command::Man => return shell::man(),
        // The playground brings its own world and config; nothing on this machine is read.
        Command::Demo { shell } => {
            return demo::run(&cli.common, *shell)
                .await
                .unwrap_or_else(|failure| failure.print(printer));
        }
        _ => {}
    }
    let loaded = wiring::load_config(cli.common.config.as_deref())
        .and_then(|(config, origin)| Ok((with_run_flags(config, &cli)?, origin)));
    let (config, origin) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => return Failure::from(error).print(printer),
    };
    let context = Context::new(&cli.common, config, origin);
    execute(&context, cli).await
}

/// The per-run flags (queue gate, rollout timeout, lock wait) replace their config keys; the
/// core applies and validates them (`Config::with_overrides`).
pub fn with_run_flags(config: Config, cli: &Cli) -> Result<Config, ConfigError> {
    config.with_overrides(neuro_deploy_core::RunOverrides {
        queue_window: cli.queue_window,
        queue_timeout: cli.queue_timeout,
        queue_poll: cli.queue_poll,
        rollout_timeout: cli.rollout_timeout,
        lock_wait: cli.wait_for_lock,
    })
}

/// Runs one parsed command in `context` and prints its result; the exit status is the
/// command's. The binary and the playground shell both come through here.
pub async fn execute(context: &Context, cli: Cli) -> ExitStatus {
    let mut options = event::Options {
        dry_run: cli.common.dry_run,
        yes: cli.yes,
        image_only: false,
        overrides: Default::default(),
    };
    if let Some(name) = cli
        .common
        .dry_run
        .then(|| writes_without_dry_run(&cli.command))
        .flatten()
    {
        return Failure::invalid(format!(
            "`{name}` has no dry run: it would write; run it without `--dry-run` (`neuro-deploy {name} --help` says what it writes)"
        ))
        .print(context.printer);
    }
    let result = match cli.command {
        Command::Config { action } => config::run(context, action),
        Command::Plan { event, live: false } => plan::run(context, event),
        // A live plan is the event's dry run: one way to read the facts and decide on them.
        Command::Plan {
            event: command,
            live: true,
        } => {
            options.dry_run = true;
            event::run_command(context, command, options).await
        }
        Command::Event(command) => event::run_command(context, command, options).await,
        Command::Status { env } => status::run(context, env.as_deref()).await,
        Command::Queues => queues::run(context).await,
        Command::History { env, limit } => {
            history::run(context, env.as_deref(), usize::from(limit)).await
        }
        Command::Verify { env } => verify::run(context, &env).await,
        Command::Record { env } => record::run(context, &env).await,
        Command::Hotfix { action } => hotfix::run(context, action).await,
        Command::Lock { action } => lock::run(context, action, cli.yes).await,
        Command::Freeze {
            env,
            all,
            reason,
            duration,
        } => freeze::freeze(context, env.as_deref(), all, &reason, duration).await,
        Command::Unfreeze { env, reason } => freeze::unfreeze(context, &env, &reason).await,
        Command::Quarantine { action } => quarantine::run(context, action).await,
        Command::Approve {
            version,
            env,
            reason,
        } => approve::run(context, &version, &env, reason.as_deref(), cli.yes).await,
        Command::Approvals {
            action: crate::args::ApprovalsCommand::List { env },
        } => approvals::list(context, env.as_deref()).await,
        Command::Approvers { action } => approvers::run(context, action).await,
        Command::Doctor => doctor::run(context).await,
        Command::Rbac {
            env,
            deployer,
            operators,
        } => rbac::run(context, env.as_deref(), &deployer, &operators),
        Command::Completion { shell } => Ok(shell::completion(shell)),
        Command::Man => Ok(shell::man()),
        Command::Dashboard(args) => dashboard::run(context, &args).await,
        Command::Demo { .. } => Err(Failure::invalid(
            "the playground is already running here; type `exit` to leave it first",
        )),
    };
    result.unwrap_or_else(|failure| failure.print(context.printer))
}

/// The command's name when it writes but cannot say what it would write instead (so
/// `--dry-run` is refused rather than ignored); `None` for every command that honours it.
fn writes_without_dry_run(command: &Command) -> Option<&'static str> {
    match command {
        Command::Lock {
            action: crate::args::LockCommand::Break { .. },
        } => Some("lock break"),
        Command::Hotfix {
            action: crate::args::HotfixCommand::Start { .. },
        } => Some("hotfix start"),
        Command::Hotfix {
            action: crate::args::HotfixCommand::Release { .. },
        } => Some("hotfix release"),
        Command::Record { .. } => Some("record"),
        Command::Verify { .. } => Some("verify"),
        _ => None,
    }
}

/// Whether the raw arguments ask for JSON output (`-o json`, `--output json`, `--output=json`,
/// `-ojson`, or `NEURO_DEPLOY_OUTPUT=json`): what a run whose arguments did not parse prints.
fn json_requested(args: &[String]) -> bool {
    let from_env = std::env::var("NEURO_DEPLOY_OUTPUT").is_ok_and(|v| v == "json");
    let from_args = args
        .windows(2)
        .any(|pair| matches!(pair[0].as_str(), "-o" | "--output") && pair[1] == "json")
        || args.iter().any(|a| a == "--output=json" || a == "-ojson");
    from_args || from_env
}

/// Parses `args` (program name first) with `command` into `P`. `--help` and `--version` print and end the run
/// (exit 0); anything else that does not parse is refused like other bad input: `neuro-deploy:
/// refused (invalid_input): …` on stderr, or the failure document with `--output json` — exit 2.
pub fn parse_or_refuse<P: clap::FromArgMatches>(
    command: clap::Command,
    args: Vec<String>,
) -> Result<P, ExitStatus> {
    use clap::error::ErrorKind;
    let parsed = command
        .try_get_matches_from(&args)
        .and_then(|matches| P::from_arg_matches(&matches));
    let error = match parsed {
        Ok(parsed) => return Ok(parsed),
        Err(error) => error,
    };
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = error.print();
        return Err(ExitStatus::Done);
    }
    // clap's text: `error: WHAT\n\nUsage: …\n\nFor more information, try '--help'.`
    let rendered = error.to_string();
    let mut paragraphs = rendered.split("\n\n").map(str::trim);
    let what = paragraphs
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let usage = paragraphs.find(|p| p.starts_with("Usage: "));
    let program = args.first().map_or("neuro-deploy", String::as_str);
    let program = std::path::Path::new(program)
        .file_name()
        .map_or_else(|| program.to_owned(), |n| n.to_string_lossy().into_owned());
    let message = match usage {
        Some(usage) => {
            let usage = usage.trim_start_matches("Usage: ");
            // The help of the (sub)command the usage is of: its leading words.
            let command: Vec<&str> = usage
                .split_whitespace()
                .take_while(|word| !word.starts_with(['[', '<', '-']))
                .collect();
            let command = if command.is_empty() {
                program.clone()
            } else {
                command.join(" ")
            };
            format!("{what} (usage: {usage}; see `{command} --help`)")
        }
        None => format!("{what} (see `{program} --help`)"),
    };
    let printer = Printer {
        format: if json_requested(&args) {
            OutputFormat::Json
        } else {
            OutputFormat::Text
        },
        quiet: false,
    };
    Err(Failure::invalid(message).print(printer))
}

/// What reading environments needs: their clusters, the app's repository (which containers are
/// the app's), and the environments themselves — every one, or `only` that one (checked).
pub struct EnvironmentReader<'a> {
    /// The clusters, each environment in its own.
    pub cluster: std::sync::Arc<neuro_deploy_kube::Clusters>,
    /// The app's repository URI.
    pub repository: String,
    /// The environments to read, in config order.
    pub environments: Vec<&'a neuro_deploy_core::EnvironmentConfig>,
}

impl<'a> EnvironmentReader<'a> {
    /// Connects to what reading every environment, or `only` that one, needs.
    pub async fn connect(
        context: &'a Context,
        only: Option<&str>,
    ) -> Result<EnvironmentReader<'a>, Failure> {
        let config = &context.config;
        if let Some(name) = only {
            environment_namespace(config, name)?;
        }
        let touched: Vec<&str> = only.into_iter().collect();
        let cluster = wiring::cluster(config, &context.cluster, &touched, None).await?;
        let repository = wiring::registry(&context.backend, config)
            .await
            .repository_uri()
            .await?;
        let environments = config
            .environments
            .iter()
            .filter(|e| only.is_none_or(|name| e.name == name))
            .collect();
        Ok(EnvironmentReader {
            cluster,
            repository,
            environments,
        })
    }
}

/// The namespace of a configured environment, or invalid input naming the known ones.
pub fn environment_namespace(config: &Config, name: &str) -> Result<String, Failure> {
    config
        .environment(name)
        .map(|e| e.namespace.clone())
        .ok_or_else(|| {
            let known: Vec<&str> = config
                .environments
                .iter()
                .map(|e| e.name.as_str())
                .collect();
            Failure::invalid(format!(
                "there is no environment `{name}`; configured environments: {}",
                known.join(", ")
            ))
        })
}

/// Tells people a guardrail changed (through `[notify]`'s webhook, when one is configured); a
/// message that cannot be sent is a warning on stderr, never a failed command.
pub async fn notify_guardrail(
    context: &Context,
    change: neuro_deploy_core::notify::GuardrailChange,
    who: &str,
) {
    let notifier = match wiring::notifier(&context.backend) {
        Ok(Some(notifier)) => notifier,
        Ok(None) => return,
        Err(error) => {
            crate::output::note(&neuro_deploy_core::notify::unsent(&error.to_string()));
            return;
        }
    };
    let sent =
        neuro_deploy_core::notify::send_guardrail(notifier.as_ref(), &context.config, &change, who)
            .await;
    if let Err(warning) = sent {
        crate::output::note(&warning);
    }
}

/// Whether someone is at a terminal to answer (stdin and stderr both are one).
pub fn on_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks `question` on a terminal; false when stdin or stderr is not one, or the answer is not yes.
pub fn confirm_on_terminal(question: &str) -> bool {
    use std::io::{BufRead, Write};
    if !on_terminal() {
        return false;
    }
    let _ = write!(std::io::stderr().lock(), "{question}");
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes")
}
