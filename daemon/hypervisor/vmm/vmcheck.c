/* vmcheck: bounds on client-given VM strings (see vmcheck.h). */
#include "daemon/hypervisor/vmm/vmcheck.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define QUOTE_MAX 40

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if (is_ctl((unsigned char)*s))
			return true;
	return false;
}

/* s for a message: at most QUOTE_MAX bytes ("..." after), control bytes as '?'. */
static const char *quote(const char *s, char *buf, size_t sz)
{
	size_t n = 0;

	for (; *s && n < QUOTE_MAX && n + 4 < sz; s++)
		buf[n++] = is_ctl((unsigned char)*s) ? '?' : *s;
	if (*s && n + 4 <= sz) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

static int fail(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errsz > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A text field: at most max bytes, no control characters. */
static int check_text(const char *field, const char *s, size_t max, char *err, size_t errsz)
{
	char q[QUOTE_MAX + 4];
	size_t len;

	if (s == NULL)
		return 0;
	len = strlen(s);
	if (len > max)
		return fail(err, errsz, "%s too long: %zu bytes (at most %zu)", field, len, max);
	if (has_ctl(s))
		return fail(err, errsz, "%s \"%s\" has a control character", field,
			    quote(s, q, sizeof(q)));
	return 0;
}

static bool label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-';
}

const char *vmcheck_dns_labels(const char *name, size_t len)
{
	const char *label = name, *end = name + len;

	for (;;) {
		size_t n = 0;

		while (label + n < end && label[n] != '.')
			n++;
		for (size_t i = 0; i < n; i++)
			if (!label_char(label[i]))
				return "only letters, digits, '-' and '.' are allowed";
		if (n == 0 || n > VMCHECK_LABEL_MAX)
			return "each label must have 1 to 63 bytes";
		if (label[0] == '-' || label[n - 1] == '-')
			return "a label starts or ends with '-'";
		if (label + n == end)
			return NULL;
		label += n + 1;
	}
}

int vmcheck_hostname(const char *h, char *err, size_t errsz)
{
	char q[QUOTE_MAX + 4];
	size_t len = h != NULL ? strlen(h) : 0;
	const char *why;

	if (len == 0)
		return 0;
	if (len > VMCHECK_HOSTNAME_MAX)
		return fail(err, errsz, "invalid hostname \"%s\": %zu bytes (at most %d)",
			    quote(h, q, sizeof(q)), len, VMCHECK_HOSTNAME_MAX);
	why = vmcheck_dns_labels(h, len);
	if (why != NULL)
		return fail(err, errsz, "invalid hostname \"%s\": %s", quote(h, q, sizeof(q)), why);
	return 0;
}

int vmcheck_tags(const struct hvapi_tags *t, char *err, size_t errsz)
{
	char q[QUOTE_MAX + 4];

	if (t->n > VMCHECK_TAGS_MAX)
		return fail(err, errsz, "too many tags: %zu (at most %d)", t->n, VMCHECK_TAGS_MAX);
	for (size_t i = 0; i < t->n; i++) {
		const char *key = api_str(t->v[i].key), *value = api_str(t->v[i].value);
		size_t klen = strlen(key), vlen = strlen(value);

		if (klen == 0)
			return fail(err, errsz, "empty tag key");
		if (klen > VMCHECK_TAG_KEY_MAX)
			return fail(err, errsz, "tag key \"%s\" too long: %zu bytes (at most %d)",
				    quote(key, q, sizeof(q)), klen, VMCHECK_TAG_KEY_MAX);
		if (has_ctl(key))
			return fail(err, errsz, "tag key \"%s\" has a control character",
				    quote(key, q, sizeof(q)));
		if (vlen > VMCHECK_TAG_VALUE_MAX)
			return fail(err, errsz,
				    "value of tag \"%s\" too long: %zu bytes (at most %d)",
				    quote(key, q, sizeof(q)), vlen, VMCHECK_TAG_VALUE_MAX);
	}
	return 0;
}

int vmcheck_names(const char *field, const struct api_strlist *l, char *err, size_t errsz)
{
	char name[64];

	if (l->n > VMCHECK_NAMES_MAX)
		return fail(err, errsz, "too many %s: %zu (at most %d)", field, l->n,
			    VMCHECK_NAMES_MAX);
	for (size_t i = 0; i < l->n; i++) {
		int rc;

		snprintf(name, sizeof(name), "%s[%zu]", field, i);
		rc = check_text(name, l->v[i], VMCHECK_NAME_MAX, err, errsz);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int vmcheck_vm_info(const struct hvapi_vm_info *v, char *err, size_t errsz)
{
	char name[64];
	int rc;

	if ((rc = vmcheck_hostname(v->hostname, err, errsz)) < 0 ||
	    (rc = vmcheck_tags(&v->tags, err, errsz)) < 0 ||
	    (rc = vmcheck_names("OwnerUsers", &v->owner_users, err, errsz)) < 0 ||
	    (rc = vmcheck_names("OwnerGroups", &v->owner_groups, err, errsz)) < 0 ||
	    (rc = check_text("ExtraKernelOptions", v->extra_kernel_options,
			     VMCHECK_KERNEL_OPTIONS_MAX, err, errsz)) < 0 ||
	    (rc = check_text("ImageName", v->image_name, VMCHECK_TEXT_MAX, err, errsz)) < 0 ||
	    (rc = check_text("ImageURL", v->image_url, VMCHECK_TEXT_MAX, err, errsz)) < 0 ||
	    (rc = check_text("RootFileSystemLabel", v->root_fs_label, VMCHECK_ID_MAX, err, errsz)) <
		0 ||
	    (rc = check_text("SubnetId", v->subnet_id, VMCHECK_ID_MAX, err, errsz)) < 0)
		return rc;
	if (v->secondary_subnet_ids.n > VMCHECK_SUBNETS_MAX)
		return fail(err, errsz, "too many SecondarySubnetIDs: %zu (at most %d)",
			    v->secondary_subnet_ids.n, VMCHECK_SUBNETS_MAX);
	for (size_t i = 0; i < v->secondary_subnet_ids.n; i++) {
		snprintf(name, sizeof(name), "SecondarySubnetIDs[%zu]", i);
		rc = check_text(name, v->secondary_subnet_ids.v[i], VMCHECK_ID_MAX, err, errsz);
		if (rc < 0)
			return rc;
	}
	return 0;
}
