/* Dominator's GetBlocks exchange (see rsync.h). */
#include "rsync.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#define CHUNK ((size_t)1 << 20)
#define HASH_BATCH 64 /* hashes per write while blocks may come back: 4 KiB */

unsigned rsync_block_order(uint64_t total)
{
	unsigned order = 0;

	for (unsigned i = 0; i < 64; i++)
		if (total & ((uint64_t)1 << i))
			order = i;
	order >>= 1;
	if (order < RSYNC_MIN_ORDER)
		order = RSYNC_MIN_ORDER;
	if (order > RSYNC_MAX_ORDER)
		order = RSYNC_MAX_ORDER;
	return order;
}

json_t *rsync_request_json(unsigned order, uint64_t nblocks)
{
	return json_pack("{s:I,s:I}", "BlockOrder", (json_int_t)order, "NumBlocks",
			 (json_int_t)nblocks);
}

json_t *rsync_block_json(const char *error, uint64_t index, uint64_t size)
{
	return json_pack("{s:s,s:I,s:I}", "Error", error != NULL ? error : "", "Index",
			 (json_int_t)index, "Size", (json_int_t)size);
}

/* Go's decoder matches field names case-insensitively. */
static const json_t *field(const json_t *j, const char *name)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)j, key, v) if (strcasecmp(key, name) == 0) return v;
	return NULL;
}

static int get_u64(const json_t *j, const char *name, uint64_t max, uint64_t *out)
{
	const json_t *v = field(j, name);

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return -EINVAL;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

int rsync_request_parse(const json_t *j, unsigned *order, uint64_t *nblocks)
{
	uint64_t o;

	if (!json_is_object(j) || get_u64(j, "BlockOrder", 255, &o) < 0 ||
	    get_u64(j, "NumBlocks", UINT64_MAX, nblocks) < 0)
		return -EINVAL;
	*order = (unsigned)o;
	return 0;
}

int rsync_block_parse(const json_t *j, char *err, size_t errsz, uint64_t *index, uint64_t *size)
{
	const json_t *e;

	if (errsz > 0)
		err[0] = '\0';
	if (!json_is_object(j) || get_u64(j, "Index", UINT64_MAX, index) < 0 ||
	    get_u64(j, "Size", UINT64_MAX, size) < 0)
		return -EINVAL;
	e = field(j, "Error");
	if (e != NULL && !json_is_null(e) && !json_is_string(e))
		return -EINVAL;
	if (e != NULL && json_is_string(e) && errsz > 0)
		snprintf(err, errsz, "%s", json_string_value(e));
	return 0;
}

/* ---- file helpers ---- */

/* Reads len bytes at off; what lies past the end of the file reads as zeros. */
static int pread_zero(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			memset((char *)buf + done, 0, len - done);
			break;
		}
		done += (size_t)n;
	}
	return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

