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

struct sync_settings {
	const char *token_path;
	const char *prefix;
	const char *annotation;
	struct mapping *mappings;
	size_t n_mappings;
	struct label *labels;
	size_t n_labels;
	uint64_t concurrency;
	struct vault_config vault;
};

/* One Kubernetes Secret this run wants, from one Vault secret. */
struct wanted {
	char *name;        /* final name, prefix applied */
	char *source;      /* Vault API path read, the annotation's value */
	json_object *data; /* Secret data (base64 values); NULL: missing */
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

/* Reads every mapping from Vault into p, in VAULT_SECRETS order, before
 * anything is written; names validated and duplicates refused. */
int sync_plan_build(const struct sync_settings *s, struct vault *v,
                    struct plan *p, struct errbuf *e);

/* Writes the plan to Kubernetes (create, update when changed), then
 * deletes obsolete managed Secrets, only when every write succeeded. */
int sync_plan_apply(const struct sync_settings *s, struct kube *k,
                    const struct plan *p, struct errbuf *e);

/* Without a Vault token: 0 when every Secret a file mapping would write
 * exists, -1 naming the first missing one. */
int sync_check_existing(const struct sync_settings *s, struct kube *k,
                        struct errbuf *e);

#endif
