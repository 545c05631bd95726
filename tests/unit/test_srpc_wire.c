/* Unit tests of the SRPC wire parsers (srpc_wire.c) and of exact message framing on a
 * plain stream (srpc_conn.c over a socketpair). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "srpc_conn.h"
#include "srpc_wire.h"

static void test_header_end(void **state)
{
	(void)state;
	assert_int_equal(srpc_wire_header_end("CONNECT / HTTP/1.0\n\n", 20), 20);
	assert_int_equal(srpc_wire_header_end("CONNECT / HTTP/1.0\r\n\r\nXYZ", 25), 22);
	assert_int_equal(srpc_wire_header_end("CONNECT / HTTP/1.0\r\nA: b\r\n\r\n", 28), 28);
	assert_int_equal(srpc_wire_header_end("CONNECT / HTTP/1.0\n", 19), 0);
	assert_int_equal(srpc_wire_header_end("CONNECT / HTTP/1.0\r\n\r", 21), 0);
	assert_int_equal(srpc_wire_header_end("", 0), 0);
}

static void parse(const char *s, struct srpc_wire_request *r, int want_rc)
{
	assert_int_equal(srpc_wire_parse_request(s, strlen(s), r), want_rc);
}

static void test_parse_request(void **state)
{
	struct srpc_wire_request r;

	(void)state;
	parse("CONNECT /_SRPC_/TLS/JSON HTTP/1.0\n\n", &r, 0);
	assert_true(r.is_connect);
	assert_int_equal(r.path, SRPC_WIRE_TLS_JSON);
	assert_false(r.no_method_powers);
	assert_false(r.bad_query);

	parse("CONNECT /_SRPC_/TLS/JSON?doNotUseMethodPowers=true HTTP/1.0\r\n\r\n", &r, 0);
	assert_true(r.no_method_powers);
	assert_int_equal(r.path, SRPC_WIRE_TLS_JSON);

	parse("CONNECT /_SRPC_/TLS/JSON?doNotUseMethodPowers=false HTTP/1.0\n\n", &r, 0);
	assert_false(r.no_method_powers);
	parse("CONNECT /_SRPC_/TLS/JSON?a=%7a&doNotUseMethodPowers=tr%75e HTTP/1.0\n\n", &r, 0);
	assert_true(r.no_method_powers);
	assert_false(r.bad_query);
	parse("CONNECT /_SRPC_/TLS/JSON?a=%zz HTTP/1.0\n\n", &r, 0);
	assert_true(r.bad_query);
	parse("CONNECT /_SRPC_/TLS/JSON?a=1;b=2 HTTP/1.0\n\n", &r, 0);
	assert_true(r.bad_query);
	parse("CONNECT /_SRPC_/TLS/JSON?a=% HTTP/1.0\n\n", &r, 0);
	assert_true(r.bad_query);

	parse("CONNECT /_SRPC_/unsecured/JSON HTTP/1.0\n\n", &r, 0);
	assert_int_equal(r.path, SRPC_WIRE_PLAIN_JSON);
	parse("CONNECT /_goSRPC_/ HTTP/1.0\n\n", &r, 0);
	assert_int_equal(r.path, SRPC_WIRE_GOB);
	parse("CONNECT /_go_TLS_SRPC_/ HTTP/1.0\n\n", &r, 0);
	assert_int_equal(r.path, SRPC_WIRE_GOB);
	parse("CONNECT /_SRPC_/TLS/JSONX HTTP/1.0\n\n", &r, 0);
	assert_int_equal(r.path, SRPC_WIRE_UNKNOWN);
	parse("CONNECT 127.0.0.1:443 HTTP/1.0\n\n", &r, 0);
	assert_int_equal(r.path, SRPC_WIRE_UNKNOWN);

	parse("GET /_SRPC_/TLS/JSON HTTP/1.1\n\n", &r, 0);
	assert_false(r.is_connect);
	assert_int_equal(r.path, SRPC_WIRE_TLS_JSON);
	parse("CONNECTX /_SRPC_/TLS/JSON HTTP/1.0\n\n", &r, 0);
	assert_false(r.is_connect);

	parse("CONNECT /_SRPC_/TLS/JSON\n\n", &r, -EBADMSG);
	parse("CONNECT  /_SRPC_/TLS/JSON HTTP/1.0\n\n", &r, -EBADMSG);
	parse(" CONNECT /x HTTP/1.0\n\n", &r, -EBADMSG);
	parse("CONNECT /x FTP/1.0\n\n", &r, -EBADMSG);
	parse("CONNECT /x HTTP/1.0 extra\n\n", &r, -EBADMSG);
	parse("no newline", &r, -EBADMSG);
}

static void test_http_error(void **state)
{
	char buf[512];
	int n;

	(void)state;
	n = srpc_wire_http_error(405, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(strncmp(buf, "HTTP/1.0 405 Method Not Allowed\r\n", 33), 0);
	assert_non_null(strstr(buf, "\r\nContent-Length: 0\r\n\r\n"));
	assert_int_equal(buf[n - 1], '\n');
	assert_int_equal(buf[n - 2], '\r');

	n = srpc_wire_http_error(404, buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.0 404 Not Found\r\n", 24), 0);
	assert_non_null(strstr(buf, "Content-Length: 19\r\n\r\n404 page not found\n"));
	assert_int_equal((size_t)n, strlen(buf));

	n = srpc_wire_http_error(400, buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.0 400 Bad Request\r\n", 26), 0);
	assert_int_equal(srpc_wire_http_error(404, buf, 20), -ENOSPC);
}

static void test_parse_status(void **state)
{
	char text[64];
	bool ok;

	(void)state;
	assert_int_equal(
	    srpc_wire_parse_status(SRPC_CONNECTED, strlen(SRPC_CONNECTED), &ok, text, sizeof(text)),
	    200);
	assert_true(ok);
	assert_string_equal(text, "200 Connected to Go SRPC");

	assert_int_equal(srpc_wire_parse_status("HTTP/1.1 200 OK\r\n\r\n", 19, &ok, NULL, 0), 200);
	assert_false(ok);
	assert_int_equal(
	    srpc_wire_parse_status("HTTP/1.0 404 Not Found\r\n\r\n", 26, &ok, text, sizeof(text)),
	    404);
	assert_false(ok);
	assert_string_equal(text, "404 Not Found");
	assert_int_equal(
	    srpc_wire_parse_status("HTTP/1.0 200 Connected to Go SRPCX\n\n", 36, &ok, NULL, 0),
	    200);
	assert_false(ok);
	assert_int_equal(srpc_wire_parse_status("SSH-2.0-OpenSSH\r\n", 17, &ok, NULL, 0), -EBADMSG);
	assert_int_equal(srpc_wire_parse_status("HTTP/1.0 2x0 Bad\n\n", 18, &ok, NULL, 0),
			 -EBADMSG);
	assert_int_equal(srpc_wire_parse_status("HTTP/1.0 2000 Bad\n\n", 19, &ok, NULL, 0),
			 -EBADMSG);
	assert_int_equal(srpc_wire_parse_status("HTTP/1.0 200", 12, &ok, NULL, 0), -EBADMSG);
}

static void test_method_line(void **state)
{
	char l1[] = "  Hypervisor.GetCapacity \r", l2[] = "\r", l3[] = "a.b.c", l4[] = "NoDot",
	     l5[] = ".LocalUpgradeToUnix", l6[] = "";
	char *svc, *meth;

	(void)state;
	assert_int_equal(srpc_wire_method_line(l1, &svc, &meth), 1);
	assert_string_equal(svc, "Hypervisor");
	assert_string_equal(meth, "GetCapacity");
	assert_int_equal(srpc_wire_method_line(l2, &svc, &meth), 0);
	assert_int_equal(srpc_wire_method_line(l6, &svc, &meth), 0);
	assert_int_equal(srpc_wire_method_line(l3, &svc, &meth), -EINVAL);
	assert_string_equal(svc, "a.b.c");
	assert_int_equal(srpc_wire_method_line(l4, &svc, &meth), -EINVAL);
	assert_int_equal(srpc_wire_method_line(l5, &svc, &meth), 1);
	assert_string_equal(svc, "");
	assert_string_equal(meth, "LocalUpgradeToUnix");
}

/* Issue 17: "Hypervisor.ListVMs\0junk" ran ListVMs. A line with a control byte names no
 * method; it is refused whole and shown with '?' in the error. */
