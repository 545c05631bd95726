# SRPC transport: TLS contexts and identities, the SRPC wire, server, client, and the
# one-port HTTP+SRPC listener.
LIB_SRCS += lib/tls.c lib/tls_ident.c lib/srpc_wire.c lib/srpc_conn.c lib/srpc_server.c \
	lib/srpc_client.c lib/listener.c lib/log_rpc.c

# Test daemon and client driven by tests/integration/srpc.sh and bench/srpc/run.sh.
PROGRAMS += srpc-testd srpc-testc
srpc-testd_SRCS := tests/helpers/srpc_testd.c
srpc-testd_LIBS := $(call pkg_libs,libmicrohttpd)
srpc-testc_SRCS := tests/helpers/srpc_testc.c

UNIT_TESTS += test_srpc_wire test_tls
