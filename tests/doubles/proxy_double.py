#!/usr/bin/python3
"""A forward proxy double for the tests: HTTP CONNECT tunnels only.

It records every CONNECT target and counts tunnels, so a test proves
whether a client went through it. Names are resolved through a small map
(default: every name to 127.0.0.1), since the tests give Vault a name
that only exists inside the client's private mount namespace.

Test code only; never shipped. Python 3 standard library only.
"""

import select
import socket
import socketserver
import threading


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class ProxyDouble:
    def __init__(self, host="127.0.0.1", port=0, resolve=None):
        self.host = host
        self.port = port
        self.resolve = dict(resolve or {})
        self.lock = threading.Lock()
        self.tunnels = 0
        self.targets = []   # "host:port" of each CONNECT, in order
        self.refused = []   # request lines that were not CONNECT
        self._srv = None

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    def start(self):
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                owner._handle(self.request)

        self._srv = _Server((self.host, self.port), Handler)
        self.port = self._srv.server_address[1]
        threading.Thread(target=self._srv.serve_forever,
                         kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self):
        if self._srv:
            self._srv.shutdown()
            self._srv.server_close()
            self._srv = None

    def _handle(self, conn):
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 16384:
            chunk = conn.recv(4096)
            if not chunk:
                return
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split()
        if len(parts) != 3 or parts[0] != "CONNECT":
            with self.lock:
                self.refused.append(line)
            conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\n"
                         b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            return
        target = parts[1]
        name, _, port = target.rpartition(":")
        name = name.strip("[]")
        with self.lock:
            self.tunnels += 1
            self.targets.append(target)
        try:
            up = socket.create_connection(
                (self.resolve.get(name, "127.0.0.1") if not _is_ip(name)
                 else name, int(port)), timeout=10)
        except (OSError, ValueError):
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\n"
                         b"Content-Length: 0\r\n\r\n")
            return
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        rest = head.split(b"\r\n\r\n", 1)[1]
        if rest:
            up.sendall(rest)
        _pipe(conn, up)


def _is_ip(name):
    for fam in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(fam, name)
            return True
        except OSError:
            pass
    return False


def _pipe(a, b):
    socks = [a, b]
    try:
        while True:
            ready, _, _ = select.select(socks, [], [], 30)
            if not ready:
                return
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    except OSError:
        return
    finally:
        b.close()
