/* newc cpio writer for initramfs images (libarchive + OpenSSL SHA-256). */
#include "rootfs/cpio.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootfs/xz.h"

static int set_filter(struct archive *a, const struct rootfs_cpio_opts *o, char *err, size_t errlen)
{
	const char *name = rootfs_compress_name(o->compress);
	char level[16];
	int rc;

	if (o->compress == ROOTFS_COMPRESS_XZ)
		return 0; /* compressed afterwards, see write_xz */
	rc = o->compress == ROOTFS_COMPRESS_GZIP ? archive_write_add_filter_gzip(a)
						 : archive_write_add_filter_zstd(a);
	if (rc != ARCHIVE_OK)
		goto fail;
	if (o->level > 0) {
		snprintf(level, sizeof(level), "%d", o->level);
		if (archive_write_set_filter_option(a, name, "compression-level", level) !=
		    ARCHIVE_OK)
			goto fail;
	}
	/* gzip -n: no name, no timestamp in the header. */
	if (o->compress == ROOTFS_COMPRESS_GZIP &&
	    archive_write_set_filter_option(a, name, "timestamp", NULL) != ARCHIVE_OK)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s compression: %s", name, archive_error_string(a));
	return -EINVAL;
}

/* Streams a host file into the archive, hashing it. */
static int write_source(struct archive *a, struct archive_entry *e, struct rootfs_node *node,
			char *err, size_t errlen)
{
	EVP_MD_CTX *md = NULL;
	struct stat st;
	char buf[65536];
	uint64_t left;
	int fd, rc = -EIO;
	unsigned mdlen;

	fd = open(node->source, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "open %s: %s", node->source, strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file", node->source);
		goto out_close;
	}
	node->size = (uint64_t)st.st_size;
	archive_entry_set_size(e, st.st_size);
	if (archive_write_header(a, e) != ARCHIVE_OK) {
		snprintf(err, errlen, "write %s: %s", node->path, archive_error_string(a));
		goto out_close;
	}
	if ((md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		rc = -ENOMEM;
		snprintf(err, errlen, "sha256: out of memory");
		goto out_close;
	}
	for (left = node->size; left > 0;) {
		ssize_t r = read(fd, buf, left < sizeof(buf) ? (size_t)left : sizeof(buf));

		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO;
			snprintf(err, errlen, "read %s: %s", node->source,
				 r < 0 ? strerror(errno) : "file shrank");
			goto out_close;
		}
		if (archive_write_data(a, buf, (size_t)r) != r) {
			snprintf(err, errlen, "write %s: %s", node->path, archive_error_string(a));
			goto out_close;
		}
		EVP_DigestUpdate(md, buf, (size_t)r);
		left -= (uint64_t)r;
	}
	EVP_DigestFinal_ex(md, node->sha256, &mdlen);
	rc = 0;
out_close:
	EVP_MD_CTX_free(md);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int write_data(struct archive *a, struct archive_entry *e, struct rootfs_node *node,
		      char *err, size_t errlen)
{
	unsigned mdlen;

	node->size = node->data_len;
	archive_entry_set_size(e, (la_int64_t)node->data_len);
	if (archive_write_header(a, e) != ARCHIVE_OK ||
	    (node->data_len > 0 &&
	     archive_write_data(a, node->data, node->data_len) != (la_ssize_t)node->data_len)) {
		snprintf(err, errlen, "write %s: %s", node->path, archive_error_string(a));
		return -EIO;
	}
	if (EVP_Digest(node->data, node->data_len, node->sha256, &mdlen, EVP_sha256(), NULL) != 1) {
		snprintf(err, errlen, "sha256 failed");
		return -ENOMEM;
	}
	return 0;
}

static int write_node(struct archive *a, struct rootfs_node *node, size_t ino,
		      const struct rootfs_cpio_opts *o, char *err, size_t errlen)
{
	struct archive_entry *e = archive_entry_new();
	int rc = 0;

	if (e == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	archive_entry_set_pathname(e, node->path + 1);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_mtime(e, (time_t)o->mtime, 0);
	archive_entry_set_ino(e, (la_int64_t)ino);
	archive_entry_set_dev(e, 0);
	archive_entry_set_nlink(e, node->type == ROOTFS_NODE_DIR ? 2 : 1);
	archive_entry_set_perm(e, node->mode & 07777);
	archive_entry_set_size(e, 0);
	switch (node->type) {
	case ROOTFS_NODE_DIR:
		archive_entry_set_filetype(e, AE_IFDIR);
		break;
	case ROOTFS_NODE_SYMLINK:
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_perm(e, 0777);
		archive_entry_set_symlink(e, node->target);
		break;
	case ROOTFS_NODE_CHR:
	case ROOTFS_NODE_BLK:
		archive_entry_set_filetype(e, node->type == ROOTFS_NODE_CHR ? AE_IFCHR : AE_IFBLK);
		archive_entry_set_rdevmajor(e, node->major);
		archive_entry_set_rdevminor(e, node->minor);
		break;
	case ROOTFS_NODE_FILE:
		archive_entry_set_filetype(e, AE_IFREG);
		rc = node->source ? write_source(a, e, node, err, errlen)
				  : write_data(a, e, node, err, errlen);
		archive_entry_free(e);
		return rc;
	}
	if (archive_write_header(a, e) != ARCHIVE_OK) {
		snprintf(err, errlen, "write %s: %s", node->path, archive_error_string(a));
		rc = -EIO;
	}
	archive_entry_free(e);
	return rc;
}

/* xz: libarchive writes the plain cpio to an unlinked scratch file beside path
 * (its own xz filter can only do CRC64), which is then compressed into path. */
static int open_xz_scratch(const char *path, char *err, size_t errlen)
{
	char raw[4096];
	int fd;

	if (snprintf(raw, sizeof(raw), "%s.cpio", path) >= (int)sizeof(raw)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	fd = open(raw, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "open %s: %s", raw, strerror(errno));
		return -errno;
	}
	unlink(raw);
	return fd;
}

static int write_xz(int raw, const char *path, const struct rootfs_cpio_opts *o, char *err,
		    size_t errlen)
{
	struct stat st;
	int out, rc;

	if (fstat(raw, &st) < 0 || lseek(raw, 0, SEEK_SET) < 0) {
		snprintf(err, errlen, "%s.cpio: %s", path, strerror(errno));
		return -errno;
	}
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		snprintf(err, errlen, "open %s: %s", path, strerror(errno));
		return -errno;
	}
	rc = rootfs_xz_compress(raw, (uint64_t)st.st_size, out, o->level > 0 ? o->level : 6, err,
				errlen);
	if (close(out) < 0 && rc == 0) {
		snprintf(err, errlen, "close %s: %s", path, strerror(errno));
		rc = -EIO;
	}
	return rc;
}

int rootfs_cpio_write(const char *path, struct rootfs_node **nodes, size_t n,
		      const struct rootfs_cpio_opts *o, char *err, size_t errlen)
{
	struct archive *a = archive_write_new();
	size_t ino = 1;
	int raw = -1, rc;

	if (a == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (archive_write_set_format_cpio_newc(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK) {
		snprintf(err, errlen, "cpio: %s", archive_error_string(a));
		rc = -EINVAL;
		goto out_free;
	}
	if ((rc = set_filter(a, o, err, errlen)) < 0)
		goto out_free;
	if (o->compress == ROOTFS_COMPRESS_XZ) {
		if ((raw = rc = open_xz_scratch(path, err, errlen)) < 0)
			goto out_free;
		rc = archive_write_open_fd(a, raw);
	} else {
		rc = archive_write_open_filename(a, path);
	}
	if (rc != ARCHIVE_OK) {
		snprintf(err, errlen, "open %s: %s", path, archive_error_string(a));
		rc = -EIO;
		goto out_free;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(nodes[i]->path, "/") == 0)
			continue;
		if ((rc = write_node(a, nodes[i], ino++, o, err, errlen)) < 0)
			goto out_free;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		snprintf(err, errlen, "close %s: %s", path, archive_error_string(a));
		rc = -EIO;
		goto out_free;
	}
	rc = raw >= 0 ? write_xz(raw, path, o, err, errlen) : 0;
out_free:
	archive_write_free(a);
	if (raw >= 0)
		close(raw);
	return rc;
}
