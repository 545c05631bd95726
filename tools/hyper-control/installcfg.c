/* installcfg: the configuration files a machine's installer reads from /tftpdata
 * (spec/hyper-control.md §4.3, "getInstallConfig"; installer/config.c reads them):
 * config.json, imagename, imageserver, fleetmanager (with -fleetManagerHostname), random-seed,
 * resolv.conf, storage-layout.json, the -netbootFiles, and for the enrolment paths CA.pem,
 * IdentityCA.pem and a fresh enrol-token (docs/enrolment.md). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "enrol.h"
#include "fsutil.h"
#include "installcfg.h"
#include "image/client.h"
#include "json.h"
#include "netconf.h"

#define HC_CFG_MAX_FILE (64u << 20) /* a -netbootFiles entry, a CA file */
#define HC_CFG_MIN_INODES 1000	    /* fewer: not a bootable image */

void hc_files_clear(struct hc_files *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].name);
		if (f->v[i].data)
			explicit_bzero(f->v[i].data, f->v[i].len); /* enrol-token, random-seed */
		free(f->v[i].data);
	}
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

int hc_files_put(struct hc_files *f, const char *name, const void *data, size_t len)
{
	struct hc_file *e = NULL, *v;
	uint8_t *copy = malloc(len ? len : 1);

	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, data, len);
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->v[i].name, name))
			e = &f->v[i];
	if (e) {
		explicit_bzero(e->data, e->len);
		free(e->data);
		e->data = copy;
		e->len = len;
		return 0;
	}
	v = realloc(f->v, (f->n + 1) * sizeof(*v));
	if (!v) {
		free(copy);
		return -ENOMEM;
	}
	f->v = v;
	e = &v[f->n];
	e->name = strdup(name);
	if (!e->name) {
		free(copy);
		return -ENOMEM;
	}
	e->data = copy;
	e->len = len;
	f->n++;
	return 0;
}

const char *hc_cfg_required_image(const struct fmapi_get_machine_info_response *mi)
{
	for (size_t i = 0; i < mi->machine.tags.n; i++)
		if (!strcmp(api_str(mi->machine.tags.v[i].key), "RequiredImage"))
			return api_str(mi->machine.tags.v[i].value);
	return "";
}

static bool mac_set(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return memcmp(mac, zero, 6) != 0;
}

/* The primary network entry (i == 0), then the secondary ones. */
static const struct fmapi_network_entry *entry_at(const struct fmapi_machine *m, size_t i)
{
	return i == 0 ? &m->net : &m->secondary.v[i - 1];
}

int hc_cfg_check_entries(const struct fmapi_get_machine_info_response *mi, char *err, size_t errsz)
{
	struct hvapi_subnets plain = {0};
	bool any_pair = false, matched = false;
	int rc = 0;

	plain.v = calloc(mi->subnets.n + 1, sizeof(*plain.v));
	if (!plain.v) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < mi->subnets.n; i++)
		if (mi->subnets.v[i].vlan_id == 0)
			plain.v[plain.n++] = mi->subnets.v[i]; /* borrowed copies */
	for (size_t i = 0; i <= mi->machine.secondary.n; i++) {
		const struct fmapi_network_entry *e = entry_at(&mi->machine, i);

		if (!e->host_ip.s_addr || !mac_set(e->host_mac))
			continue;
		any_pair = true;
		if (netconf_subnet_for_ip(&plain, e->host_ip))
			matched = true;
	}
	if (plain.n == 0) {
		snprintf(err, errsz, "no non-VLAN subnets known");
		rc = -EINVAL;
	} else if (!any_pair) {
		snprintf(err, errsz, "no IP and MAC addresses known for host");
		rc = -EINVAL;
	} else if (!matched) {
		snprintf(err, errsz, "no IP and MAC addresses matching a subnet");
		rc = -EINVAL;
	}
	free(plain.v);
	return rc;
}

