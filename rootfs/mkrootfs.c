/* mkrootfs: builds an appliance image (kernel + initramfs + manifest.json) from
 * image manifests, reproducibly. See docs/images.md. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rootfs/collect.h"
#include "rootfs/cpio.h"
#include "rootfs/image.h"
#include "rootfs/manifest.h"

#define MAX_VARS 64

struct opts {
	const char *name;
	const char *outdir;
	const char *kernel;
	const char *moddir;
	const char *depfile;
	const char *ldconf;
	struct rootfs_strv manifests;
	struct rootfs_var vars[MAX_VARS];
	size_t n_vars;
	long long epoch;
	int quiet;
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: mkrootfs -n NAME -o OUTDIR -m MANIFEST [-m MANIFEST...] [-k KERNEL]\n"
	    "                [-M MODULE_DIR|builtin] [-D NAME=VALUE...] [-t EPOCH] [-d DEPFILE]\n"
	    "                [-L LD_SO_CONF] [-q]\n"
	    "Writes OUTDIR/initrd.img (newc cpio, compressed), OUTDIR/vmlinuz (copy of KERNEL)\n"
	    "and OUTDIR/manifest.json (every file with its SHA-256). EPOCH defaults to\n"
	    "$SOURCE_DATE_EPOCH (else 0) and is every file's mtime.\n");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void hex(const unsigned char *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Copies src to dst (when dst is not NULL) and hashes it. */
static int copy_hash(const char *src, const char *dst, uint64_t *size, char *sha_hex)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char buf[65536], sha[32];
	int in, out = -1, rc = 0;
	unsigned mdlen;
	ssize_t r;

	*size = 0;
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return -ENOMEM;
	}
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = -errno;
		goto out_md;
	}
	if (dst && (out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		rc = -errno;
		goto out_in;
	}
	while ((r = read(in, buf, sizeof(buf))) > 0) {
		if (out >= 0 && write(out, buf, (size_t)r) != r) {
			rc = -EIO;
			goto out_out;
		}
		EVP_DigestUpdate(md, buf, (size_t)r);
		*size += (uint64_t)r;
	}
	if (r < 0)
		rc = -errno;
	EVP_DigestFinal_ex(md, sha, &mdlen);
	hex(sha, sizeof(sha), sha_hex);
	if (out >= 0 && fsync(out) < 0)
		rc = -errno;
out_out:
	if (out >= 0)
		close(out);
out_in:
	close(in);
out_md:
	EVP_MD_CTX_free(md);
	return rc;
}

static int read_text(const char *path, char **text, size_t *len)
{
	FILE *f = fopen(path, "re");
	char buf[65536];
	size_t n;

	*text = NULL;
	*len = 0;
	if (f == NULL)
		return -errno;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		char *t = realloc(*text, *len + n + 1);

		if (t == NULL) {
			fclose(f);
			free(*text);
			return -ENOMEM;
		}
		*text = t;
		memcpy(*text + *len, buf, n);
		*len += n;
	}
	fclose(f);
	if (*text == NULL && (*text = malloc(1)) == NULL)
		return -ENOMEM;
	(*text)[*len] = '\0';
	return 0;
}

static const char *type_name(enum rootfs_node_type t)
{
	switch (t) {
	case ROOTFS_NODE_DIR:
		return "dir";
	case ROOTFS_NODE_FILE:
		return "file";
	case ROOTFS_NODE_SYMLINK:
		return "symlink";
	case ROOTFS_NODE_CHR:
		return "chr";
	case ROOTFS_NODE_BLK:
		return "blk";
	}
	return "?";
}

static json_t *strv_json(const struct rootfs_strv *s)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < s->n; i++)
		json_array_append_new(a, json_string(s->v[i]));
	return a;
}

