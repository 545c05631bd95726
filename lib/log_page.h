/* log_page: the /logs page every server serves from the logger's in-memory ring
 * (lib/log): the recent lines as an HTML page, or as plain text with ?output=text.
 * One line in a routing table (lib/http):
 *
 *     {"/logs", HTTP_ROUTE_EXACT, HTTP_ROUTE_LOOPBACK, NULL, log_page_handler, &chrome},
 *
 * where the route's data is the program's struct html_chrome (NULL for none). Logs can
 * name users and machines: serve them to loopback callers only. */
#ifndef SS_LOG_PAGE_H
#define SS_LOG_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "http.h"

/* Writes the newest `last` lines of the ring (0 = all), oldest first, one per line;
 * HTML-escaped when html. Returns 0 or -ENOMEM. */
int log_page_lines(FILE *f, size_t last, bool html);

/* The route handler: "<h1>Recent log lines</h1>", the chrome's nav, the lines in a
 * <pre>; with ?output=text the bare lines as text/plain. */
int log_page_handler(struct http_req *req, FILE *body);

#endif
