/* synchronizer: copy Vault KV secrets into Kubernetes Secrets, once (an
 * init container) or every SYNC_INTERVAL (a sidecar). */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "health.h"
#include "helpers.h"
#include "kube.h"
#include "log.h"
#include "login.h"
#include "metrics.h"
#include "parse.h"
#include "sync.h"
#include "sync_checksum.h"
#include "tokenfile.h"
#include "vault.h"
#include "wait.h"

#define ANNOTATION_DEFAULT "vault-secret"
#define CONCURRENCY_DEFAULT 8
#define CONCURRENCY_MAX 64

#define NS_PER_MS 1000000LL
#define INTERVAL_MIN_MS 1000LL
/* Failed cycles in a row after which /healthz reports unhealthy. */
#define FAILURES_UNHEALTHY 3
/* Retries of a failed cycle: from 1 s, doubling, capped at the interval
 * and at 5 minutes, so an outage never slows the normal cadence. */
#define RETRY_FIRST_MS 1000LL
#define RETRY_CAP_MS (5 * 60 * 1000LL)
/* Each wait is the interval (or the backoff) +- 10%, so that the
 * sidecars of many replicas do not reach Vault in step. */
#define JITTER 0.1

/* The sidecar mode's settings; interval_ms 0 means run once. */
struct sidecar_settings {
	int64_t interval_ms;
	const char *health_addr;  /* NULL: no /healthz */
	const char *metrics_addr; /* NULL: no /metrics */
};

/* The sidecar's running state. The write tallies are updated by the
 * Kubernetes client's observer, possibly from several threads. */
struct sidecar {
	const struct sidecar_settings *cfg;
	const char *token_path;
	struct health *health;
	struct health *metrics_server; /* NULL: none, or on /healthz's */
	struct metrics *metrics;       /* NULL when METRICS_ADDR is unset */
	struct http_observer kube_observer;
	atomic_ulong created;
	atomic_ulong updated;
	atomic_ulong deleted;
	unsigned failures; /* consecutive failed cycles */
};

static int sidecar_from_env(struct sidecar_settings *c, struct errbuf *e)
{
	const char *interval = getenv("SYNC_INTERVAL");
	int64_t ns = 0;

	memset(c, 0, sizeof(*c));
	if (interval == NULL || interval[0] == '\0')
		return 0;
	if (parse_go_duration(interval, &ns) < 0 ||
	    ns / NS_PER_MS < INTERVAL_MIN_MS)
		return errbuf_set(e,
		                  "SYNC_INTERVAL: \"%.32s\" is not a Go "
		                  "duration of at least 1s (such as 30s, 5m "
		                  "or 1h30m)",
		                  interval);
	c->interval_ms = ns / NS_PER_MS;
	c->health_addr = getenv("HEALTH_ADDR");
	if (c->health_addr != NULL && c->health_addr[0] == '\0')
		c->health_addr = NULL;
	c->metrics_addr = getenv("METRICS_ADDR");
	if (c->metrics_addr != NULL && c->metrics_addr[0] == '\0')
		c->metrics_addr = NULL;
	return 0;
}

/* SYNC_CHECKSUM_FILE names a file in an existing directory, and not the
 * token's: found before any request rather than after the writes. */
static int checksum_path_check(const struct sync_settings *s, struct errbuf *e)
{
	struct stat a, b;

	if (strcmp(s->checksum_path, s->token_path) == 0 ||
	    (stat(s->checksum_path, &a) == 0 && stat(s->token_path, &b) == 0 &&
	     a.st_dev == b.st_dev && a.st_ino == b.st_ino))
		return errbuf_set(e,
		                  "SYNC_CHECKSUM_FILE: %.256s is the token "
		                  "file VAULT_TOKEN_PATH; the checksum needs a "
		                  "file of its own",
		                  s->checksum_path);
	if (tokenfile_check_path(s->checksum_path, e) < 0)
		return errbuf_prefix(e, "SYNC_CHECKSUM_FILE");
	return 0;
}

static int settings_from_env(struct sync_settings *s,
                             struct sidecar_settings *c, struct errbuf *e)
{
	const char *secrets = getenv("VAULT_SECRETS");
	const char *conc = getenv("SYNCHRONIZER_CONCURRENCY");

