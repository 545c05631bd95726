/* srpc_wire: pure parsers and builders of the SRPC wire (spec/rpc.md §2, §4, §10): the
 * CONNECT request, HTTP answers, method lines, and the framer that finds where one JSON
 * message ends in a byte stream. No I/O, so unit tests and fuzzers call them directly. */
#ifndef SS_SRPC_WIRE_H
#define SS_SRPC_WIRE_H

#include <stdbool.h>
#include <stddef.h>

#define SRPC_PATH_TLS_JSON "/_SRPC_/TLS/JSON"
#define SRPC_PATH_PLAIN_JSON "/_SRPC_/unsecured/JSON"
#define SRPC_PATH_GOB_PLAIN "/_goSRPC_/"
#define SRPC_PATH_GOB_TLS "/_go_TLS_SRPC_/"
#define SRPC_CONNECTED "HTTP/1.0 200 Connected to Go SRPC\n\n"

enum srpc_wire_path {
	SRPC_WIRE_UNKNOWN,
	SRPC_WIRE_TLS_JSON,
	SRPC_WIRE_PLAIN_JSON,
	SRPC_WIRE_GOB, /* either gob path: answered 404 so Go clients fall back to JSON */
};

struct srpc_wire_request {
	bool is_connect;       /* request method is CONNECT */
	bool bad_query;	       /* query string does not parse */
	bool no_method_powers; /* ?doNotUseMethodPowers=true */
	enum srpc_wire_path path;
};

/* Length of the request header in buf including the blank line that ends it (LF or
 * CRLF line ends), or 0 when buf does not hold a whole header yet. */
size_t srpc_wire_header_end(const char *buf, size_t len);

/* Parses the request line of a header (the rest is ignored). Returns 0, or -EBADMSG
 * when the line is not "METHOD TARGET HTTP/x.y". */
int srpc_wire_parse_request(const char *buf, size_t len, struct srpc_wire_request *req);

/* Maps a URL path (no query) to its tunnel kind. */
enum srpc_wire_path srpc_wire_classify(const char *path, size_t len);

/* Builds a complete HTTP/1.0 error answer with CRLF line ends into buf; returns its
 * length, or -ENOSPC. Body: "404 page not found\n" for 404, empty for 405, the status
 * text otherwise. */
int srpc_wire_http_error(int status, char *buf, size_t sz);

/* Parses the status line of a CONNECT answer (buf holds the whole header).
 * Returns the status code (100..999), or -EBADMSG. *connected is true only for the
 * exact "200 Connected to Go SRPC". status_text (may be NULL) gets "NNN Reason". */
int srpc_wire_parse_status(const char *buf, size_t len, bool *connected, char *status_text,
			   size_t sz);

/* Trims line (in place) and splits "Service.Method". Returns 0 for an empty line
 * (ping), 1 with *service and *method pointing into line (the dot replaced by NUL),
 * or -EINVAL when there is not exactly one dot or the line holds a control byte
 * (< 0x20 or 0x7f after trimming; srpc_conn_read_line stores a NUL as 0x1a). On
 * -EINVAL *service is the trimmed line, control bytes shown as '?', for the error
 * message "malformed Service.Method: ...". */
int srpc_wire_method_line(char *line, char **service, char **method);

/* Finds the end of one JSON value in a byte stream fed in pieces. Only the value's
 * extent is checked (brackets, strings); the bytes are then given to jansson. */
struct srpc_frame {
	unsigned state; /* internal */
	size_t depth;
};

enum {
	SRPC_FRAME_MORE = 0, /* all bytes belong to the value so far; feed more */
	SRPC_FRAME_DONE = 1, /* *used bytes complete the value */
};

void srpc_frame_init(struct srpc_frame *f);

/* Feeds n bytes. Returns SRPC_FRAME_MORE (*used = n), SRPC_FRAME_DONE (*used = bytes
 * up to and including the value's last byte; a bare number, true, false or null ends
 * before the delimiter that follows it), or -EBADMSG (*used = bytes before the bad one)
 * when the bytes cannot start a JSON value. Leading whitespace counts as part of the value. */
int srpc_frame_feed(struct srpc_frame *f, const unsigned char *p, size_t n, size_t *used);

/* At end of stream: SRPC_FRAME_DONE if a bare scalar was in progress, else -EBADMSG. */
int srpc_frame_eof(struct srpc_frame *f);

#endif
