//! One environment per cluster: dev and staging in cluster A, production in cluster B, one
//! kubeconfig holding both contexts (as Codefresh provides it). Nothing may be read or written
//! in the wrong cluster; kube-sim's request counters show where every write went.

use neuro_deploy_sim::kube::{KubeSim, Resource};

use crate::world::*;

const ENVIRONMENTS: &str = r#"
[[environments]]
name = "dev"
namespace = "dev"
trigger = "merge"
kube_context = "cluster-a"

[[environments]]
name = "staging"
namespace = "staging"
trigger = "release"
kube_context = "cluster-a"

[[environments]]
name = "production"
namespace = "leaf-neuro-ui"
trigger = "manual"
promote_from = "staging"
kube_context = "cluster-b"
"#;

fn kubeconfig(a: &KubeSim, b: &KubeSim) -> String {
    let mut text = String::from("apiVersion: v1\nkind: Config\nclusters:\n");
    for (name, sim) in [("a", a), ("b", b)] {
        text.push_str(&format!(
            "- name: sim-{name}\n  cluster:\n    server: {}\n",
            sim.url()
        ));
    }
    text.push_str("contexts:\n");
    for name in ["a", "b"] {
        text.push_str(&format!(
            "- name: cluster-{name}\n  context:\n    cluster: sim-{name}\n    user: sim\n"
        ));
    }
    text.push_str(
        "current-context: cluster-a\nusers:\n- name: sim\n  user:\n    token: sim-token\n",
    );
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_environment_is_read_and_written_in_its_own_cluster() {
    let w = World::start(fast_sim(), ENVIRONMENTS).await;
    // Cluster B holds production only.
    let b = KubeSim::start(fast_sim()).await.unwrap();
    let mut seed = neuro_deploy_sim::fixtures::namespace("leaf-neuro-ui");
    seed.push_str(&deployment("leaf-neuro-ui", "neuro-ui", &w.uri, "v1.3.0"));
    b.seed(&seed).unwrap();
    std::fs::write(&w.kubeconfig, kubeconfig(&w.sim, &b)).unwrap();

    // Merge → dev and release → staging, both in A.
    let (code, json, stderr) = w.run(&["merged", "--sha", SHA]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    w.push_image(SHORT).await;
    let (code, json, stderr) = w
        .run(&[
            "released", "--tag", "v1.4.0", "--sha", SHA, "--target", "main",
        ])
        .await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(writes_in(&b, "dev") + writes_in(&b, "staging"), 0);

    // Promote: staging read in A, production locked and written in B, A's copy untouched.
    w.sim.reset_requests();
    b.reset_requests();
    let (code, json, stderr) = w.run(&["promote", "v1.4.0", "--yes"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert!(
        app_images_in(&b, &w.uri, "leaf-neuro-ui", "neuro-ui")
            .iter()
            .all(|i| i.starts_with(&format!("{}:v1.4.0@sha256:", w.uri))),
        "{:?}",
        app_images_in(&b, &w.uri, "leaf-neuro-ui", "neuro-ui")
    );
    assert_eq!(
        writes_in(&w.sim, "leaf-neuro-ui"),
        0,
        "nothing written in A"
    );
    assert!(
        app_images_in(&w.sim, &w.uri, "leaf-neuro-ui", "neuro-ui")
            .iter()
            .all(|i| i.ends_with(":v1.3.0"))
    );
    assert!(
        b.get(Resource::Lease, "leaf-neuro-ui", "neuro-deploy")
            .is_some()
    );
    assert!(
        w.sim
            .get(Resource::Lease, "leaf-neuro-ui", "neuro-deploy")
            .is_none()
    );
    assert!(
        w.sim
            .requests()
            .count("GET", "/namespaces/staging/deployments")
            >= 1,
        "staging was read in A"
    );

    // Status shows each environment from its own cluster.
    let (code, json, _) = w.run(&["status"]).await;
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["environments"][1]["version"], "v1.4.0");
    assert_eq!(json["environments"][2]["version"], "v1.4.0");

    // `--context` that contradicts production's context: invalid, naming both.
    let (code, json, _) = w
        .run(&["promote", "v1.4.0", "--yes", "--context", "cluster-a"])
        .await;
    assert_eq!((code, reason(&json)), (2, "invalid_input"), "{json:#}");
    let message = json["message"].as_str().unwrap();
    assert!(
        message.contains("cluster-a") && message.contains("cluster-b"),
        "{message}"
    );

    // Cluster B down: status shows A's environments, marks production unreachable, exit 1.
    drop(b);
    let (code, json, _) = w.run(&["status"]).await;
    assert_eq!(code, 1, "{json:#}");
    assert_eq!(json["environments"][0]["version"], SHORT);
    assert!(
        json["environments"][2]["unreachable"].is_string(),
        "{json:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_missing_from_the_kubeconfig_is_invalid_input() {
    let w = World::start(fast_sim(), &ENVIRONMENTS.replace("cluster-b", "cluster-c")).await;
    let b = KubeSim::start(fast_sim()).await.unwrap();
    std::fs::write(&w.kubeconfig, kubeconfig(&w.sim, &b)).unwrap();
    let (code, json, _) = w.run(&["status"]).await;
    assert_eq!((code, reason(&json)), (2, "invalid_input"), "{json:#}");
    let message = json["message"].as_str().unwrap();
    assert!(
        message.contains("cluster-c") && message.contains("cluster-a, cluster-b"),
        "{message}"
    );
}
