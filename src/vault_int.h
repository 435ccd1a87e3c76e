/* vault_int: what vault.c, vault_call.c and vault_util.c share; private. */
#ifndef VK_VAULT_INT_H
#define VK_VAULT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "errbuf.h"
#include "http.h"
#include "vault.h"

#define NS_PER_S 1000000000LL
#define NS_PER_MS 1000000LL

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
	bool wrap_env;    /* VAULT_WRAP_TTL was set for this helper */
	bool wrap_warned; /* its "not wrapped here" warning was logged */
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
	bool secret;        /* the answer may hold a token: never quote it */
	const char *redact; /* a secret the request carries (a JWT, a secret
	                     * ID): never echoed in an error, even when Vault
	                     * quotes it back */
	bool wrap;          /* send X-Vault-Wrap-TTL when one is set */
};

/* The final answer of a request and the URL that gave it. */
struct answer {
	struct http_response resp;
	char *url;
	const char *token; /* the token sent (borrowed), redacted from errors */
};

/* A growing string; oom is sticky so that callers check once. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

void sbuf_put(struct sbuf *b, const char *s, size_t n);
void sbuf_str(struct sbuf *b, const char *s);
/* A short printable excerpt of s (at most 200 bytes, "..." when cut). */
void sbuf_excerpt(struct sbuf *b, const char *s, size_t len);
/* Appends one entry of Vault's "errors": a Go multierror text
 * "2 errors occurred:\n\t* a\n\t* b" becomes "a; b". */
void sbuf_vault_error(struct sbuf *b, const char *s);

int64_t vault_now_ns(void);      /* CLOCK_MONOTONIC */
void vault_sleep_ns(int64_t ns); /* restarts after signals */

/* Whether s holds only printable characters (a token may be sent). */
bool vault_printable(const char *s);

/* Parses a whole body as one JSON value, wiping the parser's scratch
 * buffer; NULL when the body is empty, not JSON, or trailing data. */
json_object *vault_json_parse(const char *body, size_t len);
/* Wipes every string of a tree (tokens, JWTs) and releases it. */
void vault_json_wipe_put(json_object *o);
/* Wipes memory json-c hands out as const (its own heap memory). */
void vault_wipe_const(const char *s, size_t len);
/* Member access; NULL when o is not an object or the key is absent. */
json_object *vault_json_get(json_object *o, const char *key);
/* A string member, or NULL when absent or not a string. */
const char *vault_json_str(json_object *o, const char *key);
/* The longest lease, TTL or period taken from an answer: 10 years.
 * Vault's own default max TTL is 32 days; anything beyond 10 years is
 * a broken answer, and the bound keeps millisecond arithmetic far from
 * overflow. */
#define VAULT_SECS_MAX ((int64_t)10 * 365 * 24 * 3600)

/* The longest token taken from an answer: Vault's tokens are under 200
 * bytes (batch tokens a few hundred); 8 KiB leaves room and stays well
 * below the 64 KiB the token file readers accept. */
#define VAULT_TOKEN_MAX 8192
#define VAULT_TOKEN_MAX_S "8192"

/* Seconds: a JSON number (integral part) or a duration string within
 * [0, VAULT_SECS_MAX]. 0 with *out (0 when absent or null); -1 when the
 * member is of another type or out of range. */
int vault_json_secs(json_object *o, const char *key, int64_t *out);
bool vault_json_true(json_object *o, const char *key);
/* The first string of "warnings", malloc'd, or NULL. */
char *vault_first_warning(json_object *root);
/* False when an integer of the tree overflowed 64 bits. */
bool vault_json_ints_fit(json_object *o);
/* True when an object key of the JSON text body (already parsed by
 * json-c, which also takes single-quoted keys) holds an escaped NUL:
 * json-c keeps keys as C strings and would cut "a\u0000b" to "a"
 * without a trace in the parsed tree. */
bool vault_json_nul_in_key(const char *body, size_t len);

/* Statuses the Go client retries: 0, 412, 429, 5xx but 501. */
bool vault_status_transient(long s);

/*
 * Sends one logical request: rate limit, retries, at most one redirect,
 * all within the client timeout. Returns 0 with the final answer (any
 * status but 3xx; free it with vault_answer_free), -1 with errbuf on a
 * transport error or a redirect that cannot be followed.
 */
int vault_call(struct vault *v, const struct call *c, struct answer *a,
               struct errbuf *e);
/* Formats "<METHOD> <URL>: <status>: <errors>" for a non-2xx answer into
 * errbuf (never quoting a body that may hold a token); returns -1. */
int vault_answer_error(const struct call *c, const struct answer *a,
                       struct errbuf *e);
/* "<METHOD> <URL>: <status>: <what>"; returns -1. */
int vault_answer_fail(const struct call *c, const struct answer *a,
                      struct errbuf *e, const char *what);
void vault_answer_free(struct answer *a);

#endif
