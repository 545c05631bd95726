/* Replays fuzz inputs through a harness without libFuzzer, so `make check` runs every
 * seed and regression input under the sanitizer build: prints one TAP line per file. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path, unsigned *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (f == NULL) {
		printf("not ok %u - %s: %s\n", ++*n, path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		printf("not ok %u - %s: cannot size\n", ++*n, path);
		return -1;
	}
	/* An exact-size heap copy lets ASan catch reads past the end. */
	buf = malloc(len > 0 ? (size_t)len : 1);
	if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		fclose(f);
		printf("not ok %u - %s: read failed\n", ++*n, path);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	printf("ok %u - %s\n", ++*n, path);
	fflush(stdout);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_path(const char *path, unsigned *n)
{
	struct stat st;
	struct dirent *de;
	char **names = NULL;
	size_t count = 0, cap = 0, i;
	int rc = 0;
	DIR *d;

	if (stat(path, &st) != 0)
		return 0; /* an absent directory holds no inputs */
	if (!S_ISDIR(st.st_mode))
		return replay_file(path, n);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (count == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*names));
			if (nn == NULL) {
				rc = -1;
				break;
			}
			names = nn;
		}
		if (asprintf(&names[count], "%s/%s", path, de->d_name) < 0) {
			rc = -1;
			break;
		}
		count++;
	}
	closedir(d);
	qsort(names, count, sizeof(*names), cmp_names);
	for (i = 0; i < count; i++) {
		if (rc == 0 && replay_file(names[i], n) != 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned n = 0;
	int i, rc = 0;

	for (i = 1; i < argc; i++)
		if (replay_path(argv[i], &n) != 0)
			rc = 1;
	if (n == 0)
		printf("ok 1 - no inputs to replay # SKIP empty corpus\n");
	return rc;
}
