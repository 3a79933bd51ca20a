//! A world for end-to-end runs of the real binaries: moto (ECR + SQS in two regions),
//! kube-sim (dev, staging, leaf-neuro-ui) and a wiremock GitHub, all on 127.0.0.1.

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use neuro_deploy_sim::kube::{KubeSim, KubeSimOptions, Resource};
use serde_json::Value;
use wiremock::MockServer;

pub const SHA: &str = "abc1234def5678abc1234def5678abc1234def56";
pub const SHORT: &str = "abc1234";
pub const HOTFIX_SHA: &str = "fedcba9876543210fedcba9876543210fedcba98";

/// Builds by pushing a manifest for the revision to moto's ECR (real wire protocol, boto3 from
/// the test venv), and logs each build so tests can count them.
const BUILD_SCRIPT: &str = r#"
import hashlib, json, os, sys
import boto3
image, revision = sys.argv[1], sys.argv[2]
repository_uri, tag = image.rsplit(":", 1)
repository = repository_uri.split("/", 1)[1]
digest = "sha256:" + hashlib.sha256(revision.encode()).hexdigest()
manifest = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 100, "digest": digest},
    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 100, "digest": digest}],
}
ecr = boto3.client("ecr", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-west-2")
ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)
with open(os.environ["NEURO_DEPLOY_TEST_BUILD_LOG"], "a") as log:
    log.write(f"{revision} {tag}\n")
print(f"built {image}")
"#;

pub struct World {
    pub sim: KubeSim,
    pub github: MockServer,
    pub dir: tempfile::TempDir,
    pub repo: String,
    pub uri: String,
    pub queue: String,
    pub moto: String,
    pub config: PathBuf,
    pub kubeconfig: PathBuf,
    pub build_log: PathBuf,
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}

pub use neuro_deploy_sim::fixtures::app_deployment as deployment;

impl World {
    pub async fn start(options: KubeSimOptions, extra_config: &str) -> World {
        World::start_with_builder(options, None, extra_config).await
    }

