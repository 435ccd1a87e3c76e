/* Fuzzes the parsers of scalar settings: Go durations, Vault's duration
 * seconds, Go booleans, unsigned numbers, file modes and auth mounts. */
#include "fuzz.h"

#include "parse.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size);
	struct errbuf e;
	int64_t ns = 0;
	uint64_t u = 0;
	mode_t mode = 0;
	bool b = false;
	char *mount;

	if (parse_go_duration(s, &ns) == 0 && s[0] != '-' && s[0] != '+')
		FUZZ_CHECK(ns >= 0);
	/* Bare seconds are scaled to nanoseconds: no silent overflow. */
	if (parse_duration_second(s, &ns) == 0 && s[0] >= '0' && s[0] <= '9' &&
	    parse_uint(s, UINT64_MAX, &u) == 0)
		FUZZ_CHECK(ns >= 0 && (uint64_t)ns / 1000000000u == u);
	if (parse_bool(s, &b) == 0)
		FUZZ_CHECK(strlen(s) <= 5);
	if (parse_uint(s, 1000, &u) == 0)
		FUZZ_CHECK(u <= 1000);
	if (parse_mode(s, &mode) == 0)
		FUZZ_CHECK(mode <= 07777);

	errbuf_clear(&e);
	mount = auth_mount_normalize(s, &e);
	if (mount != NULL) {
		size_t len = strlen(mount);

		FUZZ_CHECK(len > 0);
		FUZZ_CHECK(mount[0] != '/' && mount[len - 1] != '/');
	} else {
		FUZZ_CHECK(e.msg[0] != '\0');
	}
	free(mount);
	(void)k8s_subdomain_valid(s);
	(void)k8s_secret_key_valid(s);
	free(s);
	return 0;
}
