//! `SelfSubjectAccessReview`: "may I do VERB on RESOURCE in NAMESPACE?". Everything is allowed
//! unless a test denied it ([`super::KubeSim::deny`]), so `neuro-deploy doctor` can be shown a
//! missing RBAC verb.

use serde_json::{Value, json};

use super::shared::Shared;
use super::store::ApiError;

/// The path the review is posted to.
pub(crate) const PATH: &str = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

/// Answers a review: the request echoed with `status.allowed`.
pub(crate) fn review(shared: &Shared, body: &[u8]) -> Result<(u16, Value), ApiError> {
    let mut review: Value = serde_json::from_slice(body).map_err(|e| ApiError {
        code: 400,
        reason: "BadRequest",
        message: format!("the request body is not JSON: {e}"),
    })?;
    let attributes = &review["spec"]["resourceAttributes"];
    let verb = attributes["verb"].as_str().unwrap_or_default().to_owned();
    let resource = attributes["resource"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let denied = shared
        .denied
        .lock()
        .map(|d| d.iter().any(|(v, r)| *v == verb && *r == resource))
        .unwrap_or(false);
    review["status"] = if denied {
        json!({ "allowed": false, "denied": true, "reason": "kube-sim: denied by the test" })
    } else {
        json!({ "allowed": true, "reason": "kube-sim allows everything not denied" })
    };
    Ok((201, review))
}
