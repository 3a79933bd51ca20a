//! The example Codefresh pipelines against Codefresh's own pipeline specification, and every
//! command they run against the binaries' own parsers.
//!
//! The lists below are copied from the Codefresh documentation (repository
//! codefresh-io/docs.codefresh.io): the pipeline schema in
//! `_docs/pipelines/specifications-latest-version.md` (spec keys, git-trigger keys and
//! events), the step pages `_docs/pipelines/steps/{git-clone,build,approval}.md` (required
//! fields) and `_docs/pipelines/variables.md` (system variables).

use std::collections::BTreeSet;

use clap::Parser;
use serde_json::Value;

/// Keys of `spec` the schema accepts.
const SPEC_KEYS: &[&str] = &[
    "scopes",
    "scopeSnapshot",
    "permitRestartFromFailedSteps",
    "build_version",
    "triggers",
    "cronTriggers",
    "runtimeEnvironment",
    "lowMemoryWarningThreshold",
    "packId",
    "requiredAvailableStorage",
    "contexts",
    "clustersInfo",
    "variablesSchema",
    "variables",
    "specTemplate",
    "steps",
    "services",
    "hooks",
    "stages",
    "mode",
    "fail_fast",
    "strict_fail_fast",
    "success_criteria",
    "options",
    "concurrency",
    "triggerConcurrency",
    "branchConcurrency",
    "priority",
    "terminationPolicy",
    "externalResources",
    "debug",
    "serviceAccount",
];

/// Keys of a git trigger the schema accepts.
const TRIGGER_KEYS: &[&str] = &[
    "type",
    "id",
    "createdFromRepositoryMigration",
    "name",
    "description",
    "commitStatusTitle",
    "contexts",
    "verified",
    "status",
    "repo",
    "provider",
    "disabled",
    "skipCommentAuthorAssociationValidation",
    "lastExecutionDate",
    "events",
    "commentRegex",
    "branchRegex",
    "branchRegexInput",
    "pullRequestTargetBranchRegex",
    "pullRequestAllowForkEvents",
    "modifiedFilesGlob",
    "gerritCIStatusLabels",
    "context",
    "concurrency",
    "priority",
    "terminationPolicy",
    "variables",
    "options",
    "packId",
    "requiredAvailableStorage",
    "serviceAccount",
    "runtimeEnvironment",
];

/// Git-trigger events the schema accepts for GitHub (`release` is the published release).
const TRIGGER_EVENTS: &[&str] = &[
    "push",
    "push.heads",
    "push.tags",
    "push.newBranch",
    "push.deleteBranch",
    "pullrequest",
    "pullrequest.opened",
    "pullrequest.closed",
    "pullrequest.reopened",
    "pullrequest.edited",
    "pullrequest.assigned",
    "pullrequest.unassigned",
    "pullrequest.review_requested",
    "pullrequest.review_request_removed",
    "pullrequest.labeled",
    "pullrequest.unlabeled",
    "pullrequest.synchronize",
    "pullrequest.commentAdded",
    "release",
    "release.unpublished",
    "release.created",
    "release.edited",
    "release.deleted",
    "release.prereleased",
    "release.released",
];

/// Codefresh's system variables.
const SYSTEM_VARIABLES: &[&str] = &[
    "CF_ACCOUNT",
    "CF_BASE_BRANCH",
    "CF_BRANCH",
    "CF_BRANCH_TAG_NORMALIZED",
    "CF_BRANCH_TAG_NORMALIZED_LOWER_CASE",
    "CF_BUILD_ID",
    "CF_BUILD_INITIATOR",
    "CF_BUILD_TIMESTAMP",
    "CF_BUILD_TRIGGER",
    "CF_BUILD_URL",
    "CF_COMMIT_AUTHOR",
    "CF_COMMIT_MESSAGE",
    "CF_COMMIT_URL",
    "CF_KUBECONFIG_PATH",
    "CF_OUTPUT_URL",
    "CF_PIPELINE_NAME",
    "CF_PRERELEASE_FLAG",
    "CF_PULL_REQUEST_ID",
    "CF_RELEASE_ID",
    "CF_RELEASE_NAME",
    "CF_RELEASE_TAG",
    "CF_REPO_NAME",
    "CF_REPO_OWNER",
    "CF_REVISION",
    "CF_SHORT_REVISION",
    "CF_STEP_NAME",
    "CF_URL",
    "CF_VOLUME_NAME",
    "CF_VOLUME_PATH",
];

