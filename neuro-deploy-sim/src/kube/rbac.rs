//! Who a request is and whether RBAC lets it: authentication by bearer token (or none:
//! `system:anonymous`), impersonation (`Impersonate-User`, kubectl's `--as`), and the RBAC
//! authorizer as Kubernetes evaluates it — Roles and ClusterRoles by apiGroups, resources
//! (`resource/subresource` too), verbs and resourceNames, bound to users, groups and service
//! accounts by RoleBindings and ClusterRoleBindings. Members of `system:masters` bypass it.
//!
//! What it is not: no aggregated ClusterRoles, no `nonResourceURLs` (discovery is open to
//! everyone), no escalation checks on writing RBAC objects.

use axum::http::{HeaderMap, Method, header};
use serde_json::{Value, json};

use super::MASTERS;
use super::route::Route;
use super::shared::Shared;
use super::store::{ApiError, Resource, Store};

/// The group of requests without credentials.
pub(crate) const UNAUTHENTICATED: &str = "system:unauthenticated";

/// Who a request is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserInfo {
    /// `alice`, `system:serviceaccount:ci:neuro-deploy`, `system:anonymous` …
    pub(crate) name: String,
    /// Every group it is in (`system:authenticated` …).
    pub(crate) groups: Vec<String>,
}

impl UserInfo {
    /// A user named `name`, authenticated, in `extra` groups (service accounts also in
    /// theirs).
    pub(crate) fn authenticated(name: &str, extra: &[String]) -> UserInfo {
        let mut groups = extra.to_vec();
        if let Some(namespace) = service_account_namespace(name) {
            groups.push("system:serviceaccounts".to_owned());
            groups.push(format!("system:serviceaccounts:{namespace}"));
        }
        groups.push("system:authenticated".to_owned());
        UserInfo {
            name: name.to_owned(),
            groups,
        }
    }

    fn anonymous() -> UserInfo {
        UserInfo {
            name: "system:anonymous".to_owned(),
            groups: vec![UNAUTHENTICATED.to_owned()],
        }
    }
}

/// `NS` of `system:serviceaccount:NS:NAME`.
fn service_account_namespace(user: &str) -> Option<&str> {
    let rest = user.strip_prefix("system:serviceaccount:")?;
    rest.split_once(':').map(|(namespace, _)| namespace)
}

/// What a request asks to do, as RBAC sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attributes {
    pub(crate) verb: String,
    pub(crate) group: String,
    pub(crate) resource: String,
    pub(crate) subresource: String,
    pub(crate) namespace: String,
    /// Empty for a create, and for a list or watch without a `metadata.name` field selector.
    pub(crate) name: String,
}

impl Attributes {
    /// A routed API request's attributes: the verb from the method (`watch` and `list` for a
    /// collection's GET), the name from the path, or for a list from `metadata.name=`.
    pub(crate) fn of(
        method: &Method,
        route: &Route,
        watch: bool,
        field_selector: &str,
    ) -> Attributes {
        let (_, _, plural, group) = route.resource.info();
        let verb = match (method, &route.name) {
            (&Method::GET, None) if watch => "watch",
            (&Method::GET, None) => "list",
            (&Method::GET, Some(_)) => "get",
            (&Method::POST, _) => "create",
            (&Method::PUT, _) => "update",
            (&Method::PATCH, _) => "patch",
            (&Method::DELETE, None) => "deletecollection",
            (&Method::DELETE, Some(_)) => "delete",
            _ => "",
        };
        let name = match (&route.name, verb) {
            (Some(name), _) => name.clone(),
            (None, "list" | "watch") => field_selector
                .split(',')
                .find_map(|term| term.trim().strip_prefix("metadata.name="))
                .unwrap_or_default()
                .to_owned(),
            _ => String::new(),
        };
        Attributes {
            verb: verb.to_owned(),
            group: group.to_owned(),
            resource: plural.to_owned(),
            subresource: String::new(),
            namespace: route.namespace.clone(),
            name,
        }
    }

    /// From a `SelfSubjectAccessReview`'s `spec.resourceAttributes`.
    pub(crate) fn from_review(attributes: &Value) -> Attributes {
        let text = |key: &str| attributes[key].as_str().unwrap_or_default().to_owned();
        Attributes {
            verb: text("verb"),
            group: text("group"),
            resource: text("resource"),
            subresource: text("subresource"),
            namespace: text("namespace"),
            name: text("name"),
        }
    }
}

/// Who the request is: the bearer token's user (an unknown token is 401), or without
/// credentials `system:anonymous`; impersonation headers make it someone else, when the
/// authenticated user may `impersonate` them.
pub(crate) fn identify(shared: &Shared, headers: &HeaderMap) -> Result<UserInfo, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let token = header(header::AUTHORIZATION.as_str()).and_then(|v| v.strip_prefix("Bearer "));
    let caller = match token {
        None => UserInfo::anonymous(),
        Some(token) => {
            let name = shared
                .users
                .lock()
                .ok()
                .and_then(|users| users.get(token).cloned())
                .ok_or_else(|| ApiError {
                    code: 401,
                    reason: "Unauthorized",
                    message: "Unauthorized".to_owned(),
                })?;
            let groups = shared
                .groups
                .lock()
                .ok()
                .and_then(|groups| groups.get(&name).cloned())
                .unwrap_or_default();
            UserInfo::authenticated(&name, &groups)
        }
    };
    let Some(impersonated) = header("impersonate-user") else {
        return Ok(caller);
    };
    let groups: Vec<String> = headers
        .get_all("impersonate-group")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let may = |resource: &str, name: &str| {
        let attributes = Attributes {
            verb: "impersonate".to_owned(),
            group: String::new(),
            resource: resource.to_owned(),
            subresource: String::new(),
            namespace: String::new(),
            name: name.to_owned(),
        };
        allows(&shared.store(), &caller, &attributes)
    };
    if !shared.rbac || (may("users", impersonated) && groups.iter().all(|g| may("groups", g))) {
        return Ok(UserInfo::authenticated(impersonated, &groups));
    }
    Err(ApiError {
        code: 403,
        reason: "Forbidden",
        message: format!(
            "users \"{impersonated}\" is forbidden: User \"{}\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope",
            caller.name
        ),
    })
}

