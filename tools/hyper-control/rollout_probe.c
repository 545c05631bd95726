/* rollout_probe: what rollout-image asks one host, from a worker thread: its health
 * (GET /health on the hypervisor port, plain HTTP), its upgrade status
 * (Hypervisor.GetUpgradeStatus over the usual mTLS), whether it runs VMs
 * (Hypervisor.ListVMs), and the pre/post commands. Blocking, bounded by timeouts; the
 * results go into struct rollout_probe, nothing is printed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/hypervisor.h"
#include "rollout.h"
#include "srpc_conn.h"

#define PROBE_MAX_REPLY (64u << 10)
#define PROBE_STATE_IGNORE                                                                         \
	((1u << HVAPI_STATE_FAILED_TO_START) | (1u << HVAPI_STATE_STOPPING) |                      \
	 (1u << HVAPI_STATE_STOPPED) | (1u << HVAPI_STATE_DESTROYING))

static int probe_err(struct rollout_probe *p, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int probe_err(struct rollout_probe *p, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	p->ok = false;
	return rc;
}

/* Connects to addr:port within timeout_ms. The fd, or -errno. */
static int probe_connect(const char *addr, int port, int timeout_ms)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
	char ports[16];
	int fd, rc, err = 0;
	socklen_t len = sizeof(err);
	struct pollfd pf;

	snprintf(ports, sizeof(ports), "%d", port);
	if (getaddrinfo(addr, ports, &hints, &res) != 0)
		return -EHOSTUNREACH;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		freeaddrinfo(res);
		return rc;
	}
	rc = connect(fd, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (rc < 0 && errno != EINPROGRESS) {
		rc = -errno;
		close(fd);
		return rc;
	}
	pf = (struct pollfd){.fd = fd, .events = POLLOUT};
	rc = poll(&pf, 1, timeout_ms);
	if (rc <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
		close(fd);
		return rc == 0 ? -ETIMEDOUT : -(err ? err : EIO);
	}
	return fd;
}

