/* Metadata service request handling: builds the caller's path table (the fixed
 * SmallStack paths plus an AWS-style meta-data tree derived from its VmInfo) and
 * answers one path from it, or a directory listing of it. */
#include "daemon/hypervisor/metadata/metadata_handler.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MD_TEXT_TYPE "text/plain; charset=utf-8"
#define MD_META "/latest/meta-data"
#define MD_IDENT "/latest/dynamic/instance-identity/"

enum md_kind {
	MD_TRUE,     /* "true\n" */
	MD_EPOCH,    /* seconds.nanoseconds */
	MD_DOCUMENT, /* the VmInfo, indented */
	MD_FILE,     /* a file of the VM directory */
	MD_TEXT,     /* a value computed from the VmInfo */
};

struct md_entry {
	char *path;
	enum md_kind kind;
	const char *file; /* MD_FILE */
	char *text;	  /* MD_TEXT */
};

struct md_table {
	struct md_entry *v;
	size_t n, cap;
};

static const struct {
	const char *path;
	enum md_kind kind;
	const char *file;
} md_fixed[] = {
    {"/datasource/SmallStack", MD_TRUE, NULL},
    {"/latest/is-externally-patchable", MD_TRUE, NULL},
    {"/latest/dynamic/epoch-time", MD_EPOCH, NULL},
    {MD_IDENT "document", MD_DOCUMENT, NULL},
    {"/latest/user-data", MD_FILE, "user-data.raw"},
    {MD_IDENT "X.509-certificate", MD_FILE, "identity.cert"},
    {MD_IDENT "RSA-X.509-certificate", MD_FILE, "identity.cert"},
    {MD_IDENT "X.509-key", MD_FILE, "identity.key"},
    {MD_IDENT "RSA-X.509-key", MD_FILE, "identity.key"},
    {MD_IDENT "RSA-SSH-certificate", MD_FILE, "identity-RSA.SSH-cert"},
    {MD_IDENT "RSA-SSH-key", MD_FILE, "identity.key"},
    {MD_IDENT "Ed25519-SSH-certificate", MD_FILE, "identity-Ed25519.SSH-cert"},
    {MD_IDENT "Ed25519-SSH-key", MD_FILE, "identity-Ed25519.SSH-key"},
    {MD_IDENT "Ed25519-X.509-certificate", MD_FILE, "identity-Ed25519.X509-cert"},
    {MD_IDENT "Ed25519-X.509-key", MD_FILE, "identity-Ed25519.X509-key"},
};

void metadata_vm_clear(struct metadata_vm *vm)
{
	if (!vm)
		return;
	free(vm->info_json);
	free(vm->dir);
	memset(vm, 0, sizeof(*vm));
}

void metadata_response_clear(struct metadata_response *r)
{
	if (!r)
		return;
	free(r->body);
	if (r->fd >= 0)
		close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

static void md_table_free(struct md_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].path);
		free(t->v[i].text);
	}
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* Appends an entry; takes ownership of path and text even on failure. */
static int md_table_add(struct md_table *t, char *path, enum md_kind kind, const char *file,
			char *text)
{
	if (!path || (kind == MD_TEXT && !text))
		goto out_free;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		struct md_entry *v = reallocarray(t->v, cap, sizeof(*v));
		if (!v)
			goto out_free;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = (struct md_entry){path, kind, file, text};
	return 0;
out_free:
	free(path);
	free(text);
	return -ENOMEM;
}

static int md_add_text(struct md_table *t, const char *path, const char *value)
{
	return md_table_add(t, strdup(path), MD_TEXT, NULL, strdup(value));
}

static const char *md_json_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

/* A path component must not contain '/' and must be printable, so that values a VM
 * owner chose (tag keys) cannot create paths outside their own directory. */
static bool md_component_ok(const char *s)
{
	if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s; s++)
		if (*s == '/' || (unsigned char)*s < 0x21 || *s == 0x7f)
			return false;
	return true;
}

