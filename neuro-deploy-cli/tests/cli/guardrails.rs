//! Guardrails on what runs: `status` marks drift — an app Deployment changed outside
//! neuro-deploy (`kubectl set image`), or one environment running different versions.

use crate::world::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_marks_drift_after_a_kubectl_set_image() {
    let w = World::start(fast_sim(), "").await;
    // Nothing recorded yet anywhere: no drift.
    let (code, json, stderr) = w.run(&["status"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    for row in json["environments"].as_array().unwrap() {
        assert_eq!(row["drift"], serde_json::json!([]), "{row:#}");
    }

    // A deploy records what it set; then someone changes it by hand.
    w.push_image(SHORT).await;
    let (code, json, stderr) = w.run(&["merged", "--sha", SHA]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    w.set_app_image("dev", &format!("{}:v1.3.0", w.uri)).await;

    let (code, json, _) = w.run(&["status"]).await;
    assert_eq!(code, 1, "drift is worth a non-zero exit: {json:#}");
    let dev = json["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["environment"] == "dev")
        .unwrap();
    assert_eq!(
        dev["drift"],
        serde_json::json!([{ "workload": "neuro-ui", "recorded": SHORT, "running": "v1.3.0" }])
    );
    let others_clean = json["environments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["environment"] != "dev")
        .all(|row| row["drift"] == serde_json::json!([]));
    assert!(others_clean, "{json:#}");

    // Text says where and what to do.
    let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
    command.args(["status", "--env", "dev"]);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text.contains(&format!(
            "drift in `dev`: Deployment `neuro-ui` runs v1.3.0, recorded {SHORT}"
        )),
        "{text}"
    );
}
