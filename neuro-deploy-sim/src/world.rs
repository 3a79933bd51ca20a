//! [`World`]: kube-sim and the in-memory adapters, started and seeded like the team's setup.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use neuro_deploy_core::{AdapterError, Config, GitSha, QueueDepth, ReleaseInfo, ReleaseSource};

use crate::builder::MemoryBuilder;
use crate::digest::digest_of;
use crate::fixtures::{SIDECAR_IMAGE, deployment, namespace};
use crate::kube::{KubeSim, KubeSimOptions};
use crate::queues::MemoryQueues;
use crate::registry::MemoryRegistry;
use crate::releases::MemoryReleases;

/// The simulated registry's repository URI. `.invalid` says it is nowhere on the network.
pub const REGISTRY_URI: &str = "registry.sim.invalid/neuro-ui";

/// The release every environment runs when the world starts.
pub const FIRST_RELEASE: &str = "v1.3.0";

/// The app's Deployments: name and app container.
const APP: [(&str, &str); 2] = [("neuro-ui-web", "web"), ("neuro-ui-worker", "worker")];

/// How fast the world moves.
#[derive(Debug, Clone)]
pub struct WorldOptions {
    /// How long a successful rollout takes.
    pub rollout: Duration,
    /// When a rollout of a broken image is marked `ProgressDeadlineExceeded`.
    pub deadline: Duration,
    /// How long a build takes.
    pub build: Duration,
    /// How long the queues must stay drained before production deploys.
    pub queue_window: Duration,
}

impl Default for WorldOptions {
    /// Shortened for a playground: rollouts ~1 s, builds 1 s, a 3 s queue window.
    fn default() -> Self {
        WorldOptions {
            rollout: Duration::from_secs(1),
            deadline: Duration::from_millis(2500),
            build: Duration::from_secs(1),
            queue_window: Duration::from_secs(3),
        }
    }
}

/// A running simulated world; kube-sim stops and the kubeconfig is deleted when it is dropped.
pub struct World {
    /// The Kubernetes API server (reachable from outside through [`World::kubeconfig_path`]).
    pub kube: KubeSim,
    /// The image repository.
    pub registry: Arc<MemoryRegistry>,
    /// The training queues.
    pub queues: Arc<MemoryQueues>,
    /// The git repository and its releases.
    pub releases: Arc<MemoryReleases>,
    /// The image builder.
    pub builder: Arc<MemoryBuilder>,
    config: Config,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl World {
    /// The kube context in [`World::kubeconfig_path`].
    pub const CONTEXT: &'static str = "kube-sim";

    /// Starts kube-sim on 127.0.0.1 and seeds everything: release `v1.3.0` built once
    /// and running in `dev`, `staging` and `leaf-neuro-ui`, the queues empty.
    pub async fn start(options: WorldOptions) -> Result<World, String> {
        let config = world_config(&options);
        let kube = KubeSim::start(KubeSimOptions {
            rollout: options.rollout,
            observe_delay: options.rollout / 10,
            deadline: options.deadline,
            ..KubeSimOptions::default()
        })
        .await?;
        let dir = tempfile::Builder::new()
            .prefix("neuro-deploy-world-")
            .tempdir()
            .map_err(|e| format!("cannot create a directory for the kubeconfig: {e}"))?;
        let kubeconfig = dir.path().join("kubeconfig");
        kube.write_kubeconfig(&kubeconfig)
            .map_err(|e| format!("cannot write {}: {e}", kubeconfig.display()))?;

        let registry = Arc::new(MemoryRegistry::new(REGISTRY_URI));
        let releases = Arc::new(MemoryReleases::new(&config.git.main_branch));
        let queues = Arc::new(MemoryQueues::new(
            &config.queues.names,
            &config.queues.regions,
        ));
        let builder = Arc::new(MemoryBuilder::new(Arc::clone(&registry), options.build));

        // The first release, as the old pipelines left it: built once on merge, tagged on release.
        let sha = releases
            .commit(&config.git.main_branch, "neuro-ui 1.3")
            .map_err(|e| e.to_string())?;
        let short = sha.short(config.git.short_sha_length).to_owned();
        let digest = digest_of(sha.as_str());
        for tag in [short.as_str(), FIRST_RELEASE] {
            registry.push(tag, &digest).map_err(|e| e.to_string())?;
        }
        releases
            .create_release(FIRST_RELEASE, &config.git.main_branch)
            .await
            .map_err(|e| e.to_string())?;
        let mut seed = String::new();
        for environment in &config.environments {
            let tag = match environment.name.as_str() {
                "dev" => &short,
                _ => FIRST_RELEASE,
            };
            seed.push_str(&namespace(&environment.namespace));
            for (name, container) in APP {
                seed.push_str(&deployment(
                    &environment.namespace,
                    name,
                    &config.app.name,
                    2,
                    &[
                        (container, &format!("{REGISTRY_URI}:{tag}")),
                        ("envoy", SIDECAR_IMAGE),
                    ],
                ));
            }
        }
        kube.seed(&seed)?;
        Ok(World {
            kube,
            registry,
            queues,
            releases,
            builder,
            config,
            kubeconfig,
            _dir: dir,
        })
    }

    /// The configuration that matches this world (environments, queues, the registry URI, the
    /// shortened timings).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A kubeconfig (context [`World::CONTEXT`]) that reaches this world's kube-sim: what the
    /// Kubernetes adapter and `kubectl` use.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The region, when the queue gate watches it; an error naming the known ones otherwise.
    fn region<'a>(&self, region: &'a str) -> Result<&'a str, String> {
        if self.config.queues.regions.iter().any(|r| r == region) {
            Ok(region)
        } else {
            Err(format!(
                "there is no region `{region}` in this world; its regions: {}",
                self.config.queues.regions.join(", ")
            ))
        }
    }

    /// A training job arrives in `region` and a runner picks it up (in flight on every
    /// watched queue there).
    pub fn queue_push(&self, region: &str) -> Result<QueueDepth, String> {
        let region = self.region(region)?;
        let mut depth = QueueDepth::default();
        for queue in &self.config.queues.names {
            depth = self.queues.push(queue, region).map_err(|e| e.to_string())?;
        }
        Ok(depth)
    }

    /// One training job in `region` finishes; `None` when there was none.
    pub fn queue_pop(&self, region: &str) -> Result<Option<QueueDepth>, String> {
        let region = self.region(region)?;
        let mut depth = None;
        for queue in &self.config.queues.names {
            depth = self.queues.pop(queue, region).map_err(|e| e.to_string())?;
        }
        Ok(depth)
    }

    /// A commit merged to the main branch.
    pub fn merge(&self, message: &str) -> Result<GitSha, AdapterError> {
        self.releases.commit(&self.config.git.main_branch, message)
    }

    /// A commit on `branch` (a hotfix's fix).
    pub fn commit(&self, branch: &str, message: &str) -> Result<GitSha, AdapterError> {
        self.releases.commit(branch, message)
    }

    /// A new commit on the main branch, released as `tag` on GitHub (not deployed yet).
    pub async fn release(&self, tag: &str) -> Result<(GitSha, ReleaseInfo), AdapterError> {
        let sha = self.merge(&format!("changes for {tag}"))?;
        Ok((sha, self.publish(tag).await?))
    }

    /// Publishes GitHub release `tag` at the main branch's current commit.
    pub async fn publish(&self, tag: &str) -> Result<ReleaseInfo, AdapterError> {
        self.releases
            .create_release(tag, &self.config.git.main_branch)
            .await
    }

    /// From now on, every rollout of `version` (its tag, as a promotion pins it or not) fails:
    /// the image crashes on start.
    pub fn break_image(&self, version: &str) -> Result<(), String> {
        let escaped = regex::escape(version);
        self.kube.fail_images_matching(&format!(":{escaped}(@|$)"))
    }
}

