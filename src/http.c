/* http: one libcurl easy handle per server, kept alive across requests. */
#include "http.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "http_tls.h"
#include "noproxy.h"
#include "parse.h"

struct http_client {
	CURL *curl;
	char curl_err[CURL_ERROR_SIZE];
	char *server_name; /* rewrite the URL host to this, connect to it */
	char *socket_path; /* a unix socket (never a proxy), or NULL */
	bool proxy_env;    /* choose the proxy per request from these: */
	char *http_proxy;  /* HTTP_PROXY / http_proxy, or NULL */
	char *https_proxy; /* HTTPS_PROXY / https_proxy, or NULL */
	char *no_proxy;    /* NO_PROXY / no_proxy, or NULL */
	int64_t timeout_ms;
	long connects;
	bool global_init;
	const struct http_observer *observer;
};

/* What the callbacks of one transfer fill. */
struct recv_state {
	struct http_response *resp;
	size_t cap;
	bool too_big;
	bool no_memory;
	bool answered; /* a status line arrived */
	bool fresh;    /* the transfer opened a new connection */
	bool tls;      /* over https */
};

/* A constant long option. */
struct long_opt {
	CURLoption opt;
	long val;
};

static const char *getenv_any(const char *upper, const char *lower)
{
	const char *v = getenv(upper);

	if (v == NULL || v[0] == '\0')
		v = getenv(lower);
	if (v == NULL || v[0] == '\0')
		return NULL;
	return v;
}

/* Grows the body buffer to hold need bytes plus a NUL. The old buffer is
 * wiped before it is freed: bodies carry tokens and secret values. */
static int body_grow(struct recv_state *st, size_t need)
{
	struct http_response *r = st->resp;
	size_t cap = st->cap < 4096 ? 4096 : st->cap;
	char *p;

	while (cap < need + 1)
		cap *= 2;
	if (cap > HTTP_MAX_BODY + 1)
		cap = HTTP_MAX_BODY + 1;
	p = malloc(cap);
	if (p == NULL)
		return -1;
	if (r->body != NULL) {
		memcpy(p, r->body, r->body_len);
		explicit_bzero(r->body, st->cap);
		free(r->body);
	}
	r->body = p;
	st->cap = cap;
	return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct recv_state *st = arg;
	struct http_response *r = st->resp;
	size_t len = size * n;

	if (len == 0)
		return 0;
	if (len > HTTP_MAX_BODY - r->body_len) {
		st->too_big = true;
		return 0;
	}
	if (r->body_len + len + 1 > st->cap &&
	    body_grow(st, r->body_len + len) < 0) {
		st->no_memory = true;
		return 0;
	}
	memcpy(r->body + r->body_len, data, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return len;
}

/* When the header line data[0..len) is "name: value", replaces *slot
 * with a copy of the value and returns true. */
static bool header_keep(const char *data, size_t len, const char *name,
                        char **slot, struct recv_state *st)
{
	size_t nlen = strlen(name);
	size_t i = nlen + 1;

	if (len <= nlen || data[nlen] != ':' ||
	    strncasecmp(data, name, nlen) != 0)
		return false;
	while (i < len && (data[i] == ' ' || data[i] == '\t'))
		i++;
	while (len > i && (data[len - 1] == '\r' || data[len - 1] == '\n' ||
	                   data[len - 1] == ' ' || data[len - 1] == '\t'))
		len--;
	free(*slot);
	*slot = strndup(data + i, len - i);
	if (*slot == NULL)
		st->no_memory = true;
	return true;
}

/* Retry-After: delay seconds, or an HTTP date; -1 when unusable. */
static int64_t retry_after_parse(const char *v)
{
	uint64_t s;
	time_t when;
	time_t now;

	if (v[0] >= '0' && v[0] <= '9') {
		if (parse_uint(v, INT64_MAX, &s) < 0)
			return -1;
		return (int64_t)s;
	}
	when = curl_getdate(v, NULL);
	if (when == (time_t)-1)
		return -1;
	now = time(NULL);
	return when > now ? (int64_t)(when - now) : 0;
}

/* Header data is a pointer and a length, not a C string. */
static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct recv_state *st = arg;
	struct http_response *r = st->resp;
	size_t len = size * n;
	char *v = NULL;

	/* A new status line (after a 100 Continue, say) starts a new set. */
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		st->answered = true;
		free(r->location);
		free(r->content_type);
		r->location = NULL;
		r->content_type = NULL;
		r->retry_after_s = -1;
		return len;
	}
	if (header_keep(data, len, "Location", &r->location, st) ||
	    header_keep(data, len, "Content-Type", &r->content_type, st))
		return len;
	if (header_keep(data, len, "Retry-After", &v, st) && v != NULL)
		r->retry_after_s = retry_after_parse(v);
	free(v);
	return len;
}