/* "i-" + 16 hex digits of SHA-256(ip, CreatedOn): stable for a VM's life, different
 * for a new VM that reuses the address, so cloud-init sees a new instance. */
static int md_instance_id(const char *ip, const char *created, char out[19])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "%s\n%s", ip, created);

	if (n < 0 || (size_t)n >= sizeof(buf))
		return -EINVAL;
	if (!EVP_Digest(buf, (size_t)n, md, &len, EVP_sha256(), NULL) || len < 8)
		return -ENOMEM;
	out[0] = 'i';
	out[1] = '-';
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* network/interfaces/macs/<mac>/...: one directory per NIC, primary first. */
static int md_add_nic(struct md_table *t, json_t *addr, int index, const char *subnet)
{
	const char *mac = md_json_str(addr, "MacAddress");
	const char *ip = md_json_str(addr, "IpAddress");
	char base[128], path[192], num[16];
	int rc = 0;

	if (!md_component_ok(mac))
		return 0;
	if ((size_t)snprintf(base, sizeof(base), MD_META "/network/interfaces/macs/%s", mac) >=
	    sizeof(base))
		return 0;
	snprintf(num, sizeof(num), "%d", index);
	snprintf(path, sizeof(path), "%s/device-number", base);
	rc = rc ? rc : md_add_text(t, path, num);
	snprintf(path, sizeof(path), "%s/mac", base);
	rc = rc ? rc : md_add_text(t, path, mac);
	if (*ip) {
		snprintf(path, sizeof(path), "%s/local-ipv4s", base);
		rc = rc ? rc : md_add_text(t, path, ip);
	}
	if (*subnet) {
		snprintf(path, sizeof(path), "%s/subnet-id", base);
		rc = rc ? rc : md_add_text(t, path, subnet);
	}
	return rc;
}

/* The AWS-compatible tree (weaknesses #51), from the VmInfo. */
static int md_add_meta(struct md_table *t, json_t *info, const struct metadata_vm *vm)
{
	json_t *address = json_object_get(info, "Address");
	const char *mac = md_json_str(address, "MacAddress");
	const char *hostname = md_json_str(info, "Hostname");
	char ip[INET_ADDRSTRLEN], buf[128], id[19];
	const char *key;
	json_t *value, *sec;
	size_t i;
	int rc;

	inet_ntop(AF_INET, &vm->ip, ip, sizeof(ip));
	rc = md_instance_id(ip, md_json_str(info, "CreatedOn"), id);
	rc = rc ? rc : md_add_text(t, MD_META "/instance-id", id);
	snprintf(buf, sizeof(buf), "ss.%" PRIdMAX "m.%" PRIdMAX "mib",
		 (intmax_t)json_integer_value(json_object_get(info, "MilliCPUs")),
		 (intmax_t)json_integer_value(json_object_get(info, "MemoryInMiB")));
	rc = rc ? rc : md_add_text(t, MD_META "/instance-type", buf);
	rc = rc ? rc : md_add_text(t, MD_META "/local-ipv4", ip);
	if (!*hostname) {
		snprintf(buf, sizeof(buf), "ip-%s", ip);
		for (char *p = buf; *p; p++)
			if (*p == '.')
				*p = '-';
		hostname = buf;
	}
	rc = rc ? rc : md_add_text(t, MD_META "/hostname", hostname);
	rc = rc ? rc : md_add_text(t, MD_META "/local-hostname", hostname);
	if (*mac)
		rc = rc ? rc : md_add_text(t, MD_META "/mac", mac);
	rc = rc ? rc : md_add_nic(t, address, 0, md_json_str(info, "SubnetId"));
	json_array_foreach(json_object_get(info, "SecondaryAddresses"), i, sec)
	{
		json_t *ids = json_object_get(info, "SecondarySubnetIDs");
		const char *sub = json_string_value(json_array_get(ids, i));
		rc = rc ? rc : md_add_nic(t, sec, (int)i + 1, sub ? sub : "");
	}
	json_object_foreach(json_object_get(info, "Tags"), key, value)
	{
		char path[256];
		if (!json_is_string(value) || !md_component_ok(key))
			continue;
		if ((size_t)snprintf(path, sizeof(path), MD_META "/tags/instance/%s", key) >=
		    sizeof(path))
			continue;
		rc = rc ? rc : md_add_text(t, path, json_string_value(value));
	}
	return rc;
}

