/* http_tls: trust anchors, client certificate and verification. */
#ifndef VK_HTTP_TLS_H
#define VK_HTTP_TLS_H

#include <curl/curl.h>

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

#endif
