/* json: jansson helpers with Go-compatible encodings and path-reporting getters. */
#include "json.h"

#include "fsutil.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- Reading ---- */

/* Blanks out comment lines in place (keeping line and column numbers). */
static void strip_comments(char *buf, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t start = i, end;
		while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
			i++;
		end = i;
		while (end < len && buf[end] != '\n')
			end++;
		if (i < len && (buf[i] == '#' || buf[i] == '!' ||
				(buf[i] == '/' && i + 1 < len && buf[i + 1] == '/')))
			memset(buf + start, ' ', end - start);
		i = end + 1;
	}
}

static char *msg_new(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *msg_new(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

static void put_err(char **err, char *msg)
{
	if (err)
		*err = msg;
	else
		free(msg);
}

static int parse_stripped(char *buf, size_t len, const char *src, json_t **out, char **err)
{
	json_error_t je;

	strip_comments(buf, len);
	*out = json_loadb(buf, len, JSON_DECODE_ANY, &je);
	if (*out)
		return 0;
	put_err(err, msg_new("%s%sline %d column %d: %s", src ? src : "", src ? ": " : "", je.line,
			     je.column, je.text));
	return -EINVAL;
}

int sjson_load_file(const char *path, size_t max, json_t **out, char **err)
{
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	if (err)
		*err = NULL;
	rc = fsutil_read_file(path, max ? max : SJSON_MAX_FILE_SIZE, &buf, &len);
	if (rc < 0) {
		put_err(err,
			msg_new("%s: %s", path, rc == -EFBIG ? "file too large" : strerror(-rc)));
		return rc;
	}
	rc = parse_stripped(buf, len, path, out, err);
	free(buf);
	return rc;
}

int sjson_load_buf(const char *buf, size_t len, const char *src, json_t **out, char **err)
{
	char *copy;
	int rc;

	*out = NULL;
	if (err)
		*err = NULL;
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, buf, len);
	copy[len] = '\0';
	rc = parse_stripped(copy, len, src, out, err);
	free(copy);
	return rc;
}

int sjson_decode_one(const char *buf, size_t len, json_t **out, size_t *consumed, char **err)
{
	json_error_t je;
	size_t pos;

	*out = NULL;
	*consumed = 0;
	if (err)
		*err = NULL;
	*out = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, &je);
	if (!*out) {
		if (json_error_code(&je) == json_error_premature_end_of_input)
			return -EAGAIN;
		put_err(err, msg_new("line %d column %d: %s", je.line, je.column, je.text));
		return -EINVAL;
	}
	/* With JSON_DISABLE_EOF_CHECK, je.position is the number of bytes consumed. */
	pos = (size_t)je.position;
	if (pos < len && buf[pos] == '\n')
		pos++;
	*consumed = pos;
	return 0;
}

/* ---- Writing ---- */

char *sjson_dumps(const json_t *doc, int flags)
{
	size_t jflags = JSON_ENCODE_ANY;
	size_t extra = 0, len;
	char *raw, *out, *w;

	jflags |= (flags & SJSON_PRETTY) ? JSON_INDENT(4) : JSON_COMPACT;
	if (flags & SJSON_SORT_KEYS)
		jflags |= JSON_SORT_KEYS;
	raw = json_dumps(doc, jflags);
	if (!raw)
		return NULL;
	/* Go's encoder escapes these for safe embedding in HTML and JavaScript. They only
	 * occur inside strings in jansson's output, so a byte-level pass is exact. */
	len = strlen(raw);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)raw[i];
		if (c == '<' || c == '>' || c == '&')
			extra += 5;
		else if (c == 0xe2 && i + 2 < len && (unsigned char)raw[i + 1] == 0x80 &&
			 ((unsigned char)raw[i + 2] == 0xa8 || (unsigned char)raw[i + 2] == 0xa9))
			extra += 3;
	}
	out = malloc(len + extra + 2);
	if (!out) {
		free(raw);
		return NULL;
	}
	w = out;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)raw[i];
		if (c == '<' || c == '>' || c == '&') {
			w += snprintf(w, 7, "\\u00%02x", c);
		} else if (c == 0xe2 && i + 2 < len && (unsigned char)raw[i + 1] == 0x80 &&
			   ((unsigned char)raw[i + 2] == 0xa8 ||
			    (unsigned char)raw[i + 2] == 0xa9)) {
			w += snprintf(w, 7, "\\u%04x",
				      (unsigned char)raw[i + 2] == 0xa8 ? 0x2028 : 0x2029);
			i += 2;
		} else {
			*w++ = (char)c;
		}
	}
	if (flags & SJSON_PRETTY)
		*w++ = '\n';
	*w = '\0';
	free(raw);
	return out;
}

