/* kv: KV mount discovery through sys/mounts or the per-path preflight. */
#include "kv.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct kv_mount {
	char *path; /* with trailing '/'; "" for a pre-0.10 server's answer */
	char *type;
	int version;
};

enum kv_source { KV_UNKNOWN, KV_SYS_MOUNTS, KV_PREFLIGHT };

/* A directory whose mount the preflight told us. */
struct kv_asked {
	char *dir;    /* "secret/k8s/"; "" for top-level names */
	size_t mount; /* index into mounts */
};

struct kv_resolver {
	struct vault *v;
	enum kv_source source;
	struct kv_mount *mounts;
	size_t n;
	struct kv_asked *asked;
	size_t n_asked;
};

struct kv_resolver *kv_resolver_new(struct vault *v)
{
	struct kv_resolver *r = calloc(1, sizeof(*r));

	if (r != NULL)
		r->v = v;
	return r;
}

void kv_resolver_free(struct kv_resolver *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		free(r->mounts[i].path);
		free(r->mounts[i].type);
	}
	free(r->mounts);
	for (i = 0; i < r->n_asked; i++)
		free(r->asked[i].dir);
	free(r->asked);
	free(r);
}

void kv_location_free(struct kv_location *l)
{
	free(l->mount);
	free(l->rel);
	memset(l, 0, sizeof(*l));
}

int kv_mount_version(json_object *mount)
{
	json_object *options;
	json_object *version;
	const char *s;

	/* Vault treats a KV mount created without options as version 1;
	 * only the string "2" selects version 2, as Vault's CLI decides. */
	if (!json_object_object_get_ex(mount, "options", &options) ||
	    !json_object_is_type(options, json_type_object))
		return 1;
	if (!json_object_object_get_ex(options, "version", &version) ||
	    !json_object_is_type(version, json_type_string))
		return 1;
	s = json_object_get_string(version);
	return strcmp(s, "2") == 0 ? 2 : 1;
}

static const char *mount_type(json_object *mount)
{
	json_object *type;
	json_object *config;
	json_object *plugin;
	const char *t;

	if (!json_object_object_get_ex(mount, "type", &type) ||
	    !json_object_is_type(type, json_type_string))
		return "";
	t = json_object_get_string(type);
	/* Very old external-plugin mounts report "plugin" and name the
	 * plugin in their config. */
	if (strcmp(t, "plugin") == 0 &&
	    json_object_object_get_ex(mount, "config", &config) &&
	    json_object_object_get_ex(config, "plugin_name", &plugin) &&
	    json_object_is_type(plugin, json_type_string) &&
	    strcmp(json_object_get_string(plugin), "kv") == 0)
		return "kv";
	return t;
}

/* Adds a mount (or finds one with the same path); *idx is its index. */
static int add_mount(struct kv_resolver *r, const char *path,
                     json_object *entry, size_t *idx, struct errbuf *e)
{
	struct kv_mount *grown;
	struct kv_mount *m;
	size_t len = strlen(path);
	size_t i;

	grown = realloc(r->mounts, (r->n + 1) * sizeof(*grown));
	if (grown == NULL)
		return errbuf_set(e, "out of memory");
	r->mounts = grown;
	m = &r->mounts[r->n];
	m->type = strdup(entry != NULL ? mount_type(entry) : "kv");
	if (len > 0 && path[len - 1] != '/') {
		if (asprintf(&m->path, "%s/", path) < 0)
			m->path = NULL;
	} else {
		m->path = strdup(path);
	}
	if (m->path == NULL || m->type == NULL) {
		free(m->path);
		free(m->type);
		return errbuf_set(e, "out of memory");
	}
	m->version = entry != NULL ? kv_mount_version(entry) : 1;
	for (i = 0; i < r->n; i++) {
		if (strcmp(r->mounts[i].path, m->path) == 0) {
			free(m->path);
			free(m->type);
			*idx = i;
			return 0;
		}
	}
	*idx = r->n++;
	return 0;
}

