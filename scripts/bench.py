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
import re
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
        # AWS operation (X-Amz-Target, or the query protocol's Action) -> requests.
        self.by_operation = {}
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _forward(self):
                proxy.count += 1
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else None
                target = self.headers.get("x-amz-target") or ""
                if not target and body and b"Action=" in body:
                    target = body.split(b"Action=", 1)[1].split(b"&", 1)[0].decode()
                operation = target.rsplit(".", 1)[-1] or f"{self.command} {self.path.split('?')[0]}"
                proxy.by_operation[operation] = proxy.by_operation.get(operation, 0) + 1
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


PROMOTION_WORLD = (("staging", "v1.4.0"), ("leaf-neuro-ui", "v1.3.0"))


def seed(n, namespaces=PROMOTION_WORLD):
    """N app Deployments in each namespace, running the tag given, and the guardrail records;
    plus `alice`, an approver (kube-sim's `kind: User`)."""
    docs = ["apiVersion: kube-sim.neuro-deploy.io/v1\nkind: User\ntoken: alice-token\nusername: alice\n"]
    for ns, tag in namespaces:
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
    def __init__(self, work, n, latency, rollout_ms=ROLLOUT_MS, namespaces=PROMOTION_WORLD):
        seed_path = os.path.join(work, "seed.yaml")
        with open(seed_path, "w") as f:
            f.write(seed(n, namespaces))
        self.kubeconfig = os.path.join(work, "kubeconfig")
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "kube-sim"), "--listen", "127.0.0.1:0", "--seed", seed_path,
             "--kubeconfig-out", self.kubeconfig, "--rollout-ms", str(rollout_ms), "--latency-ms", str(latency)],
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        self.url = line.rsplit(" ", 1)[-1]

    def kubeconfig_as(self, token, path):
        """A copy of the kubeconfig whose user is the person with bearer `token`."""
        with open(self.kubeconfig) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(re.sub(r"(\btoken:\s*)\S+", lambda m: m.group(1) + token, text, count=1))
        return path

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


def neuro_deploy(work, sim, proxy, n, bindir=BIN):
    env = aws_env(f"http://127.0.0.1:{proxy.port}", work)
    env.update({"KUBECONFIG": sim.kubeconfig, "NEURO_DEPLOY_CONFIG": bench_config(work), "USER": "bench", "HOSTNAME": "bench"})
    argv = [os.path.join(bindir, "neuro-deploy"), "promote", "v1.4.0", "--yes", "--quiet", "--output", "json"]
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


def write_config(work, name, queues, rest=""):
    """A config file in `work`: the benchmark's registry and queue, `queues` (more keys of
    `[queues]`), a 5-minute rollout timeout, then `rest`."""
    config = os.path.join(work, name)
    with open(config, "w") as f:
        f.write(f"""
[registry]
repository = "{REPO}"
region = "us-west-2"
[queues]
names = ["{QUEUE}"]
{queues}
[rollout]
timeout = "5m"
{rest}""")
    return config


def bench_config(work):
    """The queue gate takes one look (`window = "0s"`, `timeout = "0s"`), as the team's check."""
    return write_config(work, "neuro-deploy.toml", 'window = "0s"\ntimeout = "0s"')


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


FOOTPRINT_SIZES = (2, 200)
FOOTPRINT_ROLLOUT_MS = 200
OVERHEAD_N = 50
OVERHEAD_LATENCY_MS = 5
OVERHEAD_RUNS = int(os.environ.get("NEURO_DEPLOY_BENCH_OVERHEAD_RUNS", "5"))
BINARIES = ("neuro-deploy", "neuro-deploy-codefresh")


def guarded_config(work):
    """dev with every guardrail a deploy there can have: an allow window (open all day) and a
    deny window (29 February, closed), one approval required, and the shared state (freeze,
    approvals, quarantine) read from the cluster."""
    return write_config(work, "neuro-deploy-guarded.toml", "", """
[[environments]]
name = "dev"
namespace = "dev"
trigger = "merge"
[[environments.windows]]
kind = "allow"
schedule = "0 0 * * *"
duration = "24h"
reason = "open all day"
[[environments.windows]]
kind = "deny"
schedule = "0 3 29 2 *"
duration = "1h"
reason = "leap day"
[environments.approvals]
required = 1

[[environments]]
name = "staging"
namespace = "staging"
trigger = "release"

[[environments]]
name = "production"
namespace = "leaf-neuro-ui"
trigger = "manual"
promote_from = "staging"
""")


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def promotion_footprint(bindir, proxy, n):
    """A production promotion over N Deployments (200 ms rollouts): wall time, peak RSS, requests."""
    work = tempfile.mkdtemp(prefix="neuro-deploy-bench-")
    sim = KubeSim(work, n, 0, rollout_ms=FOOTPRINT_ROLLOUT_MS)
    try:
        sim.reset()
        proxy.count = 0
        elapsed, rss = neuro_deploy(work, sim, proxy, n, bindir)
        return {"seconds": elapsed, "rss_mib": rss / 1024, "kube": sim.requests()["total"], "aws": proxy.count}
    finally:
        sim.stop()
        shutil.rmtree(work, ignore_errors=True)


