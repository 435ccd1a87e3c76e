"""The synchronizer's Role in deploy/ grants exactly the Kubernetes verbs
the synchronizer uses: the real binary runs every path that talks to the
API (create, update, delete, a conflicting update, a create that races
another writer, the no-token check) against the Kubernetes double, whose
token holds only the Role's verbs; the verbs are then derived from the
requests the double recorded, the way the API server's RBAC names them.
"""

import glob
import os
import sys
import threading
import unittest

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

from harness import E2ETest, NAMESPACE, wait_for  # noqa: E402

SECRETS = "secret/k8s/first,secret/k8s/second,secret/k8s/first:third"


def deploy_docs():
    for path in sorted(glob.glob(os.path.join(ROOT, "deploy", "*.yaml"))):
        with open(path) as f:
            for doc in yaml.safe_load_all(f):
                if doc:
                    yield doc


def synchronizer_role():
    roles = [d for d in deploy_docs() if d["kind"] == "Role" and
             d["metadata"]["name"] == "vault-kubernetes-synchronizer"]
    if len(roles) != 1:
        raise AssertionError("expected one synchronizer Role in deploy/, "
                             "found %d" % len(roles))
    return roles[0]


def verb_of(req):
    """The RBAC verb the API server checks for a recorded request on
    secrets (None for other paths)."""
    parts = req["path"].strip("/").split("/")
    if parts[:2] != ["api", "v1"] or "secrets" not in parts:
        return None
    named = parts[-1] != "secrets"
    watching = req["query"].get("watch") in ("1", "true", "True")
    if req["method"] == "GET":
        return "watch" if watching else ("get" if named else "list")
    return {("POST", False): "create", ("PUT", True): "update",
            ("PATCH", True): "patch", ("DELETE", True): "delete",
            ("DELETE", False): "deletecollection"}.get(
                (req["method"], named), "unknown " + req["method"])


class RoleTest(E2ETest):
    def setUp(self):
        super().setUp()
        role = synchronizer_role()
        self.assertEqual(len(role["rules"]), 1, role["rules"])
        rule = role["rules"][0]
        self.assertEqual(rule["apiGroups"], [""])
        self.assertEqual(rule["resources"], ["secrets"])
        self.assertNotIn("resourceNames", rule)
        self.role_verbs = set(rule["verbs"])
        self.assertNotIn("*", self.role_verbs)
        # The pod's token may do exactly what the Role grants, only in its
        # own namespace.
        self.env.kube.add_token(self.env.jwt, verbs=self.role_verbs,
                                namespaces=[NAMESPACE])
        self.env.put("secret/k8s/first", {"one": "first-one-value"})
        self.env.put("secret/k8s/second", {"green": "second-green-value"})
        self.used = set()

    def record(self):
        for req in self.env.kube.requests:
            verb = verb_of(req)
            if verb is not None:
                self.used.add(verb)
        self.env.kube.reset_counters()

    def sync(self, expect=0, **env):
        r = self.env.run("synchronizer", VAULT_SECRETS=SECRETS, **env)
        self.assertEqual(r.code, expect, r)
        self.assertNoLog(r, "forbidden")
        self.record()
        return r

    def managed(self, name, source, value="stale"):
        self.env.kube.put_secret(NAMESPACE, {
            "metadata": {"name": name,
                         "annotations": {"vault-secret": source}},
            "stringData": {"k": value}})

    def race(self, method, name):
        """Runs the synchronizer while the double holds the first
        method request on Secret name for a moment, during which another
        writer stores that Secret: the write then meets a real 409."""
        path = r"^/api/v1/namespaces/%s/secrets(/%s)?$" % (NAMESPACE, name)
        self.env.kube.inject(path, method=method, delay=1.0)
        p = self.env.spawn("synchronizer", VAULT_SECRETS=SECRETS)
        done = threading.Event()
        try:
            self.assertTrue(wait_for(
                lambda: self.env.kube.count(method, path) > 0, 20),
                "the synchronizer sent no %s for %s" % (method, name))
            self.managed(name, "secret/data/k8s/first", "other-writer")
            out, err = p.communicate(timeout=60)
            done.set()
        finally:
            if not done.is_set():
                p.kill()
                p.communicate()
        self.env.check_hygiene(out + err)
        self.assertEqual(p.returncode, 0, err)
        self.assertNotIn("forbidden", err)
        self.record()
        return err

    def test_role_verbs_are_the_verbs_the_synchronizer_uses(self):
        self.login()

        # Create, then update a stale managed Secret and delete one that
        # is no longer listed.
        r = self.sync()
        self.assertLog(r, r"^create secret first ")
        self.managed("second", "secret/data/k8s/second")
        self.managed("obsolete", "secret/data/k8s/obsolete")
        r = self.sync()
        self.assertLog(r, r"^update secret second ")
        self.assertLog(r, r"^delete secret obsolete$")

        # An update that meets a concurrent change reads the Secret again.
        self.managed("third", "secret/data/k8s/first")
        err = self.race("PUT", "third")
        self.assertIn("changed while being updated", err)

        # A create that meets a Secret created meanwhile reads it.
        self.env.kube.delete_secret(NAMESPACE, "first")
        err = self.race("POST", "first")
        self.assertIn("appeared while being created", err)

        # No token (the authenticator failed under ALLOW_FAIL): the
        # synchronizer checks that every Secret exists.
        os.unlink(self.env.token_path)
        r = self.sync()
        self.assertLog(r, r"^check k8s secret first ")

        self.assertEqual(self.used, self.role_verbs,
                         "verbs the synchronizer used vs the Role's verbs")

    def test_a_role_without_a_used_verb_fails_the_run(self):
        # Must fail: without delete the obsolete Secret cannot go, and the
        # run says so instead of succeeding.
        self.env.kube.add_token(self.env.jwt,
                                verbs=self.role_verbs - {"delete"},
                                namespaces=[NAMESPACE])
        self.login()
        self.managed("obsolete", "secret/data/k8s/obsolete")
        r = self.env.run("synchronizer", VAULT_SECRETS=SECRETS)
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"forbidden")


if __name__ == "__main__":
    unittest.main()
