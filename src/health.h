/* health: a /healthz endpoint for Kubernetes probes of long-running helpers. */
#ifndef VK_HEALTH_H
#define VK_HEALTH_H

#include <stdbool.h>

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

/* Stops the server, waits for its thread, frees h. NULL does nothing. */
void health_stop(struct health *h);

#endif
