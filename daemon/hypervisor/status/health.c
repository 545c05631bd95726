/* GET /health (docs/upgrades.md): the checks a rollout and the upgrade agent's trial
 * boot read, in a fixed order: daemon, libvirt, dhcp, tftp, metadata, data-partition,
 * image. JSON {"Healthy","Failing","Checks":[{"Name","Healthy","Detail"}],
 * "RunningImage","Slot"}; 200 when healthy, 503 when not. */
#include "daemon/hypervisor/status/status_pages.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "daemon/hypervisor/hvflags.h"
#include "daemon/hypervisor/metadata/metadata.h"
#include "daemon/hypervisor/netsvc/netsvc.h"
#include "daemon/hypervisor/upgrade/upgrade.h"
#include "daemon/hypervisor/vmm/libvirt/virt.h"
#include "daemon/hypervisor/vmm/manager.h"
#include "json.h"

#define TMPFS_MAGIC_NUMBER 0x01021994

static const char *const check_names[] = {
    "daemon", "libvirt", "dhcp", "tftp", "metadata", "data-partition", "image",
};
#define NCHECKS (sizeof(check_names) / sizeof(check_names[0]))

#define PROBE_CACHE_NS 1000000000LL

static atomic_uint probe_seq;

/* The last probe's answer: /health is public, so a flood of requests costs at most
 * one fsync a second. */
static pthread_mutex_t probe_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t probe_at; /* CLOCK_MONOTONIC ns; 0: never */
static bool probe_ok;
static char probe_detail[1024];

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A write, fsync and unlink under the state directory (on the appliance, the data
 * partition): a read-only, full or vanished file system fails here. */
static bool data_partition_probe(struct status *s, char *detail, size_t sz)
{
	const char *dir = s->cfg ? s->cfg->state_dir : NULL;
	char path[4200];
	struct statfs fs;
	int fd, rc = 0;

	if (dir == NULL) {
		snprintf(detail, sz, "no state directory");
		return false;
	}
	if (statfs(dir, &fs) < 0) {
		snprintf(detail, sz, "%.900s: %s", dir, strerror(errno));
		return false;
	}
	if ((unsigned long)fs.f_type == TMPFS_MAGIC_NUMBER) {
		snprintf(detail, sz, "%.900s is on tmpfs: the data partition is not mounted", dir);
		return false;
	}
	snprintf(path, sizeof(path), "%s/.health-probe.%ld.%u", dir, (long)getpid(),
		 atomic_fetch_add(&probe_seq, 1));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, "ok\n", 3) != 3 || fsync(fd) < 0)
		rc = errno ? errno : EIO;
	if (fd >= 0)
		close(fd);
	if (fd >= 0 && unlink(path) < 0 && rc == 0)
		rc = errno;
	if (rc != 0) {
		snprintf(detail, sz, "write %.900s: %s", path, strerror(rc));
		return false;
	}
	return true;
}

static bool data_partition(struct status *s, char *detail, size_t sz)
{
	int64_t now = now_ns();
	bool ok;

	pthread_mutex_lock(&probe_mu);
	if (probe_at == 0 || now - probe_at >= PROBE_CACHE_NS) {
		probe_detail[0] = '\0';
		probe_ok = data_partition_probe(s, probe_detail, sizeof(probe_detail));
		probe_at = now;
	}
	ok = probe_ok;
	snprintf(detail, sz, "%s", probe_detail);
	pthread_mutex_unlock(&probe_mu);
	return ok;
}

static bool netsvc_check(struct status *s, const char *name, char *detail, size_t sz)
{
	if (s->ns == NULL) {
		snprintf(detail, sz, "not running (no bridges)");
		return false;
	}
	switch (netsvc_service(s->ns, name)) {
	case NETSVC_SERVICE_DISABLED:
		snprintf(detail, sz, "disabled");
		return true;
	case NETSVC_SERVICE_NOT_RUNNING:
		snprintf(detail, sz, "not running");
		return false;
	default:
		return true;
	}
}

