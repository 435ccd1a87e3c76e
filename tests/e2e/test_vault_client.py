"""The Vault client's request headers, token checks, response wrapping,
warnings, address variables and connection reuse, seen by the doubles."""

import json
import signal
import ssl
import urllib.request

import harness
from harness import Result, wait_for
from vault_client_base import ClientTest

TRACE = {"X-Team": "blue", "X-Trace-Id": "t-0042"}


class HeaderTest(ClientTest):
    def sync(self, **env):
        self.env.put("secret/k8s/app", {"k": "value-333333"})
        self.assertEqual(self.env.run("authenticator", **env).code, 0)
        return self.env.run("synchronizer", VAULT_SECRETS="secret/k8s/app",
                            **env)

    def test_namespace_and_headers_on_every_request(self):
        r = self.sync(VAULT_NAMESPACE="team-a/",
                      VAULT_HEADERS=json.dumps(TRACE))
        self.assertEqual(r.code, 0, r)
        reqs = self.reqs()
        self.assertGreaterEqual(len(reqs), 3)
        for q in reqs:
            h = q["headers"]
            self.assertEqual(h.get("x-vault-namespace"), "team-a/", q)
            self.assertEqual(h.get("x-team"), "blue", q)
            self.assertEqual(h.get("x-trace-id"), "t-0042", q)
            self.assertEqual(h.get("x-vault-request"), "true", q)

    def test_no_namespace_header_by_default(self):
        self.assertEqual(self.sync().code, 0)
        for q in self.reqs():
            self.assertNotIn("x-vault-namespace", q["headers"])

    def test_vault_headers_refused(self):
        cases = [
            ('{"X-Vault-Token":"x"}', r"X-Vault-.*internal usage only"),
            ('{"x-vault-wrap-ttl":"1m"}', r"internal usage only"),
            ('{"X-Team": 5}', r"VAULT_HEADERS"),
            ('not json', r"could not unmarshal environment-supplied "
                         r"headers"),
            ('{"X-Team":"a\\r\\nInjected: 1"}', r"VAULT_HEADERS"),
        ]
        for value, pattern in cases:
            with self.subTest(value=value):
                r = self.env.run("authenticator", VAULT_HEADERS=value)
                self.assertEqual(r.code, 1, r)
                self.assertLog(r, pattern)
        self.assertEqual(self.reqs(), [])

    def test_non_printable_vault_token_refused_locally(self):
        r = self.env.run("synchronizer", VAULT_TOKEN="hvs.abc\x07def",
                         VAULT_SECRETS="secret/k8s/app")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"non-printable characters")
        self.assertEqual(self.reqs(), [])

    def test_non_printable_token_file_refused_locally(self):
        with open(self.env.token_path, "w") as f:
            f.write("hvs.abc\x01def\n")
        r = self.env.run("synchronizer", VAULT_SECRETS="secret/k8s/app")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"non-printable characters")
        self.assertEqual(self.reqs(), [])

    def test_token_file_whitespace_trimmed(self):
        self.assertEqual(self.env.run("authenticator").code, 0)
        token = self.env.token().strip()
        with open(self.env.token_path, "w") as f:
            f.write("  %s \r\n\n" % token)
        self.env.put("secret/k8s/app", {"k": "value-444444"})
        r = self.env.run("synchronizer", VAULT_SECRETS="secret/k8s/app")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.reqs()[-1]["headers"]["x-vault-token"], token)

    def test_mfa_warning(self):
        r = self.env.run("authenticator", VAULT_MFA="totp:123456")
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^WARNING: VAULT_MFA is set but has no effect")
        for q in self.logins():
            self.assertNotIn("x-vault-mfa", q["headers"])

    def test_agent_addr_wins_over_addr(self):
        r = self.env.run("authenticator", VAULT_ADDR="https://127.0.0.1:1",
                         VAULT_AGENT_ADDR=self.env.vault.url)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(len(self.logins()), 1)

    def test_default_address(self):
        r = self.env.run("authenticator", VAULT_ADDR=None)
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"PUT https://127\.0\.0\.1:8200/v1/auth/"
                          r"kubernetes/login: ")

    def test_malformed_addr_named(self):
        r = self.env.run("authenticator", VAULT_ADDR="ftp://vault:21")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"VAULT_ADDR")
        self.assertEqual(self.reqs(), [])

    def test_unreachable_error_names_cause(self):
        r = self.env.run("authenticator",
                         VAULT_ADDR="https://127.0.0.1:1")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"PUT https://127\.0\.0\.1:1/v1/auth/kubernetes/"
                          r"login: .*(Connection refused|connect)")


