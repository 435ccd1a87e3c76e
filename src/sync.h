/* sync: the synchronizer's plan (read from Vault) and its application. */
#ifndef VK_SYNC_H
#define VK_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "errbuf.h"
#include "kube.h"
#include "parse.h"
#include "vault.h"

/* Worker clients a sidecar keeps from one run to the next, so that their
 * connections stay alive between cycles. Worker 0 always uses the
 * caller's own client; vault[i] and kube[i] serve worker i + 1. */
struct sync_pool {
	struct vault **vault;
	size_t n_vault;
	struct kube **kube;
	size_t n_kube;
};

/* Frees the pool's clients (the pool itself is the caller's). */
void sync_pool_free(struct sync_pool *pool);

struct sync_settings {
	const char *token_path;
	const char *prefix;
	const char *annotation;
	const char *checksum_path; /* SYNC_CHECKSUM_FILE; NULL: none */
	struct mapping *mappings;
	size_t n_mappings;
	struct label *labels;
	size_t n_labels;
	uint64_t concurrency;
	/* What the clients of concurrent requests are made from: vault is
	 * read from the environment; kube is filled by the caller once it
	 * has connected (zeroed: every Kubernetes request on one client). */
	struct vault_config vault;
	struct kube_config kube;
	/* NULL: worker clients are made for one run and freed after it */
	struct sync_pool *pool;
};

/* A Secret's data as a plan holds it: one block (wiped when freed)
 * with the pairs sorted by key in byte order, each value base64 as the
 * API takes it. One small block a secret, where a json-c object costs a
 * hash table of its own (about 640 bytes) before any key is added. */
struct secret_pair {
	const char *key;
	const char *value;
};

struct secret_data {
	size_t n;
	size_t size; /* bytes of the whole block */
	struct secret_pair pairs[];
};

/* Packs n pairs (keys distinct) into a new block, sorted by key; NULL
 * when out of memory. */
struct secret_data *secret_data_new(size_t n, const char *const *keys,
                                    const char *const *values);
void secret_data_free(struct secret_data *d);

/* One Kubernetes Secret this run wants, from one Vault secret. */
struct wanted {
	char *name;               /* final name, prefix applied */
	char *source;             /* Vault API path read, annotation value */
	struct secret_data *data; /* NULL: missing in Vault */
	bool ignored; /* set by sync_plan_apply: the Secret exists and
	               * is not ours, so it was left alone */
};

struct plan {
	struct wanted *items;
	size_t n;
};

void sync_plan_free(struct plan *p);

/* The last segment of a Vault path: the default Secret name. */
const char *sync_path_base(const char *path);

/* The prefixed Kubernetes name for base, validated as a DNS-1123
 * subdomain; malloc'd, NULL with errbuf when invalid. */
char *sync_secret_name(const struct sync_settings *s, const char *base,
                       struct errbuf *e);

/*
 * Reads every mapping from Vault into p (empty on entry), in
 * VAULT_SECRETS order, before anything is written; names are validated
 * and duplicates refused. Mounts are resolved and directories listed on
 * v; the secrets are then read on up to s->concurrency clients at once:
 * v and clients made from s->vault with token (the token v carries; NULL
 * keeps every read on v). Log lines come out in VAULT_SECRETS order, as
 * if the reads had run one after another; on failure the first failing
 * mapping's error is in e and p holds what was read before it.
 */
int sync_plan_build(const struct sync_settings *s, struct vault *v,
                    const char *token, struct plan *p, struct errbuf *e);

/*
 * Lists the namespace's Secrets once, writes the plan (create, update
 * when changed, 409 Conflicts re-read and retried), then deletes
 * obsolete managed Secrets, only when every write succeeded. Marks the
 * items whose existing Secret is not ours (left alone) as ignored. Up to
 * s->concurrency requests go out at once, on k and on clients made from
 * s->kube. Log lines come out in plan order; on failure e holds the
 * first failing item's error.
 */
int sync_plan_apply(const struct sync_settings *s, struct kube *k,
                    struct plan *p, struct errbuf *e);

/* Without a Vault token: 0 when every Secret a file mapping would write
 * exists, -1 naming the first missing one. */
int sync_check_existing(const struct sync_settings *s, struct kube *k,
                        struct errbuf *e);

/* Log lines of one item of a run, held back so that work done
 * concurrently is reported in VAULT_SECRETS order. */
struct sync_lines {
	char *buf;   /* NUL-terminated lines, one after another */
	size_t len;  /* bytes used in buf */
	size_t lost; /* lines dropped for lack of memory */
};

/* Holds one formatted line back (NUL-free by construction). */
void sync_lines_add(struct sync_lines *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Logs the held lines in order, then empties l. */
void sync_lines_flush(struct sync_lines *l);
void sync_lines_free(struct sync_lines *l);

/*
 * Runs job(ctx, worker, i) for every i below n on `workers` threads: the
 * caller's (worker 0) and workers - 1 new ones, so that state kept per
 * worker (a client) serves one thread at a time. Items start in
 * increasing order. A job returns -1 to fail its item; items above the
 * lowest failed one that have not started are skipped, as a run one
 * item after another would have stopped there. Threads that cannot be
 * started leave their share to the others. Returns the lowest failed
 * index, n when none failed.
 */
size_t sync_parallel(size_t workers, size_t n,
                     int (*job)(void *ctx, size_t worker, size_t i), void *ctx);

#endif