static bool one_check(struct status *s, size_t i, const char *running, const char *required,
		      char *detail, size_t sz)
{
	switch (i) {
	case 0:
		return true;
	case 1:
		if (virt_connected(s->m->virt))
			return true;
		snprintf(detail, sz, "not connected");
		return false;
	case 2:
	case 3:
		return netsvc_check(s, check_names[i], detail, sz);
	case 4:
		if (s->md == NULL) {
			snprintf(detail, sz, "not running (no bridges)");
			return false;
		}
		if (metadata_ready(s->md))
			return true;
		snprintf(detail, sz, "not ready");
		return false;
	case 5:
		return data_partition(s, detail, sz);
	default:
		if (*required == '\0' || strcmp(running, required) == 0)
			return true;
		snprintf(detail, sz, "running %s, required %s", *running ? running : "(unknown)",
			 required);
		return false;
	}
}

int status_health(struct status *s, struct hvapi_health *h)
{
	char running[256], slot[4], required[256], detail[1024];
	const char *forced = s->cfg ? s->cfg->test_fail_health_check : NULL;

	memset(h, 0, sizeof(*h));
	h->checks.v = calloc(NCHECKS, sizeof(*h->checks.v));
	h->failing.v = calloc(NCHECKS, sizeof(*h->failing.v));
	if (h->checks.v == NULL || h->failing.v == NULL)
		goto oom;
	upgrade_images(s->upg, running, sizeof(running), slot, sizeof(slot), required,
		       sizeof(required));
	h->healthy = true;
	for (size_t i = 0; i < NCHECKS; i++) {
		struct hvapi_health_check *c = &h->checks.v[i];

		detail[0] = '\0';
		c->healthy = one_check(s, i, running, required, detail, sizeof(detail));
		if (forced != NULL && strcmp(forced, check_names[i]) == 0) {
			c->healthy = false;
			snprintf(detail, sizeof(detail), "failing by -testFailHealthCheck");
		}
		h->checks.n++;
		if ((c->name = strdup(check_names[i])) == NULL ||
		    (c->detail = strdup(detail)) == NULL)
			goto oom;
		if (c->healthy)
			continue;
		h->healthy = false;
		if ((h->failing.v[h->failing.n] = strdup(check_names[i])) == NULL)
			goto oom;
		h->failing.n++;
	}
	if ((h->running_image = strdup(running)) == NULL || (h->slot = strdup(slot)) == NULL)
		goto oom;
	return 0;
oom:
	hvapi_health_clear(h);
	return -ENOMEM;
}

bool status_healthy(void *arg, char *why, size_t whysz)
{
	struct hvapi_health h;
	size_t off = 0;
	bool ok;

	if (status_health(arg, &h) < 0) {
		snprintf(why, whysz, "out of memory");
		return false;
	}
	ok = h.healthy;
	why[0] = '\0';
	for (size_t i = 0; i < h.checks.n && off < whysz; i++) {
		if (h.checks.v[i].healthy)
			continue;
		off += (size_t)snprintf(why + off, whysz - off, "%s%s: %s", off ? "; " : "",
					h.checks.v[i].name, h.checks.v[i].detail);
	}
	hvapi_health_clear(&h);
	return ok;
}

int status_health_page(struct status *s, FILE *f)
{
	struct hvapi_health h;
	json_t *j;
	char *text;
	int code;

	if (status_health(s, &h) < 0)
		return 500;
	code = h.healthy ? 200 : 503;
	j = api_encode(&hvapi_health_type, &h);
	hvapi_health_clear(&h);
	/* Nothing failing is [], not Go's null: a reader iterates it. */
	if (j != NULL && json_array_size(json_object_get(j, "Failing")) == 0)
		json_object_set_new(j, "Failing", json_array());
	text = j ? sjson_dumps(j, 0) : NULL;
	json_decref(j);
	if (text == NULL)
		return 500;
	fputs(text, f);
	fputc('\n', f);
	free(text);
	return code;
}
