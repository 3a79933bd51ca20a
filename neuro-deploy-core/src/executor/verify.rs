//! Verification after the rollout: every URL must answer 2xx, every query lie within its bounds
//! and no matching alert be active, on every probe over the window; a pass is recorded on the Deployments' metadata (`neuro-deploy.io/verified`), which is what
//! a promotion from this environment requires.

use tokio::time::Instant;

use crate::config::{VerifyConfig, format_duration, format_elapsed};
use crate::error::{AdapterError, ReasonCode, Stopped};
use crate::model::{ImageChange, annotations};
use crate::policy::{PlannedStep, Step};

use super::interrupt::{Halt, Watch, halt_text};
use super::progress::Progress;
use super::report::StepStatus;
use super::run::{LivePlan, Run};
use super::run_options::RunOptions;
use super::{Ending, Executor, StepEnd};
use crate::words::counted;

/// How the checks came out.
pub(super) enum Verified {
    /// Every probe passed (the text says how many, over how long).
    Passed(String),
    /// A probe failed: the URL and its status or error.
    Failed(String),
    /// A signal or the lost lock stopped the checks.
    Halted(Halt),
}

impl Executor {
    /// The plan's `Verify` step after a complete rollout: the checks, then a pass recorded on
    /// the Deployments, or a failure rolled back (`Err` with how the run ends).
    pub(super) async fn verify_step(
        &self,
        plan: &LivePlan,
        run: &mut Run<'_>,
        verify: &PlannedStep,
        watch: &Watch,
    ) -> Result<(), Ending> {
        let started = self.step_started(verify);
        let checks = match &verify.step {
            Step::Verify { checks, .. } => self.run_checks(checks, watch).await,
            _ => Verified::Failed("the plan's verify step has no checks".to_owned()),
        };
        match checks {
            Verified::Passed(detail) => {
                let names = ImageChange::workloads(&run.applied);
                // Recording the pass is a write: not without the lock.
                if let Some(why) = watch.lock_lost() {
                    run.report.warnings.push(format!(
                        "the checks passed but were not recorded on the Deployments ({why}); a promotion from here needs it: run `neuro-deploy verify --env {}`",
                        plan.environment.as_deref().unwrap_or_default()
                    ));
                } else if let Err(error) = self
                    .mark_verified(&plan.namespace, &names, &plan.version, run.options)
                    .await
                {
                    run.report.warnings.push(format!(
                        "the checks passed but could not be recorded on the Deployments ({error}); a promotion from here needs it: run `neuro-deploy verify --env {}`",
                        plan.environment.as_deref().unwrap_or_default()
                    ));
                }
                self.step_finished(run, verify, started, StepEnd::Ok(Some(detail)));
                Ok(())
            }
            Verified::Halted(halt) => {
                self.record(
                    run,
                    verify,
                    started,
                    StepStatus::NotRun,
                    Some(halt_text(&halt).to_owned()),
                );
                Err(self.halted_after_writes(plan, run, halt, watch).await)
            }
            Verified::Failed(why) => {
                self.record(run, verify, started, StepStatus::Failed, Some(why.clone()));
                let why = format!("verification failed: {why}");
                Err(match self.roll_back(plan, run, &why, watch).await {
                    Ending::RolledBack(message) => Ending::VerificationFailed(message),
                    other => other,
                })
            }
        }
    }

