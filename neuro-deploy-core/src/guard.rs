//! Changing the operators' decisions about an environment ([`Decisions`]: a freeze, its
//! lifting, quarantine clearances): read, change, write with the version read. Two operators
//! writing at once lose nothing: a lost race reads again and re-applies the change, a bounded
//! number of times. (Approvals, spent approvals and quarantine entries are each written by
//! their own [`SharedState`] method, by whoever may write them.)

use crate::error::AdapterError;
use crate::model::{Decisions, GuardState};
use crate::traits::SharedState;

/// How many times a change is tried against concurrent writers.
pub const ATTEMPTS: usize = 5;

/// Applies `change` to the decisions of `namespace` and returns the state with them in force.
pub async fn update(
    state: &dyn SharedState,
    namespace: &str,
    change: impl Fn(&mut Decisions),
) -> Result<GuardState, AdapterError> {
    for _ in 0..ATTEMPTS {
        let current = state.read_state(namespace).await?;
        let mut next = current.state.decisions();
        change(&mut next);
        match state
            .write_decisions(namespace, &next, current.version)
            .await
        {
            Ok(()) => {
                let mut written = current.state;
                written.apply(next);
                return Ok(written);
            }
            Err(AdapterError::Conflict { .. }) => continue,
            Err(error) => return Err(error),
        }
    }
    Err(AdapterError::Conflict {
        service: "kubernetes",
        operation: format!(
            "changing the decisions of `{namespace}` ({ATTEMPTS} writes lost a race to other writers; run it again)"
        ),
    })
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
            .expect_write_decisions()
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
