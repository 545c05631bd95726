/* ObjectServer.* methods (see methods.h): objects go to and come from the objstore in
 * chunks, never whole in memory. AddObjects: {"Length","ExpectedHash"} then the bytes,
 * repeated until a Length of 0; one {"ErrorString","Hash","Added"} per object, sent
 * buffered (the original's order), none after the first failure. GetObjects:
 * {"Exclusive","Hashes"}, then {"ResponseString","ObjectSizes"} and the bytes
 * back-to-back. */
#include "daemon/imageserver/methods.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "log.h"

#define CHUNK (256u << 10)
#define MAX_OBJECT_SIZE (1ULL << 40)
/* Hashes named by one CheckObjects or GetObjects request (clients send batches). */
#define MAX_HASHES 100000

static int check_objects(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	struct methods *m = arg;
	json_t *hashes = sjson_lookup(req, "Hashes"), *sizes;
	size_t i;
	json_t *v;

	if (hashes != NULL && !json_is_array(hashes) && !json_is_null(hashes))
		return srpc_call_errorf(call, "Hashes: expected an array");
	if (json_array_size(hashes) > MAX_HASHES)
		return srpc_call_errorf(call, "Hashes: %zu hashes, at most %d in one request",
					json_array_size(hashes), MAX_HASHES);
	sizes = json_array();
	if (sizes == NULL)
		return -ENOMEM;
	json_array_foreach(hashes, i, v)
	{
		struct image_hash h;
		uint64_t sz = 0;

		if (!json_is_string(v) || image_hash_parse(json_string_value(v), &h) < 0) {
			json_decref(sizes);
			return srpc_call_errorf(call, "Hashes[%zu]: not a 128-digit hex hash", i);
		}
		if (objstore_stat(m->s->os, &h, &sz) == 0)
			store_object_added(m->s, &h, sz, false); /* an AddImage may follow */
		json_array_append_new(sizes, json_integer((json_int_t)sz));
	}
	*resp = json_pack("{s:o}", "ObjectSizes", sizes);
	return *resp != NULL ? 0 : -ENOMEM;
}

/* The bytes of one object as objstore_add reads them: at most left, from the call. */
struct add_reader {
	struct srpc_conn *c;
	uint64_t left;
	int err; /* a read failure: the stream is lost */
};

static ssize_t add_read(void *arg, void *buf, size_t len)
{
	struct add_reader *r = arg;
	ssize_t n;

	if (r->left == 0)
		return 0;
	if (len > r->left)
		len = (size_t)r->left;
	n = srpc_conn_read_some(r->c, buf, len);
	if (n < 0)
		r->err = (int)n;
	else if (n == 0)
		r->err = -ECONNRESET;
	else
		r->left -= (uint64_t)n;
	return n;
}

/* Reads and drops what is left of an object that failed. */
static int skip_bytes(struct add_reader *r)
{
	char buf[16384];

	while (r->left > 0) {
		ssize_t n = add_read(r, buf, sizeof(buf));

		if (n <= 0)
			return r->err;
	}
	return 0;
}

/* One AddObjectResponse, buffered: the buffer goes out when full or at the end, as the
 * original's buffered encoder does. Its Hash is a value in Go, so a failure carries the
 * zero hash, not null. */
static int reply(struct srpc_conn *c, const char *err, const char *hex, bool added)
{
	char zero[IMAGE_HASH_HEXLEN + 1];
	json_t *r;

	if (hex == NULL) {
		memset(zero, '0', IMAGE_HASH_HEXLEN);
		zero[IMAGE_HASH_HEXLEN] = '\0';
		hex = zero;
	}
	r = json_pack("{s:s, s:s, s:b}", "ErrorString", err, "Hash", hex, "Added", added);
	int rc = r != NULL ? srpc_conn_write_json(c, r) : -ENOMEM;

	json_decref(r);
	return rc;
}

