/* log_page: /logs, the logger's ring as a page. */
#include "log_page.h"

#include <string.h>

#include "html.h"
#include "log.h"

int log_page_lines(FILE *f, size_t last, bool html)
{
	char **lines = NULL;
	size_t n = 0;
	int rc = log_ring_copy(NULL, &lines, &n);

	if (rc < 0)
		return rc;
	for (size_t i = last > 0 && n > last ? n - last : 0; i < n; i++) {
		if (html)
			html_esc(f, lines[i]);
		else
			fputs(lines[i], f);
		fputc('\n', f);
	}
	log_lines_free(lines, n);
	return 0;
}

int log_page_handler(struct http_req *req, FILE *body)
{
	const struct html_chrome *ch = req->data;
	const char *output = http_req_arg(req, "output");

	if (output != NULL && strcmp(output, "text") == 0) {
		http_req_set_type(req, HTTP_TYPE_TEXT);
		return log_page_lines(body, 0, false) < 0 ? 500 : 200;
	}
	html_page_start(body, "logs", ch);
	fputs("<h1>Recent log lines</h1>\n", body);
	if (ch != NULL && ch->nav != NULL)
		fputs(ch->nav, body);
	fputs("<pre>", body);
	log_page_lines(body, 0, true);
	fputs("</pre>\n", body);
	html_page_end(body);
	return 200;
}
