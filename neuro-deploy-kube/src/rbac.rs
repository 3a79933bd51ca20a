//! The RBAC that makes the guardrails hold against the identity that deploys, generated from
//! the configuration (`neuro-deploy rbac`): in each environment's namespace, the records that
//! must exist beforehand (only an administrator may create them, since `create` cannot be
//! limited by name), and a Role and RoleBinding for the deployer, the operators and each
//! approver. The API server then refuses (403) what each may not do:
//!
//! | who | may | may not |
//! |---|---|---|
//! | deployer | read the records, create quarantine entries, record spent approvals; the Deployments and the lock | change the decisions (freeze, clearances) or any approval |
//! | operators | change the decisions; read; break the lock | write approvals |
//! | an approver | read; change their own approval record | anyone else's record; the decisions |
//!
//! What it is not: no ClusterRoles, nothing outside the environments' namespaces.

use neuro_deploy_core::model::guard::{SPENT_NAME, STATE_NAME};
use serde_json::{Value, json};

use crate::REQUIRED_ACCESS;
use crate::records::{
    APPROVAL, APPROVER_ANNOTATION, DECISIONS, RECORD_LABEL, SPENT, approval_record,
};

/// Who a binding names: `user:NAME`, `group:NAME` or `serviceaccount:NAMESPACE:NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A user, as the API server authenticates them.
    User(String),
    /// Everyone in a group.
    Group(String),
    /// A service account (`system:serviceaccount:NAMESPACE:NAME`).
    ServiceAccount {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
}

impl Subject {
    /// Reads `user:NAME`, `group:NAME` or `serviceaccount:NAMESPACE:NAME`; the error says what
    /// is expected.
    pub fn parse(text: &str) -> Result<Subject, String> {
        let wrong = || {
            format!(
                "`{text}` is not a subject: write `user:NAME`, `group:NAME` or `serviceaccount:NAMESPACE:NAME`"
            )
        };
        let (kind, rest) = text.split_once(':').ok_or_else(wrong)?;
        let named = |name: &str| {
            (!name.is_empty())
                .then(|| name.to_owned())
                .ok_or_else(wrong)
        };
        match kind {
            "user" => Ok(Subject::User(named(rest)?)),
            "group" => Ok(Subject::Group(named(rest)?)),
            "serviceaccount" => {
                let (namespace, name) = rest.split_once(':').ok_or_else(wrong)?;
                Ok(Subject::ServiceAccount {
                    namespace: named(namespace)?,
                    name: named(name)?,
                })
            }
            _ => Err(wrong()),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Subject::User(name) => {
                json!({ "apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": name })
            }
            Subject::Group(name) => {
                json!({ "apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": name })
            }
            Subject::ServiceAccount { namespace, name } => {
                json!({ "kind": "ServiceAccount", "name": name, "namespace": namespace })
            }
        }
    }
}

/// One environment's namespace, and who acts there.
pub struct Grants<'a> {
    /// The namespace.
    pub namespace: &'a str,
    /// The identity that deploys.
    pub deployer: &'a Subject,
    /// Who freezes, unfreezes, clears quarantines and breaks the lock.
    pub operators: &'a [Subject],
    /// The environment's approvers (Kubernetes user names), each with a record of their own.
    pub approvers: &'a [String],
    /// The namespace of the environment promoted from, whose Deployments an approver reads
    /// to see what they approve.
    pub source: Option<&'a str>,
}

/// Every object of `grants`, in the order to apply them: the records, then the roles and
/// their bindings (and, in the source namespace, what approvers read there).
pub fn manifests(grants: &Grants<'_>) -> Vec<Value> {
    let ns = grants.namespace;
    let mut objects = vec![
        config_map(ns, STATE_NAME, DECISIONS, None),
        config_map(ns, SPENT_NAME, SPENT, None),
    ];
    objects.extend(role_and_binding(
        ns,
        "neuro-deploy-deployer",
        deployer_rules(),
        std::slice::from_ref(grants.deployer),
    ));
    if !grants.operators.is_empty() {
        objects.extend(role_and_binding(
            ns,
            "neuro-deploy-operators",
            vec![
                read_records(),
                rule("", "configmaps", &["update", "patch"], &[STATE_NAME]),
                rule("apps", "deployments", &["get", "list"], &[]),
                rule(
                    "coordination.k8s.io",
                    "leases",
                    &["get", "update"],
                    &["neuro-deploy"],
                ),
            ],
            grants.operators,
        ));
    }
    for approver in grants.approvers {
        objects.extend(approver_objects(ns, approver, grants.source));
    }
    objects
}

/// What lets `approver` approve in `namespace`: their record (created beforehand), a Role and
/// RoleBinding to write it alone and read what the others read, and — in the `source`
/// namespace of a promotion — reading the Deployments they approve. What `approvers add`
/// creates and `approvers remove` deletes.
pub fn approver_objects(namespace: &str, approver: &str, source: Option<&str>) -> Vec<Value> {
    let record = approval_record(approver);
    let name = format!(
        "neuro-deploy-approver-{}",
        record.trim_start_matches("neuro-deploy-approval-")
    );
    let person = [Subject::User(approver.to_owned())];
    let mut objects = vec![config_map(namespace, &record, APPROVAL, Some(approver))];
    objects.extend(role_and_binding(
        namespace,
        &name,
        vec![
            read_records(),
            rule("", "configmaps", &["update", "patch"], &[&record]),
            rule("apps", "deployments", &["get", "list"], &[]),
        ],
        &person,
    ));
    if let Some(source) = source {
        objects.extend(role_and_binding(
            source,
            &format!("{name}-of-{namespace}"),
            vec![rule("apps", "deployments", &["get", "list"], &[])],
            &person,
        ));
    }
    objects
}

