//! The documented RBAC grants exactly the verbs the adapter uses, bound per namespace, with the
//! Lease limited by name wherever Kubernetes allows it.

use serde_json::Value;

fn documents() -> Vec<Value> {
    let text = include_str!("../../../examples/k8s/rbac.yaml");
    serde_saphyr::from_multiple(text).unwrap()
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
    // Exactly what the adapter uses (the list `neuro-deploy doctor` checks), the Lease by name
    // wherever Kubernetes allows it (not for `create`).
    let mut expected: Vec<(String, String, Option<String>)> = neuro_deploy_kube::REQUIRED_ACCESS
        .iter()
        .map(|(_, resource, verb)| {
            let by_name = *resource == "leases" && *verb != "create";
            (
                (*resource).to_owned(),
                (*verb).to_owned(),
                by_name.then(|| "neuro-deploy".to_owned()),
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
