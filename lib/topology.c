/* topology: loads the fleet's topology tree (spec/fleet-and-images.md §2) into an
 * immutable snapshot: comment lines, inheritance down the tree, every validation rule
 * with file:line messages, and the lookup indexes. Pure but for topology_load_dir. */
#include "topology.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"

#define TOPO_MAX_FILE_SIZE (16u << 20)
#define TOPO_MAX_DEPTH 32	    /* directory levels below the root */
#define TOPO_MAX_PATH 1024	    /* bytes of a file's path */
#define TOPO_MAX_VAR_LEN (1u << 20) /* an expanded variable */
/* Entries copied into the snapshot (visible subnets of every directory, each machine's
 * merged tags and owners): bounds memory whatever the product of the inputs. */
#define TOPO_MAX_COPIES (1u << 22)

enum topo_kind {
	TK_MACHINES,
	TK_SUBNETS,
	TK_TAGS,
	TK_OWNERS,
	TK_INSTALL,
	TK_VARS,
	TK_LOCAL_VARS,
	TK_N
};

static const char *const kind_names[TK_N] = {
    "machines.json",  "subnets.json",	      "tags.json", "owners.json", "install-config.json",
    "variables.json", "local_variables.json",
};

/* A parsed file: its JSON and the line on which each top-level element or member
 * starts (in order). */
struct tfile {
	const char *path; /* borrowed from the caller's topo_file during the load */
	json_t *j;
	size_t *lines;
	size_t nlines;
};

struct tdir {
	char *path;
	size_t parent; /* index; the root is its own parent */
	struct tfile f[TK_N];
	struct fmapi_topology_subnet *subnets; /* of its own subnets.json */
	size_t nsubnets;
	const struct fmapi_topology_subnet **visible; /* own, then the parent's */
	size_t nvisible;
	json_t *tags;		      /* effective: root down to here */
	struct fmapi_owners owners;   /* effective */
	const json_t *storage_layout; /* effective, borrowed from a tfile */
};

struct tvar {
	char *name;
	char *value;
};

struct ipidx {
	uint32_t ip; /* host order */
	size_t m;
};

struct macidx {
	uint8_t mac[6];
	size_t m;
};

struct topology {
	atomic_int refs;
	char digest[2 * 32 + 1];
	struct tdir *dirs; /* sorted by path, the root first */
	size_t ndirs;
	struct topo_machine *machines;
	size_t nmachines;
	struct ipidx *byip;
	size_t nbyip;
	struct macidx *bymac;
	size_t nbymac;
	struct tvar *vars;
	size_t nvars;
};

/* One recognised file of the input. */
struct infile {
	const struct topo_file *f;
	char *dir;
	enum topo_kind kind;
};

struct loadctx {
	struct topology *t;
	char *err;
	size_t errsz;
	json_t *seen; /* "h:name", "i:ip", "m:mac" -> "file:line" of the first user */
	size_t copies;
	size_t cap_machines;
};

static int fail(struct loadctx *c, const char *path, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct loadctx *c, const char *path, size_t line, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (!c->err || !c->errsz)
		return -EINVAL;
	if (line)
		n = snprintf(c->err, c->errsz, "%s:%zu: ", path, line);
	else if (path)
		n = snprintf(c->err, c->errsz, "%s: ", path);
	if (n < 0 || (size_t)n >= c->errsz)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errsz - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int fail_nomem(struct loadctx *c)
{
	if (c->err && c->errsz)
		snprintf(c->err, c->errsz, "out of memory");
	return -ENOMEM;
}

static int budget(struct loadctx *c, size_t n)
{
	if (n > TOPO_MAX_COPIES - c->copies)
		return fail(c, NULL, 0, "topology too large (more than %u inherited entries)",
			    TOPO_MAX_COPIES);
	c->copies += n;
	return 0;
}

static const char *ip_str(struct in_addr ip, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &ip, buf, INET_ADDRSTRLEN);
}

static bool mac_zero(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return memcmp(mac, zero, 6) == 0;
}

/* ---- Parsing ---- */

/* Blanks comment lines (first non-blank characters "//" or "#"), keeping newlines. */
static void strip_comments(char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t start = i, end;

		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
			i++;
		end = i;
		while (end < len && s[end] != '\n')
			end++;
		if (i < len && (s[i] == '#' || (s[i] == '/' && i + 1 < len && s[i + 1] == '/')))
			memset(s + start, ' ', end - start);
		i = end + 1;
	}
}

/* Records the line on which each element (array) or member (object) of the top-level
 * container starts. s is valid JSON (jansson parsed it), so strings cannot hold a raw
 * newline and the brackets balance. */
static int scan_lines(const char *s, size_t len, struct tfile *f)
{
	size_t line = 1, depth = 0, cap = 0;
	bool expect = false;

	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (ch == '\n') {
			line++;
			continue;
		}
		if (ch == ' ' || ch == '\t' || ch == '\r')
			continue;
		if (expect && depth == 1 && ch != ']' && ch != '}') {
			if (f->nlines == cap) {
				size_t ncap = cap ? 2 * cap : 16;
				size_t *v = reallocarray(f->lines, ncap, sizeof(*v));

				if (!v)
					return -ENOMEM;
				f->lines = v;
				cap = ncap;
			}
			f->lines[f->nlines++] = line;
		}
		expect = false;
		if (ch == '"') {
			for (i++; i < len && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
		} else if (ch == '[' || ch == '{') {
			if (++depth == 1)
				expect = true;
		} else if (ch == ']' || ch == '}') {
			depth--;
		} else if (ch == ',' && depth == 1) {
			expect = true;
		}
	}
	return 0;
}

