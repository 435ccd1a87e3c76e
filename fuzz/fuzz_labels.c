/* Fuzzes labels_parse, the parser of SYNCHRONIZER_LABELS. */
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
	struct label *l = NULL;
	struct errbuf e;
	size_t n = 0, i, j;

	errbuf_clear(&e);
	if (labels_parse(s, &l, &n, &e) == 0) {
		for (i = 0; i < n; i++) {
			FUZZ_CHECK(k8s_label_key_valid(l[i].key));
			FUZZ_CHECK(k8s_label_value_valid(l[i].value));
			for (j = 0; j < i; j++)
				FUZZ_CHECK(strcmp(l[i].key, l[j].key) != 0);
		}
	} else {
		FUZZ_CHECK(e.msg[0] != '\0');
		FUZZ_CHECK(strchr(e.msg, '\n') == NULL);
	}
	labels_free(l, n);
	free(s);
	return 0;
}
