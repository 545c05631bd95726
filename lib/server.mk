# What every server program shares on top of the listener: the HTTP routing table
# (http), page helpers (html), the /metrics writer (metrics), the /logs page (log_page),
# the start-up and stop around the port (server) and the flags every server has
# (server_flags).
LIB_SRCS += lib/http.c lib/http_mini.c lib/html.c lib/metrics.c lib/log_page.c lib/server.c lib/server_flags.c

UNIT_TESTS += test_http test_http_mini test_html test_metrics test_listener
test_listener_LIBS := $(call pkg_libs,libmicrohttpd)
test_http_LIBS := $(call pkg_libs,libmicrohttpd)
test_http_mini_LIBS := $(call pkg_libs,libmicrohttpd)

# A tiny server on lib/server for tests/integration/server.sh.
PROGRAMS += ss-testserver
ss-testserver_SRCS := tests/helpers/ss_testserver.c
ss-testserver_LIBS := $(call pkg_libs,libmicrohttpd)
