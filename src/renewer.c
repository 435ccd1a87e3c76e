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

#include "health.h"
#include "helpers.h"
#include "log.h"
#include "login.h"
#include "metrics.h"
#include "parse.h"
#include "tokenfile.h"
#include "vault.h"
#include "wait.h"

#define NS_PER_S 1000000000LL
#define NS_PER_MS 1000000LL
#define BACKOFF_FIRST_MS 1000
#define BACKOFF_FLOOR_MS 100
/* Retry caps: a live token bounds waits by its own life; without one
 * (expired, unknown, never logged in) the pod is waiting for us. */
#define BACKOFF_CAP_MS (5 * 60 * 1000)
#define BACKOFF_DEAD_CAP_MS (60 * 1000)

struct renew_settings {
	const char *token_path;
	const char *health_addr;  /* NULL: no /healthz */
	const char *metrics_addr; /* NULL: no /metrics */
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
	int64_t expiry_ms;  /* monotonic; 0 when unknown, or no TTL at all
	                       for a token known not to be renewable */
	int64_t last_lease; /* seconds, for the grace period */
	int64_t grace_ms;
	unsigned failures; /* consecutive failures of the current step */
	bool renewable;    /* false: never renew, log in or wait it out */
	struct health *health;
	struct health *metrics_server; /* NULL: none, or on /healthz's */
	struct metrics *metrics;       /* NULL when METRICS_ADDR is unset */
};

/* The loop's next step and how long to sleep before it. */
enum step { DO_RENEW, DO_LOGIN, DO_EXPIRE, DO_IDLE, DO_FAIL };
struct plan {
	enum step step;
	int64_t wait_ms; /* WAIT_FOREVER: until a signal */
};

static struct plan plan(enum step step, int64_t wait_ms)
{
	struct plan p = {step, wait_ms};

	return p;
}

static int settings_from_env(struct renew_settings *s, struct errbuf *e)
{
	int64_t ttl_ns = 0;

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
	if (env_file_mode("VAULT_TOKEN_FILE_MODE", 0640, &s->mode, e) < 0)
		return -1;
	if (s->mode & 0002)
		log_msg("WARNING: VAULT_TOKEN_FILE_MODE %04o makes the token "
		        "world-writable",
		        (unsigned)s->mode);
	s->health_addr = getenv("HEALTH_ADDR");
	if (s->health_addr != NULL && s->health_addr[0] == '\0')
		s->health_addr = NULL;
	s->metrics_addr = getenv("METRICS_ADDR");
	if (s->metrics_addr != NULL && s->metrics_addr[0] == '\0')
		s->metrics_addr = NULL;
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
		return st.st_mode & 0777;
	return s->mode;
}

/* Makes token (owned from here on) the one the loop keeps; nothing is
 * known about it until Vault answers for it. */
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
	st->renewable = true;
	return 0;
}

static bool expired(const struct renew_state *st)
{
	return st->expiry_ms > 0 && wait_now_ms() >= st->expiry_ms;
}

/* A token believed valid for a known while yet. */
static bool alive(const struct renew_state *st)
{
	return st->token != NULL && st->expiry_ms > 0 && !expired(st);
}

static long long seconds_left(const struct renew_state *st)
{
	int64_t left = st->expiry_ms - wait_now_ms();

	return left > 0 ? (long long)(left / 1000) : 0;
}

/* Takes what lookup-self said: the remaining TTL and renewability. A
 * TTL and creation TTL of 0 mean a token that never expires. */
static void apply_info(struct renew_state *st,
                       const struct vault_token_info *info)
{
	st->renewable = info->renewable;
	st->expiry_ms = 0;
	if (info->ttl > 0 || info->creation_ttl > 0)
		st->expiry_ms = wait_now_ms() + info->ttl * 1000;
}

static int learn_ttl(struct vault *v, struct renew_state *st)
{
	struct vault_token_info info;
	struct errbuf e;

	errbuf_clear(&e);
	if (vault_lookup_self(v, &info, &e) < 0)
		return -1;
	apply_info(st, &info);
	return 0;
}

/* Picks up a token written into the file by the application or an
 * operator since the last look. Returns true when the token changed. */
static bool reload_token(const struct renew_settings *s, struct vault *v,
                         struct renew_state *st)
{
	struct errbuf e;
	char *token = NULL;

