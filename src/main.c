/* main: the multi-call entry point; dispatches on argv[0] or a subcommand. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "log.h"
#include "secmem.h"

/* One environment variable a helper reads, for --help. */
struct var {
	const char *name;
	const char *meaning;
	const char *fallback; /* the default, or "required" */
};

struct helper {
	const char *name;
	int (*run)(void);
	const char *summary;
	const struct var *vars;
};

static const struct var login_vars[] = {
    {"VAULT_ROLE", "role of the Kubernetes auth method",
     "required unless AppRole"},
    {"VAULT_ROLE_ID", "AppRole role id (with VAULT_SECRET_ID)", "unset"},
    {"VAULT_SECRET_ID", "AppRole secret id (with VAULT_ROLE_ID)", "unset"},
    {"VAULT_AUTH_MOUNT_PATH", "auth mount: k8s, /k8s, auth/k8s, k8s/",
     "kubernetes, or approle"},
    {"SERVICE_ACCOUNT_DIR", "directory with token, ca.crt, namespace",
     "/var/run/secrets/kubernetes.io/serviceaccount"},
    {"SERVICE_ACCOUNT_TOKEN_PATH", "the JWT to log in with",
     "$SERVICE_ACCOUNT_DIR/token"},
    {"LOGIN_TIMEOUT", "bound on the whole login, retries included", "30s"},
    {NULL, NULL, NULL},
};

static const struct var authenticator_vars[] = {
    {"VAULT_TOKEN_PATH", "file the token is written to", "required"},
    {"VAULT_TOKEN_FILE_MODE", "octal mode of the token file", "0640"},
    {"VAULT_FORCE_LOGIN", "log in even if the file holds a valid token",
     "false"},
    {"ALLOW_FAIL", "a failed login exits 0 without a token", "false"},
    {"VAULT_WRAP_TTL", "write a wrapping token with this TTL instead", "unset"},
    {NULL, NULL, NULL},
};

static const struct var synchronizer_vars[] = {
    {"VAULT_TOKEN_PATH", "the token the authenticator wrote", "required"},
    {"VAULT_SECRETS", "secret/k8s/a, secret/k8s/a:name or secret/k8s/",
     "required"},
    {"SECRET_PREFIX", "prefix of every Secret name", "empty"},
    {"SYNCHRONIZER_ANNOTATION", "annotation marking managed Secrets",
     "vault-secret"},
    {"SYNCHRONIZER_LABELS", "k1=v1,k2=v2 added to every Secret", "empty"},
    {"SYNCHRONIZER_CONCURRENCY", "requests in flight, 1 to 64", "8"},
    {"SERVICE_ACCOUNT_DIR", "directory with token, ca.crt, namespace",
     "/var/run/secrets/kubernetes.io/serviceaccount"},
    {"POD_NAMESPACE", "namespace of the Secrets",
     "$SERVICE_ACCOUNT_DIR/namespace"},
    {"KUBERNETES_SERVICE_HOST", "API server host (set by Kubernetes)",
     "required"},
    {"KUBERNETES_SERVICE_PORT", "API server port (set by Kubernetes)",
     "required"},
    {"SYNC_INTERVAL", "run as a sidecar, synchronizing every interval",
     "unset: once"},
    {"HEALTH_ADDR", "sidecar: host:port serving /healthz", "off"},
    {"METRICS_ADDR", "sidecar: host:port serving /metrics", "off"},
    {"SYNC_CHECKSUM_FILE", "file kept holding a SHA-256 of the data synced",
     "off"},
    {NULL, NULL, NULL},
};

static const struct var renewer_vars[] = {
    {"VAULT_TOKEN_PATH", "the token to keep valid", "required"},
    {"VAULT_TTL", "increment asked at each renewal", "Vault's default"},
    {"VAULT_REAUTH", "log in again when the token cannot be renewed", "false"},
    {"VAULT_REVOKE_ON_EXIT", "revoke the token on SIGTERM/SIGINT", "false"},
    {"VAULT_TOKEN_FILE_MODE", "mode of a token written after a new login",
     "0640"},
    {"HEALTH_ADDR", "host:port serving /healthz for probes", "off"},
    {"METRICS_ADDR", "host:port serving /metrics (Prometheus)", "off"},
    {NULL, NULL, NULL},
};

static const struct var client_vars[] = {
    {"VAULT_ADDR", "Vault's address (https://, http://, unix://)",
     "https://127.0.0.1:8200"},
    {"VAULT_CACERT", "CA certificate file for Vault's TLS", "system CAs"},
    {"VAULT_CAPATH", "directory of CA certificates", "unset"},
    {"VAULT_SKIP_VERIFY", "skip TLS verification (warns)", "false"},
    {"VAULT_CLIENT_TIMEOUT", "bound on one call, retries included", "60s"},
    {"VAULT_MAX_RETRIES", "retries of network errors, 412, 429, 5xx (not 501)",
     "2"},
    {"VAULT_NAMESPACE", "Vault Enterprise namespace", "unset"},
    {NULL, NULL, NULL},
};

static const struct helper helpers[] = {
    {"authenticator", authenticator_main,
     "log in to Vault and write the token to a file", authenticator_vars},
    {"synchronizer", synchronizer_main,
     "copy Vault KV secrets into Kubernetes Secrets", synchronizer_vars},
    {"token-renewer", renewer_main,
     "keep the token valid for the pod's lifetime", renewer_vars},
};

#define N_HELPERS (sizeof(helpers) / sizeof(helpers[0]))

static void print_vars(FILE *out, const struct var *v)
{
	for (; v->name != NULL; v++)
		fprintf(out, "  %-26s %s\n      %s%s\n", v->name, v->meaning,
		        strcmp(v->fallback, "required") == 0 ? "" : "default: ",
		        v->fallback);
}

/* Prints one helper's variables with their defaults, or the overview. */
static void usage(FILE *out, const struct helper *only)
{
	size_t i;

	if (only == NULL) {
		fprintf(out, "usage: vault-kubernetes <helper> [--help] | "
		             "--help | --version\n\nHelpers (also run as "
		             "vault-kubernetes-<helper>):\n");
		for (i = 0; i < N_HELPERS; i++)
			fprintf(out, "  %-14s %s\n", helpers[i].name,
			        helpers[i].summary);
		fprintf(out, "\n`vault-kubernetes <helper> --help` lists a "
		             "helper's variables.\n");
		return;
	}
	fprintf(out, "vault-kubernetes-%s: %s\n\nVariables:\n", only->name,
	        only->summary);
	print_vars(out, only->vars);
	if (only->run == authenticator_main)
		print_vars(out, login_vars);
	if (only->run == renewer_main) {
		fprintf(out, "With VAULT_REAUTH, the login variables:\n");
		print_vars(out, login_vars);
	}
	fprintf(out, "Vault client (as Vault's Go client; also "
	             "VAULT_CLIENT_CERT,\nVAULT_CLIENT_KEY, "
	             "VAULT_TLS_SERVER_NAME, VAULT_HEADERS, proxies, ...):\n");
	print_vars(out, client_vars);
	fprintf(out,
	        "\nConfiguration comes from the environment only.\n"
	        "docs/helpers/%s.md has every variable, log line and "
	        "exit code.\n",
	        only->name);
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

	if (secmem_curl_init() < 0) {
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
