/* login: Kubernetes or AppRole login settings and the login itself. */
#include "login.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "tokenfile.h"

#define LOGIN_TIMEOUT_DEFAULT_NS (30LL * 1000000000LL)
#define REUSE_MIN_TTL_S 60

const char *sa_dir(void)
{
	const char *d = getenv("SERVICE_ACCOUNT_DIR");

	return d != NULL && d[0] != '\0' ? d : SA_DIR_DEFAULT;
}

static int env_trimmed(const char *name, char **out, struct errbuf *e)
{
	const char *v = getenv(name);

	*out = NULL;
	if (v == NULL || v[0] == '\0')
		return 0;
	*out = trim_dup(v);
	if (*out == NULL)
		return errbuf_set(e, "out of memory");
	if ((*out)[0] == '\0') {
		free(*out);
		*out = NULL;
	}
	return 0;
}

int login_config_from_env(struct login_config *c, struct errbuf *e)
{
	const char *mount = getenv("VAULT_AUTH_MOUNT_PATH");
	const char *jwt_path = getenv("SERVICE_ACCOUNT_TOKEN_PATH");
	int n;

	memset(c, 0, sizeof(*c));
	if (env_trimmed("VAULT_ROLE", &c->role, e) < 0 ||
	    env_trimmed("VAULT_ROLE_ID", &c->role_id, e) < 0 ||
	    env_trimmed("VAULT_SECRET_ID", &c->secret_id, e) < 0)
		goto fail;

	if ((c->role_id == NULL) != (c->secret_id == NULL)) {
		errbuf_set(e,
		           "VAULT_ROLE_ID and VAULT_SECRET_ID: both must "
		           "be set for AppRole login, only %s is",
		           c->role_id != NULL ? "VAULT_ROLE_ID"
		                              : "VAULT_SECRET_ID");
		goto fail;
	}
	c->approle = c->role_id != NULL;
	if (!c->approle && c->role == NULL) {
		errbuf_set(e, "VAULT_ROLE: missing (the Vault role of the "
		              "Kubernetes auth method; or set VAULT_ROLE_ID "
		              "and VAULT_SECRET_ID for AppRole)");
		goto fail;
	}

	/* The Go version defaults to "kubernetes" even for AppRole, which
	 * no AppRole setup uses; "approle" is the mount Vault suggests. */
	if (mount == NULL || mount[0] == '\0')
		mount = c->approle ? "approle" : "kubernetes";
	c->mount = auth_mount_normalize(mount, e);
	if (c->mount == NULL)
		goto fail;

	if (jwt_path != NULL && jwt_path[0] != '\0') {
		c->jwt_path = strdup(jwt_path);
	} else {
		n = asprintf(&c->jwt_path, "%s/token", sa_dir());
		if (n < 0)
			c->jwt_path = NULL;
	}
	if (c->jwt_path == NULL) {
		errbuf_set(e, "out of memory");
		goto fail;
	}

	if (env_duration("LOGIN_TIMEOUT", LOGIN_TIMEOUT_DEFAULT_NS,
	                 &c->timeout_ns, e) < 0)
		goto fail;
	if (c->timeout_ns <= 0) {
		errbuf_set(e, "LOGIN_TIMEOUT: must be positive");
		goto fail;
	}
	return 0;
fail:
	login_config_free(c);
	return -1;
}

void login_config_free(struct login_config *c)
{
	free(c->role);
	free(c->role_id);
	secret_free(c->secret_id);
	free(c->mount);
	free(c->jwt_path);
	memset(c, 0, sizeof(*c));
}

int login_do(struct vault *v, const struct login_config *c,
             struct vault_auth *out, struct errbuf *e)
{
	char *jwt = NULL;
	int rc;

	if (c->approle)
		return vault_login_approle(v, c->mount, c->role_id,
		                           c->secret_id, out, e);

	/* The JWT file follows the same rules as a token file: trimmed,
	 * printable, not empty. */
	rc = tokenfile_read(c->jwt_path, &jwt, e);
	if (rc != 0) {
		if (rc > 0)
			errbuf_set(e,
			           "service account token %s is missing "
			           "or empty",
			           c->jwt_path);
		else
			errbuf_prefix(e, "read service account token");
		return -1;
	}
	rc = vault_login_kubernetes(v, c->mount, c->role, jwt, out, e);
	secret_free(jwt);
	return rc;
}

enum token_fit login_token_fit(struct vault *v, const char *token,
                               struct vault_token_info *info, struct errbuf *e)
{
	memset(info, 0, sizeof(*info));
	if (vault_set_token(v, token, e) < 0 ||
	    vault_lookup_self(v, info, e) < 0)
		return TOKEN_FAILED;
	if (info->ttl >= REUSE_MIN_TTL_S && info->ttl * 2 >= info->creation_ttl)
		return TOKEN_KEEP;
	return TOKEN_SHORT;
}
