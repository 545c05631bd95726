/* DHCP/BOOTP wire format: parser, option walker and reply builder (no I/O). */
#include "daemon/hypervisor/netsvc/dhcp/dhcp_packet.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const uint8_t dhcp_magic[4] = {99, 130, 83, 99};

enum {
	OFF_OP = 0,
	OFF_XID = 4,
	OFF_SECS = 8,
	OFF_FLAGS = 10,
	OFF_CIADDR = 12,
	OFF_YIADDR = 16,
	OFF_SIADDR = 20,
	OFF_GIADDR = 24,
	OFF_CHADDR = 28,
	OFF_SNAME = 44,
	OFF_FILE = 108,
	OFF_MAGIC = 236,
};

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void dhcp_opt_iter_init(struct dhcp_opt_iter *it, const uint8_t *buf, size_t len)
{
	memset(it, 0, sizeof(*it));
	it->buf = buf;
	it->len = len;
	it->region = 0;
	it->pos = DHCP_MIN_LEN;
	it->end = len;
}

/* Moves to the next region allowed by option overload; false when none is left. */
static bool iter_next_region(struct dhcp_opt_iter *it)
{
	while (++it->region < 3) {
		if (it->region == 1 && (it->overload & 1)) {
			it->pos = OFF_FILE;
			it->end = OFF_FILE + DHCP_FILE_LEN;
			return true;
		}
		if (it->region == 2 && (it->overload & 2)) {
			it->pos = OFF_SNAME;
			it->end = OFF_SNAME + DHCP_SNAME_LEN;
			return true;
		}
	}
	return false;
}

int dhcp_opt_iter_next(struct dhcp_opt_iter *it, uint8_t *code, const uint8_t **data, uint8_t *len)
{
	for (;;) {
		if (it->region >= 3)
			return 0;
		if (it->pos >= it->end) {
			if (!iter_next_region(it))
				return 0;
			continue;
		}
		uint8_t c = it->buf[it->pos];
		if (c == DHCP_OPT_PAD) {
			it->pos++;
			continue;
		}
		if (c == DHCP_OPT_END) {
			it->pos = it->end;
			continue;
		}
		if (it->end - it->pos < 2)
			return -EBADMSG;
		uint8_t l = it->buf[it->pos + 1];
		if ((size_t)l > it->end - it->pos - 2)
			return -EBADMSG;
		*code = c;
		*data = it->buf + it->pos + 2;
		*len = l;
		it->pos += 2 + (size_t)l;
		/* Only the options field may overload file/sname, and only once. */
		if (c == DHCP_OPT_OVERLOAD && it->region == 0 && !it->overload_seen) {
			it->overload_seen = true;
			if (l == 1 && (*data)[0] >= 1 && (*data)[0] <= 3)
				it->overload = (*data)[0];
		}
		return 1;
	}
}

static void opt_mark(struct dhcp_msg *m, uint8_t code)
{
	m->opt_have[code / 8] |= (uint8_t)(1u << (code % 8));
}

bool dhcp_msg_has(const struct dhcp_msg *m, uint8_t code)
{
	return (m->opt_have[code / 8] >> (code % 8)) & 1;
}

/* Two walks: the first sizes each code (instances are concatenated per RFC 3396),
 * the second copies the data into optbuf at the computed offsets. */
static int parse_options(const uint8_t *buf, size_t len, struct dhcp_msg *m)
{
	struct dhcp_opt_iter it;
	uint8_t code, l;
	const uint8_t *data;
	size_t total = 0;
	int rc;

	dhcp_opt_iter_init(&it, buf, len);
	while ((rc = dhcp_opt_iter_next(&it, &code, &data, &l)) > 0) {
		m->opt_len[code] = (uint16_t)(m->opt_len[code] + l);
		opt_mark(m, code);
		total += l;
	}
	if (rc < 0)
		return rc;
	if (total > sizeof(m->optbuf))
		return -EBADMSG;
	size_t off = 0;
	for (int c = 0; c < 256; c++) {
		m->opt_off[c] = (uint16_t)off;
		off += m->opt_len[c];
	}
	uint16_t fill[256] = {0};
	dhcp_opt_iter_init(&it, buf, len);
	while (dhcp_opt_iter_next(&it, &code, &data, &l) > 0) {
		memcpy(m->optbuf + m->opt_off[code] + fill[code], data, l);
		fill[code] = (uint16_t)(fill[code] + l);
	}
	return 0;
}

