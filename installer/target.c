/* installer/target.c: the tree the data partition holds at first boot (mke2fs -d takes
 * it): the machine's name, network configuration, certificates, the hypervisor's flags
 * and subnets, the installer's record of its configuration (for a later reinstall) and
 * its log. Private keys go only where the hypervisor needs its own (etc/ssl/hypervisor/
 * key.pem, 0600); the enrol token and the random seed go nowhere. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "installer/config.h"
#include "installer/installer.h"
#include "json.h"
#include "log.h"
#include "netconf.h"

#define TARGET_MAX_COPY (16u << 20)
#define TARGET_MAX_NICS 64

struct target {
	struct inst_ctx *ctx;
	const char *root;
	char *err;
	size_t errsz;
};

static int tfail(struct target *t, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int tfail(struct target *t, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, t->errsz, fmt, ap);
	va_end(ap);
	return rc;
}

/* Writes root/rel atomically with mode, making its directories (0755). */
static int put(struct target *t, const char *rel, const void *buf, size_t len, mode_t mode)
{
	char path[4200], *slash;
	int rc;

	if (snprintf(path, sizeof(path), "%s/%s", t->root, rel) >= (int)sizeof(path))
		return tfail(t, -ENAMETOOLONG, "%s/%s: name too long", t->root, rel);
	slash = strrchr(path, '/');
	*slash = '\0';
	rc = fsutil_mkdir_p(path, 0755);
	*slash = '/';
	if (rc < 0)
		return tfail(t, rc, "mkdir for %s: %s", path, strerror(-rc));
	if ((rc = fsutil_write_atomic(path, buf, len, mode)) < 0)
		return tfail(t, rc, "write %s: %s", path, strerror(-rc));
	return 0;
}

static int put_str(struct target *t, const char *rel, const char *s, mode_t mode)
{
	return put(t, rel, s, strlen(s), mode);
}

/* Copies the file src into root/rel with mode. missing_ok: an absent src is skipped. */
static int copy_in(struct target *t, const char *src, const char *rel, mode_t mode, bool missing_ok)
{
	char *buf;
	size_t len;
	int rc = fsutil_read_file(src, TARGET_MAX_COPY, &buf, &len);

	if (rc == -ENOENT && missing_ok)
		return 0;
	if (rc < 0)
		return tfail(t, rc, "read %s: %s", src, strerror(-rc));
	rc = put(t, rel, buf, len, mode);
	explicit_bzero(buf, len);
	free(buf);
	return rc;
}

static int cfg_path(struct target *t, const char *name, char *buf, size_t sz)
{
	if (snprintf(buf, sz, "%s/%s", t->ctx->cfg->dir, name) >= (int)sz)
		return tfail(t, -ENAMETOOLONG, "%s/%s: name too long", t->ctx->cfg->dir, name);
	return 0;
}

static int hostname(struct target *t)
{
	const char *h = api_str(t->ctx->cfg->info.machine.net.hostname);
	char buf[256];
	size_t n = strcspn(h, ".");

	if (n == 0 || n >= sizeof(buf) - 1)
		return tfail(t, -EINVAL, "config.json: Machine.Hostname \"%s\" unusable", h);
	snprintf(buf, sizeof(buf), "%.*s\n", (int)n, h);
	return put_str(t, "etc/hostname", buf, 0644);
}

/* ---- NICs from sysfs ------------------------------------------------------------- */

static int read_attr(const char *dir, const char *name, const char *attr, char *buf, size_t sz)
{
	char path[4200], *s;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, name, attr);
	if ((rc = fsutil_read_file(path, 4096, &s, &len)) < 0)
		return rc;
	while (len && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	snprintf(buf, sz, "%s", s);
	free(s);
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	int end = 0;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &end) != 6 ||
	    s[end])
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

static int cmp_nic(const void *a, const void *b)
{
	return strcmp(((const struct netconf_nic *)a)->name, ((const struct netconf_nic *)b)->name);
}

