//! Kubernetes manifests the tests and benchmarks seed kube-sim with.

/// The sidecar every app Deployment carries; neuro-deploy must never touch it.
pub const SIDECAR_IMAGE: &str = "envoyproxy/envoy:v1.30";

/// A Namespace document.
pub fn namespace(name: &str) -> String {
    format!("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n")
}

/// A Deployment document labelled `app.kubernetes.io/part-of: {part_of}` with these
/// `(container, image)` pairs.
pub fn deployment(
    namespace: &str,
    name: &str,
    part_of: &str,
    replicas: u32,
    containers: &[(&str, &str)],
) -> String {
    let mut text = format!(
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  labels:\n    app.kubernetes.io/part-of: {part_of}\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n"
    );
    for (container, image) in containers {
        text.push_str(&format!(
            "      - name: {container}\n        image: {image}\n"
        ));
    }
    text
}

/// The app as the tests model it: two replicas, app containers `web` and `worker` on
/// `{repository}:{tag}`, and the sidecar.
pub fn app_deployment(namespace: &str, name: &str, repository: &str, tag: &str) -> String {
    let image = format!("{repository}:{tag}");
    deployment(
        namespace,
        name,
        "neuro-ui",
        2,
        &[
            ("web", &image),
            ("worker", &image),
            ("envoy", SIDECAR_IMAGE),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_parse_as_yaml() {
        let text = format!(
            "{}{}",
            namespace("dev"),
            app_deployment("dev", "neuro-ui", "r/neuro-ui", "v1")
        );
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(
            docs[1]["spec"]["template"]["spec"]["containers"][2]["image"],
            SIDECAR_IMAGE
        );
        assert_eq!(
            docs[1]["metadata"]["labels"]["app.kubernetes.io/part-of"],
            "neuro-ui"
        );
    }
}
