/* Unit tests of the GetBlocks exchange (rsync.c): the block order and message forms
 * the Go code uses, and both sides run against each other over a socketpair with
 * temporary files: full copies, deltas, a copy whose every block differs (hashes
 * and blocks interleave without deadlock), refusals and a hostile server. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "rsync.h"
#include "srpc_conn.h"

static void test_block_order(void **state)
{
	(void)state;
	assert_int_equal(rsync_block_order(0), 9);
	assert_int_equal(rsync_block_order(4096), 9);	  /* 12 >> 1 = 6 -> 9 */
	assert_int_equal(rsync_block_order(1 << 20), 10); /* 1 MiB */
	assert_int_equal(rsync_block_order((1 << 20) + 1), 10);
	assert_int_equal(rsync_block_order(1ULL << 30), 15);  /* 1 GiB: 32 KiB blocks */
	assert_int_equal(rsync_block_order(10ULL << 30), 16); /* 10 GiB */
	assert_int_equal(rsync_block_order(UINT64_MAX), 31);
}

static void test_messages(void **state)
{
	char err[64];
	uint64_t n, i, s;
	unsigned o;
	json_t *j;
	char *txt;

	(void)state;
	/* What the Go client's JSON encoder writes for GetBlocksRequest{13, 0}. */
	j = rsync_request_json(13, 0);
	txt = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(txt, "{\"BlockOrder\":13,\"NumBlocks\":0}");
	free(txt);
	json_decref(j);
	j = rsync_block_json(NULL, 7, 8192);
	txt = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(txt, "{\"Error\":\"\",\"Index\":7,\"Size\":8192}");
	free(txt);
	json_decref(j);

	j = json_loads("{\"blockorder\":9,\"NUMBLOCKS\":3}", 0, NULL);
	assert_int_equal(rsync_request_parse(j, &o, &n), 0);
	assert_int_equal(o, 9);
	assert_int_equal(n, 3);
	json_decref(j);
	j = json_loads("{}", 0, NULL);
	assert_int_equal(rsync_request_parse(j, &o, &n), 0);
	assert_int_equal(o, 0);
	json_decref(j);
	j = json_loads("{\"BlockOrder\":-1}", 0, NULL);
	assert_int_equal(rsync_request_parse(j, &o, &n), -EINVAL);
	json_decref(j);
	j = json_loads("{\"BlockOrder\":\"9\"}", 0, NULL);
	assert_int_equal(rsync_request_parse(j, &o, &n), -EINVAL);
	json_decref(j);
	j = json_loads("[1]", 0, NULL);
	assert_int_equal(rsync_request_parse(j, &o, &n), -EINVAL);
	json_decref(j);

	j = json_loads("{\"Error\":\"bad block order\",\"Index\":0,\"Size\":0}", 0, NULL);
	assert_int_equal(rsync_block_parse(j, err, sizeof(err), &i, &s), 0);
	assert_string_equal(err, "bad block order");
	json_decref(j);
	j = json_loads("{\"Error\":5}", 0, NULL);
	assert_int_equal(rsync_block_parse(j, err, sizeof(err), &i, &s), -EINVAL);
	json_decref(j);
}

/* ---- the exchange over a socketpair ---- */

struct server {
	struct srpc_conn *c;
	int fd;
	uint64_t length;
	int rc;
	char err[256];
	const char *raw; /* instead of serving: send these bytes */
};

static void *serve(void *arg)
{
	struct server *s = arg;

	if (s->raw != NULL) {
		s->rc = srpc_conn_write(s->c, s->raw, strlen(s->raw));
		if (s->rc == 0)
			s->rc = srpc_conn_flush(s->c);
		return NULL;
	}
	s->rc = rsync_serve_blocks(s->c, s->fd, s->length, s->err, sizeof(s->err));
	return NULL;
}

static int tmpfile_with(const unsigned char *data, size_t len)
{
	char path[] = "/tmp/test_rsync.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	if (len > 0)
		assert_int_equal(pwrite(fd, data, len, 0), (ssize_t)len);
	return fd;
}

