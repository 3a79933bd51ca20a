//! The deploy lock: a `coordination.k8s.io/v1` Lease per namespace.
//!
//! Another holder's Lease is judged the way client-go's leader election judges it: it counts
//! as expired only after this process has *observed* it unchanged (holder, `renewTime`,
//! `resourceVersion`) for its whole duration on its own monotonic clock ([`LeaseObserver`]).
//! Someone else's timestamps are never compared with the local wall clock to take a lock over;
//! they only decide whether to give up at once (they look fresh) or to watch (they look old).
//! What this process has seen is kept across its attempts (`--wait-for-lock` tries again every
//! few seconds): a Lease seen unchanged for its whole duration over them is expired even when
//! its timestamps look fresh — a clock behind must not keep a dead holder's lock forever.
//! Every write is a compare-and-swap on `resourceVersion`, and every write is idempotent: a
//! write whose answer was lost and that is retried gets 409, and a re-read that names us as
//! holder is success, not "held by someone else".
//!
//! What it is not: it does not decide when to renew; the core's executor does (and judges its
//! own hold by elapsed time).

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Patch, PatchParams, PostParams};
use neuro_deploy_core::model::annotations;
use neuro_deploy_core::{AdapterError, LockAttempt, LockHandle};
use serde::Serialize;
use serde_json::json;
use tokio::time::Instant;

use crate::{FIELD_MANAGER, KubeCluster, SERVICE};

mod observe;

pub use observe::{LeaseObserver, LeaseState, Observed};

/// Who holds a namespace's lock, as `neuro-deploy lock status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaseInfo {
    /// Namespace.
    pub namespace: String,
    /// Lease name.
    pub name: String,
    /// The holder, when held.
    pub holder: Option<String>,
    /// When the holder took it (RFC 3339, the holder's clock).
    pub acquired_at: Option<String>,
    /// When the holder last renewed it (RFC 3339, the holder's clock).
    pub renewed_at: Option<String>,
    /// Lease duration in seconds.
    pub lease_seconds: Option<i32>,
    /// How often it changed hands.
    pub transitions: i32,
    /// Who broke it last, when and why (`neuro-deploy lock break`).
    pub broken_by: Option<String>,
    /// Whether its own timestamps look expired by this machine's clock (a hint only: a
    /// takeover always needs the full observed duration).
    pub looks_expired: bool,
}

/// How a `lock break` ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum BreakResult {
    /// Nobody held it.
    NotHeld,
    /// Cleared; it was held by `holder`.
    Broken {
        /// The holder it was taken from.
        holder: String,
    },
    /// Its holder renewed it while we watched: it is alive and was left alone.
    Alive {
        /// The live holder.
        holder: String,
    },
}

/// Namespace → the observation of another holder's Lease this process has made so far.
pub(crate) type SeenLeases =
    std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, LeaseObserver>>>;

/// Logged when a dead holder's Lease is taken over.
const TAKEOVER: &str = "taking over a lease nobody renewed for its whole duration";

pub(crate) fn holder_of(lease: &Lease) -> Option<String> {
    lease
        .spec
        .as_ref()
        .and_then(|s| s.holder_identity.clone())
        .filter(|h| !h.is_empty())
}

fn duration_of(lease: &Lease) -> Duration {
    let seconds = lease
        .spec
        .as_ref()
        .and_then(|s| s.lease_duration_seconds)
        .unwrap_or(0);
    Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
}

/// When the Lease's own timestamps say it expires (the holder's clock).
fn expiry(lease: &Lease) -> Option<Timestamp> {
    let spec = lease.spec.as_ref()?;
    let renewed = spec.renew_time.as_ref().or(spec.acquire_time.as_ref())?.0;
    let seconds = i64::from(spec.lease_duration_seconds.unwrap_or(0));
    renewed.checked_add(SignedDuration::from_secs(seconds)).ok()
}

/// A hint only: whether the Lease's timestamps are past by this machine's clock.
fn looks_expired(lease: &Lease) -> bool {
    expiry(lease).is_none_or(|at| Timestamp::now() > at)
}

