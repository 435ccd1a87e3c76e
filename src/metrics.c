/* metrics: the long-running helpers' counters, as Prometheus text. */
#include "metrics.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PREFIX "vault_kubernetes_"
#define METRICS_PATH "/metrics"
/* Distinct (server, method, status) series kept; later ones are summed
 * into one series per server (method OTHER, code "other"), so that a
 * misbehaving server cannot grow the table without bound. */
#define SERIES_MAX 48
#define METHOD_MAX 8

/* Status classes of the latency histogram. */
enum outcome {
	OUT_2XX,
	OUT_3XX,
	OUT_4XX,
	OUT_5XX,
	OUT_OTHER, /* an answer outside 200-599 */
	OUT_ERROR, /* no answer */
	OUTCOMES
};

static const char *const outcome_names[OUTCOMES] = {"2xx", "3xx",   "4xx",
                                                    "5xx", "other", "error"};
static const char *const server_names[METRICS_SERVERS] = {"vault",
                                                          "kubernetes"};

/* Upper bounds of the histogram buckets, in seconds (+Inf implied). */
static const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                0.5,   1,    2.5,   5,    10,  30};
#define N_BOUNDS (sizeof(bounds) / sizeof(bounds[0]))

struct series {
	enum metrics_server server;
	char method[METHOD_MAX];
	long status; /* 0: no answer */
	uint64_t count;
};

struct histogram {
	uint64_t buckets[N_BOUNDS]; /* non-cumulative; summed when shown */
	uint64_t count;
	double sum;
};

/* What an observer needs to find its counts. */
struct observer_arg {
	struct metrics *m;
	enum metrics_server server;
};

struct metrics {
	pthread_mutex_t lock;
	enum metrics_helper helper;
	struct observer_arg observer_args[METRICS_SERVERS];
	struct http_observer observers[METRICS_SERVERS];
	uint64_t counters[METRICS_COUNTERS];
	double last_success; /* 0: never */
	unsigned failures;
	double token_expiry; /* 0: unknown */
	struct series series[SERIES_MAX];
	size_t n_series;
	uint64_t overflow[METRICS_SERVERS];
	struct histogram latency[METRICS_SERVERS][OUTCOMES];
};

static void observed(void *arg, const char *method, long status, double seconds)
{
	struct observer_arg *a = arg;

	metrics_request(a->m, a->server, method, status, seconds);
}

struct metrics *metrics_new(enum metrics_helper helper)
{
	struct metrics *m = calloc(1, sizeof(*m));
	size_t i;

	if (m == NULL)
		return NULL;
	if (pthread_mutex_init(&m->lock, NULL) != 0) {
		free(m);
		return NULL;
	}
	m->helper = helper;
	for (i = 0; i < METRICS_SERVERS; i++) {
		m->observer_args[i].m = m;
		m->observer_args[i].server = (enum metrics_server)i;
		m->observers[i].done = observed;
		m->observers[i].arg = &m->observer_args[i];
	}
	return m;
}

const struct http_observer *metrics_observer(struct metrics *m,
                                             enum metrics_server server)
{
	if (m == NULL || server >= METRICS_SERVERS)
		return NULL;
	return &m->observers[server];
}

int metrics_serve(struct metrics *m, const char *addr, struct health *health,
                  const char *health_addr, struct health **own,
                  struct errbuf *e)
{
	*own = NULL;
	if (health != NULL && health_addr != NULL &&
	    strcmp(addr, health_addr) == 0) {
		health_add_page(health, METRICS_PATH, METRICS_CONTENT_TYPE,
		                metrics_render, m);
		return 0;
	}
	*own = health_start_pages("METRICS_ADDR", addr, e);
	if (*own == NULL)
		return -1;
	health_add_page(*own, METRICS_PATH, METRICS_CONTENT_TYPE,
	                metrics_render, m);
	return 0;
}

void metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	(void)pthread_mutex_destroy(&m->lock);
	free(m);
}

void metrics_add(struct metrics *m, enum metrics_counter c, uint64_t n)
{
	if (m == NULL || c >= METRICS_COUNTERS ||
	    pthread_mutex_lock(&m->lock) != 0)
		return;
	m->counters[c] += n;
	(void)pthread_mutex_unlock(&m->lock);
}

void metrics_succeeded(struct metrics *m, double unix_s)
{
	if (m == NULL || pthread_mutex_lock(&m->lock) != 0)
		return;
	m->last_success = unix_s;
	(void)pthread_mutex_unlock(&m->lock);
}

