//! The simulated deployment controller: a patched template starts a rollout whose `status`
//! moves over time (observed generation, updated and available replicas), or fails with
//! `ProgressDeadlineExceeded` for a failing image.

use std::time::{Duration, Instant};

use regex::Regex;
use serde_json::{Value, json};

use super::store::*;

/// How rollouts behave.
#[derive(Debug, Clone)]
pub struct ControllerOptions {
    /// How long a successful rollout takes.
    pub rollout: Duration,
    /// How long before the controller observes a new generation (the window in which the
    /// previous rollout's status is still shown).
    pub observe_delay: Duration,
    /// After this long a rollout of a failing image is marked `ProgressDeadlineExceeded`.
    pub deadline: Duration,
    /// Images matching any of these never become available.
    pub fail_images: Vec<Regex>,
}

pub(crate) struct Rollout {
    pub(crate) started: Instant,
    pub(crate) fails: bool,
}

pub(crate) fn replicas(deployment: &Value) -> i32 {
    deployment["spec"]["replicas"]
        .as_i64()
        .map_or(1, |r| r as i32)
}

pub(crate) fn containers(deployment: &Value) -> Vec<Value> {
    deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

pub(crate) fn default_deployment(deployment: &mut Value) {
    if deployment["spec"]["replicas"].is_null() {
        deployment["spec"]["replicas"] = json!(1);
    }
    if deployment["spec"]["progressDeadlineSeconds"].is_null() {
        deployment["spec"]["progressDeadlineSeconds"] = json!(600);
    }
    if deployment["spec"]["strategy"].is_null() {
        deployment["spec"]["strategy"] = json!({ "type": "RollingUpdate", "rollingUpdate": { "maxSurge": "25%", "maxUnavailable": "25%" } });
    }
}

pub(crate) fn condition(kind: &str, status: &str, reason: &str, message: String) -> Value {
    let now = now_rfc3339();
    json!({ "type": kind, "status": status, "reason": reason, "message": message, "lastUpdateTime": now, "lastTransitionTime": now })
}

pub(crate) fn complete_status(generation: i64, desired: i32) -> Value {
    json!({
        "observedGeneration": generation,
        "replicas": desired,
        "updatedReplicas": desired,
        "readyReplicas": desired,
        "availableReplicas": desired,
        "conditions": [
            condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.".into()),
            condition("Progressing", "True", "NewReplicaSetAvailable", "ReplicaSet has successfully progressed.".into()),
        ]
    })
}

pub(crate) fn progressing_status(generation: i64, desired: i32, updated: i32, name: &str) -> Value {
    json!({
        "observedGeneration": generation,
        "replicas": desired + 1,
        "updatedReplicas": updated + 1,
        "readyReplicas": desired,
        "availableReplicas": desired,
        "unavailableReplicas": 1,
        "conditions": [
            condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.".into()),
            condition("Progressing", "True", "ReplicaSetUpdated", format!("ReplicaSet \"{name}\" is progressing.")),
        ]
    })
}

pub(crate) fn failing_status(generation: i64, desired: i32, exceeded: bool, name: &str) -> Value {
    let progressing = if exceeded {
        condition(
            "Progressing",
            "False",
            "ProgressDeadlineExceeded",
            format!("ReplicaSet \"{name}\" has timed out progressing."),
        )
    } else {
        condition(
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            format!("ReplicaSet \"{name}\" is progressing."),
        )
    };
    json!({
        "observedGeneration": generation,
        "replicas": desired + 1,
        "updatedReplicas": 1,
        "readyReplicas": desired,
        "availableReplicas": desired,
        "unavailableReplicas": 1,
        "conditions": [
            condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.".into()),
            progressing,
        ]
    })
}

impl Store {
    pub(crate) fn start_rollout(&mut self, namespace: &str, name: &str, deployment: &Value) {
        if deployment["spec"]["paused"].as_bool() == Some(true) {
            return;
        }
        let fails = self.options.fail_images.iter().any(|re| {
            containers(deployment)
                .iter()
                .any(|c| c["image"].as_str().is_some_and(|image| re.is_match(image)))
        });
        self.rollouts.insert(
            (namespace.to_owned(), name.to_owned()),
            Rollout {
                started: Instant::now(),
                fails,
            },
        );
    }

    /// Moves every rollout on, as the deployment controller would.
    pub fn tick(&mut self) {
        let now = Instant::now();
        let active: Vec<(String, String)> = self.rollouts.keys().cloned().collect();
        for (namespace, name) in active {
            let Some(rollout) = self.rollouts.get(&(namespace.clone(), name.clone())) else {
                continue;
            };
            let elapsed = now.duration_since(rollout.started);
            let fails = rollout.fails;
            let key = (Resource::Deployment, namespace.clone(), name.clone());
            let Some(current) = self.objects.get(&key).cloned() else {
                self.rollouts.remove(&(namespace, name));
                continue;
            };
            if elapsed < self.options.observe_delay {
                continue;
            }
            let generation = current["metadata"]["generation"].as_i64().unwrap_or(1);
            let desired = replicas(&current);
            let (status, done) = if fails {
                let exceeded = elapsed >= self.options.deadline;
                (
                    failing_status(generation, desired, exceeded, &name),
                    exceeded,
                )
            } else {
                let span = self
                    .options
                    .rollout
                    .saturating_sub(self.options.observe_delay)
                    .max(Duration::from_millis(1));
                let progress =
                    (elapsed - self.options.observe_delay).as_secs_f64() / span.as_secs_f64();
                if progress >= 1.0 || desired == 0 {
                    (complete_status(generation, desired), true)
                } else {
                    let updated = ((progress * f64::from(desired)).floor() as i32).min(desired - 1);
                    (
                        progressing_status(generation, desired, updated, &name),
                        false,
                    )
                }
            };
            if done {
                self.rollouts.remove(&(namespace.clone(), name.clone()));
            }
            if current["status"] != status {
                let mut updated = current;
                updated["status"] = status;
                self.stamp(&mut updated);
                self.objects.insert(key, updated.clone());
                self.record(Resource::Deployment, "MODIFIED", updated);
            }
        }
    }
}