int sjson_write_file(const char *path, const json_t *doc, mode_t mode)
{
	char *s = sjson_dumps(doc, SJSON_PRETTY);
	int rc;

	if (!s)
		return -ENOMEM;
	rc = fsutil_write_atomic(path, s, strlen(s), mode);
	free(s);
	return rc;
}

/* ---- Decoding context ---- */

void sjson_dec_init(struct sjson_dec *d, const char *src)
{
	memset(d, 0, sizeof(*d));
	d->src = src;
}

void sjson_dec_fini(struct sjson_dec *d)
{
	free(d->err);
	d->err = NULL;
}

const char *sjson_dec_error(const struct sjson_dec *d)
{
	return d->err;
}

char *sjson_dec_take_error(struct sjson_dec *d)
{
	char *e = d->err;

	d->err = NULL;
	return e;
}

static bool plain_key(const char *key)
{
	if (!*key)
		return false;
	for (const char *p = key; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return false;
	return true;
}

/* Appends ".Key" or ["odd key"] to buf (of size room at off). Returns new length;
 * on truncation the path is cut where it stops fitting. */
static size_t path_append_key(char *buf, size_t off, size_t size, const char *key)
{
	int n;

	if (plain_key(key))
		n = snprintf(buf + off, size - off, ".%s", key);
	else
		n = snprintf(buf + off, size - off, "[\"%s\"]", key);
	if (n < 0)
		return off;
	return (size_t)n < size - off ? off + (size_t)n : size - 1;
}

void sjson_push_key(struct sjson_dec *d, const char *key)
{
	if (d->depth < SJSON_DEPTH_MAX)
		d->mark[d->depth] = d->len;
	d->depth++;
	d->len = path_append_key(d->path, d->len, sizeof(d->path), key);
}

void sjson_push_index(struct sjson_dec *d, size_t index)
{
	int n;

	if (d->depth < SJSON_DEPTH_MAX)
		d->mark[d->depth] = d->len;
	d->depth++;
	n = snprintf(d->path + d->len, sizeof(d->path) - d->len, "[%zu]", index);
	if (n > 0)
		d->len =
		    (size_t)n < sizeof(d->path) - d->len ? d->len + (size_t)n : sizeof(d->path) - 1;
}

void sjson_pop(struct sjson_dec *d)
{
	if (d->depth == 0)
		return;
	d->depth--;
	if (d->depth < SJSON_DEPTH_MAX)
		d->len = d->mark[d->depth];
	d->path[d->len] = '\0';
}

static int vfail(struct sjson_dec *d, const char *key, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static int vfail(struct sjson_dec *d, const char *key, const char *fmt, va_list ap)
{
	char path[SJSON_PATH_MAX], *what;
	size_t plen;

	if (d->err)
		return -EINVAL;
	memcpy(path, d->path, d->len + 1);
	plen = d->len;
	if (key)
		plen = path_append_key(path, plen, sizeof(path), key);
	if (vasprintf(&what, fmt, ap) < 0)
		return -EINVAL;
	d->err = msg_new("%s%s%s%s%s", d->src ? d->src : "", d->src ? ": " : "", path,
			 plen ? ": " : "", what);
	free(what);
	return -EINVAL;
}

int sjson_fail(struct sjson_dec *d, const char *key, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(d, key, fmt, ap);
	va_end(ap);
	return rc;
}

const char *sjson_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	default:
		return "null";
	}
}

