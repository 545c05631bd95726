/* The tftpboot image stream follower (see tftpboot.h): one thread, one check at a time. */
#include "daemon/hypervisor/vmm/tftpboot.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "daemon/hypervisor/vmm/vmimage.h"
#include "daemon/hypervisor/vmm/vmops.h"
#include "fsutil.h"
#include "log.h"

struct tftpboot {
	const struct hv_config *cfg;
	struct objcache *cache;
	int64_t interval_ns;
	tftpboot_set_root_fn set_root;
	void *arg;
	char dir[4096]; /* <stateDir>/tftpboot */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stop;
	char current[IMAGE_FULLNAME_MAX + 1]; /* image served, "" none */
	char error[1024];		      /* last check's failure */
};

static const char *leaf_of(const char *name)
{
	const char *slash = strrchr(name, '/');

	return slash ? slash + 1 : name;
}

/* Removes every tree in dir except keep (a leaf, may be ""). */
static void remove_others(const char *dir, const char *keep)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[8192];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, "current") == 0 || strcmp(de->d_name, keep) == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		vmops_rmtree(path);
	}
	closedir(d);
}

static void set_error(struct tftpboot *t, const char *msg)
{
	bool changed;

	pthread_mutex_lock(&t->mu);
	changed = strcmp(t->error, msg) != 0;
	snprintf(t->error, sizeof(t->error), "%s", msg);
	pthread_mutex_unlock(&t->mu);
	/* Once per distinct failure, not every interval. */
	if (changed && *msg)
		log_error("tftpboot: %s", msg);
}

/* One check: the stream's latest image, unpacked and switched to when it is new. */
static void check(struct tftpboot *t)
{
	const char *stream = t->cfg->tftpboot_image_stream;
	char err[1024] = "", dest[8192], *latest = NULL, cur[IMAGE_FULLNAME_MAX + 1];
	struct vmimage vi;
	int rc;

	memset(&vi, 0, sizeof(vi));
	rc = imgconn_open(t->cfg, &vi.conn, err, sizeof(err));
	if (rc == 0) {
		rc = imgclient_find_latest(vi.conn.cl, stream, false, &latest);
		if (rc < 0)
			snprintf(err, sizeof(err), "stream %s: %s", stream,
				 srpc_client_error(vi.conn.cl));
		else if (*latest == '\0')
			snprintf(err, sizeof(err), "stream %s: no image", stream);
	}
	if (rc < 0 || *err) {
		set_error(t, err);
		goto out;
	}
	pthread_mutex_lock(&t->mu);
	snprintf(cur, sizeof(cur), "%s", t->current);
	pthread_mutex_unlock(&t->mu);
	if (strcmp(cur, latest) == 0) {
		set_error(t, "");
		goto out;
	}
	rc = imgconn_get_image(&vi.conn, latest, &vi.name, &vi.img, err, sizeof(err));
	if (rc == 0 && (strcmp(leaf_of(latest), ".") == 0 || *leaf_of(latest) == '\0' ||
			strcmp(leaf_of(latest), "current") == 0)) {
		snprintf(err, sizeof(err), "image %s: unusable leaf name", latest);
		rc = -EINVAL;
	}
	if (rc == 0) {
		snprintf(dest, sizeof(dest), "%s/%s", t->dir, leaf_of(latest));
		vmops_rmtree(dest);
		rc = vmimage_unpack(&vi, t->cache, dest, err, sizeof(err));
	}
	if (rc == 0) {
		rc = t->set_root(t->arg, dest);
		if (rc < 0)
			snprintf(err, sizeof(err), "serving %.900s: %s", dest, strerror(-rc));
	}
	if (rc < 0) {
		set_error(t, err);
		goto out;
	}
	snprintf(dest, sizeof(dest), "%s/current", t->dir);
	if (fsutil_write_atomic(dest, latest, strlen(latest), 0644) < 0)
		log_warn("tftpboot: cannot write %s", dest);
	pthread_mutex_lock(&t->mu);
	snprintf(t->current, sizeof(t->current), "%s", latest);
	pthread_mutex_unlock(&t->mu);
	remove_others(t->dir, leaf_of(latest));
	set_error(t, "");
	log_info("tftpboot: serving image %s%s%s", latest, *cur ? " instead of " : "", cur);
out:
	free(latest);
	vmimage_close(&vi);
}

static void *follow(void *arg)
{
	struct tftpboot *t = arg;
	struct timespec until;

	for (;;) {
		check(t);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)(t->interval_ns / 1000000000);
		until.tv_nsec += (long)(t->interval_ns % 1000000000);
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&t->mu);
		while (!t->stop && pthread_cond_timedwait(&t->cond, &t->mu, &until) != ETIMEDOUT)
			;
		if (t->stop) {
			pthread_mutex_unlock(&t->mu);
			return NULL;
		}
		pthread_mutex_unlock(&t->mu);
	}
}

/* The image a previous run served, if its tree is still whole on disk. */
static void resume(struct tftpboot *t)
{
	char path[8192], *name = NULL;
	size_t len;
	struct stat sb;

	snprintf(path, sizeof(path), "%s/current", t->dir);
	if (fsutil_read_file(path, IMAGE_FULLNAME_MAX, &name, &len) < 0) {
		remove_others(t->dir, "");
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", t->dir, leaf_of(name));
	if (*leaf_of(name) && strchr(name, '\n') == NULL && stat(path, &sb) == 0 &&
	    S_ISDIR(sb.st_mode) && t->set_root(t->arg, path) == 0) {
		snprintf(t->current, sizeof(t->current), "%s", name);
		log_info("tftpboot: serving image %s (from the last run)", name);
		remove_others(t->dir, leaf_of(name));
	} else {
		remove_others(t->dir, "");
	}
	free(name);
}

int tftpboot_start(const struct hv_config *cfg, struct objcache *cache, int64_t interval_ns,
		   tftpboot_set_root_fn set_root, void *arg, struct tftpboot **out, char *err,
		   size_t errsz)
{
	struct tftpboot *t = calloc(1, sizeof(*t));
	int rc;

	*out = NULL;
	if (t == NULL)
		return -ENOMEM;
	t->cfg = cfg;
	t->cache = cache;
	t->interval_ns = interval_ns > 0 ? interval_ns : 30 * 1000000000LL;
	t->set_root = set_root;
	t->arg = arg;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cond, NULL);
	snprintf(t->dir, sizeof(t->dir), "%s/tftpboot", cfg->state_dir);
	rc = fsutil_mkdir_p(t->dir, 0755);
	if (rc < 0) {
		snprintf(err, errsz, "tftpboot: mkdir %s: %s", t->dir, strerror(-rc));
		free(t);
		return rc;
	}
	resume(t);
	rc = pthread_create(&t->thread, NULL, follow, t);
	if (rc != 0) {
		snprintf(err, errsz, "tftpboot: cannot start thread: %s", strerror(rc));
		free(t);
		return -rc;
	}
	*out = t;
	return 0;
}

void tftpboot_stop(struct tftpboot *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->mu);
	t->stop = true;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cond);
	free(t);
}

void tftpboot_status(struct tftpboot *t, char *image, size_t isz, char *error, size_t esz)
{
	pthread_mutex_lock(&t->mu);
	snprintf(image, isz, "%s", t->current);
	snprintf(error, esz, "%s", t->error);
	pthread_mutex_unlock(&t->mu);
}
