/* storage: carries out the partition plan on the drives (see storage.h). The order on
 * the boot drive: discard + zero the ends, sfdisk, GRUB boot code, ESP, slot A (with
 * the image), slot B (empty), extra partitions, the data partition. */
#include "installer/storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <linux/blkpg.h>
#include <linux/dm-ioctl.h>
#include <linux/fs.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "errbuf.h"
#include "fsutil.h"

#define GRUBENV_HEAD "# GRUB Environment Block\n"
#define SRC_MNT "/mnt/ss-src"
#define MAX_ESP_BYTES ((uint64_t)1 << 30)
#define WIPE_BYTES ((uint64_t)1 << 20) /* weakness 48: 1 MiB at each end, as documented */

/* ---- running the tools ------------------------------------------------------- */

/* What the child needs, computed before fork (the child only makes system calls). */
struct tool_job {
	const char *root;
	char path[PATH_MAX]; /* inside root */
	char binds[4][2][PATH_MAX];
	int n_binds;
	char *const *argv;
	int in_fd, out_fd;
};

static const char *const tool_dirs[] = {"/usr/sbin", "/sbin", "/usr/bin", "/bin"};

/* path (inside root) of the tool name, or -ENOENT. */
static int tool_find(const char *root, const char *name, char *path, size_t pathsz)
{
	char full[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(tool_dirs) / sizeof(tool_dirs[0]); i++) {
		snprintf(full, sizeof(full), "%s%s/%s", root, tool_dirs[i], name);
		if (access(full, X_OK) == 0) {
			snprintf(path, pathsz, "%s/%s", tool_dirs[i], name);
			return 0;
		}
	}
	return -ENOENT;
}

static void tool_child(const struct tool_job *j)
{
	static char *const empty_env[] = {NULL};
	sigset_t none;
	int i;

	if (dup2(j->in_fd, 0) < 0 || dup2(j->out_fd, 1) < 0 || dup2(j->out_fd, 2) < 0)
		_exit(127);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (j->root[0]) {
		/* the binds vanish with the namespace when the tool exits */
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(126);
		for (i = 0; i < j->n_binds; i++)
			if (mount(j->binds[i][0], j->binds[i][1], NULL, MS_BIND | MS_REC, NULL) < 0)
				_exit(126);
		if (chroot(j->root) < 0 || chdir("/") < 0)
			_exit(126);
	}
	execve(j->path, j->argv, empty_env);
	_exit(127);
}

