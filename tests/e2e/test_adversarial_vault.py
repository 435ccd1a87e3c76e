"""Strange but well-formed-HTTP answers from Vault, and hostile settings:
numbers out of range, tokens that are not tokens, paths that climb out
of their mount, file modes with special bits, control characters bound
for the log. Each case once passed through unchecked."""

import os
import re
import signal
import stat
import time

from harness import E2ETest, wait_for
from renewer_base import LOGIN, RENEW, RenewerTest

LOOKUP = r"auth/token/lookup-self"
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


class LoginAnswerTest(E2ETest):
    def login_answer(self, auth):
        self.env.vault.inject(LOGIN, status=200, body={"auth": auth})
        return self.env.run("authenticator")

    def test_malformed_client_tokens_are_refused_unwritten(self):
        bad = {
            "embedded NUL": "s.ab\u0000cdefgh",
            "too long": "s." + "Q" * 100000,
            "one past 8 KiB": "Q" * 8193,
            "leading space": " s.leadingspace",
            "trailing space": "s.trailingspace ",
            "inner space": "s.inner space",
            "non-ASCII": "s.caf\u00e9token",
            "control": "s.esc\u001btoken",
        }
        for what, tok in bad.items():
            with self.subTest(what):
                r = self.login_answer({"client_token": tok,
                                       "lease_duration": 60})
                self.assertEqual(r.code, 1, r)
                self.assertLog(r, r"^authentication failed: PUT https://"
                               r".*/v1/auth/kubernetes/login: 200: the "
                               r"answer carries a malformed client token "
                               r"\(expected 1 to 8192 printable ASCII "
                               r"characters, no spaces\)$")
                self.assertFalse(os.path.exists(self.env.token_path))
                # no part of the token is quoted
                for part in tok.strip().split("\u0000"):
                    self.assertNotIn(part[:12], r.err)
                self.assertLogFormat(r)

    def test_invalid_utf8_token_is_refused(self):
        self.env.vault.inject(LOGIN, status=200,
                              body=b'{"auth":{"client_token":"s.\xff\xfe'
                                   b'abc","lease_duration":60}}')
        r = self.env.run("authenticator")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"malformed client token")
        self.assertFalse(os.path.exists(self.env.token_path))

    def test_token_of_8_kib_is_accepted(self):
        tok = "s." + "Q" * 8190
        r = self.login_answer({"client_token": tok, "lease_duration": 60})
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.env.token(), tok)

    def test_login_lease_out_of_range_names_the_field(self):
        for lease in ["abc", -5, 10 ** 18, 9223372036854775807,
                      -9223372036854775808, 315360001, [1], True]:
            with self.subTest(lease=lease):
                r = self.login_answer({"client_token": "s.fine",
                                       "lease_duration": lease})
                self.assertEqual(r.code, 1, r)
                self.assertLog(r, r": 200: auth\.lease_duration is "
                               r"malformed; expected a number of seconds "
                               r"from 0 to 315360000$")
                self.assertFalse(os.path.exists(self.env.token_path))

    def test_login_lease_bounds_accepted(self):
        # 0 (a token without expiry), absent, 10 years exactly, and the
        # duration strings Go's client reads
        for lease in [0, None, 315360000, "1h", 3600.0]:
            with self.subTest(lease=lease):
                auth = {"client_token": "s.fine%s" % str(lease)[:1]}
                if lease is not None:
                    auth["lease_duration"] = lease
                r = self.login_answer(auth)
                self.assertEqual(r.code, 0, r)
                self.assertEqual(self.env.token(), auth["client_token"])
                os.unlink(self.env.token_path)

    def test_wrap_ttl_out_of_range_names_the_field(self):
        self.env.vault.inject(LOGIN, status=200, body={
            "wrap_info": {"token": "s.wrapped", "ttl": 10 ** 12}})
        r = self.env.run("authenticator", VAULT_WRAP_TTL="60s")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r": 200: wrap_info\.ttl is malformed")
        self.assertFalse(os.path.exists(self.env.token_path))


class LookupAnswerTest(E2ETest):
    def test_huge_ttl_is_no_reason_to_reuse(self):
        # ttl * 2 once fitted 64 bits and kept the token "for 10^18 s";
        # a larger one overflowed. Either way: a malformed answer, so the
        # authenticator logs in afresh.
        first = self.login()
        for ttl in [10 ** 18, 9223372036854775807, -1, "abc"]:
            with self.subTest(ttl=ttl):
                self.env.vault.inject(LOOKUP, status=200, body={"data": {
                    "ttl": ttl, "creation_ttl": ttl, "renewable": True}})
                before = self.env.vault.count(None, LOGIN)
                r = self.env.run("authenticator")
                self.assertEqual(r.code, 0, r)
                self.assertNoLog(r, r"^reusing vault token")
                self.assertEqual(self.env.vault.count(None, LOGIN),
                                 before + 1, r)
                self.assertNotEqual(self.env.token(), first)


