/* redact: remove known secrets from text that goes into an error. */
#ifndef VK_REDACT_H
#define VK_REDACT_H

#include <stddef.h>

/* LIMITATION: secrets shorter than this are left alone: a one- or
 * two-byte value would blank out ordinary words (docs/known-issues.md). */
#define REDACT_MIN 3

struct redact_secret {
	const char *p; /* bytes, NUL allowed */
	size_t len;
};

/*
 * Returns a malloc'd NUL-terminated copy of s[0..len) in which every
 * occurrence of each secret (REDACT_MIN bytes or longer) is replaced by
 * "<redacted>", the earliest and then the longest match first; NUL
 * bytes of s are kept. *out_len gets the length (may be NULL). Returns
 * NULL when out of memory. Redact before cutting text to length, so
 * that no part of a secret survives at the cut.
 */
char *redact(const char *s, size_t len, const struct redact_secret *secrets,
             size_t n, size_t *out_len);

#endif
