/* imagetool verify: ObjectServer.GetObjects (spec/fleet-and-images.md §5) read only to
 * hash every object, nothing stored, so `check` can name every corrupted object of an
 * image instead of stopping at the first as a store would. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imagetool.h"
#include "json.h"

#define VERIFY_BATCH 1000
#define VERIFY_BUF (256u << 10)

/* One GetObjects call for hashes[0..n). */
static int verify_batch(struct imgtool *t, const struct image_hash *hashes, const uint64_t *sizes,
			size_t n, bool *bad, uint8_t *buf, struct image_hasher *hs,
			struct imgtool_progress *p, char *err, size_t errsz)
{
	json_t *req = json_object(), *list = json_array(), *resp = NULL, *jsizes;
	struct srpc_conn *conn;
	const char *rs;
	int rc, nbad = 0;

	if (!req || !list) {
		json_decref(req);
		json_decref(list);
		return -ENOMEM;
	}
	json_object_set_new(req, "Exclusive", json_false());
	json_object_set_new(req, "Hashes", list);
	for (size_t i = 0; i < n; i++) {
		char hex[IMAGE_HASH_HEXLEN + 1];
		image_hash_hex(&hashes[i], hex);
		if (json_array_append_new(list, json_string(hex)) < 0) {
			json_decref(req);
			return -ENOMEM;
		}
	}
	rc = srpc_client_start(t->client, "ObjectServer.GetObjects");
	if (rc < 0) {
		snprintf(err, errsz, "%s", srpc_client_error(t->client));
		json_decref(req);
		return rc;
	}
	conn = srpc_client_conn(t->client);
	rc = srpc_conn_write_json(conn, req);
	json_decref(req);
	if (rc == 0)
		rc = srpc_conn_flush(conn);
	if (rc == 0)
		rc = srpc_conn_read_json(conn, &resp);
	if (rc < 0) {
		snprintf(err, errsz, "%s: GetObjects: %s", t->addr, strerror(-rc));
		return rc;
	}
	rs = json_string_value(sjson_lookup(resp, "ResponseString"));
	if (rs && *rs) {
		snprintf(err, errsz, "%s", rs);
		json_decref(resp);
		return -EREMOTEIO;
	}
	jsizes = sjson_lookup(resp, "ObjectSizes");
	if (!json_is_array(jsizes) || json_array_size(jsizes) != n) {
		snprintf(err, errsz, "%s: GetObjects: reply has %zu sizes for %zu objects", t->addr,
			 json_is_array(jsizes) ? json_array_size(jsizes) : 0, n);
		json_decref(resp);
		return -EPROTO;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *js = json_array_get(jsizes, i);
		uint64_t left, size;
		struct image_hash got;
		char hex[IMAGE_HASH_HEXLEN + 1];

		if (!json_is_integer(js) || json_integer_value(js) < 0) {
			snprintf(err, errsz, "%s: GetObjects: bad size %zu", t->addr, i);
			json_decref(resp);
			return -EPROTO;
		}
		size = (uint64_t)json_integer_value(js);
		image_hash_hex(&hashes[i], hex);
		if (size != sizes[i]) {
			/* The stream still carries size bytes: read them to stay in step. */
			bad[i] = true;
			nbad++;
		}
		for (left = size; left > 0;) {
			size_t chunk = left < VERIFY_BUF ? (size_t)left : VERIFY_BUF;
			rc = srpc_conn_read(conn, buf, chunk);
			if (rc < 0) {
				snprintf(err, errsz, "%s: reading object %s: %s", t->addr, hex,
					 strerror(-rc));
				json_decref(resp);
				return rc;
			}
			image_hasher_update(hs, buf, chunk);
			left -= chunk;
			if (p)
				imgtool_progress_cb(p->done + chunk, p->total, p);
		}
		image_hasher_final(hs, &got);
		if (!bad[i] && !image_hash_equal(&got, &hashes[i])) {
			bad[i] = true;
			nbad++;
		}
	}
	json_decref(resp);
	return nbad;
}

int imgtool_verify_objects(struct imgtool *t, const struct image_hash *hashes,
			   const uint64_t *sizes, size_t n, bool *bad, struct imgtool_progress *p,
			   char *err, size_t errsz)
{
	struct image_hasher *hs = image_hasher_new();
	uint8_t *buf = malloc(VERIFY_BUF);
	int rc = 0, nbad = 0;

	if (!hs || !buf) {
		rc = -ENOMEM;
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	for (size_t off = 0; off < n; off += VERIFY_BATCH) {
		size_t k = n - off < VERIFY_BATCH ? n - off : VERIFY_BATCH;
		rc = verify_batch(t, hashes + off, sizes + off, k, bad + off, buf, hs, p, err,
				  errsz);
		if (rc < 0)
			goto out;
		nbad += rc;
	}
	rc = nbad;
out:
	free(buf);
	image_hasher_free(hs);
	return rc;
}
