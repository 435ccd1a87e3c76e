/* synchronizer: copy Vault KV secrets into Kubernetes Secrets. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "kube.h"
#include "kv.h"
#include "log.h"
#include "login.h"
#include "parse.h"
#include "tokenfile.h"
#include "vault.h"

#define ANNOTATION_DEFAULT "vault-secret"
#define CONCURRENCY_DEFAULT 8
#define CONCURRENCY_MAX 64
#define UPDATE_ATTEMPTS 5

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

static void plan_free(struct plan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->items[i].name);
		free(p->items[i].source);
		json_object_put(p->items[i].data);
	}
	free(p->items);
	memset(p, 0, sizeof(*p));
}

static int settings_from_env(struct sync_settings *s, struct errbuf *e)
{
	const char *secrets = getenv("VAULT_SECRETS");
	const char *conc = getenv("SYNCHRONIZER_CONCURRENCY");
	const char *interval = getenv("SYNC_INTERVAL");

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
	/* LIMITATION: the sidecar mode (SYNC_INTERVAL) is not built yet;
	 * refusing it beats silently running once in a pod that expects
	 * continuous synchronization. */
	if (interval != NULL && interval[0] != '\0')
		return errbuf_set(e,
		                  "SYNC_INTERVAL: continuous synchronization "
		                  "is not supported by this version; unset "
		                  "it to synchronize once");
	s->prefix = getenv("SECRET_PREFIX");
	if (s->prefix == NULL)
		s->prefix = "";
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
}

static const char *last_segment(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

/* The prefixed Kubernetes name of a file mapping or a listed key. */
static char *secret_name(const struct sync_settings *s, const char *base,
                         struct errbuf *e)
{
	char *name = NULL;

	if (asprintf(&name, "%s%s", s->prefix, base) < 0) {
		errbuf_set(e, "out of memory");
		return NULL;
	}
	if (!k8s_subdomain_valid(name)) {
		errbuf_set(e,
		           "secret name \"%.253s\" is not a valid "
		           "Kubernetes name (lower-case letters, digits, "
		           "'-' and '.', at most 253 characters)",
		           name);
		free(name);
		return NULL;
	}
	return name;
}

static int plan_add(struct plan *p, char *name, const char *source,
                    json_object *data, struct errbuf *e)
{
	struct wanted *grown;
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (strcmp(p->items[i].name, name) == 0) {
			errbuf_set(e,
			           "vault secrets %s and %s both map to "
			           "kubernetes secret %s",
			           p->items[i].source, source, name);
			goto fail;
		}
	}
	grown = realloc(p->items, (p->n + 1) * sizeof(*grown));
	if (grown == NULL) {
		errbuf_set(e, "out of memory");
		goto fail;
	}
	p->items = grown;
	p->items[p->n].name = name;
	p->items[p->n].source = strdup(source);
	p->items[p->n].data = data;
	p->n++;
	if (p->items[p->n - 1].source == NULL)
		return errbuf_set(e, "out of memory");
	return 0;
fail:
	free(name);
	json_object_put(data);
	return -1;
}

/* Encodes one Vault value as Secret bytes, base64 for the API. */
static char *encode_value(json_object *val, const char *path, const char *key,
                          struct errbuf *e)
{
	unsigned char *raw = NULL;
	const char *text;
	size_t len;
	char *out;

	if (json_object_is_type(val, json_type_string)) {
		text = json_object_get_string(val);
		len = (size_t)json_object_get_string_len(val);
		if (strncmp(text, "base64:", 7) == 0) {
			if (base64_decode(text + 7, len - 7, &raw, &len) < 0) {
				errbuf_set(e,
				           "%s: value of key %s starts "
				           "with base64: but is not valid "
				           "base64",
				           path, key);
				return NULL;
			}
			out = base64_encode(raw, len);
			explicit_bzero(raw, len);
			free(raw);
			goto done;
		}
	} else {
		/* Numbers, booleans, null, objects and arrays keep the
		 * compact JSON text Vault sent (json-c keeps numbers'
		 * source text). */
		text = val == NULL
		           ? "null"
		           : json_object_to_json_string_ext(
		                 val, JSON_C_TO_STRING_PLAIN |
		                          JSON_C_TO_STRING_NOSLASHESCAPE);
		len = strlen(text);
	}
	out = base64_encode((const unsigned char *)text, len);
done:
	if (out == NULL)
		errbuf_set(e, "out of memory");
	return out;
}

