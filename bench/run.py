#!/usr/bin/python3
"""Benchmark of the vault-kubernetes helpers against the peers a user would
write instead (bench/peers/): a shell script with curl, jq and kubectl, and
Python with python3-hvac and python3-kubernetes.

Each run starts one process (the helper or a peer) against the Vault and
Kubernetes doubles of tests/doubles (HTTPS, throwaway CA, a fixed latency
per request) and measures, from the process's own rusage (os.wait4):
wall time, user+system CPU time, peak resident memory; and, from the
doubles' counters, the requests and connections it made. A shell peer's
figures cover its whole process tree: CPU time is the sum over the
processes it waited for, peak RSS the largest single process.

This is a benchmark, not a test: it is not part of CTest. See
docs/benchmarks.md for the latest figures and bench/run.sh for the one
command that sets up, builds and runs it.
"""

import argparse
import json
import math
import os
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from doubles.common import make_certs  # noqa: E402
from doubles.kube_double import KubeDouble  # noqa: E402
from doubles.vault_double import VaultDouble  # noqa: E402

NAMESPACE = "default"
ANNOTATION = "vault-secret"
PINNED_KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.30"
IMPLS = ("ours", "shell", "python")
FIGURES = (("wall", "wall ms"), ("cpu", "cpu ms"), ("rss", "peak RSS KiB"),
           ("requests", "requests"), ("connections", "connections"))


class BenchError(Exception):
    """A run failed or a peer did not do the same work: the figures would
    mean nothing, so the benchmark stops."""


# -- processes -----------------------------------------------------------


MEASURE = None  # the launcher built from bench/measure.c
CONCURRENCY = 8  # SYNCHRONIZER_CONCURRENCY given to ours (--concurrency)


def build_measure(tmp):
    global MEASURE
    MEASURE = os.path.join(tmp, "measure")
    subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o",
                    MEASURE, os.path.join(BENCH, "measure.c")], check=True)


