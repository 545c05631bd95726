/* installer/config.h: the parts of config.c beside inst_config_load (installer.h), for
 * the unit tests, the fuzz harness and target.c. */
#ifndef SS_INSTALLER_CONFIG_H
#define SS_INSTALLER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "installer/installer.h"

/* Size limits of the configuration files (each is read whole). */
#define INST_CONFIG_MAX_JSON (4u << 20)
#define INST_CONFIG_MAX_SMALL 4096u
#define INST_LAYOUT_MAX_ENTRIES 32u

/* Parses the text of storage-layout.json (path names it in messages) into *out, which
 * the caller frees with inst_layout_free. Strict: unknown fields, wrong types, negative
 * or overflowing numbers, a FileSystemType other than ext4/vfat are refused. 0 or
 * -EINVAL/-ENOMEM with one sentence in err. */
int inst_layout_parse(const char *text, size_t len, const char *path,
		      struct inst_storage_layout *out, char *err, size_t errsz);
/* The layout used when storage-layout.json is absent (spec/hyper-control.md §4.3). */
int inst_layout_default(struct inst_storage_layout *out);
void inst_layout_free(struct inst_storage_layout *l);

/* Parses an imageserver file's text ("host[:port]", whitespace trimmed, default port
 * 6971; "[v6]:port" too). 0 or -EINVAL with err. */
int inst_imageserver_parse(const char *text, char *host, size_t hostsz, int *port, char *err,
			   size_t errsz);
/* The same for any "host[:port]" text, with the given default port (the fleetmanager
 * file: FLEETMANAGER_DEFAULT_PORT). */
#define FLEETMANAGER_DEFAULT_PORT 6977
int inst_hostport_parse(const char *text, int default_port, char *host, size_t hostsz, int *port,
			char *err, size_t errsz);

/* The checks of config.json beyond its types: no Error, a hostname, an IP and MAC
 * inside one of the non-VLAN subnets. 0 or -EINVAL with err. */
int inst_info_check(const struct fmapi_get_machine_info_response *info, const char *path, char *err,
		    size_t errsz);

/* random-seed of dir (when present) is written into sink (/dev/urandom) only when the
 * configuration came from the initramfs or the boot medium; from the network it is
 * ignored (weakness 8: anyone on the segment could have sent it). *used tells which.
 * 0, or -errno with err when the seed could not be read or written. */
int inst_config_random_seed(const char *dir, enum inst_source src, const char *sink, bool *used,
			    char *err, size_t errsz);

/* The name of a source for messages: "initramfs", "medium", "network". */
const char *inst_source_name(enum inst_source src);

#endif
