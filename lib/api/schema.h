/* api/schema: each wire struct is described once, in a service's schema file
 * (lib/api/<service>.def), and that one description gives both the C declarations and
 * the codec descriptors (api/codec.h), so the two cannot drift. The schema file holds
 * only the API_* entries below, in Go declaration order, and is included twice, each
 * time right after this header, which selects what the entries write:
 *
 *   lib/api/<service>.h                        lib/api/<service>.c
 *     #include "schema.h"                        #include "<service>.h"
 *     #include "<service>.def"                   #define API_SCHEMA_DEFINE
 *                                                #include "schema.h"
 *                                                #include "<service>.def"
 *                                                #undef API_SCHEMA_DEFINE
 *
 * The first (DECLARE) writes the enums, the structs, `extern const struct api_type
 * S_type` and the typed wrappers S_to_json / S_from_json / S_clear; the second (DEFINE)
 * writes the field tables, the descriptors and the enum name tables. What is not a wire
 * struct (method names and tables, helpers) stays hand-written in the service's .h/.c.
 *
 * Adding a message is one entry in the service's .def, after the types it uses:
 *
 *   API_MSG(hvapi_export_local_vm_request, "ExportLocalVmRequest",
 *   	API_F(IPV4, ip, "IpAddress", 0)
 *   	API_F(BYTES, verification_cookie, "VerificationCookie", O))
 *
 * declares struct hvapi_export_local_vm_request { struct in_addr ip; struct api_bytes
 * verification_cookie; } and defines hvapi_export_local_vm_request_type, which the
 * method table then names. Fields follow one another without commas, at least one and
 * at most 64 per struct. clang-format does not read .def files: one field per line,
 * tab-indented, 100 columns.
 *
 * Entries (S, T, L: struct tags without "struct"; E: an enum tag; m: the C member;
 * "Key": the JSON key; fl: 0, O (omitempty) or EMPTY_NULL (API_F_PTR only)):
 *
 *   API_ENUM(E, values)            enum E { ... } and E_names[] (NULL-terminated); the
 *     API_V(CONST, "name")           values are 0, 1, 2... in order, JSON uses the name
 *     API_V_COUNT(CONST)             a last enumerator counting the values, no name
 *   API_LIST_TYPE(L, T)            struct L { size_t n; struct T *v; }
 *   API_MSG(S, "GoName", fields)   struct S and its descriptor S_type
 *
 *   API_F(K, m, "Key", fl)         K m: K is BOOL INT INT64 UINT16 UINT32 UINT64 STR
 *                                  BYTES IPV4 MAC TIME (C types: enum api_kind)
 *   API_F_HAS(K, m, "Key", has)    bool has; K m; present iff has (a Go *uint64 ...)
 *   API_F_ENUM(E, m, "Key", fl)    enum E m, written as its name
 *   API_F_STRUCT(T, m, "Key", fl)  struct T m (never omitted, as in Go)
 *   API_F_PTR(T, m, "Key", fl)     struct T *m; NULL is null, or {} with EMPTY_NULL
 *   API_F_EMBED(T, m)              struct T m, its fields flattened into this object
 *   API_F_LIST(K, m, "Key", fl)    API_LIST(K) m; a list of STR is struct api_strlist
 *   API_F_LIST_ENUM(E, m, "Key", fl)     API_LIST(enum E) m
 *   API_F_LIST_STRUCT(T, m, "Key", fl)   API_LIST(struct T) m
 *   API_F_LIST_AS(L, T, m, "Key", fl)    struct L m (an API_LIST_TYPE of T)
 *   API_F_MAP(T, m, "Key", fl)     API_LIST(struct T) m, a JSON object: T's first field
 *                                  (STR) is the key, its second the value
 *   API_F_MAP_AS(L, T, m, "Key", fl)     struct L m (an API_LIST_TYPE of T)
 *   API_F_LIST_MAP_AS(L, T, m, "Key", fl)  API_LIST(struct L) m: a list of maps of T
 *
 * K, E, T and the flags are pasted into names, so none of them may be a macro where
 * the .def is included. Anything these entries cannot say is written by hand next to
 * the generated code, with API_FLD* rows (codec.h). */
#ifndef SS_API_SCHEMA_H
#define SS_API_SCHEMA_H

#include "codec.h"

/* ---- DECLARE: C declarations ---- */

