/* imagetool subcommands that query or change the image server's names: list, listdirs,
 * mkdir, check-directory, find-latest-image, show, show-metadata, estimate-usage,
 * delete, wait and the expiration commands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imagetool.h"
#include "json.h"

struct names {
	size_t n, cap;
	char **v;
};

static int collect_name(const char *name, void *arg)
{
	struct names *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **nv = realloc(l->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strdup(name)))
		return -ENOMEM;
	l->n++;
	return 0;
}

static int cmp_version(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

/* Prints the names a streamed listing gives, in version order. */
static int list_names(struct imgtool *t, const struct imgtool_cmd *c, bool dirs)
{
	struct names l = {0};
	int rc;

	if (imgtool_dial(t, c->doing))
		return 1;
	rc = dirs ? imgclient_list_directories(t->client, collect_name, &l)
		  : imgclient_list_images(t->client, collect_name, &l);
	if (rc < 0)
		rc = rc == -ENOMEM ? imgtool_fail(c->doing, "out of memory")
				   : imgtool_rpc_fail(t, c->doing, rc);
	else {
		if (l.n > 1)
			qsort(l.v, l.n, sizeof(*l.v), cmp_version);
		for (size_t i = 0; i < l.n; i++)
			printf("%s\n", l.v[i]);
		rc = fflush(stdout) == 0 ? 0 : 1;
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	return rc;
}

int imgtool_cmd_list(struct imgtool *t, const struct imgtool_cmd *c, int argc, char *const argv[])
{
	(void)argc;
	(void)argv;
	return list_names(t, c, false);
}

int imgtool_cmd_listdirs(struct imgtool *t, const struct imgtool_cmd *c, int argc,
			 char *const argv[])
{
	(void)argc;
	(void)argv;
	return list_names(t, c, true);
}

int imgtool_cmd_mkdir(struct imgtool *t, const struct imgtool_cmd *c, int argc, char *const argv[])
{
	int rc;

	(void)argc;
	if ((rc = imgtool_check_name(argv[0], false)))
		return rc;
	if (imgtool_dial(t, c->doing))
		return 1;
	if ((rc = imgclient_make_directory(t->client, argv[0], true)) < 0)
		return imgtool_rpc_fail(t, c->doing, rc);
	return 0;
}

int imgtool_cmd_check_directory(struct imgtool *t, const struct imgtool_cmd *c, int argc,
				char *const argv[])
{
	bool exists;
	int rc;

	(void)argc;
	if ((rc = imgtool_check_name(argv[0], false)))
		return rc;
	if (imgtool_dial(t, c->doing))
		return 1;
	if ((rc = imgclient_check_directory(t->client, argv[0], &exists)) < 0)
		return imgtool_rpc_fail(t, c->doing, rc);
	if (!exists) {
		fprintf(stderr, "directory %s does not exist\n", argv[0]);
		return 1;
	}
	return 0;
}

int imgtool_cmd_find_latest(struct imgtool *t, const struct imgtool_cmd *c, int argc,
			    char *const argv[])
{
	char *name = NULL;
	int rc;

	(void)argc;
	if ((rc = imgtool_check_name(argv[0], false)))
		return rc;
	if (imgtool_dial(t, c->doing))
		return 1;
	rc = imgclient_find_latest(t->client, argv[0], t->o.ignore_expiring, &name);
	if (rc < 0)
		return imgtool_rpc_fail(t, c->doing, rc);
	if (!*name) {
		free(name);
		return imgtool_fail(c->doing, "no image in %s", argv[0]);
	}
	printf("%s\n", name);
	free(name);
	return 0;
}

/* Resolves arg (image or stream) and fetches the image. 0, or 1 after printing. */
static int get_image(struct imgtool *t, const char *doing, const char *arg, bool ignore_fs,
		     char **name, struct image *img)
{
	char err[512] = "";
	int rc;

	if ((rc = imgtool_check_name(arg, false)))
		return rc;
	if (imgtool_dial(t, doing))
		return 1;
	rc = imgclient_resolve(t->client, arg, name, err, sizeof(err));
	if (rc < 0)
		return *err ? imgtool_fail(doing, "%s", err) : imgtool_rpc_fail(t, doing, rc);
	rc = imgclient_get_image(t->client, *name, ignore_fs, 0, img);
	if (rc == 0)
		return 0;
	if (rc == -ENOENT)
		imgtool_fail(doing, "image %s not found", *name);
	else
		imgtool_rpc_fail(t, doing, rc);
	free(*name);
	*name = NULL;
	return 1;
}

static const char *mib(uint64_t bytes, char *buf, size_t sz)
{
	snprintf(buf, sz, "%llu (%.1f MiB)", (unsigned long long)bytes,
		 (double)bytes / (1024.0 * 1024.0));
	return buf;
}

int imgtool_cmd_show(struct imgtool *t, const struct imgtool_cmd *c, int argc, char *const argv[])
{
	struct image_object *objs = NULL;
	struct image img = {0};
	char *name = NULL, tb[64], sb[64];
	uint64_t obj_bytes = 0;
	size_t nobj = 0;
	int rc;

	(void)argc;
	if ((rc = get_image(t, c->doing, argv[0], false, &name, &img)))
		return rc;
	if (img.has_fs && image_fs_objects(&img.fs, &objs, &nobj) < 0) {
		rc = imgtool_fail(c->doing, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nobj; i++)
		obj_bytes += objs[i].size;
	printf("Name:            %s\n", name);
	printf("CreatedBy:       %s\n", img.created_by ? img.created_by : "");
	printf("CreatedOn:       %s\n",
	       img.created_on.tv_sec ? imgtool_time_text(&img.created_on, tb, sizeof(tb)) : "");
	printf("ExpiresAt:       %s\n", imgtool_time_text(&img.expires_at, tb, sizeof(tb)));
	if (img.build_commit_id && *img.build_commit_id)
		printf("BuildCommitId:   %s\n", img.build_commit_id);
	if (img.build_branch && *img.build_branch)
		printf("BuildBranch:     %s\n", img.build_branch);
	if (img.tags && json_object_size(img.tags) > 0) {
		const char *k;
		json_t *v;
		printf("Tags:\n");
		json_object_foreach(img.tags, k, v)
		{
			printf("  %s=%s\n", k, json_string_value(v) ? json_string_value(v) : "");
		}
	}
	if (img.has_fs) {
		printf("Inodes:          %zu\n", img.fs.n_inodes);
		printf("RegularFiles:    %llu\n", (unsigned long long)img.fs.num_regular_inodes);
		printf("Directories:     %llu\n", (unsigned long long)img.fs.directory_count);
		printf("DataBytes:       %s\n", mib(img.fs.total_data_bytes, sb, sizeof(sb)));
		printf("Objects:         %zu\n", nobj);
		printf("ObjectBytes:     %s\n", mib(obj_bytes, sb, sizeof(sb)));
		printf("EstimatedUsage:  %s\n",
		       mib(image_fs_estimate_usage(&img.fs, IMAGE_BLOCK_SIZE), sb, sizeof(sb)));
	}
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	free(objs);
	image_free(&img);
	free(name);
	return rc;
}

int imgtool_cmd_show_metadata(struct imgtool *t, const struct imgtool_cmd *c, int argc,
			      char *const argv[])
{
	struct image img = {0};
	char *name = NULL, *s;
	json_t *j;
	int rc;

	(void)argc;
	if ((rc = get_image(t, c->doing, argv[0], true, &name, &img)))
		return rc;
	j = image_to_json(&img, false);
	s = j ? json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER) : NULL;
	if (s)
		printf("%s\n", s);
	rc = s ? 0 : imgtool_fail(c->doing, "out of memory");
	free(s);
	json_decref(j);
	image_free(&img);
	free(name);
	return rc;
}

int imgtool_cmd_estimate_usage(struct imgtool *t, const struct imgtool_cmd *c, int argc,
			       char *const argv[])
{
	struct image img = {0};
	char *name = NULL;
	int rc;

	(void)argc;
	if ((rc = get_image(t, c->doing, argv[0], false, &name, &img)))
		return rc;
	printf("%llu\n",
	       (unsigned long long)(img.has_fs ? image_fs_estimate_usage(&img.fs, IMAGE_BLOCK_SIZE)
					       : 0));
	image_free(&img);
	free(name);
	return 0;
}

int imgtool_cmd_delete(struct imgtool *t, const struct imgtool_cmd *c, int argc, char *const argv[])
{
	int rc;

	(void)argc;
	if ((rc = imgtool_check_name(argv[0], true)))
		return rc;
	if (imgtool_dial(t, c->doing))
		return 1;
	if ((rc = imgclient_delete_image(t->client, argv[0])) < 0)
		return imgtool_rpc_fail(t, c->doing, rc);
	return 0;
}

int imgtool_cmd_change_expiration(struct imgtool *t, const struct imgtool_cmd *c, int argc,
				  char *const argv[])
{
	struct timespec at = {0, 0};
	int64_t ns;
	int rc;

	(void)argc;
	if ((rc = imgtool_check_name(argv[0], true)))
		return rc;
	if (flags_parse_duration(argv[1], &ns) < 0 || ns < 0) {
		fprintf(stderr, "imagetool: bad duration \"%s\" (e.g. 1h30m, 0 for never)\n",
			argv[1]);
		return 2;
	}
	if (ns > 0) {
		clock_gettime(CLOCK_REALTIME, &at);
		at.tv_sec += ns / 1000000000LL;
		at.tv_nsec = 0;
	}
	if (imgtool_dial(t, c->doing))
		return 1;
	if ((rc = imgclient_change_expiration(t->client, argv[0], &at)) < 0)
		return imgtool_rpc_fail(t, c->doing, rc);
	return 0;
}

int imgtool_cmd_get_expiration(struct imgtool *t, const struct imgtool_cmd *c, int argc,
			       char *const argv[])
{
	struct timespec at;
	char buf[64];
	int rc;

	(void)argc;
	if ((rc = imgtool_check_name(argv[0], true)))
		return rc;
	if (imgtool_dial(t, c->doing))
		return 1;
	if ((rc = imgclient_get_expiration(t->client, argv[0], &at)) < 0)
		return imgtool_rpc_fail(t, c->doing, rc);
	printf("%s\n", imgtool_time_text(&at, buf, sizeof(buf)));
	return 0;
}

int imgtool_cmd_wait(struct imgtool *t, const struct imgtool_cmd *c, int argc, char *const argv[])
{
	struct image img = {0};
	int rc;

	(void)argc;
	if ((rc = imgtool_check_name(argv[0], true)))
		return rc;
	if (imgtool_dial(t, c->doing))
		return 1;
	rc = imgclient_get_image(t->client, argv[0], true, (int)(t->o.timeout_ns / 1000000), &img);
	if (rc == -ENOENT)
		return imgtool_fail(c->doing, "image %s not found", argv[0]);
	if (rc < 0)
		return imgtool_rpc_fail(t, c->doing, rc);
	image_free(&img);
	return 0;
}
