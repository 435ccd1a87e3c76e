/* parse: strict parsers for configuration values and Kubernetes names. */
#include "parse.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* Go durations are int64 nanoseconds; magnitudes are summed as uint64 and
 * may reach 2^63 only for a negative result. */
#define DUR_LIMIT ((uint64_t)1 << 63)
#define NS_PER_SEC INT64_C(1000000000)
#define NS_PER_DAY (INT64_C(86400) * NS_PER_SEC)

/* Longest part of a value quoted in an error message. */
#define QUOTE_MAX 64
/* Room for QUOTE_MAX bytes escaped as \xNN, the quotes and "...". */
#define QUOTE_BUF (QUOTE_MAX * 4 + 8)

/* Longest VAULT_AUTH_MOUNT_PATH accepted; it only ever goes into a URL. */
#define MOUNT_MAX 1024

#define K8S_SUBDOMAIN_MAX 253
#define K8S_KEY_MAX 253
#define K8S_NAME_MAX 63

static const char bool_accepted[] =
    "1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False";

static const struct {
	const char *name;
	uint64_t ns;
} duration_units[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xc2\xb5s", 1000}, /* U+00B5 MICRO SIGN */
    {"\xce\xbcs", 1000}, /* U+03BC GREEK SMALL LETTER MU */
    {"ms", 1000000},
    {"s", 1000000000},
    {"m", UINT64_C(60000000000)},
    {"h", UINT64_C(3600000000000)},
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_lower_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z');
}

/* c is one of the characters of set (never the NUL). */
static bool in_set(char c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/* Malloc'd copy of s[0..len) without surrounding whitespace. */
static char *trim_ndup(const char *s, size_t len)
{
	char *out;

	while (len > 0 && is_space(s[0])) {
		s++;
		len--;
	}
	while (len > 0 && is_space(s[len - 1]))
		len--;
	out = malloc(len + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, s, len);
	out[len] = '\0';
	return out;
}

char *trim_dup(const char *s)
{
	return trim_ndup(s, strlen(s));
}

/* Writes s[0..len) double-quoted into buf for an error message: at most
 * QUOTE_MAX bytes, control and non-ASCII bytes as \xNN, so a hostile value
 * can neither break the one-line log format nor flood it. */
static void quote(const char *s, size_t len, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = len > QUOTE_MAX ? QUOTE_MAX : len;
	size_t i, w = 0;

	buf[w++] = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			buf[w++] = '\\';
			buf[w++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			buf[w++] = '\\';
			buf[w++] = 'x';
			buf[w++] = hex[c >> 4];
			buf[w++] = hex[c & 0xf];
		} else {
			buf[w++] = (char)c;
		}
	}
	buf[w++] = '"';
	if (n < len) {
		memcpy(buf + w, "...", 3);
		w += 3;
	}
	buf[w] = '\0';
}

int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1",    "t",    "T",
	                                  "TRUE", "true", "True"};
	static const char *const no[] = {"0",     "f",     "F",
	                                 "FALSE", "false", "False"};
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* -mag for a magnitude of at most 2^63. */
static int64_t negate(uint64_t mag)
{
	if (mag == DUR_LIMIT)
		return INT64_MIN;
	return -(int64_t)mag;
}

/* Consumes "[0-9]*" into *v; -1 when the value passes 2^63. */
static int duration_int(const char **sp, uint64_t *v)
{
	const char *s = *sp;
	uint64_t x = 0;

	for (; is_digit(*s); s++) {
		if (x > DUR_LIMIT / 10)
			return -1;
		x = x * 10 + (uint64_t)(*s - '0');
		if (x > DUR_LIMIT)
			return -1;
	}
	*sp = s;
	*v = x;
	return 0;
}

/* Consumes "[0-9]*" after a '.'. Digits beyond what fits only lose
 * precision, as in Go; value = f / scale. */
