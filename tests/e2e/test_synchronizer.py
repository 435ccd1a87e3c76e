"""The synchronizer against the doubles: mappings, rules and failures."""

import base64
import os

from harness import E2ETest, NAMESPACE, Result, wait_for

DEMO = ("secret/data/k8s/first,secret/data/k8s/second,"
        "secret/data/k8s/first:third")


def b64(s):
    return base64.b64encode(s.encode()).decode()


class SyncBase(E2ETest):
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


class SynchronizerTest(SyncBase):
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

    def test_v2_path_with_or_without_data(self):
        r = self.sync("secret/k8s/first,secret/data/k8s/second")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.env.secret("first")["metadata"]["annotations"]
                         ["vault-secret"], "secret/data/k8s/first")

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

    def test_one_mount_lookup_per_run(self):
        r = self.sync()
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.env.vault.count("GET", r"^/v1/sys/mounts"), 1)

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

    # -- writing -----------------------------------------------------------
    def test_type_kept_on_update(self):
        self.env.put("secret/k8s/login", {"username": "app-user",
                                          "password": "s3cret-pass"})
        self.env.kube.put_secret(NAMESPACE, {
            "metadata": {"name": "login", "annotations": {
                "vault-secret": "secret/data/k8s/login"}},
            "type": "kubernetes.io/basic-auth",
            "data": {"username": b64("old-user"), "password": b64("x")}})
        r = self.sync("secret/k8s/login")
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^update secret login from vault secret "
                       r"secret/data/k8s/login$")
        self.assertEqual(self.env.secret("login")["type"],
                         "kubernetes.io/basic-auth")
        self.assertEqual(self.env.secret_data("login")["username"],
                         b"app-user")
        put = [q for q in self.env.kube.requests if q["method"] == "PUT"]
        self.assertEqual(len(put), 1)

    def test_up_to_date_covers_data_labels_and_annotation(self):
        self.assertEqual(self.sync().code, 0)
        kube = self.env.kube

        def run_and_count(secrets=DEMO, **env):
            before = kube.writes()
            r = self.sync(secrets, login=False, **env)
            self.assertEqual(r.code, 0, r)
            return r, kube.writes() - before

        # Nothing changed: no write at all, each Secret logged up to date.
        r, n = run_and_count()
        self.assertEqual(n, 0, r)
        for name in ("first", "second", "third"):
            self.assertLog(r, r"^secret %s is up to date with vault secret "
                           r"secret/data/k8s/" % name)
        # Data: one key changed in Vault rewrites first and third only.
        self.env.put("secret/k8s/first", {"one": "changed1",
                                          "two": "23456781"})
        r, n = run_and_count()
        self.assertEqual(n, 2, r)
        self.assertLog(r, r"^update secret third from vault secret ")
        self.assertLog(r, r"^secret second is up to date")
        # Labels: a new configured label rewrites all three, then settles.
        r, n = run_and_count(SYNCHRONIZER_LABELS="app=demo")
        self.assertEqual(n, 3, r)
        r, n = run_and_count(SYNCHRONIZER_LABELS="app=demo")
        self.assertEqual(n, 0, r)
        # Annotation: third now comes from another Vault path whose data
        # is the same as first's was; only the annotation differs.
        self.env.put("secret/k8s/copy", {"one": "changed1",
                                         "two": "23456781"})
        r, n = run_and_count(DEMO.replace("first:third", "copy:third"),
                             SYNCHRONIZER_LABELS="app=demo")
        self.assertEqual(n, 1, r)
        self.assertEqual(self.env.secret("third")["metadata"]["annotations"]
                         ["vault-secret"], "secret/data/k8s/copy")

    def test_update_conflict_rereads_and_retries(self):
        """A Secret changed by someone else between the list and the update
        answers 409; the run reads it again, keeps the other writer's
        change and retries."""
        self.managed("first", "secret/data/k8s/first", {"one": "old"})
        kube = self.env.kube
        kube.inject(r"/secrets/first$", method="PUT", delay=1.0)
        self.login()
        p = self.env.spawn("synchronizer", VAULT_SECRETS="secret/k8s/first")
        self.assertTrue(wait_for(
            lambda: kube.count("PUT", r"/secrets/first$") >= 1))
        cur = self.env.secret("first")
        cur["metadata"]["labels"] = {"touched-by": "someone-else"}
        kube.put_secret(NAMESPACE, cur)
        out, err = p.communicate(timeout=60)
        self.env.check_hygiene(out + err)
        r = Result(p.returncode, out, err)
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^secret first changed while being updated; "
                       r"reading it again \(attempt 2 of 5\)$")
        self.assertEqual(kube.count("PUT", r"/secrets/first$"), 2)
        self.assertEqual(kube.count("GET", r"/secrets/first$"), 1)
        obj = self.env.secret("first")
        self.assertEqual(obj["metadata"]["labels"],
                         {"touched-by": "someone-else"})
        self.assertEqual(self.env.secret_data("first")["one"], b"12345678")

    def test_update_conflict_retries_are_bounded(self):
        self.managed("first", "secret/data/k8s/first", {"one": "old"})
        self.managed("old", "secret/data/k8s/old")
        kube = self.env.kube
        kube.inject(r"/secrets/first$", method="PUT", count=None,
                    status=409, body={
                        "kind": "Status", "apiVersion": "v1",
                        "status": "Failure", "reason": "Conflict",
                        "code": 409, "message": "Operation cannot be "
                        "fulfilled on secrets \"first\": the object has "
                        "been modified"})
        r = self.sync("secret/k8s/first")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^failed to synchronize secrets: update secret "
                       r"first: 409 Conflict: Operation cannot be fulfilled")
        self.assertEqual(kube.count("PUT", r"/secrets/first$"), 5)
        self.assertEqual(kube.count("GET", r"/secrets/first$"), 4)
        self.assertIsNotNone(self.env.secret("old"))
        self.assertEqual(kube.count("DELETE"), 0)

    def test_failed_write_deletes_nothing(self):
        self.managed("old", "secret/data/k8s/old")
        self.env.kube.inject(r"/secrets$", method="POST", count=None,
                             status=422, body={
                                 "kind": "Status", "apiVersion": "v1",
                                 "status": "Failure", "reason": "Invalid",
                                 "code": 422, "message": "refused"})
        r = self.sync()
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^failed to synchronize secrets: create secret "
                       r"first: 422 Invalid: refused$")
        self.assertIsNotNone(self.env.secret("old"))
        self.assertEqual(self.env.kube.count("DELETE"), 0)

    # -- deleting ----------------------------------------------------------
    def test_obsolete_deletion_needs_annotation_and_prefix(self):
        self.managed("v3t-old", "secret/data/k8s/old")
        self.managed("other-old", "secret/data/k8s/old")  # another prefix
        self.env.kube.put_secret(NAMESPACE, {  # ours by name, not managed
            "metadata": {"name": "v3t-mine"}, "data": {"k": b64("v")}})
        r = self.sync(SECRET_PREFIX="v3t-")
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^delete secret v3t-old$")
        self.assertNoLog(r, r"^delete secret (other-old|v3t-mine)")
        self.assertIsNone(self.env.secret("v3t-old"))
        self.assertIsNotNone(self.env.secret("other-old"))
        self.assertIsNotNone(self.env.secret("v3t-mine"))

    def test_obsolete_found_on_every_list_page(self):
        for i in range(7):
            self.managed("old-%d" % i, "secret/data/k8s/old-%d" % i)
        self.env.kube.page_size = 2
        r = self.sync()
        self.assertEqual(r.code, 0, r)
        # 7 old + 0 of ours at list time: 4 pages of at most 2.
        self.assertEqual(self.env.kube.count("GET", r"/secrets$"), 4)
        for i in range(7):
            self.assertLog(r, r"^delete secret old-%d$" % i)
        self.assertEqual(sorted(self.env.kube.secrets(NAMESPACE)),
                         ["first", "second", "third"])

    def test_empty_directory_makes_its_secrets_obsolete(self):
        self.env.put("secret/team/a", {"k": "value-a1"})
        self.assertEqual(self.sync("secret/team/").code, 0)
        self.assertIsNotNone(self.env.secret("a"))
        self.env.vault.kv_remove("secret/team/a")
        r = self.sync("secret/team/", login=False)
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^vault directory secret/metadata/team/ lists no "
                       r"secrets$")
        self.assertLog(r, r"^delete secret a$")
        self.assertIsNone(self.env.secret("a"))

    # -- reading -----------------------------------------------------------
    def test_destroyed_latest_version_is_not_found(self):
        self.managed("first", "secret/data/k8s/first", {"one": "before"})
        self.env.vault.kv_destroy_latest("secret/k8s/first")
        r = self.sync("secret/k8s/first")
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^secret secret/data/k8s/first not found: "
                       r"version 1 is destroyed$")
        self.assertEqual(self.env.secret_data("first"), {"one": b"before"})
        self.assertEqual(self.env.kube.writes(), 0)

    def test_invalid_data_key_named(self):
        self.env.put("secret/k8s/bad", {"has space": "value-123"})
        r = self.sync("secret/k8s/bad")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r'^failed to synchronize secrets: '
                       r'secret/data/k8s/bad: key "has space" is not a valid '
                       r'Secret data key')
        self.assertEqual(self.env.kube.writes(), 0)

    def test_invalid_label_rejected_before_any_request(self):
        r = self.sync(SYNCHRONIZER_LABELS="app=bad value")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^failed to prepare synchronization of secrets: "
                       r"SYNCHRONIZER_LABELS")
        self.assertEqual(self.env.kube.count(), 0)

    def test_no_token_directory_mapping_warned(self):
        self.managed("first", "secret/data/k8s/first")
        r = self.sync("secret/k8s/first,secret/k8s/", login=False)
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^WARNING: cannot check directory mapping "
                       r"secret/k8s/ without a vault token$")
        self.assertLog(r, r"^check k8s secret first from vault secret "
                       r"secret/k8s/first$")

    def test_kv_v1_mount(self):
        self.env.vault.enable_kv("kv1/", version=1)
        self.env.put("kv1/app/db", {"user": "dbuser1"})
        r = self.sync("kv1/app/db")
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^read kv1/app/db from vault$")
        self.assertEqual(self.env.secret_data("db"), {"user": b"dbuser1"})


