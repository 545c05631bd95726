/* listdrives: the list-drives sub-command (the candidates an install would use). */
#include <stdio.h>

#include "installer/drives.h"
#include "installer/subcmd.h"

int inst_list_drives(const struct inst_flags *fl)
{
	struct inst_drive drives[INST_MAX_DRIVES];
	struct inst_ctx ctx = {.sysfs = fl->sysfs_directory,
			       .proc = fl->proc_directory,
			       .drive_selector = fl->drive_selector[0] ? fl->drive_selector : NULL};
	char err[1024];
	size_t n = 0;

	inst_drives_override = fl->drives;
	if (inst_drives_find(&ctx, drives, INST_MAX_DRIVES, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, "installer: list-drives: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		printf("%s %s %llu %s\n", drives[i].name, drives[i].dev,
		       (unsigned long long)drives[i].bytes, drives[i].where);
	return 0;
}
