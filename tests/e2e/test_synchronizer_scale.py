"""The synchronizer over many secrets: request counts from the doubles,
and a Vault that dies halfway through a run."""

import base64
import sys
import time

from harness import E2ETest, NAMESPACE, Result, wait_for


def value(i, gen=0):
    return "value-%03d-gen%d" % (i, gen)


class SynchronizerScaleTest(E2ETest):
    def seed(self, n):
        for i in range(n):
            self.env.put("secret/many/s%03d" % i, {"k": value(i)})

    def data(self, name):
        return {k: base64.b64decode(v) for k, v in
                (self.env.secret(name) or {}).get("data", {}).items()}

    def test_200_secrets_request_counts(self):
        n = 200
        self.seed(n)
        self.login()
        vault, kube = self.env.vault, self.env.kube

        # First run: everything is created.
        vault.reset_counters()
        started = time.monotonic()
        r = self.env.run("synchronizer", VAULT_SECRETS="secret/many/")
        first_s = time.monotonic() - started
        self.assertEqual(r.code, 0, r)
        self.assertEqual(vault.count("GET", r"^/v1/sys/mounts$"), 1)
        self.assertEqual(vault.count(None, r"^/v1/secret/metadata/many/?$"),
                         1)
        self.assertEqual(vault.count("GET", r"^/v1/secret/data/many/"), n)
        self.assertEqual(kube.count("GET", r"/secrets$"), 1)
        self.assertEqual(kube.count("POST"), n)
        self.assertEqual(kube.writes(), n)
        self.assertEqual(len(kube.secrets(NAMESPACE)), n)

        # Second run: 7 changed in Vault, 3 removed, the rest as they were.
        changed = [3, 50, 51, 99, 120, 150, 199]
        removed = [0, 77, 198]
        for i in changed:
            self.env.put("secret/many/s%03d" % i, {"k": value(i, 1)})
        for i in removed:
            vault.kv_remove("secret/many/s%03d" % i)
        vault.reset_counters()
        kube.reset_counters()
        started = time.monotonic()
        r = self.env.run("synchronizer", VAULT_SECRETS="secret/many/")
        second_s = time.monotonic() - started
        self.assertEqual(r.code, 0, r)
        figures = {
            "sys/mounts": vault.count("GET", r"^/v1/sys/mounts$"),
            "vault lists": vault.count(None, r"^/v1/secret/metadata/many/?$"),
            "vault reads": vault.count("GET", r"^/v1/secret/data/many/"),
            "vault requests": vault.count(),
            "kube lists": kube.count("GET", r"/secrets$"),
            "kube gets": kube.count("GET", r"/secrets/"),
            "kube PUT": kube.count("PUT"),
            "kube DELETE": kube.count("DELETE"),
            "kube POST": kube.count("POST"),
            "kube requests": kube.count(),
            "vault connections": vault.connections,
            "kube connections": kube.connections,
        }
        sys.stderr.write("\n200 secrets: first run %.2fs, second run %.2fs; "
                         "second run %s\n" % (first_s, second_s, figures))
        self.assertEqual(figures["sys/mounts"], 1)
        self.assertEqual(figures["vault lists"], 1)
        self.assertEqual(figures["vault reads"], n - len(removed))
        self.assertEqual(figures["vault requests"], n - len(removed) + 2)
        self.assertEqual(figures["kube lists"], 1)
        self.assertEqual(figures["kube gets"], 0)
        self.assertEqual(figures["kube PUT"], len(changed))
        self.assertEqual(figures["kube DELETE"], len(removed))
        self.assertEqual(figures["kube POST"], 0)
        for i in changed:
            self.assertLog(r, r"^update secret s%03d from vault secret "
                           r"secret/data/many/s%03d$" % (i, i))
            self.assertEqual(self.data("s%03d" % i), {"k": value(i, 1)
                                                      .encode()})
        for i in removed:
            self.assertLog(r, r"^delete secret s%03d$" % i)
            self.assertIsNone(self.env.secret("s%03d" % i))
        self.assertEqual(len(kube.secrets(NAMESPACE)), n - len(removed))

    def test_vault_killed_halfway_through_50_secrets(self):
        n = 50
        self.seed(n)
        self.login()
        vault, kube = self.env.vault, self.env.kube
        self.assertEqual(self.env.run("synchronizer",
                                      VAULT_SECRETS="secret/many/").code, 0)
        # A managed Secret this run would delete, and new values for all.
        kube.put_secret(NAMESPACE, {
            "metadata": {"name": "obsolete", "annotations": {
                "vault-secret": "secret/data/many/obsolete"}},
            "data": {"k": base64.b64encode(b"keep").decode()}})
        for i in range(n):
            self.env.put("secret/many/s%03d" % i, {"k": value(i, 1)})
        before = kube.secrets(NAMESPACE)
        writes = kube.writes()

        # Vault stalls on the 26th read, then dies: the listener closes and
        # every connection still open is cut on its next request. One
        # read at a time, so that the 27th is the one cut (concurrent
        # reads are covered by test_synchronizer_concurrency).
        vault.reset_counters()
        vault.inject(r"^/v1/secret/data/many/s025$", method="GET", delay=0.5)
        p = self.env.spawn("synchronizer", VAULT_SECRETS="secret/many/",
                           SYNCHRONIZER_CONCURRENCY="1")
        self.assertTrue(wait_for(
            lambda: vault.count("GET", r"^/v1/secret/data/many/s025$")))
        vault.inject(r".", action="close", count=None)
        vault.stop()
        out, err = p.communicate(timeout=120)
        self.env.check_hygiene(out + err)
        r = Result(p.returncode, out, err)

        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^read secret/data/many/s025 from vault$")
        self.assertLog(r, r"^failed to synchronize secrets: read "
                       r"secret/data/many/s026 from vault: ")
        self.assertNoLog(r, r"^(create|update|delete) secret")
        self.assertEqual(vault.count("GET", r"^/v1/secret/data/many/"), 27)
        self.assertEqual(kube.writes(), writes)
        self.assertEqual(kube.secrets(NAMESPACE), before)
        self.assertEqual(self.data("obsolete"), {"k": b"keep"})
        for i in range(n):
            self.assertEqual(self.data("s%03d" % i),
                             {"k": value(i).encode()})


if __name__ == "__main__":
    import unittest
    unittest.main()
