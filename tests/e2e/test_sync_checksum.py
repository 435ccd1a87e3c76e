"""SYNC_CHECKSUM_FILE, the rollout signal: a digest of the synchronized
Secrets' data that changes when, and only when, that data changes. The
expected digest is computed here from what the Kubernetes double holds."""

import hashlib
import os
import re
import stat
import subprocess

from harness import E2ETest, NAMESPACE
from test_sync_sidecar import FOLLOW_S, SYNCED, Sidecar, wait_for

WRITTEN = r"^checksum of synchronized secrets written to "


class ChecksumTest(E2ETest):
    def setUp(self):
        super().setUp()
        self.env.put("secret/k8s/first", {"one": "12345678", "two": "x-9"})
        self.env.put("secret/k8s/dir/alpha", {"a": "alpha-value-1"})
        self.login()
        self.path = os.path.join(self.env.tmp, "vault", "checksum")

    def expected(self, names):
        """The documented digest over the named Secrets as Kubernetes
        holds them: name, then key and base64 value in key order, each
        field NUL-terminated, an empty field closing each Secret."""
        h = hashlib.sha256()
        for name in sorted(names):
            data = self.env.kube.get_secret(NAMESPACE, name)["data"]
            h.update(name.encode() + b"\0")
            for key in sorted(data):
                h.update(key.encode() + b"\0" + data[key].encode() + b"\0")
            h.update(b"\0")
        return h.hexdigest() + "\n"

    def read(self):
        with open(self.path) as f:
            return f.read()

    def test_init_container_writes_the_checksum(self):
        r = self.env.run("synchronizer",
                         VAULT_SECRETS="secret/k8s/first,secret/k8s/dir/",
                         SYNC_CHECKSUM_FILE=self.path)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.read(), self.expected(["first", "alpha"]))
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o640)
        self.assertLog(r, WRITTEN + r"%s$" % self.path)
        self.assertLog(r, r"^secrets successfully synchronized$")

        # Nothing changed: the file is not rewritten, nothing is logged.
        ino = os.stat(self.path).st_ino
        r = self.env.run("synchronizer",
                         VAULT_SECRETS="secret/k8s/first,secret/k8s/dir/",
                         SYNC_CHECKSUM_FILE=self.path)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(os.stat(self.path).st_ino, ino)
        self.assertNoLog(r, WRITTEN)

    def test_unwritable_checksum_file_fails_after_the_secrets(self):
        os.mkdir(self.path)
        r = self.env.run("synchronizer", VAULT_SECRETS="secret/k8s/first",
                         SYNC_CHECKSUM_FILE=self.path)
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^failed to synchronize secrets: "
                          r"SYNC_CHECKSUM_FILE: rename %s: Is a directory$"
                       % self.path)
        self.assertNoLog(r, r"^secrets successfully synchronized")
        # The Secrets were written before; the directory is untouched.
        self.assertEqual(self.env.secret_data("first"),
                         {"one": b"12345678", "two": b"x-9"})
        self.assertTrue(os.path.isdir(self.path))
        # No temporary file is left beside it.
        self.assertEqual(sorted(os.listdir(os.path.dirname(self.path))),
                         [".vault-token", "checksum"])

    def test_bad_paths_refused_before_any_request(self):
        link = os.path.join(self.env.tmp, "token-link")
        os.symlink(self.env.token_path, link)
        cases = [
            (self.path + "/", r"\"%s/\" is not a file name" % self.path),
            (self.path + "/..", r"is not a file name"),
            (self.env.token_path, r"is the token file VAULT_TOKEN_PATH"),
            (link, r"is the token file VAULT_TOKEN_PATH"),
            ("/nonexistent/dir/checksum",
             r"directory /nonexistent/dir: No such file or directory"),
            (self.env.token_path + "/checksum",
             r"%s is not a directory" % self.env.token_path),
        ]
        for path, why in cases:
            r = self.env.run("synchronizer", VAULT_SECRETS="secret/k8s/first",
                             SYNC_CHECKSUM_FILE=path)
            self.assertEqual(r.code, 1, (path, r))
            self.assertLog(r, r"^failed to prepare synchronization of "
                              r"secrets: SYNC_CHECKSUM_FILE: .*" + why)
        self.assertEqual(self.env.kube.count(), 0)
        self.assertEqual(self.env.vault.count("GET"), 0)
        # The token is intact.
        self.assertTrue(self.env.token().startswith("hvs."))

    def test_secret_left_alone_is_not_in_the_checksum(self):
        # "second" exists without our annotation: it is not written, so
        # its Vault data must not move the checksum either.
        self.env.put("secret/k8s/second", {"s": "second-value-1"})
        self.env.kube.put_secret(NAMESPACE, {"metadata": {"name": "second"},
                                             "data": {"s": "b3RoZXI="}})
        r = self.env.run("synchronizer",
                         VAULT_SECRETS="secret/k8s/first,secret/k8s/second",
                         SYNC_CHECKSUM_FILE=self.path)
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^WARNING: ignoring secret second - not managed")
        self.assertEqual(self.read(), self.expected(["first"]))
        self.env.put("secret/k8s/second", {"s": "second-value-2"})
        r = self.env.run("synchronizer",
                         VAULT_SECRETS="secret/k8s/first,secret/k8s/second",
                         SYNC_CHECKSUM_FILE=self.path)
        self.assertEqual(r.code, 0, r)
        self.assertNoLog(r, WRITTEN)
        self.assertEqual(self.read(), self.expected(["first"]))

    def test_sidecar_checksum_follows_the_data(self):
        s = Sidecar(self, VAULT_SECRETS="secret/k8s/first,secret/k8s/dir/",
                    SYNC_INTERVAL="1s", SYNC_CHECKSUM_FILE=self.path)
        s.wait_count(SYNCED, 1)
        first = self.read()
        self.assertEqual(first, self.expected(["first", "alpha"]))
        ino = os.stat(self.path).st_ino

        # Cycles without a change leave the file alone.
        s.wait_count(SYNCED, 3)
        self.assertEqual(os.stat(self.path).st_ino, ino)
        self.assertEqual(s.count(WRITTEN), 1)

        # A changed value, then a new secret under the directory.
        self.env.put("secret/k8s/first", {"one": "changed-1", "two": "x-9"})
        self.assertTrue(wait_for(lambda: self.read() != first,
                                 timeout=FOLLOW_S, step=0.02))
        self.assertEqual(self.read(), self.expected(["first", "alpha"]))
        self.env.put("secret/k8s/dir/beta", {"b": "beta-value-1"})
        self.assertTrue(wait_for(
            lambda: self.env.secret("beta") is not None and
            self.read() == self.expected(["first", "alpha", "beta"]),
            timeout=FOLLOW_S, step=0.02))
        r, _ = s.stop()
        self.assertEqual(r.code, 0, r)
        self.assertEqual(s.count(WRITTEN), 3)

    def test_documented_liveness_probe(self):
        # The start command and probe of docs/synchronizer-sidecar.md,
        # taken from the document, run against the sidecar's file.
        doc = os.path.join(os.path.dirname(__file__), "..", "..", "docs",
                           "synchronizer-sidecar.md")
        with open(doc) as f:
            text = f.read()
        start = re.search(r'"sh", "-c", "(cat /home/vault/checksum[^"]*)"',
                          text).group(1).replace("exec my-app", "exec true")
        probe = re.search(r'"sh", "-c", "(test ! -e /home/vault[^"]*)"',
                          text).group(1)
        tmp = os.path.join(self.env.tmp, "app-tmp")
        os.mkdir(tmp)

        def sh(cmd):
            cmd = cmd.replace("/home/vault/checksum", self.path)
            cmd = cmd.replace("/tmp/started", os.path.join(tmp, "started"))
            return subprocess.run(["sh", "-c", cmd]).returncode

        # No file yet (a pod started without a token): healthy.
        self.assertEqual(sh(start), 0)
        self.assertEqual(sh(probe), 0)
        s = Sidecar(self, VAULT_SECRETS="secret/k8s/first",
                    SYNC_INTERVAL="1s", SYNC_CHECKSUM_FILE=self.path)
        s.wait_count(SYNCED, 1)
        self.assertNotEqual(sh(probe), 0)  # the file appeared: restart
        self.assertEqual(sh(start), 0)      # the restarted app remembers
        s.wait_count(SYNCED, 2)
        self.assertEqual(sh(probe), 0)
        self.env.put("secret/k8s/first", {"one": "rotated-1", "two": "x-9"})
        self.assertTrue(wait_for(lambda: sh(probe) != 0, timeout=FOLLOW_S,
                                 step=0.1))
        r, _ = s.stop()
        self.assertEqual(r.code, 0, r)

    def test_sidecar_cycle_fails_while_unwritable_and_recovers(self):
        os.mkdir(self.path)
        s = Sidecar(self, VAULT_SECRETS="secret/k8s/first",
                    SYNC_INTERVAL="1s", SYNC_CHECKSUM_FILE=self.path)
        s.wait_count(r"^failed to synchronize secrets \(1 in a row\), "
                     r"retrying in \d+ms: SYNC_CHECKSUM_FILE: rename ", 1)
        os.rmdir(self.path)
        s.wait_count(SYNCED, 1)
        self.assertEqual(self.read(), self.expected(["first"]))
        r, _ = s.stop()
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^synchronization recovered after \d+ failed "
                          r"cycles$")


if __name__ == "__main__":
    import unittest
    unittest.main()
