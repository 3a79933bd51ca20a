//! Deterministic simulation of neuro-deploy: the **real** executor and policy of
//! `neuro-deploy-core`, run against an in-memory world — the registry and builder, both
//! regions' training queues, the releases, a cluster whose Deployments roll out over simulated
//! time, the Leases, the guardrail records with who may write them — on a single-threaded tokio
//! runtime with paused time, all driven by one seeded generator. A history mixes merges,
//! releases, `deploy`, `promote` (several at once, from different machines), `rollback`,
//! freezes, approvals by several people, quarantine clearances, deploy windows opening and
//! closing, training jobs in both regions; and faults: 429s, 5xx, timeouts, answers lost after
//! a write landed, other writers of the Deployments (409s), rollouts that fail or stall, runs
//! killed at any await point, runs paused past their lease, wall-clock steps. The invariants
//! (`invariants.rs`) are checked against the world's own state after every step.
//!
//! The same seed on the same commit replays the same history, line for line:
//! `scripts/simulate --seed N` prints it.
//!
//! What it is not: a model of the adapters' SDKs (those are tested against real servers) or
//! of Kubernetes beyond what a deploy touches.
//!
//! | file | holds |
//! |---|---|
//! | `world.rs` | the world's state and its trace |
//! | `node.rs` | a run's connection to the world: latency, faults, answers lost |
//! | `services.rs` | registry, builder, queues, releases, guardrail records (RBAC) |
//! | `cluster.rs` | Deployments with preconditions, rollout waits, the Lease |
//! | `controller.rs` | rollouts moving on, training jobs moving through the queues |
//! | `control.rs` | a run as a process: paused (SIGSTOP) or killed (kill -9) |
//! | `ops.rs` | what people and CI do, and what happens around them |
//! | `history.rs` | one seeded history, then convergence once the faults stop |
//! | `invariants.rs` | the invariants |

use std::collections::BTreeMap;
use std::fmt::Write as _;

mod cluster;
mod control;
mod controller;
mod history;
mod invariants;
mod node;
mod ops;
mod services;
mod world;

pub use history::simulate;

/// What one history came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Steps taken (requests landed, operations started).
    pub steps: u64,
    /// Invariant checks made.
    pub checks: u64,
    /// Processes started (runs and operators' changes).
    pub processes: u64,
    /// Runs by outcome (`deployed`, `refused` …, `crashed`).
    pub outcomes: BTreeMap<String, u64>,
    /// Faults injected, by kind.
    pub faults: BTreeMap<String, u64>,
    /// Simulated time the history took.
    pub simulated: std::time::Duration,
    /// A digest of the whole trace: equal for equal histories.
    pub fingerprint: u64,
}

impl Summary {
    fn of(world: &world::World) -> Summary {
        let mut outcomes = BTreeMap::new();
        for p in &world.processes {
            let outcome = match (p.crashed, p.ended) {
                (true, _) => "crashed",
                (false, Some(outcome)) => outcome.as_str(),
                (false, None) => "operator change",
            };
            *outcomes.entry(outcome.to_owned()).or_default() += 1;
        }
        Summary {
            steps: world.steps,
            checks: world.checks,
            processes: world.processes.len() as u64,
            outcomes,
            faults: world
                .faults
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect(),
            simulated: world.elapsed(),
            fingerprint: fingerprint(&trace_text(world, usize::MAX)),
        }
    }

    /// Adds another history's figures to these.
    pub fn add(&mut self, other: &Summary) {
        self.steps += other.steps;
        self.checks += other.checks;
        self.processes += other.processes;
        self.simulated += other.simulated;
        for (k, v) in &other.outcomes {
            *self.outcomes.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.faults {
            *self.faults.entry(k.clone()).or_default() += v;
        }
    }
}

/// An invariant that did not hold: the seed, which invariant, what happened, the history up to
/// it, and how to replay it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The history's seed.
    pub seed: u64,
    /// The invariant, by number and name (`2 no write without the lock`).
    pub invariant: String,
    /// What happened.
    pub what: String,
    /// The last lines of the history up to it.
    pub trace: String,
}

impl Violation {
    fn new(world: &world::World, invariant: &str, what: &str) -> Violation {
        Violation {
            seed: world.seed,
            invariant: invariant.to_owned(),
            what: what.to_owned(),
            trace: trace_text(world, TRACE_LINES),
        }
    }

    fn harness(seed: u64, what: String) -> Violation {
        Violation {
            seed,
            invariant: "the harness itself".to_owned(),
            what,
            trace: String::new(),
        }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "seed {}: invariant {} was violated",
            self.seed, self.invariant
        )?;
        writeln!(f, "  {}", self.what)?;
        writeln!(f, "history up to it (last {TRACE_LINES} lines):")?;
        write!(f, "{}", self.trace)?;
        write!(f, "replay it: scripts/simulate --seed {}", self.seed)
    }
}

/// How much of the history a violation shows.
const TRACE_LINES: usize = 400;

/// The last `lines` lines of the history, one per line: `+SECONDS who what`.
pub(crate) fn trace_text(world: &world::World, lines: usize) -> String {
    let mut text = String::new();
    let skip = world.trace.len().saturating_sub(lines);
    for line in world.trace.iter().skip(skip) {
        let _ = writeln!(
            text,
            "  +{:>10.3}s {:<10} {}",
            line.at.as_secs_f64(),
            line.who,
            line.what
        );
    }
    text
}

/// History `seed` and its whole trace (`scripts/simulate --seed`).
pub fn trace(seed: u64) -> (Result<Summary, Violation>, String) {
    history::simulate_traced(seed)
}

/// FNV-1a: a stable digest of a trace (std's hasher is seeded per process).
fn fingerprint(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}
