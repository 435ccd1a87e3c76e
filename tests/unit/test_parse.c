/* test_parse: configuration parsers, Kubernetes name rules and base64. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "parse.h"

#define SEC INT64_C(1000000000)

/* True when s parses as a Go duration of exactly want nanoseconds. */
static int go_dur_is(const char *s, int64_t want)
{
	int64_t ns = 12345;

	return parse_go_duration(s, &ns) == 0 && ns == want;
}

static int go_dur_bad(const char *s)
{
	int64_t ns = 12345;

	return parse_go_duration(s, &ns) == -1 && ns == 12345;
}

static int dur_sec_is(const char *s, int64_t want)
{
	int64_t ns = 12345;

	return parse_duration_second(s, &ns) == 0 && ns == want;
}

static int dur_sec_bad(const char *s)
{
	int64_t ns = 12345;

	return parse_duration_second(s, &ns) == -1;
}

static void test_go_duration(void)
{
	CHECK(go_dur_is("1h30m", 5400 * SEC));
	CHECK(go_dur_is("90s", 90 * SEC));
	CHECK(go_dur_is("1.5h", 5400 * SEC));
	CHECK(go_dur_is("-2s", -2 * SEC));
	CHECK(go_dur_is("+2s", 2 * SEC));
	CHECK(go_dur_is("300ms", 300000000));
	CHECK(go_dur_is("0", 0));
	CHECK(go_dur_is("-0", 0));
	CHECK(go_dur_is("+0", 0));
	CHECK(go_dur_is("0s", 0));
	CHECK(go_dur_is("1ns", 1));
	CHECK(go_dur_is("1us", 1000));
	CHECK(go_dur_is("1\xc2\xb5s", 1000)); /* U+00B5 */
	CHECK(go_dur_is("1\xce\xbcs", 1000)); /* U+03BC */
	CHECK(go_dur_is("2h45m0.5s", (2 * 3600 + 45 * 60) * SEC + SEC / 2));
	CHECK(go_dur_is(".5s", SEC / 2));
	CHECK(go_dur_is("5.s", 5 * SEC));
	CHECK(go_dur_is("1.000000001s", SEC + 1));
	/* fraction digits beyond 2^63 only lose precision, as in Go */
	CHECK(go_dur_is("0.20000000000000000000s", 200000000));
	CHECK(go_dur_is("1.0000000000000000000000000000001s", SEC));
	CHECK(go_dur_is("1m1m", 120 * SEC));
	CHECK(go_dur_is("9223372036854775807ns", INT64_MAX));
	CHECK(go_dur_is("-9223372036854775808ns", INT64_MIN));
	CHECK(go_dur_is("2562047h47m16.854775807s", INT64_MAX));

	CHECK(go_dur_bad(""));
	CHECK(go_dur_bad("-"));
	CHECK(go_dur_bad("+"));
	CHECK(go_dur_bad("1d"));
	CHECK(go_dur_bad("10"));
	CHECK(go_dur_bad("00"));
	CHECK(go_dur_bad("1x"));
	CHECK(go_dur_bad("1"));
	CHECK(go_dur_bad("s"));
	CHECK(go_dur_bad(".s"));
	CHECK(go_dur_bad("-.s"));
	CHECK(go_dur_bad("1.2.3s"));
	CHECK(go_dur_bad("1h 30m"));
	CHECK(go_dur_bad(" 1s"));
	CHECK(go_dur_bad("1s "));
	CHECK(go_dur_bad("1S"));
	CHECK(go_dur_bad("1sec"));
	CHECK(go_dur_bad("--1s"));
	CHECK(go_dur_bad("1h-1m"));
	CHECK(go_dur_bad("9999999999999h"));
	CHECK(go_dur_bad("9223372036854775808ns"));
	CHECK(go_dur_bad("-9223372036854775809ns"));
	CHECK(go_dur_bad("99999999999999999999ns"));
	CHECK(go_dur_bad("2562047h47m16.854775808s"));
	CHECK(go_dur_bad("9223372036854775807ns1ns"));
	CHECK(go_dur_bad("-9223372036854775808ns1ns"));
	CHECK(go_dur_bad("-5000000000000000000ns5000000000000000000ns"));
	/* products and sums that would wrap around 2^64 to a small value */
	CHECK(go_dur_bad("20000000000000000000ns"));
	CHECK(go_dur_bad("18446744073709552us"));
	CHECK(go_dur_bad(NULL));
}