static unsigned char *random_bytes(size_t len, unsigned seed)
{
	unsigned char *p = malloc(len ? len : 1);

	srand(seed);
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(rand() >> 7);
	return p;
}

static void assert_file_is(int fd, const unsigned char *want, size_t len)
{
	unsigned char *got = malloc(len ? len : 1);
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal((size_t)st.st_size, len);
	assert_int_equal(pread(fd, got, len, 0), (ssize_t)len);
	assert_memory_equal(got, want, len);
	free(got);
}

/* Runs one exchange: source (len bytes) served; the client's earlier copy (old_len
 * bytes of old, or none) is both reader and writer. Returns the client's rc. */
static int exchange(const unsigned char *src, size_t len, const unsigned char *old, size_t old_len,
		    bool with_reader, const char *raw, struct rsync_stats *st, int *out_fd,
		    char *err, size_t errsz)
{
	struct server s = {.length = len, .raw = raw};
	int sv[2], rc;
	pthread_t t;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	s.c = srpc_conn_new(sv[0], NULL, 1 << 20);
	s.fd = tmpfile_with(src, len);
	struct srpc_conn *c = srpc_conn_new(sv[1], NULL, 1 << 20);
	int local = tmpfile_with(old, old_len);

	assert_non_null(s.c);
	assert_non_null(c);
	assert_int_equal(pthread_create(&t, NULL, serve, &s), 0);
	memset(st, 0, sizeof(*st));
	rc = rsync_get_blocks(c, with_reader ? local : -1, local, len, old_len, st, err, errsz);
	srpc_conn_free(c); /* unblocks a server waiting for hashes */
	pthread_join(t, NULL);
	srpc_conn_free(s.c);
	close(s.fd);
	*out_fd = local;
	return rc;
}

static void test_full_copy(void **state)
{
	size_t len = (1 << 20) + 123;
	unsigned char *src = random_bytes(len, 1);
	struct rsync_stats st;
	char err[256];
	int fd;

	(void)state;
	assert_int_equal(exchange(src, len, NULL, 0, false, NULL, &st, &fd, err, sizeof(err)), 0);
	assert_file_is(fd, src, len);
	assert_int_equal(st.nwritten, 0);
	assert_int_equal(st.nread, len); /* one tail block: the whole volume */
	assert_int_equal(st.nblocks, 1);
	close(fd);
	free(src);
}

static void test_delta(void **state)
{
	size_t len = (1 << 20) + 4000, bs = 1 << rsync_block_order(len);
	unsigned char *src = random_bytes(len, 2), *old = malloc(len);
	struct rsync_stats st;
	char err[256];
	int fd;

	(void)state;
	memcpy(old, src, len);
	old[5] ^= 1;		   /* block 0 */
	old[bs * 100 + 7] ^= 0xff; /* block 100 */
	assert_int_equal(exchange(src, len, old, len, true, NULL, &st, &fd, err, sizeof(err)), 0);
	assert_file_is(fd, src, len);
	/* Two blocks and the part past the last whole block (4000 % bs bytes). */
	assert_int_equal(st.nblocks, 3);
	assert_int_equal(st.nread, 2 * bs + len % bs);
	assert_int_equal(st.nwritten, (len / bs) * RSYNC_HASH_LEN);
	close(fd);
	free(src);
	free(old);
}

/* Every block differs and the hashes (256 KiB) exceed the socket buffers while blocks
 * (8 MiB) come back: the client must read blocks while it still sends hashes. */
static void test_everything_differs(void **state)
{
	size_t len = 8 << 20;
	unsigned char *src = random_bytes(len, 3), *old = random_bytes(len, 4);
	struct rsync_stats st;
	char err[256];
	int fd;

	(void)state;
	assert_int_equal(exchange(src, len, old, len, true, NULL, &st, &fd, err, sizeof(err)), 0);
	assert_file_is(fd, src, len);
	assert_int_equal(st.nread, len);
	close(fd);
	free(src);
	free(old);
}

/* A shorter earlier copy (the first pass of a migration stopped early): its whole
 * blocks are reused, the rest is sent as the tail. */