static json_t *files_json(struct rootfs_node **nodes, size_t n, uint64_t *total)
{
	json_t *a = json_array();

	*total = 0;
	for (size_t i = 0; a && i < n; i++) {
		const struct rootfs_node *nd = nodes[i];
		json_t *o = json_object();
		char mode[8], sha[65];

		if (o == NULL)
			break;
		snprintf(mode, sizeof(mode), "%04o", nd->mode);
		json_object_set_new(o, "path", json_string(nd->path));
		json_object_set_new(o, "type", json_string(type_name(nd->type)));
		if (nd->type == ROOTFS_NODE_SYMLINK) {
			json_object_set_new(o, "target", json_string(nd->target));
		} else {
			json_object_set_new(o, "mode", json_string(mode));
		}
		if (nd->type == ROOTFS_NODE_FILE) {
			hex(nd->sha256, sizeof(nd->sha256), sha);
			json_object_set_new(o, "size", json_integer((json_int_t)nd->size));
			json_object_set_new(o, "sha256", json_string(sha));
			*total += nd->size;
		}
		if (nd->type == ROOTFS_NODE_CHR || nd->type == ROOTFS_NODE_BLK) {
			json_object_set_new(o, "major", json_integer(nd->major));
			json_object_set_new(o, "minor", json_integer(nd->minor));
		}
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *artifact_json(const char *file, uint64_t size, const char *sha)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "file", json_string(file));
	json_object_set_new(o, "size", json_integer((json_int_t)size));
	json_object_set_new(o, "sha256", json_string(sha));
	return o;
}

/* Writes make dependencies: target depends on every input; inputs get empty rules
 * so a deleted input does not break make (like gcc -MP). */
static int write_depfile(const char *path, const char *target, const struct rootfs_strv *inputs)
{
	char tmp[PATH_MAX + 8];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "we")) == NULL)
		return -errno;
	fprintf(f, "%s:", target);
	for (size_t i = 0; i < inputs->n; i++)
		if (strpbrk(inputs->v[i], " \t:#$\\") == NULL)
			fprintf(f, " \\\n  %s", inputs->v[i]);
	fprintf(f, "\n");
	for (size_t i = 0; i < inputs->n; i++)
		if (strpbrk(inputs->v[i], " \t:#$\\") == NULL)
			fprintf(f, "%s:\n", inputs->v[i]);
	if (fclose(f) != 0)
		return -EIO;
	return rename(tmp, path) < 0 ? -errno : 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	int ch;

	o->ldconf = "/etc/ld.so.conf";
	o->epoch = sde ? strtoll(sde, NULL, 10) : 0;
	while ((ch = getopt(argc, argv, "n:o:m:k:M:D:t:d:L:qh")) != -1) {
		switch (ch) {
		case 'n':
			o->name = optarg;
			break;
		case 'o':
			o->outdir = optarg;
			break;
		case 'm':
			if (rootfs_strv_add(&o->manifests, optarg) < 0)
				return -ENOMEM;
			break;
		case 'k':
			o->kernel = optarg;
			break;
		case 'M':
			o->moddir = optarg;
			break;
		case 'D': {
			char *eq = strchr(optarg, '=');

			if (eq == NULL || eq == optarg || o->n_vars == MAX_VARS) {
				fprintf(stderr, "mkrootfs: bad -D %s (NAME=VALUE)\n", optarg);
				return -EINVAL;
			}
			*eq = '\0';
			o->vars[o->n_vars].name = optarg;
			o->vars[o->n_vars].value = eq + 1;
			o->n_vars++;
			break;
		}
		case 't':
			o->epoch = strtoll(optarg, NULL, 10);
			break;
		case 'd':
			o->depfile = optarg;
			break;
		case 'L':
			o->ldconf = optarg;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc || o->name == NULL || o->outdir == NULL || o->manifests.n == 0) {
		usage(stderr);
		return -EINVAL;
	}
	if (strlen(o->outdir) > PATH_MAX - 64) {
		fprintf(stderr, "mkrootfs: output directory name too long\n");
		return -EINVAL;
	}
	if (o->epoch < 0) {
		fprintf(stderr, "mkrootfs: negative epoch\n");
		return -EINVAL;
	}
	return 0;
}

