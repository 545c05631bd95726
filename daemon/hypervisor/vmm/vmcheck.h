/* vmcheck: bounds on the strings and lists a client puts into a VM's record over RPC
 * (CreateVm, ChangeVmTags, ChangeVmHostname, ChangeVmOwner*, ChangeOwners,
 * RegisterExternalLeases). They are stored in info.json, sent to every GetUpdates
 * watcher, served by the metadata service and handed to DHCP and libvirt, so each has
 * a bound, and a refusal names the field and the limit (issue 17). Pure: no I/O. */
#ifndef HV_VMCHECK_H
#define HV_VMCHECK_H

#include <stddef.h>

#include "api/hypervisor.h"

#define VMCHECK_TAGS_MAX 64
#define VMCHECK_TAG_KEY_MAX 128
#define VMCHECK_TAG_VALUE_MAX 1024
#define VMCHECK_HOSTNAME_MAX 253	/* a DNS name */
#define VMCHECK_LABEL_MAX 63		/* one label of it */
#define VMCHECK_NAMES_MAX 64		/* owner users, owner groups */
#define VMCHECK_NAME_MAX 256		/* one user or group name */
#define VMCHECK_ID_MAX 256		/* subnet ids named by a VM */
#define VMCHECK_SUBNETS_MAX 32		/* secondary subnets (NICs) of a VM */
#define VMCHECK_KERNEL_OPTIONS_MAX 2048 /* the x86 and arm64 kernels' COMMAND_LINE_SIZE */
#define VMCHECK_TEXT_MAX 4096		/* ImageName, ImageURL */

/* Each returns 0, or -EINVAL with a message in err ("invalid hostname \"a..b\": empty
 * label"); strings quoted in messages are cut to 40 bytes, control bytes shown as '?'.
 * err may be NULL. */

/* "" (the default name) or a DNS name: at most 253 bytes of labels of 1 to 63
 * letters, digits and '-', not starting or ending with '-', joined by '.'. */
int vmcheck_hostname(const char *h, char *err, size_t errsz);

/* The first len bytes of name as DNS labels: NULL if each has 1 to 63 letters, digits
 * and '-', not starting or ending with '-', joined by '.'; otherwise why not ("each
 * label must have 1 to 63 bytes"). */
const char *vmcheck_dns_labels(const char *name, size_t len);

/* At most 64 tags; keys of 1 to 128 bytes without control characters; values of at
 * most 1024 bytes. */
int vmcheck_tags(const struct hvapi_tags *t, char *err, size_t errsz);

/* A list of user or group names (field names it in messages, e.g. "OwnerUsers"): at
 * most 64, each at most 256 bytes without control characters. */
int vmcheck_names(const char *field, const struct api_strlist *l, char *err, size_t errsz);

/* Everything a client may set in the VmInfo of a CreateVm: the above plus
 * ExtraKernelOptions (2048 bytes), ImageName and ImageURL (4096), SubnetId and at most
 * 32 SecondarySubnetIDs (256 each), RootFileSystemLabel (256), none with control
 * characters. */
int vmcheck_vm_info(const struct hvapi_vm_info *v, char *err, size_t errsz);

#endif
