//! Every gate's verdict on an event, for a run or plan that refuses: `decide` stops at the
//! first refusal, but whoever reads a refusal wants to know what else stands in the way (and
//! what passed), so each gate is judged on its own here with the facts there are.
//!
//! A gate whose facts were not gathered (offline, or an adapter that failed) is "not judged",
//! saying what is missing: a refusal is only ever made on facts that are known.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::{Reason, ReasonCode};
use crate::model::{Event, ImageRef};

use super::approvals::{approval_gate, approved_image};
use super::facts::{Facts, only_app_workloads};
use super::gates::{
    downgrade_gate, ensure_image_step, freeze_gate, promotion_image_gate, quarantine_gate,
    source_verified_gate, verified_digest, window_gate,
};
use super::plan::PlannedStep;
use super::target::target;
use super::workloads::{image_changes, previous_version, recorded_previous_digest};

/// How one gate judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// It lets the run through; why.
    Passed {
        /// What held.
        reason: String,
    },
    /// It refuses the run.
    Refused {
        /// The refusal.
        reason: Reason,
    },
    /// It could not be judged; what is missing.
    NotJudged {
        /// What it needs that is not known.
        why: String,
    },
}

/// One gate and its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateVerdict {
    /// The gate, as its step kind is spelled in reports (`gate_approvals` …).
    pub gate: String,
    /// Its verdict.
    #[serde(flatten)]
    pub verdict: Verdict,
}

impl GateVerdict {
    fn new(gate: &str, verdict: Verdict) -> GateVerdict {
        GateVerdict {
            gate: gate.to_owned(),
            verdict,
        }
    }

    fn passed(gate: &str, reason: impl Into<String>) -> GateVerdict {
        GateVerdict::new(
            gate,
            Verdict::Passed {
                reason: reason.into(),
            },
        )
    }

    fn not_judged(gate: &str, why: impl Into<String>) -> GateVerdict {
        GateVerdict::new(gate, Verdict::NotJudged { why: why.into() })
    }

    /// A gate's step (it passed) or its refusal; `known`: whether the facts it needs were
    /// gathered (else its "checked at run time" step is a gate not judged).
    fn of(gate: &str, judged: Result<PlannedStep, Reason>, known: bool) -> GateVerdict {
        match judged {
            Err(reason) => GateVerdict::new(gate, Verdict::Refused { reason }),
            Ok(step) if known => GateVerdict::passed(gate, step.reason),
            Ok(step) => GateVerdict::not_judged(gate, step.reason),
        }
    }

    /// The refusal, when this gate refused.
    pub fn refusal(&self) -> Option<&Reason> {
        match &self.verdict {
            Verdict::Refused { reason } => Some(reason),
            _ => None,
        }
    }
}

const NO_STATE: &str = "the environment's shared state (ConfigMap `neuro-deploy`) was not read";

