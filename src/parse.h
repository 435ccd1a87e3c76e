/* parse: strict parsers for configuration values and Kubernetes names. */
#ifndef VK_PARSE_H
#define VK_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "errbuf.h"

/* Go's strconv.ParseBool: 1 t T TRUE true True 0 f F FALSE false False.
 * Returns 0 and sets *out, or -1 for anything else. */
int parse_bool(const char *s, bool *out);

/* Go's time.ParseDuration ("1h30m", "90s", "500ms", "1.5h", "-2s", "0").
 * Units ns us µs ms s m h. Result in nanoseconds; -1 on syntax error or
 * overflow. */
int parse_go_duration(const char *s, int64_t *ns);

/* parseutil.ParseDurationSecond as Vault's client uses it: a bare integer
 * is seconds, "<n>d" is days, otherwise Go duration syntax. Surrounding
 * whitespace is ignored. Result in nanoseconds; -1 on error. */
int parse_duration_second(const char *s, int64_t *ns);

/* Decimal unsigned integer within [0, max], no sign, no spaces. */
int parse_uint(const char *s, uint64_t max, uint64_t *out);

/* Octal file mode such as "0640" or "640", at most 07777. */
int parse_mode(const char *s, mode_t *out);

/* Reads environment variable name. Unset or empty: *out = def, 0.
 * Malformed: errbuf names the variable, what is accepted, returns -1. */
int env_bool(const char *name, bool def, bool *out, struct errbuf *e);
/* Same for parse_duration_second (bare seconds allowed). */
int env_duration(const char *name, int64_t def_ns, int64_t *out_ns,
                 struct errbuf *e);

/* Same for a file's permission bits (parse_mode): setuid, setgid and
 * the sticky bit (anything above 0777) are refused by name. */
int env_file_mode(const char *name, mode_t def, mode_t *out, struct errbuf *e);

/* Returns a malloc'd copy of s without leading/trailing whitespace;
 * NULL only on allocation failure. */
char *trim_dup(const char *s);

/* Normalises VAULT_AUTH_MOUNT_PATH: "k8s", "/k8s", "auth/k8s", "/auth/k8s/"
 * and "k8s/" all become "k8s"; inner slashes kept ("k8s/prod").
 * Returns malloc'd string; NULL with errbuf set when empty or invalid. */
char *auth_mount_normalize(const char *s, struct errbuf *e);

/* Kubernetes validation (api-reference.md D7). Return true when valid. */
bool k8s_subdomain_valid(const char *s);  /* Secret names */
bool k8s_secret_key_valid(const char *s); /* data keys */
bool k8s_label_key_valid(const char *s);
bool k8s_label_value_valid(const char *s);

/* One VAULT_SECRETS mapping. */
struct mapping {
	char *vault_path; /* as written, without a trailing '/' for dirs */
	char *name;       /* explicit Kubernetes name after ':' or NULL */
	bool is_dir;      /* the path ended with '/' */
};

/* Parses "a/b,c/d:name,e/" into an array. Empty items are an error,
 * as is an empty name after ':' or a ':name' on a directory.
 * Returns 0 and a malloc'd array (free with mappings_free), -1 on error. */
int mappings_parse(const char *s, struct mapping **out, size_t *n,
                   struct errbuf *e);
void mappings_free(struct mapping *m, size_t n);

/* One label. */
struct label {
	char *key;
	char *value;
};

/* Parses SYNCHRONIZER_LABELS "k1=v1,k2=v2": an item without '=' is
 * ignored, "k3=" is an empty value, a repeated key keeps the last value.
 * Keys and values are validated as Kubernetes labels; an invalid one is
 * an error naming it. Empty or NULL input gives n = 0. */
int labels_parse(const char *s, struct label **out, size_t *n,
                 struct errbuf *e);
void labels_free(struct label *l, size_t n);

/* Strict standard base64 (with padding, as Go's StdEncoding) decode.
 * Returns 0 with a malloc'd buffer (NUL-terminated for convenience,
 * *outlen excludes the NUL), -1 when the input is not valid base64. */
int base64_decode(const char *in, size_t len, unsigned char **out,
                  size_t *outlen);
/* Standard base64 with padding; malloc'd NUL-terminated string. */
char *base64_encode(const unsigned char *in, size_t len);

#endif