/* The Ethernet NICs of sysfs/class/net (type 1, not loopback), sorted by name: up =
 * carrier. */
static int list_nics(struct target *t, struct netconf_nic *nics, size_t *n)
{
	char dir[4200], buf[64];
	struct dirent *de;
	DIR *d;

	*n = 0;
	snprintf(dir, sizeof(dir), "%s/class/net", t->ctx->sysfs ? t->ctx->sysfs : "/sys");
	if (!(d = opendir(dir)))
		return tfail(t, -errno, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) && *n < TARGET_MAX_NICS) {
		struct netconf_nic *nic = &nics[*n];

		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(nic->name))
			continue;
		if (read_attr(dir, de->d_name, "type", buf, sizeof(buf)) < 0 || strcmp(buf, "1"))
			continue;
		if (read_attr(dir, de->d_name, "address", buf, sizeof(buf)) < 0 ||
		    parse_mac(buf, nic->mac) < 0)
			continue;
		if (!memcmp(nic->mac, "\0\0\0\0\0\0", 6)) /* loopback-like */
			continue;
		snprintf(nic->name, sizeof(nic->name), "%s", de->d_name);
		/* carrier reads EINVAL while the link is down */
		nic->up = read_attr(dir, de->d_name, "carrier", buf, sizeof(buf)) == 0 &&
			  strcmp(buf, "1") == 0;
		(*n)++;
	}
	closedir(d);
	qsort(nics, *n, sizeof(*nics), cmp_nic);
	return 0;
}

static void note_cb(void *arg, const char *msg)
{
	(void)arg;
	log_info("network configuration: %s", msg);
}

static int network(struct target *t)
{
	struct netconf_nic nics[TARGET_MAX_NICS];
	char *ifs = NULL, *resolv = NULL, why[256];
	size_t n;
	int rc;

	if ((rc = list_nics(t, nics, &n)) < 0)
		return rc;
	rc = netconf_render(&t->ctx->cfg->info, nics, n, note_cb, NULL, &ifs, &resolv, why,
			    sizeof(why));
	if (rc < 0)
		return tfail(t, rc, "network configuration of %s: %s",
			     api_str(t->ctx->cfg->info.machine.net.hostname), why);
	if ((rc = put_str(t, "etc/network/interfaces", ifs, 0644)) == 0)
		rc = put_str(t, "etc/resolv.conf", resolv, 0644);
	free(ifs);
	free(resolv);
	return rc;
}

/* ---- certificates, flags, subnets ------------------------------------------------- */

static int certificates(struct target *t)
{
	struct inst_ctx *c = t->ctx;
	char path[4200];
	int rc;

	if (!c->ca_file || !c->cert_file || !c->key_file)
		return tfail(t, -EINVAL, "no CA, certificate or key for the hypervisor");
	if ((rc = copy_in(t, c->ca_file, "etc/ssl/CA.pem", 0644, false)) < 0)
		return rc;
	if ((rc = cfg_path(t, "IdentityCA.pem", path, sizeof(path))) < 0 ||
	    (rc = copy_in(t, path, "etc/ssl/IdentityCA.pem", 0644, true)) < 0)
		return rc;
	if ((rc = copy_in(t, c->cert_file, "etc/ssl/hypervisor/cert.pem", 0644, false)) < 0)
		return rc;
	return copy_in(t, c->key_file, "etc/ssl/hypervisor/key.pem", 0600, false);
}