#define API_SCHEMA_DECLARE_ENUM(E, ...)                                                            \
	enum E { __VA_ARGS__ };                                                                    \
	extern const char *const E##_names[];
#define API_SCHEMA_DECLARE_V(c, name) c,
#define API_SCHEMA_DECLARE_V_COUNT(c) c
#define API_SCHEMA_DECLARE_LIST_TYPE(L, T)                                                         \
	struct L {                                                                                 \
		size_t n;                                                                          \
		struct T *v;                                                                       \
	};
#define API_SCHEMA_DECLARE_MSG(S, goname, ...)                                                     \
	struct S {                                                                                 \
		__VA_ARGS__                                                                        \
	};                                                                                         \
	API_CODEC_DECLARE(S)

/* The C member of each scalar kind, and of a list of it. */
#define API_SCHEMA_MEMBER_BOOL(m) bool m;
#define API_SCHEMA_MEMBER_INT(m) int m;
#define API_SCHEMA_MEMBER_INT64(m) int64_t m;
#define API_SCHEMA_MEMBER_UINT16(m) uint16_t m;
#define API_SCHEMA_MEMBER_UINT32(m) uint32_t m;
#define API_SCHEMA_MEMBER_UINT64(m) uint64_t m;
#define API_SCHEMA_MEMBER_STR(m) char *m;
#define API_SCHEMA_MEMBER_BYTES(m) struct api_bytes m;
#define API_SCHEMA_MEMBER_IPV4(m) struct in_addr m;
#define API_SCHEMA_MEMBER_MAC(m) uint8_t m[6];
#define API_SCHEMA_MEMBER_TIME(m) struct timespec m;
#define API_SCHEMA_LIST_MEMBER_INT(m) API_LIST(int) m;
#define API_SCHEMA_LIST_MEMBER_INT64(m) API_LIST(int64_t) m;
#define API_SCHEMA_LIST_MEMBER_UINT16(m) API_LIST(uint16_t) m;
#define API_SCHEMA_LIST_MEMBER_UINT32(m) API_LIST(uint32_t) m;
#define API_SCHEMA_LIST_MEMBER_UINT64(m) API_LIST(uint64_t) m;
#define API_SCHEMA_LIST_MEMBER_STR(m) struct api_strlist m;
#define API_SCHEMA_LIST_MEMBER_BYTES(m) API_LIST(struct api_bytes) m;
#define API_SCHEMA_LIST_MEMBER_IPV4(m) API_LIST(struct in_addr) m;
#define API_SCHEMA_LIST_MEMBER_TIME(m) API_LIST(struct timespec) m;

#define API_SCHEMA_DECLARE_F(K, m, key, fl) API_SCHEMA_MEMBER_##K(m)
#define API_SCHEMA_DECLARE_F_HAS(K, m, key, has)                                                   \
	bool has;                                                                                  \
	API_SCHEMA_MEMBER_##K(m)
#define API_SCHEMA_DECLARE_F_ENUM(E, m, key, fl) enum E m;
#define API_SCHEMA_DECLARE_F_STRUCT(T, m, key, fl) struct T m;
#define API_SCHEMA_DECLARE_F_PTR(T, m, key, fl) struct T *m;
#define API_SCHEMA_DECLARE_F_EMBED(T, m) struct T m;
#define API_SCHEMA_DECLARE_F_LIST(K, m, key, fl) API_SCHEMA_LIST_MEMBER_##K(m)
#define API_SCHEMA_DECLARE_F_LIST_ENUM(E, m, key, fl) API_LIST(enum E) m;
#define API_SCHEMA_DECLARE_F_LIST_STRUCT(T, m, key, fl) API_LIST(struct T) m;
#define API_SCHEMA_DECLARE_F_LIST_AS(L, T, m, key, fl) struct L m;
#define API_SCHEMA_DECLARE_F_MAP(T, m, key, fl) API_LIST(struct T) m;
#define API_SCHEMA_DECLARE_F_MAP_AS(L, T, m, key, fl) struct L m;
#define API_SCHEMA_DECLARE_F_LIST_MAP_AS(L, T, m, key, fl) API_LIST(struct L) m;

/* ---- DEFINE: descriptors ----
 * A field cannot name its struct, so in this pass each one becomes ", (row, args)" and
 * API_SCHEMA_DEFINE_MSG hands S to every row through API_SCHEMA_FOR_EACH. */

