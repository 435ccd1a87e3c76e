/* kv: where a Vault path's KV engine is mounted and which version it is. */
#ifndef VK_KV_H
#define VK_KV_H

#include "errbuf.h"
#include "vault.h"

/* A path resolved to its KV mount. */
struct kv_location {
	char *mount; /* mount path with trailing '/', e.g. "secret/" */
	int version; /* 1 or 2 */
	char *rel;   /* path inside the mount, without "data/": "k8s/a" */
};

struct kv_resolver;

/* The resolver asks Vault once per run: sys/mounts, or when that is
 * denied (403), the per-path preflight sys/internal/ui/mounts/<path>
 * once per distinct directory (paths of one directory share a mount,
 * nested mounts included). v is borrowed. */
struct kv_resolver *kv_resolver_new(struct vault *v);
void kv_resolver_free(struct kv_resolver *r);

/* Resolves path (e.g. "secret/k8s/a" or "secret/data/k8s/a") by the
 * longest matching mount. A directory is given with a trailing '/'
 * ("secret/k8s/"), so a mount at exactly that path is found; out->rel
 * never ends with '/'. A mount that is not kv/generic, or no mount at
 * all, is an error naming the path. */
int kv_resolve(struct kv_resolver *r, const char *path, struct kv_location *out,
               struct errbuf *e);
void kv_location_free(struct kv_location *l);

/* API paths for reading a secret and listing a directory at rel (for a
 * list, rel may be "" for the mount's root). malloc'd; NULL on ENOMEM. */
char *kv_read_path(const struct kv_location *l, const char *rel);
char *kv_list_path(const struct kv_location *l, const char *rel);

/* The KV version of a mount entry of sys/mounts or the preflight: a
 * missing, null or empty options.version means 1. */
int kv_mount_version(json_object *mount);

#endif
