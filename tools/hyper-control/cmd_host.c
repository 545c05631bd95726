/* hyper-control commands that talk to one hypervisor (spec/hyper-control.md §2): its
 * address pool and subnets, its disabled state, capacity, identity provider, public key,
 * locks, volume directories, external leases, and e-mail to the owners of its VMs. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "hyperctl.h"
#include "json.h"
#include "tls.h"

/* ---- argument parsing ---- */

static int parse_ip(const char *doing, const char *s, struct in_addr *out)
{
	if (inet_pton(AF_INET, s, out) != 1)
		return hc_fail(doing, "invalid IP address: %s", s);
	return 0;
}

static int parse_mac(const char *doing, const char *s, uint8_t mac[6])
{
	if (sjson_parse_mac(s, mac) < 0)
		return hc_fail(doing, "invalid MAC address: %s", s);
	return 0;
}

/* A hypervisor call whose reply is {Error} only. */
static int call_simple(struct hc *h, const struct hc_cmd *c, const char *method,
		       const struct api_type *req_t, const void *req)
{
	struct hvapi_error_response r;
	struct srpc_client *hv;

	if (hc_hypervisor(h, c->doing, &hv) ||
	    hc_call(hv, c->doing, method, req_t, req, &hvapi_error_response_type, &r))
		return 1;
	hvapi_error_response_clear(&r);
	return 0;
}

static int change_pool(struct hc *h, const struct hc_cmd *c,
		       struct hvapi_change_address_pool_request *q)
{
	return call_simple(h, c, HVAPI_M_CHANGE_ADDRESS_POOL,
			   &hvapi_change_address_pool_request_type, q);
}

/* ---- address pool ---- */

/* add-address MAC [IP]: an empty MAC with an IP is derived from it (52:54:a:b:c:d). */
static int cmd_add_address(struct hc *h, const struct hc_cmd *c, int argc, char *const argv[])
{
	struct hvapi_address a;
	struct hvapi_change_address_pool_request q;

	memset(&a, 0, sizeof(a));
	memset(&q, 0, sizeof(q));
	if (argc > 1 && parse_ip(c->doing, argv[1], &a.ip))
		return 1;
	if (*argv[0]) {
		if (parse_mac(c->doing, argv[0], a.mac))
			return 1;
	} else if (a.ip.s_addr != 0) {
		const uint8_t *b = (const uint8_t *)&a.ip.s_addr;
		a.mac[0] = 0x52;
		a.mac[1] = 0x54;
		memcpy(a.mac + 2, b, 4);
	} else {
		return hc_fail(c->doing, "no MAC address and no IP address");
	}
	q.addresses_to_add.n = 1;
	q.addresses_to_add.v = &a;
	return change_pool(h, c, &q);
}

static int cmd_remove_ip_address(struct hc *h, const struct hc_cmd *c, int argc, char *const argv[])
{
	struct hvapi_address a;
	struct hvapi_change_address_pool_request q;

	(void)argc;
	memset(&a, 0, sizeof(a));
	memset(&q, 0, sizeof(q));
	if (parse_ip(c->doing, argv[0], &a.ip))
		return 1;
	q.addresses_to_remove.n = 1;
	q.addresses_to_remove.v = &a;
	return change_pool(h, c, &q);
}

static int cmd_remove_mac_address(struct hc *h, const struct hc_cmd *c, int argc,
				  char *const argv[])
{
	struct hvapi_address a;
	struct hvapi_change_address_pool_request q;

	(void)argc;
	memset(&a, 0, sizeof(a));
	memset(&q, 0, sizeof(q));
	if (parse_mac(c->doing, argv[0], a.mac))
		return 1;
	q.addresses_to_remove.n = 1;
	q.addresses_to_remove.v = &a;
	return change_pool(h, c, &q);
}

static int cmd_remove_excess_addresses(struct hc *h, const struct hc_cmd *c, int argc,
				       char *const argv[])
{
	struct hvapi_change_address_pool_request q;
	struct hvapi_count n = {.key = (char *)""};
	char *end;
	unsigned long v;

	(void)argc;
	errno = 0;
	v = strtoul(argv[0], &end, 10);
	if (!*argv[0] || *end || argv[0][0] == '-' || errno || v > 65535)
		return hc_fail(c->doing, "invalid number (0 to 65535): %s", argv[0]);
	n.count = (uint32_t)v;
	memset(&q, 0, sizeof(q));
	q.maximum_free_addresses.n = 1;
	q.maximum_free_addresses.v = &n;
	return change_pool(h, c, &q);
}

