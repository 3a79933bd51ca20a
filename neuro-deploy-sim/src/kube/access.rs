//! `SelfSubjectAccessReview`: "may I do VERB on RESOURCE in NAMESPACE?". Everything is allowed
//! unless a test denied it ([`super::KubeSim::deny`]), so `neuro-deploy doctor` can be shown a
//! missing RBAC verb. And `SelfSubjectReview`: "who am I?", answered from the bearer token by
//! the seed's users (`kind: User`), so tests and the playground can act as several people.

use axum::http::{HeaderMap, header};
use serde_json::{Value, json};

use super::shared::Shared;
use super::store::ApiError;

/// The path the review is posted to.
pub(crate) const PATH: &str = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

/// The path "who am I?" is posted to.
pub(crate) const WHO_AM_I_PATH: &str = "/apis/authentication.k8s.io/v1/selfsubjectreviews";

/// Answers `SelfSubjectReview` as a real API server does: an impersonated user
/// (`Impersonate-User`, kubectl's `--as`) is who they act as; else the user of the bearer token
/// (a token nobody has is 401); with no credentials at all (kubectl sends none over plain HTTP),
/// `system:anonymous`.
pub(crate) fn who_am_i(shared: &Shared, headers: &HeaderMap) -> Result<(u16, Value), ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let token = header(header::AUTHORIZATION.as_str()).and_then(|v| v.strip_prefix("Bearer "));
    let user = match (header("impersonate-user"), token) {
        (Some(impersonated), _) => Some(impersonated.to_owned()),
        (None, Some(token)) => shared
            .users
            .lock()
            .ok()
            .and_then(|users| users.get(token).cloned()),
        (None, None) => Some("system:anonymous".to_owned()),
    };
    let Some(username) = user else {
        return Err(ApiError {
            code: 401,
            reason: "Unauthorized",
            message: "Unauthorized".to_owned(),
        });
    };
    let mut groups = vec!["system:authenticated".to_owned()];
    if let Ok(known) = shared.groups.lock() {
        groups.extend(known.get(&username).cloned().unwrap_or_default());
    }
    Ok((
        201,
        json!({
            "kind": "SelfSubjectReview",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": { "creationTimestamp": null },
            "status": { "userInfo": { "username": username, "groups": groups } },
        }),
    ))
}

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
