"""The multi-call binary: names, --help, --version, unknown helpers."""

import os
import subprocess
import tempfile
import unittest

from harness import BINARY


def run(argv0, *args):
    return subprocess.run([argv0] + list(args), capture_output=True,
                          text=True, timeout=10,
                          env={"PATH": "/usr/bin:/bin"})


class CliTest(unittest.TestCase):
    def test_version(self):
        r = run(BINARY, "--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^vault-kubernetes \d+\.\d+\.\d+\n$")

    def test_help_lists_helpers(self):
        r = run(BINARY, "--help")
        self.assertEqual(r.returncode, 0)
        for h in ("authenticator", "synchronizer", "token-renewer"):
            self.assertIn(h, r.stdout)

    def test_no_arguments_is_usage_error(self):
        r = run(BINARY)
        self.assertEqual(r.returncode, 2)
        self.assertIn("usage:", r.stderr)

    def test_unknown_helper(self):
        r = run(BINARY, "frobnicate")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown helper: frobnicate", r.stderr)

    def test_link_names(self):
        d = tempfile.mkdtemp()
        for h in ("authenticator", "synchronizer", "token-renewer"):
            link = os.path.join(d, "vault-kubernetes-" + h)
            os.symlink(os.path.abspath(BINARY), link)
            r = run(link, "--version")
            self.assertEqual(r.returncode, 0)
            self.assertEqual(r.stdout.strip(),
                             "vault-kubernetes-%s " % h +
                             run(BINARY, "--version").stdout.split()[1])
            r = run(link, "--help")
            self.assertIn("VAULT_TOKEN_PATH", r.stdout)
            # Through the link, the helper runs and fails on configuration.
            r = run(link)
            self.assertEqual(r.returncode, 1)
            self.assertIn("VAULT_TOKEN_PATH", r.stderr)


if __name__ == "__main__":
    unittest.main()