	errbuf_clear(&e);
	if (tokenfile_read(s->token_path, &token, &e) != 0)
		return false;
	if (st->token != NULL && strcmp(token, st->token) == 0) {
		secret_free(token);
		return false;
	}
	if (use_token(v, st, token, &e) < 0)
		return false;
	log_msg("token file %s changed; renewing the new token", s->token_path);
	return true;
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
		st->grace_ms =
		    (int64_t)(m * 100.0 * (1.0 + wait_random_unit()));
	st->last_lease = lease_s;
	st->expiry_ms = wait_now_ms() + lease_s * 1000;
	return lease_s * 1000 * 2 / 3 + st->grace_ms / 3;
}

/* Backoff before retry n: exponential from 1 s with +-50% jitter, capped
 * at 5 min and a third of a live token's remaining life, else at 1 min. */
static int64_t backoff_ms(const struct renew_state *st)
{
	int64_t cap = alive(st) ? BACKOFF_CAP_MS : BACKOFF_DEAD_CAP_MS;
	int64_t wait = BACKOFF_FIRST_MS;
	unsigned i;

	for (i = 1; i < st->failures && wait < cap; i++)
		wait *= 2;
	if (wait > cap)
		wait = cap;
	if (alive(st) && (st->expiry_ms - wait_now_ms()) / 3 < wait)
		wait = (st->expiry_ms - wait_now_ms()) / 3;
	if (wait < BACKOFF_FLOOR_MS)
		wait = BACKOFF_FLOOR_MS;
	return (int64_t)(wait * (0.5 + wait_random_unit()));
}

static struct plan to_login(struct renew_state *st, int64_t wait_ms)
{
	st->failures = 0;
	return plan(DO_LOGIN, wait_ms);
}

/* A token that cannot be renewed: log in before it expires when allowed,
 * otherwise say so once and keep it until it expires. */
static struct plan not_renewable(const struct renew_settings *s,
                                 struct renew_state *st)
{
	int64_t left = st->expiry_ms - wait_now_ms();

	if (st->expiry_ms == 0) {
		log_msg("token has no TTL and needs no renewal");
		health_set(st->health, true, NULL);
		return plan(DO_IDLE, WAIT_FOREVER);
	}
	if (left < 0)
		left = 0;
	if (s->reauth) {
		log_msg("token is not renewable; logging in again in %llds, "
		        "before it expires in %llds",
		        (long long)(left * 2 / 3 / 1000),
		        (long long)(left / 1000));
		health_set(st->health, true, NULL);
		return to_login(st, left * 2 / 3);
	}
	log_msg("token is not renewable and VAULT_REAUTH is off; keeping it "
	        "until it expires in %llds",
	        (long long)(left / 1000));
	health_set(st->health, false,
	           "token is not renewable and VAULT_REAUTH is off");
	return plan(DO_EXPIRE, left);
}

/* The lease stopped growing: the token dies at its max TTL. */
static struct plan max_ttl_reached(const struct renew_settings *s,
                                   struct renew_state *st)
{
	if (s->reauth) {
		log_msg("token reaches its max TTL in %llds; logging in again",
		        seconds_left(st));
		health_set(st->health, true, NULL);
		return to_login(st, 0);
	}
	log_msg("token reaches its max TTL in %llds and VAULT_REAUTH is off; "
	        "keeping it until it expires",
	        seconds_left(st));
	health_set(st->health, false,
	           "token reaches its max TTL and VAULT_REAUTH is off");
	return plan(DO_EXPIRE, st->expiry_ms - wait_now_ms());
}

static struct plan renewed(const struct renew_settings *s,
                           struct renew_state *st, int64_t lease_s)
{
	int64_t sleep_ms;

	st->failures = 0;
	log_msg("token renewed");
	sleep_ms = schedule(s, st, lease_s);
	if (lease_s * 1000 <= 4 * st->grace_ms)
		return max_ttl_reached(s, st);
	health_set(st->health, true, NULL);
	return plan(DO_RENEW, sleep_ms);
}

/* Transient failures are retried while the token lives; a 400 means a
 * token that cannot be renewed; anything else ends the token. */
static struct plan renew_failed(const struct renew_settings *s, struct vault *v,
                                struct renew_state *st, const struct errbuf *e)
{
	int64_t wait;

