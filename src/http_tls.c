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