/* Appends printf output to the growing string *s (of *len bytes). 0 or -ENOMEM. */
static int __attribute__((format(printf, 3, 4))) append(char **s, size_t *len, const char *fmt, ...)
{
	va_list ap;
	char *more;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	more = realloc(*s, *len + (size_t)n + 1);
	if (!more)
		return -ENOMEM;
	*s = more;
	va_start(ap, fmt);
	vsnprintf(*s + *len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	*len += (size_t)n;
	return 0;
}

int hc_cfg_resolv_conf(const struct fmapi_get_machine_info_response *mi, char **out, char *err,
		       size_t errsz)
{
	const struct hvapi_subnet *sn = NULL;
	char ip[INET_ADDRSTRLEN];
	size_t len = 0;
	char *s;
	int rc = 0;

	for (size_t i = 0; i <= mi->machine.secondary.n && !sn; i++) {
		const struct fmapi_network_entry *e = entry_at(&mi->machine, i);

		if (e->host_ip.s_addr)
			sn = netconf_subnet_for_ip(&mi->subnets, e->host_ip);
	}
	if (!sn) {
		snprintf(err, errsz, "no primary subnet found");
		return -EINVAL;
	}
	s = calloc(1, 1);
	if (!s)
		goto nomem;
	if (*api_str(sn->domain_name))
		rc = append(&s, &len, "domain %s\nsearch %s\n\n", sn->domain_name, sn->domain_name);
	for (size_t i = 0; rc == 0 && i < sn->domain_name_servers.n; i++) {
		inet_ntop(AF_INET, &sn->domain_name_servers.v[i], ip, sizeof(ip));
		rc = append(&s, &len, "nameserver %s\n", ip);
	}
	if (rc < 0) {
		free(s);
		goto nomem;
	}
	*out = s;
	return 0;
nomem:
	snprintf(err, errsz, "out of memory");
	return -ENOMEM;
}

static json_t *layout_entry(const char *mount_point, json_int_t min_free)
{
	return json_pack("{s:s, s:I}", "MountPoint", mount_point, "MinimumFreeBytes", min_free);
}

int hc_cfg_storage_layout(const struct hc_opts *o, char **out, size_t *len, char *err, size_t errsz)
{
	json_error_t je;
	json_t *doc;
	int rc;

	if (o->storage_layout_filename && *o->storage_layout_filename) {
		const char *path = o->storage_layout_filename;

		rc = fsutil_read_file(path, 1u << 20, out, len);
		if (rc < 0) {
			snprintf(err, errsz, "reading %s: %s", path,
				 rc == -EFBIG ? "larger than 1 MiB" : strerror(-rc));
			return rc;
		}
		doc = json_loadb(*out, *len, JSON_REJECT_DUPLICATES, &je);
		if (!json_is_object(doc)) {
			if (doc)
				snprintf(err, errsz, "%s: expected a JSON object", path);
			else
				snprintf(err, errsz, "%s: bad JSON at line %d: %s", path, je.line,
					 je.text);
			json_decref(doc);
			free(*out);
			*out = NULL;
			return -EINVAL;
		}
		json_decref(doc);
		return 0;
	}
	doc = json_pack("{s:[o,o,o], s:s}", "BootDriveLayout", layout_entry("/", 2147483648),
			layout_entry("/home", 1073741824), layout_entry("/var/log", 536870912),
			"ExtraMountPointsBasename", "/data/");
	if (doc && o->encrypt)
		json_object_set_new(doc, "Encrypt", json_true());
	if (doc && o->use_kexec)
		json_object_set_new(doc, "UseKexec", json_true());
	*out = doc ? sjson_dumps(doc, SJSON_PRETTY) : NULL;
	json_decref(doc);
	if (!*out) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	*len = strlen(*out);
	return 0;
}

int hc_cfg_enrol_token(char out[65])
{
	return enrol_token_new(out);
}

/* Adds the bytes of the local file path as name. */
static int put_file(struct hc_files *out, const char *name, const char *path, const char *what,
		    char *err, size_t errsz)
{
	char *data;
	size_t len;
	int rc = fsutil_read_file(path, HC_CFG_MAX_FILE, &data, &len);

	if (rc < 0) {
		snprintf(err, errsz, "reading %s %s: %s", what, path,
			 rc == -EFBIG ? "larger than 64 MiB" : strerror(-rc));
		return rc;
	}
	rc = hc_files_put(out, name, data, len);
	free(data);
	if (rc < 0)
		snprintf(err, errsz, "out of memory");
	return rc;
}

/* random-seed: -randomSeedBytes bytes from the kernel's generator. */
static int put_seed(struct hc_files *out, uint64_t n, char *err, size_t errsz)
{
	uint8_t *buf;
	size_t done = 0;
	int rc;

	if (n > (64u << 20)) {
		snprintf(err, errsz, "-randomSeedBytes %llu: more than 64 MiB",
			 (unsigned long long)n);
		return -EINVAL;
	}
	buf = malloc(n);
	if (!buf) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	while (done < n) {
		ssize_t got = getrandom(buf + done, n - done, 0);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			snprintf(err, errsz, "getrandom: %s", strerror(errno));
			free(buf);
			return -errno;
		}
		done += (size_t)got;
	}
	rc = hc_files_put(out, "random-seed", buf, n);
	explicit_bzero(buf, n);
	free(buf);
	if (rc < 0)
		snprintf(err, errsz, "out of memory");
	return rc;
}