static int proxy_setup(struct http_client *c, const struct http_options *o,
                       struct errbuf *e)
{
	CURL *h = c->curl;
	const char *v;

	if (o->unix_socket != NULL) {
		c->socket_path = strdup(o->unix_socket);
		if (c->socket_path == NULL)
			return errbuf_set(e, "out of memory");
		if (curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH,
		                     o->unix_socket) != CURLE_OK ||
		    curl_easy_setopt(h, CURLOPT_PROXY, "") != CURLE_OK)
			return errbuf_set(e, "cannot use a unix socket: this "
			                     "libcurl lacks the option");
		return 0;
	}
	if (o->proxy != NULL) {
		/* An explicit proxy serves every host, as Go's ProxyURL. */
		if (curl_easy_setopt(h, CURLOPT_PROXY, o->proxy) != CURLE_OK ||
		    curl_easy_setopt(h, CURLOPT_NOPROXY, "") != CURLE_OK)
			return errbuf_set(e, "cannot set the proxy");
		return 0;
	}
	/* Go's ProxyFromEnvironment, decided per request (noproxy.h);
	 * libcurl must not apply its own reading of NO_PROXY. */
	c->proxy_env = true;
	v = getenv_any("HTTP_PROXY", "http_proxy");
	if (v != NULL && (c->http_proxy = strdup(v)) == NULL)
		goto oom;
	v = getenv_any("HTTPS_PROXY", "https_proxy");
	if (v != NULL && (c->https_proxy = strdup(v)) == NULL)
		goto oom;
	v = getenv_any("NO_PROXY", "no_proxy");
	if (v != NULL && (c->no_proxy = strdup(v)) == NULL)
		goto oom;
	if (curl_easy_setopt(h, CURLOPT_NOPROXY, "") != CURLE_OK)
		return errbuf_set(e, "cannot set the proxy exceptions");
	return 0;
oom:
	return errbuf_set(e, "out of memory");
}

static int base_setup(struct http_client *c, const struct http_options *o,
                      struct errbuf *e)
{
	const struct long_opt longs[] = {
	    {CURLOPT_NOSIGNAL, 1L},
	    {CURLOPT_NOPROGRESS, 1L},
	    {CURLOPT_FOLLOWLOCATION, 0L},
	    {CURLOPT_TCP_KEEPALIVE, 1L},
	    {CURLOPT_TCP_KEEPIDLE, 30L},
	    {CURLOPT_TCP_KEEPINTVL, 30L},
	    {CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2},
	    {CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L},
	    {CURLOPT_UPLOAD_BUFFERSIZE, 16384L},
	};
	CURL *h = c->curl;
	size_t i;

	for (i = 0; i < sizeof(longs) / sizeof(longs[0]); i++)
		if (curl_easy_setopt(h, longs[i].opt, longs[i].val) != CURLE_OK)
			return errbuf_set(e, "cannot set up libcurl option %d",
			                  (int)longs[i].opt);
	if (curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_err) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") !=
	        CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	                     (curl_off_t)HTTP_MAX_BODY) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK)
		return errbuf_set(e, "cannot set up libcurl callbacks");
	if (o->connect_timeout_ms > 0 &&
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	                     (long)(o->connect_timeout_ms > LONG_MAX
	                                ? LONG_MAX
	                                : o->connect_timeout_ms)) != CURLE_OK)
		return errbuf_set(e, "cannot set the connect timeout");
	c->timeout_ms = o->timeout_ms;
	c->observer = o->observer;
	return 0;
}

