/* http_tls: trust anchors, client certificate and verification. */
#ifndef VK_HTTP_TLS_H
#define VK_HTTP_TLS_H

#include <curl/curl.h>
#include <openssl/x509.h>

#include "errbuf.h"
#include "http.h"

/*
 * Sets the handle's trust (VAULT_CACERT file, VAULT_CAPATH directory
 * walked as Go's go-rootcerts does, or PEM text; custom trust replaces
 * the system's, as in Go), client certificate and key, and turns
 * verification off for skip_verify. Returns 0, or -1 with errbuf
 * naming the file or directory at fault.
 */
int http_tls_setup(CURL *h, const struct http_options *o, struct errbuf *e);

/* What identifies o's trust (the source http_tls_setup uses), so that
 * clients with the same key can share one store; malloc'd, NULL when
 * out of memory or when nothing is verified (skip_verify). */
char *http_tls_trust_key(const struct http_options *o);

/*
 * Parses o's trust into a store once, for every connection of the
 * clients that share it: the file, PEM text or directory's files that
 * http_tls_setup gives libcurl, or libcurl's default bundle (asked of
 * h). NULL when that cannot be done here; the clients then keep loading
 * trust per connection as libcurl does, with libcurl's errors.
 */
X509_STORE *http_tls_store_new(CURL *h, const struct http_options *o);

/*
 * Makes each new connection of h verify against store (a reference is
 * taken per connection) instead of loading trust itself. 0 when done;
 * 1 with h unchanged when this libcurl cannot (not built with OpenSSL);
 * -1 with errbuf when h was left half set and must not be used.
 */
int http_tls_use_store(CURL *h, X509_STORE *store, struct errbuf *e);

#endif
