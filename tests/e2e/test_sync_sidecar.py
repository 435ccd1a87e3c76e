"""The synchronizer as a sidecar (SYNC_INTERVAL) against the doubles:
following Vault, no churn, outages, the token going bad, signals."""

import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

from harness import E2ETest, NAMESPACE, Result, wait_for

INTERVAL = 1.0
# Within one interval (+10% jitter) of a change, plus room for a slow
# machine: a cycle here takes a few tens of milliseconds.
FOLLOW_S = INTERVAL * 1.1 + 3.0
SYNCED = r"^secrets successfully synchronized: "
FAILED = r"^failed to synchronize secrets \(\d+ in a row\)"
LIST = r"/api/v1/namespaces/default/secrets$"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    """(status, body) of a plain GET; (None, error) when refused."""
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError as exc:
        return None, str(exc)


class Sidecar:
    """A running sidecar whose log lines are collected as they come."""

    def __init__(self, test, **env):
        self.test = test
        self.p = test.env.spawn("synchronizer", **env)
        self.lines = []
        self.err = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        test.addCleanup(self.kill)

    def _read(self):
        for raw in self.p.stderr:
            line = re.sub(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ", "",
                          raw.rstrip("\n"))
            with self.lock:
                self.err.append(raw)
                self.lines.append(line)

    def count(self, pattern):
        with self.lock:
            return sum(1 for l in self.lines if re.search(pattern, l))

    def wait_count(self, pattern, n, timeout=10.0):
        ok = wait_for(lambda: self.count(pattern) >= n, timeout=timeout)
        self.test.assertTrue(ok, "fewer than %d lines match %r in:\n%s"
                             % (n, pattern, "".join(self.err)))

    def last(self, pattern):
        with self.lock:
            hits = [l for l in self.lines if re.search(pattern, l)]
        return hits[-1] if hits else None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Signals the sidecar and returns its Result and how long it
        took to exit."""
        t0 = time.monotonic()
        self.p.send_signal(sig)
        self.p.wait(timeout=timeout)
        took = time.monotonic() - t0
        self.reader.join(timeout=5)
        out = self.p.stdout.read()
        self.p.stdout.close()
        self.p.stderr.close()
        err = "".join(self.err)
        self.test.env.check_hygiene(out + err)
        return Result(self.p.returncode, out, err), took

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        self.reader.join(timeout=5)
        for f in (self.p.stdout, self.p.stderr):
            if not f.closed:
                f.close()


class SidecarTest(E2ETest):
    def setUp(self):
        super().setUp()
        self.env.put("secret/k8s/first", {"one": "12345678"})
        self.env.put("secret/k8s/dir/alpha", {"a": "alpha-value-1"})
        self.env.put("secret/k8s/dir/beta", {"b": "beta-value-1"})
        self.login()

    def start(self, secrets="secret/k8s/first,secret/k8s/dir/",
              interval="1s", **env):
        return Sidecar(self, VAULT_SECRETS=secrets, SYNC_INTERVAL=interval,
                       **env)

    def health(self):
        port = free_port()
        return "127.0.0.1:%d" % port, "http://127.0.0.1:%d/healthz" % port

    def follows(self, pred):
        """Seconds until pred holds, failing past FOLLOW_S."""
        t0 = time.monotonic()
        self.assertTrue(wait_for(pred, timeout=FOLLOW_S, step=0.02),
                        "kubernetes did not follow within %.1fs" % FOLLOW_S)
        return time.monotonic() - t0

    def test_follows_changes_additions_and_removals(self):
        s = self.start()
        s.wait_count(SYNCED, 1)
        self.assertEqual(self.env.secret_data("alpha"),
                         {"a": b"alpha-value-1"})
        self.assertEqual(self.env.secret_data("beta"), {"b": b"beta-value-1"})

        self.env.put("secret/k8s/first", {"one": "changed-value-2"})
        took = self.follows(lambda: self.env.secret_data("first") ==
                            {"one": b"changed-value-2"})
        self.env.put("secret/k8s/dir/gamma", {"c": "gamma-value-1"})
        took = max(took, self.follows(
            lambda: self.env.secret_data("gamma") == {"c": b"gamma-value-1"}))
        self.env.vault.kv_remove("secret/k8s/dir/beta")
        took = max(took, self.follows(lambda: self.env.secret("beta") is None))
        self.assertLessEqual(took, FOLLOW_S)

        self.assertEqual(self.env.secret_data("alpha"),
                         {"a": b"alpha-value-1"})
        ann = self.env.secret("gamma")["metadata"]["annotations"]
        self.assertEqual(ann["vault-secret"], "secret/data/k8s/dir/gamma")
        r, _ = s.stop()
        self.assertEqual(r.code, 0, r)
        self.assertLogFormat(r)
        self.assertLog(r, r"^delete secret beta$")
        self.assertLog(r, r"^update secret first from vault secret "
                          r"secret/data/k8s/first$")

    def test_no_change_makes_no_write(self):
        s = self.start()
        s.wait_count(SYNCED, 1)
        writes = self.env.kube.writes()
        self.assertEqual(writes, 3)  # first, alpha, beta created
        lists = self.env.kube.count("GET", LIST)
        s.wait_count(SYNCED, 4)
        self.assertGreaterEqual(self.env.kube.count("GET", LIST), lists + 3)
        self.assertEqual(self.env.kube.writes(), writes)
        self.assertRegex(s.last(SYNCED), r"0 created, 0 updated, 0 deleted, "
                                         r"3 unchanged$")
        r, _ = s.stop()
        self.assertEqual(r.code, 0, r)

    def test_workers_keep_their_connections_between_cycles(self):
        # Six reads at concurrency 4: the caller's client and three
        # workers. The workers' connections are made in the first cycle
        # and kept alive for the next ones, as the main clients' are.
        for i in range(4):
            self.env.put("secret/k8s/dir/more%d" % i, {"k": "value-%d" % i})
        before = self.env.vault.connections  # the login's
        s = self.start(SYNCHRONIZER_CONCURRENCY="4")
        s.wait_count(SYNCED, 1)
        vault, kube = self.env.vault.connections, self.env.kube.connections
        self.assertLessEqual(vault - before, 4)
        self.assertGreater(vault - before, 1)
        self.assertLessEqual(kube, 4)
        s.wait_count(SYNCED, 4)
        self.assertEqual(self.env.vault.connections, vault)
        self.assertEqual(self.env.kube.connections, kube)
        # A change is written on the kept connections too.
        self.env.put("secret/k8s/dir/more0", {"k": "changed-value"})
        self.follows(lambda: self.env.secret_data("more0") ==
                     {"k": b"changed-value"})
        self.assertEqual(self.env.vault.connections, vault)
        self.assertEqual(self.env.kube.connections, kube)
        r, _ = s.stop()
        self.assertEqual(r.code, 0, r)

    def test_vault_outage_deletes_nothing_and_recovers(self):
        addr, url = self.health()
        s = self.start(HEALTH_ADDR=addr)
        s.wait_count(SYNCED, 1)
        self.assertTrue(wait_for(lambda: get(url)[0] == 200, timeout=5))
        before = {n: self.env.secret_data(n) for n in ("first", "alpha",
                                                       "beta")}
        writes = self.env.kube.writes()

        # Vault closes every connection without answering.
        self.env.vault.inject(r".", action="close", count=None)
        s.wait_count(FAILED, 4, timeout=20)
        status, body = get(url)
        self.assertEqual(status, 503)
        self.assertRegex(body, r"^unhealthy: \d+ synchronization "
                               r"cycles failed in a row: ")
        self.env.vault.clear_faults()
        self.assertEqual(self.env.kube.writes(), writes)
        for name, data in before.items():
            self.assertEqual(self.env.secret_data(name), data)

        synced = s.count(SYNCED)
        self.env.put("secret/k8s/dir/alpha", {"a": "alpha-value-2"})
        s.wait_count(SYNCED, synced + 1, timeout=15)
        self.follows(lambda: self.env.secret_data("alpha") ==
                     {"a": b"alpha-value-2"})
        self.assertTrue(wait_for(lambda: get(url)[0] == 200, timeout=5))
        r, _ = s.stop()
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^synchronization recovered after \d+ failed "
                          r"cycles$")
        self.assertNoLog(r, r"^delete secret")
        # The backoff never exceeds the interval (+10%): retries kept
        # coming every second or so during the outage.
        waits = [int(m.group(1)) for m in
                 (re.search(r"retrying in (\d+)ms", l) for l in r.lines) if m]
        self.assertTrue(waits)
        self.assertLessEqual(max(waits), 1100)

    def test_kubernetes_outage_deletes_nothing(self):
        s = self.start()
        s.wait_count(SYNCED, 1)
        self.env.vault.kv_remove("secret/k8s/dir/beta")
        # Writes fail while the listing still works: the obsolete Secret
        # must survive until a cycle has written everything.
        self.env.kube.inject(r"/secrets/alpha$", status=500, method="PUT",
                             body={"kind": "Status", "code": 500,
                                   "message": "etcd down"}, count=None)
        self.env.put("secret/k8s/dir/alpha", {"a": "alpha-value-2"})
        s.wait_count(FAILED, 3, timeout=20)
        self.assertIsNotNone(self.env.secret("beta"))
        self.env.kube.clear_faults()
        self.follows(lambda: self.env.secret("beta") is None)
        r, _ = s.stop()
        self.assertEqual(r.code, 0, r)

    def test_refused_token_is_unhealthy_at_once_and_recovers(self):
        addr, url = self.health()
        s = self.start(HEALTH_ADDR=addr)
        s.wait_count(SYNCED, 1)
        self.assertTrue(wait_for(lambda: get(url)[0] == 200, timeout=5))
        self.env.vault.revoke_token(self.env.token().strip())
        s.wait_count(FAILED, 1, timeout=5)
        status, body = get(url)
        self.assertEqual((status, s.count(FAILED) < 3), (503, True))
        self.assertRegex(body, r"^unhealthy: no valid vault token in ")
        self.assertIsNotNone(self.env.secret("beta"))

        # The authenticator (or the token-renewer) writes a new token:
        # the next cycle reads the file again and recovers.
        self.login()
        self.assertTrue(wait_for(lambda: get(url)[0] == 200, timeout=10))
        r, _ = s.stop()
        self.assertEqual(r.code, 0, r)
        self.assertNoLog(r, r"^delete secret")

    def test_missing_token_file_retried(self):
        os.unlink(self.env.token_path)
        addr, url = self.health()
        s = self.start(HEALTH_ADDR=addr)
        s.wait_count(r"no vault token in ", 1)
        self.assertEqual(get(url)[0], 503)
        self.assertIsNone(self.env.secret("first"))
        self.login()
        s.wait_count(SYNCED, 1, timeout=10)
        self.assertIsNotNone(self.env.secret("first"))
        r, _ = s.stop()
        self.assertEqual(r.code, 0, r)

    def test_sigterm_and_sigint_exit_zero_promptly(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            s = self.start(interval="1h")
            s.wait_count(SYNCED, 1)
            r, took = s.stop(sig)
            self.assertEqual(r.code, 0, r)
            self.assertLess(took, 1.0)
            self.assertLog(r, r"^signal received - stop execution$")
            self.assertLog(r, r"^synchronizing secrets every 3600000ms$")

    def test_sigterm_while_retrying(self):
        self.env.vault.stop()
        s = self.start()
        s.wait_count(FAILED, 1)
        r, took = s.stop()
        self.env.vault.start()
        self.assertEqual(r.code, 0, r)
        self.assertLess(took, 2.0)

    def test_interval_refused_when_malformed(self):
        for value in ("0s", "500ms", "1", "-5s", "10 s", "1m-", "eternity"):
            r = self.env.run("synchronizer", VAULT_SECRETS="secret/k8s/first",
                             SYNC_INTERVAL=value, timeout=10)
            self.assertEqual(r.code, 1, (value, r))
            self.assertLog(r, r"^failed to prepare synchronization of "
                              r"secrets: SYNC_INTERVAL: .* is not a Go "
                              r"duration of at least 1s")
        self.assertEqual(self.env.kube.count(), 0)

    def test_health_addr_refused_when_malformed(self):
        r = self.env.run("synchronizer", VAULT_SECRETS="secret/k8s/first",
                         SYNC_INTERVAL="1s", HEALTH_ADDR="8080", timeout=10)
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^failed to prepare synchronization of secrets: "
                          r"HEALTH_ADDR: \"8080\" is not host:port$")

    def test_unset_interval_runs_once(self):
        r = self.env.run("synchronizer", VAULT_SECRETS="secret/k8s/first",
                         SYNC_INTERVAL="", HEALTH_ADDR="127.0.0.1:1",
                         timeout=30)
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^secrets successfully synchronized$")
        self.assertNoLog(r, r"synchronizing secrets every")


if __name__ == "__main__":
    import unittest
    unittest.main()
