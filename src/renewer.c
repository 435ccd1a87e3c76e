/* renewer: keep the token in VAULT_TOKEN_PATH valid for the pod's life. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "helpers.h"
#include "log.h"
#include "login.h"
#include "parse.h"
#include "tokenfile.h"
#include "vault.h"

#define NS_PER_S 1000000000LL
#define NS_PER_MS 1000000LL
#define BACKOFF_FIRST_MS 1000
#define BACKOFF_CAP_MS (5 * 60 * 1000)

struct renew_settings {
	const char *token_path;
	int64_t increment_s;
	bool reauth;
	bool revoke_on_exit;
	mode_t mode; /* for a token file the renewer creates */
	struct login_config login;
	struct vault_config vault;
};

/* What the loop knows about the token it keeps. */
struct renew_state {
	char *token;
	int64_t expiry_ms;  /* monotonic; 0 when unknown */
	int64_t last_lease; /* seconds, for the grace period */
	int64_t grace_ms;
	unsigned failures; /* consecutive transient failures */
};

enum wake { WAKE_TIMEOUT, WAKE_SIGNAL };

static int64_t now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / NS_PER_MS;
}

/* A uniform random fraction in [0, 1). */
static double random_unit(void)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint32_t)now_ms();
	return (double)r / 4294967296.0;
}

/* Sleeps up to ms, returning early when SIGTERM or SIGINT arrives; the
 * signals are blocked for the whole run and collected only here, so no
 * handler ever interrupts a request half-way. */
static enum wake wait_or_signal(const sigset_t *set, int64_t ms)
{
	struct timespec ts;
	int64_t deadline = now_ms() + (ms > 0 ? ms : 0);
	int64_t left;

	for (;;) {
		left = deadline - now_ms();
		if (left < 0)
			left = 0;
		ts.tv_sec = (time_t)(left / 1000);
		ts.tv_nsec = (long)(left % 1000) * NS_PER_MS;
		if (sigtimedwait(set, NULL, &ts) >= 0)
			return WAKE_SIGNAL;
		if (errno == EAGAIN)
			return WAKE_TIMEOUT;
		if (errno != EINTR)
			return WAKE_TIMEOUT;
	}
}

static int settings_from_env(struct renew_settings *s, struct errbuf *e)
{
	const char *mode = getenv("VAULT_TOKEN_FILE_MODE");
	int64_t ttl_ns = 0;
	const char *name;

	memset(s, 0, sizeof(*s));
	s->token_path = getenv("VAULT_TOKEN_PATH");
	if (s->token_path == NULL || s->token_path[0] == '\0')
		return errbuf_set(e, "VAULT_TOKEN_PATH: missing (the token "
		                     "file to keep valid)");
	if (env_duration("VAULT_TTL", 0, &ttl_ns, e) < 0)
		return -1;
	if (ttl_ns < 0)
		return errbuf_set(e, "VAULT_TTL: must not be negative");
	s->increment_s = ttl_ns / NS_PER_S;
	if (env_bool("VAULT_REAUTH", false, &s->reauth, e) < 0 ||
	    env_bool("VAULT_REVOKE_ON_EXIT", false, &s->revoke_on_exit, e) < 0)
		return -1;
	s->mode = 0640;
	if (mode != NULL && mode[0] != '\0' && parse_mode(mode, &s->mode) < 0)
		return errbuf_set(e,
		                  "VAULT_TOKEN_FILE_MODE: \"%.16s\" is not "
		                  "an octal file mode such as 0640",
		                  mode);
	/* LIMITATION: the health and metrics endpoints are not built yet;
	 * refusing them beats a probe that can never succeed. */
	name = getenv("HEALTH_ADDR") != NULL && getenv("HEALTH_ADDR")[0]
	           ? "HEALTH_ADDR"
	       : getenv("METRICS_ADDR") != NULL && getenv("METRICS_ADDR")[0]
	           ? "METRICS_ADDR"
	           : NULL;
	if (name != NULL)
		return errbuf_set(e,
		                  "%s: not supported by this version; "
		                  "unset it",
		                  name);
	if (s->reauth && login_config_from_env(&s->login, e) < 0)
		return errbuf_prefix(e, "VAULT_REAUTH is set but the login "
		                        "settings are incomplete");
	return vault_config_from_env(&s->vault, e);
}

