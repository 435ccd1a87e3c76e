/* vault_config: the Go client's VAULT_* environment, read and validated. */
#include "vault.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "parse.h"
#include "tokenfile.h"

#define DEFAULT_ADDR "https://127.0.0.1:8200"
#define DEFAULT_TIMEOUT_NS (60 * 1000000000LL)
#define DEFAULT_MAX_RETRIES 2

/* A variable's value, or NULL when unset or empty (as Go's os.Getenv
 * checks against ""). */
static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Copies a value for an error message: bounded, control characters
 * replaced. Never used for secrets. */
static const char *shown(const char *s, char *buf, size_t n)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 4 < n; i++)
		buf[i] =
		    (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (s[i] != '\0' && i >= 3)
		memcpy(buf + i - 3, "...", 3);
	buf[i] = '\0';
	return buf;
}

static int dup_env(char **dst, const char *v, struct errbuf *e)
{
	if (v == NULL)
		return 0;
	*dst = strdup(v);
	if (*dst == NULL)
		return errbuf_set(e, "out of memory");
	return 0;
}

/* Collapses "//" and drops trailing '/' of a URL path in place. */
static void path_tidy(char *p)
{
	char *w = p;
	const char *r = p;

	while (*r != '\0') {
		if (*r == '/' && w > p && w[-1] == '/') {
			r++;
			continue;
		}
		*w++ = *r++;
	}
	while (w > p && w[-1] == '/')
		w--;
	*w = '\0';
}

/* http(s)://host[:port][/prefix] kept with its prefix, trailing '/'
 * removed; unix:///path dials the socket as http://localhost. */
static int addr_parse(const char *var, const char *raw, struct vault_config *c,
                      struct errbuf *e)
{
	CURLU *u = NULL;
	char *scheme = NULL, *path = NULL, *base = NULL, *extra = NULL;
	size_t len;
	char buf[64];
	int ret = -1;

	if (strncmp(raw, "unix://", 7) == 0) {
		if (raw[7] == '\0')
			return errbuf_set(e,
			                  "%s: unix:// needs the path of a "
			                  "socket, such as "
			                  "unix:///run/vault.sock",
			                  var);
		if (dup_env(&c->unix_socket, raw + 7, e) < 0 ||
		    dup_env(&c->addr, "http://localhost", e) < 0)
			return -1;
		return 0;
	}
	if (strncasecmp(raw, "http://", 7) != 0 &&
	    strncasecmp(raw, "https://", 8) != 0) {
		errbuf_set(e,
		           "%s: unsupported address \"%s\": accepted are "
		           "http://host[:port][/path], "
		           "https://host[:port][/path] and unix:///path",
		           var, shown(raw, buf, 40));
		goto out;
	}
	u = curl_url();
	if (u == NULL) {
		errbuf_set(e, "out of memory");
		goto out;
	}
	if (curl_url_set(u, CURLUPART_URL, raw, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
		errbuf_set(e,
		           "%s: not a valid URL: accepted are "
		           "http(s)://host[:port][/path]",
		           var);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_QUERY, &extra, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &extra, 0) == CURLUE_OK) {
		errbuf_set(e,
		           "%s: a query or fragment is not accepted, "
		           "only http(s)://host[:port][/path]",
		           var);
		goto out;
	}
	path_tidy(path);
	if (curl_url_set(u, CURLUPART_PATH, "/", 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &base, 0) != CURLUE_OK) {
		errbuf_set(e, "%s: not a valid URL", var);
		goto out;
	}
	len = strlen(base) + strlen(path) + 1;
	c->addr = malloc(len);
	if (c->addr == NULL) {
		errbuf_set(e, "out of memory");
		goto out;
	}
	/* base ends with the '/' just set; the tidy path starts with one */
	base[strlen(base) - 1] = '\0';
	(void)snprintf(c->addr, len, "%s%s", base, path);
	ret = 0;
out:
	curl_free(scheme);
	curl_free(path);
	curl_free(base);
	curl_free(extra);
	curl_url_cleanup(u);
	return ret;
}

