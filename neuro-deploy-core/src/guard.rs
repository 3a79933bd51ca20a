//! Changing an environment's shared guardrail state ([`GuardState`]): read, change, write with
//! the version read. Two people writing at once lose nothing: a lost race reads again and
//! re-applies the change, a bounded number of times.

use crate::error::AdapterError;
use crate::model::GuardState;
use crate::traits::SharedState;

/// How many times a change is tried against concurrent writers.
pub const ATTEMPTS: usize = 5;

/// Applies `change` to the state of `namespace` and returns the state written.
pub async fn update(
    state: &dyn SharedState,
    namespace: &str,
    change: impl Fn(&mut GuardState),
) -> Result<GuardState, AdapterError> {
    for _ in 0..ATTEMPTS {
        let current = state.read_state(namespace).await?;
        let mut next = current.state.clone();
        change(&mut next);
        match state.write_state(namespace, &next, current.version).await {
            Ok(()) => return Ok(next),
            Err(AdapterError::Conflict { .. }) => continue,
            Err(error) => return Err(error),
        }
    }
    Err(AdapterError::Conflict {
        service: "kubernetes",
        operation: format!(
            "changing the shared state of `{namespace}` ({ATTEMPTS} writes lost a race to other writers; run it again)"
        ),
    })
}

/// [`update`], bounded by `bound`: what a run does to the shared state after its deploy, where
/// a failure is a warning and never a changed outcome. The error is one line for the report.
pub async fn update_within(
    state: &dyn SharedState,
    namespace: &str,
    bound: std::time::Duration,
    change: impl Fn(&mut GuardState),
) -> Result<GuardState, String> {
    crate::bounded::within(bound, update(state, namespace, change)).await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::update;
    use crate::error::AdapterError;
    use crate::model::{Freeze, GuardState, VersionedState};
    use crate::traits::MockSharedState;

    #[tokio::test]
    async fn a_lost_race_reads_again_and_reapplies_the_change() {
        let mut state = MockSharedState::new();
        let reads = std::sync::Arc::new(AtomicUsize::new(0));
        let counted = reads.clone();
        state.expect_read_state().returning(move |_| {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            Ok(VersionedState {
                state: GuardState::default(),
                version: Some(format!("{n}")),
            })
        });
        // The first write lost to someone else (version 0 is stale); the second lands.
        state
            .expect_write_state()
            .returning(|_, written, version| match version.as_deref() {
                Some("0") => Err(AdapterError::Conflict {
                    service: "kubernetes",
                    operation: "writing".into(),
                }),
                _ => {
                    assert!(written.freeze.is_some());
                    Ok(())
                }
            });
        let written = update(&state, "staging", |s| {
            s.freeze = Some(Freeze {
                by: "ops".into(),
                at: "2026-11-29T10:00:00Z".parse().unwrap(),
                reason: "incident".into(),
                until: None,
            });
        })
        .await
        .expect("the second attempt lands");
        assert!(written.freeze.is_some());
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }
}
