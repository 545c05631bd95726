/* TFTP wire format: request/option parsing and packet builders (no I/O). */
#include "daemon/hypervisor/netsvc/tftp/tftp_packet.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A bounds-checked reader of NUL-terminated strings inside a datagram. */
struct cursor {
	const uint8_t *p;
	size_t len, pos;
};

/* Next string; NULL when no NUL terminates it inside the packet. */
static const char *cur_str(struct cursor *c, size_t *slen)
{
	if (c->pos >= c->len)
		return NULL;
	const uint8_t *s = c->p + c->pos;
	const uint8_t *nul = memchr(s, 0, c->len - c->pos);
	if (!nul)
		return NULL;
	*slen = (size_t)(nul - s);
	c->pos += *slen + 1;
	return (const char *)s;
}

/* Decimal without sign or spaces, at most max; false otherwise. */
static bool parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s || strlen(s) > 20)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		uint64_t d = (uint64_t)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static void set_opt(struct tftp_opts *o, const char *name, const char *val)
{
	uint64_t v;
	if (!strcasecmp(name, "blksize") && !o->has_blksize) {
		if (parse_uint(val, TFTP_BLKSIZE_MAX, &v) && v >= TFTP_BLKSIZE_MIN) {
			o->blksize = (uint32_t)v;
			o->has_blksize = true;
		}
	} else if (!strcasecmp(name, "tsize") && !o->has_tsize) {
		if (parse_uint(val, UINT64_MAX, &v)) {
			o->tsize = v;
			o->has_tsize = true;
		}
	} else if (!strcasecmp(name, "timeout") && !o->has_timeout) {
		if (parse_uint(val, TFTP_TIMEOUT_MAX, &v) && v >= 1) {
			o->timeout = (uint32_t)v;
			o->has_timeout = true;
		}
	} else if (!strcasecmp(name, "windowsize") && !o->has_windowsize) {
		if (parse_uint(val, TFTP_WINDOW_MAX, &v) && v >= 1) {
			o->windowsize = (uint32_t)v;
			o->has_windowsize = true;
		}
	}
}

/* name\0value\0 pairs until the end; trailing NUL padding ends the list. */
static int parse_opts(struct cursor *c, struct tftp_opts *o)
{
	memset(o, 0, sizeof(*o));
	while (c->pos < c->len) {
		size_t nl, vl;
		const char *name = cur_str(c, &nl);
		if (!name)
			return -EBADMSG;
		if (nl == 0)
			break;
		const char *val = cur_str(c, &vl);
		if (!val)
			return -EBADMSG;
		set_opt(o, name, val);
	}
	return 0;
}

