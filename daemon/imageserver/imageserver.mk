# The image server daemon (daemon/imageserver/): flags and start-up (main.c, isflags.c),
# the store of images (store.c), the ImageServer and ObjectServer methods (methods.c,
# objects.c), expiry and object GC (gc.c), the status pages and /metrics (status.c).
PROGRAMS += imageserver
INSTALL_SBIN += imageserver
imageserver_SRCS = $(addprefix daemon/imageserver/, main.c isflags.c store.c methods.c \
	objects.c gc.c status.c)
imageserver_LIBS = $(call pkg_libs,libmicrohttpd)

# A test client of lib/image/client.c, one sub-command per function (tests only).
PROGRAMS += imgclient-testc
imgclient-testc_SRCS := tests/helpers/imgclient_testc.c
