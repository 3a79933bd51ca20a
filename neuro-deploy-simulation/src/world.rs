//! The simulated world: the registry, the releases, both regions' training queues, the cluster
//! (Deployments, their rollouts, the Leases, the guardrail records) and the machines' wall
//! clocks — one value behind one lock, changed only by requests the adapters send
//! (`adapters.rs`) and by the world's own actors (the rollout controller, training jobs,
//! people). It keeps the trace of everything that happened and what each run was served, which
//! the invariants (`invariants.rs`) judge.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use neuro_deploy_core::model::{Decisions, Spent, annotations};
use neuro_deploy_core::{
    Approval, GitSha, GuardState, Outcome, Quarantined, QueueDepth, ReasonCode, RolloutCounts,
    Workload,
};
use rand_pcg::Pcg64Mcg;
use tokio::time::Instant;

/// Where the app's images live.
pub const REPOSITORY: &str = "123456789012.dkr.ecr.us-west-2.amazonaws.com/neuro-ui";
/// The app's Deployments in every namespace.
pub const APPS: [&str; 2] = ["neuro-ui", "neuro-ui-worker"];
/// The training queue production waits for.
pub const QUEUE: &str = "sqs_studioml_gorunner_cpu_production_0";
/// The regions it runs in.
pub const REGIONS: [&str; 2] = ["us-west-2", "us-east-2"];
/// The production namespace.
pub const PRODUCTION: &str = "leaf-neuro-ui";
/// Every namespace, in promotion order.
pub const NAMESPACES: [&str; 3] = ["dev", "staging", PRODUCTION];
/// Replicas of every Deployment.
const REPLICAS: i32 = 2;

/// One line of the history.
#[derive(Debug, Clone)]
pub struct Line {
    /// Simulated time since the history began.
    pub at: Duration,
    /// Who: `world`, `op`, or a run (`run-7`).
    pub who: String,
    /// What happened.
    pub what: String,
}

/// One Deployment as the API server keeps it.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub name: String,
    /// The app container's image.
    pub image: String,
    pub generation: i64,
    pub observed: i64,
    pub updated: i32,
    pub available: i32,
    pub deadline_exceeded: bool,
    pub resource_version: u64,
    pub annotations: BTreeMap<String, String>,
    /// The rollout the controller is carrying out, if any.
    pub rolling: Option<Rolling>,
    /// When the controller last completed a rollout of it.
    pub completed_at: Instant,
}

/// A rollout in progress: when the controller observes the new generation, and when it ends
/// (never: it stalls) and how.
#[derive(Debug, Clone)]
pub struct Rolling {
    pub observe_at: Instant,
    pub ends_at: Option<Instant>,
    pub fails: bool,
}

/// A training job: a delayed message, queued (visible), running (in flight), then done.
#[derive(Debug, Clone)]
pub struct Job {
    pub region: String,
    pub stage: u8,
    pub next_at: Instant,
}

impl Deployment {
    fn new(name: &str, image: &str) -> Deployment {
        Deployment {
            name: name.to_owned(),
            image: image.to_owned(),
            generation: 1,
            observed: 1,
            updated: REPLICAS,
            available: REPLICAS,
            deadline_exceeded: false,
            resource_version: 1,
            annotations: BTreeMap::new(),
            rolling: None,
            completed_at: Instant::now(),
        }
    }

    /// The rollout counts kubectl judges by.
    pub fn counts(&self) -> RolloutCounts {
        RolloutCounts {
            generation: self.generation,
            observed_generation: self.observed,
            desired: REPLICAS,
            replicas: REPLICAS,
            updated: self.updated,
            available: self.available,
            deadline_exceeded: self.deadline_exceeded,
        }
    }

    /// Whether its rollout is complete.
    pub fn complete(&self) -> bool {
        self.counts().state().is_complete()
    }