static void test_method_line_control_bytes(void **state)
{
	char l1[] = "Hypervisor.ListVMs\x1ajunk", l2[] = "Hypervisor.List\x01VMs",
	     l3[] = "Hypervisor.ListVMs\x7f", l4[] = "\x1b[2JHypervisor.ListVMs",
	     l5[] = " Hypervisor.ListVMs\t\r";
	char *svc, *meth;

	(void)state;
	assert_int_equal(srpc_wire_method_line(l1, &svc, &meth), -EINVAL);
	assert_string_equal(svc, "Hypervisor.ListVMs?junk");
	assert_null(meth);
	assert_int_equal(srpc_wire_method_line(l2, &svc, &meth), -EINVAL);
	assert_string_equal(svc, "Hypervisor.List?VMs");
	assert_int_equal(srpc_wire_method_line(l3, &svc, &meth), -EINVAL);
	assert_int_equal(srpc_wire_method_line(l4, &svc, &meth), -EINVAL);
	assert_string_equal(svc, "?[2JHypervisor.ListVMs");
	/* Whitespace around the name is still trimmed, as rpc.md §4 says. */
	assert_int_equal(srpc_wire_method_line(l5, &svc, &meth), 1);
	assert_string_equal(meth, "ListVMs");
}

/* Feeds s whole and byte by byte; both must agree on the value's length. */
static int frame_len(const char *s, size_t *len)
{
	struct srpc_frame f;
	size_t used, i, n = strlen(s);
	int r, whole;

	srpc_frame_init(&f);
	whole = srpc_frame_feed(&f, (const unsigned char *)s, n, &used);
	*len = used;
	srpc_frame_init(&f);
	for (i = 0; i < n; i++) {
		r = srpc_frame_feed(&f, (const unsigned char *)s + i, 1, &used);
		if (r != SRPC_FRAME_MORE)
			break;
	}
	if (whole == SRPC_FRAME_DONE) {
		assert_int_equal(r, SRPC_FRAME_DONE);
		assert_int_equal(i + used, *len);
	} else {
		assert_int_equal(r, whole);
	}
	return whole;
}

