"""VAULT_ADDR=unix:///path: the helpers talk HTTP to Vault over a unix
socket (as to a Vault Agent listener), the Host being localhost."""

import os
import socket
import threading
import unittest

from harness import E2ETest, Env


class UnixBridge:
    """Accepts on a unix socket and relays each connection to a TCP port:
    the Vault double itself only listens on TCP."""

    def __init__(self, path, port):
        self.path = path
        self.port = port
        self.accepted = 0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(16)
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            upstream = socket.create_connection(("127.0.0.1", self.port))
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self.pipe, args=(a, b),
                                 daemon=True).start()

    @staticmethod
    def pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.sock.close()


class UnixSocketTest(E2ETest):
    def setUp(self):
        super().setUp()
        env = Env(tls=False)
        self.addCleanup(env.close)
        self.env = env
        self.path = os.path.join(env.tmp, "vault.sock")
        self.bridge = UnixBridge(self.path, env.vault.port)
        self.addCleanup(self.bridge.close)

    def test_login_and_sync_over_a_unix_socket(self):
        self.env.put("secret/k8s/first", {"one": "12345678"})
        addr = "unix://" + self.path
        r = self.env.run("authenticator", VAULT_ADDR=addr,
                         VAULT_CACERT=None)
        self.assertEqual(r.code, 0, r)
        r = self.env.run("synchronizer", VAULT_ADDR=addr, VAULT_CACERT=None,
                         VAULT_SECRETS="secret/k8s/first")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.env.secret_data("first"), {"one": b"12345678"})
        self.assertGreaterEqual(self.bridge.accepted, 2)
        hosts = {r["headers"].get("host") for r in self.env.vault.requests}
        self.assertEqual(hosts, {"localhost"})

    def test_missing_socket_named(self):
        r = self.env.run("authenticator", VAULT_CACERT=None,
                         VAULT_ADDR="unix://" + self.path + ".missing")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^authentication failed: .*")
        self.assertIn(".missing", r.err)


if __name__ == "__main__":
    unittest.main()
