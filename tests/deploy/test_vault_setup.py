"""deploy/vault-setup.sh against stand-ins for the vault and kubectl
commands, which record every call (arguments and standard input): what it
writes to Vault for a Vault outside the cluster and for one inside it, that
the reviewer's token goes in on standard input only, that the role binds
exactly the service accounts the example pods run as, and that it stops
with a clear message, before changing anything, when the reviewer's
Secret is missing or secret/ is not KV v2.
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(ROOT, "deploy", "vault-setup.sh")
REVIEWER_JWT = "reviewer-jwt-must-stay-off-argv"
KUBE_CA = "-----BEGIN CERTIFICATE-----\nkube-ca\n-----END CERTIFICATE-----\n"
SERVER = "https://api.cluster.example:6443"

# Records "<tool>\t<json argv>\t<stdin>" per call; answers from FAKE_*.
FAKE = r"""#!/usr/bin/env bash
tool=$(basename "$0")
input=""
if [ "$tool" = vault ] && { [ "$1" = write ] || [ "$1" = policy ]; }; then
	input=$(cat)
fi
printf '%s\t%s\t%s\n' "$tool" "$(jq -cn '$ARGS.positional' --args -- "$@")" \
	"$(printf '%s' "$input" | base64 -w0)" >>"$FAKE_LOG"
case "$tool $*" in
"kubectl config view"*) printf '%s' "$FAKE_SERVER" ;;
"kubectl -n "*" get secret vault-token-reviewer"*)
	if [ -n "${FAKE_NO_SECRET:-}" ]; then
		echo 'Error from server (NotFound): secrets "vault-token-reviewer" not found' >&2
		exit 1
	fi
	case "$*" in
	*ca*) printf '%s' "$FAKE_CA" | base64 -w0 ;;
	*) printf '%s' "$FAKE_JWT" | base64 -w0 ;;
	esac ;;
