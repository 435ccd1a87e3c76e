/* Unit tests of the sidecar's metrics and their Prometheus text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "metrics.h"

/* Number of lines of text starting with prefix. */
static int lines_with(const char *text, const char *prefix)
{
	const char *p = text;
	int n = 0;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return n;
}

static char *render(struct metrics *m)
{
	size_t len = 0;
	char *text = metrics_render(m, &len);

	CHECK(text != NULL);
	CHECK(text != NULL && strlen(text) == len);
	CHECK(len > 0 && text[len - 1] == '\n');
	return text;
}

static void test_empty(void)
{
	struct metrics *m = metrics_new(METRICS_SYNCHRONIZER);
	char *text = render(m);

	CHECK(strstr(text, "\nvault_kubernetes_sync_cycles_total 0\n") != NULL);
	CHECK(lines_with(text, "vault_kubernetes_sync_secrets_total{") == 4);
	/* Unknown values are absent, their families still declared. */
	CHECK(lines_with(text, "vault_kubernetes_token_ttl_seconds") == 0);
	CHECK(lines_with(text, "# TYPE vault_kubernetes_token_ttl_seconds "
	                       "gauge") == 1);
	CHECK(lines_with(text, "vault_kubernetes_sync_last_success") == 0);
	CHECK(lines_with(text, "vault_kubernetes_requests_total") == 0);
	free(text);
	metrics_free(m);
}

static void test_counts(void)
{
	struct metrics *m = metrics_new(METRICS_SYNCHRONIZER);
	char *text;

	metrics_add(m, METRICS_CYCLES, 3);
	metrics_add(m, METRICS_CYCLES_FAILED, 1);
	metrics_add(m, METRICS_UNCHANGED, 7);
	metrics_set_failures(m, 1);
	metrics_succeeded(m, 1800000000.25);
	metrics_request(m, METRICS_VAULT, "GET", 200, 0.003);
	metrics_request(m, METRICS_VAULT, "GET", 200, 100.0);
	metrics_request(m, METRICS_KUBE, "PUT", 0, 0.2);
	metrics_request(m, METRICS_KUBE, "BREW", 418, 0.2);
	text = render(m);
	CHECK(strstr(text, "\nvault_kubernetes_sync_cycles_total 3\n"));
	CHECK(strstr(text, "\nvault_kubernetes_sync_cycles_failed_total 1\n"));
	CHECK(strstr(text, "{action=\"unchanged\"} 7\n"));
	CHECK(strstr(text, "\nvault_kubernetes_sync_last_success_timestamp_"
	                   "seconds 1800000000.250\n"));
	CHECK(
	    strstr(text, "{server=\"vault\",method=\"GET\",code=\"200\"} 2\n"));
	CHECK(strstr(text, "{server=\"kubernetes\",method=\"PUT\",code=\"error"
	                   "\"} 1\n"));
	CHECK(strstr(text, "{server=\"kubernetes\",method=\"OTHER\",code=\"418"
	                   "\"} 1\n"));
	/* 3 ms falls in the first bucket; 100 s only in +Inf. */
	CHECK(strstr(text, "{server=\"vault\",outcome=\"2xx\",le=\"0.005\"} "
	                   "1\n"));
	CHECK(strstr(text, "{server=\"vault\",outcome=\"2xx\",le=\"30\"} 1\n"));
	CHECK(strstr(text, "{server=\"vault\",outcome=\"2xx\",le=\"+Inf\"} "
	                   "2\n"));
	CHECK(strstr(text, "_count{server=\"kubernetes\",outcome=\"error\"} "
	                   "1\n"));
	CHECK(strstr(text, "_count{server=\"kubernetes\",outcome=\"4xx\"} "
	                   "1\n"));
	free(text);
	metrics_free(m);
}

/* A server answering with ever new statuses cannot grow the table. */
static void test_series_bounded(void)
{
	struct metrics *m = metrics_new(METRICS_SYNCHRONIZER);
	char *text;
	long status;
	int series;

	for (status = 100; status < 600; status++)
		metrics_request(m, METRICS_VAULT, "GET", status, 0.01);
	metrics_request(m, METRICS_VAULT, "GET", 12345, 0.01);
	text = render(m);
	series = lines_with(text, "vault_kubernetes_requests_total{");
	CHECK(series > 10 && series <= 64);
	CHECK(strstr(text, "{server=\"vault\",method=\"OTHER\",code=\"other\"}"
	                   " ") != NULL);
	CHECK(strstr(text, "12345") == NULL);
	CHECK(strstr(text, "_count{server=\"vault\",outcome=\"other\"} "
	                   "101\n"));
	CHECK(strstr(text, "outcome=\"error\"") == NULL);
	free(text);
	metrics_free(m);
}

/* The token-renewer shows its own families, not the synchronizer's. */
static void test_renewer(void)
{
	struct metrics *m = metrics_new(METRICS_RENEWER);
	char *text;

	metrics_add(m, METRICS_RENEWALS, 2);
	metrics_add(m, METRICS_RENEWALS_FAILED, 1);
	metrics_succeeded(m, 1800000000.0);
	metrics_set_token_expiry(m, 1.0); /* long past: shown as 0 */
	text = render(m);
	CHECK(strstr(text, "\nvault_kubernetes_renewals_total 2\n"));
	CHECK(strstr(text, "\nvault_kubernetes_renewals_failed_total 1\n"));
	CHECK(strstr(text, "\nvault_kubernetes_last_renewal_timestamp_seconds "
	                   "1800000000.000\n"));
	CHECK(strstr(text, "\nvault_kubernetes_token_ttl_seconds 0\n"));
	CHECK(strstr(text, "sync_") == NULL);
	free(text);
	metrics_free(m);
}

static void test_null_is_harmless(void)
{
	metrics_add(NULL, METRICS_CYCLES, 1);
	metrics_set_failures(NULL, 2);
	metrics_succeeded(NULL, 1.0);
	metrics_set_token_expiry(NULL, 1.0);
	metrics_request(NULL, METRICS_VAULT, "GET", 200, 0.1);
	metrics_free(NULL);
	CHECK(1);
}

int main(void)
{
	test_empty();
	test_counts();
	test_series_bounded();
	test_renewer();
	test_null_is_harmless();
	return check_done("test_metrics");
}
