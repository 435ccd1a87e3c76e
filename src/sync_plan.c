/* sync_plan: read the secrets of VAULT_SECRETS from Vault into a plan. */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
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

static int cmp_pair(const void *a, const void *b)
{
	return strcmp(((const struct secret_pair *)a)->key,
	              ((const struct secret_pair *)b)->key);
}

struct secret_data *secret_data_new(size_t n, const char *const *keys,
                                    const char *const *values)
{
	size_t size = sizeof(struct secret_data);
	struct secret_data *d;
	char *at;
	size_t i;

	if (n > SIZE_MAX / 2 / sizeof(d->pairs[0]))
		return NULL;
	size += n * sizeof(d->pairs[0]);
	for (i = 0; i < n; i++) {
		size_t more = strlen(keys[i]) + strlen(values[i]) + 2;

		if (more > SIZE_MAX - size)
			return NULL;
		size += more;
	}
	d = malloc(size);
	if (d == NULL)
		return NULL;
	d->n = n;
	d->size = size;
	at = (char *)&d->pairs[n];
	for (i = 0; i < n; i++) {
		size_t k = strlen(keys[i]) + 1;
		size_t v = strlen(values[i]) + 1;

		d->pairs[i].key = memcpy(at, keys[i], k);
		d->pairs[i].value = memcpy(at + k, values[i], v);
		at += k + v;
	}
	qsort(d->pairs, n, sizeof(d->pairs[0]), cmp_pair);
	return d;
}

void secret_data_free(struct secret_data *d)
{
	if (d == NULL)
		return;
	explicit_bzero(d, d->size);
	free(d);
}

void sync_plan_free(struct plan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->items[i].name);
		free(p->items[i].source);
		secret_data_free(p->items[i].data);
	}
	free(p->items);
	memset(p, 0, sizeof(*p));
}

