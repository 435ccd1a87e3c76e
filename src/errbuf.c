/* errbuf: formatting of the error line handed up the call chain. */
#include "errbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

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
	/* Servers' texts end up here: keep the message one line. */
	log_fold(e->msg);
	return -1;
}

int errbuf_prefix(struct errbuf *e, const char *fmt, ...)
{
	char prefix[512];
	char old[sizeof(e->msg)];
	va_list ap;
	int n;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	n = snprintf(e->msg, sizeof(e->msg), "%s: %s", prefix, old);
	/* An over-long message keeps its start, which names what failed;
	 * mark the cut so a reader knows. */
	if (n >= (int)sizeof(e->msg))
		memcpy(e->msg + sizeof(e->msg) - 4, "...", 4);
	log_fold(e->msg);
	return -1;
}

void errbuf_clear(struct errbuf *e)
{
	e->msg[0] = '\0';
	e->status = 0;
	e->transient = 0;
}
