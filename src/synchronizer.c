/* synchronizer: copy Vault KV secrets into Kubernetes Secrets. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "sync.h"
#include "kube.h"
#include "log.h"
#include "login.h"
#include "parse.h"
#include "tokenfile.h"
#include "vault.h"

#define ANNOTATION_DEFAULT "vault-secret"
#define CONCURRENCY_DEFAULT 8
#define CONCURRENCY_MAX 64

static int settings_from_env(struct sync_settings *s, struct errbuf *e)
{
	const char *secrets = getenv("VAULT_SECRETS");
	const char *conc = getenv("SYNCHRONIZER_CONCURRENCY");
	const char *interval = getenv("SYNC_INTERVAL");

	memset(s, 0, sizeof(*s));
	s->token_path = getenv("VAULT_TOKEN_PATH");
	if (s->token_path == NULL || s->token_path[0] == '\0')
		return errbuf_set(e, "VAULT_TOKEN_PATH: missing (the file the "
		                     "authenticator wrote the token to)");
	if (secrets == NULL || secrets[0] == '\0')
		return errbuf_set(e,
		                  "VAULT_SECRETS: missing (a comma-separated "
		                  "list such as secret/app/db,secret/app/"
		                  "web:web-config,secret/shared/)");
	/* LIMITATION: the sidecar mode (SYNC_INTERVAL) is not built yet;
	 * refusing it beats silently running once in a pod that expects
	 * continuous synchronization. */
	if (interval != NULL && interval[0] != '\0')
		return errbuf_set(e,
		                  "SYNC_INTERVAL: continuous synchronization "
		                  "is not supported by this version; unset "
		                  "it to synchronize once");
	s->prefix = getenv("SECRET_PREFIX");
	if (s->prefix == NULL)
		s->prefix = "";
	s->annotation = getenv("SYNCHRONIZER_ANNOTATION");
	if (s->annotation == NULL || s->annotation[0] == '\0')
		s->annotation = ANNOTATION_DEFAULT;
	if (!k8s_label_key_valid(s->annotation))
		return errbuf_set(e,
		                  "SYNCHRONIZER_ANNOTATION: \"%.64s\" is not "
		                  "a valid annotation key ([prefix/]name, "
		                  "name of at most 63 alphanumerics, '-', "
		                  "'_', '.')",
		                  s->annotation);
	s->concurrency = CONCURRENCY_DEFAULT;
	if (conc != NULL && conc[0] != '\0' &&
	    (parse_uint(conc, CONCURRENCY_MAX, &s->concurrency) < 0 ||
	     s->concurrency == 0))
		return errbuf_set(e,
		                  "SYNCHRONIZER_CONCURRENCY: \"%.16s\" is "
		                  "not a whole number from 1 to %d",
		                  conc, CONCURRENCY_MAX);
	if (mappings_parse(secrets, &s->mappings, &s->n_mappings, e) < 0)
		return -1;
	if (labels_parse(getenv("SYNCHRONIZER_LABELS"), &s->labels,
	                 &s->n_labels, e) < 0)
		return -1;
	return vault_config_from_env(&s->vault, e);
}

static void settings_free(struct sync_settings *s)
{
	mappings_free(s->mappings, s->n_mappings);
	labels_free(s->labels, s->n_labels);
	vault_config_free(&s->vault);
	kube_config_free(&s->kube);
}
/* kc is kept (settings_free frees it): the workers of a run make their
 * clients from it. */
static int connect_kube(struct kube_config *kc, struct kube **k,
                        struct errbuf *e)
{
	if (kube_config_in_cluster(kc, sa_dir(), e) < 0)
		return -1;
	*k = kube_new(kc, e);
	return *k != NULL ? 0 : -1;
}

int synchronizer_main(void)
{
	struct sync_settings s;
	struct plan plan = {NULL, 0};
	struct kube *k = NULL;
	struct vault *v = NULL;
	struct errbuf e;
	char *token = NULL;
	int rc = 1;
	int t;

	errbuf_clear(&e);

	/* Configuration, all of it, before any request. */
	if (settings_from_env(&s, &e) < 0) {
		log_msg("failed to prepare synchronization of secrets: %s",
		        e.msg);
		settings_free(&s);
		return 1;
	}
	log_msg("Using annotation [ %s ] to detect managed secrets",
	        s.annotation);

	/* Kubernetes and the token. */
	if (connect_kube(&s.kube, &k, &e) < 0) {
		log_msg("failed to prepare synchronization of secrets: %s",
		        e.msg);
		goto out;
	}
	t = tokenfile_read(s.token_path, &token, &e);
	if (t < 0) {
		log_msg("failed to prepare synchronization of secrets: %s",
		        e.msg);
		goto out;
	}
	if (t > 0) {
		if (sync_check_existing(&s, k, &e) < 0) {
			log_msg("failed to synchronize secrets: %s", e.msg);
			goto out;
		}
		log_msg("cannot synchronize secrets - all secrets seems to be "
		        "available therefore pod creation will continue: no "
		        "vault token in %s",
		        s.token_path);
		rc = 0;
		goto out;
	}

	/* Vault: read every secret first, so a failed read writes nothing. */
	v = vault_new(&s.vault, &e);
	if (v == NULL || vault_set_token(v, token, &e) < 0) {
		log_msg("failed to prepare synchronization of secrets: %s",
		        e.msg);
		goto out;
	}
	if (sync_plan_build(&s, v, token, &plan, &e) < 0) {
		log_msg("failed to synchronize secrets: %s", e.msg);
		goto out;
	}

	/* Kubernetes writes, then clean-up of obsolete managed Secrets. */
	if (sync_plan_apply(&s, k, &plan, &e) < 0) {
		log_msg("failed to synchronize secrets: %s", e.msg);
		goto out;
	}
	log_msg("secrets successfully synchronized");
	rc = 0;
out:
	sync_plan_free(&plan);
	secret_free(token);
	vault_free(v);
	kube_free(k);
	settings_free(&s);
	return rc;
}
