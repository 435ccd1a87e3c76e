/* sync_apply: write a plan to Kubernetes Secrets and clean up. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "log.h"
#include "parse.h"
#include "sync.h"
#include "tokenfile.h"

#define UPDATE_ATTEMPTS 5

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
int sync_plan_apply(const struct sync_settings *s, struct kube *k,
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
int sync_check_existing(const struct sync_settings *s, struct kube *k,
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
		name = sync_secret_name(
		    s,
		    m->name != NULL ? m->name : sync_path_base(m->vault_path),
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
