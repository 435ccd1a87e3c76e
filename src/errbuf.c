/* errbuf: formatting of the error line handed up the call chain. */
#include "errbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int errbuf_set(struct errbuf *e, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	e->status = 0;
	e->transient = 0;
	va_start(ap, fmt);
	(void)vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int errbuf_prefix(struct errbuf *e, const char *fmt, ...)
{
	char prefix[512];
	char old[sizeof(e->msg)];
	va_list ap;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	/* Truncation of an over-long message is acceptable here: the start
	 * of the line names what failed. */
	(void)snprintf(e->msg, sizeof(e->msg), "%s: %s", prefix, old);
	return -1;
}

void errbuf_clear(struct errbuf *e)
{
	e->msg[0] = '\0';
	e->status = 0;
	e->transient = 0;
}
