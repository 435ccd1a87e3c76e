"""The manifests in deploy/: valid against Kubernetes' schemas offline
(check-manifests.sh), refused when broken (invalid/, one expected message
each), and holding the rules the examples promise: restricted security
contexts, the token on an in-memory volume, the three scenarios in order,
and only environment variables the helpers know (their --help).
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


def helpers_in(spec):
    return {helper_of(c) for c in spec.get("initContainers", []) +
            spec["containers"]} - {None}


if __name__ == "__main__":
    unittest.main()
