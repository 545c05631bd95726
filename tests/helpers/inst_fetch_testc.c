/* inst-fetch-testc: drives the installer's configuration loader, image fetch and
 * data-partition staging (installer/config.c, fetch.c, target.c) without the rest of
 * the installer, for tests/integration/installer_fetch.sh. Prints "error: <why>" and
 * exits 1 on failure.
 *   inst-fetch-testc config DIR initramfs|medium|network
 *   inst-fetch-testc fetch DIR SOURCE WORK DEST     (cert/key/CA from DIR)
 *   inst-fetch-testc stage DIR SOURCE SYSFS DATA */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "installer/config.h"
#include "installer/installer.h"

/* progress.c belongs to the installer program: here progress goes to stderr. */
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
	static uint64_t last_total = UINT64_MAX;

	if (done == total || total != last_total)
		fprintf(stderr, "progress %s: %llu/%llu %s\n", step, (unsigned long long)done,
			(unsigned long long)total, unit);
	last_total = total;
}

static int usage(void)
{
	fprintf(stderr, "usage: inst-fetch-testc config DIR SOURCE | fetch DIR SOURCE WORK DEST | "
			"stage DIR SOURCE SYSFS DATA\n");
	return 2;
}

static int parse_source(const char *s, enum inst_source *src)
{
	if (!strcmp(s, "initramfs"))
		*src = INST_SRC_INITRAMFS;
	else if (!strcmp(s, "medium"))
		*src = INST_SRC_MEDIUM;
	else if (!strcmp(s, "network"))
		*src = INST_SRC_NETWORK;
	else
		return -1;
	return 0;
}

static void print_config(const struct inst_config *cfg)
{
	printf("hostname %s\n", api_str(cfg->info.machine.net.hostname));
	printf("imagename %s\n", cfg->image_name);
	printf("imageserver %s %d\n", cfg->imageserver_host, cfg->imageserver_port);
	printf("token %s\n", cfg->enrol_token[0] ? "yes" : "no");
	printf("machine-cert %s\n", cfg->have_machine_cert ? "yes" : "no");
	printf("encrypt %s kexec %s basename %s\n", cfg->layout.encrypt ? "true" : "false",
	       cfg->layout.use_kexec ? "true" : "false", cfg->layout.extra_basename);
	for (size_t i = 0; i < cfg->layout.n; i++) {
		const struct inst_layout_entry *e = &cfg->layout.entries[i];

		printf("layout %s %s label=%s min=%llu free=%llu\n", e->mount_point, e->fs_type,
		       e->label, (unsigned long long)e->min_bytes,
		       (unsigned long long)e->min_free_bytes);
	}
}

int main(int argc, char **argv)
{
	char err[2048], cert[4200], key[4200], ca[4200];
	struct inst_config cfg;
	struct inst_ctx ctx = {0};
	enum inst_source src;
	int rc;

	if (argc < 4 || parse_source(argv[3], &src) < 0)
		return usage();
	if (inst_config_load(argv[2], src, &cfg, err, sizeof(err)) < 0) {
		printf("error: %s\n", err);
		return 1;
	}
	snprintf(cert, sizeof(cert), "%s/cert.pem", argv[2]);
	snprintf(key, sizeof(key), "%s/key.pem", argv[2]);
	snprintf(ca, sizeof(ca), "%s/CA.pem", argv[2]);
	ctx.cfg = &cfg;
	ctx.cert_file = cert;
	ctx.key_file = key;
	ctx.ca_file = ca;
	if (!strcmp(argv[1], "config") && argc == 4) {
		print_config(&cfg);
		rc = 0;
	} else if (!strcmp(argv[1], "fetch") && argc == 6) {
		ctx.work = argv[4];
		rc = inst_fetch_image(&ctx, argv[5], err, sizeof(err));
	} else if (!strcmp(argv[1], "stage") && argc == 6) {
		ctx.sysfs = argv[4];
		rc = inst_target_stage(&ctx, argv[5], err, sizeof(err));
	} else {
		inst_config_free(&cfg);
		return usage();
	}
	inst_config_free(&cfg);
	if (rc < 0) {
		printf("error: %s\n", err);
		return 1;
	}
	printf("ok\n");
	return 0;
}