    /// Probes every check now and then every `every` until the window (`for`) has passed: every
    /// URL must answer 2xx, every query's series lie within its bounds, and no active alert
    /// match the matchers, each within the probe bound. The first failure fails the checks.
    pub(super) async fn run_checks(&self, checks: &VerifyConfig, watch: &Watch) -> Verified {
        let (window, every) = (checks.window, checks.every);
        let started = Instant::now();
        let mut rounds = 0usize;
        loop {
            let seen = match watch.race(self.probe_once(checks)).await {
                Err(halt) => return Verified::Halted(halt),
                Ok(Err(why)) => {
                    return Verified::Failed(format!(
                        "{why} (after {} of {})",
                        format_elapsed(started.elapsed()),
                        format_duration(window)
                    ));
                }
                Ok(Ok(values)) => values,
            };
            rounds += 1;
            let elapsed = started.elapsed();
            if elapsed >= window {
                return Verified::Passed(format!(
                    "{} on all {} over {}{seen}",
                    checked(checks),
                    counted(rounds, "probe"),
                    format_duration(window)
                ));
            }
            self.observer.progress(&Progress::Note(format!(
                "verification: {} passed; {} of {} to go",
                counted(rounds, "probe"),
                format_elapsed(window - elapsed),
                format_duration(window)
            )));
            let pause = every.min(window - elapsed);
            if let Err(halt) = watch.race(tokio::time::sleep(pause)).await {
                return Verified::Halted(halt);
            }
        }
    }

    /// One probe of every check: `Ok` with the query values seen (for the report), or the
    /// first failure.
    async fn probe_once(&self, checks: &VerifyConfig) -> Result<String, String> {
        let timeout = checks.probe_timeout();
        let bound = |what: &str| format!("{what}: no answer within {}", format_duration(timeout));
        if !checks.http.is_empty() {
            let Some(checker) = &self.health else {
                return Err("HTTP checks are configured but this run has no health checker".into());
            };
            for url in &checks.http {
                match tokio::time::timeout(timeout, checker.probe(url, timeout)).await {
                    Err(_) => return Err(bound(url)),
                    Ok(Err(error)) => return Err(format!("{url} {error}")),
                    Ok(Ok(status)) if (200..300).contains(&status) => {}
                    Ok(Ok(status)) => return Err(format!("{url} answered HTTP {status}")),
                }
            }
        }
        if checks.queries.is_empty() && checks.alerts.is_empty() {
            return Ok(String::new());
        }
        let Some(signals) = &self.signals else {
            return Err(
                "queries or alerts are configured but this run cannot ask the monitoring".into(),
            );
        };
        let mut values = Vec::new();
        if let Some(prometheus) = &checks.prometheus {
            for check in &checks.queries {
                let asked = signals.query(prometheus, &check.query, timeout);
                let what = format!("query `{}`", check.name);
                let answer = match tokio::time::timeout(timeout, asked).await {
                    Err(_) => return Err(bound(&what)),
                    Ok(Err(error)) => {
                        return Err(format!("{what} could not be evaluated: {error}"));
                    }
                    Ok(Ok(answer)) => answer,
                };
                values.push(answer.judge(check)?);
            }
        }
        if let Some(alertmanager) = &checks.alertmanager
            && !checks.alerts.is_empty()
        {
            let asked = signals.active_alerts(alertmanager, &checks.alerts, timeout);
            let firing = match tokio::time::timeout(timeout, asked).await {
                Err(_) => return Err(bound("the alerts")),
                Ok(Err(error)) => return Err(format!("the alerts could not be read: {error}")),
                Ok(Ok(firing)) => firing,
            };
            if let Some(alert) = firing.first() {
                let more = match firing.len() {
                    1 => String::new(),
                    n => format!(" (and {} more)", n - 1),
                };
                return Err(format!(
                    "alert {} is active and matches {}{more}",
                    alert.describe(),
                    checks.alerts.join(", ")
                ));
            }
        }
        Ok(if values.is_empty() {
            String::new()
        } else {
            format!("; last: {}", values.join("; "))
        })
    }

    /// Records a passed verification of `version` on the Deployments' metadata.
    pub(super) async fn mark_verified(
        &self,
        namespace: &str,
        workloads: &[String],
        version: &str,
        ctx: &RunOptions,
    ) -> Result<(), AdapterError> {
        let value = format!("{version}@{}", crate::model::rfc3339(ctx.started_at));
        self.adapters
            .cluster
            .annotate(
                namespace,
                workloads,
                &[(annotations::VERIFIED.to_owned(), value)],
            )
            .await
    }
}

