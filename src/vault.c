/* vault: Vault requests with the Go client's retries, redirects, errors. */
#include "vault.h"

#include <arpa/nameser.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "http.h"
#include "log.h"
#include "parse.h"
#include "tokenfile.h"

#define NS_PER_S 1000000000LL
#define NS_PER_MS 1000000LL
#define JSON_DEPTH 256           /* envelope plus deeply nested secrets */
#define EXCERPT_MAX 200          /* bytes of a raw error body quoted */
#define CONNECT_TIMEOUT_MS 30000 /* Go's default dialer */
#define FIXED_HEADERS 5

struct vault {
	struct http_client *http;
	char *addr;
	char *namespace;
	char **hname; /* VAULT_HEADERS, split */
	char **hvalue;
	size_t n_headers;
	char *token;
	char *wrap_ttl;
	bool wrap_broken; /* the wrap TTL could not be stored */
	int64_t timeout_ns;
	unsigned max_retries;
	bool disable_redirects;
	bool srv_lookup;
	bool via_socket;
	double rate; /* token bucket of VAULT_RATE_LIMIT */
	int burst;
	double tokens;
	int64_t last_ns;
	uint64_t rng;
};

/* One logical request. */
struct call {
	const char *method;
	const char *path; /* logical path below /v1/ */
	bool list;
	const char *body;
	size_t body_len;
	bool secret; /* the answer may hold a token: never quote it */
	bool wrap;   /* send X-Vault-Wrap-TTL when one is set */
};

/* The final answer of a request and the URL that gave it. */
struct answer {
	struct http_response resp;
	char *url;
};

/* A growing string; oom is sticky so that callers check once. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	char *p;
	size_t cap;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 128;
		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static int64_t now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts;

	if (ns <= 0)
		return;
	ts.tv_sec = (time_t)(ns / NS_PER_S);
	ts.tv_nsec = (long)(ns % NS_PER_S);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		continue;
}

/* xorshift64*: jitter needs no more than this. */
static uint64_t rng_next(struct vault *v)
{
	v->rng ^= v->rng >> 12;
	v->rng ^= v->rng << 25;
	v->rng ^= v->rng >> 27;
	return v->rng * 0x2545F4914F6CDD1DULL;
}

/* Wipes memory json-c hands out as const: it is the library's own heap
 * memory, writable, and holds a token or a JWT. */
static void wipe_const(const char *s, size_t len)
{
	if (s != NULL)
		explicit_bzero((void *)(uintptr_t)s, len);
}

/* Wipes every string of a tree (tokens, JWTs) and releases it. */
static void json_wipe(json_object *o)
{
	size_t i, n;

	switch (json_object_get_type(o)) {
	case json_type_string:
		wipe_const(json_object_get_string(o),
		           (size_t)json_object_get_string_len(o));
		break;
	case json_type_array:
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			json_wipe(json_object_array_get_idx(o, i));
		break;
	case json_type_object: {
		json_object_object_foreach(o, key, val)
		{
			(void)key;
			json_wipe(val);
		}
		break;
	}
	default:
		break;
	}
}

static void json_wipe_put(json_object *o)
{
	json_wipe(o);
	json_object_put(o);
}

/* Parses a whole body as one JSON value; the parser's scratch buffer,
 * which keeps the last strings read (a token, a secret value), is wiped.
 * Returns NULL when the body is not JSON or is JSON null. */
static json_object *json_parse(const char *body, size_t len)
{
	json_tokener *tok;
	json_object *o;

	if (body == NULL || len == 0 || len > INT_MAX)
		return NULL;
	tok = json_tokener_new_ex(JSON_DEPTH);
	if (tok == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, body, (int)len);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	                  json_tokener_get_parse_end(tok) != len)) {
		json_object_put(o);
		o = NULL;
	}
	/* The tokener keeps its buffer public in json-c 0.16 and earlier. */
	if (tok->pb != NULL && tok->pb->buf != NULL)
		explicit_bzero(tok->pb->buf, (size_t)tok->pb->size);
	json_tokener_free(tok);
	return o;
}

static json_object *json_get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/* A string member, or NULL when absent or not a string. */
static const char *json_str(json_object *o, const char *key)
{
	json_object *v = json_get(o, key);

	return json_object_is_type(v, json_type_string)
	           ? json_object_get_string(v)
	           : NULL;
}

/* An integer of seconds: a JSON number or a duration string (Go's
 * client reads TTLs with ParseDurationSecond). 0 when absent. */
static int64_t json_secs(json_object *o, const char *key)
{
	json_object *v = json_get(o, key);
	int64_t ns;
	double d;

	switch (json_object_get_type(v)) {
	case json_type_int:
		return json_object_get_int64(v);
	case json_type_double:
		d = json_object_get_double(v);
		return d > -9.2e18 && d < 9.2e18 ? (int64_t)d : 0;
	case json_type_string:
		if (parse_duration_second(json_object_get_string(v), &ns) == 0)
			return ns / NS_PER_S;
		return 0;
	default:
		return 0;
	}
}