	/* As Vault's lifetime watcher: only a definitive answer (403, or a
	 * 400 such as "lease is not renewable") ends the token; anything
	 * else, a malformed answer included, is retried until expiry. */
	if (e->status != 403 && e->status != 400 && !expired(st)) {
		st->failures++;
		wait = backoff_ms(st);
		log_msg("token renewal failed, retrying in %lldms: %s",
		        (long long)wait, e->msg);
		return plan(DO_RENEW, wait);
	}
	log_msg("token renewal failed: %s", e->msg);
	if (expired(st))
		log_msg("token expired");
	if (e->status == 400 && learn_ttl(v, st) == 0 && !st->renewable)
		return not_renewable(s, st);
	health_set(st->health, false, "token expired or refused by vault");
	if (s->reauth)
		return to_login(st, 0);
	log_msg("the token cannot be kept valid and VAULT_REAUTH is off");
	return plan(DO_FAIL, 0);
}

static struct plan renew_step(const struct renew_settings *s, struct vault *v,
                              struct renew_state *st)
{
	struct vault_auth auth;
	struct errbuf e;
	int64_t lease;
	int rc;

	(void)reload_token(s, v, st);
	if (!st->renewable)
		return not_renewable(s, st);
	memset(&auth, 0, sizeof(auth));
	errbuf_clear(&e);
	rc = vault_renew_self(v, s->increment_s, &auth, &e);
	lease = auth.lease_duration;
	vault_auth_free(&auth);
	metrics_add(st->metrics,
	            rc < 0 ? METRICS_RENEWALS_FAILED : METRICS_RENEWALS, 1);
	if (rc < 0)
		return renew_failed(s, v, st, &e);
	metrics_succeeded(st->metrics, (double)time(NULL));
	return renewed(s, st, lease);
}

/* Logs in and replaces the token file; *auth keeps the lease facts. */
static int relogin(const struct renew_settings *s, struct vault *v,
                   struct renew_state *st, struct vault_auth *auth,
                   struct errbuf *e)
{
	char *token;

	if (login_do(v, &s->login, auth, e) < 0)
		return errbuf_prefix(e, "login to vault");
	if (tokenfile_write(s->token_path, auth->client_token, token_mode(s),
	                    e) < 0)
		return errbuf_prefix(e, "store the new token");
	token = auth->client_token;
	auth->client_token = NULL;
	return use_token(v, st, token, e);
}

static struct plan login_step(const struct renew_settings *s, struct vault *v,
                              struct renew_state *st)
{
	struct vault_auth auth;
	struct errbuf e;
	int64_t wait;
	int rc;

	if (reload_token(s, v, st))
		return plan(DO_RENEW, 0);
	memset(&auth, 0, sizeof(auth));
	errbuf_clear(&e);
	rc = relogin(s, v, st, &auth, &e);
	if (rc < 0) {
		vault_auth_free(&auth);
		st->failures++;
		wait = backoff_ms(st);
		log_msg("re-authentication failed, retrying in %lldms: %s",
		        (long long)wait, e.msg);
		if (!alive(st))
			health_set(st->health, false,
			           "no valid token: login to vault failed");
		return plan(DO_LOGIN, wait);
	}
	st->failures = 0;
	st->renewable = auth.renewable;
	wait = schedule(s, st, auth.lease_duration);
	vault_auth_free(&auth);
	if (!st->renewable) {
		log_msg("logged in to vault again and stored the new token at "
		        "%s",
		        s->token_path);
		return not_renewable(s, st);
	}
	log_msg("logged in to vault again and stored the new token at %s; "
	        "next renewal in %llds",
	        s->token_path, (long long)(wait / 1000));
	health_set(st->health, true, NULL);
	return plan(DO_RENEW, wait);
}

/* The token's end: a token written by hand meanwhile gets a chance. */
static struct plan expiry_step(const struct renew_settings *s, struct vault *v,
                               struct renew_state *st)
{
	if (reload_token(s, v, st))
		return plan(DO_RENEW, 0);
	log_msg("token expired");
	health_set(st->health, false, "token expired");
	return plan(DO_FAIL, 0);
}

/*
 * The renewal loop: sleep until the next step is due, do it, plan the
 * next. Returns the exit code: 0 when stopped by a signal, 1 when the
 * token cannot be kept valid.
 */
