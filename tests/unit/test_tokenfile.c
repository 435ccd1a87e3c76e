/* test_tokenfile: reading and atomic writing of the shared token file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "errbuf.h"
#include "tokenfile.h"

static char dir[] = "/tmp/vk-test-tokenfile-XXXXXX";

static void path_in(char *out, size_t size, const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= size) {
		fprintf(stderr, "path too long\n");
		exit(2);
	}
}

static void put_file(const char *name, const char *data, size_t len)
{
	char p[512];
	FILE *f;

	path_in(p, sizeof(p), name);
	f = fopen(p, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s\n", p);
		exit(2);
	}
}

/* Counts entries of dir whose name contains ".tmp-". */
static int count_temps(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *de;
	int n = 0;

	if (dp == NULL)
		return -1;
	for (de = readdir(dp); de != NULL; de = readdir(dp)) {
		if (strstr(de->d_name, ".tmp-") != NULL)
			n++;
	}
	if (closedir(dp) != 0)
		return -1;
	return n;
}

static mode_t mode_of(const char *p)
{
	struct stat st;

	if (stat(p, &st) != 0)
		return (mode_t)-1;
	return st.st_mode & 07777;
}

static void test_round_trip(void)
{
	struct errbuf e;
	char p[512];
	char *tok = NULL;

	path_in(p, sizeof(p), "rt");
	CHECK(tokenfile_write(p, "s.abcdef0123456789", 0640, &e) == 0);
	CHECK(tokenfile_read(p, &tok, &e) == 0);
	CHECK_STR(tok, "s.abcdef0123456789");
	secret_free(tok);
	CHECK(count_temps(dir) == 0);
}

static void test_modes_despite_umask(void)
{
	struct errbuf e;
	char p[512];
	mode_t old;

	path_in(p, sizeof(p), "m1");
	old = umask(077);
	CHECK(tokenfile_write(p, "tok", 0640, &e) == 0);
	CHECK(mode_of(p) == 0640);
	(void)umask(022);
	CHECK(tokenfile_write(p, "tok", 0600, &e) == 0);
	CHECK(mode_of(p) == 0600);
	CHECK(tokenfile_write(p, "tok", 0666, &e) == 0);
	CHECK(mode_of(p) == 0666);
	(void)umask(old);
}

static void test_trimming(void)
{
	static const char raw[] = " \t\r\nhvs.token value\r\n\n ";
	struct errbuf e;
	char p[512];
	char *tok = NULL;

	put_file("trim", raw, sizeof(raw) - 1);
	path_in(p, sizeof(p), "trim");
	CHECK(tokenfile_read(p, &tok, &e) == 0);
	CHECK_STR(tok, "hvs.token value");
	secret_free(tok);
}

static void test_empty_and_missing(void)
{
	struct errbuf e;
	char p[512];
	char *tok = NULL;

	put_file("empty", "", 0);
	path_in(p, sizeof(p), "empty");
	CHECK(tokenfile_read(p, &tok, &e) == 1);
	CHECK(tok == NULL);

	put_file("blank", " \n\t\n", 4);
	path_in(p, sizeof(p), "blank");
	CHECK(tokenfile_read(p, &tok, &e) == 1);
	CHECK(tok == NULL);

	path_in(p, sizeof(p), "missing");
	CHECK(tokenfile_read(p, &tok, &e) == 1);
	CHECK(tok == NULL);
}

static void test_refused_reads(void)
{
	static const char bad[] = "SECRETTOKEN\x01tail";
	struct errbuf e;
	char p[512];
	char *tok = NULL;
	char *big;

	CHECK(tokenfile_read(dir, &tok, &e) == -1);
	CHECK(strstr(e.msg, "is a directory") != NULL);
	CHECK(tok == NULL);

	put_file("ctl", bad, sizeof(bad) - 1);
	path_in(p, sizeof(p), "ctl");
	CHECK(tokenfile_read(p, &tok, &e) == -1);
	CHECK(strstr(e.msg, "non-printable") != NULL);
	CHECK(strstr(e.msg, "SECRETTOKEN") == NULL);
	CHECK(strstr(e.msg, p) != NULL);
	CHECK(tok == NULL);

	put_file("nul", "abc\0def", 7);
	path_in(p, sizeof(p), "nul");
	CHECK(tokenfile_read(p, &tok, &e) == -1);

	big = malloc(64 * 1024 + 1);
	if (big == NULL)
		exit(2);
	memset(big, 'a', 64 * 1024 + 1);
	put_file("big", big, 64 * 1024);
	path_in(p, sizeof(p), "big");
	CHECK(tokenfile_read(p, &tok, &e) == 0);
	CHECK(tok != NULL && strlen(tok) == 64 * 1024);
	secret_free(tok);
	tok = NULL;
	put_file("big", big, 64 * 1024 + 1);
	CHECK(tokenfile_read(p, &tok, &e) == -1);
	CHECK(strstr(e.msg, "larger") != NULL);
	CHECK(tok == NULL);
	free(big);
}