int dhcp_msg_parse(const uint8_t *buf, size_t len, struct dhcp_msg *m)
{
	memset(m, 0, offsetof(struct dhcp_msg, optbuf));
	if (len < DHCP_MIN_LEN || len > DHCP_MAX_LEN)
		return -EBADMSG;
	if (memcmp(buf + OFF_MAGIC, dhcp_magic, sizeof(dhcp_magic)) != 0)
		return -EBADMSG;
	m->op = buf[OFF_OP];
	m->htype = buf[1];
	m->hlen = buf[2];
	m->hops = buf[3];
	if (m->hlen > 16)
		return -EBADMSG;
	m->xid = get32(buf + OFF_XID);
	m->secs = get16(buf + OFF_SECS);
	m->flags = get16(buf + OFF_FLAGS);
	memcpy(&m->ciaddr, buf + OFF_CIADDR, 4);
	memcpy(&m->yiaddr, buf + OFF_YIADDR, 4);
	memcpy(&m->siaddr, buf + OFF_SIADDR, 4);
	memcpy(&m->giaddr, buf + OFF_GIADDR, 4);
	memcpy(m->chaddr, buf + OFF_CHADDR, 16);
	int rc = parse_options(buf, len, m);
	if (rc < 0)
		return rc;
	size_t tl;
	const uint8_t *t = dhcp_msg_opt(m, DHCP_OPT_MSG_TYPE, &tl);
	if (!t || tl != 1 || t[0] < DHCP_DISCOVER || t[0] > DHCP_INFORM)
		return -EBADMSG;
	m->type = t[0];
	return 0;
}

const uint8_t *dhcp_msg_opt(const struct dhcp_msg *m, uint8_t code, size_t *len)
{
	if (!dhcp_msg_has(m, code)) {
		*len = 0;
		return NULL;
	}
	*len = m->opt_len[code];
	return m->optbuf + m->opt_off[code];
}

bool dhcp_msg_opt_addr(const struct dhcp_msg *m, uint8_t code, struct in_addr *out)
{
	size_t l;
	const uint8_t *p = dhcp_msg_opt(m, code, &l);
	if (!p || l != 4)
		return false;
	memcpy(out, p, 4);
	return true;
}

