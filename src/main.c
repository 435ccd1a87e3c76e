/* main: the multi-call entry point; dispatches on argv[0] or a subcommand. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "log.h"

struct helper {
	const char *name;
	int (*run)(void);
	const char *summary;
	const char *variables;
};

static const struct helper helpers[] = {
    {"authenticator", authenticator_main,
     "log in to Vault and write the token to a file",
     "VAULT_ROLE VAULT_ROLE_ID VAULT_SECRET_ID VAULT_TOKEN_PATH\n"
     "  VAULT_AUTH_MOUNT_PATH SERVICE_ACCOUNT_DIR "
     "SERVICE_ACCOUNT_TOKEN_PATH\n"
     "  VAULT_TOKEN_FILE_MODE VAULT_FORCE_LOGIN ALLOW_FAIL "
     "LOGIN_TIMEOUT VAULT_WRAP_TTL"},
    {"synchronizer", synchronizer_main,
     "copy Vault KV secrets into Kubernetes Secrets",
     "VAULT_TOKEN_PATH VAULT_SECRETS SECRET_PREFIX\n"
     "  SYNCHRONIZER_ANNOTATION SYNCHRONIZER_LABELS "
     "SYNCHRONIZER_CONCURRENCY\n"
     "  SERVICE_ACCOUNT_DIR POD_NAMESPACE KUBERNETES_SERVICE_HOST "
     "KUBERNETES_SERVICE_PORT"},
    {"token-renewer", renewer_main,
     "keep the token in VAULT_TOKEN_PATH valid for the pod's lifetime",
     "VAULT_TOKEN_PATH VAULT_TTL VAULT_REAUTH VAULT_REVOKE_ON_EXIT\n"
     "  and, with VAULT_REAUTH, the authenticator's login variables"},
};

#define N_HELPERS (sizeof(helpers) / sizeof(helpers[0]))

static void usage(FILE *out, const struct helper *only)
{
	size_t i;

	if (only == NULL)
		fprintf(out, "usage: vault-kubernetes <helper> | --help | "
		             "--version\n\nHelpers (also run as "
		             "vault-kubernetes-<helper>):\n");
	for (i = 0; i < N_HELPERS; i++) {
		if (only != NULL && only != &helpers[i])
			continue;
		fprintf(out, "  %-14s %s\n    variables: %s\n", helpers[i].name,
		        helpers[i].summary, helpers[i].variables);
	}
	fprintf(out, "\nEvery helper also reads Vault's client variables "
	             "(VAULT_ADDR, VAULT_CACERT,\nVAULT_SKIP_VERIFY, ...); "
	             "configuration comes from the environment only.\n"
	             "See README.md and docs/ for each variable.\n");
}

static const struct helper *find_helper(const char *name)
{
	size_t i;

	for (i = 0; i < N_HELPERS; i++)
		if (strcmp(name, helpers[i].name) == 0)
			return &helpers[i];
	return NULL;
}

static int run(const struct helper *h)
{
	int rc;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_msg("cannot initialise libcurl");
		return 1;
	}
	rc = h->run();
	curl_global_cleanup();
	return rc;
}

int main(int argc, char **argv)
{
	const char *self = argc > 0 ? argv[0] : "vault-kubernetes";
	const char *base = strrchr(self, '/');
	const struct helper *h;
	const char *arg;

	base = base != NULL ? base + 1 : self;

	/* Called through a link such as vault-kubernetes-authenticator. */
	if (strncmp(base, "vault-kubernetes-", 17) == 0) {
		h = find_helper(base + 17);
		if (h == NULL) {
			fprintf(stderr, "unknown helper name: %s\n", base);
			return 2;
		}
		if (argc > 1 && strcmp(argv[1], "--help") == 0) {
			usage(stdout, h);
			return 0;
		}
		if (argc > 1 && strcmp(argv[1], "--version") == 0) {
			printf("%s %s\n", base, VK_VERSION);
			return 0;
		}
		return run(h);
	}

	/* Called as vault-kubernetes <helper>. */
	arg = argc > 1 ? argv[1] : NULL;
	if (arg == NULL) {
		usage(stderr, NULL);
		return 2;
	}
	if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
		usage(stdout, NULL);
		return 0;
	}
	if (strcmp(arg, "--version") == 0) {
		printf("vault-kubernetes %s\n", VK_VERSION);
		return 0;
	}
	h = find_helper(arg);
	if (h == NULL) {
		fprintf(stderr, "unknown helper: %s\n\n", arg);
		usage(stderr, NULL);
		return 2;
	}
	if (argc > 2 && strcmp(argv[2], "--help") == 0) {
		usage(stdout, h);
		return 0;
	}
	return run(h);
}
