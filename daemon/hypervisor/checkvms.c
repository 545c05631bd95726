/* check-vms and repair-vm-volume-allocations (see checkvms.h). */
#include "daemon/hypervisor/checkvms.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/hypervisor/vmm/reconcile.h"
#include "daemon/hypervisor/vmm/statedir.h"
#include "daemon/hypervisor/vmm/libvirt/virt.h"
#include "fsutil.h"

struct printer {
	FILE *out;
	int n;
};

static void print_finding(void *arg, const struct reconcile_finding *f)
{
	struct printer *p = arg;

	fprintf(p->out, "%s\n", f->text);
	p->n++;
}

static void print_line(void *arg, bool missing, const char *line)
{
	struct printer *p = arg;

	(void)missing;
	fprintf(p->out, "%s\n", line);
}

static void no_events(const struct virt_event *ev, void *arg)
{
	(void)ev;
	(void)arg;
}

/* The running domains of this daemon instance (uuid read, never created). */
static int domains(const struct hv_config *cfg, char ***out, struct printer *p)
{
	char path[4096], *uuid = NULL, prefix[32], err[512] = "";
	struct virt *v = NULL;
	int rc;

	*out = NULL;
	statedir_path(path, sizeof(path), cfg->state_dir, "uuid");
	rc = fsutil_read_file(path, 4096, &uuid, NULL);
	if (rc == -ENOENT)
		return 0; /* never ran: no domains can be ours */
	if (rc < 0 || strlen(uuid) < STATEDIR_UUID_LEN) {
		fprintf(p->out, "%s: %s\n", path, rc < 0 ? strerror(-rc) : "too short");
		free(uuid);
		return -EINVAL;
	}
	snprintf(prefix, sizeof(prefix), "hv-%.8s-", uuid);
	free(uuid);
	rc = virt_open(cfg->libvirt_uri, prefix, no_events, NULL, &v, err, sizeof(err));
	if (rc < 0) {
		fprintf(p->out, "cannot compare with libvirt: %s\n", err);
		return rc;
	}
	rc = virt_list(v, out);
	if (rc < 0)
		fprintf(p->out, "cannot list libvirt domains: %s\n", strerror(-rc));
	virt_close(v);
	return rc < 0 ? rc : 0;
}

int checkvms_run(const struct hv_config *cfg, bool repair, FILE *out)
{
	struct printer p = {.out = out};
	struct hvapi_local_vm_info *infos = NULL;
	struct volumes vols = {0};
	char **doms = NULL, err[512];
	uint64_t increase = 0;
	size_t n = 0;
	int rc, failed = 0;

	rc = reconcile_load_infos(cfg->state_dir, &infos, &n, print_finding, &p);
	if (rc < 0) {
		fprintf(out, "%s/VMs: %s\n", cfg->state_dir, strerror(-rc));
		return 1;
	}
	if (volumes_init(&vols, cfg->volume_directories.v, cfg->volume_directories.n, err,
			 sizeof(err)) < 0) {
		fprintf(out, "%s\n", err);
		failed = 1;
	}
	if (repair) {
		for (size_t i = 0; i < n && !failed; i++)
			if (volumes_check(&infos[i], true, &increase, print_line, &p) < 0)
				failed = 1;
		fprintf(out, "Total allocation increase: %" PRIu64 "\n", increase);
	} else {
		if (domains(cfg, &doms, &p) < 0)
			failed = 1;
		if (!failed)
			reconcile_compare(infos, n, doms, &vols, print_finding, &p);
		/* The findings are printed by the comparison; this only adds up. */
		for (size_t i = 0; i < n; i++)
			volumes_check(&infos[i], false, &increase, NULL, NULL);
		if (increase > 0)
			fprintf(out, "Total allocation increase required: %" PRIu64 "\n", increase);
	}
	virt_list_free(doms);
	volumes_clear(&vols);
	reconcile_infos_free(infos, n);
	return failed || (!repair && p.n > 0) ? 1 : 0;
}