/* Trust configurations a share keeps parsed stores for: the clients of
 * a run talk to Vault and to Kubernetes, one trust each. */
#define SHARE_TRUSTS 4

struct http_share {
	CURLSH *sh;
	/* one lock per kind of data, as libcurl may hold two at once */
	pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
	/* trust parsed once for all clients (http_tls_store_new) */
	pthread_mutex_t trust_lock;
	char *trust_key[SHARE_TRUSTS];
	X509_STORE *trust[SHARE_TRUSTS];
	size_t n_trust;
};

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access how,
                       void *arg)
{
	struct http_share *s = arg;

	(void)h;
	(void)how;
	if (data < CURL_LOCK_DATA_LAST)
		(void)pthread_mutex_lock(&s->locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *arg)
{
	struct http_share *s = arg;

	(void)h;
	if (data < CURL_LOCK_DATA_LAST)
		(void)pthread_mutex_unlock(&s->locks[data]);
}

struct http_share *http_share_new(struct errbuf *e)
{
	struct http_share *s = calloc(1, sizeof(*s));
	size_t i;

	if (s == NULL) {
		errbuf_set(e, "out of memory");
		return NULL;
	}
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		(void)pthread_mutex_init(&s->locks[i], NULL);
	(void)pthread_mutex_init(&s->trust_lock, NULL);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		errbuf_set(e, "cannot initialise libcurl");
		free(s);
		return NULL;
	}
	s->sh = curl_share_init();
	if (s->sh == NULL ||
	    curl_share_setopt(s->sh, CURLSHOPT_LOCKFUNC, share_lock) !=
	        CURLSHE_OK ||
	    curl_share_setopt(s->sh, CURLSHOPT_UNLOCKFUNC, share_unlock) !=
	        CURLSHE_OK ||
	    curl_share_setopt(s->sh, CURLSHOPT_USERDATA, s) != CURLSHE_OK ||
	    curl_share_setopt(s->sh, CURLSHOPT_SHARE,
	                      CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
	    curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) !=
	        CURLSHE_OK) {
		errbuf_set(e, "cannot set up libcurl's shared sessions");
		http_share_free(s);
		return NULL;
	}
	return s;
}

void http_share_free(struct http_share *s)
{
	size_t i;

	if (s == NULL)
		return;
	if (s->sh != NULL)
		(void)curl_share_cleanup(s->sh);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		(void)pthread_mutex_destroy(&s->locks[i]);
	for (i = 0; i < s->n_trust; i++) {
		free(s->trust_key[i]);
		X509_STORE_free(s->trust[i]);
	}
	(void)pthread_mutex_destroy(&s->trust_lock);
	curl_global_cleanup();
	free(s);
}

/* The share's store for o's trust, parsed on first use; NULL when there
 * is none to share (no verification, no room, a store that cannot be
 * built here: the client then loads trust as libcurl does). */
static X509_STORE *share_trust(struct http_share *s, CURL *h,
                               const struct http_options *o)
{
	X509_STORE *st = NULL;
	char *key = http_tls_trust_key(o);
	size_t i;

	if (key == NULL)
		return NULL;
	(void)pthread_mutex_lock(&s->trust_lock);
	for (i = 0; i < s->n_trust; i++)
		if (strcmp(s->trust_key[i], key) == 0)
			break;
	if (i < s->n_trust) {
		st = s->trust[i];
	} else if (s->n_trust < SHARE_TRUSTS) {
		st = http_tls_store_new(h, o);
		if (st != NULL) {
			s->trust_key[s->n_trust] = key;
			s->trust[s->n_trust++] = st;
			key = NULL;
		}
	}
	(void)pthread_mutex_unlock(&s->trust_lock);
	free(key);
	return st;
}

/* Joins c to o's share: TLS sessions, names and parsed trust. */
static int share_join(struct http_client *c, const struct http_options *o,
                      struct errbuf *e)
{
	X509_STORE *st;