#define API_SCHEMA_DEFINE_ENUM(E, ...)                                                             \
	_Static_assert(sizeof(enum E) == sizeof(int), "the codec reads enums as int");             \
	const char *const E##_names[] = {__VA_ARGS__ NULL};
#define API_SCHEMA_DEFINE_V(c, name) name,
#define API_SCHEMA_DEFINE_V_COUNT(c)
#define API_SCHEMA_DEFINE_LIST_TYPE(L, T)
#define API_SCHEMA_DEFINE_MSG(S, goname, ...)                                                      \
	static const struct api_field S##_fields[] = {API_SCHEMA_ROWS(S __VA_ARGS__)};             \
	API_TYPE(S, goname, S##_fields);

#define API_SCHEMA_DEFINE_F(...) , (API_SCHEMA_ROW_F, __VA_ARGS__)
#define API_SCHEMA_DEFINE_F_HAS(...) , (API_SCHEMA_ROW_F_HAS, __VA_ARGS__)
#define API_SCHEMA_DEFINE_F_ENUM(...) , (API_SCHEMA_ROW_F_ENUM, __VA_ARGS__)
#define API_SCHEMA_DEFINE_F_STRUCT(...) , (API_SCHEMA_ROW_F_STRUCT, __VA_ARGS__)
#define API_SCHEMA_DEFINE_F_PTR(...) , (API_SCHEMA_ROW_F_PTR, __VA_ARGS__)
#define API_SCHEMA_DEFINE_F_EMBED(...) , (API_SCHEMA_ROW_F_EMBED, __VA_ARGS__)
#define API_SCHEMA_DEFINE_F_LIST(...) , (API_SCHEMA_ROW_F_LIST, __VA_ARGS__)
#define API_SCHEMA_DEFINE_F_LIST_ENUM(...) , (API_SCHEMA_ROW_F_LIST_ENUM, __VA_ARGS__)
#define API_SCHEMA_DEFINE_F_LIST_STRUCT(...) , (API_SCHEMA_ROW_F_LIST_STRUCT, __VA_ARGS__)
#define API_SCHEMA_DEFINE_F_LIST_AS(...) , (API_SCHEMA_ROW_F_LIST_AS, __VA_ARGS__)
#define API_SCHEMA_DEFINE_F_MAP(...) , (API_SCHEMA_ROW_F_MAP, __VA_ARGS__)
#define API_SCHEMA_DEFINE_F_MAP_AS(...) , (API_SCHEMA_ROW_F_MAP_AS, __VA_ARGS__)
#define API_SCHEMA_DEFINE_F_LIST_MAP_AS(...) , (API_SCHEMA_ROW_F_LIST_MAP_AS, __VA_ARGS__)

/* Field flags as the schema spells them. */
#define API_SCHEMA_FL_0 0
#define API_SCHEMA_FL_O API_OMITEMPTY
#define API_SCHEMA_FL_EMPTY_NULL API_EMPTY_NULL

/* The rows of struct S's field table. */
#define API_SCHEMA_ROW_F(S, K, m, key, fl) API_FLD(S, key, API_##K, m, API_SCHEMA_FL_##fl),
#define API_SCHEMA_ROW_F_HAS(S, K, m, key, has) API_FLD_HAS(S, key, API_##K, m, has),
#define API_SCHEMA_ROW_F_ENUM(S, E, m, key, fl)                                                    \
	API_FLD_ENUM(S, key, m, API_SCHEMA_FL_##fl, E##_names),
#define API_SCHEMA_ROW_F_STRUCT(S, T, m, key, fl)                                                  \
	API_FLD_T(S, key, API_STRUCT, m, API_SCHEMA_FL_##fl, T##_type),
#define API_SCHEMA_ROW_F_PTR(S, T, m, key, fl)                                                     \
	API_FLD_T(S, key, API_PTR, m, API_SCHEMA_FL_##fl, T##_type),
#define API_SCHEMA_ROW_F_EMBED(S, T, m) API_FLD_EMBED(S, m, T##_type),
#define API_SCHEMA_ROW_F_LIST(S, K, m, key, fl)                                                    \
	API_FLD_LIST(S, key, m, API_SCHEMA_FL_##fl, API_##K),
#define API_SCHEMA_ROW_F_LIST_ENUM(S, E, m, key, fl)                                               \
	API_FLD_LIST_ENUM(S, key, m, API_SCHEMA_FL_##fl, E##_names),
#define API_SCHEMA_ROW_F_LIST_STRUCT(S, T, m, key, fl)                                             \
	API_FLD_LIST_T(S, key, m, API_SCHEMA_FL_##fl, API_STRUCT, T##_type),
#define API_SCHEMA_ROW_F_LIST_AS(S, L, T, m, key, fl)                                              \
	API_FLD_LIST_T(S, key, m, API_SCHEMA_FL_##fl, API_STRUCT, T##_type),
#define API_SCHEMA_ROW_F_MAP(S, T, m, key, fl)                                                     \
	API_FLD_T(S, key, API_MAP, m, API_SCHEMA_FL_##fl, T##_type),
#define API_SCHEMA_ROW_F_MAP_AS(S, L, T, m, key, fl)                                               \
	API_FLD_T(S, key, API_MAP, m, API_SCHEMA_FL_##fl, T##_type),
#define API_SCHEMA_ROW_F_LIST_MAP_AS(S, L, T, m, key, fl)                                          \
	API_FLD_LIST_T(S, key, m, API_SCHEMA_FL_##fl, API_MAP, T##_type),

/* API_SCHEMA_ROWS(S, (row, args)...): row(S, args) for each. */
#define API_SCHEMA_ROWS(S, ...) API_SCHEMA_FOR_EACH(API_SCHEMA_ROW, S, __VA_ARGS__)
#define API_SCHEMA_ROW(S, t) API_SCHEMA_ROW_(S, API_SCHEMA_UNPACK t)
#define API_SCHEMA_ROW_(...) API_SCHEMA_ROW__(__VA_ARGS__)
#define API_SCHEMA_ROW__(S, row, ...) row(S, __VA_ARGS__)
#define API_SCHEMA_UNPACK(...) __VA_ARGS__

/* API_SCHEMA_FOR_EACH(X, S, a, b, ...): X(S, a) X(S, b) ..., for up to 64 arguments. */
#define API_SCHEMA_FOR_EACH(X, S, ...)                                                             \
	API_SCHEMA_FE_N(API_SCHEMA_NARGS(__VA_ARGS__))(X, S, __VA_ARGS__)
#define API_SCHEMA_FE_N(n) API_SCHEMA_FE_N_(n)
#define API_SCHEMA_FE_N_(n) API_SCHEMA_FE##n
// clang-format off
#define API_SCHEMA_NARGS(...) API_SCHEMA_NARGS_(__VA_ARGS__,                                       \
	64, 63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49,                            \
	48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33,                            \
	32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17,                            \
	16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define API_SCHEMA_NARGS_(                                                                         \
	a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16,                     \
	a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31, a32,            \
	a33, a34, a35, a36, a37, a38, a39, a40, a41, a42, a43, a44, a45, a46, a47, a48,            \
	a49, a50, a51, a52, a53, a54, a55, a56, a57, a58, a59, a60, a61, a62, a63, a64, n, ...) n
#define API_SCHEMA_FE1(X, S, a) X(S, a)
#define API_SCHEMA_FE2(X, S, a, ...) X(S, a) API_SCHEMA_FE1(X, S, __VA_ARGS__)
#define API_SCHEMA_FE3(X, S, a, ...) X(S, a) API_SCHEMA_FE2(X, S, __VA_ARGS__)
#define API_SCHEMA_FE4(X, S, a, ...) X(S, a) API_SCHEMA_FE3(X, S, __VA_ARGS__)
#define API_SCHEMA_FE5(X, S, a, ...) X(S, a) API_SCHEMA_FE4(X, S, __VA_ARGS__)
#define API_SCHEMA_FE6(X, S, a, ...) X(S, a) API_SCHEMA_FE5(X, S, __VA_ARGS__)
#define API_SCHEMA_FE7(X, S, a, ...) X(S, a) API_SCHEMA_FE6(X, S, __VA_ARGS__)
#define API_SCHEMA_FE8(X, S, a, ...) X(S, a) API_SCHEMA_FE7(X, S, __VA_ARGS__)
#define API_SCHEMA_FE9(X, S, a, ...) X(S, a) API_SCHEMA_FE8(X, S, __VA_ARGS__)
#define API_SCHEMA_FE10(X, S, a, ...) X(S, a) API_SCHEMA_FE9(X, S, __VA_ARGS__)
#define API_SCHEMA_FE11(X, S, a, ...) X(S, a) API_SCHEMA_FE10(X, S, __VA_ARGS__)
#define API_SCHEMA_FE12(X, S, a, ...) X(S, a) API_SCHEMA_FE11(X, S, __VA_ARGS__)
#define API_SCHEMA_FE13(X, S, a, ...) X(S, a) API_SCHEMA_FE12(X, S, __VA_ARGS__)
#define API_SCHEMA_FE14(X, S, a, ...) X(S, a) API_SCHEMA_FE13(X, S, __VA_ARGS__)
#define API_SCHEMA_FE15(X, S, a, ...) X(S, a) API_SCHEMA_FE14(X, S, __VA_ARGS__)
#define API_SCHEMA_FE16(X, S, a, ...) X(S, a) API_SCHEMA_FE15(X, S, __VA_ARGS__)
#define API_SCHEMA_FE17(X, S, a, ...) X(S, a) API_SCHEMA_FE16(X, S, __VA_ARGS__)
#define API_SCHEMA_FE18(X, S, a, ...) X(S, a) API_SCHEMA_FE17(X, S, __VA_ARGS__)
#define API_SCHEMA_FE19(X, S, a, ...) X(S, a) API_SCHEMA_FE18(X, S, __VA_ARGS__)
#define API_SCHEMA_FE20(X, S, a, ...) X(S, a) API_SCHEMA_FE19(X, S, __VA_ARGS__)
#define API_SCHEMA_FE21(X, S, a, ...) X(S, a) API_SCHEMA_FE20(X, S, __VA_ARGS__)
#define API_SCHEMA_FE22(X, S, a, ...) X(S, a) API_SCHEMA_FE21(X, S, __VA_ARGS__)
#define API_SCHEMA_FE23(X, S, a, ...) X(S, a) API_SCHEMA_FE22(X, S, __VA_ARGS__)
#define API_SCHEMA_FE24(X, S, a, ...) X(S, a) API_SCHEMA_FE23(X, S, __VA_ARGS__)
#define API_SCHEMA_FE25(X, S, a, ...) X(S, a) API_SCHEMA_FE24(X, S, __VA_ARGS__)
#define API_SCHEMA_FE26(X, S, a, ...) X(S, a) API_SCHEMA_FE25(X, S, __VA_ARGS__)
#define API_SCHEMA_FE27(X, S, a, ...) X(S, a) API_SCHEMA_FE26(X, S, __VA_ARGS__)
#define API_SCHEMA_FE28(X, S, a, ...) X(S, a) API_SCHEMA_FE27(X, S, __VA_ARGS__)
#define API_SCHEMA_FE29(X, S, a, ...) X(S, a) API_SCHEMA_FE28(X, S, __VA_ARGS__)
#define API_SCHEMA_FE30(X, S, a, ...) X(S, a) API_SCHEMA_FE29(X, S, __VA_ARGS__)
#define API_SCHEMA_FE31(X, S, a, ...) X(S, a) API_SCHEMA_FE30(X, S, __VA_ARGS__)
#define API_SCHEMA_FE32(X, S, a, ...) X(S, a) API_SCHEMA_FE31(X, S, __VA_ARGS__)
#define API_SCHEMA_FE33(X, S, a, ...) X(S, a) API_SCHEMA_FE32(X, S, __VA_ARGS__)
#define API_SCHEMA_FE34(X, S, a, ...) X(S, a) API_SCHEMA_FE33(X, S, __VA_ARGS__)
#define API_SCHEMA_FE35(X, S, a, ...) X(S, a) API_SCHEMA_FE34(X, S, __VA_ARGS__)
#define API_SCHEMA_FE36(X, S, a, ...) X(S, a) API_SCHEMA_FE35(X, S, __VA_ARGS__)
#define API_SCHEMA_FE37(X, S, a, ...) X(S, a) API_SCHEMA_FE36(X, S, __VA_ARGS__)
#define API_SCHEMA_FE38(X, S, a, ...) X(S, a) API_SCHEMA_FE37(X, S, __VA_ARGS__)
#define API_SCHEMA_FE39(X, S, a, ...) X(S, a) API_SCHEMA_FE38(X, S, __VA_ARGS__)
#define API_SCHEMA_FE40(X, S, a, ...) X(S, a) API_SCHEMA_FE39(X, S, __VA_ARGS__)
#define API_SCHEMA_FE41(X, S, a, ...) X(S, a) API_SCHEMA_FE40(X, S, __VA_ARGS__)
#define API_SCHEMA_FE42(X, S, a, ...) X(S, a) API_SCHEMA_FE41(X, S, __VA_ARGS__)
#define API_SCHEMA_FE43(X, S, a, ...) X(S, a) API_SCHEMA_FE42(X, S, __VA_ARGS__)
#define API_SCHEMA_FE44(X, S, a, ...) X(S, a) API_SCHEMA_FE43(X, S, __VA_ARGS__)
#define API_SCHEMA_FE45(X, S, a, ...) X(S, a) API_SCHEMA_FE44(X, S, __VA_ARGS__)
#define API_SCHEMA_FE46(X, S, a, ...) X(S, a) API_SCHEMA_FE45(X, S, __VA_ARGS__)
#define API_SCHEMA_FE47(X, S, a, ...) X(S, a) API_SCHEMA_FE46(X, S, __VA_ARGS__)
#define API_SCHEMA_FE48(X, S, a, ...) X(S, a) API_SCHEMA_FE47(X, S, __VA_ARGS__)
#define API_SCHEMA_FE49(X, S, a, ...) X(S, a) API_SCHEMA_FE48(X, S, __VA_ARGS__)
#define API_SCHEMA_FE50(X, S, a, ...) X(S, a) API_SCHEMA_FE49(X, S, __VA_ARGS__)
#define API_SCHEMA_FE51(X, S, a, ...) X(S, a) API_SCHEMA_FE50(X, S, __VA_ARGS__)
#define API_SCHEMA_FE52(X, S, a, ...) X(S, a) API_SCHEMA_FE51(X, S, __VA_ARGS__)
#define API_SCHEMA_FE53(X, S, a, ...) X(S, a) API_SCHEMA_FE52(X, S, __VA_ARGS__)
#define API_SCHEMA_FE54(X, S, a, ...) X(S, a) API_SCHEMA_FE53(X, S, __VA_ARGS__)
#define API_SCHEMA_FE55(X, S, a, ...) X(S, a) API_SCHEMA_FE54(X, S, __VA_ARGS__)
#define API_SCHEMA_FE56(X, S, a, ...) X(S, a) API_SCHEMA_FE55(X, S, __VA_ARGS__)
#define API_SCHEMA_FE57(X, S, a, ...) X(S, a) API_SCHEMA_FE56(X, S, __VA_ARGS__)
#define API_SCHEMA_FE58(X, S, a, ...) X(S, a) API_SCHEMA_FE57(X, S, __VA_ARGS__)
#define API_SCHEMA_FE59(X, S, a, ...) X(S, a) API_SCHEMA_FE58(X, S, __VA_ARGS__)
#define API_SCHEMA_FE60(X, S, a, ...) X(S, a) API_SCHEMA_FE59(X, S, __VA_ARGS__)
#define API_SCHEMA_FE61(X, S, a, ...) X(S, a) API_SCHEMA_FE60(X, S, __VA_ARGS__)
#define API_SCHEMA_FE62(X, S, a, ...) X(S, a) API_SCHEMA_FE61(X, S, __VA_ARGS__)
#define API_SCHEMA_FE63(X, S, a, ...) X(S, a) API_SCHEMA_FE62(X, S, __VA_ARGS__)
#define API_SCHEMA_FE64(X, S, a, ...) X(S, a) API_SCHEMA_FE63(X, S, __VA_ARGS__)
// clang-format on

#endif

/* ---- The entries, for the pass this inclusion selects ----
 * Outside the include guard: each inclusion (re)defines them. They forward to the
 * implementations above as function-like macros, which every preprocessor we run
 * (gcc, clang, cppcheck's) expands alike. */
#undef API_ENUM
#undef API_V
#undef API_V_COUNT
#undef API_LIST_TYPE
#undef API_MSG
#undef API_F
#undef API_F_HAS
#undef API_F_ENUM
#undef API_F_STRUCT
#undef API_F_PTR
#undef API_F_EMBED
#undef API_F_LIST
#undef API_F_LIST_ENUM
#undef API_F_LIST_STRUCT
#undef API_F_LIST_AS
#undef API_F_MAP
#undef API_F_MAP_AS
#undef API_F_LIST_MAP_AS
#ifdef API_SCHEMA_DEFINE
#define API_ENUM(E, ...) API_SCHEMA_DEFINE_ENUM(E, __VA_ARGS__)
#define API_V(c, name) API_SCHEMA_DEFINE_V(c, name)
#define API_V_COUNT(c) API_SCHEMA_DEFINE_V_COUNT(c)
#define API_LIST_TYPE(L, T) API_SCHEMA_DEFINE_LIST_TYPE(L, T)
#define API_MSG(S, goname, ...) API_SCHEMA_DEFINE_MSG(S, goname, __VA_ARGS__)
#define API_F(...) API_SCHEMA_DEFINE_F(__VA_ARGS__)
#define API_F_HAS(...) API_SCHEMA_DEFINE_F_HAS(__VA_ARGS__)
#define API_F_ENUM(...) API_SCHEMA_DEFINE_F_ENUM(__VA_ARGS__)
#define API_F_STRUCT(...) API_SCHEMA_DEFINE_F_STRUCT(__VA_ARGS__)
#define API_F_PTR(...) API_SCHEMA_DEFINE_F_PTR(__VA_ARGS__)
#define API_F_EMBED(...) API_SCHEMA_DEFINE_F_EMBED(__VA_ARGS__)
#define API_F_LIST(...) API_SCHEMA_DEFINE_F_LIST(__VA_ARGS__)
#define API_F_LIST_ENUM(...) API_SCHEMA_DEFINE_F_LIST_ENUM(__VA_ARGS__)
#define API_F_LIST_STRUCT(...) API_SCHEMA_DEFINE_F_LIST_STRUCT(__VA_ARGS__)
#define API_F_LIST_AS(...) API_SCHEMA_DEFINE_F_LIST_AS(__VA_ARGS__)
#define API_F_MAP(...) API_SCHEMA_DEFINE_F_MAP(__VA_ARGS__)
#define API_F_MAP_AS(...) API_SCHEMA_DEFINE_F_MAP_AS(__VA_ARGS__)
#define API_F_LIST_MAP_AS(...) API_SCHEMA_DEFINE_F_LIST_MAP_AS(__VA_ARGS__)
#else
#define API_ENUM(E, ...) API_SCHEMA_DECLARE_ENUM(E, __VA_ARGS__)
#define API_V(c, name) API_SCHEMA_DECLARE_V(c, name)
#define API_V_COUNT(c) API_SCHEMA_DECLARE_V_COUNT(c)
#define API_LIST_TYPE(L, T) API_SCHEMA_DECLARE_LIST_TYPE(L, T)
#define API_MSG(S, goname, ...) API_SCHEMA_DECLARE_MSG(S, goname, __VA_ARGS__)
#define API_F(K, m, key, fl) API_SCHEMA_DECLARE_F(K, m, key, fl)
#define API_F_HAS(K, m, key, has) API_SCHEMA_DECLARE_F_HAS(K, m, key, has)
#define API_F_ENUM(E, m, key, fl) API_SCHEMA_DECLARE_F_ENUM(E, m, key, fl)
#define API_F_STRUCT(T, m, key, fl) API_SCHEMA_DECLARE_F_STRUCT(T, m, key, fl)
#define API_F_PTR(T, m, key, fl) API_SCHEMA_DECLARE_F_PTR(T, m, key, fl)
#define API_F_EMBED(T, m) API_SCHEMA_DECLARE_F_EMBED(T, m)
#define API_F_LIST(K, m, key, fl) API_SCHEMA_DECLARE_F_LIST(K, m, key, fl)
#define API_F_LIST_ENUM(E, m, key, fl) API_SCHEMA_DECLARE_F_LIST_ENUM(E, m, key, fl)
#define API_F_LIST_STRUCT(T, m, key, fl) API_SCHEMA_DECLARE_F_LIST_STRUCT(T, m, key, fl)
#define API_F_LIST_AS(L, T, m, key, fl) API_SCHEMA_DECLARE_F_LIST_AS(L, T, m, key, fl)
#define API_F_MAP(T, m, key, fl) API_SCHEMA_DECLARE_F_MAP(T, m, key, fl)
#define API_F_MAP_AS(L, T, m, key, fl) API_SCHEMA_DECLARE_F_MAP_AS(L, T, m, key, fl)
#define API_F_LIST_MAP_AS(L, T, m, key, fl) API_SCHEMA_DECLARE_F_LIST_MAP_AS(L, T, m, key, fl)
#endif
