/* Client calls of the Hypervisor service (see hvclient.h). */
#include "api/hvclient.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* Decodes one reply; a non-empty Error is the failure. */
static int decode_reply(json_t *j, const struct api_type *resp_t, void *resp, char *err,
			size_t errsz)
{
	const char *remote = json_string_value(sjson_lookup(j, "Error"));
	char *msg = NULL;
	int rc;

	if (remote != NULL && *remote != '\0') {
		snprintf(err, errsz, "%s", remote);
		return -EREMOTEIO;
	}
	rc = api_decode_msg(resp_t, j, "reply", resp, &msg);
	if (rc < 0)
		snprintf(err, errsz, "%s", msg != NULL ? msg : strerror(-rc));
	free(msg);
	return rc;
}

int hvclient_call(struct srpc_client *cl, const char *method, const struct api_type *req_t,
		  const void *req, const struct api_type *resp_t, void *resp, char *err,
		  size_t errsz)
{
	json_t *jreq = NULL, *jresp = NULL;
	int rc;

	memset(resp, 0, resp_t->size);
	if (req_t != NULL && (jreq = api_encode(req_t, req)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	rc = srpc_client_call(cl, method, jreq, &jresp);
	json_decref(jreq);
	if (rc < 0) {
		snprintf(err, errsz, "%s", srpc_client_error(cl));
		return rc;
	}
	rc = decode_reply(jresp, resp_t, resp, err, errsz);
	json_decref(jresp);
	return rc;
}

int hvclient_start(struct srpc_client *cl, const char *method, const struct api_type *req_t,
		   const void *req, const struct api_type *resp_t, void *resp, char *err,
		   size_t errsz)
{
	struct srpc_conn *conn;
	json_t *j;
	int rc;

	memset(resp, 0, resp_t->size);
	rc = srpc_client_start(cl, method);
	if (rc < 0) {
		snprintf(err, errsz, "%s", srpc_client_error(cl));
		return rc;
	}
	conn = srpc_client_conn(cl);
	j = api_encode(req_t, req);
	if (j == NULL) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	rc = srpc_conn_write_json(conn, j);
	json_decref(j);
	if (rc == 0)
		rc = srpc_conn_flush(conn);
	if (rc == 0)
		rc = srpc_conn_read_json(conn, &j);
	if (rc < 0) {
		snprintf(err, errsz, "%s", rc == -ECONNRESET ? "connection closed" : strerror(-rc));
		return rc;
	}
	rc = decode_reply(j, resp_t, resp, err, errsz);
	json_decref(j);
	return rc;
}

int hvclient_get_vm_volume(struct srpc_client *cl, const struct hvapi_get_vm_volume_request *req,
			   int reader_fd, int writer_fd, uint64_t size, uint64_t reader_bytes,
			   struct hvapi_get_vm_volume_response *resp, struct rsync_stats *st,
			   char *err, size_t errsz)
{
	int rc = hvclient_start(cl, HVAPI_M_GET_VM_VOLUME, &hvapi_get_vm_volume_request_type, req,
				&hvapi_get_vm_volume_response_type, resp, err, errsz);

	if (rc < 0)
		return rc;
	rc = rsync_get_blocks(srpc_client_conn(cl), reader_fd, writer_fd, size, reader_bytes, st,
			      err, errsz);
	if (rc < 0)
		api_clear(&hvapi_get_vm_volume_response_type, resp);
	return rc;
}
