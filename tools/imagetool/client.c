/* imagetool helpers: credentials and dialling (server verified against -CAfile),
 * name checks, progress lines, times, and removing a scratch tree. */
#include <errno.h>
#include <ftw.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imagetool.h"

int imgtool_fail(const char *doing, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "Error %s: ", doing);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* "~/x" -> "$HOME/x" into buf. */
static const char *expand_home(const char *path, char *buf, size_t sz)
{
	const char *home = getenv("HOME");
	int n;

	if (strncmp(path, "~/", 2) != 0 && strcmp(path, "~") != 0)
		return path;
	if (!home || !*home)
		return path;
	n = snprintf(buf, sz, "%s%s", home, path + 1);
	return n > 0 && (size_t)n < sz ? buf : path;
}

static int load_tls(struct imgtool *t, const char *doing)
{
	struct tls_client_config cfg = {0};
	char dir[4096], err[512];

	cfg.cert_dir = expand_home(t->o.cert_directory, dir, sizeof(dir));
	cfg.ca_file = t->o.ca_file;
	if (tls_client_new(&cfg, &t->tls, err, sizeof(err)) < 0)
		return imgtool_fail(doing, "loading credentials: %s", err);
	return 0;
}

/* "host:port" of the server into t->addr. */
static int make_addr(struct imgtool *t)
{
	int n = snprintf(t->addr, sizeof(t->addr),
			 strchr(t->o.server_hostname, ':') ? "[%s]:%d" : "%s:%d",
			 t->o.server_hostname, t->o.server_port);

	return n < 0 || (size_t)n >= sizeof(t->addr) ? -ENAMETOOLONG : 0;
}

int imgtool_dial_new(struct imgtool *t, struct srpc_client **out, char *err, size_t errsz)
{
	struct srpc_client_config cfg = {0};

	cfg.tls = t->tls;
	cfg.connect_timeout_ms = (int)(t->o.connect_timeout_ns / 1000000);
	/* An image with its file system is one JSON message: allow what the server
	 * allows by default (-maxMessageSize 256 MiB). */
	cfg.max_message = 256u << 20;
	return srpc_client_dial(t->addr, &cfg, out, err, errsz);
}

int imgtool_dial(struct imgtool *t, const char *doing)
{
	char err[512];

	if (t->client)
		return 0;
	if (!t->tls && load_tls(t, doing))
		return 1;
	if (make_addr(t) < 0)
		return imgtool_fail(doing, "image server hostname too long");
	if (imgtool_dial_new(t, &t->client, err, sizeof(err)) < 0)
		return imgtool_fail(doing, "%s", err);
	return 0;
}

const char *imgtool_username(const struct imgtool *t, char *buf, size_t sz)
{
	const char *user = getenv("USER");

	buf[0] = '\0';
	if (t->tls && tls_client_ncerts(t->tls) > 0) {
		X509 *x = tls_client_cert(t->tls, 0);
		X509_NAME *subj = x ? X509_get_subject_name(x) : NULL;
		if (subj && X509_NAME_get_text_by_NID(subj, NID_commonName, buf, (int)sz) > 0)
			return buf;
		buf[0] = '\0';
	}
	if (user)
		snprintf(buf, sz, "%s", user);
	return buf;
}

int imgtool_rpc_fail(struct imgtool *t, const char *doing, int rc)
{
	const char *text = t->client ? srpc_client_error(t->client) : NULL;

	if (!text || !*text)
		text = strerror(-rc);
	return imgtool_fail(doing, "%s", text);
}

int imgtool_check_name(const char *name, bool is_image)
{
	char err[512];

	if ((is_image ? image_name_check(name, err, sizeof(err))
		      : image_dirname_check(name, err, sizeof(err))) == 0)
		return 0;
	fprintf(stderr, "imagetool: bad %s name: %s\n", is_image ? "image" : "directory", err);
	return 2;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int imgtool_remove_tree(const char *path)
{
	int rc;

	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	rc = nftw(path, remove_one, 32, FTW_DEPTH | FTW_PHYS);
	if (rc == -1)
		return -errno;
	return rc;
}

static double elapsed(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

void imgtool_progress_start(struct imgtool_progress *p, const char *what, bool quiet)
{
	memset(p, 0, sizeof(*p));
	p->what = what;
	p->quiet = quiet;
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	p->last = p->start;
}

double imgtool_progress_elapsed(const struct imgtool_progress *p)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return elapsed(&p->start, &now);
}

static void print_line(struct imgtool_progress *p, double secs)
{
	double mib = 1024.0 * 1024.0;
	double rate = secs > 0 ? (double)p->done / secs / 1e6 : 0;

	if (p->total)
		fprintf(stderr, "%s: %.1f MiB of %.1f MiB (%d%%), %.1f MB/s\n", p->what,
			(double)p->done / mib, (double)p->total / mib,
			(int)((double)p->done * 100.0 / (double)p->total), rate);
	else
		fprintf(stderr, "%s: %.1f MiB, %.1f MB/s\n", p->what, (double)p->done / mib, rate);
}

void imgtool_progress_cb(uint64_t done, uint64_t total, void *arg)
{
	struct imgtool_progress *p = arg;
	struct timespec now;

	p->done = done;
	p->total = total;
	if (p->quiet)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (elapsed(&p->start, &now) < 2.0 || elapsed(&p->last, &now) < 2.0)
		return;
	p->last = now;
	p->printed = true;
	print_line(p, elapsed(&p->start, &now));
}

void imgtool_progress_end(struct imgtool_progress *p)
{
	if (p->quiet || !p->printed)
		return;
	print_line(p, imgtool_progress_elapsed(p));
}

const char *imgtool_time_text(const struct timespec *ts, char *buf, size_t sz)
{
	struct tm tm;

	if (ts->tv_sec == 0 && ts->tv_nsec == 0) {
		snprintf(buf, sz, "never");
		return buf;
	}
	if (!gmtime_r(&ts->tv_sec, &tm) || strftime(buf, sz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, sz, "%lld", (long long)ts->tv_sec);
	return buf;
}