    /// As the cluster adapter reads it.
    pub fn workload(&self) -> Workload {
        let annotation = |key: &str| self.annotations.get(key).cloned();
        Workload {
            name: self.name.clone(),
            containers: vec![neuro_deploy_core::model::ContainerImage {
                container: "app".to_owned(),
                image: self.image.clone(),
            }],
            rollout: self.counts(),
            paused: false,
            condition: self
                .deadline_exceeded
                .then(|| "ProgressDeadlineExceeded: the new pods never became ready".to_owned()),
            audit: neuro_deploy_core::model::AuditRecord {
                version: annotation(annotations::VERSION),
                previous_version: annotation(annotations::PREVIOUS_VERSION),
                previous_image: annotation(annotations::PREVIOUS_IMAGE),
                deployed_at: annotation(annotations::DEPLOYED_AT)
                    .and_then(|at| neuro_deploy_core::model::parse_instant(&at)),
                deployed_by: annotation(annotations::DEPLOYED_BY),
                verified: annotation(annotations::VERIFIED),
                rolled_back: annotation(annotations::ROLLED_BACK),
            },
            resource_version: Some(self.resource_version.to_string()),
        }
    }
}

/// A namespace's Lease.
#[derive(Debug, Clone)]
pub struct Lease {
    pub holder: Option<String>,
    /// `renewTime`, by the writer's wall clock.
    pub renewed: DateTime<Utc>,
    pub duration: Duration,
    pub resource_version: u64,
}

/// One namespace: the app, its lock and its guardrail records.
#[derive(Debug, Clone, Default)]
pub struct Namespace {
    pub deployments: Vec<Deployment>,
    pub lease: Option<Lease>,
    /// The operators' decisions and their version (0: never written).
    pub decisions: Decisions,
    pub decisions_version: u64,
    pub approvals: Vec<Approval>,
    pub spent: Vec<Spent>,
    pub quarantine: Vec<Quarantined>,
    /// Every app image that ran here on all Deployments with a complete rollout (pinned).
    pub ran: BTreeSet<String>,
    /// Every app image whose checks passed here, as recorded on its Deployments (pinned).
    pub verified: BTreeSet<String>,
}

impl Namespace {
    /// The guardrail state as its records assemble it.
    pub fn guard(&self) -> GuardState {
        GuardState::assemble(
            self.decisions.clone(),
            self.quarantine.clone(),
            self.approvals.clone(),
            &self.spent,
            Vec::new(),
        )
    }

    /// The one app image every Deployment runs with a complete rollout, if so.
    pub fn settled(&self) -> Option<&str> {
        let first = self.deployments.first()?;
        self.deployments
            .iter()
            .all(|d| d.image == first.image && d.complete())
            .then_some(first.image.as_str())
    }

    pub fn deployment_mut(&mut self, name: &str) -> Option<&mut Deployment> {
        self.deployments.iter_mut().find(|d| d.name == name)
    }
}

/// One image write that landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub deployment: String,
    /// What it ran before this write.
    pub before: String,
    pub image: String,
    /// A write back of what ran before (a rollback after a failed rollout, a restore).
    pub restore: bool,
    /// Whether its answer reached the run.
    pub answered: bool,
}

/// What the world knows of one run (a process on some machine): who it is and what it was
/// served — never what it reported.
#[derive(Debug, Clone)]
pub struct Process {
    pub name: String,
    /// `user@machine/run-id`: the lock holder.
    pub holder: String,
    /// Who its credentials authenticate as.
    pub user: String,
    /// When it started on the world's clock, and by its machine's wall clock.
    pub started: Instant,
    pub started_at: DateTime<Utc>,
    /// A rollback: the gates that only deploys pass do not apply.
    pub rollback: bool,
    /// Namespace → when its lock was last acquired by this run (world time).
    pub locked_since: BTreeMap<String, Instant>,
    /// Guardrail state served under the lock: (when, the run's instant then, the state).
    pub state_reads: Vec<(Instant, DateTime<Utc>, String, GuardState)>,
    /// (namespace, Deployment, resourceVersion) served under the lock.
    pub versions_read: BTreeSet<(String, String, String)>,
    /// Queue samples served under a production lock: (when, region, depth).
    pub samples: Vec<(Instant, String, QueueDepth)>,
    /// Image writes of this run that landed, by namespace.
    pub writes: Vec<(String, Written)>,
    /// The namespace as it was when this run released its lock.
    pub at_unlock: Option<(String, Vec<Deployment>)>,
    pub crashed: bool,
    /// How its run ended, and the reason code of a refusal.
    pub ended: Option<Outcome>,
    pub reason: Option<ReasonCode>,
}

