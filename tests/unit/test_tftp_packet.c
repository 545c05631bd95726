/* TFTP wire format: RRQ/WRQ and option parsing, builders, reply parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/hypervisor/netsvc/tftp/tftp_packet.h"

/* Request bytes from a list of NUL-separated fields given as one literal. */
static size_t req(uint8_t *buf, uint16_t op, const char *fields, size_t flen)
{
	buf[0] = (uint8_t)(op >> 8);
	buf[1] = (uint8_t)op;
	memcpy(buf + 2, fields, flen);
	return 2 + flen;
}
#define REQ(buf, op, lit) req(buf, op, lit, sizeof(lit) - 1)

static void test_rrq_plain(void **st)
{
	(void)st;
	uint8_t b[600];
	struct tftp_request r;
	size_t n = REQ(b, TFTP_RRQ, "pxelinux.0\0octet\0");
	assert_int_equal(tftp_request_parse(b, n, &r), 0);
	assert_int_equal(r.opcode, TFTP_RRQ);
	assert_string_equal(r.filename, "pxelinux.0");
	assert_int_equal(r.mode, TFTP_MODE_OCTET);
	assert_false(r.opts.has_blksize || r.opts.has_tsize || r.opts.has_timeout ||
		     r.opts.has_windowsize);
	n = REQ(b, TFTP_RRQ, "a\0NetASCII\0");
	assert_int_equal(tftp_request_parse(b, n, &r), 0);
	assert_int_equal(r.mode, TFTP_MODE_NETASCII);
}

static void test_rrq_options(void **st)
{
	(void)st;
	uint8_t b[600];
	struct tftp_request r;
	size_t n = REQ(b, TFTP_RRQ,
		       "k\0octet\0BLKSIZE\0"
		       "1428\0tsize\0"
		       "0\0timeout\0"
		       "3\0windowsize\0"
		       "16\0");
	assert_int_equal(tftp_request_parse(b, n, &r), 0);
	assert_true(r.opts.has_blksize);
	assert_int_equal(r.opts.blksize, 1428);
	assert_true(r.opts.has_tsize);
	assert_int_equal(r.opts.tsize, 0);
	assert_true(r.opts.has_timeout);
	assert_int_equal(r.opts.timeout, 3);
	assert_true(r.opts.has_windowsize);
	assert_int_equal(r.opts.windowsize, 16);
}

static void test_rrq_unknown_and_bad_options(void **st)
{
	(void)st;
	uint8_t b[600];
	struct tftp_request r;
	/* unknown options ignored; out-of-range values drop the option */
	size_t n = REQ(b, TFTP_RRQ,
		       "k\0octet\0multicast\0\0blksize\0"
		       "7\0timeout\0"
		       "0\0windowsize\0"
		       "65536\0tsize\0-1\0");
	assert_int_equal(tftp_request_parse(b, n, &r), 0);
	assert_false(r.opts.has_blksize);
	assert_false(r.opts.has_timeout);
	assert_false(r.opts.has_windowsize);
	assert_false(r.opts.has_tsize);
	n = REQ(b, TFTP_RRQ,
		"k\0octet\0blksize\0"
		"99999999999999999999999\0");
	assert_int_equal(tftp_request_parse(b, n, &r), 0);
	assert_false(r.opts.has_blksize);
	n = REQ(b, TFTP_RRQ,
		"k\0octet\0blksize\0"
		"65465\0");
	assert_int_equal(tftp_request_parse(b, n, &r), 0);
	assert_false(r.opts.has_blksize);
	/* trailing NUL padding ends the list */
	n = REQ(b, TFTP_RRQ,
		"k\0octet\0blksize\0"
		"512\0\0\0");
	assert_int_equal(tftp_request_parse(b, n, &r), 0);
	assert_true(r.opts.has_blksize);
	/* the first occurrence wins */
	n = REQ(b, TFTP_RRQ,
		"k\0octet\0blksize\0"
		"512\0blksize\0"
		"1024\0");
	assert_int_equal(tftp_request_parse(b, n, &r), 0);
	assert_int_equal(r.opts.blksize, 512);
}

static void test_rrq_missing_nuls(void **st)
{
	(void)st;
	uint8_t b[600];
	struct tftp_request r;
	size_t n = REQ(b, TFTP_RRQ, "pxelinux.0");
	assert_int_equal(tftp_request_parse(b, n, &r), -EBADMSG);
	n = REQ(b, TFTP_RRQ, "pxelinux.0\0octet");
	assert_int_equal(tftp_request_parse(b, n, &r), -EBADMSG);
	n = REQ(b, TFTP_RRQ,
		"x\0octet\0blksize\0"
		"512");
	assert_int_equal(tftp_request_parse(b, n, &r), -EBADMSG);
	n = REQ(b, TFTP_RRQ, "x\0octet\0blksize");
	assert_int_equal(tftp_request_parse(b, n, &r), -EBADMSG);
	n = REQ(b, TFTP_RRQ, "\0octet\0");
	assert_int_equal(tftp_request_parse(b, n, &r), -EBADMSG);
	assert_int_equal(tftp_request_parse(b, 1, &r), -EBADMSG);
	assert_int_equal(tftp_request_parse(b, 2, &r), -EBADMSG);
}

