/* test_vault_config: the VAULT_* environment, accepted and refused forms. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "vault.h"

static const char *const vars[] = {
    "VAULT_ADDR",
    "VAULT_AGENT_ADDR",
    "VAULT_CACERT",
    "VAULT_CACERT_BYTES",
    "VAULT_CAPATH",
    "VAULT_CLIENT_CERT",
    "VAULT_CLIENT_KEY",
    "VAULT_CLIENT_TIMEOUT",
    "VAULT_MAX_RETRIES",
    "VAULT_RATE_LIMIT",
    "VAULT_SKIP_VERIFY",
    "VAULT_SRV_LOOKUP",
    "VAULT_TLS_SERVER_NAME",
    "VAULT_HTTP_PROXY",
    "VAULT_PROXY_ADDR",
    "VAULT_DISABLE_REDIRECTS",
    "VAULT_NAMESPACE",
    "VAULT_HEADERS",
    "VAULT_TOKEN",
    "VAULT_WRAP_TTL",
    "VAULT_MFA",
};

static void env_clear(void)
{
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		(void)unsetenv(vars[i]);
}

/* Loads the environment with one variable set. Returns the result. */
static int load1(const char *name, const char *value, struct vault_config *c,
                 struct errbuf *e)
{
	env_clear();
	if (name != NULL)
		(void)setenv(name, value, 1);
	errbuf_clear(e);
	memset(c, 0, sizeof(*c));
	return vault_config_from_env(c, e);
}

/* One variable set to value must be refused with a message naming the
 * variable (and containing want, when given); the config stays as it
 * was handed in. */
static char refused_msg[sizeof(((struct errbuf *)0)->msg)];

/* The message of the last refused() call. */
static const char *last_error(void)
{
	return refused_msg;
}

static void refused(const char *name, const char *value, const char *want)
{
	struct vault_config c;
	struct vault_config before;
	struct errbuf e;
	int rc;

	env_clear();
	(void)setenv(name, value, 1);
	errbuf_clear(&e);
	memset(&before, 0xa5, sizeof(before));
	c = before;
	rc = vault_config_from_env(&c, &e);
	CHECK(rc == -1);
	if (rc == 0) {
		fprintf(stderr, "  %s=\"%s\" was accepted\n", name, value);
		vault_config_free(&c);
		return;
	}
	CHECK(memcmp(&c, &before, sizeof(c)) == 0);
	(void)snprintf(refused_msg, sizeof(refused_msg), "%s", e.msg);
	CHECK(strstr(e.msg, name) != NULL);
	if (want != NULL)
		CHECK(strstr(e.msg, want) != NULL);
	if (strstr(e.msg, name) == NULL ||
	    (want != NULL && strstr(e.msg, want) == NULL))
		fprintf(stderr, "  %s=\"%s\": message \"%s\"\n", name, value,
		        e.msg);
}

static void test_defaults(void)
{
	struct vault_config c;
	struct errbuf e;

	CHECK(load1(NULL, NULL, &c, &e) == 0);
	CHECK_STR(c.addr, "https://127.0.0.1:8200");
	CHECK(c.unix_socket == NULL);
	CHECK(c.ca_file == NULL && c.ca_path == NULL && c.ca_pem == NULL);
	CHECK(c.client_cert == NULL && c.client_key == NULL);
	CHECK(c.server_name == NULL);
	CHECK(!c.skip_verify && !c.srv_lookup && !c.disable_redirects);
	CHECK(c.timeout_ns == 60 * 1000000000LL);
	CHECK(c.max_retries == 2);
	CHECK(c.rate == 0 && c.burst == 0);
	CHECK(c.namespace == NULL && c.n_headers == 0 && c.proxy == NULL);
	CHECK(c.token == NULL && c.wrap_ttl == NULL && !c.mfa_set);
	vault_config_free(&c);

	/* Empty values count as unset, as Go's os.Getenv checks. */
	CHECK(load1("VAULT_ADDR", "", &c, &e) == 0);
	CHECK_STR(c.addr, "https://127.0.0.1:8200");
	vault_config_free(&c);
	CHECK(load1("VAULT_MAX_RETRIES", "", &c, &e) == 0);
	CHECK(c.max_retries == 2);
	vault_config_free(&c);
}