/// Faults injected so far, by kind.
pub type FaultCounts = BTreeMap<&'static str, u64>;

/// The whole world.
pub struct World {
    pub seed: u64,
    pub rng: Pcg64Mcg,
    pub begun: Instant,
    /// The true wall clock when the history began.
    pub wall_begun: DateTime<Utc>,
    /// Each machine's wall clock: true time plus this (clock steps move it).
    pub skew: Vec<chrono::Duration>,
    pub trace: Vec<Line>,
    /// Tag → digest.
    pub images: BTreeMap<String, String>,
    /// Digests whose pods never become ready.
    pub bad: BTreeSet<String>,
    /// Digests whose pods run but fail their health checks.
    pub unhealthy: BTreeSet<String>,
    /// Commits on `main`, oldest first.
    pub main: Vec<GitSha>,
    /// Release tag → commit.
    pub releases: BTreeMap<String, GitSha>,
    pub queues: BTreeMap<String, QueueDepth>,
    pub jobs: Vec<Job>,
    pub namespaces: BTreeMap<String, Namespace>,
    pub processes: Vec<Process>,
    /// Probability that a request meets a fault.
    pub fault_rate: f64,
    pub faults: FaultCounts,
    /// Steps taken and invariants checked.
    pub steps: u64,
    pub checks: u64,
    /// The first invariant violated: (invariant, what happened).
    pub violation: Option<(String, String)>,
}

impl World {
    /// The world a history starts from: production runs v1.0.0, staging v1.1.0 and dev the
    /// latest commit, all complete; nothing queued, frozen or approved.
    pub fn new(seed: u64, rng: Pcg64Mcg, wall_begun: DateTime<Utc>, machines: usize) -> World {
        let mut world = World {
            seed,
            rng,
            begun: Instant::now(),
            wall_begun,
            skew: vec![chrono::Duration::zero(); machines],
            trace: Vec::new(),
            images: BTreeMap::new(),
            bad: BTreeSet::new(),
            unhealthy: BTreeSet::new(),
            main: Vec::new(),
            releases: BTreeMap::new(),
            queues: REGIONS
                .iter()
                .map(|r| ((*r).to_owned(), QueueDepth::default()))
                .collect(),
            jobs: Vec::new(),
            namespaces: BTreeMap::new(),
            processes: Vec::new(),
            fault_rate: 0.0,
            faults: FaultCounts::new(),
            steps: 0,
            checks: 0,
            violation: None,
        };
        let first = world.commit();
        let second = world.commit();
        for (tag, sha) in [("v1.0.0", &first), ("v1.1.0", &second)] {
            world.releases.insert(tag.to_owned(), sha.clone());
            let digest = world.digest_of(sha.as_str());
            world.images.insert(tag.to_owned(), digest.clone());
            world.images.insert(sha.short(7).to_owned(), digest);
        }
        let dev = world.pinned(second.short(7));
        let staging = world.pinned("v1.1.0");
        let production = world.pinned("v1.0.0");
        for (namespace, image) in [("dev", dev), ("staging", staging), (PRODUCTION, production)] {
            let mut ns = Namespace {
                deployments: APPS.iter().map(|a| Deployment::new(a, &image)).collect(),
                ..Namespace::default()
            };
            // What runs has passed its checks, on the record, a day ago.
            let version = tag_of(&image);
            let at = neuro_deploy_core::model::rfc3339(wall_begun - chrono::Duration::days(1));
            for d in &mut ns.deployments {
                d.annotations
                    .insert(annotations::VERSION.to_owned(), version.clone());
                d.annotations
                    .insert(annotations::DEPLOYED_AT.to_owned(), at.clone());
                d.annotations
                    .insert(annotations::VERIFIED.to_owned(), format!("{version}@{at}"));
            }
            ns.ran.insert(image.clone());
            ns.verified.insert(image);
            world.namespaces.insert(namespace.to_owned(), ns);
        }
        world
    }

