//! The deploy windows: a deploy goes in only while they are open, unless an operator
//! overrides them on the record (`--override-window --reason`); a rollback is never blocked,
//! and one that goes in while they are closed says so on the record.

use crate::config::WindowConfig;
use crate::error::{Reason, ReasonCode};

use super::super::plan::Step;
use super::super::window::{WindowState, window_state};
use super::{Gate, Judgment, Need, OverrideFlag, Subject};

pub(crate) struct DeployWindow;

impl Gate for DeployWindow {
    fn name(&self) -> &'static str {
        "gate_deploy_window"
    }

    fn applies(&self, subject: &Subject) -> bool {
        subject.env.is_some_and(|env| !env.windows.is_empty())
    }

    fn needs(&self, _: &Subject) -> Vec<Need> {
        // The instant is the run's own: nothing to read.
        Vec::new()
    }

    fn override_flag(&self) -> Option<OverrideFlag> {
        Some(OverrideFlag {
            flag: "override-window",
            help: "Deploy although the deploy windows are closed (an urgent fix); needs `--reason`, which is recorded. A freeze is never overridden: `unfreeze` it on the record.",
            promotion_only: false,
        })
    }

    fn judge(&self, subject: &Subject) -> Judgment {
        let Some(env) = subject.env else {
            return Judgment::pass_silently("no deploy windows");
        };
        let step = |state: Option<WindowState>| Step::GateDeployWindow {
            environment: env.name.clone(),
            state,
        };
        let Some(now) = subject.facts.now.known().copied() else {
            let windows: Vec<String> = env.windows.iter().map(WindowConfig::describe).collect();
            return Judgment::at_run_time(
                step(None),
                format!(
                    "`{}` must be inside its deploy windows — checked at run time: {}",
                    env.name,
                    windows.join("; ")
                ),
            );
        };
        let state = match window_state(&env.windows, now) {
            Ok(state) => state,
            Err(why) => {
                return Judgment::refused(Reason::new(
                    ReasonCode::InvalidInput,
                    format!(
                        "a deploy window of `{}` cannot be read ({why}); fix `[[environments.windows]]` (`neuro-deploy config check`)",
                        env.name
                    ),
                ));
            }
        };
        let summary = state.summary();
        if state.is_open() {
            return Judgment::pass(step(Some(state)), format!("deploy window: {summary}"));
        }
        let note = if subject.is_rollback() {
            format!("rollback while the deploy windows are {summary} (a rollback is never blocked)")
        } else if let Some(why) = subject.override_reason(self) {
            format!("deployed outside the deploy windows ({summary}) with --override-window: {why}")
        } else {
            return Judgment::refused(Reason::new(
                ReasonCode::OutsideDeployWindow,
                format!(
                    "`{}` takes no deploys now — {summary}; nothing was changed — deploy when it opens, or let an urgent fix through with `--override-window --reason TEXT` (recorded on the deploy); `rollback` is never blocked",
                    env.name
                ),
            ));
        };
        Judgment::overridden(step(Some(state)), note)
    }
}
