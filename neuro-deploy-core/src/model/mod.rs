//! Plain data the policy, the executor and the adapters share.
//!
//! One concept a file: [`image`], [`workload`], [`event`], what the systems answer ([`outside`])
//! what is recorded about deploys ([`record`], the deploy's [`notes`]), the guardrail state environments share
//! ([`guard`]), what the team's monitoring answers and is told ([`signals`]), and instants
//! ([`time`]).

pub mod changes;
pub mod event;
pub mod guard;
pub mod image;
pub mod notes;
pub mod outside;
pub mod record;
pub mod signals;
pub mod time;
pub mod workload;

pub use crate::names::validate_namespace;
pub use changes::{Changes, CommitSummary, Comparison, Divergence, LISTED_COMMITS};
pub use event::{DeployTarget, Event, ReleaseTarget};
pub use guard::{
    Approval, Clearance, Decisions, Freeze, GuardState, QuarantineReason, Quarantined, Spent,
    Unfrozen, VersionedState,
};
pub use image::{ContainerImage, ImageRef};
pub use notes::DeployNotes;
pub use outside::{LockAttempt, LockHandle, QueueDepth, ReleaseInfo, RolloutResult};
pub use record::{DeploymentPayload, DeploymentRecord, DeploymentState, HistoryEntry};
pub use signals::{ActiveAlert, QueryAnswer, Sample, Series};
pub use time::{parse_instant, rfc3339};
pub use workload::{
    AuditRecord, DeployAudit, ImageChange, RolledBack, RolloutCounts, RolloutState, Workload,
    annotations,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_image_parsing() {
        let img =
            ImageRef::parse_container_image("123.dkr.ecr.us-west-2.amazonaws.com/neuro-ui:v1.4.0");
        assert_eq!(
            img.repository,
            "123.dkr.ecr.us-west-2.amazonaws.com/neuro-ui"
        );
        assert_eq!(img.tag, "v1.4.0");
        let port = ImageRef::parse_container_image("localhost:5000/neuro-ui");
        assert_eq!(port.repository, "localhost:5000/neuro-ui");
        assert_eq!(port.tag, "latest");
        let digest = ImageRef::parse_container_image("r/neuro-ui:abc1234@sha256:ff");
        assert_eq!(digest.tag, "abc1234");
        assert_eq!(digest.digest.as_deref(), Some("sha256:ff"));
    }

    #[test]
    fn rollout_rule_waits_for_observed_generation() {
        let stale = RolloutCounts {
            generation: 3,
            observed_generation: 2,
            desired: 2,
            replicas: 2,
            updated: 2,
            available: 2,
            deadline_exceeded: false,
        };
        assert!(matches!(stale.state(), RolloutState::Progressing(_)));
        let done = RolloutCounts {
            observed_generation: 3,
            ..stale
        };
        assert_eq!(done.state(), RolloutState::Complete);
        let old_pods = RolloutCounts {
            replicas: 3,
            ..done
        };
        assert!(matches!(old_pods.state(), RolloutState::Progressing(_)));
        let unavailable = RolloutCounts {
            available: 1,
            ..done
        };
        assert!(matches!(unavailable.state(), RolloutState::Progressing(_)));
        let failed = RolloutCounts {
            deadline_exceeded: true,
            ..done
        };
        assert!(matches!(failed.state(), RolloutState::Failed(_)));
    }

    #[test]
    fn namespaces() {
        assert!(validate_namespace("leaf-neuro-ui").is_ok());
        for bad in ["", "Dev", "-dev", "dev-", "dev_1", &"a".repeat(64)] {
            assert!(validate_namespace(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn app_tag_ignores_sidecars() {
        let w = Workload {
            name: "neuro-ui".into(),
            containers: vec![
                ContainerImage {
                    container: "web".into(),
                    image: "r/neuro-ui:v1".into(),
                },
                ContainerImage {
                    container: "proxy".into(),
                    image: "envoy:1.2".into(),
                },
            ],
            rollout: RolloutCounts::default(),
            paused: false,
            condition: None,
            audit: AuditRecord::default(),
            resource_version: None,
        };
        assert_eq!(w.app_tag("r/neuro-ui").as_deref(), Some("v1"));
        assert_eq!(w.app_containers("r/neuro-ui").count(), 1);
    }
}
