"""The synchronizer against hostile or broken answers: a directory
listing that is not one, Kubernetes errors that echo the token or a
value, names from a listing that would change a URL, null metadata,
a list that never ends, and KV keys that json-c would merge."""

import base64
import json
import unittest

from harness import E2ETest, NAMESPACE

LIST_PATH = r"/api/v1/namespaces/default/secrets$"


def b64(s):
    return base64.b64encode(s.encode()).decode()


def listing(*items, cont=None):
    meta = {"resourceVersion": "1"}
    if cont is not None:
        meta["continue"] = cont
    return {"kind": "SecretList", "apiVersion": "v1", "metadata": meta,
            "items": list(items)}


def item(name, annotations=None, labels=None, data=None):
    meta = {"name": name, "namespace": NAMESPACE, "resourceVersion": "1"}
    if annotations is not None:
        meta["annotations"] = annotations
    if labels is not None:
        meta["labels"] = labels
    return {"metadata": meta, "data": data or {}, "type": "Opaque"}


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": message, "reason": reason,
            "code": code}


class DirectoryListingTest(E2ETest):
    """Finding 1: only a 404 means an empty directory."""

    def setUp(self):
        super().setUp()
        self.env.put("secret/k8s/first", {"one": "12345678"})
        self.env.put("secret/k8s/second", {"two": "87654321"})
        self.login()
        r = self.sync()
        self.assertEqual(r.code, 0, r)
        self.assertIsNotNone(self.env.secret("first"))

    def sync(self):
        return self.env.run("synchronizer", VAULT_SECRETS="secret/k8s/")

    def assert_refused(self, r, expect):
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"secret/metadata/k8s/?.*" + expect)
        self.assertNoLog(r, r"^delete secret")
        self.assertEqual(self.env.kube.count("DELETE"), 0)
        self.assertIsNotNone(self.env.secret("first"))
        self.assertIsNotNone(self.env.secret("second"))

    def inject(self, status=200, body=b""):
        self.env.vault.inject(r"/secret/metadata/k8s", status=status,
                              body=body, count=None)

    def test_empty_success_body_is_not_an_empty_directory(self):
        self.inject(body=b"")
        self.assert_refused(self.sync(), "data.keys")

    def test_204_is_not_an_empty_directory(self):
        self.inject(status=204)
        self.assert_refused(self.sync(), "data.keys")

    def test_no_data_is_not_an_empty_directory(self):
        for body in ({}, {"data": None}, {"data": {}}):
            with self.subTest(body=body):
                self.env.vault.clear_faults()
                self.inject(body=body)
                self.assert_refused(self.sync(), "data.keys")

    def test_number_keys_refused(self):
        self.inject(body={"data": {"keys": [1, 2]}})
        self.assert_refused(self.sync(), "not a string")

    def test_key_with_nul_refused(self):
        self.inject(body=b'{"data":{"keys":["fi\\u0000rst","second"]}}')
        self.assert_refused(self.sync(), "NUL")

    def test_empty_key_refused(self):
        self.inject(body={"data": {"keys": ["", "second"]}})
        self.assert_refused(self.sync(), "empty")

    def test_404_still_means_empty(self):
        self.inject(status=404, body={"errors": []})
        r = self.sync()
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"lists no secrets")


class KubeErrorRedactionTest(E2ETest):
    """Finding 2: no token or value in a Kubernetes error."""

    def setUp(self):
        super().setUp()
        self.env.put("secret/k8s/first", {"one": "12345678"})
        self.login()

    def sync(self):
        return self.env.run("synchronizer", VAULT_SECRETS="secret/k8s/first")

    def test_status_message_with_token(self):
        self.env.kube.inject(LIST_PATH, method="GET", status=403,
                             body=status(403, "Forbidden",
                                         "token %s is not allowed"
                                         % self.env.jwt), count=None)
        r = self.sync()  # the harness fails the test on a leak
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"list secrets: 403 Forbidden: token <redacted> "
                       r"is not allowed")

    def test_raw_body_with_token(self):
        self.env.kube.inject(LIST_PATH, method="GET", status=400,
                             body="Authorization: Bearer " + self.env.jwt,
                             count=None)
        r = self.sync()
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"list secrets: 400 Bad Request: Authorization: "
                       r"Bearer <redacted>$")

    def test_token_cut_at_the_limit_is_not_shown_in_part(self):
        body = "x" * 190 + " " + self.env.jwt
        self.env.kube.inject(LIST_PATH, method="GET", status=400,
                             body=body, count=None)
        r = self.sync()
        self.assertEqual(r.code, 1, r)
        self.assertNotIn(self.env.jwt[:8], r.err)

    def test_write_error_with_value(self):
        for value in ("12345678", b64("12345678")):
            with self.subTest(value=value):
                self.env.kube.clear_faults()
                self.env.kube.inject(
                    LIST_PATH, method="POST", status=422,
                    body=status(422, "Invalid",
                                "admission webhook denied: data.one value "
                                "%s is weak" % value), count=None)
                r = self.sync()
                self.assertEqual(r.code, 1, r)
                self.assertNotIn("12345678", r.err)
                self.assertNotIn(b64("12345678"), r.err)
                self.assertLog(r, r"create secret first: 422 Invalid: "
                               r"admission webhook denied: data.one value "
                               r"<redacted> is weak")


