/* kube: a Kubernetes API client for core/v1 Secrets, in-cluster config. */
#ifndef VK_KUBE_H
#define VK_KUBE_H

#include <stdbool.h>

#include <json-c/json.h>

#include "errbuf.h"
#include "http.h"

/* In-cluster configuration (api-reference.md D1). */
struct kube_config {
	char *server;     /* https://host:port, IPv6 bracketed */
	char *token_path; /* <sa_dir>/token, re-read every minute and on 401 */
	char *ca_path;    /* <sa_dir>/ca.crt; must be readable */
	char *namespace;  /* POD_NAMESPACE, else <sa_dir>/namespace trimmed */
	/* Told of each request (http.h); set by the caller, not freed. */
	const struct http_observer *observer;
	/* Shared with other clients (http.h); set by the caller, not freed. */
	struct http_share *share;
};

/* Fills c from KUBERNETES_SERVICE_HOST/PORT and the service-account
 * directory sa_dir. Missing host/port, an unreadable CA, token or
 * namespace are errors naming the variable or file. */
int kube_config_in_cluster(struct kube_config *c, const char *sa_dir,
                           struct errbuf *e);
void kube_config_free(struct kube_config *c);

struct kube;

struct kube *kube_new(const struct kube_config *c, struct errbuf *e);
void kube_free(struct kube *k);

/*
 * Secret operations in the configured namespace. Objects are json-c
 * objects in the API's JSON form (data values base64). All return 0 on
 * success, -1 on failure with errbuf "<verb> secret <name>: <status>
 * <reason>: <message>" from the Status object (or the network cause),
 * errbuf.status set. The client's token, and for a create or update the
 * Secret's data values (base64 and decoded, 3 bytes or longer), are
 * replaced by "<redacted>" in that text before it is cut to length.
 * Transient failures (network, 429, 5xx) are retried a few times,
 * honouring Retry-After. A name goes into a URL only when it is a
 * DNS-1123 subdomain; any other name is an error naming it.
 */

/* Lists every Secret, following continue tokens; *items is a new array.
 * Items without a string name that is a DNS-1123 subdomain are skipped
 * with a warning. A continue token given twice, more than 100000 items,
 * 10000 pages or 512 MiB of answers are errors. */
int kube_secret_list(struct kube *k, json_object **items, struct errbuf *e);

/* Returns 0 with *obj, 1 when not found (404), -1 on error (also when
 * the answer's metadata.name is not name). */
int kube_secret_get(struct kube *k, const char *name, json_object **obj,
                    struct errbuf *e);

/* POST; obj must carry metadata.name. */
int kube_secret_create(struct kube *k, json_object *obj, struct errbuf *e);

/* PUT to metadata.name of obj (resourceVersion sent when present). */
int kube_secret_update(struct kube *k, json_object *obj, struct errbuf *e);

/* DELETE with background propagation. A Secret that is already gone (404)
 * counts as deleted: returns 0. */
int kube_secret_delete(struct kube *k, const char *name, struct errbuf *e);

const char *kube_namespace(const struct kube *k);

long kube_connects(const struct kube *k);

#endif
