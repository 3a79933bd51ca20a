//! kube-sim with `--rbac` enforces what the official kubectl creates — Roles by resourceNames,
//! ClusterRoles bound to groups, service accounts as subjects — with the 403 a real API server
//! answers, and `kubectl auth can-i` gets the same evaluator's answer. kubectl acts as the
//! administrator (no credentials over plain HTTP: bound to cluster-admin) and plays people
//! with `--as`; bearer tokens (as kube-rs sends them) are the seed's users.

#![allow(clippy::unwrap_used, missing_docs)]

use std::process::Output;

use neuro_deploy_sim::fixtures;

mod support;

use support::*;

const NS: &str = "leaf-neuro-ui";
const CI: &str = "system:serviceaccount:ci:neuro-deploy";

fn seed() -> String {
    let user = |token: &str, name: &str| {
        format!(
            "---\napiVersion: {}\nkind: User\ntoken: {token}\nusername: {name}\n",
            neuro_deploy_sim::kube::USER_API_VERSION
        )
    };
    let config_map = |name: &str| {
        format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {NS}}}\ndata: {{}}\n"
        )
    };
    [
        fixtures::namespace(NS),
        config_map("approval-alice"),
        config_map("approval-bob"),
        user("alice-token", "alice"),
        user("ci-token", CI),
    ]
    .concat()
}

/// kubectl as `who` (impersonated by the administrator), then its args.
fn kubectl_as(sim: &Sim, who: &[&str], args: &[&str]) -> Output {
    let mut all: Vec<&str> = who.to_vec();
    all.extend_from_slice(args);
    kubectl(sim, &all)
}

/// kubectl's answer to `auth can-i VERB RESOURCE -n NS` as `who`.
fn can_i(sim: &Sim, who: &[&str], verb: &str, resource: &str) -> bool {
    let out = kubectl_as(sim, who, &["auth", "can-i", verb, resource, "-n", NS]);
    let said = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(said == "yes" || said == "no", "{out:?}");
    said == "yes"
}

/// Asserts kubectl was refused with the API server's 403, in its words.
fn forbidden(out: &Output, verb: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected a refusal: {out:?}");
    assert!(
        stderr.contains("is forbidden") && stderr.contains(&format!("cannot {verb} resource")),
        "{stderr}"
    );
}

/// What the administrator grants: alice her approval object, the CI reading and creating
/// ConfigMaps, the approvers' group reading Leases.
const GRANTS: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: approver-alice, namespace: leaf-neuro-ui}
rules:
- {apiGroups: [""], resources: [configmaps], resourceNames: [approval-alice], verbs: [get, list, update, patch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: approver-alice, namespace: leaf-neuro-ui}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: approver-alice}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: deployer, namespace: leaf-neuro-ui}
rules:
- {apiGroups: [""], resources: [configmaps], verbs: [get, list, create]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer, namespace: leaf-neuro-ui}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployer}
subjects:
- {kind: ServiceAccount, name: neuro-deploy, namespace: ci}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: lease-reader}
rules:
- {apiGroups: [coordination.k8s.io], resources: [leases], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: approvers-read-leases}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: lease-reader}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: release-approvers}
"#;

/// `kubectl apply -f` of `manifests` as `who`.
fn apply(sim: &Sim, who: &[&str], manifests: &str) -> Output {
    let path = sim.dir.path().join("apply.yaml");
    std::fs::write(&path, manifests).unwrap();
    let out = kubectl_as(
        sim,
        who,
        &["apply", "--validate=false", "-f", path.to_str().unwrap()],
    );
    if who.is_empty() {
        ok(&out);
    }
    out
}

/// `kubectl create -f` of an empty ConfigMap `name` as `who`.
fn create_as(sim: &Sim, who: &[&str], name: &str) -> Output {
    let path = sim.dir.path().join(format!("{name}.yaml"));
    std::fs::write(
        &path,
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {NS}}}\n"),
    )
    .unwrap();
    kubectl_as(
        sim,
        who,
        &["create", "--validate=false", "-f", path.to_str().unwrap()],
    )
}

const ALICE: &[&str] = &["--as", "alice"];
const CI_AS: &[&str] = &["--as", CI];

