/* test_redact: secrets out of error text, overlaps, NULs and lengths. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "redact.h"

/* Redacts s with the NUL-terminated secrets a and b (b may be NULL). */
static char *red(const char *s, const char *a, const char *b)
{
	struct redact_secret sec[2] = {{a, a ? strlen(a) : 0},
	                               {b, b ? strlen(b) : 0}};

	return redact(s, strlen(s), sec, 2, NULL);
}

static void check_red(const char *s, const char *a, const char *b,
                      const char *want)
{
	char *got = red(s, a, b);

	CHECK_STR(got, want);
	free(got);
}

int main(void)
{
	struct redact_secret nul = {"a\0b", 3};
	size_t len = 0;
	char *got;

	check_red("token abcdef here", "abcdef", NULL, "token <redacted> here");
	check_red("abcdefabcdef", "abcdef", NULL, "<redacted><redacted>");
	check_red("nothing", "abcdef", NULL, "nothing");
	check_red("", "abcdef", NULL, "");
	/* Shorter than REDACT_MIN: left alone. */
	check_red("a ab abc", "ab", NULL, "a ab abc");
	check_red("a ab abc", "abc", NULL, "a ab <redacted>");
	/* The earliest hit first, and at one place the longest. */
	check_red("xx 1234 123456 yy", "123456", "1234",
	          "xx <redacted> <redacted> yy");
	check_red("123456", "1234", "123456", "<redacted>");
	/* Many short hits grow the text: no overflow. */
	check_red("abcabcabcabc", "abc", NULL,
	          "<redacted><redacted><redacted><redacted>");

	/* NUL bytes in the text and in a secret. */
	got = redact("x\0a\0b\0y", 7, &nul, 1, &len);
	CHECK(got != NULL && len == 14 &&
	      memcmp(got, "x\0<redacted>\0y", 14) == 0);
	free(got);
	return check_done("test_redact");
}