"vault auth list"*) echo '{}' ;;
"vault secrets list"*) printf '%s' "${FAKE_MOUNTS:-{\}}" ;;
esac
"""


def deployed_accounts():
    accounts = set()
    for path in os.listdir(os.path.join(ROOT, "deploy")):
        if not path.endswith(".yaml"):
            continue
        with open(os.path.join(ROOT, "deploy", path)) as f:
            for d in yaml.safe_load_all(f):
                if d and d["kind"] == "Deployment":
                    accounts.add(
                        d["spec"]["template"]["spec"]["serviceAccountName"])
    return accounts


class VaultSetupTest(unittest.TestCase):
    def setUp(self):
        if shutil.which("jq") is None:
            self.fail("jq is needed (scripts/setup.sh installs it)")
        self.dir = tempfile.mkdtemp(prefix="vk-vault-setup-")
        self.addCleanup(shutil.rmtree, self.dir)
        for tool in ("vault", "kubectl"):
            path = os.path.join(self.dir, tool)
            with open(path, "w") as f:
                f.write(FAKE)
            os.chmod(path, 0o755)
        self.log = os.path.join(self.dir, "calls")

    def run_setup(self, *args, **env):
        if os.path.exists(self.log):
            os.unlink(self.log)
        full = dict(os.environ, PATH=self.dir + ":" + os.environ["PATH"],
                    FAKE_LOG=self.log, FAKE_SERVER=SERVER,
                    FAKE_JWT=REVIEWER_JWT, FAKE_CA=KUBE_CA)
        full.pop("KUBERNETES_HOST", None)
        full.update(env)
        p = subprocess.run(["bash", SCRIPT] + list(args), env=full,
                           capture_output=True, text=True, timeout=60)
        self.calls = []
        if os.path.exists(self.log):
            with open(self.log) as f:
                for line in f.read().splitlines():
                    tool, argv, stdin = line.split("\t")
                    self.calls.append(
                        (tool, json.loads(argv),
                         subprocess.run(["base64", "-d"], input=stdin,
                                        capture_output=True,
                                        text=True).stdout))
        self.assertNotIn(REVIEWER_JWT, p.stdout + p.stderr)
        return p

    def writes(self):
        return [(argv, stdin) for tool, argv, stdin in self.calls
                if tool == "vault" and argv[0] in ("write", "policy",
                                                   "kv", "secrets",
                                                   "auth")
                and argv[:2] not in (["auth", "list"],
                                     ["secrets", "list"])]

    def write_to(self, path):
        found = [(argv, stdin) for argv, stdin in self.writes()
                 if argv[:2] == ["write", path]]
        self.assertEqual(len(found), 1, self.calls)
        argv, stdin = found[0]
        return dict(a.split("=", 1) for a in argv[2:]), stdin

    def test_vault_outside_the_cluster(self):
        p = self.run_setup()
        self.assertEqual(p.returncode, 0, p.stderr)
        config, stdin = self.write_to("auth/kubernetes/config")
        # The shell's $(...) drops the PEM's final newline; Vault takes it
        # either way.
        self.assertEqual(config, {"kubernetes_host": SERVER,
                                  "kubernetes_ca_cert": KUBE_CA.rstrip(),
                                  "token_reviewer_jwt": "-"})
        self.assertEqual(stdin, REVIEWER_JWT)
        for _, argv, _ in self.calls:
            self.assertNotIn(REVIEWER_JWT, " ".join(argv))
        self.assertIn("KUBERNETES_HOST=" + SERVER, p.stderr)
        gets = [argv for tool, argv, _ in self.calls
                if tool == "kubectl" and "secret" in argv]
        self.assertTrue(gets)
        for argv in gets:
            self.assertEqual(argv[:2], ["-n", "vault-auth"])
        role, _ = self.write_to("auth/kubernetes/role/vault-kubernetes-app")
        self.assertEqual(set(role["bound_service_account_names"].split(",")),
                         deployed_accounts())
        self.assertEqual(role["bound_service_account_namespaces"],
                         "vault-kubernetes")

    def test_vault_inside_the_cluster(self):
        p = self.run_setup("--in-cluster-vault")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([c for c in self.calls if c[0] == "kubectl"], [])
        config, _ = self.write_to("auth/kubernetes/config")
        self.assertEqual(config,
                         {"kubernetes_host": "https://kubernetes.default.svc"})
        p = self.run_setup("--in-cluster-vault",
                           KUBERNETES_HOST="https://10.0.0.1:443")
        self.assertEqual(p.returncode, 0, p.stderr)
        config, _ = self.write_to("auth/kubernetes/config")
        self.assertEqual(config, {"kubernetes_host": "https://10.0.0.1:443"})

    def test_missing_reviewer_secret(self):
        p = self.run_setup(FAKE_NO_SECRET="1")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("cannot read secret vault-auth/vault-token-reviewer: "
                      "Error from server (NotFound)", p.stderr)
        self.assertIn("apply deploy/02-vault-token-reviewer.yaml first, or "
                      "pass --in-cluster-vault", p.stderr)
        self.assertEqual(self.writes(), [])

    def test_example_secrets_by_kv_version(self):
        v2 = {"secret/": {"type": "kv", "options": {"version": "2"}}}
        p = self.run_setup("--example-secrets", FAKE_MOUNTS=json.dumps(v2))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([a[:3] for a, _ in self.writes() if a[0] == "kv"],
                         [["kv", "put", "secret/k8s/first"],
                          ["kv", "put", "secret/k8s/second"]])
        self.assertNotIn("secrets", [a[0] for a, _ in self.writes()])

        p = self.run_setup("--example-secrets")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(["secrets", "enable", "-path=secret", "-version=2",
                       "kv"], [a for a, _ in self.writes()])

        for mounts, expect in (
                ({"secret/": {"type": "kv", "options": None}},
                 "secret/ is a KV version 1 mount"),
                ({"secret/": {"type": "kv", "options": {"version": "1"}}},
                 "secret/ is a KV version 1 mount"),
                ({"secret/": {"type": "transit", "options": None}},
                 "secret/ holds a transit engine, not KV")):
            with self.subTest(mounts=mounts):
                p = self.run_setup("--example-secrets",
                                   FAKE_MOUNTS=json.dumps(mounts))
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn(expect, p.stderr)
                self.assertEqual(self.writes(), [])

    def test_wrong_usage(self):
        p = self.run_setup("--in-cluster")
        self.assertEqual(p.returncode, 2)
        self.assertIn("usage:", p.stderr)


if __name__ == "__main__":
    unittest.main()
