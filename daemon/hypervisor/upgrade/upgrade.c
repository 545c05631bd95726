/* The A/B upgrade agent (see upgrade.h): its record, the trial boot, the poll of the
 * fleet manager and one upgrade. One thread; the status it publishes sits behind mu. */
#include "daemon/hypervisor/upgrade/upgrade.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/fleetmanager.h"
#include "api/hvclient.h"
#include "daemon/hypervisor/upgrade/slots.h"
#include "daemon/hypervisor/vmm/cmdrun.h"
#include "daemon/hypervisor/vmm/vmimage.h"
#include "daemon/hypervisor/vmm/vmops.h"
#include "json.h"
#include "log.h"
#include "tls.h"

#define NAME_MAX_LEN 256
#define FM_CONNECT_MS 15000
#define FM_CALL_MS 30000
#define TRIAL_POLL_NS 1000000000LL

/* The record in the state file (docs/upgrades.md): the last attempt, and while it
 * runs its Phase (fetching, writing, rebooting, trial) and the trial's deadline. */
struct upgrade_rec {
	char from_image[NAME_MAX_LEN], to_image[NAME_MAX_LEN];
	char from_slot[2], to_slot[2];
	char result[16], error[1024], time[32], phase[16];
	int64_t trial_deadline; /* Unix seconds */
};

struct upgrade {
	const struct hv_config *cfg;
	struct objcache *cache;
	upgrade_health_fn health;
	void *health_arg;
	struct slots sl;
	char state_path[4096], work[4096];
	pthread_t th;
	bool th_started;

	pthread_mutex_t mu; /* guards what follows */
	pthread_cond_t cv;
	bool stop;
	char running[NAME_MAX_LEN], required[NAME_MAX_LEN];
	char slot, default_slot;
	const char *state;
	struct upgrade_rec last;

	/* The thread's own. */
	bool rebooting;
	char blocked[NAME_MAX_LEN]; /* an image whose attempt failed in this run */
	char fm_error[1024];	    /* the last poll's error, logged once */
};

static void now_rfc3339(char *out, size_t outsz)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void copy_str(char *dst, size_t sz, const char *src)
{
	snprintf(dst, sz, "%s", src ? src : "");
}

static int rec_load(const char *path, struct upgrade_rec *r, char *err, size_t errsz)
{
	struct {
		const char *key;
		char *dst;
		size_t sz;
	} f[] = {
	    {"FromImage", r->from_image, sizeof(r->from_image)},
	    {"ToImage", r->to_image, sizeof(r->to_image)},
	    {"FromSlot", r->from_slot, sizeof(r->from_slot)},
	    {"ToSlot", r->to_slot, sizeof(r->to_slot)},
	    {"Result", r->result, sizeof(r->result)},
	    {"Error", r->error, sizeof(r->error)},
	    {"Time", r->time, sizeof(r->time)},
	    {"Phase", r->phase, sizeof(r->phase)},
	};
	struct sjson_dec d;
	json_t *j = NULL;
	char *why = NULL;
	const char *s;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = sjson_load_file(path, 65536, &j, &why);
	if (rc < 0) {
		copy_str(err, errsz, why ? why : strerror(-rc));
		free(why);
		return rc;
	}
	sjson_dec_init(&d, path);
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		s = NULL;
		sjson_get_str(&d, j, f[i].key, &s);
		copy_str(f[i].dst, f[i].sz, s);
	}
	sjson_get_int64(&d, j, "TrialDeadline", &r->trial_deadline);
	rc = sjson_dec_error(&d) ? -EINVAL : 0;
	if (rc < 0)
		copy_str(err, errsz, sjson_dec_error(&d));
	sjson_dec_fini(&d);
	json_decref(j);
	return rc;
}

static int rec_save(const char *path, const struct upgrade_rec *r)
{
	json_t *j =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "FromImage", r->from_image,
		      "ToImage", r->to_image, "FromSlot", r->from_slot, "ToSlot", r->to_slot,
		      "Result", r->result, "Error", r->error, "Time", r->time, "Phase", r->phase,
		      "TrialDeadline", (json_int_t)r->trial_deadline);
	int rc = j ? sjson_write_file(path, j, 0644) : -ENOMEM;

	json_decref(j);
	if (rc < 0)
		log_error("upgrade: writing %s: %s", path, strerror(-rc));
	return rc;
}

/* Records r in the state file and publishes it with the agent's state. */
static void publish(struct upgrade *u, const struct upgrade_rec *r, const char *state)
{
	rec_save(u->state_path, r);
	pthread_mutex_lock(&u->mu);
	u->last = *r;
	u->state = state;
	pthread_mutex_unlock(&u->mu);
}

