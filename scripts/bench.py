"""Benchmark: a production promotion's gate + deploy phase, neuro-deploy against the team's
manual process scripted with the official tools (aws CLI + kubectl), side by side.

Everything runs on 127.0.0.1: moto (SQS in two regions, ECR) behind a counting proxy, and
kube-sim (which counts its own requests). Started by scripts/bench; writes BENCHMARKS.md.
"""

import hashlib
import http.client
import http.server
import json
import os
import platform
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.environ["NEURO_DEPLOY_BENCH_VENV"]
BIN = os.path.join(ROOT, "target", "release")
SIZES = [int(n) for n in os.environ.get("NEURO_DEPLOY_BENCH_SIZES", "1,10,50,200").split(",")]
LATENCIES = [int(n) for n in os.environ.get("NEURO_DEPLOY_BENCH_LATENCIES", "0,20").split(",")]
ROLLOUT_MS = 1000
QUEUE = "sqs_studioml_gorunner_cpu_production_0"
REPO = "neuro-ui"
URI = f"123456789012.dkr.ecr.us-west-2.amazonaws.com/{REPO}"
SELECTOR = "app.kubernetes.io/part-of=neuro-ui"
DASHBOARD_SIZES = [int(n) for n in os.environ.get("NEURO_DEPLOY_BENCH_DASHBOARD_SIZES", "2,50").split(",")]
DASHBOARD_SECONDS = 12


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class CountingProxy:
    """Forwards HTTP to moto and counts requests (AWS API calls)."""

    def __init__(self, upstream_port):
        self.count = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _forward(self):
                proxy.count += 1
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                self.send_response(response.status)
                for k, v in response.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def aws_env(endpoint, home):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": home,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-west-2",
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": endpoint,
    }
    return env


