/* TFTP wire format (RFC 1350, options RFC 2347/2348/2349/7440): request and option
 * parsing, packet builders. Pure: no I/O, so unit tests and fuzzers call it. */
#ifndef SS_TFTP_PACKET_H
#define SS_TFTP_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TFTP_NAME_MAX 255
#define TFTP_BLKSIZE_DEFAULT 512
#define TFTP_BLKSIZE_MIN 8
#define TFTP_BLKSIZE_MAX 65464
#define TFTP_WINDOW_MAX 65535
#define TFTP_TIMEOUT_MAX 255
#define TFTP_OACK_MAX 512 /* RFC 2347: an OACK fits a classic packet */

enum tftp_opcode {
	TFTP_RRQ = 1,
	TFTP_WRQ = 2,
	TFTP_DATA = 3,
	TFTP_ACK = 4,
	TFTP_ERROR = 5,
	TFTP_OACK = 6,
};

enum tftp_errcode {
	TFTP_ENOTDEF = 0,
	TFTP_ENOTFOUND = 1,
	TFTP_EACCESS = 2,
	TFTP_ENOSPACE = 3,
	TFTP_EBADOP = 4,
	TFTP_EBADID = 5,
	TFTP_EEXISTS = 6,
	TFTP_ENOUSER = 7,
	TFTP_EOPTNEG = 8,
};

enum tftp_mode {
	TFTP_MODE_OCTET,
	TFTP_MODE_NETASCII,
	TFTP_MODE_MAIL,
};

/* Option values as the client sent them; has_* false when absent or malformed. */
struct tftp_opts {
	bool has_blksize, has_tsize, has_timeout, has_windowsize;
	uint32_t blksize; /* 8..65464 */
	uint64_t tsize;
	uint32_t timeout;    /* seconds, 1..255 */
	uint32_t windowsize; /* 1..65535 */
};

struct tftp_request {
	uint16_t opcode; /* TFTP_RRQ or TFTP_WRQ */
	char filename[TFTP_NAME_MAX + 1];
	enum tftp_mode mode;
	struct tftp_opts opts;
};

/* Parses an RRQ/WRQ. Unknown options are ignored, out-of-range values drop the
 * option. Returns 0; -EBADMSG (short, missing NUL, empty name), -ENAMETOOLONG,
 * -EPROTONOSUPPORT (unknown mode), -EOPNOTSUPP (not a request). */
int tftp_request_parse(const uint8_t *buf, size_t len, struct tftp_request *r);

/* Parses an OACK's option list (client side: the bench client and tests). */
int tftp_oack_parse(const uint8_t *buf, size_t len, struct tftp_opts *o);

/* Builders return the packet length or -EMSGSIZE. */
int tftp_build_rrq(uint8_t *buf, size_t cap, const char *name, const char *mode,
		   const struct tftp_opts *o);
int tftp_build_oack(uint8_t *buf, size_t cap, const struct tftp_opts *o);
int tftp_build_error(uint8_t *buf, size_t cap, uint16_t code, const char *msg);
int tftp_build_ack(uint8_t *buf, size_t cap, uint16_t block);
/* Writes the 4-byte DATA header; the payload follows at buf + 4. */
void tftp_build_data_hdr(uint8_t *buf, uint16_t block);

/* A packet received on a transfer: opcode plus block (DATA/ACK) or error code and
 * message (copied, NUL-terminated, possibly truncated). -EBADMSG when short. */
struct tftp_reply {
	uint16_t opcode;
	uint16_t block;
	uint16_t errcode;
	char errmsg[128];
	const uint8_t *data; /* DATA payload, borrowed */
	size_t datalen;
};
int tftp_reply_parse(const uint8_t *buf, size_t len, struct tftp_reply *r);

#endif
