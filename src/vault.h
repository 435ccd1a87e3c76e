/* vault: a Vault HTTP client configured like Vault's official Go client. */
#ifndef VK_VAULT_H
#define VK_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "errbuf.h"
#include "http.h"

/* The Go client's environment (api-reference.md part C), parsed. */
struct vault_config {
	char *addr;        /* base URL, no trailing '/', path prefix kept */
	char *unix_socket; /* from unix:// addresses, else NULL */
	char *ca_file, *ca_path, *ca_pem;
	char *client_cert, *client_key;
	char *server_name;
	bool skip_verify;
	int64_t timeout_ns;   /* whole call incl. retries; default 60 s */
	unsigned max_retries; /* default 2 */
	double rate;          /* VAULT_RATE_LIMIT requests/s; 0 = off */
	int burst;
	char *namespace; /* X-Vault-Namespace or NULL */
	char **headers;  /* VAULT_HEADERS as "Name: value" strings */
	size_t n_headers;
	bool srv_lookup;
	bool disable_redirects;
	char *proxy;    /* VAULT_PROXY_ADDR / VAULT_HTTP_PROXY or NULL */
	char *token;    /* VAULT_TOKEN (trimmed) or NULL; a secret */
	char *wrap_ttl; /* VAULT_WRAP_TTL as given (validated) or NULL */
	bool mfa_set;   /* VAULT_MFA was set (it has no effect) */
	bool quiet;     /* make no start-up warnings: an extra client of a run
	                 * whose first client has given them */
	/* Not from the environment: told of each request (http.h); set by
	 * the caller after vault_config_from_env, never freed here. */
	const struct http_observer *observer;
	/* Not from the environment either: shared with the process's other
	 * clients (http.h); set by the caller, never freed here. */
	struct http_share *share;
};

/* Reads and validates every variable before any request is sent. On a
 * malformed value errbuf names the variable and what is accepted (never
 * the value of a secret) and nothing is allocated. */
int vault_config_from_env(struct vault_config *c, struct errbuf *e);
void vault_config_free(struct vault_config *c);

struct vault;

/* Creates a client; c is copied. NULL with errbuf on failure. */
struct vault *vault_new(const struct vault_config *c, struct errbuf *e);
void vault_free(struct vault *v);

/* Sets the token sent as X-Vault-Token (copied). A token with
 * non-printable characters is refused here and never sent. NULL clears. */
int vault_set_token(struct vault *v, const char *token, struct errbuf *e);

/* Wraps the responses of the following logins with this TTL (NULL: off). */
void vault_set_wrap_ttl(struct vault *v, const char *ttl);

/* A token as a login or renewal grants it (the auth block). */
struct vault_auth {
	char *client_token;     /* a secret: freed with vault_auth_free */
	int64_t lease_duration; /* seconds */
	bool renewable;
	bool wrapped;     /* client_token is a wrapping token */
	char *token_type; /* "service" or "batch" or NULL */
	char *warning;    /* first warning of the answer, or NULL */
};
void vault_auth_free(struct vault_auth *a);

/*
 * The request primitives below return 0 on success and -1 on failure
 * with errbuf "<METHOD> <URL>: <status>: <vault errors joined by "; ">"
 * (or the network cause); errbuf.status is the HTTP status. Transient
 * failures (network, 5xx but 501, 429, 412) are retried max_retries
 * times with the Go client's backoff within the client timeout, and a
 * 301/302/307 is followed once (unless disabled). URLs never contain
 * "//" whatever VAULT_ADDR's trailing slash. A 2xx answer that is
 * malformed fails with its status: a token that is not 1 to 8192
 * printable ASCII characters without spaces, a lease, TTL or period that
 * is not a number of seconds within 10 years, a renewal without a
 * positive lease_duration (0 only with Vault's warning that it capped
 * the TTL at the max TTL, as it answers in the last second).
 */
int vault_login_kubernetes(struct vault *v, const char *mount, const char *role,
                           const char *jwt, struct vault_auth *out,
                           struct errbuf *e);
int vault_login_approle(struct vault *v, const char *mount, const char *role_id,
                        const char *secret_id, struct vault_auth *out,
                        struct errbuf *e);

/* PUT auth/token/renew-self {"increment": increment_s}. */
int vault_renew_self(struct vault *v, int64_t increment_s,
                     struct vault_auth *out, struct errbuf *e);

struct vault_token_info {
	int64_t ttl; /* seconds remaining */
	int64_t creation_ttl;
	bool renewable;
	bool periodic; /* has a period */
	int64_t period;
};
int vault_lookup_self(struct vault *v, struct vault_token_info *out,
                      struct errbuf *e);
int vault_revoke_self(struct vault *v, struct errbuf *e);

/*
 * Reads (GET) or lists (GET ?list=true) a logical path such as
 * "secret/data/app". Returns 0 with *data set to the answer's "data"
 * (owned by the caller, json_object_put), 1 when Vault answered 404
 * (then *data is the 404 body's "data" when it carried one, e.g. a
 * deleted KV v2 version, else NULL; *warning gets the first warning or
 * NULL, malloc'd), -1 on any other failure. Numbers keep the text Vault
 * sent (json-c keeps it); an integer beyond 64 bits is refused.
 */
int vault_read(struct vault *v, const char *path, json_object **data,
               char **warning, struct errbuf *e);
int vault_list(struct vault *v, const char *path, json_object **data,
               char **warning, struct errbuf *e);

/* Connections opened so far (for tests through the log and benchmarks). */
long vault_connects(const struct vault *v);

#endif
