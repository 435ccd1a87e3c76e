/* Fuzzes the Kubernetes client's handling of answers: Secret, SecretList
 * (with continue tokens) and Status objects. The first byte picks the
 * call, the rest is the script of answers. */
#include "fuzz.h"

#include "fake_http.h"
#include "kube.h"

#define KUBE_TOKEN "eyJFuzzKubeToken.payload.signature"

static struct kube_config config;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *dir = fake_tmpdir();
	char path[4096];

	(void)argc;
	(void)argv;
	fake_file(dir, "token", KUBE_TOKEN "\n");
	fake_file(dir, "ca.crt", "not parsed by the fake transport\n");
	config.server = "https://kube.test:443";
	(void)snprintf(path, sizeof(path), "%s/token", dir);
	config.token_path = strdup(path);
	(void)snprintf(path, sizeof(path), "%s/ca.crt", dir);
	config.ca_path = strdup(path);
	config.namespace = "default";
	FUZZ_CHECK(config.token_path != NULL && config.ca_path != NULL);
	return 0;
}

static json_object *secret(void)
{
	json_object *o = json_tokener_parse(
	    "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":"
	    "{\"name\":\"app\",\"resourceVersion\":\"7\",\"annotations\":"
	    "{\"vault-secret\":\"secret/k8s/app\"}},\"type\":\"Opaque\","
	    "\"data\":{\"k\":\"dmFsdWU=\"}}");

	FUZZ_CHECK(o != NULL);
	return o;
}

static int call(struct kube *k, unsigned op, struct errbuf *e)
{
	json_object *o = NULL;
	int rc;

	switch (op) {
	case 0:
		rc = kube_secret_list(k, &o, e);
		if (rc == 0)
			FUZZ_CHECK(json_object_is_type(o, json_type_array));
		break;
	case 1:
		rc = kube_secret_get(k, "app", &o, e);
		if (rc == 0)
			FUZZ_CHECK(json_object_is_type(o, json_type_object));
		else
			FUZZ_CHECK(o == NULL);
		break;
	case 2:
		o = secret();
		rc = kube_secret_create(k, o, e);
		break;
	case 3:
		o = secret();
		rc = kube_secret_update(k, o, e);
		break;
	default:
		rc = kube_secret_delete(k, "app", e);
		break;
	}
	json_object_put(o);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct errbuf e;
	struct kube *k;
	int rc;

	if (size < 1)
		return 0;
	errbuf_clear(&e);
	k = kube_new(&config, &e);
	FUZZ_CHECK(k != NULL);
	fake_http_load(data + 1, size - 1);
	fake_sleep_skip(1);
	rc = call(k, data[0] % 5, &e);
	fake_sleep_skip(0);
	if (rc < 0) {
		FUZZ_CHECK(e.msg[0] != '\0');
		FUZZ_CHECK(strpbrk(e.msg, "\r\n") == NULL);
		FUZZ_CHECK(strstr(e.msg, KUBE_TOKEN) == NULL ||
		           memmem(data, size, KUBE_TOKEN, strlen(KUBE_TOKEN)) !=
		               NULL);
	}
	kube_free(k);
	fake_http_load(NULL, 0);
	return 0;
}