static int md_table_build(struct md_table *t, json_t *info, const struct metadata_vm *vm)
{
	for (size_t i = 0; i < sizeof(md_fixed) / sizeof(md_fixed[0]); i++) {
		int rc = md_table_add(t, strdup(md_fixed[i].path), md_fixed[i].kind,
				      md_fixed[i].file, NULL);
		if (rc)
			return rc;
	}
	return md_add_meta(t, info, vm);
}

static int md_set_body(struct metadata_response *out, const char *type, char *body, size_t len)
{
	if (!body)
		return -ENOMEM;
	out->status = 200;
	out->content_type = type;
	out->body = body;
	out->body_len = len;
	return 0;
}

static int md_set_text(struct metadata_response *out, const char *text)
{
	return md_set_body(out, MD_TEXT_TYPE, strdup(text), strlen(text));
}

static int md_serve_document(json_t *info, struct metadata_response *out)
{
	json_t *copy = json_copy(info);
	char *s, *body;
	size_t len;

	if (!copy)
		return -ENOMEM;
	/* LocalVmInfo's host paths are not the VM's business. */
	json_object_del(copy, "VolumeLocations");
	s = json_dumps(copy, JSON_INDENT(4));
	json_decref(copy);
	if (!s)
		return -ENOMEM;
	len = strlen(s);
	body = realloc(s, len + 2);
	if (!body) {
		free(s);
		return -ENOMEM;
	}
	body[len] = '\n';
	body[len + 1] = '\0';
	return md_set_body(out, "application/json", body, len + 1);
}

static int md_serve_file(const struct metadata_vm *vm, const char *name,
			 struct metadata_response *out)
{
	char path[4096];
	struct stat st;
	int fd;

	if (!vm->dir ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", vm->dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) {
			out->status = 404;
			return 0;
		}
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		out->status = 404;
		return 0;
	}
	out->status = 200;
	out->content_type =
	    strcmp(name, "user-data.raw") == 0 ? "application/octet-stream" : MD_TEXT_TYPE;
	out->fd = fd;
	out->fd_size = (uint64_t)st.st_size;
	return 0;
}

