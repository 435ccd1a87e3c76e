/*
 * measure: runs a command and reports what it cost, for bench/run.py.
 *
 *   measure REPORT-FILE COMMAND [ARG...]
 *
 * Forks, execs COMMAND, waits for it with wait4 and writes one line to
 * REPORT-FILE: "<exit code> <wall ns> <user+system ns> <max RSS KiB>".
 * SIGTERM and SIGINT are passed on to the command. Exits 0 when the report
 * was written, 2 otherwise.
 *
 * Why not fork from Python: Linux keeps a process's peak RSS across exec,
 * and a child forked from the benchmark (a Python process) starts with the
 * benchmark's resident pages, so every child would report at least that.
 * This launcher is small, so the floor it leaves is small.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t child_pid;

static void pass_on(int sig)
{
	if (child_pid > 0)
		(void)kill((pid_t)child_pid, sig);
}

static long long ns_now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long tv_ns(struct timeval tv)
{
	return (long long)tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct rusage ru;
	long long start;
	long long wall;
	FILE *report;
	pid_t pid;
	int status = 0;
	int code;

	if (argc < 3) {
		fprintf(stderr,
		        "usage: measure REPORT-FILE COMMAND [ARG...]\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = pass_on;
	if (sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0) {
		perror("measure: sigaction");
		return 2;
	}
	start = ns_now();
	pid = fork();
	if (pid < 0) {
		perror("measure: fork");
		return 2;
	}
	if (pid == 0) {
		execv(argv[2], argv + 2);
		fprintf(stderr, "measure: exec %s: %s\n", argv[2],
		        strerror(errno));
		_exit(127);
	}
	child_pid = pid;
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("measure: wait4");
			return 2;
		}
	}
	wall = ns_now() - start;
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	report = fopen(argv[1], "w");
	if (report == NULL) {
		perror("measure: report file");
		return 2;
	}
	fprintf(report, "%d %lld %lld %ld\n", code, wall,
	        tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime), ru.ru_maxrss);
	if (fclose(report) != 0) {
		perror("measure: report file");
		return 2;
	}
	return 0;
}
