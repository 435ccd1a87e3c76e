/* Unit tests of log_fold: one line per event, never longer than given. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "log.h"

/* Folds a copy of in placed at the very end of a buffer of its size, so
 * AddressSanitizer sees any write past it, and compares. */
static void fold_is(const char *in, const char *want)
{
	size_t len = strlen(in);
	char *buf = malloc(len + 1);

	if (buf == NULL) {
		CHECK(buf != NULL);
		return;
	}
	memcpy(buf, in, len + 1);
	log_fold(buf);
	CHECK_STR(buf, want);
	CHECK(strlen(buf) <= len);
	free(buf);
}

int main(void)
{
	fold_is("plain", "plain");
	fold_is("2 errors occurred:\n\t* a\n\t* b\n\n",
	        "2 errors occurred: a; b");
	fold_is("a\r\n\tb", "a; b");
	/* found by fuzz_sync: a lone newline became two bytes, and a line
	 * full of them ran past the buffer */
	fold_is("a\nb", "a b");
	fold_is("x\ny\nz\n", "x y z");
	fold_is("\n\n\n", "");
	/* control characters other than line breaks and tabs become '?'
	 * one for one: no terminal sequence reaches the log */
	fold_is("key \x1b[2Jx", "key ?[2Jx");
	fold_is("a\bb\vc\fd\x7f\x01", "a?b?c?d??");
	fold_is("\x1b\n\x1b", "? ?");
	/* must-refuse check of the checker itself */
	CHECK(strcmp("a; b", "a b") != 0);
	return check_done("test_log");
}
