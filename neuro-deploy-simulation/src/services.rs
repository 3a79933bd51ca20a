//! The world's services other than the cluster's Deployments and Leases, as the executor's
//! traits see them: the registry and the builder (ECR, Codefresh), the training queues (SQS in
//! both regions), the releases (GitHub) and the guardrail records with who may write which
//! (the API server's RBAC).

use std::time::Duration;

use async_trait::async_trait;
use neuro_deploy_core::model::{Decisions, Spent};
use neuro_deploy_core::{
    AdapterError, Approval, GitSha, HealthChecker, ImageBuilder, ImageRef, Quarantined, QueueDepth,
    QueueInspector, ReasonCode, Registry, ReleaseInfo, ReleaseSource, SharedState, VersionedState,
};
use rand::RngExt;

use crate::node::Node;
use crate::world::{REPOSITORY, World};

/// The people who may change the operators' decisions (a freeze, a clearance).
pub const OPERATORS: [&str; 3] = ["alice", "bob", "carol"];

fn unauthorized(operation: &str, user: &str) -> AdapterError {
    AdapterError::Unauthorized {
        service: "kubernetes",
        operation: operation.to_owned(),
        message: format!("{user} may not write this record"),
        source: None,
    }
}

fn user_of(world: &World, process: &str) -> String {
    world
        .processes
        .iter()
        .find(|p| p.name == process)
        .map(|p| p.user.clone())
        .unwrap_or_default()
}

#[async_trait]
impl Registry for Node {
    async fn repository_uri(&self) -> Result<String, AdapterError> {
        Ok(REPOSITORY.to_owned())
    }

    async fn find(&self, tag: &str) -> Result<Option<ImageRef>, AdapterError> {
        let tag = tag.to_owned();
        self.request("ecr", format!("describing image {tag}"), move |w, _, _| {
            Ok(w.images.get(&tag).map(|digest| ImageRef {
                digest: Some(digest.clone()),
                ..ImageRef::new(REPOSITORY, tag.clone())
            }))
        })
        .await
    }

    async fn retag(&self, from: &str, to: &str) -> Result<ImageRef, AdapterError> {
        let (from, to) = (from.to_owned(), to.to_owned());
        self.request(
            "ecr",
            format!("tagging {from} as {to}"),
            move |w, who, _| {
                let Some(digest) = w.images.get(&from).cloned() else {
                    return Err(AdapterError::NotFound {
                        service: "ecr",
                        what: format!("image {REPOSITORY}:{from}"),
                        source: None,
                    });
                };
                match w.images.get(&to) {
                    Some(other) if *other != digest => {
                        return Err(AdapterError::Refused {
                            code: ReasonCode::ImmutableTag,
                            message: format!("tag {to} names another image"),
                        });
                    }
                    Some(_) => {}
                    None => {
                        w.log(who, format!("ecr: tagged {from} as {to}"));
                        w.images.insert(to.clone(), digest.clone());
                    }
                }
                Ok(ImageRef {
                    digest: Some(digest),
                    ..ImageRef::new(REPOSITORY, to)
                })
            },
        )
        .await
    }
}

#[async_trait]
impl ImageBuilder for Node {
    async fn build(&self, revision: &GitSha, image: &ImageRef) -> Result<ImageRef, AdapterError> {
        let minutes = self.with(|w| w.rng.random_range(60..240u64));
        tokio::time::sleep(Duration::from_secs(minutes)).await;
        let (revision, tag) = (revision.as_str().to_owned(), image.tag.clone());
        self.request("codefresh", format!("building {tag}"), move |w, who, _| {
            let digest = w.digest_of(&revision);
            w.log(who, format!("build pushed {tag} ({})", &digest[..15]));
            w.images.insert(tag.clone(), digest.clone());
            Ok(ImageRef {
                digest: Some(digest),
                ..ImageRef::new(REPOSITORY, tag)
            })
        })
        .await
    }
}

