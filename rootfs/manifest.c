/* Image manifest parser (syntax in manifest.h). Pure: text in, entries out. */
#include "rootfs/manifest.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_MAX_LINE 4096
#define MANIFEST_MAX_FIELDS 32

struct parse_ctx {
	struct rootfs_manifest *m;
	const struct rootfs_var *vars;
	size_t n_vars;
	struct rootfs_manifest_error *err;
	unsigned line;
	char *scratch; /* MANIFEST_MAX_FIELDS expanded fields of MANIFEST_MAX_LINE bytes */
};

static int fail(struct parse_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parse_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err != NULL) {
		c->err->line = c->line;
		va_start(ap, fmt);
		vsnprintf(c->err->msg, sizeof(c->err->msg), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

void rootfs_manifest_init(struct rootfs_manifest *m)
{
	memset(m, 0, sizeof(*m));
	m->compress = ROOTFS_COMPRESS_ZSTD;
	m->level = -1;
}

void rootfs_manifest_free(struct rootfs_manifest *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n_entries; i++) {
		free(m->entries[i].path);
		free(m->entries[i].source);
	}
	free(m->entries);
	rootfs_manifest_init(m);
}

const char *rootfs_compress_name(enum rootfs_compress c)
{
	switch (c) {
	case ROOTFS_COMPRESS_GZIP:
		return "gzip";
	case ROOTFS_COMPRESS_XZ:
		return "xz";
	case ROOTFS_COMPRESS_ZSTD:
		break;
	}
	return "zstd";
}

int rootfs_path_is_normal(const char *path)
{
	const char *p = path;

	if (p[0] != '/')
		return 0;
	if (p[1] == '\0')
		return 1;
	while (*p == '/') {
		const char *c = p + 1, *e = strchrnul(c, '/');
		size_t n = (size_t)(e - c);

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		for (const char *q = c; q < e; q++)
			if ((unsigned char)*q < 0x20 || *q == 0x7f)
				return 0;
		p = e;
	}
	return *p == '\0';
}

/* Expands ${NAME} references of in into out (size cap). */
static int expand(struct parse_ctx *c, const char *in, char *out, size_t cap)
{
	size_t o = 0;

	while (*in != '\0') {
		const char *val = in;
		size_t vlen = 1;

		if (in[0] == '$' && in[1] == '{') {
			const char *end = strchr(in + 2, '}');
			size_t nlen;

			if (end == NULL)
				return fail(c, "unterminated ${ in '%s'", in);
			nlen = (size_t)(end - in - 2);
			val = NULL;
			for (size_t i = 0; i < c->n_vars; i++) {
				if (strlen(c->vars[i].name) == nlen &&
				    memcmp(c->vars[i].name, in + 2, nlen) == 0) {
					val = c->vars[i].value;
					break;
				}
			}
			if (val == NULL)
				return fail(c, "unknown variable ${%.*s}", (int)nlen, in + 2);
			vlen = strlen(val);
			in = end + 1;
		} else {
			in++;
		}
		if (vlen >= cap - o)
			return fail(c, "field too long after expansion");
		memcpy(out + o, val, vlen);
		o += vlen;
	}
	out[o] = '\0';
	return 0;
}

/* Parses "mode=NNNN" (octal, at most 07777). Returns 1 if field is a mode option. */
static int parse_mode(struct parse_ctx *c, const char *field, int *mode, int *rc)
{
	char *end;
	unsigned long v;

	if (strncmp(field, "mode=", 5) != 0)
		return 0;
	if (field[5] < '0' || field[5] > '7') {
		*rc = fail(c, "bad mode '%s'", field);
		return 1;
	}
	v = strtoul(field + 5, &end, 8);
	if (*end != '\0' || v > 07777) {
		*rc = fail(c, "bad mode '%s'", field);
		return 1;
	}
	*mode = (int)v;
	*rc = 0;
	return 1;
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int add_entry(struct parse_ctx *c, const struct rootfs_entry *e)
{
	struct rootfs_manifest *m = c->m;
	struct rootfs_entry *n = realloc(m->entries, (m->n_entries + 1) * sizeof(*n));
	char *path, *source = NULL;

	if (n == NULL)
		return -ENOMEM;
	m->entries = n;
	path = strdup(e->path);
	if (e->source != NULL)
		source = strdup(e->source);
	if (path == NULL || (e->source != NULL && source == NULL)) {
		free(path);
		free(source);
		return -ENOMEM;
	}
	n[m->n_entries] = *e;
	n[m->n_entries].path = path;
	n[m->n_entries].source = source;
	m->n_entries++;
	return 0;
}

static int check_path(struct parse_ctx *c, const char *what, const char *path)
{
	if (!rootfs_path_is_normal(path))
		return fail(c, "%s '%s' is not an absolute normal path", what, path);
	return 0;
}

/* Splits the trailing "mode=" option off fields[first..n). Returns the count of
 * positional fields left, or a negative error. */
static int take_mode(struct parse_ctx *c, char **f, int n, int *mode)
{
	int rc;

	*mode = -1;
	if (n > 0 && parse_mode(c, f[n - 1], mode, &rc)) {
		if (rc < 0)
			return rc;
		n--;
	}
	for (int i = 0; i < n; i++)
		if (strncmp(f[i], "mode=", 5) == 0)
			return fail(c, "mode= must be the last field");
	return n;
}

static int parse_option(struct parse_ctx *c, char **f, int n)
{
	struct rootfs_manifest *m = c->m;

	if (n == 0)
		return fail(c, "option needs NAME=VALUE");
	for (int i = 0; i < n; i++) {
		const char *v = strchr(f[i], '=');
		unsigned level;

		if (v == NULL)
			return fail(c, "option '%s' is not NAME=VALUE", f[i]);
		v++;
		if (strncmp(f[i], "compress=", 9) == 0) {
			if (strcmp(v, "zstd") == 0)
				m->compress = ROOTFS_COMPRESS_ZSTD;
			else if (strcmp(v, "gzip") == 0)
				m->compress = ROOTFS_COMPRESS_GZIP;
			else if (strcmp(v, "xz") == 0)
				m->compress = ROOTFS_COMPRESS_XZ;
			else
				return fail(c, "unknown compressor '%s' (zstd, gzip, xz)", v);
		} else if (strncmp(f[i], "level=", 6) == 0) {
			if (parse_uint(v, 22, &level) < 0 || level == 0)
				return fail(c, "bad compression level '%s'", v);
			m->level = (int)level;
		} else if (strncmp(f[i], "strip-modules=", 14) == 0) {
			if (strcmp(v, "yes") == 0 || strcmp(v, "debug") == 0)
				m->strip_modules = ROOTFS_STRIP_DEBUG;
			else if (strcmp(v, "unneeded") == 0)
				m->strip_modules = ROOTFS_STRIP_UNNEEDED;
			else if (strcmp(v, "no") == 0)
				m->strip_modules = ROOTFS_STRIP_NO;
			else
				return fail(c, "strip-modules is no, debug (yes) or unneeded");
		} else if (strncmp(f[i], "strip-binaries=", 15) == 0) {
			if (strcmp(v, "yes") == 0)
				m->strip_binaries = true;
			else if (strcmp(v, "no") == 0)
				m->strip_binaries = false;
			else
				return fail(c, "strip-binaries is yes or no");
		} else {
			return fail(c, "unknown option '%s'", f[i]);
		}
	}
	if (m->compress != ROOTFS_COMPRESS_ZSTD && m->level > 9)
		return fail(c, "%s level %d out of range 1-9", rootfs_compress_name(m->compress),
			    m->level);
	return 0;
}

static int parse_module_names(struct parse_ctx *c, char **f, int n, bool optional)
{
	if (n == 0)
		return fail(c, "module needs at least one name");
	for (int i = 0; i < n; i++) {
		struct rootfs_entry e = {
		    .kind = ROOTFS_MODULE, .line = c->line, .optional = optional, .mode = -1};
		char name[128];
		size_t len = strlen(f[i]);
		int rc;

		if (len == 0 || len >= sizeof(name))
			return fail(c, "bad module name '%s'", f[i]);
		for (size_t j = 0; j <= len; j++) {
			char ch = f[i][j];

			if (ch == '-')
				ch = '_';
			else if (ch != '\0' && ch != '_' && !(ch >= 'a' && ch <= 'z') &&
				 !(ch >= 'A' && ch <= 'Z') && !(ch >= '0' && ch <= '9'))
				return fail(c, "bad module name '%s'", f[i]);
			name[j] = ch;
		}
		e.path = name;
		if ((rc = add_entry(c, &e)) < 0)
			return rc;
	}
	return 0;
}

/* f[0] is the directive; f[1..n) its fields. */
static int parse_directive(struct parse_ctx *c, char **f, int n)
{
	struct rootfs_entry e = {.line = c->line, .mode = -1};
	const char *d = f[0];
	int rc, k;

	if (strcmp(d, "optional") == 0) {
		e.optional = true;
		f++;
		n--;
		if (n == 0)
			return fail(c, "optional needs a directive");
		d = f[0];
		if (strcmp(d, "file") != 0 && strcmp(d, "tree") != 0 && strcmp(d, "module") != 0)
			return fail(c, "only file, tree and module can be optional");
	}
	if (strcmp(d, "option") == 0)
		return parse_option(c, f + 1, n - 1);
	if (strcmp(d, "module") == 0)
		return parse_module_names(c, f + 1, n - 1, e.optional);

	if ((k = take_mode(c, f + 1, n - 1, &e.mode)) < 0)
		return k;
	if (k == 0)
		return fail(c, "%s needs a path", d);
	e.path = f[1];
	if ((rc = check_path(c, "path", e.path)) < 0)
		return rc;

	if (strcmp(d, "dir") == 0) {
		e.kind = ROOTFS_DIR;
		if (k != 1)
			return fail(c, "usage: dir PATH [mode=]");
	} else if (strcmp(d, "file") == 0 || strcmp(d, "tree") == 0) {
		e.kind = d[0] == 'f' ? ROOTFS_FILE : ROOTFS_TREE;
		if (k > 2)
			return fail(c, "usage: %s PATH [SOURCE] [mode=]", d);
		if (k == 2) {
			e.source = f[2];
			if (e.source[0] != '/')
				return fail(c, "source '%s' is not absolute", e.source);
		}
		if (e.kind == ROOTFS_TREE && e.mode != -1)
			return fail(c, "tree takes no mode");
	} else if (strcmp(d, "symlink") == 0) {
		e.kind = ROOTFS_SYMLINK;
		if (k != 2 || e.mode != -1)
			return fail(c, "usage: symlink PATH TARGET");
		e.source = f[2];
	} else if (strcmp(d, "nod") == 0) {
		e.kind = ROOTFS_NOD;
		if (k != 4 || (strcmp(f[2], "c") != 0 && strcmp(f[2], "b") != 0))
			return fail(c, "usage: nod PATH c|b MAJOR MINOR [mode=]");
		e.nod_type = f[2][0];
		if (parse_uint(f[3], 4095, &e.major) < 0 || parse_uint(f[4], 1048575, &e.minor) < 0)
			return fail(c, "bad device number %s:%s", f[3], f[4]);
	} else {
		return fail(c, "unknown directive '%s'", d);
	}
	if (strcmp(e.path, "/") == 0 && e.kind != ROOTFS_DIR)
		return fail(c, "/ can only be a dir");
	return add_entry(c, &e);
}

static int parse_line(struct parse_ctx *c, char *line)
{
	char *fields[MANIFEST_MAX_FIELDS];
	int n = 0, rc;
	char *save = NULL, *tok;

	for (char *p = line; *p != '\0'; p++) {
		if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	}
	for (tok = strtok_r(line, " \t\r", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t\r", &save)) {
		if (n == MANIFEST_MAX_FIELDS)
			return fail(c, "too many fields");
		fields[n] = c->scratch + (size_t)n * MANIFEST_MAX_LINE;
		if ((rc = expand(c, tok, fields[n], MANIFEST_MAX_LINE)) < 0)
			return rc;
		n++;
	}
	if (n == 0)
		return 0;
	return parse_directive(c, fields, n);
}

int rootfs_manifest_parse(struct rootfs_manifest *m, const char *text, size_t len,
			  const struct rootfs_var *vars, size_t n_vars,
			  struct rootfs_manifest_error *err)
{
	struct parse_ctx c = {.m = m, .vars = vars, .n_vars = n_vars, .err = err};
	char *line = malloc(MANIFEST_MAX_LINE);
	size_t pos = 0;
	int rc = 0;

	c.scratch = malloc((size_t)MANIFEST_MAX_FIELDS * MANIFEST_MAX_LINE);
	if (line == NULL || c.scratch == NULL) {
		free(line);
		free(c.scratch);
		return -ENOMEM;
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (text + pos)) : len - pos;

		c.line++;
		if (l >= MANIFEST_MAX_LINE) {
			rc = fail(&c, "line longer than %d bytes", MANIFEST_MAX_LINE - 1);
			break;
		}
		if (memchr(text + pos, '\0', l) != NULL) {
			rc = fail(&c, "NUL byte in line");
			break;
		}
		memcpy(line, text + pos, l);
		line[l] = '\0';
		if ((rc = parse_line(&c, line)) < 0)
			break;
		pos += l + 1;
	}
	free(line);
	free(c.scratch);
	return rc;
}
