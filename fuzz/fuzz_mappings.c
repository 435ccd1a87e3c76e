/* Fuzzes mappings_parse, the parser of VAULT_SECRETS. */
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
	struct mapping *m = NULL;
	struct errbuf e;
	size_t n = 0, i;

	errbuf_clear(&e);
	if (mappings_parse(s, &m, &n, &e) == 0) {
		FUZZ_CHECK(n > 0 && m != NULL);
		for (i = 0; i < n; i++) {
			FUZZ_CHECK(m[i].vault_path != NULL);
			FUZZ_CHECK(m[i].vault_path[0] != '\0');
			FUZZ_CHECK(strchr(m[i].vault_path, ',') == NULL);
			FUZZ_CHECK(m[i].name == NULL || m[i].name[0] != '\0');
			FUZZ_CHECK(!m[i].is_dir || m[i].name == NULL);
		}
	} else {
		FUZZ_CHECK(m == NULL && n == 0);
		FUZZ_CHECK(e.msg[0] != '\0');
		FUZZ_CHECK(strchr(e.msg, '\n') == NULL);
	}
	mappings_free(m, n);
	free(s);
	return 0;
}
