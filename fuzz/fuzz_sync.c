/* Fuzzes a whole synchronizer run: the answers of Vault (mounts, reads,
 * lists) and of Kubernetes (list, get, writes) come from the script in
 * the order the synchronizer asks. Checks the rule that every Vault
 * request comes before the first Kubernetes write. */
#include "fuzz.h"

#include <stdbool.h>

#include "fake_http.h"
#include "helpers.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *dir = fake_tmpdir();
	char path[4096];

	(void)argc;
	(void)argv;
	fake_file(dir, "token", "eyJFuzzKubeToken.payload.signature\n");
	fake_file(dir, "ca.crt", "not parsed by the fake transport\n");
	fake_file(dir, "namespace", "default\n");
	fake_file(dir, "vault-token", "s.FuzzSyncToken\n");
	(void)snprintf(path, sizeof(path), "%s/vault-token", dir);
	if (setenv("VAULT_TOKEN_PATH", path, 1) != 0 ||
	    setenv("SERVICE_ACCOUNT_DIR", dir, 1) != 0 ||
	    setenv("VAULT_ADDR", "https://vault.test", 1) != 0 ||
	    setenv("VAULT_MAX_RETRIES", "1", 1) != 0 ||
	    setenv("VAULT_SECRETS",
	           "secret/k8s/first,secret/data/k8s/second:other,"
	           "secret/k8s/dir/",
	           1) != 0 ||
	    setenv("SYNCHRONIZER_LABELS", "team=fuzz", 1) != 0 ||
	    /* one reader: answers are taken in a reproducible order */
	    setenv("SYNCHRONIZER_CONCURRENCY", "1", 1) != 0 ||
	    setenv("KUBERNETES_SERVICE_HOST", "kube.test", 1) != 0 ||
	    setenv("KUBERNETES_SERVICE_PORT", "443", 1) != 0)
		abort();
	(void)unsetenv("POD_NAMESPACE");
	(void)unsetenv("VAULT_TOKEN");
	return 0;
}

static bool is_kube_write(size_t i)
{
	const char *m = fake_http_method(i);

	return strstr(fake_http_url(i), "//kube.test") != NULL &&
	       strcmp(m, "GET") != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool written = false;
	size_t i, n;
	int rc;

	fake_http_load(data, size);
	fake_sleep_skip(1);
	rc = synchronizer_main();
	fake_sleep_skip(0);
	FUZZ_CHECK(rc == 0 || rc == 1);
	n = fake_http_requests();
	for (i = 0; i < n && i < FAKE_HTTP_LOG; i++) {
		if (is_kube_write(i))
			written = true;
		else if (written)
			FUZZ_CHECK(strstr(fake_http_url(i), "//vault.test") ==
			           NULL);
	}
	fake_http_load(NULL, 0);
	return 0;
}
