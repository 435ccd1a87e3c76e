"""End-to-end harness: runs the real vault-kubernetes binary against the
Vault and Kubernetes doubles, over HTTPS with a throwaway CA.

Every run checks secret hygiene: no seeded secret value, Vault token or
service-account JWT may appear in what the binary printed.
"""

import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from doubles.common import make_certs  # noqa: E402
from doubles.kube_double import KubeDouble  # noqa: E402
from doubles.vault_double import VaultDouble  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
BINARY = os.environ.get("VK_BINARY") or os.path.join(
    ROOT, "build", "vault-kubernetes")
NAMESPACE = "default"
# VK_VALGRIND=1 runs every helper under memcheck; an error or a definite
# leak exits 99, which fails whatever test ran it.
VALGRIND = (["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
             "--errors-for-leak-kinds=definite", "--track-fds=no"]
            if os.environ.get("VK_VALGRIND") == "1" else [])

_certs = None


def certs():
    global _certs
    if _certs is None:
        _certs = make_certs()
    return _certs


def record_output(out, err):
    """Appends a helper's output to the file named by VK_OUTPUT_LOG, so
    that a run of the whole suite can be scanned for secrets afterwards."""
    path = os.environ.get("VK_OUTPUT_LOG")
    if not path:
        return
    with open(path, "a") as f:
        f.write(out or "")
        f.write(err or "")


class _Recorded(subprocess.Popen):
    """A spawned helper whose output, once collected, is recorded."""

    def communicate(self, *args, **kwargs):
        out, err = super().communicate(*args, **kwargs)
        record_output(out, err)
        return out, err


