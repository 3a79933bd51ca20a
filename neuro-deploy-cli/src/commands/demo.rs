//! `neuro-deploy demo [--shell]`: the playground. The real executor, policy and Kubernetes
//! adapter run against a simulated world (`neuro-deploy-sim`): kube-sim on 127.0.0.1 and the
//! in-memory registry, queues, releases and builder. No config file, kubeconfig, token or AWS
//! setting of this machine is read, and no AWS, GitHub or Codefresh client is built.
//!
//! The story runs the team's process step by step as an operator would type it and checks each
//! step's exit status and effect; the shell reads commands from stdin — any `neuro-deploy`
//! command (the same clap definitions, through [`super::execute`]) or a world command.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use neuro_deploy_core::config::{ApprovalsConfig, WindowConfig, WindowKind};
use neuro_deploy_core::{ExitStatus, ReleaseTag};
use neuro_deploy_kube::ClusterChoice;
use neuro_deploy_sim::{World, WorldOptions};

use super::{Context, Failure, execute, with_run_flags};
use crate::args::{Cli, CommonArgs};
use crate::output::note;
use crate::wiring::Backend;

/// Where the playground's configuration comes from, as reports name it.
const ORIGIN: &str = "the playground's world";

/// The region the story's training job runs in.
pub(super) const BUSY_REGION: &str = "us-east-2";

/// How long the story's training job runs while production waits.
pub(super) const JOB_RUNS: Duration = Duration::from_secs(3);

/// What the shell accepts besides `neuro-deploy` commands.
const WORLD_HELP: &str = "\
world commands (they change the simulated world; the rest of the line is a neuro-deploy command):
  queue push REGION     a training job arrives in REGION and a runner picks it up (in flight)
  queue pop REGION      a training job in REGION finishes
  merge                 a commit lands on main (then: merged --sha SHA)
  commit BRANCH         a commit lands on BRANCH (a hotfix's fix)
  release TAG           a commit on main, published as GitHub release TAG (then: released --tag TAG)
  break-image TAG       from now on, rollouts of TAG crash on start
  as PERSON COMMAND     run one neuro-deploy command with PERSON's own credentials (another
                        operator: `as alice approve v1.4.0 --env production`)
  window close ENV FOR  a deny window on ENV starts now and lasts FOR (e.g. `1h`)
  window open ENV       remove the windows `window close` added to ENV
  help                  this text; `--help` after any command for its options
  exit                  leave (Ctrl-D too)
neuro-deploy commands, e.g.: status · queues · promote v1.4.0 --yes · rollback --env staging ·
  released --tag v1.5.0 · hotfix start · deploy abc1234 --env dev · lock status --env production ·
  freeze --env staging --reason TEXT · quarantine list · approve v1.4.0 --env production
production needs 2 approvals by people other than whoever promotes (you are kube-sim-admin).";

/// How many people must approve a promotion to production in the playground.
pub(super) const APPROVALS: u32 = 2;

/// Runs the story, or the shell, on a fresh world.
pub async fn run(common: &CommonArgs, shell: bool) -> Result<ExitStatus, Failure> {
    if common.config.is_some() || common.kubeconfig.is_some() || common.context.is_some() {
        note(
            "the playground uses its own world and configuration; --config, --kubeconfig, --context and NEURO_DEPLOY_CONFIG are ignored",
        );
    }
    let world = World::start(WorldOptions::default())
        .await
        .map_err(|error| Failure::failed(format!("cannot start the simulated world: {error}")))?;
    let playground = Playground {
        world: Arc::new(world),
        shell,
        windows: Mutex::new(Vec::new()),
    };
    if shell {
        Ok(playground.shell().await)
    } else {
        Ok(playground.story().await)
    }
}

/// A started world and how commands reach it.
pub(super) struct Playground {
    pub(super) world: Arc<World>,
    /// At the prompt nobody can change the world while a command waits, so the queue gate
    /// looks once (`--queue-timeout` still applies); the story changes it from a script.
    shell: bool,
    /// Deny windows added at the prompt (`window close`), by environment.
    windows: Mutex<Vec<(String, WindowConfig)>>,
}

