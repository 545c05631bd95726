/* srpc_conn: the buffered message stream of one SRPC connection (plain or TLS), shared
 * by server handlers and clients: exact JSON message framing, raw bytes, lines. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>

#include "srpc_conn.h"
#include "srpc_wire.h"

int64_t srpc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct srpc_conn *srpc_conn_new(int fd, SSL *ssl, size_t max_message)
{
	struct srpc_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->fd = fd;
	c->ssl = ssl;
	c->max_message = max_message != 0 ? max_message : SRPC_DEFAULT_MAX_MESSAGE;
	return c;
}

void srpc_conn_free(struct srpc_conn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	close(c->fd);
	free(c);
}

int srpc_conn_fd(const struct srpc_conn *c)
{
	return c->fd;
}

bool srpc_conn_pending(const struct srpc_conn *c)
{
	return c->rpos < c->rlen || (c->ssl != NULL && SSL_pending(c->ssl) > 0);
}

int srpc_conn_set_timeout(struct srpc_conn *c, int ms)
{
	struct timeval tv = {.tv_sec = ms > 0 ? ms / 1000 : 0,
			     .tv_usec = ms > 0 ? (ms % 1000) * 1000 : 0};

	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

static int ssl_failure(struct srpc_conn *c, int ret, const char *op)
{
	int e = SSL_get_error(c->ssl, ret), saved = errno;
	unsigned long q = ERR_peek_last_error();

	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ||
	    (e == SSL_ERROR_SYSCALL && (saved == EAGAIN || saved == EWOULDBLOCK))) {
		snprintf(c->errmsg, sizeof(c->errmsg), "%s: timed out", op);
		return -ETIMEDOUT;
	}
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	if (e == SSL_ERROR_SYSCALL && q == 0) {
		if (saved == 0)
			return 0; /* EOF without close_notify */
		snprintf(c->errmsg, sizeof(c->errmsg), "%s: %s", op, strerror(saved));
		return saved == EPIPE || saved == ECONNRESET ? -ECONNRESET : -EIO;
	}
	if (q != 0) {
		char buf[200];

		ERR_error_string_n(q, buf, sizeof(buf));
		snprintf(c->errmsg, sizeof(c->errmsg), "%s: %s", op, buf);
	} else {
		snprintf(c->errmsg, sizeof(c->errmsg), "%s: TLS error %d", op, e);
	}
	ERR_clear_error();
	return -EPROTO;
}

/* One read from the socket into buf: count, 0 on EOF, -errno. */
static ssize_t raw_read(struct srpc_conn *c, void *buf, size_t n)
{
	if (c->ssl != NULL) {
		size_t got;
		int r;

		ERR_clear_error();
		errno = 0;
		r = SSL_read_ex(c->ssl, buf, n, &got);
		if (r == 1)
			return (ssize_t)got;
		return ssl_failure(c, r, "read");
	}
	for (;;) {
		ssize_t r = recv(c->fd, buf, n, 0);

		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			snprintf(c->errmsg, sizeof(c->errmsg), "read: timed out");
			return -ETIMEDOUT;
		}
		snprintf(c->errmsg, sizeof(c->errmsg), "read: %s", strerror(errno));
		return -errno;
	}
}

static int raw_write(struct srpc_conn *c, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	while (n > 0) {
		size_t done;

		if (c->ssl != NULL) {
			int r;

			ERR_clear_error();
			errno = 0;
			r = SSL_write_ex(c->ssl, p, n, &done);
			if (r != 1) {
				r = ssl_failure(c, r, "write");
				return r != 0 ? r : -ECONNRESET;
			}
		} else {
			ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				int e = errno == EAGAIN ? ETIMEDOUT : errno;

				snprintf(c->errmsg, sizeof(c->errmsg), "write: %s", strerror(e));
				return -e;
			}
			done = (size_t)r;
		}
		p += done;
		n -= done;
	}
	return 0;
}

/* Refills an empty read buffer: count, 0 on EOF, -errno. */
static ssize_t fill(struct srpc_conn *c)
{
	ssize_t r;

	c->rpos = c->rlen = 0;
	r = raw_read(c, c->rbuf, sizeof(c->rbuf));
	if (r > 0)
		c->rlen = (size_t)r;
	return r;
}

int srpc_conn_read(struct srpc_conn *c, void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		size_t k;

		if (c->rpos == c->rlen) {
			ssize_t r;

			/* Large reads bypass the buffer. */
			if (len >= sizeof(c->rbuf)) {
				r = raw_read(c, p, len);
				if (r <= 0)
					return r == 0 ? -ECONNRESET : (int)r;
				p += r;
				len -= (size_t)r;
				continue;
			}
			r = fill(c);
			if (r <= 0)
				return r == 0 ? -ECONNRESET : (int)r;
		}
		k = c->rlen - c->rpos < len ? c->rlen - c->rpos : len;
		memcpy(p, c->rbuf + c->rpos, k);
		c->rpos += k;
		p += k;
		len -= k;
	}
	return 0;
}

