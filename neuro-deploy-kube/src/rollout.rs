//! Waiting for rollouts by kubectl's rule over one list and one watch, re-established after
//! drops, bounded by the timeout.
//!
//! Why a hand-written watch and not kube-runtime's `watcher` (so the `runtime` feature of `kube`
//! is off): the wait needs kubectl's rule on every event (observedGeneration first, then the
//! replica counts and `ProgressDeadlineExceeded`) — kube-runtime's own `is_deployment_completed`
//! ignores observedGeneration and can report the previous rollout as done right after a patch —
//! and it needs only the named Deployments: one list, one watch from the list's resourceVersion,
//! list and watch again after a drop, all bounded by the run's own deadline. The `watcher` would
//! put its state machine and its own backoff around the same two requests (one list and one
//! watch per rollout wait either way: see BENCHMARKS.md), and the kube-runtime crate into every
//! build.

use std::collections::HashMap;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kube::api::{ListParams, WatchEvent, WatchParams};
use neuro_deploy_core::{AdapterError, RolloutResult, RolloutState};

use crate::KubeCluster;
use crate::request::{is_retryable, map_error};

impl KubeCluster {
    pub(crate) async fn wait_for_rollouts(
        &self,
        namespace: &str,
        workloads: &[String],
        timeout: Duration,
    ) -> Result<RolloutResult, AdapterError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let api = self.deployments(namespace);
        let wanted: Vec<String> = workloads.to_vec();
        let mut states: HashMap<String, RolloutState> = HashMap::new();
        let verdict = |states: &HashMap<String, RolloutState>| -> Option<RolloutResult> {
            for name in &wanted {
                if let Some(RolloutState::Failed(reason)) = states.get(name) {
                    return Some(RolloutResult::Failed {
                        workload: name.clone(),
                        reason: reason.clone(),
                    });
                }
            }
            wanted
                .iter()
                .all(|name| states.get(name).is_some_and(RolloutState::is_complete))
                .then_some(RolloutResult::Complete)
        };
        let pending = |states: &HashMap<String, RolloutState>| -> Vec<String> {
            wanted
                .iter()
                .filter(|name| !states.get(*name).is_some_and(RolloutState::is_complete))
                .map(|name| match states.get(name) {
                    Some(RolloutState::Progressing(why)) => format!("{name}: {why}"),
                    Some(RolloutState::Failed(why)) => format!("{name}: {why}"),
                    _ => format!("{name}: not seen"),
                })
                .collect()
        };
        let operation = format!("watching deployments in `{namespace}`");
        // One list, then one watch over the selector, re-established after disconnects.
        loop {
            let list_params = ListParams::default().labels(&self.selector);
            let list = match tokio::time::timeout_at(
                deadline,
                self.call(&operation, || api.list(&list_params)),
            )
            .await
            {
                Err(_) => {
                    return Ok(RolloutResult::TimedOut {
                        pending: pending(&states),
                    });
                }
                Ok(list) => list?,
            };
            for deployment in &list.items {
                let workload = self.workload(deployment);
                let state = workload.rollout_state();
                self.record_state(&mut states, &wanted, workload.name, state);
            }
            if let Some(result) = verdict(&states) {
                return Ok(result);
            }
            let version = list.metadata.resource_version.clone().unwrap_or_default();
            let watch_params = WatchParams::default()
                .labels(&self.selector)
                .timeout(u32::try_from(self.settings.watch_timeout.as_secs()).unwrap_or(25));
            let stream =
                match tokio::time::timeout_at(deadline, api.watch(&watch_params, &version)).await {
                    Err(_) => {
                        return Ok(RolloutResult::TimedOut {
                            pending: pending(&states),
                        });
                    }
                    Ok(Err(error)) if is_retryable(&error) => {
                        tokio::time::sleep(self.settings.min_backoff).await;
                        continue;
                    }
                    Ok(Err(error)) => return Err(map_error(&operation, error)),
                    Ok(Ok(stream)) => stream,
                };
            let mut stream = stream.boxed();
            loop {
                let next = match tokio::time::timeout_at(deadline, stream.try_next()).await {
                    Err(_) => {
                        return Ok(RolloutResult::TimedOut {
                            pending: pending(&states),
                        });
                    }
                    Ok(next) => next,
                };
                match next {
                    Ok(Some(WatchEvent::Added(d) | WatchEvent::Modified(d))) => {
                        let workload = self.workload(&d);
                        let state = workload.rollout_state();
                        self.record_state(&mut states, &wanted, workload.name, state);
                        if let Some(result) = verdict(&states) {
                            return Ok(result);
                        }
                    }
                    Ok(Some(WatchEvent::Deleted(d))) => {
                        let name = d.metadata.name.clone().unwrap_or_default();
                        if wanted.contains(&name) {
                            return Ok(RolloutResult::Failed {
                                workload: name,
                                reason: "deleted during the rollout".to_owned(),
                            });
                        }
                    }
                    Ok(Some(WatchEvent::Bookmark(_))) => {}
                    // 410 Gone or another watch error: list again.
                    Ok(Some(WatchEvent::Error(status))) => {
                        tracing::debug!(code = status.code, "watch error; re-listing");
                        break;
                    }
                    // Stream ended (server timeout or dropped connection): re-establish.
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }

    /// Keeps a Deployment's state and, when a wanted one's changes, says so.
    fn record_state(
        &self,
        states: &mut HashMap<String, RolloutState>,
        wanted: &[String],
        name: String,
        state: RolloutState,
    ) {
        if let Some(progress) = &self.progress
            && wanted.contains(&name)
            && states.get(&name) != Some(&state)
        {
            let text = match &state {
                RolloutState::Complete => "rollout complete".to_owned(),
                RolloutState::Progressing(why) => why.clone(),
                RolloutState::Failed(why) => format!("failed: {why}"),
            };
            progress(&name, &text);
        }
        states.insert(name, state);
    }
}
