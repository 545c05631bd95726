/* image/client: the ImageServer and ObjectServer calls over one SRPC connection (see
 * client.h). Wire forms are those of the original with the JSON coder: RR calls are one
 * request object and one reply object; ListImages is raw "name\n" lines ended by an
 * empty line; ListDirectories is a stream of Directory objects ended by an empty Name;
 * AddObjects and GetObjects carry raw object bytes between JSON messages. */
#include "image/client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"

/* Hashes named by one GetObjects request, objects sent by one AddObjects call (their
 * replies must fit the socket buffers: the server answers after the last object). */
#define GET_BATCH 1000
#define ADD_BATCH 256
#define CHUNK (256u << 10)

/* One RR call; takes req. A non-empty "Error" field in the reply is a failure. */
static int rr(struct srpc_client *cl, const char *method, json_t *req, json_t **resp)
{
	const char *e;
	int rc;

	*resp = NULL;
	if (req == NULL)
		return -ENOMEM;
	rc = srpc_client_call(cl, method, req, resp);
	json_decref(req);
	if (rc < 0)
		return rc;
	if (!json_is_object(*resp)) {
		srpc_client_set_error(cl, "%s: reply is not an object", method);
		json_decref(*resp);
		*resp = NULL;
		return -EPROTO;
	}
	e = json_string_value(sjson_lookup(*resp, "Error"));
	if (e != NULL && e[0] != '\0') {
		srpc_client_set_error(cl, "%s", e);
		json_decref(*resp);
		*resp = NULL;
		return -EREMOTEIO;
	}
	return 0;
}

static int rr_bool(struct srpc_client *cl, const char *method, json_t *req, const char *key,
		   bool *out)
{
	json_t *resp;
	int rc = rr(cl, method, req, &resp);

	if (rc < 0)
		return rc;
	*out = json_is_true(sjson_lookup(resp, key));
	json_decref(resp);
	return 0;
}

static int rr_none(struct srpc_client *cl, const char *method, json_t *req)
{
	json_t *resp;
	int rc = rr(cl, method, req, &resp);

	json_decref(resp);
	return rc;
}

int imgclient_check_directory(struct srpc_client *cl, const char *dir, bool *exists)
{
	return rr_bool(cl, "ImageServer.CheckDirectory", json_pack("{s:s}", "DirectoryName", dir),
		       "DirectoryExists", exists);
}

int imgclient_make_directory(struct srpc_client *cl, const char *dir, bool make_all)
{
	return rr_none(cl, "ImageServer.MakeDirectory",
		       json_pack("{s:s, s:b}", "DirectoryName", dir, "MakeAll", make_all));
}

/* A local failure in a streaming call, kept as the client's error text. */
static int stream_error(struct srpc_client *cl, const char *method, int rc)
{
	srpc_client_set_error(cl, "%s: %s", method,
			      rc == -ECONNRESET ? "connection closed" : strerror(-rc));
	return rc;
}

int imgclient_list_directories(struct srpc_client *cl, imgclient_name_fn fn, void *arg)
{
	static const char method[] = "ImageServer.ListDirectories";
	struct srpc_conn *c;
	int rc, stop = 0;

	if ((rc = srpc_client_start(cl, method)) < 0)
		return rc;
	c = srpc_client_conn(cl);
	for (;;) {
		json_t *d;
		const char *name;

		if ((rc = srpc_conn_read_json(c, &d)) < 0)
			return stream_error(cl, method, rc);
		name = json_string_value(sjson_lookup(d, "Name"));
		if (name == NULL) {
			json_decref(d);
			return stream_error(cl, method, -EPROTO);
		}
		if (name[0] == '\0') {
			json_decref(d);
			return stop;
		}
		if (stop == 0)
			stop = fn(name, arg); /* the rest is read to stay in step */
		json_decref(d);
	}
}