	memset(s, 0, sizeof(*s));
	s->token_path = getenv("VAULT_TOKEN_PATH");
	if (s->token_path == NULL || s->token_path[0] == '\0')
		return errbuf_set(e, "VAULT_TOKEN_PATH: missing (the file the "
		                     "authenticator wrote the token to)");
	if (secrets == NULL || secrets[0] == '\0')
		return errbuf_set(e,
		                  "VAULT_SECRETS: missing (a comma-separated "
		                  "list such as secret/app/db,secret/app/"
		                  "web:web-config,secret/shared/)");
	if (sidecar_from_env(c, e) < 0)
		return -1;
	s->prefix = getenv("SECRET_PREFIX");
	if (s->prefix == NULL)
		s->prefix = "";
	s->checksum_path = getenv("SYNC_CHECKSUM_FILE");
	if (s->checksum_path != NULL && s->checksum_path[0] == '\0')
		s->checksum_path = NULL;
	if (s->checksum_path != NULL && checksum_path_check(s, e) < 0)
		return -1;
	s->annotation = getenv("SYNCHRONIZER_ANNOTATION");
	if (s->annotation == NULL || s->annotation[0] == '\0')
		s->annotation = ANNOTATION_DEFAULT;
	if (!k8s_label_key_valid(s->annotation))
		return errbuf_set(e,
		                  "SYNCHRONIZER_ANNOTATION: \"%.64s\" is not "
		                  "a valid annotation key ([prefix/]name, "
		                  "name of at most 63 alphanumerics, '-', "
		                  "'_', '.')",
		                  s->annotation);
	s->concurrency = CONCURRENCY_DEFAULT;
	if (conc != NULL && conc[0] != '\0' &&
	    (parse_uint(conc, CONCURRENCY_MAX, &s->concurrency) < 0 ||
	     s->concurrency == 0))
		return errbuf_set(e,
		                  "SYNCHRONIZER_CONCURRENCY: \"%.16s\" is "
		                  "not a whole number from 1 to %d",
		                  conc, CONCURRENCY_MAX);
	if (mappings_parse(secrets, &s->mappings, &s->n_mappings, e) < 0)
		return -1;
	if (labels_parse(getenv("SYNCHRONIZER_LABELS"), &s->labels,
	                 &s->n_labels, e) < 0)
		return -1;
	return vault_config_from_env(&s->vault, e);
}

static void settings_free(struct sync_settings *s)
{
	mappings_free(s->mappings, s->n_mappings);
	labels_free(s->labels, s->n_labels);
	vault_config_free(&s->vault);
	kube_config_free(&s->kube);
}
/* kc is kept (settings_free frees it): the workers of a run make their
 * clients from it, with the same observer o (NULL: none) and the TLS
 * sessions the Vault clients share too. */
static int connect_kube(struct kube_config *kc, const struct http_observer *o,
                        struct http_share *share, struct kube **k,
                        struct errbuf *e)
{
	if (kube_config_in_cluster(kc, sa_dir(), e) < 0)
		return -1;
	kc->observer = o;
	kc->share = share;
	*k = kube_new(kc, e);
	return *k != NULL ? 0 : -1;
}

/* The rollout signal, after a successful synchronization: the checksum
 * file follows the Secrets' data. */
static int note_checksum(const struct sync_settings *s, const struct plan *p,
                         struct errbuf *e)
{
	bool changed = false;

	if (s->checksum_path == NULL)
		return 0;
	if (sync_checksum_update(s->checksum_path, p, &changed, e) < 0)
		return -1;
	if (changed)
		log_msg("checksum of synchronized secrets written to %s",
		        s->checksum_path);
	return 0;
}

