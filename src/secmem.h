/* secmem: libcurl's memory wiped before it is freed. */
#ifndef VK_SECMEM_H
#define VK_SECMEM_H

/*
 * Initialises libcurl (curl_global_init_mem) with allocation functions
 * that wipe every block before freeing it, so the copies libcurl makes
 * of tokens in headers and of response bodies do not linger in freed
 * memory. Returns 0, or -1 when libcurl refuses to initialise.
 */
int secmem_curl_init(void);

#endif