/* Keeps the last line of the tool's output that says something. */
static void last_line(const char *out, char *line, size_t linesz)
{
	const char *end = out + strlen(out), *start;

	while (end > out && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\r'))
		end--;
	start = end;
	while (start > out && start[-1] != '\n')
		start--;
	snprintf(line, linesz, "%.*s", (int)(end - start), start);
}

static int tool_bind(struct tool_job *j, const char *src, const char *dst_in_root)
{
	char dst[PATH_MAX];
	int w = snprintf(dst, sizeof(dst), "%s%s", j->root, dst_in_root);

	if (w < 0 || (size_t)w >= sizeof(dst) || strlen(src) >= PATH_MAX)
		return -ENAMETOOLONG;
	if (fsutil_mkdir_p(dst, 0755) < 0)
		return -errno;
	snprintf(j->binds[j->n_binds][0], PATH_MAX, "%s", src);
	snprintf(j->binds[j->n_binds][1], PATH_MAX, "%s", dst);
	j->n_binds++;
	return 0;
}

int inst_tool_run(const char *root, const char *const argv[], const void *in, size_t inlen,
		  const char *src_dir, char *err, size_t errsz)
{
	struct tool_job *j;
	int inp[2] = {-1, -1}, outp[2] = {-1, -1}, status, rc = -1;
	char out[4096], line[512];
	size_t len = 0;
	pid_t pid;

	if (inlen > 16384)
		return errbuf_set(err, errsz, "%s: input too large", argv[0]);
	j = calloc(1, sizeof(*j));
	if (!j)
		return errbuf_set(err, errsz, "out of memory");
	j->root = root ? root : "";
	j->argv = (char *const *)argv;
	if (tool_find(j->root, argv[0], j->path, sizeof(j->path)) < 0) {
		errbuf_set(err, errsz, "%s: not found in %s", argv[0],
			   j->root[0] ? j->root : "the host");
		goto out_free;
	}
	if (j->root[0] &&
	    (tool_bind(j, "/dev", "/dev") < 0 || tool_bind(j, "/proc", "/proc") < 0 ||
	     tool_bind(j, "/sys", "/sys") < 0 || (src_dir && tool_bind(j, src_dir, SRC_MNT) < 0))) {
		errbuf_set(err, errsz, "%s: cannot prepare %s: %s", argv[0], j->root,
			   strerror(errno));
		goto out_free;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, inp) < 0 ||
	    pipe2(outp, O_CLOEXEC) < 0) {
		errbuf_set(err, errsz, "%s: %s", argv[0], strerror(errno));
		goto out_close;
	}
	j->in_fd = inp[1];
	j->out_fd = outp[1];
	pid = fork();
	if (pid < 0) {
		errbuf_set(err, errsz, "%s: fork: %s", argv[0], strerror(errno));
		goto out_close;
	}
	if (pid == 0)
		tool_child(j);
	close(inp[1]);
	close(outp[1]);
	inp[1] = outp[1] = -1;
	/* a tool that does not read its input must not kill us: MSG_NOSIGNAL */
	if (in && inlen && send(inp[0], in, inlen, MSG_NOSIGNAL) < 0 && errno != EPIPE)
		errbuf_set(err, errsz, "%s: stdin: %s", argv[0], strerror(errno));
	shutdown(inp[0], SHUT_WR);
	for (;;) {
		char buf[1024];
		ssize_t r = read(outp[0], buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		/* keep the tail: the error is at the end */
		if (len + (size_t)r >= sizeof(out)) {
			size_t drop = len + (size_t)r - (sizeof(out) - 1);

			drop = drop > len ? len : drop;
			memmove(out, out + drop, len - drop);
			len -= drop;
		}
		if ((size_t)r >= sizeof(out))
			r = sizeof(out) - 1;
		memcpy(out + len, buf, (size_t)r);
		len += (size_t)r;
	}
	out[len] = '\0';
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			errbuf_set(err, errsz, "%s: wait: %s", argv[0], strerror(errno));
			goto out_close;
		}
	last_line(out, line, sizeof(line));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		rc = 0;
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 126)
		errbuf_set(err, errsz, "%s: cannot enter the tools tree %s", argv[0], j->root);
	else if (WIFEXITED(status))
		errbuf_set(err, errsz, "%s: exit %d: %s", argv[0], WEXITSTATUS(status), line);
	else
		errbuf_set(err, errsz, "%s: killed by signal %d", argv[0], WTERMSIG(status));
out_close:
	for (int i = 0; i < 2; i++) {
		if (inp[i] >= 0)
			close(inp[i]);
		if (outp[i] >= 0)
			close(outp[i]);
	}
out_free:
	free(j);
	return rc;
}

/* ---- before any write -------------------------------------------------------- */

static int read_esp_json(struct inst_storage *st, char *err, size_t errsz)
{
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *doc;
	struct {
		const char *key;
		uint64_t *out;
	} f[] = {{"Size", &st->esp.size},
		 {"GrubenvOffset", &st->esp.grubenv_offset},
		 {"GrubenvSize", &st->esp.grubenv_size},
		 {"KeyOffset", &st->esp.key_offset},
		 {"KeySize", &st->esp.key_size}};
	size_t i;

	snprintf(path, sizeof(path), "%s/boot/esp.json", st->image_dir);
	doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return errbuf_set(err, errsz, "image: %s: %s", path, jerr.text);
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		json_t *v = json_object_get(doc, f[i].key);

		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			json_decref(doc);
			return errbuf_set(err, errsz, "image: %s: %s missing or not a number", path,
					  f[i].key);
		}
		*f[i].out = (uint64_t)json_integer_value(v);
	}
	json_decref(doc);
	if (st->esp.size == 0 || st->esp.size > MAX_ESP_BYTES || st->esp.grubenv_size != 1024 ||
	    st->esp.key_size < INST_LUKS_KEY_BYTES || st->esp.key_size > 65536 ||
	    st->esp.grubenv_offset > st->esp.size - 1024 ||
	    st->esp.key_offset > st->esp.size - st->esp.key_size ||
	    (st->esp.key_offset < st->esp.grubenv_offset + 1024 &&
	     st->esp.grubenv_offset < st->esp.key_offset + st->esp.key_size))
		return errbuf_set(err, errsz, "image: %s: sizes or offsets out of range", path);
	return 0;
}