static size_t line_of(const struct tfile *f, size_t i)
{
	return i < f->nlines ? f->lines[i] : 0;
}

static int parse_file(struct loadctx *c, const struct topo_file *in, struct tfile *f)
{
	json_error_t je;
	char *copy;
	int rc;

	f->path = in->path;
	copy = malloc(in->len + 1);
	if (!copy)
		return fail_nomem(c);
	memcpy(copy, in->data, in->len);
	copy[in->len] = '\0';
	strip_comments(copy, in->len);
	f->j = json_loadb(copy, in->len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (!f->j) {
		free(copy);
		return fail(c, in->path, je.line > 0 ? (size_t)je.line : 1, "%s", je.text);
	}
	rc = scan_lines(copy, in->len, f);
	free(copy);
	return rc < 0 ? fail_nomem(c) : 0;
}

/* ---- Unknown keys ---- */

static const struct api_field *field_find(const struct api_type *t, const char *key, bool exact)
{
	for (size_t i = 0; i < t->n_fields; i++) {
		const struct api_field *f = &t->fields[i], *e;

		if (f->kind == API_EMBED) {
			e = field_find(f->type, key, exact);
			if (e)
				return e;
		} else if (exact ? strcmp(f->name, key) == 0 : strcasecmp(f->name, key) == 0) {
			return f;
		}
	}
	return NULL;
}

/* The first key of obj (and of the structs inside it) that t does not know, as a
 * path into path ("IPMI.HostIpAdress"); false when there is none. The recursion
 * follows the schema, not the input. */
static bool unknown_key(const struct api_type *t, json_t *obj, char *path, size_t psz, size_t plen)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return false;
	json_object_foreach(obj, key, v)
	{
		const struct api_field *f = field_find(t, key, true);
		int n;

		if (!f)
			f = field_find(t, key, false);
		n = snprintf(path + plen, psz - plen, "%s%s", plen ? "." : "", key);
		if (n < 0 || (size_t)n >= psz - plen)
			n = (int)(psz - plen - 1);
		if (!f)
			return true;
		if ((f->kind == API_STRUCT || f->kind == API_PTR) &&
		    unknown_key(f->type, v, path, psz, plen + (size_t)n))
			return true;
		if (f->kind == API_LIST && f->elem == API_STRUCT && json_is_array(v)) {
			size_t i;
			json_t *e;

			json_array_foreach(v, i, e)
			{
				size_t l = plen + (size_t)n;
				int k = snprintf(path + l, psz - l, "[%zu]", i);

				if (k < 0 || (size_t)k >= psz - l)
					k = (int)(psz - l - 1);
				if (unknown_key(f->type, e, path, psz, l + (size_t)k))
					return true;
			}
		}
		path[plen] = '\0';
	}
	return false;
}

/* Decodes one element of a file into obj, refusing unknown keys. */
static int decode_elem(struct loadctx *c, const struct api_type *t, const struct tfile *f, size_t i,
		       json_t *j, void *obj, const char *what)
{
	struct sjson_dec d;
	char path[256] = "";
	int rc;

	if (json_is_object(j) && unknown_key(t, j, path, sizeof(path), 0))
		return fail(c, f->path, line_of(f, i), "unknown key \"%s\" in %s", path, what);
	sjson_dec_init(&d, NULL);
	rc = api_decode(t, &d, j, obj);
	if (rc == -EINVAL) {
		const char *e = sjson_dec_error(&d);

		rc =
		    fail(c, f->path, line_of(f, i), "%s: %s%s", what, e ? e : "bad value",
			 e && strstr(e, "bad IPv4 address") ? " (only IPv4 addresses are supported)"
							    : "");
	} else if (rc < 0) {
		rc = fail_nomem(c);
	}
	sjson_dec_fini(&d);
	return rc;
}

static int expect_type(struct loadctx *c, const struct tfile *f, json_type type, const char *what)
{
	if (json_typeof(f->j) == type)
		return 0;
	return fail(c, f->path, 0, "expected %s, got %s", what, sjson_type_name(f->j));
}

/* A JSON object whose values are all strings (tags.json, variables). */
static int check_string_map(struct loadctx *c, const struct tfile *f, const char *what)
{
	const char *key;
	json_t *v;
	size_t i = 0;
	int rc = expect_type(c, f, JSON_OBJECT, what);

	if (rc < 0)
		return rc;
	json_object_foreach(f->j, key, v)
	{
		if (!json_is_string(v))
			return fail(c, f->path, line_of(f, i), "%s: expected string, got %s", key,
				    sjson_type_name(v));
		if (sjson_string_has_nul(v))
			return fail(c, f->path, line_of(f, i), "%s: %s", key, SJSON_NUL_ERROR);
		i++;
	}
	return 0;
}

/* ---- String lists ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* dst = dst ∪ src, sorted, without duplicates. */
static int strlist_merge(struct api_strlist *dst, const struct api_strlist *src)
{
	size_t n = 0;

	for (size_t i = 0; i < src->n; i++)
		if (api_strlist_add(dst, src->v[i]) < 0)
			return -ENOMEM;
	if (dst->n)
		qsort(dst->v, dst->n, sizeof(*dst->v), cmp_str);
	for (size_t i = 0; i < dst->n; i++) {
		if (n && strcmp(dst->v[n - 1], dst->v[i]) == 0)
			free(dst->v[i]);
		else
			dst->v[n++] = dst->v[i];
	}
	dst->n = n;
	return 0;
}

