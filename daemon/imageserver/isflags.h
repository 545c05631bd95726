/* The image server's command-line flags (hypervisor style, flags files in
 * /etc/imageserver/), bound to one configuration struct. */
#ifndef IS_ISFLAGS_H
#define IS_ISFLAGS_H

#include <stdbool.h>
#include <stdint.h>

#include "flags.h"
#include "server_flags.h"

struct is_config {
	int port_num;
	const char *image_dir;
	const char *object_dir;
	struct server_flags srv;       /* TLS files, SRPC trust and timeouts, logging */
	uint64_t max_message_size;     /* one JSON message, e.g. an AddImage request */
	int64_t gc_interval_ns;	       /* between object garbage collections */
	int64_t gc_grace_ns;	       /* unreferenced objects younger than this are kept */
	int64_t max_get_image_wait_ns; /* bound of GetImage's Timeout */
	int max_concurrent_gets;       /* GetObjects calls served at once */
};

/* Defines every flag on fs, bound to cfg. */
void isflags_define(struct flags *fs, struct is_config *cfg);

#define ISFLAGS_USAGE                                                                              \
	"Usage: imageserver [flags...]\n"                                                          \
	"Serves versioned images (ImageServer) and their objects (ObjectServer) over SRPC,\n"      \
	"and status pages and /metrics over HTTP, on one port.\n"                                  \
	"Flags are read from /etc/imageserver/flags.default and flags.extra first.\n"

#endif
