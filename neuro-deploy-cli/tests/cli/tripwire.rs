//! A listener on 127.0.0.1 standing in for every endpoint a run could contact: tests that say
//! "nothing was contacted" count its connections.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A listener on 127.0.0.1 that counts every connection made to it.
pub struct Tripwire {
    pub url: String,
    hits: Arc<AtomicUsize>,
}

impl Tripwire {
    /// Listens on a free port of 127.0.0.1.
    pub fn start() -> Tripwire {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&hits);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                counted.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Tripwire { url, hits }
    }

    /// How many connections were made to it.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// A kubeconfig whose only cluster is the tripwire, with a bearer token `token`.
    pub fn kubeconfig(&self, token: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: {token}\n",
            self.url
        )
    }

    /// `binary` run in `dir` with nothing of this machine's setup: every endpoint, the
    /// kubeconfig (written into `dir`) and the credentials (`secret`) point at the tripwire.
    pub fn command(&self, binary: &str, dir: &Path, secret: &str) -> Command {
        let kubeconfig = dir.join("tripwire-kubeconfig");
        std::fs::write(&kubeconfig, self.kubeconfig(secret)).unwrap();
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir)
            .env("KUBECONFIG", &kubeconfig)
            .env("GITHUB_TOKEN", secret)
            .env("GITHUB_API_URL", &self.url)
            .env("AWS_ENDPOINT_URL", &self.url)
            .env("AWS_REGION", "us-west-2")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("CF_URL", &self.url)
            .env("CF_API_KEY", secret)
            .current_dir(dir);
        command
    }
}
