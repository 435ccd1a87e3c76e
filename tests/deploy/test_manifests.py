"""The manifests in deploy/: valid against Kubernetes' schemas offline
(check-manifests.sh), refused when broken (invalid/, one expected message
each), and holding the rules the examples promise: restricted security
contexts, the token on an in-memory volume, the three scenarios in order,
only environment variables the helpers know (their --help), no pod that
needs a Secret its own synchronizer has yet to create, Secret rights only
for the synchronizer's pods (and its API token only in their helper
containers), and the token reviewer's token out of every pod's reach.
"""

import glob
import os
import re
import subprocess
import unittest

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CHECK = os.path.join(HERE, "check-manifests.sh")
BINARY = os.environ.get("VK_BINARY") or os.path.join(
    ROOT, "build", "vault-kubernetes")
MANIFESTS = sorted(glob.glob(os.path.join(ROOT, "deploy", "*.yaml")))
IMAGE = re.compile(r"^vault-kubernetes-(authenticator|synchronizer|"
                   r"token-renewer):\d+\.\d+\.\d+$")
CLIENT_VARS = {"VAULT_ADDR", "VAULT_CACERT"}


def check(*files):
    return subprocess.run([CHECK] + list(files), capture_output=True,
                          text=True, timeout=300)


def documents():
    for path in MANIFESTS:
        with open(path) as f:
            for doc in yaml.safe_load_all(f):
                if doc:
                    yield os.path.basename(path), doc


def deployments():
    return {d["metadata"]["name"]: d for _, d in documents()
            if d["kind"] == "Deployment"}


def helper_of(container):
    m = IMAGE.match(container.get("image", ""))
    return m.group(1) if m else None


class SchemaTest(unittest.TestCase):
    def test_every_manifest_is_valid(self):
        self.assertTrue(MANIFESTS)
        p = check()
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        n = sum(1 for _ in documents())
        self.assertEqual(p.stdout.count("\nvalid ") +
                         p.stdout.startswith("valid "), n, p.stdout)
        self.assertIn("%d valid, 0 invalid" % n, p.stdout)

    def test_broken_manifests_are_refused(self):
        cases = sorted(glob.glob(os.path.join(HERE, "invalid", "*.yaml")))
        self.assertGreaterEqual(len(cases), 5)
        for path in cases:
            with open(path) as f:
                expect = re.search(r"^# expect: (.+)$", f.read(), re.M)
            self.assertIsNotNone(expect, "%s has no '# expect:'" % path)
            with self.subTest(case=os.path.basename(path)):
                p = check(path)
                self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
                self.assertIn(expect.group(1), p.stdout)
                self.assertIn("0 valid, 1 invalid", p.stdout)


