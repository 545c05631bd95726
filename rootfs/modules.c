/* modules.dep / modules.builtin parsing and module closure for the image builder. */
#include "rootfs/modules.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { MOD_NEW, MOD_VISITING, MOD_DONE };

struct mod {
	char *path;
	char *name;
	size_t *deps;
	size_t n_deps;
	int state;
};

struct rootfs_moddb {
	struct mod *mods;
	size_t n_mods;
	size_t *by_name; /* indices of mods sorted by name */
	size_t *by_path; /* indices of mods sorted by path */
	char **builtin;	 /* sorted names */
	size_t n_builtin;
	size_t *order;
	size_t n_order;
};

struct rootfs_moddb *rootfs_moddb_new(void)
{
	return calloc(1, sizeof(struct rootfs_moddb));
}

void rootfs_moddb_free(struct rootfs_moddb *db)
{
	if (db == NULL)
		return;
	for (size_t i = 0; i < db->n_mods; i++) {
		free(db->mods[i].path);
		free(db->mods[i].name);
		free(db->mods[i].deps);
	}
	for (size_t i = 0; i < db->n_builtin; i++)
		free(db->builtin[i]);
	free(db->mods);
	free(db->by_name);
	free(db->by_path);
	free(db->builtin);
	free(db->order);
	free(db);
}

int rootfs_module_name(const char *path, char *name, size_t cap)
{
	static const char *const suffixes[] = {".ko", ".ko.xz", ".ko.zst", ".ko.gz"};
	const char *base = strrchr(path, '/');
	size_t len, n = 0;

	base = base ? base + 1 : path;
	len = strlen(base);
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t sl = strlen(suffixes[i]);

		if (len > sl && strcmp(base + len - sl, suffixes[i]) == 0) {
			n = len - sl;
			break;
		}
	}
	if (n == 0 || n >= cap)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		name[i] = base[i] == '-' ? '_' : base[i];
	name[n] = '\0';
	return 0;
}

