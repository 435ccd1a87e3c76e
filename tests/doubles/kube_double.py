"""Kubernetes API server double for core/v1 Secrets.

Serves discovery (enough for kubectl 1.27-1.33), the Secret endpoints with
bearer-token authentication, RBAC on secrets, validation, optimistic
concurrency, pagination with snapshots, selectors, patches (merge,
strategic, JSON patch, a JSON-only server-side apply) and Status objects
shaped like the real API server's (api-reference.md part D).

Test code only; never shipped. Python standard library only.
"""

import base64
import copy
import json
import os
import random
import re
import signal
import sys
import threading
import time
import uuid

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    from doubles.common import DoubleServer  # noqa: E402
else:
    from .common import DoubleServer

GIT_VERSION = "v1.30.0"
ALL_VERBS = frozenset({"get", "list", "watch", "create", "update", "patch",
                       "delete", "deletecollection"})
MAX_DATA = 1048576
MAX_ANNOTATIONS = 262144
MAX_JSON_PATCH_OPS = 10000
SNAPSHOTS_KEPT = 64
SECRET_FIELDS = frozenset({"kind", "apiVersion", "metadata", "data",
                           "stringData", "type", "immutable"})
META_FIELDS = frozenset({
    "name", "generateName", "namespace", "selfLink", "uid",
    "resourceVersion", "generation", "creationTimestamp",
    "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
    "annotations", "ownerReferences", "finalizers", "managedFields"})

PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json",
               "application/apply-patch+yaml")
BODY_TYPES = ("application/json", "application/yaml",
              "application/vnd.kubernetes.protobuf")

# -- validation messages (texts of the Kubernetes validation package) -------
DNS1123_SUBDOMAIN_RE = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
CONFIG_KEY_RE = re.compile(r"^[-._a-zA-Z0-9]+$")
QUALIFIED_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

MSG_SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
    "characters, '-' or '.', and must start and end with an alphanumeric "
    "character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
MSG_CONFIG_KEY = (
    "a valid config key must consist of alphanumeric characters, '-', '_' "
    "or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used "
    "for validation is '[-._a-zA-Z0-9]+')")
MSG_QUALIFIED = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyName',  or "
    "'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
