//! The invariants, judged against the world's own state and what each run was served — never
//! against what a run reports, except to check that the report tells the truth.
//!
//! 1. Production runs only images that ran complete on every staging Deployment and passed
//!    staging's checks (pinned to that digest), or that it ran before.
//! 2. No write lands from a run that does not hold the namespace's Lease at that moment.
//! 3. A deploy's image write lands only after the run read the guardrail state under its lock
//!    and that state let it through: not frozen, inside the deploy windows, the version not
//!    quarantined, enough approvals by others (rollbacks pass all four); a write to production
//!    only once the run's samples found every queue drained in both regions over the window
//!    (`min_samples` all-zero samples in a row spanning it), the last of them taken after the
//!    lock was acquired.
//! 4. Every image write carries its record (the annotations), is judged on Deployments read
//!    under the lock (never on stale facts, after a crash or not), and every run that ends
//!    reports each write that landed and each restore.
//! 5. A run that deployed leaves every Deployment on its image with a complete rollout; one
//!    that rolled back, or was refused, leaves what it wrote back on what ran before.
//! 6. (In `history.rs`.) Once faults stop, each intended operation converges or refuses for a
//!    stated reason within a bound, and a dead holder's Lease is taken over.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Timelike, Utc};
use neuro_deploy_core::model::annotations;
use neuro_deploy_core::{ImageChange, Outcome, Report};
use tokio::time::Instant;

use crate::world::{PRODUCTION, REGIONS, World, Written, tag_of};

/// Approvals production needs (`[environments.approvals] required`).
pub const APPROVALS: usize = 1;
/// How long an approval counts (`expire`).
pub const APPROVAL_EXPIRE: Duration = Duration::hours(24);
/// The queue gate's window and samples (`[queues]`).
pub const QUEUE_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);
pub const QUEUE_SAMPLES: usize = 3;

/// Production's deploy window: closed for the first 10 minutes of every half hour
/// (`schedule = "*/30 * * * *"`, `duration = "10m"`, a deny window), judged here on its own.
pub fn window_closed(at: DateTime<Utc>) -> bool {
    at.minute() % 30 < 10
}

/// After every step: invariant 1.
pub fn after_step(world: &mut World) {
    world.checks += 1;
    let Some(production) = world.namespaces.get(PRODUCTION) else {
        return;
    };
    let staging = world.namespaces.get("staging");
    for d in &production.deployments {
        let image = world.pinned_image(&d.image);
        let from_staging =
            staging.is_some_and(|s| s.ran.contains(&image) && s.verified.contains(&image));
        if !from_staging && !production.ran.contains(&image) {
            let what = format!(
                "production's {} runs {}, which never ran complete and verified on staging nor in production before",
                d.name, d.image
            );
            world.violated("1 production runs only what staging ran complete", what);
            return;
        }
    }
}

/// When an image write lands: invariants 2, 3 and 4's record and fresh facts.
pub fn on_image_write(
    world: &mut World,
    who: &str,
    namespace: &str,
    written: &Written,
    change: &ImageChange,
    set: &BTreeMap<String, String>,
) {
    world.checks += 1;
    if !world.holds(who, namespace) {
        let what = format!(
            "{who} wrote {} in {namespace} without holding its lock",
            written.image
        );
        return world.violated("2 no write without the lock", what);
    }
    let Some(p) = world.processes.iter().find(|p| p.name == who).cloned() else {
        return;
    };
    let since = p
        .locked_since
        .get(namespace)
        .copied()
        .unwrap_or(world.begun);
    let key = (
        namespace.to_owned(),
        written.deployment.clone(),
        change.resource_version.clone().unwrap_or_default(),
    );
    if !p.versions_read.contains(&key) {
        let what = format!(
            "{who} wrote {} on resourceVersion {:?}, which it was never served under its lock",
            written.deployment, change.resource_version
        );
        return world.violated("4 writes are judged on facts read under the lock", what);
    }
    if !set.contains_key(annotations::DEPLOYED_BY) || !set.contains_key(annotations::DEPLOYED_AT) {
        let what = format!("{who} wrote {} without its record", written.deployment);
        return world.violated("4 every write is on the record", what);
    }
    if written.restore {
        return;
    }
    let tag = tag_of(&written.image);
    if !p.rollback {
        let Some((_, read_at, _, state)) = p
            .state_reads
            .iter()
            .rev()
            .find(|(at, _, ns, _)| ns == namespace && *at >= since)
            .cloned()
        else {
            let what = format!(
                "{who} wrote {} without reading the guardrails under its lock",
                written.image
            );
            return world.violated("3 gates are judged under the lock", what);
        };
        let now = run_instant(&p.started_at, p.started);
        // Judged here on the records themselves, not with the core's helpers: a bug in those
        // must not hide from the check.
        let frozen = state
            .freeze
            .as_ref()
            .is_some_and(|f| f.until.is_none_or(|until| read_at < until));
        let quarantined = state
            .quarantine
            .iter()
            .find(|q| q.version == tag && q.cleared.is_none());
        let refused = if frozen {
            Some("the environment was frozen".to_owned())
        } else if let Some(q) = quarantined {
            Some(format!("{} was quarantined ({})", q.version, q.detail))
        } else if namespace == PRODUCTION
            && window_closed(read_at)
            && window_closed(now)
            && now - read_at < Duration::minutes(20)
        {
            Some(format!("the deploy window was closed at {read_at}"))
        } else if namespace == PRODUCTION {
            let digest = written.image.rsplit_once('@').map(|(_, d)| d);
            let others: BTreeSet<&str> = state
                .approvals
                .iter()
                .filter(|a| a.version == tag && digest.is_some() && a.digest.as_deref() == digest)
                .filter(|a| a.at > read_at - APPROVAL_EXPIRE && a.by != p.user)
                .map(|a| a.by.as_str())
                .collect();
            (others.len() < APPROVALS).then(|| {
                format!(
                    "{} approvals by others than {}, {APPROVALS} needed",
                    others.len(),
                    p.user
                )
            })
        } else {
            None
        };
        if let Some(why) = refused {
            let what = format!("{who} wrote {} in {namespace} though {why}", written.image);
            return world.violated("3 nothing is written through a closed gate", what);
        }
    }
    if namespace == PRODUCTION
        && let Some(why) = queues_not_drained(&p.samples, since)
    {
        let what = format!("{who} wrote {} to production though {why}", written.image);
        world.violated("3 production waits for drained queues", what);
    }
}