/// What `neuro-deploy-codefresh` exports (cf_export) for the steps after it.
const OUR_EXPORTS: &[&str] = &[
    "NAMESPACE",
    "NEURO_UI_VERSION",
    "NEURO_DEPLOY_OUTCOME",
    "NEURO_DEPLOY_REASON",
];

/// Marketplace step types the pipelines use (Codefresh OIDC for AWS).
const MARKETPLACE_STEPS: &[&str] = &[
    "obtain-oidc-id-token",
    "aws-sts-assume-role-with-web-identity",
];

/// Every `${{NAME}}` in a text.
fn references(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        let after = &rest[start + 3..];
        let Some(end) = after.find("}}") else { break };
        found.push(after[..end].trim().to_owned());
        rest = &after[end + 2..];
    }
    found
}

/// What is wrong with a pipeline, by Codefresh's specification and our own rules.
fn problems(name: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut problem = |p: String| problems.push(format!("{name}: {p}"));
    let pipeline: Value = match serde_saphyr::from_str(text) {
        Ok(pipeline) => pipeline,
        Err(e) => return vec![format!("{name}: not YAML: {e}")],
    };
    if pipeline["version"] != "1.0" || pipeline["kind"] != "pipeline" {
        problem("version must be \"1.0\" and kind `pipeline`".into());
    }
    if !pipeline["metadata"]["name"].is_string() {
        problem("metadata.name is required".into());
    }
    let spec = &pipeline["spec"];
    for key in spec.as_object().into_iter().flatten().map(|(k, _)| k) {
        if !SPEC_KEYS.contains(&key.as_str()) {
            problem(format!("spec.{key} is not in the pipeline specification"));
        }
    }
    for trigger in spec["triggers"].as_array().into_iter().flatten() {
        let label = trigger["name"].as_str().unwrap_or("?");
        for key in trigger.as_object().into_iter().flatten().map(|(k, _)| k) {
            if !TRIGGER_KEYS.contains(&key.as_str()) {
                problem(format!("trigger {label}: `{key}` is not a trigger key"));
            }
        }
        if trigger["type"] != "git" {
            problem(format!("trigger {label}: type must be `git`"));
        }
        if label.contains(char::is_whitespace) || label == "?" {
            problem(format!(
                "trigger {label}: a name without spaces is required"
            ));
        }
        if !trigger["repo"].as_str().is_some_and(|r| r.contains('/')) {
            problem(format!("trigger {label}: repo must be owner/name"));
        }
        match trigger["events"].as_array() {
            Some(events) if !events.is_empty() => {
                for event in events {
                    let event = event.as_str().unwrap_or_default();
                    if !TRIGGER_EVENTS.contains(&event) {
                        problem(format!("trigger {label}: event `{event}` is not accepted"));
                    }
                }
            }
            _ => problem(format!("trigger {label}: events are required")),
        }
    }
    // Variables a step may use: the system's, the pipeline's, step names, what earlier steps
    // exported.
    let mut known: BTreeSet<String> = SYSTEM_VARIABLES.iter().map(|v| (*v).to_owned()).collect();
    for variable in spec["variables"].as_array().into_iter().flatten() {
        known.insert(variable["key"].as_str().unwrap_or_default().to_owned());
    }
    for variable in spec["variables"].as_array().into_iter().flatten() {
        for reference in references(&variable["value"].to_string()) {
            if !known.contains(&reference) {
                problem(format!(
                    "variable {}: `${{{{{reference}}}}}` is not defined",
                    variable["key"]
                ));
            }
        }
    }
    let steps = spec["steps"].as_object().cloned().unwrap_or_default();
    for step_name in in_written_order(text, steps.keys()) {
        let step = &steps[&step_name];
        for reference in references(&step.to_string()) {
            if !known.contains(&reference) {
                problem(format!(
                    "step {step_name}: `${{{{{reference}}}}}` is not defined before it"
                ));
            }
        }
        match step["type"].as_str() {
            Some("git-clone") => {
                for field in ["repo", "git"] {
                    if !step[field].is_string() {
                        problem(format!("step {step_name}: git-clone needs `{field}`"));
                    }
                }
            }
            Some("build") => {
                if !step["image_name"].is_string() {
                    problem(format!("step {step_name}: build needs `image_name`"));
                }
                if !step["registry"].is_string() {
                    problem(format!(
                        "step {step_name}: name the registry (the build step pushes)"
                    ));
                }
                if step["tag_policy"] != "original" {
                    problem(format!(
                        "step {step_name}: `tag_policy: original` keeps release tags as written"
                    ));
                }
            }
            Some("push") => problem(format!("step {step_name}: the build step pushes already")),
            Some("pending-approval") => {}
            Some(typed)
                if MARKETPLACE_STEPS.contains(&typed.split(':').next().unwrap_or(typed)) =>
            {
                // A typed step without `:VERSION` runs whatever is latest when the build starts.
                let Some((marketplace, version)) = typed.split_once(':') else {
                    problem(format!(
                        "step {step_name}: pin `{typed}` to a version (`{typed}:X.Y.Z`)"
                    ));
                    continue;
                };
                if semver::Version::parse(version).is_err() {
                    problem(format!(
                        "step {step_name}: `{version}` is not a version of `{marketplace}`"
                    ));
                }
                if marketplace == "obtain-oidc-id-token" {
                    known.insert("ID_TOKEN".to_owned());
                }
            }
            Some("freestyle") | None => {
                if !step["image"].is_string() {
                    problem(format!("step {step_name}: a freestyle step needs `image`"));
                }
                let commands = step["commands"].as_array().cloned().unwrap_or_default();
                if commands.is_empty() {
                    problem(format!(
                        "step {step_name}: a freestyle step needs `commands`"
                    ));
                }
                for command in &commands {
                    let line = command.as_str().unwrap_or_default();
                    if !line.starts_with("exec ") {
                        problem(format!(
                            "step {step_name}: `{line}` must `exec` the binary so a cancelled build's SIGTERM reaches it"
                        ));
                    }
                }
                // What our binaries export is known to the steps after this one.
                if commands
                    .iter()
                    .any(|c| c.to_string().contains("neuro-deploy-codefresh"))
                {
                    known.extend(OUR_EXPORTS.iter().map(|v| (*v).to_owned()));
                }
            }
            Some(other) => problem(format!("step {step_name}: unknown step type `{other}`")),
        }
        known.insert(step_name);
    }
    problems
}

