//! kube-sim: a small Kubernetes API server for the playground, tests and benchmarks.
//!
//! It serves discovery, Namespaces, `apps/v1` Deployments (get, list with selectors, watch,
//! create, update, delete, strategic-merge / merge / JSON patch) and `coordination.k8s.io/v1`
//! Leases with resourceVersion conflicts, ConfigMaps, and RBAC's Roles, ClusterRoles and their
//! bindings — enforced when [`KubeSimOptions::rbac`] is on, and answering
//! `SelfSubjectAccessReview`s either way; errors are Kubernetes `Status` objects. A simulated
//! deployment controller moves `status` as a rollout would. It counts requests
//! (`GET /_sim/requests`) and injects faults (`POST /_sim/faults`, or [`KubeSim::inject`]).
//! The official `kubectl` drives it (see this crate's kubectl fidelity test).

mod access;
mod clock;
mod controller;
mod deployment;
mod faults;
mod patch;
mod protobuf;
mod rbac;
mod respond;
mod route;
mod select;
mod server;
mod shared;
mod store;
mod tables;
mod watch;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

pub use faults::{Fault, FaultAction, RequestCounts};
pub use patch::PatchKind;
pub use select::{FieldSelector, LabelSelector};
pub use store::Resource;

use deployment::ControllerOptions;
use shared::Shared;
use store::Store;

/// The bearer token of [`KubeSim::kubeconfig`].
pub const DEFAULT_TOKEN: &str = "kube-sim-token";

/// Who [`DEFAULT_TOKEN`] is.
pub const DEFAULT_USER: &str = "kube-sim-admin";

/// The group that bypasses authorization, as in Kubernetes; [`DEFAULT_USER`] is in it.
pub(crate) const MASTERS: &str = "system:masters";

/// The `apiVersion` of the seed's `kind: User` documents (`token`, `username`, `groups`).
pub const USER_API_VERSION: &str = "kube-sim.neuro-deploy.io/v1";

/// How a simulator behaves.
#[derive(Debug, Clone)]
pub struct KubeSimOptions {
    /// Where to listen (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// How long a successful rollout takes.
    pub rollout: Duration,
    /// How long before the controller observes a new generation.
    pub observe_delay: Duration,
    /// When a failing image's rollout is marked `ProgressDeadlineExceeded`.
    pub deadline: Duration,
    /// Images matching this regular expression never become available.
    pub fail_image: Option<String>,
    /// Added to every API request.
    pub latency: Duration,
    /// Whether RBAC authorizes every API request, as a real API server does: the default
    /// token's user is in `system:masters`, and requests without credentials (kubectl over
    /// plain HTTP) are bound to `cluster-admin`, so they play people by impersonation. Off,
    /// everything is allowed.
    pub rbac: bool,
}

impl Default for KubeSimOptions {
    fn default() -> Self {
        KubeSimOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            rollout: Duration::from_millis(1500),
            observe_delay: Duration::from_millis(150),
            deadline: Duration::from_millis(2000),
            fail_image: None,
            latency: Duration::ZERO,
            rbac: false,
        }
    }
}

/// A running simulator; stops when dropped.
pub struct KubeSim {
    url: String,
    shared: Arc<Shared>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl KubeSim {
    /// Starts a simulator on a tokio runtime.
    pub async fn start(options: KubeSimOptions) -> Result<KubeSim, String> {
        let fail_images = match &options.fail_image {
            Some(pattern) => vec![failing_pattern(pattern)?],
            None => Vec::new(),
        };
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let store = Store::new(ControllerOptions {
            rollout: options.rollout,
            observe_delay: options.observe_delay.min(options.rollout),
            deadline: options.deadline,
            fail_images,
        });
        let shared = Arc::new(Shared::new(
            store,
            options.latency,
            address.to_string(),
            options.rbac,
        ));
        if options.rbac {
            for object in rbac::bootstrap() {
                let resource = Resource::from_kind(object["kind"].as_str().unwrap_or_default())
                    .ok_or("kube-sim's RBAC bootstrap names a kind it does not serve")?;
                shared
                    .store()
                    .create(resource, "", object, true)
                    .map_err(|e| e.message)?;
            }
        }
        let app = axum::Router::new()
            .fallback(server::handle)
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let ticking = Arc::clone(&shared);
        // Rollouts move every 20 ms; ones that take no time at all are done within a
        // millisecond (what a benchmark of the client's own time with 0 ms rollouts needs).
        let every = if options.rollout.is_zero() {
            Duration::from_millis(1)
        } else {
            Duration::from_millis(20)
        };
        let controller = tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            loop {
                interval.tick().await;
                ticking.store().tick();
            }
        });
        Ok(KubeSim {
            url: format!("http://{address}"),
            shared,
            tasks: vec![server, controller],
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A kubeconfig pointing at this server (context `kube-sim`), as [`DEFAULT_USER`].
    pub fn kubeconfig(&self) -> String {
        self.kubeconfig_as(DEFAULT_TOKEN)
    }

    /// A kubeconfig pointing at this server whose credentials are `token` (a seeded user's).
    pub fn kubeconfig_as(&self, token: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-sim\n  cluster:\n    server: {}\ncontexts:\n- name: kube-sim\n  context:\n    cluster: kube-sim\n    user: kube-sim\n    namespace: default\ncurrent-context: kube-sim\nusers:\n- name: kube-sim\n  user:\n    token: {token}\npreferences: {{}}\n",
            self.url
        )
    }

    /// Writes [`KubeSim::kubeconfig`] to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig())
    }

