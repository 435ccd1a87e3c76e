/* wait: clock, jitter and signal-aware sleeps of the long-running helpers. */
#ifndef VK_WAIT_H
#define VK_WAIT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* Sleep without limit: only a signal ends it. Not -1: a deadline just
 * past gives a small negative wait, which must mean "now", not "never". */
#define WAIT_FOREVER INT64_MAX

/* Milliseconds on the monotonic clock. */
int64_t wait_now_ms(void);

/* A uniform random fraction in [0, 1), for jitter. */
double wait_random_unit(void);

/*
 * Sleeps up to ms (WAIT_FOREVER: without limit; 0 or less: not at all)
 * and returns true early
 * when one of the signals in set arrives. The caller keeps those signals
 * blocked for the whole run and takes them only here, so no handler ever
 * cuts a request or a write half-way, and a sleeping process makes no
 * system call until its deadline.
 */
bool wait_or_signal(const sigset_t *set, int64_t ms);

#endif