static void addr_is(const char *value, const char *want)
{
	struct vault_config c;
	struct errbuf e;

	CHECK(load1("VAULT_ADDR", value, &c, &e) == 0);
	CHECK_STR(c.addr, want);
	CHECK(c.unix_socket == NULL);
	vault_config_free(&c);
}

static void test_addr(void)
{
	struct vault_config c;
	struct errbuf e;

	addr_is("https://vault:8200", "https://vault:8200");
	addr_is("https://vault:8200/", "https://vault:8200");
	addr_is("http://vault", "http://vault");
	addr_is("HTTPS://vault:8200", "https://vault:8200");
	addr_is("https://h/vault", "https://h/vault");
	addr_is("https://h/vault/", "https://h/vault");
	addr_is("https://h//vault//x///", "https://h/vault/x");
	addr_is("http://[::1]:8200/", "http://[::1]:8200");

	CHECK(load1("VAULT_ADDR", "unix:///run/vault.sock", &c, &e) == 0);
	CHECK_STR(c.unix_socket, "/run/vault.sock");
	CHECK_STR(c.addr, "http://localhost");
	vault_config_free(&c);

	refused("VAULT_ADDR", "unix://", "unix://");
	refused("VAULT_ADDR", "ftp://vault", "accepted");
	refused("VAULT_ADDR", "vault:8200", "accepted");
	refused("VAULT_ADDR", "127.0.0.1:8200", "accepted");
	refused("VAULT_ADDR", "https://", NULL);
	refused("VAULT_ADDR", "https://vault:8200?x=1", "query");
	refused("VAULT_ADDR", "https://vault:8200/#frag", "query");
	refused("VAULT_ADDR", "https://vault:port", NULL);
	refused("VAULT_ADDR", "https://va ult:8200", NULL);

	/* VAULT_AGENT_ADDR wins, and its errors name it. */
	env_clear();
	(void)setenv("VAULT_ADDR", "https://server:8200", 1);
	(void)setenv("VAULT_AGENT_ADDR", "http://127.0.0.1:8100/", 1);
	CHECK(vault_config_from_env(&c, &e) == 0);
	CHECK_STR(c.addr, "http://127.0.0.1:8100");
	vault_config_free(&c);
	refused("VAULT_AGENT_ADDR", "tcp://agent", "accepted");
}

static void test_tls(void)
{
	struct vault_config c;
	struct errbuf e;

	env_clear();
	(void)setenv("VAULT_CACERT", "/ca.pem", 1);
	(void)setenv("VAULT_CACERT_BYTES", "-----BEGIN CERTIFICATE-----", 1);
	(void)setenv("VAULT_CAPATH", "/certs", 1);
	CHECK(vault_config_from_env(&c, &e) == 0);
	CHECK_STR(c.ca_file, "/ca.pem");
	CHECK(c.ca_pem == NULL && c.ca_path == NULL);
	vault_config_free(&c);

	(void)unsetenv("VAULT_CACERT");
	CHECK(vault_config_from_env(&c, &e) == 0);
	CHECK_STR(c.ca_pem, "-----BEGIN CERTIFICATE-----");
	CHECK(c.ca_file == NULL && c.ca_path == NULL);
	vault_config_free(&c);

	(void)unsetenv("VAULT_CACERT_BYTES");
	CHECK(vault_config_from_env(&c, &e) == 0);
	CHECK_STR(c.ca_path, "/certs");
	CHECK(c.ca_file == NULL && c.ca_pem == NULL);
	vault_config_free(&c);

	env_clear();
	(void)setenv("VAULT_CLIENT_CERT", "/c.pem", 1);
	(void)setenv("VAULT_CLIENT_KEY", "/k.pem", 1);
	(void)setenv("VAULT_TLS_SERVER_NAME", "vault.internal", 1);
	CHECK(vault_config_from_env(&c, &e) == 0);
	CHECK_STR(c.client_cert, "/c.pem");
	CHECK_STR(c.client_key, "/k.pem");
	CHECK_STR(c.server_name, "vault.internal");
	vault_config_free(&c);
	refused("VAULT_CLIENT_CERT", "/c.pem",
	        "both client cert and client key must be provided");
	refused("VAULT_CLIENT_KEY", "/k.pem",
	        "both client cert and client key must be provided");
}