int imgclient_list_images(struct srpc_client *cl, imgclient_name_fn fn, void *arg)
{
	static const char method[] = "ImageServer.ListImages";
	char line[IMAGE_FULLNAME_MAX + 2];
	struct srpc_conn *c;
	ssize_t n;
	int rc, stop = 0;

	if ((rc = srpc_client_start(cl, method)) < 0)
		return rc;
	c = srpc_client_conn(cl);
	for (;;) {
		n = srpc_conn_read_line(c, line, sizeof(line));
		if (n < 0)
			return stream_error(cl, method, (int)n);
		if (n == 0)
			return stop;
		if (stop == 0)
			stop = fn(line, arg);
	}
}

int imgclient_find_latest(struct srpc_client *cl, const char *dir, bool ignore_expiring,
			  char **name)
{
	json_t *resp;
	const char *s;
	int rc;

	*name = NULL;
	rc = rr(cl, "ImageServer.FindLatestImage",
		json_pack("{s:s, s:s, s:b, s:n}", "BuildCommitId", "", "DirectoryName", dir,
			  "IgnoreExpiringImages", ignore_expiring, "TagsToMatch"),
		&resp);
	if (rc < 0)
		return rc;
	s = json_string_value(sjson_lookup(resp, "ImageName"));
	*name = strdup(s != NULL ? s : "");
	json_decref(resp);
	return *name != NULL ? 0 : -ENOMEM;
}

int imgclient_check_image(struct srpc_client *cl, const char *name, bool *exists)
{
	return rr_bool(cl, "ImageServer.CheckImage", json_pack("{s:s}", "ImageName", name),
		       "ImageExists", exists);
}