fn held_spec(
    holder: &str,
    lease: Duration,
    transitions: i32,
    acquired: Option<MicroTime>,
) -> LeaseSpec {
    let now = MicroTime(Timestamp::now());
    LeaseSpec {
        holder_identity: Some(holder.to_owned()),
        lease_duration_seconds: Some(i32::try_from(lease.as_secs()).unwrap_or(i32::MAX)),
        acquire_time: Some(acquired.unwrap_or_else(|| now.clone())),
        renew_time: Some(now),
        lease_transitions: Some(transitions),
        ..LeaseSpec::default()
    }
}

fn handle(namespace: &str, holder: &str, lease: &Lease) -> LockHandle {
    LockHandle {
        namespace: namespace.to_owned(),
        holder: holder.to_owned(),
        resource_version: lease.metadata.resource_version.clone().unwrap_or_default(),
    }
}

fn held(lease: &Lease) -> LockAttempt {
    LockAttempt::Held {
        holder: holder_of(lease).unwrap_or_else(|| "another run".to_owned()),
        expires: expiry(lease).map(|t| t.to_string()),
    }
}

impl KubeCluster {
    async fn read_lease(
        &self,
        namespace: &str,
        operation: &str,
    ) -> Result<Option<Lease>, AdapterError> {
        let api = self.leases(namespace);
        let name = &self.settings.lease_name;
        self.call(operation, || api.get_opt(name)).await
    }

    /// Replaces the Lease (compare-and-swap on the resourceVersion it carries). A 409 is
    /// answered by a re-read: `Ok(Some)` when it now names `holder` (our write landed and only
    /// its answer was lost), `Ok(None)` when someone else wrote first.
    async fn swap(
        &self,
        namespace: &str,
        holder: Option<&str>,
        lease: &Lease,
        operation: &str,
    ) -> Result<Option<Lease>, AdapterError> {
        let api = self.leases(namespace);
        let name = &self.settings.lease_name;
        let post = PostParams::default();
        match self
            .call(operation, || api.replace(name, &post, lease))
            .await
        {
            Ok(written) => Ok(Some(written)),
            Err(AdapterError::Conflict { .. }) => {
                let now = self.read_lease(namespace, operation).await?;
                Ok(now.filter(|l| holder_of(l).as_deref() == holder))
            }
            Err(error) => Err(error),
        }
    }