#[async_trait]
impl HealthChecker for Node {
    /// `http://neuro-ui.NAMESPACE/healthz` answers 503 while any of the namespace's
    /// Deployments runs an unhealthy image, else 200.
    async fn probe(&self, url: &str, _timeout: Duration) -> Result<u16, AdapterError> {
        let namespace = url
            .trim_start_matches("http://neuro-ui.")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        self.request("http", format!("probing {url}"), move |w, _, _| {
            let ns = w
                .namespaces
                .get(&namespace)
                .ok_or_else(|| missing(&namespace))?;
            let sick = ns.deployments.iter().any(|d| {
                w.image_digest(&d.image)
                    .is_some_and(|digest| w.unhealthy.contains(&digest))
            });
            Ok(if sick { 503 } else { 200 })
        })
        .await
    }
}

#[async_trait]
impl QueueInspector for Node {
    async fn depth(&self, queue: &str, region: &str) -> Result<QueueDepth, AdapterError> {
        let region = region.to_owned();
        let operation = format!("reading queue {queue} in {region}");
        self.request("sqs", operation, move |w, who, _| {
            let depth = w
                .queues
                .get(&region)
                .copied()
                .ok_or_else(|| AdapterError::NotFound {
                    service: "sqs",
                    what: format!("the queue in {region}"),
                    source: None,
                })?;
            let now = tokio::time::Instant::now();
            if let Some(p) = w.process(who) {
                p.samples.push((now, region.clone(), depth));
            }
            Ok(depth)
        })
        .await
    }
}

#[async_trait]
impl SharedState for Node {
    async fn read_state(&self, namespace: &str) -> Result<VersionedState, AdapterError> {
        let namespace = namespace.to_owned();
        let operation = format!("reading the guardrail records of {namespace}");
        self.request("kubernetes", operation, move |w, who, _| {
            let ns = w
                .namespaces
                .get(&namespace)
                .ok_or_else(|| missing(&namespace))?;
            let state = ns.guard();
            let version = (ns.decisions_version > 0).then(|| ns.decisions_version.to_string());
            if w.holds(who, &namespace) {
                let now = tokio::time::Instant::now();
                if let Some(p) = w.process(who) {
                    let since = chrono::Duration::from_std(now.duration_since(p.started));
                    let instant = p.started_at + since.unwrap_or_default();
                    p.state_reads
                        .push((now, instant, namespace.clone(), state.clone()));
                }
            }
            Ok(VersionedState { state, version })
        })
        .await
    }

    async fn write_decisions(
        &self,
        namespace: &str,
        decisions: &Decisions,
        version: Option<String>,
    ) -> Result<(), AdapterError> {
        let (namespace, decisions) = (namespace.to_owned(), decisions.clone());
        let operation = format!("writing the decisions of {namespace}");
        self.request("kubernetes", operation.clone(), move |w, who, _| {
            let user = user_of(w, who);
            if !OPERATORS.contains(&user.as_str()) {
                return Err(unauthorized(&operation, &user));
            }
            let ns = w
                .namespaces
                .get_mut(&namespace)
                .ok_or_else(|| missing(&namespace))?;
            let current = (ns.decisions_version > 0).then(|| ns.decisions_version.to_string());
            if current != version {
                return Err(AdapterError::Conflict {
                    service: "kubernetes",
                    operation,
                });
            }
            ns.decisions = decisions.clone();
            ns.decisions_version += 1;
            let frozen = decisions.freeze.is_some();
            w.log(
                who,
                format!("{namespace}: decisions written (frozen: {frozen})"),
            );
            Ok(())
        })
        .await
    }

    async fn record_approval(
        &self,
        namespace: &str,
        approval: &Approval,
    ) -> Result<(), AdapterError> {
        let (namespace, approval) = (namespace.to_owned(), approval.clone());
        let operation = format!("recording {}'s approval in {namespace}", approval.by);
        self.request("kubernetes", operation.clone(), move |w, who, _| {
            let user = user_of(w, who);
            // Only the approver's own record: RBAC `resourceNames`.
            if user != approval.by {
                return Err(unauthorized(&operation, &user));
            }
            let ns = w
                .namespaces
                .get_mut(&namespace)
                .ok_or_else(|| missing(&namespace))?;
            ns.approvals
                .retain(|a| !(a.by == approval.by && a.version == approval.version));
            ns.approvals.push(approval.clone());
            w.log(
                who,
                format!("{namespace}: {} approved {}", approval.by, approval.version),
            );
            Ok(())
        })
        .await
    }