/* Turns a KV secret's key/value object into Secret data. */
static json_object *secret_data(json_object *kv, const char *path,
                                struct errbuf *e)
{
	json_object *data = json_object_new_object();
	char *enc;

	if (data == NULL) {
		errbuf_set(e, "out of memory");
		return NULL;
	}
	json_object_object_foreach(kv, key, val)
	{
		if (!k8s_secret_key_valid(key)) {
			errbuf_set(e,
			           "%s: key \"%.253s\" is not a valid "
			           "Secret data key (letters, digits, "
			           "'-', '_', '.')",
			           path, key);
			goto fail;
		}
		enc = encode_value(val, path, key, e);
		if (enc == NULL)
			goto fail;
		if (json_object_object_add(data, key,
		                           json_object_new_string(enc)) != 0) {
			secret_free(enc);
			errbuf_set(e, "out of memory");
			goto fail;
		}
		secret_free(enc);
	}
	return data;
fail:
	json_object_put(data);
	return NULL;
}

/* Reads one KV secret. 0 with *data (NULL when not found), -1 on error. */
static int read_secret(struct vault *v, const struct kv_location *loc,
                       const char *api_path, json_object **data,
                       struct errbuf *e)
{
	json_object *answer = NULL;
	json_object *kv = NULL;
	json_object *meta;
	json_object *field;
	char *warning = NULL;
	int rc;

	*data = NULL;
	log_msg("read %s from vault", api_path);
	rc = vault_read(v, api_path, &answer, &warning, e);
	free(warning);
	if (rc < 0)
		return errbuf_prefix(e, "read %s from vault", api_path);
	if (rc == 1) {
		/* A deleted or destroyed KV v2 version: say which. */
		if (answer != NULL &&
		    json_object_object_get_ex(answer, "metadata", &meta) &&
		    json_object_object_get_ex(meta, "version", &field)) {
			json_object *destroyed = NULL;
			bool d = json_object_object_get_ex(meta, "destroyed",
			                                   &destroyed) &&
			         json_object_get_boolean(destroyed);
			log_msg("secret %s not found: version %s is %s",
			        api_path, json_object_get_string(field),
			        d ? "destroyed" : "deleted");
		} else {
			log_msg("secret %s not found", api_path);
		}
		json_object_put(answer);
		return 0;
	}
	kv = answer;
	if (loc->version == 2 &&
	    (!json_object_object_get_ex(answer, "data", &kv) ||
	     !json_object_is_type(kv, json_type_object))) {
		json_object_put(answer);
		return errbuf_set(e,
		                  "read %s from vault: answer has no "
		                  "data.data object",
		                  api_path);
	}
	if (!json_object_is_type(kv, json_type_object)) {
		json_object_put(answer);
		return errbuf_set(e,
		                  "read %s from vault: answer has no data "
		                  "object",
		                  api_path);
	}
	*data = secret_data(kv, api_path, e);
	json_object_put(answer);
	return *data != NULL ? 0 : -1;
}

static int plan_file(const struct sync_settings *s, struct vault *v,
                     struct kv_resolver *r, const struct mapping *m,
                     struct plan *p, struct errbuf *e)
{
	struct kv_location loc;
	json_object *data = NULL;
	char *api = NULL;
	char *name;
	int rc = -1;

	if (kv_resolve(r, m->vault_path, &loc, e) < 0)
		return -1;
	name = secret_name(s, m->name != NULL ? m->name : last_segment(loc.rel),
	                   e);
	api = kv_read_path(&loc, loc.rel);
	if (name == NULL || api == NULL) {
		if (api == NULL)
			errbuf_set(e, "out of memory");
		free(name);
		goto out;
	}
	if (read_secret(v, &loc, api, &data, e) < 0) {
		free(name);
		goto out;
	}
	rc = plan_add(p, name, api, data, e);
out:
	free(api);
	kv_location_free(&loc);
	return rc;
}

