/* codec: the generic encoder, strict decoder and destructor behind every wire struct
 * of lib/api/ (see codec.h for the encoding rules). */
#include "codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* The element of a list described as a field of its own. */
static struct api_field elem_field(const struct api_field *f)
{
	struct api_field e = {
	    .name = f->name,
	    .kind = f->elem,
	    .offset = 0,
	    .flags = f->flags & API_EMPTY_NULL,
	    .type = f->type,
	    .names = f->names,
	};
	return e;
}

static size_t kind_size(enum api_kind k, const struct api_type *t)
{
	switch (k) {
	case API_BOOL:
		return sizeof(bool);
	case API_INT:
	case API_ENUM:
		return sizeof(int);
	case API_INT64:
		return sizeof(int64_t);
	case API_UINT16:
		return sizeof(uint16_t);
	case API_UINT32:
		return sizeof(uint32_t);
	case API_UINT64:
		return sizeof(uint64_t);
	case API_STR:
		return sizeof(char *);
	case API_BYTES:
		return sizeof(struct api_bytes);
	case API_IPV4:
		return sizeof(struct in_addr);
	case API_MAC:
		return 6;
	case API_TIME:
		return sizeof(struct timespec);
	case API_STRUCT:
	case API_EMBED:
		return t->size;
	case API_PTR:
		return sizeof(void *);
	case API_LIST:
	case API_MAP:
		return sizeof(struct api_list);
	}
	return 0;
}

static struct api_list get_list(const void *p)
{
	struct api_list l;

	memcpy(&l, p, sizeof(l));
	return l;
}

