/* The image server's SRPC methods: ImageServer.* (methods.c) and ObjectServer.*
 * (objects.c), JSON coder, wire forms of the original (spec/fleet-and-images.md §4-5).
 * Reading methods are open to any certificate (identity-only ones too); the ones that
 * change the store need a method grant. */
#ifndef IS_METHODS_H
#define IS_METHODS_H

#include <stdint.h>

#include "daemon/imageserver/store.h"
#include "srpc.h"

struct methods {
	struct store *s;
	int64_t max_get_image_wait_ns;
	unsigned max_concurrent_gets;
	pthread_mutex_t get_mu; /* the GetObjects semaphore */
	pthread_cond_t get_cv;
};

int methods_register_images(struct srpc_server *srv, struct methods *m);
int methods_register_objects(struct srpc_server *srv, struct methods *m);

#endif
