/* log: Go's default log format ("2006/01/02 15:04:05 message") on stderr. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void log_fold(char *s)
{
	char *w = s;
	const char *r = s;

	/* Vault's multi-error texts look like "2 errors occurred:\n\t* a\n\t*
	 * b\n\n": keep the items, joined by "; ", on one line. */
	while (*r != '\0') {
		if (*r == '\n' || *r == '\r' || *r == '\t') {
			while (*r == '\n' || *r == '\r' || *r == '\t' ||
			       *r == ' ')
				r++;
			if (r[0] == '*' && r[1] == ' ')
				r += 2;
			if (*r == '\0')
				break;
			/* Folding never lengthens s: "; " only where the
			 * run it replaces left room for two bytes. */
			if (w > s && (w[-1] == ':' || r - w < 2))
				*w++ = ' ';
			else if (w > s) {
				*w++ = ';';
				*w++ = ' ';
			}
			continue;
		}
		/* Any other control character (ESC of a terminal
		 * sequence, backspace, NUL cannot occur) becomes '?'
		 * byte for byte: a log line never moves a terminal. */
		if ((unsigned char)*r < 0x20 || *r == 0x7f) {
			*w++ = '?';
			r++;
			continue;
		}
		*w++ = *r++;
	}
	*w = '\0';
}

void log_msg(const char *fmt, ...)
{
	char line[4096];
	char stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;
	int n;
	int m;

	if (localtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y/%m/%d %H:%M:%S", &tm) == 0)
		(void)snprintf(stamp, sizeof(stamp), "0000/00/00 00:00:00");
	n = snprintf(line, sizeof(line), "%s ", stamp);
	if (n < 0)
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	log_fold(line + n);
	n = (int)strlen(line);
	line[n++] = '\n';
	/* One write per line keeps lines whole when helpers share stderr. */
	(void)!write(STDERR_FILENO, line, (size_t)n);
}
