//! The core executor with the real AWS adapters (moto) and a mocked cluster: a production
//! promotion is refused while one job is in flight in us-east-2 only, and goes through once
//! that message is deleted.

use std::sync::Arc;
use std::time::Duration;

use neuro_deploy_aws::{EcrRegistry, SqsQueues};
use neuro_deploy_core::model::{AuditRecord, ContainerImage};
use neuro_deploy_core::{
    Adapters, Config, Event, Executor, LockAttempt, LockHandle, MockClusterDeployer,
    MockImageBuilder, Outcome, ReasonCode, RolloutCounts, RolloutResult, RunOptions, Version,
    Workload,
};

use crate::support::*;

fn workload(repository: &str, tag: &str) -> Workload {
    Workload {
        name: "neuro-ui".into(),
        containers: vec![ContainerImage {
            container: "web".into(),
            image: format!("{repository}:{tag}"),
        }],
        rollout: RolloutCounts {
            generation: 1,
            observed_generation: 1,
            desired: 1,
            replicas: 1,
            updated: 1,
            available: 1,
            deadline_exceeded: false,
        },
        paused: false,
        condition: None,
        audit: AuditRecord::default(),
        resource_version: None,
    }
}

fn cluster(uri: &str, deploys: usize) -> MockClusterDeployer {
    let mut cluster = MockClusterDeployer::new();
    let (staging, production) = (workload(uri, "v1.4.0"), workload(uri, "v1.3.0"));
    cluster.expect_workloads().returning(move |ns| {
        Ok(vec![if ns == "staging" {
            staging.clone()
        } else {
            production.clone()
        }])
    });
    cluster
        .expect_lock()
        .times(deploys)
        .returning(|ns, holder, _| {
            Ok(LockAttempt::Acquired(LockHandle {
                namespace: ns.into(),
                holder: holder.into(),
                resource_version: "1".into(),
            }))
        });
    cluster.expect_renew().returning(|h| Ok(h.clone()));
    cluster.expect_unlock().times(deploys).returning(|_| Ok(()));
    cluster
        .expect_set_images()
        .withf(|ns, changes, _| {
            // A promotion deploys the digest verified upstream: `…:v1.4.0@sha256:…`.
            ns == "leaf-neuro-ui"
                && changes.len() == 1
                && changes[0].image.contains(":v1.4.0@sha256:")
        })
        .times(deploys)
        .returning(|_, _, _| Ok(()));
    cluster
        .expect_await_rollout()
        .times(deploys)
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    cluster
}

async fn promote(
    config: &Config,
    registry: Arc<EcrRegistry>,
    cluster: MockClusterDeployer,
) -> neuro_deploy_core::Report {
    let mut queue_configs = Vec::new();
    for region in &config.queues.regions {
        queue_configs.push((region.clone(), moto(region).await));
    }
    let adapters = Adapters {
        registry,
        builder: Some(Arc::new(MockImageBuilder::new())),
        queues: Arc::new(SqsQueues::from_configs(
            &queue_configs,
            &settings(moto_url()),
        )),
        cluster: Arc::new(cluster),
        releases: None,
        // Nothing shared here; a run without a shared-state adapter would fail closed.
        state: Some(Arc::new(neuro_deploy_core::nothing_shared(Some(
            "system:serviceaccount:ci:neuro-deploy",
        )))),
    };
    let event = Event::Promote {
        version: Version::parse("v1.4.0").unwrap(),
        to: None,
        allow_downgrade: false,
    };
    let ctx = RunOptions {
        identity: "ops@test".into(),
        run_id: "run".into(),
        started_at: "2026-11-26T00:00:00Z".parse().unwrap(),
        dry_run: false,
        run_url: None,
        overrides: Default::default(),
    };
    Executor::new(adapters, config.clone())
        .run(&event, &ctx)
        .await
}

#[tokio::test]
async fn promotion_waits_for_a_job_in_flight_in_one_region() {
    let queue = unique("sqs_studioml_gorunner_cpu_production_0");
    let repo = unique("neuro-ui");
    let (west, east) = (moto("us-west-2").await, moto("us-east-2").await);
    create_queue(&west, &queue).await;
    let east_url = create_queue(&east, &queue).await;
    create_repository(&west, &repo, false).await;
    push(&west, &repo, "v1.4.0", "release").await;
    let registry = Arc::new(EcrRegistry::new(&west, &settings(moto_url()), &repo, None));
    let uri = neuro_deploy_core::Registry::repository_uri(registry.as_ref())
        .await
        .unwrap();

    let mut config = Config::default();
    config.registry.repository = repo.clone();
    config.queues.names = vec![queue.clone()];
    config.queues.window = Duration::ZERO;
    config.queues.timeout = Duration::ZERO;

    // A training job picked up in us-east-2 and still running.
    let sqs = aws_sdk_sqs::Client::new(&east);
    sqs.send_message()
        .queue_url(&east_url)
        .message_body("train")
        .send()
        .await
        .unwrap();
    let received = sqs
        .receive_message()
        .queue_url(&east_url)
        .visibility_timeout(600)
        .send()
        .await
        .unwrap();
    let receipt = received.messages()[0].receipt_handle().unwrap().to_owned();

    let refused = promote(&config, Arc::clone(&registry), cluster(&uri, 0)).await;
    assert_eq!(refused.outcome, Outcome::Refused, "{refused:#?}");
    assert_eq!(refused.reason, Some(ReasonCode::QueueNotDrained));
    assert!(
        refused
            .message
            .contains("us-east-2: 0 visible, 1 in flight, 0 delayed"),
        "{}",
        refused.message
    );
    assert!(
        !refused.message.contains("us-west-2"),
        "{}",
        refused.message
    );

    // The job finishes and deletes its message.
    sqs.delete_message()
        .queue_url(&east_url)
        .receipt_handle(receipt)
        .send()
        .await
        .unwrap();
    let deployed = promote(&config, registry, cluster(&uri, 1)).await;
    assert_eq!(deployed.outcome, Outcome::Deployed, "{deployed:#?}");
    // The image verified upstream, pinned by its digest in the registry.
    assert!(
        deployed
            .image
            .as_deref()
            .is_some_and(|i| i.starts_with(&format!("{uri}:v1.4.0@sha256:"))),
        "{deployed:#?}"
    );
}
