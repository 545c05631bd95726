/* libFuzzer harness for the pure SRPC wire code: the CONNECT request and answer
 * parsers, method lines, the JSON message framer (fed in pieces, then handed to jansson
 * as the server does) and grant globbing. The first byte picks the target. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "srpc_wire.h"
#include "tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_frame(const uint8_t *p, size_t n)
{
	struct srpc_frame f;
	size_t off = 0, used, chunk = n > 0 ? (size_t)(p[0] % 7) + 1 : 1;
	int r = SRPC_FRAME_MORE;

	srpc_frame_init(&f);
	while (off < n && r == SRPC_FRAME_MORE) {
		size_t k = n - off < chunk ? n - off : chunk;

		r = srpc_frame_feed(&f, p + off, k, &used);
		if (r < 0)
			return;
		if (used > k)
			abort();
		off += used;
	}
	if (r == SRPC_FRAME_MORE)
		r = srpc_frame_eof(&f);
	if (r == SRPC_FRAME_DONE) {
		json_t *v =
		    json_loadb((const char *)p, off, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

		json_decref(v);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	const char *p = (const char *)data + 1;
	size_t n = size - 1;

	if (size < 1)
		return 0;
	s = malloc(n + 1);
	if (s == NULL)
		return 0;
	memcpy(s, p, n);
	s[n] = '\0';
	switch (data[0] % 5) {
	case 0: {
		struct srpc_wire_request req;
		size_t end = srpc_wire_header_end(s, n);

		srpc_wire_parse_request(s, end > 0 ? end : n, &req);
		break;
	}
	case 1: {
		char text[64];
		bool ok;

		srpc_wire_parse_status(s, n, &ok, text, sizeof(text));
		break;
	}
	case 2: {
		char *svc, *meth;

		srpc_wire_method_line(s, &svc, &meth);
		break;
	}
	case 3:
		fuzz_frame((const uint8_t *)p, n);
		break;
	case 4: {
		/* "pattern\0name": s is NUL-terminated at n, so the name is too. */
		size_t plen = strlen(s);

		tls_glob_match(s, plen < n ? s + plen + 1 : "Service.Method");
		break;
	}
	}
	free(s);
	return 0;
}
