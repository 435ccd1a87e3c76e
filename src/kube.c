/* kube: core/v1 Secrets through the in-cluster Kubernetes API. */
#include "kube.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "parse.h"
#include "redact.h"
#include "tokenfile.h"

#define KUBE_TIMEOUT_MS 30000
#define KUBE_CONNECT_TIMEOUT_MS 10000
#define KUBE_TOKEN_MAX_AGE_S 60
#define KUBE_RETRIES 3
#define KUBE_RETRY_AFTER_MAX_S 10
#define KUBE_BACKOFF_MS 200
#define KUBE_PAGE_LIMIT "500"
#define KUBE_MAX_PAGES 10000
#define KUBE_MAX_ITEMS 100000
#define KUBE_MAX_LIST_BYTES (512u * 1024 * 1024)
#define KUBE_EXCERPT_MAX 200
#define KUBE_MESSAGE_MAX 1024
#define KUBE_REASON_MAX 64
#define KUBE_NAME_SHOWN 64
#define KUBE_URL_MAX 4096
#define KUBE_NS_FILE_MAX 4096
#define KUBE_PATH_MAX 4096

struct kube {
	struct http_client *http;
	char *server;
	char *token_path;
	char *namespace;
	char *token;
	struct timespec token_at; /* CLOCK_MONOTONIC time of the last read */
};

/* ---- in-cluster configuration ---------------------------------------- */

static bool port_valid(const char *s)
{
	unsigned long v = 0;
	const char *p;

	if (*s == '\0' || strlen(s) > 5)
		return false;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	return v >= 1 && v <= 65535;
}

/* Refuses what would change the meaning of the URL built around host. */
static bool host_valid(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p <= 0x20 || *p == 0x7f || strchr("/?#@\\%", *p) != NULL)
			return false;
	}
	return *s != '\0';
}

/* DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 bytes. */
static bool dns_label_valid(const char *s)
{
	size_t n = strlen(s);
	size_t i;

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	}
	return true;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

/* Reads a small text file and returns it trimmed, malloc'd. */
static int read_trimmed(const char *path, char **out, struct errbuf *e)
{
	char buf[KUBE_NS_FILE_MAX + 1];
	size_t n;
	size_t start = 0;
	FILE *f;

	f = fopen(path, "re");
	if (f == NULL)
		return errbuf_set(e, "open %s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf), f);
	if (ferror(f)) {
		(void)fclose(f);
		return errbuf_set(e, "read %s: %s", path, strerror(errno));
	}
	if (fclose(f) != 0)
		return errbuf_set(e, "close %s: %s", path, strerror(errno));
	if (n > KUBE_NS_FILE_MAX)
		return errbuf_set(e, "%s: larger than %d bytes", path,
		                  KUBE_NS_FILE_MAX);
	while (n > 0 && is_space(buf[n - 1]))
		n--;
	while (start < n && is_space(buf[start]))
		start++;
	*out = strndup(buf + start, n - start);
	if (*out == NULL)
		return errbuf_set(e, "read %s: out of memory", path);
	return 0;
}

static int path_join(char **out, const char *dir, const char *name,
                     struct errbuf *e)
{
	char buf[KUBE_PATH_MAX];
	size_t dlen = strlen(dir);
	int n;

	/* "/sa/" and "/sa" name the same directory. */
	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	if (dlen > INT_MAX)
		return errbuf_set(e, "service account directory too long");
	n = snprintf(buf, sizeof(buf), "%.*s/%s", (int)dlen, dir, name);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return errbuf_set(e, "service account directory too long");
	*out = strdup(buf);
	if (*out == NULL)
		return errbuf_set(e, "out of memory");
	return 0;
}

/* client-go carries on without a CA it cannot load; we refuse. */
static int check_ca(const char *path, struct errbuf *e)
{
	struct stat st;
	const char *why = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0 || fstat(fd, &st) != 0)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	if (fd >= 0)
		(void)close(fd);
	if (why != NULL)
		return errbuf_set(e,
		                  "kubernetes CA certificate %s: %s (the "
		                  "service-account directory, moved with "
		                  "SERVICE_ACCOUNT_DIR)",
		                  path, why);
	return 0;
}

/* Reads the service-account token; missing or empty is an error. */
static int token_read(const char *path, char **tok, struct errbuf *e)
{
	int rc = tokenfile_read(path, tok, e);

	if (rc == 1)
		return errbuf_set(
		    e, "service account token %s: missing or empty", path);
	if (rc != 0)
		return errbuf_prefix(e, "service account token");
	return 0;
}