class ListedNamesTest(E2ETest):
    """Finding 3: names from the listing never change a URL."""

    def setUp(self):
        super().setUp()
        self.env.put("secret/k8s/first", {"one": "12345678"})
        self.login()

    def sync(self, **env):
        return self.env.run("synchronizer", VAULT_SECRETS="secret/k8s/first",
                            **env)

    def test_dot_names_and_non_strings_are_skipped(self):
        managed = {"vault-secret": "secret/data/k8s/gone"}
        self.env.kube.inject(
            LIST_PATH, method="GET", status=200, count=None,
            body=listing(item(".", managed), item("..", managed),
                         {"metadata": {"name": 7,
                                       "annotations": managed}},
                         item("a/b", managed), item("x\x1by", managed)))
        r = self.sync()
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.env.kube.count("DELETE"), 0)
        self.assertLog(r, r"WARNING: .*secret named \"\.\.\".*not a valid")
        self.assertLog(r, r"WARNING: .*\\u001b")
        self.assertLog(r, r"WARNING: .*without a string name")
        self.assertNoLog(r, r"delete secret")
        self.assertNoLog(r, "\x1b")


class NullMetadataTest(E2ETest):
    """Finding 4a: a null annotation or label value is a difference."""

    def setUp(self):
        super().setUp()
        self.env.put("secret/k8s/first", {"one": "12345678"})
        self.login()

    def test_null_annotation_and_label(self):
        for ann, labels in (({"vault-secret": None}, {}),
                            ({"vault-secret": 5}, {"team": None}),
                            ({"vault-secret": "secret/data/k8s/first"},
                             {"team": None})):
            with self.subTest(ann=ann, labels=labels):
                self.env.kube.clear_faults()
                self.env.kube.inject(
                    LIST_PATH, method="GET", status=200, count=1,
                    body=listing(item("first", ann, labels)))
                self.env.kube.put_secret(NAMESPACE, {
                    "metadata": {"name": "first", "annotations": {
                        "vault-secret": "secret/data/k8s/first"}}})
                r = self.env.run("synchronizer",
                                 VAULT_SECRETS="secret/k8s/first",
                                 SYNCHRONIZER_LABELS="team=a")
                self.assertEqual(r.code, 0, r)
                self.assertLog(r, r"^update secret first")
                obj = self.env.secret("first")
                self.assertEqual(obj["metadata"]["labels"], {"team": "a"})


class EndlessListTest(E2ETest):
    """Finding 6: a repeated continue token ends the list with an error."""

    def setUp(self):
        super().setUp()
        self.env.put("secret/k8s/first", {"one": "12345678"})
        self.login()

    def test_repeated_continue_token(self):
        self.env.kube.inject(LIST_PATH, method="GET", status=200, count=None,
                             body=listing(item("other"), cont="same"))
        r = self.env.run("synchronizer", VAULT_SECRETS="secret/k8s/first",
                         timeout=30)
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"list secrets: the server repeated a continue token "
                       r"after 2 pages")
        self.assertLessEqual(self.env.kube.count("GET", LIST_PATH), 3)

    def test_too_many_items(self):
        page = listing(*[item("s%d" % i) for i in range(5000)],
                       cont=None)
        body = json.dumps(page).encode()
        # Fresh tokens on every page: only the item cap stops this.
        for i in range(25):
            p = dict(page)
            p["metadata"] = {"resourceVersion": "1", "continue": "t%d" % i}
            self.env.kube.inject(LIST_PATH, method="GET", status=200,
                                 body=json.dumps(p).encode())
        self.env.kube.inject(LIST_PATH, method="GET", status=200, body=body)
        r = self.env.run("synchronizer", VAULT_SECRETS="secret/k8s/first",
                         timeout=60)
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"list secrets: more than 100000 secrets")
        self.assertEqual(self.env.kube.writes(), 0)


class NulKeyTest(E2ETest):
    """Finding 11: a KV key with an embedded NUL is refused, not merged."""

    def setUp(self):
        super().setUp()
        self.env.put("secret/k8s/first", {"a": "y1234567"})
        self.login()

    def sync_answer(self, data):
        """One synchronizer run whose read of secret/k8s/first gets this
        KV v2 data object, given as raw JSON text."""
        self.env.vault.inject(
            r"/secret/data/k8s/first", method="GET", status=200, count=1,
            body=b'{"data":{"data":' + data + b',"metadata":{"version":1}}}')
        return self.env.run("synchronizer", VAULT_SECRETS="secret/k8s/first")

    # json-c cuts the key at the NUL and nothing in the parsed tree
    # tells; the Vault client scans the answer's text for it.
    def test_nul_key_refused(self):
        r = self.sync_answer(b'{"a\\u0000b":"x1234567","a":"y1234567"}')
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^failed to synchronize secrets: read "
                          r"secret/data/k8s/first from vault: .*a key in "
                          r"the answer holds a NUL character")
        self.assertIsNone(self.env.secret("first"))

    def test_nul_in_value_kept(self):
        # Values have a length: a NUL inside one reaches the Secret, as
        # do a value and a key spelling a backslash then "u0000" (the
        # key then fails Kubernetes' key rule, not the NUL check).
        r = self.sync_answer(b'{"c" : "x\\u0000y1234567","d":"\\\\u0000"}')
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.env.secret_data("first"),
                         {"c": b"x\0y1234567", "d": b"\\u0000"})
        r = self.sync_answer(b'{"a\\\\u0000b":"x1234567"}')
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r'key "a\\u0000b" is not a valid')
        self.assertNoLog(r, r"NUL")
