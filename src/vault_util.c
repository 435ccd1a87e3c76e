/* vault_util: growing strings, clocks and JSON helpers of the Vault client. */
#include "vault_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parse.h"

#define JSON_DEPTH 256  /* envelope plus deeply nested secrets */
#define EXCERPT_MAX 200 /* bytes of a raw error body quoted */

void sbuf_put(struct sbuf *b, const char *s, size_t n)
{
	char *p;
	size_t cap;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 128;
		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sbuf_str(struct sbuf *b, const char *s)
{
	sbuf_put(b, s, strlen(s));
}

int64_t vault_now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

void vault_sleep_ns(int64_t ns)
{
	struct timespec ts;

	if (ns <= 0)
		return;
	ts.tv_sec = (time_t)(ns / NS_PER_S);
	ts.tv_nsec = (long)(ns % NS_PER_S);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		continue;
}

/* Wipes memory json-c hands out as const: it is the library's own heap
 * memory, writable, and holds a token or a JWT. */
void vault_wipe_const(const char *s, size_t len)
{
	if (s != NULL)
		explicit_bzero((void *)(uintptr_t)s, len);
}

/* Wipes every string of a tree (tokens, JWTs) and releases it. */
static void json_wipe(json_object *o)
{
	size_t i, n;

	switch (json_object_get_type(o)) {
	case json_type_string:
		vault_wipe_const(json_object_get_string(o),
		                 (size_t)json_object_get_string_len(o));
		break;
	case json_type_array:
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			json_wipe(json_object_array_get_idx(o, i));
		break;
	case json_type_object: {
		json_object_object_foreach(o, key, val)
		{
			(void)key;
			json_wipe(val);
		}
		break;
	}
	default:
		break;
	}
}

void vault_json_wipe_put(json_object *o)
{
	json_wipe(o);
	json_object_put(o);
}

/* Parses a whole body as one JSON value; the parser's scratch buffer,
 * which keeps the last strings read (a token, a secret value), is wiped.
 * Returns NULL when the body is not JSON or is JSON null. */
json_object *vault_json_parse(const char *body, size_t len)
{
	json_tokener *tok;
	json_object *o;

	if (body == NULL || len == 0 || len > INT_MAX)
		return NULL;
	tok = json_tokener_new_ex(JSON_DEPTH);
	if (tok == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, body, (int)len);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	                  json_tokener_get_parse_end(tok) != len)) {
		json_object_put(o);
		o = NULL;
	}
	/* The tokener keeps its buffer public in json-c 0.16 and earlier. */
	if (tok->pb != NULL && tok->pb->buf != NULL)
		explicit_bzero(tok->pb->buf, (size_t)tok->pb->size);
	json_tokener_free(tok);
	return o;
}

bool vault_json_nul_in_key(const char *body, size_t len)
{
	char quote = '\0'; /* the quote of the string being read, or none */
	bool nul = false;  /* the string being read holds \u0000 */
	bool last = false; /* the string just closed did */
	size_t i;

	/* json-c also takes single-quoted keys, even in strict mode: a
	 * string ends with the quote that opened it. */
	for (i = 0; i < len; i++) {
		char c = body[i];
		bool in_string = quote != '\0';

		if (in_string && c == '\\') {
			if (len - i > 5 &&
			    memcmp(body + i + 1, "u0000", 5) == 0)
				nul = true;
			i++; /* the escaped character cannot end the string */
		} else if (in_string && c == quote) {
			quote = '\0';
			last = nul;
		} else if (!in_string && (c == '"' || c == '\'')) {
			quote = c;
			nul = false;
		} else if (!in_string && c == ':' && last) {
			return true;
		} else if (!in_string && c != ' ' && c != '\t' && c != '\n' &&
		           c != '\r') {
			last = false;
		}
	}
	return false;
}

json_object *vault_json_get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/* A string member, or NULL when absent or not a string. */
const char *vault_json_str(json_object *o, const char *key)
{
	json_object *v = vault_json_get(o, key);

	return json_object_is_type(v, json_type_string)
	           ? json_object_get_string(v)
	           : NULL;
}

/* Seconds: a JSON number (its integral part, as Go's client reads a
 * json.Number through ParseDurationSecond) or a duration string, within
 * [0, VAULT_SECS_MAX]. Absent or null is 0. */
