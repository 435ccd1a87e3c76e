/* secmem: wiping allocation functions handed to libcurl. */
#include "secmem.h"

#include <curl/curl.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/* glibc's malloc_usable_size gives the size to wipe; the block may be a
 * little larger than asked, which only means a little more is wiped. */
static void wipe_free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

static void *wipe_malloc(size_t n)
{
	return malloc(n);
}

static void *wipe_calloc(size_t n, size_t size)
{
	return calloc(n, size);
}

/* A moved block would leave its old copy behind: move it ourselves. */
static void *wipe_realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (p == NULL)
		return malloc(n);
	if (n == 0) {
		wipe_free(p);
		return NULL;
	}
	old = malloc_usable_size(p);
	if (n <= old)
		return p;
	q = malloc(n);
	if (q == NULL)
		return NULL;
	memcpy(q, p, old);
	wipe_free(p);
	return q;
}

static char *wipe_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

int secmem_curl_init(void)
{
	if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, wipe_malloc, wipe_free,
	                         wipe_realloc, wipe_strdup,
	                         wipe_calloc) != CURLE_OK)
		return -1;
	return 0;
}
