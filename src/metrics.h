/* metrics: the long-running helpers' counters, as Prometheus text. */
#ifndef VK_METRICS_H
#define VK_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"
#include "health.h"
#include "http.h"

/* The servers whose requests are counted. */
enum metrics_server { METRICS_VAULT, METRICS_KUBE, METRICS_SERVERS };

/* Which helper's metrics a set shows. */
enum metrics_helper { METRICS_SYNCHRONIZER, METRICS_RENEWER };

/* Monotonic counters; each helper shows its own. */
enum metrics_counter {
	METRICS_CYCLES,        /* cycles run, successful or not */
	METRICS_CYCLES_FAILED, /* cycles that failed */
	METRICS_CREATED,       /* Secrets created */
	METRICS_UPDATED,       /* Secrets updated */
	METRICS_DELETED,       /* obsolete Secrets deleted */
	METRICS_UNCHANGED, /* Secrets a successful cycle left as they were */
	METRICS_RENEWALS,  /* successful token renewals */
	METRICS_RENEWALS_FAILED,
	METRICS_COUNTERS
};

struct metrics;

/* A new, empty set of helper's metrics; NULL when out of memory. */
struct metrics *metrics_new(enum metrics_helper helper);
void metrics_free(struct metrics *m);

/*
 * Serves GET /metrics on addr: on health, the helper's /healthz server,
 * when addr equals health_addr, else on a server of its own put in *own
 * (free with health_stop before metrics_free). Returns 0, or -1 with
 * errbuf naming METRICS_ADDR and what failed.
 */
int metrics_serve(struct metrics *m, const char *addr, struct health *health,
                  const char *health_addr, struct health **own,
                  struct errbuf *e);

/* An observer (http.h) counting each request to server in m; NULL when m
 * is NULL. It lives as long as m. */
const struct http_observer *metrics_observer(struct metrics *m,
                                             enum metrics_server server);

/*
 * The updates below are safe from any thread and do nothing on a NULL m,
 * so callers need not test whether metrics are on.
 */
void metrics_add(struct metrics *m, enum metrics_counter c, uint64_t n);

/* The wall-clock time (Unix seconds) of the last successful cycle, or
 * renewal for the token-renewer. */
void metrics_succeeded(struct metrics *m, double unix_s);

/* Failures in a row since the last successful cycle. */
void metrics_set_failures(struct metrics *m, unsigned n);

/* When the Vault token expires (Unix seconds); 0: unknown or never. The
 * TTL shown is computed from it at each scrape. */
void metrics_set_token_expiry(struct metrics *m, double unix_s);

/* One request to server: its method, HTTP status (0: no answer) and
 * duration in seconds. */
void metrics_request(struct metrics *m, enum metrics_server server,
                     const char *method, long status, double seconds);

/*
 * Renders every metric in the Prometheus text exposition format 0.0.4:
 * malloc'd text of *len bytes, NULL when out of memory. m is a struct
 * metrics *; the signature is health_render_fn's.
 */
char *metrics_render(void *m, size_t *len);

/* The Content-Type of metrics_render's text. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