/// When annotations land: invariant 2.
pub fn on_annotate(world: &mut World, who: &str, namespace: &str) {
    world.checks += 1;
    if !world.holds(who, namespace) {
        let what = format!("{who} annotated Deployments in {namespace} without holding its lock");
        world.violated("2 no write without the lock", what);
    }
}

/// Why the samples a run took do not show every region drained over the window, ending with
/// a sample taken after the lock was acquired (`since`), if they do not.
fn queues_not_drained(
    samples: &[(Instant, String, neuro_deploy_core::QueueDepth)],
    since: Instant,
) -> Option<String> {
    for region in REGIONS {
        let mine: Vec<_> = samples.iter().filter(|(_, r, _)| r == region).collect();
        if mine.last().is_none_or(|(at, _, _)| *at < since) {
            return Some(format!("no sample of {region} after the lock was acquired"));
        }
        let streak: Vec<_> = mine
            .iter()
            .rev()
            .take_while(|(_, _, d)| d.visible + d.in_flight + d.delayed == 0)
            .collect();
        let (Some(last), Some(first)) = (streak.first(), streak.last()) else {
            return Some(format!("no drained sample of {region} under the lock"));
        };
        if streak.len() < QUEUE_SAMPLES || last.0.duration_since(first.0) < QUEUE_WINDOW {
            return Some(format!(
                "{region} was drained on {} samples over {:?} only",
                streak.len(),
                last.0.duration_since(first.0)
            ));
        }
    }
    None
}

fn run_instant(started_at: &DateTime<Utc>, started: Instant) -> DateTime<Utc> {
    *started_at + Duration::from_std(started.elapsed()).unwrap_or_default()
}

/// When a run ends: invariant 4's truthful report and invariant 5.
pub fn at_run_end(world: &mut World, name: &str, report: &Report) {
    world.checks += 1;
    let Some(p) = world.processes.iter().find(|p| p.name == name).cloned() else {
        return;
    };
    for (namespace, written) in &p.writes {
        let listed = |changes: &[ImageChange]| {
            changes
                .iter()
                .any(|c| c.workload == written.deployment && c.image == written.image)
        };
        let told = if written.restore {
            listed(&report.restored) || !written.answered
        } else {
            listed(&report.applied)
        };
        if !told {
            let what = format!(
                "{name} wrote {} on {namespace}/{} and its report ({}) does not say so",
                written.image,
                written.deployment,
                report.outcome.as_str()
            );
            return world.violated("4 a run says truthfully what it wrote", what);
        }
    }
    for restored in &report.restored {
        let landed = p.writes.iter().any(|(_, w)| {
            w.restore && w.deployment == restored.workload && w.image == restored.image
        });
        if !landed {
            let what = format!(
                "{name} reports restoring {} on {}, which never landed",
                restored.image, restored.workload
            );
            return world.violated("4 a run says truthfully what it restored", what);
        }
    }
    let Some((namespace, deployments)) = &p.at_unlock else {
        return;
    };
    // What each Deployment ran before this run first wrote to it.
    let first_before = |deployment: &str| {
        p.writes
            .iter()
            .find(|(ns, w)| ns == namespace && w.deployment == deployment)
            .map(|(_, w)| w.before.clone())
    };
    let broken = match report.outcome {
        Outcome::Deployed => {
            // Complete then, or completed under this run's lock (another writer may have
            // scaled it since: a new rollout of the same image).
            let image = report.image.clone().unwrap_or_default();
            let locked = p
                .locked_since
                .get(namespace)
                .copied()
                .unwrap_or(world.begun);
            deployments
                .iter()
                .find(|d| d.image != image || !(d.complete() || d.completed_at >= locked))
                .map(|d| {
                    format!(
                        "{} runs {} (rollout complete: {}), not {image} complete",
                        d.name,
                        d.image,
                        d.complete()
                    )
                })
        }
        Outcome::RolledBack | Outcome::Refused | Outcome::Ignored => deployments
            .iter()
            .filter_map(|d| first_before(&d.name).map(|before| (d, before)))
            .find(|(d, before)| d.image != *before)
            .map(|(d, before)| {
                format!(
                    "{} runs {}, not {before} as before the run",
                    d.name, d.image
                )
            }),
        _ => None,
    };
    if let Some(why) = broken {
        let what = format!(
            "{name} ended {} on {namespace} but {why}",
            report.outcome.as_str()
        );
        world.violated("5 a run leaves what its outcome says", what);
    }
}
