/* image/client: the client side of the ImageServer and ObjectServer services
 * (spec/fleet-and-images.md §4-5) over one SRPC connection (lib/srpc.h, JSON coder).
 * Used by imagetool, the hypervisor (CreateVm ImageName, the tftpboot stream) and later
 * the installer and hyper-control. Every function returns 0 or -errno; the text of a
 * failure (the server's error, or a local one naming the host) is then
 * srpc_client_error(cl) or err. */
#ifndef SS_IMAGE_CLIENT_H
#define SS_IMAGE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "image/image.h"
#include "image/objstore.h"
#include "srpc.h"

#define IMAGESERVER_DEFAULT_PORT 6971

/* ImageServer.CheckDirectory. */
int imgclient_check_directory(struct srpc_client *cl, const char *dir, bool *exists);

/* ImageServer.MakeDirectory {DirectoryName, MakeAll}. */
int imgclient_make_directory(struct srpc_client *cl, const char *dir, bool make_all);

/* ImageServer.ListDirectories (streamed): fn per directory name; stops at fn != 0. */
typedef int (*imgclient_name_fn)(const char *name, void *arg);
int imgclient_list_directories(struct srpc_client *cl, imgclient_name_fn fn, void *arg);

/* ImageServer.ListImages (streamed): fn per image name. */
int imgclient_list_images(struct srpc_client *cl, imgclient_name_fn fn, void *arg);

/* ImageServer.FindLatestImage {DirectoryName, IgnoreExpiringImages}. *name is a new
 * string, "" when the directory holds no image. -EREMOTEIO with the server's Error
 * ("unknown directory: x"). */
int imgclient_find_latest(struct srpc_client *cl, const char *dir, bool ignore_expiring,
			  char **name);

/* ImageServer.CheckImage. */
int imgclient_check_image(struct srpc_client *cl, const char *name, bool *exists);

/* ImageServer.GetImage: -ENOENT when the server has no such image (Image null).
 * ignore_fs asks for the image without its FileSystem. timeout_ms > 0 lets the server
 * wait that long for the image to appear. */
int imgclient_get_image(struct srpc_client *cl, const char *name, bool ignore_fs, int timeout_ms,
			struct image *out);

/* ImageServer.AddImage {ImageName, Image}: the objects must be on the server already. */
int imgclient_add_image(struct srpc_client *cl, const char *name, const struct image *img);

/* ImageServer.DeleteImage. */
int imgclient_delete_image(struct srpc_client *cl, const char *name);

/* ImageServer.GetImageExpiration / ChangeImageExpiration (zero time = permanent). */
int imgclient_get_expiration(struct srpc_client *cl, const char *name, struct timespec *at);
int imgclient_change_expiration(struct srpc_client *cl, const char *name,
				const struct timespec *at);

/* "stream or image name" -> image name: a directory on the server means its latest
 * image (-ENOENT with err "no image in stream x" when empty), else the name itself if
 * the image exists (-ENOENT "image x not found"). *name is a new string. */
int imgclient_resolve(struct srpc_client *cl, const char *stream_or_name, char **name, char *err,
		      size_t errsz);

/* ObjectServer.CheckObjects: sizes[i] = size of hashes[i] on the server, 0 = absent. */
int imgclient_check_objects(struct srpc_client *cl, const struct image_hash *hashes, size_t n,
			    uint64_t *sizes);

/* Progress of a transfer: bytes done of total. */
typedef void (*imgclient_progress_fn)(uint64_t done, uint64_t total, void *arg);

/* ObjectServer.AddObjects: uploads the files (paths[i] holds the object hashes[i] of
 * sizes[i] bytes, ExpectedHash sent), then reads one reply per object. An object the
 * server already has counts as done. A server reply with an ErrorString fails the call
 * with that text in err. */
int imgclient_add_objects(struct srpc_client *cl, const struct image_hash *hashes,
			  const uint64_t *sizes, char *const *paths, size_t n,
			  imgclient_progress_fn progress, void *arg, char *err, size_t errsz);

/* ObjectServer.GetObjects: fetches the objects into st, each verified while written
 * (objstore_add with its expected hash), in batches so that one request never names
 * more than a few thousand hashes. Objects already in st are not asked for. */
int imgclient_get_objects(struct srpc_client *cl, const struct image_hash *hashes, size_t n,
			  struct objstore *st, imgclient_progress_fn progress, void *arg, char *err,
			  size_t errsz);

#endif
