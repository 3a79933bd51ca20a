//! The playground's story: the team's process step by step, as an operator would type it, each
//! step's exit status and effect checked — merge, release, approvals and the queue wait before
//! production, a broken release rolled back, a hotfix, a freeze.

use std::sync::Arc;

use neuro_deploy_core::ExitStatus;
use neuro_deploy_sim::kube::Resource;

use super::demo::{BUSY_REGION, JOB_RUNS, Playground, say};
use crate::output::note;

/// Why the story stopped: the step, what was expected and what happened.
pub(super) struct Diverged(String);

impl Playground {
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
    pub(super) async fn story(&self) -> ExitStatus {
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

    /// Each of `people` approves `version` for production with their own credentials.
    async fn approve_as(&self, people: &[&str], version: &str) -> Result<(), Diverged> {
        for person in people {
            let line = format!("approve {version} --env production");
            say(&format!(
                "\n$ neuro-deploy {line}    # as {person}, with {person}'s own credentials"
            ));
            let status = self.command_as(&line, Some(person)).await;
            if status != ExitStatus::Done {
                return Err(Diverged(format!(
                    "{person}'s `neuro-deploy {line}` exited {}",
                    status.code()
                )));
            }
        }
        Ok(())
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

        self.chapter(
            "3. Production needs two people's approval, then waits for the training queues to drain in every region",
        );
        self.step("promote v1.4.0 --yes", ExitStatus::Refused)
            .await?;
        self.approve_as(&["alice", "bob"], "v1.4.0").await?;
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
        self.approve_as(&["alice", "bob"], "v1.4.1").await?;
        self.step("promote v1.4.1 --yes", ExitStatus::Done).await?;
        self.check(
            self.running("leaf-neuro-ui").contains(":v1.4.1@sha256:"),
            "production to run v1.4.1",
        )?;

        self.chapter("6. A freeze: nothing but a rollback goes to production until it is lifted, on the record");
        self.step(
            "freeze --env production --reason 'incident 42: database failover'",
            ExitStatus::Done,
        )
        .await?;
        self.step("promote v1.4.1 --yes", ExitStatus::Refused)
            .await?;
        self.step(
            "unfreeze --env production --reason 'failover done'",
            ExitStatus::Done,
        )
        .await?;

        self.chapter("Where everything stands");
        self.step("status", ExitStatus::Done).await?;
        say(&format!(
            "[check] production runs {}",
            self.running("leaf-neuro-ui")
        ));
        Ok(())
    }
}
