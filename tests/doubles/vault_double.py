#!/usr/bin/python3
"""A fake HashiCorp Vault for the tests of the three helpers.

It speaks the subset of the Vault HTTP API the helpers use, with the shapes
described in docs/../spec/api-reference.md (parts A, B and E): the success
and error envelopes, token checks before routing, ACL policies with Vault's
glob rules, Kubernetes and AppRole logins, response wrapping, token
lookup/renew/revoke with real wall-clock expiry, sys/mounts, the KV
preflight, and KV version 1 and 2 engines.

Test code only; never shipped. Python 3 standard library only.

Python use:

    from doubles.vault_double import VaultDouble
    v = VaultDouble().start()
    v.enable_kv("secret/", version=2)
    v.kv_put("secret/k8s/first", {"one": "12345678"})
    ...
    v.stop()

Command line (demo and manual testing):

    vault_double.py --port 8200 [--tls-cert C --tls-key K] [--seed demo]
                    [--seed-file F.json] [--ready-file F] [--error-style pre117]
"""

import base64
import json
import os
import re
import secrets
import sys
import threading
import time
import uuid
from urllib.parse import parse_qs

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
        __file__))))
    from doubles.common import DoubleServer  # noqa: E402
else:
    from .common import DoubleServer

DAY = 86400
SYSTEM_DEFAULT_TTL = 32 * DAY   # 768h
SYSTEM_MAX_TTL = 32 * DAY

PERM_DENIED = "permission denied"
MULTI_INVALID = "2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n"
MULTI_DENIED = "1 error occurred:\n\t* permission denied\n\n"
WRAP_INVALID = "wrapping token is not valid or does not exist"
KV2_ROOT_WARNING = ("Non-listing operations on the root of a K/V v2 mount "
                    "are not supported.")
KV2_PATH_WARNING = ("Invalid path for a versioned K/V secrets engine. See the "
                    "API docs for the appropriate API endpoints to use. If "
                    "using the Vault CLI, use 'vault kv %s' for this "
                    "operation.")


# ---------------------------------------------------------------------------
# JSON encoding the way Go's encoding/json does it
# ---------------------------------------------------------------------------

class RawNum(str):
    """A JSON number kept as its source text."""


class RawJSON:
    """A JSON value emitted exactly as given (no re-encoding)."""

    def __init__(self, text):
        self.text = text


class Struct(dict):
    """A Go struct: keys keep their insertion order (maps are sorted)."""


def _reject_constant(name):
    raise ValueError("invalid JSON constant %s" % name)


def loads_keep_numbers(text):
    """Parse JSON keeping every number's source text (like json.Number)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return json.loads(text, parse_int=RawNum, parse_float=RawNum,
                      parse_constant=_reject_constant)


def go_string(s):
    out = ['"']
    for ch in s:
        c = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif c < 0x20 or ch in "<>&" or c in (0x2028, 0x2029):
            out.append("\\u%04x" % c)
        elif 0xD800 <= c <= 0xDFFF:
            out.append("\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_json(obj):
    """Compact JSON as Go's encoder writes it: maps with sorted keys,
    structs (Struct) in field order, HTML characters escaped, raw numbers
    kept as their text."""
    parts = []

    def enc(o):
        if o is None:
            parts.append("null")
        elif o is True:
            parts.append("true")
        elif o is False:
            parts.append("false")
        elif isinstance(o, RawNum):
            parts.append(str(o))
        elif isinstance(o, RawJSON):
            parts.append(o.text)
        elif isinstance(o, str):
            parts.append(go_string(o))
        elif isinstance(o, int):
            parts.append(str(o))
        elif isinstance(o, float):
            parts.append(json.dumps(o))
        elif isinstance(o, dict):
            keys = list(o.keys()) if isinstance(o, Struct) else sorted(o)
            parts.append("{")
            for i, k in enumerate(keys):
                if i:
                    parts.append(",")
                parts.append(go_string(str(k)))
                parts.append(":")
                enc(o[k])
            parts.append("}")
        elif isinstance(o, (list, tuple)):
            parts.append("[")
            for i, v in enumerate(o):
                if i:
                    parts.append(",")
                enc(v)
            parts.append("]")
        else:
            raise TypeError("cannot encode %r" % (o,))

    enc(obj)
    return "".join(parts)


# ---------------------------------------------------------------------------
# durations and times
# ---------------------------------------------------------------------------

def go_duration(seconds):
    """Go's time.Duration.String() for a number of seconds."""
    ns = int(round(seconds * 1e9))
    if ns == 0:
        return "0s"
    neg = ns < 0
    ns = abs(ns)
    sign = "-" if neg else ""
    if ns < 1000:
        return "%s%dns" % (sign, ns)
    if ns < 1000000:
        unit, div = "\u00b5s", 1000
    elif ns < 1000000000:
        unit, div = "ms", 1000000
    else:
        unit = None
    if unit:
        whole, frac = divmod(ns, div)
        fs = ("%0*d" % (len(str(div)) - 1, frac)).rstrip("0")
        return "%s%d%s%s" % (sign, whole, "." + fs if fs else "", unit)
    secs_total, frac = divmod(ns, 1000000000)
    h, rem = divmod(secs_total, 3600)
    m, s = divmod(rem, 60)
    fs = ("%09d" % frac).rstrip("0")
    sec = "%d%s" % (s, "." + fs if fs else "")
    if h:
        return "%s%dh%dm%ss" % (sign, h, m, sec)
    if m:
        return "%s%dm%ss" % (sign, m, sec)
    return "%s%ss" % (sign, sec)


_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6,
             "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_DUR_RE = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def parse_go_duration(text):
    s = text.strip()
    if not s:
        raise ValueError("empty duration")
    sign = 1
    if s[0] in "+-":
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0.0
    pos, total = 0, 0.0
    while pos < len(s):
        m = _GO_DUR_RE.match(s, pos)
        if not m:
            raise ValueError("invalid duration %r" % text)
        total += float(m.group(1)) * _GO_UNITS[m.group(2)]
        pos = m.end()
    return sign * total


def parse_duration_second(value):
    """parseutil.ParseDurationSecond: ints are seconds, 'Nd' days, else Go
    duration syntax. Returns seconds (float)."""
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool):
        raise ValueError("invalid duration")
    if isinstance(value, (int, float)) and not isinstance(value, RawNum):
        return float(value)
    s = str(value).strip()
    if re.fullmatch(r"-?\d+", s):
        return float(int(s))
    if re.fullmatch(r"-?\d+(\.\d+)?", s):
        return float(s)
    if s.endswith("d") and re.fullmatch(r"-?\d+d", s):
        return float(int(s[:-1]) * DAY)
    return parse_go_duration(s)


