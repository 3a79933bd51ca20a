//! Every gate's verdict on an event, for a run or plan that refuses: `decide` stops at the
//! first refusal, but whoever reads a refusal wants to know what else stands in the way (and
//! what passed), so each gate is judged on its own here with the facts there are.
//!
//! A gate whose facts were not gathered (offline, or an adapter that failed) is "not judged",
//! saying what is missing: a refusal is only ever made on facts that are known.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::{Reason, ReasonCode};
use crate::model::Event;

use super::facts::Facts;
use super::gates::{GATES, Judgment, Subject, judge};
use super::target::target;

/// How one gate judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// It lets the run through; why.
    Passed {
        /// What held.
        reason: String,
    },
    /// A closed gate let it through on the record (an override, a rollback that is never
    /// blocked); the note recorded.
    Overridden {
        /// What is recorded on the deploy.
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
    /// Judged by the executor as the run goes (the queues), not from the facts.
    #[serde(skip)]
    as_it_runs: bool,
}

impl GateVerdict {
    /// How `gate` judged, under the name its step has in reports.
    fn of(gate: &str, judgment: Judgment) -> GateVerdict {
        let named = |step: Option<&super::PlannedStep>| {
            step.map_or(gate.to_owned(), |s| s.step.kind().to_owned())
        };
        let (name, verdict, as_it_runs) = match judgment {
            Judgment::Passed { why, step, notes } => {
                let verdict = if notes.overrides.is_empty() {
                    Verdict::Passed { reason: why }
                } else {
                    Verdict::Overridden { reason: why }
                };
                (named(step.as_ref()), verdict, false)
            }
            Judgment::Refused(reason) => (gate.to_owned(), Verdict::Refused { reason }, false),
            Judgment::NotYetKnown { why, step } => {
                (named(step.as_ref()), Verdict::NotJudged { why }, false)
            }
            Judgment::WhileRunning { why, step } => {
                (named(Some(&step)), Verdict::NotJudged { why }, true)
            }
        };
        GateVerdict {
            gate: name,
            verdict,
            as_it_runs,
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

/// Every gate's verdict on `event`, in the order a run meets them. Pure, like `decide`; each
/// gate is judged on its own, so a refusal does not hide what else stands in the way. A
/// precondition (already deployed, a release branch) is listed only when it stops the run.
pub fn gate_verdicts(event: &Event, config: &Config, facts: &Facts) -> Vec<GateVerdict> {
    let Ok(target) = target(event, config) else {
        return Vec::new();
    };
    let subject = Subject::new(event, config, &target, facts);
    GATES
        .iter()
        .filter_map(|gate| {
            let judgment = judge(*gate, &subject)?;
            let listed = gate.listed() || matches!(judgment, Judgment::Refused(_));
            listed.then(|| GateVerdict::of(gate.name(), judgment))
        })
        .collect()
}

/// The first refusal among `verdicts`, with its code.
pub fn first_refusal(verdicts: &[GateVerdict]) -> Option<&Reason> {
    verdicts.iter().find_map(GateVerdict::refusal)
}

/// In a live run every gate is judged: the first gate (but the queue gate, which the executor
/// judges as the run goes) that could not be, because no adapter supplies what it needs, is a
/// refusal naming it — a guardrail never passes for want of a fact. `None` when all were judged.
pub fn unjudged_in_a_live_run(verdicts: &[GateVerdict]) -> Option<Reason> {
    verdicts.iter().find_map(|gate| match &gate.verdict {
        Verdict::NotJudged { why } if !gate.as_it_runs => Some(Reason::new(
            ReasonCode::InvalidInput,
            format!(
                "`{}` cannot be judged: {why}; nothing was changed — a run judges every gate, so the executor needs an adapter for each (the freeze, quarantine and approval gates read the shared state: `Adapters::state`)",
                gate.gate
            ),
        )),
        _ => None,
    })
}