static int read_esp_img(struct inst_storage *st, char *err, size_t errsz)
{
	char path[PATH_MAX];
	gzFile gz;
	uint64_t got = 0;
	char extra;

	snprintf(path, sizeof(path), "%s/boot/esp.img.gz", st->image_dir);
	gz = gzopen(path, "rb");
	if (!gz)
		return errbuf_set(err, errsz, "image: %s: %s", path,
				  strerror(errno ? errno : ENOMEM));
	st->esp_img = malloc(st->esp.size);
	if (!st->esp_img) {
		gzclose(gz);
		return errbuf_set(err, errsz, "out of memory for the ESP image");
	}
	while (got < st->esp.size) {
		unsigned want =
		    st->esp.size - got > (1u << 30) ? (1u << 30) : (unsigned)(st->esp.size - got);
		int r = gzread(gz, st->esp_img + got, want);

		if (r <= 0)
			break;
		got += (uint64_t)r;
	}
	if (got != st->esp.size || gzread(gz, &extra, 1) != 0) {
		int e;
		const char *msg = gzerror(gz, &e);

		gzclose(gz);
		return errbuf_set(err, errsz,
				  "image: %s: not %" PRIu64 " bytes as esp.json says%s%s", path,
				  st->esp.size, e ? ": " : "", e ? msg : "");
	}
	gzclose(gz);
	if (memcmp(st->esp_img + st->esp.grubenv_offset, GRUBENV_HEAD, strlen(GRUBENV_HEAD)) != 0)
		return errbuf_set(err, errsz,
				  "image: esp.img has no grubenv block at GrubenvOffset %" PRIu64,
				  st->esp.grubenv_offset);
	return 0;
}

static int read_boot_code(struct inst_storage *st, char *err, size_t errsz)
{
	char path[PATH_MAX], *buf = NULL;
	size_t len = 0;
	int rc;

	snprintf(path, sizeof(path), "%s/boot/bios-boot.img", st->image_dir);
	rc = fsutil_read_file(path, 512, &buf, &len);
	/* 440 bytes (the code before the disk signature), or a whole boot sector */
	if (rc < 0 || (len != 440 && len != 512) ||
	    (len == 512 && ((unsigned char)buf[510] != 0x55 || (unsigned char)buf[511] != 0xaa))) {
		free(buf);
		return errbuf_set(err, errsz, "image: %s: %s", path,
				  rc < 0 ? strerror(-rc) : "not GRUB's 440-byte boot code");
	}
	memcpy(st->mbr, buf, sizeof(st->mbr));
	free(buf);
	snprintf(path, sizeof(path), "%s/boot/bios-core.img", st->image_dir);
	rc = fsutil_read_file(path, (size_t)INST_BIOS_SECTORS * 512, &buf, &len);
	if (rc < 0 || len < 512) {
		free(buf);
		return errbuf_set(err, errsz, "image: %s: %s", path,
				  rc == -EFBIG ? "larger than the 1 MiB BIOS boot partition"
				  : rc < 0     ? strerror(-rc)
					       : "too small");
	}
	st->core = (unsigned char *)buf;
	st->core_len = len;
	return 0;
}

static int check_dm(char *err, size_t errsz)
{
	struct dm_ioctl io;
	int fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);

	memset(&io, 0, sizeof(io));
	io.version[0] = DM_VERSION_MAJOR;
	io.data_size = sizeof(io);
	if (fd < 0 || ioctl(fd, DM_VERSION, &io) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return errbuf_set(err, errsz,
				  "Encrypt needs device-mapper (dm_mod, dm_crypt) in this kernel: "
				  "/dev/mapper/control: %s",
				  strerror(e));
	}
	close(fd);
	return 0;
}