json_t *sjson_lookup(const json_t *obj, const char *key)
{
	json_t *v;
	const char *k;

	if (!json_is_object(obj))
		return NULL;
	v = json_object_get(obj, key);
	if (v)
		return v;
	json_object_foreach((json_t *)obj, k, v)
	{
		if (strcasecmp(k, key) == 0)
			return v;
	}
	return NULL;
}

/* Resolves (j, key) to the value to decode; NULL for missing or null. */
static json_t *value_of(struct sjson_dec *d, json_t *j, const char *key, int *rc)
{
	json_t *v = j;

	*rc = 0;
	if (key) {
		if (!j || json_is_null(j))
			return NULL;
		if (!json_is_object(j)) {
			*rc = sjson_fail(d, NULL, "expected object, got %s", sjson_type_name(j));
			return NULL;
		}
		v = sjson_lookup(j, key);
	}
	if (!v || json_is_null(v))
		return NULL;
	return v;
}

static int type_err(struct sjson_dec *d, const char *key, const char *want, const json_t *v)
{
	return sjson_fail(d, key, "expected %s, got %s", want, sjson_type_name(v));
}

int sjson_get_bool(struct sjson_dec *d, json_t *j, const char *key, bool *out)
{
	int rc;
	json_t *v = value_of(d, j, key, &rc);

	*out = false;
	if (!v)
		return rc;
	if (!json_is_boolean(v))
		return type_err(d, key, "boolean", v);
	*out = json_is_true(v);
	return 0;
}

int sjson_get_int64(struct sjson_dec *d, json_t *j, const char *key, int64_t *out)
{
	int rc;
	json_t *v = value_of(d, j, key, &rc);

	*out = 0;
	if (!v)
		return rc;
	if (!json_is_integer(v))
		return type_err(d, key, "integer", v);
	*out = (int64_t)json_integer_value(v);
	return 0;
}

static int get_ranged(struct sjson_dec *d, json_t *j, const char *key, int64_t lo, int64_t hi,
		      int64_t *out)
{
	int rc = sjson_get_int64(d, j, key, out);

	if (rc < 0)
		return rc;
	if (*out < lo || *out > hi) {
		rc = sjson_fail(d, key, "value %lld out of range", (long long)*out);
		*out = 0;
	}
	return rc;
}

int sjson_get_int(struct sjson_dec *d, json_t *j, const char *key, int *out)
{
	int64_t v;
	int rc = get_ranged(d, j, key, INT_MIN, INT_MAX, &v);

	*out = (int)v;
	return rc;
}

int sjson_get_uint32(struct sjson_dec *d, json_t *j, const char *key, uint32_t *out)
{
	int64_t v;
	int rc = get_ranged(d, j, key, 0, UINT32_MAX, &v);

	*out = (uint32_t)v;
	return rc;
}

int sjson_get_uint64(struct sjson_dec *d, json_t *j, const char *key, uint64_t *out)
{
	int64_t v;
	int rc = get_ranged(d, j, key, 0, INT64_MAX, &v);

	*out = (uint64_t)v;
	return rc;
}

int sjson_get_double(struct sjson_dec *d, json_t *j, const char *key, double *out)
{
	int rc;
	json_t *v = value_of(d, j, key, &rc);

	*out = 0;
	if (!v)
		return rc;
	if (!json_is_number(v))
		return type_err(d, key, "number", v);
	*out = json_number_value(v);
	return 0;
}

bool sjson_string_has_nul(const json_t *v)
{
	return json_is_string(v) &&
	       memchr(json_string_value(v), '\0', json_string_length(v)) != NULL;
}

