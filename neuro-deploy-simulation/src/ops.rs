//! What people and CI do in a history, each as a process on some machine: merges, releases,
//! `deploy`, `promote`, `rollback` (the real executor), freezes and their lifting, approvals,
//! quarantine clearances (the core's `guard::update` and `SharedState`, as the CLI calls them);
//! and what happens around them: training jobs, other writers of the Deployments, clock steps.

use std::sync::Arc;

use neuro_deploy_core::model::{Clearance, Freeze, Unfrozen};
use neuro_deploy_core::{
    Approval, Config, DeployTarget, Event, Executor, Registry, Report, RunOptions, SharedState,
    Version,
};
use rand::RngExt;
use tokio::time::Instant;

use crate::node::{Node, Shared, lock};
use crate::world::{NAMESPACES, PRODUCTION, Process, REGIONS, World};

/// The machines runs start from; each has its own wall clock.
pub const MACHINES: [&str; 4] = ["ci-runner-1", "ci-runner-2", "laptop-a", "laptop-b"];
/// Who CI runs as.
pub const DEPLOYER: &str = "system:serviceaccount:ci:neuro-deploy";

/// What a process does.
#[derive(Debug, Clone)]
pub enum Op {
    /// An executor run of this event.
    Run(Event),
    Freeze(String),
    Unfreeze(String),
    /// An approval of a version for production.
    Approve(String),
    /// Clears every quarantine in force in a namespace.
    Clear(String),
}

/// How a process ended.
#[derive(Debug)]
pub enum Ended {
    Ran(Box<Report>),
    /// An operator's change, and whether it was made.
    Changed(Result<(), String>),
}

/// Registers a new process for `user`, under `control`, and returns its connection to the
/// world.
pub fn spawn_process(
    world: &Shared,
    user: &str,
    doing: String,
    rollback: bool,
    control: crate::control::Shared,
) -> Node {
    let mut w = lock(world);
    let machine = if user == DEPLOYER {
        w.rng.random_range(0..2)
    } else {
        w.rng.random_range(2..MACHINES.len())
    };
    let name = format!("run-{}", w.processes.len() + 1);
    let identity = format!("{user}@{}", MACHINES[machine]);
    let started_at = w.wall(machine);
    w.log(
        &name,
        format!("starts: {doing} (as {user}, wall clock {started_at})"),
    );
    w.processes.push(Process {
        name: name.clone(),
        holder: format!("{identity}/{name}"),
        user: user.to_owned(),
        started: Instant::now(),
        started_at,
        rollback,
        locked_since: Default::default(),
        state_reads: Vec::new(),
        versions_read: Default::default(),
        samples: Vec::new(),
        writes: Vec::new(),
        at_unlock: None,
        crashed: false,
        ended: None,
        reason: None,
    });
    drop(w);
    Node {
        world: Arc::clone(world),
        process: name,
        machine,
        lease_seen: Arc::default(),
        control,
    }
}