	if (curl_easy_setopt(c->curl, CURLOPT_SHARE, o->share->sh) != CURLE_OK)
		return errbuf_set(e, "cannot share TLS sessions between "
		                     "clients");
	st = share_trust(o->share, c->curl, o);
	if (st != NULL && http_tls_use_store(c->curl, st, e) < 0)
		return -1;
	return 0;
}

struct http_client *http_client_new(const struct http_options *o,
                                    struct errbuf *e)
{
	struct http_client *c;
	struct http_client *ret = NULL;

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		errbuf_set(e, "out of memory");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		errbuf_set(e, "cannot initialise libcurl");
		goto out;
	}
	c->global_init = true;
	c->curl = curl_easy_init();
	if (c->curl == NULL) {
		errbuf_set(e, "cannot create a libcurl handle");
		goto out;
	}
	if (base_setup(c, o, e) < 0 || http_tls_setup(c->curl, o, e) < 0 ||
	    proxy_setup(c, o, e) < 0)
		goto out;
	if (o->share != NULL && share_join(c, o, e) < 0)
		goto out;
	if (o->server_name != NULL && o->server_name[0] != '\0' &&
	    (c->server_name = strdup(o->server_name)) == NULL) {
		errbuf_set(e, "out of memory");
		goto out;
	}
	ret = c;
	c = NULL;
out:
	http_client_free(c);
	return ret;
}

void http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	free(c->server_name);
	free(c->socket_path);
	free(c->http_proxy);
	free(c->https_proxy);
	free(c->no_proxy);
	if (c->global_init)
		curl_global_cleanup();
	free(c);
}

long http_client_connects(const struct http_client *c)
{
	return c != NULL ? c->connects : 0;
}

/* Header lines hold the token: wipe them before they are freed. */
static void slist_wipe_free(struct curl_slist *l)
{
	struct curl_slist *p;

	for (p = l; p != NULL; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

static int slist_add(struct curl_slist **l, const char *line)
{
	struct curl_slist *n = curl_slist_append(*l, line);

	if (n == NULL)
		return -1;
	*l = n;
	return 0;
}

static bool header_name_valid(const char *s)
{
	const char *p;

	if (s == NULL || s[0] == '\0')
		return false;
	for (p = s; *p != '\0'; p++)
		if (*p <= ' ' || *p == ':' || *p == 0x7f)
			return false;
	return true;
}

/* Methods sent with a body, empty when the request has none. */
static bool method_sends_body(const struct http_request *req)
{
	return req->body != NULL || strcmp(req->method, "POST") == 0 ||
	       strcmp(req->method, "PUT") == 0 ||
	       strcmp(req->method, "PATCH") == 0;
}

static bool has_header(const struct http_request *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->n_headers; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return true;
	return false;
}

/* Builds the header list; refuses CR or LF anywhere. An empty value is
 * sent as "Name;" because "Name:" makes libcurl drop the header. */
static int headers_build(const struct http_request *req,
                         struct curl_slist **out, struct errbuf *e)
{
	char *line = NULL;
	size_t cap = 0;
	size_t i;
	int ret = -1;

	for (i = 0; i < req->n_headers; i++) {
		const struct http_header *h = &req->headers[i];
		size_t need;

		if (!header_name_valid(h->name) || h->value == NULL ||
		    strpbrk(h->value, "\r\n") != NULL) {
			errbuf_set(e,
			           "%s %s: refusing header %s: invalid name "
			           "or a CR or LF in its value",
			           req->method, req->url,
			           h->name ? h->name : "(null)");
			goto out;
		}
		need = strlen(h->name) + strlen(h->value) + 3;
		if (need > cap) {
			if (line != NULL)
				explicit_bzero(line, cap);
			free(line);
			line = malloc(need);
			cap = need;
			if (line == NULL)
				goto oom;
		}
		if (h->value[0] == '\0')
			(void)snprintf(line, cap, "%s;", h->name);
		else
			(void)snprintf(line, cap, "%s: %s", h->name, h->value);
		if (slist_add(out, line) < 0)
			goto oom;
	}
	/* No "Expect: 100-continue" round trip, and no libcurl default
	 * form Content-Type. */
	if (method_sends_body(req) && (slist_add(out, "Expect:") < 0 ||
	                               (!has_header(req, "Content-Type") &&
	                                slist_add(out, "Content-Type:") < 0)))
		goto oom;
	ret = 0;
	goto out;
oom:
	errbuf_set(e, "%s %s: out of memory", req->method, req->url);
out:
	if (line != NULL)
		explicit_bzero(line, cap);
	free(line);
	return ret;
}

/*
 * With a TLS server name, the request goes to https://<server_name>:port
 * (so SNI and verification use it) while CONNECT_TO sends the connection
 * to the URL's real host; the Host header keeps the real host, as Go does.
 */
static int target_rewrite(struct http_client *c, const char *url, char **out,
                          struct curl_slist **connect_to,
                          struct curl_slist **hdrs, struct errbuf *e)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *explicit_port = NULL;
	char *line = NULL;
	size_t len;
	int ret = -1;

	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	        CURLUE_OK) {
		errbuf_set(e, "%s: cannot parse the URL", url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &explicit_port, 0) != CURLUE_OK)
		explicit_port = NULL;
	len = strlen(c->server_name) + strlen(host) + 2 * strlen(port) + 16;
	line = malloc(len);
	if (line == NULL)
		goto oom;
	(void)snprintf(line, len, "%s:%s:%s:%s", c->server_name, port, host,
	               port);
	if (slist_add(connect_to, line) < 0)
		goto oom;
	(void)snprintf(line, len, "Host: %s%s%s", host,
	               explicit_port ? ":" : "",
	               explicit_port ? explicit_port : "");
	if (slist_add(hdrs, line) < 0)
		goto oom;
	if (curl_url_set(u, CURLUPART_HOST, c->server_name, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, out, 0) != CURLUE_OK) {
		errbuf_set(e, "%s: cannot use TLS server name %s", url,
		           c->server_name);
		goto out;
	}
	ret = 0;
	goto out;
oom:
	errbuf_set(e, "%s: out of memory", url);
out:
	free(line);
	curl_free(host);
	curl_free(port);
	curl_free(explicit_port);
	curl_url_cleanup(u);
	return ret;
}

