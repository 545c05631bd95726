/* status: the installer's port: status page, Installer.Shell and enrolment (status.h). */
#include "installer/status.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "api/codec.h"
#include "api/installer.h"
#include "enrol.h"
#include "fsutil.h"
#include "html.h"
#include "installer/progress.h"
#include "log.h"
#include "log_page.h"

void inst_status_init(struct inst_status *st)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&st->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->cv, &ca);
	pthread_condattr_destroy(&ca);
}

int inst_status_nshells(struct inst_status *st)
{
	int n;

	pthread_mutex_lock(&st->mu);
	n = st->nshells;
	pthread_mutex_unlock(&st->mu);
	return n;
}

/* ---- the status page ---- */

static const struct html_chrome chrome = {
    .nav = "<p><a href=\"/\">Status</a> <a href=\"/logs\">Logs</a> "
	   "<a href=\"/progress\">Progress (text)</a></p>\n",
};

static int page_status(struct http_req *r, FILE *f)
{
	struct inst_status *st = r->arg;

	html_page_start(f, "installer status", &chrome);
	fputs("<h1>installer status</h1>\n", f);
	fputs(chrome.nav, f);
	fputs("<table>\n", f);
	html_row(f, "Version", SS_VERSION);
	html_row(f, "Configuration source", st->config_source);
	pthread_mutex_lock(&st->mu);
	html_row(f, "Enrolment",
		 st->enrolled	     ? "enrolled"
		 : st->enrol_waiting ? "waiting for a client"
				     : "-");
	pthread_mutex_unlock(&st->mu);
	fputs("</table>\n<h2>Steps</h2>\n", f);
	inst_progress_html(f);
	fputs("<h2>Remote shells</h2>\n<table>\n<tr><th>Terminal</th><th>User</th>"
	      "<th>From</th></tr>\n",
	      f);
	pthread_mutex_lock(&st->mu);
	for (int i = 0; i < STATUS_MAX_SHELLS; i++) {
		if (!st->shells[i].used)
			continue;
		fputs("<tr><td>", f);
		html_esc(f, st->shells[i].tty);
		fputs("</td><td>", f);
		html_esc(f, st->shells[i].user);
		fputs("</td><td>", f);
		html_esc(f, st->shells[i].peer);
		fputs("</td></tr>\n", f);
	}
	fprintf(f, "</table>\n<p>%d open</p>\n", st->nshells);
	pthread_mutex_unlock(&st->mu);
	fputs("<h2>Log</h2>\n<pre>\n", f);
	log_page_lines(f, 100, true);
	fputs("</pre>\n", f);
	html_page_end(f);
	return 200;
}

static int page_progress(struct http_req *r, FILE *f)
{
	(void)r;
	inst_progress_text(f);
	return 200;
}

static int page_healthz(struct http_req *r, FILE *f)
{
	(void)r;
	fputs("OK\n", f);
	return 200;
}

/* The installer's log is for whoever stands at the machine or reaches its port during
 * the install: the same people who can read the console. Public, as the original's. */
static const struct http_route routes[] = {
    {"/", HTTP_ROUTE_EXACT, HTTP_ROUTE_PUBLIC, HTTP_TYPE_HTML, page_status, NULL},
    {"/progress", HTTP_ROUTE_EXACT, HTTP_ROUTE_PUBLIC, HTTP_TYPE_TEXT, page_progress, NULL},
    {"/healthz", HTTP_ROUTE_EXACT, HTTP_ROUTE_PUBLIC, HTTP_TYPE_TEXT, page_healthz, NULL},
    {"/logs", HTTP_ROUTE_EXACT, HTTP_ROUTE_PUBLIC, NULL, log_page_handler, &chrome},
};

struct http_routes inst_status_routes(struct inst_status *st)
{
	return (struct http_routes){routes, sizeof(routes) / sizeof(routes[0]), st};
}

/* ---- Installer.Shell ---- */

/* Opens a PTY pair: *master and the slave's name. */
static int pty_open(int *master, char *name, size_t namesz)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (m < 0)
		return -errno;
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, namesz) != 0) {
		int rc = -errno;

		close(m);
		return rc;
	}
	*master = m;
	return 0;
}

