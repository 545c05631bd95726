/* ImageServer.* methods (see methods.h). Names go through store_name_check before they
 * reach the store; a refusal is the method's error line with the reason. */
#include "daemon/imageserver/methods.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"

/* Decodes the name in req[key] and checks it. */
static int get_name(struct srpc_call *call, const json_t *req, const char *key, bool is_image,
		    const char **out)
{
	struct sjson_dec d;
	char err[512];
	int rc;

	sjson_dec_init(&d, "request");
	rc = sjson_get_str(&d, (json_t *)req, key, out);
	if (rc < 0) {
		rc = srpc_call_errorf(call, "%s", sjson_dec_error(&d));
		sjson_dec_fini(&d);
		return rc;
	}
	sjson_dec_fini(&d);
	if (store_name_check(*out, is_image, err, sizeof(err)) < 0)
		return srpc_call_errorf(call, "%s", err);
	return 0;
}

static int get_bool(const json_t *req, const char *key)
{
	return json_is_true(sjson_lookup(req, key));
}

static int check_directory(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	struct methods *m = arg;
	const char *dir;
	int rc = get_name(call, req, "DirectoryName", false, &dir);

	if (rc < 0)
		return rc;
	*resp = json_pack("{s:b}", "DirectoryExists", store_dir_exists(m->s, dir));
	return *resp != NULL ? 0 : -ENOMEM;
}

static int make_directory(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	struct methods *m = arg;
	const char *dir;
	char err[1024];
	int rc = get_name(call, req, "DirectoryName", false, &dir);

	if (rc < 0)
		return rc;
	if (store_mkdir(m->s, dir, get_bool(req, "MakeAll"), err, sizeof(err)) < 0)
		return srpc_call_errorf(call, "%s", err);
	*resp = json_object();
	return 0;
}

static int list_directories(struct srpc_call *call, void *arg)
{
	struct methods *m = arg;
	struct srpc_conn *c = srpc_call_conn(call);
	size_t n = 0;
	char **dirs = store_list_dirs(m->s, &n);
	int rc = dirs != NULL ? 0 : -ENOMEM;

	for (size_t i = 0; rc == 0 && i <= n; i++) {
		json_t *d = json_pack("{s:s, s:{s:s}}", "Name", i < n ? dirs[i] : "", "Metadata",
				      "OwnerGroup", "");

		rc = d != NULL ? srpc_conn_write_json(c, d) : -ENOMEM;
		json_decref(d);
	}
	if (rc == 0)
		rc = srpc_conn_flush(c);
	store_strv_free(dirs);
	return rc;
}

static int list_images(struct srpc_call *call, void *arg)
{
	struct methods *m = arg;
	struct srpc_conn *c = srpc_call_conn(call);
	size_t n = 0;
	char **names = store_list_images(m->s, &n);
	int rc = names != NULL ? 0 : -ENOMEM;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = srpc_conn_write(c, names[i], strlen(names[i]));
		if (rc == 0)
			rc = srpc_conn_write(c, "\n", 1);
	}
	if (rc == 0)
		rc = srpc_conn_write(c, "\n", 1);
	if (rc == 0)
		rc = srpc_conn_flush(c);
	store_strv_free(names);
	return rc;
}

static int add_image(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	struct methods *m = arg;
	const char *name;
	char err[1024];
	struct image img;
	json_t *j;
	int rc = get_name(call, req, "ImageName", true, &name);

	if (rc < 0)
		return rc;
	j = sjson_lookup(req, "Image");
	if (j == NULL || json_is_null(j))
		return srpc_call_errorf(call, "no Image");
	if (image_from_json(j, &img, err, sizeof(err)) < 0)
		return srpc_call_errorf(call, "image %s: %s", name, err);
	rc = store_add_image(m->s, name, &img, srpc_call_auth(call)->username, err, sizeof(err));
	image_free(&img);
	if (rc < 0) {
		log_warn("AddImage %s from %s refused: %s", name, srpc_call_auth(call)->username,
			 err);
		return srpc_call_errorf(call, "%s", err);
	}
	*resp = json_object();
	return 0;
}

static int check_image(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	struct methods *m = arg;
	const char *name;
	int rc = get_name(call, req, "ImageName", true, &name);

	if (rc < 0)
		return rc;
	*resp = json_pack("{s:b}", "ImageExists", store_image_exists(m->s, name));
	return *resp != NULL ? 0 : -ENOMEM;
}

static int delete_image(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	struct methods *m = arg;
	const char *name;
	char err[1024];
	int rc = get_name(call, req, "ImageName", true, &name);

	if (rc < 0)
		return rc;
	if (store_delete_image(m->s, name, err, sizeof(err)) < 0)
		return srpc_call_errorf(call, "%s", err);
	*resp = json_object();
	return 0;
}