/// What `neuro-deploy verify` found: the environment's checks run now against what runs there.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verification {
    /// Environment name.
    pub environment: String,
    /// Its namespace.
    pub namespace: String,
    /// The version running there.
    pub version: String,
    /// Whether every probe passed.
    pub passed: bool,
    /// How many probes passed, or the failing URL and its status or error.
    pub detail: String,
    /// Whether a pass was recorded on the Deployments (`neuro-deploy.io/verified`).
    pub recorded: bool,
}

impl Executor {
    /// Runs `environment`'s `[environments.verify]` checks now against the version running
    /// there (one version, rollout complete) and records a pass on its Deployments — for a
    /// version deployed before checks were configured, or whose record was lost. Nothing is
    /// rolled back: a failure is reported.
    pub async fn verify_environment(
        &self,
        environment: &str,
        ctx: &RunOptions,
    ) -> Result<Verification, Stopped> {
        let invalid = |message: String| Stopped::refused(ReasonCode::InvalidInput, message);
        let env = self
            .config
            .environment(environment)
            .ok_or_else(|| invalid(format!("there is no environment `{environment}`")))?;
        let verify = env.verify.clone().ok_or_else(|| {
            invalid(format!(
                "environment `{environment}` has no `[environments.verify]` checks; add `http = [\"https://…/healthz\"]` under it"
            ))
        })?;
        let repository = self.adapters.registry.repository_uri().await?;
        let workloads = self.adapters.cluster.workloads(&env.namespace).await?;
        let apps: Vec<String> = crate::policy::app_workloads(&workloads, &repository)
            .map(|w| w.name.clone())
            .collect();
        if apps.is_empty() {
            return Err(Stopped::refused(
                ReasonCode::NoWorkloads,
                format!(
                    "namespace `{}` has no Deployment running {repository}",
                    env.namespace
                ),
            ));
        }
        let status = crate::policy::EnvironmentStatus::of(&workloads, &repository);
        let version = match (&status.version, &status.rollout) {
            (Some(version), crate::policy::RolloutSummary::Complete) => version.clone(),
            _ => {
                return Err(Stopped::refused(
                    ReasonCode::NotVerifiedOnStaging,
                    format!(
                        "`{environment}` does not run one version with a complete rollout ({}); wait for the rollout, or deploy one version",
                        status.version.as_deref().unwrap_or("several versions")
                    ),
                ));
            }
        };
        let watch = Watch::unlocked(&self.interrupt);
        let checks = self.run_checks(&verify, &watch).await;
        let (passed, detail) = match checks {
            Verified::Passed(detail) => (true, detail),
            Verified::Failed(detail) => (false, detail),
            Verified::Halted(halt) => (false, halt_text(&halt).to_owned()),
        };
        if passed {
            self.mark_verified(&env.namespace, &apps, &version, ctx)
                .await?;
        }
        Ok(Verification {
            environment: environment.to_owned(),
            namespace: env.namespace.clone(),
            version,
            passed,
            detail,
            recorded: passed,
        })
    }
}

/// What passed, for reports: `1 URL answered 2xx, 1 query stayed within its bounds, no alert
/// matching app="neuro-ui" was active`.
fn checked(checks: &VerifyConfig) -> String {
    let mut parts = Vec::new();
    if !checks.http.is_empty() {
        parts.push(format!(
            "{} answered 2xx",
            counted(checks.http.len(), "URL")
        ));
    }
    if !checks.queries.is_empty() {
        parts.push(format!(
            "{} stayed within bounds",
            counted(checks.queries.len(), "PromQL check")
        ));
    }
    if !checks.alerts.is_empty() {
        parts.push(format!(
            "no alert matching {} was active",
            checks.alerts.join(", ")
        ));
    }
    parts.join(", ")
}
