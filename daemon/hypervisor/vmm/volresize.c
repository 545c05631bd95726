/* The ext2/3/4 file-system of a raw volume follows the volume's size, as the original's
 * grow2fs and shrink2fs do (see volresize.h), with its error texts. */
#include "daemon/hypervisor/vmm/volresize.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/hypervisor/vmm/cmdrun.h"

#define OUT_MAX 2048
#define MBR_ENTRY(m, i) ((m) + 446 + 16 * (i))

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Runs argv; on failure err is the original's "error running <prog> for: <device>:
 * exit status N: <output, newlines as \n>". ok_codes: exit codes that count as
 * success besides 0 (e2fsck's 1 and 2: errors fixed). */
static int run(char *const argv[], const char *device, int ok_max, char *err, size_t errsz)
{
	char out[OUT_MAX], flat[2 * OUT_MAX], why[32];
	size_t k = 0;
	int status, rc = cmdrun_status(argv, &status, out, sizeof(out), err, errsz);

	if (rc < 0)
		return rc;
	if (WIFEXITED(status) && WEXITSTATUS(status) <= ok_max)
		return 0;
	for (size_t i = 0; out[i] != '\0' && k + 2 < sizeof(flat); i++) {
		if (out[i] == '\r')
			continue;
		if (out[i] == '\n') {
			flat[k++] = '\\';
			flat[k++] = 'n';
		} else {
			flat[k++] = out[i];
		}
	}
	flat[k] = '\0';
	if (WIFEXITED(status))
		snprintf(why, sizeof(why), "exit status %d", WEXITSTATUS(status));
	else
		snprintf(why, sizeof(why), "signal: %s", strsignal(WTERMSIG(status)));
	snprintf(err, errsz, "error running %s for: %s: %s: %s", argv[0], device, why, flat);
	return -EIO;
}

/* The original's check2fs: e2label succeeds on an ext{2,3,4} file-system. */
static bool has_2fs(const char *device)
{
	char *argv[] = {"e2label", (char *)device, NULL};
	char out[256], err[256];
	int status;

	return cmdrun_status(argv, &status, out, sizeof(out), err, sizeof(err)) == 0 &&
	       WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* e2fsck -f -y, then resize2fs to size bytes (0: to fill the device). */
static int resize2fs(const char *device, uint64_t size, char *err, size_t errsz)
{
	char *fsck[] = {"e2fsck", "-f", "-y", (char *)device, NULL};
	char sectors[32];
	char *argv[] = {"resize2fs", (char *)device, size ? sectors : NULL, NULL};
	int rc = run(fsck, device, 2, err, errsz);

	if (rc < 0)
		return rc;
	if (size > 0 && size < 1 << 20) {
		snprintf(err, errsz, "size: %" PRIu64 " too small", size);
		return -EINVAL;
	}
	snprintf(sectors, sizeof(sectors), "%" PRIu64 "s", size >> 9);
	return run(argv, device, 0, err, errsz);
}

/* The original's format.FormatBytes: whole units of 1024 with the largest unit that
 * leaves an exact multiple, else bytes. */
static void format_bytes(uint64_t n, char *buf, size_t sz)
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	size_t u = 0;

	while (u + 1 < sizeof(units) / sizeof(units[0]) && n >= 1024 && n % 1024 == 0) {
		n /= 1024;
		u++;
	}
	snprintf(buf, sz, "%" PRIu64 " %s", n, units[u]);
}

/* Reads the DOS partition table of volume into mbr. 1 if there is one with only its
 * first partition used; 0 (err set) if there is none; -EINVAL (err set) if it has
 * other partitions or is GPT's; -errno on I/O errors. */
static int read_mbr(const char *volume, uint8_t mbr[512], char *err, size_t errsz)
{
	char s[4][32];
	int fd = open(volume, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		snprintf(err, errsz, "open %s: %s", volume, strerror(errno));
		return -errno;
	}
	n = pread(fd, mbr, 512, 0);
	close(fd);
	if (n != 512 || mbr[510] != 0x55 || mbr[511] != 0xaa) {
		snprintf(err, errsz, "no DOS partition table found");
		return 0;
	}
	for (int i = 0; i < 4; i++)
		format_bytes((uint64_t)get32(MBR_ENTRY(mbr, i) + 12) * 512, s[i], sizeof(s[i]));
	if (get32(MBR_ENTRY(mbr, 1) + 12) || get32(MBR_ENTRY(mbr, 2) + 12) ||
	    get32(MBR_ENTRY(mbr, 3) + 12)) {
		snprintf(err, errsz, "unsupported partition sizes: [%s,%s,%s,%s]", s[0], s[1], s[2],
			 s[3]);
		return -EINVAL;
	}
	if (MBR_ENTRY(mbr, 0)[4] == 0xee) {
		snprintf(err, errsz, "GPT partition tables are not supported");
		return -EINVAL;
	}
	return 1;
}

static int write_mbr(const char *volume, const uint8_t mbr[512], char *err, size_t errsz)
{
	int fd = open(volume, O_WRONLY | O_CLOEXEC), rc = 0;

	if (fd < 0 || pwrite(fd, mbr, 512, 0) != 512 || fsync(fd) < 0) {
		rc = -errno;
		snprintf(err, errsz, "writing the partition table of %s: %s", volume,
			 strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* A loop device over bytes [offset, offset+size) of volume, in dev. */
static int loop_attach(const char *volume, uint64_t offset, uint64_t size, char *dev, size_t sz,
		       char *err, size_t errsz)
{
	char off[32], lim[32];
	char *argv[] = {"losetup",     "--find", "--show",	 "--offset", off,
			"--sizelimit", lim,	 (char *)volume, NULL};
	char out[256];
	int status, rc;

	snprintf(off, sizeof(off), "%" PRIu64, offset);
	snprintf(lim, sizeof(lim), "%" PRIu64, size);
	rc = cmdrun_status(argv, &status, out, sizeof(out), err, errsz);
	if (rc < 0)
		return rc;
	out[strcspn(out, "\n")] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || strncmp(out, "/dev/", 5) != 0) {
		snprintf(err, errsz, "losetup %s: %s", volume, out);
		return -EIO;
	}
	if ((size_t)snprintf(dev, sz, "%.63s", out) >= sz) {
		snprintf(err, errsz, "losetup %s: device name too long: %s", volume, out);
		return -ENAMETOOLONG;
	}
	return 0;
}

static void loop_detach(const char *dev)
{
	char *argv[] = {"losetup", "--detach", (char *)dev, NULL};
	char err[256];

	cmdrun(argv, err, sizeof(err));
}

int volresize_grow2fs(const char *volume, char *err, size_t errsz)
{
	uint8_t mbr[512];
	uint64_t start, sectors;
	struct stat st;
	char dev[64];
	int rc;

	if (has_2fs(volume))
		return resize2fs(volume, 0, err, errsz);
	rc = read_mbr(volume, mbr, err, errsz);
	if (rc <= 0)
		return rc; /* a blank volume has nothing to grow (the original: an error) */
	if (stat(volume, &st) < 0) {
		snprintf(err, errsz, "stat %s: %s", volume, strerror(errno));
		return -errno;
	}
	/* parted's "resizepart 1 100%": the partition ends with the volume. */
	start = get32(MBR_ENTRY(mbr, 0) + 8);
	sectors = (uint64_t)st.st_size / 512 - start;
	if (sectors > UINT32_MAX)
		sectors = UINT32_MAX;
	if (sectors > get32(MBR_ENTRY(mbr, 0) + 12)) {
		put32(MBR_ENTRY(mbr, 0) + 12, (uint32_t)sectors);
		memset(MBR_ENTRY(mbr, 0) + 5, 0xff, 3); /* CHS end: beyond CHS, use LBA */
		MBR_ENTRY(mbr, 0)[5] = 0xfe;
		rc = write_mbr(volume, mbr, err, errsz);
		if (rc < 0)
			return rc;
	}
	rc = loop_attach(volume, start * 512, sectors * 512, dev, sizeof(dev), err, errsz);
	if (rc < 0)
		return rc;
	if (has_2fs(dev))
		rc = resize2fs(dev, 0, err, errsz);
	loop_detach(dev);
	return rc;
}

int volresize_shrink2fs(const char *volume, uint64_t size, char *err, size_t errsz)
{
	uint8_t mbr[512];
	uint64_t offset, old;
	char dev[64];
	int rc;

	if (has_2fs(volume))
		return resize2fs(volume, size, err, errsz);
	rc = read_mbr(volume, mbr, err, errsz);
	if (rc <= 0)
		return rc < 0 ? rc : -EINVAL;
	offset = (uint64_t)get32(MBR_ENTRY(mbr, 0) + 8) * 512;
	old = (uint64_t)get32(MBR_ENTRY(mbr, 0) + 12) * 512;
	/* The original subtracts without a check: a size inside the first MiB wraps and is
	 * "greater" too. */
	if (size <= offset || size - offset >= old) {
		snprintf(err, errsz, "size greater than existing partition");
		return -EINVAL;
	}
	size -= offset;
	rc = loop_attach(volume, offset, old, dev, sizeof(dev), err, errsz);
	if (rc < 0)
		return rc;
	if (!has_2fs(dev)) {
		snprintf(err, errsz, "no ext2 file-system found in partition");
		rc = -EINVAL;
	} else {
		rc = resize2fs(dev, size, err, errsz);
	}
	loop_detach(dev);
	if (rc < 0)
		return rc;
	put32(MBR_ENTRY(mbr, 0) + 12, (uint32_t)(size / 512));
	return write_mbr(volume, mbr, err, errsz);
}