int imgclient_get_image(struct srpc_client *cl, const char *name, bool ignore_fs, int timeout_ms,
			struct image *out)
{
	char err[512];
	json_t *resp, *img;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = rr(cl, "ImageServer.GetImage",
		json_pack("{s:s, s:b, s:b, s:I}", "ImageName", name, "IgnoreFilesystem", ignore_fs,
			  "IgnoreFilesystemIfExpiring", false, "Timeout",
			  (json_int_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000),
		&resp);
	if (rc < 0)
		return rc;
	img = sjson_lookup(resp, "Image");
	if (img == NULL || json_is_null(img)) {
		json_decref(resp);
		srpc_client_set_error(cl, "image %s not found", name);
		return -ENOENT;
	}
	rc = image_from_json(img, out, err, sizeof(err));
	json_decref(resp);
	if (rc < 0)
		srpc_client_set_error(cl, "image %s: %s", name, err);
	return rc;
}

int imgclient_add_image(struct srpc_client *cl, const char *name, const struct image *img)
{
	json_t *j = image_to_json(img, true);

	if (j == NULL)
		return -ENOMEM;
	return rr_none(cl, "ImageServer.AddImage",
		       json_pack("{s:s, s:o}", "ImageName", name, "Image", j));
}

int imgclient_delete_image(struct srpc_client *cl, const char *name)
{
	return rr_none(cl, "ImageServer.DeleteImage", json_pack("{s:s}", "ImageName", name));
}

int imgclient_get_expiration(struct srpc_client *cl, const char *name, struct timespec *at)
{
	json_t *resp;
	const char *s;
	int rc =
	    rr(cl, "ImageServer.GetImageExpiration", json_pack("{s:s}", "ImageName", name), &resp);

	if (rc < 0)
		return rc;
	s = json_string_value(sjson_lookup(resp, "ExpiresAt"));
	rc = s != NULL ? sjson_parse_time(s, at) : -EPROTO;
	json_decref(resp);
	if (rc < 0)
		srpc_client_set_error(cl, "GetImageExpiration: bad ExpiresAt in reply");
	return rc;
}

int imgclient_change_expiration(struct srpc_client *cl, const char *name, const struct timespec *at)
{
	json_t *t = sjson_time(at);

	if (t == NULL)
		return -ENOMEM;
	return rr_none(cl, "ImageServer.ChangeImageExpiration",
		       json_pack("{s:o, s:s}", "ExpiresAt", t, "ImageName", name));
}

int imgclient_resolve(struct srpc_client *cl, const char *stream_or_name, char **name, char *err,
		      size_t errsz)
{
	bool is_dir = false, exists = false;
	int rc;

	*name = NULL;
	rc = imgclient_check_directory(cl, stream_or_name, &is_dir);
	if (rc < 0)
		goto fail;
	if (is_dir) {
		rc = imgclient_find_latest(cl, stream_or_name, false, name);
		if (rc < 0)
			goto fail;
		if ((*name)[0] != '\0')
			return 0;
		free(*name);
		*name = NULL;
		snprintf(err, errsz, "no image in stream %s", stream_or_name);
		return -ENOENT;
	}
	rc = imgclient_check_image(cl, stream_or_name, &exists);
	if (rc < 0)
		goto fail;
	if (!exists) {
		snprintf(err, errsz, "image %s not found", stream_or_name);
		return -ENOENT;
	}
	*name = strdup(stream_or_name);
	return *name != NULL ? 0 : -ENOMEM;
fail:
	snprintf(err, errsz, "%s", srpc_client_error(cl));
	return rc;
}

static json_t *hashes_json(const struct image_hash *hashes, size_t n)
{
	char hex[IMAGE_HASH_HEXLEN + 1];
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++) {
		image_hash_hex(&hashes[i], hex);
		if (json_array_append_new(a, json_string(hex)) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

int imgclient_check_objects(struct srpc_client *cl, const struct image_hash *hashes, size_t n,
			    uint64_t *sizes)
{
	for (size_t off = 0; off < n; off += GET_BATCH) {
		size_t k = n - off < GET_BATCH ? n - off : GET_BATCH;
		json_t *a = hashes_json(hashes + off, k), *resp, *s;
		int rc;

		if (a == NULL)
			return -ENOMEM;
		rc = rr(cl, "ObjectServer.CheckObjects", json_pack("{s:o}", "Hashes", a), &resp);
		if (rc < 0)
			return rc;
		s = sjson_lookup(resp, "ObjectSizes");
		if (json_array_size(s) != k) {
			json_decref(resp);
			srpc_client_set_error(cl, "CheckObjects: %zu sizes for %zu hashes",
					      json_array_size(s), k);
			return -EPROTO;
		}
		for (size_t i = 0; i < k; i++) {
			json_int_t v = json_integer_value(json_array_get(s, i));

			sizes[off + i] = v > 0 ? (uint64_t)v : 0;
		}
		json_decref(resp);
	}
	return 0;
}

/* Sends one object: {"Length":N,"ExpectedHash":"hex"} then the N bytes of path. */
static int send_object(struct srpc_conn *c, const struct image_hash *h, uint64_t size,
		       const char *path, char *buf, uint64_t *done, uint64_t total,
		       imgclient_progress_fn progress, void *arg, char *err, size_t errsz)
{
	char hex[IMAGE_HASH_HEXLEN + 1];
	uint64_t left = size;
	json_t *msg;
	int fd, rc;

	image_hash_hex(h, hex);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errsz, "open %s: %s", path, strerror(-rc));
		return rc;
	}
	msg = json_pack("{s:I, s:s}", "Length", (json_int_t)size, "ExpectedHash", hex);
	rc = msg != NULL ? srpc_conn_write_json(c, msg) : -ENOMEM;
	json_decref(msg);
	while (rc == 0 && left > 0) {
		ssize_t n = read(fd, buf, left < CHUNK ? (size_t)left : CHUNK);

		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			snprintf(err, errsz, "read %s: %s", path,
				 n < 0 ? strerror(-rc) : "file shorter than its size");
			break;
		}
		rc = srpc_conn_write(c, buf, (size_t)n);
		if (rc < 0) {
			snprintf(err, errsz, "AddObjects: sending: %s", strerror(-rc));
			break;
		}
		left -= (uint64_t)n;
		*done += (uint64_t)n;
		if (progress != NULL)
			progress(*done, total, arg);
	}
	close(fd);
	return rc;
}