static int flags(struct target *t)
{
	const struct inst_config *cfg = t->ctx->cfg;
	char buf[1024];
	size_t n = 0;

	if (cfg->imageserver_host[0])
		n += (size_t)snprintf(
		    buf + n, sizeof(buf) - n,
		    "# written by the installer: where this hypervisor fetches images\n"
		    "imageServerHostname=%s\nimageServerPortNum=%d\n",
		    cfg->imageserver_host, cfg->imageserver_port);
	if (cfg->fleetmanager_host[0])
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "# where its upgrade agent asks for its RequiredImage\n"
				      "fleetManagerHostname=%s\nfleetManagerPortNum=%d\n",
				      cfg->fleetmanager_host, cfg->fleetmanager_port);
	if (n == 0)
		return 0;
	return put_str(t, "etc/hypervisor/flags.default", buf, 0644);
}

/* The daemon's own format (daemon/hypervisor/vmm/host_settings.c save_subnets): the
 * Subnet list, pretty JSON. */
static int subnets(struct target *t)
{
	json_t *j = hvapi_subnets_to_json(&t->ctx->cfg->info.subnets);
	char *text = j ? sjson_dumps(j, SJSON_PRETTY) : NULL;
	int rc;

	json_decref(j);
	if (!text)
		return tfail(t, -ENOMEM, "out of memory");
	rc = put_str(t, "lib/hypervisor/subnets.json", text, 0644);
	free(text);
	return rc;
}

/* ---- the installer's own record ---------------------------------------------------- */

/* What is kept of the configuration, in etc/installer (for a later reinstall) and in
 * log/installer/tftpdata (what this install was given): a list of names, never a
 * pattern of what to leave out (weakness 9), so a key, the enrol token or the seed
 * cannot slip in under another name. */
static const char *const record_etc[] = {"config.json",	 "imagename",		"imageserver",
					 "fleetmanager", "storage-layout.json", "tools-imagename"};
static const char *const record_log[] = {"config.json",	 "imagename",		"imageserver",
					 "fleetmanager", "storage-layout.json", "tools-imagename",
					 "CA.pem",	 "IdentityCA.pem",	"cert.pem"};

static int record(struct target *t)
{
	char path[4200], rel[600];
	int rc;

	for (size_t i = 0; i < sizeof(record_etc) / sizeof(record_etc[0]); i++) {
		snprintf(rel, sizeof(rel), "etc/installer/%s", record_etc[i]);
		if ((rc = cfg_path(t, record_etc[i], path, sizeof(path))) < 0 ||
		    (rc = copy_in(t, path, rel, 0644, true)) < 0)
			return rc;
	}
	for (size_t i = 0; i < sizeof(record_log) / sizeof(record_log[0]); i++) {
		snprintf(rel, sizeof(rel), "log/installer/tftpdata/%s", record_log[i]);
		if ((rc = cfg_path(t, record_log[i], path, sizeof(path))) < 0 ||
		    (rc = copy_in(t, path, rel, 0644, true)) < 0)
			return rc;
	}
	return 0;
}

static int log_copy(struct target *t)
{
	char **lines = NULL, *text = NULL;
	size_t n = 0, len = 0;
	FILE *f;
	int rc;

	if (log_ring_copy(NULL, &lines, &n) < 0 || !(f = open_memstream(&text, &len))) {
		log_lines_free(lines, n);
		return tfail(t, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\n", lines[i]);
	fclose(f);
	log_lines_free(lines, n);
	rc = text ? put(t, "log/installer/log", text, len, 0600) : tfail(t, -ENOMEM, "no memory");
	free(text);
	return rc;
}

int inst_target_stage(struct inst_ctx *ctx, const char *data_dir, char *err, size_t errsz)
{
	struct target t = {ctx, data_dir, err, errsz};
	int rc;

	if (!ctx->cfg->have_info)
		return tfail(&t, -EINVAL, "no machine configuration (config.json)");
	if ((rc = hostname(&t)) < 0 || (rc = network(&t)) < 0 || (rc = certificates(&t)) < 0 ||
	    (rc = flags(&t)) < 0 || (rc = subnets(&t)) < 0 || (rc = record(&t)) < 0 ||
	    (rc = log_copy(&t)) < 0)
		return rc;
	return 0;
}