def rfc3339nano(ns):
    """Go's time.RFC3339Nano in UTC (trailing zeros of the fraction cut)."""
    secs, frac = divmod(int(ns), 1000000000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    fs = ("%09d" % frac).rstrip("0")
    return base + ("." + fs if fs else "") + "Z"


def _rand(n, alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789"):
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _parse_bool(v):
    """strconv.ParseBool."""
    if v in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if v in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError("invalid bool %r" % v)


def _truthy(v):
    if isinstance(v, bool):
        return v
    if v is None:
        return False
    try:
        return _parse_bool(str(v))
    except ValueError:
        return False


# ---------------------------------------------------------------------------
# model
# ---------------------------------------------------------------------------

class Token:
    def __init__(self, tid, accessor, policies, ttl, base_ttl=0, max_ttl=0,
                 explicit_max_ttl=0, period=0, renewable=True,
                 token_type="service", meta=None, path="", display_name="",
                 orphan=True, num_uses=0, root=False, entity_id=""):
        now = time.time()
        self.id = tid
        self.accessor = accessor
        self.policies = policies
        self.creation_ttl = int(ttl)
        self.base_ttl = base_ttl        # TTL an increment of 0 renews to
        self.max_ttl = max_ttl          # limit from the auth method (role)
        self.explicit_max_ttl = explicit_max_ttl
        self.period = period
        self.renewable = renewable
        self.type = token_type
        self.meta = meta
        self.path = path
        self.display_name = display_name
        self.orphan = orphan
        self.num_uses = num_uses
        self.root = root
        self.entity_id = entity_id
        self.issue_ns = time.time_ns()
        self.issue = now
        self.expire = None if root or ttl <= 0 else now + ttl
        self.renew_count = 0
        self.last_renewal = None
        self.wrapped = None            # response held by a wrapping token
        self.wrapped_accessor = ""

    def valid(self, now=None):
        now = time.time() if now is None else now
        return self.expire is None or now < self.expire

    def effective_max(self):
        m = SYSTEM_MAX_TTL
        if self.max_ttl:
            m = min(m, self.max_ttl)
        if self.explicit_max_ttl:
            m = min(m, self.explicit_max_ttl)
        return m


class Mount:
    def __init__(self, path, mtype, version=None, options="auto",
                 description=""):
        self.path = path
        self.type = mtype
        self.options = options
        self.kv_version = version
        self.description = description
        self.accessor = "%s_%s" % (mtype, secrets.token_hex(4))
        self.uuid = str(uuid.uuid4())
        self.store = {}

    def entry(self, legacy_ttls=True):
        ttl = 0 if legacy_ttls else SYSTEM_DEFAULT_TTL
        builtin = "v0.20.0+builtin" if self.type in ("kv", "generic") \
            else "v1.17.0+builtin.vault"
        return {
            "accessor": self.accessor,
            "config": {"default_lease_ttl": ttl, "force_no_cache": False,
                       "max_lease_ttl": ttl},
            "description": self.description,
            "external_entropy_access": False,
            "local": self.type == "cubbyhole",
            "options": self.options,
            "plugin_version": "",
            "running_plugin_version": builtin,
            "running_sha256": "",
            "seal_wrap": False,
            "type": self.type,
            "uuid": self.uuid,
        }


class AuthMount:
    def __init__(self, path, mtype, configured=True):
        self.path = path            # "kubernetes/" (without auth/)
        self.type = mtype
        self.configured = configured
        self.roles = {}
        self.accessor = "auth_%s_%s" % (mtype, secrets.token_hex(4))
        self.uuid = str(uuid.uuid4())

    def entry(self):
        return {
            "accessor": self.accessor,
            "config": {"default_lease_ttl": SYSTEM_DEFAULT_TTL,
                       "force_no_cache": False,
                       "max_lease_ttl": SYSTEM_MAX_TTL},
            "description": "", "external_entropy_access": False,
            "local": False, "options": None, "plugin_version": "",
            "running_plugin_version": "v0.20.0+builtin", "running_sha256": "",
            "seal_wrap": False, "type": self.type, "uuid": self.uuid,
        }


DEFAULT_POLICY = {
    "auth/token/lookup-self": ["read"],
    "auth/token/renew-self": ["update"],
    "auth/token/revoke-self": ["update"],
    "sys/capabilities-self": ["update"],
    "sys/internal/ui/resultant-acl": ["read"],
    "sys/wrapping/wrap": ["update"],
    "sys/wrapping/lookup": ["update"],
    "sys/wrapping/unwrap": ["update"],
    "sys/tools/hash": ["update"],
    "sys/tools/hash/*": ["update"],
    "cubbyhole/*": ["create", "read", "update", "delete", "list"],
}
RESPONSE_WRAPPING_POLICY = {
    "cubbyhole/response": ["read"],
    "sys/wrapping/lookup": ["update"],
    "sys/wrapping/unwrap": ["update"],
}


def _pattern_regex(pattern):
    segs = pattern.split("/")
    out = []
    for i, seg in enumerate(segs):
        last = i == len(segs) - 1
        if seg == "+":
            out.append("[^/]+")
        elif last and seg.endswith("*"):
            out.append(re.escape(seg[:-1]) + ".*")
        else:
            out.append(re.escape(seg))
    return re.compile("^" + "/".join(out) + "$")


def _is_glob(pattern):
    return pattern.endswith("*") or "+" in pattern.split("/")


def _priority(pattern):
    """Vault's rule order: a higher tuple means a higher priority."""
    first = len(pattern)
    for i, ch in enumerate(pattern):
        if ch == "*" or (ch == "+" and (i == 0 or pattern[i - 1] == "/")):
            first = i
            break
    return (first, 0 if pattern.endswith("*") else 1,
            -pattern.split("/").count("+"), len(pattern), pattern)


# ---------------------------------------------------------------------------
# the double
# ---------------------------------------------------------------------------

class _Resp:
    """What a route produces: status plus an envelope (Struct), a raw body
    (bytes, sent as is) or None (empty)."""

    def __init__(self, status, body=None, headers=None):
        self.status = status
        self.body = body
        self.headers = headers or {}


class VaultDouble(DoubleServer):

    def __init__(self, tls=None, latency=0.0, client_ca=None,
                 error_style="post117", host="127.0.0.1", port=0,
                 send_mount_type=True, path_prefix=""):
        super().__init__(host=host, port=port, tls=tls, latency=latency,
                         client_ca=client_ca)
        # Vault behind a reverse proxy: requests arrive as
        # <path_prefix>/v1/...; anything else is 404.
        self.path_prefix = path_prefix.rstrip("/")
        self.error_style = error_style
        self.send_mount_type = send_mount_type
        self.state = threading.RLock()
        self.sealed = False
        self.mounts = {}
        self.auth_mounts = {"token/": AuthMount("token/", "token")}
        self.policies = {"default": dict(DEFAULT_POLICY),
                         "response-wrapping": dict(RESPONSE_WRAPPING_POLICY)}
        self.tokens = {}
        self.jwts = {}          # jwt text -> dict(sa, ns, uid, exp, revoked)
        self.tokens_issued = 0
        self.unwrap_count = 0
        for path, mtype in (("sys/", "system"), ("cubbyhole/", "cubbyhole"),
                            ("identity/", "identity")):
            m = Mount(path, mtype, options=None)
            self.mounts[path] = m
        root = Token("hvs." + _rand(24), _rand(24), ["root"], 0, root=True,
                     path="auth/token/root", display_name="root",
                     orphan=True)
        self.tokens[root.id] = root
        self.root_token = root.id

    # ------------------------------------------------------------------
    # Python-side set-up API
    # ------------------------------------------------------------------
    @staticmethod
    def _norm_mount(path):
        return path.strip("/") + "/"

    def enable_kv(self, path, version=2, kv_type="kv", description=""):
        path = self._norm_mount(path)
        if version is None:
            options, v = None, 1
        elif version == "":
            options, v = {"version": ""}, 1
        else:
            options = {"version": str(version)}
            v = 2 if str(version) == "2" else 1
        if kv_type == "generic":
            v = 1
        with self.state:
            self.mounts[path] = Mount(path, kv_type, version=v,
                                      options=options,
                                      description=description)
        return self.mounts[path]

    def enable_mount(self, path, mtype, options=None):
        path = self._norm_mount(path)
        with self.state:
            self.mounts[path] = Mount(path, mtype, options=options)
        return self.mounts[path]

    def disable_mount(self, path):
        with self.state:
            self.mounts.pop(self._norm_mount(path), None)

    def enable_auth(self, mount, mtype="kubernetes", configured=True):
        mount = self._norm_mount(mount)
        with self.state:
            am = self.auth_mounts.get(mount)
            if am is None:
                am = AuthMount(mount, mtype, configured=configured)
                self.auth_mounts[mount] = am
            else:
                am.configured = configured
        return am

    def _kv_locate(self, path):
        path = path.strip("/")
        with self.state:
            best = None
            for mp, m in self.mounts.items():
                if m.kv_version and (path + "/").startswith(mp):
                    if best is None or len(mp) > len(best.path):
                        best = m
        if best is None:
            raise KeyError("no KV mount for %r" % path)
        return best, path[len(best.path):]

    def kv_put(self, path, data, verbatim=False, custom_metadata=None):
        """Store data (a dict, or JSON text) at a logical path without
        data/. Returns the new version (v2) or None (v1)."""
        text = data if isinstance(data, str) else json.dumps(data)
        return self._kv_store(path, text, verbatim, custom_metadata)

    def kv_put_raw_json(self, path, text, verbatim=False):
        """Store JSON text whose numbers keep their source text when served.
        By default it is re-encoded the way Vault (Go) does: compact, keys
        sorted, number text untouched. verbatim=True serves the text as
        given, byte for byte."""
        return self._kv_store(path, text, verbatim, None)

    def _kv_store(self, path, text, verbatim, custom_metadata):
        value = loads_keep_numbers(text)
        if not isinstance(value, dict):
            raise ValueError("KV data must be a JSON object")
        stored = RawJSON(text) if verbatim else value
        m, key = self._kv_locate(path)
        with self.state:
            if m.kv_version == 2:
                return self._v2_write(m, key, stored, custom_metadata)
            m.store[key] = stored
            return None

    def kv_delete_latest(self, path):
        m, key = self._kv_locate(path)
        with self.state:
            if m.kv_version != 2:
                m.store.pop(key, None)
                return
            e = m.store[key]
            e["versions"][e["current"]]["deletion"] = time.time_ns()

    def kv_destroy_latest(self, path):
        m, key = self._kv_locate(path)
        with self.state:
            if m.kv_version != 2:
                m.store.pop(key, None)
                return
            e = m.store[key]
            v = e["versions"][e["current"]]
            v["destroyed"] = True
            v["data"] = None

    def kv_remove(self, path):
        m, key = self._kv_locate(path)
        with self.state:
            m.store.pop(key, None)

    def kv_get(self, path):
        """Current stored value (parsed) or None; for assertions."""
        m, key = self._kv_locate(path)
        with self.state:
            e = m.store.get(key)
            if e is None:
                return None
            if m.kv_version == 2:
                e = e["versions"][e["current"]]["data"]
            if isinstance(e, RawJSON):
                return json.loads(e.text)
            return None if e is None else json.loads(go_json(e))

    def add_policy(self, name, rules):
        """rules: {path pattern: [capabilities]}."""
        with self.state:
            self.policies[name] = {p: list(c) for p, c in rules.items()}

    def add_k8s_role(self, name, mount="kubernetes", sa_names=("default",),
                     namespaces=("default",), policies=(), ttl=3600,
                     max_ttl=0, period=0, renewable=True,
                     token_type="service", explicit_max_ttl=0,
                     no_default_policy=False, configured=True):
        am = self.enable_auth(mount, "kubernetes", configured=configured)
        with self.state:
            am.roles[name.lower()] = {
                "name": name, "sa_names": list(sa_names),
                "namespaces": list(namespaces), "policies": list(policies),
                "ttl": ttl, "max_ttl": max_ttl, "period": period,
                "renewable": renewable, "token_type": token_type,
                "explicit_max_ttl": explicit_max_ttl,
                "no_default_policy": no_default_policy}

    def add_approle(self, name, role_id=None, secret_id=None, policies=(),
                    ttl=3600, max_ttl=0, period=0, mount="approle",
                    bind_secret_id=True, renewable=True,
                    token_type="service", explicit_max_ttl=0,
                    no_default_policy=False):
        am = self.enable_auth(mount, "approle")
        role_id = role_id or str(uuid.uuid4())
        secret_id = secret_id or str(uuid.uuid4())
        with self.state:
            am.roles[name] = {
                "name": name, "role_id": role_id, "secret_id": secret_id,
                "policies": list(policies), "ttl": ttl, "max_ttl": max_ttl,
                "period": period, "bind_secret_id": bind_secret_id,
                "renewable": renewable, "token_type": token_type,
                "explicit_max_ttl": explicit_max_ttl,
                "no_default_policy": no_default_policy}
        return role_id, secret_id

    def issue_jwt(self, sa, ns, projected=False, exp=None, uid=None,
                  audience=None):
        """A JWT shaped like a service-account token. Only JWTs issued here
        (or registered with trust_jwt) pass a Kubernetes login."""
        uid = uid or str(uuid.uuid4())
        now = int(time.time())
        header = {"alg": "RS256", "kid": _rand(43)}
        if projected:
            claims = {
                "aud": audience or ["https://kubernetes.default.svc"],
                "exp": exp if exp is not None else now + 3600,
                "iat": now,
                "iss": "https://kubernetes.default.svc.cluster.local",
                "kubernetes.io": {
                    "namespace": ns,
                    "pod": {"name": "%s-pod" % sa, "uid": str(uuid.uuid4())},
                    "serviceaccount": {"name": sa, "uid": uid}},
                "nbf": now,
                "sub": "system:serviceaccount:%s:%s" % (ns, sa)}
            secret_name = ""
        else:
            secret_name = "%s-token-%s" % (sa, _rand(5).lower())
            claims = {
                "iss": "kubernetes/serviceaccount",
                "kubernetes.io/serviceaccount/namespace": ns,
                "kubernetes.io/serviceaccount/secret.name": secret_name,
                "kubernetes.io/serviceaccount/service-account.name": sa,
                "kubernetes.io/serviceaccount/service-account.uid": uid,
                "sub": "system:serviceaccount:%s:%s" % (ns, sa)}
            if exp is not None:
                claims["exp"] = exp
        compact = (",", ":")
        jwt = ".".join([
            _b64url(json.dumps(header, separators=compact).encode()),
            _b64url(json.dumps(claims, separators=compact).encode()),
            _b64url(secrets.token_bytes(256))])
        self.trust_jwt(jwt, sa, ns, uid=uid, secret_name=secret_name,
                       exp=claims.get("exp"))
        return jwt

    def trust_jwt(self, jwt, sa, ns, uid=None, secret_name="", exp=None):
        with self.state:
            self.jwts[jwt] = {"sa": sa, "ns": ns,
                              "uid": uid or str(uuid.uuid4()),
                              "secret_name": secret_name, "exp": exp,
                              "revoked": False}

    def revoke_jwt(self, jwt):
        with self.state:
            if jwt in self.jwts:
                self.jwts[jwt]["revoked"] = True

    def create_token(self, policies=(), ttl=3600, max_ttl=0, period=0,
                     renewable=True, no_default_policy=False,
                     token_type="service", meta=None, num_uses=0):
        """A token as if made by auth/token/create. max_ttl is its
        explicit_max_ttl. ttl=0 means the system default (768h)."""
        return self._mint(policies, ttl or SYSTEM_DEFAULT_TTL, 0, max_ttl,
                          period, renewable, token_type, no_default_policy,
                          meta=meta, path="auth/token/create",
                          display_name="token", orphan=False,
                          base_ttl=ttl or SYSTEM_DEFAULT_TTL,
                          num_uses=num_uses).id

    def revoke_token(self, tok):
        with self.state:
            self.tokens.pop(tok, None)

    def token(self, tok):
        """Facts about a live token, or None when unknown or expired."""
        with self.state:
            t = self._live(tok)
            if t is None:
                return None
            now = time.time()
            return {
                "id": t.id, "accessor": t.accessor,
                "policies": list(t.policies),
                "ttl_remaining": None if t.expire is None
                else max(0.0, t.expire - now),
                "issue_time": t.issue, "expire_time": t.expire,
                "creation_ttl": t.creation_ttl, "renew_count": t.renew_count,
                "last_renewal": t.last_renewal, "period": t.period,
                "max_ttl": t.effective_max(),
                "explicit_max_ttl": t.explicit_max_ttl,
                "renewable": t.renewable, "type": t.type, "meta": t.meta,
                "path": t.path, "wrapping": t.wrapped is not None,
            }

    def expire_token(self, tok):
        """Make a token expire now."""
        with self.state:
            t = self.tokens.get(tok)
            if t:
                t.expire = time.time() - 1

    # ------------------------------------------------------------------
    # token internals
    # ------------------------------------------------------------------
    def _live(self, tok):
        if not tok:
            return None
        t = self.tokens.get(tok)
        if t is None:
            return None
        if not t.valid():
            del self.tokens[tok]
            return None
        return t

    def _mint(self, policies, ttl, max_ttl, explicit_max_ttl, period,
              renewable, token_type, no_default_policy, meta=None, path="",
              display_name="", orphan=True, base_ttl=0, num_uses=0):
        pols = set(policies)
        if not no_default_policy:
            pols.add("default")
        pols = sorted(pols)
        batch = token_type == "batch"
        prefix = "hvb." if batch else "hvs."
        t = Token(prefix + _rand(90 if batch else 24),
                  "" if batch else _rand(24), pols, ttl, base_ttl=base_ttl,
                  max_ttl=max_ttl, explicit_max_ttl=explicit_max_ttl,
                  period=period, renewable=renewable and not batch,
                  token_type=token_type, meta=meta, path=path,
                  display_name=display_name, orphan=orphan,
                  num_uses=num_uses, entity_id=str(uuid.uuid4()))
        with self.state:
            self.tokens[t.id] = t
        return t

    def _login_token(self, role, meta, path, display_name):
        max_ttl = role.get("max_ttl") or 0
        explicit = role.get("explicit_max_ttl") or 0
        limit = SYSTEM_MAX_TTL
        if max_ttl:
            limit = min(limit, max_ttl)
        if explicit:
            limit = min(limit, explicit)
        period = role.get("period") or 0
        if period:
            ttl = min(period, limit)
        else:
            ttl = min(role.get("ttl") or SYSTEM_DEFAULT_TTL, limit)
        t = self._mint(role["policies"], ttl, max_ttl, explicit, period,
                       role.get("renewable", True),
                       role.get("token_type", "service"),
                       role.get("no_default_policy", False), meta=meta,
                       path=path, display_name=display_name, orphan=True,
                       base_ttl=role.get("ttl") or SYSTEM_DEFAULT_TTL)
        with self.state:
            self.tokens_issued += 1
        return t

    def _auth_block(self, t, lease):
        return Struct([
            ("client_token", t.id),
            ("accessor", t.accessor),
            ("policies", list(t.policies)),
            ("token_policies", list(t.policies)),
            ("metadata", t.meta),
            ("lease_duration", int(lease)),
            ("renewable", bool(t.renewable)),
            ("entity_id", t.entity_id),
            ("token_type", t.type),
            ("orphan", t.orphan),
            ("mfa_requirement", None),
            ("num_uses", t.num_uses),
        ])

    # ------------------------------------------------------------------
    # ACL
    # ------------------------------------------------------------------
    def _rules(self, t):
        merged = {}
        for name in t.policies:
            for pat, caps in self.policies.get(name, {}).items():
                cur = merged.setdefault(pat, set())
                cur.update(caps)
        for pat, caps in merged.items():
            if "deny" in caps:
                merged[pat] = {"deny"}
        return merged

    def _capabilities(self, t, path):
        if t.root:
            return {"root"}
        rules = self._rules(t)
        if path in rules and not _is_glob(path):
            return rules[path]
        best = None
        for pat in rules:
            if _is_glob(pat) and _pattern_regex(pat).match(path):
                if best is None or _priority(pat) > _priority(best):
                    best = pat
        return rules[best] if best is not None else set()

    def _allowed(self, t, path, cap):
        caps = self._capabilities(t, path)
        if "root" in caps:
            return True
        if "deny" in caps:
            return False
        if isinstance(cap, (list, tuple, set)):
            return any(c in caps for c in cap)
        return cap in caps

    def _has_mount_access(self, t, mount_path):
        if t.root:
            return True
        caps = self._capabilities(t, mount_path)
        if caps and "deny" not in caps:
            return True
        useful = {"create", "read", "update", "delete", "list", "sudo",
                  "patch"}
        msegs = mount_path.rstrip("/").split("/")
        for pat, pcaps in self._rules(t).items():
            if "deny" in pcaps or not (pcaps & useful):
                continue
            if not _is_glob(pat):
                if pat.startswith(mount_path):
                    return True
                continue
            psegs = pat.split("/")
            ok = True
            for i, ms in enumerate(msegs):
                if i >= len(psegs):
                    ok = False
                    break
                ps = psegs[i]
                if i == len(psegs) - 1 and ps.endswith("*"):
                    if not ms.startswith(ps[:-1]):
                        ok = False
                    break       # the glob swallows the rest
                if ps != "+" and ps != ms:
                    ok = False
                    break
            else:
                ok = ok and (len(psegs) > len(msegs) or pat.endswith("*"))
            if ok:
                return True
        return False

    # ------------------------------------------------------------------
    # responses
    # ------------------------------------------------------------------
    def _envelope(self, data=None, auth=None, warnings=None, mount_type="",
                  lease_duration=0, renewable=False, request_id=None,
                  wrap_info=None):
        env = Struct([
            ("request_id", str(uuid.uuid4()) if request_id is None
             else request_id),
            ("lease_id", ""),
            ("renewable", renewable),
            ("lease_duration", int(lease_duration)),
            ("data", data),
            ("wrap_info", wrap_info),
            ("warnings", warnings),
            ("auth", auth),
        ])
        if self.send_mount_type:
            env["mount_type"] = mount_type
        return env

    def _ok(self, **kw):
        return _Resp(200, self._envelope(**kw))

    @staticmethod
    def _err(status, *msgs):
        return _Resp(status, {"errors": list(msgs)})

    def _raw_status(self, status, env):
        """A plugin-made raw response (logical.RespondWithStatusCode): the
        body is json.Marshal output, so no trailing newline."""
        return _Resp(status, go_json(env).encode())

    def _denied_invalid(self):
        if self.error_style == "pre117":
            return self._err(403, PERM_DENIED)
        return self._err(403, MULTI_INVALID)

    def _denied_policy(self):
        return self._err(403, MULTI_DENIED)

    @staticmethod
    def _no_route(path):
        return VaultDouble._err(
            404, 'no handler for route "%s". route entry not found.' % path)

    # ------------------------------------------------------------------
    # request entry point
    # ------------------------------------------------------------------
    def handle(self, req):
        base = {"Content-Type": "application/json",
                "Cache-Control": "no-store"}
        try:
            resp = self._handle(req)
        except Exception:
            raise
        headers = dict(base)
        headers.update(resp.headers)
        if resp.body is None:
            return resp.status, headers, b""
        if isinstance(resp.body, bytes):
            return resp.status, headers, resp.body
        return resp.status, headers, (go_json(resp.body) + "\n").encode()

    def _handle(self, req):
        if self.sealed:
            return self._err(503, "Vault is sealed")
        if self.path_prefix:
            if not req.path.startswith(self.path_prefix + "/"):
                return self._err(404)
            req.path = req.path[len(self.path_prefix):]
        if not req.path.startswith("/v1/"):
            return self._err(404)
        path = req.path[4:]
        method = req.method.upper()

        if method == "GET" and "list" in req.query:
            try:
                op = "list" if _parse_bool(req.query["list"]) else "read"
            except ValueError:
                return self._err(400)
        elif method in ("GET", "HEAD"):
            op = "read"
        elif method == "LIST":
            op = "list"
        elif method in ("POST", "PUT"):
            op = "write"
        elif method == "DELETE":
            op = "delete"
        elif method == "PATCH":
            ctype = (req.headers.get("Content-Type") or "").split(";")[0]
            if ctype.strip().lower() != "application/merge-patch+json":
                return self._err(415, "Content-Type must be "
                                      "application/merge-patch+json")
            op = "patch"
        else:
            return self._err(405)

        if op == "list" and not path.endswith("/"):
            path += "/"
        if op in ("write", "patch") and path.endswith("/"):
            return self._err(400, "cannot write to a path ending in '/'")

        # request data
        data = {}
        if op in ("write", "patch"):
            try:
                data = self._parse_body(req)
            except ValueError:
                return self._err(400, "error parsing JSON")
        elif op == "delete":
            data = dict(req.query)

        wrap_ttl = 0
        hdr = req.headers.get("X-Vault-Wrap-TTL")
        if hdr:
            try:
                wrap_ttl = parse_duration_second(hdr)
            except ValueError:
                return self._err(400, "error parsing X-Vault-Wrap-TTL "
                                      "header: invalid duration")
            if wrap_ttl < 0:
                return self._err(400, "error parsing X-Vault-Wrap-TTL header:"
                                      " requested wrap ttl cannot be negative")

        token = req.headers.get("X-Vault-Token") or ""
        if not token:
            authz = req.headers.get("Authorization") or ""
            if authz[:7].lower() == "bearer ":
                token = authz[7:].strip()

        with self.state:
            resp = self._route(req, path, op, data, token)
            if (wrap_ttl > 0 and resp.status == 200
                    and isinstance(resp.body, Struct)):
                resp = self._wrap(resp.body, wrap_ttl, path)
        if method == "HEAD":
            resp.body = None
        return resp

    @staticmethod
    def _parse_body(req):
        body = req.body or b""
        if not body.strip():
            return {}
        stripped = body.lstrip()
        ctype = (req.headers.get("Content-Type") or "").lower()
        if stripped[:1] == b"{":
            value = loads_keep_numbers(body)
            if not isinstance(value, dict):
                raise ValueError("not an object")
            return value
        if "x-www-form-urlencoded" in ctype or b"=" in body:
            parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True)
            return {k: (v[0] if len(v) == 1 else v)
                    for k, v in parsed.items()}
        raise ValueError("bad body")

    # ------------------------------------------------------------------
    def _route(self, req, path, op, data, token):
        # login endpoints: no token check at all
        m = re.match(r"^auth/(.+)/login$", path)
        if m and op == "write":
            return self._login(m.group(1) + "/", path, data, req)
        if m and op == "read":
            am = self.auth_mounts.get(m.group(1) + "/")
            if am is None:
                return self._no_route(path)

        if path == "sys/wrapping/unwrap" and op == "write":
            return self._unwrap(token, data)

        if path == "sys/health" and op == "read":
            return _Resp(200, {
                "initialized": True, "sealed": False, "standby": False,
                "performance_standby": False,
                "replication_performance_mode": "disabled",
                "replication_dr_mode": "disabled",
                "server_time_utc": int(time.time()),
                "version": "1.17.0", "cluster_name": "vault-double",
                "cluster_id": "00000000-0000-0000-0000-000000000000"})

        t = self._live(token)
        if path.startswith("sys/internal/ui/mounts/") and op == "read":
            if t is None:
                return self._denied_invalid()
            return self._preflight(t, path[len("sys/internal/ui/mounts/"):])

        if t is None:
            return self._denied_invalid()

        # ACL check (before routing)
        if op == "write":
            need = ("update",) if self._exists(path) else ("create",)
            if path.startswith("auth/token/"):
                need = ("update",)
        else:
            need = (op,)
        if not self._allowed(t, path, need):
            return self._denied_policy()

        if path.startswith("auth/token/"):
            return self._token_store(t, path[len("auth/token/"):], op, data)
        if path == "sys/mounts" or path == "sys/mounts/":
            if op != "read":
                return self._err(405, "unsupported operation")
            return self._sys_mounts()
        if path.startswith("sys/mounts/") and op == "write":
            return self._sys_mount_enable(path[len("sys/mounts/"):], data)
        if path.startswith("sys/mounts/") and op == "delete":
            self.mounts.pop(self._norm_mount(path[len("sys/mounts/"):]),
                            None)
            return _Resp(204)

        mount = self._find_mount(path)
        if mount is None or not mount.kv_version:
            return self._no_route(path.rstrip("/") if op == "list" else path)
        inner = path[len(mount.path):] if len(path) >= len(mount.path) \
            else ""
        if mount.kv_version == 2:
            return self._kv2(mount, inner, op, data, req)
        return self._kv1(mount, inner, op, data, req)

    def _find_mount(self, path):
        best = None
        probe = path if path.endswith("/") else path + "/"
        for mp, m in self.mounts.items():
            if probe.startswith(mp):
                if best is None or len(mp) > len(best.path):
                    best = m
        return best

    def _exists(self, path):
        m = self._find_mount(path)
        if m is None or not m.kv_version:
            return False
        inner = path[len(m.path):]
        if m.kv_version == 1:
            return inner in m.store
        if inner.startswith("data/"):
            return inner[5:] in m.store
        if inner.startswith("metadata/"):
            return inner[9:] in m.store
        return False

    # ------------------------------------------------------------------
    # logins
    # ------------------------------------------------------------------
    def _login(self, mount, path, data, req):
        am = self.auth_mounts.get(mount)
        if am is None or am.type not in ("kubernetes", "approle"):
            return self._no_route(path)
        if am.type == "kubernetes":
            return self._login_k8s(am, path, data)
        return self._login_approle(am, path, data)

    def _login_k8s(self, am, path, data):
        role_name = str(data.get("role") or "")
        jwt = str(data.get("jwt") or "")
        if not role_name:
            return self._err(400, "missing role")
        if not jwt:
            return self._err(400, "missing jwt")
        role = am.roles.get(role_name.lower())
        if role is None:
            return self._err(400, 'invalid role name "%s"' % role_name)
        if not am.configured:
            return self._err(500, "could not load backend configuration")
        info = self.jwts.get(jwt.strip())
        if info is None:
            return self._err(403, PERM_DENIED)
        if info.get("exp") is not None and info["exp"] < time.time():
            return self._err(403, "invalid expiration time (exp) claim: "
                                  "token is expired")
        if "*" not in role["sa_names"] and info["sa"] not in role["sa_names"]:
            return self._err(403, "service account name not authorized")
        if ("*" not in role["namespaces"]
                and info["ns"] not in role["namespaces"]):
            return self._err(403, "namespace not authorized")
        if info["revoked"]:
            return self._err(403, PERM_DENIED)
        meta = {"role": role_name,
                "service_account_name": info["sa"],
                "service_account_namespace": info["ns"],
                "service_account_secret_name": info["secret_name"],
                "service_account_uid": info["uid"]}
        t = self._login_token(
            role, meta, path,
            "%s-%s-%s" % (am.path.rstrip("/").replace("/", "-"), info["ns"],
                          info["sa"]))
        return self._ok(auth=self._auth_block(t, t.creation_ttl),
                        mount_type="kubernetes")

    def _login_approle(self, am, path, data):
        role_id = str(data.get("role_id") or "").strip()
        if not role_id:
            return self._err(400, "missing role_id")
        role = None
        for r in am.roles.values():
            if r["role_id"] == role_id:
                role = r
                break
        if role is None:
            return self._err(400, "invalid role or secret ID")
        if role["bind_secret_id"]:
            secret_id = str(data.get("secret_id") or "").strip()
            if not secret_id:
                return self._err(400, "missing secret_id")
            if secret_id != role["secret_id"]:
                return self._err(400, "invalid role or secret ID")
        t = self._login_token(role, {"role_name": role["name"]}, path,
                              am.path.rstrip("/").replace("/", "-"))
        return self._ok(auth=self._auth_block(t, t.creation_ttl),
                        mount_type="approle")

    # ------------------------------------------------------------------
    # wrapping
    # ------------------------------------------------------------------
    def _wrap(self, env, ttl, path):
        wt = self._mint(["response-wrapping"], ttl, 0, 0, 0, False,
                        "service", True, path="", display_name="",
                        orphan=True, num_uses=1)
        wt.wrapped = env
        auth = env.get("auth")
        wt.wrapped_accessor = auth.get("accessor", "") if auth else ""
        info = Struct([
            ("token", wt.id),
            ("accessor", wt.accessor),
            ("ttl", int(ttl)),
            ("creation_time", rfc3339nano(wt.issue_ns)),
            ("creation_path", path),
        ])
        if wt.wrapped_accessor:
            info["wrapped_accessor"] = wt.wrapped_accessor
        return _Resp(200, self._envelope(request_id="", wrap_info=info,
                                         mount_type=""))

    def _unwrap(self, token, data):
        body_token = str(data.get("token") or "")
        if body_token:
            caller = self._live(token)
            if caller is None:
                return self._denied_invalid()
            if not self._allowed(caller, "sys/wrapping/unwrap", "update"):
                return self._denied_policy()
            wtok = body_token
        else:
            wtok = token
        wt = self._live(wtok)
        if wt is None or wt.wrapped is None:
            if not body_token and wt is None and not wtok:
                return self._denied_invalid()
            return self._err(400, WRAP_INVALID)
        self.tokens.pop(wt.id, None)
        self.unwrap_count += 1
        out = Struct(wt.wrapped)
        out["request_id"] = str(uuid.uuid4())
        return _Resp(200, out)

    # ------------------------------------------------------------------
    # token store
    # ------------------------------------------------------------------
    def _token_store(self, t, sub, op, data):
        if sub == "lookup-self":
            if op != "read":
                return self._err(405, "unsupported operation")
            return self._ok(data=self._lookup_data(t), mount_type="token")
        if sub == "renew-self":
            if op != "write":
                return self._err(405, "unsupported operation")
            return self._renew(t, data)
        if sub == "revoke-self":
            if op != "write":
                return self._err(405, "unsupported operation")
            if t.type == "batch":
                return self._err(400, "batch tokens cannot be revoked")
            self.tokens.pop(t.id, None)
            return _Resp(204)
        if sub in ("create", "create-orphan") and op == "write":
            try:
                ttl = parse_duration_second(data.get("ttl"))
                period = parse_duration_second(data.get("period"))
                emax = parse_duration_second(data.get("explicit_max_ttl"))
            except ValueError as exc:
                return self._err(400, str(exc))
            pols = data.get("policies") or []
            if isinstance(pols, str):
                pols = [p for p in pols.split(",") if p]
            if not t.root:
                pols = [p for p in pols if p in t.policies] or \
                    [p for p in t.policies if p != "default"]
            nt = self._mint(
                pols, ttl or SYSTEM_DEFAULT_TTL, 0, emax, period,
                _truthy(data.get("renewable", True)),
                data.get("type") or "service",
                _truthy(data.get("no_default_policy")),
                meta=data.get("meta"), path="auth/token/" + sub,
                display_name="token", orphan=sub == "create-orphan",
                base_ttl=ttl or SYSTEM_DEFAULT_TTL,
                num_uses=int(data.get("num_uses") or 0))
            return self._ok(auth=self._auth_block(nt, nt.creation_ttl),
                            mount_type="token")
        return self._no_route("auth/token/" + sub)

    def _lookup_data(self, t):
        now = time.time()
        d = {
            "accessor": t.accessor,
            "creation_time": int(t.issue),
            "creation_ttl": 0 if t.root else t.creation_ttl,
            "display_name": t.display_name,
            "entity_id": "" if t.root else t.entity_id,
            "expire_time": None if t.expire is None
            else rfc3339nano(int(t.expire * 1e9)),
            "explicit_max_ttl": int(t.explicit_max_ttl),
            "id": t.id,
            "meta": t.meta,
            "num_uses": t.num_uses,
            "orphan": t.orphan,
            "path": t.path,
            "policies": list(t.policies),
            "ttl": 0 if t.expire is None else max(0, int(t.expire - now)),
            "type": t.type,
        }
        if not t.root:
            d["issue_time"] = rfc3339nano(t.issue_ns)
            d["renewable"] = bool(t.renewable)
        if t.period:
            d["period"] = int(t.period)
        if t.last_renewal is not None:
            d["last_renewal_time"] = int(t.last_renewal)
            d["last_renewal"] = rfc3339nano(int(t.last_renewal * 1e9))
        return d

    def _renew(self, t, data):
        if t.type == "batch":
            return self._err(400, "batch tokens cannot be renewed")
        if t.expire is None:
            return self._err(400, "invalid lease ID")
        if not t.renewable:
            return self._err(400, "lease is not renewable")
        try:
            increment = parse_duration_second(data.get("increment"))
        except ValueError:
            return self._err(400, "error converting input for field "
                                  "\"increment\"")
        now = time.time()
        limit = t.effective_max()
        warnings = []
        if t.period:
            ttl = t.period
            if ttl > limit:
                warnings.append(
                    'Period of "%s" exceeded the effective max_ttl of "%s"; '
                    'Period value is capped accordingly'
                    % (go_duration(ttl), go_duration(limit)))
                ttl = limit
            deadline_limit = t.explicit_max_ttl
        else:
            ttl = increment if increment > 0 else (t.base_ttl
                                                   or SYSTEM_DEFAULT_TTL)
            deadline_limit = limit
        expire = now + ttl
        if deadline_limit:
            deadline = t.issue + deadline_limit
            remaining = deadline - now
            if remaining <= 0:
                return self._err(500, "past the max TTL, cannot renew")
            if ttl > remaining:
                # Vault prints the exact remaining duration (with a
                # fraction of a second); the double rounds it to whole
                # seconds so that tests can compare the text.
                shown = max(1, int(round(remaining)))
                warnings.append(
                    'TTL of "%s" exceeded the effective max_ttl of "%s"; TTL '
                    'value is capped accordingly'
                    % (go_duration(ttl), go_duration(shown)))
                ttl = int(remaining)
                expire = deadline
        t.expire = expire
        t.renew_count += 1
        t.last_renewal = now
        return self._ok(auth=self._auth_block(t, ttl),
                        warnings=warnings or None, mount_type="token")

    # ------------------------------------------------------------------
    # sys
    # ------------------------------------------------------------------
    def _sys_mounts(self):
        entries = {p: m.entry() for p, m in self.mounts.items()}
        env = self._envelope(data=entries, mount_type="system")
        top = dict(entries)         # Go map: keys sorted on output
        for k, v in env.items():
            top[k] = v
        return _Resp(200, top)

    def _sys_mount_enable(self, mpath, data):
        mtype = data.get("type") or ""
        opts = data.get("options")
        if mtype in ("kv", "generic"):
            ver = None
            if isinstance(opts, dict) and "version" in opts:
                ver = str(opts["version"])
            self.enable_kv(mpath, version=ver, kv_type=mtype)
            if ver in ("1", "2"):
                self.mounts[self._norm_mount(mpath)].options = \
                    {"version": ver}
        elif mtype == "kv-v2":
            self.enable_kv(mpath, version=2)
        elif mtype:
            self.enable_mount(mpath, mtype, options=opts)
        else:
            return self._err(400, "backend type must be specified as a "
                                  "string")
        return _Resp(204)

    def _preflight(self, t, rest):
        req_path = rest if rest.endswith("/") else rest + "/"
        msg = ('preflight capability check returned 403, please ensure '
               'client\'s policies grant access to path "%s"' % req_path)
        best, best_path = None, None
        for mp, m in self.mounts.items():
            if req_path.startswith(mp) and (best is None
                                            or len(mp) > len(best_path)):
                best, best_path = m, mp
        for ap, am in self.auth_mounts.items():
            full = "auth/" + ap
            if req_path.startswith(full) and (best is None
                                              or len(full) > len(best_path)):
                best, best_path = am, full
        if best is None or not self._has_mount_access(t, best_path):
            return self._err(403, msg)
        if isinstance(best, AuthMount):
            entry = best.entry()
            entry["path"] = best.path
        else:
            entry = best.entry(legacy_ttls=False)
            entry["path"] = best.path
        return self._ok(data=entry, mount_type="system")

    # ------------------------------------------------------------------
    # KV version 1
    # ------------------------------------------------------------------
    def _kv_mount_type(self, mount):
        return mount.type

    @staticmethod
    def _list_keys(keys, prefix):
        out = set()
        for k in keys:
            if k.startswith(prefix) and k != prefix:
                rest = k[len(prefix):]
                if "/" in rest:
                    out.add(rest.split("/", 1)[0] + "/")
                else:
                    out.add(rest)
        return sorted(out)

    def _kv1(self, m, key, op, data, req):
        if op == "list":
            keys = self._list_keys(m.store.keys(), key)
            if not keys:
                return self._err(404)
            return self._ok(data={"keys": keys}, mount_type=m.type)
        if op == "read":
            if not key or key not in m.store:
                return self._err(404)
            value = m.store[key]
            lease = SYSTEM_DEFAULT_TTL
            parsed = json.loads(value.text) if isinstance(value, RawJSON) \
                else value
            for k in ("ttl", "lease"):
                if k in parsed:
                    try:
                        lease = int(parse_duration_second(parsed[k]))
                        break
                    except ValueError:
                        pass
            return self._ok(data=value, lease_duration=lease,
                            mount_type=m.type)
        if op in ("write", "patch"):
            if not data:
                return self._err(400, "missing data fields")
            m.store[key] = self._keep_numbers(req, data)
            return _Resp(204)
        if op == "delete":
            m.store.pop(key, None)
            return _Resp(204)
        return self._err(405, "unsupported operation")

    @staticmethod
    def _keep_numbers(req, data):
        return data     # bodies are parsed with number text preserved

    # ------------------------------------------------------------------
    # KV version 2
    # ------------------------------------------------------------------
    def _v2_write(self, m, key, value, custom_metadata=None):
        now = time.time_ns()
        e = m.store.get(key)
        if e is None:
            e = {"versions": {}, "current": 0, "oldest": 0, "created": now,
                 "updated": now, "custom_metadata": custom_metadata,
                 "max_versions": 0, "cas_required": False}
            m.store[key] = e
        elif custom_metadata is not None:
            e["custom_metadata"] = custom_metadata
        n = e["current"] + 1
        e["versions"][n] = {"data": value, "created": now, "deletion": None,
                            "destroyed": False}
        e["current"] = n
        if not e["oldest"]:
            e["oldest"] = n
        e["updated"] = now
        return n

    @staticmethod
    def _v_meta(e, n):
        v = e["versions"][n]
        return {"created_time": rfc3339nano(v["created"]),
                "custom_metadata": e["custom_metadata"],
                "deletion_time": rfc3339nano(v["deletion"])
                if v["deletion"] else "",
                "destroyed": v["destroyed"],
                "version": n}

    def _kv2_warning(self, warning):
        return self._raw_status(404, self._envelope(
            data=None, warnings=[warning], mount_type=""))

    def _kv2(self, m, inner, op, data, req):
        verb = {"read": "get", "list": "list", "write": "put",
                "delete": "delete", "patch": "patch"}[op]
        head, _, rest = inner.partition("/")
        roots = ("data", "metadata", "delete", "undelete", "destroy")
        if inner in roots or (inner in [r + "/" for r in roots]
                              and op != "list"):
            return self._kv2_warning(KV2_ROOT_WARNING)
        if inner == "config":
            if op == "read":
                return self._ok(data={"cas_required": False,
                                      "delete_version_after": "0s",
                                      "max_versions": 0}, mount_type=m.type)
            return _Resp(204)
        if head == "data" and op != "list" and rest:
            return self._kv2_data(m, rest, op, data, req)
        if head == "metadata" and (rest or op == "list"):
            return self._kv2_metadata(m, rest, op, data)
        if head in ("delete", "undelete", "destroy") and rest \
                and op == "write":
            e = m.store.get(rest)
            versions = data.get("versions") or []
            if not isinstance(versions, list):
                versions = [versions]
            if not versions:
                return self._err(400, "no version number provided")
            if e is not None:
                for raw in versions:
                    n = int(raw)
                    v = e["versions"].get(n)
                    if v is None:
                        continue
                    if head == "delete" and not v["destroyed"]:
                        v["deletion"] = v["deletion"] or time.time_ns()
                    elif head == "undelete" and not v["destroyed"]:
                        v["deletion"] = None
                    elif head == "destroy":
                        v["destroyed"] = True
                        v["data"] = None
            return _Resp(204)
        return self._kv2_warning(KV2_PATH_WARNING % verb)

    def _kv2_data(self, m, key, op, data, req):
        e = m.store.get(key)
        if op == "read":
            if e is None:
                return self._err(404)
            try:
                n = int(req.query.get("version") or 0)
            except ValueError:
                return self._err(400, "invalid version")
            if n == 0:
                n = e["current"]
            v = e["versions"].get(n)
            if v is None:
                return self._err(404)
            meta = self._v_meta(e, n)
            deleted = v["deletion"] and v["deletion"] <= time.time_ns()
            if v["destroyed"] or deleted:
                return self._raw_status(404, self._envelope(
                    data={"data": None, "metadata": meta}, mount_type=""))
            return self._ok(data={"data": v["data"], "metadata": meta},
                            mount_type=m.type)
        if op == "write":
            payload = data.get("data")
            if not isinstance(payload, dict):
                return self._err(400, "no data provided")
            opts = data.get("options") or {}
            if isinstance(opts, dict) and "cas" in opts:
                cas = int(opts["cas"])
                cur = e["current"] if e else 0
                if cas != cur:
                    return self._err(400, "check-and-set parameter did not "
                                          "match the current version")
            n = self._v2_write(m, key, payload)
            return self._ok(data=self._v_meta(m.store[key], n),
                            mount_type=m.type)
        if op == "patch":
            if e is None:
                return _Resp(404, b"")
            v = e["versions"][e["current"]]
            if v["destroyed"] or v["deletion"]:
                return self._raw_status(404, self._envelope(
                    data={"metadata": self._v_meta(e, e["current"])},
                    mount_type=""))
            cur = v["data"]
            if isinstance(cur, RawJSON):
                cur = loads_keep_numbers(cur.text)
            merged = dict(cur)
            for k, val in (data.get("data") or {}).items():
                if val is None:
                    merged.pop(k, None)
                else:
                    merged[k] = val
            n = self._v2_write(m, key, merged)
            return self._ok(data=self._v_meta(m.store[key], n),
                            mount_type=m.type)
        if op == "delete":
            if e is not None:
                v = e["versions"][e["current"]]
                if not v["deletion"]:
                    v["deletion"] = time.time_ns()
            return _Resp(204)
        return self._err(405, "unsupported operation")

    def _kv2_metadata(self, m, key, op, data):
        if op == "list":
            keys = self._list_keys(m.store.keys(), key)
            if not keys:
                return self._err(404)
            return self._ok(data={"keys": keys}, mount_type=m.type)
        e = m.store.get(key)
        if op == "read":
            if e is None:
                return self._err(404)
            versions = {}
            for n, v in e["versions"].items():
                versions[str(n)] = {
                    "created_time": rfc3339nano(v["created"]),
                    "deletion_time": rfc3339nano(v["deletion"])
                    if v["deletion"] else "",
                    "destroyed": v["destroyed"]}
            return self._ok(data={
                "cas_required": e["cas_required"],
                "created_time": rfc3339nano(e["created"]),
                "current_version": e["current"],
                "custom_metadata": e["custom_metadata"],
                "delete_version_after": "0s",
                "max_versions": e["max_versions"],
                "oldest_version": e["oldest"],
                "updated_time": rfc3339nano(e["updated"]),
                "versions": versions}, mount_type=m.type)
        if op == "delete":
            m.store.pop(key, None)
            return _Resp(204)
        if op == "write":
            if e is not None and isinstance(data.get("custom_metadata"),
                                            dict):
                e["custom_metadata"] = data["custom_metadata"]
            return _Resp(204)
        return self._err(405, "unsupported operation")


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------

def seed_demo(v, ttl=60, max_ttl=600):
    v.enable_kv("secret/", version=2)
    v.kv_put("secret/k8s/first", {"one": "12345678", "two": "23456781"})
    v.kv_put("secret/k8s/second", {"green": "lantern", "poison": "ivy"})
    v.add_policy("demo", {
        "secret/data/k8s/*": ["read"],
        "secret/metadata/k8s/*": ["list", "read"],
        "secret/k8s/*": ["read", "list"],
        "sys/mounts": ["read"],
    })
    v.add_k8s_role("demo", mount="kubernetes", sa_names=["default"],
                   namespaces=["default"], policies=["demo"], ttl=ttl,
                   max_ttl=max_ttl)
    jwt = v.issue_jwt("default", "default")
    return {"role": "demo", "jwt": jwt, "policies": ["demo"],
            "mount": "kubernetes"}


def seed_file(v, path):
    """JSON: {"mounts": [{"path": "secret/", "type": "kv", "version": 2}],
    "secrets": {"secret/k8s/first": {...}}, "raw_secrets": {path: text},
    "policies": {name: {pattern: [caps]}},
    "k8s_roles": [{"name": ..., ...add_k8s_role kwargs}],
    "approles": [{"name": ..., ...add_approle kwargs}],
    "jwts": [{"sa": "default", "ns": "default"}],
    "tokens": [{...create_token kwargs}]}"""
    with open(path) as f:
        spec = json.load(f)
    out = {"jwts": [], "tokens": [], "approles": {}}
    for m in spec.get("mounts", []):
        mtype = m.get("type", "kv")
        if mtype in ("kv", "generic"):
            v.enable_kv(m["path"], version=m.get("version", 2),
                        kv_type=mtype)
        else:
            v.enable_mount(m["path"], mtype)
    for p, d in spec.get("secrets", {}).items():
        v.kv_put(p, d)
    for p, text in spec.get("raw_secrets", {}).items():
        v.kv_put_raw_json(p, text)
    for name, rules in spec.get("policies", {}).items():
        v.add_policy(name, rules)
    for r in spec.get("k8s_roles", []):
        r = dict(r)
        v.add_k8s_role(r.pop("name"), **r)
    for r in spec.get("approles", []):
        r = dict(r)
        name = r.pop("name")
        out["approles"][name] = v.add_approle(name, **r)
    for j in spec.get("jwts", []):
        out["jwts"].append(v.issue_jwt(j.get("sa", "default"),
                                       j.get("ns", "default"),
                                       projected=j.get("projected", False)))
    for t in spec.get("tokens", []):
        out["tokens"].append(v.create_token(**t))
    return out


def main(argv=None):
    import argparse
    import signal
    ap = argparse.ArgumentParser(description="fake Vault for tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8200)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--client-ca")
    ap.add_argument("--seed", choices=["demo", "none"], default="none")
    ap.add_argument("--seed-file")
    ap.add_argument("--ttl", type=int, default=60,
                    help="token TTL of the demo role (seconds)")
    ap.add_argument("--max-ttl", type=int, default=600)
    ap.add_argument("--error-style", choices=["post117", "pre117"],
                    default="post117")
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--ready-file")
    args = ap.parse_args(argv)
    tls = (args.tls_cert, args.tls_key) if args.tls_cert else None
    v = VaultDouble(tls=tls, latency=args.latency, client_ca=args.client_ca,
                    error_style=args.error_style, host=args.host,
                    port=args.port)
    info = {}
    if args.seed == "demo":
        info.update(seed_demo(v, ttl=args.ttl, max_ttl=args.max_ttl))
    if args.seed_file:
        info.update(seed_file(v, args.seed_file))
    v.start()
    info.update({"url": v.url, "port": v.port, "root_token": v.root_token})
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % v.port)
        os.replace(tmp, args.ready_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    while not stop.wait(0.1):
        pass
    v.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