def plan_footprint(bindir):
    """`neuro-deploy plan promote v1.4.0`: offline, contacts nothing."""
    work = tempfile.mkdtemp(prefix="neuro-deploy-bench-")
    try:
        env = {"PATH": os.environ["PATH"], "HOME": work, "NEURO_DEPLOY_CONFIG": bench_config(work)}
        _, rss, code, out, err = run_with_rss([os.path.join(bindir, "neuro-deploy"), "plan", "promote", "v1.4.0"], env)
        if code != 0:
            raise SystemExit(f"neuro-deploy plan failed ({code}): {out}\n{err}")
        return rss / 1024
    finally:
        shutil.rmtree(work, ignore_errors=True)


def guarded_deploy(bindir, proxy):
    """`neuro-deploy deploy v1.4.0 --env dev` over OVERHEAD_N Deployments with OVERHEAD_LATENCY_MS
    of latency on every Kubernetes request and 0 ms rollouts, guardrails configured
    (`guarded_config`) and one approval given beforehand by alice: what remains is the tool's own
    overhead. OVERHEAD_RUNS runs, each on a fresh kube-sim; the median wall time, and the
    requests of the last run by route (Kubernetes) and by operation (AWS)."""
    times = []
    for _ in range(OVERHEAD_RUNS):
        work = tempfile.mkdtemp(prefix="neuro-deploy-bench-")
        sim = KubeSim(work, OVERHEAD_N, OVERHEAD_LATENCY_MS, rollout_ms=0, namespaces=(("dev", "v1.3.0"),))
        try:
            env = aws_env(f"http://127.0.0.1:{proxy.port}", work)
            env.update({"NEURO_DEPLOY_CONFIG": guarded_config(work), "USER": "bench", "HOSTNAME": "bench"})
            approver = dict(env, KUBECONFIG=sim.kubeconfig_as("alice-token", os.path.join(work, "kubeconfig-alice")))
            approved = subprocess.run([os.path.join(bindir, "neuro-deploy"), "approve", "v1.4.0", "--env", "dev", "--quiet"],
                                      env=approver, capture_output=True, text=True, stdin=subprocess.DEVNULL)
            if approved.returncode != 0:
                raise SystemExit(f"alice's approval failed ({approved.returncode}): {approved.stdout}\n{approved.stderr}")
            env["KUBECONFIG"] = sim.kubeconfig
            sim.reset()
            proxy.count = 0
            proxy.by_operation = {}
            argv = [os.path.join(bindir, "neuro-deploy"), "deploy", "v1.4.0", "--env", "dev", "--yes", "--quiet", "--output", "json"]
            elapsed, rss, code, out, err = run_with_rss(argv, env)
            if code != 0:
                raise SystemExit(f"the guarded deploy failed ({code}): {out}\n{err}")
            times.append(elapsed)
            kube = sim.requests()
            aws = dict(proxy.by_operation)
        finally:
            sim.stop()
            shutil.rmtree(work, ignore_errors=True)
    return {"seconds": median(times), "runs": times, "rss_mib": rss / 1024, "kube": kube, "aws": aws}


def footprint(label, bindir, proxy):
    """Everything the footprint table shows, for the binaries in `bindir`."""
    result = {"label": label, "sizes": {b: os.path.getsize(os.path.join(bindir, b)) for b in BINARIES}}
    result["promotion"] = {n: promotion_footprint(bindir, proxy, n) for n in FOOTPRINT_SIZES}
    result["plan_rss_mib"] = plan_footprint(bindir)
    result["guarded"] = guarded_deploy(bindir, proxy)
    p = result["promotion"]
    print(f"footprint {label}: " + ", ".join(f"{b} {result['sizes'][b] / 1e6:.1f} MB" for b in BINARIES)
          + "; " + ", ".join(f"promotion N={n} {p[n]['seconds']:.2f} s {p[n]['rss_mib']:.1f} MiB" for n in FOOTPRINT_SIZES)
          + f"; plan {result['plan_rss_mib']:.1f} MiB; guarded deploy N={OVERHEAD_N} at {OVERHEAD_LATENCY_MS} ms"
          f" {result['guarded']['seconds']:.3f} s ({result['guarded']['kube']['total']} kube requests)", flush=True)
    return result