/// The team's configuration with the playground's timings.
fn world_config(options: &WorldOptions) -> Config {
    let mut config = Config::default();
    config.registry.uri = Some(REGISTRY_URI.to_owned());
    config.queues.window = options.queue_window;
    config.queues.poll = Duration::from_millis(500);
    config.queues.timeout = Duration::from_secs(60);
    config.rollout.timeout = Duration::from_secs(20);
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::Resource;
    use neuro_deploy_core::{QueueInspector, Registry};

    #[tokio::test]
    async fn the_world_starts_seeded_like_the_teams_setup() {
        let world = World::start(WorldOptions::default()).await.unwrap();
        let config = world.config();
        assert!(config.validate("world").is_ok());

        for ns in ["dev", "staging", "leaf-neuro-ui"] {
            let web = world
                .kube
                .get(Resource::Deployment, ns, "neuro-ui-web")
                .unwrap();
            let containers = &web["spec"]["template"]["spec"]["containers"];
            assert_eq!(containers[1]["image"], SIDECAR_IMAGE);
            let image = containers[0]["image"].as_str().unwrap();
            assert!(image.starts_with(REGISTRY_URI), "{image}");
            assert!(
                world
                    .kube
                    .get(Resource::Deployment, ns, "neuro-ui-worker")
                    .is_some()
            );
        }
        let release = world.registry.find(FIRST_RELEASE).await.unwrap().unwrap();
        let commit = world
            .releases
            .resolve(FIRST_RELEASE)
            .await
            .unwrap()
            .unwrap();
        let short = world.registry.find(commit.short(7)).await.unwrap().unwrap();
        assert_eq!(
            release.digest, short.digest,
            "built once, tagged on release"
        );

        let kubeconfig = std::fs::read_to_string(world.kubeconfig_path()).unwrap();
        assert!(kubeconfig.contains(world.kube.url()));
        assert!(world.kube.url().starts_with("http://127.0.0.1:"));
    }

    #[tokio::test]
    async fn world_commands_change_what_the_adapters_see() {
        let world = World::start(WorldOptions::default()).await.unwrap();
        let queue = world.config().queues.names[0].clone();

        world.queue_push("us-east-2").unwrap();
        assert_eq!(
            world
                .queues
                .depth(&queue, "us-east-2")
                .await
                .unwrap()
                .in_flight,
            1
        );
        assert!(world.queue_pop("us-east-2").unwrap().unwrap().is_empty());
        assert!(
            world
                .queue_push("eu-west-1")
                .unwrap_err()
                .contains("us-west-2")
        );

        let (sha, release) = world.release("v1.5.0").await.unwrap();
        assert_eq!(release.target, "main");
        assert_eq!(world.releases.resolve("v1.5.0").await.unwrap(), Some(sha));
        assert!(world.break_image("v1.5.0").is_ok());
    }
}