/// Whether RBAC lets `user` do `attributes`.
pub(crate) fn allows(store: &Store, user: &UserInfo, attributes: &Attributes) -> bool {
    if user.groups.iter().any(|g| g == MASTERS) {
        return true;
    }
    let rules_of = |kind: &str, name: &str, namespace: &str| -> Vec<Value> {
        let (resource, namespace) = match kind {
            "ClusterRole" => (Resource::ClusterRole, ""),
            "Role" => (Resource::Role, namespace),
            _ => return Vec::new(),
        };
        store
            .get(resource, namespace, name)
            .ok()
            .and_then(|role| role["rules"].as_array().cloned())
            .unwrap_or_default()
    };
    // The rules of the roles `bindings` of `namespace` ("" for the cluster's) grant `user`.
    let granted = |bindings: Vec<Value>, namespace: &str| -> Vec<Value> {
        bindings
            .into_iter()
            .filter(|binding| binds(binding, user))
            .flat_map(|binding| {
                let role = &binding["roleRef"];
                rules_of(
                    role["kind"].as_str().unwrap_or_default(),
                    role["name"].as_str().unwrap_or_default(),
                    namespace,
                )
            })
            .collect()
    };
    let mut rules = granted(store.list(Resource::ClusterRoleBinding, ""), "");
    if !attributes.namespace.is_empty() {
        let namespace = &attributes.namespace;
        rules.extend(granted(
            store.list(Resource::RoleBinding, namespace),
            namespace,
        ));
    }
    rules.iter().any(|rule| rule_allows(rule, attributes))
}

/// Whether one of `binding`'s subjects is `user`.
fn binds(binding: &Value, user: &UserInfo) -> bool {
    binding["subjects"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|subject| {
            let name = subject["name"].as_str().unwrap_or_default();
            match subject["kind"].as_str().unwrap_or_default() {
                "User" => user.name == name,
                "Group" => user.groups.iter().any(|g| g == name),
                "ServiceAccount" => {
                    let namespace = subject["namespace"].as_str().unwrap_or_default();
                    user.name == format!("system:serviceaccount:{namespace}:{name}")
                }
                _ => false,
            }
        })
}

/// Whether one policy rule allows `attributes`: its apiGroups, resources and verbs match
/// (`*` matches all), and its resourceNames, when it has any, name the object — which a
/// create (and a list without a name selector) never does.
fn rule_allows(rule: &Value, attributes: &Attributes) -> bool {
    let listed = |key: &str| -> Vec<&str> {
        rule[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect()
    };
    let has = |key: &str, wanted: &str| listed(key).iter().any(|v| *v == "*" || *v == wanted);
    let resource = if attributes.subresource.is_empty() {
        attributes.resource.clone()
    } else {
        format!("{}/{}", attributes.resource, attributes.subresource)
    };
    let names = listed("resourceNames");
    has("apiGroups", &attributes.group)
        && has("resources", &resource)
        && has("verbs", &attributes.verb)
        && (names.is_empty()
            || (!attributes.name.is_empty() && names.contains(&attributes.name.as_str())))
}

/// The 403 a real API server answers, in its words.
pub(crate) fn forbidden(user: &UserInfo, attributes: &Attributes) -> ApiError {
    let qualified = if attributes.group.is_empty() {
        attributes.resource.clone()
    } else {
        format!("{}.{}", attributes.resource, attributes.group)
    };
    let object = if attributes.name.is_empty() {
        qualified.clone()
    } else {
        format!("{qualified} \"{}\"", attributes.name)
    };
    let scope = if attributes.namespace.is_empty() {
        "at the cluster scope".to_owned()
    } else {
        format!("in the namespace \"{}\"", attributes.namespace)
    };
    ApiError {
        code: 403,
        reason: "Forbidden",
        message: format!(
            "{object} is forbidden: User \"{}\" cannot {} resource \"{}\" in API group \"{}\" {scope}",
            user.name, attributes.verb, attributes.resource, attributes.group
        ),
    }
}

/// What a simulator with RBAC on starts with: `cluster-admin`, bound to requests without
/// credentials — kubectl sends none over plain HTTP, so it acts as the administrator and plays
/// people by impersonation (`--as`), as on a development cluster with anonymous access granted.
pub(crate) fn bootstrap() -> [Value; 2] {
    [
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": { "name": "cluster-admin" },
            "rules": [{ "apiGroups": ["*"], "resources": ["*"], "verbs": ["*"] }]
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": { "name": "kube-sim:anonymous-admin" },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin" },
            "subjects": [{ "apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": UNAUTHENTICATED }]
        }),
    ]
}
