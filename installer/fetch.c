/* installer/fetch.c: the appliance image from the imageserver over mTLS (the
 * machine's certificate; the server's chained to CA.pem and naming the host), every
 * object's SHA-512 checked as it is written into a store in RAM, then unpacked by
 * lib/image (the same code as `imagetool get`). */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "image/client.h"
#include "image/unpack.h"
#include "installer/installer.h"
#include "srpc.h"
#include "tls.h"

#define FETCH_CONNECT_MS 15000
#define FETCH_CALL_MS 120000

struct fetch {
	struct inst_ctx *ctx;
	char server[300]; /* "host:port" for messages and dialling */
	struct tls_client *tls;
	struct srpc_client *cl;
	char *name; /* the resolved image name */
	struct image img;
	struct image_hash *hashes;
	size_t n;
	uint64_t bytes;
	struct objstore *st;
	char store[4200];
};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void progress_cb(uint64_t done, uint64_t total, void *arg)
{
	(void)arg;
	inst_progress("fetch", done, total, "bytes");
}

static int dial(struct fetch *f, char *err, size_t errsz)
{
	const struct inst_config *cfg = f->ctx->cfg;
	struct tls_client_config tc = {0};
	struct srpc_client_config sc = {0};
	char why[1024];
	int rc;

	if (!f->ctx->ca_file || !*f->ctx->ca_file) {
		snprintf(err, errsz,
			 "imageserver %s: no CA.pem: its certificate cannot be verified",
			 f->server);
		return -ENOENT;
	}
	if (!f->ctx->cert_file || !f->ctx->key_file) {
		snprintf(err, errsz, "imageserver %s: the machine has no certificate", f->server);
		return -ENOENT;
	}
	tc.cert_file = f->ctx->cert_file;
	tc.key_file = f->ctx->key_file;
	tc.ca_file = f->ctx->ca_file;
	if ((rc = tls_client_new(&tc, &f->tls, why, sizeof(why))) < 0) {
		snprintf(err, errsz, "loading the machine's certificate: %s", why);
		return rc;
	}
	sc.tls = f->tls;
	sc.server_name = cfg->imageserver_host;
	sc.connect_timeout_ms = FETCH_CONNECT_MS;
	sc.call_timeout_ms = FETCH_CALL_MS;
	/* An image with its file system is one message: what the server allows. */
	sc.max_message = 256u << 20;
	rc = srpc_client_dial(f->server, &sc, &f->cl, why, sizeof(why));
	if (rc == 0)
		return 0;
	if (strncmp(why, "x509:", 5) == 0)
		snprintf(err, errsz, "imageserver %s: certificate verify failed: %s", f->server,
			 why);
	else if (strncmp(why, "dial ", 5) == 0 || rc == -ECONNREFUSED || rc == -ETIMEDOUT ||
		 rc == -EHOSTUNREACH || rc == -ENETUNREACH)
		snprintf(err, errsz, "imageserver %s: unreachable (%s)", f->server, why);
	else
		snprintf(err, errsz, "imageserver %s: %s", f->server, why);
	return rc;
}

static int get_image(struct fetch *f, char *err, size_t errsz)
{
	const char *want = f->ctx->cfg->image_name;
	struct image_object *objs = NULL;
	char why[512] = "";
	int rc;

	rc = imgclient_resolve(f->cl, want, &f->name, why, sizeof(why));
	if (rc < 0) {
		if (rc == -ENOENT)
			snprintf(err, errsz, "imageserver %s: %s", f->server,
				 *why ? why : "image not found");
		else
			snprintf(err, errsz, "imageserver %s: resolving %s: %s", f->server, want,
				 *why ? why : srpc_client_error(f->cl));
		return rc;
	}
	rc = imgclient_get_image(f->cl, f->name, false, 0, &f->img);
	if (rc == -ENOENT) {
		snprintf(err, errsz, "imageserver %s: image %s not found", f->server, f->name);
		return rc;
	}
	if (rc < 0) {
		snprintf(err, errsz, "imageserver %s: GetImage %s: %s", f->server, f->name,
			 srpc_client_error(f->cl));
		return rc;
	}
	if (!f->img.has_fs) {
		snprintf(err, errsz, "image %s has no file system", f->name);
		return -EINVAL;
	}
	if ((rc = image_fs_objects(&f->img.fs, &objs, &f->n)) < 0 ||
	    !(f->hashes = calloc(f->n ? f->n : 1, sizeof(*f->hashes)))) {
		free(objs);
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < f->n; i++) {
		f->hashes[i] = objs[i].hash;
		f->bytes += objs[i].size;
	}
	free(objs);
	return 0;
}

/* The objects arrive in order: the first one missing from the store after a failure is
 * the one that failed. */
