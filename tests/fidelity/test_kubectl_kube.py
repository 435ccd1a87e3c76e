"""Fidelity of the Kubernetes API double, checked with a real kubectl.

kubectl is a client written against the real API server: when it can list,
create, read, replace, page and delete Secrets through the double, and
prints the same error texts it prints for a real server, the double's
discovery documents, objects and Status answers have the right shape. Raw
HTTP checks cover what kubectl hides (Status details, empty lists, items
without kind, no stringData echoed).

Run from the repository root:
    /usr/bin/python3 -m unittest tests/fidelity/test_kubectl_kube.py
"""

import base64
import glob
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

from doubles.common import make_certs  # noqa: E402
from doubles.kube_double import KubeDouble  # noqa: E402

PINNED = "/usr/lib/google-cloud-sdk/bin/kubectl.1.30"
FULL = "full-token-0123456789"
NODELETE = "nodelete-token-0123456789"
GETONLY = "getonly-token-0123456789"
SA_FULL = "system:serviceaccount:default:synchronizer"
SA_LIMITED = "system:serviceaccount:default:limited"


def find_kubectl():
    """The pinned kubectl, else any versioned one, else one on PATH."""
    if os.access(PINNED, os.X_OK):
        return PINNED
    others = sorted(glob.glob("/usr/lib/google-cloud-sdk/bin/kubectl.1.*"))
    for path in reversed(others):
        if os.access(path, os.X_OK):
            return path
    return shutil.which("kubectl")


KUBECTL = find_kubectl()


@unittest.skipIf(KUBECTL is None, "no kubectl binary on this machine "
                 "(looked for %s, kubectl.1.* and kubectl on PATH)" % PINNED)
