/* codec: table-driven JSON encoding and strict decoding of the C structs that carry
 * the project's wire types (lib/api/<service>.h). One descriptor per struct lists its
 * fields in Go's declaration order (api/schema.h writes the structs and their
 * descriptors from one description); three generic functions encode, decode and free any
 * described struct, following the encoding rules of spec/hypervisor.md §3.1 and
 * spec/rpc.md §4.1, §10.9:
 *   - fields flagged API_OMITEMPTY are left out when zero/empty (Go "omitempty");
 *     struct-valued fields and times are never left out;
 *   - enums are strings; IPv4 addresses dotted ("" when zero); MACs "52:54:00:aa:bb:cc";
 *     []byte padded base64; times RFC 3339 with nanoseconds, the zero time written as
 *     "0001-01-01T00:00:00Z"; durations int64 nanoseconds;
 *   - an empty list, map or []byte without API_OMITEMPTY is written null (Go nil);
 *   - maps are written with sorted keys (as Go does);
 *   - decoding: keys match exactly first, then case-insensitively; unknown keys are
 *     ignored; missing keys and null give zero values; a value of the wrong type, an
 *     out-of-range integer or an unknown enum name is an error naming its path
 *     (".Volumes[1].Size: expected integer, got string").
 *
 * Memory: strings are owned char * (NULL means ""; decoders always store a non-NULL
 * string), lists and maps are {size_t n; T *v;} pairs (API_LIST) owned by the struct.
 * api_clear frees everything a struct owns. */
#ifndef SS_API_CODEC_H
#define SS_API_CODEC_H

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "json.h"

/* A list (or a map: a list of {key, value} entry structs) of T. */
#define API_LIST(T)                                                                                \
	struct {                                                                                   \
		size_t n;                                                                          \
		T *v;                                                                              \
	}

/* Layout shared by every API_LIST; the codec reads lists through it. */
struct api_list {
	size_t n;
	void *v;
};

struct api_strlist {
	size_t n;
	char **v;
};

struct api_bytes {
	uint8_t *data;
	size_t len;
};

enum api_kind {
	API_BOOL,   /* bool */
	API_INT,    /* int (Go int) */
	API_INT64,  /* int64_t (Go int64, time.Duration in nanoseconds) */
	API_UINT16, /* uint16_t */
	API_UINT32, /* uint32_t (Go uint where values are small) */
	API_UINT64, /* uint64_t (values above INT64_MAX are not representable) */
	API_STR,    /* char * */
	API_BYTES,  /* struct api_bytes */
	API_IPV4,   /* struct in_addr; 0.0.0.0 means absent */
	API_MAC,    /* uint8_t[6]; all zero means absent ("") */
	API_TIME,   /* struct timespec; {0,0} is Go's zero time */
	API_ENUM,   /* a C enum (int-sized) with names[] */
	API_STRUCT, /* embedded struct of type */
	API_PTR,    /* pointer to a struct of type; NULL = absent/null */
	API_EMBED,  /* struct of type whose fields are flattened into this object */
	API_LIST,   /* API_LIST of elem (type/names describe the element) */
	API_MAP,    /* API_LIST of entries of type: fields[0] the key (API_STR), fields[1]
		       the value */
};

enum api_field_flags {
	API_OMITEMPTY = 1 << 0,	 /* left out when zero/empty (not for times and structs) */
	API_HAS = 1 << 1,	 /* present iff the bool at has_offset is true (Go pointer
				    to a scalar, e.g. Update.MemoryInMiB *uint64) */
	API_EMPTY_NULL = 1 << 2, /* API_PTR: NULL is written {} and {} decodes to NULL
				    (deleted VMs in Update.VMs) */
};

struct api_type;

struct api_field {
	const char *name; /* JSON key; NULL for API_EMBED */
	enum api_kind kind;
	size_t offset;		     /* of the member in the struct */
	unsigned flags;		     /* enum api_field_flags */
	enum api_kind elem;	     /* API_LIST: element kind */
	const struct api_type *type; /* STRUCT, PTR, EMBED, LIST of STRUCT/PTR, MAP entry */
	const char *const *names;    /* ENUM (or LIST of ENUM): name of each value,
					NULL-terminated */
	size_t has_offset;	     /* API_HAS */
};

struct api_type {
	const char *name; /* Go type name, for messages */
	size_t size;	  /* sizeof the C struct */
	const struct api_field *fields;
	size_t n_fields;
};

/* Encodes the struct at obj as a JSON object. Returns a new reference, NULL only on
 * allocation failure. Borrows obj. */
json_t *api_encode(const struct api_type *t, const void *obj);

/* Decodes j (an object, or null for the zero struct) into *obj, which is cleared
 * first. On failure returns -EINVAL with the error in d (path included) or -ENOMEM,
 * and leaves *obj cleared. Borrows j. */
int api_decode(const struct api_type *t, struct sjson_dec *d, json_t *j, void *obj);

/* The same with the error as a new message in *err (src names the document, e.g. a
 * file name or "CreateVmRequest"; may be NULL). */
