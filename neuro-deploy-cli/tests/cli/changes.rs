//! What changed, end to end through the real binary: a GitHub stand-in with a commit history
//! (wiremock answering `compare` as GitHub does over a linear main), and everything that shows
//! the commits between production and the promoted version — the live plan, `approve`, the
//! notification, the GitHub Deployment's payload, the Actions job summary; a downgrade says
//! "behind".

use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

use crate::record_verify::{GithubDeployments, record_deployments, webhook_receiver};
use crate::world::*;

/// main, oldest first: (sha, message, login). v1.3.0 is the second commit, v1.4.0 (the world's
/// `SHA`) the last.
const MAIN: [(&str, &str, &str); 5] = [
    (
        "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "Start",
        "octocat",
    ),
    (
        "2222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        "Release 1.3.0",
        "octocat",
    ),
    (
        "3333333ccccccccccccccccccccccccccccccccc",
        "Add a queue sparkline (#412)\n\n* draw it",
        "alice",
    ),
    (
        "4444444ddddddddddddddddddddddddddddddddd",
        "Merge pull request #415 from octo-org/fix-approvals",
        "bob",
    ),
    (SHA, "Bump version to 1.4.0", "octocat"),
];

/// GitHub's `compare/{base}...{head}` over [`MAIN`]: tags, `main` and SHAs (or their prefixes)
/// as references; an unknown one is a 404, as on GitHub.
struct CommitHistory;

impl CommitHistory {
    fn position(reference: &str) -> Option<usize> {
        match reference {
            "v1.3.0" => Some(1),
            "v1.4.0" | "main" => Some(MAIN.len() - 1),
            sha if sha.len() >= 7 => MAIN.iter().position(|(full, _, _)| full.starts_with(sha)),
            _ => None,
        }
    }

    fn commit(index: usize) -> Value {
        let (sha, message, login) = MAIN[index];
        json!({
            "sha": sha,
            "commit": { "message": message, "author": { "name": login, "email": "x@example.com", "date": "2026-11-20T10:00:00Z" } },
            "author": { "login": login, "id": index, "type": "User" },
        })
    }
}

impl Respond for CommitHistory {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let range = request
            .url
            .path()
            .trim_start_matches("/repos/octo-org/neuro-ui/compare/");
        let positions = range
            .split_once("...")
            .and_then(|(base, head)| Some((Self::position(base)?, Self::position(head)?)));
        let Some((base, head)) = positions else {
            return ResponseTemplate::new(404).set_body_json(json!({ "message": "Not Found" }));
        };
        let (status, ahead, behind) = match head.cmp(&base) {
            std::cmp::Ordering::Greater => ("ahead", head - base, 0),
            std::cmp::Ordering::Less => ("behind", 0, base - head),
            std::cmp::Ordering::Equal => ("identical", 0, 0),
        };
        let commits: Vec<Value> = (base + 1..=head).map(Self::commit).collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "status": status,
            "ahead_by": ahead,
            "behind_by": behind,
            "total_commits": ahead,
            "commits": commits,
        }))
    }
}

const LISTED: [&str; 3] = [
    "Add a queue sparkline (#412) — alice",
    "Merge pull request #415 from octo-org/fix-approvals — bob",
    "Bump version to 1.4.0 — octocat",
];

fn assert_lists_the_commits(what: &str, text: &str) {
    for commit in LISTED {
        assert!(
            text.contains(commit),
            "{what} does not list `{commit}`:\n{text}"
        );
    }
    assert!(
        !text.contains("Release 1.3.0"),
        "{what} lists what production runs already:\n{text}"
    );
}

/// The changes of a JSON report or document: its three commits, newest first.
fn assert_changes(what: &str, changes: &Value) {
    assert_eq!(changes["from"], "v1.3.0", "{what}: {changes:#}");
    assert_eq!(changes["to"], "v1.4.0", "{what}: {changes:#}");
    assert_eq!(
        changes["comparison"]["status"], "ahead",
        "{what}: {changes:#}"
    );
    assert_eq!(changes["comparison"]["ahead_by"], 3, "{what}: {changes:#}");
    let pull_requests: Vec<&Value> = changes["comparison"]["commits"]
        .as_array()
        .map(|commits| commits.iter().map(|c| &c["pull_request"]).collect())
        .unwrap_or_default();
    assert_eq!(
        pull_requests,
        [&json!(412), &json!(415), &Value::Null],
        "{what}"
    );
}