static int md_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The next path component after `req` of every known path that starts with it (the
 * original's rule), or every path when req is slash-star. Under /latest/meta-data,
 * directories end in '/' as on AWS, whose clients (cloud-init's crawler) rely on it. */
static int md_list(const struct md_table *t, const char *req, struct metadata_response *out)
{
	size_t rl = strlen(req), n = 0, len = 0;
	bool all = strcmp(req, "/*") == 0;
	bool aws = strncmp(req, MD_META, strlen(MD_META)) == 0;
	char **names = calloc(t->n ? t->n : 1, sizeof(*names));
	char *body = NULL, *p;
	int rc = -ENOMEM;

	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		const char *path = t->v[i].path, *rest;
		size_t cl;

		if (strncmp(path, req, rl) == 0) {
			rest = path + rl;
			if (*rest == '/')
				rest++;
			cl = strcspn(rest, "/");
			if (cl == 0)
				continue;
			names[n] = malloc(cl + 2);
			if (!names[n])
				goto out_free;
			memcpy(names[n], rest, cl);
			if (aws && rest[cl] == '/')
				names[n][cl++] = '/';
			names[n][cl] = '\0';
		} else if (all) {
			names[n] = strdup(path + 1);
			if (!names[n])
				goto out_free;
		} else {
			continue;
		}
		n++;
	}
	if (n == 0) {
		out->status = 404;
		rc = 0;
		goto out_free;
	}
	qsort(names, n, sizeof(*names), md_cmp_str);
	for (size_t i = 0; i < n; i++)
		len += strlen(names[i]) + 1;
	body = malloc(len + 1);
	if (!body)
		goto out_free;
	p = body;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(names[i]);
		if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
			continue;
		memcpy(p, names[i], l);
		p[l] = '\n';
		p += l + 1;
	}
	*p = '\0';
	rc = md_set_body(out, MD_TEXT_TYPE, body, (size_t)(p - body));
out_free:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int md_serve(const struct md_entry *e, json_t *info, const struct metadata_vm *vm,
		    const struct timespec *now, struct metadata_response *out)
{
	char buf[64];

	switch (e->kind) {
	case MD_TRUE:
		return md_set_text(out, "true\n");
	case MD_EPOCH:
		snprintf(buf, sizeof(buf), "%jd.%09ld\n", (intmax_t)now->tv_sec, now->tv_nsec);
		return md_set_text(out, buf);
	case MD_DOCUMENT:
		return md_serve_document(info, out);
	case MD_FILE:
		return md_serve_file(vm, e->file, out);
	case MD_TEXT:
		return md_set_text(out, e->text);
	}
	return -EINVAL;
}

int metadata_handle(const char *path, const struct metadata_vm *vm, const struct timespec *now,
		    struct metadata_response *out)
{
	struct md_table table = {0};
	json_t *info = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	out->status = 404;
	out->content_type = MD_TEXT_TYPE;
	if (!vm || !path || path[0] != '/')
		return 0;
	info = json_loads(vm->info_json ? vm->info_json : "", JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(info)) {
		rc = -EINVAL;
		goto out;
	}
	rc = md_table_build(&table, info, vm);
	if (rc)
		goto out;
	for (size_t i = 0; i < table.n; i++) {
		if (strcmp(table.v[i].path, path) == 0) {
			rc = md_serve(&table.v[i], info, vm, now, out);
			goto out;
		}
	}
	rc = md_list(&table, path, out);
out:
	if (rc) {
		metadata_response_clear(out);
		out->status = 500;
		out->content_type = MD_TEXT_TYPE;
	}
	md_table_free(&table);
	json_decref(info);
	return rc;
}

bool metadata_header_is_proxy(const char *name)
{
	static const char *const proxy[] = {
	    "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Server",
	    "X-Real-IP",       "X-Client-IP",	   "Forwarded",		"Via",
	};
	for (size_t i = 0; i < sizeof(proxy) / sizeof(proxy[0]); i++)
		if (strcasecmp(name, proxy[i]) == 0)
			return true;
	return false;
}

bool metadata_host_is_allowed(const char *host)
{
	return !host || strcmp(host, "169.254.169.254") == 0 ||
	       strcmp(host, "169.254.169.254:80") == 0;
}

static int md_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t metadata_url_unescape(char *s)
{
	char *w = s;

	for (const char *r = s; *r; r++) {
		int hi = r[0] == '%' ? md_hex(r[1]) : -1, lo = hi >= 0 ? md_hex(r[2]) : -1;

		if (lo < 0) {
			*w++ = *r;
			continue;
		}
		*w = (char)(hi << 4 | lo);
		if (*w == '\0')
			*w = 0x1a;
		w++;
		r += 2;
	}
	*w = '\0';
	return (size_t)(w - s);
}

static bool md_has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

unsigned int metadata_request_check(const struct metadata_request *rq)
{
	if (!rq->path || md_has_ctl(rq->path) || rq->nhost > 1)
		return 400;
	if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0)
		return 405;
	/* A request that went through a proxy is someone else's request forwarded by a
	 * program in the VM (SSRF): refused, as AWS, GCE and Azure do. */
	if (rq->proxy || !metadata_host_is_allowed(rq->host))
		return 403;
	return 0;
}