static int plan_dir(const struct sync_settings *s, struct vault *v,
                    struct kv_resolver *r, const struct mapping *m,
                    struct plan *p, struct errbuf *e)
{
	struct kv_location loc;
	json_object *listing = NULL;
	json_object *keys;
	json_object *data;
	char *warning = NULL;
	char *list = NULL;
	char *rel = NULL;
	char *api = NULL;
	char *dir = NULL;
	char *name;
	const char *key;
	size_t i;
	int rc = -1;

	if (asprintf(&dir, "%s/", m->vault_path) < 0)
		return errbuf_set(e, "out of memory");
	rc = kv_resolve(r, dir, &loc, e);
	free(dir);
	if (rc < 0)
		return -1;
	rc = -1;
	list = kv_list_path(&loc, loc.rel);
	if (list == NULL) {
		errbuf_set(e, "out of memory");
		goto out;
	}
	rc = vault_list(v, list, &listing, &warning, e);
	free(warning);
	if (rc < 0) {
		errbuf_prefix(e, "list %s in vault", list);
		goto out;
	}
	rc = -1;
	if (listing == NULL) {
		log_msg("vault directory %s lists no secrets", list);
		rc = 0;
		goto out;
	}
	if (!json_object_object_get_ex(listing, "keys", &keys) ||
	    !json_object_is_type(keys, json_type_array)) {
		errbuf_set(e, "list %s in vault: answer has no data.keys",
		           list);
		goto out;
	}
	for (i = 0; i < json_object_array_length(keys); i++) {
		key =
		    json_object_get_string(json_object_array_get_idx(keys, i));
		if (key == NULL || key[0] == '\0')
			continue;
		if (key[strlen(key) - 1] == '/') {
			log_msg("WARNING: skipping %s%s: a sub-directory, not "
			        "a secret (only one level is synchronized)",
			        list, key);
			continue;
		}
		free(rel);
		free(api);
		api = NULL;
		if (asprintf(&rel, "%s%s%s", loc.rel, loc.rel[0] ? "/" : "",
		             key) < 0) {
			rel = NULL;
			errbuf_set(e, "out of memory");
			goto out;
		}
		api = kv_read_path(&loc, rel);
		name = secret_name(s, key, e);
		if (api == NULL || name == NULL) {
			if (api == NULL)
				errbuf_set(e, "out of memory");
			free(name);
			goto out;
		}
		if (read_secret(v, &loc, api, &data, e) < 0) {
			free(name);
			goto out;
		}
		if (plan_add(p, name, api, data, e) < 0)
			goto out;
	}
	rc = 0;
out:
	free(rel);
	free(api);
	free(list);
	json_object_put(listing);
	kv_location_free(&loc);
	return rc;
}

/* Reads everything from Vault before anything is written. */
static int build_plan(const struct sync_settings *s, struct vault *v,
                      struct plan *p, struct errbuf *e)
{
	struct kv_resolver *r = kv_resolver_new(v);
	size_t i;
	int rc = 0;

	if (r == NULL)
		return errbuf_set(e, "out of memory");
	for (i = 0; i < s->n_mappings && rc == 0; i++) {
		if (s->mappings[i].is_dir)
			rc = plan_dir(s, v, r, &s->mappings[i], p, e);
		else
			rc = plan_file(s, v, r, &s->mappings[i], p, e);
	}
	kv_resolver_free(r);
	return rc;
}

static json_object *find_secret(json_object *items, const char *name)
{
	json_object *item;
	json_object *meta;
	json_object *n;
	size_t i;

	for (i = 0; i < json_object_array_length(items); i++) {
		item = json_object_array_get_idx(items, i);
		if (json_object_object_get_ex(item, "metadata", &meta) &&
		    json_object_object_get_ex(meta, "name", &n) &&
		    strcmp(json_object_get_string(n), name) == 0)
			return item;
	}
	return NULL;
}

