"""The synchronizer sidecar's /metrics (METRICS_ADDR): a strict parser of
the Prometheus text format, and counters checked against the doubles."""

import math
import re
import unittest

from harness import E2ETest, NAMESPACE, wait_for
from test_sync_sidecar import SYNCED, FAILED, Sidecar, free_port, get

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
P = "vault_kubernetes_"


class ParseError(Exception):
    pass


def parse_value(text):
    if text in ("+Inf", "Inf"):
        return math.inf
    if text == "-Inf":
        return -math.inf
    if text == "NaN":
        return math.nan
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise ParseError("not a float: %r" % text)
    return float(text)


def parse_labels(text, lineno):
    """{a="x",b="y\\"z"} -> dict; strict about quoting and escapes."""
    labels = {}
    i = 1
    while True:
        if text[i] == "}":
            return labels, i + 1
        m = re.compile(LABEL).match(text, i)
        if not m or text[m.end():m.end() + 2] != '="':
            raise ParseError("line %d: bad label at %r" % (lineno, text[i:]))
        name = m.group(0)
        i = m.end() + 2
        value = []
        while text[i] != '"':
            if text[i] == "\\":
                esc = text[i + 1]
                if esc not in ('\\', '"', 'n'):
                    raise ParseError("line %d: bad escape" % lineno)
                value.append("\n" if esc == "n" else esc)
                i += 2
            elif text[i] == "\n":
                raise ParseError("line %d: newline in label" % lineno)
            else:
                value.append(text[i])
                i += 1
        i += 1
        if name in labels:
            raise ParseError("line %d: label %s twice" % (lineno, name))
        labels[name] = "".join(value)
        if text[i] == ",":
            i += 1
        elif text[i] != "}":
            raise ParseError("line %d: expected , or }" % lineno)


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)] if name.endswith(suffix) else None
        if base and types.get(base) in ("histogram", "summary"):
            return base
    return name


def parse(text):
    """Parses exposition format 0.0.4. Returns (types, helps, samples)
    with samples a dict {(name, frozenset(labels)): value}. Raises
    ParseError on anything the format does not allow."""
    if not text.endswith("\n"):
        raise ParseError("text does not end with a newline")
    types, helps, samples = {}, {}, {}
    seen_samples = set()  # families that already had samples
    for lineno, line in enumerate(text[:-1].split("\n"), 1):
        if line.startswith("#"):
            m = re.fullmatch(r"# (HELP|TYPE) (%s) (.*)" % NAME, line)
            if not m:
                if re.match(r"# (HELP|TYPE)", line):
                    raise ParseError("line %d: malformed %r" % (lineno, line))
                continue  # a comment
            kind, name, rest = m.groups()
            if kind == "TYPE":
                if rest not in TYPES:
                    raise ParseError("line %d: type %r" % (lineno, rest))
                if name in types or name in seen_samples:
                    raise ParseError("line %d: TYPE of %s too late or "
                                     "twice" % (lineno, name))
                types[name] = rest
            else:
                if name in helps:
                    raise ParseError("line %d: HELP twice" % lineno)
                if re.search(r"\\[^\\n]", rest):
                    raise ParseError("line %d: bad escape in HELP" % lineno)
                helps[name] = rest
            continue
        if not line:
            raise ParseError("line %d: empty line" % lineno)
        m = re.compile(NAME).match(line)
        if not m:
            raise ParseError("line %d: bad metric name in %r" % (lineno, line))
        name, rest = m.group(0), line[m.end():]
        labels = {}
        if rest.startswith("{"):
            labels, end = parse_labels(rest, lineno)
            rest = rest[end:]
        parts = rest.split(" ")
        if len(parts) not in (2, 3) or parts[0] != "":
            raise ParseError("line %d: expected ' value [ts]'" % lineno)
        value = parse_value(parts[1])
        if len(parts) == 3 and not re.fullmatch(r"-?\d+", parts[2]):
            raise ParseError("line %d: bad timestamp" % lineno)
        fam = family_of(name, types)
        if fam not in types:
            raise ParseError("line %d: %s has no TYPE" % (lineno, name))
        seen_samples.add(fam)
        key = (name, frozenset(labels.items()))
        if key in samples:
            raise ParseError("line %d: duplicate series" % lineno)
        samples[key] = value
    check_histograms(types, samples)
    return types, helps, samples


