//! The cluster as the executor's `ClusterDeployer` sees it: Deployments read and patched with
//! the API server's `resourceVersion` precondition (and the kube adapter's rules for a 409),
//! rollouts the controller moves on over simulated time (`controller.rs`), and the Lease judged
//! the client-go way — another holder's Lease is taken over only after this run watched it
//! unchanged for its whole duration on its own monotonic clock.

use std::time::Duration;

use async_trait::async_trait;
use neuro_deploy_core::model::annotations;
use neuro_deploy_core::{
    AdapterError, ClusterDeployer, DeployAudit, ImageChange, LockAttempt, LockHandle,
    RolloutResult, Workload,
};
use rand::RngExt;
use tokio::time::Instant;

use crate::node::Node;
use crate::world::{Lease, Written};

fn conflict(operation: &str) -> AdapterError {
    AdapterError::Conflict {
        service: "kubernetes",
        operation: operation.to_owned(),
    }
}

/// How often a run looks at another holder's Lease while it waits for it to expire.
const LEASE_POLL: Duration = Duration::from_secs(2);
/// How often a rollout wait reads the Deployments.
const ROLLOUT_POLL: Duration = Duration::from_secs(2);

impl Node {
    /// One Deployment's patch: the changes to it and the audit annotations.
    async fn patch(
        &self,
        namespace: &str,
        name: &str,
        changes: Vec<ImageChange>,
        audit: &DeployAudit,
    ) -> Result<(), AdapterError> {
        let (namespace, name) = (namespace.to_owned(), name.to_owned());
        let mut set = audit.to_annotations();
        for key in audit.cleared_annotations() {
            set.remove(key);
        }
        let cleared: Vec<&'static str> = audit.cleared_annotations();
        let restore = audit.rolled_back.is_some();
        let operation = format!("patching Deployment {name} in {namespace}");
        self.request("kubernetes", operation.clone(), move |w, who, answered| {
            let ns = w
                .namespaces
                .get_mut(&namespace)
                .ok_or_else(|| conflict(&operation))?;
            let Some(d) = ns.deployment_mut(&name) else {
                return Err(conflict(&operation));
            };
            let Some(change) = changes.first() else {
                return Ok(());
            };
            // The API server's precondition, with the kube adapter's reading of a 409: a
            // change of status only (generation and images as judged) is written on the fresh
            // version; this very write landed earlier is success; anything else is refused.
            let current = Some(d.resource_version.to_string());
            if change.resource_version != current {
                let same_spec = change.generation == Some(d.generation);
                if d.image == change.image && same_spec {
                    return Ok(());
                }
                if !(same_spec && d.image == change.previous_image) {
                    return Err(conflict(&format!(
                        "{operation}: it changed since it was read (now runs {})",
                        d.image
                    )));
                }
            }
            let before = d.image.clone();
            d.image = change.image.clone();
            d.generation += 1;
            d.resource_version += 1;
            for key in &cleared {
                d.annotations.remove(*key);
            }
            d.annotations.extend(set.clone());
            let generation = d.generation;
            let image = d.image.clone();
            w.log(
                who,
                format!(
                    "{namespace}/{name}: {before} -> {image}{}",
                    if restore { " (restore)" } else { "" }
                ),
            );
            let written = Written {
                deployment: name.clone(),
                before: before.clone(),
                image: image.clone(),
                restore,
                answered,
            };
            crate::invariants::on_image_write(w, who, &namespace, &written, change, &set);
            if let Some(p) = w.process(who) {
                p.writes.push((namespace.clone(), written));
            }
            crate::controller::roll_out(w, &namespace, &name, generation);
            Ok(())
        })
        .await
    }

    async fn read_lease(&self, namespace: &str) -> Result<Option<Lease>, AdapterError> {
        let namespace = namespace.to_owned();
        let operation = format!("reading the Lease in {namespace}");
        self.request("kubernetes", operation, move |w, _, _| {
            Ok(w.namespaces.get(&namespace).and_then(|n| n.lease.clone()))
        })
        .await
    }

    /// Writes the Lease if it is still at `expected` (0: absent); `Ok(false)` on a 409.
    async fn swap_lease(
        &self,
        namespace: &str,
        expected: u64,
        holder: Option<String>,
        duration: Duration,
    ) -> Result<Option<u64>, AdapterError> {
        let namespace = namespace.to_owned();
        let renewed = self.wall();
        let operation = format!("writing the Lease in {namespace}");
        self.request("kubernetes", operation, move |w, who, _| {
            let Some(ns) = w.namespaces.get_mut(&namespace) else {
                return Ok(None);
            };
            let now = ns.lease.as_ref().map_or(0, |l| l.resource_version);
            if now != expected {
                return Ok(None);
            }
            let changed_hands = ns.lease.as_ref().and_then(|l| l.holder.clone()) != holder;
            ns.lease = Some(Lease {
                holder: holder.clone(),
                renewed,
                duration,
                resource_version: now + 1,
            });
            if changed_hands {
                let whom = holder.clone().unwrap_or_else(|| "nobody".to_owned());
                w.log(who, format!("{namespace}: lock now held by {whom}"));
                let snapshot = w.namespaces.get(&namespace).map(|n| n.deployments.clone());
                let taken = Instant::now();
                if let Some(p) = w.process(who) {
                    if holder.as_deref() == Some(p.holder.as_str()) {
                        p.locked_since.insert(namespace.clone(), taken);
                    } else if let (None, Some(deployments)) = (&holder, snapshot) {
                        p.at_unlock = Some((namespace.clone(), deployments));
                    }
                }
            }
            Ok(Some(now + 1))
        })
        .await
    }

