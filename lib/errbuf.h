/* errbuf: the "-1 with the reason in err" convention of functions that take a
 * caller's (char *err, size_t errsz). */
#ifndef SS_ERRBUF_H
#define SS_ERRBUF_H

#include <stddef.h>

/* Formats the reason into err (when err is not NULL and errsz > 0); returns -1, so that
 * `return errbuf_set(err, errsz, "...", ...);` fails with it. */
int errbuf_set(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
