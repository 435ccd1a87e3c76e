"""Shared set-up of the Vault client tests (test_vault_client*.py):
certificates issued by the harness CA for special cases, a fresh world
per test with a chosen Vault double, and a runner that gives the binary
its own /etc/hosts and /etc/resolv.conf in a private mount namespace."""

import os
import shutil
import socket
import subprocess
import tempfile
import unittest

import harness
from harness import E2ETest, Env, BINARY


def _run(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def issue_cert(names=("localhost",), ips=("127.0.0.1",), start=None,
               end=None, ca=None):
    """A server certificate for names/ips from the harness CA (or ca, a
    make_certs() dict); start/end as YYYYMMDDHHMMSSZ make it expired or
    not yet valid. Returns (cert, key)."""
    c = ca or harness.certs()
    d = tempfile.mkdtemp(prefix="vk-cert-")
    p = lambda n: os.path.join(d, n)
    _run("openssl", "req", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", p("s.key"),
         "-out", p("s.csr"), "-subj", "/CN=%s" % names[0])
    san = ",".join(["DNS:" + n for n in names] + ["IP:" + i for i in ips])
    if start is None:
        with open(p("ext.cnf"), "w") as f:
            f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n" % san)
        _run("openssl", "x509", "-req", "-CA", c["ca"], "-CAkey",
             c["ca_key"], "-CAcreateserial", "-in", p("s.csr"), "-out",
             p("s.crt"), "-days", "5", "-extfile", p("ext.cnf"))
        return p("s.crt"), p("s.key")
    # openssl 3.0's x509 cannot set dates in the past; its ca command can.
    with open(p("ca.cnf"), "w") as f:
        f.write("[ca]\ndefault_ca=d\n[d]\ndatabase=%s\nnew_certs_dir=%s\n"
                "serial=%s\ndefault_md=sha256\npolicy=p\n"
                "unique_subject=no\nx509_extensions=ext\n"
                "[p]\ncommonName=supplied\n[ext]\nsubjectAltName=%s\n"
                "basicConstraints=CA:FALSE\n"
                % (p("index.txt"), d, p("serial"), san))
    open(p("index.txt"), "w").close()
    with open(p("serial"), "w") as f:
        f.write("1000\n")
    _run("openssl", "ca", "-batch", "-config", p("ca.cnf"), "-cert",
         c["ca"], "-keyfile", c["ca_key"], "-in", p("s.csr"), "-out",
         p("s.crt"), "-startdate", start, "-enddate", end, "-notext")
    return p("s.crt"), p("s.key")


def local_ip():
    """A non-loopback IPv4 address of this machine, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.200", 9))
        ip = s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
    return None if ip.startswith("127.") else ip


_ns_ok = None


def namespaces_permitted():
    """Whether unshare -m and a bind mount over /etc/hosts work here."""
    global _ns_ok
    if _ns_ok is None:
        try:
            p = subprocess.run(
                ["unshare", "-m", "sh", "-c",
                 "mount --bind /dev/null /etc/hosts"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                timeout=10)
            _ns_ok = p.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _ns_ok = False
    return _ns_ok


class ClientTest(E2ETest):
    """A fresh world per test; make_env() may choose the Vault double."""

    vault_tls = None
    vault_kw = {}

    def setUp(self):
        if not os.path.exists(BINARY):
            self.fail("binary not built: %s" % BINARY)
        self.env = Env(vault_tls=self.vault_tls, **self.vault_kw)
        self.addCleanup(self.env.close)

    def reqs(self, path_re=None):
        import re
        with self.env.vault.lock:
            rs = list(self.env.vault.requests)
        return [r for r in rs if path_re is None
                or re.search(path_re, r["path"])]

    def logins(self):
        return self.reqs(r"^/v1/auth/kubernetes/login$")


class NamespacedTest(ClientTest):
    """Runs the binary in a private mount namespace whose /etc/hosts and
    /etc/resolv.conf the test writes."""

    hosts = "127.0.0.1 localhost\n127.0.0.1 vault.test\n"
    resolv = None

    def setUp(self):
        if os.geteuid() != 0 or not namespaces_permitted():
            raise unittest.SkipTest(
                "needs root and unshare -m with bind mounts (a private "
                "/etc/hosts gives Vault a name that is not loopback)")
        super().setUp()
        self.ns_dir = tempfile.mkdtemp(prefix="vk-ns-")
        self.addCleanup(shutil.rmtree, self.ns_dir, True)
        self.write_hosts(self.hosts)
        mounts = ["mount --bind %s/hosts /etc/hosts" % self.ns_dir]
        if self.resolv is not None:
            with open(os.path.join(self.ns_dir, "resolv.conf"), "w") as f:
                f.write(self.resolv)
            mounts.append("mount --bind %s/resolv.conf /etc/resolv.conf"
                          % self.ns_dir)
        script = " && ".join(mounts) + ' && exec "$@"'
        self.env.command = lambda helper: (
            ["unshare", "-m", "sh", "-c", script, "sh", BINARY, helper])

    def write_hosts(self, text):
        with open(os.path.join(self.ns_dir, "hosts"), "w") as f:
            f.write(text)