static int check_token(const char *path, struct errbuf *e)
{
	char *tok = NULL;
	int rc = token_read(path, &tok, e);

	secret_free(tok);
	return rc;
}

static int load_namespace(struct kube_config *c, const char *sa_dir,
                          struct errbuf *e)
{
	const char *env = getenv("POD_NAMESPACE");
	const char *from = "POD_NAMESPACE";
	char *file = NULL;
	int rc = -1;

	if (env != NULL && *env != '\0') {
		c->namespace = strdup(env);
		if (c->namespace == NULL)
			return errbuf_set(e, "out of memory");
	} else {
		if (path_join(&file, sa_dir, "namespace", e) != 0)
			return -1;
		from = file;
		if (read_trimmed(file, &c->namespace, e) != 0) {
			errbuf_prefix(e, "pod namespace");
			goto out;
		}
		if (c->namespace[0] == '\0') {
			errbuf_set(e, "namespace file %s is empty", file);
			goto out;
		}
	}
	if (!dns_label_valid(c->namespace)) {
		errbuf_set(e,
		           "invalid namespace from %s: %.64s%s: must be a "
		           "DNS-1123 label ([a-z0-9-], at most 63 characters)",
		           from, c->namespace,
		           strlen(c->namespace) > 64 ? "..." : "");
		log_fold(e->msg);
		goto out;
	}
	rc = 0;
out:
	free(file);
	return rc;
}

int kube_config_in_cluster(struct kube_config *c, const char *sa_dir,
                           struct errbuf *e)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	bool bracket;
	char buf[512];
	int n;

	memset(c, 0, sizeof(*c));
	if (host == NULL || *host == '\0' || port == NULL || *port == '\0')
		return errbuf_set(e, "unable to load in-cluster configuration, "
		                     "KUBERNETES_SERVICE_HOST and "
		                     "KUBERNETES_SERVICE_PORT must be defined");
	if (!port_valid(port))
		return errbuf_set(e,
		                  "invalid KUBERNETES_SERVICE_PORT \"%.32s\": "
		                  "must be a number from 1 to 65535",
		                  port);
	if (!host_valid(host))
		return errbuf_set(
		    e, "invalid KUBERNETES_SERVICE_HOST \"%.256s\"", host);

	/* An IPv6 address needs brackets in a URL, as Go's JoinHostPort. */
	bracket = strchr(host, ':') != NULL && host[0] != '[';
	n = snprintf(buf, sizeof(buf), "https://%s%s%s:%s", bracket ? "[" : "",
	             host, bracket ? "]" : "", port);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return errbuf_set(e, "KUBERNETES_SERVICE_HOST too long");
	c->server = strdup(buf);
	if (c->server == NULL) {
		errbuf_set(e, "out of memory");
		goto fail;
	}

	if (path_join(&c->token_path, sa_dir, "token", e) != 0 ||
	    path_join(&c->ca_path, sa_dir, "ca.crt", e) != 0)
		goto fail;
	if (check_ca(c->ca_path, e) != 0 || check_token(c->token_path, e) != 0)
		goto fail;
	if (load_namespace(c, sa_dir, e) != 0)
		goto fail;
	return 0;
fail:
	kube_config_free(c);
	return -1;
}

void kube_config_free(struct kube_config *c)
{
	if (c == NULL)
		return;
	free(c->server);
	free(c->token_path);
	free(c->ca_path);
	free(c->namespace);
	memset(c, 0, sizeof(*c));
}

/* ---- client, token and transport ------------------------------------ */

static bool token_stale(const struct kube *k)
{
	struct timespec now;

	if (clock_gettime(CLOCK_MONOTONIC, &now) != 0)
		return true;
	return now.tv_sec - k->token_at.tv_sec > KUBE_TOKEN_MAX_AGE_S;
}

/* Reads the token file; *changed says whether the token differs from the
 * one in use. On failure the token in use is kept. */
static int token_load(struct kube *k, bool *changed, struct errbuf *e)
{
	char *tok = NULL;
	int rc;

	*changed = false;
	rc = token_read(k->token_path, &tok, e);
	if (clock_gettime(CLOCK_MONOTONIC, &k->token_at) != 0)
		memset(&k->token_at, 0, sizeof(k->token_at));
	if (rc != 0)
		return -1;
	*changed = k->token == NULL || strcmp(k->token, tok) != 0;
	secret_free(k->token);
	k->token = tok;
	return 0;
}

/* Re-reads the token file; a failure is logged and the old token kept,
 * as client-go does, since the kubelet may be mid-rotation. */
