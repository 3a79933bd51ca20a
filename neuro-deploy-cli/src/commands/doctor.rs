//! `neuro-deploy doctor`: the preflight a team runs once per environment — each cluster
//! reachable through its context, every verb the Role must grant (asked with
//! `SelfSubjectAccessReview`), the ECR repository and every queue readable with the current AWS
//! identity and region, the GitHub token able to read the repository, and each Prometheus,
//! Alertmanager and Pushgateway configured ready (`/-/ready`), each query evaluating to an
//! instant vector or a scalar, each set of alert matchers accepted — and the separation of
//! duties from the identity it runs as (`duties`: what it must not be able to do, or, for an
//! approver, writing their own approvals). One line per check, ✓, ✗ with the fix, or ! (a
//! guarantee that does not hold: a warning with the fix); exit 0 only when none failed.

use std::time::Duration;

use neuro_deploy_core::config::BuilderKind;
use neuro_deploy_core::{
    AdapterError, ClusterDeployer, Config, ExitStatus, SignalSource, sample_queues,
};
use neuro_deploy_github::{GithubReleases, GithubSettings};
use neuro_deploy_kube::REQUIRED_ACCESS;
use neuro_deploy_prometheus::{Monitoring, Token, Tokens, ready};
use serde::Serialize;

use super::checks::{Check, failed, passed};
use super::{Context, Failure};
use crate::output::{SCHEMA_VERSION, StderrProgress};
use crate::wiring;

/// `neuro-deploy doctor`.
#[derive(Debug, Serialize)]
pub struct DoctorDocument {
    /// Shape version.
    pub schema_version: u32,
    /// Every check, in order.
    pub checks: Vec<Check>,
    /// The process exit code (0 only when every check passed).
    pub exit_code: u8,
}

