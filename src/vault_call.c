/* vault_call: one Vault request as the Go client sends it: URL, SRV
 * lookup, rate limit, retries with backoff, redirects and error text. */
#include "vault_int.h"

#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "log.h"

#define FIXED_HEADERS 5

/* xorshift64*: jitter needs no more than this. */
static uint64_t rng_next(struct vault *v)
{
	v->rng ^= v->rng >> 12;
	v->rng ^= v->rng << 25;
	v->rng ^= v->rng >> 27;
	return v->rng * 0x2545F4914F6CDD1DULL;
}

bool vault_status_transient(long s)
{
	return s == 0 || s == 412 || s == 429 ||
	       (s >= 500 && s <= 599 && s != 501);
}

/* Appends s to b with every occurrence of the secrets (the token sent, a
 * JWT or secret ID of the request) replaced by a mark: a server or proxy
 * that quotes them back must not get them into a log line. */
static void sbuf_redacted(struct sbuf *b, const char *s,
                          const char *const *secrets, size_t n_secrets)
{
	const char *hit;
	size_t i, n, at;

	while (*s != '\0') {
		hit = NULL;
		n = 0;
		for (i = 0; i < n_secrets; i++) {
			const char *h;

			if (secrets[i] == NULL || strlen(secrets[i]) < 4)
				continue;
			h = strstr(s, secrets[i]);
			if (h != NULL && (hit == NULL || h < hit)) {
				hit = h;
				n = strlen(secrets[i]);
			}
		}
		at = hit != NULL ? (size_t)(hit - s) : strlen(s);
		sbuf_put(b, s, at);
		if (hit == NULL)
			return;
		sbuf_str(b, "<redacted>");
		s = hit + n;
	}
}

/* "<METHOD> <URL>: <status>: <Vault's errors or an excerpt>". The
 * request's secrets are removed before anything is cut to length. */
int vault_answer_error(const struct call *c, const struct answer *a,
                       struct errbuf *e)
{
	const struct http_response *r = &a->resp;
	const char *secrets[2] = {a->token, c->redact};
	json_object *root = vault_json_parse(r->body, r->body_len);
	json_object *errs = vault_json_get(root, "errors");
	struct sbuf raw = {0};
	struct sbuf b = {0};
	char note[64];
	size_t i, n;

	if (json_object_is_type(errs, json_type_array)) {
		n = json_object_array_length(errs);
		for (i = 0; i < n; i++) {
			json_object *s = json_object_array_get_idx(errs, i);

			if (json_object_is_type(s, json_type_string))
				sbuf_vault_error(&raw,
				                 json_object_get_string(s));
		}
		if (raw.len > 0 && !raw.oom)
			sbuf_redacted(&b, raw.p, secrets, 2);
	} else if (r->body_len > 0 && c->secret) {
		(void)snprintf(note, sizeof(note), "(%s body of %zu bytes)",
		               root != NULL ? "unexpected JSON" : "non-JSON",
		               r->body_len);
		sbuf_str(&b, note);
	} else if (r->body_len > 0) {
		sbuf_redacted(&raw, r->body, secrets, 2);
		if (raw.len > 0 && !raw.oom)
			sbuf_excerpt(&b, raw.p, raw.len);
	}
	errbuf_set(e, "%s %s: %ld%s%s", c->method, a->url, r->status,
	           b.len > 0 && !b.oom ? ": " : "",
	           b.len > 0 && !b.oom ? b.p : "");
	e->status = r->status;
	e->transient = vault_status_transient(r->status);
	vault_wipe_const(raw.p, raw.len);
	vault_wipe_const(b.p, b.len);
	free(raw.p);
	free(b.p);
	vault_json_wipe_put(root);
	return -1;
}

/* An error about an answer that arrived: its status is kept. */
int vault_answer_fail(const struct call *c, const struct answer *a,
                      struct errbuf *e, const char *what)
{
	errbuf_set(e, "%s %s: %ld: %s", c->method, a->url, a->resp.status,
	           what);
	e->status = a->resp.status;
	return -1;
}

void vault_answer_free(struct answer *a)
{
	http_response_free(&a->resp);
	free(a->url);
	a->url = NULL;
}

/* Go's path escaping: unreserved characters, the sub-delimiters Go keeps
 * in paths and '/' stay; everything else is percent-encoded. */
static void sbuf_escaped(struct sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		char enc[3];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-_.~$&+,:;=@", ch)) {
			sbuf_put(b, (const char *)&s[i], 1);
			continue;
		}
		enc[0] = '%';
		enc[1] = hex[ch >> 4];
		enc[2] = hex[ch & 15];
		sbuf_put(b, enc, 3);
	}
}

