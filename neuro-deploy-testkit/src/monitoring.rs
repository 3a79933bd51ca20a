//! The real Prometheus stack for tests: Debian's `prometheus`, `prometheus-alertmanager` and
//! `prometheus-pushgateway` (which `scripts/test` installs), each started on a free loopback
//! port with temporary storage and stopped when the [`Monitoring`] is dropped; Prometheus
//! scrapes an [`Exporter`] the test controls and the Pushgateway every second. Missing
//! binaries are a panic that says how to fix it: tests never skip.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `/metrics` endpoint whose exposition text the test sets.
pub struct Exporter {
    address: String,
    body: Arc<Mutex<String>>,
}

impl Exporter {
    fn start() -> Exporter {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port for the exporter");
        let address = listener.local_addr().expect("its address").to_string();
        let body = Arc::new(Mutex::new(String::new()));
        let served = Arc::clone(&body);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let text = served.lock().map(|b| b.clone()).unwrap_or_default();
                std::thread::spawn(move || answer(stream, &text));
            }
        });
        Exporter { address, body }
    }

    /// `127.0.0.1:PORT`, what Prometheus scrapes.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// What the next scrapes see (the text exposition format).
    pub fn set(&self, text: &str) {
        if let Ok(mut body) = self.body.lock() {
            *body = text.to_owned();
        }
    }
}

/// Answers one HTTP request with `text` (the exporter has one page).
fn answer(mut stream: TcpStream, text: &str) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut line = String::new();
    // Read the request head; the body (none) does not matter.
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}

/// The three servers and the exporter, running.
pub struct Monitoring {
    /// `http://127.0.0.1:PORT` of Prometheus.
    pub prometheus: String,
    /// `http://127.0.0.1:PORT` of Alertmanager.
    pub alertmanager: String,
    /// `http://127.0.0.1:PORT` of the Pushgateway.
    pub pushgateway: String,
    /// What Prometheus scrapes besides the Pushgateway.
    pub exporter: Exporter,
    children: Vec<Child>,
    _dir: TempDir,
}

impl Drop for Monitoring {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The binary `name` on PATH, or a panic with the fix.
pub fn binary(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "`{name}` is not installed: these tests run the real Prometheus stack. `scripts/test` installs Debian's packages (apt-get install prometheus prometheus-alertmanager prometheus-pushgateway); re-run the tests with it"
        )
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Waits until `GET {base}/-/ready` answers 200.
fn wait_ready(name: &str, base: &str, log: &Path) {
    let address = base.trim_start_matches("http://").to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(mut stream) = TcpStream::connect(&address) {
            let _ = write!(
                stream,
                "GET /-/ready HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
            );
            let mut response = String::new();
            let _ = stream.read_to_string(&mut response);
            if response.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "{name} did not become ready at {base} within 30 s; its log:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

fn spawn(name: &str, args: &[String], dir: &Path) -> (Child, PathBuf) {
    let log = dir.join(format!("{name}.log"));
    let out = std::fs::File::create(&log).expect("a log file");
    let err = out.try_clone().expect("a log file");
    let child = Command::new(binary(name))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    (child, log)
}

/// POSTs `body` as JSON to `base` + `path` (plain HTTP/1.1 over loopback); the status code and
/// the body of the answer.
fn post_json(base: &str, path: &str, body: &serde_json::Value) -> (u16, String) {
    let address = base.trim_start_matches("http://");
    let mut stream =
        TcpStream::connect(address).unwrap_or_else(|e| panic!("cannot reach {base}: {e}"));
    let body = body.to_string();
    let _ = write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let code = response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (code, body)
}

impl Monitoring {
    /// Posts an alert with `labels` to Alertmanager, active from now (as Prometheus would).
    pub fn fire_alert(&self, labels: &[(&str, &str)]) {
        let labels: serde_json::Map<String, serde_json::Value> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
            .collect();
        let alerts = serde_json::json!([{ "labels": labels }]);
        let (code, body) = post_json(&self.alertmanager, "/api/v2/alerts", &alerts);
        assert_eq!(code, 200, "Alertmanager refused the alert: {body}");
    }

    /// Silences every alert whose `label` is `value`, until 2099.
    pub fn silence(&self, label: &str, value: &str) {
        let silence = serde_json::json!({
            "matchers": [{ "name": label, "value": value, "isRegex": false, "isEqual": true }],
            "startsAt": "2020-01-01T00:00:00Z",
            "endsAt": "2099-01-01T00:00:00Z",
            "createdBy": "neuro-deploy tests",
            "comment": "silenced by a test",
        });
        let (code, body) = post_json(&self.alertmanager, "/api/v2/silences", &silence);
        assert_eq!(code, 200, "Alertmanager refused the silence: {body}");
    }

    /// Starts Alertmanager, the Pushgateway and Prometheus (scraping the exporter and the
    /// Pushgateway every second, `honor_labels` for the pushed groups), on loopback only.
    pub fn start() -> Monitoring {
        let dir = TempDir::new("neuro-deploy-monitoring");
        let exporter = Exporter::start();
        let mut children = Vec::new();

        let pushgateway = format!("127.0.0.1:{}", free_port());
        let (child, log) = spawn(
            "prometheus-pushgateway",
            &[format!("--web.listen-address={pushgateway}")],
            &dir.0,
        );
        children.push(child);
        let pushgateway = format!("http://{pushgateway}");
        wait_ready("the Pushgateway", &pushgateway, &log);

        let alertmanager = format!("127.0.0.1:{}", free_port());
        let config = dir.0.join("alertmanager.yml");
        std::fs::write(
            &config,
            "route:\n  receiver: nobody\n  group_wait: 0s\nreceivers:\n  - name: nobody\n",
        )
        .expect("the Alertmanager config");
        let storage = dir.0.join("alertmanager-data");
        let (child, log) = spawn(
            "prometheus-alertmanager",
            &[
                format!("--config.file={}", config.display()),
                format!("--storage.path={}", storage.display()),
                format!("--web.listen-address={alertmanager}"),
                // No cluster: it would listen on every interface.
                "--cluster.listen-address=".to_owned(),
            ],
            &dir.0,
        );
        children.push(child);
        let alertmanager = format!("http://{alertmanager}");
        wait_ready("Alertmanager", &alertmanager, &log);

        let prometheus = format!("127.0.0.1:{}", free_port());
        let config = dir.0.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: exporter\n    static_configs:\n      - targets: ['{}']\n  - job_name: pushgateway\n    honor_labels: true\n    static_configs:\n      - targets: ['{}']\n",
                exporter.address(),
                pushgateway.trim_start_matches("http://")
            ),
        )
        .expect("the Prometheus config");
        let storage = dir.0.join("prometheus-data");
        let (child, log) = spawn(
            "prometheus",
            &[
                format!("--config.file={}", config.display()),
                format!("--storage.tsdb.path={}", storage.display()),
                format!("--web.listen-address={prometheus}"),
            ],
            &dir.0,
        );
        children.push(child);
        let prometheus = format!("http://{prometheus}");
        wait_ready("Prometheus", &prometheus, &log);

        Monitoring {
            prometheus,
            alertmanager,
            pushgateway,
            exporter,
            children,
            _dir: dir,
        }
    }
}