static bool token_refresh(struct kube *k)
{
	struct errbuf e2;
	bool changed = false;

	if (token_load(k, &changed, &e2) != 0)
		log_msg("keeping the previous kubernetes token: %s", e2.msg);
	return changed;
}

struct kube *kube_new(const struct kube_config *c, struct errbuf *e)
{
	struct http_options o;
	struct kube *k;
	size_t n;
	bool changed;

	if (c->server == NULL || c->token_path == NULL || c->ca_path == NULL ||
	    c->namespace == NULL) {
		errbuf_set(e, "kubernetes client: incomplete configuration");
		return NULL;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		errbuf_set(e, "out of memory");
		return NULL;
	}
	k->server = strdup(c->server);
	k->token_path = strdup(c->token_path);
	k->namespace = strdup(c->namespace);
	if (k->server == NULL || k->token_path == NULL ||
	    k->namespace == NULL) {
		errbuf_set(e, "out of memory");
		goto fail;
	}
	n = strlen(k->server);
	while (n > 0 && k->server[n - 1] == '/')
		k->server[--n] = '\0';

	memset(&o, 0, sizeof(o));
	o.ca_file = c->ca_path;
	o.timeout_ms = KUBE_TIMEOUT_MS;
	o.connect_timeout_ms = KUBE_CONNECT_TIMEOUT_MS;
	o.observer = c->observer;
	o.share = c->share;
	k->http = http_client_new(&o, e);
	if (k->http == NULL)
		goto fail;
	if (token_load(k, &changed, e) != 0)
		goto fail;
	return k;
fail:
	kube_free(k);
	return NULL;
}

void kube_free(struct kube *k)
{
	if (k == NULL)
		return;
	http_client_free(k->http);
	secret_free(k->token);
	free(k->server);
	free(k->token_path);
	free(k->namespace);
	free(k);
}

const char *kube_namespace(const struct kube *k)
{
	return k->namespace;
}

long kube_connects(const struct kube *k)
{
	return http_client_connects(k->http);
}

static uint32_t jitter(uint32_t range)
{
	uint32_t r = 0;

	if (range == 0)
		return 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)getpid() * 2654435761u;
	return r % range;
}

/* Sleeps ms milliseconds; a signal ends the wait early on purpose, so a
 * helper asked to stop does not sit out a back-off. */
static void sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	(void)nanosleep(&ts, NULL);
}

static long backoff_ms(int attempt, int64_t retry_after_s)
{
	long base;

	if (retry_after_s >= 0) {
		if (retry_after_s > KUBE_RETRY_AFTER_MAX_S)
			retry_after_s = KUBE_RETRY_AFTER_MAX_S;
		return (long)retry_after_s * 1000;
	}
	base = KUBE_BACKOFF_MS << attempt;
	return base + (long)jitter((uint32_t)base / 2);
}

/* One HTTP attempt with the current token. */
static int kube_once(struct kube *k, const char *method, const char *url,
                     const char *body, size_t body_len,
                     struct http_response *resp, struct errbuf *e)
{
	struct http_header h[3];
	struct http_request req;
	char *auth;
	size_t n;
	int rc;

	if (token_stale(k))
		(void)token_refresh(k);
	n = strlen(k->token) + sizeof("Bearer ");
	auth = malloc(n);
	if (auth == NULL)
		return errbuf_set(e, "%s %s: out of memory", method, url);
	(void)snprintf(auth, n, "Bearer %s", k->token);
	h[0].name = "Authorization";
	h[0].value = auth;
	h[1].name = "Accept";
	h[1].value = "application/json";
	h[2].name = "Content-Type";
	h[2].value = "application/json";

	memset(&req, 0, sizeof(req));
	req.method = method;
	req.url = url;
	req.headers = h;
	req.n_headers = body != NULL ? 3 : 2;
	req.body = body;
	req.body_len = body_len;
	memset(resp, 0, sizeof(*resp));
	rc = http_do(k->http, &req, resp, e);
	secret_free(auth);
	return rc;
}

/*
 * Performs a call: the token is re-read when stale and at once after a
 * 401 (the request then repeated once if the token changed); network
 * errors, 429 and 5xx are retried KUBE_RETRIES times. Returns 0 with
 * resp filled whatever the final status, -1 on a transport failure.
 */
static int kube_do(struct kube *k, const char *method, const char *url,
                   const char *body, size_t body_len,
                   struct http_response *resp, struct errbuf *e)
{
	bool reauth = false;
	bool retry;
	int attempt = 0;
	int rc;
	long wait;