    pub(crate) async fn take_lease(
        &self,
        namespace: &str,
        holder: &str,
        duration: Duration,
    ) -> Result<LockAttempt, AdapterError> {
        let name = self.settings.lease_name.clone();
        let operation = format!("taking lease `{name}` in `{namespace}`");
        let Some(current) = self.read_lease(namespace, &operation).await? else {
            let fresh = Lease {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(namespace.to_owned()),
                    ..ObjectMeta::default()
                },
                spec: Some(held_spec(holder, duration, 0, None)),
            };
            let api = self.leases(namespace);
            let post = PostParams::default();
            return match self.call(&operation, || api.create(&post, &fresh)).await {
                Ok(created) => Ok(LockAttempt::Acquired(handle(namespace, holder, &created))),
                // 409: someone created it first — or our own create landed and its answer was
                // lost before the retry. The re-read tells which.
                Err(AdapterError::Conflict { .. }) => {
                    let theirs = self.read_lease(namespace, &operation).await?;
                    Ok(match theirs {
                        Some(l) if holder_of(&l).as_deref() == Some(holder) => {
                            LockAttempt::Acquired(handle(namespace, holder, &l))
                        }
                        Some(l) => held(&l),
                        None => LockAttempt::Held {
                            holder: "another run".to_owned(),
                            expires: None,
                        },
                    })
                }
                Err(error) => Err(error),
            };
        };
        let mut current = current;
        match holder_of(&current) {
            // Ours already: an earlier attempt of this run landed. Renew it as ours.
            Some(other) if other == holder => {}
            Some(other) => {
                // A Lease that looks fresh is left alone, unless this process has already seen
                // it unchanged for its whole duration (then the watch below ends at once).
                if !looks_expired(&current)
                    && self.observe(namespace, &current) != Observed::Expired
                {
                    return Ok(held(&current));
                }
                match self
                    .observe_until_expired(namespace, &current, &operation)
                    .await?
                {
                    Some(unchanged) => {
                        tracing::warn!(previous = %other, %namespace, "{TAKEOVER}");
                        current = unchanged;
                    }
                    None => {
                        let now = self.read_lease(namespace, &operation).await?;
                        return Ok(now.as_ref().map_or(
                            LockAttempt::Held {
                                holder: other,
                                expires: None,
                            },
                            held,
                        ));
                    }
                }
            }
            None => {}
        }
        let spec = current.spec.clone().unwrap_or_default();
        let ours = holder_of(&current).as_deref() == Some(holder);
        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!ours);
        let acquired = if ours {
            spec.acquire_time.clone()
        } else {
            None
        };
        let mut taken = current.clone();
        taken.spec = Some(held_spec(holder, duration, transitions, acquired));
        // The resourceVersion we read makes this a compare-and-swap: a 409 means someone else
        // won, unless the re-read names us.
        match self
            .swap(namespace, Some(holder), &taken, &operation)
            .await?
        {
            Some(written) => Ok(LockAttempt::Acquired(handle(namespace, holder, &written))),
            None => {
                let theirs = self.read_lease(namespace, &operation).await?;
                Ok(theirs.as_ref().map_or(
                    LockAttempt::Held {
                        holder: "another run".to_owned(),
                        expires: None,
                    },
                    held,
                ))
            }
        }
    }

    /// One look at another holder's Lease, added to what this process saw of it before.
    fn observe(&self, namespace: &str, lease: &Lease) -> Observed {
        let mut seen = match self.lease_seen.lock() {
            Ok(seen) => seen,
            Err(poisoned) => poisoned.into_inner(),
        };
        seen.entry(namespace.to_owned()).or_default().observe(
            LeaseState::of(lease),
            duration_of(lease),
            Instant::now(),
        )
    }

    /// Watches a Lease whose timestamps look old for its whole duration. Returns it when it
    /// stayed unchanged (its holder is gone), `None` as soon as it changes (its holder lives).
    async fn observe_until_expired(
        &self,
        namespace: &str,
        lease: &Lease,
        operation: &str,
    ) -> Result<Option<Lease>, AdapterError> {
        let duration = duration_of(lease);
        if self.observe(namespace, lease) == Observed::Expired {
            return Ok(Some(lease.clone()));
        }
        tracing::warn!(
            holder = holder_of(lease).unwrap_or_default(),
            %namespace,
            "the lock's last renewal looks old; watching it for {}s before taking it over (it is kept if its holder renews it)",
            duration.as_secs()
        );
        loop {
            let poll = self
                .settings
                .lease_poll
                .min(duration.max(Duration::from_millis(10)));
            tokio::time::sleep(poll).await;
            let Some(now) = self.read_lease(namespace, operation).await? else {
                return Ok(None);
            };
            match self.observe(namespace, &now) {
                Observed::Expired => return Ok(Some(now)),
                Observed::Unchanged { .. } => {}
                Observed::Changed => return Ok(None),
            }
        }
    }

    pub(crate) async fn renew_lease(&self, lock: &LockHandle) -> Result<LockHandle, AdapterError> {
        let name = self.settings.lease_name.clone();
        let operation = format!("renewing lease `{name}` in `{}`", lock.namespace);
        for _ in 0..=self.settings.conflict_retries {
            let current = self.read_lease(&lock.namespace, &operation).await?;
            let Some(current) = current.filter(|l| holder_of(l).as_deref() == Some(&lock.holder))
            else {
                return Err(AdapterError::Conflict {
                    service: SERVICE,
                    operation: format!("{operation}: now held by someone else"),
                });
            };
            let mut renewed = current.clone();
            if let Some(spec) = renewed.spec.as_mut() {
                spec.renew_time = Some(MicroTime(Timestamp::now()));
            }
            // A 409 whose re-read still names us: our renewal (or another of ours) landed;
            // read again and renew on top of it.
            if let Some(written) = self
                .swap(&lock.namespace, Some(&lock.holder), &renewed, &operation)
                .await?
                && written.metadata.resource_version != current.metadata.resource_version
            {
                return Ok(handle(&lock.namespace, &lock.holder, &written));
            }
        }
        Err(AdapterError::Conflict {
            service: SERVICE,
            operation: format!("{operation}: it kept changing"),
        })
    }

    pub(crate) async fn release_lease(&self, lock: &LockHandle) -> Result<(), AdapterError> {
        let name = self.settings.lease_name.clone();
        let operation = format!("releasing lease `{name}` in `{}`", lock.namespace);
        // One write when nobody wrote the Lease since our last write: a merge patch whose
        // resourceVersion is the precondition. Anything else (someone wrote it, it is gone, the
        // answer was lost) is settled by reading it, below.
        let api = self.leases(&lock.namespace);
        let release = Patch::Merge(json!({
            "metadata": { "resourceVersion": lock.resource_version },
            "spec": { "holderIdentity": null, "renewTime": null },
        }));
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        match self
            .call(&operation, || api.patch(&name, &params, &release))
            .await
        {
            Ok(_) => return Ok(()),
            Err(AdapterError::Conflict { .. } | AdapterError::NotFound { .. }) => {}
            Err(error) if error.outcome_unknown() => {}
            Err(error) => return Err(error),
        }
        for _ in 0..=self.settings.conflict_retries {
            let current = self.read_lease(&lock.namespace, &operation).await?;
            // Gone, or not ours any more: leave it alone.
            let Some(current) = current.filter(|l| holder_of(l).as_deref() == Some(&lock.holder))
            else {
                return Ok(());
            };
            let mut released = current.clone();
            if let Some(spec) = released.spec.as_mut() {
                spec.holder_identity = None;
                spec.renew_time = None;
            }
            if self
                .swap(&lock.namespace, None, &released, &operation)
                .await?
                .is_some()
            {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Who holds the lock of `namespace` (`neuro-deploy lock status`); `None` when there is no Lease.
    pub async fn lock_status(&self, namespace: &str) -> Result<Option<LeaseInfo>, AdapterError> {
        let operation = format!(
            "reading lease `{}` in `{namespace}`",
            self.settings.lease_name
        );
        let Some(lease) = self.read_lease(namespace, &operation).await? else {
            return Ok(None);
        };
        let spec = lease.spec.clone().unwrap_or_default();
        Ok(Some(LeaseInfo {
            namespace: namespace.to_owned(),
            name: self.settings.lease_name.clone(),
            holder: holder_of(&lease),
            acquired_at: spec.acquire_time.map(|t| t.0.to_string()),
            renewed_at: spec.renew_time.map(|t| t.0.to_string()),
            lease_seconds: spec.lease_duration_seconds,
            transitions: spec.lease_transitions.unwrap_or(0),
            broken_by: lease
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(annotations::LOCK_BROKEN_BY).cloned()),
            looks_expired: holder_of(&lease).is_some() && looks_expired(&lease),
        }))
    }

    /// Clears the lock of `namespace`, recording `record` (who, when, why) on the Lease. Without
    /// `force` it is cleared only once observed unrenewed for its whole duration; with `force`
    /// at once.
    pub async fn break_lock(
        &self,
        namespace: &str,
        record: &str,
        force: bool,
    ) -> Result<BreakResult, AdapterError> {
        let operation = format!(
            "breaking lease `{}` in `{namespace}`",
            self.settings.lease_name
        );
        let Some(mut current) = self.read_lease(namespace, &operation).await? else {
            return Ok(BreakResult::NotHeld);
        };
        let Some(holder) = holder_of(&current) else {
            return Ok(BreakResult::NotHeld);
        };
        if !force {
            match self
                .observe_until_expired(namespace, &current, &operation)
                .await?
            {
                Some(unchanged) => current = unchanged,
                None => return Ok(BreakResult::Alive { holder }),
            }
        }
        let mut broken = current.clone();
        if let Some(spec) = broken.spec.as_mut() {
            spec.holder_identity = None;
            spec.renew_time = None;
        }
        broken
            .metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(annotations::LOCK_BROKEN_BY.to_owned(), record.to_owned());
        match self.swap(namespace, None, &broken, &operation).await? {
            Some(_) => Ok(BreakResult::Broken { holder }),
            None => {
                let now = self.read_lease(namespace, &operation).await?;
                Ok(BreakResult::Alive {
                    holder: now.as_ref().and_then(holder_of).unwrap_or(holder),
                })
            }
        }
    }
}