def check_histograms(types, samples):
    for fam, kind in types.items():
        if kind != "histogram":
            continue
        groups = {}
        for (name, labels), v in samples.items():
            if name == fam + "_bucket":
                d = dict(labels)
                le = d.pop("le", None)
                if le is None:
                    raise ParseError("%s bucket without le" % fam)
                groups.setdefault(frozenset(d.items()), []).append(
                    (parse_value(le), v))
        for rest, buckets in groups.items():
            buckets.sort()
            if buckets[-1][0] != math.inf:
                raise ParseError("%s: no +Inf bucket" % fam)
            counts = [c for _, c in buckets]
            if counts != sorted(counts):
                raise ParseError("%s: buckets not cumulative" % fam)
            if samples.get((fam + "_count", rest)) != counts[-1]:
                raise ParseError("%s: _count differs from +Inf" % fam)
            if (fam + "_sum", rest) not in samples:
                raise ParseError("%s: no _sum" % fam)


def select(samples, name, **want):
    """Sum of the samples of name whose labels include want."""
    total = 0
    for (n, labels), v in samples.items():
        d = dict(labels)
        if n == name and all(d.get(k) == v2 for k, v2 in want.items()):
            total += v
    return total


class ParserTest(unittest.TestCase):
    """The parser refuses what the format does not allow."""

    GOOD = ('# HELP a_total Things.\n# TYPE a_total counter\n'
            'a_total{x="1",y="q\\"\\\\"} 3\n')

    def test_accepts_good(self):
        types, _, samples = parse(self.GOOD)
        self.assertEqual(types, {"a_total": "counter"})
        self.assertEqual(select(samples, "a_total", y='q"\\'), 3)

    def test_refuses(self):
        bad = [
            self.GOOD[:-1],                                   # no final \n
            "a_total 1\n",                                    # no TYPE
            "# TYPE a counter\n# TYPE a counter\na 1\n",      # TYPE twice
            "# TYPE a counter\na 1\n# TYPE a counter\n",      # late TYPE
            "# TYPE a counter\na one\n",                      # value
            "# TYPE a counter\na{x=\"1\"} 1\na{x=\"1\"} 2\n",  # duplicate
            "# TYPE a counter\na{x=1} 1\n",                   # unquoted
            "# TYPE a counter\na{1x=\"1\"} 1\n",              # label name
            "# TYPE a counter\na{x=\"\\t\"} 1\n",             # escape
            "# TYPE a counter\n9a 1\n",                       # metric name
            "# TYPE a widget\na 1\n",                         # type
            "# TYPE a counter\na  1\n",                       # spacing
            "# TYPE h histogram\nh_bucket{le=\"1\"} 2\n"
            "h_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 0\n",  # not cumulative
            "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\n"
            "h_sum 0\n",                                      # no +Inf
        ]
        for text in bad:
            with self.assertRaises(ParseError, msg=repr(text)):
                parse(text)


