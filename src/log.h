/* log: the one logger, Go's default log format on standard error. */
#ifndef VK_LOG_H
#define VK_LOG_H

/*
 * Writes "YYYY/MM/DD HH:MM:SS <message>\n" (local time, as Go's log
 * package) to stderr as one write. Newlines, carriage returns and tabs
 * inside the formatted message are folded so that every event is one
 * line: "\n\t* " sequences of Vault's multi-error texts become "; ".
 * Every other control character (below 0x20, or 0x7f) becomes '?'.
 */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Folds a message in place the same way log_msg does; the result is
 * never longer than s (a lone newline becomes a space, any other control
 * character a '?'). */
void log_fold(char *s);

#endif