static bool method_valid(const char *m)
{
	const char *p;

	if (m == NULL || m[0] == '\0' || strlen(m) > 16)
		return false;
	for (p = m; *p != '\0'; p++)
		if (*p < 'A' || *p > 'Z')
			return false;
	return true;
}

static int method_set(CURL *h, const struct http_request *req, struct errbuf *e)
{
	bool is_get = strcmp(req->method, "GET") == 0;
	bool is_post = strcmp(req->method, "POST") == 0;
	const char *body = req->body;
	size_t len = req->body_len;
	CURLcode rc;

	/* HTTPGET resets what the previous request on this handle set. */
	rc = curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(
		    h, CURLOPT_CUSTOMREQUEST,
		    is_post || (is_get && body == NULL) ? NULL : req->method);
	if (body == NULL && method_sends_body(req)) {
		body = ""; /* "Content-Length: 0", as Go sends */
		len = 0;
	}
	if (rc == CURLE_OK && body != NULL)
		rc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		                      (curl_off_t)len);
	if (rc == CURLE_OK && body != NULL)
		rc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	if (rc != CURLE_OK)
		return errbuf_set(e, "%s %s: cannot set the method: %s",
		                  req->method, req->url,
		                  curl_easy_strerror(rc));
	return 0;
}

/*
 * The proxy of this request when it comes from the environment: the
 * original URL's host and port decide, as in Go (with a TLS server name
 * the URL handed to libcurl names that server, not the address). "" is
 * a direct connection.
 */
static const char *env_proxy(const struct http_client *c, const char *url)
{
	bool https = strncasecmp(url, "https://", 8) == 0;
	const char *proxy = https ? c->https_proxy : c->http_proxy;
	CURLU *u;
	char *host = NULL, *port = NULL;
	bool direct = true;

	if (proxy == NULL)
		return "";
	u = curl_url();
	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
	        CURLUE_OK)
		direct = noproxy_match(c->no_proxy, host, port);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return direct ? "" : proxy;
}