def purpose(route):
    """What a Kubernetes request of a deploy to dev is for, and how often it is due."""
    method, path = route.split(" ", 1)
    if path.endswith("/selfsubjectreviews"):
        return "who this run is (`SelfSubjectReview`)", "per cluster"
    if path.endswith("/configmaps"):
        return "the guardrail records: freeze, approvals, quarantine, spent (one labelled list)", "per namespace and phase"
    if "/configmaps/" in path:
        return "the record of the approvals this deploy spent", "per deploy with approvals"
    if path.endswith("/deployments") and method == "GET":
        return "the app's Deployments (a list; the rollout's list + watch)", "per namespace and phase"
    if "/deployments/" in path and method == "PATCH":
        return "set the images and the audit annotations", "per Deployment"
    if "/deployments/" in path:
        return "one Deployment", "per Deployment"
    if "/leases" in path:
        what = {
            "GET": "the lock: the `Lease` read before it is taken",
            "POST": "the lock: the `Lease` created (taken)",
            "PUT": "the lock: the `Lease` written at the version read (taken over, renewed, released)",
            "PATCH": "the lock: the `Lease` released in one write at the version of our last write",
        }.get(method, "the lock")
        return what, "per deploy"
    return "other", ""


AWS_PURPOSES = {
    "DescribeRepositories": ("the repository's URI (not asked when `registry.uri` is set)", "per run"),
    "DescribeImages": ("the version's image and its digest", "per run"),
    "BatchGetImage": ("the manifest a retag copies", "per promotion that retags"),
    "PutImage": ("the retag", "per promotion that retags"),
    "GetQueueUrl": ("a queue's URL", "per queue and region"),
    "GetQueueAttributes": ("a queue's depth", "per queue, region and sample"),
}


def collapse(route):
    """`PATCH /apis/apps/v1/namespaces/dev/deployments/neuro-ui-007` -> `PATCH …/deployments/NAME`."""
    method, path = route.split(" ", 1)
    path = re.sub(r"/deployments/[^/]+", "/deployments/NAME", path)
    path = re.sub(r"/configmaps/[^/]+", "/configmaps/NAME", path)
    path = re.sub(r"/leases/[^/]+", "/leases/NAME", path)
    return f"{method} {path}"


def requests_by_route(by_route):
    grouped = {}
    for route, count in by_route.items():
        key = collapse(route)
        grouped[key] = grouped.get(key, 0) + count
    return grouped


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
        footprints = []
        before_bin = os.environ.get("NEURO_DEPLOY_BENCH_BEFORE_BIN")
        if before_bin:
            footprints.append(footprint("before", before_bin, proxy))
        footprints.append(footprint("after", BIN, proxy))
    finally:
        moto.terminate()
    write_report(rows, boards, footprints)


def build_seconds(label):
    """The release build's time scripts/bench measured for `label` ("after", "before"), if any."""
    name = {"after": "NEURO_DEPLOY_BENCH_BUILD_SECONDS", "before": "NEURO_DEPLOY_BENCH_BEFORE_BUILD_SECONDS"}[label]
    value = os.environ.get(name)
    return f"{float(value):.0f} s" if value else "not measured"