/// Every gate's verdict on `event`, in the order a run meets them. Pure, like `decide`.
pub fn gate_verdicts(event: &Event, config: &Config, facts: &Facts) -> Vec<GateVerdict> {
    let Ok(target) = target(event, config) else {
        return Vec::new();
    };
    let rollback = matches!(event, Event::Rollback { .. });
    let mut verdicts = Vec::new();

    let state_known = facts.guard.is_known() && facts.now.is_known();
    verdicts.push(match freeze_gate(event, &target, facts) {
        Err(reason) => GateVerdict::new("gate_not_frozen", Verdict::Refused { reason }),
        Ok(()) if rollback => {
            GateVerdict::passed("gate_not_frozen", "a rollback is never blocked by a freeze")
        }
        Ok(()) if state_known => GateVerdict::passed("gate_not_frozen", "not frozen"),
        Ok(()) => GateVerdict::not_judged("gate_not_frozen", NO_STATE),
    });
    match window_gate(event, config, &target, facts) {
        Ok(None) => {}
        Ok(Some((step, _))) => verdicts.push(GateVerdict::of(
            "gate_deploy_window",
            Ok(step),
            facts.now.is_known(),
        )),
        Err(reason) => verdicts.push(GateVerdict::new(
            "gate_deploy_window",
            Verdict::Refused { reason },
        )),
    }

    // The gates below judge the app's Deployments and images: they need the repository.
    let Some(repository) = facts
        .repository_uri
        .known()
        .cloned()
        .or_else(|| config.registry.uri.clone())
    else {
        let why = "the registry's repository URI is not known (the registry could not be read)";
        for gate in later_gates(event, config, &target) {
            verdicts.push(GateVerdict::not_judged(gate, why));
        }
        return verdicts;
    };
    let facts = &only_app_workloads(facts, &repository);
    let version = match (&target.version, facts.target_workloads.known()) {
        (Some(version), _) => Ok(version.clone()),
        (None, Some(workloads)) => previous_version(workloads, &repository),
        (None, None) => {
            for gate in later_gates(event, config, &target) {
                verdicts.push(GateVerdict::not_judged(
                    gate,
                    "the version a rollback returns to is recorded on the Deployments, which were not read",
                ));
            }
            return verdicts;
        }
    };
    let version = match version {
        Ok(version) => version,
        Err(reason) => {
            verdicts.push(GateVerdict::new(
                "gate_previous_version",
                Verdict::Refused { reason },
            ));
            return verdicts;
        }
    };
    let tag = version.image_tag(config.git.short_sha_length);
    let mut image = ImageRef::new(repository.clone(), tag.clone());

    verdicts.push(match quarantine_gate(event, &target, facts, &tag) {
        Err(reason) => GateVerdict::new("gate_not_quarantined", Verdict::Refused { reason }),
        Ok(()) if rollback => GateVerdict::passed(
            "gate_not_quarantined",
            "a rollback is never blocked by a quarantine",
        ),
        Ok(()) if facts.guard.is_known() => {
            GateVerdict::passed("gate_not_quarantined", format!("{tag} is not quarantined"))
        }
        Ok(()) => GateVerdict::not_judged("gate_not_quarantined", NO_STATE),
    });

    let image_known = facts.target_image.is_known();
    match event {
        Event::Merged { .. } | Event::Released { .. } | Event::Deploy { .. } => {
            let step = ensure_image_step(event, config, facts, &target, &version, &image);
            verdicts.push(GateVerdict::of("ensure_image", step, image_known));
        }
        Event::Promote {
            allow_downgrade, ..
        } => {
            let digest = verified_digest(facts, &target, &image);
            let image_verdict = match digest {
                Ok(digest) => {
                    image.digest = digest;
                    GateVerdict::of(
                        "gate_image_exists",
                        promotion_image_gate(facts, &version, &image),
                        image_known,
                    )
                }
                Err(reason) => GateVerdict::new("gate_image_exists", Verdict::Refused { reason }),
            };
            verdicts.push(image_verdict);
            match source_verified_gate(facts, &target, &version, &image) {
                Ok(None) => {}
                Ok(Some(step)) => verdicts.push(GateVerdict::of(
                    "gate_source_verified",
                    Ok(step),
                    facts.source_workloads.is_known(),
                )),
                Err(reason) => verdicts.push(GateVerdict::new(
                    "gate_source_verified",
                    Verdict::Refused { reason },
                )),
            }
            let env_name = target.environment.clone().unwrap_or_default();
            verdicts.push(GateVerdict::of(
                "gate_not_downgrade",
                downgrade_gate(facts, &env_name, &version, &repository, *allow_downgrade),
                facts.target_workloads.is_known() || *allow_downgrade,
            ));
        }
        Event::Rollback { .. } => {
            if let Some(workloads) = facts.target_workloads.known() {
                image.digest = recorded_previous_digest(workloads, &repository, &image);
            }
            verdicts.push(GateVerdict::of(
                "gate_image_exists",
                super::rollback_image_gate(facts, &image),
                image_known,
            ));
        }
    }

    if let Some(verdict) = approvals_verdict(event, config, &target, facts, &image) {
        verdicts.push(verdict);
    }

    verdicts.push(match facts.target_workloads.known() {
        Some(workloads) => match image_changes(workloads, &repository, &image, &target.namespace) {
            Ok(_) => GateVerdict::passed(
                "gate_workloads",
                format!(
                    "{} of the app in `{}`, none paused",
                    crate::words::counted(workloads.len(), "Deployment"),
                    target.namespace
                ),
            ),
            Err(reason) => GateVerdict::new("gate_workloads", Verdict::Refused { reason }),
        },
        None => GateVerdict::not_judged(
            "gate_workloads",
            format!("the Deployments in `{}` were not read", target.namespace),
        ),
    });

    if target.queue_gate && !config.queues.names.is_empty() {
        verdicts.push(match &target.skip_queue_gate {
            Some(reason) => GateVerdict::passed(
                "queue_gate_skipped",
                format!(
                    "skipped by the operator ({reason}): the queues are read once and recorded"
                ),
            ),
            None => GateVerdict::not_judged(
                "gate_queues_drained",
                "the queues are looked at only once every other gate passed",
            ),
        });
    }
    verdicts
}

