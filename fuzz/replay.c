/* replay: runs a fuzz target once over files and directories of inputs,
 * for builds without libFuzzer (the regression tests under CTest). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define INPUT_MAX (1u << 20)

static int replay_file(const char *path, size_t *count)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(INPUT_MAX);
	size_t n;
	int rc = -1;

	if (f == NULL || buf == NULL) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		goto out;
	}
	n = fread(buf, 1, INPUT_MAX, f);
	if (ferror(f) || !feof(f)) {
		fprintf(stderr, "replay: %s: unreadable or over %u bytes\n",
		        path, INPUT_MAX);
		goto out;
	}
	(void)LLVMFuzzerTestOneInput(buf, n);
	(*count)++;
	rc = 0;
out:
	if (f != NULL)
		(void)fclose(f);
	free(buf);
	return rc;
}

static int replay_dir(const char *dir, size_t *count)
{
	struct dirent **names = NULL;
	char path[4096];
	int n, i, rc = 0;

	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: cannot list %s\n", dir);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.' &&
		    snprintf(path, sizeof(path), "%s/%s", dir,
		             names[i]->d_name) < (int)sizeof(path) &&
		    replay_file(path, count) < 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	struct stat st;
	size_t count = 0;
	int i;

	if (LLVMFuzzerInitialize(&argc, &argv) != 0)
		return 1;
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: no such file\n", argv[i]);
			return 1;
		}
		if ((S_ISDIR(st.st_mode) ? replay_dir(argv[i], &count)
		                         : replay_file(argv[i], &count)) < 0)
			return 1;
	}
	if (count == 0) {
		fprintf(stderr, "replay: no inputs given\n");
		return 1;
	}
	printf("replay: %zu inputs, no crash\n", count);
	return 0;
}