static void duration_frac(const char **sp, uint64_t *f, double *scale)
{
	const char *s = *sp;
	uint64_t x = 0;
	double sc = 1;
	bool full = false;

	for (; is_digit(*s); s++) {
		uint64_t y;

		if (full)
			continue;
		if (x > (DUR_LIMIT - 1) / 10) {
			full = true;
			continue;
		}
		y = x * 10 + (uint64_t)(*s - '0');
		if (y > DUR_LIMIT) {
			full = true;
			continue;
		}
		x = y;
		sc *= 10;
	}
	*sp = s;
	*f = x;
	*scale = sc;
}

/* Looks up the unit s[0..len); 0 when unknown. */
static uint64_t duration_unit(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]);
	     i++) {
		if (strlen(duration_units[i].name) == len &&
		    memcmp(duration_units[i].name, s, len) == 0)
			return duration_units[i].ns;
	}
	return 0;
}

/* Consumes one "<int>[.<frac>]<unit>" term; *out its nanoseconds. */
static int duration_term(const char **sp, uint64_t *out)
{
	const char *s = *sp;
	const char *start;
	uint64_t v, f = 0, unit;
	double scale = 1;
	bool pre, post = false;

	if (*s != '.' && !is_digit(*s))
		return -1;
	start = s;
	if (duration_int(&s, &v) < 0)
		return -1;
	pre = s != start;

	if (*s == '.') {
		s++;
		start = s;
		duration_frac(&s, &f, &scale);
		post = s != start;
	}
	if (!pre && !post)
		return -1;

	/* The unit is everything up to the next number. */
	start = s;
	while (*s != '\0' && *s != '.' && !is_digit(*s))
		s++;
	unit = duration_unit(start, (size_t)(s - start));
	if (unit == 0)
		return -1;

	if (v > DUR_LIMIT / unit)
		return -1;
	v *= unit;
	/* Go computes the fraction in float64 too; the same operations give
	 * the same nanosecond for fractions of hours. */
	if (f > 0) {
		v += (uint64_t)((double)f * ((double)unit / scale));
		if (v > DUR_LIMIT)
			return -1;
	}
	*sp = s;
	*out = v;
	return 0;
}