/// Carries out `op` as the process `node`.
pub async fn perform(node: Node, config: Config, op: Op) -> Ended {
    let (user, started_at, identity) = node.with(|w| {
        let p = w.processes.iter().find(|p| p.name == node.process);
        let user = p.map(|p| p.user.clone()).unwrap_or_default();
        let at = p.map(|p| p.started_at).unwrap_or(w.wall_begun);
        (
            user.clone(),
            at,
            format!("{user}@{}", MACHINES[node.machine]),
        )
    });
    let by = format!("{user}@{}", MACHINES[node.machine]);
    match op {
        Op::Run(event) => {
            let adapter = Arc::new(node.clone());
            let executor = Executor::builder(config)
                .registry(adapter.clone())
                .image_builder(adapter.clone())
                .queues(adapter.clone())
                .cluster(adapter.clone())
                .releases(adapter.clone())
                .health_checker(adapter.clone())
                .shared_state(adapter)
                .build();
            let executor = match executor {
                Ok(executor) => executor,
                Err(missing) => return Ended::Changed(Err(missing.to_string())),
            };
            let options = RunOptions::new(identity, node.process.clone(), started_at);
            Ended::Ran(Box::new(executor.run(&event, &options).await))
        }
        Op::Freeze(namespace) => {
            let at = node.wall();
            let changed = neuro_deploy_core::guard::update(&node, &namespace, |d| {
                d.freeze = Some(Freeze {
                    by: by.clone(),
                    at,
                    reason: "an incident".to_owned(),
                    until: None,
                });
            })
            .await;
            Ended::Changed(changed.map(|_| ()).map_err(|e| e.to_string()))
        }
        Op::Unfreeze(namespace) => {
            let at = node.wall();
            let changed = neuro_deploy_core::guard::update(&node, &namespace, |d| {
                d.freeze = None;
                d.unfrozen = Some(Unfrozen {
                    by: by.clone(),
                    at,
                    reason: "resolved".to_owned(),
                });
            })
            .await;
            Ended::Changed(changed.map(|_| ()).map_err(|e| e.to_string()))
        }
        Op::Approve(version) => {
            let found = node.find(&version).await;
            let digest = match found {
                Ok(Some(image)) => image.digest,
                Ok(None) => {
                    return Ended::Changed(Err(format!("{version} is not in the registry")));
                }
                Err(error) => return Ended::Changed(Err(error.to_string())),
            };
            let approval = Approval {
                version,
                digest,
                by: user,
                at: node.wall(),
                reason: "looked at it on staging".to_owned(),
            };
            let recorded = node.record_approval(PRODUCTION, &approval).await;
            Ended::Changed(recorded.map_err(|e| e.to_string()))
        }
        Op::Clear(namespace) => {
            let state = match node.read_state(&namespace).await {
                Ok(state) => state.state,
                Err(error) => return Ended::Changed(Err(error.to_string())),
            };
            let versions: Vec<String> = state
                .quarantine
                .iter()
                .filter(|q| q.cleared.is_none())
                .map(|q| q.version.clone())
                .collect();
            let at = node.wall();
            let changed = neuro_deploy_core::guard::update(&node, &namespace, |d| {
                for version in &versions {
                    d.clearances.push(Clearance {
                        version: version.clone(),
                        record: Unfrozen {
                            by: by.clone(),
                            at,
                            reason: "fixed the cause".to_owned(),
                        },
                    });
                }
            })
            .await;
            Ended::Changed(changed.map(|_| ()).map_err(|e| e.to_string()))
        }
    }
}

/// A version to name: mostly the latest release, sometimes an older one.
fn some_release(w: &mut World) -> String {
    let tags: Vec<String> = w.releases.keys().cloned().collect();
    let mut sorted = tags;
    // v1.N.0: the minor number orders them.
    sorted.sort_by_key(|t| t.split('.').nth(1).and_then(|n| n.parse::<u32>().ok()));
    let back = if w.rng.random_bool(0.7) {
        0
    } else {
        w.rng.random_range(0..sorted.len())
    };
    sorted
        .get(sorted.len().saturating_sub(1 + back))
        .cloned()
        .unwrap_or_else(|| "v1.0.0".to_owned())
}

fn operator(w: &mut World) -> &'static str {
    crate::services::OPERATORS[w.rng.random_range(0..crate::services::OPERATORS.len())]
}

