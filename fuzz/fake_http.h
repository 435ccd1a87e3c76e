/* fake_http: an in-process stand-in for http.c that answers from a script,
 * so the fuzz targets drive the real clients with input we choose. */
#ifndef VK_FAKE_HTTP_H
#define VK_FAKE_HTTP_H

#include <stddef.h>
#include <stdint.h>

/*
 * Loads the answers the next http_do calls return, in order, from data:
 * answers are separated by the line "%%"; an answer that starts with
 * three digits and a newline has that status, any other has 200; the
 * rest is the body. Once the script is used up, http_do fails as a
 * network error that is not worth a retry. data must outlive the run.
 */
void fake_http_load(const uint8_t *data, size_t size);

/* Number of requests http_do received since the last load. */
size_t fake_http_requests(void);

/* Method and URL of request i (from 0) since the last load, for the
 * first FAKE_HTTP_LOG requests; NULL beyond. */
#define FAKE_HTTP_LOG 256
const char *fake_http_method(size_t i);
const char *fake_http_url(size_t i);

/* While set, nanosleep returns at once (back-offs cost no time). Set
 * only around a run of the code under test. */
void fake_sleep_skip(int on);

/* Writes text to dir/name (0600); aborts on failure. For setting up the
 * files the clients read (service-account token, CA, token file). */
void fake_file(const char *dir, const char *name, const char *text);

/* A fresh directory under $TMPDIR for this process, removed with its
 * files at exit; the string is static. Aborts on failure. */
char *fake_tmpdir(void);

#endif