def spawn(argv, env, log_path):
    """Starts argv under the measure launcher, with stdin from /dev/null
    and both outputs in log_path. Returns the job to reap."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
               (os.POSIX_SPAWN_OPEN, 1, log_path, flags, 0o600),
               (os.POSIX_SPAWN_DUP2, 1, 2)]
    report = log_path + ".cost"
    if os.path.exists(report):
        os.unlink(report)
    pid = os.posix_spawn(MEASURE, [MEASURE, report] + list(argv), env,
                         file_actions=actions)
    return {"pid": pid, "report": report}


def finished(job, block=True):
    """Reaps the launcher; returns (exit code, wall s, cpu s, maxrss KiB)
    of the command, or None when it still runs and block is false."""
    pid, status = os.waitpid(job["pid"], 0 if block else os.WNOHANG)
    if pid == 0:
        return None
    job["pid"] = None
    if os.waitstatus_to_exitcode(status) != 0:
        raise BenchError("the measure launcher failed (%d)"
                         % os.waitstatus_to_exitcode(status))
    with open(job["report"]) as f:
        code, wall, cpu, rss = f.read().split()
    return int(code), int(wall) / 1e9, int(cpu) / 1e9, int(rss)


def stop(job, what, grace=10.0):
    """SIGTERM to the launcher (which passes it on), then the command's
    costs. A signal can go unseen (one sent to the Python peer was, once,
    and the benchmark waited for it for good): it is sent again every
    second, and after `grace` seconds the command is killed and the run
    fails, naming it."""
    deadline = time.monotonic() + grace
    while True:
        os.kill(job["pid"], signal.SIGTERM)
        for _ in range(100):
            res = finished(job, block=False)
            if res is not None:
                return res
            time.sleep(0.01)
        if time.monotonic() > deadline:
            os.kill(job["pid"], signal.SIGKILL)
            os.waitpid(job["pid"], 0)
            job["pid"] = None
            raise BenchError("%s did not exit within %.0f s of SIGTERM"
                             % (what, grace))


# Tokens and the JWT of the run: never printed, even in a failure's log.
SECRETS = set()


def tail(path, lines=15):
    try:
        with open(path, errors="replace") as f:
            text = "".join(f.readlines()[-lines:])
    except OSError:
        return "(no output)"
    for s in SECRETS:
        text = text.replace(s, "<redacted>")
    return text


# -- the world: certificates, doubles, service account -------------------


class World:
    def __init__(self, tmp):
        self.tmp = tmp
        os.mkdir(os.path.join(tmp, "certs"))
        self.certs = make_certs(os.path.join(tmp, "certs"))
        pair = (self.certs["cert"], self.certs["key"])
        self.vault = VaultDouble(tls=pair).start()
        self.kube = KubeDouble(tls=pair).start()
        self.vault.enable_kv("secret/", version=2)
        self.vault.add_policy("bench", {
            "secret/data/bench/*": ["read"],
            "secret/metadata/bench/*": ["list", "read"],
            "sys/mounts": ["read"]})
        self.vault.add_k8s_role("bench", sa_names=["default"],
                                namespaces=[NAMESPACE], policies=["bench"],
                                ttl=3600)
        self.jwt = self.vault.issue_jwt("default", NAMESPACE)
        SECRETS.add(self.jwt)
        self.kube.add_token(self.jwt)
        self.sa = os.path.join(tmp, "serviceaccount")
        os.mkdir(self.sa)
        write(os.path.join(self.sa, "token"), self.jwt)  # as kubelet does
        shutil.copy(self.certs["ca"], os.path.join(self.sa, "ca.crt"))
        write(os.path.join(self.sa, "namespace"), NAMESPACE + "\n")
        self.home = os.path.join(tmp, "home")
        os.mkdir(self.home)
        self.bin = os.path.join(tmp, "bin")
        os.mkdir(self.bin)
        if os.access(PINNED_KUBECTL, os.X_OK):
            os.symlink(PINNED_KUBECTL, os.path.join(self.bin, "kubectl"))
        self.token_path = os.path.join(tmp, "vault-token")
        self.seeded = set()

    def stop(self):
        self.vault.stop()
        self.kube.stop()

    def set_latency(self, seconds):
        self.vault.latency = seconds
        self.kube.latency = seconds

    def env(self, **extra):
        """The environment of every run: only what the job needs (no
        proxies, no CA bundle overrides), the same for ours and peers."""
        e = {"PATH": self.bin + ":/usr/bin:/bin", "HOME": self.home,
             "LANG": "C.UTF-8",
             "VAULT_ADDR": self.vault.url,
             "VAULT_CACERT": self.certs["ca"],
             "VAULT_ROLE": "bench",
             "VAULT_TOKEN_PATH": self.token_path,
             "SERVICE_ACCOUNT_DIR": self.sa,
             "KUBERNETES_SERVICE_HOST": "127.0.0.1",
             "KUBERNETES_SERVICE_PORT": str(self.kube.port)}
        e.update(extra)
        return e

    def seed(self, n):
        """n KV v2 secrets under secret/bench/n<n>/, three keys each (one
        of them a JSON number, to check that every peer writes it as
        text)."""
        if n in self.seeded:
            return
        for i in range(n):
            self.vault.kv_put("secret/bench/n%d/s%04d" % (n, i), {
                "username": "svc-%04d" % i,
                "password": secrets.token_urlsafe(18),
                "port": 5432})
        self.seeded.add(n)

    def sync_token(self):
        tok = self.vault.create_token(policies=["bench"], ttl=3600)
        SECRETS.add(tok)
        write(self.token_path, tok)
        return tok

    def clear_secrets(self):
        for name in list(self.kube.secrets(NAMESPACE)):
            self.kube.delete_secret(NAMESPACE, name)

    def snapshot(self):
        """What matters of the namespace's Secrets: type, data, labels
        and annotations (kubectl's own bookkeeping left out)."""
        out = {}
        for name, obj in self.kube.secrets(NAMESPACE).items():
            meta = obj["metadata"]
            ann = {k: v for k, v in (meta.get("annotations") or {}).items()
                   if not k.startswith("kubectl.kubernetes.io/")}
            out[name] = (obj.get("type"), obj.get("data") or {},
                         meta.get("labels") or {}, ann)
        return out

    def reset_counters(self):
        self.vault.reset_counters()
        self.kube.reset_counters()

    def counters(self):
        return (len(self.vault.requests) + len(self.kube.requests),
                self.vault.connections + self.kube.connections)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def commands(binary):
    shell = os.path.join(BENCH, "peers", "shell")
    py = os.path.join(BENCH, "peers", "python")
    return {
        "ours": {h: [binary, h] for h in
                 ("authenticator", "synchronizer", "token-renewer")},
        "shell": {h: [os.path.join(shell, h + ".sh")] for h in
                  ("authenticator", "synchronizer", "token-renewer")},
        "python": {h: ["/usr/bin/python3",
                       os.path.join(py, h.replace("-", "_") + ".py")]
                   for h in ("authenticator", "synchronizer",
                             "token-renewer")},
    }


# -- one run -------------------------------------------------------------


def run_once(world, argv, env, log_path, what):
    world.reset_counters()
    code, wall, cpu, rss = finished(spawn(argv, env, log_path))
    if code != 0:
        raise BenchError("%s exited with %d; its output:\n%s"
                         % (what, code, tail(log_path)))
    reqs, conns = world.counters()
    return {"wall": wall * 1000, "cpu": cpu * 1000, "rss": rss,
            "requests": reqs, "connections": conns}


def median_of(samples):
    return {k: statistics.median(s[k] for s in samples) for k in samples[0]}


def bench_authenticator(world, cmds, lat, runs, logs):
    out = {}
    for impl in IMPLS:
        samples = []
        for i in range(runs):
            if os.path.exists(world.token_path):
                os.unlink(world.token_path)
            s = run_once(world, cmds[impl]["authenticator"], world.env(),
                         os.path.join(logs, "auth-%s.log" % impl),
                         "%s authenticator" % impl)
            tok = open(world.token_path).read().strip()
            SECRETS.add(tok)
            if world.vault.token(tok) is None:
                raise BenchError("%s authenticator wrote no valid token"
                                 % impl)
            samples.append(s)
        out[impl] = median_of(samples)
    return out


def auth_exec_to_token(world, binary, runs, logs):
    """Wall time from posix_spawn to the exit of an authenticator that
    wrote its token (HTTPS, VAULT_CACERT, latency 0)."""
    times = []
    env = world.env()
    log = os.path.join(logs, "auth-exec.log")
    for _ in range(runs):
        if os.path.exists(world.token_path):
            os.unlink(world.token_path)
        code, wall, _, _ = finished(spawn([binary, "authenticator"], env,
                                          log))
        if code != 0 or not os.path.getsize(world.token_path):
            raise BenchError("authenticator failed:\n%s" % tail(log))
        times.append(wall * 1000)
    return statistics.median(times), min(times), max(times)


def exec_floor(world, binary, runs, logs):
    """Median wall time of `binary --version`: exec, dynamic loading and
    exit, no network; the floor under every helper's start."""
    times = []
    for _ in range(runs):
        times.append(run_once(world, [binary, "--version"], world.env(),
                              os.path.join(logs, "version.log"),
                              "--version")["wall"])
    return statistics.median(times)


def observed_concurrency(world, lat):
    """Most requests that arrived at one double within 0.9 x the latency
    of each other: how many were in flight at once."""
    best = 1
    for d in (world.vault, world.kube):
        times = sorted(r["time"] for r in d.requests)
        j = 0
        for i, t in enumerate(times):
            while times[j] < t - 0.9 * lat / 1000:
                j += 1
            best = max(best, i - j + 1)
    return best


def bench_synchronizer(world, cmds, n, lat, runs, verify, logs):
    world.seed(n)
    env = world.env(VAULT_SECRETS="secret/bench/n%d/" % n,
                    SYNCHRONIZER_CONCURRENCY=str(CONCURRENCY))
    out, conc = {}, 1
    reference = None
    for impl in IMPLS:
        what = "%s synchronizer over %d secrets" % (impl, n)
        log = os.path.join(logs, "sync-%s-%d.log" % (impl, n))
        rounds = (1 if verify else 0) + runs[impl]
        samples = []
        for i in range(rounds):
            world.clear_secrets()
            world.sync_token()
            s = run_once(world, cmds[impl]["synchronizer"], env, log, what)
            if impl == "ours" and lat > 0:
                conc = max(conc, observed_concurrency(world, lat))
            got = world.snapshot()
            if len(got) != n:
                raise BenchError("%s: %d Secrets written, %d expected"
                                 % (what, len(got), n))
            if reference is None:
                reference = got
            elif got != reference:
                bad = sorted(k for k in set(got) | set(reference)
                             if got.get(k) != reference.get(k))
                raise BenchError(
                    "%s: the Secrets differ from ours (%d differ, first "
                    "%s); the peer does not do the same work"
                    % (what, len(bad), bad[0]))
            if i >= rounds - runs[impl]:
                samples.append(s)
        out[impl] = median_of(samples)
    world.clear_secrets()
    return out, conc


# -- the renewer: every run at once, each against its own Vault double ----


def bench_renewer(world, cmds, lats, runs, renewals, ttl, logs):
    """Each run renews a token (VAULT_TTL=ttl seconds) until the double has counted the
    wanted renewals, then gets SIGTERM. The runs go concurrently (they
    sleep most of the time; CPU time and RSS are per process)."""
    pair = (world.certs["cert"], world.certs["key"])
    jobs = []
    try:
        for lat in lats:
            for impl in IMPLS:
                for r in range(runs):
                    v = VaultDouble(tls=pair, latency=lat / 1000).start()
                    # A long first lease covers the start-up of 18
                    # processes at once; each renewal asks for ttl s.
                    tok = v.create_token(ttl=60)
                    SECRETS.add(tok)
                    path = os.path.join(world.tmp, "renew-%s-%d-%d"
                                        % (impl, lat, r))
                    write(path, tok)
                    env = world.env(VAULT_ADDR=v.url, VAULT_TOKEN_PATH=path,
                                    VAULT_TTL=str(ttl))
                    log = os.path.join(logs, "renew-%s-%d-%d.log"
                                       % (impl, lat, r))
                    jobs.append({"impl": impl, "lat": lat, "vault": v,
                                 "tok": tok, "log": log, "argv":
                                 cmds[impl]["token-renewer"], "env": env})
        for j in jobs:
            j["started"] = time.perf_counter()
            j["job"] = spawn(j["argv"], j["env"], j["log"])
            time.sleep(0.05)  # no thundering herd of start-ups
        deadline = time.monotonic() + renewals * ttl * 2 + 60
        pending = list(jobs)
        while pending:
            if time.monotonic() > deadline:
                raise BenchError("token-renewer runs did not reach %d "
                                 "renewals in time" % renewals)
            time.sleep(0.01)
            for j in list(pending):
                early = finished(j["job"], block=False)
                if early is not None:
                    raise BenchError("%s token-renewer exited %d before "
                                     "%d renewals:\n%s" % (
                                         j["impl"], early[0], renewals,
                                         tail(j["log"])))
                info = j["vault"].token(j["tok"])
                if info is None:
                    raise BenchError("%s token-renewer lost its token:\n%s"
                                     % (j["impl"], tail(j["log"])))
                if info["renew_count"] < renewals:
                    continue
                wall = (time.perf_counter() - j["started"]) * 1000
                code, _, cpu, rss = stop(j["job"], "%s token-renewer"
                                         % j["impl"])
                if code != 0:
                    raise BenchError("%s token-renewer exited %d on "
                                     "SIGTERM:\n%s" % (j["impl"], code,
                                                       tail(j["log"])))
                j["sample"] = {
                    "wall": wall, "cpu": cpu * 1000, "rss": rss,
                    "requests": len(j["vault"].requests),
                    "connections": j["vault"].connections}
                pending.remove(j)
    finally:
        for j in jobs:
            if j.get("job") and j["job"]["pid"]:
                try:
                    os.kill(j["job"]["pid"], signal.SIGTERM)
                    os.waitpid(j["job"]["pid"], 0)
                except OSError:
                    pass
            j["vault"].stop()
    out = {}
    for lat in lats:
        out[lat] = {impl: median_of([j["sample"] for j in jobs
                                     if j["impl"] == impl
                                     and j["lat"] == lat])
                    for impl in IMPLS}
    return out


# -- facts about the binary and the machine ------------------------------


def curl_rss(world, runs, logs):
    """Peak RSS of one curl command making a single HTTPS request."""
    argv = ["/usr/bin/curl", "-sS", "-o", "/dev/null", "--cacert",
            world.certs["ca"], world.vault.url + "/v1/sys/health"]
    rss = []
    for _ in range(runs):
        rss.append(run_once(world, argv, world.env(),
                            os.path.join(logs, "curl.log"), "curl")["rss"])
    return statistics.median(rss)


def binary_facts(binary, tmp):
    copy = os.path.join(tmp, "stripped")
    shutil.copy(binary, copy)
    subprocess.run(["strip", copy], check=True)
    libs = []
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True,
                         check=True).stdout
    for line in ldd.splitlines():
        name = line.split()[0]
        if not name.startswith(("linux-vdso", "/lib64/ld-linux")):
            libs.append(name)
    return os.path.getsize(binary), os.path.getsize(copy), libs


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    debian = "unknown"
    try:
        debian = open("/etc/debian_version").read().strip()
    except OSError:
        pass
    return "%s, %d cores; Linux %s; Debian %s" % (
        model, os.cpu_count(), platform.release(), debian)