/* Runs the shell command in a new session on the PTY slave, empty environment. */
static pid_t shell_spawn(const struct inst_flags *fl, const char *tty)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	sigset_t none;
	char *const env[] = {"TERM=vt100", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	int fd;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setsid();
	fd = open(tty, O_RDWR);
	if (fd < 0)
		_exit(127);
	ioctl(fd, TIOCSCTTY, 0);
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	execve(fl->shell_argv.v[0], fl->shell_argv.v, env);
	fprintf(stderr, "cannot run %s: %s\r\n", fl->shell_argv.v[0], strerror(errno));
	_exit(127);
}

/* Writes lines with CRLF ends. */
static int write_lines(struct srpc_conn *c, char **lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (srpc_conn_write(c, lines[i], strlen(lines[i])) < 0 ||
		    srpc_conn_write(c, "\r\n", 2) < 0)
			return -EIO;
	return srpc_conn_flush(c);
}

/* Relays between the caller and the PTY, and sprays new log lines to the caller, until
 * either side ends. */
static void shell_relay(struct srpc_conn *c, int master, struct log_tap *tap)
{
	char buf[16384];

	for (;;) {
		struct pollfd p[2] = {{.fd = srpc_conn_fd(c), .events = POLLIN},
				      {.fd = master, .events = POLLIN}};
		char **lines = NULL;
		size_t n = 0;
		ssize_t got;
		int rc = 1;

		if (!srpc_conn_pending(c))
			rc = poll(p, 2, 250);
		if (rc < 0 && errno != EINTR)
			return;
		if (tap != NULL && log_tap_take(tap, &lines, &n) != -ENOMEM) {
			int w = write_lines(c, lines, n);

			log_lines_free(lines, n);
			if (w < 0)
				return;
		}
		if (rc <= 0)
			continue;
		if (srpc_conn_pending(c) || p[0].revents) {
			got = srpc_conn_read_some(c, buf, sizeof(buf));
			if (got <= 0 || fsutil_write_all(master, buf, (size_t)got) < 0)
				return;
		}
		if (p[1].revents) {
			got = read(master, buf, sizeof(buf));
			if (got <= 0)
				return;
			if (srpc_conn_write(c, buf, (size_t)got) < 0 || srpc_conn_flush(c) < 0)
				return;
		}
	}
}

static int shell_slot(struct inst_status *st, const char *tty, const struct srpc_auth *a)
{
	int slot = -1;

	pthread_mutex_lock(&st->mu);
	for (int i = 0; i < STATUS_MAX_SHELLS; i++) {
		if (st->shells[i].used)
			continue;
		st->shells[i].used = true;
		snprintf(st->shells[i].tty, sizeof(st->shells[i].tty), "%s", tty);
		snprintf(st->shells[i].user, sizeof(st->shells[i].user), "%s", a->username);
		snprintf(st->shells[i].peer, sizeof(st->shells[i].peer), "%s",
			 a->peer ? a->peer : "");
		st->nshells++;
		slot = i;
		break;
	}
	pthread_mutex_unlock(&st->mu);
	return slot;
}