static void *get_ptr(const void *p)
{
	void *v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static int get_int(const void *p)
{
	int v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static bool is_zero(const struct api_field *f, const void *p)
{
	static const uint8_t zero_mac[6];

	switch (f->kind) {
	case API_BOOL:
		return !*(const bool *)p;
	case API_INT:
	case API_ENUM:
		return get_int(p) == 0;
	case API_INT64:
		return *(const int64_t *)p == 0;
	case API_UINT16:
		return *(const uint16_t *)p == 0;
	case API_UINT32:
		return *(const uint32_t *)p == 0;
	case API_UINT64:
		return *(const uint64_t *)p == 0;
	case API_STR: {
		const char *s = get_ptr(p);
		return !s || !*s;
	}
	case API_BYTES:
		return ((const struct api_bytes *)p)->len == 0;
	case API_IPV4:
		return ((const struct in_addr *)p)->s_addr == 0;
	case API_MAC:
		return memcmp(p, zero_mac, 6) == 0;
	case API_PTR:
		return get_ptr(p) == NULL;
	case API_LIST:
	case API_MAP:
		return get_list(p).n == 0;
	case API_TIME:
	case API_STRUCT:
	case API_EMBED:
		return false; /* Go never omits structs */
	}
	return false;
}

/* ---- Encoding ---- */

static int encode_fields(const struct api_type *t, const void *obj, json_t *out);
static json_t *encode_value(const struct api_field *f, const void *p);

static json_t *encode_object(const struct api_type *t, const void *obj)
{
	json_t *o = json_object();

	if (o && encode_fields(t, obj, o) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *encode_list(const struct api_field *f, const void *p)
{
	struct api_list l = get_list(p);
	struct api_field ef = elem_field(f);
	size_t esz = kind_size(f->elem, f->type);
	json_t *a;

	if (l.n == 0)
		return json_null();
	a = json_array();
	if (!a)
		return NULL;
	for (size_t i = 0; i < l.n; i++) {
		if (json_array_append_new(a, encode_value(&ef, (const char *)l.v + i * esz)) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static int key_cmp(const void *a, const void *b, void *arg)
{
	const struct api_type *t = arg;
	const char *ka = get_ptr((const char *)*(void *const *)a + t->fields[0].offset);
	const char *kb = get_ptr((const char *)*(void *const *)b + t->fields[0].offset);

	return strcmp(api_str(ka), api_str(kb));
}

/* Go writes map keys sorted; so do we, through an index of entry pointers. */
static json_t *encode_map(const struct api_field *f, const void *p)
{
	struct api_list l = get_list(p);
	const struct api_type *t = f->type;
	const struct api_field *vf = &t->fields[1];
	const void **idx;
	json_t *o;

	if (l.n == 0)
		return json_null();
	idx = calloc(l.n, sizeof(*idx));
	o = json_object();
	if (!idx || !o)
		goto fail;
	for (size_t i = 0; i < l.n; i++)
		idx[i] = (const char *)l.v + i * t->size;
	qsort_r(idx, l.n, sizeof(*idx), key_cmp, (void *)t);
	for (size_t i = 0; i < l.n; i++) {
		const char *key = api_str(get_ptr((const char *)idx[i] + t->fields[0].offset));
		if (sjson_set(o, key, encode_value(vf, (const char *)idx[i] + vf->offset)) < 0)
			goto fail;
	}
	free(idx);
	return o;
fail:
	free(idx);
	json_decref(o);
	return NULL;
}

static json_t *encode_value(const struct api_field *f, const void *p)
{
	switch (f->kind) {
	case API_BOOL:
		return json_boolean(*(const bool *)p);
	case API_INT:
		return json_integer(get_int(p));
	case API_INT64:
		return json_integer(*(const int64_t *)p);
	case API_UINT16:
		return json_integer(*(const uint16_t *)p);
	case API_UINT32:
		return json_integer(*(const uint32_t *)p);
	case API_UINT64: {
		uint64_t v = *(const uint64_t *)p;
		return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
	}
	case API_STR:
		return json_string(api_str(get_ptr(p)));
	case API_BYTES: {
		const struct api_bytes *b = p;
		return b->len ? sjson_bytes(b->data, b->len) : json_null();
	}
	case API_IPV4: {
		const struct in_addr *a = p;
		return a->s_addr ? sjson_ipv4(*a) : json_string("");
	}
	case API_MAC:
		return is_zero(f, p) ? json_string("") : sjson_mac(p);
	case API_TIME:
		return sjson_time(p);
	case API_ENUM: {
		int v = get_int(p);
		for (int i = 0; f->names[i]; i++)
			if (i == v)
				return json_string(f->names[i]);
		return json_integer(v); /* out of the table: keep the number */
	}
	case API_STRUCT:
	case API_EMBED:
		return encode_object(f->type, p);
	case API_PTR: {
		const void *q = get_ptr(p);
		if (q)
			return encode_object(f->type, q);
		return (f->flags & API_EMPTY_NULL) ? json_object() : json_null();
	}
	case API_LIST:
		return encode_list(f, p);
	case API_MAP:
		return encode_map(f, p);
	}
	return NULL;
}

static int encode_fields(const struct api_type *t, const void *obj, json_t *out)
{
	for (size_t i = 0; i < t->n_fields; i++) {
		const struct api_field *f = &t->fields[i];
		const char *p = (const char *)obj + f->offset;

		if (f->kind == API_EMBED) {
			if (encode_fields(f->type, p, out) < 0)
				return -ENOMEM;
			continue;
		}
		if ((f->flags & API_HAS) && !*(const bool *)((const char *)obj + f->has_offset))
			continue;
		if ((f->flags & API_OMITEMPTY) && is_zero(f, p))
			continue;
		if (sjson_set(out, f->name, encode_value(f, p)) < 0)
			return -ENOMEM;
	}
	return 0;
}

json_t *api_encode(const struct api_type *t, const void *obj)
{
	return encode_object(t, obj);
}

/* ---- Freeing ---- */

static void clear_fields(const struct api_type *t, void *obj);

static void clear_value(const struct api_field *f, void *p)
{
	switch (f->kind) {
	case API_STR:
		free(get_ptr(p));
		break;
	case API_BYTES:
		free(((struct api_bytes *)p)->data);
		break;
	case API_STRUCT:
	case API_EMBED:
		clear_fields(f->type, p);
		break;
	case API_PTR: {
		void *q = get_ptr(p);
		if (q) {
			clear_fields(f->type, q);
			free(q);
		}
		break;
	}
	case API_LIST: {
		struct api_list l = get_list(p);
		struct api_field ef = elem_field(f);
		size_t esz = kind_size(f->elem, f->type);
		for (size_t i = 0; i < l.n; i++)
			clear_value(&ef, (char *)l.v + i * esz);
		free(l.v);
		break;
	}
	case API_MAP: {
		struct api_list l = get_list(p);
		for (size_t i = 0; i < l.n; i++)
			clear_fields(f->type, (char *)l.v + i * f->type->size);
		free(l.v);
		break;
	}
	default:
		break;
	}
}

static void clear_fields(const struct api_type *t, void *obj)
{
	for (size_t i = 0; i < t->n_fields; i++)
		clear_value(&t->fields[i], (char *)obj + t->fields[i].offset);
}

void api_clear(const struct api_type *t, void *obj)
{
	if (!obj)
		return;
	clear_fields(t, obj);
	memset(obj, 0, t->size);
}

/* ---- Decoding ---- */

static int decode_fields(const struct api_type *t, struct sjson_dec *d, json_t *obj, void *out);

static int decode_enum(const struct api_field *f, struct sjson_dec *d, json_t *v, void *p)
{
	int val = 0;

	if (json_is_string(v)) {
		const char *s;
		int rc = sjson_get_str(d, v, NULL, &s); /* refuses "running\u0000x" */

		if (rc < 0)
			return rc;
		val = -1;
		for (int i = 0; f->names[i]; i++)
			if (strcmp(f->names[i], s) == 0)
				val = i;
		if (val < 0)
			return sjson_fail(d, NULL, "unknown value \"%s\"", s);
	} else if (json_is_integer(v)) {
		/* Go also decodes the underlying number of a text-marshalled enum. */
		json_int_t n = json_integer_value(v);
		int count = 0;
		while (f->names[count])
			count++;
		if (n < 0 || n >= count)
			return sjson_fail(d, NULL, "value %lld out of range", (long long)n);
		val = (int)n;
	} else if (!json_is_null(v)) {
		return sjson_fail(d, NULL, "expected string, got %s", sjson_type_name(v));
	}
	memcpy(p, &val, sizeof(val));
	return 0;
}

static int fill_strings(const struct api_type *t, void *obj);

static int decode_object(const struct api_type *t, struct sjson_dec *d, json_t *v, void *p)
{
	if (json_is_null(v))
		return fill_strings(t, p);
	if (!json_is_object(v))
		return sjson_fail(d, NULL, "expected object, got %s", sjson_type_name(v));
	return decode_fields(t, d, v, p);
}

static int decode_value(const struct api_field *f, struct sjson_dec *d, json_t *v, void *p);

static int decode_list(const struct api_field *f, struct sjson_dec *d, json_t *v, void *p)
{
	struct api_field ef = elem_field(f);
	size_t esz = kind_size(f->elem, f->type);
	struct api_list l = {0, NULL};
	size_t n;

	if (json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return sjson_fail(d, NULL, "expected array, got %s", sjson_type_name(v));
	n = json_array_size(v);
	if (n == 0)
		return 0;
	l.v = calloc(n, esz);
	if (!l.v)
		return -ENOMEM;
	l.n = n;
	memcpy(p, &l, sizeof(l)); /* zeroed elements: clearing a partial list is safe */
	for (size_t i = 0; i < n; i++) {
		int rc;
		sjson_push_index(d, i);
		rc = decode_value(&ef, d, json_array_get(v, i), (char *)l.v + i * esz);
		sjson_pop(d);
		if (rc < 0)
			return rc; /* cppcheck-suppress memleak ; *p owns l.v since the memcpy */
	}
	return 0;
}

static int decode_map(const struct api_field *f, struct sjson_dec *d, json_t *v, void *p)
{
	const struct api_type *t = f->type;
	const struct api_field *vf = &t->fields[1];
	struct api_list l = {0, NULL};
	const char *key;
	json_t *val;
	size_t i = 0;

	if (json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return sjson_fail(d, NULL, "expected object, got %s", sjson_type_name(v));
	if (json_object_size(v) == 0)
		return 0;
	l.v = calloc(json_object_size(v), t->size);
	if (!l.v)
		return -ENOMEM;
	l.n = json_object_size(v);
	memcpy(p, &l, sizeof(l));
	json_object_foreach(v, key, val)
	{
		char *entry = (char *)l.v + i++ * t->size;
		char *k = strdup(key);
		int rc;

		if (!k)
			return -ENOMEM;
		memcpy(entry + t->fields[0].offset, &k, sizeof(k));
		sjson_push_key(d, key);
		rc = decode_value(vf, d, val, entry + vf->offset);
		sjson_pop(d);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int decode_ptr(const struct api_field *f, struct sjson_dec *d, json_t *v, void *p)
{
	void *q;
	int rc;

	if (json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return sjson_fail(d, NULL, "expected object, got %s", sjson_type_name(v));
	if ((f->flags & API_EMPTY_NULL) && json_object_size(v) == 0)
		return 0;
	q = calloc(1, f->type->size);
	if (!q)
		return -ENOMEM;
	memcpy(p, &q, sizeof(q)); /* owned by the struct from now on */
	rc = decode_fields(f->type, d, v, q);
	return rc;
}

static int decode_value(const struct api_field *f, struct sjson_dec *d, json_t *v, void *p)
{
	switch (f->kind) {
	case API_BOOL:
		return sjson_get_bool(d, v, NULL, p);
	case API_INT:
		return sjson_get_int(d, v, NULL, p);
	case API_INT64:
		return sjson_get_int64(d, v, NULL, p);
	case API_UINT16: {
		uint32_t u;
		int rc = sjson_get_uint32(d, v, NULL, &u);
		if (rc == 0 && u > UINT16_MAX)
			return sjson_fail(d, NULL, "value %u out of range", u);
		*(uint16_t *)p = (uint16_t)u;
		return rc;
	}
	case API_UINT32:
		return sjson_get_uint32(d, v, NULL, p);
	case API_UINT64:
		return sjson_get_uint64(d, v, NULL, p);
	case API_STR:
		return sjson_dup_str(d, v, NULL, p);
	case API_BYTES: {
		struct api_bytes *b = p;
		return sjson_get_bytes(d, v, NULL, &b->data, &b->len);
	}
	case API_IPV4:
		return sjson_get_ipv4(d, v, NULL, p);
	case API_MAC:
		return sjson_get_mac(d, v, NULL, p);
	case API_TIME:
		return sjson_get_time(d, v, NULL, p);
	case API_ENUM:
		return decode_enum(f, d, v, p);
	case API_STRUCT:
	case API_EMBED:
		return decode_object(f->type, d, v, p);
	case API_PTR:
		return decode_ptr(f, d, v, p);
	case API_LIST:
		return decode_list(f, d, v, p);
	case API_MAP:
		return decode_map(f, d, v, p);
	}
	return -EINVAL;
}

/* Strings are never left NULL by a decode, so users need no NULL checks. */
static int fill_strings(const struct api_type *t, void *obj)
{
	for (size_t i = 0; i < t->n_fields; i++) {
		const struct api_field *f = &t->fields[i];
		char *p = (char *)obj + f->offset;

		if (f->kind == API_EMBED || f->kind == API_STRUCT) {
			if (fill_strings(f->type, p) < 0)
				return -ENOMEM;
		} else if (f->kind == API_STR && !get_ptr(p)) {
			char *s = strdup("");
			if (!s)
				return -ENOMEM;
			memcpy(p, &s, sizeof(s));
		}
	}
	return 0;
}

static int decode_fields(const struct api_type *t, struct sjson_dec *d, json_t *obj, void *out)
{
	for (size_t i = 0; i < t->n_fields; i++) {
		const struct api_field *f = &t->fields[i];
		char *p = (char *)out + f->offset;
		json_t *v;
		int rc;

		if (f->kind == API_EMBED) {
			rc = decode_fields(f->type, d, obj, p);
			if (rc < 0)
				return rc;
			continue;
		}
		v = sjson_lookup(obj, f->name);
		if (!v)
			continue;
		sjson_push_key(d, f->name);
		rc = decode_value(f, d, v, p);
		sjson_pop(d);
		if (rc < 0)
			return rc;
		if ((f->flags & API_HAS) && !json_is_null(v))
			*(bool *)((char *)out + f->has_offset) = true;
	}
	return fill_strings(t, out);
}

json_t *api_encode_value(const struct api_field *f, const void *p)
{
	return encode_value(f, p);
}

int api_decode_value(const struct api_field *f, struct sjson_dec *d, json_t *j, void *p)
{
	int rc;

	memset(p, 0, kind_size(f->kind, f->type));
	rc = decode_value(f, d, j ? j : json_null(), p);
	if (rc < 0)
		api_clear_value(f, p);
	return rc;
}

void api_clear_value(const struct api_field *f, void *p)
{
	clear_value(f, p);
	memset(p, 0, kind_size(f->kind, f->type));
}

int api_decode(const struct api_type *t, struct sjson_dec *d, json_t *j, void *obj)
{
	int rc;

	memset(obj, 0, t->size);
	if (!j || json_is_null(j))
		rc = fill_strings(t, obj);
	else if (!json_is_object(j))
		rc = sjson_fail(d, NULL, "expected object, got %s", sjson_type_name(j));
	else
		rc = decode_fields(t, d, j, obj);
	if (rc < 0)
		api_clear(t, obj);
	return rc;
}

int api_decode_msg(const struct api_type *t, json_t *j, const char *src, void *obj, char **err)
{
	struct sjson_dec d;
	int rc;

	sjson_dec_init(&d, src);
	rc = api_decode(t, &d, j, obj);
	if (err)
		*err = rc == -EINVAL ? sjson_dec_take_error(&d) : NULL;
	sjson_dec_fini(&d);
	return rc;
}

/* ---- Conveniences ---- */

int api_copy(const struct api_type *t, void *dst, const void *src)
{
	json_t *j = api_encode(t, src);
	int rc;

	if (!j) {
		memset(dst, 0, t->size);
		return -ENOMEM;
	}
	rc = api_decode_msg(t, j, NULL, dst, NULL);
	json_decref(j);
	return rc < 0 ? -ENOMEM : 0;
}

char *api_dumps(const struct api_type *t, const void *obj, int flags)
{
	json_t *j = api_encode(t, obj);
	char *s;

	if (!j)
		return NULL;
	s = sjson_dumps(j, flags);
	json_decref(j);
	return s;
}

int api_load_file(const struct api_type *t, const char *path, void *obj, char **err)
{
	json_t *j;
	int rc;

	memset(obj, 0, t->size);
	rc = sjson_load_file(path, 0, &j, err);
	if (rc < 0)
		return rc;
	rc = api_decode_msg(t, j, path, obj, err);
	json_decref(j);
	return rc;
}

int api_write_file(const struct api_type *t, const char *path, const void *obj, int mode)
{
	json_t *j = api_encode(t, obj);
	int rc;

	if (!j)
		return -ENOMEM;
	rc = sjson_write_file(path, j, (mode_t)mode);
	json_decref(j);
	return rc;
}

void api_strlist_clear(struct api_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->n = 0;
	l->v = NULL;
}

int api_strlist_add(struct api_strlist *l, const char *s)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	l->v = v;
	v[l->n] = strdup(s);
	if (!v[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

bool api_strlist_contains(const struct api_strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(api_str(l->v[i]), s) == 0)
			return true;
	return false;
}