int tftp_request_parse(const uint8_t *buf, size_t len, struct tftp_request *r)
{
	struct cursor c = {.p = buf, .len = len, .pos = 2};
	size_t nl, ml;

	memset(r, 0, sizeof(*r));
	if (len < 2)
		return -EBADMSG;
	r->opcode = (uint16_t)(buf[0] << 8 | buf[1]);
	if (r->opcode != TFTP_RRQ && r->opcode != TFTP_WRQ)
		return -EOPNOTSUPP;
	const char *name = cur_str(&c, &nl);
	if (!name || nl == 0)
		return -EBADMSG;
	if (nl > TFTP_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(r->filename, name, nl);
	r->filename[nl] = 0;
	const char *mode = cur_str(&c, &ml);
	if (!mode)
		return -EBADMSG;
	if (!strcasecmp(mode, "octet"))
		r->mode = TFTP_MODE_OCTET;
	else if (!strcasecmp(mode, "netascii"))
		r->mode = TFTP_MODE_NETASCII;
	else if (!strcasecmp(mode, "mail"))
		r->mode = TFTP_MODE_MAIL;
	else
		return -EPROTONOSUPPORT;
	return parse_opts(&c, &r->opts);
}

int tftp_oack_parse(const uint8_t *buf, size_t len, struct tftp_opts *o)
{
	struct cursor c = {.p = buf, .len = len, .pos = 2};
	if (len < 2 || (buf[0] << 8 | buf[1]) != TFTP_OACK)
		return -EBADMSG;
	return parse_opts(&c, o);
}

struct writer {
	uint8_t *buf;
	size_t cap, len;
	int err;
};

static void w_bytes(struct writer *w, const void *p, size_t n)
{
	if (w->err || w->cap - w->len < n) {
		w->err = -EMSGSIZE;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void w_u16(struct writer *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	w_bytes(w, b, 2);
}

static void w_str(struct writer *w, const char *s)
{
	w_bytes(w, s, strlen(s) + 1);
}

static void w_opt(struct writer *w, const char *name, uint64_t v)
{
	char num[24];
	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	w_str(w, name);
	w_str(w, num);
}

static void w_opts(struct writer *w, const struct tftp_opts *o)
{
	if (o->has_blksize)
		w_opt(w, "blksize", o->blksize);
	if (o->has_tsize)
		w_opt(w, "tsize", o->tsize);
	if (o->has_timeout)
		w_opt(w, "timeout", o->timeout);
	if (o->has_windowsize)
		w_opt(w, "windowsize", o->windowsize);
}

static int w_done(struct writer *w)
{
	return w->err ? w->err : (int)w->len;
}

int tftp_build_rrq(uint8_t *buf, size_t cap, const char *name, const char *mode,
		   const struct tftp_opts *o)
{
	struct writer w = {.buf = buf, .cap = cap};
	w_u16(&w, TFTP_RRQ);
	w_str(&w, name);
	w_str(&w, mode);
	if (o)
		w_opts(&w, o);
	return w_done(&w);
}

int tftp_build_oack(uint8_t *buf, size_t cap, const struct tftp_opts *o)
{
	struct writer w = {.buf = buf, .cap = cap < TFTP_OACK_MAX ? cap : TFTP_OACK_MAX};
	w_u16(&w, TFTP_OACK);
	w_opts(&w, o);
	return w_done(&w);
}

int tftp_build_error(uint8_t *buf, size_t cap, uint16_t code, const char *msg)
{
	struct writer w = {.buf = buf, .cap = cap};
	w_u16(&w, TFTP_ERROR);
	w_u16(&w, code);
	w_str(&w, msg ? msg : "");
	return w_done(&w);
}

int tftp_build_ack(uint8_t *buf, size_t cap, uint16_t block)
{
	struct writer w = {.buf = buf, .cap = cap};
	w_u16(&w, TFTP_ACK);
	w_u16(&w, block);
	return w_done(&w);
}

void tftp_build_data_hdr(uint8_t *buf, uint16_t block)
{
	buf[0] = 0;
	buf[1] = TFTP_DATA;
	buf[2] = (uint8_t)(block >> 8);
	buf[3] = (uint8_t)block;
}

int tftp_reply_parse(const uint8_t *buf, size_t len, struct tftp_reply *r)
{
	memset(r, 0, sizeof(*r));
	if (len < 4)
		return -EBADMSG;
	r->opcode = (uint16_t)(buf[0] << 8 | buf[1]);
	switch (r->opcode) {
	case TFTP_DATA:
	case TFTP_ACK:
		r->block = (uint16_t)(buf[2] << 8 | buf[3]);
		r->data = buf + 4;
		r->datalen = len - 4;
		return 0;
	case TFTP_ERROR: {
		/* The message may lack its NUL (atftpd's CVE-2019-11365 came from
		 * trusting it): copy at most what is there. */
		r->errcode = (uint16_t)(buf[2] << 8 | buf[3]);
		size_t n = len - 4;
		const uint8_t *nul = memchr(buf + 4, 0, n);
		if (nul)
			n = (size_t)(nul - (buf + 4));
		if (n >= sizeof(r->errmsg))
			n = sizeof(r->errmsg) - 1;
		for (size_t i = 0; i < n; i++)
			r->errmsg[i] =
			    (buf[4 + i] >= 0x20 && buf[4 + i] < 0x7f) ? (char)buf[4 + i] : '?';
		r->errmsg[n] = 0;
		return 0;
	}
	case TFTP_OACK:
		r->data = buf + 2;
		r->datalen = len - 2;
		return 0;
	default:
		return -EBADMSG;
	}
}