int inst_storage_prepare(struct inst_storage *st, char *err, size_t errsz)
{
	const char *tools[] = {"sfdisk", "mke2fs", "cryptsetup"};
	char path[PATH_MAX];
	size_t i, n_tools = st->encrypt ? 3 : 2;
	ssize_t r;

	for (i = 0; i < n_tools; i++)
		if (tool_find(st->tools_root, tools[i], path, sizeof(path)) < 0)
			return errbuf_set(err, errsz, "image: tools%s has no %s",
					  st->tools_root[0] ? "/" : " of the host", tools[i]);
	if (read_esp_json(st, err, errsz) < 0 || read_esp_img(st, err, errsz) < 0 ||
	    read_boot_code(st, err, errsz) < 0)
		return -1;
	if (st->esp.size > st->plan->esp_bytes)
		return errbuf_set(err, errsz,
				  "image: esp.img (%" PRIu64 " bytes) is larger than the ESP",
				  st->esp.size);
	if (st->encrypt && check_dm(err, errsz) < 0)
		return -1;
	/* a drive that is mounted or in use (O_EXCL) is refused before any write */
	for (i = 0; i < st->plan->n_drives; i++) {
		int fd = open(st->drives[i].dev, O_RDWR | O_EXCL | O_CLOEXEC);

		if (fd < 0)
			return errbuf_set(err, errsz, "%s: %s", st->drives[i].dev,
					  errno == EBUSY ? "in use (mounted or held)"
							 : strerror(errno));
		close(fd);
	}
	r = getrandom(st->key, sizeof(st->key), 0);
	if (r != (ssize_t)sizeof(st->key))
		return errbuf_set(err, errsz, "getrandom: %s", strerror(errno));
	return 0;
}

