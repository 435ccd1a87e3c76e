"""Shared plumbing of the test doubles: a threaded HTTP(S) server with
TCP_NODELAY, per-request latency, request/connection counting, fault
injection, and throwaway certificates made with the openssl command.

Test code only; never shipped.
"""

import http.server
import json
import os
import re
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
import time


class Fault:
    """One injected fault: matches requests by method and path regex.

    action is one of:
      ("status", code, body_bytes, headers)  answer with this
      ("close",)      close the connection without answering
      ("reset",)      send half a body, then close (truncated response)
      ("delay", secs) sleep, then handle normally
    count: how many matching requests it applies to (None: forever).
    """

    def __init__(self, path_re, action, method=None, count=1):
        self.path_re = re.compile(path_re)
        self.action = action
        self.method = method
        self.count = count

    def matches(self, method, path):
        if self.count is not None and self.count <= 0:
            return False
        if self.method and self.method != method:
            return False
        return self.path_re.search(path) is not None


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def get_request(self):
        conn, addr = super().get_request()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.owner.lock:
            self.owner.connections += 1
            # The handshake is done by now: a client that resumed a TLS
            # session skipped the certificate exchange.
            if isinstance(conn, ssl.SSLSocket) and conn.session_reused:
                self.owner.resumed += 1
        return conn, addr