/* Waits ns or until stop; true when stopping. */
static bool wait_or_stop(struct upgrade *u, int64_t ns)
{
	struct timespec until;
	bool stop;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ns / 1000000000LL;
	until.tv_nsec += ns % 1000000000LL;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&u->mu);
	while (!u->stop && pthread_cond_timedwait(&u->cv, &u->mu, &until) != ETIMEDOUT)
		;
	stop = u->stop;
	pthread_mutex_unlock(&u->mu);
	return stop;
}

/* -upgradeRebootCommand, or without one the kernel's reboot after a sync: the
 * appliance's init is a shell script that does not act on reboot(8)'s signal. The VMs
 * are not stopped: recorded as running, they are started again after the boot. */
static int reboot_host(struct upgrade *u, char *err, size_t errsz)
{
	const char *cmd = u->cfg->upgrade_reboot_command;
	char *argv[] = {(char *)cmd, NULL};
	int rc;

	if (cmd != NULL && *cmd) {
		log_info("upgrade: rebooting (%s)", cmd);
		return cmdrun(argv, err, errsz);
	}
	log_info("upgrade: rebooting");
	sync();
	rc = reboot(RB_AUTOBOOT) < 0 ? -errno : 0;
	if (rc < 0)
		snprintf(err, errsz, "reboot: %s", strerror(-rc));
	return rc;
}

static void finish(struct upgrade *u, struct upgrade_rec *r, const char *result, const char *error)
{
	copy_str(r->result, sizeof(r->result), result);
	copy_str(r->error, sizeof(r->error), error);
	r->phase[0] = '\0';
	r->trial_deadline = 0;
	now_rfc3339(r->time, sizeof(r->time));
	publish(u, r, strcmp(result, "succeeded") == 0 ? "idle" : "failed");
	if (strcmp(result, "succeeded") == 0)
		log_info("upgrade: %s -> %s: succeeded", r->from_image, r->to_image);
	else
		log_error("upgrade: %s -> %s: %s: %s", r->from_image, r->to_image, result, error);
}

/* The trial boot of slot: healthy in time makes it the default slot, otherwise the
 * host reboots and GRUB boots the default (old) slot again. */
static void trial(struct upgrade *u, struct upgrade_rec *r, char slot)
{
	const int64_t timeout_s = u->cfg->upgrade_trial_timeout_ns / 1000000000LL;
	char why[1024] = "", err[1024] = "", val[8], s[2] = {slot, 0}, msg[1400];

	if (strcmp(r->phase, "trial") != 0 || r->trial_deadline == 0) {
		copy_str(r->phase, sizeof(r->phase), "trial");
		r->trial_deadline = (int64_t)time(NULL) + (timeout_s > 0 ? timeout_s : 1);
	}
	publish(u, r, "trial");
	log_info("upgrade: trial boot of slot %c (%s): must be healthy within %llds", slot,
		 r->to_image, (long long)(r->trial_deadline - (int64_t)time(NULL)));
	/* GRUB clears ss_try before it boots the trial; a trial started another way must
	 * not repeat either. */
	if (slots_env_get(&u->sl, "ss_try", val, sizeof(val), err, sizeof(err)) == 0 && *val &&
	    slots_env_set(&u->sl, "ss_try", NULL, err, sizeof(err)) < 0)
		log_warn("upgrade: clearing ss_try: %s", err);
	for (;;) {
		why[0] = '\0';
		if (u->health(u->health_arg, why, sizeof(why)))
			break;
		if ((int64_t)time(NULL) >= r->trial_deadline) {
			snprintf(msg, sizeof(msg), "slot %c not healthy within %llds (failing: %s)",
				 slot, (long long)timeout_s, why);
			goto fail;
		}
		if (wait_or_stop(u, TRIAL_POLL_NS))
			return; /* the next start continues the trial until its deadline */
	}
	if (slots_env_set(&u->sl, "ss_slot", s, err, sizeof(err)) < 0) {
		snprintf(msg, sizeof(msg), "making slot %c the default: %s", slot, err);
		goto fail;
	}
	pthread_mutex_lock(&u->mu);
	u->default_slot = slot;
	pthread_mutex_unlock(&u->mu);
	finish(u, r, "succeeded", "");
	return;
fail:
	finish(u, r, "rolled-back", msg);
	u->rebooting = true;
	if (reboot_host(u, err, sizeof(err)) < 0)
		log_error("upgrade: reboot after the failed trial: %s", err);
}