	for (;;) {
		rc = kube_once(k, method, url, body, body_len, resp, e);
		if (rc == 0 && resp->status == 401 && !reauth) {
			reauth = true;
			if (token_refresh(k)) {
				http_response_free(resp);
				continue;
			}
		}
		if (rc == 0)
			retry = resp->status == 429 || resp->status >= 500;
		else
			retry = e->transient != 0;
		if (!retry || attempt >= KUBE_RETRIES)
			return rc;
		wait = backoff_ms(attempt, rc == 0 ? resp->retry_after_s : -1);
		if (rc == 0)
			http_response_free(resp);
		sleep_ms(wait);
		attempt++;
	}
}

/* ---- URLs, JSON and errors ------------------------------------------ */

/* Appends s to url (percent-encoding all but unreserved characters when
 * escape is set); false when it does not fit. */
static bool url_add(char *url, size_t size, size_t *len, const char *s,
                    bool escape)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		bool plain = !escape || (*p >= 'a' && *p <= 'z') ||
		             (*p >= 'A' && *p <= 'Z') ||
		             (*p >= '0' && *p <= '9') ||
		             strchr("-._~", *p) != NULL;

		if (*len + (plain ? 1 : 3) >= size)
			return false;
		if (plain) {
			url[(*len)++] = (char)*p;
			continue;
		}
		url[(*len)++] = '%';
		url[(*len)++] = hex[*p >> 4];
		url[(*len)++] = hex[*p & 15];
	}
	url[*len] = '\0';
	return true;
}

/* <server>/api/v1/namespaces/<ns>/secrets[/<name>]; with list set, the
 * query of a list page (limit, and continue when cont is given). */
static int secrets_url(const struct kube *k, const char *name, bool list,
                       const char *cont, char *url, size_t size,
                       struct errbuf *e)
{
	size_t len = 0;
	bool ok;

	url[0] = '\0';
	ok = url_add(url, size, &len, k->server, false) &&
	     url_add(url, size, &len, "/api/v1/namespaces/", false) &&
	     url_add(url, size, &len, k->namespace, true) &&
	     url_add(url, size, &len, "/secrets", false);
	if (ok && name != NULL)
		ok = url_add(url, size, &len, "/", false) &&
		     url_add(url, size, &len, name, true);
	if (ok && list)
		ok = url_add(url, size, &len, "?limit=" KUBE_PAGE_LIMIT, false);
	if (ok && list && cont != NULL)
		ok = url_add(url, size, &len, "&continue=", false) &&
		     url_add(url, size, &len, cont, true);
	if (!ok)
		return errbuf_set(e, "request URL longer than %zu bytes", size);
	return 0;
}

