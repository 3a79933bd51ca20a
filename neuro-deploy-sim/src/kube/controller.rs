//! The simulated deployment controller: a patched template starts a rollout whose `status`
//! moves over time (observed generation, updated and available replicas), or fails with
//! `ProgressDeadlineExceeded` for a failing image.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::deployment::{
    Rollout, complete_status, containers, failing_status, progressing_status, replicas,
};
use super::store::Resource;
use super::store::Store;

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
