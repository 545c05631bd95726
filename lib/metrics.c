/* metrics: Prometheus text format 0.0.4 writer. */
#include "metrics.h"

#include <inttypes.h>
#include <stdarg.h>

static const char *type_name(enum metrics_type t)
{
	switch (t) {
	case METRICS_COUNTER:
		return "counter";
	case METRICS_GAUGE:
		return "gauge";
	default:
		return "untyped";
	}
}

/* Backslash and newline always; the double quote too inside label values. */
static void escaped(FILE *f, const char *s, int quote)
{
	for (; s != NULL && *s; s++) {
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		if (*s == '\\' || (quote && *s == '"'))
			fputc('\\', f);
		fputc(*s, f);
	}
}

void metrics_declare(FILE *f, const char *name, enum metrics_type type, const char *help)
{
	fprintf(f, "# HELP %s ", name);
	escaped(f, help, 0);
	fprintf(f, "\n# TYPE %s %s\n", name, type_name(type));
}

/* name{l1="v1",l2="v2"} (the braces only with labels). */
static void series(FILE *f, const char *name, va_list ap)
{
	const char *label = va_arg(ap, const char *);

	fputs(name, f);
	if (label == NULL)
		return;
	fputc('{', f);
	for (int i = 0; label != NULL; i++) {
		fprintf(f, "%s%s=\"", i > 0 ? "," : "", label);
		escaped(f, va_arg(ap, const char *), 1);
		fputc('"', f);
		label = va_arg(ap, const char *);
	}
	fputc('}', f);
}

void metrics_uint(FILE *f, const char *name, uint64_t value, ...)
{
	va_list ap;

	va_start(ap, value);
	series(f, name, ap);
	va_end(ap);
	fprintf(f, " %" PRIu64 "\n", value);
}

void metrics_int(FILE *f, const char *name, int64_t value, ...)
{
	va_list ap;

	va_start(ap, value);
	series(f, name, ap);
	va_end(ap);
	fprintf(f, " %" PRId64 "\n", value);
}

void metrics_one(FILE *f, const char *name, enum metrics_type type, const char *help,
		 uint64_t value)
{
	metrics_declare(f, name, type, help);
	metrics_uint(f, name, value, NULL);
}
