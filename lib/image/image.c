/* image/image: the Image JSON (decoded fields plus every other field kept as it came)
 * and the rules for image and directory names. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "image/image.h"
#include "json.h"

/* Go's field order of Image. The decoded ones are marked; the others live in extra and
 * are written back in this order (Go's zero value when absent). */
static const struct field {
	const char *name;
	bool decoded;
	const char *zero; /* "" for strings, NULL for null */
} fields[] = {
    {"BuildBranch", true, NULL},  {"BuildCommitId", true, NULL}, {"BuildGitUrl", false, ""},
    {"CreatedBy", true, NULL},	  {"CreatedFor", false, ""},	 {"Filter", false, NULL},
    {"FileSystem", true, NULL},	  {"Triggers", false, NULL},	 {"ReleaseNotes", false, NULL},
    {"BuildLog", false, NULL},	  {"CreatedOn", true, NULL},	 {"ExpiresAt", true, NULL},
    {"OwnerGroups", false, NULL}, {"OwnerUsers", false, NULL},	 {"Packages", false, NULL},
    {"SourceImage", false, ""},	  {"Tags", true, NULL},
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

static const struct field *known_field(const char *key)
{
	for (size_t i = 0; i < N_FIELDS; i++)
		if (!strcasecmp(fields[i].name, key))
			return &fields[i];
	return NULL;
}

void image_free(struct image *img)
{
	if (!img)
		return;
	json_decref(img->extra);
	json_decref(img->tags);
	free(img->build_branch);
	free(img->build_commit_id);
	free(img->created_by);
	image_fs_free(&img->fs);
	memset(img, 0, sizeof(*img));
}

/* The JSON types Go accepts for the fields kept undecoded that are plain strings or
 * lists; the others (Filter, Triggers, annotations) are kept as they come. */
static int check_extra(struct sjson_dec *d, const char *name, json_t *v)
{
	static const char *const strings[] = {"BuildGitUrl", "CreatedFor", "SourceImage"};
	static const char *const lists[] = {"OwnerGroups", "OwnerUsers", "Packages"};

	for (size_t i = 0; i < 3; i++) {
		if (!strcmp(name, strings[i]) && !json_is_string(v) && !json_is_null(v))
			return sjson_fail(d, name, "expected string, got %s", sjson_type_name(v));
		if (!strcmp(name, lists[i]) && !json_is_array(v) && !json_is_null(v))
			return sjson_fail(d, name, "expected array, got %s", sjson_type_name(v));
	}
	return 0;
}

/* Fields not decoded, under Go's spelling when Go knows them (an exact spelling wins
 * over one differing in case, as in sjson_lookup). */
static int collect_extra(struct sjson_dec *d, const json_t *j, json_t *extra)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)j, key, v)
	{
		const struct field *f = known_field(key);

		if (f && f->decoded)
			continue;
		if (f && strcmp(f->name, key) && json_object_get(extra, f->name))
			continue;
		if (f && check_extra(d, f->name, v) < 0)
			return -EINVAL;
		if (json_object_set(extra, f ? f->name : key, v) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Tags: an object of strings, kept with its keys sorted (Go writes maps so). */
static int decode_tags(struct sjson_dec *d, json_t *j, json_t **out)
{
	json_t *tags, *copy;
	const char **keys;
	const char *key;
	json_t *v;
	size_t n = 0;
	int rc = 0;

	*out = NULL;
	if (sjson_get_object(d, j, "Tags", &tags) < 0)
		return -EINVAL;
	if (!tags)
		return 0;
	copy = json_object();
	keys = calloc(json_object_size(tags) + 1, sizeof(*keys));
	if (!copy || !keys) {
		rc = -ENOMEM;
		goto out;
	}
	sjson_push_key(d, "Tags");
	json_object_foreach(tags, key, v)
	{
		const char *s;

		if (!json_is_string(v) || sjson_get_str(d, v, NULL, &s) < 0) {
			rc = sjson_fail(d, key, "expected string, got %s", sjson_type_name(v));
			break;
		}
		keys[n++] = key;
	}
	sjson_pop(d);
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (size_t i = 0; i < n && !rc; i++)
		if (json_object_set(copy, keys[i], json_object_get(tags, keys[i])) < 0)
			rc = -ENOMEM;
out:
	free(keys);
	if (rc < 0)
		json_decref(copy);
	else
		*out = copy;
	return rc;
}

static int decode_image(struct sjson_dec *d, const json_t *j, struct image *img, char *err,
			size_t errsz)
{
	json_t *v = (json_t *)j, *fs;
	int rc;

	if (!json_is_object(j))
		return sjson_fail(d, NULL, "expected object, got %s", sjson_type_name(j));
	if (sjson_dup_str(d, v, "BuildBranch", &img->build_branch) < 0 ||
	    sjson_dup_str(d, v, "BuildCommitId", &img->build_commit_id) < 0 ||
	    sjson_dup_str(d, v, "CreatedBy", &img->created_by) < 0)
		return sjson_dec_error(d) ? -EINVAL : -ENOMEM;
	if (sjson_get_time(d, v, "CreatedOn", &img->created_on) < 0 ||
	    sjson_get_time(d, v, "ExpiresAt", &img->expires_at) < 0)
		return -EINVAL;
	rc = decode_tags(d, v, &img->tags);
	if (rc < 0)
		return rc;
	img->extra = json_object();
	if (!img->extra)
		return -ENOMEM;
	rc = collect_extra(d, j, img->extra);
	if (rc < 0)
		return rc;
	if (sjson_get_object(d, v, "FileSystem", &fs) < 0)
		return -EINVAL;
	if (!fs)
		return 0;
	rc = image_fs_from_json(fs, &img->fs, err, errsz);
	if (rc == -EINVAL && err && errsz) {
		char *inner = strdup(err);

		if (inner)
			snprintf(err, errsz, "FileSystem.%s", inner);
		free(inner);
	}
	img->has_fs = rc == 0;
	return rc < 0 ? rc : 0;
}

int image_from_json(const json_t *j, struct image *img, char *err, size_t errsz)
{
	struct sjson_dec d;
	int rc;

	memset(img, 0, sizeof(*img));
	if (err && errsz)
		err[0] = '\0';
	sjson_dec_init(&d, NULL);
	rc = decode_image(&d, j, img, err, errsz);
	if (rc < 0) {
		const char *e = sjson_dec_error(&d);

		if (rc == -ENOMEM && err && errsz)
			snprintf(err, errsz, "out of memory");
		else if (e && err && errsz)
			snprintf(err, errsz, "%s", e + (e[0] == '.'));
		image_free(img);
	}
	sjson_dec_fini(&d);
	return rc < 0 ? (rc == -ENOMEM ? -ENOMEM : -EINVAL) : 0;
}

static json_t *field_json(const struct image *img, const struct field *f, bool with_fs)
{
	json_t *v;

	if (!strcmp(f->name, "BuildBranch"))
		return json_string(img->build_branch ? img->build_branch : "");
	if (!strcmp(f->name, "BuildCommitId"))
		return json_string(img->build_commit_id ? img->build_commit_id : "");
	if (!strcmp(f->name, "CreatedBy"))
		return json_string(img->created_by ? img->created_by : "");
	if (!strcmp(f->name, "FileSystem"))
		return with_fs && img->has_fs ? image_fs_to_json(&img->fs) : json_null();
	if (!strcmp(f->name, "CreatedOn"))
		return sjson_time(&img->created_on);
	if (!strcmp(f->name, "ExpiresAt"))
		return sjson_time(&img->expires_at);
	if (!strcmp(f->name, "Tags"))
		return img->tags ? json_deep_copy(img->tags) : json_null();
	v = img->extra ? json_object_get(img->extra, f->name) : NULL;
	if (v && !(json_is_null(v) && f->zero))
		return json_deep_copy(v);
	return f->zero ? json_string(f->zero) : json_null();
}

/* Fields Go does not know, after its own, sorted by name. */
static int append_unknown(json_t *o, const json_t *extra)
{
	const char **keys = calloc(json_object_size(extra) + 1, sizeof(*keys));
	const char *key;
	json_t *v;
	size_t n = 0;
	int rc = 0;

	if (!keys)
		return -ENOMEM;
	json_object_foreach((json_t *)extra, key, v)
	{
		if (!known_field(key))
			keys[n++] = key;
	}
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (size_t i = 0; i < n && !rc; i++)
		rc = sjson_set(o, keys[i], json_deep_copy(json_object_get(extra, keys[i])));
	free(keys);
	return rc;
}

json_t *image_to_json(const struct image *img, bool with_fs)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	for (size_t i = 0; i < N_FIELDS; i++)
		if (sjson_set(o, fields[i].name, field_json(img, &fields[i], with_fs)) < 0)
			goto fail;
	if (img->extra && append_unknown(o, img->extra) < 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static int name_err(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int name_err(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err && errsz) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Components separated by single '/', each image_fs_name_ok and free of control bytes;
 * *ncomp gets their number. */
static int check_components(const char *name, size_t *ncomp, char *err, size_t errsz)
{
	size_t len = strlen(name);
	const char *p = name;

	*ncomp = 0;
	if (len == 0)
		return name_err(err, errsz, "empty name");
	if (len > IMAGE_FULLNAME_MAX)
		return name_err(err, errsz, "name of %zu bytes: longer than %d", len,
				IMAGE_FULLNAME_MAX);
	while (*p) {
		size_t n = strcspn(p, "/");
		char comp[IMAGE_NAME_MAX + 1];

		if (n == 0 || (p[n] == '/' && p[n + 1] == '\0'))
			return name_err(err, errsz, "\"%s\": empty component", name);
		if (n > IMAGE_NAME_MAX)
			return name_err(err, errsz, "\"%.64s...\": component longer than %d bytes",
					name, IMAGE_NAME_MAX);
		memcpy(comp, p, n);
		comp[n] = '\0';
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)comp[i] < 0x20 || comp[i] == 0x7f)
				return name_err(err, errsz, "control character in component %zu",
						*ncomp + 1);
		if (!image_fs_name_ok(comp))
			return name_err(err, errsz, "\"%s\": component \"%s\" refused", name, comp);
		++*ncomp;
		p += n + (p[n] == '/');
	}
	return 0;
}

int image_dirname_check(const char *name, char *err, size_t errsz)
{
	size_t n;

	return check_components(name, &n, err, errsz);
}

int image_name_check(const char *name, char *err, size_t errsz)
{
	size_t n;
	int rc = check_components(name, &n, err, errsz);

	if (rc < 0)
		return rc;
	if (n < 2)
		return name_err(err, errsz, "\"%s\": an image name is <directory>/<leaf>", name);
	return 0;
}

int image_name_dir(const char *name, char *out, size_t outsz)
{
	const char *slash = strrchr(name, '/');
	size_t n;

	if (!slash)
		return -EINVAL;
	n = (size_t)(slash - name);
	if (n >= outsz)
		return -ENAMETOOLONG;
	memcpy(out, name, n);
	out[n] = '\0';
	return 0;
}

void image_leaf_now(char *out, size_t outsz)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	if (!strftime(out, outsz, "%Y-%m-%d:%H:%M:%S", &tm) && outsz)
		out[0] = '\0';
}

/* One value of an image's tag against the acceptable values (an array of strings; a
 * single string accepted too; an empty array accepts any value). */
static bool value_ok(const char *have, const json_t *want)
{
	size_t i;
	json_t *w;

	if (json_is_string(want))
		return !strcmp(have, json_string_value(want));
	if (!json_is_array(want))
		return false;
	if (json_array_size(want) == 0)
		return true;
	json_array_foreach(want, i, w)
	{
		if (json_is_string(w) && !strcmp(have, json_string_value(w)))
			return true;
	}
	return false;
}

bool image_tags_match(const struct image *img, const json_t *match)
{
	const char *key;
	json_t *want;

	if (!json_is_object(match))
		return true;
	json_object_foreach((json_t *)match, key, want)
	{
		json_t *have = img->tags ? json_object_get(img->tags, key) : NULL;

		if (!json_is_string(have) || !value_ok(json_string_value(have), want))
			return false;
	}
	return true;
}
