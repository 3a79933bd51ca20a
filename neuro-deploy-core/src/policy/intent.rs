//! [`Intent`]: what a run of an event would touch and what it needs before it may write, from
//! config alone — the one answer the binaries ask for before they build adapters or ask anyone
//! to confirm. The target is resolved here from config alone, by the same [`target`] the
//! executor resolves it with, so the two never disagree.

use crate::config::Config;
use crate::error::{Reason, ReasonCode};
use crate::model::Event;

use super::target::{Target, target};

/// Where a run goes and whether an operator must confirm it first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// Environment, namespace, version and promotion source.
    pub target: Target,
    /// Set when the run changes a promotion-only environment (production): the refusal to give
    /// when nobody confirms it (`--yes`, or a yes on a terminal).
    pub confirmation: Option<Reason>,
}

impl Intent {
    /// The intent of `event` under `config`; `Err` is the ignore or refusal of an event that
    /// cannot deploy at all (nothing needs to be contacted for it).
    pub fn of(event: &Event, config: &Config) -> Result<Intent, Reason> {
        let target = target(event, config)?;
        let production = target
            .environment
            .as_deref()
            .and_then(|name| config.environment(name))
            .is_some_and(|env| env.is_promotion_target());
        let confirmation = production.then(|| {
            Reason::new(
                ReasonCode::ConfirmationRequired,
                format!(
                    "`{}` changes production and needs confirmation: pass `--yes`, or run it on a terminal to review the plan and confirm",
                    event.kind()
                ),
            )
        });
        Ok(Intent {
            target,
            confirmation,
        })
    }

    /// The environments the run reads or writes: its target and, for a promotion, the source.
    pub fn environments(&self) -> Vec<&str> {
        self.target
            .environment
            .as_deref()
            .into_iter()
            .chain(self.target.source.as_ref().map(|(env, _)| env.as_str()))
            .collect()
    }
}