int sjson_get_str(struct sjson_dec *d, json_t *j, const char *key, const char **out)
{
	int rc;
	json_t *v = value_of(d, j, key, &rc);

	*out = "";
	if (!v)
		return rc;
	if (!json_is_string(v))
		return type_err(d, key, "string", v);
	/* As a C string it would end at the NUL: "nul\u0000tail" would be taken (and
	 * stored) as "nul". */
	if (sjson_string_has_nul(v))
		return sjson_fail(d, key, SJSON_NUL_ERROR);
	*out = json_string_value(v);
	return 0;
}

int sjson_dup_str(struct sjson_dec *d, json_t *j, const char *key, char **out)
{
	const char *s;
	int rc = sjson_get_str(d, j, key, &s);

	*out = strdup(s);
	if (!*out)
		return -ENOMEM;
	return rc;
}

int sjson_get_time(struct sjson_dec *d, json_t *j, const char *key, struct timespec *out)
{
	const char *s;
	int rc = sjson_get_str(d, j, key, &s);

	out->tv_sec = 0;
	out->tv_nsec = 0;
	if (rc < 0 || !*s)
		return rc;
	if (sjson_parse_time(s, out) < 0)
		return sjson_fail(d, key, "bad RFC 3339 time \"%s\"", s);
	return 0;
}

int sjson_get_bytes(struct sjson_dec *d, json_t *j, const char *key, uint8_t **out, size_t *len)
{
	const char *s;
	int rc = sjson_get_str(d, j, key, &s);

	*out = NULL;
	*len = 0;
	if (rc < 0 || !*s)
		return rc;
	rc = sjson_base64_decode(s, out, len);
	if (rc == -EINVAL)
		return sjson_fail(d, key, "bad base64 data");
	return rc;
}

int sjson_get_ipv4(struct sjson_dec *d, json_t *j, const char *key, struct in_addr *out)
{
	const char *s;
	int rc = sjson_get_str(d, j, key, &s);

	out->s_addr = 0;
	if (rc < 0 || !*s)
		return rc;
	if (inet_pton(AF_INET, s, out) != 1) {
		out->s_addr = 0;
		return sjson_fail(d, key, "bad IPv4 address \"%s\"", s);
	}
	return 0;
}

int sjson_get_mac(struct sjson_dec *d, json_t *j, const char *key, uint8_t out[6])
{
	const char *s;
	int rc = sjson_get_str(d, j, key, &s);

	memset(out, 0, 6);
	if (rc < 0 || !*s)
		return rc;
	if (sjson_parse_mac(s, out) < 0)
		return sjson_fail(d, key, "bad MAC address \"%s\"", s);
	return 0;
}

int sjson_get_array(struct sjson_dec *d, json_t *j, const char *key, json_t **out)
{
	int rc;
	json_t *v = value_of(d, j, key, &rc);

	*out = NULL;
	if (!v)
		return rc;
	if (!json_is_array(v))
		return type_err(d, key, "array", v);
	*out = v;
	return 0;
}

int sjson_get_object(struct sjson_dec *d, json_t *j, const char *key, json_t **out)
{
	int rc;
	json_t *v = value_of(d, j, key, &rc);

	*out = NULL;
	if (!v)
		return rc;
	if (!json_is_object(v))
		return type_err(d, key, "object", v);
	*out = v;
	return 0;
}

void sjson_strlist_free(char **list)
{
	if (!list)
		return;
	for (char **p = list; *p; p++)
		free(*p);
	free(list);
}