int api_decode_msg(const struct api_type *t, json_t *j, const char *src, void *obj, char **err);

/* Frees everything obj owns and zeroes it. Accepts a zeroed struct. */
void api_clear(const struct api_type *t, void *obj);

/* The same for one value described by f (whose offset is ignored: p points at the
 * value), e.g. a bare JSON array such as subnets.json. */
json_t *api_encode_value(const struct api_field *f, const void *p);
int api_decode_value(const struct api_field *f, struct sjson_dec *d, json_t *j, void *p);
void api_clear_value(const struct api_field *f, void *p);

/* Deep copy of src into *dst (not cleared first). Returns 0 or -ENOMEM (then *dst is
 * cleared). */
int api_copy(const struct api_type *t, void *dst, const void *src);

/* Encodes and serialises: compact for RPC (flags 0) or a 4-space indented file
 * (SJSON_PRETTY). Returns a new string or NULL on allocation failure. */
char *api_dumps(const struct api_type *t, const void *obj, int flags);

/* Loads a JSON file (comment lines skipped) and decodes it. -ENOENT when missing;
 * other errors with *err a new message naming the file. */
int api_load_file(const struct api_type *t, const char *path, void *obj, char **err);

/* Writes obj as a pretty-printed file atomically with mode. 0 or -errno. */
int api_write_file(const struct api_type *t, const char *path, const void *obj, int mode);

/* Helpers for lists of strings. */
void api_strlist_clear(struct api_strlist *l);
/* Appends a copy of s. 0 or -ENOMEM. */
int api_strlist_add(struct api_strlist *l, const char *s);
bool api_strlist_contains(const struct api_strlist *l, const char *s);

/* s or "" when NULL. */
static inline const char *api_str(const char *s)
{
	return s ? s : "";
}

/* Descriptor-table builders: S is the struct tag (struct S), m the member, fl flags,
 * T an api_type object, nm an enum name table, ek a list's element kind. */
#define API_FLD(S, key, k, m, fl)                                                                  \
	{                                                                                          \
		.name = (key), .kind = (k), .offset = offsetof(struct S, m), .flags = (fl)         \
	}
#define API_FLD_ENUM(S, key, m, fl, nm)                                                            \
	{                                                                                          \
		.name = (key), .kind = API_ENUM, .offset = offsetof(struct S, m), .flags = (fl),   \
		.names = (nm)                                                                      \
	}
#define API_FLD_T(S, key, k, m, fl, T)                                                             \
	{                                                                                          \
		.name = (key), .kind = (k), .offset = offsetof(struct S, m), .flags = (fl),        \
		.type = &(T)                                                                       \
	}
#define API_FLD_EMBED(S, m, T)                                                                     \
	{                                                                                          \
		.name = NULL, .kind = API_EMBED, .offset = offsetof(struct S, m), .type = &(T)     \
	}
#define API_FLD_LIST(S, key, m, fl, ek)                                                            \
	{                                                                                          \
		.name = (key), .kind = API_LIST, .offset = offsetof(struct S, m), .flags = (fl),   \
		.elem = (ek)                                                                       \
	}
#define API_FLD_LIST_T(S, key, m, fl, ek, T)                                                       \
	{                                                                                          \
		.name = (key), .kind = API_LIST, .offset = offsetof(struct S, m), .flags = (fl),   \
		.elem = (ek), .type = &(T)                                                         \
	}
#define API_FLD_LIST_ENUM(S, key, m, fl, nm)                                                       \
	{                                                                                          \
		.name = (key), .kind = API_LIST, .offset = offsetof(struct S, m), .flags = (fl),   \
		.elem = API_ENUM, .names = (nm)                                                    \
	}
#define API_FLD_HAS(S, key, k, m, has)                                                             \
	{                                                                                          \
		.name = (key), .kind = (k), .offset = offsetof(struct S, m), .flags = API_HAS,     \
		.has_offset = offsetof(struct S, has)                                              \
	}
#define API_TYPE(S, goname, fieldtab)                                                              \
	const struct api_type S##_type = {(goname), sizeof(struct S), (fieldtab),                  \
					  sizeof(fieldtab) / sizeof((fieldtab)[0])}

/* Declares S_type, the descriptor of struct S, and typed wrappers S_to_json, S_from_json
 * and S_clear (api/schema.h writes this for every struct it declares). */
#define API_CODEC_DECLARE(S)                                                                       \
	extern const struct api_type S##_type;                                                     \
	static inline json_t *S##_to_json(const struct S *v)                                       \
	{                                                                                          \
		return api_encode(&S##_type, v);                                                   \
	}                                                                                          \
	static inline int S##_from_json(struct sjson_dec *d, json_t *j, struct S *v)               \
	{                                                                                          \
		return api_decode(&S##_type, d, j, v);                                             \
	}                                                                                          \
	static inline void S##_clear(struct S *v)                                                  \
	{                                                                                          \
		api_clear(&S##_type, v);                                                           \
	}

#endif