/// The approval gate's verdict on the exact image (the digest verified upstream, else the
/// registry's); `None` where the environment requires no approvals.
fn approvals_verdict(
    event: &Event,
    config: &Config,
    target: &super::Target,
    facts: &Facts,
    image: &ImageRef,
) -> Option<GateVerdict> {
    let judged = approved_image(image, facts);
    let known = facts.guard.is_known() && facts.actor.is_known() && facts.now.is_known();
    match approval_gate(event, config, target, facts, &judged) {
        Ok(None) => None,
        Ok(Some((step, _))) => Some(GateVerdict::of(
            "gate_approvals",
            Ok(step),
            known || matches!(event, Event::Rollback { .. }),
        )),
        Err(reason) => Some(GateVerdict::new(
            "gate_approvals",
            Verdict::Refused { reason },
        )),
    }
}

/// The gates after the guardrails a run meets, for saying each was not judged.
fn later_gates(event: &Event, config: &Config, target: &super::Target) -> Vec<&'static str> {
    let mut gates = vec!["gate_not_quarantined"];
    gates.extend(match event {
        Event::Promote { .. } if target.source.is_some() => {
            vec![
                "gate_image_exists",
                "gate_source_verified",
                "gate_not_downgrade",
            ]
        }
        Event::Promote { .. } => vec!["gate_image_exists", "gate_not_downgrade"],
        Event::Rollback { .. } => vec!["gate_image_exists"],
        _ => vec!["ensure_image"],
    });
    let approvals = target
        .environment
        .as_deref()
        .and_then(|name| config.environment(name))
        .is_some_and(|env| env.approvals.is_some());
    if approvals {
        gates.push("gate_approvals");
    }
    gates.push("gate_workloads");
    if target.queue_gate && !config.queues.names.is_empty() {
        gates.push("gate_queues_drained");
    }
    gates
}

/// The first refusal among `verdicts`, with its code.
pub fn first_refusal(verdicts: &[GateVerdict]) -> Option<&Reason> {
    verdicts.iter().find_map(GateVerdict::refusal)
}

/// In a live run every gate is judged: the first gate (the queue gate aside, which the
/// executor judges itself) that could not be, because no adapter supplies what it needs, is a
/// refusal naming it — a guardrail never passes for want of a fact. `None` when all were judged.
pub fn unjudged_in_a_live_run(verdicts: &[GateVerdict]) -> Option<Reason> {
    verdicts.iter().find_map(|gate| match &gate.verdict {
        Verdict::NotJudged { why } if gate.gate != "gate_queues_drained" => Some(Reason::new(
            ReasonCode::InvalidInput,
            format!(
                "`{}` cannot be judged: {why}; nothing was changed — a run judges every gate, so the executor needs an adapter for each (the freeze, quarantine and approval gates read the shared state: `Adapters::state`)",
                gate.gate
            ),
        )),
        _ => None,
    })
}