int parse_go_duration(const char *s, int64_t *ns)
{
	uint64_t total = 0;
	bool neg = false;

	if (s == NULL)
		return -1;
	if (*s == '-' || *s == '+') {
		neg = *s == '-';
		s++;
	}
	if (strcmp(s, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (*s == '\0')
		return -1;

	while (*s != '\0') {
		uint64_t v;

		if (duration_term(&s, &v) < 0)
			return -1;
		if (v > DUR_LIMIT - total)
			return -1;
		total += v;
	}

	if (!neg && total > (uint64_t)INT64_MAX)
		return -1;
	*ns = neg ? negate(total) : (int64_t)total;
	return 0;
}

int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t x = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		uint64_t d;

		if (!is_digit(*s))
			return -1;
		d = (uint64_t)(*s - '0');
		if (d > max || x > (max - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*out = x;
	return 0;
}

/* Go's strconv.ParseInt(s, 10, 64): optional sign, at least one digit. */
static int parse_int64(const char *s, int64_t *out)
{
	bool neg = *s == '-';
	uint64_t mag;

	if (*s == '-' || *s == '+')
		s++;
	if (parse_uint(s, neg ? DUR_LIMIT : (uint64_t)INT64_MAX, &mag) < 0)
		return -1;
	*out = neg ? negate(mag) : (int64_t)mag;
	return 0;
}

/* *out = v * unit, -1 on int64 overflow. */
static int mul_ns(int64_t v, int64_t unit, int64_t *out)
{
	if (v > INT64_MAX / unit || v < INT64_MIN / unit)
		return -1;
	*out = v * unit;
	return 0;
}

int parse_duration_second(const char *s, int64_t *ns)
{
	char *t;
	size_t len;
	int64_t v;
	int ret = -1;

	if (s == NULL)
		return -1;
	t = trim_dup(s);
	if (t == NULL)
		return -1;
	len = strlen(t);
	if (len == 0)
		goto out;

	/* As Vault's parseutil: a whole number is seconds (a sign is
	 * allowed, as strconv.ParseInt allows it), "<n>d" is days and
	 * anything else must be a Go duration. Unlike Go, a product that
	 * does not fit is refused instead of wrapping around. */
	if (parse_int64(t, &v) == 0) {
		ret = mul_ns(v, NS_PER_SEC, ns);
	} else if (t[len - 1] == 'd') {
		t[len - 1] = '\0';
		if (parse_int64(t, &v) == 0)
			ret = mul_ns(v, NS_PER_DAY, ns);
	} else {
		ret = parse_go_duration(t, ns);
	}
out:
	free(t);
	return ret;
}

int parse_mode(const char *s, mode_t *out)
{
	unsigned int x = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '7')
			return -1;
		x = x * 8 + (unsigned int)(*s - '0');
		if (x > 07777)
			return -1;
	}
	*out = (mode_t)x;
	return 0;
}

int env_bool(const char *name, bool def, bool *out, struct errbuf *e)
{
	const char *v = getenv(name);
	char q[QUOTE_BUF];

	if (v == NULL || *v == '\0') {
		*out = def;
		return 0;
	}
	if (parse_bool(v, out) == 0)
		return 0;
	quote(v, strlen(v), q);
	return errbuf_set(e, "%s: %s is not a boolean (accepted: %s)", name, q,
	                  bool_accepted);
}

int env_duration(const char *name, int64_t def_ns, int64_t *out_ns,
                 struct errbuf *e)
{
	const char *v = getenv(name);
	char q[QUOTE_BUF];

	if (v == NULL || *v == '\0') {
		*out_ns = def_ns;
		return 0;
	}
	if (parse_duration_second(v, out_ns) == 0)
		return 0;
	quote(v, strlen(v), q);
	return errbuf_set(e,
	                  "%s: %s is not a duration (accepted: Go durations "
	                  "such as 30s, 1m30s, or whole seconds)",
	                  name, q);
}

int env_file_mode(const char *name, mode_t def, mode_t *out, struct errbuf *e)
{
	const char *v = getenv(name);
	char q[QUOTE_BUF];
	mode_t m;

	if (v == NULL || *v == '\0') {
		*out = def;
		return 0;
	}
	quote(v, strlen(v), q);
	if (parse_mode(v, &m) < 0)
		return errbuf_set(e,
		                  "%s: %s is not an octal file mode such as "
		                  "0640",
		                  name, q);
	if (m > 0777)
		return errbuf_set(e,
		                  "%s: %s sets setuid, setgid or sticky bits; "
		                  "expected permission bits only (at most "
		                  "0777), such as 0640",
		                  name, q);
	*out = m;
	return 0;
}

/* Checks a normalised mount path; NULL when valid, else the reason. */
static const char *mount_problem(const char *p, size_t len)
{
	size_t i, seg = 0;

	if (len == 0)
		return "no mount is left once slashes and \"auth/\" are "
		       "removed";
	if (len > MOUNT_MAX)
		return "too long";
	for (i = 0; i <= len; i++) {
		if (i < len && p[i] != '/') {
			if (!is_alnum(p[i]) && !in_set(p[i], "._-"))
				return "accepted: letters, digits, '.', '_', "
				       "'-' and '/'";
			continue;
		}
		if (i == seg)
			return "empty path segment";
		if ((i - seg == 1 && p[seg] == '.') ||
		    (i - seg == 2 && p[seg] == '.' && p[seg + 1] == '.'))
			return "\".\" and \"..\" are not mount names";
		seg = i + 1;
	}
	return NULL;
}

char *auth_mount_normalize(const char *s, struct errbuf *e)
{
	const char *p, *why;
	char q[QUOTE_BUF];
	char *out;
	size_t len;

	if (s == NULL)
		s = "";
	p = s;

	/* Users write the mount as Vault's CLI shows it ("auth/k8s/") or as
	 * its name; all forms name the same mount. */
	while (*p == '/')
		p++;
	if (strncmp(p, "auth/", 5) == 0)
		p += 5;
	len = strlen(p);
	while (len > 0 && p[len - 1] == '/')
		len--;

	why = mount_problem(p, len);
	if (why != NULL) {
		quote(s, strlen(s), q);
		errbuf_set(e,
		           "VAULT_AUTH_MOUNT_PATH: %s is not a valid auth "
		           "mount (%s)",
		           q, why);
		return NULL;
	}
	out = trim_ndup(p, len);
	if (out == NULL)
		errbuf_set(e, "VAULT_AUTH_MOUNT_PATH: out of memory");
	return out;
}

/* One DNS-1123 label without length limit: [a-z0-9]([-a-z0-9]*[a-z0-9])? */
static bool dns_label_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
		return false;
	for (i = 1; i + 1 < len; i++) {
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	}
	return true;
}

