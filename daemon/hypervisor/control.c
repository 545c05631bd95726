/* Control socket server and client (see control.h). */
#include "daemon/hypervisor/control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fsutil.h"

#define CONTROL_MAX_LINE 256
#define CONTROL_MAX_HELD 16

struct control {
	char *path;
	int fd;
	int wake[2]; /* control_stop writes here to end the accept loop */
	control_fn fn;
	void *arg;
	pthread_t thread;
	int held[CONTROL_MAX_HELD]; /* answered connections, closed at exit */
	size_t nheld;
};

static int make_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

/* Reads one line (without '\n') within 5 s. Returns its length or -errno. */
static int read_line(int fd, char *buf, size_t sz)
{
	size_t n = 0;

	while (n + 1 < sz) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, 5000) <= 0)
			return -ETIMEDOUT;
		r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ECONNRESET;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return (int)n;
		}
		n++;
	}
	return -EMSGSIZE;
}

static void serve_one(struct control *c, int fd)
{
	char line[CONTROL_MAX_LINE];
	int rc = read_line(fd, line, sizeof(line));
	const char *reply;

	if (rc >= 0 && rc > 0 && line[rc - 1] == '\r')
		line[rc - 1] = '\0';
	reply = rc >= 0 && c->fn(line, c->arg) == 0 ? "ok\n" : "bad request\n";
	/* Only "stop" is answered by the exit (EOF once the daemon is gone); every other
	 * command is done once answered, so its client must not wait for the exit. */
	if (fsutil_write_all(fd, reply, strlen(reply)) < 0 || c->nheld == CONTROL_MAX_HELD ||
	    reply[0] != 'o' || strcmp(line, "stop") != 0) {
		close(fd);
		return;
	}
	c->held[c->nheld++] = fd;
}

static void *accept_main(void *arg)
{
	struct control *c = arg;

	for (;;) {
		struct pollfd p[2] = {{.fd = c->fd, .events = POLLIN},
				      {.fd = c->wake[0], .events = POLLIN}};
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			serve_one(c, fd);
	}
	return NULL;
}

int control_start(const char *path, control_fn fn, void *arg, struct control **out)
{
	struct sockaddr_un sa;
	struct control *c;
	int rc;

	*out = NULL;
	rc = make_addr(path, &sa);
	if (rc < 0)
		return rc;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->fn = fn;
	c->arg = arg;
	c->wake[0] = c->wake[1] = -1;
	c->path = strdup(path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->path == NULL || c->fd < 0 || pipe2(c->wake, O_CLOEXEC) < 0) {
		rc = c->path == NULL ? -ENOMEM : -errno;
		goto out_free;
	}
	unlink(path);
	if (bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 ||
	    listen(c->fd, 8) < 0) {
		rc = -errno;
		goto out_free;
	}
	if (pthread_create(&c->thread, NULL, accept_main, c) != 0) {
		rc = -EAGAIN;
		unlink(path);
		goto out_free;
	}
	*out = c;
	return 0;

out_free:
	if (c->fd >= 0)
		close(c->fd);
	if (c->wake[0] >= 0) {
		close(c->wake[0]);
		close(c->wake[1]);
	}
	free(c->path);
	free(c);
	return rc;
}

void control_stop(struct control *c)
{
	if (c == NULL)
		return;
	(void)!write(c->wake[1], "x", 1);
	pthread_join(c->thread, NULL);
	close(c->fd);
	close(c->wake[0]);
	close(c->wake[1]);
	unlink(c->path);
	for (size_t i = 0; i < c->nheld; i++)
		close(c->held[i]);
	free(c->path);
	free(c);
}

int control_send(const char *path, const char *command, char *err, size_t errsz)
{
	struct sockaddr_un sa;
	char reply[64];
	size_t n = 0;
	int fd, rc;

	rc = make_addr(path, &sa);
	if (rc < 0) {
		snprintf(err, errsz, "Error connecting to: %s: %s", path, strerror(-rc));
		return rc;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		snprintf(err, errsz, "Error connecting to: %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	rc = fsutil_write_all(fd, command, strlen(command));
	if (rc == 0)
		rc = fsutil_write_all(fd, "\n", 1);
	/* Read the reply, then wait for EOF: the daemon closes when it is done. */
	while (rc == 0) {
		char buf[64];
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r && n + 1 < sizeof(reply); i++)
			reply[n++] = buf[i];
	}
	close(fd);
	reply[n] = '\0';
	if (rc < 0) {
		snprintf(err, errsz, "Error writing to: %s: %s", path, strerror(-rc));
		return rc;
	}
	if (strcmp(reply, "ok\n") == 0)
		return 0;
	snprintf(err, errsz, "%s: %s", path, n ? "bad request" : "no reply");
	return -EINVAL;
}