MSG_LABEL_VALUE = (
    "a valid label must be an empty string or consist of alphanumeric "
    "characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
    "regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
MSG_CONFLICT = ("the object has been modified; please apply your changes to "
                "the latest version and try again")
MSG_EXPIRED = (
    "The provided continue parameter is too old to display a consistent "
    "list result. You can start a new list without the continue parameter, "
    "or use the continue token in this response to retrieve the remainder "
    "of the results. Continuing with the provided token results in an "
    "inconsistent list - objects that were created, modified, or deleted "
    "between the time the first chunk was returned and now may show up in "
    "the list.")
IMMUTABLE_MSG = "field is immutable when `immutable` is set"


def go_quote(value):
    """Render a value the way Go's %q / field.Invalid shows it."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class FieldError:
    """One validation error, as field.Error renders it."""

    def __init__(self, kind, field, detail="", value=None, limit=None):
        self.kind = kind  # Invalid Required TooLong Forbidden NotSupported
        self.field = field
        self.detail = detail
        self.value = value
        self.limit = limit

    def cause_reason(self):
        return {"Invalid": "FieldValueInvalid",
                "Required": "FieldValueRequired",
                "TooLong": "FieldValueTooLong",
                "Forbidden": "FieldValueForbidden",
                "NotSupported": "FieldValueNotSupported"}[self.kind]

    def body(self):
        if self.kind == "Invalid":
            text = "Invalid value: %s" % go_quote(self.value)
        elif self.kind == "Required":
            text = "Required value"
        elif self.kind == "TooLong":
            text = "Too long: may not be more than %d bytes" % self.limit
        elif self.kind == "Forbidden":
            text = "Forbidden"
        else:
            text = "Unsupported value: %s" % go_quote(self.value)
        if self.detail:
            text += ": " + self.detail
        return text

    def __str__(self):
        return "%s: %s" % (self.field, self.body())


class ApiError(Exception):
    """An error answered as a Status object."""

    def __init__(self, code, reason, message, details=None, metadata=None,
                 headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.metadata = metadata or {}
        self.headers = headers or {}

    def status(self):
        st = {"kind": "Status", "apiVersion": "v1",
              "metadata": self.metadata, "status": "Failure",
              "message": self.message, "reason": self.reason}
        if self.details is not None:
            st["details"] = self.details
        st["code"] = self.code
        return st


def err_bad_request(msg):
    return ApiError(400, "BadRequest", msg)


def err_not_found(name, resource="secrets"):
    return ApiError(404, "NotFound", '%s "%s" not found' % (resource, name),
                    {"name": name, "kind": resource})


def err_conflict(name, why=MSG_CONFLICT):
    return ApiError(409, "Conflict",
                    'Operation cannot be fulfilled on secrets "%s": %s'
                    % (name, why), {"name": name, "kind": "secrets"})


def err_invalid(name, errors, kind="Secret", group=None):
    texts = [str(e) for e in errors]
    joined = texts[0] if len(texts) == 1 else "[%s]" % ", ".join(texts)
    gk = kind if not group else "%s.%s" % (kind, group)
    details = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = kind
    details["causes"] = [{"reason": e.cause_reason(), "message": e.body(),
                          "field": e.field} for e in errors]
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s'
                    % (gk, name, joined), details)


def err_decode(detail):
    return err_bad_request('Secret in version "v1" cannot be handled as a '
                           'Secret: %s' % detail)


def err_route_not_found():
    return ApiError(404, "NotFound",
                    "the server could not find the requested resource",
                    {})


# -- Go-compatible helpers ---------------------------------------------------
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_SET = frozenset(_B64)


def go_b64decode(text):
    """Decode like Go's base64.StdEncoding.Decode (used for []byte in JSON).
    Raises ValueError("illegal base64 data at input byte N")."""
    src = text
    n = len(src)
    si = 0
    out = bytearray()

    def bad(pos):
        raise ValueError("illegal base64 data at input byte %d" % pos)

    while si < n:
        quantum = []
        j = 0
        dlen = 4
        while j < 4:
            if si == n:
                if j == 0:
                    return bytes(out)
                bad(si - j)
            ch = src[si]
            si += 1
            if ch in _B64_SET:
                quantum.append(_B64.index(ch))
                j += 1
                continue
            if ch in "\r\n":
                continue
            if ch != "=":
                bad(si - 1)
            # padding
            if j in (0, 1):
                bad(si - 1)
            if j == 2:
                while si < n and src[si] in "\r\n":
                    si += 1
                if si == n:
                    bad(n)
                if src[si] != "=":
                    bad(si - 1)
                si += 1
            while si < n and src[si] in "\r\n":
                si += 1
            if si < n:
                bad(si)
            dlen = j
            break
        while len(quantum) < 4:
            quantum.append(0)
        val = (quantum[0] << 18) | (quantum[1] << 12) | (quantum[2] << 6) \
            | quantum[3]
        chunk = bytes([(val >> 16) & 255, (val >> 8) & 255, val & 255])
        out += chunk[:dlen - 1] if dlen < 4 else chunk
        if dlen < 4:
            break
    return bytes(out)


def b64(data):
    return base64.b64encode(data).decode("ascii")


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def parse_rfc3339(text):
    try:
        return time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")) \
            - time.mktime(time.gmtime(0))
    except (TypeError, ValueError):
        return time.time()


def human_duration(secs):
    """Approximation of apimachinery's duration.HumanDuration."""
    secs = int(secs)
    if secs < 0:
        return "0s"
    if secs < 120:
        return "%ds" % secs
    mins = secs // 60
    if mins < 10:
        s = secs % 60
        return "%dm%ds" % (mins, s) if s else "%dm" % mins
    if mins < 180:
        return "%dm" % mins
    hours = secs // 3600
    if hours < 8:
        m = mins % 60
        return "%dh%dm" % (hours, m) if m else "%dh" % hours
    if hours < 48:
        return "%dh" % hours
    days = hours // 24
    if hours < 24 * 8:
        h = hours % 24
        return "%dd%dh" % (days, h) if h else "%dd" % days
    if hours < 24 * 365 * 2:
        return "%dd" % days
    return "%dy" % (days // 365)


# -- validation --------------------------------------------------------------
def subdomain_errors(value, field):
    errs = []
    if len(value) > 253:
        errs.append(FieldError("Invalid", field,
                               "must be no more than 253 characters", value))
    if not DNS1123_SUBDOMAIN_RE.match(value):
        errs.append(FieldError("Invalid", field, MSG_SUBDOMAIN, value))
    return errs


def qualified_name_problems(key):
    """Return the detail texts for an invalid label/annotation key."""
    parts = key.split("/")
    if len(parts) == 1:
        name, prefix = parts[0], None
    elif len(parts) == 2:
        prefix, name = parts
    else:
        return ["a qualified name " + MSG_QUALIFIED +
                " with an optional DNS subdomain prefix and '/' "
                "(e.g. 'example.com/MyName')"]
    out = []
    if prefix is not None:
        if prefix == "":
            out.append("prefix part must be non-empty")
        else:
            if len(prefix) > 253:
                out.append("prefix part must be no more than 253 characters")
            if not DNS1123_SUBDOMAIN_RE.match(prefix):
                out.append("prefix part " + MSG_SUBDOMAIN)
    if name == "":
        out.append("name part must be non-empty")
    else:
        if len(name) > 63:
            out.append("name part must be no more than 63 characters")
        if not QUALIFIED_NAME_RE.match(name):
            out.append("name part " + MSG_QUALIFIED)
    return out


def validate_meta_maps(meta):
    errs = []
    labels = meta.get("labels") or {}
    for k in sorted(labels):
        for d in qualified_name_problems(k):
            errs.append(FieldError("Invalid", "metadata.labels", d, k))
        v = labels[k]
        if not isinstance(v, str):
            v = str(v)
        if len(v) > 63:
            errs.append(FieldError("Invalid", "metadata.labels",
                                   "must be no more than 63 characters", v))
        if not LABEL_VALUE_RE.match(v):
            errs.append(FieldError("Invalid", "metadata.labels",
                                   MSG_LABEL_VALUE, v))
    annotations = meta.get("annotations") or {}
    total = 0
    for k in sorted(annotations):
        for d in qualified_name_problems(k.lower()):
            errs.append(FieldError("Invalid", "metadata.annotations", d, k))
        total += len(k.encode()) + len(str(annotations[k]).encode())
    if total > MAX_ANNOTATIONS:
        errs.append(FieldError("TooLong", "metadata.annotations", "",
                               limit=MAX_ANNOTATIONS))
    return errs


def validate_secret(obj, raw):
    """Validate a decoded Secret. raw maps data keys to decoded bytes."""
    errs = []
    meta = obj["metadata"]
    if meta.get("name"):
        errs += subdomain_errors(meta["name"], "metadata.name")
    elif meta.get("generateName"):
        prefix = meta["generateName"]
        base = prefix[:-1] if prefix.endswith("-") else prefix
        errs += subdomain_errors(base, "metadata.generateName")
    else:
        errs.append(FieldError("Required", "metadata.name",
                               "name or generateName is required"))
    errs += validate_meta_maps(meta)
    total = 0
    for k in sorted(raw):
        field = "data[%s]" % k
        if len(k) > 253:
            errs.append(FieldError("Invalid", field,
                                   "must be no more than 253 characters", k))
        if not CONFIG_KEY_RE.match(k):
            errs.append(FieldError("Invalid", field, MSG_CONFIG_KEY, k))
        if k == ".":
            errs.append(FieldError("Invalid", field, "must not be '.'", k))
        elif k == "..":
            errs.append(FieldError("Invalid", field, "must not be '..'", k))
        elif k.startswith(".."):
            errs.append(FieldError("Invalid", field,
                                   "must not start with '..'", k))
        total += len(raw[k])
    if total > MAX_DATA:
        errs.append(FieldError("TooLong", "data", "", limit=MAX_DATA))
    errs += validate_type_keys(obj, raw)
    return errs


def validate_type_keys(obj, raw):
    errs = []
    typ = obj.get("type")
    ann = obj["metadata"].get("annotations") or {}
    if typ == "kubernetes.io/service-account-token":
        if not ann.get("kubernetes.io/service-account.name"):
            errs.append(FieldError(
                "Required", "metadata.annotations"
                "[kubernetes.io/service-account.name]"))
    elif typ in ("kubernetes.io/dockercfg",
                 "kubernetes.io/dockerconfigjson"):
        key = ".dockercfg" if typ.endswith("dockercfg") else \
            ".dockerconfigjson"
        if key not in raw:
            errs.append(FieldError("Required", "data[%s]" % key))
        else:
            try:
                json.loads(raw[key].decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                errs.append(FieldError("Invalid", "data[%s]" % key,
                                       str(exc),
                                       "<secret contents redacted>"))
    elif typ == "kubernetes.io/basic-auth":
        if "username" not in raw and "password" not in raw:
            errs.append(FieldError("Required", "data[username]"))
            errs.append(FieldError("Required", "data[password]"))
    elif typ == "kubernetes.io/ssh-auth":
        if not raw.get("ssh-privatekey"):
            errs.append(FieldError("Required", "data[ssh-privatekey]"))
    elif typ == "kubernetes.io/tls":
        for key in ("tls.crt", "tls.key"):
            if key not in raw:
                errs.append(FieldError("Required", "data[%s]" % key))
    return errs


# -- selectors ---------------------------------------------------------------
_SEL_TOKEN = re.compile(r"\s*(\(|\)|,|!=|==|=|!|in\b|notin\b|[^\s(),=!]+)")


def parse_label_selector(text):
    """Parse a label selector into a list of (key, op, values).
    ops: eq ne in notin exists notexists. Raises ApiError 400."""
    text = text.strip()
    if not text:
        return []
    reqs = []
    pos = 0

    def fail(why):
        raise err_bad_request("unable to parse requirement: %s" % why)

    toks = []
    while pos < len(text):
        m = _SEL_TOKEN.match(text, pos)
        if not m or m.end() == pos:
            fail("unexpected character at %d" % pos)
        toks.append(m.group(1))
        pos = m.end()
        if pos < len(text) and not text[pos:].strip():
            break
    i = 0
    while i < len(toks):
        neg = False
        if toks[i] == "!":
            neg = True
            i += 1
        if i >= len(toks) or toks[i] in ("(", ")", ",", "=", "==", "!="):
            fail("found '%s', expected: identifier"
                 % (toks[i] if i < len(toks) else ""))
        key = toks[i]
        i += 1
        if problems := qualified_name_problems(key):
            fail('Invalid value: %s: %s' % (go_quote(key), problems[0]))
        if neg:
            reqs.append((key, "notexists", []))
        elif i >= len(toks) or toks[i] == ",":
            reqs.append((key, "exists", []))
        elif toks[i] in ("=", "==", "!="):
            op = "ne" if toks[i] == "!=" else "eq"
            i += 1
            val = ""
            if i < len(toks) and toks[i] != ",":
                val = toks[i]
                i += 1
            if not LABEL_VALUE_RE.match(val) or len(val) > 63:
                fail("Invalid value: %s: %s" % (go_quote(val),
                                                MSG_LABEL_VALUE))
            reqs.append((key, op, [val]))
        elif toks[i] in ("in", "notin"):
            op = toks[i]
            i += 1
            if i >= len(toks) or toks[i] != "(":
                fail("found '%s', expected: '('"
                     % (toks[i] if i < len(toks) else ""))
            i += 1
            vals = []
            while i < len(toks) and toks[i] != ")":
                if toks[i] != ",":
                    vals.append(toks[i])
                i += 1
            if i >= len(toks):
                fail("found '', expected: ')'")
            i += 1
            reqs.append((key, op, vals))
        else:
            fail("found '%s', expected: in, notin, =, ==, !=, gt, lt"
                 % toks[i])
        if i < len(toks):
            if toks[i] != ",":
                fail("found '%s', expected: ',' or 'end of string'"
                     % toks[i])
            i += 1
    return reqs


def label_match(reqs, labels):
    for key, op, vals in reqs:
        have = key in labels
        val = labels.get(key)
        if op == "exists" and not have:
            return False
        if op == "notexists" and have:
            return False
        if op == "eq" and (not have or val != vals[0]):
            return False
        if op == "ne" and have and val == vals[0]:
            return False
        if op == "in" and (not have or val not in vals):
            return False
        if op == "notin" and have and val in vals:
            return False
    return True


def parse_field_selector(text):
    reqs = []
    for part in [p for p in text.split(",") if p.strip()]:
        m = re.match(r"^\s*([^=!]+?)\s*(==|!=|=)\s*(.*?)\s*$", part)
        if not m:
            raise err_bad_request("invalid selector: '%s'; can't understand "
                                  "'%s'" % (text, part))
        field, op, val = m.groups()
        if field not in ("metadata.name", "metadata.namespace", "type"):
            raise err_bad_request('field label not supported: %s' % field)
        reqs.append((field, "ne" if op == "!=" else "eq", val))
    return reqs


def field_match(reqs, obj):
    for field, op, val in reqs:
        if field == "type":
            have = obj.get("type", "")
        else:
            have = obj["metadata"].get(field.split(".")[1], "")
        if (have == val) != (op == "eq"):
            return False
    return True


# -- patches -----------------------------------------------------------------
def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def strategic_patch(target, patch):
    """Strategic merge patch for a type made only of maps and scalars."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    base = {} if directive == "replace" or not isinstance(target, dict) \
        else copy.deepcopy(target)
    for k, v in patch.items():
        if k.startswith("$"):
            continue
        if v is None:
            base.pop(k, None)
            continue
        merged = strategic_patch(base.get(k), v)
        if merged is None:
            base.pop(k, None)
        else:
            base[k] = merged
    return base


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError("JSON pointer must be empty or start with a \"/\"")
    return [p.replace("~1", "/").replace("~0", "~")
            for p in path[1:].split("/")]


def _container(doc, parts, op, path):
    cur = doc
    for p in parts[:-1]:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            raise ValueError("%s operation does not apply: doc is missing "
                             "path: \"%s\": missing value" % (op, path))
    return cur


def json_patch(doc, ops):
    """RFC 6902. Raises ValueError with a message like the Go library."""
    doc = copy.deepcopy(doc)
    for o in ops:
        if not isinstance(o, dict) or "op" not in o:
            raise ValueError("Unexpected kind: unknown")
        op = o["op"]
        path = o.get("path", "")
        parts = _pointer(path)
        if op == "test":
            cur = doc
            for p in parts:
                if isinstance(cur, dict) and p in cur:
                    cur = cur[p]
                elif isinstance(cur, list) and p.isdigit() and \
                        int(p) < len(cur):
                    cur = cur[int(p)]
                else:
                    raise ValueError("testing value %s failed: test "
                                     "failed" % path)
            if cur != o.get("value"):
                raise ValueError("testing value %s failed: test failed"
                                 % path)
            continue
        if op in ("move", "copy"):
            fparts = _pointer(o.get("from", ""))
            src = _container(doc, fparts, op, o.get("from", ""))
            key = fparts[-1] if fparts else None
            if isinstance(src, dict) and key in src:
                value = copy.deepcopy(src[key])
                if op == "move":
                    del src[key]
            elif isinstance(src, list) and key and key.isdigit() and \
                    int(key) < len(src):
                value = copy.deepcopy(src[int(key)])
                if op == "move":
                    del src[int(key)]
            else:
                raise ValueError("%s operation does not apply: doc is "
                                 "missing from path: %s: missing value"
                                 % (op, o.get("from", "")))
            op, o = "add", {"op": "add", "path": path, "value": value}
        if not parts:
            if op in ("add", "replace"):
                doc = copy.deepcopy(o.get("value"))
                continue
            raise ValueError("%s operation does not apply: doc is missing "
                             "path: \"\": missing value" % op)
        cont = _container(doc, parts, op, path)
        key = parts[-1]
        if op == "add":
            if isinstance(cont, dict):
                cont[key] = copy.deepcopy(o.get("value"))
            elif isinstance(cont, list):
                idx = len(cont) if key == "-" else int(key)
                cont.insert(idx, copy.deepcopy(o.get("value")))
            else:
                raise ValueError("add operation does not apply: doc is "
                                 "missing path: \"%s\": missing value" % path)
        elif op in ("remove", "replace"):
            if isinstance(cont, dict) and key in cont:
                if op == "remove":
                    del cont[key]
                else:
                    cont[key] = copy.deepcopy(o.get("value"))
            elif isinstance(cont, list) and key.isdigit() and \
                    int(key) < len(cont):
                if op == "remove":
                    del cont[int(key)]
                else:
                    cont[int(key)] = copy.deepcopy(o.get("value"))
            elif op == "remove":
                raise ValueError("remove operation does not apply: doc is "
                                 "missing path: \"%s\": missing value" % path)
            else:
                raise ValueError("replace operation does not apply: doc is "
                                 "missing key: %s: missing value" % path)
        else:
            raise ValueError("Unexpected kind: %s" % op)
    return doc


# -- managed fields ----------------------------------------------------------
def leaf_paths(obj):
    """Field paths of a Secret that managedFields tracks, with values."""
    out = {}
    meta = obj.get("metadata") or {}
    for sect in ("labels", "annotations"):
        for k, v in (meta.get(sect) or {}).items():
            out[("metadata", sect, k)] = v
    for k, v in (obj.get("data") or {}).items():
        out[("data", k)] = v
    if obj.get("type") is not None:
        out[("type",)] = obj["type"]
    if obj.get("immutable") is not None:
        out[("immutable",)] = obj["immutable"]
    return out


def fields_v1(paths):
    tree = {}
    for path in sorted(paths):
        node = tree
        for i, part in enumerate(path):
            key = "f:" + part
            if i < len(path) - 1:
                node = node.setdefault(key, {".": {}} if i > 0 else {})
            else:
                node[key] = {}
    return tree


def parse_fields_v1(tree, prefix=()):
    """Leaf paths named by a FieldsV1 tree."""
    out = []
    for key, sub in tree.items():
        if not key.startswith("f:"):
            continue
        path = prefix + (key[2:],)
        children = {k: v for k, v in (sub or {}).items() if k != "."}
        if children:
            out += parse_fields_v1(children, path)
        else:
            out.append(path)
    return out


def manager_from_agent(agent):
    agent = agent or ""
    return agent.split("/", 1)[0][:128]


class _Rec:
    """A stored Secret plus its ownership bookkeeping."""

    def __init__(self, obj, owners, times):
        self.obj = obj          # stored object, without kind/apiVersion
        self.owners = owners    # path -> frozenset of (manager, operation)
        self.times = times      # (manager, operation) -> time string


class KubeDouble(DoubleServer):
    """A Kubernetes API server holding Secrets in memory."""

    def __init__(self, tls=None, latency=0.0, host="127.0.0.1", port=0,
                 client_ca=None):
        super().__init__(host=host, port=port, tls=tls, latency=latency,
                         client_ca=client_ca)
        self.tokens = {}
        self.page_size = None
        self.known_namespaces = None  # set of names, or None for any label
        self._store = {}              # (ns, name) -> _Rec
        self._rv = 1000
        self._snapshots = {}          # rv -> {(ns, name): obj}
        self._expired_below = 0

    # -- test-facing API ---------------------------------------------------
    def add_token(self, token, user="system:serviceaccount:default:default",
                  verbs=None, namespaces=None):
        with self.lock:
            self.tokens[token] = {
                "user": user,
                "verbs": frozenset(ALL_VERBS if verbs is None else verbs),
                "namespaces": None if namespaces is None
                else frozenset(namespaces)}

    def remove_token(self, token):
        with self.lock:
            self.tokens.pop(token, None)

    def put_secret(self, namespace, obj):
        """Store a Secret directly, bypassing validation and RBAC. Returns
        the stored object as GET would answer it."""
        obj = copy.deepcopy(obj)
        obj.pop("kind", None)
        obj.pop("apiVersion", None)
        meta = obj.setdefault("metadata", {})
        meta["namespace"] = namespace
        data = dict(obj.get("data") or {})
        for k, v in (obj.pop("stringData", None) or {}).items():
            data[k] = b64(v.encode())
        with self.lock:
            old = self._store.get((namespace, meta["name"]))
            meta["uid"] = old.obj["metadata"]["uid"] if old else \
                meta.get("uid") or str(uuid.uuid4())
            meta.setdefault("creationTimestamp", now_rfc3339())
            if data:
                obj["data"] = data
            else:
                obj.pop("data", None)
            if not obj.get("type"):
                obj["type"] = "Opaque"
            obj = self._normalize(obj)
            meta = obj["metadata"]
            meta.pop("managedFields", None)
            meta["resourceVersion"] = self._next_rv()
            owners = {p: frozenset({("test-seed", "Update")})
                      for p in leaf_paths(obj)}
            self._store[(namespace, meta["name"])] = _Rec(
                obj, owners, {("test-seed", "Update"): now_rfc3339()})
            return self._render(self._store[(namespace, meta["name"])])

    def get_secret(self, namespace, name):
        with self.lock:
            rec = self._store.get((namespace, name))
            return self._render(rec) if rec else None

    def secrets(self, namespace):
        with self.lock:
            return {name: self._render(rec)
                    for (ns, name), rec in sorted(self._store.items())
                    if ns == namespace}

    def delete_secret(self, namespace, name):
        with self.lock:
            if self._store.pop((namespace, name), None) is not None:
                self._next_rv()

    def writes(self):
        """Write requests (POST/PUT/PATCH/DELETE) received on secret paths,
        whatever their outcome."""
        return sum(self.count(m, r"^/api/v1/(namespaces/[^/]+/)?secrets")
                   for m in ("POST", "PUT", "PATCH", "DELETE"))

    def expire_continue_tokens(self):
        """Make every continue token issued so far answer 410 Expired."""
        with self.lock:
            self._expired_below = self._rv + 1
            self._snapshots.clear()

    @property
    def resource_version(self):
        return str(self._rv)

    # -- plumbing ----------------------------------------------------------
    def _next_rv(self):
        self._rv += 1
        return str(self._rv)

    @staticmethod
    def _normalize(obj):
        """Key order and omitted empty fields as the API server encodes."""
        meta = obj.get("metadata") or {}
        order = ["name", "generateName", "namespace", "uid", "resourceVersion",
                 "generation", "creationTimestamp", "deletionTimestamp",
                 "deletionGracePeriodSeconds", "labels", "annotations",
                 "ownerReferences", "finalizers", "managedFields"]
        nm = {}
        for k in order:
            if meta.get(k) not in (None, "", {}, []):
                nm[k] = meta[k]
        out = {"metadata": nm}
        if obj.get("immutable") is not None:
            out["immutable"] = obj["immutable"]
        if obj.get("data"):
            out["data"] = obj["data"]
        out["type"] = obj.get("type") or "Opaque"
        return out

    def _render(self, rec, type_meta=True):
        obj = copy.deepcopy(rec.obj)
        groups = {}
        for path, owners in rec.owners.items():
            for owner in owners:
                groups.setdefault(owner, set()).add(path)
        mf = []
        for (mgr, op) in sorted(groups, key=lambda o: (
                rec.times.get(o, ""), o)):
            mf.append({"manager": mgr, "operation": op, "apiVersion": "v1",
                       "time": rec.times.get((mgr, op), now_rfc3339()),
                       "fieldsType": "FieldsV1",
                       "fieldsV1": fields_v1(groups[(mgr, op)])})
        if mf:
            obj["metadata"]["managedFields"] = mf
        obj = self._normalize(obj)
        if type_meta:
            return dict({"kind": "Secret", "apiVersion": "v1"}, **obj)
        return obj

    def _snapshot(self):
        rv = self._rv
        if rv not in self._snapshots:
            self._snapshots[rv] = dict(self._store)
            while len(self._snapshots) > SNAPSHOTS_KEPT:
                del self._snapshots[min(self._snapshots)]
        return rv, self._snapshots[rv]

    # -- request entry -----------------------------------------------------
    def handle(self, req):
        headers = {"Content-Type": "application/json",
                   "Audit-Id": str(uuid.uuid4()),
                   "Cache-Control": "no-cache, private"}
        try:
            status, body = self._route(req)
        except ApiError as exc:
            headers.update(exc.headers)
            return exc.code, headers, exc.status()
        if isinstance(body, str):
            headers["Content-Type"] = "text/plain; charset=utf-8"
        warnings = getattr(req, "warnings", None)
        if warnings:
            headers["Warning"] = ", ".join(warnings)
        return status, headers, body

    def _authenticate(self, req):
        auth = req.headers.get("Authorization") or ""
        parts = auth.strip().split(" ", 1)
        if len(parts) == 2 and parts[0].lower() == "bearer":
            token = parts[1].strip()
            with self.lock:
                ident = self.tokens.get(token)
            if token and ident:
                return ident
        raise ApiError(401, "Unauthorized", "Unauthorized")

    def _route(self, req):
        path = req.path
        ident = self._authenticate(req)
        if path in ("/healthz", "/livez", "/readyz"):
            return 200, "ok"
        if req.method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            raise ApiError(405, "MethodNotAllowed", "the server does not "
                           "allow this method on the requested resource", {})
        disc = self._discovery(req, path)
        if disc is not None:
            return disc
        m = re.match(r"^/api/v1/namespaces/([^/]+)/secrets(?:/([^/]*))?/?$",
                     path)
        if m:
            ns, name = m.group(1), m.group(2)
            return self._secrets(req, ident, ns, name)
        if path.rstrip("/") == "/api/v1/secrets":
            if req.method != "GET":
                raise ApiError(405, "MethodNotAllowed", "the server does not "
                               "allow this method on the requested "
                               "resource", {})
            self._authorize(ident, "list", None, None)
            return self._list(req, None)
        raise err_route_not_found()

    def _discovery(self, req, path):
        if req.method != "GET":
            return None
        path = path.rstrip("/") or "/"
        if path == "/version":
            return 200, {"major": "1", "minor": "30",
                         "gitVersion": GIT_VERSION,
                         "gitCommit": "7c48c2bd72b9bf5c44d21d7338cc7bea77d0ad2a",
                         "gitTreeState": "clean",
                         "buildDate": "2024-04-17T17:27:03Z",
                         "goVersion": "go1.22.2", "compiler": "gc",
                         "platform": "linux/amd64"}
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"],
                         "serverAddressByClientCIDRs": [
                             {"clientCIDR": "0.0.0.0/0",
                              "serverAddress": "%s:%d" % (self.host,
                                                          self.port)}]}
        if path == "/apis":
            return 200, {"kind": "APIGroupList", "apiVersion": "v1",
                         "groups": []}
        if path == "/api/v1":
            verbs = ["create", "delete", "deletecollection", "get", "list",
                     "patch", "update", "watch"]
            return 200, {"kind": "APIResourceList", "groupVersion": "v1",
                         "resources": [
                             {"name": "namespaces", "singularName":
                              "namespace", "namespaced": False,
                              "kind": "Namespace", "verbs": ["get", "list"],
                              "shortNames": ["ns"]},
                             {"name": "secrets", "singularName": "secret",
                              "namespaced": True, "kind": "Secret",
                              "verbs": verbs,
                              "storageVersionHash": "S6u1pOWzb84="}]}
        return None

    def _authorize(self, ident, verb, ns, name):
        ok = verb in ident["verbs"] and (
            ident["namespaces"] is None or
            (ns is not None and ns in ident["namespaces"]))
        if ok:
            return
        where = 'in the namespace "%s"' % ns if ns is not None \
            else "at the cluster scope"
        who = 'User "%s" cannot %s resource "secrets" in API group "" %s' \
            % (ident["user"], verb, where)
        if name:
            raise ApiError(403, "Forbidden", 'secrets "%s" is forbidden: %s'
                           % (name, who), {"name": name, "kind": "secrets"})
        raise ApiError(403, "Forbidden", "secrets is forbidden: %s" % who,
                       {"kind": "secrets"})

    def _secrets(self, req, ident, ns, name):
        method = req.method
        watching = req.query.get("watch") in ("1", "true", "True")
        if name is None or name == "":
            verb = {"GET": "watch" if watching else "list",
                    "POST": "create",
                    "DELETE": "deletecollection"}.get(method)
        else:
            verb = {"GET": "watch" if watching else "get", "PUT": "update",
                    "PATCH": "patch", "DELETE": "delete"}.get(method)
        if verb is None:
            raise ApiError(405, "MethodNotAllowed", "the server does not "
                           "allow this method on the requested resource", {})
        self._authorize(ident, verb, ns, name if verb not in
                        ("list", "create", "watch", "deletecollection")
                        else None)
        if verb in ("list", "watch") and not name:
            if watching:
                return self._watch(req, ns)
            return self._list(req, ns)
        if verb == "watch":
            return self._watch(req, ns, name)
        if verb == "get":
            return self._get(req, ns, name)
        if verb == "deletecollection":
            return self._delete_collection(req, ns)
        self._check_accept(req)
        if verb in ("create", "update"):
            self._check_body_type(req)
        if verb == "create":
            return self._create(req, ns)
        if verb == "update":
            return self._update(req, ns, name)
        if verb == "patch":
            return self._patch(req, ns, name)
        return self._delete(req, ns, name)

    # -- negotiation -------------------------------------------------------
    @staticmethod
    def _wants_table(req):
        accept = req.headers.get("Accept") or ""
        for part in accept.split(","):
            params = [p.strip() for p in part.split(";")]
            if params[0] in ("application/json", "*/*") and \
                    "as=Table" in params:
                return True
            if params[0] in ("application/json", "*/*", "application/*") \
                    and "as=Table" not in params and \
                    not any(p.startswith("as=") for p in params):
                return False
        return False

    @staticmethod
    def _check_accept(req):
        accept = req.headers.get("Accept") or ""
        if not accept:
            return
        for part in accept.split(","):
            mt = part.split(";")[0].strip()
            if mt in ("application/json", "*/*", "application/*",
                      "application/yaml"):
                return
        raise ApiError(406, "NotAcceptable",
                       "only the following media types are accepted: "
                       "application/json, application/yaml, "
                       "application/vnd.kubernetes.protobuf")

    @staticmethod
    def _media_type(req):
        ct = req.headers.get("Content-Type") or ""
        return ct.split(";")[0].strip().lower()

    def _check_body_type(self, req):
        mt = self._media_type(req)
        if mt in ("", "application/json"):
            return
        raise ApiError(415, "UnsupportedMediaType",
                       "the body of the request was in an unknown format - "
                       "accepted media types include: %s"
                       % ", ".join(BODY_TYPES) +
                       " (this double decodes JSON only)")

    # -- decoding ----------------------------------------------------------
    def _decode(self, req):
        """Decode a request body into (secret, raw-data) or raise 400.
        Unknown fields follow ?fieldValidation (Strict: 400, Warn, the
        default: a Warning header, Ignore: nothing)."""
        if not req.body:
            raise err_bad_request("the body of the request was empty")
        try:
            obj = json.loads(req.body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise err_decode("json: %s" % exc)
        result = self._decode_obj(obj)
        unknown = ['unknown field "%s"' % k for k in obj
                   if k not in SECRET_FIELDS]
        meta = obj.get("metadata") or {}
        unknown += ['unknown field "metadata.%s"' % k for k in meta
                    if k not in META_FIELDS]
        mode = req.query.get("fieldValidation") or "Warn"
        if unknown and mode == "Strict":
            raise err_bad_request("strict decoding error: "
                                  + ", ".join(unknown))
        if unknown and mode == "Warn":
            req.warnings = ['299 - %s' % json.dumps(u) for u in unknown]
        return result

    def _decode_obj(self, obj):
        if not isinstance(obj, dict):
            raise err_decode("json: cannot unmarshal %s into Go value of "
                             "type struct" % type(obj).__name__)
        kind = obj.get("kind")
        api = obj.get("apiVersion")
        if api not in (None, "", "v1"):
            raise err_bad_request("the API version in the data (%s) does not "
                                  "match the expected API version (v1)" % api)
        if kind not in (None, "", "Secret"):
            raise err_bad_request("the kind in the data (%s) does not match "
                                  "the expected kind (Secret)" % kind)
        meta = obj.get("metadata") or {}
        if not isinstance(meta, dict):
            raise err_decode("json: cannot unmarshal into Go struct field "
                             "Secret.metadata of type v1.ObjectMeta")
        for sect in ("labels", "annotations"):
            val = meta.get(sect)
            if val is not None and (not isinstance(val, dict) or any(
                    not isinstance(v, str) for v in val.values())):
                raise err_decode("json: cannot unmarshal into Go struct "
                                 "field ObjectMeta.metadata.%s of type "
                                 "map[string]string" % sect)
        raw = {}
        data = obj.get("data") or {}
        if not isinstance(data, dict):
            raise err_decode("json: cannot unmarshal into Go struct field "
                             "Secret.data of type map[string][]uint8")
        for k, v in data.items():
            if v is None:
                raw[k] = b""
                continue
            if not isinstance(v, str):
                raise err_decode("json: cannot unmarshal %s into Go struct "
                                 "field Secret.data of type []uint8"
                                 % type(v).__name__)
            try:
                raw[k] = go_b64decode(v)
            except ValueError as exc:
                raise err_decode(str(exc))
        sdata = obj.get("stringData") or {}
        if not isinstance(sdata, dict) or any(
                not isinstance(v, str) for v in sdata.values()):
            raise err_decode("json: cannot unmarshal into Go struct field "
                             "Secret.stringData of type map[string]string")
        for k, v in sdata.items():
            raw[k] = v.encode("utf-8")
        typ = obj.get("type")
        if typ is not None and not isinstance(typ, str):
            raise err_decode("json: cannot unmarshal into Go struct field "
                             "Secret.type of type v1.SecretType")
        imm = obj.get("immutable")
        if imm is not None and not isinstance(imm, bool):
            raise err_decode("json: cannot unmarshal into Go struct field "
                             "Secret.immutable of type bool")
        secret = {"metadata": copy.deepcopy(meta),
                  "data": {k: b64(v) for k, v in sorted(raw.items())},
                  "type": typ or "Opaque"}
        if imm is not None:
            secret["immutable"] = imm
        return secret, raw

    def _manager(self, req, default_op="Update"):
        mgr = req.query.get("fieldManager")
        if mgr is None:
            mgr = manager_from_agent(req.headers.get("User-Agent"))
        return (mgr, default_op)

    @staticmethod
    def _dry_run(req):
        dr = req.query.get("dryRun")
        if dr in (None, ""):
            return False
        if dr != "All":
            raise err_invalid("", [FieldError("NotSupported", "dryRun", "",
                                              [dr])],
                              kind="CreateOptions", group="meta.k8s.io")
        return True

    # -- read --------------------------------------------------------------
    def _get(self, req, ns, name):
        with self.lock:
            rec = self._store.get((ns, name))
            if rec is None:
                raise err_not_found(name)
            obj = self._render(rec)
        if self._wants_table(req):
            return 200, self._table([obj], {"resourceVersion":
                                            obj["metadata"]["resourceVersion"]
                                            })
        return 200, obj

    def _list(self, req, ns):
        q = req.query
        lsel = parse_label_selector(q.get("labelSelector", ""))
        fsel = parse_field_selector(q.get("fieldSelector", ""))
        limit = 0
        if q.get("limit") not in (None, ""):
            try:
                limit = int(q["limit"])
            except ValueError:
                raise err_bad_request('strconv.ParseInt: parsing "%s": '
                                      'invalid syntax' % q["limit"])
        if self.page_size:
            limit = min(limit, self.page_size) if limit > 0 \
                else self.page_size
        token = q.get("continue") or ""
        if token and q.get("resourceVersion") not in (None, "", "0"):
            raise err_bad_request("specifying resource version is not "
                                  "allowed when using continue")
        with self.lock:
            if token:
                rv, start = self._decode_continue(token)
                snap = self._snapshots.get(rv)
                if snap is None:
                    nrv, _ = self._snapshot()
                    raise ApiError(410, "Expired", MSG_EXPIRED, None, {
                        "continue": self._encode_continue(nrv, start)})
            else:
                start = ""
                rv, snap = self._snapshot()
            keys = sorted(k for k in snap if ns is None or k[0] == ns)
            keyfn = (lambda k: "%s/%s" % k) if ns is None \
                else (lambda k: k[1])
            keys = [k for k in keys if keyfn(k) >= start]
            page = keys[:limit] if limit > 0 else keys
            rest = keys[len(page):]
            items = []
            for k in page:
                rec = snap[k]
                if not label_match(lsel, rec.obj["metadata"].get(
                        "labels") or {}):
                    continue
                if not field_match(fsel, rec.obj):
                    continue
                items.append(self._render(rec, type_meta=False))
        meta = {"resourceVersion": str(rv)}
        if rest:
            meta["continue"] = self._encode_continue(
                rv, keyfn(page[-1]) + "\x00")
            if not lsel and not fsel:
                meta["remainingItemCount"] = len(rest)
        if self._wants_table(req):
            return 200, self._table(items, meta)
        return 200, {"kind": "SecretList", "apiVersion": "v1",
                     "metadata": meta, "items": items}

    @staticmethod
    def _encode_continue(rv, start):
        raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start},
                         separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _decode_continue(self, token):
        def bad(why):
            raise err_bad_request("invalid continue token: continue key is "
                                  "not valid: %s" % why)
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            if not re.fullmatch(r"[-_A-Za-z0-9]+", token):
                raise ValueError("illegal base64 data")
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            bad(str(exc))
        if not isinstance(doc, dict) or doc.get("v") != "meta.k8s.io/v1":
            bad("server does not recognize this encoded version")
        rv = doc.get("rv")
        if not isinstance(rv, int) or rv <= 0:
            bad("incorrect encoded start resourceVersion (version "
                "meta.k8s.io/v1)")
        start = doc.get("start")
        if not isinstance(start, str) or not start:
            bad("encoded start key empty")
        return rv, start

    def _table(self, items, meta):
        now = time.time()
        rows = []
        for obj in items:
            m = obj["metadata"]
            partial = {"kind": "PartialObjectMetadata",
                       "apiVersion": "meta.k8s.io/v1",
                       "metadata": {k: v for k, v in m.items()}}
            age = human_duration(now - parse_rfc3339(
                m.get("creationTimestamp")))
            rows.append({"cells": [m["name"], obj.get("type", "Opaque"),
                                   len(obj.get("data") or {}), age],
                         "object": partial})
        cols = [("Name", "string", "name", "Name must be unique within a "
                 "namespace."),
                ("Type", "string", "", "The type of the secret"),
                ("Data", "string", "", "The number of entries in the data"),
                ("Age", "string", "", "CreationTimestamp is a timestamp "
                 "representing the server time when this object was "
                 "created.")]
        return {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
                "metadata": meta,
                "columnDefinitions": [
                    {"name": n, "type": t, "format": f, "description": d,
                     "priority": 0} for n, t, f, d in cols],
                "rows": rows}

    def _watch(self, req, ns, name=None):
        """A watch that ends at once: sends ADDED for the current objects
        when no resourceVersion is given, else nothing, then closes."""
        lines = []
        with self.lock:
            rv_param = req.query.get("resourceVersion")
            fsel = parse_field_selector(req.query.get("fieldSelector", ""))
            if rv_param in (None, "", "0"):
                for (sns, sname), rec in sorted(self._store.items()):
                    if sns != ns or (name and sname != name):
                        continue
                    if not field_match(fsel, rec.obj):
                        continue
                    lines.append(json.dumps({"type": "ADDED",
                                             "object": self._render(rec)}))
        wait = min(float(req.query.get("timeoutSeconds") or 1), 1.0)
        time.sleep(wait)
        return 200, "".join(line + "\n" for line in lines) \
            .encode() if lines else b""

    # -- write -------------------------------------------------------------
    def _check_namespace(self, ns):
        if self.known_namespaces is not None and \
                ns not in self.known_namespaces or \
                not DNS1123_LABEL_RE.match(ns) or len(ns) > 63:
            raise ApiError(404, "NotFound", 'namespaces "%s" not found' % ns,
                           {"name": ns, "kind": "namespaces"})

    def _base_owners(self, old, sent):
        """Ownership to start an update from: the stored one, unless the
        request carried managedFields of its own (kubectl does so when it
        migrates client-side apply to server-side apply); [] or [{}]
        clear them."""
        if sent is None or sent == self._render(old)["metadata"].get(
                "managedFields"):
            return old.owners
        if not isinstance(sent, list):
            raise err_bad_request("managedFields must be a list")
        have = leaf_paths(old.obj)
        owners = {}
        for entry in sent:
            if not isinstance(entry, dict) or not entry:
                continue
            who = (entry.get("manager", ""), entry.get("operation",
                                                       "Update"))
            for path in parse_fields_v1(entry.get("fieldsV1") or {}):
                if path in have:
                    owners[path] = owners.get(path, frozenset()) | {who}
        return owners

    def _take_owner(self, old_paths, new_paths, owners, mgr):
        """Update-operation ownership: changed fields go to mgr."""
        out = {}
        for p, v in new_paths.items():
            if p in old_paths and old_paths[p] == v and p in owners:
                out[p] = owners[p]
            else:
                out[p] = frozenset({mgr})
        return out

    def _store_rec(self, ns, name, obj, owners, times, mgr, old=None):
        """Write obj unless nothing changed; return the rendered object."""
        obj = self._normalize(obj)
        if old is not None:
            same = dict(old.obj)
            cand = dict(obj)
            same_meta = dict(same["metadata"])
            cand_meta = dict(cand["metadata"])
            same_meta.pop("resourceVersion", None)
            cand_meta.pop("resourceVersion", None)
            same["metadata"], cand["metadata"] = same_meta, cand_meta
            if same == cand and owners == old.owners:
                return self._render(old)
        obj["metadata"]["resourceVersion"] = self._next_rv()
        times = dict(times)
        times[mgr] = now_rfc3339()
        live = {o for s in owners.values() for o in s}
        times = {o: t for o, t in times.items() if o in live}
        rec = _Rec(obj, owners, times)
        meta = obj["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            del self._store[(ns, name)]
            return self._render(rec)
        self._store[(ns, name)] = rec
        return self._render(rec)

    def _create(self, req, ns):
        dry = self._dry_run(req)
        obj, raw = self._decode(req)
        meta = obj["metadata"]
        if meta.get("namespace") and meta["namespace"] != ns:
            raise err_bad_request("the namespace of the provided object does "
                                  "not match the namespace sent on the "
                                  "request")
        if meta.get("resourceVersion"):
            raise ApiError(500, "InternalError", "Internal error occurred: "
                           "resourceVersion should not be set on objects to "
                           "be created", {"causes": [{
                               "message": "resourceVersion should not be set "
                               "on objects to be created"}]})
        with self.lock:
            if not meta.get("name") and meta.get("generateName"):
                alphabet = "bcdfghjklmnpqrstvwxz2456789"
                meta["name"] = meta["generateName"] + "".join(
                    random.choice(alphabet) for _ in range(5))
                errs = validate_secret(obj, raw)
            else:
                errs = validate_secret(obj, raw)
            if errs:
                raise err_invalid(meta.get("name") or "", errs)
            self._check_namespace(ns)
            name = meta["name"]
            if (ns, name) in self._store:
                raise ApiError(409, "AlreadyExists",
                               'secrets "%s" already exists' % name,
                               {"name": name, "kind": "secrets"})
            meta["namespace"] = ns
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            for k in ("deletionTimestamp", "deletionGracePeriodSeconds",
                      "managedFields", "generation"):
                meta.pop(k, None)
            mgr = self._manager(req)
            paths = leaf_paths(obj)
            owners = {p: frozenset({mgr}) for p in paths}
            if dry:
                obj = self._normalize(obj)
                obj["metadata"]["resourceVersion"] = ""
                return 201, self._render(_Rec(obj, owners, {}))
            self._store[(ns, name)] = _Rec({"metadata": {}}, {}, {})
            return 201, self._store_rec(ns, name, obj, owners, {}, mgr,
                                        old=None)

    def _update_checks(self, name, old, obj, raw, rv_given):
        meta = obj["metadata"]
        if rv_given and rv_given != old.obj["metadata"]["resourceVersion"]:
            raise err_conflict(name)
        if meta.get("uid") and meta["uid"] != old.obj["metadata"]["uid"]:
            raise err_conflict(name, "Precondition failed: UID in "
                               "precondition: %s, UID in object meta: %s"
                               % (meta["uid"], old.obj["metadata"]["uid"]))
        errs = validate_secret(obj, raw)
        if obj.get("type") != old.obj.get("type"):
            errs.append(FieldError("Invalid", "type", "field is immutable",
                                   obj.get("type")))
        if old.obj.get("immutable"):
            if (obj.get("data") or {}) != (old.obj.get("data") or {}):
                errs.append(FieldError("Forbidden", "data", IMMUTABLE_MSG))
            if not obj.get("immutable"):
                errs.append(FieldError("Forbidden", "immutable",
                                       IMMUTABLE_MSG))
        if errs:
            raise err_invalid(name, errs)
        # system fields come from the stored object
        for k in ("uid", "creationTimestamp", "namespace",
                  "deletionTimestamp", "deletionGracePeriodSeconds"):
            if old.obj["metadata"].get(k) is not None:
                meta[k] = old.obj["metadata"][k]
            else:
                meta.pop(k, None)
        meta.pop("managedFields", None)

    def _update(self, req, ns, name):
        dry = self._dry_run(req)
        obj, raw = self._decode(req)
        meta = obj["metadata"]
        if meta.get("name") and meta["name"] != name:
            raise err_bad_request("the name of the object (%s) does not "
                                  "match the name on the URL (%s)"
                                  % (meta["name"], name))
        if meta.get("namespace") and meta["namespace"] != ns:
            raise err_bad_request("the namespace of the provided object does "
                                  "not match the namespace sent on the "
                                  "request")
        meta["name"] = name
        with self.lock:
            old = self._store.get((ns, name))
            if old is None:
                raise err_not_found(name)
            sent_mf = meta.get("managedFields")
            self._update_checks(name, old, obj, raw,
                                meta.get("resourceVersion"))
            mgr = self._manager(req)
            owners = self._take_owner(leaf_paths(old.obj), leaf_paths(obj),
                                      self._base_owners(old, sent_mf), mgr)
            if dry:
                return 200, self._render(_Rec(self._normalize(obj), owners,
                                              old.times))
            return 200, self._store_rec(ns, name, obj, owners, old.times,
                                        mgr, old)

    def _patch(self, req, ns, name):
        mt = self._media_type(req)
        if mt not in PATCH_TYPES:
            raise ApiError(415, "UnsupportedMediaType",
                           "the body of the request was in an unknown format "
                           "- accepted media types include: %s"
                           % ", ".join(PATCH_TYPES))
        apply = mt == "application/apply-patch+yaml"
        if req.query.get("force") not in (None, "") and not apply:
            raise err_invalid("", [FieldError(
                "Forbidden", "force",
                "may not be specified for non-apply patch")],
                kind="PatchOptions", group="meta.k8s.io")
        if apply and not req.query.get("fieldManager"):
            raise err_invalid("", [FieldError(
                "Required", "fieldManager", "is required for apply patch")],
                kind="PatchOptions", group="meta.k8s.io")
        dry = self._dry_run(req)
        try:
            patch = json.loads(req.body or b"null")
        except (UnicodeDecodeError, ValueError) as exc:
            if apply:
                raise err_bad_request("error decoding YAML: this double "
                                      "accepts JSON apply bodies only: %s"
                                      % exc)
            raise err_bad_request("error decoding patch: %s" % exc)
        if apply:
            return self._apply(req, ns, name, patch, dry)
        if mt == "application/json-patch+json":
            if not isinstance(patch, list):
                raise err_bad_request("json: cannot unmarshal object into Go "
                                      "value of type jsonpatch.Patch")
            if len(patch) > MAX_JSON_PATCH_OPS:
                raise ApiError(413, "RequestEntityTooLarge",
                               "Request entity too large: The allowed "
                               "operations in a JSON patch are limited to "
                               "%d, got %d" % (MAX_JSON_PATCH_OPS,
                                               len(patch)), {})
        elif not isinstance(patch, dict):
            raise err_bad_request("json: cannot unmarshal %s into Go value "
                                  "of type map[string]interface {}"
                                  % type(patch).__name__)
        with self.lock:
            old = self._store.get((ns, name))
            if old is None:
                raise err_not_found(name)
            current = self._render(old)
            if mt == "application/json-patch+json":
                try:
                    patched = json_patch(current, patch)
                except ValueError as exc:
                    raise ApiError(422, "Invalid", str(exc), {})
            elif mt == "application/merge-patch+json":
                patched = merge_patch(current, patch)
            else:
                patched = strategic_patch(current, patch)
            obj, raw = self._decode_obj(patched)
            meta = obj["metadata"]
            if meta.get("name") != name:
                raise err_bad_request("the name of the object (%s) does not "
                                      "match the name on the URL (%s)"
                                      % (meta.get("name"), name))
            sent_mf = meta.get("managedFields")
            self._update_checks(name, old, obj, raw,
                                meta.get("resourceVersion"))
            mgr = self._manager(req)
            owners = self._take_owner(leaf_paths(old.obj), leaf_paths(obj),
                                      self._base_owners(old, sent_mf), mgr)
            if dry:
                return 200, self._render(_Rec(self._normalize(obj), owners,
                                              old.times))
            return 200, self._store_rec(ns, name, obj, owners, old.times,
                                        mgr, old)

    def _apply(self, req, ns, name, intent, dry):
        if not isinstance(intent, dict) or intent.get("kind") != "Secret" \
                or intent.get("apiVersion") != "v1":
            raise err_bad_request("apply patch must be a full Secret object "
                                  "with apiVersion v1 and kind Secret")
        imeta = intent.get("metadata") or {}
        if imeta.get("name") != name:
            raise err_bad_request("the name of the object (%s) does not "
                                  "match the name on the URL (%s)"
                                  % (imeta.get("name"), name))
        mgr = (req.query["fieldManager"], "Apply")
        force = req.query.get("force") in ("true", "1", "True")
        dec, raw_intent = self._decode_obj(intent)
        want = leaf_paths(dec)
        if intent.get("type") is None:
            want.pop(("type",), None)
        with self.lock:
            old = self._store.get((ns, name))
            if old is None:
                obj, raw = copy.deepcopy(dec), dict(raw_intent)
                errs = validate_secret(obj, raw)
                if errs:
                    raise err_invalid(name, errs)
                self._check_namespace(ns)
                meta = obj["metadata"]
                meta["namespace"] = ns
                meta["uid"] = str(uuid.uuid4())
                meta["creationTimestamp"] = now_rfc3339()
                meta.pop("resourceVersion", None)
                owners = {p: frozenset({mgr}) for p in leaf_paths(obj)}
                if dry:
                    return 201, self._render(_Rec(self._normalize(obj),
                                                  owners, {}))
                self._store[(ns, name)] = _Rec({"metadata": {}}, {}, {})
                return 201, self._store_rec(ns, name, obj, owners, {}, mgr)
            have = leaf_paths(old.obj)
            conflicts = []
            for p, v in sorted(want.items()):
                others = {o for o in old.owners.get(p, ()) if o != mgr}
                if p in have and have[p] != v and others:
                    conflicts.append((p, sorted(others)))
            if conflicts and not force:
                causes = []
                for p, others in conflicts:
                    for o in others:
                        causes.append({
                            "reason": "FieldManagerConflict",
                            "message": 'conflict with "%s"%s' % (
                                o[0], " using v1" if o[1] == "Update"
                                else ""),
                            "field": "." + ".".join(p)})
                text = "Apply failed with %d conflict%s: %s" % (
                    len(causes), "" if len(causes) == 1 else "s",
                    "\n".join("%s: %s" % (c["message"], c["field"])
                              for c in causes))
                raise ApiError(409, "Conflict", text,
                               {"name": name, "kind": "secrets",
                                "causes": causes})
            cur = self._render(old)
            cur["metadata"].pop("managedFields", None)
            owners = dict(old.owners)
            # fields this manager applied before and left out now go away
            for p, who in list(owners.items()):
                if mgr in who and p not in want:
                    rest = who - {mgr}
                    if rest:
                        owners[p] = rest
                    else:
                        del owners[p]
                        self._remove_path(cur, p)
            for p, v in want.items():
                self._set_path(cur, p, v)
                if p in have and have[p] == v:
                    owners[p] = (owners.get(p) or frozenset()) | {mgr}
                else:
                    owners[p] = frozenset({mgr})
            rv_given = imeta.get("resourceVersion")
            if rv_given:
                cur["metadata"]["resourceVersion"] = rv_given
            obj, raw = self._decode_obj(cur)
            self._update_checks(name, old, obj, raw,
                                obj["metadata"].get("resourceVersion"))
            if dry:
                return 200, self._render(_Rec(self._normalize(obj), owners,
                                              old.times))
            return 200, self._store_rec(ns, name, obj, owners, old.times,
                                        mgr, old)

    @staticmethod
    def _remove_path(obj, path):
        node = obj
        for p in path[:-1]:
            node = node.get(p) or {}
        if isinstance(node, dict):
            node.pop(path[-1], None)

    @staticmethod
    def _set_path(obj, path, value):
        node = obj
        for p in path[:-1]:
            node = node.setdefault(p, {})
        node[path[-1]] = value

    def _delete_options(self, req):
        if not req.body:
            return {}
        try:
            opts = json.loads(req.body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise err_bad_request("DeleteOptions: %s" % exc)
        if not isinstance(opts, dict):
            raise err_bad_request("DeleteOptions: not an object")
        return opts

    def _delete(self, req, ns, name):
        opts = self._delete_options(req)
        dry = self._dry_run(req) or "All" in (opts.get("dryRun") or [])
        pre = opts.get("preconditions") or {}
        with self.lock:
            old = self._store.get((ns, name))
            if old is None:
                raise err_not_found(name)
            m = old.obj["metadata"]
            if pre.get("uid") and pre["uid"] != m["uid"]:
                raise err_conflict(name, "Precondition failed: UID in "
                                   "precondition: %s, UID in object meta: %s"
                                   % (pre["uid"], m["uid"]))
            if pre.get("resourceVersion") and \
                    pre["resourceVersion"] != m["resourceVersion"]:
                raise err_conflict(name, "Precondition failed: "
                                   "ResourceVersion in precondition: %s, "
                                   "ResourceVersion in object meta: %s"
                                   % (pre["resourceVersion"],
                                      m["resourceVersion"]))
            if m.get("finalizers"):
                if dry or m.get("deletionTimestamp"):
                    return 200, self._render(old)
                obj = copy.deepcopy(old.obj)
                obj["metadata"]["deletionTimestamp"] = now_rfc3339()
                obj["metadata"]["deletionGracePeriodSeconds"] = 0
                return 200, self._store_rec(ns, name, obj, old.owners,
                                            old.times, ("", ""), old)
            if not dry:
                del self._store[(ns, name)]
                self._next_rv()
        return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                     "status": "Success",
                     "details": {"name": name, "kind": "secrets",
                                 "uid": m["uid"]}}

    def _delete_collection(self, req, ns):
        lsel = parse_label_selector(req.query.get("labelSelector", ""))
        fsel = parse_field_selector(req.query.get("fieldSelector", ""))
        dry = self._dry_run(req)
        items = []
        with self.lock:
            for key, rec in sorted(self._store.items()):
                if key[0] != ns:
                    continue
                if not label_match(lsel, rec.obj["metadata"].get("labels")
                                   or {}) or not field_match(fsel, rec.obj):
                    continue
                items.append(self._render(rec, type_meta=False))
                if not dry:
                    del self._store[key]
            if items and not dry:
                self._next_rv()
            return 200, {"kind": "SecretList", "apiVersion": "v1",
                         "metadata": {"resourceVersion": str(self._rv)},
                         "items": items}


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description="Kubernetes API double "
                                 "(Secrets only)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=6443)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--namespace", default="default",
                    help="namespace of the service account the token "
                    "belongs to (rights cover every namespace)")
    ap.add_argument("--ready-file", help="written with the URL once "
                    "listening")
    ap.add_argument("--dump-on-exit", action="store_true",
                    help="print every Secret as JSON on stdout at exit")
    args = ap.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    with open(args.token_file) as f:
        token = f.read().strip()
    if not token:
        ap.error("token file %s is empty" % args.token_file)
    tls = (args.tls_cert, args.tls_key) if args.tls_cert else None
    k = KubeDouble(tls=tls, host=args.host, port=args.port)
    k.add_token(token, user="system:serviceaccount:%s:default"
                % args.namespace)
    k.start()
    done = threading.Event()

    def stop(signum, frame):
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(k.url + "\n")
        os.rename(tmp, args.ready_file)
    print("kube double listening on %s" % k.url, file=sys.stderr, flush=True)
    while not done.wait(0.5):
        pass
    k.stop()
    if args.dump_on_exit:
        with k.lock:
            dump = {"%s/%s" % key: k._render(rec)
                    for key, rec in sorted(k._store.items())}
        json.dump(dump, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