static void timeout_is(const char *value, int64_t want_ns)
{
	struct vault_config c;
	struct errbuf e;

	CHECK(load1("VAULT_CLIENT_TIMEOUT", value, &c, &e) == 0);
	CHECK(c.timeout_ns == want_ns);
	if (c.timeout_ns != want_ns)
		fprintf(stderr, "  VAULT_CLIENT_TIMEOUT=%s: %lld ns\n", value,
		        (long long)c.timeout_ns);
	vault_config_free(&c);
}

static void test_numbers(void)
{
	const int64_t s = 1000000000LL;
	struct vault_config c;
	struct errbuf e;

	timeout_is("30", 30 * s);
	timeout_is("30s", 30 * s);
	timeout_is("1m30s", 90 * s);
	timeout_is("500ms", s / 2);
	timeout_is("1d", 86400 * s);
	timeout_is("0", 60 * s); /* 0 is ignored: the default stays */
	timeout_is("-5s", 0);    /* negative: no timeout */
	refused("VAULT_CLIENT_TIMEOUT", "abc", "accepted");
	refused("VAULT_CLIENT_TIMEOUT", "10 seconds", NULL);
	refused("VAULT_CLIENT_TIMEOUT", "5x", NULL);

	CHECK(load1("VAULT_MAX_RETRIES", "0", &c, &e) == 0);
	CHECK(c.max_retries == 0);
	vault_config_free(&c);
	CHECK(load1("VAULT_MAX_RETRIES", "7", &c, &e) == 0);
	CHECK(c.max_retries == 7);
	vault_config_free(&c);
	CHECK(load1("VAULT_MAX_RETRIES", "4294967295", &c, &e) == 0);
	CHECK(c.max_retries == 4294967295u);
	vault_config_free(&c);
	refused("VAULT_MAX_RETRIES", "4294967296", "4294967295");
	refused("VAULT_MAX_RETRIES", "-1", NULL);
	refused("VAULT_MAX_RETRIES", "two", NULL);
	refused("VAULT_MAX_RETRIES", " 3", NULL);
	refused("VAULT_MAX_RETRIES", "3.0", NULL);

	CHECK(load1("VAULT_RATE_LIMIT", "10", &c, &e) == 0);
	CHECK(c.rate == 10 && c.burst == 10);
	vault_config_free(&c);
	CHECK(load1("VAULT_RATE_LIMIT", "10:20", &c, &e) == 0);
	CHECK(c.rate == 10 && c.burst == 20);
	vault_config_free(&c);
	CHECK(load1("VAULT_RATE_LIMIT", "2.5", &c, &e) == 0);
	CHECK(c.rate == 2.5 && c.burst == 2);
	vault_config_free(&c);
	CHECK(load1("VAULT_RATE_LIMIT", "0.5:0", &c, &e) == 0);
	CHECK(c.rate == 0.5 && c.burst == 0);
	vault_config_free(&c);
	refused("VAULT_RATE_LIMIT", "fast", "incorrectly formatted");
	refused("VAULT_RATE_LIMIT", "10:", "incorrectly formatted");
	refused("VAULT_RATE_LIMIT", ":5", "incorrectly formatted");
	refused("VAULT_RATE_LIMIT", "10:x", "incorrectly formatted");
	refused("VAULT_RATE_LIMIT", "10:20:30", "incorrectly formatted");
	refused("VAULT_RATE_LIMIT", "10:-2", "incorrectly formatted");
	refused("VAULT_RATE_LIMIT", "-1", "incorrectly formatted");
	refused("VAULT_RATE_LIMIT", "nan", "incorrectly formatted");
	refused("VAULT_RATE_LIMIT", "1e999", "incorrectly formatted");
}

