/* test_sync_checksum: the digest of synchronized Secrets and its file. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "errbuf.h"
#include "sync_checksum.h"

#define MAX_ITEMS 4
#define MAX_PAIRS 8

/* A plan built from "name:key=b64,key=b64" descriptions; a name alone
 * with no colon is an item missing in Vault. */
struct fixture {
	struct wanted items[MAX_ITEMS];
	struct plan plan;
};

static void fixture_init(struct fixture *f, const char *const *desc, size_t n)
{
	size_t i;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < n && i < MAX_ITEMS; i++) {
		const char *keys[MAX_PAIRS];
		const char *values[MAX_PAIRS];
		char *copy = strdup(desc[i]);
		char *colon = strchr(copy, ':');
		char *save = NULL;
		char *pair;
		size_t k = 0;

		f->items[i].name = copy;
		if (colon == NULL)
			continue;
		*colon = '\0';
		for (pair = strtok_r(colon + 1, ",", &save);
		     pair != NULL && k < MAX_PAIRS;
		     pair = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(pair, '=');

			*eq = '\0';
			keys[k] = pair;
			values[k++] = eq + 1;
		}
		f->items[i].data = secret_data_new(k, keys, values);
	}
	f->plan.items = f->items;
	f->plan.n = i;
}

static void fixture_free(struct fixture *f)
{
	size_t i;

	for (i = 0; i < f->plan.n; i++) {
		free(f->items[i].name);
		secret_data_free(f->items[i].data);
	}
}

/* The checksum of the described plan, in out. */
static int sum_of(const char *const *desc, size_t n, char *out)
{
	struct fixture f;
	struct errbuf e;
	int rc;

	errbuf_clear(&e);
	fixture_init(&f, desc, n);
	rc = sync_checksum(&f.plan, out, &e);
	fixture_free(&f);
	return rc;
}

static void test_known_answers(void)
{
	/* Expected values from Python's hashlib over the documented form:
	 * b"first\0one\0MTIzNDU2Nzg=\0\0second\0a\0YQ==\0b\0Yg==\0\0", and
	 * the empty input for a plan with nothing to synchronize. */
	static const char *const plan[] = {
	    "second:b=Yg==,a=YQ==", "first:one=MTIzNDU2Nzg=", "gone"};
	static const char *const none[] = {"gone"};
	char out[SYNC_CHECKSUM_HEX + 1];

	CHECK(sum_of(plan, 3, out) == 0);
	CHECK_STR(out, "d3409a6b6240702543fc185829d371ef"
	               "d2ce57519395b3814a08df6087648907");
	CHECK(sum_of(none, 1, out) == 0);
	CHECK_STR(out, "e3b0c44298fc1c149afbf4c8996fb924"
	               "27ae41e4649b934ca495991b7852b855");
}

static void test_what_changes_it(void)
{
	static const char *const base[] = {"a:x=MQ==,y=Mg==", "b:z=Mw=="};
	static const char *const reordered[] = {"b:z=Mw==", "a:y=Mg==,x=MQ=="};
	static const char *const value[] = {"a:x=MQ==,y=Mg==", "b:z=NA=="};
	static const char *const key[] = {"a:x=MQ==,w=Mg==", "b:z=Mw=="};
	static const char *const name[] = {"a:x=MQ==,y=Mg==", "c:z=Mw=="};
	/* Field boundaries count: the same bytes split differently. */
	static const char *const split1[] = {"a:xy=MQ=="};
	static const char *const split2[] = {"a:x=yMQ=="};
	char s0[SYNC_CHECKSUM_HEX + 1];
	char s1[SYNC_CHECKSUM_HEX + 1];

	CHECK(sum_of(base, 2, s0) == 0);
	CHECK(sum_of(reordered, 2, s1) == 0);
	CHECK_STR(s0, s1);
	CHECK(sum_of(value, 2, s1) == 0);
	CHECK(strcmp(s0, s1) != 0);
	CHECK(sum_of(key, 2, s1) == 0);
	CHECK(strcmp(s0, s1) != 0);
	CHECK(sum_of(name, 2, s1) == 0);
	CHECK(strcmp(s0, s1) != 0);
	CHECK(sum_of(split1, 1, s0) == 0);
	CHECK(sum_of(split2, 1, s1) == 0);
	CHECK(strcmp(s0, s1) != 0);
}