/* add-subnet ID GatewayIP Mask DNS... */
static int cmd_add_subnet(struct hc *h, const struct hc_cmd *c, int argc, char *const argv[])
{
	struct hvapi_update_subnets_request q;
	struct hvapi_subnet s;
	struct in_addr *dns;
	int rc = 1;

	memset(&q, 0, sizeof(q));
	memset(&s, 0, sizeof(s));
	if (!*argv[0])
		return hc_fail(c->doing, "empty subnet ID");
	s.id = argv[0];
	if (parse_ip(c->doing, argv[1], &s.ip_gateway) || parse_ip(c->doing, argv[2], &s.ip_mask))
		return 1;
	if (!(dns = calloc((size_t)(argc - 3), sizeof(*dns))))
		return hc_fail(c->doing, "out of memory");
	for (int i = 3; i < argc; i++)
		if (parse_ip(c->doing, argv[i], &dns[i - 3]))
			goto out;
	s.domain_name_servers.n = (size_t)(argc - 3);
	s.domain_name_servers.v = dns;
	q.add.n = 1;
	q.add.v = &s;
	rc = call_simple(h, c, HVAPI_M_UPDATE_SUBNETS, &hvapi_update_subnets_request_type, &q);
out:
	free(dns);
	return rc;
}

/* ---- state, capacity, identity ---- */

static int cmd_set_disabled(struct hc *h, const struct hc_cmd *c, int argc, char *const argv[])
{
	struct hvapi_set_disabled_state_request q = {
	    .disable = strcmp(c->name, "disable-hypervisor") == 0};

	(void)argc;
	(void)argv;
	return call_simple(h, c, HVAPI_M_SET_DISABLED_STATE, &hvapi_set_disabled_state_request_type,
			   &q);
}

static int cmd_get_capacity(struct hc *h, const struct hc_cmd *c, int argc, char *const argv[])
{
	struct hvapi_get_capacity_response r;
	struct srpc_client *hv;
	int rc;

	(void)argc;
	(void)argv;
	if (hc_hypervisor(h, c->doing, &hv) || hc_call(hv, c->doing, HVAPI_M_GET_CAPACITY, NULL,
						       NULL, &hvapi_get_capacity_response_type, &r))
		return 1;
	rc = hc_print_json(&hvapi_get_capacity_response_type, &r);
	hvapi_get_capacity_response_clear(&r);
	return rc;
}

static int cmd_get_identity_provider(struct hc *h, const struct hc_cmd *c, int argc,
				     char *const argv[])
{
	struct hvapi_get_identity_provider_response r;
	struct srpc_client *hv;
	int rc = 0;

	(void)argc;
	(void)argv;
	if (hc_hypervisor(h, c->doing, &hv) ||
	    hc_call(hv, c->doing, HVAPI_M_GET_IDENTITY_PROVIDER, NULL, NULL,
		    &hvapi_get_identity_provider_response_type, &r))
		return 1;
	if (!r.base_url || !*r.base_url)
		rc = hc_fail(c->doing, "Hypervisor has no Identity Provider");
	else
		printf("%s\n", r.base_url);
	hvapi_get_identity_provider_response_clear(&r);
	return rc || fflush(stdout) != 0;
}

static int cmd_get_public_key(struct hc *h, const struct hc_cmd *c, int argc, char *const argv[])
{
	struct hvapi_get_public_key_response r;
	struct srpc_client *hv;
	int rc = 0;

	(void)argc;
	(void)argv;
	if (hc_hypervisor(h, c->doing, &hv) ||
	    hc_call(hv, c->doing, HVAPI_M_GET_PUBLIC_KEY, NULL, NULL,
		    &hvapi_get_public_key_response_type, &r))
		return 1;
	if (fsutil_write_all(STDOUT_FILENO, r.key_pem.data, r.key_pem.len) < 0)
		rc = hc_fail(c->doing, "writing to stdout: %s", strerror(errno));
	hvapi_get_public_key_response_clear(&r);
	return rc;
}

/* ---- locks ---- */