/* Reads everything until the peer closes, within timeout_ms. Bytes read or -errno. */
static ssize_t probe_read_all(int fd, char *buf, size_t size, int timeout_ms)
{
	int64_t deadline = srpc_now_ms() + timeout_ms;
	size_t n = 0;

	for (;;) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - srpc_now_ms();
		ssize_t r;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pf, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
		r = read(fd, buf + n, size - 1 - n);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		n += (size_t)r;
		if (n >= size - 1)
			return -EMSGSIZE;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

int rollout_probe_health(const char *addr, int port, int timeout_ms, struct rollout_probe *p)
{
	char req[512], *buf, *body;
	json_t *j = NULL, *failing;
	ssize_t n;
	int fd, code = 0, rc;

	json_decref(p->failing);
	p->failing = NULL;
	p->healthy = false;
	fd = probe_connect(addr, port, timeout_ms);
	if (fd < 0)
		return probe_err(p, fd, "health: connect: %s", strerror(-fd));
	n = snprintf(req, sizeof(req),
		     "GET /health HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n", addr);
	if (n < 0 || (size_t)n >= sizeof(req) || write(fd, req, (size_t)n) != n) {
		close(fd);
		return probe_err(p, -EIO, "health: %s", "sending the request failed");
	}
	buf = malloc(PROBE_MAX_REPLY);
	if (!buf) {
		close(fd);
		return probe_err(p, -ENOMEM, "health: %s", "out of memory");
	}
	n = probe_read_all(fd, buf, PROBE_MAX_REPLY, timeout_ms);
	close(fd);
	rc = n < 0 ? (int)n : 0;
	body = n > 0 ? strstr(buf, "\r\n\r\n") : NULL;
	if (rc == 0 && (sscanf(buf, "HTTP/1.%*d %d", &code) != 1 || !body))
		rc = -EPROTO;
	if (rc == 0 && (code == 200 || code == 503))
		j = json_loads(body + 4, 0, NULL);
	if (rc < 0 || !j) {
		free(buf);
		if (rc == 0)
			snprintf(p->err, sizeof(p->err), "health: HTTP %d without a health report",
				 code);
		else
			snprintf(p->err, sizeof(p->err), "health: %s", strerror(-rc));
		p->ok = false;
		return rc < 0 ? rc : -EPROTO;
	}
	free(buf);
	failing = json_object_get(j, "Failing");
	p->failing = json_is_array(failing) ? json_incref(failing) : json_array();
	p->healthy = code == 200 && json_is_true(json_object_get(j, "Healthy"));
	if (!p->healthy && json_array_size(p->failing) == 0)
		json_array_append_new(p->failing, json_string("unhealthy"));
	json_decref(j);
	p->ok = true;
	return 0;
}

static void probe_copy(char *dst, size_t size, json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	snprintf(dst, size, "%s", s ? s : "");
}

static int probe_dial(struct hc *h, const char *addr, struct srpc_client **cl,
		      struct rollout_probe *p)
{
	struct srpc_client_config cfg = {0};
	char hp[300], err[256];
	int rc;

	if (*cl)
		return 0;
	snprintf(hp, sizeof(hp), strchr(addr, ':') ? "[%s]:%d" : "%s:%d", addr,
		 h->o.hypervisor_port);
	cfg.tls = h->tls;
	cfg.connect_timeout_ms = (int)(h->o.connect_timeout_ns / 1000000);
	cfg.call_timeout_ms = cfg.connect_timeout_ms;
	rc = srpc_client_dial(hp, &cfg, cl, err, sizeof(err));
	if (rc < 0)
		return probe_err(p, rc, "%s", err);
	return 0;
}

int rollout_probe_status(struct hc *h, const char *addr, struct srpc_client **cl,
			 struct rollout_probe *p)
{
	json_t *resp = NULL, *last;
	int rc = probe_dial(h, addr, cl, p);

	if (rc < 0)
		return rc;
	rc = srpc_client_call(*cl, "Hypervisor.GetUpgradeStatus", NULL, &resp);
	if (rc < 0) {
		probe_err(p, rc, "GetUpgradeStatus: %s", srpc_client_error(*cl));
		srpc_client_close(*cl);
		*cl = NULL;
		return rc;
	}
	probe_copy(p->running, sizeof(p->running), resp, "RunningImage");
	probe_copy(p->upstate, sizeof(p->upstate), resp, "State");
	last = json_object_get(resp, "LastUpgrade");
	probe_copy(p->last_from, sizeof(p->last_from), last, "FromImage");
	probe_copy(p->last_to, sizeof(p->last_to), last, "ToImage");
	probe_copy(p->last_res, sizeof(p->last_res), last, "Result");
	probe_copy(p->last_err, sizeof(p->last_err), last, "Error");
	json_decref(resp);
	p->ok = true;
	return 0;
}

int rollout_probe_used(struct srpc_client *cl, struct rollout_probe *p)
{
	json_t *req = json_pack("{s:I, s:[], s:[], s:b, s:{}}", "IgnoreStateMask",
				(json_int_t)PROBE_STATE_IGNORE, "OwnerGroups", "OwnerUsers", "Sort",
				0, "VmTagsToMatch"),
	       *resp = NULL;
	int rc;

	if (!req)
		return probe_err(p, -ENOMEM, "%s", "out of memory");
	rc = srpc_client_call(cl, HVAPI_M_LIST_VMS, req, &resp);
	json_decref(req);
	if (rc < 0) {
		snprintf(p->err, sizeof(p->err), "ListVMs: %s", srpc_client_error(cl));
		return rc;
	}
	p->used = json_array_size(json_object_get(resp, "IpAddresses")) > 0;
	json_decref(resp);
	return 0;
}

int rollout_run_command(const char *command, const char *hostname, struct rollout_probe *p)
{
	pid_t pid;
	int status;

	pid = fork();
	if (pid < 0)
		return probe_err(p, -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "exec $0 \"$1\"", command, hostname, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return probe_err(p, -1, "waitpid: %s", strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	snprintf(p->err, sizeof(p->err), "%s %s: exit status %d", command, hostname,
		 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return -1;
}

void rollout_new_failures(const json_t *failing, const json_t *baseline, char *out, size_t outsz)
{
	size_t i, k, len = 0;
	json_t *f, *b;

	out[0] = '\0';
	json_array_foreach(failing, i, f)
	{
		bool old = false;
		int n;

		json_array_foreach(baseline, k, b)
		{
			if (json_equal(f, b))
				old = true;
		}
		if (old || !json_is_string(f))
			continue;
		n = snprintf(out + len, outsz - len, "%s%s", len ? ", " : "", json_string_value(f));
		if (n < 0 || (size_t)n >= outsz - len)
			return;
		len += (size_t)n;
	}
}
