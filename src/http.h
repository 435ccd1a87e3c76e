/* http: one libcurl easy handle per server, kept alive across requests. */
#ifndef VK_HTTP_H
#define VK_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"

/* Largest response body read; a bigger one is an error (not truncated). */
#define HTTP_MAX_BODY (8u * 1024 * 1024)

/*
 * Told of every attempt http_do makes, for metrics. status is the HTTP
 * status, 0 when no answer arrived (transport failure); seconds is the
 * attempt's wall time. Called on the thread that ran http_do, after the
 * attempt; it must not call back into the client.
 */
struct http_observer {
	void (*done)(void *arg, const char *method, long status,
	             double seconds);
	void *arg;
};

/*
 * State shared by the clients of one process that talk to the same
 * servers: TLS sessions and resolved names. A client's first connection
 * then resumes a session another client made instead of a full
 * handshake, so the server's certificate is neither sent nor parsed
 * again (libcurl matches sessions by host, port and TLS settings). Safe
 * for clients on different threads.
 */
struct http_share;

/* NULL with errbuf on failure. */
struct http_share *http_share_new(struct errbuf *e);
/* Frees s; every client made with it must have been freed first. */
void http_share_free(struct http_share *s);

struct http_options {
	const char *ca_file;     /* PEM bundle file, or NULL */
	const char *ca_path;     /* directory of PEM files, or NULL */
	const char *ca_pem;      /* PEM text held in memory, or NULL */
	const char *client_cert; /* PEM file for mutual TLS, or NULL */
	const char *client_key;
	const char *server_name; /* SNI and verify name, or NULL */
	bool skip_verify;
	const char *unix_socket;    /* connect through this socket, or NULL */
	const char *proxy;          /* NULL: libcurl's env handling; "": none */
	int64_t timeout_ms;         /* per attempt; <= 0: none */
	int64_t connect_timeout_ms; /* <= 0: libcurl default */
	const struct http_observer *observer; /* NULL: none; not copied,
	                                         must outlive the client */
	struct http_share *share; /* NULL: none; must outlive the client */
};

struct http_header {
	const char *name;
	const char *value; /* must not contain CR or LF */
};

struct http_request {
	const char *method; /* GET, POST, PUT, DELETE, PATCH, LIST */
	const char *url;
	const struct http_header *headers;
	size_t n_headers;
	const char *body; /* NULL: no body */
	size_t body_len;
	int64_t timeout_ms; /* > 0: this attempt's bound, else the client's */
};

struct http_response {
	long status;
	char *body; /* NUL-terminated, owned; NULL if empty */
	size_t body_len;
	char *location;        /* Location header or NULL */
	char *content_type;    /* or NULL */
	int64_t retry_after_s; /* Retry-After seconds, -1 when absent */
};

struct http_client;

/* Creates a client; the options' strings are copied. NULL on failure. */
struct http_client *http_client_new(const struct http_options *o,
                                    struct errbuf *e);
void http_client_free(struct http_client *c);

/*
 * Performs one attempt (no retries, no redirects followed). Returns 0
 * when an HTTP answer arrived, whatever its status (resp filled, caller
 * frees with http_response_free), -1 on a transport failure with errbuf
 * naming the method, URL and cause (connection refused, timeout, TLS
 * verification, name resolution); errbuf.transient says whether a retry
 * may help. Headers carrying CR or LF are refused before sending.
 */
int http_do(struct http_client *c, const struct http_request *req,
            struct http_response *resp, struct errbuf *e);

/* Wipes and frees the body and headers. */
void http_response_free(struct http_response *r);

/* Number of connections libcurl opened so far (CURLINFO_NUM_CONNECTS sum). */
long http_client_connects(const struct http_client *c);

#endif