static int load_manifests(struct opts *o, struct rootfs_manifest *m, struct rootfs_collect *c)
{
	for (size_t i = 0; i < o->manifests.n; i++) {
		struct rootfs_manifest_error err = {0};
		char *text;
		size_t len;
		int rc = read_text(o->manifests.v[i], &text, &len);

		if (rc < 0) {
			fprintf(stderr, "mkrootfs: read %s: %s\n", o->manifests.v[i],
				strerror(-rc));
			return rc;
		}
		rc = rootfs_manifest_parse(m, text, len, o->vars, o->n_vars, &err);
		free(text);
		if (rc < 0) {
			fprintf(stderr, "mkrootfs: %s:%u: %s\n", o->manifests.v[i], err.line,
				rc == -ENOMEM ? "out of memory" : err.msg);
			return rc;
		}
		rootfs_strv_add(&c->inputs, o->manifests.v[i]);
	}
	return 0;
}

struct outputs {
	char initrd[PATH_MAX], kernel[PATH_MAX], json[PATH_MAX], tmp[PATH_MAX];
	uint64_t initrd_size, kernel_size;
	char initrd_sha[65], kernel_sha[65];
};

static int write_manifest_json(const struct opts *o, const struct rootfs_manifest *m,
			       const struct rootfs_collect *c, struct outputs *out,
			       struct rootfs_node **nodes, size_t n, uint64_t *total)
{
	json_t *root = json_object(), *initrd, *kernel;
	char tmp[PATH_MAX + 8];
	int rc = 0;

	if (root == NULL)
		return -ENOMEM;
	json_object_set_new(root, "image", json_string(o->name));
	json_object_set_new(root, "source_date_epoch", json_integer(o->epoch));
	if (o->kernel) {
		kernel = artifact_json("vmlinuz", out->kernel_size, out->kernel_sha);
		json_object_set_new(kernel, "modules",
				    json_string(c->modules_builtin ? "builtin"
						: c->kver	   ? c->kver
								   : "none"));
		json_object_set_new(root, "kernel", kernel);
	}
	initrd = artifact_json("initrd.img", out->initrd_size, out->initrd_sha);
	json_object_set_new(initrd, "format", json_string("newc"));
	json_object_set_new(initrd, "compression", json_string(rootfs_compress_name(m->compress)));
	if (m->compress == ROOTFS_COMPRESS_XZ)
		json_object_set_new(initrd, "check", json_string("crc32"));
	if (m->level > 0)
		json_object_set_new(initrd, "level", json_integer(m->level));
	json_object_set_new(root, "initrd", initrd);
	json_object_set_new(root, "modules", strv_json(&c->modules));
	json_object_set_new(root, "missing_optional", strv_json(&c->missing));
	json_object_set_new(root, "files", files_json(nodes, n, total));
	json_object_set_new(root, "files_bytes", json_integer((json_int_t)*total));
	snprintf(tmp, sizeof(tmp), "%s.tmp", out->json);
	if (json_dump_file(root, tmp, JSON_INDENT(1) | JSON_PRESERVE_ORDER) < 0 ||
	    rename(tmp, out->json) < 0)
		rc = -EIO;
	json_decref(root);
	return rc;
}