static int add_objects(struct srpc_call *call, void *arg)
{
	struct methods *m = arg;
	struct srpc_conn *c = srpc_call_conn(call);
	const char *user = srpc_call_auth(call)->username;
	char err[1024] = "", hex[IMAGE_HASH_HEXLEN + 1];
	uint64_t nadded = 0, nobj = 0, bytes = 0;
	bool failed = false;
	int rc = 0;

	for (;;) {
		struct add_reader r = {.c = c};
		struct image_hash want, got;
		json_t *req, *eh;
		json_int_t len;
		bool added = false;

		if ((rc = srpc_conn_read_json(c, &req)) < 0)
			goto out;
		len = json_integer_value(sjson_lookup(req, "Length"));
		eh = sjson_lookup(req, "ExpectedHash");
		if (len < 1) {
			json_decref(req);
			break;
		}
		r.left = (uint64_t)len;
		if (failed) { /* after a failure only keep in step until the end */
			json_decref(req);
			if ((rc = skip_bytes(&r)) < 0)
				goto out;
			continue;
		}
		if ((uint64_t)len > MAX_OBJECT_SIZE) {
			snprintf(err, sizeof(err), "object of %lld bytes refused", (long long)len);
			rc = -EFBIG;
		} else if (eh != NULL && !json_is_null(eh) &&
			   (!json_is_string(eh) ||
			    image_hash_parse(json_string_value(eh), &want) < 0)) {
			snprintf(err, sizeof(err), "ExpectedHash: not a 128-digit hex hash");
			rc = -EINVAL;
		} else {
			rc = objstore_add(m->s->os, add_read, &r, (uint64_t)len,
					  eh != NULL && !json_is_null(eh) ? &want : NULL, &got,
					  &added, err, sizeof(err));
		}
		json_decref(req);
		if (r.err < 0) {
			rc = r.err; /* the client went away mid-object: nothing was kept */
			goto out;
		}
		bytes += (uint64_t)len - r.left;
		atomic_fetch_add(&m->s->bytes_received, (uint64_t)len - r.left);
		if (rc < 0) {
			failed = true;
			if ((rc = skip_bytes(&r)) < 0)
				goto out;
			log_warn("AddObjects from %s: %s", user, err);
			if ((rc = reply(c, err, NULL, false)) < 0)
				goto out;
			continue;
		}
		store_object_added(m->s, &got, (uint64_t)len, added);
		nobj++;
		nadded += added;
		image_hash_hex(&got, hex);
		if ((rc = reply(c, "", hex, added)) < 0)
			goto out;
	}
	rc = srpc_conn_flush(c);
	log_info("AddObjects from %s: %llu of %llu objects new, %llu bytes received%s", user,
		 (unsigned long long)nadded, (unsigned long long)nobj, (unsigned long long)bytes,
		 failed ? " (then failed)" : "");
out:
	return rc;
}

static void get_acquire(struct methods *m)
{
	pthread_mutex_lock(&m->get_mu);
	while (atomic_load(&m->s->gets_in_flight) >= m->max_concurrent_gets)
		pthread_cond_wait(&m->get_cv, &m->get_mu);
	atomic_fetch_add(&m->s->gets_in_flight, 1);
	pthread_mutex_unlock(&m->get_mu);
}

static void get_release(struct methods *m)
{
	pthread_mutex_lock(&m->get_mu);
	atomic_fetch_sub(&m->s->gets_in_flight, 1);
	pthread_cond_signal(&m->get_cv);
	pthread_mutex_unlock(&m->get_mu);
}

/* Sends one object's bytes: exactly size of them, or fails (the stream is then lost). */
static int send_object(struct methods *m, struct srpc_conn *c, const struct image_hash *h,
		       uint64_t size, char *buf)
{
	uint64_t have, left = size;
	int fd = objstore_open_object(m->s->os, h, &have), rc = 0;

	if (fd < 0)
		return fd;
	if (have != size) {
		close(fd);
		return -ESTALE;
	}
	while (rc == 0 && left > 0) {
		ssize_t n = read(fd, buf, left < CHUNK ? (size_t)left : CHUNK);

		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		rc = srpc_conn_write(c, buf, (size_t)n);
		left -= (uint64_t)n;
		atomic_fetch_add(&m->s->bytes_served, (uint64_t)n);
	}
	close(fd);
	return rc;
}

