/* authenticator: log in to Vault and store the token for the pod. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers.h"
#include "log.h"
#include "login.h"
#include "parse.h"
#include "tokenfile.h"
#include "vault.h"

#define TOKEN_MODE_DEFAULT 0640

struct auth_settings {
	const char *token_path;
	mode_t mode;
	bool allow_fail;
	bool force_login;
	struct login_config login;
	struct vault_config vault;
};

static int settings_from_env(struct auth_settings *s, struct errbuf *e)
{
	memset(s, 0, sizeof(*s));
	s->token_path = getenv("VAULT_TOKEN_PATH");
	if (s->token_path == NULL || s->token_path[0] == '\0')
		return errbuf_set(e, "VAULT_TOKEN_PATH: missing (the file to "
		                     "write the Vault token to)");
	if (env_file_mode("VAULT_TOKEN_FILE_MODE", TOKEN_MODE_DEFAULT, &s->mode,
	                  e) < 0)
		return -1;
	if (s->mode & 0002)
		log_msg("WARNING: VAULT_TOKEN_FILE_MODE %04o makes the token "
		        "world-writable",
		        (unsigned)s->mode);
	if (env_bool("ALLOW_FAIL", false, &s->allow_fail, e) < 0 ||
	    env_bool("VAULT_FORCE_LOGIN", false, &s->force_login, e) < 0)
		return -1;
	if (login_config_from_env(&s->login, e) < 0)
		return -1;
	if (vault_config_from_env(&s->vault, e) < 0) {
		login_config_free(&s->login);
		return -1;
	}
	/* LOGIN_TIMEOUT bounds the whole login, retries included. */
	if (s->vault.timeout_ns <= 0 ||
	    s->login.timeout_ns < s->vault.timeout_ns)
		s->vault.timeout_ns = s->login.timeout_ns;
	return 0;
}

static void settings_free(struct auth_settings *s)
{
	login_config_free(&s->login);
	vault_config_free(&s->vault);
}

/* A re-run init container should not mint a new token each time: the
 * token already in the file is kept when login_token_fit says so. Any
 * doubt means a fresh login. */
static bool token_reusable(struct vault *v, const char *path)
{
	struct vault_token_info info;
	struct errbuf e;
	char *token = NULL;
	bool ok = false;

	errbuf_clear(&e);
	if (tokenfile_read(path, &token, &e) != 0)
		goto out;
	if (login_token_fit(v, token, &info, &e) == TOKEN_KEEP) {
		log_msg("reusing vault token at %s, valid for %llds more "
		        "(set VAULT_FORCE_LOGIN=true to log in anyway)",
		        path, (long long)info.ttl);
		ok = true;
	}
out:
	(void)vault_set_token(v, NULL, &e);
	secret_free(token);
	return ok;
}

static int login_failed(const struct auth_settings *s, const char *reason)
{
	if (s->allow_fail) {
		log_msg("authentication failed - ALLOW_FAIL is set therefore "
		        "pod will continue: %s",
		        reason);
		return 0;
	}
	log_msg("authentication failed: %s", reason);
	return 1;
}

int authenticator_main(void)
{
	struct auth_settings s;
	struct vault_auth auth;
	struct vault *v = NULL;
	struct errbuf e;
	int rc = 1;

	memset(&auth, 0, sizeof(auth));
	errbuf_clear(&e);

	/* Configuration: every variable checked before any request. A
	 * configuration error fails even with ALLOW_FAIL. */
	if (settings_from_env(&s, &e) < 0) {
		log_msg("invalid configuration: %s", e.msg);
		return 1;
	}
	v = vault_new(&s.vault, &e);
	if (v == NULL) {
		log_msg("invalid configuration: %s", e.msg);
		goto out;
	}

	/* Reuse a token still good for a while, unless told otherwise. */
	if (!s.force_login && s.vault.wrap_ttl == NULL &&
	    token_reusable(v, s.token_path)) {
		rc = 0;
		goto out;
	}

	/* Login. */
	if (s.vault.wrap_ttl != NULL)
		vault_set_wrap_ttl(v, s.vault.wrap_ttl);
	if (login_do(v, &s.login, &auth, &e) < 0) {
		rc = login_failed(&s, e.msg);
		goto out;
	}
	log_msg("successfully authenticated to vault");
	if (auth.wrapped)
		log_msg("VAULT_WRAP_TTL is set: %s holds a wrapping token "
		        "(TTL %llds) for the application to unwrap",
		        s.token_path, (long long)auth.lease_duration);

	/* Store the token; a failure here is never covered by ALLOW_FAIL,
	 * since a token was minted and the pod expects it. */
	if (tokenfile_write(s.token_path, auth.client_token, s.mode, &e) < 0) {
		log_msg("failed to store vault token: %s", e.msg);
		rc = 1;
		goto out;
	}
	log_msg("successfully stored vault token at %s", s.token_path);
	rc = 0;
out:
	vault_auth_free(&auth);
	vault_free(v);
	settings_free(&s);
	return rc;
}
