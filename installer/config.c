/* installer/config.c: reads and checks every input of the configuration directory
 * (/tftpdata): config.json (the Fleet Manager's GetMachineInfoResponse), imagename,
 * imageserver, storage-layout.json, enrol-token, the certificates, random-seed
 * (spec/installer.md §3.1, §4.1; docs/enrolment.md for what may come over the network). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "image/client.h"
#include "image/image.h"
#include "installer/config.h"
#include "netconf.h"

#define GIB (1ull << 30)

const char *inst_source_name(enum inst_source src)
{
	switch (src) {
	case INST_SRC_INITRAMFS:
		return "initramfs";
	case INST_SRC_MEDIUM:
		return "medium";
	case INST_SRC_NETWORK:
		return "network";
	}
	return "?";
}

static int join(char *buf, size_t sz, const char *dir, const char *name)
{
	int n = snprintf(buf, sz, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= sz ? -ENAMETOOLONG : 0;
}

/* Reads dir/name whole (NUL-terminated). -ENOENT when absent; other failures with
 * err. */
static int read_input(const char *dir, const char *name, size_t max, char **buf, size_t *len,
		      char *err, size_t errsz)
{
	char path[4200];
	int rc;

	*buf = NULL;
	if (join(path, sizeof(path), dir, name) < 0) {
		snprintf(err, errsz, "%s/%s: name too long", dir, name);
		return -ENAMETOOLONG;
	}
	rc = fsutil_read_file(path, max, buf, len);
	if (rc == -ENOENT)
		return rc;
	if (rc == -EFBIG)
		snprintf(err, errsz, "%s: larger than %zu bytes", path, max);
	else if (rc < 0)
		snprintf(err, errsz, "%s: %s", path, strerror(-rc));
	else if (strlen(*buf) != *len) {
		snprintf(err, errsz, "%s: contains a NUL byte", path);
		free(*buf);
		*buf = NULL;
		rc = -EINVAL;
	}
	return rc;
}

static bool present(const char *dir, const char *name)
{
	char path[4200];
	struct stat sb;

	return join(path, sizeof(path), dir, name) == 0 && stat(path, &sb) == 0 &&
	       S_ISREG(sb.st_mode);
}

/* Trims leading and trailing white space in place; returns s. */
static char *trim(char *s)
{
	size_t n = strlen(s);
	char *p = s;

	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	while (isspace((unsigned char)*p))
		p++;
	memmove(s, p, strlen(p) + 1);
	return s;
}

/* ---- storage-layout.json ------------------------------------------------------- */

void inst_layout_free(struct inst_storage_layout *l)
{
	if (!l)
		return;
	free(l->entries);
	memset(l, 0, sizeof(*l));
}

static void entry_init(struct inst_layout_entry *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->fs_type, sizeof(e->fs_type), "ext4");
	e->reserved_blocks_pct = -1;
}

int inst_layout_default(struct inst_storage_layout *out)
{
	/* The appliance has no /home or /var/log of its own (its state lives on the data
	 * partition), so of hyper-control's defaults (spec/hyper-control.md §4.3) only `/`
	 * remains: each A/B slot keeps 2 GiB free for the images to come. */
	memset(out, 0, sizeof(*out));
	out->entries = calloc(1, sizeof(*out->entries));
	if (!out->entries)
		return -ENOMEM;
	entry_init(&out->entries[0]);
	snprintf(out->entries[0].mount_point, sizeof(out->entries[0].mount_point), "/");
	out->entries[0].min_free_bytes = 2 * GIB;
	out->n = 1;
	snprintf(out->extra_basename, sizeof(out->extra_basename), "/data/");
	out->encrypt = true;
	return 0;
}

struct lctx {
	const char *path;
	char *err;
	size_t errsz;
};

static int lfail(struct lctx *c, const char *field, const char *why)
{
	snprintf(c->err, c->errsz, "%s: %s: %s", c->path, field, why);
	return -EINVAL;
}