/* The object's metadata.<field>, created as an empty object if absent. */
static json_object *meta_map(json_object *obj, const char *field)
{
	json_object *meta;
	json_object *map;

	if (!json_object_object_get_ex(obj, "metadata", &meta))
		return NULL;
	if (json_object_object_get_ex(meta, field, &map) &&
	    json_object_is_type(map, json_type_object))
		return map;
	map = json_object_new_object();
	if (map == NULL || json_object_object_add(meta, field, map) != 0) {
		json_object_put(map);
		return NULL;
	}
	return map;
}

static bool is_managed(json_object *obj, const char *annotation)
{
	json_object *meta;
	json_object *ann;

	return json_object_object_get_ex(obj, "metadata", &meta) &&
	       json_object_object_get_ex(meta, "annotations", &ann) &&
	       json_object_object_get_ex(ann, annotation, NULL);
}

/* Applies our annotation, labels and data to obj (existing or new).
 * Returns 1 when obj changed, 0 when it already matched, -1 on ENOMEM. */
static int apply_wanted(const struct sync_settings *s, json_object *obj,
                        const struct wanted *w)
{
	json_object *ann = meta_map(obj, "annotations");
	json_object *labels = meta_map(obj, "labels");
	json_object *old;
	json_object *data;
	int changed = 0;
	size_t i;

	if (ann == NULL || labels == NULL)
		return -1;
	if (!json_object_object_get_ex(ann, s->annotation, &old) ||
	    strcmp(json_object_get_string(old), w->source) != 0) {
		if (json_object_object_add(ann, s->annotation,
		                           json_object_new_string(w->source)))
			return -1;
		changed = 1;
	}
	/* Labels already on the Secret stay; configured ones win. */
	for (i = 0; i < s->n_labels; i++) {
		if (json_object_object_get_ex(labels, s->labels[i].key, &old) &&
		    strcmp(json_object_get_string(old), s->labels[i].value) ==
		        0)
			continue;
		if (json_object_object_add(
		        labels, s->labels[i].key,
		        json_object_new_string(s->labels[i].value)))
			return -1;
		changed = 1;
	}
	if (!json_object_object_get_ex(obj, "data", &old))
		old = NULL;
	if (old == NULL ? json_object_object_length(w->data) == 0
	                : json_object_equal(old, w->data))
		return changed;
	data = json_object_get(w->data);
	if (json_object_object_add(obj, "data", data) != 0) {
		json_object_put(data);
		return -1;
	}
	return 1;
}

static json_object *new_secret(const char *name)
{
	json_object *obj = json_object_new_object();
	json_object *meta = json_object_new_object();

	if (obj == NULL || meta == NULL ||
	    json_object_object_add(obj, "apiVersion",
	                           json_object_new_string("v1")) ||
	    json_object_object_add(obj, "kind",
	                           json_object_new_string("Secret")) ||
	    json_object_object_add(obj, "type",
	                           json_object_new_string("Opaque")) ||
	    json_object_object_add(meta, "name",
	                           json_object_new_string(name))) {
		json_object_put(obj);
		json_object_put(meta);
		return NULL;
	}
	if (json_object_object_add(obj, "metadata", meta) != 0) {
		json_object_put(obj);
		json_object_put(meta);
		return NULL;
	}
	return obj;
}

/* Updates the managed Secret cur (owned by the caller) to w. A 409
 * Conflict means someone changed it since it was read: it is read again
 * and the change re-applied, at most UPDATE_ATTEMPTS times. */
static int update_one(const struct sync_settings *s, struct kube *k,
                      json_object *cur, const struct wanted *w,
                      struct errbuf *e)
{
	json_object *obj = NULL;
	json_object *fresh = NULL;
	int attempt;
	int changed;
	int rc = -1;