#[test]
fn roles_bind_people_and_service_accounts_to_exactly_what_they_name() {
    let sim = start_sim_with_options(&seed(), &["--rbac"]);
    // The administrator grants alice her own approval object, and the CI creating objects.
    // (kubectl's typed `create role` sends protobuf, which kube-sim does not speak: manifests
    // are applied, as `neuro-deploy rbac | kubectl apply -f -` does.)
    apply(&sim, &[], GRANTS);
    // alice: her own object, not bob's; never a new one (resourceNames do not grant create).
    assert!(can_i(&sim, ALICE, "update", "configmaps/approval-alice"));
    assert!(!can_i(&sim, ALICE, "update", "configmaps/approval-bob"));
    assert!(!can_i(&sim, ALICE, "create", "configmaps"));
    let patch = |name: &'static str| {
        [
            "patch",
            "configmap",
            name,
            "-n",
            NS,
            "--type",
            "merge",
            "-p",
            r#"{"data":{"v1.4.0":"approved"}}"#,
        ]
    };
    ok(&kubectl_as(&sim, ALICE, &patch("approval-alice")));
    // (kubectl reads before it patches: she may not even read bob's.)
    forbidden(&kubectl_as(&sim, ALICE, &patch("approval-bob")), "get");
    forbidden(
        &kubectl_as(
            &sim,
            ALICE,
            &["create", "configmap", "approval-mallory", "-n", NS],
        ),
        "create",
    );
    // A list by name is the object's; a list of everything is not.
    ok(&kubectl_as(
        &sim,
        ALICE,
        &[
            "get",
            "configmaps",
            "-n",
            NS,
            "--field-selector",
            "metadata.name=approval-alice",
        ],
    ));
    forbidden(
        &kubectl_as(&sim, ALICE, &["get", "configmaps", "-n", NS]),
        "list",
    );

    // The CI's service account: creates, reads, never changes or deletes an approval.
    assert!(can_i(&sim, CI_AS, "create", "configmaps"));
    assert!(!can_i(&sim, CI_AS, "update", "configmaps/approval-alice"));
    forbidden(&kubectl_as(&sim, CI_AS, &patch("approval-alice")), "patch");
    ok(&create_as(&sim, CI_AS, "quarantine-v1-4-0"));
    forbidden(
        &kubectl_as(
            &sim,
            CI_AS,
            &["delete", "configmap", "quarantine-v1-4-0", "-n", NS],
        ),
        "delete",
    );

    // A ClusterRole bound to a group holds for its members only.
    let lease = ["get", "lease", "neuro-deploy", "-n", NS];
    forbidden(&kubectl_as(&sim, ALICE, &lease), "get");
    let member = ["--as", "alice", "--as-group", "release-approvers"];
    let out = kubectl_as(&sim, &member, &lease);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("NotFound") || stderr.contains("not found"),
        "allowed, and there is none: {stderr}"
    );

    // Bearer tokens, as neuro-deploy's kube-rs sends them: the same rules.
    let body = r#"{"data":{"v1.4.0":"approved by bob?"}}"#;
    let path = format!("/api/v1/namespaces/{NS}/configmaps/approval-bob");
    let answer = raw(
        &sim,
        "PATCH",
        &path,
        "alice-token",
        "application/merge-patch+json",
        body,
    );
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(
        answer.contains(r#""reason":"Forbidden""#)
            && answer.contains(r#"User \"alice\" cannot patch resource \"configmaps\" in API group \"\" in the namespace \"leaf-neuro-ui\""#),
        "{answer}"
    );
    let bob = ok(&kubectl(
        &sim,
        &[
            "get",
            "configmap",
            "approval-bob",
            "-n",
            NS,
            "-o",
            "jsonpath={.data}",
        ],
    ));
    assert!(
        !bob.contains("approved"),
        "nothing was written for bob: {bob}"
    );
    // The administrator's token is in system:masters.
    let answer = raw(
        &sim,
        "PATCH",
        &path,
        neuro_deploy_sim::kube::DEFAULT_TOKEN,
        "application/merge-patch+json",
        r#"{"data":{"note":"by the admin"}}"#,
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn only_someone_allowed_to_impersonate_may_act_as_someone_else() {
    let sim = start_sim_with_options(&seed(), &["--rbac"]);
    // alice's own token asking to be the CI: she may not impersonate.
    let answer = raw_with(
        &sim,
        "GET",
        &format!("/api/v1/namespaces/{NS}/configmaps/approval-alice"),
        &[
            ("Authorization", "Bearer alice-token"),
            ("Impersonate-User", CI),
        ],
        "",
    );
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(answer.contains("cannot impersonate"), "{answer}");
}