void metrics_set_failures(struct metrics *m, unsigned n)
{
	if (m == NULL || pthread_mutex_lock(&m->lock) != 0)
		return;
	m->failures = n;
	(void)pthread_mutex_unlock(&m->lock);
}

void metrics_set_token_expiry(struct metrics *m, double unix_s)
{
	if (m == NULL || pthread_mutex_lock(&m->lock) != 0)
		return;
	m->token_expiry = unix_s;
	(void)pthread_mutex_unlock(&m->lock);
}

/* Methods are label values: only the ones our clients send are kept. */
static const char *method_label(const char *method)
{
	static const char *const known[] = {"GET",    "POST",  "PUT",
	                                    "DELETE", "PATCH", "LIST"};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (method != NULL && strcmp(method, known[i]) == 0)
			return known[i];
	return "OTHER";
}

static enum outcome outcome_of(long status)
{
	if (status >= 200 && status < 300)
		return OUT_2XX;
	if (status >= 300 && status < 400)
		return OUT_3XX;
	if (status >= 400 && status < 500)
		return OUT_4XX;
	if (status >= 500 && status < 600)
		return OUT_5XX;
	return status == 0 ? OUT_ERROR : OUT_OTHER;
}

/* Counts one request in its series, added when new, or in the server's
 * overflow count once the table is full. Called with the lock held. */
static void series_count(struct metrics *m, enum metrics_server server,
                         const char *method, long status)
{
	struct series *s;
	size_t i;

	for (i = 0; i < m->n_series; i++) {
		s = &m->series[i];
		if (s->server == server && s->status == status &&
		    strcmp(s->method, method) == 0) {
			s->count++;
			return;
		}
	}
	if (m->n_series == SERIES_MAX || status < 0 || status > 999) {
		m->overflow[server]++;
		return;
	}
	s = &m->series[m->n_series++];
	s->server = server;
	(void)snprintf(s->method, sizeof(s->method), "%s", method);
	s->status = status;
	s->count = 1;
}

void metrics_request(struct metrics *m, enum metrics_server server,
                     const char *method, long status, double seconds)
{
	struct histogram *h;
	size_t i;

	if (m == NULL || server >= METRICS_SERVERS ||
	    pthread_mutex_lock(&m->lock) != 0)
		return;
	series_count(m, server, method_label(method), status);
	h = &m->latency[server][outcome_of(status)];
	for (i = 0; i < N_BOUNDS && seconds > bounds[i]; i++)
		;
	if (i < N_BOUNDS)
		h->buckets[i]++;
	h->count++;
	h->sum += seconds;
	(void)pthread_mutex_unlock(&m->lock);
}

static void family(FILE *f, const char *name, const char *type,
                   const char *help)
{
	fprintf(f, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s %s\n", name,
	        help, name, type);
}

static void show_sync(FILE *f, const struct metrics *m)
{
	static const char *const actions[] = {"created", "updated", "deleted",
	                                      "unchanged"};
	size_t i;

	family(f, "sync_cycles_total", "counter",
	       "Synchronization cycles run, successful or not.");
	fprintf(f, PREFIX "sync_cycles_total %llu\n",
	        (unsigned long long)m->counters[METRICS_CYCLES]);
	family(f, "sync_cycles_failed_total", "counter",
	       "Synchronization cycles that failed.");
	fprintf(f, PREFIX "sync_cycles_failed_total %llu\n",
	        (unsigned long long)m->counters[METRICS_CYCLES_FAILED]);
	family(f, "sync_consecutive_failures", "gauge",
	       "Failed cycles since the last successful one.");
	fprintf(f, PREFIX "sync_consecutive_failures %u\n", m->failures);
	family(f, "sync_secrets_total", "counter",
	       "Kubernetes Secrets created, updated, deleted, or found "
	       "unchanged by a successful cycle.");
	for (i = 0; i < 4; i++)
		fprintf(f, PREFIX "sync_secrets_total{action=\"%s\"} %llu\n",
		        actions[i],
		        (unsigned long long)m->counters[METRICS_CREATED + i]);
	family(f, "sync_last_success_timestamp_seconds", "gauge",
	       "Unix time of the last successful cycle (absent before "
	       "the first).");
	if (m->last_success > 0)
		fprintf(f, PREFIX "sync_last_success_timestamp_seconds %.3f\n",
		        m->last_success);
}

