/* vault: the public Vault calls (logins, token self-service, reads). */
#include "vault_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "tokenfile.h"

#define CONNECT_TIMEOUT_MS 30000 /* Go's default dialer */

static int split_headers(struct vault *v, const struct vault_config *c)
{
	size_t i;

	v->hname = calloc(c->n_headers + 1, sizeof(*v->hname));
	v->hvalue = calloc(c->n_headers + 1, sizeof(*v->hvalue));
	if (v->hname == NULL || v->hvalue == NULL)
		return -1;
	for (i = 0; i < c->n_headers; i++) {
		const char *colon = strchr(c->headers[i], ':');

		if (colon == NULL)
			return -1;
		v->hname[i] =
		    strndup(c->headers[i], (size_t)(colon - c->headers[i]));
		v->hvalue[i] = strdup(colon + (colon[1] == ' ' ? 2 : 1));
		v->n_headers = i + 1;
		if (v->hname[i] == NULL || v->hvalue[i] == NULL)
			return -1;
	}
	return 0;
}

/* Files named by the configuration must be readable now, as Go's
 * NewClient loads them. */
static int files_check(const struct vault_config *c, struct errbuf *e)
{
	const char *var[] = {"VAULT_CACERT", "VAULT_CLIENT_CERT",
	                     "VAULT_CLIENT_KEY", "VAULT_CAPATH"};
	const char *path[] = {c->ca_file, c->client_cert, c->client_key,
	                      c->ca_path};
	struct stat sb;
	size_t i;

	for (i = 0; i < sizeof(var) / sizeof(var[0]); i++) {
		if (path[i] == NULL)
			continue;
		if (access(path[i], R_OK) < 0 || stat(path[i], &sb) < 0)
			return errbuf_set(e, "%s: cannot read %s: %s", var[i],
			                  path[i], strerror(errno));
		if ((i < 3 && !S_ISREG(sb.st_mode)) ||
		    (i == 3 && !S_ISDIR(sb.st_mode)))
			return errbuf_set(e, "%s: %s is not a %s", var[i],
			                  path[i],
			                  i < 3 ? "file" : "directory");
	}
	return 0;
}

struct vault *vault_new(const struct vault_config *c, struct errbuf *e)
{
	struct http_options o = {0};
	struct vault *v = calloc(1, sizeof(*v));
	struct vault *ret = NULL;

	if (v == NULL) {
		errbuf_set(e, "out of memory");
		return NULL;
	}
	if (files_check(c, e) < 0)
		goto out;
	o.ca_file = c->ca_file;
	o.ca_path = c->ca_path;
	o.ca_pem = c->ca_pem;
	o.client_cert = c->client_cert;
	o.client_key = c->client_key;
	o.server_name = c->server_name;
	o.skip_verify = c->skip_verify;
	o.unix_socket = c->unix_socket;
	o.proxy = c->proxy;
	o.connect_timeout_ms = CONNECT_TIMEOUT_MS;
	o.observer = c->observer;
	o.share = c->share;
	v->http = http_client_new(&o, e);
	if (v->http == NULL) {
		errbuf_prefix(e, "cannot create the Vault client");
		goto out;
	}
	v->addr = strdup(c->addr);
	v->namespace = c->namespace ? strdup(c->namespace) : NULL;
	if (v->addr == NULL || (c->namespace && v->namespace == NULL) ||
	    split_headers(v, c) < 0) {
		errbuf_set(e, "out of memory");
		goto out;
	}
	v->timeout_ns = c->timeout_ns;
	v->max_retries = c->max_retries;
	v->disable_redirects = c->disable_redirects;
	v->srv_lookup = c->srv_lookup;
	v->via_socket = c->unix_socket != NULL;
	v->wrap_env = c->wrap_ttl != NULL;
	v->rate = c->rate;
	v->burst = c->burst;
	if (getrandom(&v->rng, sizeof(v->rng), 0) != sizeof(v->rng))
		v->rng = (uint64_t)vault_now_ns();
	v->rng |= 1;
	if (vault_set_token(v, c->token, e) < 0)
		goto out;
	if (c->skip_verify && !c->quiet)
		log_msg("WARNING: VAULT_SKIP_VERIFY is set - the certificate "
		        "of the Vault server is not verified");
	if (c->mfa_set && !c->quiet)
		log_msg("WARNING: VAULT_MFA is set but has no effect - "
		        "unattended logins cannot answer MFA");
	ret = v;
	v = NULL;
out:
	vault_free(v);
	return ret;
}

void vault_free(struct vault *v)
{
	size_t i;

	if (v == NULL)
		return;
	http_client_free(v->http);
	free(v->addr);
	free(v->namespace);
	for (i = 0; i < v->n_headers; i++) {
		free(v->hname[i]);
		secret_free(v->hvalue[i]);
	}
	free(v->hname);
	free(v->hvalue);
	secret_free(v->token);
	free(v->wrap_ttl);
	free(v);
}