    fn handle(&self, namespace: &str, holder: &str, version: u64) -> LockHandle {
        LockHandle {
            namespace: namespace.to_owned(),
            holder: holder.to_owned(),
            resource_version: version.to_string(),
        }
    }

    /// How long this run has seen another holder's Lease unchanged (its version), across its
    /// lock attempts, on its own monotonic clock.
    fn unchanged_for(&self, namespace: &str, lease: &Lease) -> Duration {
        let mut seen = match self.lease_seen.lock() {
            Ok(seen) => seen,
            Err(poisoned) => poisoned.into_inner(),
        };
        let now = Instant::now();
        let entry = seen
            .entry(namespace.to_owned())
            .or_insert((lease.resource_version, now));
        if entry.0 != lease.resource_version {
            *entry = (lease.resource_version, now);
        }
        now.duration_since(entry.1)
    }

    /// Watches another holder's Lease until it has stayed unchanged for its whole duration;
    /// `Some(version)` then (its holder is gone), `None` as soon as it changes.
    async fn watch_until_expired(
        &self,
        namespace: &str,
        seen: &Lease,
    ) -> Result<Option<u64>, AdapterError> {
        loop {
            if self.unchanged_for(namespace, seen) >= seen.duration {
                return Ok(Some(seen.resource_version));
            }
            tokio::time::sleep(LEASE_POLL).await;
            match self.read_lease(namespace).await? {
                Some(l) if l.resource_version == seen.resource_version => {}
                _ => return Ok(None),
            }
        }
    }
}

#[async_trait]
impl ClusterDeployer for Node {
    async fn workloads(&self, namespace: &str) -> Result<Vec<Workload>, AdapterError> {
        let namespace = namespace.to_owned();
        let operation = format!("listing Deployments in {namespace}");
        self.request("kubernetes", operation, move |w, who, _| {
            let deployments = w
                .namespaces
                .get(&namespace)
                .map(|n| n.deployments.clone())
                .unwrap_or_default();
            if w.holds(who, &namespace)
                && let Some(p) = w.process(who)
            {
                for d in &deployments {
                    let key = (
                        namespace.clone(),
                        d.name.clone(),
                        d.resource_version.to_string(),
                    );
                    p.versions_read.insert(key);
                }
            }
            Ok(deployments.iter().map(|d| d.workload()).collect())
        })
        .await
    }

    async fn set_images(
        &self,
        namespace: &str,
        changes: &[ImageChange],
        audit: &DeployAudit,
    ) -> Result<(), AdapterError> {
        for name in ImageChange::workloads(changes) {
            let mine: Vec<ImageChange> = changes
                .iter()
                .filter(|c| c.workload == name)
                .cloned()
                .collect();
            self.patch(namespace, &name, mine, audit).await?;
        }
        Ok(())
    }

    async fn await_rollout(
        &self,
        namespace: &str,
        workloads: &[String],
        timeout: Duration,
    ) -> Result<RolloutResult, AdapterError> {
        let since = Instant::now();
        loop {
            let now = self.workloads(namespace).await?;
            let mine: Vec<&Workload> = now.iter().filter(|w| workloads.contains(&w.name)).collect();
            if let Some(failed) = mine.iter().find(|w| w.rollout.deadline_exceeded) {
                return Ok(RolloutResult::Failed {
                    workload: failed.name.clone(),
                    reason: "progress deadline exceeded".to_owned(),
                });
            }
            let pending: Vec<String> = mine
                .iter()
                .filter(|w| !w.rollout.state().is_complete())
                .map(|w| w.name.clone())
                .collect();
            if pending.is_empty() {
                return Ok(RolloutResult::Complete);
            }
            if since.elapsed() >= timeout {
                return Ok(RolloutResult::TimedOut { pending });
            }
            // A watch that ends is resumed with a fresh list, as the kube adapter does.
            let ended = self.with(|w| {
                let ends = w.fault_rate > 0.0 && w.rng.random_bool(w.fault_rate);
                if ends {
                    w.fault("watch ends");
                }
                ends
            });
            if ended {
                continue;
            }
            tokio::time::sleep(ROLLOUT_POLL.min(timeout)).await;
        }
    }