class MetricsTest(E2ETest):
    def setUp(self):
        super().setUp()
        self.env.put("secret/k8s/first", {"one": "12345678"})
        self.env.put("secret/k8s/dir/alpha", {"a": "alpha-value-1"})
        self.env.put("secret/k8s/dir/beta", {"b": "beta-value-1"})
        self.login()
        self.port = free_port()
        self.url = "http://127.0.0.1:%d/metrics" % self.port

    def seed_existing(self):
        """first and beta current before the sidecar starts; old a
        managed Secret no mapping names any more."""
        r = self.env.run("synchronizer",
                         VAULT_SECRETS="secret/k8s/first,secret/k8s/dir/beta")
        self.assertEqual(r.code, 0, r)
        self.env.kube.put_secret(NAMESPACE, {
            "metadata": {"name": "old",
                         "annotations": {"vault-secret": "secret/data/x"}},
            "data": {}})

    def start(self, interval="1h", **env):
        self.env.vault.reset_counters()
        self.env.kube.reset_counters()
        s = Sidecar(self, VAULT_SECRETS="secret/k8s/first,secret/k8s/dir/",
                    SYNC_INTERVAL=interval,
                    METRICS_ADDR="127.0.0.1:%d" % self.port, **env)
        self.assertTrue(wait_for(lambda: get(self.url)[0] is not None,
                                 timeout=5), "metrics not served")
        return s

    def scrape(self):
        status, body = get(self.url)
        self.assertEqual(status, 200, body)
        return parse(body)

    def test_counters_match_the_doubles(self):
        self.seed_existing()
        s = self.start()
        s.wait_count(SYNCED, 1)
        types, helps, m = self.scrape()
        for fam in types:
            self.assertIn(fam, helps)
            self.assertTrue(fam.startswith(P), fam)
        self.assertEqual(types[P + "requests_total"], "counter")
        self.assertEqual(types[P + "request_duration_seconds"], "histogram")

        vault, kube = self.env.vault, self.env.kube
        self.assertGreater(vault.count(), 0)
        self.assertEqual(select(m, P + "requests_total", server="vault"),
                         vault.count())
        self.assertEqual(select(m, P + "requests_total", server="kubernetes"),
                         kube.count())
        for method in ("GET", "POST", "PUT", "DELETE"):
            self.assertEqual(select(m, P + "requests_total",
                                    server="kubernetes", method=method),
                             kube.count(method), method)
        self.assertEqual(select(m, P + "request_duration_seconds_count",
                                server="vault"), vault.count())
        # first and beta existed and are current, alpha is new, old is
        # obsolete; nothing failed.
        self.assertEqual(select(m, P + "sync_secrets_total",
                                action="created"), 1)
        self.assertEqual(select(m, P + "sync_secrets_total",
                                action="unchanged"), 2)
        self.assertEqual(select(m, P + "sync_secrets_total",
                                action="deleted"), 1)
        self.assertEqual(select(m, P + "sync_secrets_total",
                                action="updated"), 0)
        self.assertEqual(select(m, P + "sync_secrets_total",
                                action="created"), kube.count("POST"))
        self.assertEqual(select(m, P + "sync_cycles_total"), 1)
        self.assertEqual(select(m, P + "sync_cycles_failed_total"), 0)
        self.assertIsNone(self.env.secret("old"))
        ttl = select(m, P + "token_ttl_seconds")
        self.assertTrue(3500 <= ttl <= 3600, ttl)
        r, _ = s.stop()
        self.assertEqual(r.code, 0, r)

    def test_failed_cycle_counted(self):
        self.env.vault.inject(r"k8s/dir/alpha", status=503,
                              body={"errors": ["Vault is sealed"]}, count=1)
        s = self.start()
        s.wait_count(SYNCED, 1, timeout=10)
        _, _, m = self.scrape()
        self.assertEqual(select(m, P + "sync_cycles_total"), 2)
        self.assertEqual(select(m, P + "sync_cycles_failed_total"), 1)
        self.assertEqual(select(m, P + "sync_consecutive_failures"), 0)
        self.assertEqual(select(m, P + "requests_total", server="vault",
                                code="503"), 1)
        self.assertEqual(select(m, P + "request_duration_seconds_count",
                                server="vault", outcome="5xx"), 1)
        self.assertEqual(select(m, P + "requests_total", server="vault"),
                         self.env.vault.count())
        self.assertEqual(select(m, P + "sync_secrets_total",
                                action="created"), 3)
        self.assertGreater(select(m, P + "sync_last_success_timestamp_"
                                  "seconds"), 1.7e9)
        r, _ = s.stop()
        self.assertEqual(r.code, 0, r)

    def test_outage_counted_as_errors(self):
        s = self.start(interval="1s")
        s.wait_count(SYNCED, 1)
        self.env.vault.inject(r".", action="close", count=None)
        s.wait_count(FAILED, 2, timeout=10)
        _, _, m = self.scrape()
        self.assertGreaterEqual(select(m, P + "requests_total",
                                       server="vault", code="error"), 2)
        self.assertGreaterEqual(select(m, P + "sync_consecutive_failures"),
                                2)
        self.env.vault.clear_faults()
        r, _ = s.stop()
        self.assertEqual(r.code, 0, r)

    def test_metrics_beside_health_on_one_address(self):
        addr = "127.0.0.1:%d" % self.port
        s = self.start(HEALTH_ADDR=addr)
        s.wait_count(SYNCED, 1)
        self.scrape()
        self.assertEqual(get("http://%s/healthz" % addr), (200, "ok\n"))
        self.assertEqual(get("http://%s/other" % addr)[0], 404)
        r, _ = s.stop()
        self.assertEqual(r.code, 0, r)

    def test_metrics_only_address_has_no_healthz(self):
        s = self.start()
        s.wait_count(SYNCED, 1)
        self.assertEqual(get("http://127.0.0.1:%d/healthz" % self.port)[0],
                         404)
        r, _ = s.stop()
        self.assertEqual(r.code, 0, r)


if __name__ == "__main__":
    unittest.main()
