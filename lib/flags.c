/* flags: Go-compatible command-line flags and flags files. */
#include "flags.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum flag_type {
	FT_STRING,
	FT_BOOL,
	FT_INT,
	FT_INT64,
	FT_UINT64,
	FT_DURATION,
	FT_SIZE,
	FT_LIST,
	FT_FUNC,
};

struct flag {
	char *name;
	char *help;
	char *def_text; /* default as shown in the usage ("" = zero value) */
	char *type_name;
	enum flag_type type;
	void *var;
	char *owned; /* FT_STRING: current value */
	flags_set_fn fn;
	void *arg;
	bool set;
};

struct flags {
	char *prog;
	char *usage;
	char *version;
	bool want_version;
	struct flag *v;
	size_t n, cap;
	int nargs;
	char *const *args;
};

static void *xcheck(void *p)
{
	if (!p)
		abort();
	return p;
}

static char *xstrdup(const char *s)
{
	return xcheck(strdup(s ? s : ""));
}

static char *fmt_new(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_new(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

static void set_err(char **err, char *msg)
{
	if (err)
		*err = msg;
	else
		free(msg);
}

/* Go's %q for the ASCII range: quotes, escapes '"', '\\' and control bytes. */
static char *quote(const char *s)
{
	size_t len = strlen(s);
	char *out = malloc(len * 4 + 3), *w = out;

	if (!out)
		return NULL;
	*w++ = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			*w++ = '\\';
			*w++ = (char)*p;
		} else if (*p == '\n') {
			*w++ = '\\';
			*w++ = 'n';
		} else if (*p == '\t') {
			*w++ = '\\';
			*w++ = 't';
		} else if (*p < 0x20 || *p == 0x7f) {
			w += snprintf(w, 5, "\\x%02x", *p);
		} else {
			*w++ = (char)*p;
		}
	}
	*w++ = '"';
	*w = '\0';
	return out;
}

struct flags *flags_new(const char *prog, const char *usage)
{
	struct flags *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return NULL;
	fs->prog = strdup(prog ? prog : "");
	fs->usage = usage ? strdup(usage) : NULL;
	if (!fs->prog || (usage && !fs->usage)) {
		flags_free(fs);
		return NULL;
	}
	return fs;
}

