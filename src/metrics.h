/* metrics: the sidecar's counters, rendered in Prometheus text format. */
#ifndef VK_METRICS_H
#define VK_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* The servers whose requests are counted. */
enum metrics_server { METRICS_VAULT, METRICS_KUBE, METRICS_SERVERS };

/* Monotonic counters of the synchronizer's sidecar mode. */
enum metrics_counter {
	METRICS_CYCLES,        /* cycles run, successful or not */
	METRICS_CYCLES_FAILED, /* cycles that failed */
	METRICS_CREATED,       /* Secrets created */
	METRICS_UPDATED,       /* Secrets updated */
	METRICS_DELETED,       /* obsolete Secrets deleted */
	METRICS_UNCHANGED, /* Secrets a successful cycle left as they were */
	METRICS_COUNTERS
};

struct metrics;

/* A new, empty set of metrics; NULL when out of memory. */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/*
 * The updates below are safe from any thread and do nothing on a NULL m,
 * so callers need not test whether metrics are on.
 */
void metrics_add(struct metrics *m, enum metrics_counter c, uint64_t n);

/* The last successful cycle's wall-clock time (Unix seconds). */
void metrics_sync_succeeded(struct metrics *m, double unix_s);

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
