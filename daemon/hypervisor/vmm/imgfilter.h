/* An image's Filter (spec/fleet-and-images.md §4: {"FilterLines": [...]}) as the
 * original's lib/filter applies it: each non-empty line a regular expression anchored at
 * the start of the path ("^" + line, so "/var/log" also matches "/var/logs/x"); a line
 * "!" inverts the answer. PatchVmImage keeps the paths it matches. Pure: no I/O. */
#ifndef HV_IMGFILTER_H
#define HV_IMGFILTER_H

#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

struct imgfilter {
	regex_t *re;
	size_t n;
	bool invert;
};

/* From the Filter value of an Image (borrowed). -EINVAL when it is not an object (an
 * image without a filter), -ENOMEM; a line that does not compile (POSIX ERE stands in
 * for Go's RE2) is skipped and counted in *skipped (may be NULL). */
int imgfilter_from_json(const json_t *filter, struct imgfilter *f, size_t *skipped);

/* Does the filter match path ("/etc/ssh/ssh_host_rsa_key")? */
bool imgfilter_match(const struct imgfilter *f, const char *path);

void imgfilter_free(struct imgfilter *f); /* accepts a zeroed one */

#endif
