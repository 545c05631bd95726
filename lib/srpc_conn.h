/* srpc_conn: internals of the SRPC message stream shared by srpc_server.c and
 * srpc_client.c (not for other modules: use srpc.h). */
#ifndef SS_SRPC_CONN_H
#define SS_SRPC_CONN_H

#include <stdint.h>
#include <openssl/ssl.h>

#include "srpc.h"

#define SRPC_CONN_BUF 16384

struct srpc_conn {
	int fd;
	SSL *ssl; /* NULL on the unsecured path */
	size_t max_message;
	size_t rpos, rlen;
	size_t wlen;
	char errmsg[256]; /* last transport failure, for client messages */
	unsigned char rbuf[SRPC_CONN_BUF];
	unsigned char wbuf[SRPC_CONN_BUF];
};

/* Takes ownership of fd and ssl. NULL on allocation failure (then both are still the
 * caller's). */
struct srpc_conn *srpc_conn_new(int fd, SSL *ssl, size_t max_message);

/* Sends close_notify (best effort), closes the socket and frees. Accepts NULL. */
void srpc_conn_free(struct srpc_conn *c);

/* Milliseconds since an arbitrary epoch (CLOCK_MONOTONIC). */
int64_t srpc_now_ms(void);

/* Reads an HTTP header (through the blank line) byte by byte, so nothing after it is
 * consumed, before deadline_ms. Returns its length (NUL-terminated in buf), -ETIMEDOUT,
 * -EMSGSIZE, -ECONNRESET, -errno. */
ssize_t srpc_read_header(int fd, char *buf, size_t sz, int64_t deadline_ms);

/* Writes all of buf to a plain socket (MSG_NOSIGNAL). 0 or -errno. */
int srpc_send_all(int fd, const void *buf, size_t len);

/* TLS handshake on a blocking socket, bounded by deadline_ms (the socket is switched to
 * non-blocking for the duration). 0, -ETIMEDOUT, -EPROTO (OpenSSL error queue holds the
 * reason), -errno. */
int srpc_ssl_handshake(SSL *ssl, int fd, bool server, int64_t deadline_ms);

#endif