static int renew_loop(const struct renew_settings *s, struct vault *v,
                      struct renew_state *st, const sigset_t *sigs,
                      struct plan p)
{
	log_msg("start renewer loop");
	for (;;) {
		if (p.step == DO_FAIL)
			return 1;
		/* LIMITATION: a signal that arrives during a request is
		 * taken when the request ends, up to VAULT_CLIENT_TIMEOUT
		 * later; the transport offers no way to abandon a request. */
		if (wait_or_signal(sigs, p.wait_ms))
			return 0;
		switch (p.step) {
		case DO_RENEW:
			p = renew_step(s, v, st);
			break;
		case DO_LOGIN:
			p = login_step(s, v, st);
			break;
		case DO_EXPIRE:
			p = expiry_step(s, v, st);
			break;
		case DO_IDLE:
		case DO_FAIL:
			break;
		}
		metrics_set_token_expiry(
		    st->metrics, alive(st)
		                     ? (double)time(NULL) +
		                           (st->expiry_ms - wait_now_ms()) / 1e3
		                     : 0);
	}
}

/*
 * Loads the token and chooses the first step. A missing token means a
 * login first (with VAULT_REAUTH). A token in the file is kept, with no
 * new login, unless it cannot be renewed and has too little life left by
 * login_token_fit's rule; a renewable one is renewed at once, as in the
 * Go version, which gives it back its full TTL.
 */
static int first_step(const struct renew_settings *s, struct vault *v,
                      struct renew_state *st, struct plan *p, struct errbuf *e)
{
	struct vault_token_info info;
	struct errbuf lookup;
	char *token = NULL;
	int rc;

	*p = plan(DO_RENEW, 0);
	rc = tokenfile_read(s->token_path, &token, e);
	if (rc < 0)
		return -1;
	if (rc > 0 && !s->reauth)
		return errbuf_set(e,
		                  "no vault token in %s (set VAULT_REAUTH"
		                  "=true to log in when it is missing)",
		                  s->token_path);
	if (rc > 0) {
		*p = plan(DO_LOGIN, 0);
		return 0;
	}
	if (use_token(v, st, token, e) < 0)
		return -1;

	/* Vault unreachable or the token refused: the first renewal
	 * retries or reports it. */
	errbuf_clear(&lookup);
	rc = login_token_fit(v, st->token, &info, &lookup);
	if (rc == TOKEN_FAILED)
		return 0;
	apply_info(st, &info);
	if (rc == TOKEN_SHORT && !st->renewable && s->reauth &&
	    st->expiry_ms > 0)
		*p = plan(DO_LOGIN, 0);
	return 0;
}

int renewer_main(void)
{
	struct renew_settings s;
	struct renew_state st;
	struct vault *v = NULL;
	struct plan first;
	struct errbuf e;
	sigset_t sigs;
	int rc = 1;

	memset(&st, 0, sizeof(st));
	errbuf_clear(&e);

	/* SIGTERM and SIGINT are taken only where the loop waits; threads
	 * started later (the health endpoint's) inherit the mask. */
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
	/* The probe endpoint, unhealthy until the token is known good. */
	if (s.health_addr != NULL) {
		st.health = health_start(s.health_addr, &e);
		if (st.health == NULL) {
			/* HEALTH_ADDR's syntax, resolution or bind. */
			log_msg("invalid configuration: %s", e.msg);
			goto out;
		}
	}

	/* Metrics, beside /healthz or on an address of their own. */
	if (s.metrics_addr != NULL) {
		st.metrics = metrics_new(METRICS_RENEWER);
		if (st.metrics == NULL) {
			log_msg("token-renewer cannot start: out of memory");
			goto out;
		}
		if (metrics_serve(st.metrics, s.metrics_addr, st.health,
		                  s.health_addr, &st.metrics_server, &e) < 0) {
			log_msg("invalid configuration: %s", e.msg);
			goto out;
		}
		s.vault.observer = metrics_observer(st.metrics, METRICS_VAULT);
	}

	/* Vault and the token. */
	v = vault_new(&s.vault, &e);
	if (v == NULL || first_step(&s, v, &st, &first, &e) < 0) {
		log_msg("token-renewer cannot start: %s", e.msg);
		goto out;
	}

	/* Renew until stopped. */
	rc = renew_loop(&s, v, &st, &sigs, first);
	if (rc == 0) {
		log_msg("signal received - stop execution");
		if (s.revoke_on_exit && st.token != NULL) {
			if (vault_revoke_self(v, &e) < 0)
				log_msg("revoke token: %s", e.msg);
			else
				log_msg("token revoked");
		}
	}
out:
	health_stop(st.health);
	health_stop(st.metrics_server);
	secret_free(st.token);
	vault_free(v);
	metrics_free(st.metrics);
	settings_free(&s);
	return rc;
}