static void settings_free(struct renew_settings *s)
{
	login_config_free(&s->login);
	vault_config_free(&s->vault);
}

/* The mode of the existing token file is kept when a new token replaces
 * it, so the application's access does not change under it. */
static mode_t token_mode(const struct renew_settings *s)
{
	struct stat st;

	if (stat(s->token_path, &st) == 0 && S_ISREG(st.st_mode))
		return st.st_mode & 07777;
	return s->mode;
}

static int use_token(struct vault *v, struct renew_state *st, char *token,
                     struct errbuf *e)
{
	if (vault_set_token(v, token, e) < 0) {
		secret_free(token);
		return -1;
	}
	secret_free(st->token);
	st->token = token;
	st->expiry_ms = 0;
	st->last_lease = 0;
	st->grace_ms = 0;
	return 0;
}

/* Logs in and replaces the token file. */
static int relogin(const struct renew_settings *s, struct vault *v,
                   struct renew_state *st, struct errbuf *e)
{
	struct vault_auth auth;
	char *token;

	memset(&auth, 0, sizeof(auth));
	if (login_do(v, &s->login, &auth, e) < 0)
		return errbuf_prefix(e, "login to vault");
	if (tokenfile_write(s->token_path, auth.client_token, token_mode(s),
	                    e) < 0) {
		vault_auth_free(&auth);
		return errbuf_prefix(e, "store the new token");
	}
	token = auth.client_token;
	auth.client_token = NULL;
	vault_auth_free(&auth);
	if (use_token(v, st, token, e) < 0)
		return -1;
	log_msg("logged in to vault again and stored the new token at %s",
	        s->token_path);
	return 0;
}

/* Picks up a token written into the file by the application or an
 * operator since the last renewal. */
static void reload_token(const struct renew_settings *s, struct vault *v,
                         struct renew_state *st)
{
	struct errbuf e;
	char *token = NULL;

	errbuf_clear(&e);
	if (tokenfile_read(s->token_path, &token, &e) != 0)
		return;
	if (st->token != NULL && strcmp(token, st->token) == 0) {
		secret_free(token);
		return;
	}
	if (use_token(v, st, token, &e) == 0)
		log_msg("token file %s changed; renewing the new token",
		        s->token_path);
}

/* Vault's lifetime watcher: grace is 10-20% of the lease, recomputed
 * only while the lease grows; renew at 2/3 of the lease plus 1/3 grace. */
static int64_t schedule(const struct renew_settings *s, struct renew_state *st,
                        int64_t lease_s)
{
	int64_t m = lease_s;

	if (s->increment_s > 0 && s->increment_s < m)
		m = s->increment_s;
	if (lease_s > st->last_lease)
		st->grace_ms = (int64_t)(m * 100.0 * (1.0 + random_unit()));
	st->last_lease = lease_s;
	st->expiry_ms = now_ms() + lease_s * 1000;
	return lease_s * 1000 * 2 / 3 + st->grace_ms / 3;
}

/* Backoff before retry n: exponential from 1 s, capped at 5 min and at a
 * third of the token's remaining life, with +-50% jitter. */
static int64_t backoff_ms(const struct renew_state *st)
{
	int64_t wait = BACKOFF_FIRST_MS;
	int64_t left;
	unsigned i;

	for (i = 1; i < st->failures && wait < BACKOFF_CAP_MS; i++)
		wait *= 2;
	if (wait > BACKOFF_CAP_MS)
		wait = BACKOFF_CAP_MS;
	if (st->expiry_ms > 0) {
		left = st->expiry_ms - now_ms();
		if (left / 3 < wait)
			wait = left / 3;
	}
	if (wait < 100)
		wait = 100;
	return (int64_t)(wait * (0.5 + random_unit()));
}

static bool expired(const struct renew_state *st)
{
	return st->expiry_ms > 0 && now_ms() >= st->expiry_ms;
}

/*
 * The renewal loop. Returns the exit code: 0 when stopped by a signal, 1
 * when the token cannot be kept valid.
 */
static int renew_loop(const struct renew_settings *s, struct vault *v,
                      struct renew_state *st, const sigset_t *sigs)
{
	struct vault_auth auth;
	struct errbuf e;
	int64_t sleep_ms;
	int64_t lease;