class RenewAnswerTest(RenewerTest):
    def renew_once_with(self, auth):
        """Starts the renewer with one renew-self answer replaced by
        auth; returns its result after the renewal that follows."""
        token = self.env.token()
        if auth is not None and "client_token" not in auth:
            auth = dict(auth, client_token=token, renewable=True)
        self.env.vault.inject(RENEW, status=200, body={"auth": auth})
        before = self.env.vault.count(None, RENEW)
        p = self.start()
        self.wait_requests(RENEW, before + 2, timeout=10)
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(self.env.token(), token)
        return r

    def test_malformed_lease_is_retried_not_max_ttl(self):
        self.login()
        for lease in ["abc", 0, -5, 10 ** 18, 9300000000000000,
                      9223372036854775807, -9223372036854775808,
                      315360001, None]:
            with self.subTest(lease=lease):
                auth = {} if lease is None else {"lease_duration": lease}
                r = self.renew_once_with(auth)
                self.assertEqual(r.code, 0, r)
                self.assertLog(r, r"^token renewal failed, retrying in "
                               r"\d+ms: PUT https://.*/v1/auth/token/"
                               r"renew-self: 200: auth\.lease_duration is "
                               r"(malformed|missing); expected a number "
                               r"of seconds from 1 to 315360000$")
                self.assertNoLog(r, r"max TTL|expired")
                self.assertLog(r, r"^token renewed$")

    def test_zero_lease_capped_at_max_ttl_is_the_end(self):
        # Vault's answer in the last second before the max TTL: lease 0
        # and the warning that it capped the TTL. Not a malformed answer.
        token = self.login()
        self.env.vault.inject(RENEW, status=200, body={
            "auth": {"client_token": token, "lease_duration": 0,
                     "renewable": True},
            "warnings": ['TTL of "1h0m0s" exceeded the effective max_ttl '
                         'of "1s"; TTL value is capped accordingly']})
        p = self.start()
        r = self.finish(p, timeout=15)
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^token reaches its max TTL in 0s and "
                          r"VAULT_REAUTH is off")
        self.assertNoLog(r, r"retrying")

    def test_huge_ttl_at_start_up_is_no_overflow(self):
        token = self.login()
        self.env.vault.inject(LOOKUP, status=200, body={"data": {
            "ttl": 10 ** 18, "creation_ttl": 10 ** 18, "renewable": True}})
        p = self.start()
        self.wait_requests(RENEW, 1, timeout=10)
        self.assertTrue(wait_for(
            lambda: self.env.vault.token(token)["renew_count"] >= 1))
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^token renewed$")


class TokenFileModeTest(E2ETest):
    def test_special_bits_are_refused(self):
        for helper in ["authenticator", "token-renewer"]:
            for mode in ["7777", "4640", "2640", "1640", "04777"]:
                with self.subTest(helper=helper, mode=mode):
                    r = self.env.run(helper, VAULT_TOKEN_FILE_MODE=mode,
                                     VAULT_REAUTH="true",
                                     ALLOW_FAIL="true")
                    self.assertEqual(r.code, 1, r)
                    self.assertLog(r, r"VAULT_TOKEN_FILE_MODE: \"%s\" sets "
                                   r"setuid, setgid or sticky bits; "
                                   r"expected permission bits only \(at "
                                   r"most 0777\), such as 0640$" % mode)
                    self.assertFalse(os.path.exists(self.env.token_path))
                    self.assertEqual(self.env.vault.count(None, LOGIN), 0)

    def test_world_writable_is_warned_about(self):
        r = self.env.run("authenticator", VAULT_TOKEN_FILE_MODE="0666")
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^WARNING: VAULT_TOKEN_FILE_MODE 0666 makes the "
                       r"token world-writable$")
        mode = stat.S_IMODE(os.stat(self.env.token_path).st_mode)
        self.assertEqual(mode, 0o666)


class SecretsPathTest(E2ETest):
    def test_dot_segments_are_a_configuration_error(self):
        self.env.vault.kv_put("secret/k8s/first", {"one": "1"})
        for item in ["secret/k8s/x/../first",
                     "secret/k8s/x/../../../cubbyhole/foo",
                     "secret/./k8s/first", "secret//k8s/first"]:
            with self.subTest(item=item):
                r = self.env.run("synchronizer", VAULT_SECRETS=item)
                self.assertEqual(r.code, 1, r)
                self.assertLog(r, r"VAULT_SECRETS: item 1 .* path segment")
                self.assertEqual(len(self.env.vault.requests), 0, r)


class ControlCharactersTest(E2ETest):
    def test_no_control_character_reaches_the_log(self):
        # a KV key name with a terminal sequence, and a Vault error text
        self.login()
        self.env.vault.kv_put("secret/k8s/first", {
            "bad\u001b[2J\u0008\u000b\u000ckey\u007f": "v"})
        r = self.env.run("synchronizer", VAULT_SECRETS="secret/k8s/first")
        self.assertLog(r, r"key")
        self.assertIsNone(CONTROL.search(r.err), repr(r.err))
        self.env.vault.inject(LOGIN, status=400, body={
            "errors": ["bad\u001b[31m role\u0007\u0000x"]})
        r = self.env.run("authenticator", VAULT_FORCE_LOGIN="true")
        self.assertEqual(r.code, 1, r)
        self.assertIsNone(CONTROL.search(r.err), repr(r.err))
