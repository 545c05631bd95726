/* html: small helpers for the status pages every server writes into a FILE*: escaping,
 * the page frame (one built-in style sheet, to which a program adds its own rules) and
 * a two-cell table row. Pure: no I/O besides the FILE* the caller gives. */
#ifndef SS_HTML_H
#define SS_HTML_H

#include <stdio.h>

/* What a program adds to every page. Both strings are written verbatim (not escaped). */
struct html_chrome {
	const char *css; /* rules appended to the built-in style sheet; NULL = none */
	const char *nav; /* navigation written after a page's heading; NULL = none */
};

/* Writes s with &, <, >, " and ' escaped (NULL writes nothing). */
void html_esc(FILE *f, const char *s);

/* "<!DOCTYPE html>..." up to and including "<body>": title escaped, the built-in style
 * then ch->css. ch may be NULL. */
void html_page_start(FILE *f, const char *title, const struct html_chrome *ch);

/* "</body></html>". */
void html_page_end(FILE *f);

/* One table row "<tr><th>key</th><td>value</td></tr>", both escaped. */
void html_row(FILE *f, const char *key, const char *value);

#endif
