"""The Vault client's TLS options against the Vault double over HTTPS:
trust from a file, a directory or a variable, mutual TLS, the server
name, skipping verification, and each failure named for what it is."""

import os
import shutil
import subprocess
import tempfile

import harness
from doubles.common import make_certs
from vault_client_base import ClientTest, issue_cert

_other = None


def other_ca():
    """A second, unrelated CA and its server certificate."""
    global _other
    if _other is None:
        _other = make_certs()
    return _other


def pem(path):
    with open(path) as f:
        return f.read()


class TlsBase(ClientTest):
    def login(self, **env):
        return self.env.run("authenticator", **env)

    def assertLoggedIn(self, r):
        self.assertEqual(r.code, 0, r)
        self.assertEqual(len(self.logins()), 1)
        self.assertTrue(self.env.token().startswith("hvs."))

    def assertTlsFailure(self, r, pattern):
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, pattern)
        self.assertEqual(self.reqs(), [], "an HTTP request got through")
        self.assertFalse(os.path.exists(self.env.token_path))

    def tmpdir(self):
        d = tempfile.mkdtemp(prefix="vk-tls-")
        self.addCleanup(shutil.rmtree, d, True)
        return d


class TrustTest(TlsBase):
    def test_cacert_bundle_with_several_certificates(self):
        d = self.tmpdir()
        bundle = os.path.join(d, "bundle.pem")
        with open(bundle, "w") as f:
            f.write(pem(other_ca()["ca"]) + pem(harness.certs()["ca"]))
        self.assertLoggedIn(self.login(VAULT_CACERT=bundle))

    def test_cacert_without_the_issuer_is_unknown_ca(self):
        r = self.login(VAULT_CACERT=other_ca()["ca"])
        self.assertTlsFailure(r, r"unknown certificate authority")

    def test_cacert_missing_file_named(self):
        r = self.login(VAULT_CACERT="/nonexistent/ca.pem")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"VAULT_CACERT: cannot read /nonexistent/ca.pem")
        self.assertEqual(self.reqs(), [])

    def capath(self, hashed, *cas):
        d = self.tmpdir()
        for i, ca in enumerate(cas):
            name = "ca%d.pem" % i
            if hashed:
                h = subprocess.run(["openssl", "x509", "-hash", "-noout",
                                    "-in", ca], check=True, text=True,
                                   stdout=subprocess.PIPE).stdout.strip()
                name = "%s.%d" % (h, i)
            shutil.copy(ca, os.path.join(d, name))
        return d

    def test_capath_hashed(self):
        d = self.capath(True, other_ca()["ca"], harness.certs()["ca"])
        self.assertLoggedIn(self.login(VAULT_CACERT=None, VAULT_CAPATH=d))

    def test_capath_not_hashed(self):
        d = self.capath(False, other_ca()["ca"], harness.certs()["ca"])
        self.assertLoggedIn(self.login(VAULT_CACERT=None, VAULT_CAPATH=d))

    def test_capath_without_the_issuer_is_unknown_ca(self):
        d = self.capath(False, other_ca()["ca"])
        r = self.login(VAULT_CACERT=None, VAULT_CAPATH=d)
        self.assertTlsFailure(r, r"unknown certificate authority")

    def test_capath_not_a_directory(self):
        r = self.login(VAULT_CACERT=None,
                       VAULT_CAPATH=harness.certs()["ca"])
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"VAULT_CAPATH: .* is not a directory")

    def test_cacert_bytes(self):
        r = self.login(VAULT_CACERT=None,
                       VAULT_CACERT_BYTES=pem(harness.certs()["ca"]))
        self.assertLoggedIn(r)

    def test_cacert_bytes_wrong_ca(self):
        r = self.login(VAULT_CACERT=None,
                       VAULT_CACERT_BYTES=pem(other_ca()["ca"]))
        self.assertTlsFailure(r, r"unknown certificate authority")

    def test_cacert_wins_over_bytes_and_capath(self):
        # The Go client's order: VAULT_CACERT, then _BYTES, then CAPATH.
        good = self.capath(False, harness.certs()["ca"])
        r = self.login(VAULT_CACERT=other_ca()["ca"],
                       VAULT_CACERT_BYTES=pem(harness.certs()["ca"]),
                       VAULT_CAPATH=good)
        self.assertTlsFailure(r, r"unknown certificate authority")
        r = self.login(VAULT_CACERT=None,
                       VAULT_CACERT_BYTES=pem(other_ca()["ca"]),
                       VAULT_CAPATH=good)
        self.assertTlsFailure(r, r"unknown certificate authority")

    def test_no_trust_configured_uses_system_store(self):
        # The throwaway CA is in no system store: refused.
        r = self.login(VAULT_CACERT=None)
        self.assertTlsFailure(r, r"unknown certificate authority")

    def test_skip_verify_with_warning(self):
        r = self.login(VAULT_CACERT=other_ca()["ca"],
                       VAULT_SKIP_VERIFY="true")
        self.assertLoggedIn(r)
        self.assertLog(r, r"^WARNING: VAULT_SKIP_VERIFY is set")

    def test_skip_verify_false_still_verifies(self):
        r = self.login(VAULT_CACERT=other_ca()["ca"],
                       VAULT_SKIP_VERIFY="0")
        self.assertTlsFailure(r, r"unknown certificate authority")
        self.assertNoLog(r, r"VAULT_SKIP_VERIFY is set")

    def test_skip_verify_malformed(self):
        r = self.login(VAULT_SKIP_VERIFY="yes")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"VAULT_SKIP_VERIFY")
        self.assertEqual(self.reqs(), [])


