"""The token-renewer through Vault outages, refusals and re-logins, with a
reader of the token file that must never see anything but a whole token."""

import os
import signal
import stat
import time
import unittest

from harness import wait_for
from renewer_base import LOGIN, RENEW, RenewerTest


class RenewerFaultsTest(RenewerTest):
    def test_outage_shorter_than_token_life_needs_no_login(self):
        env = self.short_env(ttl=10)
        token = self.login()
        reader = self.reader()
        p = self.start()
        self.wait_requests(RENEW, 1)
        self.outage()
        # The renewal due at ~7 s fails; retries come faster as the
        # token's end nears. End the outage after two failed retries.
        self.wait_requests(RENEW, 3, timeout=15)
        env.vault.clear_faults()
        self.wait_requests(RENEW, 4, timeout=5)
        self.assertTrue(wait_for(lambda: env.vault.token(token) is not None
                                 and env.vault.token(token)["renew_count"]
                                 >= 2, timeout=5), "not renewed in time")
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^token renewal failed, retrying in \d+ms: ")
        self.assertEqual(env.vault.count(None, LOGIN), 1, r)
        self.assertEqual(env.token(), token)
        reader.stop()
        self.assertEqual(reader.bad, [])
        self.assertEqual(reader.seen, {token})

    def test_outage_outliving_token_ends_in_new_login(self):
        env = self.short_env(ttl=3)
        token = self.login()
        reader = self.reader()
        p = self.start(VAULT_REAUTH="true")
        self.wait_requests(RENEW, 1)
        logins = env.vault.count(None, LOGIN)
        self.outage()
        # The token dies during the outage, then logins fail and are
        # retried with backoff.
        self.assertTrue(wait_for(lambda: env.vault.token(token) is None,
                                 timeout=10))
        self.wait_requests(LOGIN, logins + 2, timeout=15)
        env.vault.clear_faults()
        self.assertTrue(wait_for(lambda: env.token() != token, timeout=15))
        new = env.token()
        self.assertIsNotNone(env.vault.token(new))
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^re-authentication failed, retrying in \d+ms: ")
        self.assertLog(r, r"^logged in to vault again and stored the new "
                          r"token at .*; next renewal in \ds$")
        reader.stop()
        self.assertEqual(reader.bad, [])
        self.assertEqual(reader.seen, {token, new})

    def test_login_retries_back_off(self):
        # With no live token the waits grow from about 1 s: a long outage
        # must not turn into a stream of logins.
        env = self.short_env(ttl=3)
        p = self.start(VAULT_REAUTH="true")
        self.outage()
        time.sleep(6)
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)
        attempts = env.vault.count(None, LOGIN)
        self.assertGreaterEqual(attempts, 2, r)
        self.assertLessEqual(attempts, 6, r)
        self.assertFalse(os.path.exists(env.token_path))

    def test_sigterm_during_backoff_stops_at_once(self):
        self.login()
        self.env.vault.inject(RENEW, status=503,
                              body={"errors": ["Vault is sealed"]},
                              count=None)
        p = self.start()
        # The third failure is followed by a wait of 2 s to 6 s.
        self.wait_requests(RENEW, 3, timeout=15)
        time.sleep(0.2)
        sent = time.time()
        r = self.finish(p, signal.SIGTERM)
        self.assertLess(time.time() - sent, 1.5, "waited out the backoff")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.lines[-1], "signal received - stop execution")
        self.assertEqual(self.env.vault.count(None, RENEW), 3)

    def test_max_ttl_relogins_keep_file_whole_and_mode(self):
        env = self.short_env(ttl=2, max_ttl=4)
        token = self.login()
        os.chmod(env.token_path, 0o600)
        reader = self.reader()
        p = self.start(VAULT_REAUTH="true")
        self.assertTrue(wait_for(lambda: len(reader.seen) >= 3,
                                 timeout=20), "fewer than two re-logins")
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)
        reader.stop()
        self.assertGreater(reader.reads, 1000)
        self.assertEqual(reader.bad, [])
        self.assertIn(token, reader.seen)
        mode = stat.S_IMODE(os.stat(env.token_path).st_mode)
        self.assertEqual(mode, 0o600)
        relogins = [l for l in r.lines
                    if l.startswith("logged in to vault again")]
        self.assertGreaterEqual(len(relogins), 2, r)
        for line in relogins:
            self.assertRegex(line, r"; next renewal in \ds$")

    def test_refused_token_during_retries_ends_without_reauth(self):
        token = self.login()
        self.env.vault.inject(RENEW, status=502, count=1)
        p = self.start()
        self.wait_requests(RENEW, 1)
        self.env.vault.revoke_token(token)
        r = self.finish(p, timeout=15)
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^token renewal failed, retrying in \d+ms: ")
        self.assertLog(r, r"^token renewal failed: .*403")
        self.assertLog(r, r"^the token cannot be kept valid and "
                          r"VAULT_REAUTH is off$")


if __name__ == "__main__":
    unittest.main()