def seed(n):
    docs = []
    for ns, tag in (("staging", "v1.4.0"), ("leaf-neuro-ui", "v1.3.0")):
        docs.append(f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n")
        # The records an administrator creates beforehand (what `neuro-deploy rbac` prints).
        for record, kind in (("neuro-deploy", "decisions"), ("neuro-deploy-spent", "spent")):
            docs.append(
                f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {record}\n  namespace: {ns}\n"
                f"  labels:\n    neuro-deploy.io/record: {kind}\n"
            )
        for i in range(n):
            name = f"neuro-ui-{i:03d}"
            docs.append(
                f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
  labels:
    app.kubernetes.io/part-of: neuro-ui
spec:
  replicas: 2
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
      - name: web
        image: {URI}:{tag}
      - name: worker
        image: {URI}:{tag}
      - name: envoy
        image: envoyproxy/envoy:v1.30
"""
            )
    return "---\n".join(docs)


class KubeSim:
    def __init__(self, work, n, latency):
        seed_path = os.path.join(work, "seed.yaml")
        with open(seed_path, "w") as f:
            f.write(seed(n))
        self.kubeconfig = os.path.join(work, "kubeconfig")
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "kube-sim"), "--listen", "127.0.0.1:0", "--seed", seed_path,
             "--kubeconfig-out", self.kubeconfig, "--rollout-ms", str(ROLLOUT_MS), "--latency-ms", str(latency)],
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        self.url = line.rsplit(" ", 1)[-1]

    def requests(self):
        host = self.url.replace("http://", "")
        conn = http.client.HTTPConnection(host)
        conn.request("GET", "/_sim/requests")
        return json.loads(conn.getresponse().read())

    def reset(self):
        host = self.url.replace("http://", "")
        conn = http.client.HTTPConnection(host)
        conn.request("DELETE", "/_sim/requests")
        conn.getresponse().read()

    def images(self, n):
        out = subprocess.run([os.path.join(VENV, "bin", "kubectl"), "--kubeconfig", self.kubeconfig, "get", "deployments", "-n", "leaf-neuro-ui",
                              "-o", "jsonpath={.items[*].spec.template.spec.containers[0].image}"], capture_output=True, text=True)
        return out.stdout.split()

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


GNU_TIME = "/usr/bin/time"


def run_with_rss(argv, env):
    """Runs argv; returns (seconds, peak RSS KiB of that process, exit code, stdout, stderr).

    The peak comes from GNU time (`%M`), not from this script's own wait4: Linux carries the
    high-water mark of the memory a process had before exec into its maxrss (fs/exec.c keeps the
    old mm's hiwater_rss), so a child forked from this Python process reports at least Python's
    own peak (~46 MiB with boto3 loaded) whatever it uses itself. GNU time forks from a process of
    about 2 MiB, so what it reports is the measured program's own peak."""
    if not os.access(GNU_TIME, os.X_OK):
        raise SystemExit(f"{GNU_TIME} is missing: install GNU time (Debian: apt-get install time)")
    marker = "neuro-deploy-bench-maxrss-kib="
    start = time.perf_counter()
    proc = subprocess.run([GNU_TIME, "-f", marker + "%M", *argv], env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    err = proc.stderr.decode()
    lines = err.rstrip("\n").split("\n")
    if not lines or not lines[-1].startswith(marker):
        raise SystemExit(f"GNU time printed no peak RSS: {err}")
    rss = int(lines[-1][len(marker):])
    err = "\n".join(lines[:-1])
    code = proc.returncode
    return elapsed, rss, code, proc.stdout.decode(), err


def neuro_deploy(work, sim, proxy, n):
    env = aws_env(f"http://127.0.0.1:{proxy.port}", work)
    env.update({"KUBECONFIG": sim.kubeconfig, "NEURO_DEPLOY_CONFIG": bench_config(work), "USER": "bench", "HOSTNAME": "bench"})
    argv = [os.path.join(BIN, "neuro-deploy"), "promote", "v1.4.0", "--yes", "--quiet", "--output", "json"]
    elapsed, rss, code, out, err = run_with_rss(argv, env)
    if code != 0:
        raise SystemExit(f"neuro-deploy failed ({code}): {out}\n{err}")
    return elapsed, rss


def kubectl_script(work, sim, proxy, n, one_call):
    """The team's manual steps with the official tools, one process per action."""
    env = aws_env(f"http://127.0.0.1:{proxy.port}", work)
    env["KUBECONFIG"] = sim.kubeconfig
    # Explicit --endpoint-url: the aws CLI v1 does not read AWS_ENDPOINT_URL, and nothing may leave loopback.
    aws = os.path.join(VENV, "bin", "aws")
    endpoint = ["--endpoint-url", f"http://127.0.0.1:{proxy.port}"]
    kubectl = [os.path.join(VENV, "bin", "kubectl"), "--cache-dir", os.path.join(work, "kcache")]
    start = time.perf_counter()
    for region in ("us-west-2", "us-east-2"):
        url = subprocess.run([aws, "sqs", "get-queue-url", "--queue-name", QUEUE, "--region", region, "--output", "text"] + endpoint,
                             env=env, capture_output=True, text=True, check=True).stdout.strip()
        attrs = json.loads(subprocess.run(
            [aws, "sqs", "get-queue-attributes", "--queue-url", url, "--region", region, "--attribute-names",
             "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"] + endpoint,
            env=env, capture_output=True, text=True, check=True).stdout)["Attributes"]
        if any(int(v) for v in attrs.values()):
            raise SystemExit(f"queue not empty in {region}: {attrs}")
    names = [f"neuro-ui-{i:03d}" for i in range(n)]
    images = [f"web={URI}:v1.4.0", f"worker={URI}:v1.4.0"]
    if one_call:
        subprocess.run(kubectl + ["set", "image", "deployments", "-l", SELECTOR, "-n", "leaf-neuro-ui"] + images,
                       env=env, capture_output=True, check=True)
    else:
        for name in names:
            subprocess.run(kubectl + ["set", "image", f"deployment/{name}", "-n", "leaf-neuro-ui"] + images,
                           env=env, capture_output=True, check=True)
    for name in names:
        subprocess.run(kubectl + ["rollout", "status", f"deployment/{name}", "-n", "leaf-neuro-ui", "--timeout=300s"],
                       env=env, capture_output=True, check=True)
    return time.perf_counter() - start


def bench_config(work):
    config = os.path.join(work, "neuro-deploy.toml")
    with open(config, "w") as f:
        f.write(f"""
[registry]
repository = "{REPO}"
region = "us-west-2"
[queues]
names = ["{QUEUE}"]
window = "0s"
timeout = "0s"
[rollout]
timeout = "5m"
""")
    return config


def dashboard(work, sim, proxy, n):
    """`neuro-deploy dashboard --refresh 1s` over N Deployments a namespace for DASHBOARD_SECONDS:
    the server time of each page render (its Server-Timing header, 200 renders), the requests a
    refresh costs, and the process's peak RSS (GNU time)."""
    env = aws_env(f"http://127.0.0.1:{proxy.port}", work)
    env.update({"KUBECONFIG": sim.kubeconfig, "NEURO_DEPLOY_CONFIG": bench_config(work), "USER": "bench", "HOSTNAME": "bench"})
    port = free_port()
    marker = "neuro-deploy-bench-maxrss-kib="
    proc = subprocess.Popen([GNU_TIME, "-f", marker + "%M", os.path.join(BIN, "neuro-deploy"), "dashboard", "--listen", f"127.0.0.1:{port}",
                             "--refresh", "1s", "--quiet"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    url = proc.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        raise SystemExit(f"the dashboard printed no URL: {url!r} {proc.stderr.read()}")
    time.sleep(2)
    sim.reset()
    proxy.count = 0
    started = time.perf_counter()
    renders = []
    for _ in range(200):
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.request("GET", "/")
        answer = conn.getresponse()
        page = answer.read().decode()
        # The page measured is the full one, every Deployment in it, not the "reading…" one.
        if f"neuro-ui-{n - 1:03d}" not in page:
            raise SystemExit(f"the dashboard's page lacks the Deployments read: {page[:2000]}")
        timing = answer.getheader("server-timing") or ""
        renders.append(float(timing.split("dur=")[1]) if "dur=" in timing else float("nan"))
        time.sleep(0.02)
    time.sleep(max(0.0, DASHBOARD_SECONDS - (time.perf_counter() - started)))
    window = time.perf_counter() - started
    counts = sim.requests()
    aws = proxy.count
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    lines = [line for line in err.strip().split("\n") if line.startswith(marker)]
    if not lines:
        raise SystemExit(f"GNU time printed no peak RSS: {err}")
    rss = int(lines[-1][len(marker):])
    # One list of staging's Deployments per read for its column, one more for the promotion's preview.
    refreshes = max(1, counts["by_route"].get("GET /apis/apps/v1/namespaces/staging/deployments", 0) // 2)
    renders.sort()
    return {
        "n": n,
        "render_median_ms": renders[len(renders) // 2],
        "render_p95_ms": renders[int(len(renders) * 0.95)],
        "rss_mib": rss / 1024,
        "refreshes": refreshes,
        "seconds": window,
        "kube_per_refresh": counts["total"] / refreshes,
        "aws_per_refresh": aws / refreshes,
    }


def prepare_aws(moto_port):
    import boto3
    endpoint = f"http://127.0.0.1:{moto_port}"
    kw = dict(endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test")
    ecr = boto3.client("ecr", region_name="us-west-2", **kw)
    ecr.create_repository(repositoryName=REPO)
    digest = "sha256:" + hashlib.sha256(b"v1.4.0").hexdigest()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1, "digest": digest},
                "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1, "digest": digest}]}
    ecr.put_image(repositoryName=REPO, imageManifest=json.dumps(manifest), imageTag="v1.4.0")
    for region in ("us-west-2", "us-east-2"):
        boto3.client("sqs", region_name=region, **kw).create_queue(QueueName=QUEUE)


def main():
    moto_port = free_port()
    moto = subprocess.Popen([os.path.join(VENV, "bin", "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", moto_port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    prepare_aws(moto_port)
    proxy = CountingProxy(moto_port)
    rows = []
    try:
        for latency in LATENCIES:
            for n in SIZES:
                row = {"n": n, "latency_ms": latency}
                for method in ("neuro-deploy", "kubectl-each", "kubectl-selector"):
                    work = tempfile.mkdtemp(prefix="neuro-deploy-bench-")
                    sim = KubeSim(work, n, latency)
                    try:
                        sim.reset()
                        proxy.count = 0
                        if method == "neuro-deploy":
                            elapsed, rss = neuro_deploy(work, sim, proxy, n)
                            row["nd_rss_mib"] = rss / 1024
                        else:
                            elapsed = kubectl_script(work, sim, proxy, n, one_call=(method == "kubectl-selector"))
                        # Counted before the check below, whose kubectl (discovery, a list) is not the method's.
                        counts = sim.requests()
                        images = sim.images(n)
                        assert len(images) == n and all(i.split("@")[0].endswith(":v1.4.0") for i in images), f"{method}: {images[:3]}"
                        row[method] = {"seconds": elapsed, "kube_requests": counts["total"], "kube_writes": counts["writes"], "aws_requests": proxy.count}
                    finally:
                        sim.stop()
                        shutil.rmtree(work, ignore_errors=True)
                rows.append(row)
                nd, ke, ks = row["neuro-deploy"], row["kubectl-each"], row["kubectl-selector"]
                print(f"N={n:<4} latency={latency:>2}ms  neuro-deploy {nd['seconds']:6.2f}s ({nd['kube_requests']} kube, {nd['aws_requests']} aws, {row['nd_rss_mib']:.1f} MiB)"
                      f"  kubectl-each {ke['seconds']:7.2f}s ({ke['kube_requests']} kube)  kubectl-selector {ks['seconds']:7.2f}s ({ks['kube_requests']} kube)"
                      f"  speed-up {ke['seconds'] / nd['seconds']:.1f}x", flush=True)
        boards = []
        for n in DASHBOARD_SIZES:
            work = tempfile.mkdtemp(prefix="neuro-deploy-bench-")
            sim = KubeSim(work, n, 0)
            try:
                board = dashboard(work, sim, proxy, n)
            finally:
                sim.stop()
                shutil.rmtree(work, ignore_errors=True)
            boards.append(board)
            print(f"dashboard N={n:<4} render median {board['render_median_ms']:.2f} ms, p95 {board['render_p95_ms']:.2f} ms; peak RSS {board['rss_mib']:.1f} MiB;"
                  f" {board['kube_per_refresh']:.1f} kube + {board['aws_per_refresh']:.1f} AWS requests per refresh", flush=True)
    finally:
        moto.terminate()
    write_report(rows, boards)


def write_report(rows, boards):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    kubectl_version = subprocess.run([os.path.join(VENV, "bin", "kubectl"), "version", "--client"], capture_output=True, text=True).stdout.split("\n")[0]
    aws_version = subprocess.run([os.path.join(VENV, "bin", "aws"), "--version"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# Benchmarks",
        "",
        "A production promotion's gate + deploy phase: check the training queue in us-west-2 and us-east-2,",
        "set the new image on every app Deployment of `leaf-neuro-ui`, and wait until every rollout is complete.",
        "",
        "- **neuro-deploy**: `neuro-deploy promote v1.4.0 --yes` (release build; queue gate with `window = \"0s\"`, `timeout = \"0s\"`:",
        "  one look, as the team's manual check; plus lock, re-check, the decision again under the lock, audit annotations,",
        "  one watch; it sets `REPOSITORY:v1.4.0@sha256:DIGEST`, the digest pin the scripts below do not have).",
        "- **kubectl-each**: the team's manual process scripted with the official tools: `aws sqs get-queue-url` and",
        "  `aws sqs get-queue-attributes` per region, then `kubectl set image deployment/NAME` for each Deployment and",
        "  `kubectl rollout status deployment/NAME` for each.",
        "- **kubectl-selector**: the same with one `kubectl set image deployments -l app.kubernetes.io/part-of=neuro-ui`.",
        "",
        "Each namespace holds the guardrail records an administrator creates beforehand (`neuro-deploy rbac`): one",
        "labelled list reads them all.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {cpu}; Linux {platform.release()}. "
        f"Tools: {kubectl_version}; {aws_version}. kube-sim rollouts take {ROLLOUT_MS} ms; API latency added per request as listed.",
        "Requests are counted by kube-sim (`/_sim/requests`) and by a counting proxy in front of moto, before the",
        "check that every Deployment runs the new image (earlier tables counted that check's kubectl too: 6 requests more",
        "for every method, as 20, 29, 69 and 219 for neuro-deploy then are 14, 23, 63 and 213 now). Peak RSS is the",
        "neuro-deploy process's own, from GNU time (`/usr/bin/time -f %M`); an earlier version read it with `wait4` from the",
        "benchmark's Python process and reported Python's own ~46 MiB for every N, because Linux carries the pre-exec",
        "memory's high-water mark into a child's maxrss.",
        "",
        "Reproduce: `scripts/bench` (after `scripts/test` has set up the tools; about 5 minutes).",
        "",
        "| N | latency | neuro-deploy | kube req. | AWS req. | peak RSS | kubectl-each | kube req. | kubectl-selector | kube req. | speed-up vs each |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        nd, ke, ks = r["neuro-deploy"], r["kubectl-each"], r["kubectl-selector"]
        lines.append(
            f"| {r['n']} | {r['latency_ms']} ms | {nd['seconds']:.2f} s | {nd['kube_requests']} | {nd['aws_requests']} | {r['nd_rss_mib']:.1f} MiB "
            f"| {ke['seconds']:.2f} s | {ke['kube_requests']} | {ks['seconds']:.2f} s | {ks['kube_requests']} | {ke['seconds'] / nd['seconds']:.1f}x |"
        )
    lines += [
        "",
        "Kubernetes requests per workload for neuro-deploy (N = 200, no latency): "
        + next((f"{(r['neuro-deploy']['kube_requests']) / r['n']:.2f}" for r in rows if r['n'] == max(SIZES) and r['latency_ms'] == 0), "n/a")
        + " (one PATCH each, plus a constant: list staging and production, again under the lock, the Lease, one list + watch for the rollout).",
        "The rollout wait is a hand-written list + watch, not kube-runtime's `watcher` (the `runtime` feature of `kube` is off;",
        "see `neuro-deploy-kube/src/rollout.rs`): turning the unused feature off left every request count above as it was",
        "(17, 26, 66 and 216 before and after).",
        "",
    ]
    lines += [
        "## The dashboard",
        "",
        "`neuro-deploy dashboard --refresh 1s` (release build) over the same world, N Deployments in each of staging and",
        f"production, for {DASHBOARD_SECONDS} s while a client asks for the page 200 times: the server time of a render (the",
        "`Server-Timing` header the page carries), the process's peak RSS (GNU time), and what one refresh costs (kube-sim's",
        "count and the counting proxy's, divided by the refreshes; no GitHub repository is configured here).",
        "",
        "| N | render median | render p95 | peak RSS | kube req. / refresh | AWS req. / refresh |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for b in boards:
        lines.append(
            f"| {b['n']} | {b['render_median_ms']:.2f} ms | {b['render_p95_ms']:.2f} ms | {b['rss_mib']:.1f} MiB "
            f"| {b['kube_per_refresh']:.1f} | {b['aws_per_refresh']:.1f} |"
        )
    lines.append("")
    with open(os.path.join(ROOT, "BENCHMARKS.md"), "w") as f:
        f.write("\n".join(lines))
    print("wrote BENCHMARKS.md")


if __name__ == "__main__":
    sys.exit(main())