class WrapTest(ClientTest):
    def unwrap(self, wrapping_token):
        ctx = ssl.create_default_context(cafile=harness.certs()["ca"])
        req = urllib.request.Request(
            self.env.vault.url + "/v1/sys/wrapping/unwrap", data=b"{}",
            method="PUT", headers={"X-Vault-Token": wrapping_token})
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            return json.loads(resp.read())

    def test_authenticator_writes_a_wrapping_token(self):
        r = self.env.run("authenticator", VAULT_WRAP_TTL="5m")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.logins()[0]["headers"].get("x-vault-wrap-ttl"),
                         "5m")
        self.assertLog(r, r"holds a wrapping token")
        wrapping = self.env.token().strip()
        answer = self.unwrap(wrapping)
        client = answer["auth"]["client_token"]
        self.assertNotEqual(client, wrapping)
        self.assertIsNotNone(self.env.vault.token(client))
        self.assertIn("app", answer["auth"]["policies"])
        self.assertEqual(self.env.vault.unwrap_count, 1)

    def test_malformed_wrap_ttl(self):
        r = self.env.run("authenticator", VAULT_WRAP_TTL="later")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"VAULT_WRAP_TTL")
        self.assertEqual(self.reqs(), [])

    def test_synchronizer_does_not_wrap(self):
        self.env.put("secret/k8s/app", {"k": "value-555555"})
        self.assertEqual(self.env.run("authenticator").code, 0)
        self.env.vault.reset_counters()
        r = self.env.run("synchronizer", VAULT_SECRETS="secret/k8s/app",
                         VAULT_WRAP_TTL="5m")
        self.assertEqual(r.code, 0, r)
        self.assertTrue(self.reqs())
        for q in self.reqs():
            self.assertNotIn("x-vault-wrap-ttl", q["headers"])
        self.assertLog(r, r"^WARNING: VAULT_WRAP_TTL .*authenticator's "
                          r"login only")
        self.assertEqual(self.env.secret_data("app"), {"k": b"value-555555"})

    def test_renewer_does_not_wrap(self):
        self.assertEqual(self.env.run("authenticator").code, 0)
        self.env.vault.reset_counters()
        p = self.env.spawn("token-renewer", VAULT_WRAP_TTL="5m")
        try:
            self.assertTrue(wait_for(lambda: len(self.reqs()) >= 1,
                                     timeout=15))
        finally:
            p.send_signal(signal.SIGTERM)
            out, err = p.communicate(timeout=20)
        self.env.check_hygiene(out + err)
        r = Result(p.returncode, out, err)
        for q in self.reqs():
            self.assertNotIn("x-vault-wrap-ttl", q["headers"])
        self.assertLog(r, r"WARNING: VAULT_WRAP_TTL")


class ConnectionReuseTest(ClientTest):
    def test_100_secrets_one_connection_each(self):
        n = 100
        for i in range(n):
            self.env.put("secret/many/s%03d" % i, {"k": "value-%06d" % i})
        self.assertEqual(self.env.run("authenticator").code, 0)
        vault, kube = self.env.vault, self.env.kube
        vault.reset_counters()
        kube.reset_counters()
        r = self.env.run("synchronizer", VAULT_SECRETS="secret/many/",
                         SYNCHRONIZER_CONCURRENCY="1")
        self.assertEqual(r.code, 0, r)
        self.assertGreaterEqual(len(vault.requests), n)
        self.assertGreaterEqual(len(kube.requests), n)
        print("\n100 secrets: vault %d requests over %d connection(s), "
              "kube %d requests over %d connection(s)"
              % (len(vault.requests), vault.connections,
                 len(kube.requests), kube.connections))
        self.assertEqual(vault.connections, 1)
        self.assertEqual(kube.connections, 1)