/* DNS-1123 subdomain: dot-separated labels, at most 253 in all. */
static bool subdomain_ok(const char *s, size_t len)
{
	size_t i, start = 0;

	if (len == 0 || len > K8S_SUBDOMAIN_MAX)
		return false;
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (!dns_label_ok(s + start, i - start))
			return false;
		start = i + 1;
	}
	return true;
}

/* Name part of a label key, and a label value:
 * at most 63, ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] */
static bool qualified_name_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > K8S_NAME_MAX)
		return false;
	if (!is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return false;
	for (i = 1; i + 1 < len; i++) {
		if (!is_alnum(s[i]) && !in_set(s[i], "-_."))
			return false;
	}
	return true;
}

bool k8s_subdomain_valid(const char *s)
{
	return s != NULL && subdomain_ok(s, strlen(s));
}

bool k8s_secret_key_valid(const char *s)
{
	size_t i, len;

	if (s == NULL)
		return false;
	len = strlen(s);
	if (len == 0 || len > K8S_KEY_MAX)
		return false;
	if (strcmp(s, ".") == 0 || strncmp(s, "..", 2) == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (!is_alnum(s[i]) && !in_set(s[i], "-._"))
			return false;
	}
	return true;
}

bool k8s_label_key_valid(const char *s)
{
	const char *slash;

	if (s == NULL)
		return false;
	slash = strchr(s, '/');
	if (slash == NULL)
		return qualified_name_ok(s, strlen(s));
	if (strchr(slash + 1, '/') != NULL)
		return false;
	return subdomain_ok(s, (size_t)(slash - s)) &&
	       qualified_name_ok(slash + 1, strlen(slash + 1));
}

bool k8s_label_value_valid(const char *s)
{
	if (s == NULL)
		return false;
	return *s == '\0' || qualified_name_ok(s, strlen(s));
}

/* Number of ','-separated items in s. */
static size_t count_items(const char *s)
{
	size_t n = 1;

	for (; *s != '\0'; s++) {
		if (*s == ',')
			n++;
	}
	return n;
}

/* Whether path has an empty, "." or ".." segment: the transport would
 * collapse them and read another path than the one annotated, perhaps
 * below another mount. */
static bool path_has_dot_or_empty(const char *path)
{
	const char *p = path;
	size_t n;

	for (;;) {
		n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return true;
		if (p[n] == '\0')
			return false;
		p += n + 1;
	}
}

/* Fills m from the trimmed item; idx is 1-based for messages. */
static int mapping_item(char *item, size_t idx, struct mapping *m,
                        struct errbuf *e)
{
	char q[QUOTE_BUF];
	char *colon, *path;
	size_t len;

	quote(item, strlen(item), q);
	if (*item == '\0')
		return errbuf_set(e, "VAULT_SECRETS: item %zu is empty", idx);