static bool json_true(json_object *o, const char *key)
{
	json_object *v = json_get(o, key);

	return json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}

/* The first string of "warnings", copied, or NULL. */
static char *first_warning(json_object *root)
{
	json_object *w = json_get(root, "warnings");
	json_object *s;

	if (!json_object_is_type(w, json_type_array) ||
	    json_object_array_length(w) == 0)
		return NULL;
	s = json_object_array_get_idx(w, 0);
	if (!json_object_is_type(s, json_type_string))
		return NULL;
	return strdup(json_object_get_string(s));
}

/*
 * LIMITATION: json-c saturates integers beyond 64 bits to INT64_MIN or
 * UINT64_MAX and keeps no source text for integers, so those two exact
 * values are refused too: they cannot be told apart from an overflow.
 */
static bool json_ints_fit(json_object *o)
{
	size_t i, n;

	switch (json_object_get_type(o)) {
	case json_type_int:
		return json_object_get_int64(o) != INT64_MIN &&
		       json_object_get_uint64(o) != UINT64_MAX;
	case json_type_array:
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			if (!json_ints_fit(json_object_array_get_idx(o, i)))
				return false;
		return true;
	case json_type_object: {
		json_object_object_foreach(o, key, val)
		{
			(void)key;
			if (!json_ints_fit(val))
				return false;
		}
		return true;
	}
	default:
		return true;
	}
}

static bool printable(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* Appends text with control characters folded to single spaces. */
static void sb_clean(struct sbuf *b, const char *s, size_t n)
{
	size_t i;
	bool space = false;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f || ch == ' ') {
			space = true;
			continue;
		}
		if (space && b->len > 0 && b->p[b->len - 1] != ' ')
			sb_put(b, " ", 1);
		space = false;
		sb_put(b, &s[i], 1);
	}
}

/* Appends one Vault error: "2 errors occurred:\n\t* a\n\t* b\n\n" from
 * Go's multierror becomes "a; b". */
static void sb_vault_error(struct sbuf *b, const char *s)
{
	const char *p = s;
	const char *nl;

	while (*p >= '0' && *p <= '9')
		p++;
	if (p > s && (strncmp(p, " error occurred:", 16) == 0 ||
	              strncmp(p, " errors occurred:", 17) == 0))
		s = strchr(p, ':') + 1;
	for (p = s; *p != '\0'; p = *nl ? nl + 1 : nl) {
		size_t n;

		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		while (p < nl && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		if (nl - p >= 2 && p[0] == '*' && p[1] == ' ')
			p += 2;
		n = (size_t)(nl - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' ||
		                 p[n - 1] == '\r'))
			n--;
		if (n == 0)
			continue;
		if (b->len > 0)
			sb_str(b, "; ");
		sb_clean(b, p, n);
	}
}

/* A short printable excerpt of a raw body. */
static void sb_excerpt(struct sbuf *b, const char *s, size_t len)
{
	size_t n = len < EXCERPT_MAX ? len : EXCERPT_MAX;

	/* do not cut a UTF-8 sequence */
	while (n < len && n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	sb_clean(b, s, n);
	if (n < len)
		sb_str(b, "...");
}

static bool status_transient(long s)
{
	return s == 0 || s == 412 || s == 429 ||
	       (s >= 500 && s <= 599 && s != 501);
}

/* "<METHOD> <URL>: <status>: <Vault's errors or an excerpt>". */
static int answer_error(const struct call *c, const struct answer *a,
                        struct errbuf *e)
{
	const struct http_response *r = &a->resp;
	json_object *root = json_parse(r->body, r->body_len);
	json_object *errs = json_get(root, "errors");
	struct sbuf b = {0};
	char note[64];
	size_t i, n;

	if (json_object_is_type(errs, json_type_array)) {
		n = json_object_array_length(errs);
		for (i = 0; i < n; i++) {
			json_object *s = json_object_array_get_idx(errs, i);

			if (json_object_is_type(s, json_type_string))
				sb_vault_error(&b, json_object_get_string(s));
		}
	} else if (r->body_len > 0 && c->secret) {
		(void)snprintf(note, sizeof(note), "(%s body of %zu bytes)",
		               root != NULL ? "unexpected JSON" : "non-JSON",
		               r->body_len);
		sb_str(&b, note);
	} else if (r->body_len > 0) {
		sb_excerpt(&b, r->body, r->body_len);
	}
	errbuf_set(e, "%s %s: %ld%s%s", c->method, a->url, r->status,
	           b.len > 0 && !b.oom ? ": " : "",
	           b.len > 0 && !b.oom ? b.p : "");
	e->status = r->status;
	e->transient = status_transient(r->status);
	free(b.p);
	json_wipe_put(root);
	return -1;
}

/* An error about an answer that arrived: its status is kept. */
static int answer_fail(const struct call *c, const struct answer *a,
                       struct errbuf *e, const char *what)
{
	errbuf_set(e, "%s %s: %ld: %s", c->method, a->url, a->resp.status,
	           what);
	e->status = a->resp.status;
	return -1;
}

static void answer_free(struct answer *a)
{
	http_response_free(&a->resp);
	free(a->url);
	a->url = NULL;
}

/* Go's path escaping: unreserved characters, the sub-delimiters Go keeps
 * in paths and '/' stay; everything else is percent-encoded. */
static void sb_escaped(struct sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		char enc[3];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-_.~$&+,:;=@", ch)) {
			sb_put(b, (const char *)&s[i], 1);
			continue;
		}
		enc[0] = '%';
		enc[1] = hex[ch >> 4];
		enc[2] = hex[ch & 15];
		sb_put(b, enc, 3);
	}
}