static void test_duration_second(void)
{
	CHECK(dur_sec_is("10", 10 * SEC));
	CHECK(dur_sec_is("0", 0));
	CHECK(dur_sec_is("-5", -5 * SEC));
	CHECK(dur_sec_is("+5", 5 * SEC));
	CHECK(dur_sec_is("1d", 86400 * SEC));
	CHECK(dur_sec_is("7d", 7 * 86400 * SEC));
	CHECK(dur_sec_is("1h30m", 5400 * SEC));
	CHECK(dur_sec_is("500ms", SEC / 2));
	CHECK(dur_sec_is("  30s\n", 30 * SEC));
	CHECK(dur_sec_is("\t42 ", 42 * SEC));
	CHECK(dur_sec_is("9223372036", INT64_C(9223372036) * SEC));

	CHECK(dur_sec_bad(""));
	CHECK(dur_sec_bad("   "));
	CHECK(dur_sec_bad("abc"));
	CHECK(dur_sec_bad("1x"));
	CHECK(dur_sec_bad("d"));
	CHECK(dur_sec_bad("1.5d"));
	CHECK(dur_sec_bad("1 d"));
	CHECK(dur_sec_bad("1dd"));
	CHECK(dur_sec_bad("1 0"));
	CHECK(dur_sec_bad("9223372037"));
	CHECK(dur_sec_bad("106752d"));
	CHECK(dur_sec_bad("99999999999999999999"));
	CHECK(dur_sec_bad("9999999999999h"));
	CHECK(dur_sec_bad(NULL));
}

static void test_bool(void)
{
	static const char *const yes[] = {"1",    "t",    "T",
	                                  "TRUE", "true", "True"};
	static const char *const no[] = {"0",     "f",     "F",
	                                 "FALSE", "false", "False"};
	static const char *const bad[] = {"",   "yes", "no",    "tRUE",
	                                  "on", " 1",  "true ", "2",
	                                  "01", "y",   "FaLsE", "truee"};
	size_t i;
	bool b;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		CHECK(parse_bool(yes[i], &b) == 0 && b);
		b = true;
		CHECK(parse_bool(no[i], &b) == 0 && !b);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(parse_bool(bad[i], &b) == -1);
	CHECK(parse_bool(NULL, &b) == -1);
}

static void test_uint_mode(void)
{
	uint64_t u = 7;
	mode_t m = 0;

	CHECK(parse_uint("0", 10, &u) == 0 && u == 0);
	CHECK(parse_uint("10", 10, &u) == 0 && u == 10);
	CHECK(parse_uint("007", 10, &u) == 0 && u == 7);
	CHECK(parse_uint("4294967295", UINT32_MAX, &u) == 0 && u == UINT32_MAX);
	CHECK(parse_uint("18446744073709551615", UINT64_MAX, &u) == 0 &&
	      u == UINT64_MAX);
	CHECK(parse_uint("11", 10, &u) == -1);
	CHECK(parse_uint("4294967296", UINT32_MAX, &u) == -1);
	CHECK(parse_uint("18446744073709551616", UINT64_MAX, &u) == -1);
	CHECK(parse_uint("5", 0, &u) == -1);
	CHECK(parse_uint("0", 0, &u) == 0 && u == 0);
	CHECK(parse_uint("", 10, &u) == -1);
	CHECK(parse_uint("-1", 10, &u) == -1);
	CHECK(parse_uint("+1", 10, &u) == -1);
	CHECK(parse_uint(" 1", 10, &u) == -1);
	CHECK(parse_uint("1 ", 10, &u) == -1);
	CHECK(parse_uint("0x1", 10, &u) == -1);
	CHECK(parse_uint(NULL, 10, &u) == -1);

	CHECK(parse_mode("0640", &m) == 0 && m == 0640);
	CHECK(parse_mode("640", &m) == 0 && m == 0640);
	CHECK(parse_mode("0644", &m) == 0 && m == 0644);
	CHECK(parse_mode("600", &m) == 0 && m == 0600);
	CHECK(parse_mode("07777", &m) == 0 && m == 07777);
	CHECK(parse_mode("0", &m) == 0 && m == 0);
	m = 0123;
	CHECK(parse_mode("8", &m) == -1 && m == 0123);
	CHECK(parse_mode("017777", &m) == -1);
	CHECK(parse_mode("10000", &m) == -1);
	CHECK(parse_mode("", &m) == -1);
	CHECK(parse_mode("0o640", &m) == -1);
	CHECK(parse_mode("-640", &m) == -1);
	CHECK(parse_mode("640 ", &m) == -1);
	CHECK(parse_mode("rw-r-----", &m) == -1);
	CHECK(parse_mode(NULL, &m) == -1);
}

