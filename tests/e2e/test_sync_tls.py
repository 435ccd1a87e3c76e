"""The synchronizer's clients share TLS sessions and parsed trust anchors:
the workers' connections resume the first client's session, and every
trust source still verifies, or refuses, as it does for one client."""

import os
import shutil
import sys
import tempfile

import harness
from harness import E2ETest, NAMESPACE
from test_vault_client_tls import other_ca, pem

N = 6


class SyncTlsTest(E2ETest):
    def setUp(self):
        super().setUp()
        for i in range(N):
            self.env.put("secret/k8s/dir/s%d" % i, {"k": "value-%06d" % i})
        self.login()
        self.env.vault.reset_counters()
        self.env.kube.reset_counters()

    def sync(self, **env):
        return self.env.run("synchronizer", VAULT_SECRETS="secret/k8s/dir/",
                            SYNCHRONIZER_CONCURRENCY="4", **env)

    def assertSynced(self, r):
        self.assertEqual(r.code, 0, r)
        self.assertEqual(len(self.env.kube.secrets(NAMESPACE)), N)

    def assertRefused(self, r, pattern):
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, pattern)
        self.assertEqual(len(self.env.kube.secrets(NAMESPACE)), 0)

    def tmpdir(self):
        d = tempfile.mkdtemp(prefix="vk-tls-")
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def test_workers_resume_the_first_session(self):
        r = self.sync()
        self.assertSynced(r)
        # The main client and three workers per server. Without the
        # shared sessions no worker resumes. With them all three usually
        # do: 83 of 90 runs here (TLS 1.3 with two tickets or one, and
        # TLS 1.2) saw 3 of 3 on both servers, the other 7 saw 2 of 3 on
        # one server, as a valgrind run did once: a worker made a full
        # handshake, for a reason in libcurl's session cache not pinned
        # down. So this asks for at least one.
        sys.stderr.write("\nresumed TLS sessions: vault %d of 3, kube %d "
                         "of 3\n" % (self.env.vault.resumed,
                                      self.env.kube.resumed))
        for d in (self.env.vault, self.env.kube):
            self.assertEqual(d.connections, 4, r)
            self.assertGreaterEqual(d.resumed, 1, r)

    def test_cacert_bundle(self):
        bundle = os.path.join(self.tmpdir(), "bundle.pem")
        with open(bundle, "w") as f:
            f.write(pem(other_ca()["ca"]) + pem(harness.certs()["ca"]))
        self.assertSynced(self.sync(VAULT_CACERT=bundle))

    def test_cacert_of_another_ca_refused(self):
        self.assertRefused(self.sync(VAULT_CACERT=other_ca()["ca"]),
                           r"unknown certificate authority")
        self.assertEqual(self.env.vault.requests, [])

    def test_cacert_bytes(self):
        self.assertRefused(self.sync(
            VAULT_CACERT=None, VAULT_CACERT_BYTES=pem(other_ca()["ca"])),
            r"unknown certificate authority")
        self.assertSynced(self.sync(
            VAULT_CACERT=None, VAULT_CACERT_BYTES=pem(harness.certs()["ca"])))

    def test_capath(self):
        good, bad = self.tmpdir(), self.tmpdir()
        shutil.copy(other_ca()["ca"], os.path.join(good, "a.pem"))
        shutil.copy(harness.certs()["ca"], os.path.join(good, "b.pem"))
        shutil.copy(other_ca()["ca"], os.path.join(bad, "a.pem"))
        self.assertRefused(self.sync(VAULT_CACERT=None, VAULT_CAPATH=bad),
                           r"unknown certificate authority")
        self.assertSynced(self.sync(VAULT_CACERT=None, VAULT_CAPATH=good))

    def test_system_store_refuses_the_test_ca(self):
        self.assertRefused(self.sync(VAULT_CACERT=None),
                           r"unknown certificate authority")

    def test_skip_verify(self):
        r = self.sync(VAULT_CACERT=other_ca()["ca"], VAULT_SKIP_VERIFY="1")
        self.assertSynced(r)

    def test_kubernetes_ca_of_another_ca_refused(self):
        shutil.copy(other_ca()["ca"], os.path.join(self.env.sa_dir,
                                                   "ca.crt"))
        r = self.sync()
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^failed to synchronize secrets: .*certificate")
        self.assertEqual(self.env.kube.requests, [])


if __name__ == "__main__":
    import unittest
    unittest.main()