static int load_sys_mounts(struct kv_resolver *r, struct errbuf *e)
{
	json_object *data = NULL;
	char *warning = NULL;
	int rc;

	rc = vault_read(r->v, "sys/mounts", &data, &warning, e);
	free(warning);
	if (rc < 0 && e->status == 403) {
		log_msg("reading sys/mounts is not allowed; finding KV mounts "
		        "with the per-path preflight instead");
		r->source = KV_PREFLIGHT;
		json_object_put(data);
		return 0;
	}
	if (rc != 0 || !json_object_is_type(data, json_type_object)) {
		json_object_put(data);
		if (rc == 0 || rc == 1)
			errbuf_set(e, "read sys/mounts: no mount table in "
			              "Vault's answer");
		return errbuf_prefix(e, "find KV mounts");
	}
	json_object_object_foreach(data, key, entry)
	{
		size_t idx;

		if (!json_object_is_type(entry, json_type_object))
			continue;
		if (add_mount(r, key, entry, &idx, e) < 0) {
			json_object_put(data);
			return -1;
		}
	}
	json_object_put(data);
	r->source = KV_SYS_MOUNTS;
	return 0;
}

/* Whether the mount at mpath ("kv/team/") serves path: "kv/team" and
 * "kv/team/x" are served, "kv/teams" is not. */
static bool mount_serves(const char *mpath, const char *path)
{
	size_t mlen = strlen(mpath);

	if (mlen == 0)
		return true;
	if (mlen > strlen(path) + 1 || strncmp(path, mpath, mlen - 1) != 0)
		return false;
	return path[mlen - 1] == '/' || path[mlen - 1] == '\0';
}

/* The longest known mount that is a prefix of path ("a/b/" for "a/b/c"). */
static const struct kv_mount *longest_match(const struct kv_resolver *r,
                                            const char *path)
{
	const struct kv_mount *best = NULL;
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (r->mounts[i].path[0] == '\0' ||
		    !mount_serves(r->mounts[i].path, path))
			continue;
		if (best == NULL ||
		    strlen(r->mounts[i].path) > strlen(best->path))
			best = &r->mounts[i];
	}
	return best;
}

/* Asks Vault which mount serves path; *idx is that mount's index. */
static int preflight(struct kv_resolver *r, const char *path, size_t *idx,
                     struct errbuf *e)
{
	json_object *data = NULL;
	json_object *mpath;
	char *warning = NULL;
	char *api = NULL;
	int rc;

	if (asprintf(&api, "sys/internal/ui/mounts/%s", path) < 0)
		return errbuf_set(e, "out of memory");
	rc = vault_read(r->v, api, &data, &warning, e);
	free(api);
	free(warning);
	if (rc == 1) {
		/* A server without the preflight (before 0.10) only knows
		 * KV version 1, as Vault's CLI assumes. */
		json_object_put(data);
		return add_mount(r, "", NULL, idx, e);
	}
	if (rc < 0)
		return errbuf_prefix(e, "find the KV mount of %s", path);
	if (!json_object_object_get_ex(data, "path", &mpath) ||
	    !json_object_is_type(mpath, json_type_string)) {
		json_object_put(data);
		return errbuf_set(e,
		                  "find the KV mount of %s: preflight "
		                  "answer without data.path",
		                  path);
	}
	rc = add_mount(r, json_object_get_string(mpath), data, idx, e);
	json_object_put(data);
	if (rc == 0 && !mount_serves(r->mounts[*idx].path, path))
		rc = errbuf_set(e,
		                "find the KV mount of %s: the preflight "
		                "names mount %s, which does not serve it",
		                path, r->mounts[*idx].path);
	return rc;
}

/*
 * The mount of path when sys/mounts is denied. Every mount serving a
 * path is a prefix of its directory (or, for a directory given with a
 * trailing '/', of the path itself), so paths in one directory share a
 * mount: one preflight per directory is exact, even with nested mounts.
 */
