"""Shared plumbing of the token-renewer's end-to-end tests: running the
renewer, a reader of the token file, the health endpoint, idleness."""

import glob
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

from harness import E2ETest, Env, Result, wait_for

LOGIN = r"auth/kubernetes/login"
RENEW = r"auth/token/renew-self"
TOKEN_RE = re.compile(r"^hvs\.[A-Za-z0-9]{24}$")


class RenewerTest(E2ETest):
    def start(self, **env):
        p = self.env.spawn("token-renewer", **env)
        self.addCleanup(self.kill, p)
        return p

    @staticmethod
    def kill(p):
        if p.poll() is None:
            p.kill()
            p.wait()

    def finish(self, p, sig=None, timeout=20):
        if sig is not None:
            p.send_signal(sig)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            self.env.check_hygiene(out + err)
            self.fail("still running after %ss:\n%s" % (timeout, err))
        self.env.check_hygiene(out + err)
        return Result(p.returncode, out, err)

    def short_env(self, ttl=3, max_ttl=0, **role):
        """Replaces the test's world by one whose role grants ttl."""
        env = Env(role_ttl=ttl, role_max_ttl=max_ttl)
        if role:
            env.vault.add_k8s_role("demo", sa_names=["default"],
                                   namespaces=["default"],
                                   policies=["app"], ttl=ttl,
                                   max_ttl=max_ttl, **role)
        self.addCleanup(env.close)
        self.env = env
        return env

    def wait_requests(self, path_re, n, timeout=15):
        self.assertTrue(
            wait_for(lambda: self.env.vault.count(None, path_re) >= n,
                     timeout=timeout),
            "fewer than %d requests to %s" % (n, path_re))

    def request_times(self, path_re):
        with self.env.vault.lock:
            reqs = list(self.env.vault.requests)
        return [r["time"] for r in reqs if re.search(path_re, r["path"])]

    def reader(self):
        r = TokenReader(self.env.token_path)
        r.start()
        self.addCleanup(r.stop)
        return r

    def outage(self, action="close"):
        """Vault stops answering anything until clear_faults()."""
        self.env.vault.inject(r".", action=action, count=None)


class TokenReader(threading.Thread):
    """Reads the token file every millisecond, as an application polling
    it would, and keeps every read that was not one whole token."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.bad = []
        self.seen = set()
        self.reads = 0
        self._done = threading.Event()

    def run(self):
        while not self._done.is_set():
            try:
                with open(self.path) as f:
                    text = f.read()
            except OSError as exc:
                self.bad.append("open: %s" % exc.__class__.__name__)
                text = None
            if text is not None:
                if TOKEN_RE.match(text):
                    self.seen.add(text)
                else:
                    self.bad.append("%d chars" % len(text))
            self.reads += 1
            time.sleep(0.001)

    def stop(self):
        self._done.set()
        self.join(timeout=5)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, method="GET"):
    """(status, body) of a plain HTTP request; (None, error) when refused."""
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError as exc:
        return None, str(exc)


def context_switches(pid):
    """Voluntary context switches of all the process's threads."""
    total = 0
    for status in glob.glob("/proc/%d/task/*/status" % pid):
        try:
            with open(status) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total