class GapTest(SyncBase):
    """One test per shortfall of the Go version that concerns the
    synchronizer (PRODUCT.md, "Where the Go version falls short"). Each
    asserts the behaviour the Go version gets wrong."""

    def test_gap_mount_without_version_option(self):
        # Go: strconv.Atoi("") fails and the run crashes.
        self.env.vault.enable_kv("legacy/", version=None)
        mounts = self.env.vault.mounts
        self.assertNotIn("version", (mounts["legacy/"].entry().get("options")
                                     or {}))
        self.env.put("legacy/app/web", {"port": "8080"})
        r = self.sync("legacy/app/web")
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^read legacy/app/web from vault$")
        self.assertLog(r, r"^create secret web from vault secret "
                       r"legacy/app/web$")
        self.assertEqual(self.env.secret_data("web"), {"port": b"8080"})

    def test_gap_nested_mounts_longest_prefix(self):
        # Go: map order picks kv/ (v1) about half the time and reads the
        # v2 secret with the wrong path. Here: always the longest prefix,
        # through sys/mounts and through the preflight alike.
        v = self.env.vault
        v.enable_kv("kv/", version=1)
        v.enable_kv("kv/team/", version=2)
        self.env.put("kv/app", {"x": "outer-v1"})
        self.env.put("kv/team/app", {"x": "nested-v2"})
        for rules, preflights in (
                ({"kv/*": ["read", "list"], "sys/mounts": ["read"]}, 0),
                ({"kv/*": ["read", "list"]}, 2)):
            v.add_policy("app", rules)
            v.reset_counters()
            for name in ("outer", "inner", "app"):
                self.env.kube.delete_secret(NAMESPACE, name)
            r = self.sync("kv/app:outer,kv/team/app:inner,kv/team/")
            self.assertEqual(r.code, 0, r)
            self.assertLog(r, r"^read kv/app from vault$")
            self.assertLog(r, r"^read kv/team/data/app from vault$")
            self.assertNoLog(r, r"^read kv/team/app from vault$")
            for name, value in (("outer", b"outer-v1"),
                                ("inner", b"nested-v2"),
                                ("app", b"nested-v2")):
                self.assertEqual(self.env.secret_data(name), {"x": value})
            # kv/team/app lies under the known kv/ too: only asking for
            # its own directory finds the nested mount.
            self.assertEqual(v.count("GET", r"^/v1/sys/internal/ui/mounts/"),
                             preflights)

    def test_gap_no_sys_mounts_permission_needed(self):
        # Go: "permission denied" on sys/mounts ends the run.
        self.env.vault.enable_kv("kv1/", version=1)
        self.env.put("kv1/app/db", {"user": "dbuser1"})
        self.env.vault.add_policy("app", {"secret/data/*": ["read"],
                                          "secret/metadata/*": ["list"],
                                          "kv1/*": ["read"]})
        r = self.sync(DEMO + ",kv1/app/db")
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^reading sys/mounts is not allowed; finding KV "
                       r"mounts with the per-path preflight instead$")
        vault = self.env.vault
        self.assertEqual(vault.count("GET", r"^/v1/sys/mounts$"), 1)
        # Four mappings in two directories: two preflights.
        self.assertEqual(vault.count("GET", r"^/v1/sys/internal/ui/mounts/"),
                         2)
        self.assertEqual(self.env.secret_data("second"),
                         {"green": b"lantern", "poison": b"ivy"})
        self.assertEqual(self.env.secret_data("db"), {"user": b"dbuser1"})

    def test_gap_non_string_values_kept(self):
        # Go: only string values reach the Secret; the rest vanish.
        self.env.vault.kv_put_raw_json(
            "secret/k8s/nums", '{"big": 12345678901234567890, "r": 0.10, '
            '"t": true, "n": null, "o": {"a": [1, 2], "u": "x/y"}, '
            '"s": "text"}')
        r = self.sync("secret/k8s/nums")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.env.secret_data("nums"),
                         {"big": b"12345678901234567890", "r": b"0.10",
                          "t": b"true", "n": b"null",
                          "o": b'{"a":[1,2],"u":"x/y"}', "s": b"text"})

    def test_gap_subdirectories_skipped(self):
        # Go: "deeper/" becomes a Secret name Kubernetes rejects.
        self.env.put("secret/k8s/deeper/x", {"a": "bbbbbbbb"})
        r = self.sync("secret/k8s/")
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^WARNING: skipping secret/metadata/k8s/deeper/: "
                       r"a sub-directory, not a secret")
        self.assertEqual(sorted(self.env.kube.secrets(NAMESPACE)),
                         ["first", "second"])
        self.assertEqual(self.env.vault.count("GET", r"deeper"), 0)
        posts = [q for q in self.env.kube.requests if q["method"] == "POST"]
        self.assertEqual(len(posts), 2)

    def test_gap_other_annotations_kept_and_no_rewrite(self):
        # Go: the update replaces all annotations with its own, and every
        # run rewrites every Secret.
        self.managed("first", "secret/data/k8s/first", {"one": "old"},
                     labels={"team": "a", "env": "old"},
                     extra_ann={"example.com/owner": "team-a"})
        labels = "env=prod,tier=web,broken,empty="
        r = self.sync(SYNCHRONIZER_LABELS=labels)
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^update secret first from vault secret "
                       r"secret/data/k8s/first$")
        obj = self.env.secret("first")
        self.assertEqual(obj["metadata"]["labels"],
                         {"team": "a", "env": "prod", "tier": "web",
                          "empty": ""})
        self.assertEqual(obj["metadata"]["annotations"],
                         {"example.com/owner": "team-a",
                          "vault-secret": "secret/data/k8s/first"})
        self.assertEqual(self.env.secret_data("first")["one"], b"12345678")
        before = self.env.kube.writes()
        r = self.sync(login=False, SYNCHRONIZER_LABELS=labels)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.env.kube.writes(), before)
        self.assertLog(r, r"^secret first is up to date with vault secret "
                       r"secret/data/k8s/first$")

    def test_gap_prefix_in_allow_fail_check(self):
        # Go: looks for first/second/third and fails although the
        # prefixed Secrets it wrote are all there.
        self.managed("v3t-first", "secret/data/k8s/first")
        self.managed("v3t-second", "secret/data/k8s/second")
        self.managed("v3t-third", "secret/data/k8s/first")
        r = self.sync(login=False, SECRET_PREFIX="v3t-")
        self.assertEqual(r.code, 0, r)
        for name, src in (("first", "first"), ("second", "second"),
                          ("third", "first")):
            self.assertLog(r, r"^check k8s secret v3t-%s from vault secret "
                           r"secret/data/k8s/%s$" % (name, src))
        self.assertLog(r, r"^cannot synchronize secrets - all secrets seems "
                       r"to be available therefore pod creation will "
                       r"continue: ")
        self.assertEqual(self.env.kube.writes(), 0)
        self.assertEqual(self.env.vault.count(), 0)
        # And an unprefixed Secret does not stand in for a prefixed one.
        self.env.kube.delete_secret(NAMESPACE, "v3t-second")
        self.managed("second", "secret/data/k8s/second")
        r = self.sync(login=False, SECRET_PREFIX="v3t-")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^failed to synchronize secrets: secret "
                       r"v3t-second does not exist")

    def test_gap_duplicate_names_rejected(self):
        # Go: the second mapping silently overwrites the first.
        r = self.sync("secret/k8s/first,secret/k8s/second:first")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^failed to synchronize secrets: vault secrets "
                       r"secret/data/k8s/first and secret/data/k8s/second "
                       r"both map to kubernetes secret first$")
        self.assertEqual(self.env.kube.writes(), 0)


if __name__ == "__main__":
    import unittest
    unittest.main()
