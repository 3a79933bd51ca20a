//! [`MemoryQueues`]: queue depths per region that a script (or the playground's `queue push`)
//! changes while a run watches them.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use neuro_deploy_core::{AdapterError, QueueDepth, QueueInspector};

/// Named queues in regions, each with visible / in-flight / delayed counts. A queue that was
/// never created is an error when read, as SQS's is.
#[derive(Debug, Default)]
pub struct MemoryQueues {
    depths: Mutex<BTreeMap<(String, String), QueueDepth>>,
}

impl MemoryQueues {
    /// Empty queues: every name in every region.
    pub fn new(names: &[String], regions: &[String]) -> MemoryQueues {
        let queues = MemoryQueues::default();
        for name in names {
            for region in regions {
                queues.set(name, region, QueueDepth::default());
            }
        }
        queues
    }

    fn depths(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), QueueDepth>> {
        crate::locked(&self.depths)
    }

    fn change<T>(
        &self,
        queue: &str,
        region: &str,
        change: impl FnOnce(&mut QueueDepth) -> T,
    ) -> Result<T, AdapterError> {
        let mut depths = self.depths();
        let depth = depths
            .get_mut(&(queue.to_owned(), region.to_owned()))
            .ok_or_else(|| missing(queue, region))?;
        Ok(change(depth))
    }

    /// Creates the queue (or replaces its counts).
    pub fn set(&self, queue: &str, region: &str, depth: QueueDepth) {
        self.depths()
            .insert((queue.to_owned(), region.to_owned()), depth);
    }

    /// A training job arrives and a runner picks it up: one message in flight.
    pub fn push(&self, queue: &str, region: &str) -> Result<QueueDepth, AdapterError> {
        self.change(queue, region, |depth| {
            depth.in_flight += 1;
            *depth
        })
    }

    /// One job finishes (its message is deleted): in-flight first, then visible, then delayed.
    /// `Ok(None)` when the queue was already empty.
    pub fn pop(&self, queue: &str, region: &str) -> Result<Option<QueueDepth>, AdapterError> {
        self.change(queue, region, |depth| {
            let count = [&mut depth.in_flight, &mut depth.visible, &mut depth.delayed]
                .into_iter()
                .find(|count| **count > 0)?;
            *count -= 1;
            Some(*depth)
        })
    }

    /// Every queue and region with its counts.
    pub fn list(&self) -> Vec<(String, String, QueueDepth)> {
        self.depths()
            .iter()
            .map(|((queue, region), depth)| (queue.clone(), region.clone(), *depth))
            .collect()
    }
}

fn missing(queue: &str, region: &str) -> AdapterError {
    AdapterError::NotFound {
        service: "sqs",
        what: format!("queue `{queue}` in {region}"),
        source: None,
    }
}

#[async_trait]
impl QueueInspector for MemoryQueues {
    async fn depth(&self, queue: &str, region: &str) -> Result<QueueDepth, AdapterError> {
        self.change(queue, region, |depth| *depth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUEUE: &str = "training";

    fn queues() -> MemoryQueues {
        MemoryQueues::new(
            &[QUEUE.to_owned()],
            &["us-west-2".to_owned(), "us-east-2".to_owned()],
        )
    }

    #[tokio::test]
    async fn a_job_is_in_flight_until_it_finishes_in_its_own_region_only() {
        let queues = queues();
        assert!(queues.depth(QUEUE, "us-east-2").await.unwrap().is_empty());

        queues.push(QUEUE, "us-east-2").unwrap();
        let busy = queues.depth(QUEUE, "us-east-2").await.unwrap();
        assert_eq!((busy.visible, busy.in_flight, busy.delayed), (0, 1, 0));
        assert!(queues.depth(QUEUE, "us-west-2").await.unwrap().is_empty());

        let after = queues.pop(QUEUE, "us-east-2").unwrap().unwrap();
        assert!(after.is_empty());
        assert_eq!(queues.pop(QUEUE, "us-east-2").unwrap(), None);
    }

    #[tokio::test]
    async fn pop_finishes_in_flight_before_visible_before_delayed() {
        let queues = queues();
        let depth = QueueDepth {
            visible: 1,
            in_flight: 1,
            delayed: 1,
        };
        queues.set(QUEUE, "us-west-2", depth);
        let first = queues.pop(QUEUE, "us-west-2").unwrap().unwrap();
        assert_eq!((first.visible, first.in_flight, first.delayed), (1, 0, 1));
        let second = queues.pop(QUEUE, "us-west-2").unwrap().unwrap();
        assert_eq!(
            (second.visible, second.in_flight, second.delayed),
            (0, 0, 1)
        );
        assert_eq!(queues.depth(QUEUE, "us-west-2").await.unwrap().total(), 1);
    }

    #[tokio::test]
    async fn a_queue_that_does_not_exist_is_an_error_not_empty() {
        let queues = queues();
        let error = queues.depth(QUEUE, "eu-west-1").await.unwrap_err();
        assert!(error.to_string().contains("eu-west-1"), "{error}");
        assert!(queues.push("other", "us-west-2").is_err());
        assert_eq!(queues.list().len(), 2);
    }
}