	/* The Kubernetes name follows the last ':', which it cannot hold
	 * itself; a ':' earlier belongs to the Vault path. */
	colon = strrchr(item, ':');
	if (colon != NULL) {
		m->name = trim_dup(colon + 1);
		if (m->name == NULL)
			goto nomem;
		if (m->name[0] == '\0')
			return errbuf_set(e,
			                  "VAULT_SECRETS: item %zu (%s) has "
			                  "an empty name after ':'",
			                  idx, q);
		*colon = '\0';
	}

	/* Vault paths are relative to /v1/; a leading '/' adds nothing. */
	path = item;
	while (*path == '/')
		path++;
	len = strlen(path);
	while (len > 0 && is_space(path[len - 1]))
		len--;
	m->is_dir = len > 0 && path[len - 1] == '/';
	while (len > 0 && path[len - 1] == '/')
		len--;
	/* Checked after trimming: "/ /" has no path either. */
	m->vault_path = trim_ndup(path, len);
	if (m->vault_path == NULL)
		goto nomem;
	if (m->vault_path[0] == '\0')
		return errbuf_set(e,
		                  "VAULT_SECRETS: item %zu (%s) has no "
		                  "Vault path",
		                  idx, q);
	if (path_has_dot_or_empty(m->vault_path))
		return errbuf_set(e,
		                  "VAULT_SECRETS: item %zu (%s) has an empty, "
		                  "\".\" or \"..\" path segment; expected a "
		                  "path such as secret/app/db",
		                  idx, q);
	if (m->is_dir && m->name != NULL)
		return errbuf_set(e,
		                  "VAULT_SECRETS: item %zu (%s) maps a "
		                  "directory and cannot take a name; names "
		                  "come from the secrets listed",
		                  idx, q);
	return 0;
nomem:
	return errbuf_set(e, "VAULT_SECRETS: out of memory");
}

int mappings_parse(const char *s, struct mapping **out, size_t *n,
                   struct errbuf *e)
{
	struct mapping *m = NULL;
	size_t cap, count = 0;
	const char *p;
	char *item = NULL;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		s = "";
	for (p = s; is_space(*p); p++)
		;
	if (*p == '\0')
		return errbuf_set(e, "VAULT_SECRETS: no mapping given");

	cap = count_items(s);
	m = calloc(cap, sizeof(*m));
	if (m == NULL) {
		errbuf_set(e, "VAULT_SECRETS: out of memory");
		goto fail;
	}
	p = s;
	while (count < cap) {
		size_t len = strcspn(p, ",");

		item = trim_ndup(p, len);
		if (item == NULL) {
			errbuf_set(e, "VAULT_SECRETS: out of memory");
			goto fail;
		}
		/* Counted first so that mappings_free sees a half-filled
		 * entry on failure. */
		count++;
		if (mapping_item(item, count, &m[count - 1], e) < 0)
			goto fail;
		free(item);
		item = NULL;
		p += len;
		if (*p == ',')
			p++;
	}
	*out = m;
	*n = count;
	return 0;
fail:
	free(item);
	mappings_free(m, count);
	return -1;
}

void mappings_free(struct mapping *m, size_t n)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(m[i].vault_path);
		free(m[i].name);
	}
	free(m);
}

static const char label_rule[] =
    "1 to 63 letters, digits, '-', '_' or '.', starting and ending with "
    "a letter or digit";

/* Validates one label and stores it in l[*count], or over an earlier
 * label of the same key. Takes ownership of key and value. */
static int label_add(struct label *l, size_t *count, char *key, char *value,
                     struct errbuf *e)
{
	char qk[QUOTE_BUF], qv[QUOTE_BUF];
	size_t i;

