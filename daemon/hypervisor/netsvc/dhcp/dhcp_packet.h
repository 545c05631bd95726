/* DHCP/BOOTP wire format (RFC 2131/2132): a bounds-checked parser with an option
 * walker (RFC 3396 concatenation, option overload into file/sname) and a reply
 * builder. Pure: no I/O, no globals, so unit tests and fuzzers call it directly. */
#ifndef SS_DHCP_PACKET_H
#define SS_DHCP_PACKET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DHCP_FIXED_LEN 236	 /* op .. file, before the magic cookie */
#define DHCP_MIN_LEN 240	 /* fixed part + magic cookie */
#define DHCP_BOOTP_MIN_LEN 300	 /* replies are padded to this (RFC 951) */
#define DHCP_MAX_LEN 1500	 /* largest datagram we accept or build */
#define DHCP_DEFAULT_MAX_MSG 576 /* RFC 2131 minimum every client must accept */
#define DHCP_UDP_IP_OVERHEAD 28
#define DHCP_SNAME_LEN 64
#define DHCP_FILE_LEN 128
#define DHCP_FLAG_BROADCAST 0x8000

enum dhcp_op {
	DHCP_OP_REQUEST = 1,
	DHCP_OP_REPLY = 2,
};

enum dhcp_msg_type {
	DHCP_DISCOVER = 1,
	DHCP_OFFER = 2,
	DHCP_REQUEST = 3,
	DHCP_DECLINE = 4,
	DHCP_ACK = 5,
	DHCP_NAK = 6,
	DHCP_RELEASE = 7,
	DHCP_INFORM = 8,
};

enum dhcp_opt {
	DHCP_OPT_PAD = 0,
	DHCP_OPT_SUBNET_MASK = 1,
	DHCP_OPT_ROUTER = 3,
	DHCP_OPT_DNS = 6,
	DHCP_OPT_HOSTNAME = 12,
	DHCP_OPT_DOMAIN = 15,
	DHCP_OPT_VENDOR = 43,
	DHCP_OPT_REQUESTED_IP = 50,
	DHCP_OPT_LEASE_TIME = 51,
	DHCP_OPT_OVERLOAD = 52,
	DHCP_OPT_MSG_TYPE = 53,
	DHCP_OPT_SERVER_ID = 54,
	DHCP_OPT_PARAM_LIST = 55,
	DHCP_OPT_MESSAGE = 56,
	DHCP_OPT_MAX_MSG_SIZE = 57,
	DHCP_OPT_VENDOR_CLASS = 60,
	DHCP_OPT_CLIENT_ID = 61,
	DHCP_OPT_TFTP_SERVER = 66,
	DHCP_OPT_BOOTFILE = 67,
	DHCP_OPT_USER_CLASS = 77,
	DHCP_OPT_CLIENT_ARCH = 93,
	DHCP_OPT_CLIENT_NDI = 94,
	DHCP_OPT_UUID = 97,
	DHCP_OPT_IPXE_ENCAP = 175,
	DHCP_OPT_END = 255,
};

/* A parsed request. Option data is copied into optbuf (instances of the same code
 * concatenated per RFC 3396), so the view does not borrow the packet buffer. */
struct dhcp_msg {
	uint8_t op, htype, hlen, hops;
	uint32_t xid;	/* host order */
	uint16_t secs;	/* host order */
	uint16_t flags; /* host order */
	struct in_addr ciaddr, yiaddr, siaddr, giaddr;
	uint8_t chaddr[16];
	uint8_t type; /* option 53 */
	uint16_t opt_off[256];
	uint16_t opt_len[256];
	uint8_t opt_have[32]; /* bitmap of present codes */
	uint8_t optbuf[DHCP_MAX_LEN];
};

/* One raw option instance as seen by the walker. */
struct dhcp_opt_iter {
	const uint8_t *buf; /* whole packet, borrowed */
	size_t len;
	int region; /* 0 options field, 1 file, 2 sname, 3 done */
	size_t pos; /* inside the current region */
	size_t end; /* end of the current region */
	uint8_t overload;
	bool overload_seen;
};

/* Starts walking the options of a packet of at least DHCP_MIN_LEN bytes. */
void dhcp_opt_iter_init(struct dhcp_opt_iter *it, const uint8_t *buf, size_t len);
/* Next option instance: 1 with code, data and len filled, 0 at the end, -EBADMSG when
 * an option runs past its region. PAD is skipped; overload (52) is followed. */
int dhcp_opt_iter_next(struct dhcp_opt_iter *it, uint8_t *code, const uint8_t **data, uint8_t *len);

/* Parses a BOOTP/DHCP packet. 0 on success; -EBADMSG for short packets, bad magic
 * cookie, hlen > 16, option overrun, or a missing/invalid option 53. */
int dhcp_msg_parse(const uint8_t *buf, size_t len, struct dhcp_msg *m);

/* Option data of code (NULL when absent; *len set). Borrowed from m. */
const uint8_t *dhcp_msg_opt(const struct dhcp_msg *m, uint8_t code, size_t *len);
bool dhcp_msg_has(const struct dhcp_msg *m, uint8_t code);
/* Option as IPv4 address (exactly 4 bytes); false when absent or malformed. */
bool dhcp_msg_opt_addr(const struct dhcp_msg *m, uint8_t code, struct in_addr *out);
/* Option as a printable string copied to out (NUL-terminated; trailing NULs cut,
 * non-printable bytes replaced by '?'). Returns its length or -ENOENT. */
int dhcp_msg_opt_str(const struct dhcp_msg *m, uint8_t code, char *out, size_t outlen);
/* Lower-case "aa:bb:cc:dd:ee:ff" of chaddr (Ethernet only, hlen 6). */
int dhcp_msg_mac_str(const struct dhcp_msg *m, char *out, size_t outlen);
const char *dhcp_msg_type_name(uint8_t type);

/* What a reply carries. Absent values are zero/NULL. */
struct dhcp_reply_params {
	uint8_t type; /* OFFER, ACK or NAK */
	struct in_addr yiaddr, siaddr, server_id;
	uint32_t lease_secs; /* 0: option 51 not sent */
	struct in_addr mask, router;
	bool have_mask, have_router;
	const struct in_addr *dns;
	size_t ndns;
	const char *domain;
	const char *hostname;
	const char *bootfile;	  /* option 67 and, if it fits, the BOOTP file field */
	const char *tftp_server;  /* option 66 (sent only when requested) */
	const char *vendor_class; /* option 60 echo: "PXEClient" / "HTTPClient" */
	const char *message;	  /* option 56, NAK reason */
	bool copy_ciaddr;	  /* ACK to INFORM keeps ciaddr */
};

/* Builds a reply to req into buf. Options: 53, 54, 51, then the lease options
 * ordered by the client's parameter request list (all when it sent none), then
 * 60 (forced; PXE clients need it). Honours option 57 and pads to 300 bytes.
 * Returns the length, or -EMSGSIZE/-EINVAL. */
int dhcp_reply_build(const struct dhcp_msg *req, const struct dhcp_reply_params *p, uint8_t *buf,
		     size_t cap);

#endif
