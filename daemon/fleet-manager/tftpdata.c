/* tftpdata: the /tftpdata/ pages for installers (see tftpdata.h). */
#include "daemon/fleet-manager/tftpdata.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology.h"

#define PREFIX "/tftpdata/"

static int answer(struct http_answer *a, unsigned status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int answer(struct http_answer *a, unsigned status, const char *type, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&a->body, fmt, ap);
	va_end(ap);
	if (n < 0) {
		a->body = NULL;
		return -ENOMEM;
	}
	a->status = status;
	a->type = type;
	a->len = (size_t)n;
	return 0;
}

static int answer_json(struct http_answer *a, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_INDENT(4)) : NULL;
	int rc;

	json_decref(j);
	if (s == NULL)
		return -ENOMEM;
	rc = answer(a, 200, HTTP_TYPE_JSON, "%s\n", s);
	free(s);
	return rc;
}

static const char *arg(const struct tftpdata_arg *args, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(args[i].key, key) == 0)
			return args[i].value ? args[i].value : "";
	return NULL;
}

/* A MAC as the spec writes them: six groups of one or two hex digits, ':' or '-'. */
static bool parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		unsigned v = 0;
		int nd = 0;

		while (nd < 2 && ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
				  (*s >= 'A' && *s <= 'F'))) {
			v = v * 16 + (unsigned)(*s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10);
			s++;
			nd++;
		}
		if (nd == 0)
			return false;
		mac[i] = (uint8_t)v;
		if (i < 5 && *s != ':' && *s != '-')
			return false;
		if (i < 5)
			s++;
	}
	return *s == '\0';
}

static const struct topo_machine *by_serial(struct tftpdata *td, const struct topology *t,
					    const char *serial)
{
	const struct topo_machine *tm = NULL;
	struct hv_status *l = NULL;
	size_t n = hypervisors_list(td->fm->hs, "", &l);

	for (size_t i = 0; tm == NULL && i < n; i++)
		if (*api_str(l[i].serial_number) != '\0' && strcmp(l[i].serial_number, serial) == 0)
			tm = topology_find_hostname(t, l[i].hostname);
	hv_status_list_free(l, n);
	return tm;
}

/* The machine of the request, NULL when none matches; *why set for a malformed query. */
static const struct topo_machine *identify(struct tftpdata *td, const struct topology *t,
					   const struct tftpdata_arg *args, size_t nargs,
					   const struct in_addr *peer, const char **why)
{
	const char *v;
	struct in_addr ip;
	uint8_t mac[6];
	const struct topo_machine *tm = NULL;

	*why = NULL;
	/* An explicit hostname= or ip= decides: an unknown one must not get the caller
	 * another machine's configuration. */
	if ((v = arg(args, nargs, "hostname")) != NULL) {
		if (*v == '\0')
			*why = "empty hostname= value";
		return *v ? topology_find_hostname(t, v) : NULL;
	}
	if ((v = arg(args, nargs, "ip")) != NULL) {
		if (inet_pton(AF_INET, v, &ip) != 1) {
			*why = "ip= is not an IPv4 address";
			return NULL;
		}
		return topology_find_ip(t, ip);
	}
	/* A serial number is only known once the machine's hypervisor reported it: an
	 * unknown one falls through to the caller's address and the MACs. */
	if ((v = arg(args, nargs, "serial_number")) != NULL && *v != '\0')
		tm = by_serial(td, t, v);
	if (tm == NULL && peer != NULL)
		tm = topology_find_ip(t, *peer);
	for (size_t i = 0; tm == NULL && i < nargs; i++) {
		if (strcmp(args[i].key, "mac") != 0)
			continue;
		if (args[i].value == NULL || !parse_mac(args[i].value, mac)) {
			*why = "mac= is not a MAC address (aa:bb:cc:dd:ee:ff)";
			return NULL;
		}
		tm = topology_find_mac(t, mac);
	}
	return tm;
}

static int config_json(struct tftpdata *td, const struct topo_machine *tm, struct http_answer *a)
{
	struct fmapi_get_machine_info_response p = {0};
	int rc = fm_machine_info(td->fm, api_str(tm->m.net.hostname), &p);
	json_t *j;

	if (rc < 0) {
		fmapi_get_machine_info_response_clear(&p);
		return answer(a, 404, HTTP_TYPE_TEXT, "no such machine\n");
	}
	j = fmapi_get_machine_info_response_to_json(&p);
	fmapi_get_machine_info_response_clear(&p);
	return answer_json(a, j);
}