/* One AddObjects call for objects idx[0..k-1]. */
static int add_batch(struct srpc_client *cl, const struct image_hash *hashes, const uint64_t *sizes,
		     char *const *paths, const size_t *idx, size_t k, char *buf, uint64_t *done,
		     uint64_t total, imgclient_progress_fn progress, void *arg, char *err,
		     size_t errsz)
{
	static const char method[] = "ObjectServer.AddObjects";
	struct srpc_conn *c;
	json_t *end, *r;
	int rc;

	if ((rc = srpc_client_start(cl, method)) < 0) {
		snprintf(err, errsz, "%s", srpc_client_error(cl));
		return rc;
	}
	c = srpc_client_conn(cl);
	for (size_t i = 0; i < k; i++) {
		rc = send_object(c, &hashes[idx[i]], sizes[idx[i]], paths[idx[i]], buf, done, total,
				 progress, arg, err, errsz);
		if (rc < 0)
			return rc; /* the stream is out of step: the caller closes cl */
	}
	end = json_pack("{s:i, s:n}", "Length", 0, "ExpectedHash");
	rc = end != NULL ? srpc_conn_write_json(c, end) : -ENOMEM;
	json_decref(end);
	if (rc == 0)
		rc = srpc_conn_flush(c);
	if (rc < 0) {
		snprintf(err, errsz, "%s: sending: %s", method, strerror(-rc));
		return rc;
	}
	for (size_t i = 0; i < k; i++) {
		const char *e, *hex;
		struct image_hash got;

		if ((rc = srpc_conn_read_json(c, &r)) < 0) {
			snprintf(err, errsz, "%s: reading reply: %s", method,
				 rc == -ECONNRESET ? "connection closed" : strerror(-rc));
			return rc;
		}
		e = json_string_value(sjson_lookup(r, "ErrorString"));
		hex = json_string_value(sjson_lookup(r, "Hash"));
		if (e != NULL && e[0] != '\0') {
			snprintf(err, errsz, "%s", e);
			json_decref(r);
			return -EREMOTEIO;
		}
		if (hex == NULL || image_hash_parse(hex, &got) < 0 ||
		    !image_hash_equal(&got, &hashes[idx[i]])) {
			snprintf(err, errsz, "%s: reply %zu names another hash", method, i);
			json_decref(r);
			return -EPROTO;
		}
		json_decref(r);
	}
	return 0;
}

int imgclient_add_objects(struct srpc_client *cl, const struct image_hash *hashes,
			  const uint64_t *sizes, char *const *paths, size_t n,
			  imgclient_progress_fn progress, void *arg, char *err, size_t errsz)
{
	uint64_t *have = calloc(n ? n : 1, sizeof(*have)), total = 0, done = 0;
	size_t *idx = calloc(n ? n : 1, sizeof(*idx)), k = 0;
	char *buf = malloc(CHUNK);
	int rc = -ENOMEM;

	if (have == NULL || idx == NULL || buf == NULL) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	/* What the server has already is not sent again. */
	rc = imgclient_check_objects(cl, hashes, n, have);
	if (rc < 0) {
		snprintf(err, errsz, "%s", srpc_client_error(cl));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (have[i] != 0 || sizes[i] == 0)
			continue;
		total += sizes[i];
		idx[k++] = i;
	}
	for (size_t off = 0; off < k; off += ADD_BATCH) {
		size_t m = k - off < ADD_BATCH ? k - off : ADD_BATCH;

		rc = add_batch(cl, hashes, sizes, paths, idx + off, m, buf, &done, total, progress,
			       arg, err, errsz);
		if (rc < 0)
			goto out;
	}
	rc = 0;
out:
	free(have);
	free(idx);
	free(buf);
	return rc;
}

struct get_reader {
	struct srpc_conn *c;
	uint64_t *done, total;
	imgclient_progress_fn progress;
	void *arg;
};

static ssize_t get_read(void *arg, void *buf, size_t len)
{
	struct get_reader *g = arg;
	ssize_t n = srpc_conn_read_some(g->c, buf, len);

	if (n > 0) {
		*g->done += (uint64_t)n;
		if (g->progress != NULL)
			g->progress(*g->done, g->total, g->arg);
	}
	return n;
}