static int find_latest(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	struct methods *m = arg;
	const char *dir, *commit = "";
	char err[1024] = "", *name = NULL;
	struct sjson_dec d;
	json_t *tags = NULL;
	int rc = get_name(call, req, "DirectoryName", false, &dir);

	if (rc < 0)
		return rc;
	sjson_dec_init(&d, "request");
	sjson_get_str(&d, (json_t *)req, "BuildCommitId", &commit);
	sjson_get_object(&d, (json_t *)req, "TagsToMatch", &tags);
	if (sjson_dec_error(&d) != NULL) {
		rc = srpc_call_errorf(call, "%s", sjson_dec_error(&d));
		sjson_dec_fini(&d);
		return rc;
	}
	sjson_dec_fini(&d);
	rc = store_find_latest(m->s, dir, commit, get_bool(req, "IgnoreExpiringImages"), tags,
			       &name, err, sizeof(err));
	if (rc == -ENOMEM)
		return rc;
	*resp = json_pack("{s:s, s:s}", "ImageName", name != NULL ? name : "", "Error", err);
	free(name);
	return *resp != NULL ? 0 : -ENOMEM;
}

static int get_image(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	struct methods *m = arg;
	const char *name;
	json_t *img = NULL, *exp;
	int64_t timeout = 0;
	struct sjson_dec d;
	struct timespec at = {0};
	int rc = get_name(call, req, "ImageName", true, &name);

	if (rc < 0)
		return rc;
	sjson_dec_init(&d, "request");
	sjson_get_int64(&d, (json_t *)req, "Timeout", &timeout);
	sjson_dec_fini(&d);
	if (timeout > 0) {
		struct timespec deadline;

		if (timeout > m->max_get_image_wait_ns)
			timeout = m->max_get_image_wait_ns;
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += timeout / 1000000000;
		deadline.tv_nsec += timeout % 1000000000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_nsec -= 1000000000;
			deadline.tv_sec++;
		}
		store_wait_image(m->s, name, &deadline);
	}
	rc = store_read_image(m->s, name, &img);
	if (rc < 0 && rc != -ENOENT) {
		log_error("GetImage %s: reading it: %s", name, strerror(-rc));
		return srpc_call_errorf(call, "image %s: cannot read it: %s", name, strerror(-rc));
	}
	if (img != NULL) {
		exp = sjson_lookup(img, "ExpiresAt");
		if (json_is_string(exp))
			sjson_parse_time(json_string_value(exp), &at);
		if (get_bool(req, "IgnoreFilesystem") ||
		    (get_bool(req, "IgnoreFilesystemIfExpiring") && (at.tv_sec || at.tv_nsec)))
			json_object_set_new(img, "FileSystem", json_null());
	}
	*resp = json_pack("{s:o, s:s}", "Image", img != NULL ? img : json_null(),
			  "InformationDatabaseURL", "");
	return *resp != NULL ? 0 : -ENOMEM;
}

static int get_expiration(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	struct methods *m = arg;
	struct timespec at = {0};
	const char *name;
	char err[1200] = "";
	int rc = get_name(call, req, "ImageName", true, &name);

	if (rc < 0)
		return rc;
	if (store_get_expiration(m->s, name, &at) < 0)
		snprintf(err, sizeof(err), "image: %s does not exist", name);
	*resp = json_pack("{s:s, s:o}", "Error", err, "ExpiresAt", sjson_time(&at));
	return *resp != NULL ? 0 : -ENOMEM;
}

static int change_expiration(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	struct methods *m = arg;
	struct timespec at = {0};
	struct sjson_dec d;
	const char *name;
	char err[1024] = "";
	int rc = get_name(call, req, "ImageName", true, &name);

	if (rc < 0)
		return rc;
	sjson_dec_init(&d, "request");
	rc = sjson_get_time(&d, (json_t *)req, "ExpiresAt", &at);
	if (rc < 0) {
		rc = srpc_call_errorf(call, "%s", sjson_dec_error(&d));
		sjson_dec_fini(&d);
		return rc;
	}
	sjson_dec_fini(&d);
	store_change_expiration(m->s, name, &at, err, sizeof(err));
	*resp = json_pack("{s:s}", "Error", err);
	return *resp != NULL ? 0 : -ENOMEM;
}

int methods_register_images(struct srpc_server *srv, struct methods *m)
{
	const unsigned pub = SRPC_ACCESS_PUBLIC;
	const struct srpc_method v[] = {
	    {"ImageServer.CheckDirectory", SRPC_RR, pub, check_directory, NULL, m, NULL},
	    {"ImageServer.MakeDirectory", SRPC_RR, 0, make_directory, NULL, m, NULL},
	    {"ImageServer.ListDirectories", SRPC_STREAM, pub, NULL, list_directories, m, NULL},
	    {"ImageServer.AddImage", SRPC_RR, 0, add_image, NULL, m, NULL},
	    {"ImageServer.CheckImage", SRPC_RR, pub, check_image, NULL, m, NULL},
	    {"ImageServer.DeleteImage", SRPC_RR, 0, delete_image, NULL, m, NULL},
	    {"ImageServer.FindLatestImage", SRPC_RR, pub, find_latest, NULL, m, NULL},
	    {"ImageServer.GetImage", SRPC_RR, pub, get_image, NULL, m, NULL},
	    {"ImageServer.GetImageExpiration", SRPC_RR, pub, get_expiration, NULL, m, NULL},
	    {"ImageServer.ChangeImageExpiration", SRPC_RR, 0, change_expiration, NULL, m, NULL},
	    {"ImageServer.ListImages", SRPC_STREAM, pub, NULL, list_images, m, NULL},
	};
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < sizeof(v) / sizeof(v[0]); i++)
		rc = srpc_server_register(srv, &v[i]);
	return rc;
}