static void test_frame(void **state)
{
	static const struct {
		const char *in;
		int rc;
		size_t len;
	} cases[] = {
	    {"{}\n", SRPC_FRAME_DONE, 2},
	    {"  \n{\"a\":1}\nrest", SRPC_FRAME_DONE, 10},
	    {"{\"a\":\"}]{[\"}\n", SRPC_FRAME_DONE, 12},
	    {"{\"a\":\"x\\\"}\"}\n", SRPC_FRAME_DONE, 12},
	    {"{\"a\":\"\\\\\"}\n", SRPC_FRAME_DONE, 10},
	    {"[1,[2,{\"b\":[3]}],4]x", SRPC_FRAME_DONE, 19},
	    {"[1,true,null]", SRPC_FRAME_DONE, 13},
	    {"\"str\\\"ing\"\n", SRPC_FRAME_DONE, 10},
	    {"42\n", SRPC_FRAME_DONE, 2},
	    {"-1.5e3 ", SRPC_FRAME_DONE, 6},
	    {"true]", SRPC_FRAME_DONE, 4},
	    {"null{", SRPC_FRAME_DONE, 4},
	    {"{\"a\":1", SRPC_FRAME_MORE, 6},
	    {"\"open", SRPC_FRAME_MORE, 5},
	    {"123", SRPC_FRAME_MORE, 3},
	    {"   ", SRPC_FRAME_MORE, 3},
	    {"}", -EBADMSG, 0},
	    {"]", -EBADMSG, 0},
	    {"x", -EBADMSG, 0},
	    {"\x01", -EBADMSG, 0},
	};
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = frame_len(cases[i].in, &len);

		if (rc != cases[i].rc)
			fail_msg("case %zu (%s): rc %d, want %d", i, cases[i].in, rc, cases[i].rc);
		if (rc >= 0 && len != cases[i].len)
			fail_msg("case %zu (%s): len %zu, want %zu", i, cases[i].in, len,
				 cases[i].len);
	}
}

static void test_frame_eof(void **state)
{
	struct srpc_frame f;
	size_t used;

	(void)state;
	srpc_frame_init(&f);
	assert_int_equal(srpc_frame_feed(&f, (const unsigned char *)"17", 2, &used),
			 SRPC_FRAME_MORE);
	assert_int_equal(srpc_frame_eof(&f), SRPC_FRAME_DONE);
	srpc_frame_init(&f);
	assert_int_equal(srpc_frame_feed(&f, (const unsigned char *)"[17", 3, &used),
			 SRPC_FRAME_MORE);
	assert_int_equal(srpc_frame_eof(&f), -EBADMSG);
}

/* ---- exact framing on a stream ---- */

struct pair {
	int peer;
	struct srpc_conn *c;
};