int sjson_get_strlist(struct sjson_dec *d, json_t *j, const char *key, char ***out, size_t *n)
{
	json_t *arr;
	char **list;
	size_t count;
	int rc = sjson_get_array(d, j, key, &arr);

	*out = NULL;
	*n = 0;
	if (rc < 0 || !arr)
		return rc;
	count = json_array_size(arr);
	list = calloc(count + 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	if (key)
		sjson_push_key(d, key);
	for (size_t i = 0; i < count; i++) {
		json_t *e = json_array_get(arr, i);
		const char *s;

		sjson_push_index(d, i);
		rc = sjson_get_str(d, e, NULL, &s);
		if (rc == 0 && !json_is_string(e))
			rc = type_err(d, NULL, "string", e);
		sjson_pop(d);
		if (rc < 0)
			break;
		list[i] = strdup(s);
		if (!list[i]) {
			rc = -ENOMEM;
			break;
		}
	}
	if (key)
		sjson_pop(d);
	if (rc < 0) {
		sjson_strlist_free(list);
		return rc;
	}
	*out = list;
	*n = count;
	return 0;
}

/* ---- Building ---- */

int sjson_set(json_t *obj, const char *key, json_t *value)
{
	if (!value)
		return -ENOMEM;
	return json_object_set_new(obj, key, value) == 0 ? 0 : -ENOMEM;
}

json_t *sjson_time(const struct timespec *t)
{
	char buf[SJSON_TIME_LEN];

	return json_string(sjson_format_time(t, buf, sizeof(buf)));
}

json_t *sjson_bytes(const void *buf, size_t len)
{
	char *s = sjson_base64_encode(buf, len);
	json_t *j;

	if (!s)
		return NULL;
	j = json_string(s);
	free(s);
	return j;
}

json_t *sjson_ipv4(struct in_addr addr)
{
	char buf[INET_ADDRSTRLEN];

	if (!inet_ntop(AF_INET, &addr, buf, sizeof(buf)))
		return NULL;
	return json_string(buf);
}

json_t *sjson_mac(const uint8_t mac[6])
{
	char buf[18];

	return json_string(sjson_format_mac(mac, buf, sizeof(buf)));
}

json_t *sjson_strlist(char *const *v, size_t n)
{
	json_t *arr;

	if (!v)
		return json_null();
	arr = json_array();
	if (!arr)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (json_array_append_new(arr, json_string(v[i])) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* ---- Encodings ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Go's zero time.Time, 0001-01-01T00:00:00Z, in Unix seconds. */
#define GO_ZERO_SEC (-62135596800LL)

char *sjson_format_time(const struct timespec *t, char *buf, size_t size)
{
	int64_t sec = t->tv_sec, days, rem, y;
	long nsec = t->tv_nsec;
	char frac[11] = "";
	unsigned m, d;

	if (sec == 0 && nsec == 0)
		sec = GO_ZERO_SEC;
	days = sec / 86400;
	rem = sec % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	if (nsec > 0 && nsec < 1000000000L) {
		int len;
		snprintf(frac, sizeof(frac), ".%09ld", nsec);
		len = 10;
		while (frac[len - 1] == '0')
			frac[--len] = '\0';
	}
	snprintf(buf, size, "%04lld-%02u-%02uT%02d:%02d:%02d%sZ", (long long)y, m, d,
		 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), frac);
	return buf;
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int expect(const char **p, char c)
{
	if (**p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

int sjson_parse_time(const char *s, struct timespec *out)
{
	static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	long nsec = 0;
	const char *p = s;
	int64_t t;

	if (digits(&p, 4, &y) || expect(&p, '-') || digits(&p, 2, &mo) || expect(&p, '-') ||
	    digits(&p, 2, &d) || (*p != 'T' && *p != 't') || (p++, digits(&p, 2, &h)) ||
	    expect(&p, ':') || digits(&p, 2, &mi) || expect(&p, ':') || digits(&p, 2, &sec))
		return -EINVAL;
	if (*p == '.') {
		int n = 0;
		p++;
		while (*p >= '0' && *p <= '9') {
			if (n < 9)
				nsec = nsec * 10 + (*p - '0');
			n++;
			p++;
		}
		if (n == 0)
			return -EINVAL;
		for (; n < 9; n++)
			nsec *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh) || expect(&p, ':') || digits(&p, 2, &om) || oh > 23 ||
		    om > 59)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || (unsigned)d > mdays[mo - 1] || h > 23 || mi > 59 ||
	    sec > 59)
		return -EINVAL;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return -EINVAL;
	t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec;
	t -= (int64_t)sign * (oh * 3600 + om * 60);
	/* Times are kept in UTC: an offset can move the instant out of years 0000-9999,
	 * which sjson_format_time could not write in a form this function reads back. */
	if (t < days_from_civil(0, 1, 1) * 86400 || t >= days_from_civil(10000, 1, 1) * 86400)
		return -EINVAL;
	if (t == GO_ZERO_SEC && nsec == 0)
		t = 0;
	out->tv_sec = (time_t)t;
	out->tv_nsec = nsec;
	return 0;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *sjson_base64_encode(const void *buf, size_t len)
{
	const uint8_t *in = buf;
	char *out, *w;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	out = malloc((len + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	w = out;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t rem = len - i;
		if (rem > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (rem > 2)
			v |= in[i + 2];
		*w++ = b64[v >> 18 & 63];
		*w++ = b64[v >> 12 & 63];
		*w++ = rem > 1 ? b64[v >> 6 & 63] : '=';
		*w++ = rem > 2 ? b64[v & 63] : '=';
	}
	*w = '\0';
	return out;
}

static int b64_val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

int sjson_base64_decode(const char *s, uint8_t **out, size_t *len)
{
	size_t n = 0, cap = strlen(s) / 4 * 3 + 3, quad = 0;
	uint32_t acc = 0;
	int pad = 0;
	uint8_t *buf;

	*out = NULL;
	*len = 0;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (const char *p = s; *p; p++) {
		int v;
		if (*p == '\r' || *p == '\n')
			continue; /* Go's decoder ignores line breaks */
		if (*p == '=') {
			/* Padding only in the last two places of the final quad. */
			if (quad < 2)
				goto bad;
			pad++;
			quad++;
			acc <<= 6;
			if (quad == 4) {
				buf[n++] = (uint8_t)(acc >> 16);
				if (pad == 1)
					buf[n++] = (uint8_t)(acc >> 8);
				quad = 0;
				for (p++; *p == '\r' || *p == '\n'; p++)
					;
				if (*p)
					goto bad;
				break;
			}
			continue;
		}
		if (pad)
			goto bad;
		v = b64_val(*p);
		if (v < 0)
			goto bad;
		acc = acc << 6 | (uint32_t)v;
		if (++quad == 4) {
			buf[n++] = (uint8_t)(acc >> 16);
			buf[n++] = (uint8_t)(acc >> 8);
			buf[n++] = (uint8_t)acc;
			quad = 0;
			acc = 0;
		}
	}
	if (quad != 0)
		goto bad;
	if (n == 0) {
		free(buf);
		return 0;
	}
	*out = buf;
	*len = n;
	return 0;
bad:
	free(buf);
	return -EINVAL;
}

char *sjson_format_mac(const uint8_t mac[6], char *buf, size_t size)
{
	snprintf(buf, size, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
	return buf;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int sjson_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t tmp[6];
	char sep = 0;

	/* Six groups of one or two hex digits ("de:ad:be:ef:0:1" is the Fleet Manager's
	 * spelling too), separated by ':' or '-', the same one throughout. */
	for (int i = 0; i < 6; i++) {
		int hi = hexval(*s), lo;

		if (hi < 0)
			return -EINVAL;
		s++;
		lo = hexval(*s);
		if (lo >= 0) {
			tmp[i] = (uint8_t)(hi << 4 | lo);
			s++;
		} else {
			tmp[i] = (uint8_t)hi;
		}
		if (i == 5)
			break;
		if (*s != ':' && *s != '-')
			return -EINVAL;
		if (sep && *s != sep)
			return -EINVAL;
		sep = *s++;
	}
	if (*s != '\0')
		return -EINVAL;
	memcpy(mac, tmp, 6);
	return 0;
}