/// Writes a line of the story or of a world command on stdout.
pub(super) fn say(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

impl Playground {
    /// The context a command runs in: the world's config with the command's run flags, the
    /// world's cluster and in-memory adapters.
    fn context(&self, cli: &Cli) -> Result<Context, Failure> {
        let mut config = self.world.config().clone();
        if self.shell {
            config.queues.timeout = Duration::ZERO;
        }
        let added = self.windows.lock().map(|w| w.clone()).unwrap_or_default();
        for env in &mut config.environments {
            if env.is_promotion_target() {
                env.approvals = Some(ApprovalsConfig::new(APPROVALS));
            }
            env.windows.extend(
                added
                    .iter()
                    .filter(|(name, _)| *name == env.name)
                    .map(|(_, w)| w.clone()),
            );
        }
        let config = with_run_flags(config, cli)?;
        let mut context = Context::new(&cli.common, config, ORIGIN.to_owned());
        context.cluster = ClusterChoice {
            kubeconfig: Some(self.world.kubeconfig_path().to_path_buf()),
            context: Some(World::CONTEXT.to_owned()),
        };
        context.backend = Backend::Simulated(Arc::clone(&self.world));
        Ok(context)
    }

    /// Runs one `neuro-deploy` command line (without the program name) on the world.
    pub(super) async fn command(&self, line: &str) -> ExitStatus {
        self.command_as(line, None).await
    }

    /// Runs one command line with `person`'s credentials (a kube-sim user of that name), or
    /// the playground's own.
    pub(super) async fn command_as(&self, line: &str, person: Option<&str>) -> ExitStatus {
        let kubeconfig = match person.map(|p| self.kubeconfig_of(p)).transpose() {
            Ok(kubeconfig) => kubeconfig,
            Err(error) => {
                note(&error);
                return ExitStatus::InvalidInput;
            }
        };
        let Some(words) = shlex::split(line) else {
            note("unbalanced quotes; nothing was run");
            return ExitStatus::InvalidInput;
        };
        let args = std::iter::once("neuro-deploy".to_owned())
            .chain(words)
            .collect();
        let cli = match super::parse_or_refuse::<Cli>(crate::args::command(), args) {
            Ok(cli) => cli,
            Err(status) => return status,
        };
        if cli.common.kubeconfig.is_some() || cli.common.context.is_some() {
            note(
                "the playground's cluster is the simulated one; --kubeconfig and --context are ignored here",
            );
        }
        match self.context(&cli) {
            Ok(mut context) => {
                if let Some(kubeconfig) = kubeconfig {
                    context.cluster.kubeconfig = Some(kubeconfig);
                }
                execute(&context, cli).await
            }
            Err(failure) => failure.print(crate::output::Printer::of(&cli.common)),
        }
    }

    /// A world command, when `words` is one: `Some(exit status)`; `None` for anything else.
    async fn world_command(&self, words: &[&str]) -> Option<ExitStatus> {
        let world = &self.world;
        let done = |result: Result<String, String>| match result {
            Ok(text) => {
                say(&text);
                ExitStatus::Done
            }
            Err(error) => {
                note(&error);
                ExitStatus::InvalidInput
            }
        };
        let queue = world.config().queues.names.join(", ");
        Some(match words {
            ["help"] => done(Ok(WORLD_HELP.to_owned())),
            ["queue", "push", region] => done(world.queue_push(region).map(|depth| {
                format!("a training job arrived in {region} and is running: {queue} there is now {depth}")
            })),
            ["queue", "pop", region] => done(world.queue_pop(region).map(|depth| match depth {
                Some(depth) => format!("a training job in {region} finished: {queue} there is now {depth}"),
                None => format!("no training job in {region}: {queue} there is already drained"),
            })),
            ["queue", ..] => done(Err("usage: queue push REGION | queue pop REGION".to_owned())),
            ["merge"] => done(
                world
                    .merge("a change")
                    .map(|sha| format!("commit {sha} landed on main; deploy it with `merged --sha {sha}`"))
                    .map_err(|e| e.to_string()),
            ),
            ["commit", branch] => done(
                world
                    .commit(branch, "a fix")
                    .map(|sha| format!("commit {sha} landed on {branch}"))
                    .map_err(|e| e.to_string()),
            ),
            ["release", tag] => {
                let result = match ReleaseTag::parse(tag) {
                    Ok(_) => world
                        .release(tag)
                        .await
                        .map(|(sha, _)| {
                            format!("GitHub release {tag} published on main at {sha} (a new commit, not built yet); deploy it with `released --tag {tag}`")
                        })
                        .map_err(|e| e.to_string()),
                    Err(error) => Err(error.to_string()),
                };
                done(result)
            }
            ["break-image", tag] => done(
                world
                    .break_image(tag)
                    .map(|()| format!("from now on, rollouts of {tag} crash on start (never become available)")),
            ),
            ["window", "close", env, duration] => done(self.close_window(env, duration)),
            ["window", "open", env] => done(self.open_window(env)),
            ["window", ..] => done(Err("usage: window close ENV DURATION | window open ENV".to_owned())),
            ["merge" | "commit" | "release" | "break-image", ..] => {
                done(Err(format!("usage:\n{WORLD_HELP}")))
            }
            _ => return None,
        })
    }

    /// A kubeconfig for `person`: the same cluster, their own bearer token, so the API server
    /// (and `SelfSubjectReview`) knows them as `person`.
    fn kubeconfig_of(&self, person: &str) -> Result<PathBuf, String> {
        let valid = !person.is_empty()
            && person.len() <= 63
            && person
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            return Err(format!(
                "`{person}` is not a person's name here: use lowercase letters, digits and `-` (e.g. `alice`)"
            ));
        }
        let token = format!("{person}-token");
        self.world.kube.add_user(&token, person);
        let path = self
            .world
            .kubeconfig_path()
            .with_file_name(format!("kubeconfig-{person}"));
        std::fs::write(&path, self.world.kube.kubeconfig_as(&token))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    }

    /// `window close ENV FOR`: a deny window on `env` that started this minute.
    fn close_window(&self, env: &str, duration: &str) -> Result<String, String> {
        let config = self.world.config();
        if config.environment(env).is_none() {
            return Err(format!("there is no environment `{env}` in this world"));
        }
        let duration =
            neuro_deploy_core::config::parse_duration(duration).map_err(|e| e.to_string())?;
        let now = chrono::Utc::now();
        let schedule = now.format("%M %H %d %m *").to_string();
        let window = WindowConfig {
            reason: "closed at the playground's prompt".to_owned(),
            ..WindowConfig::new(WindowKind::Deny, &schedule, duration, "UTC")
        };
        let text = format!(
            "`{env}` takes no deploys for {}: {} (`window open {env}` removes it)",
            neuro_deploy_core::config::format_duration(duration),
            window.describe()
        );
        if let Ok(mut windows) = self.windows.lock() {
            windows.push((env.to_owned(), window));
        }
        Ok(text)
    }

    /// `window open ENV`: removes the windows `window close` added.
    fn open_window(&self, env: &str) -> Result<String, String> {
        let mut windows = self
            .windows
            .lock()
            .map_err(|_| "the windows are unavailable".to_owned())?;
        let before = windows.len();
        windows.retain(|(name, _)| name != env);
        Ok(format!(
            "removed {} deploy window(s) of `{env}`",
            before - windows.len()
        ))
    }

    /// Starts the dashboard on a free loopback port, over the world as the prompt sees it, and
    /// returns its URL; it serves until the playground ends.
    async fn start_dashboard(&self) -> Result<String, Failure> {
        use clap::Parser;
        let words = [
            "neuro-deploy",
            "dashboard",
            "--listen",
            "127.0.0.1:0",
            "--refresh",
            "2s",
        ];
        let cli =
            Cli::try_parse_from(words).map_err(|error| Failure::invalid(error.to_string()))?;
        let context = self.context(&cli)?;
        let args = super::dashboard::DashboardArgs {
            listen: "127.0.0.1:0".to_owned(),
            refresh: Duration::from_secs(2),
            allow_remote: false,
        };
        let bound = super::dashboard::bind(&context, &args).await?;
        let url = bound.url.clone();
        tokio::spawn(bound.serve(std::future::pending()));
        Ok(url)
    }

    /// The prompt: one line at a time until `exit` or end of input.
    async fn shell(&self) -> ExitStatus {
        let dashboard = match self.start_dashboard().await {
            Ok(url) => {
                format!("dashboard: {url} — open it to watch the world change while you type\n")
            }
            Err(failure) => format!("the dashboard could not start: {}\n", failure.message),
        };
        say(&format!(
            "neuro-deploy playground: a simulated world on 127.0.0.1 (nothing else is contacted)\n\
             kube-sim: {url} — see it with kubectl from another terminal:\n  \
             export KUBECONFIG={kubeconfig}\n  kubectl get deployments -A\n\
             registry, queues and GitHub are in this process's memory. Queue window {window}; a busy \
             queue refuses at once here (change the world between commands).\n\
             {dashboard}{WORLD_HELP}",
            url = self.world.kube.url(),
            kubeconfig = self.world.kubeconfig_path().display(),
            window = neuro_deploy_core::config::format_duration(self.world.config().queues.window),
        ));
        loop {
            {
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "neuro-deploy> ");
                let _ = err.flush();
            }
            let line = tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                match std::io::stdin().lock().read_line(&mut line) {
                    Ok(0) | Err(_) => None,
                    Ok(_) => Some(line),
                }
            })
            .await
            .ok()
            .flatten();
            let Some(line) = line else {
                say("");
                return ExitStatus::Done;
            };
            let line = line.trim();
            let line = line.strip_prefix("neuro-deploy ").unwrap_or(line).trim();
            let words: Vec<&str> = line.split_whitespace().collect();
            let status = match words.as_slice() {
                [] => continue,
                ["exit" | "quit"] => return ExitStatus::Done,
                ["as", person, _, ..] => {
                    let rest = line
                        .trim_start_matches("as")
                        .trim_start()
                        .trim_start_matches(person)
                        .trim();
                    self.command_as(rest, Some(person)).await
                }
                words => match self.world_command(words).await {
                    Some(status) => status,
                    None => self.command(line).await,
                },
            };
            if status != ExitStatus::Done {
                note(&format!("(exit {})", status.code()));
            }
        }
    }
}
