/* installcfg: the pure parts of the configuration files of spec/hyper-control.md §4.3
 * (no server is asked), split from hc_install_config so unit tests call them. */
#ifndef SS_HC_INSTALLCFG_H
#define SS_HC_INSTALLCFG_H

#include <stddef.h>

#include "hyperctl.h"

/* The RequiredImage tag of the machine ("" when none). Borrows mi. */
const char *hc_cfg_required_image(const struct fmapi_get_machine_info_response *mi);

/* Step 2 of §4.3: the machine has a non-VLAN subnet and an (IP, MAC) network entry
 * inside one. 0, or -EINVAL with the spec's sentence in err. */
int hc_cfg_check_entries(const struct fmapi_get_machine_info_response *mi, char *err, size_t errsz);

/* resolv.conf of the primary subnet (the first network entry whose IP lies in one of
 * the machine's subnets). *out is a new string. 0, -EINVAL ("no primary subnet
 * found") with err, -ENOMEM. */
int hc_cfg_resolv_conf(const struct fmapi_get_machine_info_response *mi, char **out, char *err,
		       size_t errsz);

/* storage-layout.json: the bytes of -storageLayoutFilename (it must hold a JSON
 * object), else the default with -encrypt / -useKexec. *out and *len: new bytes. 0 or -errno
 * with err. */
int hc_cfg_storage_layout(const struct hc_opts *o, char **out, size_t *len, char *err,
			  size_t errsz);

/* Every file of §4.3 (and what flags adds) for mi with image_name the effective image
 * name ("" for none) into out (added to what it holds). Reads local files (-netbootFiles,
 * -storageLayoutFilename, the CA files) but asks no server. 0 or -errno with err. */
int hc_cfg_build(const struct hc_opts *o, const struct fmapi_get_machine_info_response *mi,
		 const char *image_name, unsigned flags, struct hc_files *out, char *err,
		 size_t errsz);

/* 64 lower-case hex digits of 32 fresh random bytes, NUL-terminated, into out[65]. 0
 * or -errno. */
int hc_cfg_enrol_token(char out[65]);

#endif