static const struct image_hash *failed_object(const struct fetch *f)
{
	for (size_t i = 0; i < f->n; i++) {
		uint64_t sz;

		if (objstore_stat(f->st, &f->hashes[i], &sz) < 0)
			return &f->hashes[i];
	}
	return NULL;
}

/* The objects are hard-linked into the tree, so the image needs its size once in the
 * work directory's file system (RAM): say so before the download rather than fail
 * with ENOSPC half-way. */
static int room_check(struct fetch *f, char *err, size_t errsz)
{
	struct statvfs vfs;
	uint64_t avail, need = f->bytes + f->bytes / 50 + (4u << 20);

	if (statvfs(f->store, &vfs) < 0)
		return 0; /* no figure: let the download tell */
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (avail >= need)
		return 0;
	snprintf(err, errsz, "image %s needs %llu MiB in %s, only %llu MiB free", f->name,
		 (unsigned long long)(need >> 20), f->ctx->work, (unsigned long long)(avail >> 20));
	return -ENOSPC;
}

static int get_objects(struct fetch *f, char *err, size_t errsz)
{
	char why[1024] = "", hex[IMAGE_HASH_HEXLEN + 1];
	const struct image_hash *bad;
	int rc;

	if (snprintf(f->store, sizeof(f->store), "%s/objects", f->ctx->work) >=
	    (int)sizeof(f->store)) {
		snprintf(err, errsz, "%s: name too long", f->ctx->work);
		return -ENAMETOOLONG;
	}
	if ((rc = objstore_open(f->store, &f->st, why, sizeof(why))) < 0) {
		snprintf(err, errsz, "%s", why);
		return rc;
	}
	/* In RAM and dropped after the install: no fsync per object. */
	objstore_set_durable(f->st, false);
	if ((rc = room_check(f, err, errsz)) < 0)
		return rc;
	inst_progress("fetch", 0, f->bytes, "bytes");
	rc = imgclient_get_objects(f->cl, f->hashes, f->n, f->st, progress_cb, f, why, sizeof(why));
	if (rc == 0)
		return 0;
	bad = failed_object(f);
	if (bad)
		image_hash_hex(bad, hex);
	if (rc == -EBADMSG && bad) {
		const char *got = strstr(why, ", got ");

		snprintf(err, errsz,
			 "image %s: object %s: hash mismatch (the bytes received hash to %s)",
			 f->name, hex, got ? got + 6 : why);
	} else if (rc == -EREMOTEIO && bad)
		snprintf(err, errsz, "image %s: object %s: the imageserver says: %s", f->name, hex,
			 why);
	else if (bad)
		snprintf(err, errsz, "image %s: object %s: %s", f->name, hex,
			 *why ? why : strerror(-rc));
	else
		snprintf(err, errsz, "image %s: fetching objects: %s", f->name,
			 *why ? why : strerror(-rc));
	return rc;
}

int inst_fetch_image(struct inst_ctx *ctx, const char *dest, char *err, size_t errsz)
{
	const struct inst_config *cfg = ctx->cfg;
	struct fetch f = {.ctx = ctx};
	char why[1024];
	struct stat sb;
	int rc;

	if (!cfg->image_name[0]) {
		snprintf(err, errsz, "no image name given (%s/imagename)", cfg->dir);
		return -EINVAL;
	}
	if (!cfg->imageserver_host[0]) {
		snprintf(err, errsz, "no imageserver given (%s/imageserver)", cfg->dir);
		return -EINVAL;
	}
	if (lstat(dest, &sb) == 0) {
		snprintf(err, errsz, "%s exists", dest);
		return -EEXIST;
	}
	snprintf(f.server, sizeof(f.server),
		 strchr(cfg->imageserver_host, ':') ? "[%s]:%d" : "%s:%d", cfg->imageserver_host,
		 cfg->imageserver_port);
	if ((rc = dial(&f, err, errsz)) < 0 || (rc = get_image(&f, err, errsz)) < 0 ||
	    (rc = get_objects(&f, err, errsz)) < 0)
		goto out;
	/* Every object was verified as it arrived: linking it into the tree is enough
	 * (the store and dest are in the same RAM file system). */
	rc = image_unpack(&f.img.fs, f.st, dest,
			  IMAGE_UNPACK_LINK | IMAGE_UNPACK_TRUSTED | IMAGE_UNPACK_NOSYNC,
			  progress_cb, NULL, why, sizeof(why));
	if (rc < 0)
		snprintf(err, errsz, "image %s: unpacking into %s: %s", f.name, dest, why);
out:
	objstore_close(f.st);
	if (f.store[0])
		nftw(f.store, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	srpc_client_close(f.cl);
	tls_client_free(f.tls);
	image_free(&f.img);
	free(f.hashes);
	free(f.name);
	return rc;
}