/* Whether the string s lies wholly inside d's block. */
static bool in_block(const struct secret_data *d, const char *s)
{
	const char *lo = (const char *)&d->pairs[d->n];
	const char *hi = (const char *)d + d->size;

	return s >= lo && s < hi && s + strlen(s) < hi;
}

static void test_secret_data(void)
{
	/* Byte order: upper case before lower case, a prefix first. */
	static const char *const keys[] = {"b", "B", "ab", "a"};
	static const char *const values[] = {"Mg==", "Mw==", "NA==", "MQ=="};
	static const char *const sorted[] = {"B", "a", "ab", "b"};
	static const char *const with[] = {"Mw==", "MQ==", "NA==", "Mg=="};
	struct secret_data *d = secret_data_new(4, keys, values);
	size_t i;

	CHECK(d != NULL);
	if (d == NULL)
		return;
	CHECK(d->n == 4);
	for (i = 0; i < d->n; i++) {
		CHECK_STR(d->pairs[i].key, sorted[i]);
		CHECK_STR(d->pairs[i].value, with[i]);
		/* Copies inside the block, not the caller's strings. */
		CHECK(in_block(d, d->pairs[i].key));
		CHECK(in_block(d, d->pairs[i].value));
	}
	secret_data_free(d);
	d = secret_data_new(0, NULL, NULL);
	CHECK(d != NULL && d->n == 0);
	secret_data_free(d);
	secret_data_free(NULL);
}

static void test_file(void)
{
	static const char *const v1[] = {"a:x=MQ=="};
	static const char *const v2[] = {"a:x=Mg=="};
	char dir[] = "/tmp/vk-test-checksum-XXXXXX";
	char path[256];
	char text[128];
	struct fixture f;
	struct errbuf e;
	struct stat st;
	bool changed = true;
	ino_t ino;
	FILE *fp;

	errbuf_clear(&e);
	CHECK(mkdtemp(dir) != NULL);
	(void)snprintf(path, sizeof(path), "%s/checksum", dir);

	/* Written on first use, mode 0640, the digest and a newline. */
	fixture_init(&f, v1, 1);
	CHECK(sync_checksum_update(path, &f.plan, &changed, &e) == 0);
	CHECK(changed);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640);
	ino = st.st_ino;
	fp = fopen(path, "r");
	CHECK(fp != NULL && fgets(text, sizeof(text), fp) != NULL);
	if (fp != NULL)
		(void)fclose(fp);
	CHECK(strlen(text) == SYNC_CHECKSUM_HEX + 1 &&
	      text[SYNC_CHECKSUM_HEX] == '\n');

	/* The same data: the file is left alone (same inode, no rename). */
	CHECK(sync_checksum_update(path, &f.plan, &changed, &e) == 0);
	CHECK(!changed);
	CHECK(stat(path, &st) == 0 && st.st_ino == ino);
	fixture_free(&f);

	/* Other data: replaced. */
	fixture_init(&f, v2, 1);
	CHECK(sync_checksum_update(path, &f.plan, &changed, &e) == 0);
	CHECK(changed);
	CHECK(stat(path, &st) == 0 && st.st_ino != ino);

	/* A directory where the file should be: an error naming the
	 * variable, nothing else changed. */
	CHECK(unlink(path) == 0 && mkdir(path, 0700) == 0);
	CHECK(sync_checksum_update(path, &f.plan, &changed, &e) == -1);
	CHECK(!changed);
	CHECK(strncmp(e.msg, "SYNC_CHECKSUM_FILE: ", 20) == 0);
	CHECK(strstr(e.msg, path) != NULL);
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	fixture_free(&f);
	(void)rmdir(path);
	(void)rmdir(dir);
}

int main(void)
{
	test_known_answers();
	test_what_changes_it();
	test_secret_data();
	test_file();
	return check_done("test_sync_checksum");
}
