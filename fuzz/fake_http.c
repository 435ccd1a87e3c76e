/* fake_http: answers http_do from a script instead of the network. */
#include "fake_http.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

#define SEPARATOR "\n%%\n"

struct http_client {
	long connects;
};

static const uint8_t *script;
static size_t script_len;
static size_t script_pos;
static size_t requests;
static atomic_int skip_sleep;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *log_method[FAKE_HTTP_LOG];
static char *log_url[FAKE_HTTP_LOG];

void fake_http_load(const uint8_t *data, size_t size)
{
	script = data;
	script_len = size;
	script_pos = 0;
	for (size_t i = 0; i < requests && i < FAKE_HTTP_LOG; i++) {
		free(log_method[i]);
		free(log_url[i]);
		log_method[i] = log_url[i] = NULL;
	}
	requests = 0;
}

const char *fake_http_method(size_t i)
{
	return i < FAKE_HTTP_LOG ? log_method[i] : NULL;
}

const char *fake_http_url(size_t i)
{
	return i < FAKE_HTTP_LOG ? log_url[i] : NULL;
}

size_t fake_http_requests(void)
{
	return requests;
}

void fake_sleep_skip(int on)
{
	skip_sleep = on;
}

/* Replaces libc's nanosleep for this program; the real one is reached
 * through clock_nanosleep when sleeping is not skipped. */
int nanosleep(const struct timespec *req, struct timespec *rem)
{
	int rc;

	if (skip_sleep)
		return 0;
	rc = clock_nanosleep(CLOCK_REALTIME, 0, req, rem);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	return 0;
}

void fake_file(const char *dir, const char *name, const char *text)
{
	char path[4096];
	size_t len = strlen(text);
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		abort();
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || close(fd) != 0)
		abort();
}

static char tmp_dir[4096];

/* Removes the files of fake_file and the directory at exit. */
static void tmp_cleanup(void)
{
	struct dirent *d;
	DIR *dir = opendir(tmp_dir);

	if (dir == NULL)
		return;
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] != '.')
			(void)unlinkat(dirfd(dir), d->d_name, 0);
	}
	(void)closedir(dir);
	(void)rmdir(tmp_dir);
}

char *fake_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	if (tmp_dir[0] != '\0')
		return tmp_dir;
	if (base == NULL || *base == '\0')
		base = "/tmp";
	if (snprintf(tmp_dir, sizeof(tmp_dir), "%s/vk-fuzz-XXXXXX", base) >=
	        (int)sizeof(tmp_dir) ||
	    mkdtemp(tmp_dir) == NULL || atexit(tmp_cleanup) != 0)
		abort();
	return tmp_dir;
}

/* Nothing to share without connections. */
struct http_share {
	int unused;
};

struct http_share *http_share_new(struct errbuf *e)
{
	struct http_share *s = calloc(1, sizeof(*s));

	if (s == NULL)
		errbuf_set(e, "out of memory");
	return s;
}

void http_share_free(struct http_share *s)
{
	free(s);
}

struct http_client *http_client_new(const struct http_options *o,
                                    struct errbuf *e)
{
	struct http_client *c = calloc(1, sizeof(*c));

	(void)o;
	if (c == NULL)
		errbuf_set(e, "out of memory");
	return c;
}

void http_client_free(struct http_client *c)
{
	free(c);
}

long http_client_connects(const struct http_client *c)
{
	return c->connects;
}

/* The next answer of the script: [start, end) of its text. */
static int next_answer(size_t *start, size_t *end)
{
	const uint8_t *sep;
	size_t left;

	if (script == NULL || script_pos > script_len)
		return -1;
	*start = script_pos;
	left = script_len - script_pos;
	sep = memmem(script + script_pos, left, SEPARATOR, strlen(SEPARATOR));
	if (sep == NULL) {
		*end = script_len;
		script_pos = script_len + 1;
	} else {
		*end = (size_t)(sep - script);
		script_pos = *end + strlen(SEPARATOR);
	}
	return 0;
}

static long status_of(const uint8_t *p, size_t len, size_t *skip)
{
	*skip = 0;
	if (len < 4 || p[0] < '1' || p[0] > '5' || p[1] < '0' || p[1] > '9' ||
	    p[2] < '0' || p[2] > '9' || p[3] != '\n')
		return 200;
	*skip = 4;
	return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
}

static int fake_do(struct http_client *c, const struct http_request *req,
                   struct http_response *resp, struct errbuf *e);

int http_do(struct http_client *c, const struct http_request *req,
            struct http_response *resp, struct errbuf *e)
{
	int rc;

	/* The synchronizer may read from several threads. */
	if (pthread_mutex_lock(&lock) != 0)
		abort();
	rc = fake_do(c, req, resp, e);
	if (pthread_mutex_unlock(&lock) != 0)
		abort();
	return rc;
}

static int fake_do(struct http_client *c, const struct http_request *req,
                   struct http_response *resp, struct errbuf *e)
{
	size_t start, end, skip, i;

	memset(resp, 0, sizeof(*resp));
	resp->retry_after_s = -1;
	if (requests < FAKE_HTTP_LOG) {
		log_method[requests] = strdup(req->method);
		log_url[requests] = strdup(req->url);
		if (log_method[requests] == NULL || log_url[requests] == NULL)
			abort();
	}
	requests++;
	/* The clients must never put CR or LF into a header. */
	for (i = 0; i < req->n_headers; i++) {
		if (strpbrk(req->headers[i].name, "\r\n") != NULL ||
		    strpbrk(req->headers[i].value, "\r\n") != NULL)
			abort();
	}
	if (next_answer(&start, &end) < 0) {
		errbuf_set(e, "%s %s: fake: no more answers", req->method,
		           req->url);
		return -1;
	}
	c->connects = 1;
	resp->status = status_of(script + start, end - start, &skip);
	start += skip;
	resp->body_len = end - start;
	if (resp->body_len > 0) {
		/* Owned copy, NUL-terminated, as the real transport gives. */
		resp->body = malloc(resp->body_len + 1);
		if (resp->body == NULL)
			return errbuf_set(e, "out of memory");
		memcpy(resp->body, script + start, resp->body_len);
		resp->body[resp->body_len] = '\0';
	}
	if (resp->status >= 300 && resp->status < 400)
		resp->location = strdup("https://vault.test/v1/moved");
	return 0;
}

void http_response_free(struct http_response *r)
{
	if (r == NULL)
		return;
	if (r->body != NULL)
		explicit_bzero(r->body, r->body_len);
	free(r->body);
	free(r->location);
	free(r->content_type);
	memset(r, 0, sizeof(*r));
	r->retry_after_s = -1;
}