def footprint_report(footprints):
    """The "Footprint" section: binaries, build, memory, the guarded deploy's overhead and its
    requests by purpose, before and after when scripts/bench was given a revision to compare."""
    if not footprints:
        return []
    before_rev = os.environ.get("NEURO_DEPLOY_BENCH_BEFORE_REV", "")
    heads = [("before (" + before_rev + ")" if f["label"] == "before" else "after (this tree)") for f in footprints]
    lines = [
        "## Footprint",
        "",
        "What the shipped binaries weigh and what a run costs, from the release build (`[profile.release]` in",
        "`Cargo.toml`, the profile `scripts/dist` and the Dockerfile build with)."
        + (f" *before* is revision `{before_rev}` built the same way by `NEURO_DEPLOY_BENCH_BEFORE={before_rev} scripts/bench`." if before_rev else ""),
        "",
        f"- **Promotion**: `promote v1.4.0` as above over N Deployments, {FOOTPRINT_ROLLOUT_MS} ms rollouts, no latency.",
        f"- **Guarded deploy**: `deploy v1.4.0 --env dev` over {OVERHEAD_N} Deployments with {OVERHEAD_LATENCY_MS} ms added to every",
        "  Kubernetes request and 0 ms rollouts, so what remains is the tool's own overhead; dev has an allow window (open all",
        "  day), a deny window (closed), one approval required (alice approved beforehand) and its shared state (freeze,",
        f"  approvals, quarantine) on the cluster. Median of {OVERHEAD_RUNS} runs, each on a fresh kube-sim (whose controller",
        "  moves rollouts every 20 ms, and every 1 ms when they take 0 ms: a 0 ms rollout is done at once).",
        "- **Release build**: `cargo build --release` of the two binaries after `cargo clean --release -p` of the workspace's",
        "  crates (the dependencies already built): what a change to neuro-deploy costs to ship.",
        "",
        "| | " + " | ".join(heads) + " |",
        "|---|" + "---:|" * len(footprints),
    ]

    def row(name, cell):
        lines.append(f"| {name} | " + " | ".join(cell(f) for f in footprints) + " |")

    for b in BINARIES:
        row(f"`{b}`, stripped", lambda f, b=b: f"{f['sizes'][b] / 1e6:.1f} MB")
    row("release build", lambda f: build_seconds(f["label"]))
    for n in FOOTPRINT_SIZES:
        row(f"promotion, N = {n}: peak RSS", lambda f, n=n: f"{f['promotion'][n]['rss_mib']:.1f} MiB")
        row(f"promotion, N = {n}: wall time", lambda f, n=n: f"{f['promotion'][n]['seconds']:.2f} s")
        row(f"promotion, N = {n}: requests (Kubernetes + AWS)", lambda f, n=n: f"{f['promotion'][n]['kube']} + {f['promotion'][n]['aws']}")
    row("`plan promote v1.4.0` (offline): peak RSS", lambda f: f"{f['plan_rss_mib']:.1f} MiB")
    row(f"guarded deploy, N = {OVERHEAD_N}, {OVERHEAD_LATENCY_MS} ms: wall time (median)", lambda f: f"{f['guarded']['seconds']:.3f} s")
    row("guarded deploy: the runs", lambda f: ", ".join(f"{t:.3f}" for t in f["guarded"]["runs"]))
    row("guarded deploy: peak RSS", lambda f: f"{f['guarded']['rss_mib']:.1f} MiB")
    row("guarded deploy: Kubernetes requests", lambda f: str(f["guarded"]["kube"]["total"]))
    row("guarded deploy: AWS requests", lambda f: str(sum(f["guarded"]["aws"].values())))
    lines += [
        "",
        f"Every request of the guarded deploy (N = {OVERHEAD_N}), by what it is for: counted by kube-sim per route and by the",
        "proxy in front of moto per operation. A route's count includes its watches (`?watch=true` is the same route).",
        "",
        "| request | for | due | " + " | ".join(heads) + " |",
        "|---|---|---|" + "---:|" * len(footprints),
    ]
    grouped = [requests_by_route(f["guarded"]["kube"]["by_route"]) for f in footprints]
    for route in sorted(set().union(*grouped), key=lambda r: (purpose(r)[0], r)):
        what, due = purpose(route)
        lines.append(f"| `{route}` | {what} | {due} | " + " | ".join(str(g.get(route, 0)) for g in grouped) + " |")
    operations = [f["guarded"]["aws"] for f in footprints]
    for operation in sorted(set().union(*operations)):
        what, due = AWS_PURPOSES.get(operation, ("other", ""))
        lines.append(f"| AWS `{operation}` | {what} | {due} | " + " | ".join(str(o.get(operation, 0)) for o in operations) + " |")
    lines.append("")
    return lines


def write_report(rows, boards, footprints):
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
        "Reproduce: `scripts/bench` (after `scripts/test` has set up the tools; about 10 minutes, most of it the release",
        "build); `NEURO_DEPLOY_BENCH_BEFORE=REV scripts/bench` also builds revision REV and puts its footprint beside.",
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
    lines += footprint_report(footprints)
    with open(os.path.join(ROOT, "BENCHMARKS.md"), "w") as f:
        f.write("\n".join(lines))
    print("wrote BENCHMARKS.md")


if __name__ == "__main__":
    sys.exit(main())