/// Runs every check and prints one line each.
pub async fn run(context: &Context) -> Result<ExitStatus, Failure> {
    let config = &context.config;
    let mut checks = Vec::new();
    for env in &config.environments {
        let (name, namespace) = (&env.name, &env.namespace);
        let cluster = match wiring::kube_cluster(config, &context.cluster, name).await {
            Ok(cluster) => cluster,
            Err(error) => {
                checks.push(failed(
                    format!("cluster of `{name}`"),
                    error.to_string(),
                    "fix the kubeconfig or the environment's `kube_context`".to_owned(),
                ));
                continue;
            }
        };
        match cluster.workloads(namespace).await {
            Ok(workloads) => checks.push(passed(
                format!("cluster of `{name}`"),
                format!(
                    "namespace `{namespace}` answered ({} Deployments of the app)",
                    workloads.len()
                ),
            )),
            Err(error) => {
                checks.push(failed(
                    format!("cluster of `{name}`"),
                    error.to_string(),
                    "check the kubeconfig context and that the API server is reachable".to_owned(),
                ));
                continue;
            }
        }
        for (group, resource, verb, only) in REQUIRED_ACCESS {
            let object = only.map_or_else(|| resource.to_string(), |n| format!("{resource}/{n}"));
            let check = format!("`{verb} {object}` in `{namespace}`");
            match cluster.can_i(namespace, group, resource, verb, *only).await {
                Ok(true) => checks.push(passed(check, "allowed".to_owned())),
                Ok(false) => checks.push(failed(
                    check,
                    "denied".to_owned(),
                    format!(
                        "bind the deployer's Role in `{namespace}` to the identity neuro-deploy runs as: `neuro-deploy rbac --env {name} --deployer SUBJECT | kubectl apply -f -` (examples/k8s/rbac-{name}.yaml)"
                    ),
                )),
                Err(error) => checks.push(failed(
                    check,
                    error.to_string(),
                    "allow `create selfsubjectaccessreviews` (every authenticated user has it by default)".to_owned(),
                )),
            }
        }
        match neuro_deploy_core::SharedState::authenticated_user(&cluster, namespace).await {
            Ok(user) => checks.extend(super::duties::checks(&cluster, env, &user).await),
            Err(error) => checks.push(failed(
                format!("who runs in `{namespace}`"),
                error.to_string(),
                "SelfSubjectReview needs Kubernetes 1.28 or later".to_owned(),
            )),
        }
    }

    let registry = wiring::registry(&context.backend, config).await;
    let repository = &config.registry.repository;
    let ecr = match registry.repository_uri().await {
        Ok(uri) => registry.find("latest").await.map(|_| uri),
        Err(error) => Err(error),
    };
    checks.push(match ecr {
        Ok(uri) => passed(format!("ECR repository `{repository}`"), uri),
        Err(error) => failed(
            format!("ECR repository `{repository}`"),
            error.to_string(),
            "check `registry.repository`, `registry.region` (or AWS_REGION) and the AWS role (examples/aws/)".to_owned(),
        ),
    });

    let inspector = wiring::queues(&context.backend, config).await;
    let quiet = StderrProgress { quiet: true };
    let samples = sample_queues(
        inspector.as_ref(),
        &quiet,
        &config.queues.names,
        &config.queues.regions,
    )
    .await;
    for sample in samples {
        let check = format!("queue `{}` in {}", sample.queue, sample.region);
        checks.push(match (sample.depth, sample.error) {
            (Some(depth), _) => passed(check, depth.to_string()),
            (None, error) => failed(
                check,
                error.unwrap_or_default(),
                "check `queues.names` and `queues.regions`, and that the AWS role may sqs:GetQueueUrl and sqs:GetQueueAttributes there".to_owned(),
            ),
        });
    }

    match &config.git.repository {
        None => checks.push(passed(
            "GitHub repository".to_owned(),
            "not configured (`git.repository`): release look-ups and hotfix commands are off"
                .to_owned(),
        )),
        Some(repository) => {
            let check = format!("GitHub repository `{repository}`");
            let read = match GithubReleases::from_env(repository, GithubSettings::default()) {
                Ok(github) => github.check_repository().await,
                Err(error) => Err(error),
            };
            checks.push(match read {
                Ok(()) => passed(check, "readable with GITHUB_TOKEN".to_owned()),
                Err(error) => {
                    let fix = github_fix(&error, "Contents: read on the repository");
                    failed(check, error.to_string(), fix)
                }
            });
        }
    }

    if config.git.deployments
        && let Some(repository) = &config.git.repository
    {
        use neuro_deploy_core::DeploymentRecorder;
        let check = format!("GitHub Deployments of `{repository}`");
        let read = match GithubReleases::from_env(repository, GithubSettings::default()) {
            Ok(github) => github.history(None, 1).await.map(|_| ()),
            Err(error) => Err(error),
        };
        checks.push(match read {
            Ok(()) => passed(
                check,
                "readable; writing them is proven by the first deploy (a failure there is a warning, never a failed deploy)"
                    .to_owned(),
            ),
            Err(error) => {
                let fix = github_fix(
                    &error,
                    "Deployments: write on the repository, or set `[git] deployments = false`",
                );
                failed(check, error.to_string(), fix)
            }
        });
    }

    if config.builder.kind == BuilderKind::Codefresh {
        let check = format!(
            "Codefresh build pipeline `{}`",
            config.builder.codefresh_pipeline
        );
        let settings = neuro_deploy_codefresh::BuildSettings {
            timeout: config.builder.timeout,
            poll: Duration::from_secs(10),
            request_timeout: MONITORING_BOUND,
        };
        checks.push(
            match neuro_deploy_codefresh::CodefreshBuilder::from_env(
                &config.builder.codefresh_pipeline,
                settings,
            ) {
                Ok(_) => passed(
                    check,
                    "CF_API_KEY is set; the first build proves the key may run the pipeline"
                        .to_owned(),
                ),
                Err(error) => failed(
                    check,
                    error.to_string(),
                    "set CF_API_KEY to a Codefresh API key that may run the build pipeline (CF_URL for a Codefresh other than g.codefresh.io)".to_owned(),
                ),
            },
        );
    }

    checks.extend(monitoring_checks(config).await);

    let all_ok = checks.iter().all(|c| c.ok);
    let status = if all_ok {
        ExitStatus::Done
    } else {
        ExitStatus::Failed
    };
    let mut text = String::new();
    for check in &checks {
        match &check.fix {
            None => text.push_str(&format!("✓ {} — {}\n", check.check, check.detail)),
            Some(fix) if check.warning => text.push_str(&format!(
                "! {} — {}\n    fix: {fix}\n",
                check.check, check.detail
            )),
            Some(fix) => text.push_str(&format!(
                "✗ {} — {}\n    fix: {fix}\n",
                check.check, check.detail
            )),
        }
    }
    text.push_str(if all_ok {
        "every check passed\n"
    } else {
        "some checks failed: fix them and run `neuro-deploy doctor` again\n"
    });
    let document = DoctorDocument {
        schema_version: SCHEMA_VERSION,
        checks,
        exit_code: status.code(),
    };
    context.printer.print(&document, &text);
    Ok(status)
}