def kubectl_version(world):
    kubectl = shutil.which("kubectl", path=world.env()["PATH"])
    p = subprocess.run([kubectl, "version", "--client", "-o", "json"],
                       capture_output=True, text=True)
    try:
        v = json.loads(p.stdout)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError):
        v = "?"
    return "%s (%s)" % (os.path.realpath(kubectl), v)


# -- the report ----------------------------------------------------------


def fmt(value, key):
    if key in ("requests", "connections", "rss"):
        return "%d" % round(value)
    return "%.1f" % value if value < 100 else "%.0f" % value


def ratio(peer, ours):
    if ours == 0:
        return "-" if peer == 0 else "inf"
    return "%.1f" % (peer / ours)


def table(rows):
    head = ["work", "latency", "figure", "ours", "shell", "shell/ours",
            "python", "python/ours"]
    lines = [head]
    for work, lat, res in rows:
        for key, label in FIGURES:
            o = res["ours"][key]
            lines.append([work, "%d ms" % lat, label, fmt(o, key),
                          fmt(res["shell"][key], key),
                          ratio(res["shell"][key], o),
                          fmt(res["python"][key], key),
                          ratio(res["python"][key], o)])
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    out = []
    for n, r in enumerate(lines):
        out.append("| " + " | ".join(
            c.ljust(w) if i < 3 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths))) + " |")
        if n == 0:
            out.append("|" + "|".join(
                "-" * (w + 1) + (":" if i >= 3 else "-")
                for i, w in enumerate(widths)) + "|")
    return "\n".join(out)