const char *sync_path_base(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

/* The prefixed Kubernetes name of a file mapping or a listed key. */
char *sync_secret_name(const struct sync_settings *s, const char *base,
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
static struct secret_data *secret_data(json_object *kv, const char *path,
                                       struct errbuf *e)
{
	size_t n = (size_t)json_object_object_length(kv);
	const char **keys = calloc(n + 1, sizeof(*keys));
	char **values = calloc(n + 1, sizeof(*values));
	struct secret_data *data = NULL;
	size_t i = 0;

	if (keys == NULL || values == NULL) {
		errbuf_set(e, "out of memory");
		goto out;
	}
	json_object_object_foreach(kv, key, val)
	{
		if (!k8s_secret_key_valid(key)) {
			errbuf_set(e,
			           "%s: key \"%.253s\" is not a valid "
			           "Secret data key (letters, digits, "
			           "'-', '_', '.')",
			           path, key);
			goto out;
		}
		if (i == n)
			break;
		keys[i] = key;
		values[i] = encode_value(val, path, key, e);
		if (values[i] == NULL)
			goto out;
		i++;
	}
	data = secret_data_new(i, keys, (const char *const *)values);
	if (data == NULL)
		errbuf_set(e, "out of memory");
out:
	if (values != NULL)
		for (n = 0; values[n] != NULL; n++)
			secret_free(values[n]);
	free(keys);
	free(values);
	return data;
}

/* Reads one KV secret. 0 with *data (NULL when not found), -1 on error;
 * its log lines go to l. */
static int read_secret(struct vault *v, int version, const char *api_path,
                       struct secret_data **data, struct sync_lines *l,
                       struct errbuf *e)
{
	json_object *answer = NULL;
	json_object *kv = NULL;
	json_object *meta;
	json_object *field;
	char *warning = NULL;
	int rc;

	*data = NULL;
	sync_lines_add(l, "read %s from vault", api_path);
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
			sync_lines_add(l,
			               "secret %s not found: version %s is %s",
			               api_path, json_object_get_string(field),
			               d ? "destroyed" : "deleted");
		} else {
			sync_lines_add(l, "secret %s not found", api_path);
		}
		json_object_put(answer);
		return 0;
	}
	kv = answer;
	if (version == 2 && (!json_object_object_get_ex(answer, "data", &kv) ||
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
	/* A key with an escaped NUL, which json-c would have cut short,
	 * was refused by the Vault client (vault_json_nul_in_key). */
	*data = secret_data(kv, api_path, e);
	json_object_put(answer);
	return *data != NULL ? 0 : -1;
}

#define NO_DUP SIZE_MAX

/* One step of a run's reads, in VAULT_SECRETS order: a secret to read,
 * a note only (a skipped sub-directory, an empty directory), or an error
 * found before reading (then the last entry). */
struct entry {
	char *api;   /* API path to read; NULL: a note or an error */
	char *name;  /* validated Secret name (with api) */
	int version; /* KV version of the mount */
	bool dup;    /* an earlier entry has the same name */
	bool failed; /* err, or out of memory when err is NULL */
	struct errbuf *err;
	struct sync_lines lines;
	struct secret_data *data; /* what the read found; NULL: not found */
};

struct reads {
	const struct sync_settings *s;
	struct entry *ents;
	size_t n;
	size_t cap;
	struct vault **clients; /* one per worker; [0] is the caller's */
	size_t n_clients;
};

static void entry_free(struct entry *en)
{
	free(en->api);
	free(en->name);
	free(en->err);
	sync_lines_free(&en->lines);
	secret_data_free(en->data);
}

static struct entry *entry_push(struct reads *r)
{
	struct entry *grown;
	size_t cap;

	if (r->n == r->cap) {
		cap = r->cap ? 2 * r->cap : 16;
		grown = realloc(r->ents, cap * sizeof(*grown));
		if (grown == NULL)
			return NULL;
		r->ents = grown;
		r->cap = cap;
	}
	memset(&r->ents[r->n], 0, sizeof(r->ents[r->n]));
	return &r->ents[r->n++];
}

/* Marks en failed with e's error; always returns -1. */
static int entry_fail(struct entry *en, const struct errbuf *e)
{
	en->failed = true;
	en->err = malloc(sizeof(*en->err));
	if (en->err != NULL)
		*en->err = *e;
	return -1;
}

/* A secret to read; takes name and api on success. */
static int entry_read(struct reads *r, char *name, char *api, int version,
                      struct errbuf *e)
{
	struct entry *en = entry_push(r);

	if (en == NULL)
		return errbuf_set(e, "out of memory");
	en->name = name;
	en->api = api;
	en->version = version;
	return 0;
}

static int entry_note(struct reads *r, struct errbuf *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int entry_note(struct reads *r, struct errbuf *e, const char *fmt, ...)
{
	struct entry *en = entry_push(r);
	char *line = NULL;
	va_list ap;
	int n;

	if (en == NULL)
		return errbuf_set(e, "out of memory");
	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return errbuf_set(e, "out of memory");
	sync_lines_add(&en->lines, "%s", line);
	free(line);
	return 0;
}

static int prep_file(struct reads *r, struct kv_resolver *kr,
                     const struct mapping *m, struct errbuf *e)
{
	struct kv_location loc;
	char *name;
	char *api = NULL;
	int rc = -1;

	if (kv_resolve(kr, m->vault_path, &loc, e) < 0)
		return -1;
	name = sync_secret_name(
	    r->s, m->name != NULL ? m->name : sync_path_base(loc.rel), e);
	if (name == NULL)
		goto out;
	api = kv_read_path(&loc, loc.rel);
	if (api == NULL) {
		errbuf_set(e, "out of memory");
		goto out;
	}
	rc = entry_read(r, name, api, loc.version, e);
	if (rc == 0)
		name = api = NULL;
out:
	free(name);
	free(api);
	kv_location_free(&loc);
	return rc;
}

/* Queues the secrets of one directory key by key (one level). */
static int prep_keys(struct reads *r, const struct kv_location *loc,
                     const char *list, json_object *keys, struct errbuf *e)
{
	const char *key;
	char *rel = NULL;
	char *api = NULL;
	char *name = NULL;
	size_t i;
	int rc = -1;

	for (i = 0; i < json_object_array_length(keys); i++) {
		/* check_keys: a non-empty string. */
		key =
		    json_object_get_string(json_object_array_get_idx(keys, i));
		if (key[strlen(key) - 1] == '/') {
			if (entry_note(r, e,
			               "WARNING: skipping %s%s: a "
			               "sub-directory, not a secret (only one "
			               "level is synchronized)",
			               list, key) < 0)
				goto out;
			continue;
		}
		if (asprintf(&rel, "%s%s%s", loc->rel, loc->rel[0] ? "/" : "",
		             key) < 0) {
			rel = NULL;
			errbuf_set(e, "out of memory");
			goto out;
		}
		api = kv_read_path(loc, rel);
		free(rel);
		rel = NULL;
		if (api == NULL) {
			errbuf_set(e, "out of memory");
			goto out;
		}
		name = sync_secret_name(r->s, key, e);
		if (name == NULL ||
		    entry_read(r, name, api, loc->version, e) < 0)
			goto out;
		name = api = NULL;
	}
	rc = 0;
out:
	free(api);
	free(name);
	return rc;
}

/* Every key of a directory listing must be a non-empty string without
 * NUL: a key that is none of these names no secret (json-c cuts a key
 * at an escaped NUL, so "fi\u0000rst" would read k8s/fi). */
static int check_keys(const char *list, json_object *keys, struct errbuf *e)
{
	json_object *k;
	const char *s;
	size_t i;
	int len;

	for (i = 0; i < json_object_array_length(keys); i++) {
		k = json_object_array_get_idx(keys, i);
		if (!json_object_is_type(k, json_type_string))
			return errbuf_set(e,
			                  "list %s in vault: data.keys[%zu] is "
			                  "not a string: expected secret names",
			                  list, i);
		s = json_object_get_string(k);
		len = json_object_get_string_len(k);
		if (len == 0)
			return errbuf_set(e,
			                  "list %s in vault: data.keys[%zu] is "
			                  "empty: expected a secret name",
			                  list, i);
		if (len < 0 || strlen(s) != (size_t)len)
			return errbuf_set(
			    e,
			    "list %s in vault: data.keys[%zu] "
			    "contains a NUL character: expected a "
			    "secret name",
			    list, i);
	}
	return 0;
}

static int prep_dir(struct reads *r, struct vault *v, struct kv_resolver *kr,
                    const struct mapping *m, struct errbuf *e)
{
	struct kv_location loc;
	json_object *listing = NULL;
	json_object *keys;
	char *warning = NULL;
	char *list = NULL;
	char *dir = NULL;
	int rc;

	if (asprintf(&dir, "%s/", m->vault_path) < 0)
		return errbuf_set(e, "out of memory");
	rc = kv_resolve(kr, dir, &loc, e);
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
	if (rc < 0) {
		errbuf_prefix(e, "list %s in vault", list);
		goto out;
	}
	/* Only Vault's 404 says a directory is empty: a success answer
	 * without a list of keys is a broken answer, not "delete all". */
	if (rc == 1) {
		rc = entry_note(r, e, "vault directory %s lists no secrets",
		                list);
		goto out;
	}
	rc = -1;
	if (!json_object_is_type(listing, json_type_object) ||
	    !json_object_object_get_ex(listing, "keys", &keys) ||
	    !json_object_is_type(keys, json_type_array)) {
		errbuf_set(e,
		           "list %s in vault: answer has no data.keys array of "
		           "secret names",
		           list);
		goto out;
	}
	if (check_keys(list, keys, e) < 0)
		goto out;
	rc = prep_keys(r, &loc, list, keys, e);
out:
	free(warning);
	free(list);
	json_object_put(listing);
	kv_location_free(&loc);
	return rc;
}

struct named {
	const char *name;
	size_t idx;
};

static int named_cmp(const void *a, const void *b)
{
	const struct named *x = a;
	const struct named *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Marks the first entry whose name an earlier entry already has, and
 * drops the entries after it: a run in order stops there. */
static int find_duplicate(struct reads *r, struct errbuf *e)
{
	struct named *v;
	size_t n = 0;
	size_t first = NO_DUP;
	size_t i;

	v = malloc((r->n ? r->n : 1) * sizeof(*v));
	if (v == NULL)
		return errbuf_set(e, "out of memory");
	for (i = 0; i < r->n; i++)
		if (r->ents[i].api != NULL)
			v[n++] = (struct named){r->ents[i].name, i};
	qsort(v, n, sizeof(*v), named_cmp);
	/* In a run of equal names the first is the original; the second
	 * is where a run in order would have failed. */
	for (i = 1; i < n; i++) {
		if (strcmp(v[i].name, v[i - 1].name) != 0 ||
		    (i > 1 && strcmp(v[i].name, v[i - 2].name) == 0))
			continue;
		if (v[i].idx < first)
			first = v[i].idx;
	}
	free(v);
	if (first == NO_DUP)
		return 0;
	r->ents[first].dup = true;
	for (i = first + 1; i < r->n; i++)
		entry_free(&r->ents[i]);
	r->n = first + 1;
	return 0;
}

/* Resolves every mapping and lists every directory on v, one after the
 * other, into r's entries; stops at the first mapping that fails, which
 * becomes the last entry. -1 only when even that cannot be recorded. */
static int prep_all(struct reads *r, struct vault *v, struct errbuf *e)
{
	const struct sync_settings *s = r->s;
	struct kv_resolver *kr = kv_resolver_new(v);
	struct entry *en;
	size_t i;
	int rc = 0;

	if (kr == NULL)
		return errbuf_set(e, "out of memory");
	for (i = 0; i < s->n_mappings && rc == 0; i++) {
		if (s->mappings[i].is_dir)
			rc = prep_dir(r, v, kr, &s->mappings[i], e);
		else
			rc = prep_file(r, kr, &s->mappings[i], e);
	}
	kv_resolver_free(kr);
	if (rc == 0)
		return find_duplicate(r, e);
	en = entry_push(r);
	if (en == NULL)
		return -1;
	entry_fail(en, e);
	return en->err != NULL ? 0 : -1;
}

/* Makes a worker's client from the configuration v was made from. v has
 * given the configuration's warnings; workers are made quietly and
 * without the setting that only applies to logins (wrapping). */
static struct vault *worker_new(const struct sync_settings *s, struct errbuf *e)
{
	struct vault_config c = s->vault; /* vault_new copies it */

	c.token = NULL;
	c.wrap_ttl = NULL; /* reads are never wrapped; v warns once */
	c.quiet = true;
	return vault_new(&c, e);
}

/* Grows the pool to at least n Vault clients. */
static int pool_grow_vault(const struct sync_settings *s, size_t n,
                           struct errbuf *e)
{
	struct sync_pool *pool = s->pool;
	struct vault **grown;
	struct vault *x;

	if (pool->n_vault >= n)
		return 0;
	grown = realloc(pool->vault, n * sizeof(*grown));
	if (grown == NULL)
		return errbuf_set(e, "out of memory");
	pool->vault = grown;
	while (pool->n_vault < n) {
		x = worker_new(s, e);
		if (x == NULL)
			return -1;
		pool->vault[pool->n_vault++] = x;
	}
	return 0;
}

/* Clients for `want` workers, each carrying token: v, then the pool's
 * (grown as needed) or, without a pool, new ones for this run. */
static int vault_clients(struct reads *r, struct vault *v, const char *token,
                         size_t want, struct errbuf *e)
{
	struct sync_pool *pool = r->s->pool;
	struct vault *x;

	r->clients = calloc(want, sizeof(*r->clients));
	if (r->clients == NULL)
		return errbuf_set(e, "out of memory");
	r->clients[0] = v;
	r->n_clients = 1;
	if (pool != NULL && pool_grow_vault(r->s, want - 1, e) < 0)
		return -1;
	for (; r->n_clients < want; r->n_clients++) {
		x = pool != NULL ? pool->vault[r->n_clients - 1]
		                 : worker_new(r->s, e);
		if (x == NULL)
			return -1;
		r->clients[r->n_clients] = x;
		if (vault_set_token(x, token, e) < 0) {
			r->n_clients++;
			return -1;
		}
	}
	return 0;
}

/* Gives the workers' clients back: a pool's keep their connections but
 * not the token; others are freed. */
static void vault_clients_release(struct reads *r)
{
	struct errbuf ignored;
	size_t i;

	for (i = 1; i < r->n_clients; i++) {
		if (r->s->pool != NULL)
			(void)vault_set_token(r->clients[i], NULL, &ignored);
		else
			vault_free(r->clients[i]);
	}
	free(r->clients);
}

static int read_job(void *ctx, size_t worker, size_t i)
{
	struct reads *r = ctx;
	struct entry *en = &r->ents[i];
	struct errbuf e;

	if (en->failed)
		return -1;
	if (en->api == NULL)
		return 0;
	errbuf_clear(&e);
	if (read_secret(r->clients[worker], en->version, en->api, &en->data,
	                &en->lines, &e) < 0)
		return entry_fail(en, &e);
	return 0;
}

/* The error of en, whose name an earlier entry (now in p) has. */
static int duplicate(const struct plan *p, const struct entry *en,
                     struct errbuf *e)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->items[i].name, en->name) == 0)
			break;
	return errbuf_set(e,
	                  "vault secrets %s and %s both map to kubernetes "
	                  "secret %s",
	                  i < p->n ? p->items[i].source : "(earlier)", en->api,
	                  en->name);
}

/* Logs the entries in order and moves what they read into p, up to the
 * first failure, whose error it returns. */
static int merge(struct reads *r, struct plan *p, struct errbuf *e)
{
	struct wanted *grown;
	struct entry *en;
	size_t i;

	grown = realloc(p->items, (p->n + r->n + 1) * sizeof(*grown));
	if (grown == NULL)
		return errbuf_set(e, "out of memory");
	p->items = grown;
	for (i = 0; i < r->n; i++) {
		en = &r->ents[i];
		sync_lines_flush(&en->lines);
		if (en->failed) {
			if (en->err == NULL)
				return errbuf_set(e, "out of memory");
			*e = *en->err;
			return -1;
		}
		if (en->api == NULL)
			continue;
		if (en->dup)
			return duplicate(p, en, e);
		p->items[p->n].name = en->name;
		p->items[p->n].source = en->api;
		p->items[p->n].data = en->data;
		p->n++;
		en->name = en->api = NULL;
		en->data = NULL;
	}
	return 0;
}

int sync_plan_build(const struct sync_settings *s, struct vault *v,
                    const char *token, struct plan *p, struct errbuf *e)
{
	struct reads r;
	size_t reads = 0;
	size_t workers;
	size_t i;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	r.s = s;

	/* Mounts and directory listings, in order, on one client. */
	if (prep_all(&r, v, e) < 0)
		goto out;

	/* The reads, at most s->concurrency at once. VAULT_RATE_LIMIT is
	 * a per-client limit: with it every read stays on v. */
	for (i = 0; i < r.n; i++)
		reads += r.ents[i].api != NULL;
	workers = reads < s->concurrency ? reads : (size_t)s->concurrency;
	if (workers < 1 || token == NULL || s->vault.rate > 0)
		workers = 1;
	if (vault_clients(&r, v, token, workers, e) < 0)
		goto out;
	(void)sync_parallel(r.n_clients, r.n, read_job, &r);

	/* Log lines and the first failure, in VAULT_SECRETS order. */
	rc = merge(&r, p, e);
out:
	for (i = 0; i < r.n; i++)
		entry_free(&r.ents[i]);
	free(r.ents);
	vault_clients_release(&r);
	return rc;
}

static void lines_vadd(struct sync_lines *l, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void lines_vadd(struct sync_lines *l, const char *fmt, va_list ap)
{
	char *line = NULL;
	char *grown;
	int n;

	n = vasprintf(&line, fmt, ap);
	if (n < 0) {
		l->lost++;
		return;
	}
	grown = realloc(l->buf, l->len + (size_t)n + 1);
	if (grown == NULL) {
		free(line);
		l->lost++;
		return;
	}
	memcpy(grown + l->len, line, (size_t)n + 1);
	l->buf = grown;
	l->len += (size_t)n + 1;
	free(line);
}

void sync_lines_add(struct sync_lines *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lines_vadd(l, fmt, ap);
	va_end(ap);
}

void sync_lines_flush(struct sync_lines *l)
{
	size_t off;

	for (off = 0; off < l->len; off += strlen(l->buf + off) + 1)
		log_msg("%s", l->buf + off);
	if (l->lost > 0)
		log_msg("WARNING: %zu log lines were lost for lack of memory",
		        l->lost);
	sync_lines_free(l);
}

void sync_lines_free(struct sync_lines *l)
{
	free(l->buf);
	memset(l, 0, sizeof(*l));
}

struct par {
	int (*job)(void *ctx, size_t worker, size_t i);
	void *ctx;
	size_t n;
	atomic_size_t next;
	atomic_size_t first_fail;
};

struct par_worker {
	struct par *par;
	size_t id;
	pthread_t tid;
	bool started;
};

static void par_run(struct par *par, size_t worker)
{
	size_t i;
	size_t f;

	for (;;) {
		i = atomic_fetch_add(&par->next, 1);
		if (i >= par->n || i > atomic_load(&par->first_fail))
			return;
		if (par->job(par->ctx, worker, i) == 0)
			continue;
		f = atomic_load(&par->first_fail);
		while (i < f &&
		       !atomic_compare_exchange_weak(&par->first_fail, &f, i))
			;
	}
}

static void *par_thread(void *arg)
{
	struct par_worker *w = arg;

	par_run(w->par, w->id);
	return NULL;
}

size_t sync_parallel(size_t workers, size_t n,
                     int (*job)(void *ctx, size_t worker, size_t i), void *ctx)
{
	struct par par;
	struct par_worker *w = NULL;
	sigset_t all;
	sigset_t old;
	bool masked;
	size_t i;

	par.job = job;
	par.ctx = ctx;
	par.n = n;
	atomic_init(&par.next, 0);
	atomic_init(&par.first_fail, n);
	if (workers > n)
		workers = n;
	if (workers > 1)
		w = calloc(workers, sizeof(*w));
	/* Signals stay with the calling thread: the workers block all but
	 * those a fault of their own raises. */
	(void)sigfillset(&all);
	(void)sigdelset(&all, SIGSEGV);
	(void)sigdelset(&all, SIGBUS);
	(void)sigdelset(&all, SIGFPE);
	(void)sigdelset(&all, SIGILL);
	(void)sigdelset(&all, SIGABRT);
	masked = w != NULL && pthread_sigmask(SIG_BLOCK, &all, &old) == 0;
	for (i = 1; w != NULL && i < workers; i++) {
		w[i].par = &par;
		w[i].id = i;
		w[i].started =
		    pthread_create(&w[i].tid, NULL, par_thread, &w[i]) == 0;
	}
	if (masked)
		(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	par_run(&par, 0);
	for (i = 1; w != NULL && i < workers; i++)
		if (w[i].started)
			(void)pthread_join(w[i].tid, NULL);
	free(w);
	return atomic_load(&par.first_fail);
}