static int get_u64(struct lctx *c, const char *field, json_t *v, uint64_t max, uint64_t *out)
{
	if (json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return lfail(c, field, "expected an integer");
	if (json_integer_value(v) < 0)
		return lfail(c, field, "must not be negative");
	if ((uint64_t)json_integer_value(v) > max)
		return lfail(c, field, "too large");
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_bool(struct lctx *c, const char *field, json_t *v, bool *out)
{
	if (json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return lfail(c, field, "expected true or false");
	*out = json_is_true(v);
	return 0;
}

/* A string of printable ASCII without white space, shorter than sz. */
static int get_str(struct lctx *c, const char *field, json_t *v, char *out, size_t sz)
{
	const char *s;

	if (json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return lfail(c, field, "expected a string");
	s = json_string_value(v);
	if (json_string_length(v) >= sz)
		return lfail(c, field, "too long");
	for (const char *p = s; *p; p++)
		if (!isgraph((unsigned char)*p))
			return lfail(c, field, "only printable characters without spaces allowed");
	snprintf(out, sz, "%s", s);
	return 0;
}

static int mount_point_ok(struct lctx *c, const char *field, const char *mp)
{
	if (!*mp)
		return lfail(c, field, "missing");
	if (mp[0] != '/')
		return lfail(c, field, "must be an absolute path");
	if (strstr(mp, "/../") || strstr(mp, "/./") || strstr(mp, "//") ||
	    (strlen(mp) >= 3 && strcmp(mp + strlen(mp) - 3, "/..") == 0) ||
	    (strlen(mp) >= 2 && strcmp(mp + strlen(mp) - 2, "/.") == 0))
		return lfail(c, field, "must be a plain path (no \".\", \"..\" or \"//\")");
	return 0;
}

static int parse_entry(struct lctx *c, size_t idx, json_t *o, struct inst_layout_entry *e)
{
	char field[96], fs_type[16] = "";
	uint64_t v;
	const char *key;
	json_t *val;
	int rc;

	entry_init(e);
	snprintf(field, sizeof(field), "BootDriveLayout[%zu]", idx);
	if (!json_is_object(o))
		return lfail(c, field, "expected an object");
	json_object_foreach(o, key, val)
	{
		snprintf(field, sizeof(field), "BootDriveLayout[%zu].%s", idx, key);
		if (!strcasecmp(key, "BytesPerInode")) {
			/* mke2fs -i takes 1 KiB .. 64 MiB; 0 means its default */
			rc = get_u64(c, field, val, 64ull << 20, &e->bytes_per_inode);
			if (rc == 0 && e->bytes_per_inode && e->bytes_per_inode < 1024)
				rc = lfail(c, field, "below 1024 (mke2fs's minimum)");
		} else if (!strcasecmp(key, "FileSystemLabel"))
			rc = get_str(c, field, val, e->label, sizeof(e->label));
		else if (!strcasecmp(key, "FileSystemType"))
			rc = get_str(c, field, val, fs_type, sizeof(fs_type));
		else if (!strcasecmp(key, "MountPoint"))
			rc = get_str(c, field, val, e->mount_point, sizeof(e->mount_point));
		else if (!strcasecmp(key, "MinimumBytes"))
			rc = get_u64(c, field, val, INT64_MAX, &e->min_bytes);
		else if (!strcasecmp(key, "MinimumFreeBytes"))
			rc = get_u64(c, field, val, INT64_MAX, &e->min_free_bytes);
		else if (!strcasecmp(key, "ReservedBlocksPercentage")) {
			v = 0;
			rc = get_u64(c, field, val, 50, &v);
			if (rc == 0 && !json_is_null(val))
				e->reserved_blocks_pct = (int)v;
		} else if (!strcasecmp(key, "RootGroupId")) {
			v = 0;
			rc = get_u64(c, field, val, UINT32_MAX - 1, &v);
			e->root_gid = (uint32_t)v;
		} else if (!strcasecmp(key, "RootUserId")) {
			v = 0;
			rc = get_u64(c, field, val, UINT32_MAX - 1, &v);
			e->root_uid = (uint32_t)v;
		} else
			rc = lfail(c, field, "unknown field");
		if (rc < 0)
			return rc;
	}
	snprintf(field, sizeof(field), "BootDriveLayout[%zu].FileSystemType", idx);
	if (fs_type[0] && strcmp(fs_type, "ext4") != 0 && strcmp(fs_type, "vfat") != 0)
		return lfail(c, field, "must be ext4 or vfat");
	if (fs_type[0])
		snprintf(e->fs_type, sizeof(e->fs_type), "%s", fs_type);
	snprintf(field, sizeof(field), "BootDriveLayout[%zu].MountPoint", idx);
	if ((rc = mount_point_ok(c, field, e->mount_point)) < 0)
		return rc;
	snprintf(field, sizeof(field), "BootDriveLayout[%zu].FileSystemLabel", idx);
	if (strlen(e->label) > (strcmp(e->fs_type, "vfat") == 0 ? 11u : 16u))
		return lfail(c, field,
			     strcmp(e->fs_type, "vfat") == 0 ? "longer than 11 characters (vfat)"
							     : "longer than 16 characters (ext4)");
	return 0;
}

static int parse_entries(struct lctx *c, json_t *a, struct inst_storage_layout *out)
{
	int rc;

	if (json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return lfail(c, "BootDriveLayout", "expected a list");
	if (json_array_size(a) > INST_LAYOUT_MAX_ENTRIES)
		return lfail(c, "BootDriveLayout", "too many entries");
	if (json_array_size(a) == 0)
		return 0;
	out->entries = calloc(json_array_size(a), sizeof(*out->entries));
	if (!out->entries) {
		snprintf(c->err, c->errsz, "%s: out of memory", c->path);
		return -ENOMEM;
	}
	for (size_t i = 0; i < json_array_size(a); i++) {
		if ((rc = parse_entry(c, i, json_array_get(a, i), &out->entries[i])) < 0)
			return rc;
		out->n = i + 1;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(out->entries[j].mount_point, out->entries[i].mount_point)) {
				char field[64];

				snprintf(field, sizeof(field), "BootDriveLayout[%zu].MountPoint",
					 i);
				return lfail(c, field, "used twice");
			}
	}
	return 0;
}

int inst_layout_parse(const char *text, size_t len, const char *path,
		      struct inst_storage_layout *out, char *err, size_t errsz)
{
	struct lctx c = {path, err, errsz};
	json_error_t je;
	const char *key;
	json_t *doc, *val;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		snprintf(err, errsz, "%s: bad JSON at line %d: %s", path, je.line, je.text);
		return -EINVAL;
	}
	if (!json_is_object(doc)) {
		snprintf(err, errsz, "%s: expected a JSON object", path);
		json_decref(doc);
		return -EINVAL;
	}
	json_object_foreach(doc, key, val)
	{
		if (!strcasecmp(key, "BootDriveLayout"))
			rc = parse_entries(&c, val, out);
		else if (!strcasecmp(key, "ExtraMountPointsBasename")) {
			rc =
			    get_str(&c, key, val, out->extra_basename, sizeof(out->extra_basename));
			if (rc == 0 && out->extra_basename[0])
				rc = mount_point_ok(&c, key, out->extra_basename);
		} else if (!strcasecmp(key, "Encrypt"))
			rc = get_bool(&c, key, val, &out->encrypt);
		else if (!strcasecmp(key, "UseKexec"))
			rc = get_bool(&c, key, val, &out->use_kexec);
		else
			rc = lfail(&c, key, "unknown field");
		if (rc < 0)
			break;
	}
	json_decref(doc);
	if (rc < 0) {
		inst_layout_free(out);
		return rc;
	}
	if (!out->extra_basename[0])
		snprintf(out->extra_basename, sizeof(out->extra_basename), "/data/");
	return 0;
}

/* ---- imageserver, imagename, enrol-token --------------------------------------- */

static bool host_ok(const char *h)
{
	if (!*h)
		return false;
	for (const char *p = h; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-_:", *p))
			return false;
	return true;
}

int inst_imageserver_parse(const char *text, char *host, size_t hostsz, int *port, char *err,
			   size_t errsz)
{
	return inst_hostport_parse(text, IMAGESERVER_DEFAULT_PORT, host, hostsz, port, err, errsz);
}

int inst_hostport_parse(const char *text, int default_port, char *host, size_t hostsz, int *port,
			char *err, size_t errsz)
{
	char buf[512], *h, *p = NULL;
	long v;

	if (strlen(text) >= sizeof(buf)) {
		snprintf(err, errsz, "too long");
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", text);
	h = trim(buf);
	if (h[0] == '[') {
		char *close = strchr(h, ']');

		if (!close || (close[1] && close[1] != ':')) {
			snprintf(err, errsz, "\"%s\": bad [address]:port", h);
			return -EINVAL;
		}
		*close = '\0';
		if (close[1])
			p = close + 2;
		h++;
	} else if ((p = strchr(h, ':'))) {
		*p++ = '\0';
		if (strchr(p, ':')) {
			snprintf(err, errsz, "\"%s\": more than one ':' (write [v6]:port)", text);
			return -EINVAL;
		}
	}
	if (!host_ok(h)) {
		snprintf(err, errsz, "bad host name \"%s\"", h);
		return -EINVAL;
	}
	*port = default_port;
	if (p) {
		char *end;

		errno = 0;
		v = strtol(p, &end, 10);
		if (!*p || *end || errno || v < 1 || v > 65535 || !isdigit((unsigned char)*p)) {
			snprintf(err, errsz, "bad port \"%s\"", p);
			return -EINVAL;
		}
		*port = (int)v;
	}
	if (strlen(h) >= hostsz) {
		snprintf(err, errsz, "host name too long");
		return -EINVAL;
	}
	snprintf(host, hostsz, "%s", h);
	return 0;
}

static int load_small(const char *dir, const char *name, char **text, char *err, size_t errsz)
{
	size_t len;
	int rc = read_input(dir, name, INST_CONFIG_MAX_SMALL, text, &len, err, errsz);

	if (rc == 0)
		trim(*text);
	return rc;
}

static int load_image_name(struct inst_config *cfg, char *err, size_t errsz)
{
	char *s, why[256];
	int rc = load_small(cfg->dir, "imagename", &s, err, errsz);

	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (*s && image_dirname_check(s, why, sizeof(why)) < 0) {
		snprintf(err, errsz, "%s/imagename: bad image name: %s", cfg->dir, why);
		rc = -EINVAL;
	} else if (strlen(s) >= sizeof(cfg->image_name)) {
		snprintf(err, errsz, "%s/imagename: too long", cfg->dir);
		rc = -EINVAL;
	} else
		snprintf(cfg->image_name, sizeof(cfg->image_name), "%s", s);
	free(s);
	return rc;
}

static int load_imageserver(struct inst_config *cfg, char *err, size_t errsz)
{
	char *s, why[256];
	int rc = load_small(cfg->dir, "imageserver", &s, err, errsz);

	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (*s && inst_imageserver_parse(s, cfg->imageserver_host, sizeof(cfg->imageserver_host),
					 &cfg->imageserver_port, why, sizeof(why)) < 0) {
		snprintf(err, errsz, "%s/imageserver: %s (expected host or host:port)", cfg->dir,
			 why);
		rc = -EINVAL;
	}
	free(s);
	return rc;
}

/* fleetmanager (optional): where the installed hypervisor's upgrade agent asks for its
 * RequiredImage; written into its flags (docs/upgrades.md). */
static int load_fleetmanager(struct inst_config *cfg, char *err, size_t errsz)
{
	char *s, why[256];
	int rc = load_small(cfg->dir, "fleetmanager", &s, err, errsz);

	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (*s && inst_hostport_parse(s, FLEETMANAGER_DEFAULT_PORT, cfg->fleetmanager_host,
				      sizeof(cfg->fleetmanager_host), &cfg->fleetmanager_port, why,
				      sizeof(why)) < 0) {
		snprintf(err, errsz, "%s/fleetmanager: %s (expected host or host:port)", cfg->dir,
			 why);
		rc = -EINVAL;
	}
	free(s);
	return rc;
}

static int load_token(struct inst_config *cfg, char *err, size_t errsz)
{
	char *s;
	int rc = load_small(cfg->dir, "enrol-token", &s, err, errsz);

	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (strlen(s) != 64 || strspn(s, "0123456789abcdefABCDEF") != 64) {
		snprintf(err, errsz, "%s/enrol-token: expected 64 hex digits", cfg->dir);
		rc = -EINVAL;
	} else
		snprintf(cfg->enrol_token, sizeof(cfg->enrol_token), "%s", s);
	explicit_bzero(s, strlen(s));
	free(s);
	return rc;
}

static int load_layout(struct inst_config *cfg, char *err, size_t errsz)
{
	char path[4200], *text;
	size_t len;
	int rc = read_input(cfg->dir, "storage-layout.json", INST_CONFIG_MAX_JSON, &text, &len, err,
			    errsz);

	if (rc == -ENOENT) {
		if (inst_layout_default(&cfg->layout) < 0) {
			snprintf(err, errsz, "out of memory");
			return -ENOMEM;
		}
		return 0;
	}
	if (rc < 0)
		return rc;
	join(path, sizeof(path), cfg->dir, "storage-layout.json");
	rc = inst_layout_parse(text, len, path, &cfg->layout, err, errsz);
	free(text);
	return rc;
}

/* ---- config.json ----------------------------------------------------------------- */

static bool mac_zero(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return memcmp(mac, zero, 6) == 0;
}

static bool hostname_ok(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > 253 || h[0] == '.' || h[0] == '-')
		return false;
	for (const char *p = h; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return false;
	return true;
}

int inst_info_check(const struct fmapi_get_machine_info_response *info, const char *path, char *err,
		    size_t errsz)
{
	const struct fmapi_machine *m = &info->machine;
	struct hvapi_subnets plain = {0};
	bool any_pair = false, matched = false;
	int rc = 0;

	if (*api_str(info->error)) {
		snprintf(err, errsz, "%s: the Fleet Manager's Error: %s", path, info->error);
		return -EINVAL;
	}
	if (!*api_str(m->net.hostname)) {
		snprintf(err, errsz, "%s: Machine.Hostname: missing", path);
		return -EINVAL;
	}
	if (!hostname_ok(m->net.hostname)) {
		snprintf(err, errsz, "%s: Machine.Hostname: \"%s\" is not a host name", path,
			 m->net.hostname);
		return -EINVAL;
	}
	plain.v = calloc(info->subnets.n + 1, sizeof(*plain.v));
	if (!plain.v) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < info->subnets.n; i++)
		if (info->subnets.v[i].vlan_id == 0)
			plain.v[plain.n++] = info->subnets.v[i];
	for (size_t i = 0; i <= m->secondary.n; i++) {
		const struct fmapi_network_entry *e = i == 0 ? &m->net : &m->secondary.v[i - 1];

		if (!e->host_ip.s_addr || mac_zero(e->host_mac))
			continue;
		any_pair = true;
		if (netconf_subnet_for_ip(&plain, e->host_ip))
			matched = true;
	}
	if (plain.n == 0) {
		snprintf(err, errsz, "%s: no non-VLAN subnets known", path);
		rc = -EINVAL;
	} else if (!any_pair) {
		snprintf(err, errsz, "%s: no IP and MAC addresses known for host %s", path,
			 m->net.hostname);
		rc = -EINVAL;
	} else if (!matched) {
		snprintf(err, errsz, "%s: no IP and MAC addresses matching a subnet", path);
		rc = -EINVAL;
	}
	free(plain.v); /* the elements are borrowed copies */
	return rc;
}

static int load_info(struct inst_config *cfg, char *err, size_t errsz)
{
	char path[4200], *text, *msg = NULL;
	json_error_t je;
	size_t len;
	json_t *doc;
	int rc = read_input(cfg->dir, "config.json", INST_CONFIG_MAX_JSON, &text, &len, err, errsz);

	join(path, sizeof(path), cfg->dir, "config.json");
	if (rc == -ENOENT) {
		snprintf(err, errsz, "%s: missing (the machine's configuration)", path);
		return rc;
	}
	if (rc < 0)
		return rc;
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (!doc) {
		snprintf(err, errsz, "%s: bad JSON at line %d: %s", path, je.line, je.text);
		return -EINVAL;
	}
	if (!json_is_object(doc)) {
		snprintf(err, errsz, "%s: expected a JSON object (GetMachineInfoResponse)", path);
		json_decref(doc);
		return -EINVAL;
	}
	rc = api_decode_msg(&fmapi_get_machine_info_response_type, doc, path, &cfg->info, &msg);
	json_decref(doc);
	if (rc < 0) {
		snprintf(err, errsz, "%s", msg ? msg : "out of memory");
		free(msg);
		return rc;
	}
	cfg->have_info = true;
	return inst_info_check(&cfg->info, path, err, errsz);
}

/* ---- certificates and seed --------------------------------------------------------- */

static int load_certs(struct inst_config *cfg, char *err, size_t errsz)
{
	bool cert = present(cfg->dir, "cert.pem"), key = present(cfg->dir, "key.pem");

	if (key && cfg->source == INST_SRC_NETWORK) {
		snprintf(err, errsz,
			 "%s/key.pem came over the network: refused (anyone on the boot segment "
			 "could have read it); give the machine's key on the boot medium or in the "
			 "initramfs, or enrol it with an enrol-token",
			 cfg->dir);
		return -EPERM;
	}
	if (cert != key) {
		snprintf(err, errsz, "%s/%s without %s: the machine's certificate needs both",
			 cfg->dir, cert ? "cert.pem" : "key.pem", cert ? "key.pem" : "cert.pem");
		return -EINVAL;
	}
	cfg->have_machine_cert = cert && key;
	cfg->have_ca = present(cfg->dir, "CA.pem");
	if (!cfg->have_ca) {
		snprintf(err, errsz,
			 "%s/CA.pem missing: without it the imageserver's certificate cannot be "
			 "verified",
			 cfg->dir);
		return -ENOENT;
	}
	if (!cfg->have_machine_cert && !cfg->enrol_token[0]) {
		snprintf(
		    err, errsz,
		    "%s: neither cert.pem + key.pem nor enrol-token: the machine has no way to "
		    "get its certificate",
		    cfg->dir);
		return -ENOENT;
	}
	return 0;
}

int inst_config_random_seed(const char *dir, enum inst_source src, const char *sink, bool *used,
			    char *err, size_t errsz)
{
	char path[4200], *seed;
	size_t len;
	int fd, rc;

	*used = false;
	if (join(path, sizeof(path), dir, "random-seed") < 0) {
		snprintf(err, errsz, "%s/random-seed: name too long", dir);
		return -ENAMETOOLONG;
	}
	rc = fsutil_read_file(path, 1u << 20, &seed, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (src != INST_SRC_NETWORK) {
		fd = open(sink, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			rc = -errno;
			snprintf(err, errsz, "%s: %s", sink, strerror(errno));
		} else {
			rc = fsutil_write_all(fd, seed, len);
			if (rc < 0)
				snprintf(err, errsz, "writing the random seed into %s: %s", sink,
					 strerror(-rc));
			close(fd);
		}
		*used = rc == 0;
	}
	explicit_bzero(seed, len);
	free(seed);
	return rc;
}

/* ---- the whole directory ----------------------------------------------------------- */

int inst_config_load(const char *dir, enum inst_source src, struct inst_config *cfg, char *err,
		     size_t errsz)
{
	bool seeded;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	if (strlen(dir) >= sizeof(cfg->dir)) {
		snprintf(err, errsz, "%s: directory name too long", dir);
		return -ENAMETOOLONG;
	}
	snprintf(cfg->dir, sizeof(cfg->dir), "%s", dir);
	cfg->source = src;
	if ((rc = load_info(cfg, err, errsz)) < 0 || (rc = load_image_name(cfg, err, errsz)) < 0 ||
	    (rc = load_imageserver(cfg, err, errsz)) < 0 ||
	    (rc = load_fleetmanager(cfg, err, errsz)) < 0 ||
	    (rc = load_layout(cfg, err, errsz)) < 0 || (rc = load_token(cfg, err, errsz)) < 0 ||
	    (rc = load_certs(cfg, err, errsz)) < 0) {
		inst_config_free(cfg);
		return rc;
	}
	/* An imagename without an imageserver file is not refused here: the installer's
	 * -imageServerHostname may name the server; inst_fetch_image refuses if none does. */
	/* Mixed into the pool, not credited: harmless from anywhere, but only a seed
	 * that did not cross the network is worth anything (weakness 8). */
	if ((rc = inst_config_random_seed(dir, src, "/dev/urandom", &seeded, err, errsz)) < 0) {
		inst_config_free(cfg);
		return rc;
	}
	return 0;
}

void inst_config_free(struct inst_config *cfg)
{
	if (!cfg)
		return;
	api_clear(&fmapi_get_machine_info_response_type, &cfg->info);
	inst_layout_free(&cfg->layout);
	explicit_bzero(cfg->enrol_token, sizeof(cfg->enrol_token));
	cfg->have_info = false;
}