class RulesTest(unittest.TestCase):
    def test_security_contexts_are_restricted(self):
        for name, d in deployments().items():
            spec = d["spec"]["template"]["spec"]
            pod = spec["securityContext"]
            self.assertIs(pod["runAsNonRoot"], True, name)
            self.assertEqual(pod["runAsUser"], 65534, name)
            self.assertEqual(pod["seccompProfile"], {"type": "RuntimeDefault"},
                             name)
            for c in spec.get("initContainers", []) + spec["containers"]:
                sc = c["securityContext"]
                where = "%s/%s" % (name, c["name"])
                self.assertIs(sc["allowPrivilegeEscalation"], False, where)
                self.assertIs(sc["readOnlyRootFilesystem"], True, where)
                self.assertEqual(sc["capabilities"], {"drop": ["ALL"]},
                                 where)
                self.assertNotIn("privileged", sc, where)

    def test_token_lives_on_an_in_memory_volume(self):
        for name, d in deployments().items():
            spec = d["spec"]["template"]["spec"]
            volumes = {v["name"]: v for v in spec["volumes"]}
            for c in spec.get("initContainers", []) + spec["containers"]:
                env = {e["name"]: e.get("value") for e in c.get("env", [])}
                if "VAULT_TOKEN_PATH" not in env:
                    continue
                mounts = [m for m in c["volumeMounts"] if
                          env["VAULT_TOKEN_PATH"].startswith(
                              m["mountPath"].rstrip("/") + "/")]
                self.assertEqual(len(mounts), 1, "%s/%s" % (name, c["name"]))
                vol = volumes[mounts[0]["name"]]
                self.assertEqual(vol.get("emptyDir", {}).get("medium"),
                                 "Memory", "%s: %s" % (name, vol))

    def test_scenarios(self):
        def helpers(containers):
            return [helper_of(c) for c in containers if helper_of(c)]

        d = deployments()
        self.assertEqual(len(d), 4, sorted(d))
        s1 = d["scenario1-authenticator"]["spec"]["template"]["spec"]
        self.assertEqual(helpers(s1["initContainers"]), ["authenticator"])
        s2 = d["scenario2-synchronizer"]["spec"]["template"]["spec"]
        self.assertEqual(helpers(s2["initContainers"]),
                         ["authenticator", "synchronizer"])
        s3 = d["scenario3-token-renewer"]["spec"]["template"]["spec"]
        self.assertEqual(helpers(s3["initContainers"]), ["authenticator"])
        self.assertEqual(helpers(s3["containers"]), ["token-renewer"])
        s4 = d["scenario3-native-sidecar"]["spec"]["template"]["spec"]
        self.assertEqual(helpers(s4["initContainers"]),
                         ["authenticator", "token-renewer"])
        self.assertEqual(helpers(s4["containers"]), [])
        sidecar = s4["initContainers"][1]
        self.assertEqual(sidecar.get("restartPolicy"), "Always")
        self.assertNotIn("restartPolicy", s4["initContainers"][0])
        for spec in (s3, s4):
            renewer = [c for c in spec.get("initContainers", []) +
                       spec["containers"]
                       if helper_of(c) == "token-renewer"][0]
            env = {e["name"]: e.get("value") for e in renewer["env"]}
            port = int(env["HEALTH_ADDR"].rsplit(":", 1)[1])
            probe = renewer["livenessProbe"]["httpGet"]
            ports = {p["name"]: p["containerPort"]
                     for p in renewer["ports"]}
            self.assertEqual(probe["path"], "/healthz")
            self.assertEqual(ports[probe["port"]], port)

    def test_synchronizer_pods_use_the_bound_account(self):
        bindings = [doc for _, doc in documents()
                    if doc["kind"] == "RoleBinding"]
        bound = {(s["namespace"], s["name"]) for b in bindings
                 for s in b["subjects"]}
        for name, d in deployments().items():
            spec = d["spec"]["template"]["spec"]
            if "synchronizer" in helpers_in(spec):
                self.assertIn((d["metadata"]["namespace"],
                               spec["serviceAccountName"]), bound, name)

    def test_environment_names_are_the_helpers_own(self):
        if not os.path.exists(BINARY):
            self.fail("binary not built: %s" % BINARY)
        known = {}
        for h in ("authenticator", "synchronizer", "token-renewer"):
            out = subprocess.run([BINARY, h, "--help"], capture_output=True,
                                 text=True, timeout=10).stdout
            known[h] = set(re.findall(r"\b[A-Z][A-Z0-9_]{2,}\b", out))
        for name, d in deployments().items():
            spec = d["spec"]["template"]["spec"]
            for c in spec.get("initContainers", []) + spec["containers"]:
                h = helper_of(c)
                if h is None:
                    continue
                for e in c.get("env", []):
                    self.assertIn(e["name"], known[h] | CLIENT_VARS,
                                  "%s/%s sets %s, which `%s --help` does "
                                  "not list" % (name, c["name"], e["name"],
                                                h))


def created_secrets(spec):
    """The Secret names the pod's synchronizer init containers write, with
    the index of the first such container; names is None when a directory
    mapping makes them unknowable (then every Secret may be one)."""
    names, first = set(), None
    for i, c in enumerate(spec.get("initContainers", [])):
        if helper_of(c) != "synchronizer":
            continue
        first = i if first is None else first
        env = {e["name"]: e.get("value") or "" for e in c.get("env", [])}
        prefix = env.get("SECRET_PREFIX", "")
        for m in env.get("VAULT_SECRETS", "").split(","):
            m = m.strip()
            if not m:
                continue
            if m.endswith("/"):
                return None, first
            path, _, name = m.partition(":")
            names.add(prefix + (name or path.rsplit("/", 1)[-1]))
    return names, first


def secrets_needed_too_early(spec):
    """Where the pod needs, before it can exist, a Secret its own
    synchronizer creates: a required Secret volume (the kubelet mounts
    every volume before the first container starts) or a required
    reference from an init container that runs before the synchronizer
    finished. Returns descriptions of each; empty when none."""
    names, first = created_secrets(spec)
    if first is None:
        return []

    def made_here(name):
        return names is None or name in names

    found = []
    for v in spec.get("volumes", []):
        refs = []
        if "secret" in v:
            refs.append({"name": v["secret"].get("secretName"),
                         "optional": v["secret"].get("optional")})
        for src in v.get("projected", {}).get("sources", []):
            if "secret" in src:
                refs.append(src["secret"])
        for r in refs:
            if made_here(r.get("name")) and r.get("optional") is not True:
                found.append("volume %s: Secret %s" % (v["name"],
                                                       r.get("name")))
    for c in spec.get("initContainers", [])[:first + 1]:
        refs = [e["valueFrom"]["secretKeyRef"] for e in c.get("env", [])
                if "secretKeyRef" in e.get("valueFrom", {})]
        refs += [e["secretRef"] for e in c.get("envFrom", [])
                 if "secretRef" in e]
        for r in refs:
            if made_here(r.get("name")) and r.get("optional") is not True:
                found.append("init container %s: Secret %s" %
                             (c["name"], r.get("name")))
    return found