static int imagename(struct tftpdata *td, const struct topo_machine *tm, struct http_answer *a)
{
	struct fmapi_machine m;
	const char *image;
	int rc;

	if (machines_get(td->fm->ms, api_str(tm->m.net.hostname), &m) < 0)
		return answer(a, 404, HTTP_TYPE_TEXT, "no such machine\n");
	image = hvapi_tags_get(&m.tags, "RequiredImage");
	if (image == NULL || *image == '\0')
		rc = answer(a, 404, HTTP_TYPE_TEXT, "%s has no RequiredImage tag\n",
			    api_str(tm->m.net.hostname));
	else
		rc = answer(a, 200, HTTP_TYPE_TEXT, "%s\n", image);
	fmapi_machine_clear(&m);
	return rc;
}

int tftpdata_answer(struct tftpdata *td, const char *path, const struct tftpdata_arg *args,
		    size_t nargs, const struct in_addr *peer, struct http_answer *a)
{
	struct topology *t;
	const struct topo_machine *tm;
	const char *why;
	int rc;

	__atomic_add_fetch(&td->requests, 1, __ATOMIC_RELAXED);
	memset(a, 0, sizeof(*a));
	if (strcmp(path, "imageserver") == 0) {
		if (td->image_server_hostname == NULL || *td->image_server_hostname == '\0')
			return answer(a, 404, HTTP_TYPE_TEXT, "no image server configured\n");
		return answer(a, 200, HTTP_TYPE_TEXT, "%s:%d\n", td->image_server_hostname,
			      td->image_server_port);
	}
	if (strcmp(path, "config.json") != 0 && strcmp(path, "imagename") != 0 &&
	    strcmp(path, "storage-layout.json") != 0)
		return answer(a, 404, HTTP_TYPE_TEXT, "404 page not found\n");
	t = machines_topology(td->fm->ms);
	if (t == NULL)
		return answer(a, 503, HTTP_TYPE_TEXT, "no topology loaded\n");
	tm = identify(td, t, args, nargs, peer, &why);
	if (why != NULL) {
		__atomic_add_fetch(&td->bad, 1, __ATOMIC_RELAXED);
		rc = answer(a, 400, HTTP_TYPE_TEXT, "bad request: %s\n", why);
	} else if (tm == NULL) {
		__atomic_add_fetch(&td->not_found, 1, __ATOMIC_RELAXED);
		rc = answer(a, 404, HTTP_TYPE_TEXT,
			    "no machine matches (hostname=, ip=, serial_number=, the caller's "
			    "address, mac=)\n");
	} else if (strcmp(path, "config.json") == 0) {
		rc = config_json(td, tm, a);
	} else if (strcmp(path, "imagename") == 0) {
		rc = imagename(td, tm, a);
	} else if (tm->storage_layout == NULL) {
		rc = answer(a, 404, HTTP_TYPE_TEXT, "no install-config.json for %s\n",
			    api_str(tm->m.net.hostname));
	} else {
		rc = answer_json(a, json_deep_copy(tm->storage_layout));
	}
	topology_unref(t);
	return rc;
}

struct arg_list {
	struct tftpdata_arg v[32];
	size_t n;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct arg_list *l = cls;

	(void)kind;
	if (l->n < sizeof(l->v) / sizeof(l->v[0]))
		l->v[l->n++] = (struct tftpdata_arg){key, value};
	return MHD_YES;
}

enum MHD_Result tftpdata_http(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct tftpdata *td = cls;
	const union MHD_ConnectionInfo *ci;
	struct in_addr peer, *pp = NULL;
	struct arg_list args = {.n = 0};
	struct http_answer a;

	if (strncmp(url, PREFIX, strlen(PREFIX)) != 0 ||
	    (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0))
		return http_handler((void *)td->routes, c, url, method, version, upload_data,
				    upload_data_size, con_cls);
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && ci->client_addr->sa_family == AF_INET) {
		peer = ((const struct sockaddr_in *)ci->client_addr)->sin_addr;
		pp = &peer;
	} else if (ci != NULL && ci->client_addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ci->client_addr;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			memcpy(&peer, &s6->sin6_addr.s6_addr[12], 4);
			pp = &peer;
		}
	}
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &args);
	if (tftpdata_answer(td, url + strlen(PREFIX), args.v, args.n, pp, &a) < 0)
		return MHD_NO;
	return http_queue_answer(c, &a);
}
