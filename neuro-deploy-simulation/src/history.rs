//! One history: a seeded world, operations at random times from several machines at once,
//! faults, crashes and pauses; then the faults stop and the intended operations must converge
//! (invariant 6). Single-threaded, with paused time: the same seed gives the same history.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use neuro_deploy_core::{Config, Event, Outcome, ReasonCode, Version};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::control::{Controlled, ProcessFate};
use crate::node::{Shared, lock};
use crate::ops::{DEPLOYER, Ended, Op, next, perform, spawn_process};
use crate::world::{NAMESPACES, World};
use crate::{Summary, Violation};

/// The team's configuration in the simulated world (`lock.wait` is drawn per history).
fn config(wait: &str) -> String {
    format!(
        r#"
[git]
repository = "example-org/neuro-ui"

[registry]
uri = "{repository}"

[queues]
names = ["{queue}"]
window = "1m"
min_samples = 3
poll = "20s"
timeout = "10m"

[rollout]
timeout = "5m"

[lock]
lease = "30s"
renew_every = "10s"
wait = "{wait}"

[[environments]]
name = "dev"
namespace = "dev"
trigger = "merge"

[[environments]]
name = "staging"
namespace = "staging"
trigger = "release"

[environments.verify]
http = ["http://neuro-ui.staging/healthz"]
for = "30s"
every = "10s"

[[environments]]
name = "production"
namespace = "leaf-neuro-ui"
trigger = "manual"
promote_from = "staging"
min_soak = "10m"

[[environments.windows]]
kind = "deny"
schedule = "*/30 * * * *"
duration = "10m"
reason = "the first ten minutes of every half hour"

[environments.approvals]
required = {required}
expire = "24h"
"#,
        repository = crate::world::REPOSITORY,
        queue = crate::world::QUEUE,
        required = crate::invariants::APPROVALS,
    )
}

/// How long the busy part of a history lasts, simulated.
const BUSY: Duration = Duration::from_secs(3 * 3600);
/// Every run must end within this after the busy part (invariant 6).
const SETTLE: Duration = Duration::from_secs(2 * 3600);
/// Each intended operation after the faults stop must end within this.
const CONVERGE: Duration = Duration::from_secs(3600);

type Running = Vec<(String, JoinHandle<Option<Ended>>)>;

/// Runs history `seed`.
pub fn simulate(seed: u64) -> Result<Summary, Violation> {
    simulate_traced(seed).0
}

/// Runs history `seed`; also gives its whole trace.
pub fn simulate_traced(seed: u64) -> (Result<Summary, Violation>, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(history(seed)),
        Err(e) => (
            Err(Violation::harness(seed, format!("no runtime: {e}"))),
            String::new(),
        ),
    }
}

async fn history(seed: u64) -> (Result<Summary, Violation>, String) {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let wall_begun =
        DateTime::<Utc>::from_timestamp(1_796_112_000 + rng.random_range(0..86_400), 0)
            .unwrap_or_default();
    let fault_rate = [0.0, 0.01, 0.03, 0.08][rng.random_range(0..4usize)];
    let wait = ["0s", "1m"][rng.random_range(0..2usize)];
    let config = match Config::from_toml(&config(wait), "the simulation's configuration") {
        Ok(config) => config,
        Err(e) => return (Err(Violation::harness(seed, e.to_string())), String::new()),
    };
    let world: Shared = Arc::new(Mutex::new(World::new(
        seed,
        rng,
        wall_begun,
        crate::ops::MACHINES.len(),
    )));
    lock(&world).fault_rate = fault_rate;
    let ticking = {
        let world = Arc::clone(&world);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(crate::controller::TICK).await;
                crate::controller::tick(&mut lock(&world));
            }
        })
    };
    let ended = busy(&world, &config).await;
    let result = match ended {
        Ok(()) => converge(&world, &config).await,
        Err(()) => Ok(()),
    };
    ticking.abort();
    let w = lock(&world);
    let text = crate::trace_text(&w, usize::MAX);
    let judged = match (&w.violation, result) {
        (Some((invariant, what)), _) => Err(Violation::new(&w, invariant, what)),
        (None, Err(what)) => Err(Violation::new(
            &w,
            "6 once faults stop, runs converge",
            &what,
        )),
        (None, Ok(())) => Ok(Summary::of(&w)),
    };
    (judged, text)
}