/* ---- the writes -------------------------------------------------------------- */

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const unsigned char *p = buf;

	while (len > 0) {
		ssize_t w = pwrite(fd, p, len, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* Discards the drive (thin disks and SSDs start clean) and zeroes its first and last
 * MiB whatever the discard did: old partition tables and signatures are gone. */
static int drive_wipe(const struct inst_drive *d, char *err, size_t errsz)
{
	static const unsigned char zero[64 << 10];
	uint64_t range[2] = {0, d->bytes}, off;
	int fd = open(d->dev, O_RDWR | O_EXCL | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return errbuf_set(err, errsz, "%s: %s", d->dev, strerror(errno));
	(void)ioctl(fd, BLKDISCARD, range); /* optional: not every drive can */
	for (off = 0; off < WIPE_BYTES && rc == 0; off += sizeof(zero))
		rc = pwrite_all(fd, zero, sizeof(zero), off);
	for (off = d->bytes - WIPE_BYTES; off < d->bytes && rc == 0; off += sizeof(zero))
		rc = pwrite_all(fd, zero, sizeof(zero), off);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc < 0 ? errbuf_set(err, errsz, "%s: zeroing: %s", d->dev, strerror(-rc)) : 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Reads a number from <sysfs>/class/block/<part>/<attr>; 0 if absent. */
static uint64_t part_attr(const struct inst_storage *st, const char *part, const char *attr)
{
	char path[PATH_MAX], buf[32] = "";
	unsigned long long v = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/class/block/%s/%s", st->sysfs ? st->sysfs : "/sys", part,
		 attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fsutil_read_all(fd, buf, sizeof(buf) - 1) > 0)
		sscanf(buf, "%llu", &v);
	close(fd);
	return v;
}

/* Tells the kernel about the partitions itself (BLKPG): for kernels that do not parse
 * GPT and for a re-read refused because an old partition was busy. An old partition
 * at another place is deleted first. */
static void add_parts(const struct inst_storage *st, size_t di)
{
	const struct inst_drive_plan *dp = &st->plan->drives[di];
	const struct inst_drive *d = &st->drives[di];
	struct inst_ctx ctx = {.sysfs = st->sysfs};
	int fd = open(d->dev, O_RDONLY | O_CLOEXEC);
	size_t i;

	if (fd < 0)
		return;
	for (i = 0; i < dp->n; i++) {
		const struct inst_part *p = &dp->parts[i];
		struct blkpg_partition bp = {.start = (long long)(p->start_lba * 512),
					     .length = (long long)(p->sectors * 512),
					     .pno = (int)p->num};
		struct blkpg_ioctl_arg a = {
		    .op = BLKPG_ADD_PARTITION, .datalen = sizeof(bp), .data = &bp};
		char dev[160];
		const char *base;

		inst_drive_part_dev(&ctx, d, p->num, dev, sizeof(dev));
		base = strrchr(dev, '/') + 1;
		if (part_attr(st, base, "start") == p->start_lba &&
		    part_attr(st, base, "size") == p->sectors)
			continue;
		a.op = BLKPG_DEL_PARTITION;
		(void)ioctl(fd, BLKPG, &a);
		a.op = BLKPG_ADD_PARTITION;
		(void)ioctl(fd, BLKPG, &a);
	}
	/* partitions of an older table beyond the new ones */
	for (i = dp->n + 1; i <= 128; i++) {
		struct blkpg_partition bp = {.pno = (int)i};
		struct blkpg_ioctl_arg a = {
		    .op = BLKPG_DEL_PARTITION, .datalen = sizeof(bp), .data = &bp};

		(void)ioctl(fd, BLKPG, &a);
	}
	close(fd);
}

/* Waits up to 10 s for every partition's device node at the planned place; if the
 * kernel has not made them after 0.5 s, adds them itself. */
static int wait_parts(const struct inst_storage *st, size_t di, char *err, size_t errsz)
{
	const struct inst_drive_plan *dp = &st->plan->drives[di];
	const struct inst_drive *d = &st->drives[di];
	struct inst_ctx ctx = {.sysfs = st->sysfs};
	double start = now_s();
	bool added = false;
	size_t i;

	for (i = 0; i < dp->n; i++) {
		const struct inst_part *p = &dp->parts[i];
		char dev[160];
		struct stat sb;

		inst_drive_part_dev(&ctx, d, p->num, dev, sizeof(dev));
		while (stat(dev, &sb) < 0 || !S_ISBLK(sb.st_mode) ||
		       part_attr(st, strrchr(dev, '/') + 1, "start") != p->start_lba ||
		       part_attr(st, strrchr(dev, '/') + 1, "size") != p->sectors) {
			if (now_s() - start > 10)
				return errbuf_set(err, errsz,
						  "%s: no device %s 10 s after partitioning",
						  d->dev, dev);
			if (!added && now_s() - start > 0.5) {
				add_parts(st, di);
				added = true;
			}
			usleep(20000);
		}
	}
	return 0;
}

static int write_at(const char *dev, const void *buf, size_t len, uint64_t off, char *err,
		    size_t errsz)
{
	int fd = open(dev, O_WRONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return errbuf_set(err, errsz, "%s: %s", dev, strerror(errno));
	rc = pwrite_all(fd, buf, len, off);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc < 0 ? errbuf_set(err, errsz, "%s: write: %s", dev, strerror(-rc)) : 0;
}

/* GRUB's boot.img into the protective MBR (its partition table kept), core.img into
 * the BIOS boot partition, the ESP image with grubenv and the key in place. */
static int write_boot(struct inst_storage *st, const char *esp_dev, char *err, size_t errsz)
{
	const struct inst_drive *d = &st->drives[0];
	uint64_t goff = st->esp.grubenv_offset, koff = st->esp.key_offset;
	char env[1024];
	size_t n;
	int rc;

	if (write_at(d->dev, st->mbr, sizeof(st->mbr), 0, err, errsz) < 0 ||
	    write_at(d->dev, st->core, st->core_len, (uint64_t)INST_BIOS_START_LBA * 512, err,
		     errsz) < 0)
		return -1;
	n = (size_t)snprintf(env, sizeof(env), GRUBENV_HEAD "ss_slot=A\n");
	memset(env + n, '#', sizeof(env) - n);
	memcpy(st->esp_img + goff, env, sizeof(env));
	memset(st->esp_img + koff, 0, st->esp.key_size);
	if (st->encrypt)
		memcpy(st->esp_img + koff, st->key, sizeof(st->key));
	rc = write_at(esp_dev, st->esp_img, st->esp.size, 0, err, errsz);
	explicit_bzero(st->esp_img + koff, st->esp.key_size);
	return rc;
}

/* mke2fs for partition p on dev; src = a tree to copy in (-d) or NULL. */
static int make_ext4(const struct inst_storage *st, const struct inst_part *p, const char *dev,
		     const char *src, char *err, size_t errsz)
{
	char inode[32], resv[16], owner[64];
	const char *argv[24];
	int k = 0;

	argv[k++] = "mke2fs";
	argv[k++] = "-q";
	argv[k++] = "-F";
	argv[k++] = "-t";
	argv[k++] = "ext4";
	argv[k++] = "-L";
	argv[k++] = p->label;
	if (p->bytes_per_inode) {
		snprintf(inode, sizeof(inode), "%" PRIu64, p->bytes_per_inode);
		argv[k++] = "-i";
		argv[k++] = inode;
	}
	if (p->reserved_blocks_pct >= 0 && p->reserved_blocks_pct <= 50) {
		snprintf(resv, sizeof(resv), "%d", p->reserved_blocks_pct);
		argv[k++] = "-m";
		argv[k++] = resv;
	}
	if (p->root_uid || p->root_gid) {
		snprintf(owner, sizeof(owner), "root_owner=%" PRIu32 ":%" PRIu32, p->root_uid,
			 p->root_gid);
		argv[k++] = "-E";
		argv[k++] = owner;
	}
	if (src) {
		argv[k++] = "-d";
		argv[k++] = st->tools_root[0] ? SRC_MNT : src;
	}
	argv[k++] = dev;
	argv[k] = NULL;
	return inst_tool_run(st->tools_root, argv, NULL, 0, src, err, errsz);
}

/* A partition that may be encrypted: LUKS2 with the key on stdin (never in a file),
 * opened, the file system made inside, closed again. */
static int format_part(const struct inst_storage *st, const struct inst_part *p, const char *dev,
		       const char *src, char *err, size_t errsz)
{
	char name[64], mapped[96], cerr[512];
	const char *fmt[] = {"cryptsetup", "luksFormat", "--type", "luks2", "--batch-mode",
			     /* the key is 32 random bytes: key stretching adds nothing but
			      * seconds and memory at every boot */
			     "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--key-file",
			     "-", "--keyfile-size", "32", dev, NULL};
	const char *open_argv[] = {"cryptsetup",     "open", "--type", "luks2", "--key-file", "-",
				   "--keyfile-size", "32",   dev,      name,	NULL};
	const char *close_argv[] = {"cryptsetup", "close", name, NULL};
	int rc;

	if (!p->encrypt)
		return make_ext4(st, p, dev, src, err, errsz);
	snprintf(name, sizeof(name), "ss-install-%u", p->num);
	snprintf(mapped, sizeof(mapped), "/dev/mapper/%s", name);
	if (inst_tool_run(st->tools_root, fmt, st->key, sizeof(st->key), NULL, err, errsz) < 0 ||
	    inst_tool_run(st->tools_root, open_argv, st->key, sizeof(st->key), NULL, err, errsz) <
		0)
		return -1;
	rc = make_ext4(st, p, mapped, src, err, errsz);
	if (inst_tool_run(st->tools_root, close_argv, NULL, 0, NULL, cerr, sizeof(cerr)) < 0 &&
	    rc == 0)
		rc = errbuf_set(err, errsz, "%s", cerr);
	return rc;
}

static int partition_drive(struct inst_storage *st, size_t di, char *err, size_t errsz)
{
	const struct inst_drive_plan *dp = &st->plan->drives[di];
	const struct inst_drive *d = &st->drives[di];
	const char *sfdisk[] = {"sfdisk", "--quiet", "--wipe", "always", "--wipe-partitions",
				"always", d->dev,    NULL};
	char script[4096];

	if (drive_wipe(d, err, errsz) < 0)
		return -1;
	if (inst_plan_sfdisk_script(dp, script, sizeof(script)) < 0)
		return errbuf_set(err, errsz, "%s: partition table too long", d->dev);
	if (inst_tool_run(st->tools_root, sfdisk, script, strlen(script), NULL, err, errsz) < 0)
		return -1;
	return wait_parts(st, di, err, errsz);
}

int inst_storage_partition(struct inst_storage *st, char *err, size_t errsz)
{
	size_t i;

	for (i = 0; i < st->plan->n_drives; i++) {
		if (partition_drive(st, i, err, errsz) < 0)
			return -1;
		if (st->progress)
			st->progress(i + 1, st->plan->n_drives, "drives");
	}
	return 0;
}

/* Formats the partitions of one kind group: boot (BIOS, ESP, slots) or the rest. */
static int format_drives(struct inst_storage *st, bool boot, char *err, size_t errsz)
{
	struct inst_ctx ctx = {.sysfs = st->sysfs};
	uint64_t done = 0, total = 0;
	size_t di, i;
	char dev[160];

	for (di = 0; di < st->plan->n_drives; di++)
		for (i = 0; i < st->plan->drives[di].n; i++)
			total += (st->plan->drives[di].parts[i].kind <= INST_PK_SLOT_B) == boot;
	for (di = 0; di < st->plan->n_drives; di++) {
		const struct inst_drive_plan *dp = &st->plan->drives[di];

		for (i = 0; i < dp->n; i++) {
			const struct inst_part *p = &dp->parts[i];
			int rc = 0;

			if ((p->kind <= INST_PK_SLOT_B) != boot)
				continue;
			inst_drive_part_dev(&ctx, &st->drives[di], p->num, dev, sizeof(dev));
			switch (p->kind) {
			case INST_PK_BIOS:
				break;
			case INST_PK_ESP:
				rc = write_boot(st, dev, err, errsz);
				break;
			case INST_PK_SLOT_A:
				rc = make_ext4(st, p, dev, st->slot_dir, err, errsz);
				break;
			case INST_PK_SLOT_B:
				rc = make_ext4(st, p, dev, NULL, err, errsz);
				break;
			case INST_PK_EXTRA:
				rc = format_part(st, p, dev, NULL, err, errsz);
				break;
			case INST_PK_DATA:
				rc = format_part(st, p, dev, st->data_dir, err, errsz);
				break;
			}
			if (rc < 0) {
				size_t l = strlen(err);

				snprintf(err + l, errsz - l, " (%s %s)", dev, p->name);
				return -1;
			}
			if (st->progress)
				st->progress(++done, total, "partitions");
		}
	}
	return 0;
}

int inst_storage_boot(struct inst_storage *st, char *err, size_t errsz)
{
	return format_drives(st, true, err, errsz);
}

int inst_storage_data(struct inst_storage *st, char *err, size_t errsz)
{
	if (format_drives(st, false, err, errsz) < 0)
		return -1;
	sync();
	return 0;
}

int inst_storage_write(struct inst_storage *st, char *err, size_t errsz)
{
	if (inst_storage_partition(st, err, errsz) < 0 || inst_storage_boot(st, err, errsz) < 0 ||
	    inst_storage_data(st, err, errsz) < 0)
		return -1;
	return 0;
}

void inst_storage_free(struct inst_storage *st)
{
	explicit_bzero(st->key, sizeof(st->key));
	if (st->esp_img)
		explicit_bzero(st->esp_img + st->esp.key_offset, st->esp.key_size);
	free(st->esp_img);
	free(st->core);
	st->esp_img = NULL;
	st->core = NULL;
}

/* ---- sizes ------------------------------------------------------------------- */

static int usage_walk(int dfd, int64_t *sum, int depth)
{
	DIR *dir;
	struct dirent *de;
	int rc = 0;

	if (depth > 64) {
		close(dfd);
		return -ELOOP;
	}
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return -errno;
	}
	while ((de = readdir(dir)) != NULL && rc == 0) {
		struct stat sb;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(dir), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = -errno;
			break;
		}
		*sum += 256 + ((sb.st_size + 4095) & ~(int64_t)4095);
		if (S_ISDIR(sb.st_mode)) {
			int fd = openat(dirfd(dir), de->d_name,
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			rc = fd < 0 ? -errno : usage_walk(fd, sum, depth + 1);
		}
	}
	closedir(dir);
	return rc;
}

int64_t inst_storage_usage(const char *dir)
{
	int64_t sum = 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	rc = usage_walk(fd, &sum, 0);
	if (rc < 0)
		return rc;
	/* the journal and group metadata: a tenth plus 8 MiB */
	return sum + sum / 10 + (8 << 20);
}