static int put_text(struct hc_files *out, const char *name, const char *text, char *err,
		    size_t errsz)
{
	if (hc_files_put(out, name, text, strlen(text)) < 0) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int put_generated(const struct hc_opts *o, const struct fmapi_get_machine_info_response *mi,
			 const char *image_name, struct hc_files *out, char *err, size_t errsz)
{
	char *text = NULL, line[1100];
	size_t len;
	int rc;

	text = api_dumps(&fmapi_get_machine_info_response_type, mi, SJSON_PRETTY);
	if (!text || hc_files_put(out, "config.json", text, strlen(text)) < 0) {
		free(text);
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	free(text);
	if (*image_name) {
		snprintf(line, sizeof(line), "%s\n", image_name);
		if ((rc = put_text(out, "imagename", line, err, errsz)) < 0)
			return rc;
	}
	snprintf(line, sizeof(line), "%s:%d\n", api_str(o->image_server_hostname),
		 o->image_server_port);
	if ((rc = put_text(out, "imageserver", line, err, errsz)) < 0)
		return rc;
	/* The installed hypervisor's upgrade agent asks this fleet manager for its
	 * RequiredImage (installer/target.c writes it into the hypervisor's flags). */
	if (o->fleet_manager_hostname && *o->fleet_manager_hostname) {
		snprintf(line, sizeof(line), "%s:%d\n", o->fleet_manager_hostname,
			 o->fleet_manager_port);
		if ((rc = put_text(out, "fleetmanager", line, err, errsz)) < 0)
			return rc;
	}
	if ((rc = hc_cfg_resolv_conf(mi, &text, err, errsz)) < 0)
		return rc;
	rc = put_text(out, "resolv.conf", text, err, errsz);
	free(text);
	if (rc < 0)
		return rc;
	if ((rc = hc_cfg_storage_layout(o, &text, &len, err, errsz)) < 0)
		return rc;
	rc = hc_files_put(out, "storage-layout.json", text, len);
	free(text);
	if (rc < 0)
		snprintf(err, errsz, "out of memory");
	return rc;
}

int hc_cfg_build(const struct hc_opts *o, const struct fmapi_get_machine_info_response *mi,
		 const char *image_name, unsigned flags, struct hc_files *out, char *err,
		 size_t errsz)
{
	char token[ENROL_TOKEN_HEX + 1], line[ENROL_TOKEN_HEX + 2];
	int rc;

	for (size_t i = 0; i < o->netboot_files.n; i++) {
		const struct hvapi_tag *t = &o->netboot_files.v[i];

		if ((rc = put_file(out, api_str(t->key), api_str(t->value), "-netbootFiles file",
				   err, errsz)) < 0)
			return rc;
	}
	if ((rc = put_generated(o, mi, image_name, out, err, errsz)) < 0)
		return rc;
	if ((flags & HC_CFG_RANDOM_SEED) && o->random_seed_bytes > 0 &&
	    (rc = put_seed(out, o->random_seed_bytes, err, errsz)) < 0)
		return rc;
	if (flags & HC_CFG_CA_FILES) {
		if (!o->ca_file || !*o->ca_file) {
			snprintf(err, errsz, "no -CAfile: the installer needs CA.pem");
			return -EINVAL;
		}
		if ((rc = put_file(out, "CA.pem", o->ca_file, "-CAfile", err, errsz)) < 0)
			return rc;
		/* IdentityCA.pem is optional (its default path may not exist). */
		if (o->identity_ca_file && *o->identity_ca_file &&
		    access(o->identity_ca_file, F_OK) == 0 &&
		    (rc = put_file(out, "IdentityCA.pem", o->identity_ca_file, "-identityCAfile",
				   err, errsz)) < 0)
			return rc;
	}
	if (flags & HC_CFG_ENROL_TOKEN) {
		if ((rc = hc_cfg_enrol_token(token)) < 0) {
			snprintf(err, errsz, "making the enrol-token: %s", strerror(-rc));
			return rc;
		}
		snprintf(line, sizeof(line), "%s\n", token);
		rc = put_text(out, "enrol-token", line, err, errsz);
		explicit_bzero(token, sizeof(token));
		explicit_bzero(line, sizeof(line));
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Step 3 of §4.3: the image must look bootable; a missing one is only a warning. */
static int check_image(struct hc *h, const char *doing, const char *name)
{
	struct srpc_client *is;
	struct image img;
	size_t n;
	int rc;

	if (hc_image_server(h, doing, &is) != 0)
		return 1;
	rc = imgclient_get_image(is, name, false, 0, &img);
	if (rc == -ENOENT) {
		fprintf(stderr, "hyper-control: warning: image %s not found on %s:%d\n", name,
			api_str(h->o.image_server_hostname), h->o.image_server_port);
		return 0;
	}
	if (rc < 0)
		return hc_fail(doing, "ImageServer.GetImage %s: %s", name, srpc_client_error(is));
	n = img.has_fs ? img.fs.n_inodes : 0;
	image_free(&img);
	if (n < HC_CFG_MIN_INODES)
		return hc_fail(doing, "only %zu inodes, this is likely not bootable", n);
	return 0;
}

int hc_install_config(struct hc *h, const char *doing,
		      const struct fmapi_get_machine_info_response *mi, unsigned flags,
		      struct hc_files *out)
{
	const char *image_name = h->o.target_image_name && *h->o.target_image_name
				     ? h->o.target_image_name
				     : hc_cfg_required_image(mi);
	char err[512];

	if (hc_cfg_check_entries(mi, err, sizeof(err)) < 0)
		return hc_fail(doing, "%s", err);
	if (*image_name && check_image(h, doing, image_name) != 0)
		return 1;
	if (hc_cfg_build(&h->o, mi, image_name, flags, out, err, sizeof(err)) < 0) {
		hc_files_clear(out);
		return hc_fail(doing, "%s", err);
	}
	return 0;
}
