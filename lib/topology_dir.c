/* topology_dir: reads a topology tree from the file system (the spec's files of every
 * directory but dot-directories) and hands it to the pure loader (topology.c). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "topology.h"

#define TOPO_DIR_MAX_FILE_SIZE (16u << 20)
#define TOPO_DIR_MAX_DEPTH 32

struct dirload {
	struct topo_file *files;
	size_t n, cap;
	char *err;
	size_t errsz;
};

static int dl_fail(struct dirload *dl, int rc, const char *path, const char *what)
{
	if (dl->err && dl->errsz)
		snprintf(dl->err, dl->errsz, "%s: %s", path, what ? what : strerror(-rc));
	return rc;
}

static int read_tree(struct dirload *dl, const char *root, const char *rel, int depth)
{
	char *dpath = NULL;
	struct dirent **ents = NULL;
	int n, rc = 0;

	if (depth > TOPO_DIR_MAX_DEPTH)
		return dl_fail(dl, -ELOOP, rel, "directories nested too deep");
	if (asprintf(&dpath, "%s%s%s", root, *rel ? "/" : "", rel) < 0)
		return -ENOMEM;
	n = scandir(dpath, &ents, NULL, alphasort);
	if (n < 0) {
		rc = dl_fail(dl, -errno, dpath, NULL);
		free(dpath);
		return rc;
	}
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		char *full = NULL, *sub = NULL;
		struct stat st;

		if (rc < 0 || name[0] == '.')
			goto next;
		if (asprintf(&full, "%s/%s", dpath, name) < 0 ||
		    asprintf(&sub, "%s%s%s", rel, *rel ? "/" : "", name) < 0) {
			rc = -ENOMEM;
			goto next;
		}
		if (lstat(full, &st) < 0) {
			rc = dl_fail(dl, -errno, full, NULL);
		} else if (S_ISDIR(st.st_mode)) {
			rc = read_tree(dl, root, sub, depth + 1);
		} else if (topology_file_name(name) &&
			   (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) {
			char *buf = NULL;
			size_t len = 0;

			rc = fsutil_read_file(full, TOPO_DIR_MAX_FILE_SIZE, &buf, &len);
			if (rc == -EFBIG)
				rc = dl_fail(dl, rc, full, "file too large (over 16 MiB)");
			else if (rc < 0)
				rc = dl_fail(dl, rc, full, NULL);
			if (rc == 0 && dl->n == dl->cap) {
				size_t ncap = dl->cap ? 2 * dl->cap : 32;
				struct topo_file *v = reallocarray(dl->files, ncap, sizeof(*v));

				if (!v)
					rc = -ENOMEM;
				else
					dl->files = v, dl->cap = ncap;
			}
			if (rc == 0) {
				dl->files[dl->n++] = (struct topo_file){sub, buf, len};
				sub = NULL;
			} else {
				free(buf);
			}
		}
	next:
		free(full);
		free(sub);
		free(ents[i]);
	}
	free(ents);
	free(dpath);
	return rc;
}

int topology_load_dir(const char *dir, struct topology **out, char *err, size_t errsz)
{
	struct dirload dl = {.err = err, .errsz = errsz};
	int rc;

	*out = NULL;
	if (err && errsz)
		err[0] = '\0';
	rc = read_tree(&dl, dir, "", 0);
	if (rc == -ENOMEM && err && errsz && !err[0])
		snprintf(err, errsz, "out of memory");
	if (rc == 0)
		rc = topology_load_files(dl.files, dl.n, out, err, errsz);
	for (size_t i = 0; i < dl.n; i++) {
		free((char *)dl.files[i].path);
		free((char *)dl.files[i].data);
	}
	free(dl.files);
	return rc;
}