static void test_rrq_overlong_and_modes(void **st)
{
	(void)st;
	uint8_t b[1500];
	struct tftp_request r;
	b[0] = 0;
	b[1] = TFTP_RRQ;
	memset(b + 2, 'a', 256);
	memcpy(b + 258, "\0octet\0", 7);
	assert_int_equal(tftp_request_parse(b, 265, &r), -ENAMETOOLONG);
	memcpy(b + 257, "\0octet\0", 7); /* 255 characters: accepted */
	assert_int_equal(tftp_request_parse(b, 264, &r), 0);
	assert_int_equal(strlen(r.filename), 255);
	size_t n = REQ(b, TFTP_RRQ, "x\0binary\0");
	assert_int_equal(tftp_request_parse(b, n, &r), -EPROTONOSUPPORT);
	n = REQ(b, TFTP_WRQ, "x\0octet\0");
	assert_int_equal(tftp_request_parse(b, n, &r), 0);
	assert_int_equal(r.opcode, TFTP_WRQ);
	n = REQ(b, TFTP_DATA, "x\0octet\0");
	assert_int_equal(tftp_request_parse(b, n, &r), -EOPNOTSUPP);
}

static void test_builders(void **st)
{
	(void)st;
	uint8_t b[600];
	struct tftp_opts o = {.has_blksize = true,
			      .blksize = 1468,
			      .has_tsize = true,
			      .tsize = 123456789,
			      .has_windowsize = true,
			      .windowsize = 8};
	int n = tftp_build_oack(b, sizeof(b), &o);
	const char want[] = "\0\6blksize\0"
			    "1468\0tsize\0"
			    "123456789\0windowsize\0"
			    "8\0";
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(b, want, sizeof(want) - 1);
	struct tftp_opts back;
	assert_int_equal(tftp_oack_parse(b, (size_t)n, &back), 0);
	assert_int_equal(back.blksize, 1468);
	assert_int_equal(back.tsize, 123456789);
	assert_int_equal(back.windowsize, 8);
	n = tftp_build_error(b, sizeof(b), TFTP_ENOTFOUND, "File not found");
	assert_int_equal(n, 4 + 15);
	assert_int_equal(b[3], 1);
	assert_int_equal(tftp_build_error(b, 10, 0, "much too long a message"), -EMSGSIZE);
	n = tftp_build_ack(b, sizeof(b), 0xfffe);
	assert_int_equal(n, 4);
	assert_int_equal(b[2], 0xff);
	tftp_build_data_hdr(b, 0x1234);
	assert_int_equal(b[1], TFTP_DATA);
	assert_int_equal(b[3], 0x34);
	n = tftp_build_rrq(b, sizeof(b), "f", "octet", &o);
	struct tftp_request r;
	assert_int_equal(tftp_request_parse(b, (size_t)n, &r), 0);
	assert_int_equal(r.opts.blksize, 1468);
}

static void test_reply_parse(void **st)
{
	(void)st;
	struct tftp_reply r;
	const uint8_t err[] = {0, 5, 0, 2, 'n', 'o', 0x01}; /* no NUL, control char */
	assert_int_equal(tftp_reply_parse(err, sizeof(err), &r), 0);
	assert_int_equal(r.opcode, TFTP_ERROR);
	assert_int_equal(r.errcode, 2);
	assert_string_equal(r.errmsg, "no?");
	const uint8_t ack[] = {0, 4, 1, 2};
	assert_int_equal(tftp_reply_parse(ack, sizeof(ack), &r), 0);
	assert_int_equal(r.block, 0x102);
	assert_int_equal(tftp_reply_parse(ack, 3, &r), -EBADMSG);
	const uint8_t junk[] = {0, 9, 0, 0};
	assert_int_equal(tftp_reply_parse(junk, sizeof(junk), &r), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rrq_plain),
	    cmocka_unit_test(test_rrq_options),
	    cmocka_unit_test(test_rrq_unknown_and_bad_options),
	    cmocka_unit_test(test_rrq_missing_nuls),
	    cmocka_unit_test(test_rrq_overlong_and_modes),
	    cmocka_unit_test(test_builders),
	    cmocka_unit_test(test_reply_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
