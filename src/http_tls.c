/* http_tls: trust anchors, client certificate and verification. */
#include "http_tls.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

/* Bounds on a VAULT_CAPATH-style directory of PEM files. */
#define PEM_DIR_MAX (16u * 1024 * 1024)
#define PEM_DIR_DEPTH 8

/* Appends every regular file under dir (as Go's go-rootcerts walks
 * VAULT_CAPATH) to *buf; each must hold a PEM certificate. */
static int pem_dir_load(const char *dir, int depth, char **buf, size_t *len,
                        struct errbuf *e)
{
	DIR *d = NULL;
	struct dirent *de;
	char path[PATH_MAX];
	struct stat sb;
	FILE *f = NULL;
	char *p;
	size_t got;
	int ret = -1;

	if (depth > PEM_DIR_DEPTH)
		return errbuf_set(e, "CA path %s: directories nested too deep",
		                  dir);
	d = opendir(dir);
	if (d == NULL)
		return errbuf_set(e, "CA path %s: %s", dir, strerror(errno));
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path)) {
			errbuf_set(e, "CA path %s: file name too long", dir);
			goto out;
		}
		if (lstat(path, &sb) < 0) {
			errbuf_set(e, "CA path %s: %s", path, strerror(errno));
			goto out;
		}
		if (S_ISDIR(sb.st_mode)) {
			if (pem_dir_load(path, depth + 1, buf, len, e) < 0)
				goto out;
			continue;
		}
		if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
			continue;
		if (sb.st_size < 0 || *len + 2 > PEM_DIR_MAX ||
		    (uint64_t)sb.st_size > PEM_DIR_MAX - *len - 2) {
			errbuf_set(e,
			           "CA path %s: more than %u bytes of "
			           "certificates",
			           dir, PEM_DIR_MAX);
			goto out;
		}
		p = realloc(*buf, *len + (size_t)sb.st_size + 2);
		if (p == NULL) {
			errbuf_set(e, "CA path %s: out of memory", dir);
			goto out;
		}
		*buf = p;
		f = fopen(path, "r");
		if (f == NULL) {
			errbuf_set(e, "CA path %s: %s", path, strerror(errno));
			goto out;
		}
		got = fread(*buf + *len, 1, (size_t)sb.st_size, f);
		if (ferror(f) != 0 || fclose(f) != 0) {
			f = NULL;
			errbuf_set(e, "CA path %s: read error", path);
			goto out;
		}
		f = NULL;
		(*buf)[*len + got] = '\0';
		if (strstr(*buf + *len, "-----BEGIN CERTIFICATE-----") ==
		    NULL) {
			errbuf_set(e, "CA path: couldn't parse PEM in %s",
			           path);
			goto out;
		}
		*len += got;
		(*buf)[(*len)++] = '\n';
		(*buf)[*len] = '\0';
	}
	if (errno != 0) {
		errbuf_set(e, "CA path %s: %s", dir, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (f != NULL)
		(void)fclose(f);
	if (d != NULL)
		(void)closedir(d);
	return ret;
}

static int set_blob(CURL *h, CURLoption opt, const char *data, size_t len)
{
	struct curl_blob blob;

	blob.data = (void *)(uintptr_t)data; /* copied by libcurl */
	blob.len = len;
	blob.flags = CURL_BLOB_COPY;
	return curl_easy_setopt(h, opt, &blob) == CURLE_OK ? 0 : -1;
}

/* Trust, client certificate and verification. Custom trust replaces the
 * system's, as it does in Go. */
int http_tls_setup(CURL *h, const struct http_options *o, struct errbuf *e)
{
	char *pem = NULL;
	size_t pem_len = 0;
	int ret = -1;

	if (o->ca_pem != NULL || o->ca_path != NULL) {
		if (o->ca_pem == NULL &&
		    pem_dir_load(o->ca_path, 0, &pem, &pem_len, e) < 0)
			goto out;
		if (o->ca_pem == NULL && pem_len == 0) {
			errbuf_set(e, "CA path %s: no certificate found",
			           o->ca_path);
			goto out;
		}
		if (o->ca_pem != NULL &&
		    set_blob(h, CURLOPT_CAINFO_BLOB, o->ca_pem,
		             strlen(o->ca_pem)) < 0)
			goto fail;
		if (o->ca_pem == NULL &&
		    set_blob(h, CURLOPT_CAINFO_BLOB, pem, pem_len) < 0)
			goto fail;
		if (curl_easy_setopt(h, CURLOPT_CAINFO, NULL) != CURLE_OK)
			goto fail;
	} else if (o->ca_file != NULL &&
	           curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file) !=
	               CURLE_OK) {
		goto fail;
	}
	if ((o->ca_pem != NULL || o->ca_path != NULL || o->ca_file != NULL) &&
	    curl_easy_setopt(h, CURLOPT_CAPATH, NULL) != CURLE_OK)
		goto fail;
	if (o->client_cert != NULL &&
	    curl_easy_setopt(h, CURLOPT_SSLCERT, o->client_cert) != CURLE_OK)
		goto fail;
	if (o->client_key != NULL &&
	    curl_easy_setopt(h, CURLOPT_SSLKEY, o->client_key) != CURLE_OK)
		goto fail;
	if (o->skip_verify &&
	    (curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L) != CURLE_OK ||
	     curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L) != CURLE_OK))
		goto fail;
	ret = 0;
	goto out;