static int tls_parse(struct vault_config *c, struct errbuf *e)
{
	const char *cert = env("VAULT_CLIENT_CERT");
	const char *key = env("VAULT_CLIENT_KEY");

	/* Only the first of VAULT_CACERT, VAULT_CACERT_BYTES, VAULT_CAPATH
	 * counts, as in Go. */
	if (env("VAULT_CACERT") != NULL) {
		if (dup_env(&c->ca_file, env("VAULT_CACERT"), e) < 0)
			return -1;
	} else if (env("VAULT_CACERT_BYTES") != NULL) {
		if (dup_env(&c->ca_pem, env("VAULT_CACERT_BYTES"), e) < 0)
			return -1;
	} else if (dup_env(&c->ca_path, env("VAULT_CAPATH"), e) < 0) {
		return -1;
	}
	if ((cert == NULL) != (key == NULL))
		return errbuf_set(e, "VAULT_CLIENT_CERT and VAULT_CLIENT_KEY: "
		                     "both client cert and client key must be "
		                     "provided");
	if (dup_env(&c->client_cert, cert, e) < 0 ||
	    dup_env(&c->client_key, key, e) < 0 ||
	    dup_env(&c->server_name, env("VAULT_TLS_SERVER_NAME"), e) < 0)
		return -1;
	return env_bool("VAULT_SKIP_VERIFY", false, &c->skip_verify, e);
}

static int timeout_parse(struct vault_config *c, struct errbuf *e)
{
	const char *v = env("VAULT_CLIENT_TIMEOUT");
	int64_t ns;
	char buf[64];

	c->timeout_ns = DEFAULT_TIMEOUT_NS;
	if (v == NULL)
		return 0;
	if (parse_duration_second(v, &ns) < 0)
		return errbuf_set(e,
		                  "VAULT_CLIENT_TIMEOUT: could not parse "
		                  "\"%s\": accepted are a number of "
		                  "seconds or a duration such as 30s or "
		                  "1m30s",
		                  shown(v, buf, sizeof(buf)));
	/* As in Go: 0 keeps the default, a negative value means none. */
	if (ns > 0)
		c->timeout_ns = ns;
	else if (ns < 0)
		c->timeout_ns = 0;
	return 0;
}

static int retries_parse(struct vault_config *c, struct errbuf *e)
{
	const char *v = env("VAULT_MAX_RETRIES");
	uint64_t n;
	char buf[64];

	c->max_retries = DEFAULT_MAX_RETRIES;
	if (v == NULL)
		return 0;
	if (parse_uint(v, UINT32_MAX, &n) < 0 || n > UINT_MAX)
		return errbuf_set(e,
		                  "VAULT_MAX_RETRIES: could not parse "
		                  "\"%s\": accepted is a number from 0 "
		                  "to %u",
		                  shown(v, buf, sizeof(buf)), UINT32_MAX);
	c->max_retries = (unsigned)n;
	return 0;
}

/* A non-negative finite decimal such as 10 or 2.5. */
static int rate_value(const char *s, size_t len, double *out)
{
	char buf[64];
	char *end;
	double d;

	if (len == 0 || len >= sizeof(buf) ||
	    !(isdigit((unsigned char)s[0]) || s[0] == '.'))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	d = strtod(buf, &end);
	if (errno != 0 || *end != '\0' || !isfinite(d) || d < 0)
		return -1;
	*out = d;
	return 0;
}

/* "rate:burst" or "rate" (burst then int(rate)), as Go's client. */
static int rate_parse(struct vault_config *c, struct errbuf *e)
{
	const char *v = env("VAULT_RATE_LIMIT");
	const char *colon;
	uint64_t burst;
	double rate;

	c->rate = 0;
	c->burst = 0;
	if (v == NULL)
		return 0;
	colon = strchr(v, ':');
	if (colon == NULL && rate_value(v, strlen(v), &rate) == 0) {
		c->rate = rate;
		c->burst = rate >= INT_MAX ? INT_MAX : (int)rate;
		return 0;
	}
	if (colon != NULL && rate_value(v, (size_t)(colon - v), &rate) == 0 &&
	    parse_uint(colon + 1, INT_MAX, &burst) == 0) {
		c->rate = rate;
		c->burst = (int)burst;
		return 0;
	}
	return errbuf_set(e, "VAULT_RATE_LIMIT was provided but incorrectly "
	                     "formatted: accepted are <rate> or "
	                     "<rate>:<burst>, such as 10 or 10:20");
}