    async fn spend_approvals(&self, namespace: &str, spent: &[Spent]) -> Result<(), AdapterError> {
        let (namespace, spent) = (namespace.to_owned(), spent.to_vec());
        let operation = format!("recording spent approvals in {namespace}");
        self.request("kubernetes", operation, move |w, who, _| {
            let ns = w
                .namespaces
                .get_mut(&namespace)
                .ok_or_else(|| missing(&namespace))?;
            for s in spent {
                if !ns.spent.contains(&s) {
                    ns.spent.push(s);
                }
            }
            w.log(who, format!("{namespace}: approvals spent"));
            Ok(())
        })
        .await
    }

    async fn add_quarantine(
        &self,
        namespace: &str,
        entry: &Quarantined,
    ) -> Result<(), AdapterError> {
        let (namespace, entry) = (namespace.to_owned(), entry.clone());
        let operation = format!("quarantining {} in {namespace}", entry.version);
        self.request("kubernetes", operation, move |w, who, _| {
            let ns = w
                .namespaces
                .get_mut(&namespace)
                .ok_or_else(|| missing(&namespace))?;
            let version = entry.version.clone();
            ns.quarantine.push(entry);
            w.log(who, format!("{namespace}: {version} quarantined"));
            Ok(())
        })
        .await
    }

    async fn authenticated_user(&self, namespace: &str) -> Result<String, AdapterError> {
        let operation = format!("asking who runs in {namespace}");
        self.request("kubernetes", operation, |w, who, _| Ok(user_of(w, who)))
            .await
    }
}

fn missing(namespace: &str) -> AdapterError {
    AdapterError::NotFound {
        service: "kubernetes",
        what: format!("namespace {namespace}"),
        source: None,
    }
}

fn release_info(tag: &str) -> ReleaseInfo {
    ReleaseInfo {
        tag: tag.to_owned(),
        target: "main".to_owned(),
        draft: false,
        prerelease: false,
    }
}

#[async_trait]
impl ReleaseSource for Node {
    async fn resolve(&self, reference: &str) -> Result<Option<GitSha>, AdapterError> {
        let reference = reference.to_owned();
        self.request(
            "github",
            format!("resolving {reference}"),
            move |w, _, _| {
                if reference == "main" {
                    return Ok(w.main.last().cloned());
                }
                if let Some(sha) = w.releases.get(&reference) {
                    return Ok(Some(sha.clone()));
                }
                Ok(w.main
                    .iter()
                    .find(|sha| reference.len() >= 7 && sha.as_str().starts_with(&reference))
                    .cloned())
            },
        )
        .await
    }

    async fn release(&self, tag: &str) -> Result<Option<ReleaseInfo>, AdapterError> {
        let tag = tag.to_owned();
        self.request(
            "github",
            format!("reading release {tag}"),
            move |w, _, _| Ok(w.releases.contains_key(&tag).then(|| release_info(&tag))),
        )
        .await
    }

    async fn releases(&self) -> Result<Vec<ReleaseInfo>, AdapterError> {
        self.request("github", "listing releases".to_owned(), |w, _, _| {
            Ok(w.releases.keys().map(|t| release_info(t)).collect())
        })
        .await
    }

    async fn branch_contains(&self, branch: &str, sha: &GitSha) -> Result<bool, AdapterError> {
        let (branch, sha) = (branch.to_owned(), sha.clone());
        self.request("github", format!("comparing {branch}"), move |w, _, _| {
            Ok(branch == "main" && w.main.contains(&sha))
        })
        .await
    }

    async fn create_branch(&self, branch: &str, _sha: &GitSha) -> Result<bool, AdapterError> {
        Err(AdapterError::failed(
            "github",
            format!("creating {branch}"),
            "hotfix branches are not simulated",
        ))
    }

    async fn create_release(&self, tag: &str, _branch: &str) -> Result<ReleaseInfo, AdapterError> {
        Err(AdapterError::failed(
            "github",
            format!("creating release {tag}"),
            "hotfix releases are not simulated",
        ))
    }
}
