/* Fuzzes the KV mount discovery: sys/mounts and the per-path preflight
 * answers, for paths of several shapes. */
#include "fuzz.h"

#include "fake_http.h"
#include "kv.h"
#include "vault.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void resolve(struct kv_resolver *r, const char *path)
{
	struct kv_location loc = {0};
	struct errbuf e;
	char *read_path, *list_path;

	errbuf_clear(&e);
	if (kv_resolve(r, path, &loc, &e) < 0) {
		FUZZ_CHECK(e.msg[0] != '\0');
		FUZZ_CHECK(strpbrk(e.msg, "\r\n") == NULL);
		return;
	}
	FUZZ_CHECK(loc.version == 1 || loc.version == 2);
	FUZZ_CHECK(loc.mount != NULL && loc.rel != NULL);
	/* "" is the root mount a server without the preflight implies. */
	FUZZ_CHECK(loc.mount[0] == '\0' ||
	           loc.mount[strlen(loc.mount) - 1] == '/');
	read_path = kv_read_path(&loc, loc.rel);
	list_path = kv_list_path(&loc, "");
	FUZZ_CHECK(read_path != NULL && list_path != NULL);
	FUZZ_CHECK(strncmp(read_path, loc.mount, strlen(loc.mount)) == 0);
	free(read_path);
	free(list_path);
	kv_location_free(&loc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {
	    "secret/k8s/first", "secret/data/k8s/first",
	    "kv1/app/db",       "team/a/kv/x",
	    "secret/",          "other/x",
	};
	struct vault_config c = {0};
	struct kv_resolver *r;
	struct vault *v;
	struct errbuf e;
	size_t i;

	c.addr = "https://vault.test";
	c.max_retries = 1;
	c.token = "s.FuzzKvToken";
	errbuf_clear(&e);
	v = vault_new(&c, &e);
	FUZZ_CHECK(v != NULL);
	r = kv_resolver_new(v);
	FUZZ_CHECK(r != NULL);
	fake_http_load(data, size);
	fake_sleep_skip(1);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		resolve(r, paths[i]);
	fake_sleep_skip(0);
	kv_resolver_free(r);
	vault_free(v);
	fake_http_load(NULL, 0);
	return 0;
}