static int method_shell(struct srpc_call *call, void *arg)
{
	struct inst_status *st = arg;
	const struct srpc_auth *a = srpc_call_auth(call);
	struct srpc_conn *c = srpc_call_conn(call);
	struct log_tap *tap = NULL;
	char tty[64], **lines = NULL, line[128];
	size_t n = 0;
	int master = -1, slot, rc, status;
	pid_t pid;

	srpc_conn_set_timeout(c, 0);
	rc = pty_open(&master, tty, sizeof(tty));
	if (rc < 0) {
		snprintf(line, sizeof(line), "cannot open a PTY: %s\r\n", strerror(-rc));
		srpc_conn_write(c, line, strlen(line));
		srpc_conn_flush(c);
		return -ECONNRESET;
	}
	slot = shell_slot(st, tty, a);
	log_info("remote shell for %s from %s on %s", a->username, a->peer ? a->peer : "?", tty);
	/* The tap opens before the ring is copied: a line may come twice, none is lost. */
	log_tap_open(-1, &tap);
	srpc_conn_write(c, "Logs so far:\r\n", 14);
	if (log_ring_copy(NULL, &lines, &n) == 0) {
		write_lines(c, lines, n);
		log_lines_free(lines, n);
	}
	snprintf(line, sizeof(line), "Starting shell on: %s...\r\n", tty);
	srpc_conn_write(c, line, strlen(line));
	srpc_conn_flush(c);
	pid = shell_spawn(st->flags, tty);
	if (pid > 0)
		shell_relay(c, master, tap);
	log_tap_close(tap);
	if (pid > 0) {
		kill(-pid, SIGHUP);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	close(master);
	pthread_mutex_lock(&st->mu);
	if (slot >= 0) {
		st->shells[slot].used = false;
		st->nshells--;
	}
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	log_info("remote shell on %s closed", tty);
	return -ECONNRESET; /* raw bytes flowed: the connection is done */
}

/* ---- enrolment ---- */

static int method_get_csr(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	struct inst_status *st = arg;
	struct instapi_get_csr_response r = {0};
	char token[65], hostname[256], ip[64], err[512] = "", mac[ENROL_MAC_HEX + 1];
	const char *ips[1] = {ip};
	X509_REQ *csr = NULL;
	bool waiting;

	(void)req;
	pthread_mutex_lock(&st->mu);
	waiting = st->enrol_waiting;
	snprintf(token, sizeof(token), "%s", st->token);
	snprintf(hostname, sizeof(hostname), "%s", st->hostname);
	snprintf(ip, sizeof(ip), "%s", st->ip);
	pthread_mutex_unlock(&st->mu);
	if (!waiting) {
		snprintf(err, sizeof(err), "this installer is not waiting for enrolment");
	} else if (enrol_csr_new(st->key, hostname, ips, ip[0] ? 1 : 0, &csr, err, sizeof(err)) ==
		   0) {
		if (enrol_csr_pem(csr, &r.csr) < 0 || enrol_mac_csr(token, csr, mac) < 0) {
			snprintf(err, sizeof(err), "cannot encode the certificate request");
		} else {
			r.mac = mac;
			r.hostname = hostname;
		}
	}
	explicit_bzero(token, sizeof(token));
	r.error = err;
	log_info("enrolment: certificate request for %s from %s%s%s",
		 srpc_call_auth(call)->username, srpc_call_auth(call)->peer, err[0] ? ": " : "",
		 err);
	*resp = api_encode(&instapi_get_csr_response_type, &r);
	enrol_pem_free(r.csr);
	X509_REQ_free(csr);
	return *resp != NULL ? 0 : -ENOMEM;
}

/* Checks and stores what SetCertificates brought. "" or the reason in err. */
static void set_certs(struct inst_status *st, const struct instapi_set_certs_request *q, char *err,
		      size_t errsz)
{
	char token[65], hostname[256], cert[4096], key[4096], *ca = NULL;
	size_t ca_len = 0;
	int rc;

	pthread_mutex_lock(&st->mu);
	snprintf(token, sizeof(token), "%s", st->token);
	snprintf(hostname, sizeof(hostname), "%s", st->hostname);
	/* Checked and claimed under one lock: a second or concurrent SetCertificates is
	 * refused even before the waiting thread has seen the first one. */
	if (!st->enrol_waiting || st->enrolled)
		snprintf(err, errsz, "this installer is not waiting for enrolment");
	else if (st->enrol_busy)
		snprintf(err, errsz, "another enrolment is being checked");
	else
		st->enrol_busy = true;
	pthread_mutex_unlock(&st->mu);
	if (err[0]) {
		explicit_bzero(token, sizeof(token));
		return;
	}
	if (fsutil_read_file(st->ca_file, 1 << 20, &ca, &ca_len) < 0) {
		snprintf(err, errsz, "cannot read %.400s", st->ca_file);
		goto out;
	}
	rc = enrol_check_certificates(token, st->key, q->certificate ? q->certificate : "",
				      q->mac ? q->mac : "", ca, hostname, 0, err, errsz);
	free(ca);
	if (rc < 0)
		goto out;
	snprintf(cert, sizeof(cert), "%s/cert.pem", st->work);
	snprintf(key, sizeof(key), "%s/key.pem", st->work);
	if (enrol_write_pem(cert, q->certificate) < 0 || enrol_write_key(key, st->key) < 0) {
		snprintf(err, errsz, "cannot write %.400s", cert);
		goto out;
	}
	if (q->identity_ca != NULL && q->identity_ca[0] != '\0') {
		char path[4096];

		snprintf(path, sizeof(path), "%s/IdentityCA.pem", st->work);
		enrol_write_pem(path, q->identity_ca);
	}
	pthread_mutex_lock(&st->mu);
	snprintf(st->cert_path, sizeof(st->cert_path), "%s", cert);
	snprintf(st->key_path, sizeof(st->key_path), "%s", key);
	st->enrolled = true;
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
out:
	pthread_mutex_lock(&st->mu);
	st->enrol_busy = false;
	pthread_mutex_unlock(&st->mu);
	explicit_bzero(token, sizeof(token));
}

static int method_set_certs(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	struct inst_status *st = arg;
	struct instapi_set_certs_request q = {0};
	struct instapi_set_certs_response r = {0};
	char err[512] = "", *derr = NULL;

	if (api_decode_msg(&instapi_set_certs_request_type, (json_t *)req, "SetCertificatesRequest",
			   &q, &derr) < 0) {
		snprintf(err, sizeof(err), "%s", derr ? derr : "bad request");
		free(derr);
	} else {
		set_certs(st, &q, err, sizeof(err));
	}
	log_info("enrolment: certificates from %s (%s): %s", srpc_call_auth(call)->username,
		 srpc_call_auth(call)->peer, err[0] ? err : "accepted");
	r.error = err;
	*resp = api_encode(&instapi_set_certs_response_type, &r);
	api_clear(&instapi_set_certs_request_type, &q);
	return *resp != NULL ? 0 : -ENOMEM;
}

int inst_status_enrol_wait(struct inst_status *st, const char *token, const char *hostname,
			   const char *ip, int timeout_s)
{
	struct timespec deadline;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_s;
	pthread_mutex_lock(&st->mu);
	snprintf(st->token, sizeof(st->token), "%s", token);
	snprintf(st->hostname, sizeof(st->hostname), "%s", hostname);
	snprintf(st->ip, sizeof(st->ip), "%s", ip ? ip : "");
	st->enrol_waiting = true;
	while (!st->enrolled && rc == 0) {
		if (timeout_s > 0)
			rc = pthread_cond_timedwait(&st->cv, &st->mu, &deadline);
		else
			pthread_cond_wait(&st->cv, &st->mu);
	}
	st->enrol_waiting = false;
	explicit_bzero(st->token, sizeof(st->token));
	rc = st->enrolled ? 0 : -ETIMEDOUT;
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int inst_status_register(struct srpc_server *srv, void *arg)
{
	/* Shell: CA.pem grants only (no access flag). The enrolment methods: any caller
	 * with a certificate from the fleet's CAs; the token's MAC is what proves them. */
	const struct srpc_method methods[] = {
	    {.name = INSTAPI_M_SHELL, .kind = SRPC_STREAM, .stream = method_shell, .arg = arg},
	    {.name = INSTAPI_M_GET_CSR,
	     .kind = SRPC_RR,
	     .access = SRPC_ACCESS_PUBLIC,
	     .rr = method_get_csr,
	     .arg = arg},
	    {.name = INSTAPI_M_SET_CERTS,
	     .kind = SRPC_RR,
	     .access = SRPC_ACCESS_PUBLIC,
	     .rr = method_set_certs,
	     .arg = arg},
	};

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		int rc = srpc_server_register(srv, &methods[i]);

		if (rc < 0)
			return rc;
	}
	return 0;
}