static int owners_merge(struct fmapi_owners *dst, const struct fmapi_owners *src)
{
	if (strlist_merge(&dst->owner_groups, &src->owner_groups) < 0 ||
	    strlist_merge(&dst->owner_users, &src->owner_users) < 0)
		return -ENOMEM;
	return 0;
}

/* ---- Directories ---- */

static struct tdir *parent_of(struct topology *t, struct tdir *d)
{
	return d == t->dirs ? NULL : &t->dirs[d->parent];
}

static int load_owners(struct loadctx *c, struct tdir *d, const struct tdir *p)
{
	struct tfile *f = &d->f[TK_OWNERS];
	struct fmapi_owners own = {0};
	int rc = budget(c, p ? p->owners.owner_groups.n + p->owners.owner_users.n : 0);

	if (rc < 0)
		return rc;
	if (p && owners_merge(&d->owners, &p->owners) < 0)
		return fail_nomem(c);
	if (!f->j)
		return 0;
	rc = expect_type(c, f, JSON_OBJECT, "an object {\"OwnerGroups\": [], \"OwnerUsers\": []}");
	if (rc < 0)
		return rc;
	rc = decode_elem(c, &fmapi_owners_type, f, SIZE_MAX, f->j, &own, "owners");
	if (rc < 0)
		return rc;
	if (owners_merge(&d->owners, &own) < 0)
		rc = fail_nomem(c);
	fmapi_owners_clear(&own);
	return rc;
}

static int load_tags(struct loadctx *c, struct tdir *d, const struct tdir *p)
{
	struct tfile *f = &d->f[TK_TAGS];
	int rc;

	rc = budget(c, p ? json_object_size(p->tags) : 0);
	if (rc < 0)
		return rc;
	d->tags = p ? json_copy(p->tags) : json_object();
	if (!d->tags)
		return fail_nomem(c);
	if (!f->j)
		return 0;
	rc = check_string_map(c, f, "an object of tags {\"key\": \"value\"}");
	if (rc < 0)
		return rc;
	if (json_object_update(d->tags, f->j) < 0)
		return fail_nomem(c);
	return 0;
}

static int load_install(struct loadctx *c, struct tdir *d, const struct tdir *p)
{
	struct tfile *f = &d->f[TK_INSTALL];
	int rc;

	d->storage_layout = p ? p->storage_layout : NULL;
	if (!f->j)
		return 0;
	rc = expect_type(c, f, JSON_OBJECT, "an object {\"StorageLayout\": {...}}");
	if (rc < 0)
		return rc;
	d->storage_layout = sjson_lookup(f->j, "StorageLayout");
	if (d->storage_layout && !json_is_object(d->storage_layout))
		return fail(c, f->path, 0, "StorageLayout: expected object, got %s",
			    sjson_type_name(d->storage_layout));
	return 0;
}

static bool mask_ok(struct in_addr mask)
{
	uint32_t m = ntohl(mask.s_addr);

	return m && (~m & (~m + 1)) == 0;
}

static bool in_subnet(const struct hvapi_subnet *s, struct in_addr ip)
{
	return (ip.s_addr & s->ip_mask.s_addr) == (s->ip_gateway.s_addr & s->ip_mask.s_addr);
}

static int check_in_subnet(struct loadctx *c, const struct tfile *f, size_t line,
			   const struct hvapi_subnet *s, struct in_addr ip, const char *what)
{
	char a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN], m[INET_ADDRSTRLEN];

	if (!ip.s_addr || in_subnet(s, ip))
		return 0;
	return fail(c, f->path, line, "subnet %s: %s %s is outside the subnet %s/%s", s->id, what,
		    ip_str(ip, a), ip_str(s->ip_gateway, g), ip_str(s->ip_mask, m));
}

/* Where subnet Id id is defined in d or above it, or NULL. */
static const struct tdir *subnet_owner(struct topology *t, const struct tdir *d, const char *id,
				       size_t upto, size_t *idx)
{
	for (const struct tdir *x = d; x; x = x == t->dirs ? NULL : &t->dirs[x->parent]) {
		size_t n = x == d ? upto : x->nsubnets;

		for (size_t i = 0; i < n; i++) {
			if (strcmp(x->subnets[i].subnet.id, id) == 0) {
				*idx = i;
				return x;
			}
		}
	}
	return NULL;
}