def main():
    global CONCURRENCY
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=os.environ.get("VK_BINARY") or
                    os.path.join(ROOT, "build-bench", "vault-kubernetes"))
    ap.add_argument("--runs", type=int, default=5,
                    help="runs per figure (median), sizes up to 100")
    ap.add_argument("--big-runs", type=int, default=3,
                    help="runs of ours at 1000 secrets")
    ap.add_argument("--big-peer-runs", type=int, default=1,
                    help="runs of each peer at 1000 secrets")
    ap.add_argument("--sizes", default="1,10,100,1000")
    ap.add_argument("--latencies", default="0,5", help="ms per request")
    ap.add_argument("--auth-runs", type=int, default=20)
    ap.add_argument("--renewals", type=int, default=100)
    ap.add_argument("--renew-runs", type=int, default=3)
    ap.add_argument("--renew-ttl", type=int, default=2,
                    help="VAULT_TTL of the token-renewer runs (seconds)")
    ap.add_argument("--concurrency", type=int, default=CONCURRENCY,
                    help="SYNCHRONIZER_CONCURRENCY for ours (the chosen "
                    "concurrency of the round-trip target)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory (logs) for inspection")
    args = ap.parse_args()
    CONCURRENCY = args.concurrency
    sizes = [int(x) for x in args.sizes.split(",")]
    lats = [int(x) for x in args.latencies.split(",")]
    if not os.access(args.binary, os.X_OK):
        sys.exit("bench: no binary at %s (bench/run.sh builds one; or "
                 "--binary / VK_BINARY)" % args.binary)

    tmp = tempfile.mkdtemp(prefix="vk-bench-")
    logs = os.path.join(tmp, "logs")
    os.mkdir(logs)
    build_measure(tmp)
    world = World(tmp)
    cmds = commands(args.binary)
    t0 = time.monotonic()
    rows, bounds, conc_seen, rss_by = [], [], {}, {}
    try:
        def say(msg):
            print("bench: %s (%.0fs)" % (msg, time.monotonic() - t0),
                  file=sys.stderr, flush=True)

        world.set_latency(0)
        say("machine: " + machine())
        curl_peak = curl_rss(world, 5, logs)
        size, stripped, libs = binary_facts(args.binary, tmp)
        kubectl = kubectl_version(world)
        say("authenticator, exec to token written, %d runs"
            % args.auth_runs)
        exec_med, exec_min, exec_max = auth_exec_to_token(
            world, args.binary, args.auth_runs, logs)
        floor = exec_floor(world, args.binary, args.auth_runs, logs)
        for lat in lats:
            world.set_latency(lat / 1000)
            say("authenticator at %d ms" % lat)
            rows.append(("authenticator", lat, bench_authenticator(
                world, cmds, lat, args.runs, logs)))
            for n in sizes:
                big = n >= 1000
                runs = {"ours": args.big_runs if big else args.runs,
                        "shell": args.big_peer_runs if big else args.runs,
                        "python": args.big_peer_runs if big else args.runs}
                say("synchronizer, %d secrets at %d ms" % (n, lat))
                res, conc = bench_synchronizer(
                    world, cmds, n, lat, runs, lat == lats[0], logs)
                rows.append(("synchronizer %d" % n, lat, res))
                rss_by[(n, lat)] = res["ours"]["rss"]
                if lat > 0:
                    conc_seen[n] = conc
                    fixed = res["ours"]["requests"] - 2 * n
                    crit = fixed + 2 * math.ceil(n / conc)
                    bounds.append((n, lat, conc, crit, crit * lat,
                                   res["ours"]["wall"]))
        say("token-renewer, %d renewals of %d s, %d runs each, all at "
            "once" % (args.renewals, args.renew_ttl, args.renew_runs))
        renew = bench_renewer(world, cmds, lats, args.renew_runs,
                              args.renewals, args.renew_ttl, logs)
        for lat in lats:
            rows.append(("token-renewer %d" % args.renewals, lat,
                         renew[lat]))
    except BenchError as exc:
        print("bench: FAILED: %s" % exc, file=sys.stderr)
        print("bench: logs kept in %s" % logs, file=sys.stderr)
        world.stop()
        return 1
    world.stop()
    elapsed = time.monotonic() - t0

    out = []
    out.append("vault-kubernetes benchmark, %s" % time.strftime(
        "%Y-%m-%d %H:%M UTC", time.gmtime()))
    out.append("machine: %s" % machine())
    out.append("binary: %s, %d bytes, %d stripped; shared libraries: %s"
               % (args.binary, size, stripped, " ".join(libs)))
    out.append("peers: shell (bash, curl, jq, %s); python (python3-hvac, "
               "python3-kubernetes)" % kubectl)
    out.append("runs: median of %d (ours at 1000 secrets: %d; peers at "
               "1000 secrets: %d); token-renewer: median of %d"
               % (args.runs, args.big_runs, args.big_peer_runs,
                  args.renew_runs))
    out.append("")
    out.append(table(rows))
    out.append("")
    out.append("Ratios are peer / ours: above 1, ours is better. CPU and "
               "RSS of a shell peer cover its process tree (CPU summed, "
               "RSS of the largest process).")
    out.append("token-renewer wall time is the time to the last renewal; "
               "the lease schedule (2/3 of a %d s lease) sets it."
               % args.renew_ttl)
    out.append("")
    out.append("Round-trip bound of the synchronizer (requests on the "
               "critical path x latency, at the observed concurrency):")
    for n, lat, conc, crit, bound, wall in bounds:
        out.append("  %4d secrets at %d ms: concurrency %d, %d requests "
                   "on the critical path, bound %.0f ms, wall %.0f ms "
                   "(%.2fx the bound)" % (n, lat, conc, crit, bound, wall,
                                          wall / bound))
    out.append("curl, one HTTPS request: peak RSS %d KiB" % curl_peak)
    out.append("authenticator, exec to token written, 0 ms, HTTPS with "
               "VAULT_CACERT: median %.1f ms over %d runs (min %.1f, max "
               "%.1f)" % (exec_med, args.auth_runs, exec_min, exec_max))
    out.append("of which exec, dynamic loading of %d libraries and exit "
               "(`--version`, no network): median %.1f ms"
               % (len(libs), floor))
    out.append("")
    out.append("Targets of issue 7:")
    out.extend(targets(rows, bounds, rss_by, curl_peak, exec_med, sizes,
                       lats))
    out.append("")
    out.append("(benchmark took %.0f s)" % elapsed)
    print("\n".join(out))
    if args.keep:
        print("bench: work directory kept: %s" % tmp, file=sys.stderr)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def verdict(ok):
    return "met" if ok else "NOT MET"