ssize_t srpc_conn_read_some(struct srpc_conn *c, void *buf, size_t max)
{
	size_t k;

	if (max == 0)
		return 0;
	if (c->rpos == c->rlen) {
		if (max >= sizeof(c->rbuf))
			return raw_read(c, buf, max);
		ssize_t r = fill(c);

		if (r <= 0)
			return r;
	}
	k = c->rlen - c->rpos < max ? c->rlen - c->rpos : max;
	memcpy(buf, c->rbuf + c->rpos, k);
	c->rpos += k;
	return (ssize_t)k;
}

ssize_t srpc_conn_read_line(struct srpc_conn *c, char *buf, size_t sz)
{
	size_t n = 0;

	for (;;) {
		unsigned char *nl;
		size_t avail, k;

		if (c->rpos == c->rlen) {
			ssize_t r = fill(c);

			if (r <= 0)
				return r == 0 ? -ECONNRESET : r;
		}
		avail = c->rlen - c->rpos;
		nl = memchr(c->rbuf + c->rpos, '\n', avail);
		k = nl != NULL ? (size_t)(nl - (c->rbuf + c->rpos)) : avail;
		if (n + k + 1 > sz)
			return -EMSGSIZE;
		memcpy(buf + n, c->rbuf + c->rpos, k);
		/* A C string cannot hold a NUL: "Hypervisor.ListVMs\0junk" would read as
		 * ListVMs. SUB keeps the line whole and is a control byte parsers refuse. */
		for (size_t i = n; i < n + k; i++)
			if (buf[i] == '\0')
				buf[i] = 0x1a;
		n += k;
		c->rpos += k;
		if (nl != NULL) {
			c->rpos++;
			buf[n] = '\0';
			return (ssize_t)n;
		}
	}
}

/* Consumes the single '\n' that ends a message, if it is there. */
static int eat_newline(struct srpc_conn *c)
{
	if (c->rpos == c->rlen) {
		ssize_t r = fill(c);

		if (r < 0)
			return (int)r;
		if (r == 0)
			return 0;
	}
	if (c->rbuf[c->rpos] == '\n')
		c->rpos++;
	return 0;
}

static int grow(unsigned char **msg, size_t *cap, size_t need, size_t max)
{
	size_t ncap = *cap != 0 ? *cap : 4096;
	unsigned char *n;

	while (ncap < need)
		ncap *= 2;
	if (ncap > max + 1)
		ncap = max + 1;
	if (ncap == *cap)
		return 0;
	n = realloc(*msg, ncap);
	if (n == NULL)
		return -ENOMEM;
	*msg = n;
	*cap = ncap;
	return 0;
}