static void list_clear(struct flags_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void flags_free(struct flags *fs)
{
	if (!fs)
		return;
	for (size_t i = 0; i < fs->n; i++) {
		struct flag *f = &fs->v[i];
		if (f->type == FT_LIST)
			list_clear(f->var);
		free(f->owned);
		free(f->name);
		free(f->help);
		free(f->def_text);
		free(f->type_name);
	}
	free(fs->v);
	free(fs->prog);
	free(fs->usage);
	free(fs->version);
	free(fs);
}

static struct flag *find(const struct flags *fs, const char *name)
{
	for (size_t i = 0; i < fs->n; i++)
		if (strcmp(fs->v[i].name, name) == 0)
			return &fs->v[i];
	return NULL;
}

static struct flag *define(struct flags *fs, const char *name, enum flag_type type, void *var,
			   const char *help)
{
	struct flag *f;

	if (!name || !*name || name[0] == '-' || strchr(name, '=') || find(fs, name)) {
		fprintf(stderr, "flags: bad or duplicate flag definition: %s\n",
			name ? name : "(null)");
		abort();
	}
	if (fs->n == fs->cap) {
		fs->cap = fs->cap ? fs->cap * 2 : 16;
		fs->v = xcheck(realloc(fs->v, fs->cap * sizeof(*fs->v)));
	}
	f = &fs->v[fs->n++];
	memset(f, 0, sizeof(*f));
	f->name = xstrdup(name);
	f->help = xstrdup(help);
	f->type = type;
	f->var = var;
	return f;
}

/* Go's numeric flag errors. */
#define ERR_PARSE "parse error"
#define ERR_RANGE "value out of range"

static int parse_bool(const char *s, bool *out)
{
	static const char *const t[] = {"1", "t", "T", "true", "TRUE", "True"};
	static const char *const f[] = {"0", "f", "F", "false", "FALSE", "False"};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(s, t[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, f[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* Unsigned magnitude with Go's base prefixes (0x, 0o, 0b, leading 0 = octal); the
 * whole string must be digits. */
static int parse_mag(const char *p, uint64_t *out)
{
	unsigned long long v;
	int base = 0;
	char *end;

	if (!*p || *p == '-' || *p == '+' || isspace((unsigned char)*p))
		return -EINVAL;
	if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B' || p[1] == 'o' || p[1] == 'O')) {
		base = (p[1] == 'b' || p[1] == 'B') ? 2 : 8;
		p += 2;
		if (!*p || *p == '-' || *p == '+' || isspace((unsigned char)*p))
			return -EINVAL;
	}
	errno = 0;
	v = strtoull(p, &end, base);
	if (*end || end == p)
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*out = v;
	return 0;
}

static int parse_i64(const char *s, int64_t *out)
{
	bool neg = *s == '-';
	uint64_t v;
	int rc = parse_mag(s + (*s == '-' || *s == '+'), &v);

	if (rc < 0)
		return rc;
	if (v > (uint64_t)INT64_MAX + neg)
		return -ERANGE;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	return parse_mag(s + (*s == '+'), out);
}

int flags_parse_duration(const char *s, int64_t *ns)
{
	static const struct {
		const char *name;
		uint64_t mult;
	} units[] = {
	    {"ns", 1ULL},	    {"us", 1000ULL},
	    {"\xc2\xb5s", 1000ULL}, /* U+00B5 micro sign */
	    {"\xce\xbcs", 1000ULL}, /* U+03BC Greek mu */
	    {"ms", 1000000ULL},	    {"s", 1000000000ULL},
	    {"m", 60000000000ULL},  {"h", 3600000000000ULL},
	};
	const char *p = s;
	uint64_t total = 0;
	bool neg = false;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (strcmp(p, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (!*p)
		return -EINVAL;
	while (*p) {
		uint64_t v = 0, frac = 0, scale = 1, mult = 0, add;
		bool digits = false, overflow = false;
		size_t ulen;

		if (!(*p == '.' || (*p >= '0' && *p <= '9')))
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			digits = true;
			if (v > (UINT64_MAX - 9) / 10)
				return -ERANGE;
			v = v * 10 + (uint64_t)(*p - '0');
		}
		if (*p == '.') {
			p++;
			for (; *p >= '0' && *p <= '9'; p++) {
				digits = true;
				if (overflow)
					continue;
				/* Extra digits beyond what fits are ignored, as Go does. */
				if (scale > UINT64_MAX / 10 || frac > (UINT64_MAX - 9) / 10) {
					overflow = true;
					continue;
				}
				frac = frac * 10 + (uint64_t)(*p - '0');
				scale *= 10;
			}
		}
		if (!digits)
			return -EINVAL;
		ulen = 0;
		while (p[ulen] && p[ulen] != '.' && !(p[ulen] >= '0' && p[ulen] <= '9'))
			ulen++;
		if (ulen == 0)
			return -EINVAL; /* missing unit */
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (strlen(units[i].name) == ulen && memcmp(units[i].name, p, ulen) == 0)
				mult = units[i].mult;
		}
		if (!mult)
			return -EINVAL;
		p += ulen;
		if (v > (1ULL << 63) / mult)
			return -ERANGE;
		add = v * mult;
		if (frac > 0)
			add +=
			    (uint64_t)((long double)frac * (long double)mult / (long double)scale);
		if (add > (1ULL << 63) || total > (1ULL << 63) - add)
			return -ERANGE;
		total += add;
	}
	if (!neg && total > (uint64_t)INT64_MAX)
		return -ERANGE;
	*ns = neg ? (int64_t)(0 - total) : (int64_t)total;
	return 0;
}

/* Go's fmtFrac: writes v's low prec digits as a fraction (no trailing zeros). */
static size_t fmt_frac(char *buf, size_t w, uint64_t *v, int prec)
{
	bool print = false;

	for (int i = 0; i < prec; i++) {
		unsigned digit = (unsigned)(*v % 10);
		print = print || digit != 0;
		if (print)
			buf[--w] = (char)('0' + digit);
		*v /= 10;
	}
	if (print)
		buf[--w] = '.';
	return w;
}

static size_t fmt_int(char *buf, size_t w, uint64_t v)
{
	if (v == 0)
		buf[--w] = '0';
	while (v > 0) {
		buf[--w] = (char)('0' + v % 10);
		v /= 10;
	}
	return w;
}

char *flags_format_duration(int64_t ns, char *out, size_t size)
{
	char buf[40];
	size_t w = sizeof(buf) - 1;
	bool neg = ns < 0;
	uint64_t u = neg ? 0 - (uint64_t)ns : (uint64_t)ns;

	buf[w] = '\0';
	if (u == 0) {
		snprintf(out, size, "0s");
		return out;
	}
	if (u < 1000000000ULL) {
		int prec;
		buf[--w] = 's';
		if (u < 1000ULL) {
			prec = 0;
			buf[--w] = 'n';
		} else if (u < 1000000ULL) {
			prec = 3;
			buf[--w] = '\xb5';
			buf[--w] = '\xc2';
		} else {
			prec = 6;
			buf[--w] = 'm';
		}
		w = fmt_frac(buf, w, &u, prec);
		w = fmt_int(buf, w, u);
	} else {
		buf[--w] = 's';
		w = fmt_frac(buf, w, &u, 9);
		w = fmt_int(buf, w, u % 60);
		u /= 60;
		if (u > 0) {
			buf[--w] = 'm';
			w = fmt_int(buf, w, u % 60);
			u /= 60;
			if (u > 0) {
				buf[--w] = 'h';
				w = fmt_int(buf, w, u);
			}
		}
	}
	if (neg)
		buf[--w] = '-';
	snprintf(out, size, "%s", buf + w);
	return out;
}

static const char size_units[] = "KMGTPE";

int flags_parse_size(const char *s, uint64_t *bytes)
{
	const char *p = s, *u;
	uint64_t v = 0, mult = 1;

	if (!(*p >= '0' && *p <= '9'))
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p && (u = strchr(size_units, toupper((unsigned char)*p)))) {
		for (const char *q = size_units; q <= u; q++)
			mult *= 1024;
		p++;
		if (*p == 'i' || *p == 'I')
			p++;
	}
	if (*p == 'B' || *p == 'b')
		p++;
	if (*p)
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*bytes = v * mult;
	return 0;
}

char *flags_format_size(uint64_t bytes, char *buf, size_t size)
{
	int unit = -1;

	while (bytes != 0 && bytes % 1024 == 0 && unit < (int)sizeof(size_units) - 2) {
		bytes /= 1024;
		unit++;
	}
	if (unit < 0)
		snprintf(buf, size, "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, size, "%llu%c", (unsigned long long)bytes, size_units[unit]);
	return buf;
}

static int split_list(const char *value, struct flags_list *out)
{
	size_t n = 1;
	const char *p = value;

	out->n = 0;
	out->v = NULL;
	if (!value || !*value)
		return 0;
	for (const char *c = value; *c; c++)
		n += *c == ',';
	out->v = calloc(n + 1, sizeof(*out->v)); /* NULL-terminated too (srpc trust lists) */
	if (!out->v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t len = strcspn(p, ",");
		out->v[i] = strndup(p, len);
		if (!out->v[i]) {
			out->n = i;
			list_clear(out);
			return -ENOMEM;
		}
		p += len + (p[len] == ',');
	}
	out->n = n;
	return 0;
}

/* Applies value to f. On failure returns -EINVAL/-ERANGE/-ENOMEM and *why a new
 * reason ("parse error"). */
static int apply(struct flag *f, const char *value, char **why)
{
	int rc = 0;

	*why = NULL;
	switch (f->type) {
	case FT_STRING: {
		char *s = strdup(value);
		if (!s)
			return -ENOMEM;
		free(f->owned);
		f->owned = s;
		*(const char **)f->var = s;
		break;
	}
	case FT_BOOL:
		rc = parse_bool(value, f->var);
		break;
	case FT_INT: {
		int64_t v;
		rc = parse_i64(value, &v);
		if (rc == 0 && (v < INT_MIN || v > INT_MAX))
			rc = -ERANGE;
		if (rc == 0)
			*(int *)f->var = (int)v;
		break;
	}
	case FT_INT64:
		rc = parse_i64(value, f->var);
		break;
	case FT_UINT64:
		rc = parse_u64(value, f->var);
		break;
	case FT_DURATION:
		rc = flags_parse_duration(value, f->var);
		if (rc < 0)
			rc = -EINVAL; /* Go reports every duration error as "parse error" */
		break;
	case FT_SIZE:
		rc = flags_parse_size(value, f->var);
		break;
	case FT_LIST: {
		struct flags_list l;
		rc = split_list(value, &l);
		if (rc == 0) {
			list_clear(f->var);
			*(struct flags_list *)f->var = l;
		}
		break;
	}
	case FT_FUNC:
		rc = f->fn(f->arg, value, why);
		if (rc >= 0)
			rc = 0;
		else if (rc != -ENOMEM && rc != -ERANGE)
			rc = -EINVAL;
		break;
	}
	if (rc < 0 && !*why)
		*why = strdup(rc == -ERANGE   ? ERR_RANGE
			      : rc == -ENOMEM ? "out of memory"
					      : ERR_PARSE);
	if (rc == 0)
		f->set = true;
	return rc;
}

static void set_default(struct flag *f, const char *value, const char *shown)
{
	char *why;

	if (apply(f, value, &why) < 0) {
		fprintf(stderr, "flags: bad default %s for -%s: %s\n", value, f->name,
			why ? why : "?");
		abort();
	}
	f->set = false;
	f->def_text = xstrdup(shown);
}

void flags_string(struct flags *fs, const char *name, const char **var, const char *def,
		  const char *help)
{
	struct flag *f = define(fs, name, FT_STRING, var, help);

	set_default(f, def ? def : "", def ? def : "");
	f->type_name = xstrdup("string");
}

void flags_bool(struct flags *fs, const char *name, bool *var, bool def, const char *help)
{
	struct flag *f = define(fs, name, FT_BOOL, var, help);

	*var = def;
	f->def_text = xstrdup(def ? "true" : "");
	f->type_name = xstrdup("");
}

void flags_int(struct flags *fs, const char *name, int *var, int def, const char *help)
{
	struct flag *f = define(fs, name, FT_INT, var, help);

	*var = def;
	f->def_text = def ? xcheck(fmt_new("%d", def)) : xstrdup("");
	f->type_name = xstrdup("int");
}

void flags_int64(struct flags *fs, const char *name, int64_t *var, int64_t def, const char *help)
{
	struct flag *f = define(fs, name, FT_INT64, var, help);

	*var = def;
	f->def_text = def ? xcheck(fmt_new("%lld", (long long)def)) : xstrdup("");
	f->type_name = xstrdup("int");
}

void flags_uint64(struct flags *fs, const char *name, uint64_t *var, uint64_t def, const char *help)
{
	struct flag *f = define(fs, name, FT_UINT64, var, help);

	*var = def;
	f->def_text = def ? xcheck(fmt_new("%llu", (unsigned long long)def)) : xstrdup("");
	f->type_name = xstrdup("uint");
}

void flags_duration(struct flags *fs, const char *name, int64_t *var_ns, int64_t def_ns,
		    const char *help)
{
	struct flag *f = define(fs, name, FT_DURATION, var_ns, help);
	char buf[40];

	*var_ns = def_ns;
	f->def_text = xstrdup(def_ns ? flags_format_duration(def_ns, buf, sizeof(buf)) : "");
	f->type_name = xstrdup("duration");
}

void flags_size(struct flags *fs, const char *name, uint64_t *var, uint64_t def, const char *help)
{
	struct flag *f = define(fs, name, FT_SIZE, var, help);
	char buf[32];

	*var = def;
	f->def_text = xstrdup(def ? flags_format_size(def, buf, sizeof(buf)) : "");
	f->type_name = xstrdup("value");
}

void flags_strlist(struct flags *fs, const char *name, struct flags_list *var, const char *def,
		   const char *help)
{
	struct flag *f;

	var->n = 0;
	var->v = NULL;
	f = define(fs, name, FT_LIST, var, help);
	set_default(f, def ? def : "", def ? def : "");
	f->type_name = xstrdup("value");
}

void flags_func(struct flags *fs, const char *name, const char *type, flags_set_fn set, void *arg,
		const char *def_text, const char *help)
{
	struct flag *f = define(fs, name, FT_FUNC, NULL, help);

	f->fn = set;
	f->arg = arg;
	f->def_text = xstrdup(def_text);
	f->type_name = xstrdup(type && *type ? type : "value");
}

void flags_version(struct flags *fs, const char *text)
{
	flags_bool(fs, "version", &fs->want_version, false, "Print version information and exit");
	fs->version = xstrdup(text);
}

int flags_set(struct flags *fs, const char *name, const char *value, char **err)
{
	struct flag *f = find(fs, name);
	char *why, *q;
	int rc;

	if (err)
		*err = NULL;
	if (!f) {
		set_err(err, fmt_new("flag provided but not defined: -%s", name));
		return -ENOENT;
	}
	rc = apply(f, value, &why);
	if (rc == 0)
		return 0;
	q = quote(value);
	if (f->type == FT_BOOL)
		set_err(err, fmt_new("invalid boolean value %s for -%s: %s", q ? q : value, name,
				     why ? why : ERR_PARSE));
	else
		set_err(err, fmt_new("invalid value %s for flag -%s: %s", q ? q : value, name,
				     why ? why : ERR_PARSE));
	free(q);
	free(why);
	return rc == -ENOMEM ? rc : -EINVAL;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int flags_load_file(struct flags *fs, const char *path, char **err)
{
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	int rc = 0;
	FILE *f;

	if (err)
		*err = NULL;
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		rc = -errno;
		set_err(err, fmt_new("%s: %s", path, strerror(-rc)));
		return rc;
	}
	while (getline(&line, &cap, f) >= 0) {
		char *l = trim(line), *eq, *name, *value, *why = NULL;
		lineno++;
		if (!*l || *l == '#' || *l == ';')
			continue;
		eq = strchr(l, '=');
		if (!eq) {
			set_err(err, fmt_new("%s:%u: missing '=' in line", path, lineno));
			rc = -EINVAL;
			break;
		}
		*eq = '\0';
		name = trim(l);
		value = trim(eq + 1);
		if (!*name || strpbrk(name, " \t")) {
			set_err(err, fmt_new("%s:%u: bad flag name \"%s\"", path, lineno, name));
			rc = -EINVAL;
			break;
		}
		rc = flags_set(fs, name, value, &why);
		if (rc < 0) {
			set_err(err, fmt_new("%s:%u: %s", path, lineno, why ? why : "error"));
			free(why);
			rc = -EINVAL;
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		rc = -EIO;
		set_err(err, fmt_new("%s: read error", path));
	}
	free(line);
	fclose(f);
	return rc;
}

int flags_load_dir(struct flags *fs, const char *dir, char **err)
{
	static const char *const names[] = {"flags.default", "flags.extra"};

	for (size_t i = 0; i < 2; i++) {
		char *path = fmt_new("%s/%s", dir, names[i]);
		int rc;
		if (!path)
			return -ENOMEM;
		rc = flags_load_file(fs, path, err);
		free(path);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int flags_load_config(struct flags *fs, const char *dir)
{
	char *err = NULL;
	int rc;

	if (dir == NULL)
		return 0;
	rc = flags_load_dir(fs, dir, &err);
	if (rc < 0)
		fprintf(stderr, "%s: %s\n", fs->prog, err != NULL ? err : strerror(-rc));
	free(err);
	return rc;
}

char *flags_user_config_dir(const char *prog)
{
	const char *home = getenv("HOME");

	if (!home || !*home)
		return NULL;
	return fmt_new("%s/.config/%s", home, prog);
}

int flags_parse(struct flags *fs, int argc, char *const argv[], char **err)
{
	int i = 1;

	if (err)
		*err = NULL;
	fs->args = argv + (argc > 0 ? argc : 0);
	fs->nargs = 0;
	while (i < argc) {
		const char *s = argv[i], *name, *eq;
		char *nm, *value = NULL;
		struct flag *f;
		int rc;

		if (strlen(s) < 2 || s[0] != '-')
			break;
		name = s + 1;
		if (s[1] == '-') {
			name++;
			if (s[2] == '\0') {
				i++;
				break;
			}
		}
		if (!*name || *name == '-' || *name == '=') {
			set_err(err, fmt_new("bad flag syntax: %s", s));
			return -EINVAL;
		}
		i++;
		eq = strchr(name, '=');
		nm = eq ? strndup(name, (size_t)(eq - name)) : strdup(name);
		if (!nm)
			return -ENOMEM;
		f = find(fs, nm);
		if (!f) {
			if (strcmp(nm, "help") == 0 || strcmp(nm, "h") == 0) {
				free(nm);
				return FLAGS_EHELP;
			}
			set_err(err, fmt_new("flag provided but not defined: -%s", nm));
			free(nm);
			return -EINVAL;
		}
		if (f->type == FT_BOOL) {
			value = (char *)(eq ? eq + 1 : "true");
		} else if (eq) {
			value = (char *)(eq + 1);
		} else if (i < argc) {
			value = argv[i++];
		} else {
			set_err(err, fmt_new("flag needs an argument: -%s", nm));
			free(nm);
			return -EINVAL;
		}
		rc = flags_set(fs, nm, value, err);
		free(nm);
		if (rc < 0)
			return rc;
	}
	fs->args = argv + i;
	fs->nargs = argc > i ? argc - i : 0;
	return 0;
}

void flags_parse_or_exit(struct flags *fs, int argc, char *const argv[])
{
	char *err = NULL;
	int rc = flags_parse(fs, argc, argv, &err);

	if (rc == FLAGS_EHELP) {
		flags_print_usage(fs, stderr);
		exit(0);
	}
	if (rc < 0) {
		fprintf(stderr, "%s\n", err ? err : strerror(-rc));
		free(err);
		flags_print_usage(fs, stderr);
		exit(2);
	}
	if (fs->want_version) {
		printf("%s\n", fs->version ? fs->version : "");
		exit(0);
	}
}

int flags_nargs(const struct flags *fs)
{
	return fs->nargs;
}

const char *flags_arg(const struct flags *fs, int i)
{
	return i >= 0 && i < fs->nargs ? fs->args[i] : NULL;
}

char *const *flags_args(const struct flags *fs)
{
	return fs->args;
}

bool flags_is_set(const struct flags *fs, const char *name)
{
	const struct flag *f = find(fs, name);

	return f && f->set;
}

static int cmp_flag_ptr(const void *a, const void *b)
{
	return strcmp((*(const struct flag *const *)a)->name,
		      (*(const struct flag *const *)b)->name);
}

/* One flag as Go's PrintDefaults writes it. */
static void print_flag(const struct flag *f, FILE *out)
{
	const char *help = f->help, *bq1 = strchr(help, '`'), *bq2 = NULL;
	char line[256];
	int n;

	if (bq1)
		bq2 = strchr(bq1 + 1, '`');
	/* A `name` in backquotes in the help names the value, as in Go. */
	if (bq2)
		n = snprintf(line, sizeof(line), "  -%s %.*s", f->name, (int)(bq2 - bq1 - 1),
			     bq1 + 1);
	else if (*f->type_name)
		n = snprintf(line, sizeof(line), "  -%s %s", f->name, f->type_name);
	else
		n = snprintf(line, sizeof(line), "  -%s", f->name);
	fputs(line, out);
	fputs(n <= 4 ? "\t" : "\n    \t", out);
	for (const char *p = help; *p; p++) {
		if (bq2 && (p == bq1 || p == bq2))
			continue;
		if (*p == '\n')
			fputs("\n    \t", out);
		else
			fputc(*p, out);
	}
	if (*f->def_text) {
		if (f->type == FT_STRING) {
			char *q = quote(f->def_text);
			fprintf(out, " (default %s)", q ? q : f->def_text);
			free(q);
		} else {
			fprintf(out, " (default %s)", f->def_text);
		}
	}
	fputc('\n', out);
}

void flags_print_usage(const struct flags *fs, FILE *out)
{
	const struct flag **sorted;

	if (fs->usage) {
		size_t len = strlen(fs->usage);
		fputs(fs->usage, out);
		if (len == 0 || fs->usage[len - 1] != '\n')
			fputc('\n', out);
	} else {
		fprintf(out, "Usage of %s:\n", fs->prog);
	}
	sorted = malloc((fs->n ? fs->n : 1) * sizeof(*sorted));
	if (!sorted)
		return;
	for (size_t i = 0; i < fs->n; i++)
		sorted[i] = &fs->v[i];
	qsort(sorted, fs->n, sizeof(*sorted), cmp_flag_ptr);
	for (size_t i = 0; i < fs->n; i++)
		print_flag(sorted[i], out);
	free(sorted);
}