/* RFC 7230 token characters. */
static bool header_name_ok(const char *s)
{
	const char *p;

	if (s[0] == '\0')
		return false;
	for (p = s; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) &&
		    strchr("!#$%&'*+-.^_`|~", *p) == NULL)
			return false;
	return true;
}

static int header_add(struct vault_config *c, const char *name,
                      json_object *val, struct errbuf *e)
{
	const char *s;
	char **grown;
	size_t len;
	char buf[64];

	if (!header_name_ok(name))
		return errbuf_set(e,
		                  "VAULT_HEADERS: \"%s\" is not a valid "
		                  "header name",
		                  shown(name, buf, sizeof(buf)));
	if (strncasecmp(name, "X-Vault-", 8) == 0)
		return errbuf_set(e,
		                  "VAULT_HEADERS: header %s: headers "
		                  "starting by 'X-Vault-' are for internal "
		                  "usage only",
		                  name);
	if (!json_object_is_type(val, json_type_string))
		return errbuf_set(e,
		                  "VAULT_HEADERS: header %s: accepted are "
		                  "only string values",
		                  name);
	s = json_object_get_string(val);
	len = (size_t)json_object_get_string_len(val);
	if (strlen(s) != len || strpbrk(s, "\r\n") != NULL)
		return errbuf_set(e,
		                  "VAULT_HEADERS: header %s: a value must "
		                  "not contain CR, LF or NUL",
		                  name);
	grown = realloc(c->headers, (c->n_headers + 1) * sizeof(*grown));
	if (grown == NULL)
		return errbuf_set(e, "out of memory");
	c->headers = grown;
	len += strlen(name) + 3;
	c->headers[c->n_headers] = malloc(len);
	if (c->headers[c->n_headers] == NULL)
		return errbuf_set(e, "out of memory");
	(void)snprintf(c->headers[c->n_headers], len, "%s: %s", name, s);
	c->n_headers++;
	return 0;
}

/* VAULT_HEADERS: a JSON object of header names to string values. Values
 * may be credentials: they never appear in a message. */
static int headers_parse(struct vault_config *c, struct errbuf *e)
{
	const char *v = env("VAULT_HEADERS");
	json_tokener *tok = NULL;
	json_object *obj = NULL;
	int ret = -1;

	if (v == NULL)
		return 0;
	tok = json_tokener_new();
	if (tok == NULL)
		return errbuf_set(e, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, v, (int)strnlen(v, INT_MAX));
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		errbuf_set(e, "VAULT_HEADERS: could not unmarshal "
		              "environment-supplied headers: accepted is a "
		              "JSON object of header names to string values");
		goto out;
	}
	json_object_object_foreach(obj, name, val)
	{
		if (header_add(c, name, val, e) < 0)
			goto out;
	}
	ret = 0;
out:
	json_object_put(obj);
	json_tokener_free(tok);
	return ret;
}

