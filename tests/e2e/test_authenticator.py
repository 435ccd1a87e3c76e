"""The authenticator against the doubles: logins, token file, failures."""

import os
import stat

from harness import E2ETest


class AuthenticatorTest(E2ETest):
    def test_kubernetes_login_writes_token_0640(self):
        r = self.env.run("authenticator")
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^successfully authenticated to vault$")
        self.assertLog(r, r"^successfully stored vault token at %s$"
                       % self.env.token_path)
        self.assertLogFormat(r)
        token = self.env.token()
        self.assertIsNotNone(self.env.vault.token(token.strip()))
        mode = stat.S_IMODE(os.stat(self.env.token_path).st_mode)
        self.assertEqual(mode, 0o640)
        self.assertEqual(os.listdir(os.path.dirname(self.env.token_path)),
                         [".vault-token"])

    def test_token_file_mode_is_configurable(self):
        r = self.env.run("authenticator", VAULT_TOKEN_FILE_MODE="0600")
        self.assertEqual(r.code, 0, r)
        mode = stat.S_IMODE(os.stat(self.env.token_path).st_mode)
        self.assertEqual(mode, 0o600)

    def test_bad_token_file_mode_is_a_config_error(self):
        r = self.env.run("authenticator", VAULT_TOKEN_FILE_MODE="rw-r",
                         ALLOW_FAIL="true")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"VAULT_TOKEN_FILE_MODE")
        self.assertFalse(os.path.exists(self.env.token_path))

    def test_bad_role_fails(self):
        r = self.env.run("authenticator", VAULT_ROLE="nope")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r'^authentication failed: PUT https://127\.0\.0\.1:'
                       r'\d+/v1/auth/kubernetes/login: 400: invalid role '
                       r'name "nope"$')
        self.assertFalse(os.path.exists(self.env.token_path))

    def test_rejected_jwt_is_403(self):
        self.env.vault.revoke_jwt(self.env.jwt)
        r = self.env.run("authenticator")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^authentication failed: .*/v1/auth/kubernetes/"
                       r"login: 403: permission denied$")

    def test_allow_fail_exits_zero_without_token(self):
        r = self.env.run("authenticator", VAULT_ROLE="nope",
                         ALLOW_FAIL="true")
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^authentication failed - ALLOW_FAIL is set "
                       r"therefore pod will continue: .*invalid role name")
        self.assertFalse(os.path.exists(self.env.token_path))

    def test_allow_fail_false_explicit(self):
        r = self.env.run("authenticator", VAULT_ROLE="nope",
                         ALLOW_FAIL="false")
        self.assertEqual(r.code, 1, r)

    def test_vault_unreachable(self):
        r = self.env.run("authenticator", VAULT_ADDR="https://127.0.0.1:1")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^authentication failed: .*127\.0\.0\.1:1.*"
                       r"(refused|connect)")
        self.assertFalse(os.path.exists(self.env.token_path))

    def test_config_error_fails_even_with_allow_fail(self):
        r = self.env.run("authenticator", VAULT_TOKEN_PATH=None,
                         ALLOW_FAIL="true")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"VAULT_TOKEN_PATH")

    def test_malformed_boolean_named(self):
        r = self.env.run("authenticator", ALLOW_FAIL="maybe")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r'ALLOW_FAIL: "maybe" is not a boolean')

    def test_missing_role(self):
        r = self.env.run("authenticator", VAULT_ROLE=None)
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"VAULT_ROLE")

    def test_approle_login_uses_approle_mount(self):
        self.env.vault.add_approle("app", role_id="rid-1234",
                                   secret_id="sid-secret-5678",
                                   policies=["app"])
        self.env.secret_values.add("sid-secret-5678")
        r = self.env.run("authenticator", VAULT_ROLE=None,
                         VAULT_ROLE_ID="rid-1234",
                         VAULT_SECRET_ID="sid-secret-5678\n")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.env.vault.count("POST", r"^/v1/auth/approle/"
                                              r"login$") +
                         self.env.vault.count("PUT", r"^/v1/auth/approle/"
                                              r"login$"), 1)

    def test_approle_needs_both_ids(self):
        r = self.env.run("authenticator", VAULT_ROLE_ID="rid-1234")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"VAULT_ROLE_ID and VAULT_SECRET_ID")

    def test_auth_mount_path_forms(self):
        self.env.vault.add_k8s_role("demo", mount="k8s/prod",
                                    sa_names=["default"],
                                    namespaces=["default"],
                                    policies=["app"])
        for form in ("k8s/prod", "/k8s/prod", "auth/k8s/prod", "k8s/prod/",
                     "/auth/k8s/prod/"):
            os.path.exists(self.env.token_path) and os.unlink(
                self.env.token_path)
            self.env.vault.reset_counters()
            r = self.env.run("authenticator", VAULT_AUTH_MOUNT_PATH=form)
            self.assertEqual(r.code, 0, (form, r))
            self.assertEqual(self.env.vault.count(
                None, r"^/v1/auth/k8s/prod/login$"), 1, form)

    def test_service_account_token_path_trimmed(self):
        p = os.path.join(self.env.tmp, "jwt")
        self.env.write(p, "  " + self.env.jwt + "\n\n ")
        os.unlink(os.path.join(self.env.sa_dir, "token"))
        r = self.env.run("authenticator", SERVICE_ACCOUNT_TOKEN_PATH=p)
        self.assertEqual(r.code, 0, r)

    def test_missing_jwt_file_named(self):
        os.unlink(os.path.join(self.env.sa_dir, "token"))
        r = self.env.run("authenticator")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"service account token .*sa/token")

    def test_reuses_valid_token_unless_forced(self):
        first = self.login()
        issued = self.env.vault.tokens_issued
        r = self.env.run("authenticator")
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^reusing vault token at ")
        self.assertEqual(self.env.vault.tokens_issued, issued)
        self.assertEqual(self.env.token().strip(), first)
        r = self.env.run("authenticator", VAULT_FORCE_LOGIN="true")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.env.vault.tokens_issued, issued + 1)
        self.assertNotEqual(self.env.token().strip(), first)

    def test_unwritable_token_path_leaves_nothing(self):
        # A directory where the file should be: a fault root cannot bypass.
        os.mkdir(self.env.token_path)
        r = self.env.run("authenticator")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^failed to store vault token: ")
        d = os.path.dirname(self.env.token_path)
        self.assertEqual(os.listdir(d), [".vault-token"])
        self.assertTrue(os.path.isdir(self.env.token_path))

    def test_plain_http_vault(self):
        from harness import Env
        env = Env(tls=False)
        self.addCleanup(env.close)
        r = env.run("authenticator", VAULT_CACERT=None)
        self.assertEqual(r.code, 0, r)


if __name__ == "__main__":
    import unittest
    unittest.main()