/// Step names in the order the file writes them (steps run in that order; JSON maps sort).
fn in_written_order<'a>(text: &str, names: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut names: Vec<(usize, String)> = names
        .map(|name| {
            let at = text.find(&format!("\n    {name}:\n")).unwrap_or(usize::MAX);
            (at, name.clone())
        })
        .collect();
    names.sort();
    names.into_iter().map(|(_, name)| name).collect()
}

fn pipelines() -> Vec<(&'static str, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/codefresh");
    ["deploy-trigger.yml", "build.yml", "deploy.yml"]
        .into_iter()
        .map(|name| (name, std::fs::read_to_string(dir.join(name)).unwrap()))
        .collect()
}

#[test]
fn the_example_pipelines_follow_the_codefresh_specification() {
    let found: Vec<String> = pipelines()
        .iter()
        .flat_map(|(name, text)| problems(name, text))
        .collect();
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_checker_refuses_what_codefresh_refuses() {
    let (_, trigger) = &pipelines()[0];
    let published = trigger.replace("        - release\n", "        - release.published\n");
    assert_ne!(&published, trigger);
    let found = problems("deploy-trigger.yml", &published);
    assert!(
        found
            .iter()
            .any(|p| p.contains("event `release.published` is not accepted")),
        "{found:#?}"
    );
    let (_, build) = &pipelines()[1];
    let found = problems("build.yml", &build.replace("      git: github\n", ""));
    assert!(
        found.iter().any(|p| p.contains("git-clone needs `git`")),
        "{found:#?}"
    );
    let found = problems(
        "x.yml",
        &trigger.replace("${{CF_VOLUME_PATH}}", "${{NO_SUCH_VAR}}"),
    );
    assert!(
        found.iter().any(|p| p.contains("NO_SUCH_VAR")),
        "{found:#?}"
    );
    let found = problems(
        "x.yml",
        &trigger.replace("exec neuro-deploy-codefresh", "neuro-deploy-codefresh"),
    );
    assert!(
        found.iter().any(|p| p.contains("must `exec`")),
        "{found:#?}"
    );
}

#[test]
fn every_command_parses_with_the_binaries_own_parsers() {
    let mut commands = 0;
    for (name, text) in pipelines() {
        let pipeline: Value = serde_saphyr::from_str(&text).unwrap();
        let steps = pipeline["spec"]["steps"].as_object().unwrap();
        for step in in_written_order(&text, steps.keys())
            .iter()
            .map(|n| &steps[n])
        {
            for line in step["commands"].as_array().into_iter().flatten() {
                let line = line.as_str().unwrap();
                let argv: Vec<&str> = line
                    .trim_start_matches("exec ")
                    .split_whitespace()
                    .collect();
                let parsed = match argv[0] {
                    "neuro-deploy-codefresh" => {
                        neuro_deploy_cli::codefresh_step::CodefreshCli::try_parse_from(&argv)
                            .map(|_| ())
                    }
                    "neuro-deploy" => {
                        neuro_deploy_cli::args::Cli::try_parse_from(&argv).map(|_| ())
                    }
                    other => panic!("{name} runs `{other}`, which is not one of ours"),
                };
                parsed.unwrap_or_else(|e| panic!("{name}: `{line}` does not parse: {e}"));
                commands += 1;
            }
        }
    }
    assert_eq!(commands, 4, "trigger; preview, deploy, status");
    let (_, deploy_text) = &pipelines()[2];
    let deploy: Value = serde_saphyr::from_str(deploy_text).unwrap();
    assert_eq!(deploy["spec"]["concurrency"], 1);
    let steps = in_written_order(
        deploy_text,
        deploy["spec"]["steps"].as_object().unwrap().keys(),
    );
    let position = |name: &str| steps.iter().position(|s| s == name).unwrap();
    assert!(
        position("preview") < position("approve") && position("approve") < position("deploy"),
        "a dry run, then the approval, then the deploy: {steps:?}"
    );
}

/// Runs Codefresh's own validator (`@codefresh-io/yaml-validator`, pinned; installed by
/// `scripts/test`) over `files`: its exit status and what it printed.
fn codefresh_validator(files: &[std::path::PathBuf]) -> (bool, String) {
    let (script, modules) = neuro_deploy_testkit::env::codefresh_validator();
    let out = std::process::Command::new("node")
        .arg(script)
        .args(files)
        .env("NODE_PATH", modules)
        .output()
        .expect("node runs (Node.js is needed by the tests; see scripts/test)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn codefreshs_own_validator_finds_no_error_and_no_warning_in_any_example_pipeline() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/codefresh");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "{files:?}");
    let (ok, printed) = codefresh_validator(&files);
    assert!(ok, "{printed}");
    for file in &files {
        assert!(
            printed.contains(&format!("{}: 0 errors, 0 warnings", file.display())),
            "{printed}"
        );
    }

    // The same validator does speak up: an unpinned typed step is a warning, an approval
    // timeout that is not a number an error.
    let scratch = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(dir.join("deploy.yml")).unwrap();
    let unpinned = scratch.path().join("unpinned.yml");
    std::fs::write(
        &unpinned,
        text.replace("obtain-oidc-id-token:1.1.2", "obtain-oidc-id-token"),
    )
    .unwrap();
    let misspelt = scratch.path().join("misspelt.yml");
    std::fs::write(
        &misspelt,
        text.replace("        duration: 2\n", "        duration: soon\n"),
    )
    .unwrap();
    let (ok, printed) = codefresh_validator(&[unpinned, misspelt]);
    assert!(!ok, "{printed}");
    assert!(
        printed.contains("unpinned.yml: 0 errors, 1 warnings")
            && printed.contains("Step version not specified"),
        "{printed}"
    );
    assert!(
        printed.contains("misspelt.yml: 1 errors, 0 warnings")
            && printed.contains("\"duration\" must be a number"),
        "{printed}"
    );
}
