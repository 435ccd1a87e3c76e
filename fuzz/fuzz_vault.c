/* Fuzzes the Vault client's handling of answers: logins (plain and
 * wrapped), renewals, token look-ups, revocations, reads and lists. The
 * first byte picks the call, the rest is the script of answers. */
#include "fuzz.h"

#include "fake_http.h"
#include "vault.h"

#define TOKEN "s.FuzzVaultToken0123456789"
#define JWT "eyJFuzzServiceAccountJwt.payload.signature"
#define SECRET_ID "fuzz-secret-id-4f1c9a"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static bool leaked(const char *msg, const uint8_t *data, size_t size,
                   const char *secret)
{
	return strstr(msg, secret) != NULL &&
	       memmem(data, size, secret, strlen(secret)) == NULL;
}

static void check_auth(int rc, const struct vault_auth *a)
{
	if (rc != 0)
		return;
	FUZZ_CHECK(a->client_token != NULL && a->client_token[0] != '\0');
	FUZZ_CHECK(strpbrk(a->client_token, "\r\n") == NULL);
}

static int call(struct vault *v, unsigned op, struct errbuf *e)
{
	struct vault_auth a = {0};
	struct vault_token_info info;
	json_object *data = NULL;
	char *warning = NULL;
	int rc = -1;

	switch (op) {
	case 0:
		rc =
		    vault_login_kubernetes(v, "kubernetes", "demo", JWT, &a, e);
		break;
	case 1:
		rc = vault_login_approle(v, "approle", "role-id", SECRET_ID, &a,
		                         e);
		break;
	case 2:
		vault_set_wrap_ttl(v, "60s");
		rc = vault_login_kubernetes(v, "k8s/prod", "demo", JWT, &a, e);
		break;
	case 3:
		rc = vault_renew_self(v, 3600, &a, e);
		break;
	case 4:
		rc = vault_lookup_self(v, &info, e);
		break;
	case 5:
		rc = vault_revoke_self(v, e);
		break;
	case 6:
		rc = vault_read(v, "secret/data/k8s/first", &data, &warning, e);
		break;
	default:
		rc = vault_list(v, "secret/metadata/k8s/", &data, &warning, e);
		break;
	}
	check_auth(op <= 3 ? rc : -1, &a);
	/* A success may carry no "data" (Go's Read gives nil then). */
	if (op >= 6 && rc < 0)
		FUZZ_CHECK(data == NULL);
	vault_auth_free(&a);
	json_object_put(data);
	free(warning);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vault_config c = {0};
	struct vault *v;
	struct errbuf e;
	int rc;

	if (size < 1)
		return 0;
	c.addr = "https://vault.test";
	c.timeout_ns = 60 * 1000000000LL;
	c.max_retries = 2;
	c.token = TOKEN;
	errbuf_clear(&e);
	v = vault_new(&c, &e);
	FUZZ_CHECK(v != NULL);
	fake_http_load(data + 1, size - 1);
	fake_sleep_skip(1);
	rc = call(v, data[0] % 8, &e);
	fake_sleep_skip(0);
	if (rc < 0) {
		FUZZ_CHECK(e.msg[0] != '\0');
		FUZZ_CHECK(strpbrk(e.msg, "\r\n") == NULL);
		FUZZ_CHECK(!leaked(e.msg, data, size, TOKEN));
		FUZZ_CHECK(!leaked(e.msg, data, size, JWT));
		FUZZ_CHECK(!leaked(e.msg, data, size, SECRET_ID));
	}
	vault_free(v);
	fake_http_load(NULL, 0);
	return 0;
}