class DoubleServer:
    """Base of both doubles. Subclasses implement handle(req) where req is
    a Request and return (status, headers_dict, body_bytes)."""

    def __init__(self, host="127.0.0.1", port=0, tls=None, latency=0.0,
                 client_ca=None):
        self.host = host
        self.port = port
        self.tls = tls  # (certfile, keyfile) or None
        self.client_ca = client_ca  # CA file to require client certs
        self.latency = latency
        self.lock = threading.RLock()
        self.connections = 0
        self.resumed = 0  # connections that resumed a TLS session
        self.requests = []  # list of dicts: method, path, query, headers
        self.in_flight = 0  # requests being handled now
        self.max_in_flight = 0  # high-water mark of in_flight
        self.faults = []
        self._httpd = None
        self._thread = None

    # -- lifecycle ------------------------------------------------------
    @property
    def scheme(self):
        return "https" if self.tls else "http"

    @property
    def url(self):
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "%s://%s:%d" % (self.scheme, host, self.port)

    def start(self):
        owner = self

        class Handler(_Handler):
            pass

        Handler.owner = owner
        server_class = _Server
        if ":" in self.host:  # an IPv6 address such as ::1
            class server_class(_Server):
                address_family = socket.AF_INET6
        httpd = server_class((self.host, self.port), Handler)
        httpd.owner = owner
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.tls[0], self.tls[1])
            if self.client_ca:
                ctx.verify_mode = ssl.CERT_REQUIRED
                ctx.load_verify_locations(self.client_ca)
            httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(target=httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    # -- counters and faults -------------------------------------------
    def reset_counters(self):
        with self.lock:
            self.connections = 0
            self.resumed = 0
            self.requests = []
            self.max_in_flight = self.in_flight

    def inject(self, path_re, status=None, body=None, headers=None,
               method=None, count=1, action=None, delay=None):
        """Inject a fault. Either status (+ body, dict or bytes) or
        action="close"/"reset", or delay=seconds."""
        if delay is not None:
            act = ("delay", delay)
        elif action in ("close", "reset"):
            act = (action,)
        else:
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
            elif isinstance(body, str):
                body = body.encode()
            act = ("status", status, body or b"", headers or {})
        f = Fault(path_re, act, method=method, count=count)
        with self.lock:
            self.faults.append(f)
        return f

    def clear_faults(self):
        with self.lock:
            self.faults = []

    def _take_fault(self, method, path):
        with self.lock:
            for f in self.faults:
                if f.matches(method, path):
                    if f.count is not None:
                        f.count -= 1
                    return f
        return None

    def count(self, method=None, path_re=None):
        """Number of recorded requests matching method and path regex."""
        with self.lock:
            reqs = list(self.requests)
        n = 0
        for r in reqs:
            if method and r["method"] != method:
                continue
            if path_re and not re.search(path_re, r["path"]):
                continue
            n += 1
        return n

    def handle(self, req):  # pragma: no cover - abstract
        raise NotImplementedError


class Request:
    def __init__(self, method, path, query, headers, body, client):
        self.method = method
        self.path = path
        self.query = query  # dict of str -> str (last value wins)
        self.headers = headers  # email.message.Message (case-insensitive)
        self.body = body
        self.client = client

    def json(self):
        if not self.body:
            return {}
        return json.loads(self.body)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner = None

    def log_message(self, fmt, *args):
        if os.environ.get("DOUBLE_DEBUG"):
            super().log_message(fmt, *args)

    def _dispatch(self):
        owner = self.owner
        with owner.lock:
            owner.in_flight += 1
            owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
        try:
            self._handle()
        finally:
            with owner.lock:
                owner.in_flight -= 1

    def _handle(self):
        from urllib.parse import urlsplit, parse_qsl, unquote
        owner = self.owner
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with owner.lock:
            owner.requests.append({
                "method": self.command, "path": path, "query": query,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "time": time.time(),
            })
        if owner.latency:
            time.sleep(owner.latency)
        fault = owner._take_fault(self.command, path)
        if fault is not None:
            act = fault.action
            if act[0] == "close":
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if act[0] == "reset":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.write(b'{"data": {"trunc')
                self.wfile.flush()
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if act[0] == "delay":
                time.sleep(act[1])
            elif act[0] == "status":
                self._send(act[1], act[3], act[2])
                return
        req = Request(self.command, path, query, self.headers, body,
                      self.client_address)
        try:
            status, headers, out = owner.handle(req)
        except Exception as exc:  # a bug in the double: make it visible
            import traceback
            traceback.print_exc()
            status, headers, out = 500, {}, json.dumps(
                {"errors": ["double crashed: %s" % exc]}).encode()
        self._send(status, headers, out)

    def _send(self, status, headers, out):
        if isinstance(out, (dict, list)):
            out = (json.dumps(out) + "\n").encode()
        elif isinstance(out, str):
            out = out.encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD" and out:
            self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch
    do_HEAD = do_LIST = do_OPTIONS = _dispatch


def make_certs(directory=None, names=("localhost", "vault.test",
                                      "kubernetes.default.svc"),
               ips=("127.0.0.1", "::1"), days=30):
    """Create a throwaway CA, a server certificate for names/ips and a
    client certificate, with the openssl command. Returns a dict of paths:
    ca, ca_key, cert, key, client_cert, client_key, dir."""
    d = directory or tempfile.mkdtemp(prefix="vk-certs-")

    def run(*args):
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    p = lambda n: os.path.join(d, n)
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", p("ca.key"),
        "-out", p("ca.crt"), "-days", "30", "-subj", "/CN=vk-test-ca")
    san = ",".join(["DNS:" + n for n in names] + ["IP:" + i for i in ips])
    with open(p("ext.cnf"), "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n" % san)
    with open(p("client.cnf"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", p("server.key"),
        "-out", p("server.csr"), "-subj", "/CN=%s" % names[0])
    sign = ["openssl", "x509", "-req", "-CA", p("ca.crt"), "-CAkey",
            p("ca.key"), "-CAcreateserial"]
    run(*(sign + ["-in", p("server.csr"), "-out", p("server.crt"),
                  "-days", str(days), "-extfile", p("ext.cnf")]))
    run("openssl", "req", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", p("client.key"),
        "-out", p("client.csr"), "-subj", "/CN=vk-test-client")
    run(*(sign + ["-in", p("client.csr"), "-out", p("client.crt"),
                  "-days", str(days), "-extfile", p("client.cnf")]))
    return {"dir": d, "ca": p("ca.crt"), "ca_key": p("ca.key"),
            "cert": p("server.crt"), "key": p("server.key"),
            "client_cert": p("client.crt"), "client_key": p("client.key")}