/* Whether a retry may help: everything but configuration, protocol and
 * certificate problems (the classes Go's retry policy does not retry). */
static int transient_code(CURLcode rc)
{
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_WRITE_ERROR:
	case CURLE_OUT_OF_MEMORY:
	case CURLE_BAD_FUNCTION_ARGUMENT:
	case CURLE_UNKNOWN_OPTION:
	case CURLE_FAILED_INIT:
	case CURLE_TOO_MANY_REDIRECTS:
		return 0;
	default:
		return 1;
	}
}

/* X509_V_ERR_* codes libcurl reports through CURLINFO_SSL_VERIFYRESULT
 * (OpenSSL's numbering, stable across its releases). */
#define X509_UNABLE_TO_GET_ISSUER 2
#define X509_NOT_YET_VALID 9
#define X509_EXPIRED 10
#define X509_SELF_SIGNED_LEAF 18
#define X509_SELF_SIGNED_IN_CHAIN 19
#define X509_NO_LOCAL_ISSUER 20
#define X509_UNVERIFIABLE_LEAF 21
#define X509_HOSTNAME_MISMATCH 62
#define X509_IP_MISMATCH 64

/*
 * Names a TLS failure the way an operator looks for it ("unknown
 * certificate authority", "certificate name mismatch", "certificate
 * expired", "handshake failed"), or NULL for other failures.
 */
static const char *tls_failure(struct http_client *c,
                               const struct recv_state *st, CURLcode rc)
{
	long verify = 0;

	if (rc == CURLE_SSL_CONNECT_ERROR)
		return "TLS handshake failed";
	/* With TLS 1.3 a server refuses the client certificate after the
	 * client finished its side of the handshake: the first read or
	 * write of the new connection fails. */
	if ((rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR) && st->tls &&
	    st->fresh && !st->answered)
		return "TLS handshake failed: the server closed the new "
		       "connection before answering (does it require a "
		       "client certificate?)";
	if (rc != CURLE_PEER_FAILED_VERIFICATION)
		return NULL;
	if (curl_easy_getinfo(c->curl, CURLINFO_SSL_VERIFYRESULT, &verify) !=
	    CURLE_OK)
		return "TLS verification failed";
	switch (verify) {
	case 0:
	case X509_HOSTNAME_MISMATCH:
	case X509_IP_MISMATCH:
		return "TLS: certificate name mismatch";
	case X509_EXPIRED:
		return "TLS: certificate expired";
	case X509_NOT_YET_VALID:
		return "TLS: certificate not yet valid";
	case X509_UNABLE_TO_GET_ISSUER:
	case X509_SELF_SIGNED_LEAF:
	case X509_SELF_SIGNED_IN_CHAIN:
	case X509_NO_LOCAL_ISSUER:
	case X509_UNVERIFIABLE_LEAF:
		return "TLS: unknown certificate authority";
	default:
		break;
	}
	/* libcurl's own name check leaves no X509 code to go by (it reports
	 * X509_V_ERR_UNSPECIFIED); its message names the host. */
	if (strstr(c->curl_err, "host name") != NULL ||
	    strstr(c->curl_err, "subject name") != NULL)
		return "TLS: certificate name mismatch";
	return "TLS verification failed";
}

static int transport_error(struct http_client *c,
                           const struct http_request *req,
                           const struct recv_state *st, CURLcode rc,
                           struct errbuf *e)
{
	const char *cause =
	    c->curl_err[0] ? c->curl_err : curl_easy_strerror(rc);
	const char *tls = tls_failure(c, st, rc);

	if (st->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		errbuf_set(e, "%s %s: response body larger than %u bytes",
		           req->method, req->url, HTTP_MAX_BODY);
	else if (st->no_memory)
		errbuf_set(e, "%s %s: out of memory", req->method, req->url);
	else if (tls != NULL)
		errbuf_set(e, "%s %s: %s (%s)", req->method, req->url, tls,
		           cause);
	else if (c->socket_path != NULL)
		/* The URL's host is a placeholder: name the socket instead. */
		errbuf_set(e, "%s %s: %s (through unix socket %s)", req->method,
		           req->url, cause, c->socket_path);
	else
		errbuf_set(e, "%s %s: %s", req->method, req->url, cause);
	e->transient = transient_code(rc);
	return -1;
}

/* Points the handle at this request's URL, proxy, headers and timeout. */
static int request_set(struct http_client *c, const struct http_request *req,
                       const char *url, struct curl_slist *hdrs,
                       struct curl_slist *connect_to, struct recv_state *st,
                       struct errbuf *e)
{
	CURL *h = c->curl;
	int64_t ms = req->timeout_ms > 0 ? req->timeout_ms : c->timeout_ms;
	CURLcode rc;