    /// Adds a person: requests with bearer `token` are `username` (what `SelfSubjectReview`
    /// answers). The seed does the same with `kind: User` documents.
    pub fn add_user(&self, token: &str, username: &str) {
        if let Ok(mut users) = self.shared.users.lock() {
            users.insert(token.to_owned(), username.to_owned());
        }
    }

    /// Creates the objects of multi-document Kubernetes YAML (Namespaces first); Deployments
    /// start with a complete rollout. Returns how many objects were created.
    pub fn seed(&self, yaml: &str) -> Result<usize, String> {
        let documents: Vec<Value> =
            serde_saphyr::from_multiple(yaml).map_err(|e| format!("seed YAML: {e}"))?;
        let mut objects: Vec<Value> = documents.into_iter().filter(|d| !d.is_null()).collect();
        // `kind: User` (token, username) is kube-sim's own: who a bearer token is.
        objects.retain(|o| {
            let is_user = o["kind"].as_str() == Some("User")
                && o["apiVersion"].as_str() == Some(USER_API_VERSION);
            if is_user {
                let username = o["username"].as_str().unwrap_or_default();
                self.add_user(o["token"].as_str().unwrap_or_default(), username);
                let groups: Vec<String> = o["groups"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|g| g.as_str().map(str::to_owned))
                    .collect();
                if let Ok(mut known) = self.shared.groups.lock() {
                    known.insert(username.to_owned(), groups);
                }
            }
            !is_user
        });
        objects.sort_by_key(|o| o["kind"].as_str() != Some("Namespace"));
        let count = objects.len();
        for object in objects {
            self.create_object(object, true)?;
        }
        Ok(count)
    }

    /// Creates one object as a client would (Deployments then roll out from zero).
    pub fn create(&self, object: Value) -> Result<Value, String> {
        self.create_object(object, false)
    }

    fn create_object(&self, object: Value, seeded: bool) -> Result<Value, String> {
        let kind = object["kind"].as_str().unwrap_or_default().to_owned();
        let resource = Resource::from_kind(&kind)
            .ok_or_else(|| format!("kube-sim does not serve kind `{kind}`"))?;
        let namespace = if !resource.namespaced() {
            String::new()
        } else {
            object["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_owned()
        };
        self.shared
            .store()
            .create(resource, &namespace, object, seeded)
            .map_err(|e| e.message)
    }

    /// Replaces one object as a client's update would (`kubectl replace`, a controller's write):
    /// its `resourceVersion`, when set, must be current.
    pub fn replace(&self, object: Value) -> Result<Value, String> {
        let kind = object["kind"].as_str().unwrap_or_default().to_owned();
        let resource = Resource::from_kind(&kind)
            .ok_or_else(|| format!("kube-sim does not serve kind `{kind}`"))?;
        let namespace = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_owned();
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.shared
            .store()
            .replace(resource, &namespace, &name, object)
            .map_err(|e| e.message)
    }

    /// Every object of `resource` in `namespace` (in every namespace when empty).
    pub fn list(&self, resource: Resource, namespace: &str) -> Vec<Value> {
        self.shared.store().list(resource, namespace)
    }

    /// One object, when it exists.
    pub fn get(&self, resource: Resource, namespace: &str, name: &str) -> Option<Value> {
        self.shared.store().get(resource, namespace, name).ok()
    }

    /// From now on, rollouts to images matching `pattern` (a regular expression) never become
    /// available and are marked `ProgressDeadlineExceeded` after the deadline, as a crashing
    /// image would be. Rollouts already under way keep their fate.
    pub fn fail_images_matching(&self, pattern: &str) -> Result<(), String> {
        let pattern = failing_pattern(pattern)?;
        self.shared.store().options.fail_images.push(pattern);
        Ok(())
    }

    /// Adds a fault.
    pub fn inject(&self, fault: Fault) {
        self.shared.inject(fault);
    }

    /// Access reviews (`SelfSubjectAccessReview`) deny `verb` on `resource` from now on.
    pub fn deny(&self, verb: &str, resource: &str) {
        if let Ok(mut denied) = self.shared.denied.lock() {
            denied.push((verb.to_owned(), resource.to_owned()));
        }
    }

    /// Requests counted so far.
    pub fn requests(&self) -> RequestCounts {
        self.shared.requests()
    }

    /// Forgets the counts.
    pub fn reset_requests(&self) {
        self.shared.reset_requests();
    }
}

/// A failing-image pattern, or why it is not a regular expression.
fn failing_pattern(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(pattern).map_err(|e| format!("failing-image pattern `{pattern}`: {e}"))
}

impl Drop for KubeSim {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
