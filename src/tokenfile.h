/* tokenfile: the token file shared with the application. */
#ifndef VK_TOKENFILE_H
#define VK_TOKENFILE_H

#include <sys/types.h>

#include "errbuf.h"

/*
 * Reads the token at path, trimmed of surrounding whitespace.
 * Returns 0 with a malloc'd token (caller wipes and frees with
 * secret_free), 1 when the file does not exist or is empty (after
 * trimming), -1 on any other error (a directory, permission, I/O, a
 * token with non-printable characters, a file over 64 KiB).
 */
int tokenfile_read(const char *path, char **token, struct errbuf *e);

/*
 * Writes token to path atomically: a temporary file in the same
 * directory created with mode (its permission bits; setuid, setgid
 * and sticky are dropped) from the first byte, written, fsync'd,
 * renamed over path. On any failure the temporary file is removed and
 * path is untouched.
 */
int tokenfile_write(const char *path, const char *token, mode_t mode,
                    struct errbuf *e);

/*
 * Checks, before anything is written, that path names a file (it does
 * not end in '/', "." or "..") in an existing directory, as
 * tokenfile_write needs. -1 with errbuf saying which part is wrong.
 */
int tokenfile_check_path(const char *path, struct errbuf *e);

/* Wipes a NUL-terminated secret with explicit_bzero and frees it. */
void secret_free(char *s);

#endif