static int check_subnet(struct loadctx *c, struct tdir *d, size_t i)
{
	const struct tfile *f = &d->f[TK_SUBNETS];
	const struct fmapi_topology_subnet *ts = &d->subnets[i];
	const struct hvapi_subnet *s = &ts->subnet;
	size_t line = line_of(f, i), j;
	const struct tdir *o;
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	int rc;

	if (!*s->id)
		return fail(c, f->path, line, "subnet without Id");
	o = subnet_owner(c->t, d, s->id, i, &j);
	if (o)
		return fail(c, f->path, line, "duplicate subnet Id %s (also %s:%zu)", s->id,
			    o->f[TK_SUBNETS].path, line_of(&o->f[TK_SUBNETS], j));
	if (!s->ip_gateway.s_addr || !s->ip_mask.s_addr)
		return fail(c, f->path, line, "subnet %s: IpGateway and IpMask are required",
			    s->id);
	if (!mask_ok(s->ip_mask))
		return fail(c, f->path, line, "subnet %s: IpMask %s is not a netmask", s->id,
			    ip_str(s->ip_mask, a));
	for (j = 0; j < i; j++)
		if (d->subnets[j].subnet.ip_gateway.s_addr == s->ip_gateway.s_addr)
			return fail(c, f->path, line, "duplicate gateway IP %s (also %s:%zu)",
				    ip_str(s->ip_gateway, a), f->path, line_of(f, j));
	if (!ts->first_auto_ip.s_addr != !ts->last_auto_ip.s_addr)
		return fail(c, f->path, line, "subnet %s: FirstAutoIP and LastAutoIP go together",
			    s->id);
	rc = check_in_subnet(c, f, line, s, ts->first_auto_ip, "FirstAutoIP");
	if (rc == 0)
		rc = check_in_subnet(c, f, line, s, ts->last_auto_ip, "LastAutoIP");
	if (rc < 0)
		return rc;
	if (ntohl(ts->first_auto_ip.s_addr) > ntohl(ts->last_auto_ip.s_addr))
		return fail(c, f->path, line, "subnet %s: FirstAutoIP %s is after LastAutoIP %s",
			    s->id, ip_str(ts->first_auto_ip, a), ip_str(ts->last_auto_ip, b));
	for (j = 0; j < ts->reserved_ips.n; j++) {
		rc = check_in_subnet(c, f, line, s, ts->reserved_ips.v[j], "ReservedIPs entry");
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int load_subnets(struct loadctx *c, struct tdir *d, const struct tdir *p)
{
	struct tfile *f = &d->f[TK_SUBNETS];
	size_t n, pn = p ? p->nvisible : 0;
	json_t *e;
	int rc;

	if (f->j) {
		rc = expect_type(c, f, JSON_ARRAY, "an array of subnets");
		if (rc < 0)
			return rc;
		n = json_array_size(f->j);
		d->subnets = calloc(n ? n : 1, sizeof(*d->subnets));
		if (!d->subnets)
			return fail_nomem(c);
		json_array_foreach(f->j, n, e)
		{
			rc = decode_elem(c, &fmapi_topology_subnet_type, f, n, e, &d->subnets[n],
					 "subnet");
			if (rc < 0)
				return rc;
			d->nsubnets = n + 1;
			rc = check_subnet(c, d, n);
			if (rc < 0)
				return rc;
		}
	}
	rc = budget(c, d->nsubnets + pn);
	if (rc < 0)
		return rc;
	d->visible = calloc(d->nsubnets + pn + 1, sizeof(*d->visible));
	if (!d->visible)
		return fail_nomem(c);
	for (size_t i = 0; i < d->nsubnets; i++)
		d->visible[d->nvisible++] = &d->subnets[i];
	for (size_t i = 0; i < pn; i++)
		d->visible[d->nvisible++] = p->visible[i];
	return 0;
}

/* ---- Variables ---- */

static bool var_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_';
}

/* value with ${name} and $name replaced from vars (missing: ""), as Go's os.Expand. */
static char *expand(const char *value, const json_t *vars)
{
	size_t len = 0, cap = strlen(value) + 1;
	const char *last = strrchr(value, '}'); /* no quadratic search for a missing '}' */
	char *out = malloc(cap);

	if (!out)
		return NULL;
	for (const char *s = value; *s;) {
		const char *sub = NULL, *name = NULL;
		size_t nlen = 0, slen;
		char key[256];

		if (s[0] == '$' && s[1] == '{' && last && last >= s + 2) {
			name = s + 2;
			nlen = (size_t)(strchr(s + 2, '}') - name);
			s = name + nlen + 1;
		} else if (s[0] == '$' && var_char(s[1])) {
			name = s + 1;
			while (var_char(name[nlen]))
				nlen++;
			s = name + nlen;
		} else {
			sub = s++;
			nlen = 1;
		}
		if (name) {
			json_t *v = NULL;

			if (nlen < sizeof(key)) {
				memcpy(key, name, nlen);
				key[nlen] = '\0';
				v = json_object_get(vars, key);
			}
			sub = v ? json_string_value(v) : "";
			nlen = strlen(sub);
		}
		slen = nlen;
		if (len + slen + 1 > TOPO_MAX_VAR_LEN) {
			free(out);
			errno = E2BIG;
			return NULL;
		}
		if (len + slen + 1 > cap) {
			char *n;

			cap = 2 * (len + slen + 1);
			n = realloc(out, cap);
			if (!n) {
				free(out);
				errno = ENOMEM;
				return NULL;
			}
			out = n;
		}
		memcpy(out + len, sub, slen);
		len += slen;
	}
	out[len] = '\0';
	return out;
}

static int load_vars(struct loadctx *c, struct tdir *d)
{
	struct tfile *f = &d->f[TK_VARS], *lf = &d->f[TK_LOCAL_VARS];
	struct topology *t = c->t;
	const char *key;
	json_t *v;
	size_t i = 0;
	int rc;

	if (lf->j) {
		rc = check_string_map(c, lf, "an object of variables {\"name\": \"value\"}");
		if (rc < 0)
			return rc;
	}
	if (!f->j)
		return 0;
	rc = check_string_map(c, f, "an object of variables {\"name\": \"value\"}");
	if (rc < 0)
		return rc;
	json_object_foreach(f->j, key, v)
	{
		struct tvar *nv = reallocarray(t->vars, t->nvars + 1, sizeof(*nv));
		char *val;

		if (!nv)
			return fail_nomem(c);
		t->vars = nv;
		errno = 0;
		val = expand(json_string_value(v), lf->j);
		if (!val)
			return errno == E2BIG ? fail(c, f->path, line_of(f, i),
						     "%s: expands to more than %u bytes", key,
						     TOPO_MAX_VAR_LEN)
					      : fail_nomem(c);
		nv = &t->vars[t->nvars];
		if (asprintf(&nv->name, "%s%s%s", d->path, *d->path ? "/" : "", key) < 0) {
			free(val);
			return fail_nomem(c);
		}
		nv->value = val;
		t->nvars++;
		i++;
	}
	return 0;
}

/* ---- Machines ---- */

static int seen_add(struct loadctx *c, const char *kind, char prefix, const char *value,
		    const struct tfile *f, size_t line)
{
	char *key = NULL, *where = NULL;
	json_t *old;
	int rc = 0;

	if (asprintf(&key, "%c:%s", prefix, value) < 0)
		return fail_nomem(c);
	old = json_object_get(c->seen, key);
	if (old) {
		rc = fail(c, f->path, line, "duplicate %s %s (also %s)", kind, value,
			  json_string_value(old));
	} else if (asprintf(&where, "%s:%zu", f->path, line) < 0 ||
		   json_object_set_new(c->seen, key, json_string(where)) < 0) {
		rc = fail_nomem(c);
	}
	free(where);
	free(key);
	return rc;
}

static bool subnet_visible(const struct tdir *d, const char *id)
{
	for (size_t i = 0; i < d->nvisible; i++)
		if (strcmp(d->visible[i]->subnet.id, id) == 0)
			return true;
	return false;
}

/* The rules of one network entry (what: "", "IPMI ", "SecondaryNetworkEntries[2] "),
 * and its names and addresses registered as taken. */
static int check_entry(struct loadctx *c, const struct tdir *d, const struct tfile *f, size_t line,
		       const struct fmapi_network_entry *e, const char *what, bool ipmi)
{
	char a[INET_ADDRSTRLEN], mac[18];
	int rc = 0;

	if (*api_str(e->subnet_id)) {
		if (ipmi)
			return fail(c, f->path, line, "IPMI entry cannot have a SubnetId (%s)",
				    e->subnet_id);
		if (*api_str(e->hostname))
			return fail(c, f->path, line,
				    "%sSubnetId %s cannot be given with Hostname %s", what,
				    e->subnet_id, e->hostname);
		if (e->host_ip.s_addr)
			return fail(c, f->path, line,
				    "%sSubnetId %s cannot be given with HostIpAddress %s", what,
				    e->subnet_id, ip_str(e->host_ip, a));
		if (!subnet_visible(d, e->subnet_id))
			return fail(
			    c, f->path, line,
			    "%sunknown SubnetId %s (no subnets.json here or above defines it)",
			    what, e->subnet_id);
	}
	if (*api_str(e->hostname))
		rc = seen_add(c, "hostname", 'h', e->hostname, f, line);
	if (rc == 0 && e->host_ip.s_addr)
		rc = seen_add(c, "IP", 'i', ip_str(e->host_ip, a), f, line);
	if (rc == 0 && !mac_zero(e->host_mac))
		rc = seen_add(c, "MAC", 'm', sjson_format_mac(e->host_mac, mac, sizeof(mac)), f,
			      line);
	return rc;
}

static int check_machine(struct loadctx *c, const struct tdir *d, const struct tfile *f,
			 size_t line, struct fmapi_machine *m)
{
	char a[INET_ADDRSTRLEN], what[64];
	int rc;

	if (!*api_str(m->net.hostname) && !m->net.host_ip.s_addr)
		return fail(c, f->path, line, "machine has neither Hostname nor HostIpAddress");
	if (*api_str(m->gateway_subnet_id) && !subnet_visible(d, m->gateway_subnet_id))
		return fail(c, f->path, line,
			    "unknown GatewaySubnetId %s (no subnets.json here or above defines it)",
			    m->gateway_subnet_id);
	rc = check_entry(c, d, f, line, &m->net, "", false);
	if (rc < 0)
		return rc;
	if (!*api_str(m->net.hostname)) {
		free(m->net.hostname);
		m->net.hostname = strdup(ip_str(m->net.host_ip, a));
		if (!m->net.hostname)
			return fail_nomem(c);
		rc = seen_add(c, "hostname", 'h', m->net.hostname, f, line);
		if (rc < 0)
			return rc;
	}
	rc = check_entry(c, d, f, line, &m->ipmi, "IPMI ", true);
	for (size_t i = 0; rc == 0 && i < m->secondary.n; i++) {
		snprintf(what, sizeof(what), "SecondaryNetworkEntries[%zu] ", i);
		rc = check_entry(c, d, f, line, &m->secondary.v[i], what, false);
	}
	return rc;
}

static void tags_clear(struct hvapi_tags *l)
{
	for (size_t i = 0; i < l->n; i++)
		hvapi_tag_clear(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* *l (cleared first) = the members of obj (string values), sorted by key. */
static int tags_from_json(json_t *obj, struct hvapi_tags *l)
{
	size_t n = json_object_size(obj), i = 0;
	const char **keys;
	const char *key;
	json_t *v;

	tags_clear(l);
	if (!n)
		return 0;
	keys = calloc(n, sizeof(*keys));
	l->v = calloc(n, sizeof(*l->v));
	if (!keys || !l->v) {
		free(keys);
		return -ENOMEM;
	}
	json_object_foreach(obj, key, v) keys[i++] = key;
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 0; i < n; i++) {
		struct hvapi_tag *tg = &l->v[l->n++];

		tg->key = strdup(keys[i]);
		tg->value = strdup(json_string_value(json_object_get(obj, keys[i])));
		if (!tg->key || !tg->value)
			break;
	}
	free(keys);
	return i == n ? 0 : -ENOMEM;
}

/* Location, merged owners and tags: the record as served. */
static int machine_effective(struct loadctx *c, const struct tdir *d, struct topo_machine *tm)
{
	struct fmapi_machine *m = &tm->m;
	json_t *tags;
	int rc;

	rc = budget(c, json_object_size(d->tags) + m->tags.n + d->owners.owner_groups.n +
			   d->owners.owner_users.n + m->owner_groups.n + m->owner_users.n);
	if (rc < 0)
		return rc;
	rc = -ENOMEM;
	tags = json_copy(d->tags);
	if (!tags)
		return fail_nomem(c);
	free(m->location);
	m->location = strdup(d->path);
	if (!m->location || strlist_merge(&m->owner_groups, &d->owners.owner_groups) < 0 ||
	    strlist_merge(&m->owner_users, &d->owners.owner_users) < 0)
		goto out_tags;
	for (size_t i = 0; i < m->tags.n; i++)
		if (json_object_set_new(tags, m->tags.v[i].key, json_string(m->tags.v[i].value)) <
		    0)
			goto out_tags;
	rc = tags_from_json(tags, &m->tags);
	if (rc < 0)
		goto out_tags;
	tm->subnets = d->visible;
	tm->nsubnets = d->nvisible;
	tm->storage_layout = d->storage_layout;
	rc = 0;
out_tags:
	json_decref(tags);
	return rc == -ENOMEM ? fail_nomem(c) : rc;
}

static int load_machines(struct loadctx *c, const struct tdir *d)
{
	const struct tfile *f = &d->f[TK_MACHINES];
	struct topology *t = c->t;
	size_t i;
	json_t *e;
	int rc;

	if (!f->j)
		return 0;
	rc = expect_type(c, f, JSON_ARRAY, "an array of machines");
	if (rc < 0)
		return rc;
	json_array_foreach(f->j, i, e)
	{
		struct topo_machine *tm;

		if (t->nmachines == c->cap_machines) {
			size_t ncap = c->cap_machines ? 2 * c->cap_machines : 64;

			tm = reallocarray(t->machines, ncap, sizeof(*tm));
			if (!tm)
				return fail_nomem(c);
			t->machines = tm;
			c->cap_machines = ncap;
		}
		tm = &t->machines[t->nmachines];
		memset(tm, 0, sizeof(*tm));
		rc = decode_elem(c, &fmapi_machine_type, f, i, e, &tm->m, "machine");
		if (rc < 0)
			return rc;
		t->nmachines++;
		rc = check_machine(c, d, f, line_of(f, i), &tm->m);
		if (rc == 0)
			rc = machine_effective(c, d, tm);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- Indexes ---- */

static int cmp_machine(const void *a, const void *b)
{
	return strcmp(((const struct topo_machine *)a)->m.net.hostname,
		      ((const struct topo_machine *)b)->m.net.hostname);
}

static int cmp_ip(const void *a, const void *b)
{
	uint32_t x = ((const struct ipidx *)a)->ip, y = ((const struct ipidx *)b)->ip;

	return (x > y) - (x < y);
}

static int cmp_mac(const void *a, const void *b)
{
	return memcmp(((const struct macidx *)a)->mac, ((const struct macidx *)b)->mac, 6);
}

static void index_entry(struct topology *t, const struct fmapi_network_entry *e, size_t m,
			bool ipmi)
{
	if (e->host_ip.s_addr && !ipmi)
		t->byip[t->nbyip++] = (struct ipidx){ntohl(e->host_ip.s_addr), m};
	if (!mac_zero(e->host_mac)) {
		memcpy(t->bymac[t->nbymac].mac, e->host_mac, 6);
		t->bymac[t->nbymac++].m = m;
	}
}

static int build_indexes(struct loadctx *c)
{
	struct topology *t = c->t;
	size_t n = 0;

	if (t->nmachines)
		qsort(t->machines, t->nmachines, sizeof(*t->machines), cmp_machine);
	for (size_t i = 0; i < t->nmachines; i++)
		n += 2 + t->machines[i].m.secondary.n;
	t->byip = calloc(n + 1, sizeof(*t->byip));
	t->bymac = calloc(n + 1, sizeof(*t->bymac));
	if (!t->byip || !t->bymac)
		return fail_nomem(c);
	for (size_t i = 0; i < t->nmachines; i++) {
		const struct fmapi_machine *m = &t->machines[i].m;

		index_entry(t, &m->net, i, false);
		index_entry(t, &m->ipmi, i, true);
		for (size_t j = 0; j < m->secondary.n; j++)
			index_entry(t, &m->secondary.v[j], i, false);
	}
	if (t->nbyip)
		qsort(t->byip, t->nbyip, sizeof(*t->byip), cmp_ip);
	if (t->nbymac)
		qsort(t->bymac, t->nbymac, sizeof(*t->bymac), cmp_mac);
	return 0;
}

/* ---- Files to directories ---- */

/* Checks path; 1 when the file is one of the spec's (kind set), 0 when ignored. */
static int classify(struct loadctx *c, const struct topo_file *f, enum topo_kind *kind)
{
	const char *p = f->path, *base;
	size_t depth = 0;

	if (!p || !*p || strlen(p) > TOPO_MAX_PATH)
		return fail(c, NULL, 0, "bad file path (empty or longer than %d bytes)",
			    TOPO_MAX_PATH);
	if (p[0] == '/')
		return fail(c, p, 0, "bad file path");
	for (const char *s = p;; s = strchr(s, '/') + 1) {
		if (*s == '/' || *s == '\0')
			return fail(c, p, 0, "bad file path (empty component)");
		if (*s == '.')
			return 0;
		if (!strchr(s, '/'))
			break;
		depth++;
	}
	if (depth > TOPO_MAX_DEPTH)
		return fail(c, p, 0, "directories nested deeper than %d levels", TOPO_MAX_DEPTH);
	base = strrchr(p, '/');
	base = base ? base + 1 : p;
	for (int k = 0; k < TK_N; k++) {
		if (strcmp(base, kind_names[k]) == 0) {
			if (f->len > TOPO_MAX_FILE_SIZE)
				return fail(c, p, 0, "file too large (over %u MiB)",
					    TOPO_MAX_FILE_SIZE >> 20);
			if (!f->data && f->len)
				return fail(c, p, 0, "no data");
			*kind = (enum topo_kind)k;
			return 1;
		}
	}
	return 0;
}

static int cmp_infile(const void *a, const void *b)
{
	return strcmp(((const struct infile *)a)->f->path, ((const struct infile *)b)->f->path);
}

static int cmp_pstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int digest(struct loadctx *c, const struct infile *in, size_t n)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int hlen = 0;
	int ok;

	if (!md)
		return fail_nomem(c);
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (size_t i = 0; ok && i < n; i++) {
		uint64_t len = in[i].f->len;
		unsigned char lb[8];

		for (int k = 0; k < 8; k++)
			lb[k] = (unsigned char)(len >> (8 * k));
		ok = EVP_DigestUpdate(md, in[i].f->path, strlen(in[i].f->path) + 1) &&
		     EVP_DigestUpdate(md, lb, sizeof(lb)) &&
		     (!len || EVP_DigestUpdate(md, in[i].f->data, len));
	}
	ok = ok && EVP_DigestFinal_ex(md, h, &hlen) && hlen == 32;
	EVP_MD_CTX_free(md);
	if (!ok)
		return fail(c, NULL, 0, "SHA-256 failed");
	for (unsigned i = 0; i < hlen; i++)
		snprintf(c->t->digest + 2 * i, 3, "%02x", h[i]);
	return 0;
}

static struct tdir *dir_find(struct topology *t, const char *path)
{
	size_t lo = 0, hi = t->ndirs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(t->dirs[mid].path, path);

		if (r == 0)
			return &t->dirs[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The directories: those holding files and all their ancestors, sorted (a parent
 * sorts before its children: it is a prefix). */
static int make_dirs(struct loadctx *c, struct infile *in, size_t n)
{
	struct topology *t = c->t;
	char **names = NULL;
	size_t nn = 0, cap = 0, u = 0;
	int rc = -ENOMEM;

	for (size_t i = 0; i <= n; i++) {
		char *p = i < n ? strdup(in[i].dir) : strdup("");

		while (p) {
			char *slash;

			if (nn == cap) {
				char **v = reallocarray(names, cap ? 2 * cap : 64, sizeof(*v));

				if (!v) {
					free(p);
					goto out;
				}
				names = v;
				cap = cap ? 2 * cap : 64;
			}
			names[nn++] = p;
			if (!*p)
				break;
			slash = strrchr(p, '/');
			p = slash ? strndup(p, (size_t)(slash - p)) : strdup("");
		}
		if (!p)
			goto out;
	}
	qsort(names, nn, sizeof(*names), cmp_pstr);
	t->dirs = calloc(nn, sizeof(*t->dirs));
	if (!t->dirs)
		goto out;
	for (size_t i = 0; i < nn; i++) {
		if (u && strcmp(t->dirs[u - 1].path, names[i]) == 0) {
			free(names[i]);
			continue;
		}
		t->dirs[u++].path = names[i];
	}
	nn = 0;
	t->ndirs = u;
	for (size_t i = 1; i < u; i++) {
		char *slash = strrchr(t->dirs[i].path, '/'), *pp;
		const struct tdir *p;

		if (!slash) {
			t->dirs[i].parent = 0;
			continue;
		}
		pp = strndup(t->dirs[i].path, (size_t)(slash - t->dirs[i].path));
		if (!pp) {
			rc = -ENOMEM;
			goto out;
		}
		p = dir_find(t, pp);
		free(pp);
		t->dirs[i].parent = p ? (size_t)(p - t->dirs) : 0; /* every ancestor is there */
	}
	rc = 0;
out:
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	return rc < 0 ? fail_nomem(c) : 0;
}

static void topology_free(struct topology *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nmachines; i++)
		fmapi_machine_clear(&t->machines[i].m);
	free(t->machines);
	for (size_t i = 0; i < t->ndirs; i++) {
		struct tdir *d = &t->dirs[i];

		for (int k = 0; k < TK_N; k++) {
			json_decref(d->f[k].j);
			free(d->f[k].lines);
		}
		for (size_t j = 0; j < d->nsubnets; j++)
			fmapi_topology_subnet_clear(&d->subnets[j]);
		free(d->subnets);
		free(d->visible);
		json_decref(d->tags);
		fmapi_owners_clear(&d->owners);
		free(d->path);
	}
	free(t->dirs);
	for (size_t i = 0; i < t->nvars; i++) {
		free(t->vars[i].name);
		free(t->vars[i].value);
	}
	free(t->vars);
	free(t->byip);
	free(t->bymac);
	free(t);
}

static int load(struct loadctx *c, struct infile *in, size_t n)
{
	struct topology *t = c->t;
	int rc;

	for (size_t i = 1; i < n; i++)
		if (strcmp(in[i - 1].f->path, in[i].f->path) == 0)
			return fail(c, in[i].f->path, 0, "file given twice");
	rc = digest(c, in, n);
	if (rc == 0)
		rc = make_dirs(c, in, n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct tdir *d = dir_find(t, in[i].dir);

		rc = d ? parse_file(c, in[i].f, &d->f[in[i].kind]) : fail_nomem(c);
	}
	for (size_t i = 0; rc == 0 && i < t->ndirs; i++) {
		struct tdir *d = &t->dirs[i], *p = parent_of(t, d);

		rc = load_owners(c, d, p);
		if (rc == 0)
			rc = load_tags(c, d, p);
		if (rc == 0)
			rc = load_install(c, d, p);
		if (rc == 0)
			rc = load_subnets(c, d, p);
		if (rc == 0)
			rc = load_vars(c, d);
	}
	for (size_t i = 0; rc == 0 && i < t->ndirs; i++)
		rc = load_machines(c, &t->dirs[i]);
	if (rc == 0)
		rc = build_indexes(c);
	return rc;
}

int topology_load_files(const struct topo_file *files, size_t nfiles, struct topology **out,
			char *err, size_t errsz)
{
	struct loadctx c = {.err = err, .errsz = errsz};
	struct infile *in = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	if (err && errsz)
		err[0] = '\0';
	c.t = calloc(1, sizeof(*c.t));
	c.seen = json_object();
	in = calloc(nfiles + 1, sizeof(*in));
	if (!c.t || !c.seen || !in) {
		rc = fail_nomem(&c);
		goto out;
	}
	atomic_init(&c.t->refs, 1);
	for (size_t i = 0; i < nfiles; i++) {
		enum topo_kind kind = TK_MACHINES;
		const char *slash;

		rc = classify(&c, &files[i], &kind);
		if (rc < 0)
			goto out;
		if (rc == 0)
			continue;
		slash = strrchr(files[i].path, '/');
		in[n].f = &files[i];
		in[n].kind = kind;
		in[n].dir =
		    slash ? strndup(files[i].path, (size_t)(slash - files[i].path)) : strdup("");
		if (!in[n++].dir) {
			rc = fail_nomem(&c);
			goto out;
		}
	}
	if (n)
		qsort(in, n, sizeof(*in), cmp_infile);
	rc = load(&c, in, n);
out:
	for (size_t i = 0; i < n; i++)
		free(in[i].dir);
	free(in);
	json_decref(c.seen);
	if (rc < 0) {
		topology_free(c.t);
		return rc;
	}
	/* The paths were the caller's; of the parsed files only install-config.json's
	 * StorageLayout is still needed (borrowed by the records). */
	for (size_t i = 0; i < c.t->ndirs; i++) {
		for (int k = 0; k < TK_N; k++) {
			struct tfile *f = &c.t->dirs[i].f[k];

			f->path = NULL;
			free(f->lines);
			f->lines = NULL;
			f->nlines = 0;
			if (k != TK_INSTALL) {
				json_decref(f->j);
				f->j = NULL;
			}
		}
	}
	*out = c.t;
	return 0;
}

bool topology_file_name(const char *name)
{
	for (int k = 0; k < TK_N; k++)
		if (strcmp(name, kind_names[k]) == 0)
			return true;
	return false;
}

/* ---- Accessors ---- */

struct topology *topology_ref(struct topology *t)
{
	if (t)
		atomic_fetch_add(&t->refs, 1);
	return t;
}

void topology_unref(struct topology *t)
{
	if (t && atomic_fetch_sub(&t->refs, 1) == 1)
		topology_free(t);
}

const char *topology_digest(const struct topology *t)
{
	return t->digest;
}

size_t topology_nmachines(const struct topology *t)
{
	return t->nmachines;
}

const struct topo_machine *topology_machine(const struct topology *t, size_t i)
{
	return i < t->nmachines ? &t->machines[i] : NULL;
}

const struct topo_machine *topology_find_hostname(const struct topology *t, const char *host)
{
	size_t lo = 0, hi = t->nmachines;

	while (host && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(t->machines[mid].m.net.hostname, host);

		if (r == 0)
			return &t->machines[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct topo_machine *topology_find_ip(const struct topology *t, struct in_addr ip)
{
	struct ipidx key = {ntohl(ip.s_addr), 0};
	const struct ipidx *r;

	if (!ip.s_addr || !t->nbyip)
		return NULL;
	r = bsearch(&key, t->byip, t->nbyip, sizeof(key), cmp_ip);
	return r ? &t->machines[r->m] : NULL;
}

const struct topo_machine *topology_find_mac(const struct topology *t, const uint8_t mac[6])
{
	struct macidx key = {.m = 0};
	const struct macidx *r;

	if (mac_zero(mac) || !t->nbymac)
		return NULL;
	memcpy(key.mac, mac, 6);
	r = bsearch(&key, t->bymac, t->nbymac, sizeof(key), cmp_mac);
	return r ? &t->machines[r->m] : NULL;
}

size_t topology_nlocations(const struct topology *t)
{
	return t->ndirs;
}

const char *topology_location(const struct topology *t, size_t i)
{
	return i < t->ndirs ? t->dirs[i].path : NULL;
}

bool topology_location_in(const char *loc, const char *prefix)
{
	size_t n = strlen(prefix);

	if (!n)
		return true;
	return strncmp(loc, prefix, n) == 0 && (loc[n] == '\0' || loc[n] == '/');
}

const struct fmapi_topology_subnet *topology_machine_subnet(const struct topo_machine *m,
							    const char *id)
{
	for (size_t i = 0; i < m->nsubnets; i++)
		if (strcmp(m->subnets[i]->subnet.id, id) == 0)
			return m->subnets[i];
	return NULL;
}

const char *topology_variable(const struct topology *t, const char *name)
{
	for (size_t i = 0; i < t->nvars; i++)
		if (strcmp(t->vars[i].name, name) == 0)
			return t->vars[i].value;
	return NULL;
}
