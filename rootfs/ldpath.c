/* Library search for the image builder (see ldpath.h). */
#include "rootfs/ldpath.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LDCONF_MAX_DEPTH 8

static const char *const default_dirs[] = {
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
};

static int is_sep(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == ':' || c == ',';
}

int rootfs_ldconf_parse(const char *text, size_t len,
			int (*cb)(void *ctx, int is_include, const char *value), void *ctx)
{
	size_t pos = 0;
	char word[PATH_MAX];

	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		const char *hash = memchr(line, '#', n);
		size_t i = 0;
		int include = 0, first = 1;

		pos += n + 1;
		if (hash != NULL)
			n = (size_t)(hash - line);
		while (i < n) {
			size_t start, wl;
			int rc;

			/* "include" takes the rest of the line (blank-separated patterns). */
			while (i < n &&
			       (include ? (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')
					: is_sep(line[i])))
				i++;
			if (i == n)
				break;
			start = i;
			while (i < n &&
			       !(include ? (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')
					 : is_sep(line[i])))
				i++;
			wl = i - start;
			if (wl >= sizeof(word) || memchr(line + start, '\0', wl) != NULL)
				continue;
			memcpy(word, line + start, wl);
			word[wl] = '\0';
			if (first && strcmp(word, "include") == 0) {
				include = 1;
				first = 0;
				continue;
			}
			first = 0;
			if ((rc = cb(ctx, include, word)) < 0)
				return rc;
		}
	}
	return 0;
}

static int add_dir(struct rootfs_ldpath *lp, const char *dir)
{
	char **d;

	for (size_t i = 0; i < lp->n_dirs; i++)
		if (strcmp(lp->dirs[i], dir) == 0)
			return 0;
	d = realloc(lp->dirs, (lp->n_dirs + 1) * sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	lp->dirs = d;
	if ((lp->dirs[lp->n_dirs] = strdup(dir)) == NULL)
		return -ENOMEM;
	lp->n_dirs++;
	return 0;
}

struct load_ctx {
	struct rootfs_ldpath *lp;
	const char *conf; /* file being read, for relative includes */
	int depth;
};

static int load_file(struct rootfs_ldpath *lp, const char *conf, int depth);

static int on_conf_item(void *vctx, int is_include, const char *value)
{
	struct load_ctx *c = vctx;
	char pattern[PATH_MAX];
	glob_t g;
	int rc = 0;

	if (!is_include)
		return value[0] == '/' ? add_dir(c->lp, value) : 0;
	if (value[0] == '/') {
		rc = snprintf(pattern, sizeof(pattern), "%s", value);
	} else {
		const char *slash = strrchr(c->conf, '/');
		int dl = slash ? (int)(slash - c->conf) : 0;

		rc = snprintf(pattern, sizeof(pattern), "%.*s/%s", dl, c->conf, value);
	}
	if (rc < 0 || (size_t)rc >= sizeof(pattern))
		return -ENAMETOOLONG;
	if (glob(pattern, 0, NULL, &g) != 0)
		return 0; /* nothing matched */
	rc = 0;
	for (size_t i = 0; i < g.gl_pathc && rc == 0; i++)
		rc = load_file(c->lp, g.gl_pathv[i], c->depth + 1);
	globfree(&g);
	return rc;
}

static int load_file(struct rootfs_ldpath *lp, const char *conf, int depth)
{
	struct load_ctx c = {.lp = lp, .conf = conf, .depth = depth};
	FILE *f;
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (depth > LDCONF_MAX_DEPTH)
		return -ELOOP;
	f = fopen(conf, "re");
	if (f == NULL)
		return errno == ENOENT ? 0 : -errno;
	{
		char buf[4096];
		size_t n;

		while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
			char *t = realloc(text, len + n);

			if (t == NULL) {
				free(text);
				fclose(f);
				return -ENOMEM;
			}
			text = t;
			memcpy(text + len, buf, n);
			len += n;
		}
	}
	fclose(f);
	rc = rootfs_ldconf_parse(text ? text : "", len, on_conf_item, &c);
	free(text);
	return rc;
}

int rootfs_ldpath_load(struct rootfs_ldpath *lp, const char *conf)
{
	int rc;

	lp->dirs = NULL;
	lp->n_dirs = 0;
	if ((rc = load_file(lp, conf, 0)) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(default_dirs) / sizeof(default_dirs[0]); i++)
		if ((rc = add_dir(lp, default_dirs[i])) < 0)
			goto fail;
	return 0;
fail:
	rootfs_ldpath_free(lp);
	return rc;
}

void rootfs_ldpath_free(struct rootfs_ldpath *lp)
{
	if (lp == NULL)
		return;
	for (size_t i = 0; i < lp->n_dirs; i++)
		free(lp->dirs[i]);
	free(lp->dirs);
	lp->dirs = NULL;
	lp->n_dirs = 0;
}

/* True if path is an ELF file of obj's class and machine. */
static int compatible(const char *path, const struct rootfs_elf *obj)
{
	uint8_t hdr[20];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, hdr, sizeof(hdr));
	close(fd);
	if (n != (ssize_t)sizeof(hdr) || !rootfs_elf_is_elf(hdr, sizeof(hdr)))
		return 0;
	return hdr[4] == obj->elf_class && (uint16_t)(hdr[18] | hdr[19] << 8) == obj->machine;
}

/* Tries each directory of a colon-separated list ($ORIGIN expanded). */
static int try_list(const char *list, const char *name, const struct rootfs_elf *obj,
		    const char *origin, char *out, size_t cap)
{
	const char *p = list;

	while (*p != '\0') {
		const char *e = strchrnul(p, ':');
		char dir[PATH_MAX];
		size_t o = 0;

		for (const char *q = p; q < e && o < sizeof(dir) - 1;) {
			if (strncmp(q, "$ORIGIN", 7) == 0 || strncmp(q, "${ORIGIN}", 9) == 0) {
				size_t ol = strlen(origin);

				if (o + ol >= sizeof(dir))
					break;
				memcpy(dir + o, origin, ol);
				o += ol;
				q += q[1] == '{' ? 9 : 7;
			} else {
				dir[o++] = *q++;
			}
		}
		dir[o] = '\0';
		if (o > 0) {
			int rc = snprintf(out, cap, "%s/%s", dir, name);

			if (rc > 0 && (size_t)rc < cap && compatible(out, obj))
				return 0;
		}
		p = *e ? e + 1 : e;
	}
	return -ENOENT;
}

int rootfs_ldpath_find(const struct rootfs_ldpath *lp, const char *name,
		       const struct rootfs_elf *obj, const char *origin, char *out, size_t cap)
{
	if (strchr(name, '/') != NULL) {
		if (strlen(name) >= cap || !compatible(name, obj))
			return -ENOENT;
		memcpy(out, name, strlen(name) + 1);
		return 0;
	}
	if (obj->rpath != NULL && obj->runpath == NULL &&
	    try_list(obj->rpath, name, obj, origin, out, cap) == 0)
		return 0;
	if (obj->runpath != NULL && try_list(obj->runpath, name, obj, origin, out, cap) == 0)
		return 0;
	for (size_t i = 0; i < lp->n_dirs; i++) {
		int rc = snprintf(out, cap, "%s/%s", lp->dirs[i], name);

		if (rc > 0 && (size_t)rc < cap && compatible(out, obj))
			return 0;
	}
	return -ENOENT;
}
