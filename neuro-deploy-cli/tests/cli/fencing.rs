//! Fencing through the real binary against kube-sim: a Deployment someone changes between the
//! run's read under the lock and its write is not written, and the restore after a failed
//! rollout does not overwrite a change made after the run's write. The other writer is a
//! kube-sim hook that applies their change just before the run's request, not a sleep.

use neuro_deploy_sim::kube::{Fault, FaultAction, Resource};
use serde_json::{Value, json};

use crate::world::*;

/// The Deployment `neuro-ui` in `namespace` as kube-sim holds it.
fn neuro_ui(w: &World, namespace: &str) -> Value {
    w.sim
        .get(Resource::Deployment, namespace, "neuro-ui")
        .expect("the seed has neuro-ui")
}

/// Another writer's merge patch, applied just before the `skip + 1`-th PATCH of `neuro-ui` in
/// `namespace`.
fn someone_writes_first(w: &World, namespace: &str, skip: u32, patch: Value) {
    w.sim.inject(Fault {
        skip,
        ..Fault::on(
            "PATCH",
            &format!("/namespaces/{namespace}/deployments/neuro-ui"),
            1,
            FaultAction::WriteFirst { patch },
        )
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_changed_after_the_read_under_the_lock_is_not_written_and_the_run_says_which()
{
    let w = World::start(fast_sim(), "").await;
    w.push_image(SHORT).await;
    someone_writes_first(
        &w,
        "dev",
        0,
        json!({
            "metadata": { "annotations": { "example.com/scaled-by": "the autoscaler" } },
            "spec": { "replicas": 3 }
        }),
    );
    let (code, json, stderr) = w.run(&["merged", "--sha", SHA]).await;
    assert_eq!(code, 1, "{json:#}\n{stderr}");
    assert_eq!(json["outcome"], "failed");
    let message = json["message"].as_str().unwrap();
    assert!(
        message.contains("Deployment `neuro-ui`")
            && message.contains("changed after this run read it")
            && message.contains("nothing was written to it"),
        "{message}"
    );
    assert_eq!(json["applied"], json!([]), "{json:#}");
    // Their change stands, and the images are what they were.
    let deployment = neuro_ui(&w, "dev");
    assert_eq!(deployment["spec"]["replicas"], 3);
    assert_eq!(
        deployment["metadata"]["annotations"]["example.com/scaled-by"],
        "the autoscaler"
    );
    assert!(w.all_on("dev", "neuro-ui", "v1.3.0"));
    assert!(w.lock_released("dev"), "{:?}", w.lease("dev"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_restore_after_a_failed_rollout_does_not_overwrite_a_later_change() {
    let w = World::start(fast_sim(), "").await;
    w.push_image("v9.9.9").await;
    // Between the run's write of the failing v9.9.9 and its restore, someone sets their own
    // fix by hand.
    let mut containers = neuro_ui(&w, "dev")["spec"]["template"]["spec"]["containers"].clone();
    for container in containers.as_array_mut().unwrap() {
        if container["image"].as_str().unwrap().starts_with(&w.uri) {
            container["image"] = json!(format!("{}:fixed-by-hand", w.uri));
        }
    }
    someone_writes_first(
        &w,
        "dev",
        1,
        json!({ "spec": { "template": { "spec": { "containers": containers } } } }),
    );
    let (code, json, stderr) = w.run(&["deploy", "v9.9.9", "--env", "dev"]).await;
    assert_eq!(code, 6, "{json:#}\n{stderr}");
    assert_eq!(json["outcome"], "rollback_failed");
    let message = json["message"].as_str().unwrap();
    assert!(
        message.contains("neuro-ui") && message.contains("changed after this run read it"),
        "{message}"
    );
    assert_eq!(json["restored"], json!([]), "{json:#}");
    assert!(
        w.all_on("dev", "neuro-ui", "fixed-by-hand"),
        "their fix stands: {:?}",
        w.app_images("dev", "neuro-ui")
    );
    assert!(w.lock_released("dev"), "{:?}", w.lease("dev"));
}