/* One GetObjects call for hashes idx[0..k-1]; sizes[] are what CheckObjects said. */
static int get_batch(struct srpc_client *cl, const struct image_hash *hashes, const size_t *idx,
		     size_t k, struct objstore *st, struct get_reader *g, char *err, size_t errsz)
{
	static const char method[] = "ObjectServer.GetObjects";
	char hex[IMAGE_HASH_HEXLEN + 1];
	json_t *a = json_array(), *req, *resp = NULL, *sizes;
	const char *e;
	int rc;

	for (size_t i = 0; a != NULL && i < k; i++) {
		image_hash_hex(&hashes[idx[i]], hex);
		if (json_array_append_new(a, json_string(hex)) < 0)
			break;
	}
	req = a != NULL ? json_pack("{s:b, s:o}", "Exclusive", false, "Hashes", a) : NULL;
	if (req == NULL) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	if ((rc = srpc_client_start(cl, method)) < 0) {
		json_decref(req);
		snprintf(err, errsz, "%s", srpc_client_error(cl));
		return rc;
	}
	g->c = srpc_client_conn(cl);
	rc = srpc_conn_write_json(g->c, req);
	json_decref(req);
	if (rc == 0)
		rc = srpc_conn_flush(g->c);
	if (rc == 0)
		rc = srpc_conn_read_json(g->c, &resp);
	if (rc < 0) {
		snprintf(err, errsz, "%s: %s", method,
			 rc == -ECONNRESET ? "connection closed" : strerror(-rc));
		return rc;
	}
	e = json_string_value(sjson_lookup(resp, "ResponseString"));
	sizes = sjson_lookup(resp, "ObjectSizes");
	if (e != NULL && e[0] != '\0') {
		snprintf(err, errsz, "%s", e);
		json_decref(resp);
		return -EREMOTEIO;
	}
	if (json_array_size(sizes) != k) {
		snprintf(err, errsz, "%s: %zu sizes for %zu hashes", method, json_array_size(sizes),
			 k);
		json_decref(resp);
		return -EPROTO;
	}
	for (size_t i = 0; i < k; i++) {
		json_int_t sz = json_integer_value(json_array_get(sizes, i));

		rc = objstore_add(st, get_read, g, sz > 0 ? (uint64_t)sz : 0, &hashes[idx[i]], NULL,
				  NULL, err, errsz);
		if (rc < 0)
			break;
	}
	json_decref(resp);
	return rc;
}

int imgclient_get_objects(struct srpc_client *cl, const struct image_hash *hashes, size_t n,
			  struct objstore *st, imgclient_progress_fn progress, void *arg, char *err,
			  size_t errsz)
{
	size_t *idx = calloc(n ? n : 1, sizeof(*idx)), k = 0;
	uint64_t *sizes = calloc(n ? n : 1, sizeof(*sizes)), total = 0, done = 0;
	struct get_reader g = {.done = &done, .progress = progress, .arg = arg};
	int rc = -ENOMEM;

	if (idx == NULL || sizes == NULL) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t sz;

		if (objstore_stat(st, &hashes[i], &sz) == 0)
			continue;
		idx[k++] = i;
	}
	/* The sizes give the progress its total. */
	for (size_t off = 0; off < k; off += GET_BATCH) {
		size_t m = k - off < GET_BATCH ? k - off : GET_BATCH;
		struct image_hash *hs = malloc(m * sizeof(*hs));

		if (hs == NULL)
			goto out;
		for (size_t i = 0; i < m; i++)
			hs[i] = hashes[idx[off + i]];
		rc = imgclient_check_objects(cl, hs, m, sizes + off);
		free(hs);
		if (rc < 0) {
			snprintf(err, errsz, "%s", srpc_client_error(cl));
			goto out;
		}
	}
	for (size_t i = 0; i < k; i++)
		total += sizes[i];
	g.total = total;
	for (size_t off = 0; off < k; off += GET_BATCH) {
		size_t m = k - off < GET_BATCH ? k - off : GET_BATCH;

		rc = get_batch(cl, hashes, idx + off, m, st, &g, err, errsz);
		if (rc < 0)
			goto out;
	}
	rc = 0;
out:
	free(idx);
	free(sizes);
	return rc;
}
