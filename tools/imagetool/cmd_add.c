/* imagetool add NAME DIR: scan the tree, upload the objects the server lacks, then add
 * the image (the server refuses an image naming an object it does not hold). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image/scan.h"
#include "imagetool.h"

/* The objects of sc that the server does not hold yet, as parallel arrays. */
struct missing {
	size_t n;
	struct image_hash *hashes;
	uint64_t *sizes;
	char **paths; /* borrowed from the scan */
	uint64_t bytes;
};

static void missing_free(struct missing *m)
{
	free(m->hashes);
	free(m->sizes);
	free(m->paths);
}

static int find_missing(struct imgtool *t, const struct image_scan *sc, struct missing *m,
			const char *doing)
{
	size_t n = sc->n_objects;
	struct image_hash *all = calloc(n ? n : 1, sizeof(*all));
	uint64_t *have = calloc(n ? n : 1, sizeof(*have));
	int rc = 1;

	memset(m, 0, sizeof(*m));
	m->hashes = calloc(n ? n : 1, sizeof(*m->hashes));
	m->sizes = calloc(n ? n : 1, sizeof(*m->sizes));
	m->paths = calloc(n ? n : 1, sizeof(*m->paths));
	if (!all || !have || !m->hashes || !m->sizes || !m->paths) {
		imgtool_fail(doing, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		all[i] = sc->objects[i].hash;
	if (n > 0) {
		int r = imgclient_check_objects(t->client, all, n, have);
		if (r < 0) {
			imgtool_rpc_fail(t, doing, r);
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (have[i] > 0)
			continue;
		m->hashes[m->n] = sc->objects[i].hash;
		m->sizes[m->n] = sc->objects[i].size;
		m->paths[m->n] = sc->objects[i].path;
		m->bytes += sc->objects[i].size;
		m->n++;
	}
	rc = 0;
out:
	free(all);
	free(have);
	return rc;
}

static int upload(struct imgtool *t, const struct missing *m, const char *doing)
{
	struct imgtool_progress p;
	char err[1024] = "";
	int rc;

	if (m->n == 0)
		return 0;
	imgtool_progress_start(&p, "add: uploading", t->o.quiet);
	p.total = m->bytes;
	rc = imgclient_add_objects(t->client, m->hashes, m->sizes, m->paths, m->n,
				   imgtool_progress_cb, &p, err, sizeof(err));
	if (rc < 0)
		return imgtool_fail(doing, "uploading objects: %s",
				    *err ? err : srpc_client_error(t->client));
	imgtool_progress_end(&p);
	return 0;
}

/* Refuses early (before hashing and uploading) what AddImage would refuse at the end. */
static int precheck(struct imgtool *t, const char *name, const char *doing)
{
	char dir[IMAGE_FULLNAME_MAX + 1];
	bool exists;
	int rc;

	if (imgtool_dial(t, doing))
		return 1;
	if ((rc = imgclient_check_image(t->client, name, &exists)) < 0)
		return imgtool_rpc_fail(t, doing, rc);
	if (exists)
		return imgtool_fail(doing, "image %s already exists", name);
	if (image_name_dir(name, dir, sizeof(dir)) < 0)
		return imgtool_fail(doing, "bad image name %s", name);
	if ((rc = imgclient_check_directory(t->client, dir, &exists)) < 0)
		return imgtool_rpc_fail(t, doing, rc);
	if (!exists)
		return imgtool_fail(doing, "directory %s does not exist (imagetool mkdir %s)", dir,
				    dir);
	return 0;
}

int imgtool_cmd_add(struct imgtool *t, const struct imgtool_cmd *c, int argc, char *const argv[])
{
	const char *name = argv[0], *dir = argv[1];
	struct image_scan sc = {0};
	struct imgtool_progress p;
	struct missing m = {0};
	struct image img = {0};
	struct timespec now;
	char err[1024] = "", user[256];
	struct stat st;
	int rc;

	(void)argc;
	if ((rc = imgtool_check_name(name, true)))
		return rc;
	if (stat(dir, &st) < 0)
		return imgtool_fail(c->doing, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return imgtool_fail(c->doing, "%s: not a directory", dir);
	if (precheck(t, name, c->doing))
		return 1;

	imgtool_progress_start(&p, "add: hashing", t->o.quiet);
	rc = image_scan_dir(dir, &sc, imgtool_progress_cb, &p, err, sizeof(err));
	if (rc < 0) {
		rc = imgtool_fail(c->doing, "%s", *err ? err : strerror(-rc));
		goto out;
	}
	imgtool_progress_end(&p);
	rc = 1;
	if (find_missing(t, &sc, &m, c->doing) || upload(t, &m, c->doing))
		goto out;

	img.extra = json_object();
	img.created_by = strdup(imgtool_username(t, user, sizeof(user)));
	img.build_branch = strdup("");
	img.build_commit_id = strdup("");
	if (!img.extra || !img.created_by || !img.build_branch || !img.build_commit_id) {
		imgtool_fail(c->doing, "out of memory");
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	img.created_on = now;
	if (t->o.expires_in_ns > 0) {
		img.expires_at.tv_sec = now.tv_sec + t->o.expires_in_ns / 1000000000LL;
		img.expires_at.tv_nsec = 0;
	}
	img.has_fs = true;
	img.fs = sc.fs; /* moved: the image frees it */
	memset(&sc.fs, 0, sizeof(sc.fs));
	rc = imgclient_add_image(t->client, name, &img);
	if (rc < 0) {
		rc = imgtool_rpc_fail(t, c->doing, rc);
		goto out;
	}
	rc = 0;
out:
	image_free(&img);
	missing_free(&m);
	image_scan_free(&sc);
	return rc;
}
