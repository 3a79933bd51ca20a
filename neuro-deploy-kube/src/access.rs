//! What neuro-deploy must be allowed to do in a namespace, and asking the API server whether it
//! is (`SelfSubjectAccessReview`) — what `neuro-deploy doctor` checks before a team's first run.

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};
use neuro_deploy_core::AdapterError;
use neuro_deploy_core::model::guard::SPENT_NAME;

use crate::KubeCluster;

/// `(API group, resource, verb, name)` the deployer uses in each namespace it deploys to — the
/// rules of the deployer's Role `neuro-deploy rbac` prints, and nothing more; `name` where the grant is limited
/// to one object. Reading the guardrail records, creating quarantine entries, recording spent
/// approvals: never changing the operators' decisions or anyone's approvals.
pub const REQUIRED_ACCESS: &[(&str, &str, &str, Option<&str>)] = &[
    ("", "configmaps", "get", None),
    ("", "configmaps", "list", None),
    ("", "configmaps", "create", None),
    ("", "configmaps", "update", Some(SPENT_NAME)),
    ("apps", "deployments", "get", None),
    ("apps", "deployments", "list", None),
    ("apps", "deployments", "watch", None),
    ("apps", "deployments", "patch", None),
    ("coordination.k8s.io", "leases", "get", Some("neuro-deploy")),
    ("coordination.k8s.io", "leases", "create", None),
    (
        "coordination.k8s.io",
        "leases",
        "update",
        Some("neuro-deploy"),
    ),
];

impl KubeCluster {
    /// Whether the identity this cluster is reached as may `verb` `resource` (of `group`) in
    /// `namespace` — the object `name`, when given.
    pub async fn can_i(
        &self,
        namespace: &str,
        group: &str,
        resource: &str,
        verb: &str,
        name: Option<&str>,
    ) -> Result<bool, AdapterError> {
        let api: Api<SelfSubjectAccessReview> = Api::all(self.client.clone());
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some(namespace.to_owned()),
                    group: Some(group.to_owned()),
                    resource: Some(resource.to_owned()),
                    verb: Some(verb.to_owned()),
                    name: name.map(str::to_owned),
                    ..ResourceAttributes::default()
                }),
                ..SelfSubjectAccessReviewSpec::default()
            },
            ..SelfSubjectAccessReview::default()
        };
        let operation = format!("asking whether `{verb} {resource}` is allowed in `{namespace}`");
        let post = PostParams::default();
        let answer = self.call(&operation, || api.create(&post, &review)).await?;
        Ok(answer.status.is_some_and(|s| s.allowed))
    }
}