/* The init container's run: read everything, write, exit. */
static int run_once(const struct sync_settings *s, struct kube *k)
{
	struct plan plan = {NULL, 0};
	struct vault *v = NULL;
	struct errbuf e;
	char *token = NULL;
	int rc = 1;
	int t;

	errbuf_clear(&e);
	t = tokenfile_read(s->token_path, &token, &e);
	if (t < 0) {
		log_msg("failed to prepare synchronization of secrets: %s",
		        e.msg);
		goto out;
	}
	if (t > 0) {
		if (sync_check_existing(s, k, &e) < 0) {
			log_msg("failed to synchronize secrets: %s", e.msg);
			goto out;
		}
		log_msg("cannot synchronize secrets - all secrets seems to be "
		        "available therefore pod creation will continue: no "
		        "vault token in %s",
		        s->token_path);
		rc = 0;
		goto out;
	}

	/* Vault: read every secret first, so a failed read writes nothing. */
	v = vault_new(&s->vault, &e);
	if (v == NULL || vault_set_token(v, token, &e) < 0) {
		log_msg("failed to prepare synchronization of secrets: %s",
		        e.msg);
		goto out;
	}
	if (sync_plan_build(s, v, token, &plan, &e) < 0) {
		log_msg("failed to synchronize secrets: %s", e.msg);
		goto out;
	}

	/* Kubernetes writes, then clean-up of obsolete managed Secrets. */
	if (sync_plan_apply(s, k, &plan, &e) < 0 ||
	    note_checksum(s, &plan, &e) < 0) {
		log_msg("failed to synchronize secrets: %s", e.msg);
		goto out;
	}
	log_msg("secrets successfully synchronized");
	rc = 0;
out:
	sync_plan_free(&plan);
	secret_free(token);
	vault_free(v);
	return rc;
}

/* ms spread uniformly over +-JITTER of itself. */
static int64_t jittered(int64_t ms)
{
	return (int64_t)((double)ms *
	                 (1.0 - JITTER + 2.0 * JITTER * wait_random_unit()));
}

/* Kubernetes answers also tell what the cycle wrote: a successful POST
 * created a Secret, a PUT updated one, a DELETE removed one. */
static void kube_seen(void *arg, const char *method, long status,
                      double seconds)
{
	struct sidecar *sc = arg;

	metrics_request(sc->metrics, METRICS_KUBE, method, status, seconds);
	if (status < 200 || status > 299)
		return;
	if (strcmp(method, "POST") == 0) {
		atomic_fetch_add(&sc->created, 1);
		metrics_add(sc->metrics, METRICS_CREATED, 1);
	} else if (strcmp(method, "PUT") == 0) {
		atomic_fetch_add(&sc->updated, 1);
		metrics_add(sc->metrics, METRICS_UPDATED, 1);
	} else if (strcmp(method, "DELETE") == 0) {
		atomic_fetch_add(&sc->deleted, 1);
		metrics_add(sc->metrics, METRICS_DELETED, 1);
	}
}

/* Serves /healthz and /metrics as configured: one server when both use
 * the same address. */
static int sidecar_start(struct sidecar *sc, const struct sidecar_settings *c,
                         struct errbuf *e)
{
	memset(sc, 0, sizeof(*sc));
	sc->cfg = c;
	sc->kube_observer.done = kube_seen;
	sc->kube_observer.arg = sc;
	if (c->health_addr != NULL) {
		sc->health = health_start(c->health_addr, e);
		if (sc->health == NULL)
			return -1;
	}
	if (c->metrics_addr == NULL)
		return 0;
	sc->metrics = metrics_new(METRICS_SYNCHRONIZER);
	if (sc->metrics == NULL)
		return errbuf_set(e, "out of memory");
	return metrics_serve(sc->metrics, c->metrics_addr, sc->health,
	                     c->health_addr, &sc->metrics_server, e);
}

static void sidecar_stop(struct sidecar *sc)
{
	/* The servers first: their threads read the metrics. */
	health_stop(sc->health);
	health_stop(sc->metrics_server);
	metrics_free(sc->metrics);
}

/*
 * A 403 means either a policy that does not cover a path or a token
 * Vault no longer accepts. Looking the token up tells them apart: every
 * valid token may look itself up (Vault's default policy).
 */
static bool token_refused(struct vault *v)
{
	struct vault_token_info info;
	struct errbuf e;

	errbuf_clear(&e);
	return vault_lookup_self(v, &info, &e) < 0 && e.status == 403;
}

/* The token's expiry for /metrics; unknown when the lookup fails. */
static void note_token_ttl(struct sidecar *sc, struct vault *v)
{
	struct vault_token_info info;
	struct errbuf e;

	if (sc->metrics == NULL)
		return;
	errbuf_clear(&e);
	if (vault_lookup_self(v, &info, &e) < 0 ||
	    (info.ttl <= 0 && info.creation_ttl <= 0)) {
		metrics_set_token_expiry(sc->metrics, 0);
		return;
	}
	metrics_set_token_expiry(sc->metrics, (double)time(NULL) + info.ttl);
}

