/* Running the tools that build volumes, and placing their output (see cmdrun.h). */
#include "daemon/hypervisor/vmm/cmdrun.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"

#define OUT_MAX 1024

extern char **environ;

int cmdrun_status(char *const argv[], int *status, char *out, size_t outsz, char *err, size_t errsz)
{
	posix_spawn_file_actions_t fa;
	char buf[4096];
	size_t len = 0, max = outsz > 0 ? outsz - 1 : 0;
	int p[2], rc;
	pid_t pid;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		snprintf(err, errsz, "%s: %s", argv[0], strerror(rc));
		return -rc;
	}
	/* Keeps the last max bytes. */
	while ((n = read(p[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
		if (n < 0 || max == 0)
			continue;
		if ((size_t)n >= max) {
			memcpy(out, buf + n - max, max);
			len = max;
			continue;
		}
		if (len + (size_t)n > max) {
			size_t drop = len + (size_t)n - max;

			memmove(out, out + drop, len - drop);
			len -= drop;
		}
		memcpy(out + len, buf, (size_t)n);
		len += (size_t)n;
	}
	close(p[0]);
	if (outsz > 0)
		out[len] = '\0';
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* Runs argv; its output (stdout and stderr, the last OUT_MAX bytes) goes into err with
 * the program's name when it fails. */
int cmdrun(char *const argv[], char *err, size_t errsz)
{
	char out[OUT_MAX + 1];
	size_t len;
	int status, rc = cmdrun_status(argv, &status, out, sizeof(out), err, errsz);

	if (rc < 0)
		return rc;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	len = strlen(out);
	while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
		out[--len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (out[i] == '\n')
			out[i] = ' ';
	snprintf(err, errsz, "%s failed (status %d): %s", argv[0],
		 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out);
	return -EIO;
}

int cmdrun_place(int fd, const char *path, uint64_t offset, uint64_t max, char *err, size_t errsz)
{
	char buf[65536];
	uint64_t done = 0;
	int in, rc = 0;
	ssize_t n;

	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		rc = -errno;
		snprintf(err, errsz, "open %s: %s", path, strerror(errno));
		return rc;
	}
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || done + (uint64_t)n > max) {
			rc = n < 0 ? -errno : -EFBIG;
			break;
		}
		if (pwrite(fd, buf, (size_t)n, (off_t)(offset + done)) != n) {
			rc = -EIO;
			break;
		}
		done += (uint64_t)n;
	}
	close(in);
	if (rc < 0)
		snprintf(err, errsz, "placing %s in the volume: %s", path, strerror(-rc));
	return rc;
}

int cmdrun_grub_mkimage(const char *format, const char *gdir, const char *prefix,
			const char *cfg_text, const char *cfg_path, const char *out,
			const char *const *modules, size_t nmodules, char *err, size_t errsz)
{
	char *argv[48];
	size_t k = 0;
	int rc;

	if (nmodules > sizeof(argv) / sizeof(argv[0]) - 12)
		return -E2BIG;
	rc = fsutil_write_atomic(cfg_path, cfg_text, strlen(cfg_text), 0644);
	if (rc < 0) {
		snprintf(err, errsz, "writing %s: %s", cfg_path, strerror(-rc));
		return rc;
	}
	argv[k++] = "grub-mkimage";
	argv[k++] = "-O";
	argv[k++] = (char *)format;
	argv[k++] = "-d";
	argv[k++] = (char *)gdir;
	argv[k++] = "-p";
	argv[k++] = (char *)prefix;
	argv[k++] = "-c";
	argv[k++] = (char *)cfg_path;
	argv[k++] = "-o";
	argv[k++] = (char *)out;
	for (size_t i = 0; i < nmodules; i++)
		argv[k++] = (char *)modules[i];
	argv[k] = NULL;
	rc = cmdrun(argv, err, errsz);
	unlink(cfg_path);
	return rc;
}
