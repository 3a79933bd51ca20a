//! `neuro-deploy demo [--shell]`: the playground. The real executor, policy and Kubernetes
//! adapter run against a simulated world (`neuro-deploy-sim`): kube-sim on 127.0.0.1 and the
//! in-memory registry, queues, releases and builder. No config file, kubeconfig, token or AWS
//! setting of this machine is read, and no AWS, GitHub or Codefresh client is built.
//!
//! The story runs the team's process step by step as an operator would type it and checks each
//! step's exit status and effect; the shell reads commands from stdin — any `neuro-deploy`
//! command (the same clap definitions, through [`super::execute`]) or a world command.

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Duration;

use neuro_deploy_core::{ExitStatus, ReleaseTag};
use neuro_deploy_kube::ClusterChoice;
use neuro_deploy_sim::kube::Resource;
use neuro_deploy_sim::{World, WorldOptions};

use super::{Context, Failure, execute, with_run_flags};
use crate::args::{Cli, CommonArgs};
use crate::output::note;
use crate::wiring::Backend;

/// Where the playground's configuration comes from, as reports name it.
const ORIGIN: &str = "the playground's world";

/// The region the story's training job runs in.
const BUSY_REGION: &str = "us-east-2";

/// How long the story's training job runs while production waits.
const JOB_RUNS: Duration = Duration::from_secs(3);

/// What the shell accepts besides `neuro-deploy` commands.
const WORLD_HELP: &str = "\
world commands (they change the simulated world; the rest of the line is a neuro-deploy command):
  queue push REGION     a training job arrives in REGION and a runner picks it up (in flight)
  queue pop REGION      a training job in REGION finishes
  merge                 a commit lands on main (then: merged --sha SHA)
  commit BRANCH         a commit lands on BRANCH (a hotfix's fix)
  release TAG           a commit on main, published as GitHub release TAG (then: released --tag TAG)
  break-image TAG       from now on, rollouts of TAG crash on start
  help                  this text; `--help` after any command for its options
  exit                  leave (Ctrl-D too)
neuro-deploy commands, e.g.: status · queues · promote v1.4.0 --yes · rollback --env staging ·
  released --tag v1.5.0 · hotfix start · deploy abc1234 --env dev · lock status --env production";

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
    };
    if shell {
        Ok(playground.shell().await)
    } else {
        Ok(playground.story().await)
    }
}

/// A started world and how commands reach it.
struct Playground {
    world: Arc<World>,
    /// At the prompt nobody can change the world while a command waits, so the queue gate
    /// looks once (`--queue-timeout` still applies); the story changes it from a script.
    shell: bool,
}

/// Why the story stopped: the step, what was expected and what happened.
struct Diverged(String);