static int cmd_hold_lock(struct hc *h, const struct hc_cmd *c, int argc, char *const argv[])
{
	struct hvapi_hold_lock_request q = {.timeout_ns = h->o.lock_timeout_ns,
					    .write_lock = h->o.write_lock};

	(void)argc;
	(void)argv;
	return call_simple(h, c, HVAPI_M_HOLD_LOCK, &hvapi_hold_lock_request_type, &q);
}

static int cmd_hold_vm_lock(struct hc *h, const struct hc_cmd *c, int argc, char *const argv[])
{
	struct hvapi_hold_vm_lock_request q = {.timeout_ns = h->o.lock_timeout_ns,
					       .write_lock = h->o.write_lock};
	struct hvapi_error_response r;
	struct srpc_client *hv;

	(void)argc;
	if (hc_vm_hypervisor(h, c->doing, argv[0], &q.ip, &hv) ||
	    hc_call(hv, c->doing, HVAPI_M_HOLD_VM_LOCK, &hvapi_hold_vm_lock_request_type, &q,
		    &hvapi_error_response_type, &r))
		return 1;
	hvapi_error_response_clear(&r);
	return 0;
}

static int cmd_list_volume_directories(struct hc *h, const struct hc_cmd *c, int argc,
				       char *const argv[])
{
	struct hvapi_list_volume_directories_response r;
	struct srpc_client *hv;

	(void)argc;
	(void)argv;
	if (hc_hypervisor(h, c->doing, &hv) ||
	    hc_call(hv, c->doing, HVAPI_M_LIST_VOLUME_DIRECTORIES, NULL, NULL,
		    &hvapi_list_volume_directories_response_type, &r))
		return 1;
	for (size_t i = 0; i < r.directories.n; i++)
		printf("%s\n", r.directories.v[i]);
	hvapi_list_volume_directories_response_clear(&r);
	return fflush(stdout) != 0;
}

/* ---- external leases ---- */

/* -externalLeaseAddresses "MAC;IP,MAC;IP" into q->addresses. */
static int parse_leases(const char *doing, const char *s,
			struct hvapi_register_external_leases_request *q)
{
	char *copy = strdup(s), *save = NULL, *tok;
	int rc = 0;

	if (!copy)
		return hc_fail(doing, "out of memory");
	for (tok = strtok_r(copy, ",", &save); tok && rc == 0; tok = strtok_r(NULL, ",", &save)) {
		char *semi = strchr(tok, ';');
		struct hvapi_address a;

		memset(&a, 0, sizeof(a));
		if (!semi) {
			rc = hc_fail(doing, "malformed lease (MAC;IP expected): %s", tok);
			break;
		}
		*semi = '\0';
		if (parse_mac(doing, tok, a.mac) || parse_ip(doing, semi + 1, &a.ip)) {
			rc = 1;
			break;
		}
		if (hvapi_addresses_add(&q->addresses, &a) < 0)
			rc = hc_fail(doing, "out of memory");
	}
	free(copy);
	return rc;
}

