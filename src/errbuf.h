/* errbuf: an error message buffer handed down the call chain. */
#ifndef VK_ERRBUF_H
#define VK_ERRBUF_H

/*
 * Functions that can fail take a struct errbuf * last, return -1 (or a
 * negative enum) on failure and leave one human-readable line in msg.
 * status is the HTTP status of the answer that caused the failure, 0
 * when there was no answer (configuration, file or network error).
 * transient is set when a retry may succeed (network error, 5xx, 429,
 * 412); callers of long-running loops use it to choose between backing
 * off and giving up. Messages never contain a token or a secret value.
 */
struct errbuf {
	char msg[2048];
	long status;
	int transient;
};

/* Formats msg, resets status and transient; always returns -1. */
int errbuf_set(struct errbuf *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepends "<prefix>: " to msg (status and transient kept); returns -1. */
int errbuf_prefix(struct errbuf *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Clears the buffer. */
void errbuf_clear(struct errbuf *e);

#endif