int dhcp_msg_opt_str(const struct dhcp_msg *m, uint8_t code, char *out, size_t outlen)
{
	size_t l;
	const uint8_t *p = dhcp_msg_opt(m, code, &l);
	if (!p || outlen == 0)
		return -ENOENT;
	while (l > 0 && p[l - 1] == 0)
		l--;
	if (l >= outlen)
		l = outlen - 1;
	for (size_t i = 0; i < l; i++)
		out[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
	out[l] = 0;
	return (int)l;
}

int dhcp_msg_mac_str(const struct dhcp_msg *m, char *out, size_t outlen)
{
	if (m->htype != 1 || m->hlen != 6)
		return -EINVAL;
	int n = snprintf(out, outlen, "%02x:%02x:%02x:%02x:%02x:%02x", m->chaddr[0], m->chaddr[1],
			 m->chaddr[2], m->chaddr[3], m->chaddr[4], m->chaddr[5]);
	return (n < 0 || (size_t)n >= outlen) ? -ENOSPC : 0;
}

const char *dhcp_msg_type_name(uint8_t type)
{
	static const char *const names[] = {"?",   "DISCOVER", "OFFER",	  "REQUEST", "DECLINE",
					    "ACK", "NAK",      "RELEASE", "INFORM"};
	return type <= DHCP_INFORM ? names[type] : "?";
}

struct builder {
	uint8_t *buf;
	size_t cap; /* end of the options area, before the END byte */
	size_t len;
	int err;
};

/* Appends one option, split into 255-byte instances when longer (RFC 3396). */
static void put_opt(struct builder *b, uint8_t code, const void *data, size_t len)
{
	const uint8_t *p = data;
	do {
		size_t n = len > 255 ? 255 : len;
		if (b->err || b->cap - b->len < 2 + n) {
			b->err = -EMSGSIZE;
			return;
		}
		b->buf[b->len++] = code;
		b->buf[b->len++] = (uint8_t)n;
		if (n)
			memcpy(b->buf + b->len, p, n);
		b->len += n;
		p += n;
		len -= n;
	} while (len > 0);
}

static void put_opt_str(struct builder *b, uint8_t code, const char *s)
{
	if (s && *s)
		put_opt(b, code, s, strlen(s));
}

/* Emits the lease option `code` if p has a value for it; false if it has none. */
static bool put_lease_opt(struct builder *b, const struct dhcp_reply_params *p, uint8_t code)
{
	switch (code) {
	case DHCP_OPT_SUBNET_MASK:
		if (!p->have_mask)
			return false;
		put_opt(b, code, &p->mask, 4);
		return true;
	case DHCP_OPT_ROUTER:
		if (!p->have_router)
			return false;
		put_opt(b, code, &p->router, 4);
		return true;
	case DHCP_OPT_DNS:
		if (p->ndns == 0 || p->ndns > 63)
			return false;
		put_opt(b, code, p->dns, 4 * p->ndns);
		return true;
	case DHCP_OPT_DOMAIN:
		if (!p->domain || !*p->domain)
			return false;
		put_opt_str(b, code, p->domain);
		return true;
	case DHCP_OPT_HOSTNAME:
		if (!p->hostname || !*p->hostname)
			return false;
		put_opt_str(b, code, p->hostname);
		return true;
	case DHCP_OPT_BOOTFILE:
		if (!p->bootfile || !*p->bootfile)
			return false;
		put_opt_str(b, code, p->bootfile);
		return true;
	case DHCP_OPT_TFTP_SERVER:
		if (!p->tftp_server || !*p->tftp_server)
			return false;
		put_opt_str(b, code, p->tftp_server);
		return true;
	case DHCP_OPT_VENDOR_CLASS:
		if (!p->vendor_class || !*p->vendor_class)
			return false;
		put_opt_str(b, code, p->vendor_class);
		return true;
	default:
		return false;
	}
}

static void put_lease_opts(struct builder *b, const struct dhcp_msg *req,
			   const struct dhcp_reply_params *p)
{
	static const uint8_t default_order[] = {DHCP_OPT_SUBNET_MASK, DHCP_OPT_ROUTER,
						DHCP_OPT_DNS,	      DHCP_OPT_DOMAIN,
						DHCP_OPT_HOSTNAME,    DHCP_OPT_BOOTFILE};
	uint8_t done[32] = {0};
	size_t n;
	const uint8_t *prl = dhcp_msg_opt(req, DHCP_OPT_PARAM_LIST, &n);

	if (!prl) {
		prl = default_order;
		n = sizeof(default_order);
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t c = prl[i];
		if ((done[c / 8] >> (c % 8)) & 1)
			continue;
		if (put_lease_opt(b, p, c))
			done[c / 8] |= (uint8_t)(1u << (c % 8));
	}
	/* PXE firmware and iPXE only trust an offer carrying option 60; UEFI HTTP boot
	 * ignores offers without "HTTPClient". Send it even when not requested. */
	if (!((done[DHCP_OPT_VENDOR_CLASS / 8] >> (DHCP_OPT_VENDOR_CLASS % 8)) & 1))
		put_lease_opt(b, p, DHCP_OPT_VENDOR_CLASS);
}

static size_t reply_limit(const struct dhcp_msg *req, size_t cap)
{
	size_t max = DHCP_DEFAULT_MAX_MSG;
	size_t l;
	const uint8_t *p = dhcp_msg_opt(req, DHCP_OPT_MAX_MSG_SIZE, &l);
	if (p && l == 2 && get16(p) > DHCP_DEFAULT_MAX_MSG)
		max = get16(p);
	max -= DHCP_UDP_IP_OVERHEAD;
	if (max > DHCP_MAX_LEN - DHCP_UDP_IP_OVERHEAD)
		max = DHCP_MAX_LEN - DHCP_UDP_IP_OVERHEAD;
	return max < cap ? max : cap;
}

int dhcp_reply_build(const struct dhcp_msg *req, const struct dhcp_reply_params *p, uint8_t *buf,
		     size_t cap)
{
	if (p->type != DHCP_OFFER && p->type != DHCP_ACK && p->type != DHCP_NAK)
		return -EINVAL;
	if (req->hlen > 16)
		return -EINVAL;
	size_t limit = reply_limit(req, cap);
	if (limit < DHCP_BOOTP_MIN_LEN)
		return -EMSGSIZE;
	memset(buf, 0, limit);
	buf[OFF_OP] = DHCP_OP_REPLY;
	buf[1] = req->htype;
	buf[2] = req->hlen;
	put32(buf + OFF_XID, req->xid);
	put16(buf + OFF_FLAGS, req->flags);
	if (p->type == DHCP_ACK && (p->copy_ciaddr || req->ciaddr.s_addr))
		memcpy(buf + OFF_CIADDR, &req->ciaddr, 4);
	if (p->type != DHCP_NAK) {
		memcpy(buf + OFF_YIADDR, &p->yiaddr, 4);
		memcpy(buf + OFF_SIADDR, &p->siaddr, 4);
		/* Old PXE ROMs read the boot file from the BOOTP header only. */
		if (p->bootfile && strlen(p->bootfile) < DHCP_FILE_LEN)
			memcpy(buf + OFF_FILE, p->bootfile, strlen(p->bootfile));
	}
	memcpy(buf + OFF_GIADDR, &req->giaddr, 4);
	memcpy(buf + OFF_CHADDR, req->chaddr, 16);
	memcpy(buf + OFF_MAGIC, dhcp_magic, 4);

	struct builder b = {.buf = buf, .cap = limit - 1, .len = DHCP_MIN_LEN};
	put_opt(&b, DHCP_OPT_MSG_TYPE, &p->type, 1);
	put_opt(&b, DHCP_OPT_SERVER_ID, &p->server_id, 4);
	if (p->type == DHCP_NAK) {
		put_opt_str(&b, DHCP_OPT_MESSAGE, p->message);
	} else {
		if (p->lease_secs) {
			uint8_t lt[4];
			put32(lt, p->lease_secs);
			put_opt(&b, DHCP_OPT_LEASE_TIME, lt, 4);
		}
		put_lease_opts(&b, req, p);
	}
	if (b.err)
		return b.err;
	buf[b.len++] = DHCP_OPT_END;
	if (b.len < DHCP_BOOTP_MIN_LEN)
		b.len = DHCP_BOOTP_MIN_LEN;
	return (int)b.len;
}