static int cmd_register_external_leases(struct hc *h, const struct hc_cmd *c, int argc,
					char *const argv[])
{
	struct hvapi_register_external_leases_request q;
	char *names = NULL, *save = NULL, *tok;
	int rc = 1;

	(void)argc;
	(void)argv;
	memset(&q, 0, sizeof(q));
	if (parse_leases(c->doing, h->o.external_lease_addresses, &q))
		goto out;
	if (!(names = strdup(h->o.external_lease_hostnames))) {
		hc_fail(c->doing, "out of memory");
		goto out;
	}
	for (tok = strtok_r(names, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (api_strlist_add(&q.hostnames, tok) < 0) {
			hc_fail(c->doing, "out of memory");
			goto out;
		}
	if (q.hostnames.n > q.addresses.n) {
		hc_fail(c->doing, "%zu hostnames for %zu addresses", q.hostnames.n, q.addresses.n);
		goto out;
	}
	rc = call_simple(h, c, HVAPI_M_REGISTER_EXTERNAL_LEASES,
			 &hvapi_register_external_leases_request_type, &q);
out:
	free(names);
	hvapi_register_external_leases_request_clear(&q);
	return rc;
}

/* ---- e-mail to the owners of the running VMs ---- */

#define HC_MAX_BODY (1u << 20)
#define HC_SMTP_TIMEOUT_S 30

/* One affected VM: the table row. */
struct mail_row {
	char ip[INET_ADDRSTRLEN];
	const char *hostname, *owner; /* borrowed from the GetVmInfos reply */
	uint32_t ip_order;
};

static int row_cmp(const void *a, const void *b)
{
	const struct mail_row *x = a, *y = b;
	int c = strcmp(x->owner, y->owner);

	if (c)
		return c;
	return x->ip_order < y->ip_order ? -1 : x->ip_order > y->ip_order;
}

/* The message body: -emailBodyFilename or stdin. 0 or 1 (printed). */
static int read_body(const char *doing, const char *path, char **body, size_t *len)
{
	size_t cap = 0, n = 0;
	char *b = NULL;

	*body = NULL;
	if (*path) {
		int rc = fsutil_read_file(path, HC_MAX_BODY, body, len);
		if (rc < 0)
			return hc_fail(doing, "reading %s: %s", path, strerror(-rc));
		if (*len == 0) {
			free(*body);
			return hc_fail(doing, "no message body");
		}
		return 0;
	}
	for (;;) {
		ssize_t r;
		if (n + 1 >= cap) {
			char *nb;
			cap = cap ? cap * 2 : 4096;
			if (cap > HC_MAX_BODY || !(nb = realloc(b, cap))) {
				free(b);
				return hc_fail(doing, "reading stdin: %s",
					       cap > HC_MAX_BODY ? "too long" : "out of memory");
			}
			b = nb;
		}
		r = read(STDIN_FILENO, b + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(b);
			return hc_fail(doing, "reading stdin: %s", strerror(errno));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n == 0) {
		free(b);
		return hc_fail(doing, "no message body");
	}
	b[n] = '\0';
	*body = b;
	*len = n;
	return 0;
}

/* A growing text buffer; on allocation failure it stays NULL. */
struct text {
	char *s;
	size_t len, cap;
	bool failed;
};

static void text_add(struct text *t, const char *p, size_t n)
{
	if (t->failed)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = (t->len + n + 1) * 2;
		char *ns = realloc(t->s, cap);
		if (!ns) {
			t->failed = true;
			return;
		}
		t->s = ns;
		t->cap = cap;
	}
	memcpy(t->s + t->len, p, n);
	t->len += n;
	t->s[t->len] = '\0';
}

static void text_str(struct text *t, const char *p)
{
	text_add(t, p, strlen(p));
}

static void text_pad(struct text *t, const char *p, size_t width)
{
	size_t n = strlen(p);

	text_add(t, p, n);
	for (; n < width; n++)
		text_add(t, " ", 1);
}

/* The body, then "The following N running VM(s) will be affected:" and the table
 * IP HOSTNAME OWNER sorted by primary owner, then IP. */
static void mail_text(struct text *t, const char *body, size_t len,
		      const struct hvapi_get_vm_infos_response *r)
{
	struct mail_row *rows = calloc(r->vm_infos.n + 1, sizeof(*rows));
	size_t w_ip = 2, w_host = 8;
	char line[128];

	if (!rows) {
		t->failed = true;
		return;
	}
	for (size_t i = 0; i < r->vm_infos.n; i++) {
		const struct hvapi_vm_info *vm = &r->vm_infos.v[i];
		struct mail_row *row = &rows[i];

		inet_ntop(AF_INET, &vm->address.ip, row->ip, sizeof(row->ip));
		row->ip_order = ntohl(vm->address.ip.s_addr);
		row->hostname = vm->hostname && *vm->hostname ? vm->hostname : "-";
		row->owner = vm->owner_users.n ? vm->owner_users.v[0] : "-";
		if (strlen(row->ip) > w_ip)
			w_ip = strlen(row->ip);
		if (strlen(row->hostname) > w_host)
			w_host = strlen(row->hostname);
	}
	qsort(rows, r->vm_infos.n, sizeof(*rows), row_cmp);
	text_add(t, body, len);
	if (len && body[len - 1] != '\n')
		text_str(t, "\n");
	snprintf(line, sizeof(line), "\nThe following %zu running VM(s) will be affected:\n",
		 r->vm_infos.n);
	text_str(t, line);
	text_pad(t, "IP", w_ip + 2);
	text_pad(t, "HOSTNAME", w_host + 2);
	text_str(t, "OWNER\n");
	for (size_t i = 0; i < r->vm_infos.n; i++) {
		text_pad(t, rows[i].ip, w_ip + 2);
		text_pad(t, rows[i].hostname, w_host + 2);
		text_str(t, rows[i].owner);
		text_str(t, "\n");
	}
	free(rows);
}

/* -emailSubject with its first "%s" replaced by the hypervisor. */
static void subject_text(struct text *t, const char *fmt, const char *hypervisor)
{
	const char *p = strstr(fmt, "%s");

	if (!p) {
		text_str(t, fmt);
		return;
	}
	text_add(t, fmt, (size_t)(p - fmt));
	text_str(t, hypervisor);
	text_str(t, p + 2);
}

/* ---- a plain SMTP client (RFC 5321) ---- */

struct smtp {
	FILE *in;
	int fd;
	char reply[512]; /* the last reply line */
};

/* Reads a (multi-line) reply; returns its code, or -1 on a broken connection. */
static int smtp_reply(struct smtp *s)
{
	for (;;) {
		if (!fgets(s->reply, sizeof(s->reply), s->in))
			return -1;
		s->reply[strcspn(s->reply, "\r\n")] = '\0';
		if (strlen(s->reply) < 3)
			return -1;
		if (s->reply[3] != '-')
			return atoi(s->reply);
	}
}

/* Sends one command line and checks the reply code's first digit. 0 or 1 (printed). */
static int smtp_cmd(struct smtp *s, const char *doing, char want, const char *cmd, const char *arg)
{
	struct text t = {0};
	int code, rc;

	text_str(&t, cmd);
	text_str(&t, arg);
	text_str(&t, "\r\n");
	if (t.failed)
		return hc_fail(doing, "out of memory");
	rc = fsutil_write_all(s->fd, t.s, t.len);
	free(t.s);
	if (rc < 0)
		return hc_fail(doing, "SMTP: writing: %s", strerror(-rc));
	code = smtp_reply(s);
	if (code < 0)
		return hc_fail(doing, "SMTP: connection closed after %s", cmd);
	if (code / 100 != want - '0')
		return hc_fail(doing, "SMTP: %s%s: %s", cmd, arg, s->reply);
	return 0;
}

/* EHLO, or HELO from a server that does not know EHLO. 0 or 1 (printed). */
static int smtp_hello(struct smtp *s, const char *doing, const char *domain)
{
	struct text t = {0};
	int rc;

	text_str(&t, "EHLO ");
	text_str(&t, domain);
	text_str(&t, "\r\n");
	if (t.failed)
		return hc_fail(doing, "out of memory");
	rc = fsutil_write_all(s->fd, t.s, t.len);
	free(t.s);
	if (rc < 0)
		return hc_fail(doing, "SMTP: writing: %s", strerror(-rc));
	rc = smtp_reply(s);
	if (rc < 0)
		return hc_fail(doing, "SMTP: connection closed after EHLO");
	if (rc / 100 == 2)
		return 0;
	return smtp_cmd(s, doing, '2', "HELO ", domain);
}

static int smtp_connect(struct smtp *s, const char *doing, const char *server)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	struct timeval tv = {.tv_sec = HC_SMTP_TIMEOUT_S};
	char host[256];
	const char *port = "25", *colon = strrchr(server, ':');
	int rc;

	if (colon && !strchr(colon, ']') && strchr(server, ':') == colon) {
		if ((size_t)(colon - server) >= sizeof(host))
			return hc_fail(doing, "bad SMTP server: %s", server);
		memcpy(host, server, (size_t)(colon - server));
		host[colon - server] = '\0';
		port = colon + 1;
	} else if (snprintf(host, sizeof(host), "%s", server) >= (int)sizeof(host)) {
		return hc_fail(doing, "bad SMTP server: %s", server);
	}
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return hc_fail(doing, "SMTP: lookup %s: %s", host, gai_strerror(rc));
	s->fd = -1;
	for (ai = res; ai && s->fd < 0; ai = ai->ai_next) {
		s->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (s->fd < 0)
			continue;
		setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(s->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			rc = errno;
			close(s->fd);
			s->fd = -1;
		}
	}
	freeaddrinfo(res);
	if (s->fd < 0)
		return hc_fail(doing, "SMTP: dial %s: %s", server, strerror(rc ? rc : EINVAL));
	if (!(s->in = fdopen(dup(s->fd), "r"))) {
		close(s->fd);
		return hc_fail(doing, "SMTP: %s", strerror(errno));
	}
	if (smtp_reply(s) / 100 != 2) {
		hc_fail(doing, "SMTP: greeting of %s: %s", server, s->reply);
		fclose(s->in);
		close(s->fd);
		return 1;
	}
	return 0;
}

/* The DATA part: headers, then the text with CRLF line ends and dot-stuffing. */
static void data_text(struct text *t, const char *from, const char *subject, const char *text)
{
	text_str(t, "From: ");
	text_str(t, from);
	text_str(t, "\r\nTo: ");
	text_str(t, from);
	text_str(t, "\r\nSubject: ");
	text_str(t, subject);
	text_str(t, "\r\n\r\n");
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		if (n && p[n - 1] == '\r')
			n--;
		if (*p == '.')
			text_str(t, ".");
		text_add(t, p, n);
		text_str(t, "\r\n");
		p += n;
		if (*p == '\r')
			p++;
		if (*p == '\n')
			p++;
	}
	text_str(t, ".\r\n");
}

