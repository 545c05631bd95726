/* json: thin helpers over jansson for state files and RPC messages, following the
 * project's encoding rules (hypervisor.md §3, rpc.md §4.1 and §10.9):
 * comment lines in files, Go-compatible output (4-space pretty print, <>& escaped),
 * strict typed getters that name the bad field, case-insensitive key lookup, null
 * accepted for lists and maps, and the encodings of times, []byte, IPs and MACs.
 * Names use the prefix sjson_ because jansson owns json_. */
#ifndef SS_JSON_H
#define SS_JSON_H

#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define SJSON_MAX_FILE_SIZE (64u << 20)

/* ---- Reading documents ---- */

/* Reads and parses a JSON file, skipping comment lines (first non-blank characters
 * "#", "//" or "!"). max limits the file size (0 = SJSON_MAX_FILE_SIZE). On success
 * *out is a new reference. On failure returns -errno (-ENOENT for a missing file,
 * -EINVAL for bad JSON) and *err (may be NULL) a new message starting with path,
 * e.g. "x.json: line 3 column 5: ...". */
int sjson_load_file(const char *path, size_t max, json_t **out, char **err);

/* The same for a buffer; src names it in messages (may be NULL). */
int sjson_load_buf(const char *buf, size_t len, const char *src, json_t **out, char **err);

/* RPC framing: parses exactly one JSON object or array at the start of buf (leading
 * whitespace skipped, no comment handling) and consumes the single '\n' that follows
 * it when present. On success *out is a new reference and *consumed the number of
 * bytes used. Returns -EAGAIN if buf holds only part of a value (read more and call
 * again with the whole buffer) or -EINVAL with *err for malformed input. */
int sjson_decode_one(const char *buf, size_t len, json_t **out, size_t *consumed, char **err);

/* ---- Writing documents ---- */

enum sjson_dump_flags {
	SJSON_PRETTY = 1 << 0,	  /* 4-space indent and a trailing newline (files) */
	SJSON_SORT_KEYS = 1 << 1, /* sort object keys (else insertion order) */
};

/* Serialises doc as Go's encoding/json does: compact (RPC) or SJSON_PRETTY (files,
 * as MarshalIndent "", "    " plus "\n"), with '<', '>', '&', U+2028 and U+2029
 * escaped as \u003c etc. Returns a new string or NULL on allocation failure.
 * Borrows doc. */
char *sjson_dumps(const json_t *doc, int flags);

/* Writes doc pretty-printed to path atomically (fsutil_write_atomic) with mode.
 * Returns 0 or -errno. */
int sjson_write_file(const char *path, const json_t *doc, mode_t mode);

/* ---- Strict decoding ---- */

#define SJSON_PATH_MAX 512
#define SJSON_DEPTH_MAX 32

/* Decoding context: remembers where in the document the getters are, and the first
 * error, e.g. "VMs/10.0.0.5/info.json: .Volumes[1].Size: expected integer, got string".
 * Use on the stack: sjson_dec_init, getters, check sjson_dec_error, sjson_dec_fini. */
struct sjson_dec {
	const char *src; /* borrowed: file name or message kind for errors, may be NULL */
	char *err;	 /* first error, owned */
	size_t len;
	int depth;
	size_t mark[SJSON_DEPTH_MAX];
	char path[SJSON_PATH_MAX];
};

void sjson_dec_init(struct sjson_dec *d, const char *src);
void sjson_dec_fini(struct sjson_dec *d);
/* The first error message (borrowed, valid until fini), or NULL if none. */
const char *sjson_dec_error(const struct sjson_dec *d);
/* Moves the first error out (caller frees), leaving the context without one. */
char *sjson_dec_take_error(struct sjson_dec *d);

/* Descend into a member or element for the error path; every push needs a pop. */
void sjson_push_key(struct sjson_dec *d, const char *key);
void sjson_push_index(struct sjson_dec *d, size_t index);
void sjson_pop(struct sjson_dec *d);

/* Records an error at the current path (plus key if not NULL): for checks the
 * getters cannot do ("unknown State \"x\""). Returns -EINVAL. */
