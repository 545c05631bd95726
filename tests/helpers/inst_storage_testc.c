/* inst-storage-testc: runs inst_validate and inst_write (installer/install.c with
 * config.c, fetch.c, target.c, drives.c, layout.c, storage.c) like the installer's
 * daemon mode does after the network and enrolment steps, for
 * tests/integration/installer_storage.sh. Prints "error: <why>" and exits 1 on failure.
 *   inst-storage-testc CONFIG_DIR WORK TOOLS DRIVES SYSFS [-n]
 * CONFIG_DIR holds the configuration with cert.pem, key.pem, CA.pem; TOOLS is the
 * -tmpRoot ("" = the host's tools, "-" = WORK/tmproot: a link to the image's tools/); DRIVES
 * "loop3,loop4"; SYSFS the -sysfsDirectory (its class/net for the network configuration, its
 * class/block for the drives); -n: dry run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "installer/drives.h"
#include "installer/installer.h"

/* progress.c belongs to the installer program: here the markers go to stderr. */
void inst_step_begin(const char *step)
{
	fprintf(stderr, "installer: step %s: begin\n", step);
}

void inst_step_end(const char *step, int rc, const char *msg)
{
	fprintf(stderr, "installer: step %s: %s%s\n", step, rc < 0 ? "FAILED: " : "done",
		rc < 0 && msg ? msg : "");
}

void inst_progress(const char *step, uint64_t done, uint64_t total, const char *unit)
{
	if (done == total)
		fprintf(stderr, "progress %s: %llu/%llu %s\n", step, (unsigned long long)done,
			(unsigned long long)total, unit);
}

int main(int argc, char **argv)
{
	char err[2048], cert[4200], key[4200], ca[4200], tmp_root[4200];
	struct inst_config cfg;
	struct inst_ctx ctx = {0};
	int rc;

	if (argc < 6 || argc > 7 || (argc == 7 && strcmp(argv[6], "-n") != 0)) {
		fprintf(stderr,
			"usage: inst-storage-testc CONFIG_DIR WORK TOOLS DRIVES SYSFS [-n]\n");
		return 2;
	}
	if (inst_config_load(argv[1], INST_SRC_MEDIUM, &cfg, err, sizeof(err)) < 0) {
		printf("error: %s\n", err);
		return 1;
	}
	snprintf(cert, sizeof(cert), "%s/cert.pem", argv[1]);
	snprintf(key, sizeof(key), "%s/key.pem", argv[1]);
	snprintf(ca, sizeof(ca), "%s/CA.pem", argv[1]);
	ctx.cfg = &cfg;
	ctx.cert_file = cert;
	ctx.key_file = key;
	ctx.ca_file = ca;
	ctx.work = argv[2];
	snprintf(tmp_root, sizeof(tmp_root), "%s/tmproot", argv[2]);
	ctx.tmp_root = strcmp(argv[3], "-") == 0 ? tmp_root : argv[3];
	ctx.sysfs = argv[5];
	ctx.dry_run = argc == 7;
	inst_drives_override = argv[4];
	rc = inst_validate(&ctx, err, sizeof(err));
	if (rc == 0)
		rc = inst_write(&ctx, err, sizeof(err));
	if (rc == 0)
		printf("kexec %s kernel %s initrd %s cmdline %s\n", ctx.use_kexec ? "yes" : "no",
		       ctx.kernel, ctx.initrd, ctx.cmdline);
	inst_config_free(&cfg);
	if (rc < 0) {
		printf("error: %s\n", err);
		return 1;
	}
	printf("ok\n");
	return 0;
}