/* Envelope: MAIL FROM the sender, RCPT TO every distinct owner as stored. */
static int smtp_send(struct smtp *s, const char *doing, const char *domain, const char *from,
		     const struct hvapi_get_vm_infos_response *r, const struct text *data)
{
	struct api_strlist rcpt = {0, NULL};
	char arg[600];
	int rc = 1, w;

	if (smtp_hello(s, doing, domain))
		return 1;
	snprintf(arg, sizeof(arg), "<%s>", from);
	if (smtp_cmd(s, doing, '2', "MAIL FROM:", arg))
		return 1;
	for (size_t i = 0; i < r->vm_infos.n; i++)
		for (size_t j = 0; j < r->vm_infos.v[i].owner_users.n; j++) {
			const char *u = r->vm_infos.v[i].owner_users.v[j];
			if (api_strlist_contains(&rcpt, u))
				continue;
			if (api_strlist_add(&rcpt, u) < 0) {
				hc_fail(doing, "out of memory");
				goto out;
			}
			snprintf(arg, sizeof(arg), "<%s>", u);
			if (smtp_cmd(s, doing, '2', "RCPT TO:", arg))
				goto out;
		}
	if (smtp_cmd(s, doing, '3', "DATA", ""))
		goto out;
	if ((w = fsutil_write_all(s->fd, data->s, data->len)) < 0) {
		hc_fail(doing, "SMTP: writing: %s", strerror(-w));
		goto out;
	}
	if (smtp_reply(s) / 100 != 2) {
		hc_fail(doing, "SMTP: message refused: %s", s->reply);
		goto out;
	}
	smtp_cmd(s, doing, '2', "QUIT", "");
	rc = 0;
out:
	api_strlist_clear(&rcpt);
	return rc;
}

