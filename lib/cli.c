/* cli: error lines of the command-line tools. */
#include <stdarg.h>
#include <stdio.h>

#include "cli.h"

int cli_fail(const char *doing, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "Error %s: ", doing);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}