	for (attempt = 1;; attempt++) {
		if (!is_managed(cur, s->annotation)) {
			log_msg("WARNING: ignoring secret %s - not managed by "
			        "synchronizer",
			        w->name);
			rc = 0;
			goto out;
		}
		if (json_object_deep_copy(cur, &obj, NULL) != 0) {
			errbuf_set(e, "out of memory");
			goto out;
		}
		changed = apply_wanted(s, obj, w);
		if (changed < 0) {
			errbuf_set(e, "out of memory");
			goto out;
		}
		if (changed == 0) {
			log_msg("secret %s is up to date with vault secret %s",
			        w->name, w->source);
			rc = 0;
			goto out;
		}
		if (attempt == 1)
			log_msg("update secret %s from vault secret %s",
			        w->name, w->source);
		if (kube_secret_update(k, obj, e) == 0) {
			rc = 0;
			goto out;
		}
		if (e->status != 409 || attempt >= UPDATE_ATTEMPTS)
			goto out;
		log_msg("secret %s changed while being updated; reading it "
		        "again (attempt %d of %d)",
		        w->name, attempt + 1, UPDATE_ATTEMPTS);
		json_object_put(obj);
		obj = NULL;
		rc = kube_secret_get(k, w->name, &fresh, e);
		if (rc == 1)
			rc = errbuf_set(e,
			                "update secret %s: deleted by someone "
			                "else during the update",
			                w->name);
		if (rc < 0)
			goto out;
		rc = -1;
		json_object_put(cur);
		cur = fresh;
		fresh = NULL;
	}
out:
	json_object_put(obj);
	json_object_put(cur);
	return rc;
}

static int write_one(const struct sync_settings *s, struct kube *k,
                     json_object *existing, const struct wanted *w,
                     struct errbuf *e)
{
	json_object *obj;
	int rc;

	if (existing != NULL)
		return update_one(s, k, json_object_get(existing), w, e);
	obj = new_secret(w->name);
	if (obj == NULL || apply_wanted(s, obj, w) < 0) {
		json_object_put(obj);
		return errbuf_set(e, "out of memory");
	}
	log_msg("create secret %s from vault secret %s", w->name, w->source);
	rc = kube_secret_create(k, obj, e);
	json_object_put(obj);
	if (rc == 0 || e->status != 409)
		return rc;
	/* Created by someone else since the list: treat it as existing. */
	log_msg("secret %s appeared while being created; reading it", w->name);
	rc = kube_secret_get(k, w->name, &obj, e);
	if (rc == 1)
		return errbuf_set(e,
		                  "create secret %s: created and deleted "
		                  "again by someone else meanwhile",
		                  w->name);
	if (rc < 0)
		return -1;
	return update_one(s, k, obj, w, e);
}

static bool planned(const struct plan *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->items[i].name, name) == 0)
			return true;
	return false;
}

/* Writes the plan, then deletes managed Secrets it no longer names.
 * Deletion runs only after every write succeeded. */
static int apply_plan(const struct sync_settings *s, struct kube *k,
                      const struct plan *p, struct errbuf *e)
{
	json_object *items = NULL;
	json_object *item;
	json_object *meta;
	json_object *name;
	size_t i;
	int rc = -1;

	if (kube_secret_list(k, &items, e) < 0)
		return -1;
	for (i = 0; i < p->n; i++) {
		/* Missing in Vault: its Secret stays exactly as it is. */
		if (p->items[i].data == NULL)
			continue;
		if (write_one(s, k, find_secret(items, p->items[i].name),
		              &p->items[i], e) < 0)
			goto out;
	}
	for (i = 0; i < json_object_array_length(items); i++) {
		item = json_object_array_get_idx(items, i);
		/* Only Secrets this configuration could have written: our
		 * annotation and our prefix (another synchronizer in the
		 * namespace may use the same annotation). */
		if (!is_managed(item, s->annotation) ||
		    !json_object_object_get_ex(item, "metadata", &meta) ||
		    !json_object_object_get_ex(meta, "name", &name) ||
		    strncmp(json_object_get_string(name), s->prefix,
		            strlen(s->prefix)) != 0 ||
		    planned(p, json_object_get_string(name)))
			continue;
		log_msg("delete secret %s", json_object_get_string(name));
		if (kube_secret_delete(k, json_object_get_string(name), e) < 0)
			goto out;
	}
	rc = 0;
out:
	json_object_put(items);
	return rc;
}