/* The sender: <CN of the first client certificate>@<emailDomain>. */
static int sender(struct hc *h, const char *doing, char *buf, size_t sz)
{
	char cn[256];
	X509 *cert;

	if (hc_tls(h, doing))
		return 1;
	cert = tls_client_ncerts(h->tls) ? tls_client_cert(h->tls, 0) : NULL;
	if (!cert || X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
					       sizeof(cn)) <= 0)
		return hc_fail(doing, "no common name in the client certificate");
	if (snprintf(buf, sz, "%s@%s", cn, h->o.email_domain) >= (int)sz)
		return hc_fail(doing, "sender address too long");
	return 0;
}

static int cmd_send_email(struct hc *h, const struct hc_cmd *c, int argc, char *const argv[])
{
	struct hvapi_get_vm_infos_request q;
	struct hvapi_get_vm_infos_response r;
	struct text text = {0}, subject = {0}, data = {0};
	struct srpc_client *hv;
	struct smtp s;
	char from[600], *body;
	size_t len;
	int rc = 1;

	(void)argc;
	(void)argv;
	if (!*h->o.smtp_server)
		return hc_fail(c->doing, "smtpServer unspecified");
	if (!*h->o.email_domain)
		return hc_fail(c->doing, "emailDomain unspecified");
	if (read_body(c->doing, h->o.email_body_filename, &body, &len))
		return 1;
	memset(&q, 0, sizeof(q));
	q.ignore_state_mask = ((1ULL << HVAPI_STATE_COUNT) - 1) & ~(1ULL << HVAPI_STATE_RUNNING);
	if (sender(h, c->doing, from, sizeof(from)) || hc_hypervisor(h, c->doing, &hv) ||
	    hc_call(hv, c->doing, HVAPI_M_GET_VM_INFOS, &hvapi_get_vm_infos_request_type, &q,
		    &hvapi_get_vm_infos_response_type, &r)) {
		free(body);
		return 1;
	}
	if (r.vm_infos.n == 0) {
		hc_progress("no running VMs on %s: no e-mail sent", h->o.hypervisor_hostname);
		rc = 0;
		goto out;
	}
	mail_text(&text, body, len, &r);
	subject_text(&subject, h->o.email_subject, h->o.hypervisor_hostname);
	if (!text.failed && !subject.failed)
		data_text(&data, from, subject.s, text.s);
	if (text.failed || subject.failed || data.failed) {
		hc_fail(c->doing, "out of memory");
		goto out;
	}
	if (smtp_connect(&s, c->doing, h->o.smtp_server))
		goto out;
	rc = smtp_send(&s, c->doing, h->o.email_domain, from, &r, &data);
	fclose(s.in);
	close(s.fd);
out:
	free(text.s);
	free(subject.s);
	free(data.s);
	free(body);
	hvapi_get_vm_infos_response_clear(&r);
	return rc;
}