static void test_bools(void)
{
	const char *names[] = {"VAULT_SKIP_VERIFY", "VAULT_SRV_LOOKUP",
	                       "VAULT_DISABLE_REDIRECTS"};
	struct vault_config c;
	struct errbuf e;
	size_t i;

	for (i = 0; i < 3; i++) {
		CHECK(load1(names[i], "true", &c, &e) == 0);
		CHECK((i == 0 && c.skip_verify) || (i == 1 && c.srv_lookup) ||
		      (i == 2 && c.disable_redirects));
		vault_config_free(&c);
		CHECK(load1(names[i], "0", &c, &e) == 0);
		CHECK(!c.skip_verify && !c.srv_lookup && !c.disable_redirects);
		vault_config_free(&c);
		CHECK(load1(names[i], "T", &c, &e) == 0);
		vault_config_free(&c);
		refused(names[i], "yes", NULL);
		refused(names[i], "on", NULL);
		refused(names[i], "TRUE ", NULL);
	}
}

static void test_proxy_namespace(void)
{
	struct vault_config c;
	struct errbuf e;

	CHECK(load1("VAULT_HTTP_PROXY", "http://p1:3128", &c, &e) == 0);
	CHECK_STR(c.proxy, "http://p1:3128");
	vault_config_free(&c);
	(void)setenv("VAULT_PROXY_ADDR", "http://p2:3128", 1);
	CHECK(vault_config_from_env(&c, &e) == 0);
	CHECK_STR(c.proxy, "http://p2:3128");
	vault_config_free(&c);
	refused("VAULT_PROXY_ADDR", "http://p\r\n:3128", NULL);
	refused("VAULT_HTTP_PROXY", "http://p\t:3128", NULL);
	refused("VAULT_HTTP_PROXY", "::not a url", "not a proxy URL");
	refused("VAULT_PROXY_ADDR", "ftp://p:21", "not a proxy URL");
	refused("VAULT_PROXY_ADDR", "http://user:hunter2@:3128",
	        "not a proxy URL");
	CHECK(strstr(last_error(), "hunter2") == NULL);
	CHECK(load1("VAULT_HTTP_PROXY", "proxy.example:3128", &c, &e) == 0);
	vault_config_free(&c);
	CHECK(load1("VAULT_HTTP_PROXY", "socks5://p:1080", &c, &e) == 0);
	vault_config_free(&c);

	CHECK(load1("VAULT_NAMESPACE", "team-a/", &c, &e) == 0);
	CHECK_STR(c.namespace, "team-a/");
	vault_config_free(&c);
	refused("VAULT_NAMESPACE", "team\r\nX-Evil: 1", NULL);
}

static void test_headers(void)
{
	struct vault_config c;
	struct errbuf e;

	CHECK(load1("VAULT_HEADERS", "{\"X-Custom\":\"a b\",\"Empty\":\"\"}",
	            &c, &e) == 0);
	CHECK(c.n_headers == 2);
	if (c.n_headers == 2) {
		CHECK_STR(c.headers[0], "X-Custom: a b");
		CHECK_STR(c.headers[1], "Empty: ");
	}
	vault_config_free(&c);
	CHECK(load1("VAULT_HEADERS", "{}", &c, &e) == 0);
	CHECK(c.n_headers == 0);
	vault_config_free(&c);

	refused("VAULT_HEADERS", "not json", "could not unmarshal");
	refused("VAULT_HEADERS", "{\"a\":\"b\"", "could not unmarshal");
	refused("VAULT_HEADERS", "[\"a\"]", "could not unmarshal");
	refused("VAULT_HEADERS", "\"a\"", "could not unmarshal");
	refused("VAULT_HEADERS", "{\"a\":\"b\"} x", "could not unmarshal");
	refused("VAULT_HEADERS", "{\"X-Num\":5}", "string");
	refused("VAULT_HEADERS", "{\"X-Obj\":{}}", "string");
	refused("VAULT_HEADERS", "{\"X-Null\":null}", "string");
	refused("VAULT_HEADERS", "{\"X-Vault-Token\":\"t\"}", "X-Vault-");
	refused("VAULT_HEADERS", "{\"x-vault-namespace\":\"t\"}", "X-Vault-");
	refused("VAULT_HEADERS", "{\"X-A\":\"v\\r\\nX-B: w\"}", "CR");
	refused("VAULT_HEADERS", "{\"X-A\":\"v\\nw\"}", "CR");
	refused("VAULT_HEADERS", "{\"X-A\":\"v\\u0000w\"}", "NUL");
	refused("VAULT_HEADERS", "{\"bad name\":\"v\"}", "header name");
	refused("VAULT_HEADERS", "{\"\":\"v\"}", "header name");
	refused("VAULT_HEADERS", "{\"A:B\":\"v\"}", "header name");

	/* A value may be a credential: it is never quoted. */
	refused("VAULT_HEADERS", "{\"Authorization\":\"s3cr3t\\n\"}", NULL);
	CHECK(load1("VAULT_HEADERS", "{\"Authorization\":\"s3cr3t\\n\"}", &c,
	            &e) == -1);
	CHECK(strstr(e.msg, "s3cr3t") == NULL);
}