/* SHA-512 of len bytes of fd at off into md. */
static int hash_range(int fd, uint64_t off, uint64_t len, unsigned char *buf,
		      unsigned char md[RSYNC_HASH_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned mdlen = 0;
	int rc = 0;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return -ENOMEM;
	}
	for (uint64_t done = 0; rc == 0 && done < len;) {
		size_t n = len - done < CHUNK ? (size_t)(len - done) : CHUNK;

		rc = pread_zero(fd, buf, n, off + done);
		if (rc == 0 && EVP_DigestUpdate(ctx, buf, n) != 1)
			rc = -EIO;
		done += n;
	}
	if (rc == 0 && (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != RSYNC_HASH_LEN))
		rc = -EIO;
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* ---- server ---- */

static int send_block(struct srpc_conn *c, const char *error, uint64_t index, uint64_t size)
{
	json_t *j = rsync_block_json(error, index, size);
	int rc;

	if (j == NULL)
		return -ENOMEM;
	rc = srpc_conn_write_json(c, j);
	json_decref(j);
	return rc;
}

/* Sends len bytes of fd from off as raw data. */
static int send_range(struct srpc_conn *c, int fd, uint64_t off, uint64_t len, unsigned char *buf)
{
	int rc = 0;

	for (uint64_t done = 0; rc == 0 && done < len;) {
		size_t n = len - done < CHUNK ? (size_t)(len - done) : CHUNK;

		rc = pread_zero(fd, buf, n, off + done);
		if (rc == 0)
			rc = srpc_conn_write(c, buf, n);
		done += n;
	}
	return rc;
}

/* A refusal the client reads as the exchange's error. */
static int refuse(struct srpc_conn *c, const char *text, bool close_after, char *err, size_t errsz)
{
	int rc = send_block(c, text, 0, 0);

	if (rc == 0)
		rc = srpc_conn_flush(c);
	snprintf(err, errsz, "%s", text);
	return rc < 0 ? rc : close_after ? -EPROTO : 0;
}

int rsync_serve_blocks(struct srpc_conn *c, int fd, uint64_t length, char *err, size_t errsz)
{
	unsigned char local[RSYNC_HASH_LEN], remote[RSYNC_HASH_LEN], *buf;
	uint64_t nblocks = 0, bs, index, tail;
	unsigned order = 0;
	json_t *req = NULL;
	int rc;

	rc = srpc_conn_read_json(c, &req);
	if (rc < 0) {
		snprintf(err, errsz, "reading GetBlocksRequest: %s", strerror(-rc));
		return rc;
	}
	rc = rsync_request_parse(req, &order, &nblocks);
	json_decref(req);
	if (rc < 0) {
		snprintf(err, errsz, "malformed GetBlocksRequest");
		return -EPROTO;
	}
	if (order < RSYNC_MIN_ORDER || order > RSYNC_MAX_ORDER)
		return refuse(c, "bad block order", nblocks > 0, err, errsz);
	if (nblocks > length >> order)
		return refuse(c, "too many blocks", true, err, errsz);
	bs = (uint64_t)1 << order;
	buf = malloc(CHUNK);
	if (buf == NULL) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	for (index = 0; rc == 0 && index < nblocks; index++) {
		rc = hash_range(fd, index << order, bs, buf, local);
		if (rc < 0) {
			snprintf(err, errsz, "reading block %llu: %s", (unsigned long long)index,
				 strerror(-rc));
			break;
		}
		/* About to wait for the client: what is buffered must reach it first (it
		 * may be reading a block it needs before it sends more hashes). */
		if (!srpc_conn_pending(c))
			rc = srpc_conn_flush(c);
		if (rc == 0)
			rc = srpc_conn_read(c, remote, sizeof(remote));
		if (rc < 0) {
			snprintf(err, errsz, "reading hash %llu: %s", (unsigned long long)index,
				 strerror(-rc));
			break;
		}
		if (memcmp(local, remote, sizeof(local)) == 0)
			continue;
		rc = send_block(c, NULL, index, bs);
		if (rc == 0)
			rc = send_range(c, fd, index << order, bs, buf);
		if (rc < 0)
			snprintf(err, errsz, "sending block %llu: %s", (unsigned long long)index,
				 strerror(-rc));
	}
	tail = length - (nblocks << order);
	if (rc == 0)
		rc = send_block(c, NULL, nblocks, tail);
	if (rc == 0 && tail > 0) {
		rc = send_range(c, fd, nblocks << order, tail, buf);
		if (rc == 0)
			rc = send_block(c, NULL, 0, 0);
	}
	if (rc == 0)
		rc = srpc_conn_flush(c);
	if (rc < 0 && err[0] == '\0')
		snprintf(err, errsz, "sending blocks: %s", strerror(-rc));
	free(buf);
	return rc;
}

/* ---- client ----
 * The server may leave the end of a block (or a Block message) in its buffer while it
 * waits for the next hash, so while hashes remain the client never waits inside a
 * block: it reads what is there (a Block message byte by byte, data in chunks) and
 * goes back to sending hashes when the socket is writable. */

#define HEADER_MAX 65536

struct getter {
	struct srpc_conn *c;
	int writer;
	uint64_t total, writer_size, end;
	unsigned order;
	unsigned char *buf;
	struct rsync_stats *st;
	char *err;
	size_t errsz;
	/* the message or block being received */
	char *hdr;
	size_t hlen;
	uint64_t index, off, left; /* data of the current block: left bytes at off */
	bool in_data, done;
};

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* A whole Block message is in g->hdr. */
static int got_header(struct getter *g)
{
	uint64_t index, size;
	char rerr[1024];
	json_error_t je;
	json_t *j = json_loadb(g->hdr, g->hlen, JSON_DISABLE_EOF_CHECK, &je);
	int rc;

	g->hlen = 0;
	if (j == NULL) {
		snprintf(g->err, g->errsz, "error decoding block: %s", je.text);
		return -EBADMSG;
	}
	rc = rsync_block_parse(j, rerr, sizeof(rerr), &index, &size);
	json_decref(j);
	if (rc < 0) {
		snprintf(g->err, g->errsz, "error decoding block: malformed Block");
		return -EPROTO;
	}
	if (rerr[0] != '\0') {
		snprintf(g->err, g->errsz, "%s", rerr);
		return -EREMOTEIO;
	}
	if (size == 0) {
		g->done = true;
		return 0;
	}
	if (index > (UINT64_MAX >> g->order) || (index << g->order) > g->total ||
	    size > g->total - (index << g->order)) {
		snprintf(g->err, g->errsz, "block %llu of %llu bytes lies beyond the volume's %llu",
			 (unsigned long long)index, (unsigned long long)size,
			 (unsigned long long)g->total);
		return -EPROTO;
	}
	g->index = index;
	g->off = index << g->order;
	g->left = size;
	g->in_data = true;
	if (g->st != NULL)
		g->st->nblocks++;
	return 0;
}

/* One read of what has arrived: a byte of a Block message, or a piece of data. With
 * whole, a whole data chunk (the caller may wait). */
static int step(struct getter *g, bool whole)
{
	ssize_t n;
	int rc = 0;

	if (!g->in_data) {
		n = srpc_conn_read_some(g->c, g->hdr + g->hlen, 1);
		if (n <= 0) {
			snprintf(g->err, g->errsz, "error decoding block: %s",
				 n == 0 ? "unexpected EOF" : strerror((int)-n));
			return n == 0 ? -ECONNRESET : (int)n;
		}
		if (g->hdr[g->hlen++] == '\n')
			return got_header(g);
		if (g->hlen == HEADER_MAX) {
			snprintf(g->err, g->errsz, "error decoding block: message too long");
			return -EMSGSIZE;
		}
		return 0;
	}
	size_t want = g->left < CHUNK ? (size_t)g->left : CHUNK;

	if (whole) {
		rc = srpc_conn_read(g->c, g->buf, want);
		n = rc < 0 ? rc : (ssize_t)want;
	} else {
		n = srpc_conn_read_some(g->c, g->buf, want);
	}
	if (n <= 0) {
		snprintf(g->err, g->errsz, "reading block %llu: %s", (unsigned long long)g->index,
			 n == 0 ? "unexpected EOF" : strerror((int)-n));
		return n == 0 ? -ECONNRESET : (int)n;
	}
	if (g->off < g->writer_size || !all_zero(g->buf, (size_t)n))
		rc = pwrite_all(g->writer, g->buf, (size_t)n, g->off);
	if (rc < 0) {
		snprintf(g->err, g->errsz, "writing at %llu: %s", (unsigned long long)g->off,
			 strerror(-rc));
		return rc;
	}
	g->off += (uint64_t)n;
	g->left -= (uint64_t)n;
	if (g->st != NULL)
		g->st->nread += (uint64_t)n;
	if (g->off > g->end)
		g->end = g->off;
	if (g->left == 0)
		g->in_data = false;
	return 0;
}

/* Sends up to HASH_BATCH hashes from *next. */
static int send_hashes(struct getter *g, int reader, uint64_t *next, uint64_t nblocks,
		       unsigned char *hashbuf)
{
	uint64_t bs = (uint64_t)1 << g->order;
	size_t k = 0;
	int rc = 0;

	for (; k < HASH_BATCH && *next < nblocks; k++, (*next)++) {
		rc =
		    hash_range(reader, *next << g->order, bs, g->buf, hashbuf + k * RSYNC_HASH_LEN);
		if (rc < 0) {
			snprintf(g->err, g->errsz, "hashing local block %llu: %s",
				 (unsigned long long)*next, strerror(-rc));
			return rc;
		}
	}
	rc = srpc_conn_write(g->c, hashbuf, k * RSYNC_HASH_LEN);
	if (rc == 0)
		rc = srpc_conn_flush(g->c);
	if (rc < 0)
		snprintf(g->err, g->errsz, "sending hashes: %s", strerror(-rc));
	else if (g->st != NULL)
		g->st->nwritten += k * RSYNC_HASH_LEN;
	return rc;
}

/* While hashes remain: read what has arrived, else send the next batch. */
static int interleave(struct getter *g, int reader, uint64_t nblocks)
{
	unsigned char hashbuf[HASH_BATCH * RSYNC_HASH_LEN];
	uint64_t next = 0;
	int rc = 0;

	while (rc == 0 && !g->done && next < nblocks) {
		struct pollfd p = {.fd = srpc_conn_fd(g->c), .events = POLLIN | POLLOUT};

		if (!srpc_conn_pending(g->c) && poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(g->err, g->errsz, "poll: %s", strerror(errno));
			return -errno;
		}
		if (srpc_conn_pending(g->c) || (p.revents & (POLLIN | POLLHUP | POLLERR)))
			rc = step(g, false);
		else if (p.revents & POLLOUT)
			rc = send_hashes(g, reader, &next, nblocks, hashbuf);
	}
	if (rc == 0 && g->done && next < nblocks) {
		snprintf(g->err, g->errsz, "premature end of blocks");
		rc = -EPROTO;
	}
	return rc;
}

int rsync_get_blocks(struct srpc_conn *c, int reader_fd, int writer_fd, uint64_t total,
		     uint64_t reader_bytes, struct rsync_stats *st, char *err, size_t errsz)
{
	struct getter g = {
	    .c = c, .writer = writer_fd, .total = total, .st = st, .err = err, .errsz = errsz};
	uint64_t nblocks;
	struct stat sb;
	json_t *req;
	int rc;

	err[0] = '\0';
	g.order = rsync_block_order(total);
	if (reader_fd < 0)
		reader_bytes = 0;
	nblocks = reader_bytes >> g.order;
	if (fstat(writer_fd, &sb) < 0) {
		snprintf(err, errsz, "stat: %s", strerror(errno));
		return -errno;
	}
	g.writer_size = (uint64_t)sb.st_size;
	g.buf = malloc(CHUNK);
	g.hdr = malloc(HEADER_MAX);
	req = rsync_request_json(g.order, nblocks);
	if (g.buf == NULL || g.hdr == NULL || req == NULL) {
		free(g.buf);
		free(g.hdr);
		json_decref(req);
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	rc = srpc_conn_write_json(c, req);
	json_decref(req);
	if (rc == 0)
		rc = srpc_conn_flush(c);
	if (rc < 0)
		snprintf(err, errsz, "error encoding request: %s", strerror(-rc));
	if (rc == 0)
		rc = interleave(&g, reader_fd, nblocks);
	while (rc == 0 && !g.done)
		rc = step(&g, true);
	if (rc == 0 && g.end > g.writer_size && ftruncate(writer_fd, (off_t)g.end) < 0) {
		rc = -errno;
		snprintf(err, errsz, "extending to %llu bytes: %s", (unsigned long long)g.end,
			 strerror(errno));
	}
	free(g.buf);
	free(g.hdr);
	return rc;
}
