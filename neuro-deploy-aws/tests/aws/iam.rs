//! The documented IAM policies grant exactly what the adapters call for each role, nothing more,
//! on named resources only; the OIDC trust policy pins the audience and the pipeline.

fn actions_of(text: &str) -> Vec<String> {
    let policy: serde_json::Value = serde_json::from_str(text).unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    for statement in statements {
        let resources = statement["Resource"].to_string();
        assert!(
            !resources.contains('*'),
            "no wildcard resources: {resources}"
        );
    }
    let mut actions: Vec<String> = statements
        .iter()
        .flat_map(|s| {
            s["Action"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
        })
        .collect();
    actions.sort();
    actions
}

#[test]
fn the_ci_role_may_retag_and_read_queues() {
    let actions = actions_of(include_str!("../../../examples/aws/iam-policy-ci.json"));
    assert_eq!(
        actions,
        [
            "ecr:BatchGetImage",
            "ecr:DescribeImages",
            "ecr:DescribeRepositories",
            "ecr:PutImage",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl"
        ]
    );
}

#[test]
fn the_production_role_only_reads() {
    let actions = actions_of(include_str!(
        "../../../examples/aws/iam-policy-production.json"
    ));
    assert_eq!(
        actions,
        [
            "ecr:DescribeImages",
            "ecr:DescribeRepositories",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl"
        ],
        "a promotion never builds or retags: no ecr:PutImage"
    );
}

#[test]
fn the_oidc_trust_policy_pins_audience_and_pipeline() {
    let text = include_str!("../../../examples/aws/oidc-trust-policy.json");
    let policy: serde_json::Value = serde_json::from_str(text).unwrap();
    let statement = &policy["Statement"][0];
    assert_eq!(statement["Action"], "sts:AssumeRoleWithWebIdentity");
    assert_eq!(
        statement["Condition"]["StringEquals"]["oidc.codefresh.io:aud"],
        "https://g.codefresh.io"
    );
    let sub = statement["Condition"]["StringLike"]["oidc.codefresh.io:sub"]
        .as_str()
        .unwrap();
    assert!(
        sub.starts_with("account:") && sub.contains(":pipeline:"),
        "{sub}"
    );
}

#[test]
fn the_github_oidc_trust_policies_pin_audience_repository_and_environment() {
    let policy = |text: &str| -> serde_json::Value { serde_json::from_str(text).unwrap() };
    let ci = policy(include_str!(
        "../../../examples/aws/github-oidc-trust-policy-ci.json"
    ));
    let production = policy(include_str!(
        "../../../examples/aws/github-oidc-trust-policy-production.json"
    ));
    for statement in [&ci["Statement"][0], &production["Statement"][0]] {
        assert_eq!(statement["Action"], "sts:AssumeRoleWithWebIdentity");
        assert!(
            statement["Principal"]["Federated"]
                .as_str()
                .unwrap()
                .ends_with(":oidc-provider/token.actions.githubusercontent.com")
        );
        assert_eq!(
            statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:aud"],
            "sts.amazonaws.com"
        );
    }
    // CI: pushes to main and release tags of the one repository, nothing else.
    let subjects: Vec<&str> =
        ci["Statement"][0]["Condition"]["StringLike"]["token.actions.githubusercontent.com:sub"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
    assert_eq!(
        subjects,
        [
            "repo:example-org/neuro-ui:ref:refs/heads/main",
            "repo:example-org/neuro-ui:ref:refs/tags/v*"
        ]
    );
    // Production: only jobs in the `production` environment, matched exactly.
    assert_eq!(
        production["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"],
        "repo:example-org/neuro-ui:environment:production"
    );
    assert!(production["Statement"][0]["Condition"]["StringLike"].is_null());
}