int vault_set_token(struct vault *v, const char *token, struct errbuf *e)
{
	char *copy = NULL;

	/* An empty token means none, as Go's SetToken(""). */
	if (token != NULL && token[0] != '\0') {
		if (!vault_printable(token))
			return errbuf_set(e, "configured Vault token contains "
			                     "non-printable characters and "
			                     "cannot be used");
		copy = strdup(token);
		if (copy == NULL)
			return errbuf_set(e, "out of memory");
	}
	secret_free(v->token);
	v->token = copy;
	return 0;
}

void vault_set_wrap_ttl(struct vault *v, const char *ttl)
{
	free(v->wrap_ttl);
	v->wrap_ttl = ttl ? strdup(ttl) : NULL;
	/* Logins then fail rather than store an unwrapped token. */
	v->wrap_broken = ttl != NULL && v->wrap_ttl == NULL;
}

long vault_connects(const struct vault *v)
{
	return v != NULL ? http_client_connects(v->http) : 0;
}

void vault_auth_free(struct vault_auth *a)
{
	if (a == NULL)
		return;
	secret_free(a->client_token);
	free(a->token_type);
	free(a->warning);
	memset(a, 0, sizeof(*a));
}

/* Sends c and parses the 2xx answer's JSON (NULL for an empty body);
 * any other status is the formatted error. */
static int call_json(struct vault *v, const struct call *c, struct answer *a,
                     json_object **root, struct errbuf *e)
{
	*root = NULL;
	if (vault_call(v, c, a, e) < 0)
		return -1;
	if (a->resp.status < 200 || a->resp.status > 299) {
		vault_answer_error(c, a, e);
		vault_answer_free(a);
		return -1;
	}
	if (a->resp.body_len == 0)
		return 0;
	*root = vault_json_parse(a->resp.body, a->resp.body_len);
	if (*root == NULL) {
		vault_answer_fail(c, a, e, "the answer is not JSON");
		vault_answer_free(a);
		return -1;
	}
	return 0;
}

/* A token as an answer may carry it: a string of 1 to VAULT_TOKEN_MAX
 * printable ASCII characters, no space, no NUL inside. */