/* Records a good cycle; returns the wait before the next one. */
static int64_t cycle_succeeded(struct sidecar *sc, const struct plan *p)
{
	unsigned long created = atomic_load(&sc->created);
	unsigned long updated = atomic_load(&sc->updated);
	unsigned long wanted = 0;
	unsigned long unchanged;
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->items[i].data != NULL)
			wanted++;
	unchanged = wanted > created + updated ? wanted - created - updated : 0;
	metrics_add(sc->metrics, METRICS_UNCHANGED, unchanged);
	metrics_succeeded(sc->metrics, (double)time(NULL));
	metrics_set_failures(sc->metrics, 0);
	if (sc->failures > 0)
		log_msg("synchronization recovered after %u failed cycles",
		        sc->failures);
	sc->failures = 0;
	log_msg("secrets successfully synchronized: %lu created, %lu "
	        "updated, %lu deleted, %lu unchanged",
	        created, updated, atomic_load(&sc->deleted), unchanged);
	health_set(sc->health, true, NULL);
	return jittered(sc->cfg->interval_ms);
}

/* Records a failed cycle and reports unhealthy when it is time; returns
 * the backoff before the retry. Nothing is deleted by a failed cycle:
 * the plan applies deletions only after a complete, successful read. */
static int64_t cycle_failed(struct sidecar *sc, const struct errbuf *e,
                            bool token_dead)
{
	int64_t cap = sc->cfg->interval_ms < RETRY_CAP_MS ? sc->cfg->interval_ms
	                                                  : RETRY_CAP_MS;
	int64_t wait = RETRY_FIRST_MS;
	char reason[512];
	unsigned i;

	sc->failures++;
	metrics_add(sc->metrics, METRICS_CYCLES_FAILED, 1);
	metrics_set_failures(sc->metrics, sc->failures);
	for (i = 1; i < sc->failures && wait < cap; i++)
		wait *= 2;
	if (wait > cap)
		wait = cap;
	wait = jittered(wait);
	log_msg("failed to synchronize secrets (%u in a row), retrying in "
	        "%lldms: %s",
	        sc->failures, (long long)wait, e->msg);
	if (token_dead) {
		(void)snprintf(reason, sizeof(reason),
		               "no valid vault token in %s (the synchronizer "
		               "cannot log in; the authenticator or "
		               "token-renewer must replace it)",
		               sc->token_path);
		health_set(sc->health, false, reason);
	} else if (sc->failures >= FAILURES_UNHEALTHY) {
		(void)snprintf(
		    reason, sizeof(reason),
		    "%u synchronization cycles failed in a row: %.400s",
		    sc->failures, e->msg);
		health_set(sc->health, false, reason);
	}
	return wait;
}

/* One cycle: the token file again (a renewer may have replaced the
 * token), every mapping again (directories re-listed), then the writes
 * that changed. Returns the wait before the next cycle. */
static int64_t sidecar_cycle(const struct sync_settings *s, struct sidecar *sc,
                             struct kube *k, struct vault *v)
{
	struct plan plan = {NULL, 0};
	struct errbuf e;
	char *token = NULL;
	bool token_dead = false;
	int64_t wait;
	int t;

	errbuf_clear(&e);
	atomic_store(&sc->created, 0);
	atomic_store(&sc->updated, 0);
	atomic_store(&sc->deleted, 0);
	metrics_add(sc->metrics, METRICS_CYCLES, 1);
	t = tokenfile_read(s->token_path, &token, &e);
	if (t > 0) {
		errbuf_set(&e, "no vault token in %s", s->token_path);
		token_dead = true;
	}
	if (t != 0 || vault_set_token(v, token, &e) < 0)
		goto failed;
	if (sync_plan_build(s, v, token, &plan, &e) < 0) {
		token_dead = e.status == 403 && token_refused(v);
		goto failed;
	}
	if (sync_plan_apply(s, k, &plan, &e) < 0 ||
	    note_checksum(s, &plan, &e) < 0)
		goto failed;
	note_token_ttl(sc, v);
	wait = cycle_succeeded(sc, &plan);
	goto out;
failed:
	wait = cycle_failed(sc, &e, token_dead);
out:
	/* The token stays in memory only while a cycle needs it. */
	(void)vault_set_token(v, NULL, &e);
	sync_plan_free(&plan);
	secret_free(token);
	return wait;
}

