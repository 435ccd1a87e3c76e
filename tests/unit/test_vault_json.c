/* test_vault_json: spotting an escaped NUL in the keys of a Vault answer,
 * which json-c would cut without a trace. */
#include <stdbool.h>
#include <string.h>

#include "check.h"
#include "vault_int.h"

static bool nul_key(const char *body)
{
	return vault_json_nul_in_key(body, strlen(body));
}

int main(void)
{
	/* Keys holding \u0000, wherever the object sits. */
	CHECK(nul_key("{\"a\\u0000b\":\"x\"}"));
	CHECK(nul_key("{\"a\\u00001\":1}"));
	CHECK(nul_key("{\"x\":{\"y\":[{\"k\\u0000\":1}]}}"));
	CHECK(nul_key("{\"a\":\"b\",\"c\\u0000\" \n\t: 1}"));
	CHECK(nul_key("{\"a\\\"\\u0000\":1}"));
	/* json-c takes single-quoted keys; a double quote inside one is
	 * no delimiter, nor a single quote inside a double-quoted one. */
	CHECK(nul_key("{'a\\u0000b':1}"));
	CHECK(nul_key("{'a\"b\\u0000':1}"));
	CHECK(!nul_key("{\"it's\":\"x\\u0000\"}"));
	CHECK(nul_key("{\"it's\\u0000\":1}"));

	/* Not keys, not NUL, or the backslash itself escaped. */
	CHECK(!nul_key("{\"a\":\"x\\u0000y\"}"));
	CHECK(!nul_key("[\"a\\u0000\", \"b\"]"));
	CHECK(!nul_key("{\"a\":[\"\\u0000\"],\"b\":1}"));
	CHECK(!nul_key("{\"a\\\\u0000b\":\"x\"}"));
	CHECK(!nul_key("{\"a\\u0001\":1}"));
	CHECK(!nul_key("{\"a\":\"x\\\"\",\"b\":1}"));

	/* Cut short: no read past the end. */
	CHECK(!nul_key("{\"a\\u000"));
	CHECK(!nul_key("{\"a\\"));
	CHECK(!vault_json_nul_in_key("{\"a\\u0000\":1}", 8));
	return check_done("test_vault_json");
}