/*
 * Appends "/v1/<path>" cleaned as Go's path.Join cleans it: empty and "."
 * segments dropped, ".." removes the segment before it (never above
 * /v1), no trailing '/' (Vault adds it for lists).
 */
static int sb_path(struct sbuf *b, const char *path)
{
	const char **seg;
	size_t *len;
	size_t n = 0, i;
	const char *p = path;

	seg = calloc(strlen(path) / 2 + 2, sizeof(*seg));
	len = calloc(strlen(path) / 2 + 2, sizeof(*len));
	if (seg == NULL || len == NULL) {
		free(seg);
		free(len);
		return -1;
	}
	while (*p != '\0') {
		const char *end = strchr(p, '/');
		size_t l = end ? (size_t)(end - p) : strlen(p);

		if (l == 2 && p[0] == '.' && p[1] == '.') {
			if (n > 0)
				n--;
		} else if (l > 0 && !(l == 1 && p[0] == '.')) {
			seg[n] = p;
			len[n++] = l;
		}
		p += l;
		if (*p == '/')
			p++;
	}
	sb_str(b, "/v1");
	for (i = 0; i < n; i++) {
		sb_put(b, "/", 1);
		sb_escaped(b, seg[i], len[i]);
	}
	free(seg);
	free(len);
	return 0;
}

static unsigned be16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* The SRV target of _http._tcp.<host> with the lowest priority, then the
 * highest weight (Go orders by priority and shuffles by weight). */
static int srv_resolve(const char *host, char **target, unsigned *port)
{
	unsigned char ans[4096];
	char name[NS_MAXDNAME];
	char best[NS_MAXDNAME] = "";
	char qname[NS_MAXDNAME];
	const unsigned char *p, *end;
	unsigned qd, an, i, prio, weight, best_prio = 65536, best_weight = 0;
	unsigned best_port = 0;
	int len, n;

	if (snprintf(qname, sizeof(qname), "_http._tcp.%s", host) >=
	    (int)sizeof(qname))
		return -1;
	len = res_query(qname, ns_c_in, ns_t_srv, ans, sizeof(ans));
	if (len < NS_HFIXEDSZ || len > (int)sizeof(ans))
		return -1;
	end = ans + len;
	qd = be16(ans + 4);
	an = be16(ans + 6);
	p = ans + NS_HFIXEDSZ;
	for (i = 0; i < qd; i++) {
		n = dn_skipname(p, end);
		if (n < 0 || end - p < n + 4)
			return -1;
		p += n + 4;
	}
	for (i = 0; i < an; i++) {
		unsigned type, rdlen;

		n = dn_skipname(p, end);
		if (n < 0 || end - p < n + 10)
			return -1;
		p += n;
		type = be16(p);
		rdlen = be16(p + 8);
		p += 10;
		if (end - p < (long)rdlen)
			return -1;
		prio = rdlen >= 7 ? be16(p) : 0;
		weight = rdlen >= 7 ? be16(p + 2) : 0;
		if (type == ns_t_srv && rdlen >= 7 &&
		    dn_expand(ans, end, p + 6, name, sizeof(name)) >= 0 &&
		    name[0] != '\0' && strcmp(name, ".") != 0 &&
		    (prio < best_prio ||
		     (prio == best_prio && weight > best_weight))) {
			best_prio = prio;
			best_weight = weight;
			best_port = be16(p + 4);
			(void)snprintf(best, sizeof(best), "%s", name);
		}
		p += rdlen;
	}
	if (best[0] == '\0')
		return -1;
	n = (int)strlen(best);
	if (best[n - 1] == '.')
		best[n - 1] = '\0';
	*target = strdup(best);
	*port = best_port;
	return *target != NULL ? 0 : -1;
}

/* With VAULT_SRV_LOOKUP and no port in the address, the host of the
 * address is replaced by the first target of _http._tcp.<host>; a
 * failed lookup keeps the address, as in Go. */