/* Start-up: the running slot, its image, the default slot, and what the record of an
 * attempt in progress means now. */
static void settle(struct upgrade *u)
{
	char err[1024] = "", name[NAME_MAX_LEN] = "", val[8] = "", msg[1400];
	char slot = slots_running(u->cfg->upgrade_cmdline_file), def = 0;
	struct upgrade_rec r;

	if (rec_load(u->state_path, &r, err, sizeof(err)) < 0 && access(u->state_path, F_OK) == 0)
		log_error("upgrade: %s", err);
	if (slot != 0 && slots_image_name(&u->sl, slot, name, sizeof(name), err, sizeof(err)) < 0)
		log_warn("upgrade: running image unknown: %s", err);
	if (slot != 0) {
		if (slots_env_get(&u->sl, "ss_slot", val, sizeof(val), err, sizeof(err)) < 0)
			log_warn("upgrade: default slot unknown: %s", err);
		else
			def = val[0] == 'B' ? 'B' : 'A';
	}
	pthread_mutex_lock(&u->mu);
	copy_str(u->running, sizeof(u->running), name);
	u->slot = slot;
	u->default_slot = def;
	u->last = r;
	u->state = strcmp(r.result, "failed") == 0 || strcmp(r.result, "rolled-back") == 0
		       ? "failed"
		       : "idle";
	pthread_mutex_unlock(&u->mu);
	log_info("upgrade: running %s from slot %c (default slot %c)", *name ? name : "(unknown)",
		 slot ? slot : '-', def ? def : '-');
	if (strcmp(r.result, "in-progress") != 0)
		return;
	if (strcmp(r.phase, "rebooting") != 0 && strcmp(r.phase, "trial") != 0) {
		snprintf(msg, sizeof(msg), "interrupted while %s (the daemon stopped)", r.phase);
		finish(u, &r, "failed", msg);
		return;
	}
	if (slot != 0 && slot == r.to_slot[0] && slot != def) {
		trial(u, &r, slot);
		return;
	}
	if (slot != 0 && slot == r.to_slot[0]) {
		finish(u, &r, "succeeded", "");
		return;
	}
	/* Back on the old slot: the new image never reached a healthy agent (it did not
	 * boot, or did not come up), or the host was not rebooted. */
	if (slots_env_set(&u->sl, "ss_try", NULL, err, sizeof(err)) < 0)
		log_warn("upgrade: clearing ss_try: %s", err);
	snprintf(msg, sizeof(msg), "the trial boot of slot %s did not come up; running slot %c",
		 r.to_slot, slot ? slot : '?');
	finish(u, &r, "rolled-back", msg);
}

/* The machine's RequiredImage tag from the fleet manager ("" when it has none). */
static int required_image(struct upgrade *u, char *out, size_t outsz, char *err, size_t errsz)
{
	const struct hv_config *c = u->cfg;
	struct tls_client_config tc = {
	    .cert_file = c->srv.cert_file, .key_file = c->srv.key_file, .ca_file = c->srv.ca_file};
	struct srpc_client_config sc = {.server_name = c->fleet_manager_hostname,
					.connect_timeout_ms = FM_CONNECT_MS,
					.call_timeout_ms = FM_CALL_MS};
	struct fmapi_get_machine_info_request q = {0};
	struct fmapi_get_machine_info_response resp = {0};
	struct tls_client *tls = NULL;
	struct srpc_client *cl = NULL;
	char addr[300], host[256] = "", why[1024] = "";
	const char *tag;
	int rc;

	gethostname(host, sizeof(host) - 1);
	q.hostname = host;
	snprintf(addr, sizeof(addr), strchr(c->fleet_manager_hostname, ':') ? "[%s]:%d" : "%s:%d",
		 c->fleet_manager_hostname, c->fleet_manager_port_num);
	rc = tls_client_new(&tc, &tls, why, sizeof(why));
	if (rc == 0) {
		sc.tls = tls;
		rc = srpc_client_dial(addr, &sc, &cl, why, sizeof(why));
	}
	if (rc == 0)
		rc = hvclient_call(cl, FMAPI_M_GET_MACHINE_INFO,
				   &fmapi_get_machine_info_request_type, &q,
				   &fmapi_get_machine_info_response_type, &resp, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errsz, "fleet manager %s: GetMachineInfo %s: %s", addr, host,
			 *why ? why : strerror(-rc));
	} else {
		tag = hvapi_tags_get(&resp.machine.tags, "RequiredImage");
		copy_str(out, outsz, tag);
		fmapi_get_machine_info_response_clear(&resp);
	}
	srpc_client_close(cl);
	tls_client_free(tls);
	return rc;
}