static void show_renewer(FILE *f, const struct metrics *m)
{
	family(f, "renewals_total", "counter", "Successful token renewals.");
	fprintf(f, PREFIX "renewals_total %llu\n",
	        (unsigned long long)m->counters[METRICS_RENEWALS]);
	family(f, "renewals_failed_total", "counter",
	       "Token renewals that failed.");
	fprintf(f, PREFIX "renewals_failed_total %llu\n",
	        (unsigned long long)m->counters[METRICS_RENEWALS_FAILED]);
	family(f, "last_renewal_timestamp_seconds", "gauge",
	       "Unix time of the last successful renewal (absent before "
	       "the first).");
	if (m->last_success > 0)
		fprintf(f, PREFIX "last_renewal_timestamp_seconds %.3f\n",
		        m->last_success);
}

static void show_token(FILE *f, const struct metrics *m, double now)
{
	family(f, "token_ttl_seconds", "gauge",
	       "Seconds the Vault token has left, from its last lookup "
	       "or renewal "
	       "(absent when unknown or when it never expires).");
	if (m->token_expiry > 0)
		fprintf(f, PREFIX "token_ttl_seconds %.0f\n",
		        m->token_expiry > now ? m->token_expiry - now : 0.0);
}

static void show_requests(FILE *f, const struct metrics *m)
{
	const struct histogram *h;
	const struct series *s;
	uint64_t cum;
	size_t i, srv, o;

	family(f, "requests_total", "counter",
	       "Requests sent, by server, method and HTTP status (error: "
	       "no answer).");
	for (i = 0; i < m->n_series; i++) {
		s = &m->series[i];
		fprintf(f,
		        PREFIX "requests_total{server=\"%s\",method=\"%s\","
		               "code=\"",
		        server_names[s->server], s->method);
		if (s->status == 0)
			fputs("error", f);
		else
			fprintf(f, "%ld", s->status);
		fprintf(f, "\"} %llu\n", (unsigned long long)s->count);
	}
	for (srv = 0; srv < METRICS_SERVERS; srv++)
		if (m->overflow[srv] > 0)
			fprintf(f,
			        PREFIX "requests_total{server=\"%s\",method="
			               "\"OTHER\",code=\"other\"} %llu\n",
			        server_names[srv],
			        (unsigned long long)m->overflow[srv]);
	family(f, "request_duration_seconds", "histogram",
	       "Request latency, by server and outcome.");
	for (srv = 0; srv < METRICS_SERVERS; srv++) {
		for (o = 0; o < OUTCOMES; o++) {
			h = &m->latency[srv][o];
			if (h->count == 0)
				continue;
			cum = 0;
			for (i = 0; i < N_BOUNDS; i++) {
				cum += h->buckets[i];
				fprintf(f,
				        PREFIX "request_duration_seconds_bucket"
				               "{server=\"%s\",outcome=\"%s\","
				               "le=\"%g\"} %llu\n",
				        server_names[srv], outcome_names[o],
				        bounds[i], (unsigned long long)cum);
			}
			fprintf(f,
			        PREFIX "request_duration_seconds_bucket{server="
			               "\"%s\",outcome=\"%s\",le=\"+Inf\"} "
			               "%llu\n",
			        server_names[srv], outcome_names[o],
			        (unsigned long long)h->count);
			fprintf(f,
			        PREFIX "request_duration_seconds_sum{server="
			               "\"%s\",outcome=\"%s\"} %.6f\n",
			        server_names[srv], outcome_names[o], h->sum);
			fprintf(f,
			        PREFIX "request_duration_seconds_count{server="
			               "\"%s\",outcome=\"%s\"} %llu\n",
			        server_names[srv], outcome_names[o],
			        (unsigned long long)h->count);
		}
	}
}

char *metrics_render(void *arg, size_t *len)
{
	struct metrics *m = arg;
	char *text = NULL;
	bool ok;
	FILE *f;

	*len = 0;
	f = open_memstream(&text, len);
	if (f == NULL)
		return NULL;
	if (pthread_mutex_lock(&m->lock) != 0) {
		(void)fclose(f);
		free(text);
		return NULL;
	}
	if (m->helper == METRICS_RENEWER)
		show_renewer(f, m);
	else
		show_sync(f, m);
	show_token(f, m, (double)time(NULL));
	show_requests(f, m);
	(void)pthread_mutex_unlock(&m->lock);
	ok = !ferror(f);
	if (fclose(f) != 0 || !ok) {
		free(text);
		return NULL;
	}
	return text;
}