class KubectlAgainstDouble(unittest.TestCase):
    ns_counter = 0

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vk-kube-fid-")
        os.mkdir(os.path.join(cls.tmp, "certs"))
        cls.certs = make_certs(os.path.join(cls.tmp, "certs"))
        cls.kube = KubeDouble(tls=(cls.certs["cert"], cls.certs["key"]))
        cls.kube.start()
        cls.kube.add_token(FULL, user=SA_FULL)
        cls.kube.add_token(NODELETE, user=SA_LIMITED,
                           verbs={"get", "list", "create", "update",
                                  "patch"})
        cls.kube.add_token(GETONLY, user=SA_LIMITED, verbs={"get"})
        cls.kubeconfig = os.path.join(cls.tmp, "kubeconfig")
        users = [("full", FULL), ("nodelete", NODELETE),
                 ("getonly", GETONLY), ("stranger", "not-a-known-token")]
        config = {
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "double", "cluster": {
                "server": cls.kube.url,
                "certificate-authority": cls.certs["ca"]}}],
            "users": [{"name": n, "user": {"token": t}} for n, t in users],
            "contexts": [{"name": n, "context": {
                "cluster": "double", "user": n, "namespace": "default"}}
                for n, _ in users],
            "current-context": "full"}
        with open(cls.kubeconfig, "w") as f:
            json.dump(config, f)
        cls.env = dict(os.environ, KUBECONFIG=cls.kubeconfig,
                       HOME=cls.tmp)
        for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY",
                    "http_proxy"):
            cls.env.pop(var, None)
        cls.ssl = ssl.create_default_context(cafile=cls.certs["ca"])

    @classmethod
    def tearDownClass(cls):
        cls.kube.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        # each test works in a namespace of its own
        KubectlAgainstDouble.ns_counter += 1
        self.ns = "fid-%d" % KubectlAgainstDouble.ns_counter
        self.kube.clear_faults()
        self.kube.page_size = None

    # -- helpers -----------------------------------------------------------
    def kubectl(self, *args, user="full", check=None):
        cmd = [KUBECTL, "--context", user, "-n", self.ns] + list(args)
        proc = subprocess.run(cmd, env=self.env, capture_output=True,
                              text=True, timeout=60)
        if check is True and proc.returncode != 0:
            self.fail("%s failed (%d): %s" % (" ".join(args),
                                              proc.returncode, proc.stderr))
        if check is False and proc.returncode == 0:
            self.fail("%s unexpectedly succeeded: %s" % (" ".join(args),
                                                         proc.stdout))
        return proc

    def write_json(self, name, obj):
        path = os.path.join(self.tmp, "%s-%s.json" % (self.ns, name))
        with open(path, "w") as f:
            json.dump(obj, f)
        return path

    def http(self, method, path, body=None, token=FULL,
             content_type="application/json"):
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else \
                json.dumps(body).encode()
        req = urllib.request.Request(self.kube.url + path, data=data,
                                     method=method)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        if data is not None:
            req.add_header("Content-Type", content_type)
        req.add_header("Accept", "application/json")
        try:
            with urllib.request.urlopen(req, context=self.ssl) as resp:
                return resp.status, resp.headers, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, json.loads(exc.read())

    def secret_path(self, name=""):
        path = "/api/v1/namespaces/%s/secrets" % self.ns
        return path + ("/" + name if name else "")

    # -- kubectl -----------------------------------------------------------
    def test_get_secrets_empty_then_populated(self):
        out = self.kubectl("get", "secrets", "-o", "json", check=True)
        self.assertEqual(json.loads(out.stdout)["items"], [])
        out = self.kubectl("get", "secrets", check=True)
        self.assertIn("No resources found in %s namespace." % self.ns,
                      out.stdout + out.stderr)

        self.kube.put_secret(self.ns, {
            "metadata": {"name": "seeded", "labels": {"app": "x"}},
            "data": {"k": base64.b64encode(b"v").decode()}})
        out = self.kubectl("get", "secrets", "-o", "json", check=True)
        items = json.loads(out.stdout)["items"]
        self.assertEqual([i["metadata"]["name"] for i in items], ["seeded"])
        self.assertEqual(items[0]["data"], {"k": "dg=="})
        self.assertEqual(items[0]["metadata"]["labels"], {"app": "x"})

        # server-side Table, printed by kubectl
        out = self.kubectl("get", "secrets", check=True)
        lines = out.stdout.strip().splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "TYPE", "DATA", "AGE"])
        self.assertEqual(lines[1].split()[:3], ["seeded", "Opaque", "1"])

    def test_create_get_round_trip(self):
        binary = bytes(range(256))
        path = self.write_json("app", {
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "app-creds",
                         "labels": {"app": "billing", "tier": "db"},
                         "annotations": {"vault-secret": "secret/k8s/app",
                                         "example.com/note": "a b\nc"}},
            "data": {"blob": base64.b64encode(binary).decode(),
                     "empty": ""},
            "stringData": {"user": "admin", "blob2": "pl\u00e4in"}})
        out = self.kubectl("create", "-f", path, "--validate=false",
                           check=True)
        self.assertEqual(out.stdout.strip(), "secret/app-creds created")
        post = [r for r in self.kube.requests if r["method"] == "POST"]
        self.assertEqual(post[-1]["headers"]["content-type"],
                         "application/json")

        out = self.kubectl("get", "secret", "app-creds", "-o", "json",
                           check=True)
        got = json.loads(out.stdout)
        self.assertEqual(got["kind"], "Secret")
        self.assertEqual(got["apiVersion"], "v1")
        self.assertEqual(got["type"], "Opaque")
        self.assertNotIn("stringData", got)
        meta = got["metadata"]
        self.assertEqual(meta["name"], "app-creds")
        self.assertEqual(meta["namespace"], self.ns)
        self.assertEqual(meta["labels"], {"app": "billing", "tier": "db"})
        self.assertEqual(meta["annotations"]["example.com/note"], "a b\nc")
        self.assertRegex(meta["uid"], r"^[0-9a-f]{8}-[0-9a-f]{4}-")
        self.assertRegex(meta["resourceVersion"], r"^[0-9]+$")
        self.assertRegex(meta["creationTimestamp"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        decoded = {k: base64.b64decode(v) for k, v in got["data"].items()}
        self.assertEqual(decoded, {"blob": binary, "empty": b"",
                                   "user": b"admin",
                                   "blob2": "pl\u00e4in".encode()})
        stored = self.kube.get_secret(self.ns, "app-creds")
        self.assertEqual(stored["data"], got["data"])
        self.assertEqual(stored["metadata"]["uid"], meta["uid"])

    def test_replace_updates_and_bumps_resource_version(self):
        path = self.write_json("r", {
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "rep"}, "data": {"a": "MQ==", "b": "Mg=="}})
        self.kubectl("create", "-f", path, "--validate=false", check=True)
        before = self.kube.get_secret(self.ns, "rep")
        path = self.write_json("r2", {
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "rep", "labels": {"v": "2"}},
            "data": {"a": "Mw=="}})
        out = self.kubectl("replace", "-f", path, "--validate=false",
                           check=True)
        self.assertEqual(out.stdout.strip(), "secret/rep replaced")
        after = json.loads(self.kubectl("get", "secret", "rep", "-o",
                                        "json", check=True).stdout)
        self.assertEqual(after["data"], {"a": "Mw=="})
        self.assertEqual(after["metadata"]["labels"], {"v": "2"})
        self.assertEqual(after["metadata"]["uid"], before["metadata"]["uid"])
        self.assertGreater(int(after["metadata"]["resourceVersion"]),
                           int(before["metadata"]["resourceVersion"]))
        self.assertEqual(self.kube.count("PUT", self.secret_path("rep")), 1)

    def test_replace_with_stale_resource_version_conflicts(self):
        created = self.kube.put_secret(self.ns, {"metadata": {"name": "cf"},
                                                 "data": {"a": "MQ=="}})
        stale = created["metadata"]["resourceVersion"]
        self.kube.put_secret(self.ns, {"metadata": {"name": "cf"},
                                       "data": {"a": "Mg=="}})
        path = self.write_json("cf", {
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "cf", "resourceVersion": stale},
            "data": {"a": "Mw=="}})
        out = self.kubectl("replace", "-f", path, "--validate=false",
                           check=False)
        self.assertIn('Error from server (Conflict): error when replacing '
                      '"%s": Operation cannot be fulfilled on secrets "cf": '
                      'the object has been modified; please apply your '
                      'changes to the latest version and try again' % path,
                      out.stderr)
        self.assertEqual(self.kube.get_secret(self.ns, "cf")["data"],
                         {"a": "Mg=="})

    def test_delete_polls_until_not_found(self):
        self.kube.put_secret(self.ns, {"metadata": {"name": "gone"}})
        self.kube.reset_counters()
        out = self.kubectl("delete", "secret", "gone", check=True)
        self.assertEqual(out.stdout.strip(), 'secret "gone" deleted')
        self.assertIsNone(self.kube.get_secret(self.ns, "gone"))
        delete = [r for r in self.kube.requests if r["method"] == "DELETE"]
        self.assertEqual(len(delete), 1)
        self.assertEqual(delete[0]["headers"].get("content-type"),
                         "application/json")
        self.assertGreaterEqual(self.kube.count("GET",
                                                self.secret_path("gone")),
                                1)
        out = self.kubectl("delete", "secret", "gone", check=False)
        self.assertIn('Error from server (NotFound): secrets "gone" not '
                      'found', out.stderr)

    def test_forbidden_texts(self):
        self.kube.put_secret(self.ns, {"metadata": {"name": "keep"}})
        out = self.kubectl("delete", "secret", "keep", user="nodelete",
                           check=False)
        self.assertIn('Error from server (Forbidden): secrets "keep" is '
                      'forbidden: User "%s" cannot delete resource '
                      '"secrets" in API group "" in the namespace "%s"'
                      % (SA_LIMITED, self.ns), out.stderr)
        self.assertIsNotNone(self.kube.get_secret(self.ns, "keep"))

        out = self.kubectl("get", "secrets", user="getonly", check=False)
        self.assertIn('Error from server (Forbidden): secrets is forbidden: '
                      'User "%s" cannot list resource "secrets" in API '
                      'group "" in the namespace "%s"'
                      % (SA_LIMITED, self.ns), out.stderr)
        out = self.kubectl("get", "secret", "keep", "-o", "json",
                           user="getonly", check=True)
        self.assertEqual(json.loads(out.stdout)["metadata"]["name"], "keep")

    def test_unauthorized_token(self):
        out = self.kubectl("get", "secrets", user="stranger", check=False)
        self.assertIn("Unauthorized", out.stderr)
        self.assertIn("You must be logged in to the server", out.stderr)

    def test_removed_token_is_refused(self):
        self.kube.add_token("rotating-token", user=SA_FULL)
        self.kubectl("get", "secrets", "-o", "json", "--token",
                     "rotating-token", check=True)
        self.kube.remove_token("rotating-token")
        out = self.kubectl("get", "secrets", "-o", "json", "--token",
                           "rotating-token", check=False)
        self.assertIn("You must be logged in to the server", out.stderr)

    def test_duplicate_create_already_exists(self):
        path = self.write_json("dup", {"apiVersion": "v1", "kind": "Secret",
                                       "metadata": {"name": "dup"}})
        self.kubectl("create", "-f", path, "--validate=false", check=True)
        out = self.kubectl("create", "-f", path, "--validate=false",
                           check=False)
        self.assertIn('Error from server (AlreadyExists): error when '
                      'creating "%s": secrets "dup" already exists' % path,
                      out.stderr)

    def test_invalid_name_is_422(self):
        path = self.write_json("bad", {"apiVersion": "v1", "kind": "Secret",
                                       "metadata": {"name": "Bad_Name"},
                                       "data": {"k": "dg=="}})
        self.kube.reset_counters()
        out = self.kubectl("create", "-f", path, "--validate=false",
                           check=False)
        self.assertIn('The Secret "Bad_Name" is invalid: metadata.name: '
                      'Invalid value: "Bad_Name": a lowercase RFC 1123 '
                      'subdomain must consist of lower case alphanumeric '
                      'characters', out.stderr)
        self.assertEqual(self.kube.secrets(self.ns), {})
        self.assertEqual(self.kube.writes(), 1)

        # several errors: kubectl lists the Status causes one per line
        path = self.write_json("bad2", {
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "ok-name", "labels": {"bad key": "v"}},
            "data": {"a/b": "", "..x": ""}})
        out = self.kubectl("create", "-f", path, "--validate=false",
                           check=False)
        self.assertIn('The Secret "ok-name" is invalid: \n', out.stderr)
        causes = [line for line in out.stderr.splitlines()
                  if line.startswith("* ")]
        self.assertEqual([c.split(":")[0] for c in causes],
                         ["* metadata.labels", "* data[..x]",
                          "* data[a/b]"])
        self.assertIn('* data[..x]: Invalid value: "..x": must not start '
                      "with '..'", causes)

    def test_chunked_list_returns_everything(self):
        for i in range(5):
            self.kube.put_secret(self.ns, {"metadata": {"name": "s%d" % i}})
        self.kube.reset_counters()
        out = self.kubectl("get", "secrets", "--chunk-size=2", "-o", "json",
                           check=True)
        names = [i["metadata"]["name"] for i in json.loads(out.stdout)
                 ["items"]]
        self.assertEqual(names, ["s0", "s1", "s2", "s3", "s4"])
        lists = [r for r in self.kube.requests
                 if r["path"] == self.secret_path()]
        self.assertEqual(len(lists), 3)
        self.assertEqual([r["query"].get("limit") for r in lists],
                         ["2", "2", "2"])
        self.assertNotIn("continue", lists[0]["query"])
        self.assertTrue(lists[1]["query"].get("continue"))
        self.assertTrue(lists[2]["query"].get("continue"))

        # the Table form pages the same way
        out = self.kubectl("get", "secrets", "--chunk-size=2", check=True)
        rows = [line.split()[0] for line in out.stdout.splitlines()[1:]]
        self.assertEqual(rows, ["s0", "s1", "s2", "s3", "s4"])

    def test_server_error_reaches_kubectl(self):
        # the harness must see the double's answers: an injected failure
        # has to make kubectl fail with the Status message
        self.kube.inject(r"/secrets$", status=500, method="GET", count=None,
                         body={"kind": "Status", "apiVersion": "v1",
                               "metadata": {}, "status": "Failure",
                               "message": "etcdserver: request timed out",
                               "reason": "InternalError", "code": 500},
                         headers={"Content-Type": "application/json"})
        out = self.kubectl("get", "secrets", "-o", "json",
                           "--request-timeout=5s", check=False)
        self.assertIn("etcdserver: request timed out", out.stderr)

    # -- raw HTTP ----------------------------------------------------------
    def test_status_shapes(self):
        code, headers, body = self.http("GET", self.secret_path("nope"))
        self.assertEqual(code, 404)
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(body, {
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": 'secrets "nope" not found',
            "reason": "NotFound",
            "details": {"name": "nope", "kind": "secrets"}, "code": 404})

        code, _, body = self.http("GET", self.secret_path(), token=None)
        self.assertEqual((code, body), (401, {
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": "Unauthorized",
            "reason": "Unauthorized", "code": 401}))

        code, _, body = self.http("POST", self.secret_path(), {
            "metadata": {"name": "Bad_Name"}, "data": {"bad/key": "",
                                                       "ok": "dg=="}})
        self.assertEqual(code, 422)
        self.assertEqual(body["reason"], "Invalid")
        self.assertEqual(body["details"]["kind"], "Secret")
        self.assertEqual(body["details"]["name"], "Bad_Name")
        self.assertEqual([(c["reason"], c["field"])
                          for c in body["details"]["causes"]],
                         [("FieldValueInvalid", "metadata.name"),
                          ("FieldValueInvalid", "data[bad/key]")])
        self.assertTrue(body["message"].startswith(
            'Secret "Bad_Name" is invalid: [metadata.name: Invalid value: '
            '"Bad_Name": '))

        code, _, body = self.http("POST", self.secret_path(), {
            "metadata": {"name": "x"}, "data": {"k": "not base64!"}})
        self.assertEqual((code, body["reason"]), (400, "BadRequest"))
        self.assertEqual(body["message"], 'Secret in version "v1" cannot be '
                         'handled as a Secret: illegal base64 data at input '
                         'byte 3')
        self.assertNotIn("details", body)

        code, _, body = self.http("DELETE", self.secret_path("nope"))
        self.assertEqual((code, body["details"]["kind"]), (404, "secrets"))

        seeded = self.kube.put_secret(self.ns, {"metadata": {"name": "d"}})
        code, _, body = self.http("DELETE", self.secret_path("d"), {
            "kind": "DeleteOptions", "apiVersion": "v1",
            "propagationPolicy": "Background"})
        self.assertEqual((code, body), (200, {
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Success", "details": {
                "name": "d", "kind": "secrets",
                "uid": seeded["metadata"]["uid"]}}))

        code, _, body = self.http("GET", "/api/v1/nothing-here")
        self.assertEqual((code, body["kind"], body["reason"]),
                         (404, "Status", "NotFound"))

    def test_forbidden_status_shape(self):
        code, _, body = self.http("DELETE", self.secret_path("x"),
                                  token=NODELETE)
        self.assertEqual(code, 403)
        self.assertEqual(body["details"], {"name": "x", "kind": "secrets"})
        code, _, body = self.http("GET", self.secret_path(), token=GETONLY)
        self.assertEqual(code, 403)
        self.assertEqual(body["details"], {"kind": "secrets"})
        self.assertEqual(body["message"],
                         'secrets is forbidden: User "%s" cannot list '
                         'resource "secrets" in API group "" in the '
                         'namespace "%s"' % (SA_LIMITED, self.ns))

    def test_empty_list_and_items(self):
        code, headers, body = self.http("GET", self.secret_path())
        self.assertEqual(code, 200)
        self.assertEqual(body["items"], [])
        self.assertEqual(body["kind"], "SecretList")
        self.assertEqual(body["apiVersion"], "v1")
        self.assertRegex(body["metadata"]["resourceVersion"], r"^[0-9]+$")

        code, _, created = self.http("POST", self.secret_path(), {
            "metadata": {"name": "sd"}, "stringData": {"k": "plain"}})
        self.assertEqual(code, 201)
        self.assertNotIn("stringData", created)
        self.assertEqual(created["data"], {"k": "cGxhaW4="})
        code, _, created = self.http("POST", self.secret_path(), {
            "metadata": {"name": "nodata"}})
        self.assertEqual(code, 201)
        self.assertNotIn("data", created)
        self.assertEqual(created["type"], "Opaque")

        code, _, body = self.http("GET", self.secret_path())
        self.assertEqual([i["metadata"]["name"] for i in body["items"]],
                         ["nodata", "sd"])
        for item in body["items"]:
            self.assertNotIn("kind", item)
            self.assertNotIn("apiVersion", item)
            self.assertNotIn("stringData", item)

    def test_continue_tokens_and_short_pages(self):
        for i in range(4):
            self.kube.put_secret(self.ns, {"metadata": {
                "name": "p%d" % i, "labels": {"odd": str(i % 2)}}})
        code, _, body = self.http("GET", self.secret_path() +
                                  "?limit=3&continue=garbage")
        self.assertEqual((code, body["reason"]), (400, "BadRequest"))
        self.assertIn("continue", body["message"])

        # selector applied after the limit: short and empty pages
        self.kube.page_size = 1
        names, pages, token = [], 0, ""
        while True:
            code, _, body = self.http(
                "GET", self.secret_path() + "?labelSelector=odd%3D1" +
                ("&continue=" + token if token else ""))
            self.assertEqual(code, 200)
            pages += 1
            self.assertNotIn("remainingItemCount", body["metadata"])
            names += [i["metadata"]["name"] for i in body["items"]]
            token = body["metadata"].get("continue")
            if not token:
                break
        self.assertEqual(names, ["p1", "p3"])
        self.assertEqual(pages, 4)

        code, _, body = self.http("GET", self.secret_path())
        self.assertEqual(len(body["items"]), 1)
        self.assertEqual(body["metadata"]["remainingItemCount"], 3)

        self.kube.expire_continue_tokens()
        code, _, body = self.http("GET", self.secret_path() +
                                  "?continue=" + body["metadata"]
                                  ["continue"])
        self.assertEqual((code, body["reason"]), (410, "Expired"))
        self.assertTrue(body["metadata"]["continue"])


if __name__ == "__main__":
    unittest.main()
