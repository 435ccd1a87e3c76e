/* health: a /healthz endpoint for Kubernetes probes of long-running helpers. */
#ifndef VK_HEALTH_H
#define VK_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

#include "errbuf.h"

struct health;

/*
 * Serves GET and HEAD /healthz on addr ("host:port"; an empty host means
 * every address, "[::1]:8080" an IPv6 literal) from a thread of its own
 * that sleeps until a client connects. It answers 503 until health_set
 * says otherwise. Call it after blocking the signals the caller waits
 * for, so that the server's thread never takes them.
 * Returns the server (free with health_stop), or NULL with errbuf naming
 * the address and what failed (syntax, resolution, bind).
 */
struct health *health_start(const char *addr, struct errbuf *e);

/*
 * Sets what /healthz answers: 200 "ok" when ok, else 503 with the reason
 * (copied; it must hold no secret, the probe's client sees it). Safe to
 * call from any thread; a NULL h does nothing, so callers need not test
 * whether the endpoint is on.
 */
void health_set(struct health *h, bool ok, const char *reason);

/* Renders a page at each request: malloc'd text of *len bytes, freed by
 * the server; NULL when out of memory (the client gets a 500). Runs on
 * the server's thread. */
typedef char *health_render_fn(void *arg, size_t *len);

/*
 * Like health_start but without /healthz, for a server that only shows
 * pages added with health_add_page; var names the variable addr came
 * from in errors (METRICS_ADDR, say).
 */
struct health *health_start_pages(const char *var, const char *addr,
                                  struct errbuf *e);

/*
 * Also serves GET and HEAD path on h: 200 with content_type and what
 * render(arg) returns. One page per server; a second call replaces it.
 * path, content_type and arg are not copied: they must outlive h. Safe while
 * the server runs; a NULL h does nothing.
 */
void health_add_page(struct health *h, const char *path,
                     const char *content_type, health_render_fn *render,
                     void *arg);

/* Stops the server, waits for its thread, frees h. NULL does nothing. */
void health_stop(struct health *h);

#endif