/* Parses a whole body as one JSON value; NULL when it is not one. */
static json_object *parse_body(const struct http_response *r)
{
	json_tokener *tok;
	json_object *o;
	size_t end;

	if (r->body == NULL || r->body_len == 0 || r->body_len > INT_MAX)
		return NULL;
	tok = json_tokener_new();
	if (tok == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, r->body, (int)r->body_len);
	end = o != NULL ? json_tokener_get_parse_end(tok) : 0;
	json_tokener_free(tok);
	while (end < r->body_len && is_space(r->body[end]))
		end++;
	if (o != NULL && end < r->body_len) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

static const char *get_string(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Reason phrases for answers without a Status object (proxies, load
 * balancers); the API server's own errors always carry a reason. */
static const char *status_text(long code)
{
	static const struct {
		long code;
		const char *text;
	} t[] = {
	    {400, "Bad Request"},
	    {401, "Unauthorized"},
	    {403, "Forbidden"},
	    {404, "Not Found"},
	    {409, "Conflict"},
	    {429, "Too Many Requests"},
	    {500, "Internal Server Error"},
	    {502, "Bad Gateway"},
	    {503, "Service Unavailable"},
	    {504, "Gateway Timeout"},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (t[i].code == code)
			return t[i].text;
	}
	return "";
}

/* Copies at most max bytes of s[0..len) with control characters turned
 * into spaces, marking a cut with "...". */
static void excerpt(char *out, size_t size, const char *s, size_t len,
                    size_t max)
{
	size_t n = 0;
	size_t i;

	if (size < 4)
		return;
	for (i = 0; i < len && i < max && n + 4 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		out[n++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	if (i < len) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

/* Copies the redacted text s[0..len) into out as excerpt does; when
 * memory runs out the text is withheld rather than shown unredacted. */
static void redacted_excerpt(char *out, size_t size, const char *s, size_t len,
                             size_t max, const struct redact_secret *sec,
                             size_t n)
{
	size_t rlen = 0;
	char *r = redact(s, len, sec, n, &rlen);

	if (r == NULL) {
		(void)snprintf(out, size, "(text withheld: out of memory)");
		return;
	}
	excerpt(out, size, r, rlen, max);
	explicit_bzero(r, rlen);
	free(r);
}

/*
 * Sets errbuf for an answer that is not a success: "<verb> secret <name>:
 * <code> <reason>: <message>" ("list secrets: ..." without a name) from a
 * Status object, else an excerpt of the body. Only error answers come
 * here: a success body holds secret values. The client's token and the
 * values in vals (the Secret sent) are replaced by "<redacted>" before
 * anything is cut to length: a server or proxy may echo either.
 */
static int kube_fail(const struct kube *k, struct errbuf *e, const char *verb,
                     const char *name, const struct http_response *r,
                     const struct redact_secret *vals, size_t n_vals)
{
	char text[KUBE_MESSAGE_MAX + 4] = "";
	char why[KUBE_REASON_MAX + 4] = "";
	struct redact_secret *sec;
	const char *reason = NULL;
	const char *kind;
	json_object *o = parse_body(r);
	json_object *v;
	size_t n = 0;

	sec = calloc(n_vals + 1, sizeof(*sec));
	if (sec != NULL) {
		if (k->token != NULL)
			sec[n++] =
			    (struct redact_secret){k->token, strlen(k->token)};
		if (n_vals > 0)
			memcpy(sec + n, vals, n_vals * sizeof(*sec));
		n += n_vals;
	}
	kind = o != NULL ? get_string(o, "kind") : NULL;
	if (sec == NULL) {
		(void)snprintf(text, sizeof(text),
		               "(text withheld: out of memory)");
	} else if (kind != NULL && strcmp(kind, "Status") == 0) {
		reason = get_string(o, "reason");
		if (reason != NULL)
			redacted_excerpt(why, sizeof(why), reason,
			                 strlen(reason), KUBE_REASON_MAX, sec,
			                 n);
		if (json_object_object_get_ex(o, "message", &v) &&
		    json_object_is_type(v, json_type_string))
			redacted_excerpt(text, sizeof(text),
			                 json_object_get_string(v),
			                 (size_t)json_object_get_string_len(v),
			                 KUBE_MESSAGE_MAX, sec, n);
	} else if (r->body != NULL) {
		redacted_excerpt(text, sizeof(text), r->body, r->body_len,
		                 KUBE_EXCERPT_MAX, sec, n);
	}
	reason = why[0] != '\0' ? why : status_text(r->status);
	errbuf_set(e, "%s secret%s%s: %ld%s%s%s%s", verb, name ? " " : "s",
	           name ? name : "", r->status, *reason ? " " : "", reason,
	           *text ? ": " : "", text);
	json_object_put(o);
	free(sec);
	explicit_bzero(text, sizeof(text));
	e->status = r->status;
	e->transient = r->status == 429 || r->status >= 500;
	return -1;
}

/* Writes s into out as a JSON-style quoted text, control characters,
 * quotes and backslashes escaped, at most KUBE_NAME_SHOWN bytes of s. */
static void quote_name(char *out, size_t size, const char *s, size_t len)
{
	size_t n = 0;
	size_t i;

	if (size < 8)
		return;
	out[n++] = '"';
	for (i = 0; i < len && i < KUBE_NAME_SHOWN && n + 10 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(out + n, size - n, "\\u%04x", c);
		else if (c == '"' || c == '\\')
			n += (size_t)snprintf(out + n, size - n, "\\%c", c);
		else
			out[n++] = (char)c;
	}
	out[n++] = '"';
	if (i < len) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

/* A name goes into a URL only when it is a DNS-1123 subdomain: "." and
 * ".." would be collapsed by the transport, "/" would leave the path. */
static int name_check(const char *verb, const char *name, struct errbuf *e)
{
	char shown[KUBE_NAME_SHOWN * 6 + 16];

	if (name == NULL || *name == '\0')
		return errbuf_set(e, "%s secret: no name given", verb);
	if (!k8s_subdomain_valid(name)) {
		quote_name(shown, sizeof(shown), name, strlen(name));
		return errbuf_set(
		    e,
		    "%s secret %s: invalid name: expected a "
		    "DNS-1123 subdomain (lower-case letters, "
		    "digits, '-' and '.', at most 253 characters)",
		    verb, shown);
	}
	return 0;
}

/* ---- Secret operations ---------------------------------------------- */

/* Whether a listed item has a name that may go into a URL; a warning
 * names the item skipped. */
static bool listed_name_ok(json_object *it)
{
	char shown[KUBE_NAME_SHOWN * 6 + 16];
	json_object *meta;
	json_object *v;
	const char *name;
	int len;

	if (!json_object_object_get_ex(it, "metadata", &meta) ||
	    !json_object_object_get_ex(meta, "name", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		log_msg("WARNING: list secrets: skipping an item without a "
		        "string name");
		return false;
	}
	name = json_object_get_string(v);
	len = json_object_get_string_len(v);
	if (len < 0 || strlen(name) != (size_t)len ||
	    !k8s_subdomain_valid(name)) {
		quote_name(shown, sizeof(shown), name,
		           len < 0 ? 0 : (size_t)len);
		log_msg("WARNING: list secrets: skipping a secret named %s: "
		        "not a valid DNS-1123 subdomain",
		        shown);
		return false;
	}
	return true;
}

/* Appends the items of one list page to all (those with a valid name);
 * *cont is the next token or NULL on the last page. */
static int list_page(const struct http_response *r, json_object *all,
                     char **cont, struct errbuf *e)
{
	json_object *page = parse_body(r);
	json_object *items;
	json_object *meta;
	json_object *next = NULL;
	size_t i;
	int rc = -1;

	*cont = NULL;
	if (page == NULL || !json_object_is_type(page, json_type_object)) {
		errbuf_set(e, "list secrets: answer is not a JSON object");
		goto out;
	}
	if (json_object_object_get_ex(page, "items", &items) &&
	    !json_object_is_type(items, json_type_null)) {
		if (!json_object_is_type(items, json_type_array)) {
			errbuf_set(e, "list secrets: items is not an array");
			goto out;
		}
		for (i = 0; i < json_object_array_length(items); i++) {
			json_object *it = json_object_array_get_idx(items, i);

			if (!listed_name_ok(it))
				continue;
			if (json_object_array_length(all) >= KUBE_MAX_ITEMS) {
				errbuf_set(
				    e,
				    "list secrets: more than %d secrets "
				    "in the namespace; refusing to go on",
				    KUBE_MAX_ITEMS);
				goto out;
			}
			if (json_object_array_add(all, json_object_get(it))) {
				json_object_put(it);
				errbuf_set(e, "list secrets: out of memory");
				goto out;
			}
		}
	}
	if (json_object_object_get_ex(page, "metadata", &meta) &&
	    json_object_object_get_ex(meta, "continue", &next) &&
	    !json_object_is_type(next, json_type_null) &&
	    !json_object_is_type(next, json_type_string)) {
		errbuf_set(e,
		           "list secrets: metadata.continue is not a string");
		goto out;
	}
	if (next != NULL && json_object_get_string_len(next) > 0) {
		if (strlen(json_object_get_string(next)) !=
		    (size_t)json_object_get_string_len(next)) {
			errbuf_set(e, "list secrets: metadata.continue "
			              "contains a NUL character");
			goto out;
		}
		*cont = strdup(json_object_get_string(next));
		if (*cont == NULL) {
			errbuf_set(e, "list secrets: out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	json_object_put(page);
	return rc;
}

/* GETs one list page; 0 with resp filled whatever its status. */
static int list_fetch(struct kube *k, const char *cont,
                      struct http_response *resp, struct errbuf *e)
{
	char url[KUBE_URL_MAX];

	if (secrets_url(k, NULL, true, cont, url, sizeof(url), e) != 0 ||
	    kube_do(k, "GET", url, NULL, 0, resp, e) != 0)
		return errbuf_prefix(e, "list secrets");
	return 0;
}

/* Notes token in seen; an error when a page already carried it: a
 * server that hands out the same token again would be listed forever. */
static int token_new(json_object *seen, const char *token, long pages,
                     struct errbuf *e)
{
	if (json_object_object_get_ex(seen, token, NULL))
		return errbuf_set(
		    e,
		    "list secrets: the server repeated a continue "
		    "token after %ld pages; refusing to list "
		    "forever",
		    pages);
	if (json_object_object_add(seen, token, NULL) != 0)
		return errbuf_set(e, "list secrets: out of memory");
	return 0;
}

int kube_secret_list(struct kube *k, json_object **items, struct errbuf *e)
{
	struct http_response resp;
	json_object *all = json_object_new_array();
	json_object *seen = json_object_new_object();
	char *cont = NULL;
	char *next = NULL;
	bool restarted = false;
	size_t bytes = 0;
	long pages = 0;
	int page_rc;
	int rc = -1;

	*items = NULL;
	if (all == NULL || seen == NULL) {
		errbuf_set(e, "list secrets: out of memory");
		goto out;
	}
	for (;;) {
		if (list_fetch(k, cont, &resp, e) != 0)
			goto out;
		/* A continue token outlived its snapshot: start over once. */
		if (resp.status == 410 && cont != NULL && !restarted) {
			http_response_free(&resp);
			restarted = true;
			free(cont);
			cont = NULL;
			json_object_put(all);
			json_object_put(seen);
			all = json_object_new_array();
			seen = json_object_new_object();
			if (all == NULL || seen == NULL) {
				errbuf_set(e, "list secrets: out of memory");
				goto out;
			}
			continue;
		}
		if (resp.status != 200) {
			kube_fail(k, e, "list", NULL, &resp, NULL, 0);
			http_response_free(&resp);
			goto out;
		}
		bytes += resp.body_len;
		page_rc = list_page(&resp, all, &next, e);
		http_response_free(&resp);
		free(cont);
		cont = next;
		if (page_rc != 0)
			goto out;
		/* A short or empty page says nothing: only the token ends. */
		if (cont == NULL)
			break;
		if (token_new(seen, cont, pages + 1, e) != 0)
			goto out;
		if (++pages >= KUBE_MAX_PAGES) {
			errbuf_set(e, "list secrets: more than %d pages",
			           KUBE_MAX_PAGES);
			goto out;
		}
		if (bytes > KUBE_MAX_LIST_BYTES) {
			errbuf_set(e,
			           "list secrets: more than %u MiB of answers",
			           KUBE_MAX_LIST_BYTES / (1024 * 1024));
			goto out;
		}
	}
	*items = all;
	all = NULL;
	rc = 0;
out:
	json_object_put(all);
	json_object_put(seen);
	free(cont);
	return rc;
}

/* Whether obj's metadata.name is the string name: the name of a read
 * Secret goes into the URL of its update. */
static bool answer_named(json_object *obj, const char *name)
{
	json_object *meta;
	json_object *v;

	return json_object_object_get_ex(obj, "metadata", &meta) &&
	       json_object_object_get_ex(meta, "name", &v) &&
	       json_object_is_type(v, json_type_string) &&
	       (size_t)json_object_get_string_len(v) == strlen(name) &&
	       strcmp(json_object_get_string(v), name) == 0;
}

int kube_secret_get(struct kube *k, const char *name, json_object **obj,
                    struct errbuf *e)
{
	struct http_response resp;
	char url[KUBE_URL_MAX];
	int rc = -1;

	*obj = NULL;
	if (name_check("get", name, e) != 0)
		return -1;
	if (secrets_url(k, name, false, NULL, url, sizeof(url), e) != 0 ||
	    kube_do(k, "GET", url, NULL, 0, &resp, e) != 0)
		return errbuf_prefix(e, "get secret %s", name);
	if (resp.status == 404) {
		rc = 1;
	} else if (resp.status != 200) {
		kube_fail(k, e, "get", name, &resp, NULL, 0);
	} else {
		*obj = parse_body(&resp);
		if (*obj == NULL ||
		    !json_object_is_type(*obj, json_type_object))
			errbuf_set(e,
			           "get secret %s: answer is not a JSON object",
			           name);
		else if (!answer_named(*obj, name))
			errbuf_set(e,
			           "get secret %s: answer is about another "
			           "secret (metadata.name differs)",
			           name);
		else
			rc = 0;
	}
	if (rc != 0) {
		json_object_put(*obj);
		*obj = NULL;
	}
	http_response_free(&resp);
	return rc;
}

/* The values of the Secret body (its data, as sent in base64 and
 * decoded) that an error text must not show. */
struct values {
	struct redact_secret *v;
	unsigned char **dec;
	size_t *dec_len;
	size_t n, n_dec;
};

static void values_free(struct values *x)
{
	size_t i;

	for (i = 0; i < x->n_dec; i++) {
		explicit_bzero(x->dec[i], x->dec_len[i]);
		free(x->dec[i]);
	}
	free(x->dec);
	free(x->dec_len);
	free(x->v);
	memset(x, 0, sizeof(*x));
}

static int values_of(json_object *body, struct values *x, struct errbuf *e)
{
	json_object *data;
	const char *b64;
	size_t n;
	int len;

	memset(x, 0, sizeof(*x));
	if (body == NULL || !json_object_object_get_ex(body, "data", &data) ||
	    !json_object_is_type(data, json_type_object))
		return 0;
	n = (size_t)json_object_object_length(data);
	x->v = calloc(2 * n + 1, sizeof(*x->v));
	x->dec = calloc(n + 1, sizeof(*x->dec));
	x->dec_len = calloc(n + 1, sizeof(*x->dec_len));
	if (x->v == NULL || x->dec == NULL || x->dec_len == NULL) {
		values_free(x);
		return errbuf_set(e, "out of memory");
	}
	json_object_object_foreach(data, key, val)
	{
		(void)key;
		if (!json_object_is_type(val, json_type_string))
			continue;
		b64 = json_object_get_string(val);
		len = json_object_get_string_len(val);
		if (len <= 0 || x->n + 2 > 2 * n + 1)
			continue;
		x->v[x->n++] = (struct redact_secret){b64, (size_t)len};
		if (base64_decode(b64, (size_t)len, &x->dec[x->n_dec],
		                  &x->dec_len[x->n_dec]) != 0)
			continue;
		x->v[x->n++] = (struct redact_secret){
		    (const char *)x->dec[x->n_dec], x->dec_len[x->n_dec]};
		x->n_dec++;
	}
	return 0;
}

/* Sends body (or none) with method to the Secret name; any 2xx is
 * success, and 404 too when gone_ok. */
static int secret_send(struct kube *k, const char *verb, const char *method,
                       const char *name, const char *url, json_object *body,
                       bool gone_ok, struct errbuf *e)
{
	struct http_response resp;
	struct values vals;
	const char *text = NULL;
	size_t len = 0;
	int rc = -1;

	if (body != NULL) {
		text = json_object_to_json_string_length(
		    body,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
		    &len);
		if (text == NULL)
			return errbuf_set(e, "%s secret %s: cannot encode JSON",
			                  verb, name);
	}
	if (kube_do(k, method, url, text, len, &resp, e) != 0)
		return errbuf_prefix(e, "%s secret %s", verb, name);
	if ((resp.status >= 200 && resp.status < 300) ||
	    (gone_ok && resp.status == 404)) {
		rc = 0;
	} else if (values_of(body, &vals, e) != 0) {
		errbuf_prefix(e, "%s secret %s: %ld", verb, name, resp.status);
		e->status = resp.status;
	} else {
		kube_fail(k, e, verb, name, &resp, vals.v, vals.n);
		values_free(&vals);
	}
	http_response_free(&resp);
	return rc;
}

static const char *object_name(json_object *obj)
{
	json_object *meta;

	if (!json_object_object_get_ex(obj, "metadata", &meta))
		return NULL;
	return get_string(meta, "name");
}

int kube_secret_create(struct kube *k, json_object *obj, struct errbuf *e)
{
	char url[KUBE_URL_MAX];
	const char *name = object_name(obj);

	if (name_check("create", name, e) != 0)
		return -1;
	if (secrets_url(k, NULL, false, NULL, url, sizeof(url), e) != 0)
		return errbuf_prefix(e, "create secret %s", name);
	return secret_send(k, "create", "POST", name, url, obj, false, e);
}

int kube_secret_update(struct kube *k, json_object *obj, struct errbuf *e)
{
	char url[KUBE_URL_MAX];
	const char *name = object_name(obj);

	if (name_check("update", name, e) != 0)
		return -1;
	if (secrets_url(k, name, false, NULL, url, sizeof(url), e) != 0)
		return errbuf_prefix(e, "update secret %s", name);
	return secret_send(k, "update", "PUT", name, url, obj, false, e);
}

static int add_string(json_object *o, const char *key, const char *value)
{
	json_object *v = json_object_new_string(value);

	if (v == NULL)
		return -1;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

int kube_secret_delete(struct kube *k, const char *name, struct errbuf *e)
{
	char url[KUBE_URL_MAX];
	json_object *opts = NULL;
	int rc = -1;

	if (name_check("delete", name, e) != 0)
		return -1;
	if (secrets_url(k, name, false, NULL, url, sizeof(url), e) != 0)
		return errbuf_prefix(e, "delete secret %s", name);
	opts = json_object_new_object();
	if (opts == NULL || add_string(opts, "kind", "DeleteOptions") != 0 ||
	    add_string(opts, "apiVersion", "v1") != 0 ||
	    add_string(opts, "propagationPolicy", "Background") != 0) {
		errbuf_set(e, "delete secret %s: out of memory", name);
		goto out;
	}
	rc = secret_send(k, "delete", "DELETE", name, url, opts, true, e);
out:
	json_object_put(opts);
	return rc;
}