static bool printable(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static int token_parse(struct vault_config *c, struct errbuf *e)
{
	const char *v = env("VAULT_TOKEN");

	if (v == NULL)
		return 0;
	c->token = trim_dup(v);
	if (c->token == NULL)
		return errbuf_set(e, "out of memory");
	if (c->token[0] == '\0') {
		secret_free(c->token);
		c->token = NULL;
		return 0;
	}
	if (!printable(c->token))
		return errbuf_set(e, "VAULT_TOKEN: configured Vault token "
		                     "contains non-printable characters and "
		                     "cannot be used");
	return 0;
}

/* A proxy URL libcurl can use, with a scheme Go's transport knows (a
 * bare host:port is taken as http, as libcurl and Go's env proxies do). */
static bool proxy_url_valid(const char *s)
{
	static const char *const schemes[] = {"http", "https", "socks5",
	                                      "socks5h"};
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	bool ok = false;
	size_t i;

	if (u != NULL &&
	    curl_url_set(u, CURLUPART_URL, s,
	                 CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) ==
	        CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    host[0] != '\0')
		for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
			ok = ok || strcasecmp(scheme, schemes[i]) == 0;
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

static int misc_parse(struct vault_config *c, struct errbuf *e)
{
	const char *pvar = "VAULT_PROXY_ADDR";
	const char *proxy = env(pvar);
	const char *ns = env("VAULT_NAMESPACE");
	const char *wrap = env("VAULT_WRAP_TTL");
	int64_t wrap_ns;
	char buf[64];

	if (proxy == NULL) {
		pvar = "VAULT_HTTP_PROXY";
		proxy = env(pvar);
	}
	if (proxy != NULL && (!printable(proxy) || !proxy_url_valid(proxy)))
		return errbuf_set(e,
		                  "%s: not a proxy URL (value not shown: it "
		                  "may hold credentials); accepted is an "
		                  "http, https or socks5 URL such as "
		                  "http://proxy:3128, without control "
		                  "characters",
		                  pvar);
	if (ns != NULL && !printable(ns))
		return errbuf_set(e, "VAULT_NAMESPACE: accepted is a "
		                     "namespace path such as team-a/, without "
		                     "control characters");
	if (wrap != NULL &&
	    (parse_duration_second(wrap, &wrap_ns) < 0 || wrap_ns < 0))
		return errbuf_set(e,
		                  "VAULT_WRAP_TTL: could not parse \"%s\": "
		                  "accepted are a number of seconds or a "
		                  "duration such as 5m, not negative",
		                  shown(wrap, buf, sizeof(buf)));
	if (dup_env(&c->proxy, proxy, e) < 0 ||
	    dup_env(&c->namespace, ns, e) < 0)
		return -1;
	if (wrap != NULL) {
		c->wrap_ttl = trim_dup(wrap);
		if (c->wrap_ttl == NULL)
			return errbuf_set(e, "out of memory");
	}
	c->mfa_set = env("VAULT_MFA") != NULL;
	if (env_bool("VAULT_SRV_LOOKUP", false, &c->srv_lookup, e) < 0 ||
	    env_bool("VAULT_DISABLE_REDIRECTS", false, &c->disable_redirects,
	             e) < 0)
		return -1;
	return 0;
}

int vault_config_from_env(struct vault_config *c, struct errbuf *e)
{
	struct vault_config n;
	const char *var = "VAULT_AGENT_ADDR";
	const char *addr = env(var);

	memset(&n, 0, sizeof(n));
	if (addr == NULL) {
		var = "VAULT_ADDR";
		addr = env(var);
	}
	if (addr == NULL)
		addr = DEFAULT_ADDR;
	if (addr_parse(var, addr, &n, e) < 0 || tls_parse(&n, e) < 0 ||
	    timeout_parse(&n, e) < 0 || retries_parse(&n, e) < 0 ||
	    rate_parse(&n, e) < 0 || headers_parse(&n, e) < 0 ||
	    token_parse(&n, e) < 0 || misc_parse(&n, e) < 0) {
		vault_config_free(&n);
		return -1;
	}
	*c = n;
	return 0;
}

void vault_config_free(struct vault_config *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->addr);
	free(c->unix_socket);
	free(c->ca_file);
	free(c->ca_path);
	free(c->ca_pem);
	free(c->client_cert);
	free(c->client_key);
	free(c->server_name);
	free(c->namespace);
	/* Custom headers may carry credentials. */
	for (i = 0; i < c->n_headers; i++)
		secret_free(c->headers[i]);
	free(c->headers);
	free(c->proxy);
	secret_free(c->token);
	free(c->wrap_ttl);
	memset(c, 0, sizeof(*c));
}