/* The sidecar: a cycle, then a jittered wait, until SIGTERM or SIGINT.
 * A failure never ends it; returns the exit code. The clients live no
 * longer than the observers they report to. */
static int run_sidecar(struct sync_settings *s,
                       const struct sidecar_settings *c, const sigset_t *sigs)
{
	struct sidecar sc;
	struct sync_pool pool;
	struct kube *k = NULL;
	struct vault *v = NULL;
	struct errbuf e;
	int64_t wait;
	int rc = 1;

	errbuf_clear(&e);
	memset(&pool, 0, sizeof(pool));
	s->pool = &pool;
	if (sidecar_start(&sc, c, &e) < 0)
		goto out;
	sc.token_path = s->token_path;
	if (connect_kube(&s->kube, &sc.kube_observer, s->vault.share, &k, &e) <
	    0)
		goto out;
	s->vault.observer = metrics_observer(sc.metrics, METRICS_VAULT);
	v = vault_new(&s->vault, &e);
	if (v == NULL)
		goto out;
	log_msg("synchronizing secrets every %lldms",
	        (long long)c->interval_ms);
	for (;;) {
		wait = sidecar_cycle(s, &sc, k, v);
		/* LIMITATION: a stop that arrives during a cycle waits for
		 * it to end, which an unresponsive server can delay up to the
		 * clients' timeouts. */
		if (wait_or_signal(sigs, wait))
			break;
	}
	log_msg("signal received - stop execution");
	rc = 0;
out:
	if (rc != 0)
		log_msg("failed to prepare synchronization of secrets: %s",
		        e.msg);
	sync_pool_free(&pool);
	s->pool = NULL;
	vault_free(v);
	kube_free(k);
	s->vault.observer = NULL;
	s->kube.observer = NULL;
	sidecar_stop(&sc);
	return rc;
}

int synchronizer_main(void)
{
	struct sync_settings s;
	struct sidecar_settings c;
	struct http_share *share = NULL;
	struct kube *k = NULL;
	struct errbuf e;
	sigset_t sigs;
	int rc = 1;

	errbuf_clear(&e);

	/* Configuration, all of it, before any request. */
	if (settings_from_env(&s, &c, &e) < 0) {
		log_msg("failed to prepare synchronization of secrets: %s",
		        e.msg);
		settings_free(&s);
		return 1;
	}
	log_msg("Using annotation [ %s ] to detect managed secrets",
	        s.annotation);
#ifdef M_ARENA_MAX
	/* glibc would give each worker thread a malloc arena of its own;
	 * two serve threads that mostly wait on the network, and keep the
	 * peak memory from growing with SYNCHRONIZER_CONCURRENCY (measured
	 * with MALLOC_ARENA_MAX=2: 0.3 to 0.4 MiB less peak RSS at 8
	 * workers over 10 and 1000 secrets). */
	if (s.concurrency > 1)
		(void)mallopt(M_ARENA_MAX, 2);
#endif

	/* The clients of the run resume the TLS sessions of the first
	 * ones: a worker's connection skips the certificate exchange (now
	 * and then one worker does not; tests/e2e/test_sync_tls.py). */
	share = http_share_new(&e);
	if (share == NULL) {
		log_msg("failed to prepare synchronization of secrets: %s",
		        e.msg);
		goto out;
	}
	s.vault.share = share;

	/* The sidecar: SIGTERM and SIGINT are taken only between cycles;
	 * the servers' threads, started later, inherit the mask. */
	if (c.interval_ms > 0) {
		sigemptyset(&sigs);
		sigaddset(&sigs, SIGTERM);
		sigaddset(&sigs, SIGINT);
		if (sigprocmask(SIG_BLOCK, &sigs, NULL) != 0) {
			log_msg("cannot block signals: %s", strerror(errno));
			goto out;
		}
		rc = run_sidecar(&s, &c, &sigs);
		goto out;
	}

	/* The init container: Kubernetes, then one synchronization. */
	if (connect_kube(&s.kube, NULL, s.vault.share, &k, &e) < 0) {
		log_msg("failed to prepare synchronization of secrets: %s",
		        e.msg);
		goto out;
	}
	rc = run_once(&s, k);
out:
	kube_free(k);
	settings_free(&s);
	http_share_free(share);
	return rc;
}
