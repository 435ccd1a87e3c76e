"""The Vault client on real networks: proxies chosen as the Go client
chooses them (proven by a CONNECT proxy's tunnel count) and SRV lookup
(proven by a DNS double). Vault gets a name that is not loopback through
a private /etc/hosts; see vault_client_base.NamespacedTest."""

import random
import unittest

from harness import BINARY  # first: it puts tests/ on sys.path
from doubles.dns_double import DnsDouble, TYPE_SRV
from doubles.proxy_double import ProxyDouble
from vault_client_base import (ClientTest, NamespacedTest, issue_cert,
                               local_ip)

DEAD_PROXY = "http://127.0.0.1:1"  # nothing listens there


class ProxyBase(NamespacedTest):
    def setUp(self):
        super().setUp()
        self.proxy = ProxyDouble().start()
        self.addCleanup(self.proxy.stop)
        self.addr = "https://vault.test:%d" % self.env.vault.port

    def login(self, **env):
        env.setdefault("VAULT_ADDR", self.addr)
        return self.env.run("authenticator", **env)

    def assertVia(self, r, tunnels):
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.proxy.tunnels, tunnels, self.proxy.targets)
        self.assertEqual(len(self.logins()), 1)


class ProxyTest(ProxyBase):
    def test_name_resolves_only_in_the_namespace(self):
        # Guards the other tests: without the namespace's hosts file the
        # name does not exist, so a pass below is not an accident.
        self.env.command = lambda helper: [BINARY, helper]
        r = self.login()
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"vault\.test.*resolve")

    def test_https_proxy_upper_case(self):
        self.assertVia(self.login(HTTPS_PROXY=self.proxy.url), 1)
        self.assertEqual(self.proxy.targets,
                         ["vault.test:%d" % self.env.vault.port])

    def test_https_proxy_lower_case(self):
        self.assertVia(self.login(https_proxy=self.proxy.url), 1)

    def test_http_proxy_is_not_used_for_https(self):
        self.assertVia(self.login(HTTP_PROXY=self.proxy.url,
                                  http_proxy=self.proxy.url), 0)

    def test_no_proxy_by_name(self):
        self.assertVia(self.login(HTTPS_PROXY=self.proxy.url,
                                  NO_PROXY="other.test, vault.test"), 0)

    def test_no_proxy_lower_case(self):
        self.assertVia(self.login(https_proxy=self.proxy.url,
                                  no_proxy="vault.test"), 0)

    def test_no_proxy_parent_domain(self):
        self.assertVia(self.login(HTTPS_PROXY=self.proxy.url,
                                  NO_PROXY="test"), 0)

    def test_no_proxy_leading_dot_matches_subdomains(self):
        self.assertVia(self.login(HTTPS_PROXY=self.proxy.url,
                                  NO_PROXY=".test"), 0)

    def test_no_proxy_leading_dot_not_the_name_itself(self):
        # Go: ".vault.test" matches a.vault.test, not vault.test.
        self.assertVia(self.login(HTTPS_PROXY=self.proxy.url,
                                  NO_PROXY=".vault.test"), 1)

    def test_no_proxy_other_port(self):
        self.assertVia(self.login(HTTPS_PROXY=self.proxy.url,
                                  NO_PROXY="vault.test:1"), 1)

    def test_no_proxy_star(self):
        self.assertVia(self.login(HTTPS_PROXY=self.proxy.url,
                                  NO_PROXY="*"), 0)

    def test_vault_http_proxy(self):
        self.assertVia(self.login(VAULT_HTTP_PROXY=self.proxy.url), 1)

    def test_vault_http_proxy_wins_over_https_proxy(self):
        self.assertVia(self.login(VAULT_HTTP_PROXY=self.proxy.url,
                                  HTTPS_PROXY=DEAD_PROXY), 1)

    def test_vault_http_proxy_ignores_no_proxy(self):
        # An explicit proxy serves every host, as Go's ProxyURL.
        self.assertVia(self.login(VAULT_HTTP_PROXY=self.proxy.url,
                                  NO_PROXY="vault.test"), 1)

    def test_vault_proxy_addr_wins_over_vault_http_proxy(self):
        self.assertVia(self.login(VAULT_PROXY_ADDR=self.proxy.url,
                                  VAULT_HTTP_PROXY=DEAD_PROXY), 1)

    def test_dead_proxy_is_a_named_network_error(self):
        r = self.login(HTTPS_PROXY=DEAD_PROXY)
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"vault\.test:%d/v1/auth/kubernetes/login: .*"
                          r"(Connection refused|connect)"
                       % self.env.vault.port)
        self.assertEqual(self.logins(), [])

    def test_malformed_vault_http_proxy(self):
        r = self.login(VAULT_HTTP_PROXY="::not a url")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"VAULT_HTTP_PROXY")
        self.assertEqual(self.proxy.tunnels, 0)