static struct pair make_pair(size_t max)
{
	int sv[2];
	struct pair p;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	p.peer = sv[1];
	p.c = srpc_conn_new(sv[0], NULL, max);
	assert_non_null(p.c);
	return p;
}

static void put(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static void test_conn_exact(void **state)
{
	struct pair p = make_pair(0);
	char raw[8], line[64];
	json_t *v;

	(void)state;
	/* All in one write: the reader must not swallow the raw bytes after a message. */
	put(p.peer, "{\"a\":1}\nRAW{\"b\":[2]}\n42\n\"s\"\nline two\n");
	assert_int_equal(srpc_conn_read_json(p.c, &v), 0);
	assert_int_equal(json_integer_value(json_object_get(v, "a")), 1);
	json_decref(v);
	assert_int_equal(srpc_conn_read(p.c, raw, 3), 0);
	assert_memory_equal(raw, "RAW", 3);
	assert_int_equal(srpc_conn_read_json(p.c, &v), 0);
	assert_true(json_is_array(json_object_get(v, "b")));
	json_decref(v);
	assert_int_equal(srpc_conn_read_json(p.c, &v), 0);
	assert_int_equal(json_integer_value(v), 42);
	json_decref(v);
	assert_int_equal(srpc_conn_read_json(p.c, &v), 0);
	assert_string_equal(json_string_value(v), "s");
	json_decref(v);
	assert_int_equal(srpc_conn_read_line(p.c, line, sizeof(line)), 8);
	assert_string_equal(line, "line two");
	/* A NUL inside a line becomes SUB: the string is the whole line, not "Hyp...VMs". */
	assert_int_equal(write(p.peer, "Hypervisor.ListVMs\0junk\n", 24), 24);
	assert_int_equal(srpc_conn_read_line(p.c, line, sizeof(line)), 23);
	assert_string_equal(line, "Hypervisor.ListVMs\x1ajunk");
	close(p.peer);
	assert_int_equal(srpc_conn_read_json(p.c, &v), -ECONNRESET);
	srpc_conn_free(p.c);
}

static void test_conn_limits(void **state)
{
	struct pair p = make_pair(64);
	char big[200];
	json_t *v;

	(void)state;
	put(p.peer, "{\"ok\":\"x\"}\n{\"bad\":}\n");
	assert_int_equal(srpc_conn_read_json(p.c, &v), 0);
	json_decref(v);
	/* Invalid JSON with a clean extent: reported, and the stream continues. */
	assert_int_equal(srpc_conn_read_json(p.c, &v), -EBADMSG);
	assert_null(v);
	put(p.peer, "[1]\n");
	assert_int_equal(srpc_conn_read_json(p.c, &v), 0);
	json_decref(v);
	memset(big, ' ', sizeof(big));
	big[0] = '"';
	big[sizeof(big) - 2] = '"';
	big[sizeof(big) - 1] = '\0';
	put(p.peer, big);
	assert_int_equal(srpc_conn_read_json(p.c, &v), -EMSGSIZE);
	srpc_conn_free(p.c);
	close(p.peer);

	p = make_pair(0);
	put(p.peer, "}{");
	assert_int_equal(srpc_conn_read_json(p.c, &v), -EPROTO);
	srpc_conn_free(p.c);
	close(p.peer);
}

static void test_conn_write(void **state)
{
	struct pair p = make_pair(0);
	json_t *v = json_pack("{s:i, s:s}", "B", 2, "A", "x<y");
	char buf[64];
	ssize_t n;

	(void)state;
	assert_int_equal(srpc_conn_write_json(p.c, v), 0);
	assert_int_equal(srpc_conn_write(p.c, "raw", 3), 0);
	assert_int_equal(srpc_conn_flush(p.c), 0);
	n = read(p.peer, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	/* Compact, insertion order kept, one '\n' after the value. */
	assert_string_equal(buf, "{\"B\":2,\"A\":\"x<y\"}\nraw");
	json_decref(v);
	srpc_conn_free(p.c);
	close(p.peer);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_end),	cmocka_unit_test(test_parse_request),
	    cmocka_unit_test(test_http_error),	cmocka_unit_test(test_parse_status),
	    cmocka_unit_test(test_method_line), cmocka_unit_test(test_method_line_control_bytes),
	    cmocka_unit_test(test_frame),	cmocka_unit_test(test_frame_eof),
	    cmocka_unit_test(test_conn_exact),	cmocka_unit_test(test_conn_limits),
	    cmocka_unit_test(test_conn_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
