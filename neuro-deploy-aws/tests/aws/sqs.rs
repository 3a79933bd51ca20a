//! SqsQueues against moto: exact depths per region, missing queues are errors.

use neuro_deploy_aws::SqsQueues;
use neuro_deploy_core::{AdapterError, QueueDepth, QueueInspector};

use crate::support::*;

async fn queues(regions: &[&str]) -> SqsQueues {
    let mut configs = Vec::new();
    for region in regions {
        configs.push((region.to_string(), moto(region).await));
    }
    SqsQueues::from_configs(&configs, &settings(moto_url()))
}

#[tokio::test]
async fn depths_are_exact_per_region() {
    let name = unique("jobs");
    let west = moto("us-west-2").await;
    let east = moto("us-east-2").await;
    let west_url = create_queue(&west, &name).await;
    create_queue(&east, &name).await;

    let sqs = aws_sdk_sqs::Client::new(&west);
    for body in ["a", "b"] {
        sqs.send_message()
            .queue_url(&west_url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    // Received and not deleted: a job in flight.
    let received = sqs
        .receive_message()
        .queue_url(&west_url)
        .max_number_of_messages(1)
        .visibility_timeout(600)
        .send()
        .await
        .unwrap();
    assert_eq!(received.messages().len(), 1);
    sqs.send_message()
        .queue_url(&west_url)
        .message_body("later")
        .delay_seconds(900)
        .send()
        .await
        .unwrap();

    let inspector = queues(&["us-west-2", "us-east-2"]).await;
    assert_eq!(
        inspector.depth(&name, "us-west-2").await.unwrap(),
        QueueDepth {
            visible: 1,
            in_flight: 1,
            delayed: 1
        }
    );
    assert_eq!(
        inspector.depth(&name, "us-east-2").await.unwrap(),
        QueueDepth::default()
    );
}

#[tokio::test]
async fn a_queue_missing_in_one_region_is_an_error_never_empty() {
    let name = unique("only-west");
    create_queue(&moto("us-west-2").await, &name).await;
    let inspector = queues(&["us-west-2", "us-east-2"]).await;
    assert!(inspector.depth(&name, "us-west-2").await.is_ok());
    let error = inspector.depth(&name, "us-east-2").await.unwrap_err();
    assert!(matches!(error, AdapterError::NotFound { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains(&name) && text.contains("us-east-2"), "{text}");
}

#[tokio::test]
async fn an_unconfigured_region_is_an_error() {
    let inspector = queues(&["us-west-2"]).await;
    let error = inspector.depth("q", "eu-west-1").await.unwrap_err();
    assert!(error.to_string().contains("eu-west-1"), "{error}");
}

#[tokio::test]
async fn connect_builds_one_client_per_region_from_the_default_chain() {
    let name = unique("chain");
    create_queue(&moto("us-east-2").await, &name).await;
    let inspector = SqsQueues::connect(
        &["us-west-2".to_owned(), "us-east-2".to_owned()],
        &settings(moto_url()),
    )
    .await;
    assert_eq!(
        inspector.depth(&name, "us-east-2").await.unwrap(),
        QueueDepth::default()
    );
    assert!(inspector.depth(&name, "us-west-2").await.is_err());
}