static int decode(const unsigned char *p, size_t n, json_t **out)
{
	json_error_t jerr;

	*out = json_loadb((const char *)p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	return *out != NULL ? 0 : -EBADMSG;
}

int srpc_conn_read_json(struct srpc_conn *c, json_t **out)
{
	struct srpc_frame f;
	unsigned char *msg = NULL;
	size_t len = 0, cap = 0;
	int rc;

	*out = NULL;
	srpc_frame_init(&f);
	for (;;) {
		size_t used;
		int fr;

		if (c->rpos == c->rlen) {
			ssize_t r = fill(c);

			if (r < 0) {
				rc = (int)r;
				goto out_free;
			}
			if (r == 0) {
				rc = len > 0 && srpc_frame_eof(&f) == SRPC_FRAME_DONE
					 ? decode(msg, len, out)
					 : -ECONNRESET;
				goto out_free;
			}
		}
		fr = srpc_frame_feed(&f, c->rbuf + c->rpos, c->rlen - c->rpos, &used);
		if (fr < 0) {
			snprintf(c->errmsg, sizeof(c->errmsg), "message is not JSON");
			rc = -EPROTO;
			goto out_free;
		}
		if (len + used > c->max_message) {
			snprintf(c->errmsg, sizeof(c->errmsg), "message larger than %zu bytes",
				 c->max_message);
			rc = -EMSGSIZE;
			goto out_free;
		}
		if (fr == SRPC_FRAME_DONE && len == 0) {
			/* The common case: the whole message is in the read buffer. */
			rc = decode(c->rbuf + c->rpos, used, out);
			c->rpos += used;
			break;
		}
		if ((rc = grow(&msg, &cap, len + used, c->max_message)) < 0)
			goto out_free;
		memcpy(msg + len, c->rbuf + c->rpos, used);
		len += used;
		c->rpos += used;
		if (fr == SRPC_FRAME_DONE) {
			rc = decode(msg, len, out);
			break;
		}
	}
	free(msg);
	if (rc == -EBADMSG)
		snprintf(c->errmsg, sizeof(c->errmsg), "message is not valid JSON");
	if (rc == 0 || rc == -EBADMSG) {
		int r = eat_newline(c);

		if (r < 0 && rc == 0) {
			json_decref(*out);
			*out = NULL;
			rc = r;
		}
	}
	return rc;
out_free:
	free(msg);
	return rc;
}

int srpc_conn_write(struct srpc_conn *c, const void *buf, size_t len)
{
	int rc;

	if (c->wlen + len <= sizeof(c->wbuf)) {
		memcpy(c->wbuf + c->wlen, buf, len);
		c->wlen += len;
		return 0;
	}
	if ((rc = srpc_conn_flush(c)) < 0)
		return rc;
	if (len >= sizeof(c->wbuf))
		return raw_write(c, buf, len);
	memcpy(c->wbuf, buf, len);
	c->wlen = len;
	return 0;
}

int srpc_conn_flush(struct srpc_conn *c)
{
	int rc;

	if (c->wlen == 0)
		return 0;
	rc = raw_write(c, c->wbuf, c->wlen);
	c->wlen = 0;
	return rc;
}

static int dump_cb(const char *buf, size_t size, void *data)
{
	return srpc_conn_write(data, buf, size) < 0 ? -1 : 0;
}

int srpc_conn_write_json(struct srpc_conn *c, const json_t *msg)
{
	if (json_dump_callback(msg, dump_cb, c, JSON_COMPACT | JSON_ENCODE_ANY) < 0)
		return c->errmsg[0] != '\0' ? -EIO : -EINVAL;
	return srpc_conn_write(c, "\n", 1);
}

ssize_t srpc_read_header(int fd, char *buf, size_t sz, int64_t deadline_ms)
{
	size_t n = 0;

	while (n + 1 < sz) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left = deadline_ms - srpc_now_ms();
		ssize_t r;
		int pr;

		if (left <= 0)
			return -ETIMEDOUT;
		pr = poll(&pfd, 1, (int)(left > 60000 ? 60000 : left));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return -errno;
		if (pr == 0)
			continue;
		r = recv(fd, buf + n, 1, MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ECONNRESET;
		n++;
		buf[n] = '\0';
		if (buf[n - 1] == '\n' && srpc_wire_header_end(buf, n) == n)
			return (ssize_t)n;
	}
	return -EMSGSIZE;
}

int srpc_send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t r = send(fd, p, len, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

int srpc_ssl_handshake(SSL *ssl, int fd, bool server, int64_t deadline_ms)
{
	int flags = fcntl(fd, F_GETFL), rc;

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	SSL_set_fd(ssl, fd);
	for (;;) {
		struct pollfd pfd = {.fd = fd};
		int64_t left;
		int r, e;

		ERR_clear_error();
		r = server ? SSL_accept(ssl) : SSL_connect(ssl);
		if (r == 1) {
			rc = 0;
			break;
		}
		e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			pfd.events = POLLIN;
		else if (e == SSL_ERROR_WANT_WRITE)
			pfd.events = POLLOUT;
		else {
			rc =
			    e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 ? -ECONNRESET : -EPROTO;
			break;
		}
		left = deadline_ms - srpc_now_ms();
		if (left <= 0) {
			rc = -ETIMEDOUT;
			break;
		}
		if (poll(&pfd, 1, (int)(left > 60000 ? 60000 : left)) < 0 && errno != EINTR) {
			rc = -errno;
			break;
		}
	}
	if (fcntl(fd, F_SETFL, flags) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

int srpc_conn_relay(struct srpc_conn *c, int fd)
{
	char buf[16384];

	for (;;) {
		struct pollfd p[2] = {{.fd = srpc_conn_fd(c), .events = POLLIN},
				      {.fd = fd, .events = POLLIN}};
		ssize_t n;

		if (!srpc_conn_pending(c) && poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (srpc_conn_pending(c) || p[0].revents) {
			n = srpc_conn_read_some(c, buf, sizeof(buf));
			if (n <= 0)
				return 0;
			for (ssize_t off = 0, w; off < n; off += w) {
				w = write(fd, buf + off, (size_t)(n - off));
				if (w < 0 && errno == EINTR)
					w = 0;
				else if (w <= 0)
					return 1;
			}
		}
		if (p[1].revents) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0)
				return 1;
			if (srpc_conn_write(c, buf, (size_t)n) < 0 || srpc_conn_flush(c) < 0)
				return 0;
		}
	}
}
