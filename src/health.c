/* health: /healthz served by libmicrohttpd from its own polling thread. */
#include "health.h"

#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "log.h"
#include "parse.h"

#define HEALTH_PATH "/healthz"
#define REASON_MAX 512
#define CONN_LIMIT 16
#define CONN_TIMEOUT_S 10

struct health {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;
	bool ok;
	char reason[REASON_MAX];
	bool healthz; /* false: only the page below */
	const char *page_path;
	const char *page_type;
	health_render_fn *render;
	void *render_arg;
};

/* libmicrohttpd's own error lines go through our logger. */
__attribute__((format(printf, 2, 0))) static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		return;
	log_msg("health endpoint: %s", msg);
}

/* Queues a plain-text answer; the library copies body. */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
                             const char *text)
{
	char body[REASON_MAX + 16];
	struct MHD_Response *r;
	enum MHD_Result rc;

	(void)snprintf(body, sizeof(body), "%s", text);
	r = MHD_create_response_from_buffer(strlen(body), body,
	                                    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	if (MHD_add_response_header(r, "Content-Type",
	                            "text/plain; charset=utf-8") != MHD_YES ||
	    MHD_add_response_header(r, "Cache-Control", "no-store") !=
	        MHD_YES) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

/* Answers with the page render makes; the library frees the text. */
static enum MHD_Result page(struct MHD_Connection *c, const char *type,
                            health_render_fn *render, void *arg)
{
	struct MHD_Response *r;
	enum MHD_Result rc;
	size_t len = 0;
	char *text = render(arg, &len);

	if (text == NULL)
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		             "out of memory\n");
	r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(text);
		return MHD_NO;
	}
	if (MHD_add_response_header(r, "Content-Type", type) != MHD_YES ||
	    MHD_add_response_header(r, "Cache-Control", "no-store") !=
	        MHD_YES) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	rc = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}

/* One answer per request, on the first call: the probe sends no body. */
static enum MHD_Result answer(void *cls, struct MHD_Connection *c,
                              const char *url, const char *method,
                              const char *version, const char *upload,
                              size_t *upload_size, void **req_cls)
{
	struct health *h = cls;
	char body[REASON_MAX + 16];
	health_render_fn *render = NULL;
	const char *type = NULL;
	void *arg = NULL;
	bool is_page;
	unsigned status;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)req_cls;
	if (pthread_mutex_lock(&h->lock) != 0)
		return MHD_NO;
	is_page = h->page_path != NULL && strcmp(url, h->page_path) == 0;
	if (is_page) {
		render = h->render;
		type = h->page_type;
		arg = h->render_arg;
	}
	(void)pthread_mutex_unlock(&h->lock);
	if (!is_page && (!h->healthz || strcmp(url, HEALTH_PATH) != 0))
		return reply(c, MHD_HTTP_NOT_FOUND, "not found\n");
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
		             "method not allowed\n");
	if (is_page)
		return page(c, type, render, arg);

	if (pthread_mutex_lock(&h->lock) != 0)
		return MHD_NO;
	status = h->ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
	if (h->ok)
		(void)snprintf(body, sizeof(body), "ok\n");
	else
		(void)snprintf(body, sizeof(body), "unhealthy: %s\n",
		               h->reason);
	(void)pthread_mutex_unlock(&h->lock);
	return reply(c, status, body);
}

/* Splits "host:port", "[v6]:port" or ":port" into its parts. */
static int split_addr(const char *var, const char *addr, char *host,
                      size_t host_len, char *port, size_t port_len,
                      struct errbuf *e)
{
	const char *colon = strrchr(addr, ':');
	const char *h = addr;
	size_t n;
	uint64_t num;

	if (colon == NULL)
		return errbuf_set(e, "%s: \"%.64s\" is not host:port", var,
		                  addr);
	n = (size_t)(colon - addr);
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (n >= host_len || strlen(colon + 1) >= port_len)
		return errbuf_set(e, "%s: \"%.64s\" is too long", var, addr);
	memcpy(host, h, n);
	host[n] = '\0';
	memcpy(port, colon + 1, strlen(colon + 1) + 1);
	if (parse_uint(port, 65535, &num) < 0 || num == 0)
		return errbuf_set(e,
		                  "%s: \"%.64s\": the port must be a "
		                  "number from 1 to 65535",
		                  var, addr);
	return 0;
}

static struct addrinfo *resolve(const char *var, const char *addr,
                                struct errbuf *e)
{
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	char host[256];
	char port[8];
	int rc;

	if (split_addr(var, addr, host, sizeof(host), port, sizeof(port), e) <
	    0)
		return NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &res);
	if (rc != 0) {
		errbuf_set(e, "%s: resolve \"%.64s\": %s", var, addr,
		           gai_strerror(rc));
		return NULL;
	}
	return res;
}

static struct health *start(const char *var, const char *addr, bool healthz,
                            struct errbuf *e)
{
	struct addrinfo *ai;
	struct health *h;
	unsigned flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;

	ai = resolve(var, addr, e);
	if (ai == NULL)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (h == NULL || pthread_mutex_init(&h->lock, NULL) != 0) {
		free(h);
		freeaddrinfo(ai);
		errbuf_set(e, "out of memory");
		return NULL;
	}
	(void)snprintf(h->reason, sizeof(h->reason), "starting");
	h->healthz = healthz;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;

	/* The polling thread blocks in the kernel until a client connects;
	 * idle connections are closed after a while, so an idle server
	 * causes no wake-ups. */
	h->daemon = MHD_start_daemon(
	    flags, 0, NULL, NULL, answer, h, MHD_OPTION_EXTERNAL_LOGGER,
	    mhd_log, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
	    MHD_OPTION_END);
	freeaddrinfo(ai);
	if (h->daemon == NULL) {
		(void)pthread_mutex_destroy(&h->lock);
		free(h);
		errbuf_set(e,
		           "%s: cannot serve on \"%.64s\" (address in use "
		           "or not local?)",
		           var, addr);
		return NULL;
	}
	return h;
}

struct health *health_start(const char *addr, struct errbuf *e)
{
	return start("HEALTH_ADDR", addr, true, e);
}

struct health *health_start_pages(const char *var, const char *addr,
                                  struct errbuf *e)
{
	return start(var, addr, false, e);
}

void health_add_page(struct health *h, const char *path,
                     const char *content_type, health_render_fn *render,
                     void *arg)
{
	if (h == NULL || pthread_mutex_lock(&h->lock) != 0)
		return;
	h->page_path = path;
	h->page_type = content_type;
	h->render = render;
	h->render_arg = arg;
	(void)pthread_mutex_unlock(&h->lock);
}

void health_set(struct health *h, bool ok, const char *reason)
{
	if (h == NULL || pthread_mutex_lock(&h->lock) != 0)
		return;
	h->ok = ok;
	(void)snprintf(h->reason, sizeof(h->reason), "%s",
	               reason != NULL ? reason : "");
	(void)pthread_mutex_unlock(&h->lock);
}

void health_stop(struct health *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->daemon);
	(void)pthread_mutex_destroy(&h->lock);
	free(h);
}