int vault_json_secs(json_object *o, const char *key, int64_t *out)
{
	json_object *v = vault_json_get(o, key);
	int64_t ns;
	int64_t x;
	double d;

	*out = 0;
	switch (json_object_get_type(v)) {
	case json_type_null:
		return 0;
	case json_type_int:
		/* json-c clamps what does not fit 64 bits to the
		 * extremes, which the range check refuses */
		x = json_object_get_int64(v);
		break;
	case json_type_double:
		d = json_object_get_double(v);
		if (!(d >= 0.0 && d < (double)VAULT_SECS_MAX + 1.0))
			return -1;
		x = (int64_t)d;
		break;
	case json_type_string:
		if (parse_duration_second(json_object_get_string(v), &ns) < 0)
			return -1;
		x = ns / NS_PER_S;
		break;
	default:
		return -1;
	}
	if (x < 0 || x > VAULT_SECS_MAX)
		return -1;
	*out = x;
	return 0;
}

bool vault_json_true(json_object *o, const char *key)
{
	json_object *v = vault_json_get(o, key);

	return json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}

/* The first string of "warnings", copied, or NULL. */
char *vault_first_warning(json_object *root)
{
	json_object *w = vault_json_get(root, "warnings");
	json_object *s;

	if (!json_object_is_type(w, json_type_array) ||
	    json_object_array_length(w) == 0)
		return NULL;
	s = json_object_array_get_idx(w, 0);
	if (!json_object_is_type(s, json_type_string))
		return NULL;
	return strdup(json_object_get_string(s));
}

/*
 * LIMITATION: json-c saturates integers beyond 64 bits to INT64_MIN or
 * UINT64_MAX and keeps no source text for integers, so those two exact
 * values are refused too: they cannot be told apart from an overflow.
 */
bool vault_json_ints_fit(json_object *o)
{
	size_t i, n;

	switch (json_object_get_type(o)) {
	case json_type_int:
		return json_object_get_int64(o) != INT64_MIN &&
		       json_object_get_uint64(o) != UINT64_MAX;
	case json_type_array:
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			if (!vault_json_ints_fit(
			        json_object_array_get_idx(o, i)))
				return false;
		return true;
	case json_type_object: {
		json_object_object_foreach(o, key, val)
		{
			(void)key;
			if (!vault_json_ints_fit(val))
				return false;
		}
		return true;
	}
	default:
		return true;
	}
}

bool vault_printable(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* Appends text with control characters folded to single spaces. */
static void sbuf_clean(struct sbuf *b, const char *s, size_t n)
{
	size_t i;
	bool space = false;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f || ch == ' ') {
			space = true;
			continue;
		}
		if (space && b->len > 0 && b->p[b->len - 1] != ' ')
			sbuf_put(b, " ", 1);
		space = false;
		sbuf_put(b, &s[i], 1);
	}
}

/* Appends one Vault error: "2 errors occurred:\n\t* a\n\t* b\n\n" from
 * Go's multierror becomes "a; b". */
void sbuf_vault_error(struct sbuf *b, const char *s)
{
	const char *p = s;
	const char *nl;

	while (*p >= '0' && *p <= '9')
		p++;
	if (p > s && (strncmp(p, " error occurred:", 16) == 0 ||
	              strncmp(p, " errors occurred:", 17) == 0))
		s = strchr(p, ':') + 1;
	for (p = s; *p != '\0'; p = *nl ? nl + 1 : nl) {
		size_t n;

		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		while (p < nl && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		if (nl - p >= 2 && p[0] == '*' && p[1] == ' ')
			p += 2;
		n = (size_t)(nl - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' ||
		                 p[n - 1] == '\r'))
			n--;
		if (n == 0)
			continue;
		if (b->len > 0)
			sbuf_str(b, "; ");
		sbuf_clean(b, p, n);
	}
}

/* A short vault_printable excerpt of a raw body. */
void sbuf_excerpt(struct sbuf *b, const char *s, size_t len)
{
	size_t n = len < EXCERPT_MAX ? len : EXCERPT_MAX;

	/* do not cut a UTF-8 sequence */
	while (n < len && n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	sbuf_clean(b, s, n);
	if (n < len)
		sbuf_str(b, "...");
}