static int preflight_lookup(struct kv_resolver *r, const char *path,
                            const struct kv_mount **m, struct errbuf *e)
{
	struct kv_asked *grown;
	const char *slash = strrchr(path, '/');
	size_t dlen = slash != NULL ? (size_t)(slash - path) + 1 : 0;
	size_t idx;
	size_t i;

	for (i = 0; i < r->n_asked; i++) {
		if (strlen(r->asked[i].dir) == dlen &&
		    strncmp(r->asked[i].dir, path, dlen) == 0) {
			*m = &r->mounts[r->asked[i].mount];
			return 0;
		}
	}
	if (preflight(r, path, &idx, e) < 0)
		return -1;
	grown = realloc(r->asked, (r->n_asked + 1) * sizeof(*grown));
	if (grown == NULL)
		return errbuf_set(e, "out of memory");
	r->asked = grown;
	r->asked[r->n_asked].dir = strndup(path, dlen);
	if (r->asked[r->n_asked].dir == NULL)
		return errbuf_set(e, "out of memory");
	r->asked[r->n_asked].mount = idx;
	r->n_asked++;
	*m = &r->mounts[idx];
	return 0;
}

static bool strip_prefix(char **rel, const char *prefix)
{
	size_t n = strlen(prefix);
	char *rest;

	if (strncmp(*rel, prefix, n) != 0 ||
	    ((*rel)[n] != '/' && (*rel)[n] != '\0'))
		return false;
	rest = strdup((*rel)[n] == '/' ? *rel + n + 1 : *rel + n);
	if (rest == NULL)
		return false;
	free(*rel);
	*rel = rest;
	return true;
}

int kv_resolve(struct kv_resolver *r, const char *path, struct kv_location *out,
               struct errbuf *e)
{
	const struct kv_mount *m = NULL;
	size_t len;

	memset(out, 0, sizeof(*out));
	while (*path == '/')
		path++;
	if (r->source == KV_UNKNOWN && load_sys_mounts(r, e) < 0)
		return -1;
	if (r->source == KV_PREFLIGHT) {
		if (preflight_lookup(r, path, &m, e) < 0)
			return -1;
	} else {
		m = longest_match(r, path);
	}
	if (m == NULL)
		return errbuf_set(e, "no Vault mount serves %s", path);
	if (strcmp(m->type, "kv") != 0 && strcmp(m->type, "generic") != 0)
		return errbuf_set(e,
		                  "%s is under mount %s of type %s, not a "
		                  "KV secrets engine",
		                  path, m->path, m->type);

	out->mount = strdup(m->path);
	out->version = m->version;
	out->rel = strdup(path + strlen(m->path) -
	                  (strlen(m->path) > strlen(path) ? 1 : 0));
	if (out->mount == NULL || out->rel == NULL) {
		kv_location_free(out);
		return errbuf_set(e, "out of memory");
	}
	/* For KV v2, "secret/data/app" and "secret/app" name one secret. */
	if (out->version == 2 && !strip_prefix(&out->rel, "data"))
		(void)strip_prefix(&out->rel, "metadata");
	len = strlen(out->rel);
	while (len > 0 && out->rel[len - 1] == '/')
		out->rel[--len] = '\0';
	return 0;
}

char *kv_read_path(const struct kv_location *l, const char *rel)
{
	char *p = NULL;

	if (asprintf(&p, "%s%s%s", l->mount, l->version == 2 ? "data/" : "",
	             rel) < 0)
		return NULL;
	return p;
}

char *kv_list_path(const struct kv_location *l, const char *rel)
{
	size_t n = strlen(rel);
	char *p = NULL;

	if (asprintf(&p, "%s%s%s%s", l->mount,
	             l->version == 2 ? "metadata/" : "", rel,
	             n > 0 && rel[n - 1] != '/' ? "/" : "") < 0)
		return NULL;
	return p;
}
