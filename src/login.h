/* login: the authenticator's login settings, shared with the renewer. */
#ifndef VK_LOGIN_H
#define VK_LOGIN_H

#include <stdbool.h>
#include <stdint.h>

#include "errbuf.h"
#include "vault.h"

#define SA_DIR_DEFAULT "/var/run/secrets/kubernetes.io/serviceaccount"

struct login_config {
	bool approle;       /* VAULT_ROLE_ID and VAULT_SECRET_ID both set */
	char *role;         /* VAULT_ROLE */
	char *role_id;      /* trimmed */
	char *secret_id;    /* a secret; trimmed */
	char *mount;        /* normalised VAULT_AUTH_MOUNT_PATH */
	char *jwt_path;     /* SERVICE_ACCOUNT_TOKEN_PATH or <sa_dir>/token */
	int64_t timeout_ns; /* LOGIN_TIMEOUT */
};

/* The service-account directory: SERVICE_ACCOUNT_DIR or the in-cluster
 * default. The string is static or from the environment; do not free. */
const char *sa_dir(void);

/* Reads and validates the login variables. A missing VAULT_ROLE (for
 * Kubernetes auth) or only one of VAULT_ROLE_ID/VAULT_SECRET_ID is an
 * error naming the variables. */
int login_config_from_env(struct login_config *c, struct errbuf *e);
void login_config_free(struct login_config *c);

/* Reads the JWT when needed and logs in. 0 with out filled, -1 with
 * errbuf naming what failed (the JWT file, or Vault's answer). */
int login_do(struct vault *v, const struct login_config *c,
             struct vault_auth *out, struct errbuf *e);

/* What lookup-self says about a token already in the token file. */
enum token_fit {
	TOKEN_FAILED = -1, /* refused or Vault not reached: see errbuf */
	TOKEN_SHORT = 0,   /* valid, but too little life left to keep */
	TOKEN_KEEP = 1,    /* valid with enough life left: no new login */
};

/*
 * The rule that spares a new login (and a new token) when a helper is
 * re-run: a token Vault says is valid with at least half its creation
 * TTL and at least a minute left is kept. Sets the client's token to
 * token (callers that do not keep it clear it) and fills info when Vault
 * answered. TOKEN_FAILED carries errbuf: status 403 for a refused token,
 * transient set when Vault could not be reached.
 */
enum token_fit login_token_fit(struct vault *v, const char *token,
                               struct vault_token_info *info, struct errbuf *e);

#endif