#define HV "" /* no arguments */
const struct hc_cmd hc_host_cmds[] = {
    {"add-address", "MAC [IP]", 1, 2, cmd_add_address, "adding address",
     "add an address (MAC, IP) to the hypervisor's pool (MAC \"\": derived from IP)"},
    {"add-subnet", "ID GatewayIP Mask DNS...", 4, -1, cmd_add_subnet, "adding subnet",
     "add a subnet to the hypervisor"},
    {"disable-hypervisor", HV, 0, 0, cmd_set_disabled, "disabling hypervisor",
     "refuse new VMs on the hypervisor"},
    {"enable-hypervisor", HV, 0, 0, cmd_set_disabled, "enabling hypervisor",
     "accept new VMs on the hypervisor again"},
    {"get-capacity", HV, 0, 0, cmd_get_capacity, "getting capacity",
     "print the hypervisor's capacity as JSON"},
    {"get-identity-provider", HV, 0, 0, cmd_get_identity_provider, "getting identity provider",
     "print the URL of the hypervisor's identity provider"},
    {"get-public-key", HV, 0, 0, cmd_get_public_key, "getting public key",
     "write the hypervisor's public key (PEM) to stdout"},
    {"hold-lock", HV, 0, 0, cmd_hold_lock, "holding lock",
     "hold the hypervisor's lock for -lockTimeout (-writeLock)"},
    {"hold-vm-lock", "VMhost", 1, 1, cmd_hold_vm_lock, "holding VM lock",
     "hold a VM's lock for -lockTimeout (-writeLock)"},
    {"list-volume-directories", HV, 0, 0, cmd_list_volume_directories, "listing volume directories",
     "print the hypervisor's volume directories"},
    {"register-external-leases", HV, 0, 0, cmd_register_external_leases,
     "registering external leases",
     "serve -externalLeaseAddresses (-externalLeaseHostnames) over DHCP"},
    {"remove-excess-addresses", "N", 1, 1, cmd_remove_excess_addresses, "removing excess addresses",
     "keep at most N free addresses in the pool"},
    {"remove-ip-address", "IP", 1, 1, cmd_remove_ip_address, "removing IP address",
     "remove a free address from the pool by IP"},
    {"remove-mac-address", "MAC", 1, 1, cmd_remove_mac_address, "removing MAC address",
     "remove a free address from the pool by MAC"},
    {"send-email-to-hypervisor-vm-owners", HV, 0, 0, cmd_send_email, "sending e-mail",
     "e-mail the owners of the running VMs (-smtpServer, -emailDomain)"},
    {NULL, NULL, 0, 0, NULL, NULL, NULL},
};
#undef HV