	if (ms < 0)
		ms = 0;
	rc = curl_easy_setopt(h, CURLOPT_URL, url);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_CONNECT_TO, connect_to);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
		                      (long)(ms > LONG_MAX ? LONG_MAX : ms));
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_WRITEDATA, st);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_HEADERDATA, st);
	if (rc == CURLE_OK && c->proxy_env)
		rc = curl_easy_setopt(h, CURLOPT_PROXY, env_proxy(c, req->url));
	if (rc != CURLE_OK)
		return errbuf_set(e, "%s %s: cannot set up the request: %s",
		                  req->method, req->url,
		                  curl_easy_strerror(rc));
	return 0;
}

/* Drops the handle's pointers into this request's buffers. */
static void request_unset(CURL *h)
{
	(void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	(void)curl_easy_setopt(h, CURLOPT_CONNECT_TO, NULL);
	(void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
	(void)curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
	(void)curl_easy_setopt(h, CURLOPT_HEADERDATA, NULL);
}

static double http_seconds(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int http_do(struct http_client *c, const struct http_request *req,
            struct http_response *resp, struct errbuf *e)
{
	struct curl_slist *hdrs = NULL;
	struct curl_slist *connect_to = NULL;
	struct recv_state st;
	char *rewritten = NULL;
	long connects = 0;
	CURLcode rc;
	double started = 0;
	bool observed = false;
	int ret = -1;

	memset(resp, 0, sizeof(*resp));
	resp->retry_after_s = -1;
	memset(&st, 0, sizeof(st));
	st.resp = resp;
	c->curl_err[0] = '\0';
	if (!method_valid(req->method) || req->url == NULL)
		return errbuf_set(e, "invalid HTTP request");
	if (headers_build(req, &hdrs, e) < 0)
		goto out;
	if (c->server_name != NULL && c->socket_path == NULL &&
	    target_rewrite(c, req->url, &rewritten, &connect_to, &hdrs, e) < 0)
		goto out;
	if (method_set(c->curl, req, e) < 0 ||
	    request_set(c, req, rewritten ? rewritten : req->url, hdrs,
	                connect_to, &st, e) < 0)
		goto out;

	started = http_seconds();
	rc = curl_easy_perform(c->curl);
	observed = true;
	if (curl_easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &connects) ==
	    CURLE_OK)
		c->connects += connects;
	st.fresh = connects > 0;
	st.tls = strncasecmp(req->url, "https://", 8) == 0;
	if (rc != CURLE_OK) {
		transport_error(c, req, &st, rc, e);
		goto out;
	}
	if (curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status) !=
	        CURLE_OK ||
	    st.no_memory) {
		errbuf_set(e, "%s %s: cannot read the answer", req->method,
		           req->url);
		goto out;
	}
	ret = 0;
out:
	if (observed && c->observer != NULL)
		c->observer->done(c->observer->arg, req->method,
		                  ret == 0 ? resp->status : 0,
		                  http_seconds() - started);
	request_unset(c->curl);
	slist_wipe_free(hdrs);
	curl_slist_free_all(connect_to);
	curl_free(rewritten);
	if (ret < 0)
		http_response_free(resp);
	return ret;
}

void http_response_free(struct http_response *r)
{
	if (r == NULL)
		return;
	if (r->body != NULL) {
		explicit_bzero(r->body, r->body_len);
		free(r->body);
	}
	free(r->location);
	free(r->content_type);
	r->body = NULL;
	r->body_len = 0;
	r->location = NULL;
	r->content_type = NULL;
	r->retry_after_s = -1;
}