/// What to do about a GitHub check that failed: a refused token needs `needs`; a GitHub that
/// could not be reached needs the network or `GITHUB_API_URL`, not another token.
fn github_fix(error: &AdapterError, needs: &str) -> String {
    match error {
        AdapterError::Unauthorized { .. } => format!("give GITHUB_TOKEN {needs}"),
        AdapterError::NotFound { .. } => format!(
            "check `git.repository` (`owner/name`), and that GITHUB_TOKEN can see it ({needs})"
        ),
        _ => "GitHub could not be reached: check the network, a proxy, and GITHUB_API_URL (GitHub Enterprise: https://HOST/api/v3)".to_owned(),
    }
}

/// How long one monitoring check may take.
const MONITORING_BOUND: Duration = Duration::from_secs(5);

/// Each configured Prometheus, Alertmanager and Pushgateway ready; each query evaluated (a range
/// vector or a query Prometheus refuses is a failed check); each environment's matchers asked.
async fn monitoring_checks(config: &Config) -> Vec<Check> {
    let tokens = Tokens::from_env();
    let Ok(monitoring) = Monitoring::new(tokens.clone()) else {
        return Vec::new();
    };
    let mut checks = Vec::new();
    let mut asked: Vec<String> = Vec::new();
    let mut is_ready = async |service: &'static str, url: &str, token: &Token, variable: &str| {
        let check = format!("{service} at {url}");
        let answer = ready(service, url, token, MONITORING_BOUND).await;
        let ok = answer.is_ok();
        if !asked.contains(&check) {
            asked.push(check.clone());
            checks.push(match answer {
                Ok(()) => passed(check, "ready".to_owned()),
                Err(error) => failed(
                    check,
                    error.to_string(),
                    format!("check the URL in the config, that it runs, and {variable} when it needs a token"),
                ),
            });
        }
        ok
    };
    let mut later = Vec::new();
    for (i, env) in config.environments.iter().enumerate() {
        let Some(verify) = &env.verify else { continue };
        if let Some(url) = &verify.prometheus
            && !verify.queries.is_empty()
            && is_ready(
                "prometheus",
                url,
                &tokens.prometheus,
                neuro_deploy_prometheus::PROMETHEUS_TOKEN_ENV,
            )
            .await
        {
            for (j, query) in verify.queries.iter().enumerate() {
                let check = format!("query `{}` of `{}`", query.name, env.name);
                later.push(match monitoring.query(url, &query.query, MONITORING_BOUND).await {
                    Ok(answer) => passed(check, format!("evaluates; {}", match answer.judge(query) {
                        Ok(now) | Err(now) => format!("now: {now}"),
                    })),
                    Err(error) => failed(
                        check,
                        error.to_string(),
                        format!("fix `environments[{i}].verify.queries[{j}].query`: it must evaluate to an instant vector or a scalar"),
                    ),
                });
            }
        }
        if let Some(url) = &verify.alertmanager
            && !verify.alerts.is_empty()
            && is_ready(
                "alertmanager",
                url,
                &tokens.alertmanager,
                neuro_deploy_prometheus::ALERTMANAGER_TOKEN_ENV,
            )
            .await
        {
            let check = format!("alert matchers of `{}`", env.name);
            later.push(
                match monitoring
                    .active_alerts(url, &verify.alerts, MONITORING_BOUND)
                    .await
                {
                    Ok(firing) => passed(
                        check,
                        format!("accepted; {} active alert(s) match now", firing.len()),
                    ),
                    Err(error) => failed(
                        check,
                        error.to_string(),
                        format!("fix `environments[{i}].verify.alerts`"),
                    ),
                },
            );
        }
    }
    if let Some(url) = &config.telemetry.pushgateway {
        is_ready(
            "pushgateway",
            url,
            &tokens.pushgateway,
            neuro_deploy_prometheus::PUSHGATEWAY_TOKEN_ENV,
        )
        .await;
    }
    checks.extend(later);
    checks
}
