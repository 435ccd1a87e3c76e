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

/* Whether v is the JSON string want; null, a number or anything else
 * found on an existing Secret is a difference, never a crash. */
static bool string_is(json_object *v, const char *want)
{
	const char *s;
	int len;

	if (!json_object_is_type(v, json_type_string))
		return false;
	s = json_object_get_string(v);
	len = json_object_get_string_len(v);
	return s != NULL && len >= 0 && (size_t)len == strlen(want) &&
	       memcmp(s, want, (size_t)len) == 0;
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
		    string_is(n, name))
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

/* Whether a Secret's data object (NULL when it has none) holds exactly
 * the pairs of d. */
static bool data_matches(json_object *old, const struct secret_data *d)
{
	json_object *v;
	size_t i;

	if (old == NULL)
		return d->n == 0;
	if (!json_object_is_type(old, json_type_object) ||
	    (size_t)json_object_object_length(old) != d->n)
		return false;
	for (i = 0; i < d->n; i++)
		if (!json_object_object_get_ex(old, d->pairs[i].key, &v) ||
		    !string_is(v, d->pairs[i].value))
			return false;
	return true;
}

/* d as the data object of a Secret; NULL when out of memory. */
static json_object *data_json(const struct secret_data *d)
{
	json_object *obj = json_object_new_object();
	json_object *v;
	size_t i;

	for (i = 0; obj != NULL && i < d->n; i++) {
		v = json_object_new_string(d->pairs[i].value);
		if (v == NULL ||
		    json_object_object_add(obj, d->pairs[i].key, v) != 0) {
			json_object_put(v);
			json_object_put(obj);
			return NULL;
		}
	}
	return obj;
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
	    !string_is(old, w->source)) {
		if (json_object_object_add(ann, s->annotation,
		                           json_object_new_string(w->source)))
			return -1;
		changed = 1;
	}
	/* Labels already on the Secret stay; configured ones win. */
	for (i = 0; i < s->n_labels; i++) {
		if (json_object_object_get_ex(labels, s->labels[i].key, &old) &&
		    string_is(old, s->labels[i].value))
			continue;
		if (json_object_object_add(
		        labels, s->labels[i].key,
		        json_object_new_string(s->labels[i].value)))
			return -1;
		changed = 1;
	}
	if (!json_object_object_get_ex(obj, "data", &old))
		old = NULL;
	if (data_matches(old, w->data))
		return changed;
	data = data_json(w->data);
	if (data == NULL || json_object_object_add(obj, "data", data) != 0) {
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
 * and the change re-applied, at most UPDATE_ATTEMPTS times. Returns 0,
 * 1 when cur is not ours and was left alone, -1 with errbuf. */
static int update_one(const struct sync_settings *s, struct kube *k,
                      json_object *cur, const struct wanted *w,
                      struct sync_lines *l, struct errbuf *e)
{
	json_object *obj = NULL;
	json_object *fresh = NULL;
	int attempt;
	int changed;
	int rc = -1;

	for (attempt = 1;; attempt++) {
		if (!is_managed(cur, s->annotation)) {
			sync_lines_add(
			    l,
			    "WARNING: ignoring secret %s - not managed by "
			    "synchronizer",
			    w->name);
			rc = 1;
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
			sync_lines_add(
			    l, "secret %s is up to date with vault secret %s",
			    w->name, w->source);
			rc = 0;
			goto out;
		}
		if (attempt == 1)
			sync_lines_add(l,
			               "update secret %s from vault secret %s",
			               w->name, w->source);
		if (kube_secret_update(k, obj, e) == 0) {
			rc = 0;
			goto out;
		}
		if (e->status != 409 || attempt >= UPDATE_ATTEMPTS)
			goto out;
		sync_lines_add(
		    l,
		    "secret %s changed while being updated; reading it "
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

/* Creates or updates w's Secret; returns as update_one does. */
static int write_one(const struct sync_settings *s, struct kube *k,
                     json_object *existing, const struct wanted *w,
                     struct sync_lines *l, struct errbuf *e)
{
	json_object *obj;
	int rc;

	if (existing != NULL)
		return update_one(s, k, json_object_get(existing), w, l, e);
	obj = new_secret(w->name);
	if (obj == NULL || apply_wanted(s, obj, w) < 0) {
		json_object_put(obj);
		return errbuf_set(e, "out of memory");
	}
	sync_lines_add(l, "create secret %s from vault secret %s", w->name,
	               w->source);
	rc = kube_secret_create(k, obj, e);
	json_object_put(obj);
	if (rc == 0 || e->status != 409)
		return rc;
	/* Created by someone else since the list: treat it as existing. */
	sync_lines_add(l, "secret %s appeared while being created; reading it",
	               w->name);
	rc = kube_secret_get(k, w->name, &obj, e);
	if (rc == 1)
		return errbuf_set(e,
		                  "create secret %s: created and deleted "
		                  "again by someone else meanwhile",
		                  w->name);
	if (rc < 0)
		return -1;
	return update_one(s, k, obj, w, l, e);
}

/* One Kubernetes request of a run, a write or a delete, in order. */
struct job {
	const struct wanted *w; /* a write; NULL: the delete of name */
	bool ignored;           /* a write left alone: not our Secret */
	json_object *existing;  /* the listed Secret (borrowed), or NULL */
	const char *name;       /* a delete: borrowed from the listing */
	bool failed;            /* err, or out of memory when err is NULL */
	struct errbuf *err;
	struct sync_lines lines;
};

struct writes {
	const struct sync_settings *s;
	struct job *jobs;      /* the phase running */
	struct kube **clients; /* one per worker; [0] is the caller's */
	size_t n_clients;
};

static int job_run(void *ctx, size_t worker, size_t i)
{
	struct writes *wr = ctx;
	struct job *j = &wr->jobs[i];
	struct kube *k = wr->clients[worker];
	struct errbuf e;
	int rc;

	errbuf_clear(&e);
	if (j->w != NULL) {
		rc = write_one(wr->s, k, j->existing, j->w, &j->lines, &e);
	} else {
		sync_lines_add(&j->lines, "delete secret %s", j->name);
		rc = kube_secret_delete(k, j->name, &e);
	}
	if (rc >= 0) {
		j->ignored = rc == 1;
		return 0;
	}
	j->failed = true;
	j->err = malloc(sizeof(*j->err));
	if (j->err != NULL)
		*j->err = e;
	return -1;
}

/* Runs n jobs, then logs every job that ran in order (a request after a
 * failed one may have run meanwhile: what it changed is reported too);
 * returns the first failure's error. */
static int run_phase(struct writes *wr, struct job *jobs, size_t n,
                     struct errbuf *e)
{
	size_t failed;
	size_t i;

	wr->jobs = jobs;
	failed = sync_parallel(wr->n_clients, n, job_run, wr);
	for (i = 0; i < n; i++)
		sync_lines_flush(&jobs[i].lines);
	if (failed == n)
		return 0;
	if (jobs[failed].err == NULL)
		return errbuf_set(e, "out of memory");
	*e = *jobs[failed].err;
	return -1;
}

static void jobs_free(struct job *jobs, size_t n)
{
	size_t i;

	for (i = 0; jobs != NULL && i < n; i++) {
		free(jobs[i].err);
		sync_lines_free(&jobs[i].lines);
	}
	free(jobs);
}

static const char *secret_name(json_object *item)
{
	json_object *meta;
	json_object *name;

	if (!json_object_object_get_ex(item, "metadata", &meta) ||
	    !json_object_object_get_ex(meta, "name", &name) ||
	    !json_object_is_type(name, json_type_string))
		return NULL;
	return json_object_get_string(name);
}

/* The listed Secrets by name (the first of a name wins). */
static json_object *index_listing(json_object *items)
{
	json_object *idx = json_object_new_object();
	json_object *item;
	const char *name;
	size_t i;

	for (i = 0; idx != NULL && i < json_object_array_length(items); i++) {
		item = json_object_array_get_idx(items, i);
		name = secret_name(item);
		if (name == NULL || json_object_object_get_ex(idx, name, NULL))
			continue;
		if (json_object_object_add(idx, name, json_object_get(item))) {
			json_object_put(item);
			json_object_put(idx);
			idx = NULL;
		}
	}
	return idx;
}

/* The writes: one per planned Secret whose Vault secret exists. */
static int plan_writes(const struct plan *p, json_object *items,
                       struct job **out, size_t *n, struct errbuf *e)
{
	json_object *idx = index_listing(items);
	json_object *existing;
	struct job *jobs;
	size_t i;

	*n = 0;
	jobs = calloc(p->n + 1, sizeof(*jobs));
	if (idx == NULL || jobs == NULL) {
		json_object_put(idx);
		free(jobs);
		return errbuf_set(e, "out of memory");
	}
	for (i = 0; i < p->n; i++) {
		/* Missing in Vault: its Secret stays exactly as it is. */
		if (p->items[i].data == NULL)
			continue;
		if (!json_object_object_get_ex(idx, p->items[i].name,
		                               &existing))
			existing = NULL;
		jobs[*n].w = &p->items[i];
		jobs[*n].existing = existing; /* items keeps it alive */
		(*n)++;
	}
	json_object_put(idx);
	*out = jobs;
	return 0;
}

/* The deletes: managed Secrets the plan no longer names, in list order.
 * Only Secrets this configuration could have written: our annotation
 * and our prefix (another synchronizer in the namespace may use the
 * same annotation). */
static int plan_deletes(const struct sync_settings *s, const struct plan *p,
                        json_object *items, struct job **out, size_t *n,
                        struct errbuf *e)
{
	json_object *planned = json_object_new_object();
	json_object *item;
	struct job *jobs;
	const char *name;
	size_t i;

	*n = 0;
	jobs = calloc(json_object_array_length(items) + 1, sizeof(*jobs));
	for (i = 0; planned != NULL && i < p->n; i++)
		if (json_object_object_add(planned, p->items[i].name, NULL)) {
			json_object_put(planned);
			planned = NULL;
		}
	if (planned == NULL || jobs == NULL) {
		json_object_put(planned);
		free(jobs);
		return errbuf_set(e, "out of memory");
	}
	for (i = 0; i < json_object_array_length(items); i++) {
		item = json_object_array_get_idx(items, i);
		name = secret_name(item);
		if (!is_managed(item, s->annotation) || name == NULL ||
		    strncmp(name, s->prefix, strlen(s->prefix)) != 0 ||
		    json_object_object_get_ex(planned, name, NULL))
			continue;
		jobs[(*n)++].name = name;
	}
	json_object_put(planned);
	*out = jobs;
	return 0;
}

/* Grows the pool to at least n Kubernetes clients made from kc. */
static int pool_grow_kube(struct sync_pool *pool, const struct kube_config *kc,
                          size_t n, struct errbuf *e)
{
	struct kube **grown;
	struct kube *x;

	if (pool->n_kube >= n)
		return 0;
	grown = realloc(pool->kube, n * sizeof(*grown));
	if (grown == NULL)
		return errbuf_set(e, "out of memory");
	pool->kube = grown;
	while (pool->n_kube < n) {
		x = kube_new(kc, e);
		if (x == NULL)
			return -1;
		pool->kube[pool->n_kube++] = x;
	}
	return 0;
}

/* Clients for `want` workers: k, then the pool's (grown as needed) or,
 * without a pool, new ones made from kc for this run. */
static int kube_clients(struct writes *wr, struct kube *k,
                        const struct kube_config *kc, size_t want,
                        struct errbuf *e)
{
	struct sync_pool *pool = wr->s->pool;
	struct kube *x;

	wr->clients = calloc(want, sizeof(*wr->clients));
	if (wr->clients == NULL)
		return errbuf_set(e, "out of memory");
	wr->clients[0] = k;
	wr->n_clients = 1;
	if (pool != NULL && pool_grow_kube(pool, kc, want - 1, e) < 0)
		return -1;
	for (; wr->n_clients < want; wr->n_clients++) {
		x = pool != NULL ? pool->kube[wr->n_clients - 1]
		                 : kube_new(kc, e);
		if (x == NULL)
			return -1;
		wr->clients[wr->n_clients] = x;
	}
	return 0;
}

void sync_pool_free(struct sync_pool *pool)
{
	size_t i;

	if (pool == NULL)
		return;
	for (i = 0; i < pool->n_vault; i++)
		vault_free(pool->vault[i]);
	for (i = 0; i < pool->n_kube; i++)
		kube_free(pool->kube[i]);
	free(pool->vault);
	free(pool->kube);
	memset(pool, 0, sizeof(*pool));
}

int sync_plan_apply(const struct sync_settings *s, struct kube *k,
                    struct plan *p, struct errbuf *e)
{
	struct writes wr;
	json_object *items = NULL;
	struct job *writes = NULL;
	struct job *deletes = NULL;
	size_t n_writes = 0;
	size_t n_deletes = 0;
	size_t want;
	size_t i;
	int rc = -1;

	memset(&wr, 0, sizeof(wr));
	wr.s = s;

	/* One listing of the namespace tells what exists and what to
	 * delete; it is not read again. */
	if (kube_secret_list(k, &items, e) < 0)
		return -1;
	if (plan_writes(p, items, &writes, &n_writes, e) < 0 ||
	    plan_deletes(s, p, items, &deletes, &n_deletes, e) < 0)
		goto out;

	/* At most s->concurrency requests at once, each worker with its
	 * own client kept alive from the writes to the deletes. */
	want = n_writes > n_deletes ? n_writes : n_deletes;
	if (want > s->concurrency)
		want = (size_t)s->concurrency;
	if (want < 1 || s->kube.server == NULL)
		want = 1;
	if (kube_clients(&wr, k, &s->kube, want, e) < 0)
		goto out;

	/* Every write, then the deletes only when all writes succeeded. */
	if (run_phase(&wr, writes, n_writes, e) < 0 ||
	    run_phase(&wr, deletes, n_deletes, e) < 0)
		goto out;
	for (i = 0; i < n_writes; i++)
		p->items[writes[i].w - p->items].ignored = writes[i].ignored;
	rc = 0;
out:
	jobs_free(writes, n_writes);
	jobs_free(deletes, n_deletes);
	for (i = 1; s->pool == NULL && i < wr.n_clients; i++)
		kube_free(wr.clients[i]);
	free(wr.clients);
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
