#!/usr/bin/python3
"""A DNS double for the tests: a UDP server answering A and SRV queries
from tables, NXDOMAIN for any other name. It counts the questions it was
asked, so a test proves whether a client looked a record up.

Test code only; never shipped. Python 3 standard library only.
"""

import socket
import struct
import threading

TYPE_A = 1
TYPE_SRV = 33
CLASS_IN = 1


def _name_encode(name):
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("ascii")
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def _name_decode(msg, off):
    labels = []
    while True:
        n = msg[off]
        if n == 0:
            return ".".join(labels), off + 1
        if n & 0xC0:
            raise ValueError("compressed name in a question")
        labels.append(msg[off + 1:off + 1 + n].decode("ascii"))
        off += 1 + n


class DnsDouble:
    """srv: {"_http._tcp.x.test": [(priority, weight, port, target)]};
    a: {"vault.test": "127.0.0.1"}."""

    def __init__(self, host="127.0.0.1", port=53, srv=None, a=None):
        self.host = host
        self.port = port
        self.srv = {k.lower(): v for k, v in (srv or {}).items()}
        self.a = {k.lower(): v for k, v in (a or {}).items()}
        self.lock = threading.Lock()
        self.questions = []  # (name, type) in order
        self._sock = None
        self._stop = threading.Event()

    def start(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((self.host, self.port))
        s.settimeout(0.1)
        self.port = s.getsockname()[1]
        self._sock = s
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def stop(self):
        self._stop.set()
        if self._sock:
            self._sock.close()

    def count(self, qtype=None, name=None):
        with self.lock:
            return sum(1 for n, t in self.questions
                       if (qtype is None or t == qtype)
                       and (name is None or n == name.lower()))

    def _serve(self):
        while not self._stop.is_set():
            try:
                msg, peer = self._sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                self._sock.sendto(self._answer(msg), peer)
            except (ValueError, IndexError, struct.error, OSError):
                continue

    def _answer(self, msg):
        qid, _flags, qd = struct.unpack(">HHH", msg[:6])
        if qd != 1:
            raise ValueError("one question expected")
        name, off = _name_decode(msg, 12)
        qtype, qclass = struct.unpack(">HH", msg[off:off + 4])
        question = msg[12:off + 4]
        name = name.lower()
        with self.lock:
            self.questions.append((name, qtype))
        answers = []
        if qtype == TYPE_SRV and name in self.srv:
            for prio, weight, port, target in self.srv[name]:
                rdata = struct.pack(">HHH", prio, weight, port) + \
                    _name_encode(target)
                answers.append(struct.pack(">HHHIH", 0xC00C, TYPE_SRV,
                                           CLASS_IN, 60, len(rdata)) + rdata)
        elif qtype == TYPE_A and name in self.a:
            rdata = socket.inet_aton(self.a[name])
            answers.append(struct.pack(">HHHIH", 0xC00C, TYPE_A, CLASS_IN,
                                       60, 4) + rdata)
        known = name in self.srv or name in self.a
        rcode = 0 if known else 3
        flags = 0x8000 | 0x0400 | 0x0100 | 0x0080 | rcode
        head = struct.pack(">HHHHHH", qid, flags, 1, len(answers), 0, 0)
        return head + question + b"".join(answers)