    /// `builder`: a whole `[builder]` section, or `None` for the build script.
    pub async fn start_with_builder(
        options: KubeSimOptions,
        builder: Option<&str>,
        extra_config: &str,
    ) -> World {
        let moto = neuro_deploy_testkit::env::moto_url();
        let repo = unique("neuro-ui");
        let queue = unique("sqs_studioml_gorunner_cpu_production_0");
        let uri = format!("123456789012.dkr.ecr.us-west-2.amazonaws.com/{repo}");
        let west = sdk("us-west-2", &moto).await;
        let east = sdk("us-east-2", &moto).await;
        aws_sdk_ecr::Client::new(&west)
            .create_repository()
            .repository_name(&repo)
            .send()
            .await
            .unwrap();
        for region in [&west, &east] {
            aws_sdk_sqs::Client::new(region)
                .create_queue()
                .queue_name(&queue)
                .send()
                .await
                .unwrap();
        }
        let sim = KubeSim::start(options).await.unwrap();
        let mut seed = String::new();
        for ns in ["dev", "staging", "leaf-neuro-ui"] {
            seed.push_str(&neuro_deploy_sim::fixtures::namespace(ns));
            seed.push_str(&deployment(ns, "neuro-ui", &uri, "v1.3.0"));
        }
        sim.seed(&seed).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig).unwrap();
        let script = dir.path().join("build.py");
        std::fs::write(&script, BUILD_SCRIPT).unwrap();
        let python =
            PathBuf::from(std::env::var("NEURO_DEPLOY_TEST_VENV").unwrap()).join("bin/python");
        let config = dir.path().join("neuro-deploy.toml");
        let builder = match builder {
            Some(section) => section.to_owned(),
            None => format!(
                "[builder]\nkind = \"command\"\ncommand = [\"{}\", \"{}\", \"{{image}}\", \"{{revision}}\"]\ntimeout = \"60s\"\n",
                python.display(),
                script.display()
            ),
        };
        std::fs::write(
            &config,
            format!(
                r#"
[git]
repository = "octo-org/neuro-ui"

[registry]
repository = "{repo}"
region = "us-west-2"

[queues]
names = ["{queue}"]
window = "0s"
timeout = "0s"
poll = "1s"

[rollout]
timeout = "20s"

[lock]
lease = "15s"
renew_every = "5s"

{builder}
{extra_config}
"#
            ),
        )
        .unwrap();
        let github = MockServer::start().await;
        World {
            sim,
            github,
            build_log: dir.path().join("builds.log"),
            dir,
            repo,
            uri,
            queue,
            moto,
            config,
            kubeconfig,
        }
    }

    pub fn command(&self, binary: &str) -> std::process::Command {
        let mut command = std::process::Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("USER", "ops")
            .env("HOSTNAME", "test-host")
            .env("NEURO_DEPLOY_CONFIG", &self.config)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("AWS_ENDPOINT_URL", &self.moto)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-west-2")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("GITHUB_API_URL", self.github.uri())
            .env("GITHUB_TOKEN", "ghp_test_token")
            .env("NEURO_DEPLOY_TEST_BUILD_LOG", &self.build_log)
            .current_dir(self.dir.path());
        command
    }

    /// Runs `neuro-deploy ARGS --output json` and returns (exit code, JSON, stderr).
    pub async fn run(&self, args: &[&str]) -> (i32, Value, String) {
        let mut command = self.command(env!("CARGO_BIN_EXE_neuro-deploy"));
        command.args(args).args(["--output", "json"]);
        run_json(command).await
    }

    /// Runs `neuro-deploy ARGS` (text output) and returns its stdout; panics when it fails.
    pub async fn run_text(&self, args: &[&str]) -> String {
        let mut command = self.command(env!("CARGO_BIN_EXE_neuro-deploy"));
        command.args(args);
        let output = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        assert!(
            output.status.success(),
            "neuro-deploy {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs `neuro-deploy ARGS --output json` with `person`'s own credentials (a kube-sim user
    /// named `person`, bearer token `person-token`), as a second operator on another laptop.
    pub async fn run_as(&self, person: &str, args: &[&str]) -> (i32, Value, String) {
        self.run_as_user(person, person, args).await
    }

    /// [`World::run_as`] for a user whose name is not a word (`system:serviceaccount:…`):
    /// bearer token `{short}-token`, authenticating as `username`.
    pub async fn run_as_user(
        &self,
        short: &str,
        username: &str,
        args: &[&str],
    ) -> (i32, Value, String) {
        let person = short;
        let token = format!("{person}-token");
        self.sim.add_user(&token, username);
        let kubeconfig = self.dir.path().join(format!("kubeconfig-{person}"));
        std::fs::write(&kubeconfig, self.sim.kubeconfig_as(&token)).unwrap();
        let mut command = self.command(env!("CARGO_BIN_EXE_neuro-deploy"));
        command
            .env("KUBECONFIG", &kubeconfig)
            .env("USER", person)
            .args(args)
            .args(["--output", "json"]);
        run_json(command).await
    }

    pub fn builds(&self) -> Vec<String> {
        std::fs::read_to_string(&self.build_log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Every container image (sidecars included) of `neuro-ui` in `namespace`.
    pub fn images(&self, namespace: &str) -> Vec<String> {
        deployment_images(&self.sim, namespace, "neuro-ui")
    }

    /// Whether every app container of `neuro-ui` in `namespace` runs `tag` pinned to a digest
    /// (`REPOSITORY:TAG@sha256:…`), as a promotion sets it.
    pub fn pinned(&self, namespace: &str, tag: &str) -> bool {
        let prefix = format!("{}:{tag}@sha256:", self.uri);
        let apps = self.app_images(namespace, "neuro-ui");
        !apps.is_empty() && apps.iter().all(|i| i.starts_with(&prefix))
    }

    pub fn annotation(&self, namespace: &str, key: &str) -> Option<String> {
        let deployment = self
            .sim
            .get(Resource::Deployment, namespace, "neuro-ui")
            .unwrap();
        deployment["metadata"]["annotations"][key]
            .as_str()
            .map(str::to_owned)
    }

    /// How many requests wrote to `namespace`.
    pub fn writes_to(&self, namespace: &str) -> u64 {
        writes_in(&self.sim, namespace)
    }

    pub async fn sqs(&self, region: &str) -> (aws_sdk_sqs::Client, String) {
        let client = aws_sdk_sqs::Client::new(&sdk(region, &self.moto).await);
        let url = client
            .get_queue_url()
            .queue_name(&self.queue)
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_owned();
        (client, url)
    }

    pub async fn push_image(&self, tag: &str) {
        self.push_image_of(tag, tag).await;
    }

    /// Pushes an image built from `content` under `tag` (the same content, the same digest);
    /// on an existing tag of this mutable repository that moves the tag.
    pub async fn push_image_of(&self, tag: &str, content: &str) {
        let ecr = aws_sdk_ecr::Client::new(&sdk("us-west-2", &self.moto).await);
        let digest = format!(
            "sha256:{:0>64}",
            content
                .bytes()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": { "mediaType": "application/vnd.docker.container.image.v1+json", "size": 1, "digest": digest },
            "layers": [{ "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1, "digest": digest }]
        });
        ecr.put_image()
            .repository_name(&self.repo)
            .image_manifest(manifest.to_string())
            .image_tag(tag)
            .send()
            .await
            .unwrap();
    }

    /// The registry's digest for `tag`, as ECR (moto) reports it.
    pub async fn digest(&self, tag: &str) -> String {
        let ecr = aws_sdk_ecr::Client::new(&sdk("us-west-2", &self.moto).await);
        let found = ecr
            .describe_images()
            .repository_name(&self.repo)
            .image_ids(
                aws_sdk_ecr::types::ImageIdentifier::builder()
                    .image_tag(tag)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        found.image_details()[0].image_digest().unwrap().to_owned()
    }

    /// Runs the official kubectl against kube-sim; panics with its output when it fails.
    pub async fn kubectl(&self, args: &[&str]) -> String {
        kubectl(&self.kubeconfig, args).await
    }

    /// One key of an environment's ConfigMap `neuro-deploy`, as the official kubectl reads it
    /// (empty when the ConfigMap or the key is not there).
    pub async fn configmap_key(&self, namespace: &str, key: &str) -> String {
        self.kubectl(&[
            "get",
            "configmap",
            "neuro-deploy",
            "-n",
            namespace,
            "--ignore-not-found",
            "-o",
            &format!("jsonpath={{.data.{key}}}"),
        ])
        .await
    }

    /// The data of neuro-deploy's records of `kind` in `namespace` (`approval`, `quarantine`,
    /// `spent`, `decisions`), as the official kubectl lists them.
    pub async fn records(&self, namespace: &str, kind: &str) -> Vec<Value> {
        let listed = self
            .kubectl(&[
                "get",
                "configmaps",
                "-n",
                namespace,
                "-l",
                &format!("{}={kind}", neuro_deploy_kube::RECORD_LABEL),
                "-o",
                "json",
            ])
            .await;
        let listed: Value = serde_json::from_str(&listed).unwrap();
        listed["items"].as_array().cloned().unwrap_or_default()
    }

    /// The approvals in `person`'s own record in `namespace` (`[]` when there is none).
    pub async fn approvals_of(&self, namespace: &str, person: &str) -> Vec<Value> {
        let name = neuro_deploy_kube::approval_record(person);
        let text = self
            .kubectl(&[
                "get",
                "configmap",
                &name,
                "-n",
                namespace,
                "--ignore-not-found",
                "-o",
                "jsonpath={.data.approvals}",
            ])
            .await;
        serde_json::from_str(&text).unwrap_or_default()
    }

    /// Replaces the approvals in `person`'s record in `namespace` with `approvals`, as an
    /// administrator editing it with kubectl would.
    pub async fn set_approvals_of(&self, namespace: &str, person: &str, approvals: &[Value]) {
        let text = serde_json::to_string(approvals).unwrap();
        let patch = serde_json::json!({ "data": { "approvals": text } });
        self.kubectl(&[
            "patch",
            "configmap",
            &neuro_deploy_kube::approval_record(person),
            "-n",
            namespace,
            "--type",
            "merge",
            "-p",
            &patch.to_string(),
        ])
        .await;
    }

    /// `kubectl set image` of both app containers of `neuro-ui` in `namespace`, as an operator would.
    pub async fn set_app_image(&self, namespace: &str, image: &str) {
        self.kubectl(&[
            "-n",
            namespace,
            "set",
            "image",
            "deployment/neuro-ui",
            &format!("web={image}"),
            &format!("worker={image}"),
        ])
        .await;
    }

    /// Releases `tag` of commit SHA to staging (retagging the commit's image) and checks it runs.
    pub async fn staged(&self, tag: &str) {
        self.push_image(SHORT).await;
        let (code, json, stderr) = self
            .run(&["released", "--tag", tag, "--sha", SHA, "--target", "main"])
            .await;
        assert_eq!(code, 0, "{json:#}\n{stderr}");
    }

    /// Puts one job in flight in `region` (received, not deleted).
    pub async fn job_in_flight(&self, region: &str) -> JobInFlight {
        let (sqs, url) = self.sqs(region).await;
        sqs.send_message()
            .queue_url(&url)
            .message_body("train")
            .send()
            .await
            .unwrap();
        let received = sqs
            .receive_message()
            .queue_url(&url)
            .visibility_timeout(600)
            .send()
            .await
            .unwrap();
        let receipt = received.messages()[0].receipt_handle().unwrap().to_owned();
        JobInFlight { sqs, url, receipt }
    }

    /// The app images (sidecars left out) of Deployment `name` in `namespace`.
    pub fn app_images(&self, namespace: &str, name: &str) -> Vec<String> {
        app_images_in(&self.sim, &self.uri, namespace, name)
    }

    /// Whether every app container of Deployment `name` in `namespace` runs `tag` (unpinned).
    pub fn all_on(&self, namespace: &str, name: &str, tag: &str) -> bool {
        let images = self.app_images(namespace, name);
        !images.is_empty() && images.iter().all(|i| i.ends_with(&format!(":{tag}")))
    }

    /// Whether the lock of `namespace` exists and nobody holds it.
    pub fn lock_released(&self, namespace: &str) -> bool {
        self.lease(namespace)
            .is_some_and(|l| l["spec"]["holderIdentity"].is_null())
    }

    /// The Lease of `namespace`, when there is one.
    pub fn lease(&self, namespace: &str) -> Option<Value> {
        self.sim.get(Resource::Lease, namespace, "neuro-deploy")
    }

    /// Spawns `neuro-deploy ARGS --output json` and returns the running child.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        let mut command = self.command(env!("CARGO_BIN_EXE_neuro-deploy"));
        command
            .args(args)
            .args(["--output", "json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        command.spawn().unwrap()
    }

    /// Waits (bounded) until `condition` holds, polling kube-sim's state.
    pub async fn until(&self, what: &str, condition: impl Fn(&World) -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !condition(self) {
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting until {what}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A Codefresh build-status answer (`GET /api/builds/ID`) whose build pushed `tag` for
    /// `revision` to the registry when it succeeded, as a real build pipeline does.
    pub fn finished_build(&self, id: &str, tag: &str, revision: &str) -> PushingBuild {
        PushingBuild {
            id: id.to_owned(),
            python: PathBuf::from(std::env::var("NEURO_DEPLOY_TEST_VENV").unwrap())
                .join("bin/python"),
            script: self.dir.path().join("build.py"),
            image: format!("{}:{tag}", self.uri),
            revision: revision.to_owned(),
            moto: self.moto.clone(),
            log: self.build_log.clone(),
            pushed: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

/// See [`World::finished_build`].
pub struct PushingBuild {
    id: String,
    python: PathBuf,
    script: PathBuf,
    image: String,
    revision: String,
    moto: String,
    log: PathBuf,
    pushed: std::sync::atomic::AtomicBool,
}

impl wiremock::Respond for PushingBuild {
    fn respond(&self, _: &wiremock::Request) -> wiremock::ResponseTemplate {
        if !self.pushed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let status = std::process::Command::new(&self.python)
                .arg(&self.script)
                .args([&self.image, &self.revision])
                .env("AWS_ENDPOINT_URL", &self.moto)
                .env("AWS_ACCESS_KEY_ID", "test")
                .env("AWS_SECRET_ACCESS_KEY", "test")
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .env("NEURO_DEPLOY_TEST_BUILD_LOG", &self.log)
                .stdout(std::process::Stdio::null())
                .status()
                .expect("the build script runs");
            assert!(
                status.success(),
                "the simulated build pushed {}",
                self.image
            );
        }
        wiremock::ResponseTemplate::new(200)
            .set_body_json(serde_json::json!({ "id": self.id, "status": "success" }))
    }
}

/// The step of `kind` in a JSON report.
/// A training job received from a queue and not finished: the queue counts it in flight until
/// [`JobInFlight::finish`] (dropping it leaves it in flight).
pub struct JobInFlight {
    sqs: aws_sdk_sqs::Client,
    url: String,
    receipt: String,
}

impl JobInFlight {
    /// The job finishes: its message is deleted.
    pub async fn finish(self) {
        self.sqs
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(self.receipt)
            .send()
            .await
            .unwrap();
    }
}

/// The reason code of a JSON report, or "" when it has none.
pub fn reason(json: &Value) -> &str {
    json["reason"].as_str().unwrap_or("")
}

/// Every container image of Deployment `name` in `namespace` of `sim`.
pub fn deployment_images(sim: &KubeSim, namespace: &str, name: &str) -> Vec<String> {
    let deployment = sim.get(Resource::Deployment, namespace, name).unwrap();
    deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["image"].as_str().unwrap().to_owned())
        .collect()
}

/// The images of Deployment `name` in `namespace` of `sim` that come from the app's repository
/// `uri` (sidecars left out).
pub fn app_images_in(sim: &KubeSim, uri: &str, namespace: &str, name: &str) -> Vec<String> {
    deployment_images(sim, namespace, name)
        .into_iter()
        .filter(|i| i.starts_with(uri))
        .collect()
}

/// How many requests wrote to `namespace` of `sim`.
pub fn writes_in(sim: &KubeSim, namespace: &str) -> u64 {
    sim.requests()
        .by_route
        .iter()
        .filter(|(route, _)| {
            !route.starts_with("GET ") && route.contains(&format!("/namespaces/{namespace}/"))
        })
        .map(|(_, n)| n)
        .sum()
}

pub fn step<'a>(report: &'a Value, kind: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["kind"] == kind))
        .unwrap_or_else(|| panic!("no step {kind} in {report:#}"))
}

/// Waits for a spawned run and returns (exit code, JSON, stderr).
pub async fn finish(child: std::process::Child) -> (i32, Value, String) {
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    parse_output(&output)
}

/// Sends `signal` (`TERM`, `INT`) to a spawned run.
pub fn signal(child: &std::process::Child, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal}");
}

fn parse_output(output: &Output) -> (i32, Value, String) {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("stdout is not one JSON document ({e}):\n{stdout}\nstderr:\n{stderr}")
    });
    (output.status.code().unwrap_or(-1), json, stderr)
}

pub async fn run_json(mut command: std::process::Command) -> (i32, Value, String) {
    let output: Output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    parse_output(&output)
}

pub async fn sdk(region: &str, moto: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_owned()))
        .endpoint_url(moto)
        .load()
        .await
}

/// Rollouts that take long enough to act during them (signals, a stolen lock).
pub fn slow_sim() -> KubeSimOptions {
    KubeSimOptions {
        rollout: Duration::from_secs(40),
        ..fast_sim()
    }
}

/// The default environments (dev, staging, production) as `[[environments]]` TOML, staging
/// and production followed by `staging` and `production` (their sub-tables: `[environments.verify]`,
/// `[[environments.windows]]`, `[environments.approvals]`).
pub fn environments(staging: &str, production: &str) -> String {
    format!(
        r#"
[[environments]]
name = "dev"
namespace = "dev"
trigger = "merge"

[[environments]]
name = "staging"
namespace = "staging"
trigger = "release"
{staging}

[[environments]]
name = "production"
namespace = "leaf-neuro-ui"
trigger = "manual"
promote_from = "staging"
{production}
"#
    )
}

/// [`environments`] whose production needs `required` people's approvals, each counting an hour.
pub fn production_approvals(required: u32) -> String {
    environments(
        "",
        &format!("[environments.approvals]\nrequired = {required}\nexpire = \"1h\""),
    )
}

pub fn fast_sim() -> KubeSimOptions {
    KubeSimOptions {
        rollout: Duration::from_millis(400),
        observe_delay: Duration::from_millis(50),
        deadline: Duration::from_millis(1200),
        fail_image: Some(":v9\\.9\\.9$".to_owned()),
        ..KubeSimOptions::default()
    }
}

/// Runs the official kubectl with `kubeconfig`; its whole output, whether it failed or not.
pub async fn kubectl_output(kubeconfig: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new(neuro_deploy_testkit::env::kubectl());
    command.env("KUBECONFIG", kubeconfig).args(args);
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

/// Runs the official kubectl with `kubeconfig`; panics with its output when it fails.
pub async fn kubectl(kubeconfig: &std::path::Path, args: &[&str]) -> String {
    let output = kubectl_output(kubeconfig, args).await;
    assert!(
        output.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