/*
 * Without a token (the authenticator failed under ALLOW_FAIL) the pod may
 * still start with the Secrets of the last good run: succeed only when
 * every Secret a file mapping would write exists.
 */
static int check_existing(const struct sync_settings *s, struct kube *k,
                          struct errbuf *e)
{
	json_object *items = NULL;
	const struct mapping *m;
	char *name;
	size_t i;
	int rc = -1;

	if (kube_secret_list(k, &items, e) < 0)
		return -1;
	for (i = 0; i < s->n_mappings; i++) {
		m = &s->mappings[i];
		if (m->is_dir) {
			log_msg("WARNING: cannot check directory mapping %s/ "
			        "without a vault token",
			        m->vault_path);
			continue;
		}
		name = secret_name(
		    s, m->name != NULL ? m->name : last_segment(m->vault_path),
		    e);
		if (name == NULL)
			goto out;
		log_msg("check k8s secret %s from vault secret %s", name,
		        m->vault_path);
		if (find_secret(items, name) == NULL) {
			errbuf_set(e,
			           "secret %s does not exist and there is "
			           "no vault token in %s to create it",
			           name, s->token_path);
			free(name);
			goto out;
		}
		free(name);
	}
	rc = 0;
out:
	json_object_put(items);
	return rc;
}

static int connect_kube(struct kube **k, struct errbuf *e)
{
	struct kube_config kc;

	if (kube_config_in_cluster(&kc, sa_dir(), e) < 0)
		return -1;
	*k = kube_new(&kc, e);
	kube_config_free(&kc);
	return *k != NULL ? 0 : -1;
}

int synchronizer_main(void)
{
	struct sync_settings s;
	struct plan plan = {NULL, 0};
	struct kube *k = NULL;
	struct vault *v = NULL;
	struct errbuf e;
	char *token = NULL;
	int rc = 1;
	int t;

	errbuf_clear(&e);

	/* Configuration, all of it, before any request. */
	if (settings_from_env(&s, &e) < 0) {
		log_msg("failed to prepare synchronization of secrets: %s",
		        e.msg);
		settings_free(&s);
		return 1;
	}
	log_msg("Using annotation [ %s ] to detect managed secrets",
	        s.annotation);

	/* Kubernetes and the token. */
	if (connect_kube(&k, &e) < 0) {
		log_msg("failed to prepare synchronization of secrets: %s",
		        e.msg);
		goto out;
	}
	t = tokenfile_read(s.token_path, &token, &e);
	if (t < 0) {
		log_msg("failed to prepare synchronization of secrets: %s",
		        e.msg);
		goto out;
	}
	if (t > 0) {
		if (check_existing(&s, k, &e) < 0) {
			log_msg("failed to synchronize secrets: %s", e.msg);
			goto out;
		}
		log_msg("cannot synchronize secrets - all secrets seems to be "
		        "available therefore pod creation will continue: no "
		        "vault token in %s",
		        s.token_path);
		rc = 0;
		goto out;
	}

	/* Vault: read every secret first, so a failed read writes nothing. */
	v = vault_new(&s.vault, &e);
	if (v == NULL || vault_set_token(v, token, &e) < 0) {
		log_msg("failed to prepare synchronization of secrets: %s",
		        e.msg);
		goto out;
	}
	if (build_plan(&s, v, &plan, &e) < 0) {
		log_msg("failed to synchronize secrets: %s", e.msg);
		goto out;
	}

	/* Kubernetes writes, then clean-up of obsolete managed Secrets. */
	if (apply_plan(&s, k, &plan, &e) < 0) {
		log_msg("failed to synchronize secrets: %s", e.msg);
		goto out;
	}
	log_msg("secrets successfully synchronized");
	rc = 0;
out:
	plan_free(&plan);
	secret_free(token);
	vault_free(v);
	kube_free(k);
	settings_free(&s);
	return rc;
}