static bool token_wellformed(json_object *t)
{
	const char *s;
	size_t n, i;

	if (!json_object_is_type(t, json_type_string))
		return false;
	s = json_object_get_string(t);
	n = (size_t)json_object_get_string_len(t);
	if (n == 0 || n > VAULT_TOKEN_MAX || strlen(s) != n)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* Reads member key of o as seconds into *out; a member of another type
 * or out of range makes the answer malformed (the error names the
 * field). Unless required (then at least 1), missing is 0. */
static int secs_field(const struct call *c, const struct answer *a,
                      json_object *o, const char *block, const char *key,
                      bool required, int64_t *out, struct errbuf *e)
{
	char what[160];

	if (vault_json_secs(o, key, out) == 0 && (!required || *out > 0))
		return 0;
	(void)snprintf(what, sizeof(what),
	               "%s.%s is %s; expected a number of seconds from %d "
	               "to %lld",
	               block, key,
	               vault_json_get(o, key) == NULL ? "missing" : "malformed",
	               required ? 1 : 0, (long long)VAULT_SECS_MAX);
	return vault_answer_fail(c, a, e, what);
}

/* Whether a warning says Vault capped the TTL at the max TTL. */
static bool capped(const char *warning)
{
	return warning != NULL && strstr(warning, "max_ttl") != NULL &&
	       strstr(warning, "capped") != NULL;
}

/* Fills out from a login or renewal answer: the auth block, or the
 * wrap_info block when the answer was wrapped. A renewal (renew) must
 * carry a positive lease. */
static int auth_fill(const struct call *c, const struct answer *a,
                     json_object *root, bool renew, struct vault_auth *out,
                     struct errbuf *e)
{
	json_object *auth = vault_json_get(root, "auth");
	json_object *wrap = vault_json_get(root, "wrap_info");
	json_object *tok;
	const char *token;
	const char *type;

	if (c->wrap) {
		tok = vault_json_get(wrap, "token");
		token = vault_json_str(wrap, "token");
		if (token == NULL || token[0] == '\0')
			return vault_answer_fail(c, a, e,
			                         "a wrapped answer was "
			                         "asked for (VAULT_WRAP_TTL) "
			                         "but none came");
		out->wrapped = true;
		if (secs_field(c, a, wrap, "wrap_info", "ttl", false,
		               &out->lease_duration, e) < 0)
			return -1;
	} else {
		tok = vault_json_get(auth, "client_token");
		token = vault_json_str(auth, "client_token");
		if ((token == NULL || token[0] == '\0') &&
		    json_object_is_type(vault_json_get(auth, "mfa_requirement"),
		                        json_type_object))
			return vault_answer_fail(c, a, e,
			                         "login requires MFA, which "
			                         "unattended logins cannot "
			                         "answer");
		if (token == NULL || token[0] == '\0')
			return vault_answer_fail(c, a, e,
			                         "the answer carries no "
			                         "client token");
		out->warning = vault_first_warning(root);
		/* A lease of 0 from a renewal is Vault's own answer in the
		 * last second before the max TTL, which it then says it
		 * capped; without that warning it is a broken answer. */
		if (secs_field(c, a, auth, "auth", "lease_duration",
		               renew && !capped(out->warning),
		               &out->lease_duration, e) < 0)
			return -1;
		out->renewable = vault_json_true(auth, "renewable");
		type = vault_json_str(auth, "token_type");
		if (type != NULL && (out->token_type = strdup(type)) == NULL)
			return errbuf_set(e, "out of memory");
	}
	if (!token_wellformed(tok))
		return vault_answer_fail(
		    c, a, e,
		    "the answer carries a malformed client "
		    "token (expected 1 to " VAULT_TOKEN_MAX_S
		    " printable ASCII characters, no spaces)");
	out->client_token = strdup(token);
	if (out->warning == NULL)
		out->warning = vault_first_warning(root);
	if (out->client_token == NULL)
		return errbuf_set(e, "out of memory");
	return 0;
}

/* A request whose answer is an auth (or wrap_info) block. */
static int auth_call(struct vault *v, const struct call *c, bool renew,
                     struct vault_auth *out, struct errbuf *e)
{
	struct answer a;
	json_object *root = NULL;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (c->wrap && v->wrap_broken)
		return errbuf_set(e, "out of memory");
	if (call_json(v, c, &a, &root, e) < 0)
		return -1;
	if (auth_fill(c, &a, root, renew, out, e) < 0)
		vault_auth_free(out);
	else
		ret = 0;
	vault_json_wipe_put(root);
	vault_answer_free(&a);
	return ret;
}

/* PUT auth/<mount>/login with {k1: v1, k2: v2}, as Logical().Write. */
static int login(struct vault *v, const char *mount, const char *k1,
                 const char *v1, const char *k2, const char *v2,
                 struct vault_auth *out, struct errbuf *e)
{
	json_object *o = json_object_new_object();
	struct call c = {0};
	struct sbuf path = {0};
	const char *body = NULL;
	size_t len = 0;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (mount == NULL || v1 == NULL || v2 == NULL)
		return errbuf_set(e, "login: missing mount, role or secret");
	if (o == NULL ||
	    json_object_object_add(o, k1, json_object_new_string(v1)) != 0 ||
	    json_object_object_add(o, k2, json_object_new_string(v2)) != 0 ||
	    json_object_is_type(vault_json_get(o, k1), json_type_null) ||
	    json_object_is_type(vault_json_get(o, k2), json_type_null)) {
		errbuf_set(e, "out of memory");
		goto out;
	}
	body = json_object_to_json_string_length(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	sbuf_str(&path, "auth/");
	sbuf_str(&path, mount);
	sbuf_str(&path, "/login");
	if (body == NULL || path.oom) {
		errbuf_set(e, "out of memory");
		goto out;
	}
	c.method = "PUT";
	c.path = path.p;
	c.body = body;
	c.body_len = len;
	c.secret = true;
	c.redact = v2;
	c.wrap = v->wrap_ttl != NULL || v->wrap_broken;
	ret = auth_call(v, &c, false, out, e);
out:
	vault_wipe_const(body, len);
	vault_json_wipe_put(o);
	free(path.p);
	return ret;
}

int vault_login_kubernetes(struct vault *v, const char *mount, const char *role,
                           const char *jwt, struct vault_auth *out,
                           struct errbuf *e)
{
	return login(v, mount, "role", role, "jwt", jwt, out, e);
}

int vault_login_approle(struct vault *v, const char *mount, const char *role_id,
                        const char *secret_id, struct vault_auth *out,
                        struct errbuf *e)
{
	return login(v, mount, "role_id", role_id, "secret_id", secret_id, out,
	             e);
}

int vault_renew_self(struct vault *v, int64_t increment_s,
                     struct vault_auth *out, struct errbuf *e)
{
	json_object *o = json_object_new_object();
	struct call c = {0};
	const char *body = NULL;
	size_t len = 0;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (o == NULL ||
	    json_object_object_add(o, "increment",
	                           json_object_new_int64(increment_s)) != 0 ||
	    (body = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN,
	                                              &len)) == NULL) {
		errbuf_set(e, "out of memory");
		goto out;
	}
	c.method = "PUT";
	c.path = "auth/token/renew-self";
	c.body = body;
	c.body_len = len;
	c.secret = true;
	ret = auth_call(v, &c, true, out, e);
out:
	json_object_put(o);
	return ret;
}

int vault_lookup_self(struct vault *v, struct vault_token_info *out,
                      struct errbuf *e)
{
	struct call c = {0};
	struct answer a;
	json_object *root = NULL;
	json_object *data;

	memset(out, 0, sizeof(*out));
	c.method = "GET";
	c.path = "auth/token/lookup-self";
	c.secret = true;
	if (call_json(v, &c, &a, &root, e) < 0)
		return -1;
	data = vault_json_get(root, "data");
	if (!json_object_is_type(data, json_type_object)) {
		vault_answer_fail(&c, &a, e, "the answer carries no data");
		vault_json_wipe_put(root);
		vault_answer_free(&a);
		return -1;
	}
	if (secs_field(&c, &a, data, "data", "ttl", false, &out->ttl, e) < 0 ||
	    secs_field(&c, &a, data, "data", "creation_ttl", false,
	               &out->creation_ttl, e) < 0 ||
	    secs_field(&c, &a, data, "data", "period", false, &out->period, e) <
	        0) {
		vault_json_wipe_put(root);
		vault_answer_free(&a);
		return -1;
	}
	out->renewable = vault_json_true(data, "renewable");
	out->periodic = out->period > 0;
	vault_json_wipe_put(root);
	vault_answer_free(&a);
	return 0;
}

int vault_revoke_self(struct vault *v, struct errbuf *e)
{
	struct call c = {0};
	struct answer a;

	c.method = "PUT";
	c.path = "auth/token/revoke-self";
	c.secret = true;
	if (vault_call(v, &c, &a, e) < 0)
		return -1;
	if (a.resp.status < 200 || a.resp.status > 299) {
		vault_answer_error(&c, &a, e);
		vault_answer_free(&a);
		return -1;
	}
	vault_answer_free(&a);
	return 0;
}

/* Read and list share the 404 rules of Go's Logical().Read: an empty
 * 404, or one without data and warnings, is "not found"; one with data
 * or warnings (a deleted KV v2 version) is handed back. */
static int read_common(struct vault *v, const char *path, bool list,
                       json_object **data, char **warning, struct errbuf *e)
{
	struct call c = {0};
	struct answer a;
	json_object *root = NULL;
	json_object *d;
	char *w = NULL;
	long s;
	int ret = -1;

	*data = NULL;
	if (warning != NULL)
		*warning = NULL;
	if (path == NULL || path[0] == '\0')
		return errbuf_set(e, "read from vault: empty path");
	c.method = "GET";
	c.path = path;
	c.list = list;
	if (vault_call(v, &c, &a, e) < 0)
		return -1;
	s = a.resp.status;
	if (s != 404 && (s < 200 || s > 299)) {
		vault_answer_error(&c, &a, e);
		goto out;
	}
	if (a.resp.body_len == 0) {
		ret = s == 404 ? 1 : 0;
		goto out;
	}
	root = vault_json_parse(a.resp.body, a.resp.body_len);
	if (root == NULL && s == 404) {
		vault_answer_error(&c, &a, e);
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		vault_answer_fail(&c, &a, e, "the answer is not a JSON object");
		goto out;
	}
	d = vault_json_get(root, "data");
	if (!vault_json_ints_fit(d)) {
		vault_answer_fail(&c, &a, e,
		                  "an integer in the secret is beyond "
		                  "64 bits (integer out of range)");
		goto out;
	}
	if (vault_json_nul_in_key(a.resp.body, a.resp.body_len)) {
		vault_answer_fail(&c, &a, e,
		                  "a key in the answer holds a NUL character "
		                  "(\\u0000), which a Kubernetes Secret key "
		                  "cannot");
		goto out;
	}
	w = vault_first_warning(root);
	if (s != 404 && d != NULL)
		*data = json_object_get(d);
	else if (json_object_is_type(d, json_type_object) &&
	         json_object_object_length(d) > 0)
		*data = json_object_get(d);
	if (warning != NULL) {
		*warning = w;
		w = NULL;
	}
	ret = s == 404 ? 1 : 0;
out:
	free(w);
	json_object_put(root);
	vault_answer_free(&a);
	return ret;
}

int vault_read(struct vault *v, const char *path, json_object **data,
               char **warning, struct errbuf *e)
{
	return read_common(v, path, false, data, warning, e);
}

int vault_list(struct vault *v, const char *path, json_object **data,
               char **warning, struct errbuf *e)
{
	return read_common(v, path, true, data, warning, e);
}