/*
 * Appends "/v1/<path>" cleaned as Go's path.Join cleans it: empty and "."
 * segments dropped, ".." removes the segment before it (never above
 * /v1), no trailing '/' (Vault adds it for lists).
 */
static int sbuf_path(struct sbuf *b, const char *path)
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
	sbuf_str(b, "/v1");
	for (i = 0; i < n; i++) {
		sbuf_put(b, "/", 1);
		sbuf_escaped(b, seg[i], len[i]);
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
 * highest weight (Go orders by priority and shuffles by weight). Returns
 * 0 with *target set, 1 when the answer holds no usable record, -1 when
 * the lookup failed (h_errno says why). */
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
	if (len < 0)
		return -1;
	if (len < NS_HFIXEDSZ || len > (int)sizeof(ans))
		return 1;
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
		return 1;
	n = (int)strlen(best);
	if (best[n - 1] == '.')
		best[n - 1] = '\0';
	*target = strdup(best);
	*port = best_port;
	return *target != NULL ? 0 : -1;
}

/* With VAULT_SRV_LOOKUP and no port in the address, the host of the
 * address is replaced by the best target of _http._tcp.<host> (*out,
 * malloc'd; NULL when the answer has none). A failed lookup fails the
 * request, as in Go. */
static int srv_addr(const struct vault *v, char **out, struct errbuf *e)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *url = NULL, *target = NULL;
	char num[16];
	unsigned p;
	int rc, ret = 0;

	*out = NULL;
	if (u == NULL ||
	    curl_url_set(u, CURLUPART_URL, v->addr, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	rc = srv_resolve(host, &target, &p);
	if (rc < 0) {
		ret = errbuf_set(e,
		                 "failure making SRV lookup of _http._tcp.%s "
		                 "(VAULT_SRV_LOOKUP): %s",
		                 host, hstrerror(h_errno));
		goto out;
	}
	if (rc > 0)
		goto out;
	(void)snprintf(num, sizeof(num), "%u", p);
	if (curl_url_set(u, CURLUPART_HOST, target, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_PORT, num, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
		goto out;
	*out = strdup(url);
	if (*out == NULL)
		ret = errbuf_set(e, "out of memory");
	else if (strlen(*out) > 0 && (*out)[strlen(*out) - 1] == '/')
		(*out)[strlen(*out) - 1] = '\0';
out:
	free(target);
	curl_free(host);
	curl_free(port);
	curl_free(url);
	curl_url_cleanup(u);
	return ret;
}

/* base + "/v1/" + path (+ "?list=true"); never a "//". */
static int url_build(const struct vault *v, const struct call *c, char **out,
                     struct errbuf *e)
{
	struct sbuf b = {0};
	char *srv = NULL;

	if (v->srv_lookup && !v->via_socket && srv_addr(v, &srv, e) < 0)
		return -1;
	sbuf_str(&b, srv != NULL ? srv : v->addr);
	free(srv);
	if (sbuf_path(&b, c->path) < 0)
		b.oom = true;
	if (c->list)
		sbuf_str(&b, "?list=true");
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
	now = vault_now_ns();
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
	vault_sleep_ns(wait);
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
		int64_t left = deadline != 0 ? deadline - vault_now_ns() : 0;
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
		retry = rc == 0 ? vault_status_transient(resp->status)
		                : e->transient;
		if (!retry || n >= v->max_retries)
			break;
		wait = backoff_ns(v, n, rc == 0 ? resp : NULL);
		if (deadline != 0 && wait >= deadline - vault_now_ns())
			break;
		if (rc == 0)
			http_response_free(resp);
		vault_sleep_ns(wait);
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
		vault_answer_fail(c, a, e,
		                  "redirect without a Location header");
		goto out;
	}
	sbuf_excerpt(&loc, a->resp.location, strlen(a->resp.location));
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
		sbuf_excerpt(&loc, a->resp.location, strlen(a->resp.location));
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
int vault_call(struct vault *v, const struct call *c, struct answer *a,
               struct errbuf *e)
{
	int64_t deadline =
	    v->timeout_ns > 0 ? vault_now_ns() + v->timeout_ns : 0;
	int hops;

	memset(a, 0, sizeof(*a));
	a->token = v->token;
	/* Go would wrap every request; here only the authenticator's login
	 * is, and a helper that sends anything else says so once. */
	if (v->wrap_env && !c->wrap && !v->wrap_warned) {
		v->wrap_warned = true;
		log_msg("WARNING: VAULT_WRAP_TTL is set but applies to the "
		        "authenticator's login only; this helper's requests "
		        "are not wrapped");
	}
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
	vault_answer_free(a);
	return -1;
}
