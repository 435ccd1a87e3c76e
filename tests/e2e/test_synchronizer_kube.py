"""The synchronizer's Kubernetes side: RBAC errors, the CA, an IPv6
service address and the rotating service-account token."""

import os
import secrets
import shutil
import socket

from harness import E2ETest, NAMESPACE, Result, certs, wait_for
from doubles.common import make_certs  # after harness: it sets the path
from doubles.kube_double import KubeDouble

FORBIDDEN = (r'secrets is forbidden: User '
             r'"system:serviceaccount:default:default" cannot %s resource '
             r'"secrets" in API group "" in the namespace "default"$')


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class SynchronizerKubeTest(E2ETest):
    def setUp(self):
        super().setUp()
        self.env.put("secret/k8s/first", {"one": "12345678"})
        self.env.put("secret/k8s/second", {"two": "87654321"})
        self.login()

    def sync(self, **env):
        return self.env.run("synchronizer",
                            VAULT_SECRETS="secret/k8s/first,secret/k8s/second",
                            **env)

    def test_forbidden_create_names_verb_and_resource(self):
        self.env.kube.add_token(self.env.jwt, verbs={"list", "get"})
        r = self.sync()
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^failed to synchronize secrets: create secret "
                       r"first: 403 Forbidden: " + FORBIDDEN % "create")

    def test_forbidden_list_names_verb_and_resource(self):
        self.env.kube.add_token(self.env.jwt, verbs={"get", "create"})
        r = self.sync()
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^failed to synchronize secrets: list secrets: "
                       r"403 Forbidden: " + FORBIDDEN % "list")
        self.assertEqual(self.env.kube.writes(), 0)

    def test_wrong_ca_fails_clearly(self):
        other = make_certs()
        self.addCleanup(shutil.rmtree, other["dir"], True)
        shutil.copy(other["ca"], os.path.join(self.env.sa_dir, "ca.crt"))
        r = self.sync()
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^failed to synchronize secrets: list secrets: "
                       r".*https://127\.0\.0\.1:%d/.*certificate"
                       % self.env.kube.port)
        # The TLS handshake failed: the double never saw a request.
        self.assertEqual(self.env.kube.count(), 0)

    def test_missing_ca_fails_before_any_request(self):
        os.remove(os.path.join(self.env.sa_dir, "ca.crt"))
        r = self.sync()
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^failed to prepare synchronization of secrets: "
                       r"kubernetes CA certificate .*/ca\.crt: No such file")
        self.assertEqual(self.env.kube.count(), 0)
        self.assertEqual(self.env.vault.count("GET", r"^/v1/secret/"), 0)

    def test_ipv6_service_host(self):
        if not ipv6_loopback():
            self.skipTest("no IPv6 loopback on this machine")
        c = certs()
        kube6 = KubeDouble(tls=(c["cert"], c["key"]), host="::1").start()
        self.addCleanup(kube6.stop)
        kube6.add_token(self.env.jwt)
        r = self.sync(KUBERNETES_SERVICE_HOST="::1",
                      KUBERNETES_SERVICE_PORT=str(kube6.port))
        self.assertEqual(r.code, 0, r)
        self.assertIsNotNone(kube6.get_secret(NAMESPACE, "first"))
        self.assertEqual(kube6.count("POST"), 2)
        self.assertEqual(self.env.kube.count(), 0)

    def rotate(self):
        """Swaps the service-account token as the kubelet does for a
        projected token: the API server accepts only the new one."""
        new = "rotated-" + secrets.token_urlsafe(24)
        self.env.secret_values.add(new)
        self.env.kube.remove_token(self.env.jwt)
        self.env.kube.add_token(new)
        tmp = os.path.join(self.env.sa_dir, ".token.new")
        self.env.write(tmp, new)
        os.replace(tmp, os.path.join(self.env.sa_dir, "token"))
        return new

    def bearer_statuses(self):
        return [q["headers"].get("authorization", "")
                for q in self.env.kube.requests]

    def test_token_rotated_mid_run_is_read_again_on_401(self):
        # The token is read at start; Vault is slow while it rotates.
        vault, kube = self.env.vault, self.env.kube
        vault.inject(r"^/v1/secret/data/k8s/second$", method="GET",
                     delay=1.0)
        p = self.env.spawn("synchronizer",
                           VAULT_SECRETS="secret/k8s/first,secret/k8s/second")
        self.assertTrue(wait_for(
            lambda: vault.count("GET", r"^/v1/secret/data/k8s/second$")))
        self.assertEqual(kube.count(), 0)
        new = self.rotate()
        out, err = p.communicate(timeout=60)
        self.env.check_hygiene(out + err)
        r = Result(p.returncode, out, err)
        self.assertEqual(r.code, 0, r)
        auth = self.bearer_statuses()
        # One list with the old token (401), then everything with the new.
        self.assertEqual(auth[0], "Bearer " + self.env.jwt)
        self.assertTrue(all(a == "Bearer " + new for a in auth[1:]), r)
        self.assertEqual(kube.count("GET"), 2)
        self.assertEqual(kube.count("POST"), 2)
        self.assertIsNotNone(self.env.secret("second"))

    def test_token_rotated_between_runs(self):
        self.assertEqual(self.sync().code, 0)
        new = self.rotate()
        self.env.put("secret/k8s/first", {"one": "changed-1"})
        r = self.sync()
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^update secret first from vault secret ")
        last = self.env.kube.requests[-1]["headers"]["authorization"]
        self.assertEqual(last, "Bearer " + new)

    def test_revoked_token_reported(self):
        self.env.kube.remove_token(self.env.jwt)
        r = self.sync()
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^failed to synchronize secrets: list secrets: "
                       r"401 Unauthorized")
        self.assertEqual(self.env.kube.writes(), 0)


if __name__ == "__main__":
    import unittest
    unittest.main()