/// Picks the next thing to happen. World events (jobs, other writers, clock steps) happen
/// here; the rest is returned as a process to start: (user, what, the op).
pub fn next(w: &mut World) -> Option<(String, String, Op)> {
    let roll = w.rng.random_range(0..100u32);
    let env = |i: usize| ["dev", "staging", "production"][i].to_owned();
    match roll {
        0..=11 => {
            let sha = w.commit();
            // Some commits never become ready; some run but fail their health checks.
            let digest = w.digest_of(sha.as_str());
            match w.rng.random_range(0..100u8) {
                0..=9 => {
                    w.bad.insert(digest);
                }
                10..=19 => {
                    w.unhealthy.insert(digest);
                }
                _ => {}
            }
            let event = Event::Merged {
                branch: "main".to_owned(),
                sha: sha.clone(),
            };
            Some((
                DEPLOYER.to_owned(),
                format!("merge {}", sha.short(7)),
                Op::Run(event),
            ))
        }
        12..=19 => {
            let count = w.main.len();
            let sha =
                w.main[count.saturating_sub(1 + w.rng.random_range(0..2usize.min(count)))].clone();
            let tag = format!("v1.{}.0", w.releases.len());
            w.releases.insert(tag.clone(), sha.clone());
            w.log("op", format!("release {tag} of {}", sha.short(7)));
            let event = Event::Released {
                tag: tag.clone(),
                sha: Some(sha),
                target_branch: Some("main".into()),
                prerelease: false,
                draft: false,
            };
            Some((
                DEPLOYER.to_owned(),
                format!("release {tag}"),
                Op::Run(event),
            ))
        }
        20..=37 => {
            let tag = some_release(w);
            let version = Version::parse(&tag).ok()?;
            // CI, any operator, or one who approved this very version (their own approval
            // must not count).
            let approvers: Vec<String> = w
                .namespaces
                .get(PRODUCTION)
                .map(|ns| {
                    ns.approvals
                        .iter()
                        .filter(|a| a.version == tag)
                        .map(|a| a.by.clone())
                        .collect()
                })
                .unwrap_or_default();
            let user = match w.rng.random_range(0..3u8) {
                0 => DEPLOYER.to_owned(),
                1 if !approvers.is_empty() => {
                    approvers[w.rng.random_range(0..approvers.len())].clone()
                }
                _ => operator(w).to_owned(),
            };
            let event = Event::Promote {
                version,
                to: None,
                allow_downgrade: false,
            };
            Some((user, format!("promote {tag}"), Op::Run(event)))
        }
        38..=43 => {
            let tag = some_release(w);
            let version = Version::parse(&tag).ok()?;
            let target = DeployTarget::Environment(env(w.rng.random_range(0..2)));
            let doing = format!("deploy {tag} to {target}");
            Some((
                operator(w).to_owned(),
                doing,
                Op::Run(Event::Deploy { version, target }),
            ))
        }
        44..=47 => {
            let target = env(w.rng.random_range(0..3));
            let event = Event::Rollback {
                env: target.clone(),
                skip_queue_gate: None,
            };
            Some((
                operator(w).to_owned(),
                format!("rollback {target}"),
                Op::Run(event),
            ))
        }
        48..=52 => {
            let namespace = NAMESPACES[w.rng.random_range(1..3)].to_owned();
            Some((
                operator(w).to_owned(),
                format!("freeze {namespace}"),
                Op::Freeze(namespace),
            ))
        }
        53..=59 => {
            let namespace = NAMESPACES[w.rng.random_range(1..3)].to_owned();
            Some((
                operator(w).to_owned(),
                format!("unfreeze {namespace}"),
                Op::Unfreeze(namespace),
            ))
        }
        60..=71 => {
            let tag = some_release(w);
            Some((
                operator(w).to_owned(),
                format!("approve {tag}"),
                Op::Approve(tag),
            ))
        }
        72..=75 => {
            let namespace = NAMESPACES[w.rng.random_range(1..3)].to_owned();
            Some((
                operator(w).to_owned(),
                format!("clear quarantine in {namespace}"),
                Op::Clear(namespace),
            ))
        }
        76..=89 => {
            let region = REGIONS[w.rng.random_range(0..REGIONS.len())];
            let delayed = w.rng.random_bool(0.2);
            crate::controller::job_arrives(w, region, delayed);
            None
        }
        90..=95 => {
            let namespace = NAMESPACES[w.rng.random_range(0..NAMESPACES.len())].to_owned();
            let scale = w.rng.random_bool(0.5);
            let index = w.rng.random_range(0..crate::world::APPS.len());
            let mut rolled = None;
            if let Some(d) = w
                .namespaces
                .get_mut(&namespace)
                .and_then(|n| n.deployments.get_mut(index))
            {
                d.resource_version += 1;
                if scale {
                    d.generation += 1;
                    rolled = Some((d.name.clone(), d.generation));
                }
            }
            let what = if scale { "scales" } else { "annotates" };
            w.log(
                "op",
                format!("another writer {what} a Deployment in {namespace}"),
            );
            w.fault("another writer");
            if let Some((name, generation)) = rolled {
                crate::controller::roll_out(w, &namespace, &name, generation);
            }
            None
        }
        _ => {
            let machine = w.rng.random_range(0..MACHINES.len());
            let minutes = w.rng.random_range(-90..90i64);
            w.skew[machine] += chrono::Duration::minutes(minutes);
            w.log(
                "op",
                format!("{}'s wall clock steps {minutes} minutes", MACHINES[machine]),
            );
            w.fault("wall clock step");
            None
        }
    }
}
