//! The documented IAM policy grants exactly what the adapters call, nothing more.

#[test]
fn the_example_policy_is_least_privilege() {
    let text = include_str!("../../../examples/aws/iam-policy.json");
    let policy: serde_json::Value = serde_json::from_str(text).unwrap();
    let mut actions: Vec<String> = policy["Statement"]
        .as_array()
        .unwrap()
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
    for statement in policy["Statement"].as_array().unwrap() {
        let resources = statement["Resource"].to_string();
        assert!(
            !resources.contains('*'),
            "no wildcard resources: {resources}"
        );
    }
}
