/* srpc_wire: pure parsers and builders of the SRPC handshake, method lines and JSON
 * message framing (spec/rpc.md §2, §4, §10). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "srpc_wire.h"

size_t srpc_wire_header_end(const char *buf, size_t len)
{
	size_t i;

	/* A blank line: '\n' followed by '\n' or "\r\n". */
	for (i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* URL-decodes [p, p+n) into out (at most sz-1 bytes); -EBADMSG on a bad escape,
 * -ENAMETOOLONG when it does not fit (caller treats as "not our key"). */
static int url_unescape(const char *p, size_t n, char *out, size_t sz)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		char c = p[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -EBADMSG;
			hi = hexval(p[i + 1]);
			lo = hexval(p[i + 2]);
			if (hi < 0 || lo < 0)
				return -EBADMSG;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (o + 1 >= sz)
			return -ENAMETOOLONG;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/* Go's url.ParseQuery: pairs split by '&'; ';' and bad escapes are errors. */
static int parse_query(const char *q, size_t n, struct srpc_wire_request *req)
{
	size_t i = 0;

	while (i < n) {
		const char *pair = q + i, *amp = memchr(pair, '&', n - i), *eq;
		size_t plen = amp != NULL ? (size_t)(amp - pair) : n - i;
		char key[64], val[64];
		int kr, vr;

		i += plen + 1;
		if (plen == 0)
			continue;
		if (memchr(pair, ';', plen) != NULL)
			return -EBADMSG;
		eq = memchr(pair, '=', plen);
		kr = url_unescape(pair, eq != NULL ? (size_t)(eq - pair) : plen, key, sizeof(key));
		vr = eq != NULL
			 ? url_unescape(eq + 1, plen - (size_t)(eq + 1 - pair), val, sizeof(val))
			 : (val[0] = '\0', 0);
		if (kr == -EBADMSG || vr == -EBADMSG)
			return -EBADMSG;
		if (kr == 0 && vr == 0 && strcmp(key, "doNotUseMethodPowers") == 0)
			req->no_method_powers = strcmp(val, "true") == 0;
	}
	return 0;
}

enum srpc_wire_path srpc_wire_classify(const char *path, size_t len)
{
	static const struct {
		const char *p;
		bool prefix;
		enum srpc_wire_path kind;
	} paths[] = {
	    {SRPC_PATH_TLS_JSON, false, SRPC_WIRE_TLS_JSON},
	    {SRPC_PATH_PLAIN_JSON, false, SRPC_WIRE_PLAIN_JSON},
	    {SRPC_PATH_GOB_TLS, true, SRPC_WIRE_GOB},
	    {SRPC_PATH_GOB_PLAIN, true, SRPC_WIRE_GOB},
	};
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		size_t pl = strlen(paths[i].p);

		if (paths[i].prefix ? len >= pl : len == pl) {
			if (memcmp(path, paths[i].p, pl) == 0)
				return paths[i].kind;
		}
	}
	return SRPC_WIRE_UNKNOWN;
}

int srpc_wire_parse_request(const char *buf, size_t len, struct srpc_wire_request *req)
{
	const char *nl = memchr(buf, '\n', len), *sp1, *sp2, *q, *end;
	size_t llen, tlen;

	memset(req, 0, sizeof(*req));
	if (nl == NULL)
		return -EBADMSG;
	llen = (size_t)(nl - buf);
	if (llen > 0 && buf[llen - 1] == '\r')
		llen--;
	sp1 = memchr(buf, ' ', llen);
	if (sp1 == NULL || sp1 == buf)
		return -EBADMSG;
	sp2 = memchr(sp1 + 1, ' ', llen - (size_t)(sp1 + 1 - buf));
	if (sp2 == NULL || sp2 == sp1 + 1)
		return -EBADMSG;
	end = buf + llen;
	if ((size_t)(end - (sp2 + 1)) < 8 || memcmp(sp2 + 1, "HTTP/", 5) != 0 ||
	    memchr(sp2 + 1, ' ', (size_t)(end - (sp2 + 1))) != NULL)
		return -EBADMSG;
	req->is_connect = (size_t)(sp1 - buf) == 7 && memcmp(buf, "CONNECT", 7) == 0;
	tlen = (size_t)(sp2 - (sp1 + 1));
	q = memchr(sp1 + 1, '?', tlen);
	if (q != NULL) {
		req->path = srpc_wire_classify(sp1 + 1, (size_t)(q - (sp1 + 1)));
		req->bad_query = parse_query(q + 1, (size_t)(sp2 - (q + 1)), req) < 0;
	} else {
		req->path = srpc_wire_classify(sp1 + 1, tlen);
	}
	return 0;
}

static const char *status_reason(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 406:
		return "Not Acceptable";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

int srpc_wire_http_error(int status, char *buf, size_t sz)
{
	char body[64];
	int n;

	if (status == 404)
		snprintf(body, sizeof(body), "404 page not found\n");
	else if (status == 405)
		body[0] = '\0';
	else
		snprintf(body, sizeof(body), "%d %s\n", status, status_reason(status));
	n = snprintf(buf, sz,
		     "HTTP/1.0 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
		     "X-Content-Type-Options: nosniff\r\nContent-Length: %zu\r\n\r\n%s",
		     status, status_reason(status), strlen(body), body);
	if (n < 0 || (size_t)n >= sz)
		return -ENOSPC;
	return n;
}

int srpc_wire_parse_status(const char *buf, size_t len, bool *connected, char *status_text,
			   size_t sz)
{
	const char *nl = memchr(buf, '\n', len), *sp;
	size_t llen, tlen;
	int code = 0, i;

	*connected = false;
	if (status_text != NULL && sz > 0)
		status_text[0] = '\0';
	if (nl == NULL)
		return -EBADMSG;
	llen = (size_t)(nl - buf);
	if (llen > 0 && buf[llen - 1] == '\r')
		llen--;
	if (llen < 12 || memcmp(buf, "HTTP/", 5) != 0)
		return -EBADMSG;
	sp = memchr(buf, ' ', llen);
	if (sp == NULL || (size_t)(buf + llen - sp) < 4)
		return -EBADMSG;
	for (i = 1; i <= 3; i++) {
		if (sp[i] < '0' || sp[i] > '9')
			return -EBADMSG;
		code = code * 10 + (sp[i] - '0');
	}
	if (code < 100 || ((size_t)(buf + llen - sp) > 4 && sp[4] != ' '))
		return -EBADMSG;
	tlen = (size_t)(buf + llen - (sp + 1));
	*connected = tlen == strlen("200 Connected to Go SRPC") &&
		     memcmp(sp + 1, "200 Connected to Go SRPC", tlen) == 0;
	if (status_text != NULL && sz > 0)
		snprintf(status_text, sz, "%.*s", (int)tlen, sp + 1);
	return code;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

int srpc_wire_method_line(char *line, char **service, char **method)
{
	char *start = line, *end = line + strlen(line), *dot;
	bool ctl = false;

	while (start < end && is_space(*start))
		start++;
	while (end > start && is_space(end[-1]))
		end--;
	*end = '\0';
	*service = start;
	*method = NULL;
	if (start == end)
		return 0;
	/* "Hypervisor.ListVMs\x01junk" names no method: refused whole, never cut. */
	for (char *p = start; p < end; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*p = '?';
			ctl = true;
		}
	}
	if (ctl)
		return -EINVAL;
	dot = strchr(start, '.');
	if (dot == NULL || strchr(dot + 1, '.') != NULL)
		return -EINVAL;
	*dot = '\0';
	*method = dot + 1;
	return 1;
}

/* Framer states. */
enum {
	FR_START,  /* skipping leading whitespace */
	FR_NEST,   /* inside an object/array, outside strings */
	FR_STR,	   /* inside a string (top-level when depth == 0) */
	FR_ESC,	   /* after a backslash in a string */
	FR_SCALAR, /* a bare number / literal, at top level or nested */
};

void srpc_frame_init(struct srpc_frame *f)
{
	f->state = FR_START;
	f->depth = 0;
}

static bool is_delim(unsigned char c)
{
	return is_space((char)c) || c == ',' || c == ']' || c == '}' || c == ':' || c == '"' ||
	       c == '[' || c == '{';
}

static bool scalar_start(unsigned char c)
{
	return c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n';
}

int srpc_frame_feed(struct srpc_frame *f, const unsigned char *p, size_t n, size_t *used)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = p[i];

		switch (f->state) {
		case FR_START:
			if (is_space((char)c))
				break;
			if (c == '{' || c == '[') {
				f->depth = 1;
				f->state = FR_NEST;
			} else if (c == '"') {
				f->state = FR_STR;
			} else if (scalar_start(c)) {
				f->state = FR_SCALAR;
			} else {
				*used = i;
				return -EBADMSG;
			}
			break;
		case FR_SCALAR:
			if (!is_delim(c))
				break;
			if (f->depth == 0) {
				*used = i;
				return SRPC_FRAME_DONE;
			}
			f->state = FR_NEST;
			/* fall through - the delimiter is nested structure */
		case FR_NEST:
			if (c == '{' || c == '[') {
				f->depth++;
			} else if (c == '}' || c == ']') {
				if (--f->depth == 0) {
					*used = i + 1;
					return SRPC_FRAME_DONE;
				}
			} else if (c == '"') {
				f->state = FR_STR;
			} else if (scalar_start(c)) {
				f->state = FR_SCALAR;
			}
			break;
		case FR_STR:
			if (c == '\\') {
				f->state = FR_ESC;
			} else if (c == '"') {
				if (f->depth == 0) {
					*used = i + 1;
					return SRPC_FRAME_DONE;
				}
				f->state = FR_NEST;
			}
			break;
		case FR_ESC:
			f->state = FR_STR;
			break;
		}
	}
	*used = n;
	return SRPC_FRAME_MORE;
}

int srpc_frame_eof(struct srpc_frame *f)
{
	return f->state == FR_SCALAR && f->depth == 0 ? SRPC_FRAME_DONE : -EBADMSG;
}