static void test_write_failures(void)
{
	struct errbuf e;
	char p[512];
	char sub[512];
	struct stat st;

	path_in(p, sizeof(p), "nodir/tok");
	CHECK(tokenfile_write(p, "tok", 0600, &e) == -1);
	CHECK(strstr(e.msg, p) != NULL);
	CHECK(strstr(e.msg, strerror(ENOENT)) != NULL);
	path_in(sub, sizeof(sub), "nodir");
	CHECK(stat(sub, &st) != 0 && errno == ENOENT);

	/* The target is a non-empty directory: rename fails after the
	 * temporary file was written, which must then disappear. */
	path_in(sub, sizeof(sub), "busy");
	CHECK(mkdir(sub, 0700) == 0);
	put_file("busy/x", "x", 1);
	path_in(p, sizeof(p), "busy");
	CHECK(tokenfile_write(p, "tok", 0600, &e) == -1);
	CHECK(strstr(e.msg, "rename") != NULL);
	CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(count_temps(dir) == 0);

	path_in(p, sizeof(p), "trailing/");
	CHECK(tokenfile_write(p, "tok", 0600, &e) == -1);
	CHECK(strstr(e.msg, "is not a file name") != NULL);
	CHECK(count_temps(dir) == 0);
}

/* The path checked before anything is written, as a writer needs it. */
static void test_check_path(void)
{
	struct errbuf e;
	char p[512];

	path_in(p, sizeof(p), "checked");
	CHECK(tokenfile_check_path(p, &e) == 0);
	CHECK(tokenfile_check_path("relative-name", &e) == 0);
	CHECK(tokenfile_check_path("/top-level", &e) == 0);

	path_in(p, sizeof(p), "checked/");
	CHECK(tokenfile_check_path(p, &e) == -1);
	CHECK(strstr(e.msg, "is not a file name") != NULL);
	path_in(p, sizeof(p), "..");
	CHECK(tokenfile_check_path(p, &e) == -1);
	CHECK(strstr(e.msg, "is not a file name") != NULL);

	path_in(p, sizeof(p), "missing/tok");
	CHECK(tokenfile_check_path(p, &e) == -1);
	CHECK(strstr(e.msg, strerror(ENOENT)) != NULL);

	put_file("plain", "x", 1);
	path_in(p, sizeof(p), "plain/tok");
	CHECK(tokenfile_check_path(p, &e) == -1);
	CHECK(strstr(e.msg, "is not a directory") != NULL);
	CHECK(count_temps(dir) == 0);
}

/* A failed write leaves an existing token exactly as it was. */
static void test_failure_keeps_target(void)
{
	struct errbuf e;
	char name[251];
	char p[512];
	char *tok = NULL;

	/* 250 bytes fit in a name, the temporary name beside it does not. */
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	put_file(name, "old-token\n", 10);
	path_in(p, sizeof(p), name);
	CHECK(tokenfile_write(p, "new-token", 0600, &e) == -1);
	CHECK(strstr(e.msg, "create") != NULL);
	CHECK(tokenfile_read(p, &tok, &e) == 0);
	CHECK_STR(tok, "old-token");
	secret_free(tok);
	CHECK(count_temps(dir) == 0);
}

static void test_atomic_replace(void)
{
	struct errbuf e;
	char p[512];
	char *tok = NULL;
	struct stat before;
	struct stat after;
	int fd;

	path_in(p, sizeof(p), "replace");
	CHECK(tokenfile_write(p, "first-token", 0640, &e) == 0);
	CHECK(stat(p, &before) == 0);

	/* A reader holding the old file keeps seeing the old content. */
	fd = open(p, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(tokenfile_write(p, "second", 0640, &e) == 0);
	CHECK(stat(p, &after) == 0);
	CHECK(before.st_ino != after.st_ino);
	CHECK(tokenfile_read(p, &tok, &e) == 0);
	CHECK_STR(tok, "second");
	secret_free(tok);
	if (fd >= 0) {
		char buf[32] = {0};

		CHECK(read(fd, buf, sizeof(buf) - 1) == 11);
		CHECK_STR(buf, "first-token");
		CHECK(close(fd) == 0);
	}
	CHECK(count_temps(dir) == 0);
}

static void test_relative_path(void)
{
	struct errbuf e;
	char cwd[512];
	char *tok = NULL;

	if (getcwd(cwd, sizeof(cwd)) == NULL || chdir(dir) != 0) {
		CHECK(0);
		return;
	}
	CHECK(tokenfile_write("rel", "relative", 0600, &e) == 0);
	CHECK(tokenfile_read("rel", &tok, &e) == 0);
	CHECK_STR(tok, "relative");
	secret_free(tok);
	CHECK(count_temps(".") == 0);
	CHECK(chdir(cwd) == 0);
}

static void test_unreadable(void)
{
	struct errbuf e;
	char p[512];
	char *tok = NULL;

	/* Permission bits do not stop root. */
	if (geteuid() == 0)
		return;
	put_file("noperm", "tok", 3);
	path_in(p, sizeof(p), "noperm");
	CHECK(chmod(p, 0) == 0);
	CHECK(tokenfile_read(p, &tok, &e) == -1);
	CHECK(strstr(e.msg, strerror(EACCES)) != NULL);
}

static int remove_entry(const char *p, const struct stat *st, int type,
                        struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(p) == 0 ? 0 : -1;
}

static int remove_tree(const char *d)
{
	return nftw(d, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_round_trip();
	test_modes_despite_umask();
	test_trimming();
	test_empty_and_missing();
	test_refused_reads();
	test_write_failures();
	test_check_path();
	test_failure_keeps_target();
	test_atomic_replace();
	test_relative_path();
	test_unreadable();
	secret_free(NULL);
	CHECK(count_temps(dir) == 0);
	CHECK(remove_tree(dir) == 0);
	return check_done("test_tokenfile");
}