	if (!k8s_label_key_valid(key)) {
		quote(key, strlen(key), qk);
		errbuf_set(e,
		           "SYNCHRONIZER_LABELS: label key %s is not valid "
		           "(an optional DNS subdomain and '/', then %s)",
		           qk, label_rule);
		goto fail;
	}
	if (!k8s_label_value_valid(value)) {
		quote(key, strlen(key), qk);
		quote(value, strlen(value), qv);
		errbuf_set(e,
		           "SYNCHRONIZER_LABELS: label value %s of key %s is "
		           "not valid (empty, or %s)",
		           qv, qk, label_rule);
		goto fail;
	}
	for (i = 0; i < *count; i++) {
		if (strcmp(l[i].key, key) == 0) {
			free(l[i].value);
			l[i].value = value;
			free(key);
			return 0;
		}
	}
	l[*count].key = key;
	l[*count].value = value;
	(*count)++;
	return 0;
fail:
	free(key);
	free(value);
	return -1;
}

int labels_parse(const char *s, struct label **out, size_t *n, struct errbuf *e)
{
	struct label *l = NULL;
	size_t cap, count = 0;
	const char *p;

	*out = NULL;
	*n = 0;
	if (s == NULL || *s == '\0')
		return 0;

	cap = count_items(s);
	l = calloc(cap, sizeof(*l));
	if (l == NULL)
		goto nomem;
	for (p = s;; p++) {
		size_t len = strcspn(p, ",");
		const char *eq = memchr(p, '=', len);
		char *key, *value;

		/* The Go version skips an item without '='; so do we. */
		if (eq != NULL) {
			key = trim_ndup(p, (size_t)(eq - p));
			value = trim_ndup(eq + 1, len - (size_t)(eq - p) - 1);
			if (key == NULL || value == NULL) {
				free(key);
				free(value);
				goto nomem;
			}
			if (label_add(l, &count, key, value, e) < 0)
				goto fail;
		}
		p += len;
		if (*p == '\0')
			break;
	}
	if (count == 0) {
		free(l);
		return 0;
	}
	*out = l;
	*n = count;
	return 0;
nomem:
	errbuf_set(e, "SYNCHRONIZER_LABELS: out of memory");
fail:
	labels_free(l, count);
	return -1;
}

void labels_free(struct label *l, size_t n)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(l[i].key);
		free(l[i].value);
	}
	free(l);
}

int base64_decode(const char *in, size_t len, unsigned char **out,
                  size_t *outlen)
{
	unsigned char *buf;
	size_t i, pad = 0, full;
	int r;

	if ((in == NULL && len > 0) || len % 4 != 0 || len > INT_MAX)
		return -1;

	/* EVP_DecodeBlock skips surrounding whitespace and does not say
	 * where padding was, so the alphabet and the padding are checked
	 * here: '=' only as the last one or two characters. */
	if (len > 0 && in[len - 1] == '=')
		pad++;
	if (len > 1 && in[len - 2] == '=')
		pad++;
	for (i = 0; i < len - pad; i++) {
		if (!is_alnum(in[i]) && !in_set(in[i], "+/"))
			return -1;
	}

	full = len / 4 * 3;
	buf = malloc(full + 1);
	if (buf == NULL)
		return -1;
	if (len > 0) {
		r = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len);
		if (r < 0 || (size_t)r != full) {
			explicit_bzero(buf, full + 1);
			free(buf);
			return -1;
		}
	}
	/* The block decoder counts padding as zero bytes. */
	buf[full - pad] = '\0';
	*out = buf;
	*outlen = full - pad;
	return 0;
}

char *base64_encode(const unsigned char *in, size_t len)
{
	size_t olen;
	char *out;
	int r;

	if ((in == NULL && len > 0) || len > (size_t)INT_MAX / 4 * 3 - 3)
		return NULL;
	olen = (len + 2) / 3 * 4;
	out = malloc(olen + 1);
	if (out == NULL)
		return NULL;
	out[0] = '\0';
	if (len == 0)
		return out;
	r = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	if (r < 0 || (size_t)r != olen) {
		free(out);
		return NULL;
	}
	return out;
}
