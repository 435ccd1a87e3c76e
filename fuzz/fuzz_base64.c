/* Fuzzes base64_decode (the "base64:" values of secrets) and checks that
 * decoding what base64_encode made gives the input back. */
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
	unsigned char *out = NULL, *back = NULL;
	size_t out_len = 0, back_len = 0;
	char *enc;

	if (base64_decode((const char *)data, size, &out, &out_len) == 0) {
		FUZZ_CHECK(out != NULL);
		FUZZ_CHECK(size % 4 == 0);
		FUZZ_CHECK(out_len <= size / 4 * 3);
		FUZZ_CHECK(out[out_len] == '\0');
	}
	free(out);

	enc = base64_encode(data, size);
	FUZZ_CHECK(enc != NULL);
	FUZZ_CHECK(strlen(enc) == (size + 2) / 3 * 4);
	FUZZ_CHECK(base64_decode(enc, strlen(enc), &back, &back_len) == 0);
	FUZZ_CHECK(back_len == size && memcmp(back, data, size) == 0);
	free(back);
	free(enc);
	return 0;
}