/// The busy part: operations at random times, with faults. `Err` once an invariant broke.
async fn busy(world: &Shared, config: &Config) -> Result<(), ()> {
    let end = Instant::now() + BUSY;
    let mut running: Running = Vec::new();
    while Instant::now() < end {
        let pause = lock(world).rng.random_range(5..240u64);
        tokio::time::sleep(Duration::from_secs(pause)).await;
        reap(world, &mut running).await;
        if lock(world).violation.is_some() {
            return Err(());
        }
        let started = {
            let mut w = lock(world);
            w.steps += 1;
            let op = next(&mut w);
            crate::invariants::after_step(&mut w);
            op
        };
        if let Some((user, doing, op)) = started {
            let fate = fate(&mut lock(world));
            running.push(start(world, config, &user, doing, op, fate));
        }
    }
    lock(world).fault_rate = 0.0;
    let deadline = Instant::now() + SETTLE;
    while !running.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(5)).await;
        reap(world, &mut running).await;
    }
    if let Some((name, _)) = running.first() {
        let what = format!("{name} had not ended {SETTLE:?} after the faults stopped");
        lock(world).violated("6 every run ends within a bound", what);
    }
    if lock(world).violation.is_some() {
        return Err(());
    }
    Ok(())
}

/// Draws whether a process will crash or pause, and when.
fn fate(w: &mut World) -> ProcessFate {
    let now = Instant::now();
    let mut fate = ProcessFate::default();
    // Killed or stopped at an instant, or right after one of its requests (any await point).
    if w.rng.random_bool(0.06) {
        if w.rng.random_bool(0.5) {
            fate.crash_at = Some(now + Duration::from_millis(w.rng.random_range(0..600_000)));
        } else {
            fate.crash_after_request = Some(w.rng.random_range(1..40));
        }
        w.fault("crash (kill -9)");
    }
    if w.rng.random_bool(0.08) {
        let long = Duration::from_millis(w.rng.random_range(1_000..180_000));
        if w.rng.random_bool(0.5) {
            let from = now + Duration::from_millis(w.rng.random_range(0..300_000));
            fate.pause = Some((from, from + long));
        } else {
            fate.pause_after_request = Some((w.rng.random_range(1..40), long));
        }
        w.fault("pause (SIGSTOP)");
    }
    fate
}

fn start(
    world: &Shared,
    config: &Config,
    user: &str,
    doing: String,
    op: Op,
    fate: ProcessFate,
) -> (String, JoinHandle<Option<Ended>>) {
    let rollback = matches!(op, Op::Run(Event::Rollback { .. }));
    let control = crate::control::control(fate);
    let node = spawn_process(world, user, doing, rollback, Arc::clone(&control));
    let name = node.process.clone();
    let work = perform(node, config.clone(), op);
    (name, tokio::spawn(Controlled::new(work, control)))
}

/// Collects the processes that ended and judges their end.
async fn reap(world: &Shared, running: &mut Running) {
    let mut still = Vec::new();
    for (name, handle) in running.drain(..) {
        if !handle.is_finished() {
            still.push((name, handle));
            continue;
        }
        let ended = handle.await.ok().flatten();
        let mut w = lock(world);
        match ended {
            None => {
                w.log(&name, "crashed");
                if let Some(p) = w.process(&name) {
                    p.crashed = true;
                }
            }
            Some(Ended::Ran(report)) => {
                let line = format!("ends {}: {}", report.outcome.as_str(), report.message);
                w.log(&name, line);
                if let Some(p) = w.process(&name) {
                    p.ended = Some(report.outcome);
                    p.reason = report.reason;
                }
                crate::invariants::at_run_end(&mut w, &name, &report);
            }
            Some(Ended::Changed(result)) => {
                let line = match result {
                    Ok(()) => "done".to_owned(),
                    Err(why) => format!("failed: {why}"),
                };
                w.log(&name, line);
            }
        }
    }
    *running = still;
}

