# The client of the image server's ImageServer and ObjectServer services (lib/image/client.h).
LIB_SRCS += lib/image/client.c