/// Writes a line of the story or of a world command on stdout.
fn say(text: &str) {
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
    async fn command(&self, line: &str) -> ExitStatus {
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
            Ok(context) => execute(&context, cli).await,
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
            ["merge" | "commit" | "release" | "break-image", ..] => {
                done(Err(format!("usage:\n{WORLD_HELP}")))
            }
            _ => return None,
        })
    }

    /// The prompt: one line at a time until `exit` or end of input.
    async fn shell(&self) -> ExitStatus {
        say(&format!(
            "neuro-deploy playground: a simulated world on 127.0.0.1 (nothing else is contacted)\n\
             kube-sim: {url} — see it with kubectl from another terminal:\n  \
             export KUBECONFIG={kubeconfig}\n  kubectl get deployments -A\n\
             registry, queues and GitHub are in this process's memory. Queue window {window}; a busy \
             queue refuses at once here (change the world between commands).\n\
             {WORLD_HELP}",
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

    /// The image of the app's web container in `namespace`.
    fn running(&self, namespace: &str) -> String {
        self.world
            .kube
            .get(Resource::Deployment, namespace, "neuro-ui-web")
            .and_then(|d| {
                d["spec"]["template"]["spec"]["containers"][0]["image"]
                    .as_str()
                    .map(str::to_owned)
            })
            .unwrap_or_default()
    }

    /// The story; exit 0 when every step went as expected, 1 naming the step that did not.
    async fn story(&self) -> ExitStatus {
        let started = tokio::time::Instant::now();
        match self.tell().await {
            Ok(()) => {
                say(&format!(
                    "\nThe whole process ran in {:.0} s on a simulated world. Try it yourself: `neuro-deploy demo --shell`.",
                    started.elapsed().as_secs_f64()
                ));
                ExitStatus::Done
            }
            Err(Diverged(why)) => {
                note(&format!("the demo diverged from the story: {why}"));
                ExitStatus::Failed
            }
        }
    }

    /// Runs `line` as an operator would type it and checks its exit status.
    async fn step(&self, line: &str, expected: ExitStatus) -> Result<(), Diverged> {
        say(&format!("\n$ neuro-deploy {line}"));
        let status = self.command(line).await;
        if status != ExitStatus::Done {
            say(&format!("(exit {})", status.code()));
        }
        if status == expected {
            Ok(())
        } else {
            Err(Diverged(format!(
                "`neuro-deploy {line}` exited {}, expected {}",
                status.code(),
                expected.code()
            )))
        }
    }

    /// Checks an effect of the last step.
    fn check(&self, holds: bool, what: &str) -> Result<(), Diverged> {
        if holds {
            Ok(())
        } else {
            Err(Diverged(format!("expected {what}")))
        }
    }

    fn chapter(&self, title: &str) {
        say(&format!("\n━━ {title}"));
    }

    async fn tell(&self) -> Result<(), Diverged> {
        let world = &self.world;
        let fail = |e: &dyn std::fmt::Display| Diverged(e.to_string());
        let window = world.config().queues.window;
        say(&format!(
            "neuro-deploy demo: the neuro-ui release process on a simulated world (127.0.0.1 only).\n\
             kube-sim (a Kubernetes API server with a deployment controller) at {}; the ECR \
             registry, the SQS queues in {} and GitHub live in memory; builds take 1 s.\n\
             Durations are shortened: rollouts ~1 s, a crashing rollout fails after ~2.5 s, and \
             production waits for {} of drained queues (the default is 1 min).\n\
             Every command below runs the real policy and executor, as an operator would type it.",
            world.kube.url(),
            world.config().queues.regions.join(" and "),
            neuro_deploy_core::config::format_duration(window),
        ));
        self.step("status", ExitStatus::Done).await?;

        self.chapter("1. A merge to main deploys its short SHA to dev (built once)");
        let sha = world
            .merge("add the training dashboard")
            .map_err(|e| fail(&e))?;
        let short = sha.short(world.config().git.short_sha_length).to_owned();
        say(&format!("[world] commit {sha} merged to main"));
        self.step(&format!("merged --sha {sha}"), ExitStatus::Done)
            .await?;
        self.check(
            self.running("dev").ends_with(&format!(":{short}")),
            &format!("dev to run {short}"),
        )?;
        let builds = world.builder.builds().len();

        self.chapter("2. A GitHub release deploys to staging: retagged, not rebuilt");
        world.publish("v1.4.0").await.map_err(|e| fail(&e))?;
        say(&format!(
            "[world] GitHub release v1.4.0 published on main ({short})"
        ));
        self.step("released --tag v1.4.0", ExitStatus::Done).await?;
        let digest = world.registry.digest("v1.4.0").unwrap_or_default();
        self.check(
            world.builder.builds().len() == builds
                && world.registry.digest(&short).as_deref() == Some(digest.as_str()),
            "v1.4.0 to be a retag of the merge's image, with no new build",
        )?;
        say(&format!(
            "[check] v1.4.0 is {digest}, the very image dev runs as {short}: retagged, no rebuild"
        ));

        self.chapter("3. Production waits for the training queues to drain in every region");
        let depth = world.queue_push(BUSY_REGION).map_err(|e| fail(&e))?;
        say(&format!(
            "[world] a training job arrives in {BUSY_REGION}: {depth}; it finishes in {} s",
            JOB_RUNS.as_secs()
        ));
        let finisher = {
            let world = Arc::clone(world);
            tokio::spawn(async move {
                tokio::time::sleep(JOB_RUNS).await;
                if world.queue_pop(BUSY_REGION).is_ok() {
                    say(&format!(
                        "[world] the training job in {BUSY_REGION} finished"
                    ));
                }
            })
        };
        self.step("promote v1.4.0 --yes --queue-timeout 30s", ExitStatus::Done)
            .await?;
        finisher.abort();
        self.check(
            self.running("leaf-neuro-ui").contains(":v1.4.0@sha256:"),
            "production to run v1.4.0 pinned to its digest",
        )?;

        self.chapter("4. A broken release fails its staging rollout and is rolled back (exit 4)");
        world.release("v1.5.0").await.map_err(|e| fail(&e))?;
        world.break_image("v1.5.0").map_err(|e| fail(&e))?;
        say("[world] GitHub release v1.5.0 published; its image crashes on start");
        self.step("released --tag v1.5.0", ExitStatus::RolledBack)
            .await?;
        self.check(
            self.running("staging").contains(":v1.4.0"),
            "staging to be back on v1.4.0",
        )?;

        self.chapter(
            "5. The hotfix: branch off the release production runs, fix, release, staging, production",
        );
        self.step("hotfix start", ExitStatus::Done).await?;
        let branch = format!("{}v1.4.1", world.config().git.hotfix_prefix);
        let fix = world
            .commit(&branch, "fix the crash on start")
            .map_err(|e| fail(&e))?;
        say(&format!("[world] the fix {fix} is merged into {branch}"));
        self.step("hotfix release v1.4.1", ExitStatus::Done).await?;
        self.step("released --tag v1.4.1", ExitStatus::Done).await?;
        self.step("promote v1.4.1 --yes", ExitStatus::Done).await?;
        self.check(
            self.running("leaf-neuro-ui").contains(":v1.4.1@sha256:"),
            "production to run v1.4.1",
        )?;

        self.chapter("Where everything stands");
        self.step("status", ExitStatus::Done).await?;
        say(&format!(
            "[check] production runs {}",
            self.running("leaf-neuro-ui")
        ));
        Ok(())
    }
}