/* Fetch, write the inactive slot, mark it for one boot, record, reboot. */
static void upgrade_to(struct upgrade *u, const char *want)
{
	char err[1024] = "", msg[1400], tree[4200], to[2];
	struct upgrade_rec r = {0};
	struct vmimage vi;
	int rc;

	memset(&vi, 0, sizeof(vi));
	pthread_mutex_lock(&u->mu);
	copy_str(r.from_image, sizeof(r.from_image), u->running);
	r.from_slot[0] = u->slot;
	pthread_mutex_unlock(&u->mu);
	to[0] = r.from_slot[0] == 'A' ? 'B' : 'A';
	to[1] = '\0';
	copy_str(r.to_image, sizeof(r.to_image), want);
	copy_str(r.to_slot, sizeof(r.to_slot), to);
	copy_str(r.result, sizeof(r.result), "in-progress");
	copy_str(r.phase, sizeof(r.phase), "fetching");
	now_rfc3339(r.time, sizeof(r.time));
	publish(u, &r, "fetching");
	log_info("upgrade: %s -> %s into slot %s", r.from_image, want, to);

	snprintf(tree, sizeof(tree), "%s/tree", u->work);
	vmops_rmtree(u->work);
	if (mkdir(u->work, 0700) < 0) {
		snprintf(msg, sizeof(msg), "mkdir %.900s: %s", u->work, strerror(errno));
		goto fail;
	}
	rc = vmimage_open(u->cfg, want, &vi, err, sizeof(err));
	if (rc == 0)
		rc = vmimage_unpack(&vi, u->cache, tree, err, sizeof(err));
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "fetching %s: %s", want, err);
		goto fail;
	}
	copy_str(r.phase, sizeof(r.phase), "writing");
	publish(u, &r, "writing");
	if (slots_write(&u->sl, to[0], tree, want, u->work, err, sizeof(err)) < 0) {
		snprintf(msg, sizeof(msg), "writing slot %s: %s", to, err);
		goto fail;
	}
	vmops_rmtree(u->work);
	/* Only a whole slot is marked, and only for one boot: ss_slot stays. */
	if (slots_env_set(&u->sl, "ss_try", to, err, sizeof(err)) < 0) {
		snprintf(msg, sizeof(msg), "marking slot %s for one boot: %s", to, err);
		goto fail;
	}
	copy_str(r.phase, sizeof(r.phase), "rebooting");
	publish(u, &r, "rebooting");
	vmimage_close(&vi);
	u->rebooting = true;
	if (reboot_host(u, err, sizeof(err)) == 0)
		return;
	u->rebooting = false;
	snprintf(msg, sizeof(msg), "reboot: %s", err);
	if (slots_env_set(&u->sl, "ss_try", NULL, err, sizeof(err)) < 0)
		log_error("upgrade: clearing ss_try: %s", err);
fail:
	vmimage_close(&vi);
	vmops_rmtree(u->work);
	copy_str(u->blocked, sizeof(u->blocked), want);
	finish(u, &r, "failed", msg);
}

static void poll_once(struct upgrade *u)
{
	char want[NAME_MAX_LEN] = "", err[1024] = "", running[NAME_MAX_LEN];
	struct upgrade_rec last;
	char slot;

	if (required_image(u, want, sizeof(want), err, sizeof(err)) < 0) {
		if (strcmp(err, u->fm_error) != 0)
			log_error("upgrade: %s", err);
		copy_str(u->fm_error, sizeof(u->fm_error), err);
		return;
	}
	u->fm_error[0] = '\0';
	pthread_mutex_lock(&u->mu);
	copy_str(u->required, sizeof(u->required), want);
	copy_str(running, sizeof(running), u->running);
	slot = u->slot;
	last = u->last;
	pthread_mutex_unlock(&u->mu);
	if (*want == '\0' || strcmp(want, running) == 0 || strcmp(want, u->blocked) == 0)
		return;
	if (strcmp(last.to_image, want) == 0 && strcmp(last.result, "rolled-back") == 0) {
		copy_str(u->blocked, sizeof(u->blocked), want);
		log_warn("upgrade: %s was rolled back before: not trying it again", want);
		return;
	}
	if (slot == 0 || *running == '\0') {
		copy_str(u->blocked, sizeof(u->blocked), want);
		if (slot == 0)
			log_error(
			    "upgrade: cannot upgrade to %s: no running slot (no ss.slot= in %s)",
			    want, u->cfg->upgrade_cmdline_file);
		else
			log_error("upgrade: cannot upgrade to %s: the running image is unknown",
				  want);
		return;
	}
	upgrade_to(u, want);
}

