/* helpers: the entry points of the three helpers of the multi-call binary. */
#ifndef VK_HELPERS_H
#define VK_HELPERS_H

/* Each reads its configuration from the environment, does its job and
 * returns the process exit code (PRODUCT.md, "Exit codes"). */
int authenticator_main(void);
int synchronizer_main(void);
int renewer_main(void);

#endif