static int build(struct opts *o)
{
	struct rootfs_manifest m;
	struct rootfs_collect c;
	struct rootfs_image *img = rootfs_image_new();
	struct rootfs_node **nodes;
	struct outputs out;
	struct rootfs_cpio_opts co;
	char err[1024], tmpdir[PATH_MAX];
	size_t n;
	uint64_t total = 0;
	double t0 = now();
	int rc;

	rootfs_manifest_init(&m);
	snprintf(out.initrd, sizeof(out.initrd), "%s/initrd.img", o->outdir);
	snprintf(out.kernel, sizeof(out.kernel), "%s/vmlinuz", o->outdir);
	snprintf(out.json, sizeof(out.json), "%s/manifest.json", o->outdir);
	snprintf(out.tmp, sizeof(out.tmp), "%s/initrd.img.tmp", o->outdir);
	snprintf(tmpdir, sizeof(tmpdir), "%s/.mkrootfs-tmp", o->outdir);
	if (img == NULL)
		return -ENOMEM;
	if (mkdir(o->outdir, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		fprintf(stderr, "mkrootfs: mkdir %s: %s\n", o->outdir, strerror(errno));
		rootfs_image_free(img);
		return rc;
	}
	mkdir(tmpdir, 0755);
	if ((rc = rootfs_collect_init(&c, img, o->moddir, o->ldconf, tmpdir)) < 0) {
		fprintf(stderr, "mkrootfs: %s\n", c.err);
		goto out;
	}
	if (c.kver != NULL && o->n_vars < MAX_VARS) {
		o->vars[o->n_vars].name = "KVER";
		o->vars[o->n_vars].value = c.kver;
		o->n_vars++;
	}
	if ((rc = load_manifests(o, &m, &c)) < 0)
		goto out;
	c.strip_modules = m.strip_modules;
	c.strip_binaries = m.strip_binaries;
	for (size_t i = 0; i < m.n_entries; i++) {
		if ((rc = rootfs_collect_entry(&c, &m.entries[i])) < 0) {
			fprintf(stderr, "mkrootfs: %s: line %u: %s\n", o->name, m.entries[i].line,
				c.err);
			goto out;
		}
	}
	if ((rc = rootfs_collect_modules(&c)) < 0) {
		fprintf(stderr, "mkrootfs: %s: %s\n", o->name, c.err);
		goto out;
	}
	if ((nodes = rootfs_image_sorted(img, &n)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	co.compress = m.compress;
	co.level = m.level;
	co.mtime = o->epoch;
	if ((rc = rootfs_cpio_write(out.tmp, nodes, n, &co, err, sizeof(err))) < 0) {
		fprintf(stderr, "mkrootfs: %s: %s\n", o->name, err);
		goto out;
	}
	if ((rc = copy_hash(out.tmp, NULL, &out.initrd_size, out.initrd_sha)) < 0 ||
	    rename(out.tmp, out.initrd) < 0) {
		fprintf(stderr, "mkrootfs: %s: %s\n", out.initrd, strerror(rc < 0 ? -rc : errno));
		rc = rc < 0 ? rc : -errno;
		goto out;
	}
	if (o->kernel) {
		char ktmp[PATH_MAX + 8];

		snprintf(ktmp, sizeof(ktmp), "%s.tmp", out.kernel);
		if ((rc = copy_hash(o->kernel, ktmp, &out.kernel_size, out.kernel_sha)) < 0 ||
		    rename(ktmp, out.kernel) < 0) {
			fprintf(stderr, "mkrootfs: copy %s: %s\n", o->kernel,
				strerror(rc < 0 ? -rc : errno));
			rc = rc < 0 ? rc : -errno;
			goto out;
		}
		rootfs_strv_add(&c.inputs, o->kernel);
	}
	if ((rc = write_manifest_json(o, &m, &c, &out, nodes, n, &total)) < 0) {
		fprintf(stderr, "mkrootfs: write %s failed\n", out.json);
		goto out;
	}
	if (o->depfile && (rc = write_depfile(o->depfile, out.initrd, &c.inputs)) < 0) {
		fprintf(stderr, "mkrootfs: write %s: %s\n", o->depfile, strerror(-rc));
		goto out;
	}
	if (!o->quiet)
		printf("mkrootfs: %s: %zu entries, %zu modules, %llu bytes -> initrd.img %llu "
		       "bytes (%s)%s%s, "
		       "%.1f s\n",
		       o->name, n, c.modules.n, (unsigned long long)total,
		       (unsigned long long)out.initrd_size, rootfs_compress_name(m.compress),
		       o->kernel ? ", vmlinuz " : "", o->kernel ? "copied" : "", now() - t0);
	rc = 0;
out : {
	/* Stripped modules are scratch files. */
	for (size_t i = 0; i < c.modules.n; i++) {
		char p[PATH_MAX + 32];

		snprintf(p, sizeof(p), "%s/module-%zu.ko", tmpdir, i);
		unlink(p);
	}
	for (size_t i = 0; i < c.n_stripped; i++) {
		char p[PATH_MAX + 32];

		snprintf(p, sizeof(p), "%s/binary-%zu", tmpdir, i);
		unlink(p);
	}
	rmdir(tmpdir);
}
	unlink(out.tmp);
	rootfs_collect_free(&c);
	rootfs_manifest_free(&m);
	rootfs_image_free(img);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	int rc = parse_args(argc, argv, &o);

	if (rc == 0)
		rc = build(&o);
	rootfs_strv_free(&o.manifests);
	return rc == 0 ? 0 : 1;
}