class LoopbackTest(ClientTest):
    """Loopback never goes through a proxy from the environment."""

    def setUp(self):
        super().setUp()
        self.proxy = ProxyDouble().start()
        self.addCleanup(self.proxy.stop)

    def test_127_0_0_1_direct(self):
        r = self.env.run("authenticator", HTTPS_PROXY=self.proxy.url)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.proxy.tunnels, 0)

    def test_localhost_direct(self):
        r = self.env.run("authenticator", HTTPS_PROXY=self.proxy.url,
                         VAULT_ADDR="https://localhost:%d"
                         % self.env.vault.port)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.proxy.tunnels, 0)

    def test_explicit_proxy_applies_to_loopback_too(self):
        r = self.env.run("authenticator", VAULT_PROXY_ADDR=self.proxy.url)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.proxy.tunnels, 1)


IP = local_ip()


@unittest.skipIf(IP is None, "no non-loopback IPv4 address on this machine")
class CidrTest(ClientTest):
    """Vault at a non-loopback address: NO_PROXY's CIDR form decides."""

    vault_kw = {"host": IP or "127.0.0.1"}

    @classmethod
    def setUpClass(cls):
        cls.vault_tls = issue_cert(names=("localhost",), ips=(IP,))

    def setUp(self):
        super().setUp()
        self.proxy = ProxyDouble().start()
        self.addCleanup(self.proxy.stop)

    def login(self, **env):
        return self.env.run("authenticator", HTTPS_PROXY=self.proxy.url,
                            **env)

    def test_cidr_inside_goes_direct(self):
        prefix = ".".join(IP.split(".")[:3]) + ".0/24"
        r = self.login(NO_PROXY="10.0.0.0/8," + prefix)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.proxy.tunnels, 0)

    def test_cidr_outside_goes_through_proxy(self):
        r = self.login(NO_PROXY="10.0.0.0/8")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.proxy.targets,
                         ["%s:%d" % (IP, self.env.vault.port)])

    def test_exact_address(self):
        r = self.login(NO_PROXY=IP)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.proxy.tunnels, 0)


class SrvTest(NamespacedTest):
    """_http._tcp.srv.test points at the Vault double as vault.test."""

    def setUp(self):
        # A loopback address of its own, so parallel runs do not collide
        # on port 53.
        self.dns_ip = "127.53.%d.%d" % (random.randint(1, 254),
                                        random.randint(1, 254))
        self.resolv = "nameserver %s\noptions attempts:1 timeout:2\n" \
            % self.dns_ip
        super().setUp()
        port = self.env.vault.port
        try:
            self.dns = DnsDouble(host=self.dns_ip, port=53, srv={
                "_http._tcp.srv.test": [
                    (2, 100, 1, "worse.test"),   # higher priority value
                    (1, 5, 1, "lighter.test"),   # same priority, lighter
                    (1, 50, port, "vault.test"),
                ],
                "_http._tcp.empty.test": [],
            }).start()
        except OSError as exc:
            raise unittest.SkipTest("cannot bind %s:53: %s"
                                    % (self.dns_ip, exc))
        self.addCleanup(self.dns.stop)

    def login(self, **env):
        return self.env.run("authenticator", **env)

    def test_srv_lookup_picks_lowest_priority_highest_weight(self):
        r = self.login(VAULT_ADDR="https://srv.test",
                       VAULT_SRV_LOOKUP="true")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.dns.count(TYPE_SRV, "_http._tcp.srv.test"),
                         1)
        self.assertEqual(len(self.logins()), 1)
        self.assertEqual(self.logins()[0]["headers"]["host"],
                         "vault.test:%d" % self.env.vault.port)

    def test_srv_lookup_off_by_default(self):
        r = self.login(VAULT_ADDR="https://srv.test")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(self.dns.count(TYPE_SRV), 0)
        self.assertLog(r, r"https://srv\.test/v1/auth/kubernetes/login: "
                          r".*resolve")
        self.assertEqual(self.logins(), [])

    def test_srv_lookup_skipped_when_address_has_port(self):
        r = self.login(VAULT_ADDR="https://vault.test:%d"
                       % self.env.vault.port, VAULT_SRV_LOOKUP="1")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.dns.count(TYPE_SRV), 0)

    def test_srv_lookup_failure_named(self):
        r = self.login(VAULT_ADDR="https://nosuch.test",
                       VAULT_SRV_LOOKUP="true")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"SRV lookup of _http\._tcp\.nosuch\.test")
        self.assertEqual(self.logins(), [])

    def test_srv_lookup_malformed(self):
        r = self.login(VAULT_SRV_LOOKUP="sometimes")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"VAULT_SRV_LOOKUP")
        self.assertEqual(self.dns.count(), 0)