static char *srv_addr(const struct vault *v)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *url = NULL, *target = NULL;
	char *out = NULL;
	char num[16];
	unsigned p;

	if (u == NULL ||
	    curl_url_set(u, CURLUPART_URL, v->addr, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	if (srv_resolve(host, &target, &p) < 0)
		goto out;
	(void)snprintf(num, sizeof(num), "%u", p);
	if (curl_url_set(u, CURLUPART_HOST, target, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_PORT, num, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
		goto out;
	out = strdup(url);
	if (out != NULL && strlen(out) > 0 && out[strlen(out) - 1] == '/')
		out[strlen(out) - 1] = '\0';
out:
	free(target);
	curl_free(host);
	curl_free(port);
	curl_free(url);
	curl_url_cleanup(u);
	return out;
}

/* base + "/v1/" + path (+ "?list=true"); never a "//". */
static int url_build(const struct vault *v, const struct call *c, char **out,
                     struct errbuf *e)
{
	struct sbuf b = {0};
	char *srv = NULL;

	if (v->srv_lookup && !v->via_socket)
		srv = srv_addr(v);
	sb_str(&b, srv != NULL ? srv : v->addr);
	free(srv);
	if (sb_path(&b, c->path) < 0)
		b.oom = true;
	if (c->list)
		sb_str(&b, "?list=true");
	if (b.oom) {
		free(b.p);
		return errbuf_set(e, "out of memory");
	}
	*out = b.p;
	return 0;
}

/* VAULT_RATE_LIMIT: Go's rate.Limiter.Wait, whose error the client
 * ignores: with no burst, or a wait past the deadline, nothing waits. */
static void rate_wait(struct vault *v, int64_t deadline)
{
	int64_t now, wait;

	if (v->rate <= 0 || v->burst < 1)
		return;
	now = now_ns();
	if (v->last_ns == 0)
		v->tokens = v->burst;
	else
		v->tokens += (double)(now - v->last_ns) / NS_PER_S * v->rate;
	if (v->tokens > v->burst)
		v->tokens = v->burst;
	v->last_ns = now;
	if (v->tokens >= 1) {
		v->tokens -= 1;
		return;
	}
	wait = (int64_t)((1 - v->tokens) / v->rate * NS_PER_S);
	if (deadline != 0 && now + wait > deadline)
		return;
	v->tokens -= 1;
	sleep_ns(wait);
}

/* Wait before retry n (from 0): Retry-After on 429 and 503, else
 * (n+1) * uniform[1.0, 1.5) s, Go's RateLimitLinearJitterBackoff. */
static int64_t backoff_ns(struct vault *v, unsigned n,
                          const struct http_response *r)
{
	int64_t jitter = (int64_t)(rng_next(v) % (NS_PER_S / 2));

	if (r != NULL && (r->status == 429 || r->status == 503) &&
	    r->retry_after_s >= 0)
		return r->retry_after_s > INT64_MAX / NS_PER_S
		           ? INT64_MAX
		           : r->retry_after_s * NS_PER_S;
	return ((int64_t)n + 1) * (NS_PER_S + jitter);
}

static int headers_fill(const struct vault *v, const struct call *c,
                        struct http_header *h)
{
	size_t n = 0, i;

	h[n++] = (struct http_header){"X-Vault-Request", "true"};
	if (v->token != NULL)
		h[n++] = (struct http_header){"X-Vault-Token", v->token};
	if (v->namespace != NULL)
		h[n++] =
		    (struct http_header){"X-Vault-Namespace", v->namespace};
	if (c->wrap && v->wrap_ttl != NULL)
		h[n++] = (struct http_header){"X-Vault-Wrap-TTL", v->wrap_ttl};
	if (c->body != NULL)
		h[n++] =
		    (struct http_header){"Content-Type", "application/json"};
	for (i = 0; i < v->n_headers; i++)
		h[n++] = (struct http_header){v->hname[i], v->hvalue[i]};
	return (int)n;
}

/* One URL, with retries (Go's DefaultRetryPolicy) until max_retries or
 * the deadline. Returns as http_do does, with the last attempt's result. */
static int attempts(struct vault *v, const struct call *c, const char *url,
                    int64_t deadline, struct http_response *resp,
                    struct errbuf *e)
{
	struct http_header *h =
	    calloc(v->n_headers + FIXED_HEADERS, sizeof(*h));
	struct http_request req = {0};
	unsigned n;
	int rc = -1;

	if (h == NULL)
		return errbuf_set(e, "out of memory");
	req.method = c->method;
	req.url = url;
	req.headers = h;
	req.n_headers = (size_t)headers_fill(v, c, h);
	req.body = c->body;
	req.body_len = c->body_len;
	for (n = 0;; n++) {
		int64_t left = deadline != 0 ? deadline - now_ns() : 0;
		int64_t wait;
		bool retry;

		if (deadline != 0 && left <= 0) {
			errbuf_set(e, "%s %s: client timeout of %llds exceeded",
			           c->method, url,
			           (long long)(v->timeout_ns / NS_PER_S));
			e->transient = 1;
			rc = -1;
			break;
		}
		req.timeout_ms =
		    deadline != 0 ? (left + NS_PER_MS - 1) / NS_PER_MS : 0;
		rc = http_do(v->http, &req, resp, e);
		retry = rc == 0 ? status_transient(resp->status) : e->transient;
		if (!retry || n >= v->max_retries)
			break;
		wait = backoff_ns(v, n, rc == 0 ? resp : NULL);
		if (deadline != 0 && wait >= deadline - now_ns())
			break;
		if (rc == 0)
			http_response_free(resp);
		sleep_ns(wait);
	}
	free(h);
	return rc;
}

/* Resolves a Location against the URL it answered; refuses a move from
 * https to anything else. */
static int location_follow(const struct call *c, struct answer *a,
                           struct errbuf *e)
{
	CURLU *u = curl_url();
	char *next = NULL, *scheme = NULL;
	struct sbuf loc = {0};
	int ret = -1;

	if (a->resp.location == NULL || a->resp.location[0] == '\0') {
		answer_fail(c, a, e, "redirect without a Location header");
		goto out;
	}
	sb_excerpt(&loc, a->resp.location, strlen(a->resp.location));
	if (u == NULL || loc.oom ||
	    curl_url_set(u, CURLUPART_URL, a->url, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_URL, a->resp.location, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &next, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		errbuf_set(e, "%s %s: %ld: cannot follow the redirect to %s",
		           c->method, a->url, a->resp.status,
		           loc.p ? loc.p : "?");
		e->status = a->resp.status;
		goto out;
	}
	if (strncasecmp(a->url, "https:", 6) == 0 &&
	    strcasecmp(scheme, "https") != 0) {
		errbuf_set(e,
		           "%s %s: %ld: redirect to %s would cause "
		           "protocol downgrade",
		           c->method, a->url, a->resp.status, loc.p);
		e->status = a->resp.status;
		goto out;
	}
	free(a->url);
	a->url = strdup(next);
	if (a->url == NULL) {
		errbuf_set(e, "out of memory");
		goto out;
	}
	http_response_free(&a->resp);
	ret = 0;
out:
	free(loc.p);
	curl_free(next);
	curl_free(scheme);
	curl_url_cleanup(u);
	return ret;
}

/* A 3xx that will not be followed. */
static int redirect_refused(const struct vault *v, const struct call *c,
                            const struct answer *a, struct errbuf *e)
{
	struct sbuf loc = {0};
	const char *why;
	long s = a->resp.status;

	if (a->resp.location != NULL)
		sb_excerpt(&loc, a->resp.location, strlen(a->resp.location));
	if (s != 301 && s != 302 && s != 307)
		why = "only 301, 302 and 307 are followed";
	else if (v->disable_redirects)
		why = "VAULT_DISABLE_REDIRECTS is set";
	else
		why = "only one redirect is followed";
	errbuf_set(e, "%s %s: %ld: redirect%s%s not followed: %s", c->method,
	           a->url, s, loc.p ? " to " : "", loc.p ? loc.p : "", why);
	e->status = s;
	free(loc.p);
	return -1;
}

/*
 * Sends one logical request: rate limit, retries, at most one redirect,
 * all within the client timeout. Returns 0 with the final answer (any
 * status but 3xx), -1 with errbuf on a transport error or a redirect
 * that cannot be followed.
 */
static int vault_call(struct vault *v, const struct call *c, struct answer *a,
                      struct errbuf *e)
{
	int64_t deadline = v->timeout_ns > 0 ? now_ns() + v->timeout_ns : 0;
	int hops;

	memset(a, 0, sizeof(*a));
	if (url_build(v, c, &a->url, e) < 0)
		return -1;
	rate_wait(v, deadline);
	for (hops = 0;; hops++) {
		long s;

		if (attempts(v, c, a->url, deadline, &a->resp, e) < 0)
			goto fail;
		s = a->resp.status;
		if (s < 300 || s > 399)
			return 0;
		if (hops > 0 || v->disable_redirects ||
		    (s != 301 && s != 302 && s != 307)) {
			redirect_refused(v, c, a, e);
			goto fail;
		}
		if (location_follow(c, a, e) < 0)
			goto fail;
	}
fail:
	answer_free(a);
	return -1;
}

static int split_headers(struct vault *v, const struct vault_config *c)
{
	size_t i;

	v->hname = calloc(c->n_headers + 1, sizeof(*v->hname));
	v->hvalue = calloc(c->n_headers + 1, sizeof(*v->hvalue));
	if (v->hname == NULL || v->hvalue == NULL)
		return -1;
	for (i = 0; i < c->n_headers; i++) {
		const char *colon = strchr(c->headers[i], ':');

		if (colon == NULL)
			return -1;
		v->hname[i] =
		    strndup(c->headers[i], (size_t)(colon - c->headers[i]));
		v->hvalue[i] = strdup(colon + (colon[1] == ' ' ? 2 : 1));
		v->n_headers = i + 1;
		if (v->hname[i] == NULL || v->hvalue[i] == NULL)
			return -1;
	}
	return 0;
}

/* Files named by the configuration must be readable now, as Go's
 * NewClient loads them. */
static int files_check(const struct vault_config *c, struct errbuf *e)
{
	const char *var[] = {"VAULT_CACERT", "VAULT_CLIENT_CERT",
	                     "VAULT_CLIENT_KEY", "VAULT_CAPATH"};
	const char *path[] = {c->ca_file, c->client_cert, c->client_key,
	                      c->ca_path};
	struct stat sb;
	size_t i;

	for (i = 0; i < sizeof(var) / sizeof(var[0]); i++) {
		if (path[i] == NULL)
			continue;
		if (access(path[i], R_OK) < 0 || stat(path[i], &sb) < 0)
			return errbuf_set(e, "%s: cannot read %s: %s", var[i],
			                  path[i], strerror(errno));
		if ((i < 3 && !S_ISREG(sb.st_mode)) ||
		    (i == 3 && !S_ISDIR(sb.st_mode)))
			return errbuf_set(e, "%s: %s is not a %s", var[i],
			                  path[i],
			                  i < 3 ? "file" : "directory");
	}
	return 0;
}

struct vault *vault_new(const struct vault_config *c, struct errbuf *e)
{
	struct http_options o = {0};
	struct vault *v = calloc(1, sizeof(*v));
	struct vault *ret = NULL;

	if (v == NULL) {
		errbuf_set(e, "out of memory");
		return NULL;
	}
	if (files_check(c, e) < 0)
		goto out;
	o.ca_file = c->ca_file;
	o.ca_path = c->ca_path;
	o.ca_pem = c->ca_pem;
	o.client_cert = c->client_cert;
	o.client_key = c->client_key;
	o.server_name = c->server_name;
	o.skip_verify = c->skip_verify;
	o.unix_socket = c->unix_socket;
	o.proxy = c->proxy;
	o.connect_timeout_ms = CONNECT_TIMEOUT_MS;
	v->http = http_client_new(&o, e);
	if (v->http == NULL) {
		errbuf_prefix(e, "cannot create the Vault client");
		goto out;
	}
	v->addr = strdup(c->addr);
	v->namespace = c->namespace ? strdup(c->namespace) : NULL;
	if (v->addr == NULL || (c->namespace && v->namespace == NULL) ||
	    split_headers(v, c) < 0) {
		errbuf_set(e, "out of memory");
		goto out;
	}
	v->timeout_ns = c->timeout_ns;
	v->max_retries = c->max_retries;
	v->disable_redirects = c->disable_redirects;
	v->srv_lookup = c->srv_lookup;
	v->via_socket = c->unix_socket != NULL;
	v->rate = c->rate;
	v->burst = c->burst;
	if (getrandom(&v->rng, sizeof(v->rng), 0) != sizeof(v->rng))
		v->rng = (uint64_t)now_ns();
	v->rng |= 1;
	if (vault_set_token(v, c->token, e) < 0)
		goto out;
	if (c->skip_verify)
		log_msg("WARNING: VAULT_SKIP_VERIFY is set - the certificate "
		        "of the Vault server is not verified");
	if (c->mfa_set)
		log_msg("WARNING: VAULT_MFA is set but has no effect - "
		        "unattended logins cannot answer MFA");
	ret = v;
	v = NULL;
out:
	vault_free(v);
	return ret;
}

void vault_free(struct vault *v)
{
	size_t i;

	if (v == NULL)
		return;
	http_client_free(v->http);
	free(v->addr);
	free(v->namespace);
	for (i = 0; i < v->n_headers; i++) {
		free(v->hname[i]);
		secret_free(v->hvalue[i]);
	}
	free(v->hname);
	free(v->hvalue);
	secret_free(v->token);
	free(v->wrap_ttl);
	free(v);
}

int vault_set_token(struct vault *v, const char *token, struct errbuf *e)
{
	char *copy = NULL;

	/* An empty token means none, as Go's SetToken(""). */
	if (token != NULL && token[0] != '\0') {
		if (!printable(token))
			return errbuf_set(e, "configured Vault token contains "
			                     "non-printable characters and "
			                     "cannot be used");
		copy = strdup(token);
		if (copy == NULL)
			return errbuf_set(e, "out of memory");
	}
	secret_free(v->token);
	v->token = copy;
	return 0;
}

void vault_set_wrap_ttl(struct vault *v, const char *ttl)
{
	free(v->wrap_ttl);
	v->wrap_ttl = ttl ? strdup(ttl) : NULL;
	/* Logins then fail rather than store an unwrapped token. */
	v->wrap_broken = ttl != NULL && v->wrap_ttl == NULL;
}

long vault_connects(const struct vault *v)
{
	return v != NULL ? http_client_connects(v->http) : 0;
}

void vault_auth_free(struct vault_auth *a)
{
	if (a == NULL)
		return;
	secret_free(a->client_token);
	free(a->token_type);
	free(a->warning);
	memset(a, 0, sizeof(*a));
}

/* Sends c and parses the 2xx answer's JSON (NULL for an empty body);
 * any other status is the formatted error. */
static int call_json(struct vault *v, const struct call *c, struct answer *a,
                     json_object **root, struct errbuf *e)
{
	*root = NULL;
	if (vault_call(v, c, a, e) < 0)
		return -1;
	if (a->resp.status < 200 || a->resp.status > 299) {
		answer_error(c, a, e);
		answer_free(a);
		return -1;
	}
	if (a->resp.body_len == 0)
		return 0;
	*root = json_parse(a->resp.body, a->resp.body_len);
	if (*root == NULL) {
		answer_fail(c, a, e, "the answer is not JSON");
		answer_free(a);
		return -1;
	}
	return 0;
}

/* Fills out from a login or renewal answer: the auth block, or the
 * wrap_info block when the answer was wrapped. */
static int auth_fill(const struct call *c, const struct answer *a,
                     json_object *root, struct vault_auth *out,
                     struct errbuf *e)
{
	json_object *auth = json_get(root, "auth");
	json_object *wrap = json_get(root, "wrap_info");
	const char *token;
	const char *type;

	if (c->wrap) {
		token = json_str(wrap, "token");
		if (token == NULL || token[0] == '\0')
			return answer_fail(c, a, e,
			                   "a wrapped answer was "
			                   "asked for (VAULT_WRAP_TTL) "
			                   "but none came");
		out->wrapped = true;
		out->lease_duration = json_secs(wrap, "ttl");
	} else {
		token = json_str(auth, "client_token");
		if ((token == NULL || token[0] == '\0') &&
		    json_object_is_type(json_get(auth, "mfa_requirement"),
		                        json_type_object))
			return answer_fail(c, a, e,
			                   "login requires MFA, which "
			                   "unattended logins cannot "
			                   "answer");
		if (token == NULL || token[0] == '\0')
			return answer_fail(c, a, e,
			                   "the answer carries no "
			                   "client token");
		out->lease_duration = json_secs(auth, "lease_duration");
		out->renewable = json_true(auth, "renewable");
		type = json_str(auth, "token_type");
		if (type != NULL && (out->token_type = strdup(type)) == NULL)
			return errbuf_set(e, "out of memory");
	}
	if (!printable(token))
		return answer_fail(c, a, e,
		                   "the token in the answer contains "
		                   "non-printable characters");
	out->client_token = strdup(token);
	out->warning = first_warning(root);
	if (out->client_token == NULL)
		return errbuf_set(e, "out of memory");
	return 0;
}

/* A request whose answer is an auth (or wrap_info) block. */
static int auth_call(struct vault *v, const struct call *c,
                     struct vault_auth *out, struct errbuf *e)
{
	struct answer a;
	json_object *root = NULL;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (c->wrap && v->wrap_broken)
		return errbuf_set(e, "out of memory");
	if (call_json(v, c, &a, &root, e) < 0)
		return -1;
	if (auth_fill(c, &a, root, out, e) < 0)
		vault_auth_free(out);
	else
		ret = 0;
	json_wipe_put(root);
	answer_free(&a);
	return ret;
}

/* PUT auth/<mount>/login with {k1: v1, k2: v2}, as Logical().Write. */
static int login(struct vault *v, const char *mount, const char *k1,
                 const char *v1, const char *k2, const char *v2,
                 struct vault_auth *out, struct errbuf *e)
{
	json_object *o = json_object_new_object();
	struct call c = {0};
	struct sbuf path = {0};
	const char *body = NULL;
	size_t len = 0;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (mount == NULL || v1 == NULL || v2 == NULL)
		return errbuf_set(e, "login: missing mount, role or secret");
	if (o == NULL ||
	    json_object_object_add(o, k1, json_object_new_string(v1)) != 0 ||
	    json_object_object_add(o, k2, json_object_new_string(v2)) != 0 ||
	    json_object_is_type(json_get(o, k1), json_type_null) ||
	    json_object_is_type(json_get(o, k2), json_type_null)) {
		errbuf_set(e, "out of memory");
		goto out;
	}
	body = json_object_to_json_string_length(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	sb_str(&path, "auth/");
	sb_str(&path, mount);
	sb_str(&path, "/login");
	if (body == NULL || path.oom) {
		errbuf_set(e, "out of memory");
		goto out;
	}
	c.method = "PUT";
	c.path = path.p;
	c.body = body;
	c.body_len = len;
	c.secret = true;
	c.wrap = v->wrap_ttl != NULL || v->wrap_broken;
	ret = auth_call(v, &c, out, e);
out:
	wipe_const(body, len);
	json_wipe_put(o);
	free(path.p);
	return ret;
}

int vault_login_kubernetes(struct vault *v, const char *mount, const char *role,
                           const char *jwt, struct vault_auth *out,
                           struct errbuf *e)
{
	return login(v, mount, "role", role, "jwt", jwt, out, e);
}

int vault_login_approle(struct vault *v, const char *mount, const char *role_id,
                        const char *secret_id, struct vault_auth *out,
                        struct errbuf *e)
{
	return login(v, mount, "role_id", role_id, "secret_id", secret_id, out,
	             e);
}

int vault_renew_self(struct vault *v, int64_t increment_s,
                     struct vault_auth *out, struct errbuf *e)
{
	json_object *o = json_object_new_object();
	struct call c = {0};
	const char *body = NULL;
	size_t len = 0;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (o == NULL ||
	    json_object_object_add(o, "increment",
	                           json_object_new_int64(increment_s)) != 0 ||
	    (body = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN,
	                                              &len)) == NULL) {
		errbuf_set(e, "out of memory");
		goto out;
	}
	c.method = "PUT";
	c.path = "auth/token/renew-self";
	c.body = body;
	c.body_len = len;
	c.secret = true;
	ret = auth_call(v, &c, out, e);
out:
	json_object_put(o);
	return ret;
}

int vault_lookup_self(struct vault *v, struct vault_token_info *out,
                      struct errbuf *e)
{
	struct call c = {0};
	struct answer a;
	json_object *root = NULL;
	json_object *data;

	memset(out, 0, sizeof(*out));
	c.method = "GET";
	c.path = "auth/token/lookup-self";
	c.secret = true;
	if (call_json(v, &c, &a, &root, e) < 0)
		return -1;
	data = json_get(root, "data");
	if (!json_object_is_type(data, json_type_object)) {
		answer_fail(&c, &a, e, "the answer carries no data");
		json_wipe_put(root);
		answer_free(&a);
		return -1;
	}
	out->ttl = json_secs(data, "ttl");
	out->creation_ttl = json_secs(data, "creation_ttl");
	out->renewable = json_true(data, "renewable");
	out->period = json_secs(data, "period");
	out->periodic = out->period > 0;
	json_wipe_put(root);
	answer_free(&a);
	return 0;
}

int vault_revoke_self(struct vault *v, struct errbuf *e)
{
	struct call c = {0};
	struct answer a;

	c.method = "PUT";
	c.path = "auth/token/revoke-self";
	c.secret = true;
	if (vault_call(v, &c, &a, e) < 0)
		return -1;
	if (a.resp.status < 200 || a.resp.status > 299) {
		answer_error(&c, &a, e);
		answer_free(&a);
		return -1;
	}
	answer_free(&a);
	return 0;
}

/* Read and list share the 404 rules of Go's Logical().Read: an empty
 * 404, or one without data and warnings, is "not found"; one with data
 * or warnings (a deleted KV v2 version) is handed back. */
static int read_common(struct vault *v, const char *path, bool list,
                       json_object **data, char **warning, struct errbuf *e)
{
	struct call c = {0};
	struct answer a;
	json_object *root = NULL;
	json_object *d;
	char *w = NULL;
	long s;
	int ret = -1;

	*data = NULL;
	if (warning != NULL)
		*warning = NULL;
	if (path == NULL || path[0] == '\0')
		return errbuf_set(e, "read from vault: empty path");
	c.method = "GET";
	c.path = path;
	c.list = list;
	if (vault_call(v, &c, &a, e) < 0)
		return -1;
	s = a.resp.status;
	if (s != 404 && (s < 200 || s > 299)) {
		answer_error(&c, &a, e);
		goto out;
	}
	if (a.resp.body_len == 0) {
		ret = s == 404 ? 1 : 0;
		goto out;
	}
	root = json_parse(a.resp.body, a.resp.body_len);
	if (root == NULL && s == 404) {
		answer_error(&c, &a, e);
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		answer_fail(&c, &a, e, "the answer is not a JSON object");
		goto out;
	}
	d = json_get(root, "data");
	if (!json_ints_fit(d)) {
		answer_fail(&c, &a, e,
		            "an integer in the secret is beyond "
		            "64 bits (integer out of range)");
		goto out;
	}
	w = first_warning(root);
	if (s != 404 && d != NULL)
		*data = json_object_get(d);
	else if (json_object_is_type(d, json_type_object) &&
	         json_object_object_length(d) > 0)
		*data = json_object_get(d);
	if (warning != NULL) {
		*warning = w;
		w = NULL;
	}
	ret = s == 404 ? 1 : 0;
out:
	free(w);
	json_object_put(root);
	answer_free(&a);
	return ret;
}

int vault_read(struct vault *v, const char *path, json_object **data,
               char **warning, struct errbuf *e)
{
	return read_common(v, path, false, data, warning, e);
}

int vault_list(struct vault *v, const char *path, json_object **data,
               char **warning, struct errbuf *e)
{
	return read_common(v, path, true, data, warning, e);
}