def secret_grants():
    """Who may touch Secrets where, per the Roles, ClusterRoles and their
    bindings in deploy/: (namespace the right applies in, or None for
    every namespace; (namespace, name) of the service account)."""
    docs = [d for _, d in documents()]
    granting = {(d["kind"], d["metadata"].get("namespace"),
                 d["metadata"]["name"]) for d in docs
                if d["kind"] in ("Role", "ClusterRole") and any(
                    set(r.get("resources", [])) & {"secrets", "*"}
                    for r in d.get("rules", []))}
    grants = []
    for b in docs:
        if b["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        ref = b["roleRef"]
        where = b["metadata"].get("namespace")  # None: cluster-wide
        role_ns = where if ref["kind"] == "Role" else None
        if (ref["kind"], role_ns, ref["name"]) not in granting:
            continue
        for subj in b.get("subjects", []):
            if subj["kind"] == "ServiceAccount":
                grants.append((where, (subj["namespace"], subj["name"])))
    return grants


def secret_rights():
    return {account for _, account in secret_grants()}


def mounts_api_token(container, spec):
    token_volumes = {v["name"] for v in spec.get("volumes", [])
                     if any("serviceAccountToken" in src for src in
                            v.get("projected", {}).get("sources", []))}
    return any(m["name"] in token_volumes
               for m in container.get("volumeMounts", []))


class LeastPrivilegeTest(unittest.TestCase):
    def test_no_pod_waits_for_a_secret_it_creates(self):
        for name, d in deployments().items():
            spec = d["spec"]["template"]["spec"]
            self.assertEqual(secrets_needed_too_early(spec), [], name)

    def test_the_check_finds_a_required_secret_volume(self):
        # Must fail: scenario 2 with its Secret volumes made required
        # again is the pod that stayed in Init with FailedMount.
        spec = deployments()["scenario2-synchronizer"]["spec"]["template"][
            "spec"]
        optional = [v for v in spec["volumes"]
                    if v.get("secret", {}).get("optional")]
        self.assertTrue(optional)
        for v in optional:
            del v["secret"]["optional"]
        self.assertEqual(
            sorted(secrets_needed_too_early(spec)),
            sorted("volume %s: Secret %s" % (v["name"],
                                             v["secret"]["secretName"])
                   for v in optional))
        spec["initContainers"][0]["envFrom"] = [
            {"secretRef": {"name": "first"}}]
        self.assertIn("init container %s: Secret first" %
                      spec["initContainers"][0]["name"],
                      secrets_needed_too_early(spec))

    def test_only_synchronizer_pods_may_touch_secrets(self):
        rights = secret_rights()
        self.assertTrue(rights)
        for name, d in deployments().items():
            spec = d["spec"]["template"]["spec"]
            account = (d["metadata"]["namespace"],
                       spec["serviceAccountName"])
            if "synchronizer" not in helpers_in(spec):
                self.assertNotIn(account, rights, name)
                continue
            # The application containers of a pod whose account may
            # touch Secrets get no API token.
            self.assertIs(spec.get("automountServiceAccountToken"), False,
                          name)
            for c in spec.get("initContainers", []) + spec["containers"]:
                if helper_of(c) is None:
                    self.assertFalse(mounts_api_token(c, spec),
                                     "%s/%s" % (name, c["name"]))
            for c in spec.get("initContainers", []):
                if helper_of(c) is not None:
                    self.assertTrue(mounts_api_token(c, spec),
                                    "%s/%s" % (name, c["name"]))

    def test_reviewer_token_is_out_of_the_pods_reach(self):
        docs = [d for _, d in documents()]
        tokens = [d for d in docs if d["kind"] == "Secret" and
                  d.get("type") == "kubernetes.io/service-account-token"]
        self.assertTrue(tokens)
        pod_namespaces = {d["metadata"]["namespace"]
                          for d in deployments().values()}
        grants = secret_grants()
        self.assertTrue(grants)
        for t in tokens:
            ns = t["metadata"]["namespace"]
            self.assertNotIn(ns, pod_namespaces, t["metadata"]["name"])
            for where, account in grants:
                self.assertNotIn(where, (ns, None),
                                 "%s may read %s/%s" % (
                                     account, ns, t["metadata"]["name"]))


def helpers_in(spec):
    return {helper_of(c) for c in spec.get("initContainers", []) +
            spec["containers"]} - {None}


if __name__ == "__main__":
    unittest.main()
