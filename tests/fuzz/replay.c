/* replay.c - runs a fuzz target's LLVMFuzzerTestOneInput over a corpus without libFuzzer
 *
 * Usage: <target>_replay DIR|FILE...  Every regular file of each directory (sorted by name,
 * so runs are reproducible) and every file named directly is fed to the target once. A crash
 * or a failed invariant aborts; otherwise the number of inputs run is printed and the exit
 * status is 0. A corpus with no input at all is an error, so an emptied corpus cannot pass.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target; weak so targets without it still link. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define REPLAY_MAX_INPUT (1u << 20) /* libFuzzer's default -max_len is far below this */

static int run_file(const char *path, unsigned long *count)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL, *input;
	size_t len = 0;
	int rc = 0;

	if (f == NULL) {
		fprintf(stderr, "replay: cannot open '%s': %s\n", path, strerror(errno));
		return -errno;
	}
	buf = malloc(REPLAY_MAX_INPUT);
	if (buf == NULL) {
		rc = -ENOMEM;
		goto cleanup;
	}
	len = fread(buf, 1, REPLAY_MAX_INPUT, f);
	if (ferror(f)) {
		fprintf(stderr, "replay: cannot read '%s'\n", path);
		rc = -EIO;
		goto cleanup;
	}
	/* an exact-size copy, so ASan sees reads past the end of the input */
	input = malloc(len ? len : 1);
	if (input == NULL) {
		rc = -ENOMEM;
		goto cleanup;
	}
	memcpy(input, buf, len);
	/* on stderr first, so a crash names its input */
	fprintf(stderr, "running: %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(input, len);
	free(input);
	(*count)++;

cleanup:
	free(buf);
	fclose(f);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, unsigned long *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (d == NULL) {
		fprintf(stderr, "replay: cannot open directory '%s': %s\n", dir, strerror(errno));
		return -errno;
	}
	while ((e = readdir(d)) != NULL) {
		char *path;
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		if (asprintf(&path, "%s/%s", dir, e->d_name) < 0) {
			rc = -ENOMEM;
			goto cleanup;
		}
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char **p = realloc(names, ncap * sizeof(*p));

			if (p == NULL) {
				free(path);
				rc = -ENOMEM;
				goto cleanup;
			}
			names = p;
			cap = ncap;
		}
		names[n++] = path;
	}
	qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = run_file(names[i], count);

cleanup:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned long count = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;
		int rc;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: cannot stat '%s': %s\n", argv[i], strerror(errno));
			return 1;
		}
		rc = S_ISDIR(st.st_mode) ? run_dir(argv[i], &count) : run_file(argv[i], &count);
		if (rc < 0)
			return 1;
	}
	printf("replayed %lu inputs\n", count);
	if (count == 0) {
		fprintf(stderr, "replay: no inputs found\n");
		return 1;
	}
	return 0;
}