    /// Simulated time since the history began.
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(self.begun)
    }

    /// `machine`'s wall clock now.
    pub fn wall(&self, machine: usize) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.elapsed()).unwrap_or_default();
        self.wall_begun + elapsed + self.skew.get(machine).copied().unwrap_or_default()
    }

    /// Adds a line to the trace.
    pub fn log(&mut self, who: &str, what: impl Into<String>) {
        let line = Line {
            at: self.elapsed(),
            who: who.to_owned(),
            what: what.into(),
        };
        self.trace.push(line);
    }

    /// A new commit on `main`.
    pub fn commit(&mut self) -> GitSha {
        use rand::RngExt;
        let hex: String = (0..40)
            .map(|_| char::from(b"0123456789abcdef"[self.rng.random_range(0..16usize)]))
            .collect();
        let sha = GitSha::parse(&hex).expect("40 hex digits are a commit SHA");
        self.main.push(sha.clone());
        sha
    }

    /// The digest a build of `revision` has (one per commit: builds are reproducible).
    pub fn digest_of(&self, revision: &str) -> String {
        let mut digest: String = revision.chars().rev().collect();
        while digest.len() < 64 {
            digest.push('0');
        }
        format!("sha256:{}", &digest[..64])
    }

    /// `REPOSITORY:tag@digest` for a tag in the registry (unpinned when it is not there).
    pub fn pinned(&self, tag: &str) -> String {
        match self.images.get(tag) {
            Some(digest) => format!("{REPOSITORY}:{tag}@{digest}"),
            None => format!("{REPOSITORY}:{tag}"),
        }
    }

    /// The run named `name`.
    pub fn process(&mut self, name: &str) -> Option<&mut Process> {
        self.processes.iter_mut().find(|p| p.name == name)
    }

    /// Whether the run `process` holds `namespace`'s Lease now.
    pub fn holds(&self, process: &str, namespace: &str) -> bool {
        let holder = self.processes.iter().find(|p| p.name == process);
        let lease = self
            .namespaces
            .get(namespace)
            .and_then(|n| n.lease.as_ref());
        matches!((holder, lease), (Some(p), Some(l)) if l.holder.as_deref() == Some(p.holder.as_str()))
    }

    /// Counts one fault of `kind`.
    pub fn fault(&mut self, kind: &'static str) {
        *self.faults.entry(kind).or_default() += 1;
    }

    /// Records the first violation of `invariant`.
    pub fn violated(&mut self, invariant: &str, what: String) {
        if self.violation.is_none() {
            self.log("CHECK", format!("VIOLATED {invariant}: {what}"));
            self.violation = Some((invariant.to_owned(), what));
        }
    }

    /// `image` pinned to its digest (tags never move here, so a tag names one digest).
    pub fn pinned_image(&self, image: &str) -> String {
        match (image.contains('@'), self.image_digest(image)) {
            (false, Some(digest)) => format!("{image}@{digest}"),
            _ => image.to_owned(),
        }
    }

    /// The digest `image` runs: pinned, or its tag's in the registry.
    pub fn image_digest(&self, image: &str) -> Option<String> {
        if let Some((_, digest)) = image.rsplit_once('@') {
            return Some(digest.to_owned());
        }
        let tag = image.rsplit(':').next().unwrap_or_default();
        self.images.get(tag).cloned()
    }

    /// Notes every namespace whose Deployments all run one image with a complete rollout.
    pub fn note_settled(&mut self) {
        let settled: Vec<(String, String)> = self
            .namespaces
            .iter()
            .filter_map(|(name, ns)| Some((name.clone(), self.pinned_image(ns.settled()?))))
            .collect();
        for (name, image) in settled {
            if let Some(ns) = self.namespaces.get_mut(&name) {
                ns.ran.insert(image);
            }
        }
    }
}

/// The tag of `REPOSITORY:tag@digest`.
pub fn tag_of(image: &str) -> String {
    let unpinned = image.split('@').next().unwrap_or_default();
    unpinned.rsplit(':').next().unwrap_or_default().to_owned()
}
