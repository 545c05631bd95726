/* stub_storage: stands in for inst-storage's parts until they are merged
 * (installer.mk). */
#include <stdio.h>

#include "installer/installer.h"
#include "installer/subcmd.h"

int inst_validate(struct inst_ctx *ctx, char *err, size_t errsz)
{
	(void)ctx;
	snprintf(err, errsz, "storage is not built in");
	return -1;
}

int inst_write(struct inst_ctx *ctx, char *err, size_t errsz)
{
	(void)ctx;
	snprintf(err, errsz, "storage is not built in");
	return -1;
}

int inst_list_drives(const struct inst_flags *fl)
{
	(void)fl;
	fprintf(stderr, "installer: list-drives: drives are not built in\n");
	return 1;
}
