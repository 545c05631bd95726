/* Flag definitions of the image server (see isflags.h). */
#include "daemon/imageserver/isflags.h"

#define SEC 1000000000LL

void isflags_define(struct flags *fs, struct is_config *c)
{
	server_flags_define(fs, &c->srv, "imageserver", 300 * SEC);
	flags_int(fs, "portNum", &c->port_num, 6971,
		  "Port number to allocate and listen on for HTTP/RPC");
	flags_string(fs, "imageDir", &c->image_dir, "/var/lib/imageserver",
		     "Name of image server data directory");
	flags_string(fs, "objectDir", &c->object_dir, "/var/lib/objectserver",
		     "Name of image server object directory");
	flags_size(fs, "maxMessageSize", &c->max_message_size, 256ULL << 20,
		   "Largest JSON message accepted (an AddImage request holds the whole image)");
	flags_duration(fs, "gcInterval", &c->gc_interval_ns, 3600 * SEC,
		       "Interval between garbage collections of unreferenced objects (0: never)");
	flags_duration(fs, "gcGracePeriod", &c->gc_grace_ns, 3600 * SEC,
		       "Unreferenced objects younger than this are kept (uploads before AddImage)");
	flags_duration(fs, "maxGetImageWait", &c->max_get_image_wait_ns, 600 * SEC,
		       "Longest wait of a GetImage with a Timeout for its image to appear");
	flags_int(fs, "maxConcurrentGetObjects", &c->max_concurrent_gets, 100,
		  "GetObjects calls served at once (more wait)");
}
