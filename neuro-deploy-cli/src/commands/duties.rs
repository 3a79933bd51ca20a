//! `doctor`'s checks of the separation of duties, from the identity it runs as, asked of the API
//! server with `SelfSubjectAccessReview`: an approver of an environment must be able to write
//! their own approval record; anyone else — the identity that deploys — must not be able to
//! write the operators' decisions (lift a freeze, clear a quarantine), anyone's approval, or
//! remove a quarantine entry. What it can do that it must not is a warning naming the guarantee
//! that does not hold and the fix (an operator running `doctor` sees the first as expected).

use neuro_deploy_core::EnvironmentConfig;
use neuro_deploy_core::model::guard::STATE_NAME;
use neuro_deploy_kube::{KubeCluster, approval_record};

use super::checks::{Check, failed, passed, warned};

/// The checks of `env` for `user`, the identity `cluster` is reached as.
pub async fn checks(cluster: &KubeCluster, env: &EnvironmentConfig, user: &str) -> Vec<Check> {
    let namespace = &env.namespace;
    let approvers = env
        .approvals
        .as_ref()
        .map_or(&[][..], |rule| rule.approvers.as_slice());
    let fix = "bind this identity only the Role `neuro-deploy rbac` prints for it (the deployer's: `--deployer`); operators and approvers use their own credentials";
    let may = |verb: &'static str, name: Option<String>| async move {
        cluster
            .can_i(namespace, "", "configmaps", verb, name.as_deref())
            .await
    };
    if approvers.iter().any(|a| a == user) {
        let record = approval_record(user);
        let check = format!("{user} may write their own approvals in `{namespace}`");
        return vec![match may("update", Some(record.clone())).await {
            Ok(true) => passed(check, format!("`update configmaps/{record}` allowed")),
            Ok(false) => failed(
                check,
                format!("`update configmaps/{record}` denied"),
                "an administrator applies what `neuro-deploy rbac` prints for this environment (the approver's Role and record)".to_owned(),
            ),
            Err(error) => failed(check, error.to_string(), "allow `create selfsubjectaccessreviews`".to_owned()),
        }];
    }
    let mut forbidden = vec![(
        "update",
        Some(STATE_NAME.to_owned()),
        "the identity that deploys cannot lift a freeze or clear a quarantine".to_owned(),
    )];
    for approver in approvers {
        forbidden.push((
            "update",
            Some(approval_record(approver)),
            format!("the identity that deploys cannot write {approver}'s approvals"),
        ));
    }
    forbidden.push((
        "delete",
        None,
        "the identity that deploys cannot remove a quarantine entry".to_owned(),
    ));
    let mut checks = Vec::new();
    for (verb, name, guarantee) in forbidden {
        let object = name
            .as_deref()
            .map_or_else(|| "configmaps".to_owned(), |n| format!("configmaps/{n}"));
        let check = format!("as {user} in `{namespace}`: {guarantee}");
        checks.push(match may(verb, name).await {
            Ok(false) => passed(check, format!("`{verb} {object}` refused, as it must be")),
            Ok(true) => warned(
                check,
                format!("`{verb} {object}` is allowed, so this does not hold if {user} deploys"),
                fix.to_owned(),
            ),
            Err(error) => failed(
                check,
                error.to_string(),
                "allow `create selfsubjectaccessreviews`".to_owned(),
            ),
        });
    }
    checks
}
