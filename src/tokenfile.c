/* tokenfile: read and atomically replace the token file on a shared volume. */
#include "tokenfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TOKENFILE_MAX (64u * 1024)
#define TOKENFILE_TMP_TRIES 64

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

/* Reads at most max bytes of fd into buf; *len is what was read. More
 * than max bytes available sets *over. */
static int read_all(int fd, char *buf, size_t max, size_t *len, int *over)
{
	size_t n = 0;
	ssize_t r;
	char probe;

	*over = 0;
	while (n < max) {
		r = read(fd, buf + n, max - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	if (n < max)
		return 0;
	do {
		r = read(fd, &probe, 1);
	} while (r < 0 && errno == EINTR);
	explicit_bzero(&probe, sizeof(probe));
	if (r < 0)
		return -1;
	*over = r > 0;
	return 0;
}

/* Trims buf[0..len) and checks the rest; returns 0 with a copy in *out,
 * 1 when nothing is left, -1 (errbuf set) on a control character. */
static int token_extract(const char *path, const char *buf, size_t len,
                         char **out, struct errbuf *e)
{
	size_t start = 0;
	size_t i;
	char *t;

	while (start < len && is_space((unsigned char)buf[start]))
		start++;
	while (len > start && is_space((unsigned char)buf[len - 1]))
		len--;
	if (len == start)
		return 1;
	for (i = start; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c < 0x20 || c == 0x7f)
			return errbuf_set(
			    e, "%s: token contains non-printable characters",
			    path);
	}
	t = malloc(len - start + 1);
	if (t == NULL)
		return errbuf_set(e, "read %s: out of memory", path);
	memcpy(t, buf + start, len - start);
	t[len - start] = '\0';
	*out = t;
	return 0;
}

int tokenfile_read(const char *path, char **token, struct errbuf *e)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int over = 0;
	int fd;
	int rc = -1;

	*token = NULL;
	/* Symlinks are followed: projected volumes swap files through a
	 * "..data" symlink. O_NONBLOCK keeps a FIFO from hanging us. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		return errbuf_set(e, "open %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0) {
		errbuf_set(e, "stat %s: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		errbuf_set(e, "%s: is a directory", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		errbuf_set(e, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_size > (off_t)TOKENFILE_MAX) {
		errbuf_set(e, "%s: token file larger than %u bytes", path,
		           TOKENFILE_MAX);
		goto out;
	}
	buf = malloc(TOKENFILE_MAX);
	if (buf == NULL) {
		errbuf_set(e, "read %s: out of memory", path);
		goto out;
	}
	if (read_all(fd, buf, TOKENFILE_MAX, &len, &over) != 0) {
		errbuf_set(e, "read %s: %s", path, strerror(errno));
		goto out;
	}
	if (over) {
		errbuf_set(e, "%s: token file larger than %u bytes", path,
		           TOKENFILE_MAX);
		goto out;
	}
	rc = token_extract(path, buf, len, token, e);
out:
	if (buf != NULL) {
		explicit_bzero(buf, len);
		free(buf);
	}
	(void)close(fd);
	return rc;
}

/* Splits path into a malloc'd directory ("." when there is no slash) and
 * a pointer to the base name inside path. */
static int split_path(const char *path, char **dir, const char **base,
                      struct errbuf *e)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		*dir = strdup(".");
		*base = path;
	} else if (slash == path) {
		*dir = strdup("/");
		*base = slash + 1;
	} else {
		*dir = strndup(path, (size_t)(slash - path));
		*base = slash + 1;
	}
	if (*dir == NULL)
		return errbuf_set(e, "%s: out of memory", path);
	if (**base == '\0' || strcmp(*base, ".") == 0 ||
	    strcmp(*base, "..") == 0) {
		free(*dir);
		*dir = NULL;
		return errbuf_set(e, "\"%.256s\" is not a file name", path);
	}
	return 0;
}

int tokenfile_check_path(const char *path, struct errbuf *e)
{
	const char *base;
	struct stat st;
	char *dir = NULL;
	int rc;

	if (split_path(path, &dir, &base, e) != 0)
		return -1;
	if (stat(dir, &st) != 0)
		rc =
		    errbuf_set(e, "directory %.256s: %s", dir, strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		rc = errbuf_set(e, "%.256s is not a directory", dir);
	else
		rc = 0;
	free(dir);
	return rc;
}

static uint64_t random_u64(void)
{
	uint64_t v = 0;
	struct timespec ts;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return v;
	/* Only uniqueness matters here; O_EXCL guards against collisions. */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
		v = (uint64_t)ts.tv_nsec * 2654435761u + (uint64_t)ts.tv_sec;
	return v ^ ((uint64_t)getpid() << 32);
}

/* Creates "<dir>/.<base>.tmp-XXXXXX" exclusively; fills tmp. */
static int create_temp(const char *dir, const char *base, mode_t mode,
                       char *tmp, size_t tmp_size)
{
	static const char alphabet[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	char suffix[7];
	uint64_t r;
	int i;
	int j;
	int n;
	int fd;

	for (i = 0; i < TOKENFILE_TMP_TRIES; i++) {
		r = random_u64();
		for (j = 0; j < 6; j++) {
			suffix[j] = alphabet[r % (sizeof(alphabet) - 1)];
			r /= sizeof(alphabet) - 1;
		}
		suffix[6] = '\0';
		n = snprintf(tmp, tmp_size, "%s/.%s.tmp-%s", dir, base, suffix);
		if (n < 0 || (size_t)n >= tmp_size) {
			errno = ENAMETOOLONG;
			return -1;
		}
		fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

static int write_all(int fd, const char *p, size_t len)
{
	ssize_t w;

	while (len > 0) {
		w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Makes the rename durable; a failure here does not undo the write. */
static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	(void)fsync(fd);
	(void)close(fd);
}

int tokenfile_write(const char *path, const char *token, mode_t mode,
                    struct errbuf *e)
{
	char tmp[4096];
	char *dir = NULL;
	const char *base;
	int fd = -1;
	int created = 0;
	int rc = -1;

	/* permission bits only: a token file is never setuid, setgid or
	 * sticky, whatever a caller passes */
	mode &= 0777;
	if (split_path(path, &dir, &base, e) != 0)
		return errbuf_prefix(e, "write");

	/* The temporary file is created with mode (minus umask) from its
	 * first byte, then set to exactly mode whatever the umask is. */
	fd = create_temp(dir, base, mode, tmp, sizeof(tmp));
	if (fd < 0) {
		errbuf_set(e, "create %s: %s", path, strerror(errno));
		goto out;
	}
	created = 1;
	if (fchmod(fd, mode) != 0) {
		errbuf_set(e, "chmod %s: %s", path, strerror(errno));
		goto out;
	}
	if (write_all(fd, token, strlen(token)) != 0) {
		errbuf_set(e, "write %s: %s", path, strerror(errno));
		goto out;
	}
	if (fsync(fd) != 0) {
		errbuf_set(e, "fsync %s: %s", path, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		errbuf_set(e, "close %s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		errbuf_set(e, "rename %s: %s", path, strerror(errno));
		goto out;
	}
	created = 0;
	sync_dir(dir);
	rc = 0;
out:
	if (fd >= 0)
		(void)close(fd);
	if (created)
		(void)unlink(tmp);
	free(dir);
	return rc;
}

void secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}
