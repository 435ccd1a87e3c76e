/* sync_checksum: a digest of the synchronized Secrets, kept in a file a
 * workload can watch to restart when one of them changes. */
#include "sync_checksum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "tokenfile.h"

/* Not a token, but a digest of secret values: a low-entropy value
 * could be found from it by guessing, so it is shared as narrowly as
 * the token file is by default. */
#define CHECKSUM_FILE_MODE 0640

static int cmp_item(const void *a, const void *b)
{
	const struct wanted *x = *(const struct wanted *const *)a;
	const struct wanted *y = *(const struct wanted *const *)b;

	return strcmp(x->name, y->name);
}

/* Feeds s and its terminating NUL. */
static int feed(EVP_MD_CTX *ctx, const char *s)
{
	return EVP_DigestUpdate(ctx, s, strlen(s) + 1) == 1 ? 0 : -1;
}

/* Feeds one Secret: its name, each key and value in key order (the
 * order the plan keeps them in), then an empty field (keys are never
 * empty, so the end is unambiguous). */
static int feed_secret(EVP_MD_CTX *ctx, const struct wanted *w)
{
	size_t i;

	if (feed(ctx, w->name) < 0)
		return -1;
	for (i = 0; i < w->data->n; i++)
		if (feed(ctx, w->data->pairs[i].key) < 0 ||
		    feed(ctx, w->data->pairs[i].value) < 0)
			return -1;
	return feed(ctx, "");
}

int sync_checksum(const struct plan *p, char out[SYNC_CHECKSUM_HEX + 1],
                  struct errbuf *e)
{
	static const char hex[] = "0123456789abcdef";
	const struct wanted **items = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t n = 0;
	size_t i;
	int rc = -1;

	if (p->n > 0)
		items = calloc(p->n, sizeof(*items));
	if (ctx == NULL || (p->n > 0 && items == NULL)) {
		errbuf_set(e, "checksum of synchronized secrets: no memory");
		goto out;
	}
	for (i = 0; i < p->n; i++)
		if (p->items[i].data != NULL && !p->items[i].ignored)
			items[n++] = &p->items[i];
	qsort(items, n, sizeof(*items), cmp_item);
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto failed;
	for (i = 0; i < n; i++)
		if (feed_secret(ctx, items[i]) < 0)
			goto failed;
	if (EVP_DigestFinal_ex(ctx, md, &md_len) != 1 ||
	    md_len * 2 != SYNC_CHECKSUM_HEX)
		goto failed;
	for (i = 0; i < md_len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[SYNC_CHECKSUM_HEX] = '\0';
	rc = 0;
	goto out;
failed:
	errbuf_set(e, "checksum of synchronized secrets: SHA-256 failed");
out:
	OPENSSL_cleanse(md, sizeof(md));
	EVP_MD_CTX_free(ctx);
	free(items);
	return rc;
}

int sync_checksum_update(const char *path, const struct plan *p, bool *changed,
                         struct errbuf *e)
{
	char sum[SYNC_CHECKSUM_HEX + 2];
	char *old = NULL;
	struct errbuf ignored;

	*changed = false;
	if (sync_checksum(p, sum, e) < 0)
		return -1;

	/* An unreadable or foreign file is simply replaced; only a write
	 * that fails is an error. */
	errbuf_clear(&ignored);
	if (tokenfile_read(path, &old, &ignored) == 0 &&
	    strcmp(old, sum) == 0) {
		free(old);
		return 0;
	}
	free(old);
	sum[SYNC_CHECKSUM_HEX] = '\n';
	sum[SYNC_CHECKSUM_HEX + 1] = '\0';
	if (tokenfile_write(path, sum, CHECKSUM_FILE_MODE, e) < 0)
		return errbuf_prefix(e, "SYNC_CHECKSUM_FILE");
	*changed = true;
	return 0;
}