static void test_env_file_mode(void)
{
	struct errbuf e;
	mode_t m = 0;

	errbuf_clear(&e);
	CHECK(unsetenv("VK_TEST_MODE") == 0);
	CHECK(env_file_mode("VK_TEST_MODE", 0640, &m, &e) == 0 && m == 0640);
	CHECK(setenv("VK_TEST_MODE", "0600", 1) == 0);
	CHECK(env_file_mode("VK_TEST_MODE", 0640, &m, &e) == 0 && m == 0600);
	CHECK(setenv("VK_TEST_MODE", "777", 1) == 0);
	CHECK(env_file_mode("VK_TEST_MODE", 0640, &m, &e) == 0 && m == 0777);
	m = 0123;
	CHECK(setenv("VK_TEST_MODE", "7777", 1) == 0);
	CHECK(env_file_mode("VK_TEST_MODE", 0640, &m, &e) == -1 && m == 0123);
	CHECK(strstr(e.msg, "VK_TEST_MODE") && strstr(e.msg, "setuid") &&
	      strstr(e.msg, "0777"));
	CHECK(setenv("VK_TEST_MODE", "4640", 1) == 0);
	CHECK(env_file_mode("VK_TEST_MODE", 0640, &m, &e) == -1);
	CHECK(setenv("VK_TEST_MODE", "1000", 1) == 0);
	CHECK(env_file_mode("VK_TEST_MODE", 0640, &m, &e) == -1);
	CHECK(setenv("VK_TEST_MODE", "rw-r", 1) == 0);
	CHECK(env_file_mode("VK_TEST_MODE", 0640, &m, &e) == -1);
	CHECK(strstr(e.msg, "VK_TEST_MODE") && strstr(e.msg, "octal"));
	CHECK(unsetenv("VK_TEST_MODE") == 0);
}