static void *agent(void *arg)
{
	struct upgrade *u = arg;
	const char *fm = u->cfg->fleet_manager_hostname;

	settle(u);
	if (fm == NULL || *fm == '\0')
		return NULL;
	log_info("upgrade: asking %s:%d for RequiredImage every %llds", fm,
		 u->cfg->fleet_manager_port_num,
		 (long long)(u->cfg->upgrade_check_interval_ns / 1000000000LL));
	do {
		if (!u->rebooting)
			poll_once(u);
	} while (!wait_or_stop(u, u->cfg->upgrade_check_interval_ns > 0
				      ? u->cfg->upgrade_check_interval_ns
				      : 1000000000LL));
	return NULL;
}

int upgrade_start(const struct hv_config *cfg, struct objcache *cache, upgrade_health_fn health,
		  void *health_arg, struct upgrade **out, char *err, size_t errsz)
{
	struct upgrade *u = calloc(1, sizeof(*u));
	pthread_condattr_t ca;
	int rc;

	if (u == NULL)
		return -ENOMEM;
	u->cfg = cfg;
	u->cache = cache;
	u->health = health;
	u->health_arg = health_arg;
	u->state = "idle";
	u->sl.slot_dir = cfg->upgrade_slot_directory;
	u->sl.grubenv = cfg->upgrade_grubenv;
	u->sl.sys_block = cfg->upgrade_sys_block;
	if (cfg->upgrade_state_file != NULL && *cfg->upgrade_state_file)
		copy_str(u->state_path, sizeof(u->state_path), cfg->upgrade_state_file);
	else
		snprintf(u->state_path, sizeof(u->state_path), "%s/upgrade.json", cfg->state_dir);
	snprintf(u->work, sizeof(u->work), "%s/upgrade-work", cfg->state_dir);
	pthread_mutex_init(&u->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&u->cv, &ca);
	pthread_condattr_destroy(&ca);
	rc = -pthread_create(&u->th, NULL, agent, u);
	if (rc < 0) {
		snprintf(err, errsz, "upgrade agent: %s", strerror(-rc));
		free(u);
		return rc;
	}
	u->th_started = true;
	*out = u;
	return 0;
}

static char *dup_str(const char *s, bool *oom)
{
	char *d = strdup(s ? s : "");

	if (d == NULL)
		*oom = true;
	return d;
}

/* The required image as far as the agent knows it (mu held): the fleet manager's last
 * answer, else before it the image of an upgrade in progress or done; "" if neither. */
static const char *required_locked(const struct upgrade *u)
{
	if (*u->required)
		return u->required;
	if (strcmp(u->last.result, "in-progress") == 0 || strcmp(u->last.result, "succeeded") == 0)
		return u->last.to_image;
	return "";
}

int upgrade_status(struct upgrade *u, struct hvapi_get_upgrade_status_response *out)
{
	char slot[2] = "", def[2] = "";
	bool oom = false;

	pthread_mutex_lock(&u->mu);
	slot[0] = u->slot;
	def[0] = u->default_slot;
	out->running_image = dup_str(u->running, &oom);
	out->required_image = dup_str(required_locked(u), &oom);
	out->slot = dup_str(slot, &oom);
	out->default_slot = dup_str(def, &oom);
	out->state = dup_str(u->state, &oom);
	out->last_upgrade.from_image = dup_str(u->last.from_image, &oom);
	out->last_upgrade.to_image = dup_str(u->last.to_image, &oom);
	out->last_upgrade.result = dup_str(u->last.result, &oom);
	out->last_upgrade.error = dup_str(u->last.error, &oom);
	out->last_upgrade.time = dup_str(u->last.time, &oom);
	pthread_mutex_unlock(&u->mu);
	return oom ? -ENOMEM : 0;
}

void upgrade_images(struct upgrade *u, char *running, size_t runsz, char *slot, size_t slotsz,
		    char *required, size_t reqsz)
{
	if (u == NULL) {
		copy_str(running, runsz, "");
		copy_str(slot, slotsz, "");
		copy_str(required, reqsz, "");
		return;
	}
	pthread_mutex_lock(&u->mu);
	copy_str(running, runsz, u->running);
	snprintf(slot, slotsz, "%.1s", u->slot ? &u->slot : "");
	copy_str(required, reqsz, required_locked(u));
	pthread_mutex_unlock(&u->mu);
}
