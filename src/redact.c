/* redact: remove known secrets from text that goes into an error. */
#include "redact.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REDACTED "<redacted>"

/* The earliest (then longest) secret in s[0..len); NULL when none. */
static const char *first_hit(const char *s, size_t len,
                             const struct redact_secret *secrets, size_t n,
                             size_t *hit_len)
{
	const char *best = NULL;
	const char *h;
	size_t i;

	*hit_len = 0;
	for (i = 0; i < n; i++) {
		if (secrets[i].p == NULL || secrets[i].len < REDACT_MIN)
			continue;
		h = memmem(s, len, secrets[i].p, secrets[i].len);
		if (h == NULL)
			continue;
		if (best == NULL || h < best ||
		    (h == best && secrets[i].len > *hit_len)) {
			best = h;
			*hit_len = secrets[i].len;
		}
	}
	return best;
}

char *redact(const char *s, size_t len, const struct redact_secret *secrets,
             size_t n, size_t *out_len)
{
	const size_t rl = sizeof(REDACTED) - 1;
	const char *hit;
	size_t hit_len;
	size_t cap = len + 1;
	size_t at = 0;
	char *out;

	/* Each hit is at least REDACT_MIN bytes and becomes rl bytes. */
	if (len / REDACT_MIN > (SIZE_MAX - cap) / rl)
		return NULL;
	cap += (len / REDACT_MIN) * rl;
	out = malloc(cap);
	if (out == NULL)
		return NULL;
	while (len > 0) {
		hit = first_hit(s, len, secrets, n, &hit_len);
		if (hit == NULL) {
			memcpy(out + at, s, len);
			at += len;
			break;
		}
		memcpy(out + at, s, (size_t)(hit - s));
		at += (size_t)(hit - s);
		memcpy(out + at, REDACTED, rl);
		at += rl;
		len -= (size_t)(hit - s) + hit_len;
		s = hit + hit_len;
	}
	out[at] = '\0';
	if (out_len != NULL)
		*out_len = at;
	return out;
}
