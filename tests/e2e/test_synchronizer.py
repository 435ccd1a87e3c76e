"""The synchronizer against the doubles: mappings, rules and failures."""

import base64
import os

from harness import E2ETest, NAMESPACE

DEMO = ("secret/data/k8s/first,secret/data/k8s/second,"
        "secret/data/k8s/first:third")


def b64(s):
    return base64.b64encode(s.encode()).decode()


class SynchronizerTest(E2ETest):
    def setUp(self):
        super().setUp()
        self.env.put("secret/k8s/first", {"one": "12345678",
                                          "two": "23456781"})
        self.env.put("secret/k8s/second", {"green": "lantern",
                                           "poison": "ivy"})

    def sync(self, secrets=DEMO, login=True, **env):
        if login:
            self.login()
        return self.env.run("synchronizer", VAULT_SECRETS=secrets, **env)

    def managed(self, name, source, data=None, labels=None, extra_ann=None):
        ann = {"vault-secret": source}
        ann.update(extra_ann or {})
        obj = {"metadata": {"name": name, "annotations": ann,
                            "labels": labels or {}},
               "data": {k: b64(v) for k, v in (data or {"k": "v"}).items()},
               "type": "Opaque"}
        self.env.kube.put_secret(NAMESPACE, obj)

    def test_scenario_two(self):
        r = self.sync()
        self.assertEqual(r.code, 0, r)
        self.assertLogFormat(r)
        self.assertLog(r, r"^Using annotation \[ vault-secret \] to detect "
                       r"managed secrets$")
        self.assertLog(r, r"^read secret/data/k8s/first from vault$")
        self.assertLog(r, r"^create secret first from vault secret "
                       r"secret/data/k8s/first$")
        self.assertLog(r, r"^create secret third from vault secret "
                       r"secret/data/k8s/first$")
        self.assertLog(r, r"^secrets successfully synchronized$")
        self.assertEqual(self.env.secret_data("first"),
                         {"one": b"12345678", "two": b"23456781"})
        self.assertEqual(self.env.secret_data("second"),
                         {"green": b"lantern", "poison": b"ivy"})
        self.assertEqual(self.env.secret_data("third"),
                         self.env.secret_data("first"))
        ann = self.env.secret("second")["metadata"]["annotations"]
        self.assertEqual(ann, {"vault-secret": "secret/data/k8s/second"})

    def test_second_run_writes_nothing(self):
        self.assertEqual(self.sync().code, 0)
        before = self.env.kube.writes()
        r = self.sync(login=False)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.env.kube.writes(), before)
        self.assertLog(r, r"^secret first is up to date")

    def test_update_keeps_foreign_labels_and_annotations(self):
        self.managed("first", "secret/data/k8s/first", {"one": "old"},
                     labels={"team": "a", "env": "old"},
                     extra_ann={"example.com/owner": "team-a"})
        r = self.sync(SYNCHRONIZER_LABELS="env=prod,tier=web,broken,"
                      "empty=")
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^update secret first from vault secret "
                       r"secret/data/k8s/first$")
        obj = self.env.secret("first")
        self.assertEqual(obj["metadata"]["labels"],
                         {"team": "a", "env": "prod", "tier": "web",
                          "empty": ""})
        self.assertEqual(obj["metadata"]["annotations"]["example.com/owner"],
                         "team-a")
        self.assertEqual(self.env.secret_data("first")["one"], b"12345678")

    def test_unmanaged_secret_left_alone(self):
        self.env.kube.put_secret(NAMESPACE, {"metadata": {"name": "first"},
                                             "data": {"mine": b64("x")}})
        r = self.sync()
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^WARNING: ignoring secret first - not managed "
                       r"by synchronizer$")
        self.assertEqual(self.env.secret_data("first"), {"mine": b"x"})

    def test_obsolete_managed_secret_deleted(self):
        self.managed("old", "secret/data/k8s/old")
        self.env.kube.put_secret(NAMESPACE, {"metadata": {"name": "other"},
                                             "data": {"k": b64("v")}})
        r = self.sync()
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^delete secret old$")
        self.assertIsNone(self.env.secret("old"))
        self.assertIsNotNone(self.env.secret("other"))

    def test_prefix_applied(self):
        r = self.sync(SECRET_PREFIX="v3t-")
        self.assertEqual(r.code, 0, r)
        self.assertIsNotNone(self.env.secret("v3t-first"))
        self.assertIsNotNone(self.env.secret("v3t-third"))
        self.assertIsNone(self.env.secret("first"))

    def test_invalid_prefix_rejected_before_writes(self):
        r = self.sync(SECRET_PREFIX="v3t_")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r'"v3t_first" is not a valid Kubernetes name')
        self.assertEqual(self.env.kube.writes(), 0)

    def test_base64_values_decoded(self):
        raw = bytes([0, 1, 2, 255, 10])
        self.env.put("secret/k8s/bin", {
            "keystore": "base64:" + base64.b64encode(raw).decode(),
            "plain": "base64-not-a-prefix"})
        r = self.sync("secret/k8s/bin")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.env.secret_data("bin"),
                         {"keystore": raw, "plain": b"base64-not-a-prefix"})

    def test_invalid_base64_names_path_and_key(self):
        self.env.put("secret/k8s/bin", {"keystore": "base64:%%%notbase64"})
        r = self.sync("secret/k8s/bin")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^failed to synchronize secrets: "
                       r"secret/data/k8s/bin: value of key keystore ")
        self.assertIsNone(self.env.secret("bin"))

    def test_kv_v1_and_mount_without_version(self):
        self.env.vault.enable_kv("kv1/", version=1)
        self.env.vault.enable_kv("legacy/", version=None)
        self.env.put("kv1/app/db", {"user": "dbuser1"})
        self.env.put("legacy/app/web", {"port": "8080"})
        r = self.sync("kv1/app/db,legacy/app/web")
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^read kv1/app/db from vault$")
        self.assertLog(r, r"^create secret web from vault secret "
                       r"legacy/app/web$")
        self.assertEqual(self.env.secret_data("db"), {"user": b"dbuser1"})
        self.assertEqual(self.env.secret_data("web"), {"port": b"8080"})

    def test_v2_path_with_or_without_data(self):
        r = self.sync("secret/k8s/first,secret/data/k8s/second")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.env.secret("first")["metadata"]["annotations"]
                         ["vault-secret"], "secret/data/k8s/first")

    def test_directory_mapping_skips_subdirectories(self):
        self.env.put("secret/k8s/deeper/x", {"a": "bbbbbbbb"})
        r = self.sync("secret/k8s/")
        self.assertEqual(r.code, 0, r)
        self.assertIsNotNone(self.env.secret("first"))
        self.assertIsNotNone(self.env.secret("second"))
        self.assertLog(r, r"^WARNING: skipping secret/metadata/k8s/deeper/")
        self.assertEqual(len(self.env.kube.secrets(NAMESPACE)), 2)

    def test_missing_secret_skipped_and_kept(self):
        self.managed("gone", "secret/data/k8s/gone", {"keep": "me"})
        r = self.sync("secret/k8s/first,secret/k8s/gone")
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^secret secret/data/k8s/gone not found$")
        self.assertEqual(self.env.secret_data("gone"), {"keep": b"me"})

    def test_deleted_latest_version_is_not_found(self):
        self.managed("first", "secret/data/k8s/first", {"one": "before"})
        self.env.vault.kv_delete_latest("secret/k8s/first")
        r = self.sync("secret/k8s/first")
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^secret secret/data/k8s/first not found: "
                       r"version 1 is deleted$")
        self.assertEqual(self.env.secret_data("first"), {"one": b"before"})

    def test_no_token_all_present_continues(self):
        self.managed("v3t-first", "secret/data/k8s/first")
        self.managed("v3t-second", "secret/data/k8s/second")
        self.managed("v3t-third", "secret/data/k8s/first")
        r = self.sync(login=False, SECRET_PREFIX="v3t-")
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^check k8s secret v3t-third from vault secret "
                       r"secret/data/k8s/first$")
        self.assertLog(r, r"^cannot synchronize secrets - all secrets seems "
                       r"to be available therefore pod creation will "
                       r"continue: ")
        self.assertEqual(self.env.kube.writes(), 0)

    def test_no_token_missing_secret_fails(self):
        self.managed("first", "secret/data/k8s/first")
        r = self.sync(login=False)
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^failed to synchronize secrets: secret second "
                       r"does not exist")

    def test_token_path_is_a_directory_fails(self):
        os.mkdir(self.env.token_path)
        r = self.sync(login=False)
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^failed to prepare synchronization of secrets: ")

    def test_denied_read_writes_and_deletes_nothing(self):
        self.managed("old", "secret/data/k8s/old")
        self.env.vault.add_policy("app", {"secret/data/k8s/first": ["read"],
                                          "sys/mounts": ["read"]})
        r = self.sync()
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^failed to synchronize secrets: read "
                       r"secret/data/k8s/second from vault: .*403")
        self.assertEqual(self.env.kube.writes(), 0)
        self.assertIsNotNone(self.env.secret("old"))

    def test_sys_mounts_denied_uses_preflight(self):
        self.env.vault.add_policy("app", {"secret/data/*": ["read"]})
        r = self.sync()
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.env.vault.count(
            "GET", r"^/v1/sys/internal/ui/mounts/"), 1)
        self.assertEqual(self.env.vault.count("GET", r"^/v1/sys/mounts$"), 1)

    def test_one_mount_lookup_per_run(self):
        r = self.sync()
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.env.vault.count("GET", r"^/v1/sys/mounts"), 1)

    def test_non_string_values_keep_their_text(self):
        self.env.vault.kv_put_raw_json(
            "secret/k8s/nums", '{"big": 12345678901234567890, "r": 0.10, '
            '"t": true, "n": null, "o": {"a": [1, 2]}}')
        r = self.sync("secret/k8s/nums")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.env.secret_data("nums"),
                         {"big": b"12345678901234567890", "r": b"0.10",
                          "t": b"true", "n": b"null",
                          "o": b'{"a":[1,2]}'})

    def test_duplicate_names_rejected_naming_both(self):
        r = self.sync("secret/k8s/first,secret/k8s/second:first")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"secret/data/k8s/first and secret/data/k8s/second "
                       r"both map to kubernetes secret first")
        self.assertEqual(self.env.kube.writes(), 0)

    def test_nested_mounts_longest_prefix(self):
        self.env.vault.enable_kv("kv/", version=1)
        self.env.vault.enable_kv("kv/team/", version=2)
        self.env.vault.add_policy("app", {"kv/*": ["read", "list"],
                                          "sys/mounts": ["read"]})
        self.env.put("kv/team/app", {"x": "nested-v2"})
        r = self.sync("kv/team/app")
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^read kv/team/data/app from vault$")

    def test_non_kv_mount_is_an_error(self):
        self.env.vault.enable_mount("pki/", "pki")
        r = self.sync("pki/issue/x")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"pki/issue/x is under mount pki/ of type pki, "
                       r"not a KV secrets engine")

    def test_missing_variables(self):
        r = self.sync(secrets=None, login=False)
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"VAULT_SECRETS: missing")

    def test_kubernetes_forbidden_reported(self):
        self.env.kube.add_token(self.env.jwt, verbs={"list", "get"})
        r = self.sync()
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^failed to synchronize secrets: .*403")


if __name__ == "__main__":
    import unittest
    unittest.main()