/* Line iterator over text[0..len): returns the next line (not terminated) or NULL. */
static const char *next_line(const char *text, size_t len, size_t *pos, size_t *line_len)
{
	const char *start, *nl;

	if (*pos >= len)
		return NULL;
	start = text + *pos;
	nl = memchr(start, '\n', len - *pos);
	*line_len = nl ? (size_t)(nl - start) : len - *pos;
	*pos += *line_len + 1;
	return start;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static char *dup_range(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static int cmp_by_name(const void *a, const void *b, void *ctx)
{
	const struct mod *m = ((const struct rootfs_moddb *)ctx)->mods;
	int c = strcmp(m[*(const size_t *)a].name, m[*(const size_t *)b].name);

	if (c != 0)
		return c;
	/* Equal names: the earlier line wins, as with modprobe. */
	return *(const size_t *)a < *(const size_t *)b ? -1
						       : *(const size_t *)a > *(const size_t *)b;
}

static int cmp_by_path(const void *a, const void *b, void *ctx)
{
	const struct mod *m = ((const struct rootfs_moddb *)ctx)->mods;

	return strcmp(m[*(const size_t *)a].path, m[*(const size_t *)b].path);
}

static long find_path(const struct rootfs_moddb *db, const char *path, size_t n)
{
	size_t lo = 0, hi = db->n_mods;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *p = db->mods[db->by_path[mid]].path;
		int c = strncmp(p, path, n);

		if (c == 0 && p[n] != '\0')
			c = 1;
		if (c == 0)
			return (long)db->by_path[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static long find_name(const struct rootfs_moddb *db, const char *name)
{
	size_t lo = 0, hi = db->n_mods;
	long found = -1;

	/* Lower bound, so the first of equal names is returned. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(db->mods[db->by_name[mid]].name, name);

		if (c < 0) {
			lo = mid + 1;
		} else {
			if (c == 0)
				found = (long)db->by_name[mid];
			hi = mid;
		}
	}
	return found;
}

static int add_module(struct rootfs_moddb *db, const char *line, size_t n, size_t *cap)
{
	const char *colon = memchr(line, ':', n);
	char name[256];
	struct mod *m;

	if (colon == NULL || colon == line)
		return -EINVAL;
	if (db->n_mods == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		struct mod *nm = realloc(db->mods, nc * sizeof(*nm));

		if (nm == NULL)
			return -ENOMEM;
		db->mods = nm;
		*cap = nc;
	}
	m = &db->mods[db->n_mods];
	memset(m, 0, sizeof(*m));
	m->path = dup_range(line, (size_t)(colon - line));
	if (m->path == NULL)
		return -ENOMEM;
	if (rootfs_module_name(m->path, name, sizeof(name)) < 0) {
		free(m->path);
		return -EINVAL;
	}
	if ((m->name = strdup(name)) == NULL) {
		free(m->path);
		return -ENOMEM;
	}
	db->n_mods++;
	return 0;
}

/* Second pass: resolves each line's dependency paths into indices. */
static int resolve_deps(struct rootfs_moddb *db, const char *text, size_t len, unsigned *bad_line)
{
	size_t pos = 0, n, i = 0;
	const char *line;
	unsigned lineno = 0;

	while ((line = next_line(text, len, &pos, &n)) != NULL) {
		const char *p, *end = line + n;
		struct mod *m;

		lineno++;
		while (n > 0 && is_blank(line[n - 1]))
			n--;
		if (n == 0 || line[0] == '#')
			continue;
		m = &db->mods[i++];
		p = (const char *)memchr(line, ':', n) + 1;
		end = line + n;
		while (p < end) {
			const char *w;
			long idx;
			size_t *nd;

			while (p < end && is_blank(*p))
				p++;
			if (p == end)
				break;
			w = p;
			while (p < end && !is_blank(*p))
				p++;
			idx = find_path(db, w, (size_t)(p - w));
			if (idx < 0) {
				*bad_line = lineno;
				return -EINVAL;
			}
			nd = realloc(m->deps, (m->n_deps + 1) * sizeof(*nd));
			if (nd == NULL)
				return -ENOMEM;
			m->deps = nd;
			m->deps[m->n_deps++] = (size_t)idx;
		}
	}
	return 0;
}

int rootfs_moddb_parse_dep(struct rootfs_moddb *db, const char *text, size_t len,
			   unsigned *bad_line)
{
	size_t pos = 0, n, cap = 0;
	const char *line;
	unsigned lineno = 0;
	int rc;

	*bad_line = 0;
	if (db->n_mods != 0)
		return -EINVAL;
	if (memchr(text, '\0', len) != NULL)
		return -EINVAL;
	while ((line = next_line(text, len, &pos, &n)) != NULL) {
		lineno++;
		while (n > 0 && is_blank(line[n - 1]))
			n--;
		if (n == 0 || line[0] == '#')
			continue;
		if ((rc = add_module(db, line, n, &cap)) < 0) {
			if (rc == -EINVAL)
				*bad_line = lineno;
			return rc;
		}
	}
	db->by_name = malloc((db->n_mods + 1) * sizeof(size_t));
	db->by_path = malloc((db->n_mods + 1) * sizeof(size_t));
	if (db->by_name == NULL || db->by_path == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < db->n_mods; i++)
		db->by_name[i] = db->by_path[i] = i;
	qsort_r(db->by_name, db->n_mods, sizeof(size_t), cmp_by_name, db);
	qsort_r(db->by_path, db->n_mods, sizeof(size_t), cmp_by_path, db);
	return resolve_deps(db, text, len, bad_line);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int rootfs_moddb_parse_builtin(struct rootfs_moddb *db, const char *text, size_t len)
{
	size_t pos = 0, n, cap = db->n_builtin;
	const char *line;

	if (memchr(text, '\0', len) != NULL)
		return -EINVAL;
	while ((line = next_line(text, len, &pos, &n)) != NULL) {
		char *path, name[256];

		while (n > 0 && is_blank(line[n - 1]))
			n--;
		if (n == 0)
			continue;
		if ((path = dup_range(line, n)) == NULL)
			return -ENOMEM;
		if (rootfs_module_name(path, name, sizeof(name)) < 0) {
			free(path);
			continue;
		}
		free(path);
		if (db->n_builtin == cap) {
			size_t nc = cap ? cap * 2 : 256;
			char **nb = realloc(db->builtin, nc * sizeof(*nb));

			if (nb == NULL)
				return -ENOMEM;
			db->builtin = nb;
			cap = nc;
		}
		if ((db->builtin[db->n_builtin] = strdup(name)) == NULL)
			return -ENOMEM;
		db->n_builtin++;
	}
	qsort(db->builtin, db->n_builtin, sizeof(char *), cmp_str);
	return 0;
}

static int visit(struct rootfs_moddb *db, size_t idx, unsigned depth)
{
	struct mod *m = &db->mods[idx];
	size_t *no;
	int rc;

	if (m->state == MOD_DONE)
		return 0;
	if (m->state == MOD_VISITING || depth > 256)
		return -ELOOP;
	m->state = MOD_VISITING;
	/* modules.dep lists the transitive closure; visiting each dependency's own
	 * list first yields an order valid whatever order the file uses. */
	for (size_t i = 0; i < m->n_deps; i++)
		if ((rc = visit(db, m->deps[i], depth + 1)) < 0)
			return rc;
	no = realloc(db->order, (db->n_order + 1) * sizeof(*no));
	if (no == NULL)
		return -ENOMEM;
	db->order = no;
	db->order[db->n_order++] = idx;
	m->state = MOD_DONE;
	return 0;
}

int rootfs_moddb_closure(struct rootfs_moddb *db, const char *name)
{
	char norm[256];
	const char *key = name;
	long idx;
	size_t n = strlen(name);

	if (n >= sizeof(norm))
		return -ENOENT;
	for (size_t i = 0; i <= n; i++)
		norm[i] = name[i] == '-' ? '_' : name[i];
	idx = db->by_name ? find_name(db, norm) : -1;
	if (idx < 0) {
		key = norm;
		if (db->n_builtin &&
		    bsearch(&key, db->builtin, db->n_builtin, sizeof(char *), cmp_str))
			return 1;
		return -ENOENT;
	}
	return visit(db, (size_t)idx, 0);
}

size_t rootfs_moddb_order_len(const struct rootfs_moddb *db)
{
	return db->n_order;
}

const char *rootfs_moddb_order_path(const struct rootfs_moddb *db, size_t i)
{
	return i < db->n_order ? db->mods[db->order[i]].path : NULL;
}

char *rootfs_moddb_order_dep_text(const struct rootfs_moddb *db)
{
	size_t size = 1, o = 0;
	char *out;

	for (size_t i = 0; i < db->n_order; i++) {
		const struct mod *m = &db->mods[db->order[i]];

		size += strlen(m->path) + 2;
		for (size_t j = 0; j < m->n_deps; j++)
			size += strlen(db->mods[m->deps[j]].path) + 1;
		size++;
	}
	if ((out = malloc(size)) == NULL)
		return NULL;
	for (size_t i = 0; i < db->n_order; i++) {
		const struct mod *m = &db->mods[db->order[i]];
		size_t l = strlen(m->path);

		memcpy(out + o, m->path, l);
		o += l;
		out[o++] = ':';
		for (size_t j = 0; j < m->n_deps; j++) {
			const char *d = db->mods[m->deps[j]].path;

			l = strlen(d);
			out[o++] = ' ';
			memcpy(out + o, d, l);
			o += l;
		}
		out[o++] = '\n';
	}
	out[o] = '\0';
	return out;
}
