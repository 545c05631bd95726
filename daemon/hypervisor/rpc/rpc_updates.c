/* GetUpdates (rpc.md §6): the full state first, then coalesced changes from the
 * updates feed, heartbeats in between; the stream has no defined end. */
#include "daemon/hypervisor/rpc/rpc.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/hypervisor/rpc/updates.h"
#include "log.h"

#define HEARTBEAT_MS (15 * 60 * 1000)
#define BATCH_US 10000

/* ---- GetUpdates ---- */

static int send_update(struct srpc_call *call, struct hvapi_update *u)
{
	int rc = rpc_write(call, &hvapi_update_type, u);

	api_clear(&hvapi_update_type, u);
	return rc;
}

/* A client message: an empty GetUpdatesRequest or one registering external leases,
 * which become the managed set (an error is only logged, as in the original: the
 * reply is the heartbeat either way). */
static int client_message(struct rpc *r, struct srpc_call *call)
{
	struct hvapi_get_updates_request q = {0};
	struct hvapi_update hb;
	char err[256];
	int rc = rpc_read_request(call, &hvapi_get_updates_request_type, &q, NULL);

	if (rc < 0)
		return rc;
	if (q.register_external_leases != NULL &&
	    rpc_external_leases_set(r, q.register_external_leases, call,
				    srpc_call_auth(call)->username, err, sizeof(err)) < 0)
		log_error("GetUpdates: external leases from %s: %s", srpc_call_auth(call)->username,
			  err);
	api_clear(&hvapi_get_updates_request_type, &q);
	updates_heartbeat(&hb);
	return send_update(call, &hb);
}

static int get_updates(struct srpc_call *call, void *arg)
{
	struct rpc *r = arg;
	struct srpc_conn *conn = srpc_call_conn(call);
	struct vm_caller c = rpc_caller(call);
	struct updates_sub *s =
	    updates_subscribe(r->updates, &c, c.admin || r->cfg->allow_unauthenticated_reads);
	struct hvapi_update u;
	int rc;

	if (s == NULL)
		return -ENOMEM;
	srpc_conn_set_timeout(conn, 60000);
	updates_next(r->updates, s, true, &u);
	rc = send_update(call, &u);
	while (rc == 0) {
		struct pollfd p[2] = {{.fd = srpc_conn_fd(conn), .events = POLLIN},
				      {.fd = updates_sub_fd(s), .events = POLLIN}};
		int n = srpc_conn_pending(conn) ? 1 : poll(p, 2, HEARTBEAT_MS);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0) {
			updates_heartbeat(&u);
			rc = send_update(call, &u);
			continue;
		}
		if (srpc_conn_pending(conn) || (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			rc = client_message(r, call);
			if (rc == -ECONNRESET) {
				rc = 0; /* the client hung up: a clean end */
				break;
			}
			continue;
		}
		if (p[1].revents & POLLIN) {
			usleep(BATCH_US); /* let a burst of changes gather */
			if (updates_next(r->updates, s, false, &u) > 0)
				rc = send_update(call, &u);
			else
				api_clear(&hvapi_update_type, &u);
		}
	}
	updates_unsubscribe(r->updates, s);
	rpc_external_leases_stream_end(r, call);
	return -ECONNRESET; /* the stream has no defined end: close the connection */
}

const struct rpc_method rpc_updates_methods[] = {
    {.name = HVAPI_M_GET_UPDATES, .stream = get_updates},
    {NULL},
};
