/* noproxy: Go's NO_PROXY rules, decided per request host. */
#include "noproxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"

#define ENTRY_MAX 256

/* An address of either family in network order; family 0 when s is not
 * an address. */
struct addr {
	int family;
	unsigned char b[16];
};

static struct addr addr_parse(const char *s)
{
	struct addr a = {0};

	if (inet_pton(AF_INET, s, a.b) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, s, a.b) == 1)
		a.family = AF_INET6;
	return a;
}

static size_t addr_len(const struct addr *a)
{
	return a->family == AF_INET ? 4 : 16;
}

static bool addr_equal(const struct addr *x, const struct addr *y)
{
	return x->family != 0 && x->family == y->family &&
	       memcmp(x->b, y->b, addr_len(x)) == 0;
}

static bool loopback(const struct addr *a)
{
	static const unsigned char v6[16] = {[15] = 1};

	if (a->family == AF_INET)
		return a->b[0] == 127;
	return a->family == AF_INET6 && memcmp(a->b, v6, 16) == 0;
}

/* "net/bits": whether ip lies inside; false when entry is no prefix. */
static bool cidr_match(const char *entry, const struct addr *ip, bool *is)
{
	char net[ENTRY_MAX];
	const char *slash = strchr(entry, '/');
	struct addr n;
	uint64_t bits;
	size_t i, full;

	*is = false;
	if (slash == NULL || (size_t)(slash - entry) >= sizeof(net))
		return false;
	memcpy(net, entry, (size_t)(slash - entry));
	net[slash - entry] = '\0';
	n = addr_parse(net);
	if (n.family == 0 || parse_uint(slash + 1, addr_len(&n) * 8, &bits) < 0)
		return false;
	*is = true;
	if (ip->family != n.family)
		return false;
	full = (size_t)bits / 8;
	for (i = 0; i < full; i++)
		if (ip->b[i] != n.b[i])
			return false;
	if (bits % 8 != 0) {
		unsigned mask = (0xffu << (8 - bits % 8)) & 0xffu;

		if ((ip->b[full] & mask) != (n.b[full] & mask))
			return false;
	}
	return true;
}

/* Splits "host:port", "[v6]:port", "[v6]" or a bare host (a bare IPv6
 * address has several colons and no port) into host and port. */
static void entry_split(char *e, char **host, char **port)
{
	char *colon = strrchr(e, ':');

	*host = e;
	*port = NULL;
	if (e[0] == '[') {
		char *close = strchr(e, ']');

		if (close == NULL)
			return;
		*close = '\0';
		*host = e + 1;
		if (close[1] == ':')
			*port = close + 2;
		return;
	}
	if (colon != NULL && strchr(e, ':') == colon) {
		*colon = '\0';
		*port = colon + 1;
	}
}

/* Whether one entry (already trimmed, lowercase) matches. */
static bool entry_match(char *entry, const char *host, const struct addr *ip,
                        const char *port)
{
	char *eh, *ep;
	struct addr ea;
	bool is_cidr;
	bool inside = cidr_match(entry, ip, &is_cidr);
	size_t hl, el;

	if (is_cidr)
		return inside;
	entry_split(entry, &eh, &ep);
	if (eh[0] == '\0')
		return false;
	if (ep != NULL && ep[0] != '\0' && strcmp(ep, port) != 0)
		return false;
	ea = addr_parse(eh);
	if (ea.family != 0)
		return addr_equal(&ea, ip);
	if (strncmp(eh, "*.", 2) == 0)
		eh++;
	hl = strlen(host);
	el = strlen(eh);
	if (eh[0] != '.')
		return strcasecmp(host, eh) == 0 ||
		       (hl > el && host[hl - el - 1] == '.' &&
		        strcasecmp(host + hl - el, eh) == 0);
	return hl > el && strcasecmp(host + hl - el, eh) == 0;
}

bool noproxy_match(const char *list, const char *host, const char *port)
{
	char h[ENTRY_MAX], entry[ENTRY_MAX];
	struct addr ip;
	const char *p = list;
	size_t n;

	n = strlen(host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if (n >= sizeof(h))
		return false;
	memcpy(h, host, n);
	h[n] = '\0';
	ip = addr_parse(h);
	if (strcasecmp(h, "localhost") == 0 || loopback(&ip))
		return true;
	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ',');
		size_t i;

		n = end != NULL ? (size_t)(end - p) : strlen(p);
		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n > 0 && n < sizeof(entry)) {
			for (i = 0; i < n; i++)
				entry[i] = (char)(p[i] >= 'A' && p[i] <= 'Z'
				                      ? p[i] - 'A' + 'a'
				                      : p[i]);
			entry[n] = '\0';
			if (strcmp(entry, "*") == 0 ||
			    entry_match(entry, h, &ip, port))
				return true;
		}
		p = end != NULL ? end + 1 : NULL;
	}
	return false;
}
