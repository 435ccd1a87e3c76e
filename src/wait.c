/* wait: clock, jitter and signal-aware sleeps of the long-running helpers. */
#include "wait.h"

#include <errno.h>
#include <sys/random.h>
#include <time.h>

#define NS_PER_MS 1000000LL

int64_t wait_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / NS_PER_MS;
}

double wait_random_unit(void)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint32_t)wait_now_ms();
	return (double)r / 4294967296.0;
}

bool wait_or_signal(const sigset_t *set, int64_t ms)
{
	struct timespec ts;
	int64_t deadline;
	int64_t left;
	int rc;

	if (ms == WAIT_FOREVER) {
		while (sigwaitinfo(set, NULL) < 0)
			if (errno != EINTR)
				return false;
		return true;
	}
	deadline = wait_now_ms() + (ms > 0 ? ms : 0);
	for (;;) {
		left = deadline - wait_now_ms();
		if (left < 0)
			left = 0;
		ts.tv_sec = (time_t)(left / 1000);
		ts.tv_nsec = (long)(left % 1000) * NS_PER_MS;
		rc = sigtimedwait(set, NULL, &ts);
		if (rc >= 0)
			return true;
		if (errno != EINTR)
			return false;
	}
}
