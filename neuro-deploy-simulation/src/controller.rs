//! What moves in the world on its own: the Deployment controller carrying out rollouts (it
//! observes a new generation, then completes it — or the pods never become ready and the
//! progress deadline passes, or it stalls), and training jobs moving through both regions'
//! queues (queued, running, done).

use std::time::Duration;

use neuro_deploy_core::QueueDepth;
use rand::RngExt;
use tokio::time::Instant;

use crate::world::{Job, Rolling, World};

/// How often the controller looks.
pub const TICK: Duration = Duration::from_millis(500);

/// Starts the rollout of `generation` of Deployment `name` (a patch just landed).
pub fn roll_out(world: &mut World, namespace: &str, name: &str, generation: i64) {
    let now = Instant::now();
    let observe = Duration::from_millis(world.rng.random_range(100..2000));
    // A stall is a fault: none once the faults stop.
    let stalls = world.fault_rate > 0.0 && world.rng.random_bool(0.03);
    let takes = Duration::from_secs(world.rng.random_range(5..90));
    let image = world
        .namespaces
        .get(namespace)
        .and_then(|n| n.deployments.iter().find(|d| d.name == name))
        .map(|d| d.image.clone())
        .unwrap_or_default();
    let fails = world
        .image_digest(&image)
        .is_some_and(|digest| world.bad.contains(&digest));
    let Some(d) = world
        .namespaces
        .get_mut(namespace)
        .and_then(|n| n.deployment_mut(name))
    else {
        return;
    };
    if d.generation == generation {
        d.rolling = Some(Rolling {
            observe_at: now + observe,
            ends_at: (!stalls).then_some(now + observe + takes),
            fails,
        });
        d.deadline_exceeded = false;
    }
    if stalls {
        world.fault("rollout stalls");
    }
}

/// One look of the controller and the training runners at the world.
pub fn tick(world: &mut World) {
    let now = Instant::now();
    let mut changed = Vec::new();
    for (namespace, ns) in &mut world.namespaces {
        for d in &mut ns.deployments {
            let Some(rolling) = d.rolling.clone() else {
                continue;
            };
            if d.observed < d.generation && rolling.observe_at <= now {
                d.observed = d.generation;
                d.updated = 0;
                d.resource_version += 1;
            }
            if let Some(ends) = rolling.ends_at
                && ends <= now
                && d.observed == d.generation
            {
                if rolling.fails {
                    d.deadline_exceeded = true;
                } else {
                    d.updated = d.available;
                    d.completed_at = now;
                }
                d.resource_version += 1;
                d.rolling = None;
                changed.push(format!(
                    "{namespace}/{}: rollout {}",
                    d.name,
                    if rolling.fails {
                        "failed (pods never ready)"
                    } else {
                        "complete"
                    }
                ));
            }
        }
    }
    for line in changed {
        world.log("controller", line);
    }
    world.note_settled();
    let mut jobs = std::mem::take(&mut world.jobs);
    jobs.retain_mut(|job| {
        if job.next_at > now {
            return true;
        }
        job.stage += 1;
        job.next_at = now + Duration::from_secs(world.rng.random_range(30..900));
        job.stage <= RUNNING
    });
    world.jobs = jobs;
    for depth in world.queues.values_mut() {
        *depth = QueueDepth::default();
    }
    for job in &world.jobs {
        if let Some(depth) = world.queues.get_mut(&job.region) {
            match job.stage {
                DELAYED => depth.delayed += 1,
                VISIBLE => depth.visible += 1,
                _ => depth.in_flight += 1,
            }
        }
    }
}

const DELAYED: u8 = 0;
const VISIBLE: u8 = 1;
const RUNNING: u8 = 2;

/// A training job arrives in `region` (a delayed message first, when `delayed`).
pub fn job_arrives(world: &mut World, region: &str, delayed: bool) {
    let wait = Duration::from_secs(world.rng.random_range(1..300));
    world.jobs.push(Job {
        region: region.to_owned(),
        stage: if delayed { DELAYED } else { VISIBLE },
        next_at: Instant::now() + wait,
    });
    world.log("op", format!("a training job arrives in {region}"));
    tick(world);
}