class Env:
    """One test's world: a Vault double with KV v2 at secret/, a Kubernetes
    double, a service-account directory and a token path."""

    def __init__(self, tls=True, role_ttl=3600, role_max_ttl=0,
                 vault_tls=None, **vault_kw):
        """vault_tls: another (cert, key) for the Vault double; vault_kw:
        more VaultDouble arguments (host, client_ca, path_prefix)."""
        c = certs()
        self.tmp = tempfile.mkdtemp(prefix="vk-e2e-")
        pair = (vault_tls or (c["cert"], c["key"])) if tls else None
        self.vault = VaultDouble(tls=pair, **vault_kw).start()
        self.kube = KubeDouble(tls=(c["cert"], c["key"])).start()
        self.vault.enable_kv("secret/", version=2)
        self.vault.add_policy("app", {
            "secret/data/*": ["read"],
            "secret/metadata/*": ["list"],
            "kv1/*": ["read", "list"],
            "legacy/*": ["read", "list"],
            "sys/mounts": ["read"],
        })
        self.vault.add_k8s_role("demo", sa_names=["default"],
                                namespaces=[NAMESPACE], policies=["app"],
                                ttl=role_ttl, max_ttl=role_max_ttl)
        self.jwt = self.vault.issue_jwt("default", NAMESPACE)
        self.kube.add_token(self.jwt)
        self.sa_dir = os.path.join(self.tmp, "sa")
        os.mkdir(self.sa_dir)
        self.write(os.path.join(self.sa_dir, "token"), self.jwt + "\n")
        shutil.copy(c["ca"], os.path.join(self.sa_dir, "ca.crt"))
        self.write(os.path.join(self.sa_dir, "namespace"), NAMESPACE)
        self.token_path = os.path.join(self.tmp, "vault", ".vault-token")
        os.mkdir(os.path.dirname(self.token_path))
        self.secret_values = {self.jwt}

    @staticmethod
    def write(path, text):
        with open(path, "w") as f:
            f.write(text)

    def close(self):
        self.vault.stop()
        self.kube.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- seeding -----------------------------------------------------------
    def put(self, path, data):
        """Seeds a KV secret; its string values count as secrets."""
        self.vault.kv_put(path, data)
        for v in data.values():
            if isinstance(v, str) and len(v) >= 6:
                self.secret_values.add(v)
                if v.startswith("base64:"):
                    try:
                        raw = base64.b64decode(v[7:], validate=True)
                    except ValueError:
                        continue
                    if len(raw) >= 6:
                        self.secret_values.add(raw.decode("latin-1"))

    def base_env(self):
        c = certs()
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "VAULT_ADDR": self.vault.url,
            "VAULT_CACERT": c["ca"],
            "VAULT_ROLE": "demo",
            "VAULT_TOKEN_PATH": self.token_path,
            "SERVICE_ACCOUNT_DIR": self.sa_dir,
            "KUBERNETES_SERVICE_HOST": "127.0.0.1",
            "KUBERNETES_SERVICE_PORT": str(self.kube.port),
            "VAULT_MAX_RETRIES": "0",
            "ASAN_OPTIONS": os.environ.get(
                "ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1"),
            "UBSAN_OPTIONS": os.environ.get(
                "UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1"),
        }

    def token(self):
        with open(self.token_path) as f:
            return f.read()

    # -- running -----------------------------------------------------------
    def command(self, helper):
        return VALGRIND + [BINARY, helper]

    def run(self, helper, timeout=60, **env):
        e = self.base_env()
        for k, v in env.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        p = subprocess.run(self.command(helper), env=e, timeout=timeout,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        record_output(p.stdout, p.stderr)
        self.check_hygiene(p.stdout + p.stderr)
        return Result(p.returncode, p.stdout, p.stderr)

    def spawn(self, helper, **env):
        e = self.base_env()
        for k, v in env.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        return _Recorded(self.command(helper), env=e,
                         stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)

    def known_secrets(self):
        s = set(self.secret_values)
        for tok in list(getattr(self.vault, "tokens", {}) or {}):
            if isinstance(tok, str) and len(tok) >= 8:
                s.add(tok)
        if os.path.isfile(self.token_path):
            t = self.token().strip()
            if t:
                s.add(t)
        return s

    def check_hygiene(self, output):
        for secret in self.known_secrets():
            if secret and secret in output:
                raise AssertionError(
                    "a secret value or token appeared in the output "
                    "(%d chars, starts %r)" % (len(secret), secret[:3]))

    # -- Kubernetes state --------------------------------------------------
    def secret(self, name):
        return self.kube.get_secret(NAMESPACE, name)

    def secret_data(self, name):
        obj = self.secret(name)
        if obj is None:
            return None
        return {k: base64.b64decode(v)
                for k, v in (obj.get("data") or {}).items()}


class Result:
    def __init__(self, code, out, err):
        self.code = code
        self.out = out
        self.err = err
        # Strip Go's "YYYY/MM/DD HH:MM:SS " prefix from each log line.
        self.lines = [re.sub(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ", "", l)
                      for l in err.splitlines()]

    def has(self, pattern):
        return any(re.search(pattern, l) for l in self.lines)

    def __repr__(self):
        return "exit %d\n%s" % (self.code, self.err)


class E2ETest(unittest.TestCase):
    def setUp(self):
        if not os.path.exists(BINARY):
            self.fail("binary not built: %s" % BINARY)
        self.env = Env()
        self.addCleanup(self.env.close)

    def assertLog(self, result, pattern):
        self.assertTrue(result.has(pattern),
                        "no log line matches %r in:\n%r" % (pattern, result))

    def assertNoLog(self, result, pattern):
        self.assertFalse(result.has(pattern),
                         "a log line matches %r in:\n%r" % (pattern, result))

    def assertLogFormat(self, result):
        for line in result.err.splitlines():
            if line.startswith("=="):  # sanitizer report: fails elsewhere
                continue
            self.assertRegex(line, r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \S")

    def login(self):
        """Runs the authenticator; returns the token it wrote."""
        r = self.env.run("authenticator")
        self.assertEqual(r.code, 0, r)
        return self.env.token().strip()


def wait_for(pred, timeout=10.0, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return False
