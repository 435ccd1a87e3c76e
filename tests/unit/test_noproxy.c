/* test_noproxy: Go's NO_PROXY matching, case by case. */
#include <stdbool.h>

#include "check.h"
#include "noproxy.h"

int main(void)
{
	/* Loopback never goes through a proxy, whatever the list. */
	CHECK(noproxy_match(NULL, "localhost", "8200"));
	CHECK(noproxy_match(NULL, "LocalHost", "8200"));
	CHECK(noproxy_match(NULL, "127.0.0.1", "8200"));
	CHECK(noproxy_match(NULL, "127.9.8.7", "443"));
	CHECK(noproxy_match(NULL, "[::1]", "8200"));
	CHECK(!noproxy_match(NULL, "vault.test", "8200"));
	CHECK(!noproxy_match("", "10.0.0.1", "8200"));
	CHECK(!noproxy_match(NULL, "[::2]", "8200"));

	/* "*" and names. */
	CHECK(noproxy_match("*", "vault.test", "8200"));
	CHECK(noproxy_match(" a.com , * ", "vault.test", "8200"));
	CHECK(noproxy_match("vault.test", "vault.test", "8200"));
	CHECK(noproxy_match("VAULT.test", "vault.TEST", "8200"));
	CHECK(noproxy_match("test", "vault.test", "8200"));
	CHECK(noproxy_match("vault.test", "a.vault.test", "8200"));
	CHECK(!noproxy_match("vault.test", "xvault.test", "8200"));
	CHECK(!noproxy_match("vault.test", "vault.test.com", "8200"));
	CHECK(!noproxy_match("ault.test", "vault.test", "8200"));

	/* A leading dot or "*." matches subdomains only. */
	CHECK(noproxy_match(".vault.test", "a.vault.test", "8200"));
	CHECK(!noproxy_match(".vault.test", "vault.test", "8200"));
	CHECK(noproxy_match("*.vault.test", "b.a.vault.test", "8200"));
	CHECK(!noproxy_match("*.vault.test", "vault.test", "8200"));
	CHECK(noproxy_match(".test", "vault.test", "8200"));

	/* Ports. */
	CHECK(noproxy_match("vault.test:8200", "vault.test", "8200"));
	CHECK(!noproxy_match("vault.test:8201", "vault.test", "8200"));
	CHECK(noproxy_match(".test:443", "vault.test", "443"));
	CHECK(!noproxy_match(".test:443", "vault.test", "8200"));

	/* Addresses and prefixes. */
	CHECK(noproxy_match("10.1.2.3", "10.1.2.3", "8200"));
	CHECK(!noproxy_match("10.1.2.3", "10.1.2.4", "8200"));
	CHECK(noproxy_match("10.1.2.3:8200", "10.1.2.3", "8200"));
	CHECK(!noproxy_match("10.1.2.3:8201", "10.1.2.3", "8200"));
	CHECK(noproxy_match("10.0.0.0/8", "10.200.3.4", "8200"));
	CHECK(!noproxy_match("10.0.0.0/8", "11.0.0.1", "8200"));
	CHECK(noproxy_match("192.168.4.0/22", "192.168.7.255", "1"));
	CHECK(!noproxy_match("192.168.4.0/22", "192.168.8.0", "1"));
	CHECK(noproxy_match("0.0.0.0/0", "8.8.8.8", "1"));
	CHECK(!noproxy_match("10.0.0.0/8", "vault.test", "8200"));
	CHECK(!noproxy_match("10.0.0.0/33", "10.0.0.1", "8200"));
	CHECK(noproxy_match("fd00::/8", "[fd12::1]", "8200"));
	CHECK(!noproxy_match("fd00::/8", "[fe12::1]", "8200"));
	CHECK(!noproxy_match("fd00::/8", "10.0.0.1", "8200"));
	CHECK(noproxy_match("fd12::1", "[fd12::1]", "8200"));
	CHECK(noproxy_match("[fd12::1]:8200", "[fd12::1]", "8200"));
	CHECK(!noproxy_match("[fd12::1]:8201", "[fd12::1]", "8200"));

	/* Malformed entries are skipped, not fatal. */
	CHECK(!noproxy_match(",,:80,[", "vault.test", "80"));
	CHECK(noproxy_match(",,:80,vault.test", "vault.test", "80"));
	return check_done("test_noproxy");
}