/// Invariant 6: with the faults stopped and the training finished, a dead holder's Lease is
/// taken over, and the intended operations each deploy or refuse for a stated reason.
async fn converge(world: &Shared, config: &Config) -> Result<(), String> {
    {
        let mut w = lock(world);
        w.jobs.clear();
        crate::controller::tick(&mut w);
        w.log("op", "faults stop; the training jobs are done");
    }
    let lease = config.lock.lease;
    for namespace in NAMESPACES {
        let doing = format!("take over the lock of {namespace}");
        let control = crate::control::control(ProcessFate::default());
        let node = spawn_process(world, DEPLOYER, doing, false, control);
        let holder = node.with(|w| {
            w.processes
                .last()
                .map(|p| p.holder.clone())
                .unwrap_or_default()
        });
        let attempt = tokio::time::timeout(3 * lease + Duration::from_secs(10), async {
            loop {
                match neuro_deploy_core::ClusterDeployer::lock(&node, namespace, &holder, lease)
                    .await
                {
                    Ok(neuro_deploy_core::LockAttempt::Acquired(handle)) => return Ok(handle),
                    Ok(_) => tokio::time::sleep(Duration::from_secs(2)).await,
                    Err(error) => return Err(error.to_string()),
                }
            }
        })
        .await;
        match attempt {
            Ok(Ok(handle)) => {
                let _ = neuro_deploy_core::ClusterDeployer::unlock(&node, &handle).await;
            }
            Ok(Err(error)) => {
                return Err(format!("taking the lock of {namespace} failed: {error}"));
            }
            Err(_) => {
                return Err(format!(
                    "the lock of {namespace} was not taken over within three leases of nobody renewing it"
                ));
            }
        }
    }
    for namespace in ["staging", crate::world::PRODUCTION] {
        intended(
            world,
            config,
            crate::services::OPERATORS[0],
            Op::Unfreeze(namespace.to_owned()),
        )
        .await?;
    }
    let (sha, tag) = {
        let mut w = lock(world);
        let sha = w.commit();
        let tag = format!("v1.{}.0", w.releases.len());
        w.releases.insert(tag.clone(), sha.clone());
        (sha, tag)
    };
    let merged = Event::Merged {
        branch: "main".to_owned(),
        sha: sha.clone(),
    };
    intended(world, config, DEPLOYER, Op::Run(merged)).await?;
    let released = Event::Released {
        tag: tag.clone(),
        sha: Some(sha),
        target_branch: Some("main".into()),
        prerelease: false,
        draft: false,
    };
    intended(world, config, DEPLOYER, Op::Run(released)).await?;
    for approver in ["alice", "bob"] {
        intended(world, config, approver, Op::Approve(tag.clone())).await?;
    }
    tokio::time::sleep(Duration::from_secs(11 * 60)).await;
    let version = Version::parse(&tag).map_err(|e| e.to_string())?;
    let promote = Event::Promote {
        version,
        to: None,
        allow_downgrade: false,
    };
    intended(world, config, DEPLOYER, Op::Run(promote)).await
}

/// One intended operation without faults: it must end within [`CONVERGE`], deployed, ignored,
/// or refused for a stated reason other than a lock nobody renews.
async fn intended(world: &Shared, config: &Config, user: &str, op: Op) -> Result<(), String> {
    let doing = format!("(after the faults) {op:?}");
    let mut running: Running = vec![start(
        world,
        config,
        user,
        doing.clone(),
        op,
        ProcessFate::default(),
    )];
    let deadline = Instant::now() + CONVERGE;
    while !running.is_empty() {
        if Instant::now() >= deadline {
            return Err(format!("{doing} had not ended after {CONVERGE:?}"));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        reap(world, &mut running).await;
    }
    let w = lock(world);
    let Some(p) = w.processes.last() else {
        return Err("no process".to_owned());
    };
    let last = w
        .trace
        .iter()
        .rev()
        .find(|l| l.who == p.name)
        .map(|l| l.what.clone())
        .unwrap_or_default();
    match p.ended {
        None if last.starts_with("done") => Ok(()),
        None => Err(format!("{} {last}", p.name)),
        Some(Outcome::Deployed | Outcome::Ignored) => Ok(()),
        Some(Outcome::Refused) if p.reason.is_some() && p.reason != Some(ReasonCode::LockHeld) => {
            Ok(())
        }
        Some(other) => Err(format!("{} ended {}: {last}", p.name, other.as_str())),
    }
}