def targets(rows, bounds, rss_by, curl_peak, exec_med, sizes, lats):
    out = []
    big = max(sizes)
    lat = max(lats)
    res = {(w, l): r for w, l, r in rows}
    sync = res.get(("synchronizer %d" % big, lat))
    b = [x for x in bounds if x[0] == big and x[1] == lat]
    if sync and b:
        _, _, conc, crit, bound, wall = b[0]
        peer = min(sync["shell"]["wall"], sync["python"]["wall"])
        fixed = crit - 2 * math.ceil(big / conc)
        chosen = (fixed + 2 * math.ceil(big / CONCURRENCY)) * lat
        out.append("- synchronizer, %d secrets, %d ms: wall within 1.5x "
                   "of the round-trip bound at the chosen concurrency "
                   "(SYNCHRONIZER_CONCURRENCY=%d): %s (%.0f ms = %.2fx of "
                   "%.0f ms; at the concurrency observed, %d, the bound "
                   "is %.0f ms and the wall %.2fx of it)"
                   % (big, lat, CONCURRENCY, verdict(wall <= 1.5 * chosen),
                      wall, wall / chosen, chosen, conc, bound,
                      wall / bound))
        out.append("- synchronizer, %d secrets, %d ms: at least 10x "
                   "faster than the faster peer: %s (%.1fx: %.0f ms vs "
                   "%.0f ms)" % (big, lat, verdict(peer >= 10 * wall),
                                 peer / wall, wall, peer))
    short = []
    for w, l, r in rows:
        peer = min(r["shell"]["cpu"], r["python"]["cpu"])
        x = peer / r["ours"]["cpu"] if r["ours"]["cpu"] else float("inf")
        if x < 20:
            short.append("%s at %d ms %.1fx" % (w, l, x))
    out.append("- CPU time at least 20x lower than the faster peer at "
               "every size: %s%s" % (verdict(not short), (
                   " (below 20x: %s)" % "; ".join(short)) if short else
                   " (every work and latency)"))
    small = min(sizes)
    for l in lats:
        if (big, l) in rss_by and (small, l) in rss_by:
            grow = rss_by[(big, l)] - rss_by[(small, l)]
            out.append("- peak RSS at %d secrets at most 2 MiB above %d "
                       "secret(s), %d ms: %s (%d KiB vs %d KiB: +%d KiB)"
                       % (big, small, l, verdict(grow <= 2048),
                          rss_by[(big, l)], rss_by[(small, l)], grow))
    top = max(rss_by.values()) if rss_by else 0
    out.append("- peak RSS below one curl request's (%d KiB): %s (largest "
               "synchronizer run: %d KiB)" % (curl_peak,
                                              verdict(top < curl_peak), top))
    out.append("- authenticator exec to token written under 10 ms median: "
               "%s (%.1f ms)" % (verdict(exec_med < 10), exec_med))
    return out


if __name__ == "__main__":
    sys.exit(main())