	log_msg("start renewer loop");
	for (;;) {
		reload_token(s, v, st);
		memset(&auth, 0, sizeof(auth));
		errbuf_clear(&e);
		if (vault_renew_self(v, s->increment_s, &auth, &e) == 0) {
			st->failures = 0;
			log_msg("token renewed");
			lease = auth.lease_duration;
			vault_auth_free(&auth);
			sleep_ms = schedule(s, st, lease);
			if (lease * 1000 > 4 * st->grace_ms)
				goto sleep;
			/* The lease stopped growing: the max TTL is near. */
			if (!s->reauth) {
				log_msg("token reaches its max TTL in %llds "
				        "and VAULT_REAUTH is off; keeping it "
				        "until it expires",
				        (long long)(st->expiry_ms - now_ms()) /
				            1000);
				goto wait_expiry;
			}
			log_msg("token reaches its max TTL in %llds; logging "
			        "in again",
			        (long long)(st->expiry_ms - now_ms()) / 1000);
			goto login;
		}
		vault_auth_free(&auth);

		if (e.transient && !expired(st)) {
			st->failures++;
			sleep_ms = backoff_ms(st);
			log_msg("token renewal failed, retrying in %lldms: %s",
			        (long long)sleep_ms, e.msg);
			goto sleep;
		}
		log_msg("token renewal failed: %s", e.msg);
		if (!s->reauth) {
			if (e.status == 400 && !expired(st) &&
			    st->expiry_ms > 0)
				goto wait_expiry;
			log_msg("the token cannot be kept valid and "
			        "VAULT_REAUTH is off");
			return 1;
		}
	login:
		errbuf_clear(&e);
		if (relogin(s, v, st, &e) == 0)
			continue;
		st->failures++;
		sleep_ms = backoff_ms(st);
		log_msg("re-authentication failed, retrying in %lldms: %s",
		        (long long)sleep_ms, e.msg);
	sleep:
		if (wait_or_signal(sigs, sleep_ms) == WAKE_SIGNAL)
			return 0;
		continue;
	wait_expiry:
		if (wait_or_signal(sigs, st->expiry_ms - now_ms()) ==
		    WAKE_SIGNAL)
			return 0;
		log_msg("token expired");
		return 1;
	}
}

/* Loads the token; with VAULT_REAUTH a missing one means a login first. */
static int load_token(const struct renew_settings *s, struct vault *v,
                      struct renew_state *st, struct errbuf *e)
{
	char *token = NULL;
	int rc;

	rc = tokenfile_read(s->token_path, &token, e);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return use_token(v, st, token, e);
	if (!s->reauth)
		return errbuf_set(e,
		                  "no vault token in %s (set VAULT_REAUTH"
		                  "=true to log in when it is missing)",
		                  s->token_path);
	return relogin(s, v, st, e);
}

int renewer_main(void)
{
	struct renew_settings s;
	struct renew_state st;
	struct vault *v = NULL;
	struct errbuf e;
	sigset_t sigs;
	int rc = 1;

	memset(&st, 0, sizeof(st));
	errbuf_clear(&e);

	/* SIGTERM and SIGINT are taken only where the loop waits. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) != 0) {
		log_msg("cannot block signals: %s", strerror(errno));
		return 1;
	}

	/* Configuration. */
	if (settings_from_env(&s, &e) < 0) {
		log_msg("invalid configuration: %s", e.msg);
		settings_free(&s);
		return 1;
	}
	if (s.vault.wrap_ttl != NULL)
		log_msg("WARNING: VAULT_WRAP_TTL applies to the "
		        "authenticator's login only; the token-renewer does "
		        "not wrap its requests");

	/* Vault and the token. */
	v = vault_new(&s.vault, &e);
	if (v == NULL || load_token(&s, v, &st, &e) < 0) {
		log_msg("token-renewer cannot start: %s", e.msg);
		goto out;
	}

	/* Renew until stopped. */
	rc = renew_loop(&s, v, &st, &sigs);
	if (rc == 0) {
		log_msg("signal received - stop execution");
		if (s.revoke_on_exit) {
			if (vault_revoke_self(v, &e) < 0)
				log_msg("revoke token: %s", e.msg);
			else
				log_msg("token revoked");
		}
	}
out:
	secret_free(st.token);
	vault_free(v);
	settings_free(&s);
	return rc;
}