class ServerNameTest(TlsBase):
    """A certificate for vault.test only, reached at 127.0.0.1."""

    @classmethod
    def setUpClass(cls):
        cls.vault_tls = issue_cert(names=("vault.test",), ips=())

    def test_address_not_in_certificate_is_name_mismatch(self):
        r = self.login()
        self.assertTlsFailure(r, r"certificate name mismatch")

    def test_tls_server_name_verifies_other_name(self):
        r = self.login(VAULT_TLS_SERVER_NAME="vault.test")
        self.assertLoggedIn(r)
        # The connection and the Host header still go to the address.
        self.assertEqual(self.logins()[0]["headers"]["host"],
                         "127.0.0.1:%d" % self.env.vault.port)

    def test_wrong_tls_server_name_is_name_mismatch(self):
        r = self.login(VAULT_TLS_SERVER_NAME="other.test")
        self.assertTlsFailure(r, r"certificate name mismatch")
        self.assertLog(r, r"other\.test")

    def test_skip_verify_ignores_the_name(self):
        self.assertLoggedIn(self.login(VAULT_SKIP_VERIFY="1"))


class ExpiredTest(TlsBase):
    @classmethod
    def setUpClass(cls):
        cls.vault_tls = issue_cert(names=("localhost",),
                                   ips=("127.0.0.1",),
                                   start="20200101000000Z",
                                   end="20200201000000Z")

    def test_expired_certificate_named(self):
        r = self.login()
        self.assertTlsFailure(r, r"certificate expired")

    def test_expired_certificate_with_skip_verify(self):
        self.assertLoggedIn(self.login(VAULT_SKIP_VERIFY="true"))


class MutualTlsTest(TlsBase):
    vault_kw = {"client_ca": harness.certs()["ca"]}

    def test_client_certificate_accepted(self):
        c = harness.certs()
        r = self.login(VAULT_CLIENT_CERT=c["client_cert"],
                       VAULT_CLIENT_KEY=c["client_key"])
        self.assertLoggedIn(r)

    def test_missing_client_certificate_refused_by_server(self):
        r = self.login()
        self.assertTlsFailure(r, r"TLS handshake failed")

    def test_client_certificate_from_another_ca_refused(self):
        o = other_ca()
        r = self.login(VAULT_CLIENT_CERT=o["client_cert"],
                       VAULT_CLIENT_KEY=o["client_key"])
        self.assertTlsFailure(r, r"TLS handshake failed")

    def test_cert_without_key_is_a_config_error(self):
        r = self.login(VAULT_CLIENT_CERT=harness.certs()["client_cert"])
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"both client cert and client key must be "
                          r"provided")
        self.assertEqual(self.reqs(), [])

    def test_unreadable_client_key_named(self):
        r = self.login(VAULT_CLIENT_CERT=harness.certs()["client_cert"],
                       VAULT_CLIENT_KEY="/nonexistent/key.pem")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"VAULT_CLIENT_KEY: cannot read "
                          r"/nonexistent/key.pem")