static void test_env(void)
{
	struct errbuf e;
	int64_t ns = 0;
	bool b = false;
	char big[300];

	errbuf_clear(&e);
	(void)unsetenv("VK_TEST_BOOL");
	CHECK(env_bool("VK_TEST_BOOL", true, &b, &e) == 0 && b);
	CHECK(setenv("VK_TEST_BOOL", "", 1) == 0);
	CHECK(env_bool("VK_TEST_BOOL", true, &b, &e) == 0 && b);
	CHECK(setenv("VK_TEST_BOOL", "false", 1) == 0);
	CHECK(env_bool("VK_TEST_BOOL", true, &b, &e) == 0 && !b);
	CHECK(setenv("VK_TEST_BOOL", "T", 1) == 0);
	CHECK(env_bool("VK_TEST_BOOL", false, &b, &e) == 0 && b);
	CHECK(setenv("VAULT_SKIP_VERIFY", "maybe", 1) == 0);
	CHECK(env_bool("VAULT_SKIP_VERIFY", false, &b, &e) == -1);
	CHECK_STR(e.msg, "VAULT_SKIP_VERIFY: \"maybe\" is not a boolean "
	                 "(accepted: 1, t, T, TRUE, true, True, 0, f, F, "
	                 "FALSE, false, False)");

	/* A hostile value stays on one line and is cut short. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[3] = '\n';
	CHECK(setenv("VK_TEST_BOOL", big, 1) == 0);
	CHECK(env_bool("VK_TEST_BOOL", false, &b, &e) == -1);
	CHECK(strchr(e.msg, '\n') == NULL);
	CHECK(strstr(e.msg, "\"xxx\\x0axxx") != NULL);
	CHECK(strstr(e.msg, "\"... is not a boolean") != NULL);
	CHECK(strlen(e.msg) < 250);

	(void)unsetenv("VK_TEST_DUR");
	CHECK(env_duration("VK_TEST_DUR", 30 * SEC, &ns, &e) == 0 &&
	      ns == 30 * SEC);
	CHECK(setenv("VK_TEST_DUR", "", 1) == 0);
	CHECK(env_duration("VK_TEST_DUR", 30 * SEC, &ns, &e) == 0 &&
	      ns == 30 * SEC);
	CHECK(setenv("VK_TEST_DUR", "1m30s", 1) == 0);
	CHECK(env_duration("VK_TEST_DUR", 30 * SEC, &ns, &e) == 0 &&
	      ns == 90 * SEC);
	CHECK(setenv("VK_TEST_DUR", "45", 1) == 0);
	CHECK(env_duration("VK_TEST_DUR", 30 * SEC, &ns, &e) == 0 &&
	      ns == 45 * SEC);
	CHECK(setenv("LOGIN_TIMEOUT", "abc", 1) == 0);
	CHECK(env_duration("LOGIN_TIMEOUT", 30 * SEC, &ns, &e) == -1);
	CHECK_STR(e.msg, "LOGIN_TIMEOUT: \"abc\" is not a duration (accepted: "
	                 "Go durations such as 30s, 1m30s, or whole seconds)");
	CHECK(setenv("VK_TEST_DUR", "   ", 1) == 0);
	CHECK(env_duration("VK_TEST_DUR", 30 * SEC, &ns, &e) == -1);
	(void)unsetenv("VK_TEST_BOOL");
	(void)unsetenv("VK_TEST_DUR");
	(void)unsetenv("VAULT_SKIP_VERIFY");
	(void)unsetenv("LOGIN_TIMEOUT");
}

static int mount_is(const char *in, const char *want)
{
	struct errbuf e;
	char *got;
	int ok;

	errbuf_clear(&e);
	got = auth_mount_normalize(in, &e);
	ok = got != NULL && strcmp(got, want) == 0;
	free(got);
	return ok;
}

static int mount_bad(const char *in)
{
	struct errbuf e;
	char *got;

	errbuf_clear(&e);
	got = auth_mount_normalize(in, &e);
	if (got != NULL) {
		free(got);
		return 0;
	}
	return strstr(e.msg, "VAULT_AUTH_MOUNT_PATH") != NULL;
}

static void test_mount(void)
{
	char big[1100];

	CHECK(mount_is("k8s", "k8s"));
	CHECK(mount_is("/k8s", "k8s"));
	CHECK(mount_is("auth/k8s", "k8s"));
	CHECK(mount_is("k8s/", "k8s"));
	CHECK(mount_is("/auth/k8s/", "k8s"));
	CHECK(mount_is("k8s/prod", "k8s/prod"));
	CHECK(mount_is("/auth/k8s/prod/", "k8s/prod"));
	CHECK(mount_is("kubernetes", "kubernetes"));
	CHECK(mount_is("approle", "approle"));
	CHECK(mount_is("auth", "auth"));
	CHECK(mount_is("my_mount-1.x", "my_mount-1.x"));
	CHECK(mount_is("authx/k8s", "authx/k8s"));

	CHECK(mount_bad(""));
	CHECK(mount_bad("/"));
	CHECK(mount_bad("//"));
	CHECK(mount_bad("auth/"));
	CHECK(mount_bad("/auth/"));
	CHECK(mount_bad("a//b"));
	CHECK(mount_bad("auth//k8s"));
	CHECK(mount_bad(".."));
	CHECK(mount_bad("k8s/../sys"));
	CHECK(mount_bad("k8s/."));
	CHECK(mount_bad("k8s prod"));
	CHECK(mount_bad(" k8s"));
	CHECK(mount_bad("k8s?x=1"));
	CHECK(mount_bad("k8s#"));
	CHECK(mount_bad("k8s%2f"));
	CHECK(mount_bad("k8s\n"));
	CHECK(mount_bad("k\xc3\xa9"));
	CHECK(mount_bad(NULL));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(mount_bad(big));
}

/* A string of n copies of c (n < 512). */
static const char *rep(char c, size_t n)
{
	static char buf[512];

	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

static void test_subdomain(void)
{
	char s[300];

	CHECK(k8s_subdomain_valid("first"));
	CHECK(k8s_subdomain_valid("v3t-first"));
	CHECK(k8s_subdomain_valid("a"));
	CHECK(k8s_subdomain_valid("0"));
	CHECK(k8s_subdomain_valid("a.b.c"));
	CHECK(k8s_subdomain_valid("my-app.example.com"));
	CHECK(k8s_subdomain_valid("1-2.3-4"));
	CHECK(k8s_subdomain_valid(rep('a', 253)));
	CHECK(!k8s_subdomain_valid(rep('a', 254)));
	/* 253 with dots: labels of 63 are no limit for subdomains */
	memset(s, 'a', 253);
	s[100] = '.';
	s[253] = '\0';
	CHECK(k8s_subdomain_valid(s));

	CHECK(!k8s_subdomain_valid(""));
	CHECK(!k8s_subdomain_valid(NULL));
	CHECK(!k8s_subdomain_valid("v3t_first"));
	CHECK(!k8s_subdomain_valid("First"));
	CHECK(!k8s_subdomain_valid("-a"));
	CHECK(!k8s_subdomain_valid("a-"));
	CHECK(!k8s_subdomain_valid(".a"));
	CHECK(!k8s_subdomain_valid("a."));
	CHECK(!k8s_subdomain_valid("a..b"));
	CHECK(!k8s_subdomain_valid("a.-b"));
	CHECK(!k8s_subdomain_valid("a-.b"));
	CHECK(!k8s_subdomain_valid("a b"));
	CHECK(!k8s_subdomain_valid("a/b"));
	CHECK(!k8s_subdomain_valid("a:b"));
}

static void test_secret_key(void)
{
	CHECK(k8s_secret_key_valid("password"));
	CHECK(k8s_secret_key_valid("tls.crt"));
	CHECK(k8s_secret_key_valid("My_Key-1.txt"));
	CHECK(k8s_secret_key_valid(".dotfile"));
	CHECK(k8s_secret_key_valid("a.."));
	CHECK(k8s_secret_key_valid("-"));
	CHECK(k8s_secret_key_valid("_"));
	CHECK(k8s_secret_key_valid(rep('k', 253)));

	CHECK(!k8s_secret_key_valid(rep('k', 254)));
	CHECK(!k8s_secret_key_valid(""));
	CHECK(!k8s_secret_key_valid(NULL));
	CHECK(!k8s_secret_key_valid("."));
	CHECK(!k8s_secret_key_valid(".."));
	CHECK(!k8s_secret_key_valid("..a"));
	CHECK(!k8s_secret_key_valid("a/b"));
	CHECK(!k8s_secret_key_valid("a b"));
	CHECK(!k8s_secret_key_valid("a:b"));
	CHECK(!k8s_secret_key_valid("caf\xc3\xa9"));
}

static void test_labels_valid(void)
{
	char key[400];

	CHECK(k8s_label_key_valid("app"));
	CHECK(k8s_label_key_valid("App_1.x-y"));
	CHECK(k8s_label_key_valid("example.com/app"));
	CHECK(k8s_label_key_valid("app.kubernetes.io/managed-by"));
	CHECK(k8s_label_key_valid("a"));
	CHECK(k8s_label_key_valid(rep('n', 63)));
	CHECK(!k8s_label_key_valid(rep('n', 64)));
	/* prefix of 253, name of 63 */
	memcpy(key, rep('p', 253), 253);
	key[253] = '/';
	memcpy(key + 254, rep('n', 63), 63);
	key[317] = '\0';
	CHECK(k8s_label_key_valid(key));
	memcpy(key, rep('p', 254), 254);
	key[254] = '/';
	memcpy(key + 255, "n", 2);
	CHECK(!k8s_label_key_valid(key));

	CHECK(!k8s_label_key_valid(""));
	CHECK(!k8s_label_key_valid(NULL));
	CHECK(!k8s_label_key_valid("/app"));
	CHECK(!k8s_label_key_valid("example.com/"));
	CHECK(!k8s_label_key_valid("a/b/c"));
	CHECK(!k8s_label_key_valid("Example.com/app"));
	CHECK(!k8s_label_key_valid("ex_ample.com/app"));
	CHECK(!k8s_label_key_valid("Bad Key"));
	CHECK(!k8s_label_key_valid("-app"));
	CHECK(!k8s_label_key_valid("app-"));
	CHECK(!k8s_label_key_valid("_app"));
	CHECK(!k8s_label_key_valid("app."));
	CHECK(!k8s_label_key_valid("a=b"));

	CHECK(k8s_label_value_valid(""));
	CHECK(k8s_label_value_valid("v1"));
	CHECK(k8s_label_value_valid("My_Value-1.0"));
	CHECK(k8s_label_value_valid(rep('v', 63)));
	CHECK(!k8s_label_value_valid(rep('v', 64)));
	CHECK(!k8s_label_value_valid(NULL));
	CHECK(!k8s_label_value_valid("a/b"));
	CHECK(!k8s_label_value_valid("a b"));
	CHECK(!k8s_label_value_valid("-v"));
	CHECK(!k8s_label_value_valid("v."));
	CHECK(!k8s_label_value_valid("v="));
}

/* One expected mapping; name NULL when none. */
struct want_map {
	const char *path;
	const char *name;
	bool dir;
};

static int same_name(const char *got, const char *want)
{
	if (got == NULL || want == NULL)
		return got == want;
	return strcmp(got, want) == 0;
}

/* Parses s and checks it gives exactly the nwant mappings in want. */
static int mappings_are(const char *s, const struct want_map *want,
                        size_t nwant)
{
	struct mapping *m = NULL;
	struct errbuf e;
	size_t n = 0, i;
	int ok;

	errbuf_clear(&e);
	if (mappings_parse(s, &m, &n, &e) < 0) {
		fprintf(stderr, "mappings_parse(\"%s\"): %s\n", s, e.msg);
		return 0;
	}
	ok = n == nwant;
	for (i = 0; ok && i < n; i++) {
		ok = strcmp(m[i].vault_path, want[i].path) == 0 &&
		     same_name(m[i].name, want[i].name) &&
		     m[i].is_dir == want[i].dir;
	}
	mappings_free(m, n);
	return ok;
}

/* Parsing s must fail with a message holding each of the given words. */
static int mappings_bad(const char *s, const char *w1, const char *w2)
{
	struct mapping *m = NULL;
	struct errbuf e;
	size_t n = 99;

	errbuf_clear(&e);
	if (mappings_parse(s, &m, &n, &e) == 0) {
		mappings_free(m, n);
		return 0;
	}
	return m == NULL && n == 0 && strstr(e.msg, "VAULT_SECRETS") &&
	       (w1 == NULL || strstr(e.msg, w1)) &&
	       (w2 == NULL || strstr(e.msg, w2));
}

static void test_mappings(void)
{
	static const struct want_map one[] = {
	    {"secret/k8s/first", NULL, false},
	};
	static const struct want_map named[] = {
	    {"secret/k8s/first", "third", false},
	};
	static const struct want_map dir[] = {
	    {"secret/k8s", NULL, true},
	};
	static const struct want_map all[] = {
	    {"secret/k8s/first", NULL, false},
	    {"secret/k8s/first", "third", false},
	    {"secret/k8s", NULL, true},
	    {"secret/data/app", "app", false},
	};
	static const struct want_map colon[] = {
	    {"secret/a:b", "c", false},
	};

	CHECK(mappings_are("secret/k8s/first", one, 1));
	CHECK(mappings_are("/secret/k8s/first", one, 1));
	CHECK(mappings_are("  secret/k8s/first\n", one, 1));
	CHECK(mappings_are("secret/k8s/first:third", named, 1));
	CHECK(mappings_are("secret/k8s/first : third", named, 1));
	CHECK(mappings_are("secret/k8s/", dir, 1));
	CHECK(mappings_are("/secret/k8s/", dir, 1));
	CHECK(mappings_are("secret/k8s/first, secret/k8s/first:third,"
	                   "secret/k8s/ ,/secret/data/app:app",
	                   all, 4));
	CHECK(mappings_are("secret/a:b:c", colon, 1));
	/* must-refuse checks of the checker itself */
	CHECK(!mappings_are("secret/k8s/first:x", one, 1));
	CHECK(!mappings_are("secret/k8s/first/", one, 1));
	CHECK(!mappings_are("secret/k8s/first,a", one, 1));

	CHECK(mappings_bad("a,,b", "item 2", "empty"));
	CHECK(mappings_bad("a,b,", "item 3", "empty"));
	CHECK(mappings_bad(",a", "item 1", "empty"));
	CHECK(mappings_bad("a, ,b", "item 2", "empty"));
	CHECK(mappings_bad("", NULL, NULL));
	CHECK(mappings_bad("  ", NULL, NULL));
	CHECK(mappings_bad(NULL, NULL, NULL));
	CHECK(mappings_bad("secret/k8s/first:", "item 1", "empty name"));
	CHECK(mappings_bad("a,secret/x: ", "item 2", "empty name"));
	CHECK(mappings_bad("secret/k8s/:x", "item 1", "directory"));
	CHECK(mappings_bad(":name", "item 1", "Vault path"));
	/* found by fuzz_mappings: slashes around blanks left an empty path */
	CHECK(mappings_bad("/ \t/", "item 1", "Vault path"));
	CHECK(mappings_bad("a,// \t//", "item 2", "Vault path"));
	CHECK(mappings_bad("/", "item 1", "Vault path"));
	CHECK(mappings_bad("a,//:x", "item 2", "Vault path"));
	/* the transport collapses "." and ".." (and a path could leave the
	 * mount whose KV version was resolved); an empty segment is a typo */
	CHECK(mappings_bad("secret/k8s/x/../first", "item 1", "\"..\""));
	CHECK(mappings_bad("a,secret/../../cubbyhole/foo", "item 2", ".."));
	CHECK(mappings_bad("secret/./k8s:x", "item 1", "segment"));
	CHECK(mappings_bad("secret//k8s/first", "item 1", "empty"));
	CHECK(mappings_bad("../secret/k8s/", "item 1", "segment"));
	CHECK(mappings_bad("secret/k8s/..", "item 1", "segment"));
	CHECK(mappings_bad("secret/k8s/./", "item 1", "segment"));
	/* dots inside a segment are names, not segments of their own */
	CHECK(mappings_are(
	    "secret/k8s/.first",
	    (const struct want_map[]){{"secret/k8s/.first", NULL, false}}, 1));
	CHECK(mappings_are(
	    "secret/k8s/a..b:ab",
	    (const struct want_map[]){{"secret/k8s/a..b", "ab", false}}, 1));
}

/* want: NULL-terminated key, value pairs. */
static int labels_are(const char *s, const char *const *want)
{
	struct label *l = NULL;
	struct errbuf e;
	size_t n = 99, i, nwant = 0;
	int ok;

	while (want[nwant * 2] != NULL)
		nwant++;
	errbuf_clear(&e);
	if (labels_parse(s, &l, &n, &e) < 0) {
		fprintf(stderr, "labels_parse(\"%s\"): %s\n", s, e.msg);
		return 0;
	}
	ok = n == nwant && (n > 0 || l == NULL);
	for (i = 0; ok && i < n; i++)
		ok = strcmp(l[i].key, want[i * 2]) == 0 &&
		     strcmp(l[i].value, want[i * 2 + 1]) == 0;
	labels_free(l, n);
	return ok;
}

static int labels_bad(const char *s, const char *msg)
{
	struct label *l = NULL;
	struct errbuf e;
	size_t n = 99;

	errbuf_clear(&e);
	if (labels_parse(s, &l, &n, &e) == 0) {
		labels_free(l, n);
		return 0;
	}
	if (l != NULL || n != 0)
		return 0;
	if (strncmp(e.msg, msg, strlen(msg)) != 0) {
		fprintf(stderr, "labels_parse(\"%s\"): %s\n", s, e.msg);
		return 0;
	}
	return 1;
}

static void test_labels(void)
{
	static const char *const none[] = {NULL};
	static const char *const two[] = {"k1", "v1", "k2", "v2", NULL};
	static const char *const empty_v[] = {"k1", "v1", "k3", "", NULL};
	static const char *const last[] = {"k1", "v3", "k2", "v2", NULL};
	static const char *const prefixed[] = {"app.kubernetes.io/part-of",
	                                       "demo", NULL};

	CHECK(labels_are(NULL, none));
	CHECK(labels_are("", none));
	CHECK(labels_are("k1", none));
	CHECK(labels_are(",,", none));
	CHECK(labels_are("k1=v1,k2=v2", two));
	CHECK(labels_are(" k1 = v1 ,\tk2=v2 ", two));
	CHECK(labels_are("k1=v1,junk,k2=v2,", two));
	CHECK(labels_are("k1=v1,k3=", empty_v));
	CHECK(labels_are("k1=v1,k3= ", empty_v));
	CHECK(labels_are("k1=v1,k2=v2,k1=v3", last));
	CHECK(labels_are("app.kubernetes.io/part-of=demo", prefixed));

	CHECK(labels_bad("Bad Key=v", "SYNCHRONIZER_LABELS: label key "
	                              "\"Bad Key\" is not valid ("));
	CHECK(labels_bad("k1=v1,=v", "SYNCHRONIZER_LABELS: label key \"\""));
	CHECK(labels_bad("k1=v1,/k=v", "SYNCHRONIZER_LABELS: label key"));
	CHECK(labels_bad("a/b/c=v", "SYNCHRONIZER_LABELS: label key"));
	CHECK(labels_bad("k=bad value", "SYNCHRONIZER_LABELS: label value "
	                                "\"bad value\" of key \"k\""));
	CHECK(labels_bad("k=a=b", "SYNCHRONIZER_LABELS: label value \"a=b\""));
	CHECK(labels_bad("k=-v", "SYNCHRONIZER_LABELS: label value"));
}

static int b64_is(const char *in, const void *want, size_t wlen)
{
	unsigned char *out = NULL;
	size_t olen = 99;
	int ok;

	if (base64_decode(in, strlen(in), &out, &olen) < 0)
		return 0;
	ok = olen == wlen && memcmp(out, want, wlen) == 0 && out[olen] == '\0';
	free(out);
	return ok;
}

static int b64_bad(const char *in)
{
	unsigned char *out = NULL;
	size_t olen = 99;

	if (base64_decode(in, strlen(in), &out, &olen) == 0) {
		free(out);
		return 0;
	}
	return out == NULL && olen == 99;
}

static void test_base64(void)
{
	static const unsigned char bin[] = {0x00, 0xff, 0x00, 0x10,
	                                    0x80, 0x00, 0x7f};
	unsigned char all[256];
	unsigned char *out = NULL;
	size_t olen = 0, i;
	char *enc;

	CHECK(b64_is("", "", 0));
	CHECK(b64_is("YQ==", "a", 1));
	CHECK(b64_is("YWI=", "ab", 2));
	CHECK(b64_is("YWJj", "abc", 3));
	CHECK(b64_is("aGVsbG8gd29ybGQ=", "hello world", 11));
	CHECK(b64_is("AP8AEIAAfw==", bin, sizeof(bin)));
	CHECK(b64_is("AAAA", "\0\0\0", 3));
	CHECK(b64_is("+/+/", "\xfb\xff\xbf", 3));

	CHECK(b64_bad("Y"));
	CHECK(b64_bad("YQ"));
	CHECK(b64_bad("YQ="));
	CHECK(b64_bad("YQ==="));
	CHECK(b64_bad("Y==="));
	CHECK(b64_bad("===="));
	CHECK(b64_bad("=YQ="));
	CHECK(b64_bad("YQ==YQ=="));
	CHECK(b64_bad("Y=Q="));
	CHECK(b64_bad("YWJ*"));
	CHECK(b64_bad("YW-_"));
	CHECK(b64_bad("YW J"));
	CHECK(b64_bad(" YWJj"));
	CHECK(b64_bad("YWJj "));
	CHECK(b64_bad("YWJj\n"));
	CHECK(b64_bad("YW\nJj"));
	CHECK(b64_bad("YWI\xc3"));
	/* an embedded NUL counts as a bad character, not an end */
	CHECK(base64_decode("YW\0j", 4, &out, &olen) == -1);
	CHECK(base64_decode(NULL, 4, &out, &olen) == -1);
	CHECK(base64_decode(NULL, 0, &out, &olen) == 0 && olen == 0);
	free(out);

	enc = base64_encode((const unsigned char *)"a", 1);
	CHECK_STR(enc, "YQ==");
	free(enc);
	enc = base64_encode((const unsigned char *)"ab", 2);
	CHECK_STR(enc, "YWI=");
	free(enc);
	enc = base64_encode((const unsigned char *)"", 0);
	CHECK_STR(enc, "");
	free(enc);
	enc = base64_encode(bin, sizeof(bin));
	CHECK_STR(enc, "AP8AEIAAfw==");
	free(enc);
	CHECK(base64_encode(NULL, 1) == NULL);

	/* every byte value survives a round trip, at every length */
	for (i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)i;
	for (i = 0; i <= sizeof(all); i += 1 + i / 8) {
		enc = base64_encode(all, i);
		out = NULL;
		CHECK(enc != NULL &&
		      base64_decode(enc, strlen(enc), &out, &olen) == 0 &&
		      olen == i && memcmp(out, all, i) == 0);
		free(enc);
		free(out);
	}
}

static void test_trim(void)
{
	char *t;

	t = trim_dup("  a b \t\n");
	CHECK_STR(t, "a b");
	free(t);
	t = trim_dup(" \r\n\v\f");
	CHECK_STR(t, "");
	free(t);
	t = trim_dup("x");
	CHECK_STR(t, "x");
	free(t);
}

int main(void)
{
	test_go_duration();
	test_duration_second();
	test_bool();
	test_uint_mode();
	test_env();
	test_env_file_mode();
	test_mount();
	test_subdomain();
	test_secret_key();
	test_labels_valid();
	test_mappings();
	test_labels();
	test_base64();
	test_trim();
	return check_done("test_parse");
}
