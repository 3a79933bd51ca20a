//! `neuro-deploy rbac [--env NAME] --deployer SUBJECT [--operators SUBJECT…]`: the manifests
//! that make the guardrails hold against the identity that deploys, for the current
//! configuration — per environment's namespace, the records an administrator creates
//! beforehand and a Role and RoleBinding for the deployer, the operators and each approver
//! (`[environments.approvals] approvers`). YAML for `kubectl apply -f -` (`-o json`: a `List`).
//! Prints; applies nothing.

use neuro_deploy_core::ExitStatus;
use neuro_deploy_kube::{Grants, Subject, rbac_manifests};
use serde_json::{Value, json};

use super::{Context, Failure};

/// Prints the manifests for `env` (every environment when `None`).
pub fn run(
    context: &Context,
    env: Option<&str>,
    deployer: &str,
    operators: &[String],
) -> Result<ExitStatus, Failure> {
    let config = &context.config;
    let deployer =
        Subject::parse(deployer).map_err(|e| Failure::invalid(format!("--deployer: {e}")))?;
    let operators = operators
        .iter()
        .map(|o| Subject::parse(o).map_err(|e| Failure::invalid(format!("--operators: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let environments: Vec<_> = match env {
        Some(name) => vec![config.environment(name).ok_or_else(|| {
            Failure::invalid(format!(
                "no environment `{name}` in {}; `neuro-deploy config show` lists them",
                context.origin
            ))
        })?],
        None => config.environments.iter().collect(),
    };
    let mut objects: Vec<Value> = Vec::new();
    for environment in environments {
        let approvers = environment
            .approvals
            .as_ref()
            .map_or(&[][..], |rule| rule.approvers.as_slice());
        let source = environment
            .promote_from
            .as_deref()
            .and_then(|source| config.environment(source))
            .map(|source| source.namespace.as_str());
        objects.extend(rbac_manifests(&Grants {
            namespace: &environment.namespace,
            deployer: &deployer,
            operators: &operators,
            approvers,
            source,
        }));
    }
    let yaml = serde_saphyr::to_string_multiple(&objects).map_err(|e| {
        Failure::invalid(format!("the manifests could not be written as YAML: {e}"))
    })?;
    let list = json!({ "apiVersion": "v1", "kind": "List", "items": objects });
    context.printer.print(&list, &yaml);
    Ok(ExitStatus::Done)
}
