/* srpc-testd: a small SRPC + HTTP server on one port for tests/integration/srpc.sh and
 * bench/srpc: Test.Echo (grant needed), Test.Public, Test.Stream, Test.Big,
 * Test.Unauth, Test.Loopback, Test.Fail, and an HTTP page at "/". */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flags.h"
#include "listener.h"
#include "srpc.h"

static struct flags_list owners;

static json_t *strv_json(char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static int echo(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	(void)call;
	(void)arg;
	*resp = json_deep_copy(req);
	return *resp != NULL ? 0 : -ENOMEM;
}

static int whoami(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	const struct srpc_auth *a = srpc_call_auth(call);

	(void)req;
	(void)arg;
	*resp =
	    json_pack("{s:s, s:o, s:o, s:b, s:b, s:b, s:b, s:s}", "Username", a->username, "Groups",
		      strv_json(a->groups, a->n_groups), "Grants",
		      strv_json(a->grants, a->n_grants), "IsAdmin", a->is_admin, "Tls", a->tls,
		      "Loopback", a->loopback, "MethodPowers", a->method_powers, "Peer", a->peer);
	return *resp != NULL ? 0 : -ENOMEM;
}

static int fail(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	(void)req;
	(void)resp;
	(void)arg;
	return srpc_call_errorf(call, "it failed on purpose");
}

static int big(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	(void)call;
	(void)arg;
	*resp = json_pack("{s:I}", "Length",
			  (json_int_t)json_string_length(json_object_get(req, "Data")));
	return *resp != NULL ? 0 : -ENOMEM;
}

static unsigned char pattern(size_t i, unsigned seed)
{
	return (unsigned char)((i * 7 + seed) % 251);
}

/* → {Count, RawSize}; ← Count messages {Seq}, RawSize raw bytes; → RawSize raw bytes;
 * ← {Ok}. */
static int stream(struct srpc_call *call, void *arg)
{
	struct srpc_conn *c = srpc_call_conn(call);
	unsigned char buf[8192];
	json_t *req, *msg;
	json_int_t count, raw, i;
	size_t done = 0, k, j;
	bool ok = true;
	int rc;

	(void)arg;
	if ((rc = srpc_conn_read_json(c, &req)) < 0)
		return rc;
	count = json_integer_value(json_object_get(req, "Count"));
	raw = json_integer_value(json_object_get(req, "RawSize"));
	json_decref(req);
	for (i = 0; i < count; i++) {
		msg = json_pack("{s:I, s:s}", "Seq", i, "Text", "stream message");
		rc = srpc_conn_write_json(c, msg);
		json_decref(msg);
		if (rc < 0)
			return rc;
	}
	while (done < (size_t)raw) {
		k = (size_t)raw - done < sizeof(buf) ? (size_t)raw - done : sizeof(buf);
		for (j = 0; j < k; j++)
			buf[j] = pattern(done + j, 1);
		if ((rc = srpc_conn_write(c, buf, k)) < 0)
			return rc;
		done += k;
	}
	if ((rc = srpc_conn_flush(c)) < 0)
		return rc;
	for (done = 0; done < (size_t)raw; done += k) {
		k = (size_t)raw - done < sizeof(buf) ? (size_t)raw - done : sizeof(buf);
		if ((rc = srpc_conn_read(c, buf, k)) < 0)
			return rc;
		for (j = 0; j < k; j++)
			ok &= buf[j] == pattern(done + j, 2);
	}
	msg = json_pack("{s:b}", "Ok", ok);
	rc = srpc_conn_write_json(c, msg);
	json_decref(msg);
	return rc;
}

/* Hook: the listed owners get Test.Echo (and only that), like hypervisor owners. */
static bool owner_hook(const struct srpc_auth *auth, const char *service, const char *method,
		       void *arg)
{
	size_t i;

	(void)service;
	(void)arg;
	if (strcmp(method, "Echo") != 0)
		return false;
	for (i = 0; i < owners.n; i++) {
		if (strcmp(owners.v[i], auth->username) == 0)
			return true;
	}
	return false;
}

static enum MHD_Result page(void *cls, struct MHD_Connection *c, const char *url,
			    const char *method, const char *version, const char *upload_data,
			    size_t *upload_data_size, void **con_cls)
{
	static const char body[] = "srpc-testd page\n";
	struct MHD_Response *r;
	enum MHD_Result ret;
	bool root = strcmp(url, "/") == 0;

	(void)cls;
	(void)method;
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	r = MHD_create_response_from_buffer(root ? sizeof(body) - 1 : 0, (void *)body,
					    MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	ret = MHD_queue_response(c, root ? 200 : 404, r);
	MHD_destroy_response(r);
	return ret;
}

static const struct srpc_method methods[] = {
    {"Test.Echo", SRPC_RR, 0, echo, NULL, NULL, NULL},
    {"Test.Public", SRPC_RR, SRPC_ACCESS_PUBLIC, whoami, NULL, NULL, NULL},
    {"Test.Big", SRPC_RR, SRPC_ACCESS_PUBLIC, big, NULL, NULL, NULL},
    {"Test.Fail", SRPC_RR, SRPC_ACCESS_PUBLIC, fail, NULL, NULL, NULL},
    {"Test.Unauth", SRPC_RR, SRPC_ACCESS_UNAUTH, whoami, NULL, NULL, NULL},
    {"Test.Loopback", SRPC_RR, SRPC_ACCESS_PUBLIC | SRPC_ACCESS_LOOPBACK, whoami, NULL, NULL, NULL},
    {"Test.Stream", SRPC_STREAM, 0, NULL, stream, NULL, NULL},
};

int main(int argc, char **argv)
{
	const char *addr, *cert, *key, *ca, *idca, *port_file;
	struct flags_list trusted_users;
	char **trusted;
	struct srpc_server_config scfg = {0};
	struct tls_server_config tcfg;
	struct listener_config lcfg = {0};
	struct tls_server *tls = NULL;
	struct srpc_server *srv;
	struct listener *l;
	uint64_t max_message;
	int64_t handshake_ns;
	int max_conns;
	bool allow_unauth, plain;
	struct flags *fs = flags_new("srpc-testd", NULL);
	char err[512];
	sigset_t set;
	size_t i;
	int sig, rc;

	flags_string(fs, "addr", &addr, "127.0.0.1:0", "Address to listen on");
	flags_string(fs, "certFile", &cert, "", "Server certificate");
	flags_string(fs, "keyFile", &key, "", "Server key");
	flags_string(fs, "CAfile", &ca, "", "CA.pem: identity and method grants");
	flags_string(fs, "identityCAfile", &idca, "", "IdentityCA.pem: identity only");
	flags_string(fs, "portFile", &port_file, "", "Write the bound port here");
	flags_size(fs, "maxMessage", &max_message, 0, "Largest JSON message (0 = default)");
	flags_int(fs, "maxConns", &max_conns, 0, "Concurrent SRPC connections (0 = default)");
	flags_duration(fs, "handshakeTimeout", &handshake_ns, 0,
		       "CONNECT + TLS handshake limit (0 = default)");
	flags_bool(fs, "allowUnauthenticatedReads", &allow_unauth, false,
		   "Allow Test.Unauth without a certificate");
	flags_bool(fs, "plain", &plain, false, "No TLS at all");
	flags_strlist(fs, "srpcTrustedUsers", &trusted_users, "", "Users with every method");
	flags_strlist(fs, "owners", &owners, "", "Users granted Test.Echo by the service hook");
	flags_parse_or_exit(fs, argc, argv);

	signal(SIGPIPE, SIG_IGN);
	/* Block before any thread starts so that only sigwait receives them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (!plain) {
		tcfg = (struct tls_server_config){cert, key, ca, idca[0] != '\0' ? idca : NULL};
		if (tls_server_new(&tcfg, &tls, err, sizeof(err)) < 0) {
			fprintf(stderr, "srpc-testd: %s\n", err);
			return 1;
		}
	}
	scfg.tls = tls;
	scfg.allow_unauthenticated = allow_unauth;
	/* The server wants a NULL-terminated list. */
	trusted = calloc(trusted_users.n + 1, sizeof(char *));
	if (trusted == NULL)
		return 1;
	for (i = 0; i < trusted_users.n; i++)
		trusted[i] = trusted_users.v[i];
	scfg.trusted_users = trusted;
	scfg.max_message = (size_t)max_message;
	scfg.max_conns = max_conns > 0 ? (unsigned)max_conns : 0;
	scfg.handshake_timeout_ms = (int)(handshake_ns / 1000000);
	scfg.hostname = "srpc-testd.example";
	srv = srpc_server_new(&scfg);
	if (srv == NULL)
		return 1;
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if ((rc = srpc_server_register(srv, &methods[i])) < 0) {
			fprintf(stderr, "srpc-testd: register %s: %s\n", methods[i].name,
				strerror(-rc));
			return 1;
		}
	}
	srpc_server_set_grant_hook(srv, "Test", owner_hook, NULL);
	lcfg.addr = addr;
	lcfg.srpc = srv;
	lcfg.http = page;
	if (listener_start(&lcfg, &l, err, sizeof(err)) < 0) {
		fprintf(stderr, "srpc-testd: %s\n", err);
		return 1;
	}
	if (port_file[0] != '\0') {
		FILE *f = fopen(port_file, "w");

		if (f == NULL || fprintf(f, "%d\n", listener_port(l)) < 0 || fclose(f) != 0) {
			fprintf(stderr, "srpc-testd: write %s: %s\n", port_file, strerror(errno));
			return 1;
		}
	}
	printf("srpc-testd listening on port %d\n", listener_port(l));
	fflush(stdout);

	sigwait(&set, &sig);
	listener_stop(l);
	for (i = 0; i < 200 && srpc_server_nconns(srv) > 0; i++)
		usleep(10000);
	if (srpc_server_nconns(srv) > 0)
		return 0; /* connections still running borrow srv */
	srpc_server_free(srv);
	tls_server_free(tls);
	free(trusted);
	flags_free(fs);
	return 0;
}