    async fn lock(
        &self,
        namespace: &str,
        holder: &str,
        lease: Duration,
    ) -> Result<LockAttempt, AdapterError> {
        let current = self.read_lease(namespace).await?;
        let expected = match &current {
            None => 0,
            Some(l) => match l.holder.as_deref() {
                None => l.resource_version,
                Some(h) if h == holder => l.resource_version,
                Some(other) => {
                    // Its timestamps only decide whether to watch it; only watching expires it.
                    let looks_old = l.renewed
                        + chrono::Duration::from_std(l.duration).unwrap_or_default()
                        < self.wall();
                    let held = LockAttempt::Held {
                        holder: other.to_owned(),
                        expires: None,
                    };
                    // Seen unchanged for a whole lease over earlier attempts: expired, whatever
                    // the timestamps say (a clock behind must not keep a dead lock forever).
                    let expired = self.unchanged_for(namespace, l) >= l.duration;
                    if !looks_old && !expired {
                        return Ok(held);
                    }
                    match self.watch_until_expired(namespace, l).await? {
                        Some(version) => version,
                        None => return Ok(held),
                    }
                }
            },
        };
        match self
            .swap_lease(namespace, expected, Some(holder.to_owned()), lease)
            .await
        {
            Ok(Some(version)) => Ok(LockAttempt::Acquired(
                self.handle(namespace, holder, version),
            )),
            Ok(None) | Err(_) => {
                // A 409, or no answer: the Lease as it is now tells whether our write landed.
                let now = self.read_lease(namespace).await?;
                match now {
                    Some(l) if l.holder.as_deref() == Some(holder) => Ok(LockAttempt::Acquired(
                        self.handle(namespace, holder, l.resource_version),
                    )),
                    Some(l) => Ok(LockAttempt::Held {
                        holder: l.holder.unwrap_or_else(|| "another run".to_owned()),
                        expires: None,
                    }),
                    None => Ok(LockAttempt::Held {
                        holder: "another run".to_owned(),
                        expires: None,
                    }),
                }
            }
        }
    }

    async fn renew(&self, lock: &LockHandle) -> Result<LockHandle, AdapterError> {
        let current = self.read_lease(&lock.namespace).await?;
        let Some(current) = current.filter(|l| l.holder.as_deref() == Some(lock.holder.as_str()))
        else {
            return Err(conflict(&format!(
                "renewing the Lease in {}: now held by someone else",
                lock.namespace
            )));
        };
        let swapped = self
            .swap_lease(
                &lock.namespace,
                current.resource_version,
                Some(lock.holder.clone()),
                current.duration,
            )
            .await?;
        match swapped {
            Some(version) => Ok(self.handle(&lock.namespace, &lock.holder, version)),
            None => Err(conflict(&format!(
                "renewing the Lease in {}",
                lock.namespace
            ))),
        }
    }

    async fn unlock(&self, lock: &LockHandle) -> Result<(), AdapterError> {
        let current = self.read_lease(&lock.namespace).await?;
        let Some(current) = current.filter(|l| l.holder.as_deref() == Some(lock.holder.as_str()))
        else {
            return Ok(());
        };
        self.swap_lease(
            &lock.namespace,
            current.resource_version,
            None,
            current.duration,
        )
        .await?;
        Ok(())
    }

    async fn annotate(
        &self,
        namespace: &str,
        workloads: &[String],
        annotations: &[(String, String)],
    ) -> Result<(), AdapterError> {
        let (namespace, names, set) = (
            namespace.to_owned(),
            workloads.to_vec(),
            annotations.to_vec(),
        );
        let operation = format!("annotating Deployments in {namespace}");
        self.request("kubernetes", operation, move |w, who, _| {
            crate::invariants::on_annotate(w, who, &namespace);
            let mut passed = Vec::new();
            if let Some(ns) = w.namespaces.get_mut(&namespace) {
                for d in ns
                    .deployments
                    .iter_mut()
                    .filter(|d| names.contains(&d.name))
                {
                    d.annotations.extend(set.iter().cloned());
                    d.resource_version += 1;
                    // A passed verification of the version this Deployment runs.
                    let version = format!("{}@", crate::world::tag_of(&d.image));
                    let verified = set
                        .iter()
                        .any(|(k, v)| k == annotations::VERIFIED && v.starts_with(&version));
                    if verified {
                        passed.push(d.image.clone());
                    }
                }
            }
            let passed: Vec<String> = passed.iter().map(|i| w.pinned_image(i)).collect();
            if let Some(ns) = w.namespaces.get_mut(&namespace) {
                ns.verified.extend(passed);
            }
            let keys: Vec<&str> = set.iter().map(|(k, _)| k.as_str()).collect();
            let verified = keys.contains(&annotations::VERIFIED);
            w.log(
                who,
                format!("{namespace}: annotated {keys:?} (verified: {verified})"),
            );
            Ok(())
        })
        .await
    }
}
