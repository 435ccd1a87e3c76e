"""Secret hygiene: everything the helpers print, over a representative set
of runs (all three helpers, successes and failures, servers whose error
texts echo what we sent), is collected through the harness's
VK_OUTPUT_LOG hook and scanned for every seeded secret value, Vault
token, AppRole secret ID and service-account JWT. Also: the token file
is created with its final, restrictive mode from the first byte."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import harness
from harness import BINARY, Env, wait_for

SEEDED = {
    "password": "hunter2-Seeded-Secret-Value",
    "api_key": "base64:" + "c2VlZGVkLWJhc2U2NC1zZWNyZXQ=",  # seeded-base64-secret
    "plain": "another-Seeded-Value-42",
}


class Collected:
    """Points VK_OUTPUT_LOG at a fresh file for one test; read() gives
    what every helper run printed since."""

    def __init__(self):
        fd, self.path = tempfile.mkstemp(prefix="vk-hygiene-")
        os.close(fd)
        self.old = os.environ.get("VK_OUTPUT_LOG")
        os.environ["VK_OUTPUT_LOG"] = self.path

    def read(self):
        with open(self.path) as f:
            return f.read()

    def close(self):
        if self.old is None:
            os.environ.pop("VK_OUTPUT_LOG", None)
        else:
            os.environ["VK_OUTPUT_LOG"] = self.old
        os.unlink(self.path)


class HygieneTest(unittest.TestCase):
    def setUp(self):
        if not os.path.exists(BINARY):
            self.fail("binary not built: %s" % BINARY)
        self.out = Collected()
        self.addCleanup(self.out.close)
        self.secrets = set()
        self.runs = 0

    def world(self):
        env = Env()
        self.addCleanup(env.close)
        env.put("secret/k8s/first", SEEDED)
        return env

    def run_helper(self, env, helper, **extra):
        """Runs a helper to its end without the harness's per-run check,
        so that the scan below is the one that decides."""
        p = env.spawn(helper, **extra)
        p.communicate(timeout=60)
        self.runs += 1
        self.remember(env)
        return p.returncode

    def remember(self, env):
        self.secrets |= {s for s in env.known_secrets() if len(s) >= 6}

    def scan(self):
        text = self.out.read()
        self.assertGreater(len(text), 0, "nothing was collected")
        self.assertGreater(len(self.secrets), 3)
        leaked = [s for s in self.secrets if s in text]
        # The message names counts and a 3-character prefix, never the
        # secret itself: test logs are output too.
        self.assertFalse(
            leaked, "%d of %d secrets appeared in the output of %d runs "
            "(first starts %r)" % (len(leaked), len(self.secrets),
                                   self.runs,
                                   leaked[0][:3] if leaked else ""))
        return text

    # -- the representative runs ------------------------------------------
    def test_successes_and_ordinary_failures_print_no_secret(self):
        env = self.world()
        role_id, secret_id = env.vault.add_approle(
            "app", policies=["app"], secret_id="approle-Secret-ID-7f3e91")
        self.secrets.add(secret_id)

        # authenticator: Kubernetes auth, AppRole, wrong role, ALLOW_FAIL
        self.assertEqual(self.run_helper(env, "authenticator"), 0)
        token = env.token().strip()
        self.assertEqual(self.run_helper(
            env, "authenticator", VAULT_ROLE_ID=role_id,
            VAULT_SECRET_ID=secret_id, VAULT_FORCE_LOGIN="true"), 0)
        self.assertEqual(self.run_helper(
            env, "authenticator", VAULT_ROLE="nope",
            VAULT_FORCE_LOGIN="true"), 1)
        self.assertEqual(self.run_helper(
            env, "authenticator", VAULT_ROLE_ID=role_id,
            VAULT_SECRET_ID="wrong-" + secret_id, VAULT_FORCE_LOGIN="true",
            ALLOW_FAIL="true"), 0)
        self.secrets.add("wrong-" + secret_id)

        # synchronizer: a success, a denied read, a Kubernetes refusal
        with open(env.token_path, "w") as f:
            f.write(token)
        self.assertEqual(self.run_helper(
            env, "synchronizer", VAULT_SECRETS="secret/k8s/first"), 0)
        self.assertEqual(env.secret_data("first")["password"],
                         SEEDED["password"].encode())
        env.vault.inject(r"secret/data/k8s/first", status=403,
                         body={"errors": ["permission denied"]})
        self.assertEqual(self.run_helper(
            env, "synchronizer", VAULT_SECRETS="secret/k8s/first"), 1)
        env.kube.inject(r"/secrets", method="PUT", status=422, body={
            "kind": "Status", "apiVersion": "v1", "status": "Failure",
            "reason": "Invalid", "code": 422,
            "message": "Secret \"first\" is invalid"})
        env.put("secret/k8s/first", dict(SEEDED, plain="changed-Value-99"))
        self.assertEqual(self.run_helper(
            env, "synchronizer", VAULT_SECRETS="secret/k8s/first"), 1)

        # token-renewer: renews, then stops on SIGTERM; then a refusal
        p = env.spawn("token-renewer", VAULT_TTL="3s")
        wait_for(lambda: env.vault.count(None, r"renew-self") >= 1, 15)
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=30)
        self.runs += 1
        env.vault.inject(r"renew-self", status=403, count=None,
                         body={"errors": ["permission denied"]})
        p = env.spawn("token-renewer")
        wait_for(lambda: env.vault.count(None, r"renew-self") >= 2, 15)
        time.sleep(0.5)
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=30)
        self.runs += 1
        self.remember(env)

        text = self.scan()
        self.assertIn("successfully authenticated to vault", text)
        self.assertIn("secrets successfully synchronized", text)
        self.assertGreaterEqual(self.runs, 9)

    def test_vault_errors_that_echo_the_jwt_print_no_jwt(self):
        env = self.world()
        env.vault.inject(r"auth/kubernetes/login", status=400, body={
            "errors": ["invalid jwt %s: signature mismatch" % env.jwt]})
        self.assertEqual(self.run_helper(env, "authenticator"), 1)
        env.vault.inject(r"auth/kubernetes/login", status=500,
                         body="<html>bad gateway for jwt=%s</html>" % env.jwt)
        self.assertEqual(self.run_helper(env, "authenticator"), 1)
        self.scan()

    def test_vault_errors_that_echo_the_secret_id_print_no_secret_id(self):
        env = self.world()
        role_id, secret_id = env.vault.add_approle(
            "app", policies=["app"], secret_id="approle-Secret-ID-5be2c0")
        self.secrets.add(secret_id)
        env.vault.inject(r"auth/approle/login", status=400, body={
            "errors": ["invalid secret id %r" % secret_id]})
        self.assertEqual(self.run_helper(
            env, "authenticator", VAULT_ROLE_ID=role_id,
            VAULT_SECRET_ID=secret_id), 1)
        self.scan()

    def test_vault_errors_that_echo_the_token_print_no_token(self):
        env = self.world()
        self.assertEqual(self.run_helper(env, "authenticator"), 0)
        token = env.token().strip()
        env.vault.inject(r"secret/data/k8s/first", status=403, body={
            "errors": ["token %s lacks the policy" % token]})
        self.assertEqual(self.run_helper(
            env, "synchronizer", VAULT_SECRETS="secret/k8s/first"), 1)
        env.vault.inject(r"secret/data/k8s/first", status=502,
                         body="proxy error for X-Vault-Token: %s" % token)
        self.assertEqual(self.run_helper(
            env, "synchronizer", VAULT_SECRETS="secret/k8s/first"), 1)
        self.scan()


@unittest.skipUnless(shutil.which("strace"), "strace is not installed")
class TokenFileModeTest(unittest.TestCase):
    """The token file never exists with a mode wider than its final one:
    the O_CREAT open carries the final mode, and no later chmod widens."""

    OPEN = re.compile(r'open(?:at)?\((?:AT_FDCWD|\d+), "([^"]*)", '
                      r'([A-Z_|]+)(?:, (0\d+))?\)')
    CHMOD = re.compile(r'(fchmod|fchmodat|chmod)\((?:[^,]*, )?(?:"[^"]*", )?'
                       r'(0\d+)')

    def setUp(self):
        if not os.path.exists(BINARY):
            self.fail("binary not built: %s" % BINARY)
        self.env = Env()
        self.addCleanup(self.env.close)

    def traced(self, mode):
        log = os.path.join(self.env.tmp, "strace.log")
        e = self.env.base_env()
        if mode is not None:
            e["VAULT_TOKEN_FILE_MODE"] = mode
        # LeakSanitizer cannot run under ptrace; the other tests check leaks.
        e["ASAN_OPTIONS"] = "detect_leaks=0"
        p = subprocess.run(
            ["strace", "-f", "-qq", "-o", log, "-e",
             "trace=open,openat,creat,chmod,fchmod,fchmodat", BINARY,
             "authenticator"], env=e, capture_output=True, text=True,
            timeout=60)
        harness.record_output(p.stdout, p.stderr)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(log) as f:
            return f.read().splitlines()

    def check(self, mode, want):
        lines = self.traced(mode)
        tokdir = os.path.dirname(self.env.token_path)
        creates = []
        chmods = []
        for line in lines:
            m = self.OPEN.search(line)
            if m and m.group(1).startswith(tokdir) and "O_CREAT" in m.group(2):
                creates.append(int(m.group(3), 8))
            m = self.CHMOD.search(line)
            if m:
                chmods.append(int(m.group(2), 8))
        self.assertEqual(len(creates), 1, "\n".join(lines))
        self.assertEqual(creates[0] & ~want, 0,
                         "created with %o, wider than %o" % (creates[0], want))
        for c in chmods:
            self.assertEqual(c, want, "a chmod to %o on the way" % c)
        st = os.stat(self.env.token_path)
        self.assertEqual(st.st_mode & 0o7777, want)

    def test_default_mode_from_the_first_byte(self):
        self.check(None, 0o640)

    def test_configured_mode_from_the_first_byte(self):
        self.check("0600", 0o600)


if __name__ == "__main__":
    unittest.main()