/// What `neuro-deploy ARGS` prints for people, whatever its exit code (a refusal goes to
/// stderr, with the logs).
async fn text_of(w: &World, args: &[&str]) -> String {
    let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
    command.args(args);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_commits_between_production_and_the_promoted_version_are_shown_everywhere() {
    let w = World::start(fast_sim(), &production_approvals(1)).await;
    Mock::given(method("GET"))
        .and(path_regex("^/repos/octo-org/neuro-ui/compare/.+$"))
        .respond_with(CommitHistory)
        .mount(&w.github)
        .await;
    let deployments = GithubDeployments::mount(&w.github).await;
    record_deployments(&w);
    w.staged("v1.4.0").await;
    let before = w.writes_to("leaf-neuro-ui");

    // The live plan (the promotion's dry run): the commits, nothing written.
    let (code, plan, stderr) = w.run(&["plan", "--live", "promote", "v1.4.0"]).await;
    assert_eq!(plan["dry_run"], true, "{plan:#}\n{stderr}");
    assert_eq!(reason(&plan), "approval_required", "{plan:#}\n{code}");
    let text = text_of(&w, &["plan", "--live", "promote", "v1.4.0"]).await;
    assert!(text.contains("v1.3.0 → v1.4.0: 3 commits ahead"), "{text}");
    assert_lists_the_commits("the live plan", &text);
    assert_eq!(
        w.writes_to("leaf-neuro-ui"),
        before,
        "a plan writes nothing"
    );

    // The approver sees what they approve.
    let (code, approved, stderr) = w
        .run_as("alice", &["approve", "v1.4.0", "--env", "production"])
        .await;
    assert_eq!(code, 0, "{approved:#}\n{stderr}");
    assert_changes("approve", &approved["changes"]);

    // The promotion: its report, the notification, the Deployment's payload, the job summary.
    let (receiver, url) = webhook_receiver(200).await;
    let job = tempfile::tempdir().unwrap();
    let summary = job.path().join("summary.md");
    let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
    command
        .env("NEURO_DEPLOY_WEBHOOK_URL", &url)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", job.path().join("output"))
        .args(["promote", "v1.4.0", "--yes", "--output", "json"]);
    let (code, report, stderr) = run_json(command).await;
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_changes("the report", &report["changes"]);
    let sent = receiver.received_requests().await.unwrap_or_default();
    assert_eq!(sent.len(), 1, "one notification");
    let message = String::from_utf8_lossy(&sent[0].body).into_owned();
    assert!(
        message.contains("*What changed* v1.3.0 → v1.4.0: 3 commits ahead"),
        "{message}"
    );
    assert_lists_the_commits("the notification", &message);
    let deployment = deployments.deployment("production");
    assert_changes(
        "the Deployment's payload",
        &deployment["payload"]["changes"],
    );
    let description = deployment["description"].as_str().unwrap_or_default();
    assert!(description.contains("3 commits ahead"), "{description}");
    let markdown = std::fs::read_to_string(&summary).unwrap_or_default();
    assert!(
        markdown.contains("**What changed**: v1.3.0 → v1.4.0: 3 commits ahead"),
        "{markdown}"
    );
    assert_lists_the_commits("the job summary", &markdown);

    // Back to v1.3.0 in staging would be a downgrade: "behind".
    let (_, downgrade, stderr) = w
        .run(&["plan", "--live", "deploy", "v1.3.0", "--env", "staging"])
        .await;
    let headline = downgrade["changes"]["comparison"]["status"].clone();
    assert_eq!(headline, "behind", "{downgrade:#}\n{stderr}");
    let text = text_of(
        &w,
        &["plan", "--live", "deploy", "v1.3.0", "--env", "staging"],
    )
    .await;
    assert!(
        text.contains("v1.4.0 → v1.3.0: behind by 3 commits (a downgrade"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_repository_the_versions_and_digests_are_shown_and_it_says_why_once() {
    let w = World::start(fast_sim(), "").await;
    let config = std::fs::read_to_string(&w.config).unwrap();
    std::fs::write(
        &w.config,
        config.replace("repository = \"octo-org/neuro-ui\"\n", ""),
    )
    .unwrap();
    w.push_image(SHORT).await;
    w.push_image("v1.4.0").await;
    let text = text_of(
        &w,
        &["plan", "--live", "deploy", "v1.4.0", "--env", "staging"],
    )
    .await;
    let said = text.matches("no GitHub repository is configured").count();
    assert_eq!(said, 1, "{text}");
    assert!(
        text.contains("v1.3.0 → v1.4.0: commits not listed"),
        "{text}"
    );
    // No GitHub request at all.
    assert!(
        w.github
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}