int sjson_fail(struct sjson_dec *d, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Object member lookup as Go decodes: exact match first, then ASCII
 * case-insensitive. Returns a borrowed reference or NULL (missing, or obj not an
 * object). (Go differs only for objects holding several keys that differ just in
 * case: it takes the last one, we prefer the exact one.) */
json_t *sjson_lookup(const json_t *obj, const char *key);

/* Typed getters. With key != NULL, j is an object and the member key is read (j not
 * being an object is an error); with key == NULL, j itself is the value.
 * A missing member or a JSON null gives the zero value (Go semantics) and 0.
 * A value of the wrong type gives -EINVAL, the zero value, and an error in d.
 * Integers beyond INT64_MAX cannot be read (jansson rejects them when parsing). */
int sjson_get_bool(struct sjson_dec *d, json_t *j, const char *key, bool *out);
int sjson_get_int(struct sjson_dec *d, json_t *j, const char *key, int *out);
int sjson_get_int64(struct sjson_dec *d, json_t *j, const char *key, int64_t *out);
int sjson_get_uint32(struct sjson_dec *d, json_t *j, const char *key, uint32_t *out);
int sjson_get_uint64(struct sjson_dec *d, json_t *j, const char *key, uint64_t *out);
int sjson_get_double(struct sjson_dec *d, json_t *j, const char *key, double *out);
/* Borrowed string valid while j lives; "" when missing. A string holding a NUL
 * character (\u0000, which RPC messages may carry) is refused with -EINVAL and
 * SJSON_NUL_ERROR: as a C string it would silently lose everything after the NUL. The
 * getters built on this one (dup_str, time, bytes, ipv4, mac, strlist) refuse it too. */
int sjson_get_str(struct sjson_dec *d, json_t *j, const char *key, const char **out);
#define SJSON_NUL_ERROR "string contains a NUL character (\\u0000)"
/* True when v is a string with a NUL character inside. */
bool sjson_string_has_nul(const json_t *v);
/* New string (caller frees; "" when missing); -ENOMEM possible. */
int sjson_dup_str(struct sjson_dec *d, json_t *j, const char *key, char **out);
/* RFC 3339 string; the zero time "0001-01-01T00:00:00Z" gives {0, 0}. */
int sjson_get_time(struct sjson_dec *d, json_t *j, const char *key, struct timespec *out);
/* Padded standard base64; *out is a new buffer (NULL when empty/missing). */
int sjson_get_bytes(struct sjson_dec *d, json_t *j, const char *key, uint8_t **out, size_t *len);
/* Dotted quad; "" or missing gives 0.0.0.0. */
int sjson_get_ipv4(struct sjson_dec *d, json_t *j, const char *key, struct in_addr *out);
/* "52:54:00:aa:bb:cc" (any case); "" or missing gives all zeros. */
int sjson_get_mac(struct sjson_dec *d, json_t *j, const char *key, uint8_t out[6]);
/* Borrowed array/object, or NULL when missing or null (Go nil). */
int sjson_get_array(struct sjson_dec *d, json_t *j, const char *key, json_t **out);
int sjson_get_object(struct sjson_dec *d, json_t *j, const char *key, json_t **out);
/* Array of strings into a new NULL-terminated array of new strings (*n entries; free
 * with sjson_strlist_free); null/missing gives *out = NULL, *n = 0. */
int sjson_get_strlist(struct sjson_dec *d, json_t *j, const char *key, char ***out, size_t *n);
void sjson_strlist_free(char **list);

/* ---- Building documents ---- */

/* Sets obj[key] = value, taking ownership of value (which may be NULL after a failed
 * constructor: then -ENOMEM). Lets callers chain constructors and check once. */
int sjson_set(json_t *obj, const char *key, json_t *value);

/* Constructors return a new reference or NULL on allocation failure. */
json_t *sjson_time(const struct timespec *t);	  /* RFC 3339, nanoseconds, UTC */
json_t *sjson_bytes(const void *buf, size_t len); /* base64 string */
json_t *sjson_ipv4(struct in_addr addr);	  /* "10.1.2.3" */
json_t *sjson_mac(const uint8_t mac[6]);	  /* "52:54:00:aa:bb:cc" */
/* Strings as an array; v == NULL gives JSON null (Go nil slice). */
json_t *sjson_strlist(char *const *v, size_t n);

/* ---- Encodings, usable without JSON ---- */

#define SJSON_TIME_LEN 36 /* "2024-05-01T10:00:00.123456789Z" + NUL, with room */
#define SJSON_ZERO_TIME "0001-01-01T00:00:00Z"

/* Go RFC3339Nano in UTC, trailing zeros of the fraction dropped; {0,0} gives
 * SJSON_ZERO_TIME. Returns buf. */
char *sjson_format_time(const struct timespec *t, char *buf, size_t size);
/* Accepts "Z" or a "+hh:mm"/"-hh:mm" offset and 0-9 fraction digits. Returns 0 or
 * -EINVAL (also for an instant outside the UTC years 0000-9999). SJSON_ZERO_TIME
 * gives {0, 0}. */
int sjson_parse_time(const char *s, struct timespec *out);

/* Padded standard base64 into a new string; NULL on allocation failure. */
char *sjson_base64_encode(const void *buf, size_t len);
/* Strict decode into a new buffer (*out NULL when len 0). Returns 0, -EINVAL,
 * -ENOMEM. */
int sjson_base64_decode(const char *s, uint8_t **out, size_t *len);

/* "52:54:00:aa:bb:cc": returns buf (size >= 18). */
char *sjson_format_mac(const uint8_t mac[6], char *buf, size_t size);
int sjson_parse_mac(const char *s, uint8_t mac[6]);

/* The JSON type of v as a word for error messages ("object", "string"...). */
const char *sjson_type_name(const json_t *v);

#endif