static int get_objects(struct srpc_call *call, void *arg)
{
	struct methods *m = arg;
	struct srpc_conn *c = srpc_call_conn(call);
	char hex[IMAGE_HASH_HEXLEN + 1], msg[512] = "";
	struct image_hash *hs = NULL;
	uint64_t *sizes = NULL;
	json_t *req, *hashes, *jsizes = NULL, *resp, *v;
	char *buf = NULL;
	size_t n, i;
	int rc;

	if ((rc = srpc_conn_read_json(c, &req)) < 0)
		return rc;
	get_acquire(m);
	hashes = sjson_lookup(req, "Hashes");
	n = json_array_size(hashes);
	hs = calloc(n ? n : 1, sizeof(*hs));
	sizes = calloc(n ? n : 1, sizeof(*sizes));
	jsizes = json_array();
	buf = malloc(CHUNK);
	if (hs == NULL || sizes == NULL || jsizes == NULL || buf == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if (n > MAX_HASHES)
		snprintf(msg, sizeof(msg), "Hashes: %zu hashes, at most %d in one request", n,
			 MAX_HASHES);
	json_array_foreach(hashes, i, v)
	{
		if (msg[0] != '\0')
			break;
		if (!json_is_string(v) || image_hash_parse(json_string_value(v), &hs[i]) < 0) {
			snprintf(msg, sizeof(msg), "Hashes[%zu]: not a 128-digit hex hash", i);
			break;
		}
		if (objstore_stat(m->s->os, &hs[i], &sizes[i]) < 0) {
			image_hash_hex(&hs[i], hex);
			snprintf(msg, sizeof(msg), "unknown object: %s", hex);
			break;
		}
		json_array_append_new(jsizes, json_integer((json_int_t)sizes[i]));
	}
	if (msg[0] != '\0') {
		resp = json_pack("{s:s, s:n}", "ResponseString", msg, "ObjectSizes");
		n = 0;
	} else {
		resp = json_pack("{s:s, s:O}", "ResponseString", "", "ObjectSizes", jsizes);
	}
	rc = resp != NULL ? srpc_conn_write_json(c, resp) : -ENOMEM;
	json_decref(resp);
	for (i = 0; rc == 0 && i < n; i++) {
		rc = send_object(m, c, &hs[i], sizes[i], buf);
		if (rc < 0) {
			image_hash_hex(&hs[i], hex);
			log_error("GetObjects: object %s: %s", hex, strerror(-rc));
		}
	}
	if (rc == 0)
		rc = srpc_conn_flush(c);
out:
	get_release(m);
	json_decref(req);
	json_decref(jsizes);
	free(hs);
	free(sizes);
	free(buf);
	return rc;
}

int methods_register_objects(struct srpc_server *srv, struct methods *m)
{
	const unsigned pub = SRPC_ACCESS_PUBLIC;
	const struct srpc_method v[] = {
	    {"ObjectServer.CheckObjects", SRPC_RR, pub, check_objects, NULL, m, NULL},
	    {"ObjectServer.AddObjects", SRPC_STREAM, 0, NULL, add_objects, m, NULL},
	    {"ObjectServer.GetObjects", SRPC_STREAM, pub, NULL, get_objects, m, NULL},
	};
	int rc = 0;

	pthread_mutex_init(&m->get_mu, NULL);
	pthread_cond_init(&m->get_cv, NULL);
	for (size_t i = 0; rc == 0 && i < sizeof(v) / sizeof(v[0]); i++)
		rc = srpc_server_register(srv, &v[i]);
	return rc;
}
