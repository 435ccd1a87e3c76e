"""Fidelity of the fake Vault: a real Vault client library (hvac) must
accept it, and the raw shapes hvac hides must match api-reference.md.

Run from the repository root:
    /usr/bin/python3 -m unittest tests/fidelity/test_hvac_vault.py
"""

import json
import os
import ssl
import sys
import time
import unittest
import warnings
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))          # tests/

import hvac                                          # noqa: E402
import hvac.exceptions                               # noqa: E402

from doubles.common import make_certs                # noqa: E402
from doubles.vault_double import VaultDouble, go_duration  # noqa: E402

APP_POLICY = {
    "secret/data/k8s/*": ["read"],
    "secret/metadata/k8s/*": ["list"],
    "legacy/k8s/*": ["read", "list"],
    "sys/mounts": ["read"],
}


class VaultFidelity(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.certs = make_certs()
        cls.v = VaultDouble(tls=(cls.certs["cert"], cls.certs["key"]))
        v = cls.v
        v.enable_kv("secret/", version=2)
        v.enable_kv("legacy/", version=None)
        v.enable_kv("old/", version=1, kv_type="generic")
        v.enable_kv("empty/", version="")
        v.enable_mount("pki/", "pki")
        v.kv_put("secret/k8s/first", {"one": "12345678", "two": "23456781"})
        v.kv_put("secret/k8s/second", {"green": "lantern", "poison": "ivy"})
        v.kv_put("secret/k8s/sub/third", {"a": "b"})
        v.kv_put("legacy/k8s/one", {"user": "app", "port": 5432})
        v.kv_put("legacy/k8s/dir/two", {"k": "v"})
        v.kv_put_raw_json("secret/k8s/nums",
                          '{"big": 12345678901234567890, "r": 0.10}')
        v.add_policy("app", APP_POLICY)
        v.add_policy("other", {"elsewhere/*": ["read"]})
        v.add_k8s_role("demo", sa_names=["default"], namespaces=["default"],
                       policies=["app"], ttl=3600)
        v.add_k8s_role("short", sa_names=["default"], namespaces=["default"],
                       policies=["app"], ttl=1)
        v.add_k8s_role("prod", mount="k8s/prod", sa_names=["app"],
                       namespaces=["prod"], policies=["app"], ttl=600)
        v.add_k8s_role("unconf", mount="k8s-unconfigured",
                       policies=["app"], configured=False)
        v.add_k8s_role("batch", policies=["app"], token_type="batch")
        v.add_k8s_role("fixed", policies=["app"], renewable=False)
        v.add_approle("app", role_id="role-123", secret_id="secret-456",
                      policies=["app"], ttl=1200)
        v.start()
        cls.jwt = v.issue_jwt("default", "default")
        cls.ctx = ssl.create_default_context(cafile=cls.certs["ca"])

    @classmethod
    def tearDownClass(cls):
        cls.v.stop()

    def setUp(self):
        # hvac keeps pooled HTTPS sessions open between calls
        warnings.simplefilter("ignore", ResourceWarning)
        self.v.sealed = False
        self.v.error_style = "post117"
        self.v.clear_faults()

    # -- helpers --------------------------------------------------------
    def client(self, token=None):
        return hvac.Client(url=self.v.url, token=token,
                           verify=self.certs["ca"])

    def login(self, role="demo"):
        c = self.client()
        c.auth.kubernetes.login(role, self.jwt)
        return c

    def raw(self, method, path, token=None, body=None, headers=None):
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else \
                json.dumps(body).encode()
        req = urllib.request.Request(self.v.url + path, method=method,
                                     data=data)
        if token:
            req.add_header("X-Vault-Token", token)
        for k, val in (headers or {}).items():
            req.add_header(k, val)
        try:
            with urllib.request.urlopen(req, context=self.ctx) as f:
                return f.status, dict(f.headers), f.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def raw_json(self, *a, **kw):
        status, headers, body = self.raw(*a, **kw)
        return status, (json.loads(body) if body else None)

    # -- hvac ---------------------------------------------------------------
    def test_kubernetes_login(self):
        c = self.client()
        res = c.auth.kubernetes.login("demo", self.jwt)
        auth = res["auth"]
        self.assertTrue(auth["client_token"].startswith("hvs."))
        self.assertEqual(c.token, auth["client_token"])
        self.assertEqual(auth["policies"], ["app", "default"])
        self.assertEqual(auth["token_policies"], ["app", "default"])
        self.assertEqual(auth["lease_duration"], 3600)
        self.assertTrue(auth["renewable"])
        self.assertTrue(auth["orphan"])
        self.assertEqual(auth["token_type"], "service")
        self.assertEqual(sorted(auth["metadata"]), [
            "role", "service_account_name", "service_account_namespace",
            "service_account_secret_name", "service_account_uid"])
        self.assertEqual(res["lease_duration"], 0)
        self.assertFalse(res["renewable"])
        self.assertIsNone(res["data"])
        self.assertEqual(res["mount_type"], "kubernetes")
        self.assertTrue(c.is_authenticated())

    def test_kubernetes_login_nested_mount(self):
        jwt = self.v.issue_jwt("app", "prod", projected=True)
        c = self.client()
        res = c.auth.kubernetes.login("prod", jwt, mount_point="k8s/prod")
        self.assertEqual(res["auth"]["lease_duration"], 600)
        self.assertEqual(res["auth"]["metadata"]["service_account_namespace"],
                         "prod")

    def test_kubernetes_login_errors(self):
        c = self.client()
        cases = [
            (dict(role="nope", jwt=self.jwt), hvac.exceptions.InvalidRequest,
             'invalid role name "nope"'),
            (dict(role="demo", jwt="a.b.c"), hvac.exceptions.Forbidden,
             "permission denied"),
        ]
        for kw, exc, text in cases:
            with self.assertRaises(exc) as cm:
                c.auth.kubernetes.login(**kw)
            self.assertEqual(cm.exception.errors, [text])
        other = self.v.issue_jwt("intruder", "default")
        with self.assertRaises(hvac.exceptions.Forbidden) as cm:
            c.auth.kubernetes.login("demo", other)
        self.assertEqual(cm.exception.errors,
                         ["service account name not authorized"])
        wrong_ns = self.v.issue_jwt("default", "kube-system")
        with self.assertRaises(hvac.exceptions.Forbidden) as cm:
            c.auth.kubernetes.login("demo", wrong_ns)
        self.assertEqual(cm.exception.errors, ["namespace not authorized"])
        with self.assertRaises(hvac.exceptions.InternalServerError) as cm:
            c.auth.kubernetes.login("unconf", self.jwt,
                                    mount_point="k8s-unconfigured")
        self.assertEqual(cm.exception.errors,
                         ["could not load backend configuration"])

    def test_approle_login(self):
        c = self.client()
        res = c.auth.approle.login("role-123", "secret-456")
        self.assertEqual(res["auth"]["metadata"], {"role_name": "app"})
        self.assertEqual(res["auth"]["lease_duration"], 1200)
        self.assertEqual(res["mount_type"], "approle")
        self.assertEqual(c.token, res["auth"]["client_token"])
        with self.assertRaises(hvac.exceptions.InvalidRequest) as cm:
            self.client().auth.approle.login("role-123", "wrong")
        self.assertEqual(cm.exception.errors, ["invalid role or secret ID"])
        with self.assertRaises(hvac.exceptions.InvalidRequest) as cm:
            self.client().auth.approle.login("", "x")
        self.assertEqual(cm.exception.errors, ["missing role_id"])

    def test_kv2_read_and_list(self):
        c = self.login()
        res = c.secrets.kv.v2.read_secret_version(path="k8s/first",
                                                  mount_point="secret")
        self.assertEqual(res["data"]["data"],
                         {"one": "12345678", "two": "23456781"})
        self.assertEqual(res["data"]["metadata"]["version"], 1)
        self.assertEqual(res["data"]["metadata"]["deletion_time"], "")
        self.assertEqual(res["lease_duration"], 0)
        keys = c.secrets.kv.v2.list_secrets(path="k8s",
                                            mount_point="secret")
        self.assertEqual(keys["data"]["keys"],
                         ["first", "nums", "second", "sub/"])

    def test_kv2_versions_via_hvac_write(self):
        c = self.client(self.v.root_token)
        r1 = c.secrets.kv.v2.create_or_update_secret(
            path="w/x", secret={"a": "1"}, mount_point="secret")
        r2 = c.secrets.kv.v2.create_or_update_secret(
            path="w/x", secret={"a": "2"}, mount_point="secret")
        self.assertEqual((r1["data"]["version"], r2["data"]["version"]),
                         (1, 2))
        old = c.secrets.kv.v2.read_secret_version(path="w/x", version=1,
                                                  mount_point="secret")
        self.assertEqual(old["data"]["data"], {"a": "1"})
        meta = c.secrets.kv.v2.read_secret_metadata(path="w/x",
                                                    mount_point="secret")
        self.assertEqual(meta["data"]["current_version"], 2)
        self.assertEqual(sorted(meta["data"]["versions"]), ["1", "2"])

    def test_kv1_read_and_list(self):
        c = self.login()
        res = c.secrets.kv.v1.read_secret(path="k8s/one",
                                          mount_point="legacy")
        self.assertEqual(res["data"], {"user": "app", "port": 5432})
        self.assertEqual(res["lease_duration"], 2764800)
        keys = c.secrets.kv.v1.list_secrets(path="k8s", mount_point="legacy")
        self.assertEqual(keys["data"]["keys"], ["dir/", "one"])

    def test_token_lookup_and_renew(self):
        c = self.login()
        look = c.auth.token.lookup_self()["data"]
        self.assertEqual(look["policies"], ["app", "default"])
        self.assertEqual(look["creation_ttl"], 3600)
        self.assertEqual(look["id"], c.token)
        self.assertTrue(look["renewable"])
        self.assertEqual(look["type"], "service")
        self.assertLessEqual(look["ttl"], 3600)
        self.assertGreater(look["ttl"], 3590)
        res = c.auth.token.renew_self(increment=600)
        self.assertEqual(res["auth"]["lease_duration"], 600)
        self.assertTrue(res["auth"]["renewable"])
        self.assertEqual(res["auth"]["client_token"], c.token)
        self.assertIsNone(res["data"])
        self.assertEqual(self.v.token(c.token)["renew_count"], 1)
        res = c.auth.token.renew_self(increment="2h")
        self.assertEqual(res["auth"]["lease_duration"], 7200)
        res = c.auth.token.renew_self()
        self.assertEqual(res["auth"]["lease_duration"], 3600)
        look = c.auth.token.lookup_self()["data"]
        self.assertIn("last_renewal_time", look)

    def test_forbidden(self):
        c = self.login()
        with self.assertRaises(hvac.exceptions.Forbidden):
            c.secrets.kv.v2.read_secret_version(path="other/x",
                                                mount_point="secret")
        bad = self.client("hvs.unknownunknownunknown")
        with self.assertRaises(hvac.exceptions.Forbidden) as cm:
            bad.secrets.kv.v2.read_secret_version(path="k8s/first",
                                                  mount_point="secret")
        self.assertIn("invalid token", cm.exception.errors[0])

    def test_missing_is_invalid_path(self):
        c = self.login()
        with self.assertRaises(hvac.exceptions.InvalidPath):
            c.secrets.kv.v2.read_secret_version(path="k8s/missing",
                                                mount_point="secret")
        with self.assertRaises(hvac.exceptions.InvalidPath):
            c.secrets.kv.v1.read_secret(path="k8s/missing",
                                        mount_point="legacy")

    def test_sys_mounts(self):
        c = self.login()
        res = c.sys.list_mounted_secrets_engines()
        for where in (res, res["data"]):
            self.assertEqual(where["secret/"]["options"], {"version": "2"})
            self.assertIsNone(where["legacy/"]["options"])
            self.assertEqual(where["old/"]["type"], "generic")
            self.assertEqual(where["empty/"]["options"], {"version": ""})
            self.assertEqual(where["pki/"]["type"], "pki")
            self.assertIsNone(where["pki/"]["options"])
            self.assertEqual(where["sys/"]["type"], "system")
        self.assertEqual(
            c.sys.retrieve_mount_option("secret", "version"), "2")
        no_mounts = self.client(self.v.create_token(policies=["other"]))
        with self.assertRaises(hvac.exceptions.Forbidden):
            no_mounts.sys.list_mounted_secrets_engines()

    def test_unwrap_wrapped_login(self):
        c = self.client()
        wrapped = c.adapter.login("/v1/auth/kubernetes/login",
                                  use_token=False, wrap_ttl="5m",
                                  json={"role": "demo", "jwt": self.jwt})
        info = wrapped["wrap_info"]
        self.assertIsNone(wrapped["auth"])
        self.assertEqual(wrapped["request_id"], "")
        self.assertEqual(info["ttl"], 300)
        self.assertEqual(info["creation_path"], "auth/kubernetes/login")
        self.assertTrue(info["wrapped_accessor"])
        self.assertTrue(info["creation_time"].endswith("Z"))
        w = self.client(info["token"])
        # a wrapping token is not a usable Vault token
        with self.assertRaises(hvac.exceptions.Forbidden):
            w.secrets.kv.v2.read_secret_version(path="k8s/first",
                                                mount_point="secret")
        res = w.sys.unwrap()
        tok = res["auth"]["client_token"]
        self.assertEqual(res["auth"]["accessor"], info["wrapped_accessor"])
        self.assertEqual(self.client(tok).auth.token.lookup_self()
                         ["data"]["policies"], ["app", "default"])
        with self.assertRaises(hvac.exceptions.InvalidRequest) as cm:
            w.sys.unwrap()
        self.assertEqual(cm.exception.errors,
                         ["wrapping token is not valid or does not exist"])
        # body form: another token unwraps a second wrapping token
        wrapped = c.adapter.login("/v1/auth/kubernetes/login",
                                  use_token=False, wrap_ttl=60,
                                  json={"role": "demo", "jwt": self.jwt})
        res = self.client(tok).sys.unwrap(wrapped["wrap_info"]["token"])
        self.assertIn("client_token", res["auth"])

    def test_token_really_expires(self):
        c = self.login("short")
        self.assertEqual(c.auth.token.lookup_self()["data"]["creation_ttl"],
                         1)
        time.sleep(1.3)
        with self.assertRaises(hvac.exceptions.Forbidden):
            c.auth.token.lookup_self()
        self.assertIsNone(self.v.token(c.token))

    def test_revoke_self(self):
        c = self.login()
        resp = c.auth.token.revoke_self()
        self.assertEqual(resp.status_code, 204)
        self.assertEqual(resp.content, b"")
        with self.assertRaises(hvac.exceptions.Forbidden):
            c.auth.token.lookup_self()

    # -- raw shapes hvac hides ----------------------------------------------
    def test_envelope_headers_and_newline(self):
        tok = self.login().token
        status, headers, body = self.raw("GET",
                                         "/v1/secret/data/k8s/first", tok)
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(headers["Cache-Control"], "no-store")
        self.assertTrue(body.endswith(b"}\n"))
        env = json.loads(body)
        self.assertEqual(list(env), [
            "request_id", "lease_id", "renewable", "lease_duration", "data",
            "wrap_info", "warnings", "auth", "mount_type"])

    def test_number_text_is_kept(self):
        tok = self.login().token
        _, _, body = self.raw("GET", "/v1/secret/data/k8s/nums", tok)
        self.assertIn(b'"data":{"big":12345678901234567890,"r":0.10}', body)

    def test_soft_deleted_and_destroyed_envelope(self):
        v = self.v
        tok = self.login().token
        v.kv_put("secret/k8s/gone", {"x": "1"})
        v.kv_delete_latest("secret/k8s/gone")
        status, _, body = self.raw("GET", "/v1/secret/data/k8s/gone", tok)
        self.assertEqual(status, 404)
        env = json.loads(body)
        self.assertNotIn("errors", env)
        self.assertIsNone(env["data"]["data"])
        self.assertTrue(env["data"]["metadata"]["deletion_time"])
        self.assertFalse(env["data"]["metadata"]["destroyed"])
        self.assertEqual(env["data"]["metadata"]["version"], 1)
        v.kv_put("secret/k8s/gone", {"x": "2"})
        v.kv_destroy_latest("secret/k8s/gone")
        status, env = self.raw_json("GET", "/v1/secret/data/k8s/gone", tok)
        self.assertEqual(status, 404)
        self.assertTrue(env["data"]["metadata"]["destroyed"])
        self.assertEqual(env["data"]["metadata"]["deletion_time"], "")
        self.assertEqual(env["data"]["metadata"]["version"], 2)
        # still listed
        _, env = self.raw_json("GET", "/v1/secret/metadata/k8s/?list=true",
                               tok)
        self.assertIn("gone", env["data"]["keys"])
        v.kv_remove("secret/k8s/gone")
        self.assertEqual(self.raw("GET", "/v1/secret/data/k8s/gone", tok)
                         [::2], (404, b'{"errors":[]}\n'))

    def test_v2_path_without_data(self):
        tok = self.v.root_token
        for method, path, verb in (
                ("GET", "/v1/secret/k8s/first", "get"),
                ("GET", "/v1/secret/k8s/?list=true", "list"),
                ("LIST", "/v1/secret/data/k8s/", "list")):
            status, env = self.raw_json(method, path, tok)
            self.assertEqual(status, 404)
            self.assertIsNone(env["data"])
            self.assertEqual(env["warnings"], [
                "Invalid path for a versioned K/V secrets engine. See the "
                "API docs for the appropriate API endpoints to use. If "
                "using the Vault CLI, use 'vault kv %s' for this "
                "operation." % verb])

    def test_403_body_styles(self):
        pol_less = self.v.create_token(policies=["other"])
        path = "/v1/secret/data/k8s/first"
        self.assertEqual(self.raw("GET", path, "hvs.nope")[::2], (
            403, b'{"errors":["2 errors occurred:\\n\\t* permission denied'
                 b'\\n\\t* invalid token\\n\\n"]}\n'))
        self.assertEqual(self.raw("GET", path, pol_less)[::2], (
            403, b'{"errors":["1 error occurred:\\n\\t* permission denied'
                 b'\\n\\n"]}\n'))
        # the token check comes before routing
        self.assertEqual(self.raw("GET", "/v1/nomount/x", "hvs.nope")[0],
                         403)
        self.assertEqual(self.raw("GET", "/v1/nomount/x", pol_less)[0], 403)
        self.assertEqual(self.raw_json("GET", "/v1/nomount/x",
                                       self.v.root_token),
                         (404, {"errors": [
                             'no handler for route "nomount/x". '
                             'route entry not found.']}))
        self.v.error_style = "pre117"
        self.assertEqual(self.raw("GET", path, "hvs.nope")[::2],
                         (403, b'{"errors":["permission denied"]}\n'))
        self.assertEqual(self.raw("GET", path, pol_less)[0], 403)

    def test_preflight(self):
        tok = self.login().token
        status, env = self.raw_json(
            "GET", "/v1/sys/internal/ui/mounts/secret/k8s/first", tok)
        self.assertEqual(status, 200)
        self.assertEqual(env["data"]["path"], "secret/")
        self.assertEqual(env["data"]["options"], {"version": "2"})
        self.assertNotIn("secret/", env)
        _, env = self.raw_json("GET", "/v1/sys/internal/ui/mounts/legacy",
                               tok)
        self.assertIsNone(env["data"]["options"])
        for p in ("pki/x", "nomount/a/b"):
            status, env = self.raw_json(
                "GET", "/v1/sys/internal/ui/mounts/" + p, tok)
            self.assertEqual(status, 403)
            self.assertEqual(env["errors"], [
                "preflight capability check returned 403, please ensure "
                "client's policies grant access to path \"%s/\"" % p])
        status, env = self.raw_json(
            "GET", "/v1/sys/internal/ui/mounts/secret/k8s", "hvs.bad")
        self.assertEqual(status, 403)
        self.assertIn("invalid token", env["errors"][0])
        # a +-glob policy under the mount is enough
        self.v.add_policy("plus", {"legacy/+/one": ["read"]})
        t2 = self.v.create_token(policies=["plus"])
        self.assertEqual(self.raw("GET", "/v1/sys/internal/ui/mounts/legacy",
                                  t2)[0], 200)
        self.assertEqual(self.raw("GET", "/v1/legacy/k8s/one", t2)[0], 200)
        self.assertEqual(self.raw("GET", "/v1/legacy/k8s/dir/two", t2)[0],
                         403)

    def test_renew_cap_warning(self):
        tok = self.v.create_token(policies=["app"], ttl=600, max_ttl=2530)
        status, env = self.raw_json("PUT", "/v1/auth/token/renew-self", tok,
                                    body={"increment": 3600})
        self.assertEqual(status, 200)
        self.assertEqual(env["warnings"], [
            'TTL of "1h0m0s" exceeded the effective max_ttl of "42m10s"; '
            'TTL value is capped accordingly'])
        self.assertTrue(env["auth"]["renewable"])
        self.assertIn(env["auth"]["lease_duration"], (2529, 2530))
        self.assertEqual(env["mount_type"], "token")
        self.assertIsNone(env["data"])

    def test_renew_errors(self):
        def renew(tok):
            return self.raw_json("POST", "/v1/auth/token/renew-self", tok)
        fixed = self.login("fixed").token
        self.assertEqual(renew(fixed),
                         (400, {"errors": ["lease is not renewable"]}))
        batch = self.client().auth.kubernetes.login("batch", self.jwt)
        self.assertTrue(batch["auth"]["client_token"].startswith("hvb."))
        self.assertEqual(batch["auth"]["accessor"], "")
        self.assertEqual(renew(batch["auth"]["client_token"]),
                         (400, {"errors": ["batch tokens cannot be renewed"]}))
        self.assertEqual(renew(self.v.root_token),
                         (400, {"errors": ["invalid lease ID"]}))
        # periodic: increment ignored
        per = self.v.create_token(policies=["app"], period=120)
        status, env = self.raw_json("PUT", "/v1/auth/token/renew-self", per,
                                    body={"increment": "1h"})
        self.assertEqual(env["auth"]["lease_duration"], 120)
        # no default policy: lookup/renew refused
        nod = self.v.create_token(policies=["app"], no_default_policy=True)
        self.assertEqual(renew(nod)[0], 403)

    def test_http_conventions(self):
        tok = self.login().token
        # LIST == GET ?list=true
        a = self.raw_json("LIST", "/v1/secret/metadata/k8s", tok)[1]
        b = self.raw_json("GET", "/v1/secret/metadata/k8s?list=true", tok)[1]
        self.assertEqual(a["data"], b["data"])
        # Authorization: Bearer
        status, _ = self.raw_json("GET", "/v1/auth/token/lookup-self",
                                  headers={"Authorization": "Bearer " + tok})
        self.assertEqual(status, 200)
        # empty list and missing read: {"errors":[]}
        self.assertEqual(self.raw_json("GET", "/v1/legacy/k8s/none/"
                                       "?list=true", tok),
                         (404, {"errors": []}))
        # write to a path ending in /
        self.assertEqual(self.raw_json("PUT", "/v1/secret/data/k8s/",
                                       self.v.root_token, body={}),
                         (400, {"errors": [
                             "cannot write to a path ending in '/'"]}))
        # form-encoded login, POST == PUT
        form = ("role=demo&jwt=" + self.jwt).encode()
        status, env = self.raw_json(
            "PUT", "/v1/auth/kubernetes/login", body=form, headers={
                "Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200)
        self.assertTrue(env["auth"]["client_token"])
        # login ignores a bad token
        status, _ = self.raw_json("POST", "/v1/auth/kubernetes/login",
                                  "hvs.garbage",
                                  body={"role": "demo", "jwt": self.jwt})
        self.assertEqual(status, 200)
        # login errors
        self.assertEqual(self.raw_json("POST", "/v1/auth/kubernetes/login",
                                       body=b""),
                         (400, {"errors": ["missing role"]}))
        self.assertEqual(self.raw_json("POST", "/v1/auth/kubernetes/login",
                                       body={"role": "demo"}),
                         (400, {"errors": ["missing jwt"]}))
        self.assertEqual(self.raw_json("POST", "/v1/auth/x/login",
                                       body={"role": "demo", "jwt": "j"}),
                         (404, {"errors": [
                             'no handler for route "auth/x/login". '
                             'route entry not found.']}))
        # 204 with Content-Type, empty body
        status, headers, body = self.raw("POST", "/v1/legacy/scratch/new",
                                         self.v.root_token,
                                         body={"a": "b"})
        self.assertEqual((status, body), (204, b""))
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(self.raw_json("POST", "/v1/legacy/scratch/new2",
                                       self.v.root_token, body={}),
                         (400, {"errors": ["missing data fields"]}))
        # lookup-self only answers GET
        self.assertEqual(self.raw("POST", "/v1/auth/token/lookup-self",
                                  self.v.root_token)[0], 405)

    def test_faults(self):
        tok = self.login().token
        self.v.sealed = True
        self.assertEqual(self.raw_json("GET", "/v1/secret/data/k8s/first",
                                       tok),
                         (503, {"errors": ["Vault is sealed"]}))
        self.v.sealed = False
        self.v.inject(r"/v1/auth/token/renew-self", status=500,
                      body={"errors": ["boom"]}, count=1)
        self.assertEqual(self.raw_json("PUT", "/v1/auth/token/renew-self",
                                       tok), (500, {"errors": ["boom"]}))
        self.assertEqual(self.raw("PUT", "/v1/auth/token/renew-self",
                                  tok)[0], 200)
        self.assertGreaterEqual(self.v.count("PUT", r"renew-self$"), 2)

    def test_go_duration(self):
        for secs, text in ((3600, "1h0m0s"), (2530, "42m10s"), (0, "0s"),
                           (1.5, "1.5s"), (0.25, "250ms"), (59, "59s"),
                           (90061, "25h1m1s")):
            self.assertEqual(go_duration(secs), text)


if __name__ == "__main__":
    unittest.main()
