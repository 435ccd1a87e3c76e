/* sync_plan: read the secrets of VAULT_SECRETS from Vault into a plan. */
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

void sync_plan_free(struct plan *p)
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
	name = sync_secret_name(
	    s, m->name != NULL ? m->name : sync_path_base(loc.rel), e);
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
		name = sync_secret_name(s, key, e);
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
int sync_plan_build(const struct sync_settings *s, struct vault *v,
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
