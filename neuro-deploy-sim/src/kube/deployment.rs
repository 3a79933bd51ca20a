//! A Deployment's shape as the simulated controller reads and writes it: replicas, containers,
//! the defaults the API server fills in, the status of a complete, progressing or failing
//! rollout, and how rollouts behave ([`ControllerOptions`]).

use std::time::{Duration, Instant};

use regex::Regex;
use serde_json::{Value, json};

use super::clock::now_rfc3339;

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
