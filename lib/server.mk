# What every server program shares on top of the listener: the HTTP routing table
# (http), page helpers (html), the /metrics writer (metrics) and the /logs page
# (log_page).
LIB_SRCS += lib/http.c lib/html.c lib/metrics.c lib/log_page.c

UNIT_TESTS += test_http test_html test_metrics
test_http_LIBS := $(call pkg_libs,libmicrohttpd)