fail:
	errbuf_set(e, "cannot set up TLS: this libcurl lacks an option");
out:
	free(pem);
	return ret;
}

char *http_tls_trust_key(const struct http_options *o)
{
	char *key = NULL;
	int n;

	if (o->skip_verify)
		return NULL;
	if (o->ca_pem != NULL)
		n = asprintf(&key, "pem\n%s", o->ca_pem);
	else if (o->ca_path != NULL)
		n = asprintf(&key, "dir\n%s", o->ca_path);
	else if (o->ca_file != NULL)
		n = asprintf(&key, "file\n%s", o->ca_file);
	else
		n = asprintf(&key, "default");
	return n < 0 ? NULL : key;
}

/* Adds every certificate of PEM text to st; the count added, or -1. */
static int store_add_pem(X509_STORE *st, const char *pem, size_t len)
{
	BIO *bio;
	X509 *x;
	int n = 0;

	if (len > INT_MAX)
		return -1;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL)
		return -1;
	for (;;) {
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		if (x == NULL)
			break;
		if (X509_STORE_add_cert(st, x) == 1)
			n++;
		X509_free(x);
	}
	BIO_free(bio);
	return n;
}

/* libcurl's default trust: its CA bundle, else its CA directory. */
static bool store_add_default(CURL *h, X509_STORE *st)
{
	char *file = NULL;
	char *dir = NULL;

	if (curl_easy_getinfo(h, CURLINFO_CAINFO, &file) == CURLE_OK &&
	    file != NULL)
		return X509_STORE_load_file(st, file) == 1;
	if (curl_easy_getinfo(h, CURLINFO_CAPATH, &dir) == CURLE_OK &&
	    dir != NULL)
		return X509_STORE_load_path(st, dir) == 1;
	return false;
}

X509_STORE *http_tls_store_new(CURL *h, const struct http_options *o)
{
	X509_STORE *st = X509_STORE_new();
	struct errbuf ignored;
	char *pem = NULL;
	size_t pem_len = 0;
	bool ok = false;

	if (st == NULL || o->skip_verify)
		goto out;
	/* As libcurl sets up its own stores: an intermediate given as
	 * trusted is an anchor, as a root is in Go. */
	if (X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN) != 1)
		goto out;
	errbuf_clear(&ignored);
	if (o->ca_pem != NULL)
		ok = store_add_pem(st, o->ca_pem, strlen(o->ca_pem)) > 0;
	else if (o->ca_path != NULL)
		ok = pem_dir_load(o->ca_path, 0, &pem, &pem_len, &ignored) ==
		         0 &&
		     store_add_pem(st, pem, pem_len) > 0;
	else if (o->ca_file != NULL)
		ok = X509_STORE_load_file(st, o->ca_file) == 1;
	else
		ok = store_add_default(h, st);
out:
	/* The reasons stay out of the thread's queue, where libcurl looks
	 * for the cause of its own failures. */
	ERR_clear_error();
	free(pem);
	if (!ok) {
		X509_STORE_free(st);
		st = NULL;
	}
	return st;
}

static CURLcode attach_store(CURL *h, void *ssl_ctx, void *arg)
{
	(void)h;
	SSL_CTX_set1_cert_store(ssl_ctx, arg);
	return CURLE_OK;
}

int http_tls_use_store(CURL *h, X509_STORE *store, struct errbuf *e)
{
	if (curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, attach_store) !=
	    CURLE_OK)
		return 1;
	if (curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, store) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, NULL) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CAINFO, NULL) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CAPATH, NULL) != CURLE_OK)
		return errbuf_set(e, "cannot set up TLS: this libcurl lacks "
		                     "an option");
	return 0;
}
