/* html: escaping and the page frame of the status pages. */
#include "html.h"

void html_esc(FILE *f, const char *s)
{
	for (; s != NULL && *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

void html_page_start(FILE *f, const char *title, const struct html_chrome *ch)
{
	fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n<title>", f);
	html_esc(f, title);
	fputs("</title>\n<style>\n"
	      "body{font-family:system-ui,sans-serif;margin:1.5em "
	      "2em;color:#222;background:#fafafa}\n"
	      "h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.1em;margin:1.4em 0 .4em}\n"
	      "table{border-collapse:collapse;background:#fff}\n"
	      "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}\n"
	      "th{background:#eef1f5}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
	      ".bad{color:#b00;font-weight:bold}.warn{color:#a60}.ok{color:#070}\n"
	      "nav a{margin-right:1em}pre{background:#fff;border:1px solid #ccc;padding:.5em;"
	      "overflow:auto;font-size:.85em}\n",
	      f);
	if (ch != NULL && ch->css != NULL)
		fputs(ch->css, f);
	fputs("</style></head><body>\n", f);
}

void html_page_end(FILE *f)
{
	fputs("</body></html>\n", f);
}

void html_row(FILE *f, const char *key, const char *value)
{
	fputs("<tr><th>", f);
	html_esc(f, key);
	fputs("</th><td>", f);
	html_esc(f, value);
	fputs("</td></tr>\n", f);
}
