//! The documented RBAC grants exactly the verbs the adapter uses, bound per namespace, with the
//! Lease limited by name wherever Kubernetes allows it.

use serde_json::Value;

/// The role, then each namespace's binding, each file applied on its own.
const FILES: [(&str, &str); 4] = [
    (
        "rbac-role.yaml",
        include_str!("../../../examples/k8s/rbac-role.yaml"),
    ),
    (
        "rbac-binding-dev.yaml",
        include_str!("../../../examples/k8s/rbac-binding-dev.yaml"),
    ),
    (
        "rbac-binding-staging.yaml",
        include_str!("../../../examples/k8s/rbac-binding-staging.yaml"),
    ),
    (
        "rbac-binding-leaf-neuro-ui.yaml",
        include_str!("../../../examples/k8s/rbac-binding-leaf-neuro-ui.yaml"),
    ),
];

fn documents() -> Vec<Value> {
    FILES
        .iter()
        .flat_map(|(_, text)| serde_saphyr::from_multiple::<Value>(text).unwrap())
        .collect()
}

#[test]
fn each_cluster_applies_the_role_and_only_the_bindings_of_its_namespaces() {
    // A production-only cluster applies the role and one binding: each file stands alone.
    for (name, text) in FILES {
        let docs: Vec<Value> = serde_saphyr::from_multiple(text).unwrap();
        assert_eq!(docs.len(), 1, "{name}: one object per file");
        let kind = docs[0]["kind"].as_str().unwrap();
        if let Some(namespace) = name
            .strip_prefix("rbac-binding-")
            .and_then(|n| n.strip_suffix(".yaml"))
        {
            assert_eq!(kind, "RoleBinding", "{name}");
            assert_eq!(docs[0]["metadata"]["namespace"], namespace, "{name}");
        } else {
            assert_eq!(kind, "ClusterRole", "{name}");
        }
    }
}

#[test]
fn one_cluster_role_with_only_the_verbs_the_adapter_uses() {
    let docs = documents();
    let roles: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "ClusterRole").collect();
    assert_eq!(roles.len(), 1);
    let mut grants: Vec<(String, String, Option<String>)> = Vec::new();
    for rule in roles[0]["rules"].as_array().unwrap() {
        let names = rule["resourceNames"].as_array().map(|n| {
            n.iter()
                .map(|v| v.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(",")
        });
        for resource in rule["resources"].as_array().unwrap() {
            for verb in rule["verbs"].as_array().unwrap() {
                grants.push((
                    resource.as_str().unwrap().to_owned(),
                    verb.as_str().unwrap().to_owned(),
                    names.clone(),
                ));
            }
        }
        assert!(!rule.to_string().contains('*'), "no wildcards: {rule}");
    }
    grants.sort();
    // Exactly what the adapter uses (the list `neuro-deploy doctor` checks), by name wherever
    // it writes one object (never for `create`, which Kubernetes cannot limit by name).
    let mut expected: Vec<(String, String, Option<String>)> = neuro_deploy_kube::REQUIRED_ACCESS
        .iter()
        .map(|(_, resource, verb, name)| {
            (
                (*resource).to_owned(),
                (*verb).to_owned(),
                name.map(str::to_owned),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(grants, expected);
}

#[test]
fn bound_in_each_namespace_it_deploys_to_and_nowhere_else() {
    let docs = documents();
    let mut namespaces: Vec<&str> = docs
        .iter()
        .filter(|d| d["kind"] == "RoleBinding")
        .map(|d| {
            assert_eq!(d["roleRef"]["kind"], "ClusterRole");
            d["metadata"]["namespace"].as_str().unwrap()
        })
        .collect();
    namespaces.sort_unstable();
    assert_eq!(namespaces, ["dev", "leaf-neuro-ui", "staging"]);
    assert!(!docs.iter().any(|d| d["kind"] == "ClusterRoleBinding"));
}