/// The deployer's rules: exactly what the adapter uses ([`REQUIRED_ACCESS`]), by name where
/// it writes one object.
fn deployer_rules() -> Vec<Value> {
    // (group, resource, name) → verbs, in the order first met.
    type Object<'a> = (&'a str, &'a str, Option<&'a str>);
    let mut rules: Vec<(Object, Vec<&str>)> = Vec::new();
    for (group, resource, verb, name) in REQUIRED_ACCESS {
        let key = (*group, *resource, *name);
        match rules.iter_mut().find(|(k, _)| *k == key) {
            Some((_, verbs)) => verbs.push(verb),
            None => rules.push((key, vec![verb])),
        }
    }
    rules
        .into_iter()
        .map(|((group, resource, name), verbs)| rule(group, resource, &verbs, name.as_slice()))
        .collect()
}

/// Reading the guardrail records.
fn read_records() -> Value {
    rule("", "configmaps", &["get", "list"], &[])
}

fn rule(group: &str, resource: &str, verbs: &[&str], names: &[&str]) -> Value {
    let mut rule = json!({ "apiGroups": [group], "resources": [resource], "verbs": verbs });
    if !names.is_empty() {
        rule["resourceNames"] = json!(names);
    }
    rule
}

fn role_and_binding(
    namespace: &str,
    name: &str,
    rules: Vec<Value>,
    subjects: &[Subject],
) -> [Value; 2] {
    [
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": { "name": name, "namespace": namespace },
            "rules": rules,
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": { "name": name, "namespace": namespace },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name },
            "subjects": subjects.iter().map(Subject::to_json).collect::<Vec<_>>(),
        }),
    ]
}

/// A record created beforehand: labelled, no data (applying it again leaves what it holds).
fn config_map(namespace: &str, name: &str, kind: &str, approver: Option<&str>) -> Value {
    let mut map = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": { "name": name, "namespace": namespace, "labels": { RECORD_LABEL: kind } },
    });
    if let Some(approver) = approver {
        map["metadata"]["annotations"] = json!({ APPROVER_ANNOTATION: approver });
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_read_as_kubectl_names_them_and_anything_else_says_how() {
        assert_eq!(
            Subject::parse("user:alice"),
            Ok(Subject::User("alice".into()))
        );
        assert_eq!(
            Subject::parse("serviceaccount:ci:neuro-deploy"),
            Ok(Subject::ServiceAccount {
                namespace: "ci".into(),
                name: "neuro-deploy".into()
            })
        );
        for wrong in ["alice", "user:", "serviceaccount:ci", "robot:x"] {
            let error = Subject::parse(wrong).expect_err(wrong);
            assert!(error.contains("user:NAME"), "{error}");
        }
    }

    #[test]
    fn the_deployer_may_not_write_decisions_or_approvals() {
        let deployer = Subject::parse("serviceaccount:ci:neuro-deploy").unwrap();
        let operators = [Subject::parse("group:sre").unwrap()];
        let approvers = ["alice".to_owned(), "bob".to_owned()];
        let objects = manifests(&Grants {
            namespace: "leaf-neuro-ui",
            deployer: &deployer,
            operators: &operators,
            approvers: &approvers,
            source: Some("staging"),
        });
        let role = |name: &str| {
            objects
                .iter()
                .find(|o| o["kind"] == "Role" && o["metadata"]["name"] == name)
                .unwrap_or_else(|| panic!("{name}"))
                .clone()
        };
        let writes = |role: &Value| -> Vec<String> {
            role["rules"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["resources"][0] == "configmaps")
                .filter(|r| r["verbs"].as_array().unwrap().iter().any(|v| v == "update"))
                .flat_map(|r| r["resourceNames"].as_array().cloned().unwrap_or_default())
                .map(|n| n.as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(writes(&role("neuro-deploy-deployer")), [SPENT_NAME]);
        assert_eq!(writes(&role("neuro-deploy-operators")), [STATE_NAME]);
        let alice = objects.iter().find(|o| {
            o["kind"] == "Role"
                && o["subjects"].is_null()
                && writes(o) == [approval_record("alice")]
        });
        assert!(alice.is_some(), "alice writes her own record only");
        // The records exist beforehand, without data (applying again keeps what they hold).
        let maps: Vec<&Value> = objects
            .iter()
            .filter(|o| o["kind"] == "ConfigMap")
            .collect();
        assert_eq!(maps.len(), 4);
        assert!(maps.iter().all(|m| m["data"].is_null()));
        // Namespaced, no wildcards, and the deployer's rules exactly what the adapter uses.
        for object in &objects {
            assert!(!object.to_string().contains('*'), "{object}");
            assert!(matches!(
                object["kind"].as_str(),
                Some("ConfigMap" | "Role" | "RoleBinding")
            ));
        }
        let verbs: usize = role("neuro-deploy-deployer")["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["verbs"].as_array().unwrap().len())
            .sum();
        assert_eq!(verbs, REQUIRED_ACCESS.len());
        // Approvers read what they approve in the source namespace.
        assert!(
            objects
                .iter()
                .any(|o| o["metadata"]["namespace"] == "staging" && o["kind"] == "RoleBinding")
        );
    }
}