static void test_token(void)
{
	struct vault_config c;
	struct errbuf e;

	CHECK(load1("VAULT_TOKEN", "  hvs.abc\n", &c, &e) == 0);
	CHECK_STR(c.token, "hvs.abc");
	vault_config_free(&c);
	CHECK(load1("VAULT_TOKEN", " \n", &c, &e) == 0);
	CHECK(c.token == NULL);
	vault_config_free(&c);

	CHECK(load1("VAULT_TOKEN", "hvs.se\x01cret", &c, &e) == -1);
	CHECK(strstr(e.msg, "VAULT_TOKEN") != NULL);
	CHECK(strstr(e.msg, "non-printable") != NULL);
	CHECK(strstr(e.msg, "hvs.se") == NULL && strstr(e.msg, "cret") == NULL);
	CHECK(load1("VAULT_TOKEN", "hvs.top\nsecret", &c, &e) == -1);
	CHECK(strstr(e.msg, "VAULT_TOKEN") != NULL);
	CHECK(strstr(e.msg, "hvs.top") == NULL &&
	      strstr(e.msg, "secret") == NULL);
	refused("VAULT_TOKEN", "a\x7f", "non-printable");
}

static void test_wrap_mfa(void)
{
	struct vault_config c;
	struct errbuf e;

	CHECK(load1("VAULT_WRAP_TTL", "5m", &c, &e) == 0);
	CHECK_STR(c.wrap_ttl, "5m");
	vault_config_free(&c);
	CHECK(load1("VAULT_WRAP_TTL", " 300 ", &c, &e) == 0);
	CHECK_STR(c.wrap_ttl, "300");
	vault_config_free(&c);
	refused("VAULT_WRAP_TTL", "five minutes", "accepted");
	refused("VAULT_WRAP_TTL", "-5m", "negative");

	CHECK(load1("VAULT_MFA", "totp:123456", &c, &e) == 0);
	CHECK(c.mfa_set);
	vault_config_free(&c);
}

/* All variables at once, then one bad: nothing leaks (run under ASan). */
static void test_late_error(void)
{
	struct vault_config c;
	struct errbuf e;

	env_clear();
	(void)setenv("VAULT_ADDR", "https://vault:8200/", 1);
	(void)setenv("VAULT_CACERT", "/ca.pem", 1);
	(void)setenv("VAULT_CLIENT_CERT", "/c.pem", 1);
	(void)setenv("VAULT_CLIENT_KEY", "/k.pem", 1);
	(void)setenv("VAULT_TLS_SERVER_NAME", "vault", 1);
	(void)setenv("VAULT_HEADERS", "{\"A\":\"1\",\"B\":\"2\"}", 1);
	(void)setenv("VAULT_NAMESPACE", "ns/", 1);
	(void)setenv("VAULT_PROXY_ADDR", "http://p:1", 1);
	(void)setenv("VAULT_TOKEN", "hvs.x", 1);
	(void)setenv("VAULT_WRAP_TTL", "1m", 1);
	CHECK(vault_config_from_env(&c, &e) == 0);
	CHECK(c.n_headers == 2);
	vault_config_free(&c);
	CHECK(c.addr == NULL && c.token == NULL && c.headers == NULL);
	(void)setenv("VAULT_DISABLE_REDIRECTS", "maybe", 1);
	CHECK(vault_config_from_env(&c, &e) == -1);
	CHECK(strstr(e.msg, "VAULT_DISABLE_REDIRECTS") != NULL);
}

int main(void)
{
	test_defaults();
	test_addr();
	test_tls();
	test_numbers();
	test_bools();
	test_proxy_namespace();
	test_headers();
	test_token();
	test_wrap_mfa();
	test_late_error();
	env_clear();
	return check_done("test_vault_config");
}