static void test_shorter_copy_and_sparse(void **state)
{
	size_t len = 3 << 20, bs = 1 << rsync_block_order(len);
	unsigned char *src = calloc(1, len);
	struct rsync_stats st;
	char err[256];
	struct stat sb;
	int fd;

	(void)state;
	memset(src, 'x', 10000); /* the rest is zeros: not written, left sparse */
	assert_int_equal(
	    exchange(src, len, src, bs * 3 + 17, true, NULL, &st, &fd, err, sizeof(err)), 0);
	assert_file_is(fd, src, len);
	assert_int_equal(st.nread, len - bs * 3);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_true((uint64_t)sb.st_blocks * 512 < len / 2);
	close(fd);
	free(src);
}

static void test_hostile_server(void **state)
{
	unsigned char src[16] = {0};
	struct rsync_stats st;
	char err[256];
	int fd;

	(void)state;
	/* A block far past the 16-byte volume. */
	assert_int_equal(exchange(src, sizeof(src), NULL, 0, false,
				  "{\"Error\":\"\",\"Index\":1000,\"Size\":4096}\n", &st, &fd, err,
				  sizeof(err)),
			 -EPROTO);
	assert_non_null(strstr(err, "beyond the volume"));
	close(fd);
	/* The server's refusal comes back as the error. */
	assert_int_equal(exchange(src, sizeof(src), NULL, 0, false,
				  "{\"Error\":\"bad block order\",\"Index\":0,\"Size\":0}\n", &st,
				  &fd, err, sizeof(err)),
			 -EREMOTEIO);
	assert_string_equal(err, "bad block order");
	close(fd);
	/* Not JSON. */
	assert_int_equal(exchange(src, sizeof(src), NULL, 0, false, "\x01\x02garbage\n", &st, &fd,
				  err, sizeof(err)),
			 -EBADMSG);
	close(fd);
}

/* The server's refusals, seen from a client that sends the raw request. */
static void serve_raw_request(const char *req, uint64_t length, const char *want_reply, int want_rc)
{
	struct server s = {.length = length};
	char reply[256] = "";
	int sv[2];
	pthread_t t;
	ssize_t n;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	s.c = srpc_conn_new(sv[0], NULL, 1 << 20);
	s.fd = tmpfile_with(NULL, 0);
	assert_int_equal(pthread_create(&t, NULL, serve, &s), 0);
	assert_int_equal(write(sv[1], req, strlen(req)), (ssize_t)strlen(req));
	n = read(sv[1], reply, sizeof(reply) - 1);
	assert_true(n > 0);
	reply[n] = '\0';
	assert_string_equal(reply, want_reply);
	close(sv[1]);
	pthread_join(t, NULL);
	assert_int_equal(s.rc, want_rc);
	srpc_conn_free(s.c);
	close(s.fd);
}

static void test_server_refusals(void **state)
{
	(void)state;
	/* Bad order without hashes: refused, the connection stays usable. */
	serve_raw_request("{\"BlockOrder\":5,\"NumBlocks\":0}\n", 4096,
			  "{\"Error\":\"bad block order\",\"Index\":0,\"Size\":0}\n", 0);
	/* With hashes to follow: refused, then closed. */
	serve_raw_request("{\"BlockOrder\":40,\"NumBlocks\":2}\n", 4096,
			  "{\"Error\":\"bad block order\",\"Index\":0,\"Size\":0}\n", -EPROTO);
	/* More blocks than the volume has. */
	serve_raw_request("{\"BlockOrder\":9,\"NumBlocks\":9}\n", 4096,
			  "{\"Error\":\"too many blocks\",\"Index\":0,\"Size\":0}\n", -EPROTO);
	/* An empty volume: the tail block is the end. */
	serve_raw_request("{\"BlockOrder\":9,\"NumBlocks\":0}\n", 0,
			  "{\"Error\":\"\",\"Index\":0,\"Size\":0}\n", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_block_order),
	    cmocka_unit_test(test_messages),
	    cmocka_unit_test(test_full_copy),
	    cmocka_unit_test(test_delta),
	    cmocka_unit_test(test_everything_differs),
	    cmocka_unit_test(test_shorter_copy_and_sparse),
	    cmocka_unit_test(test_hostile_server),
	    cmocka_unit_test(test_server_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
