/* sync_checksum: a digest of the synchronized Secrets in a file, the
 * rollout signal for workloads that read Secrets only at start. */
#ifndef VK_SYNC_CHECKSUM_H
#define VK_SYNC_CHECKSUM_H

#include <stdbool.h>

#include "errbuf.h"
#include "sync.h"

#define SYNC_CHECKSUM_HEX 64

/*
 * The SHA-256 of the Secrets p synchronized (items missing in Vault and
 * Secrets left alone as not ours are left out)
 * as 64 lowercase hex digits and a NUL in out. What is hashed, Secret
 * by Secret in byte order of their names: the name, then each data key
 * in byte order followed by its base64 value, every field ended by a
 * NUL byte, and one empty field after the last value. The order of
 * VAULT_SECRETS and of the keys in Vault's answer does not change it.
 */
int sync_checksum(const struct plan *p, char out[SYNC_CHECKSUM_HEX + 1],
                  struct errbuf *e);

/*
 * Writes the checksum of p and a newline to path, atomically and with
 * mode 0640, unless the file already holds it (so a watcher sees a
 * change only when a Secret's data changed). *changed tells whether it
 * wrote. -1 with errbuf naming SYNC_CHECKSUM_FILE when the write fails.
 */
int sync_checksum_update(const char *path, const struct plan *p, bool *changed,
                         struct errbuf *e);

#endif
