/* noproxy: Go's NO_PROXY rules, decided per request host. */
#ifndef VK_NOPROXY_H
#define VK_NOPROXY_H

#include <stdbool.h>

/*
 * Whether a request to host:port goes direct rather than through a proxy
 * taken from HTTP_PROXY/HTTPS_PROXY, as Go's http.ProxyFromEnvironment
 * decides: "localhost" and loopback addresses always; otherwise when an
 * entry of the comma-separated list (NULL: none) matches. Entries are
 * trimmed and compared without case: "*" matches everything; an address
 * prefix "10.0.0.0/8" or "fd00::/8" matches addresses inside it; an
 * address "10.1.2.3" or "[::1]:8200" matches that address (and port);
 * "x.com" matches x.com and its subdomains; ".x.com" and "*.x.com" only
 * the subdomains; "name:port" only that port. host may carry IPv6
 * brackets; port is the URL's port with the scheme's default filled in.
 */
bool noproxy_match(const char *list, const char *host, const char *port);

#endif
