/* rollout_state: the state file of rollout-image (docs/hyper-control/rollout.md), so
 * that a rollout killed midway and started again continues where it stopped: the image,
 * the ramp's position and every host that left "pending" with its state, its previous
 * RequiredImage and its baseline health. Written atomically (fsutil). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "json.h"
#include "rollout.h"

#define STATE_MAX_FILE (256u << 20)

static const char *const hstate_names[] = {
    [RH_PENDING] = "pending",	      [RH_BASELINE] = "baseline",
    [RH_PRE] = "pre-command",	      [RH_TAG] = "tagging",
    [RH_WAIT] = "upgrading",	      [RH_BAKE] = "baking",
    [RH_POST] = "post-command",	      [RH_RESTORE_TAG] = "restoring",
    [RH_RESTORE_WAIT] = "restoring",  [RH_DONE] = "done",
    [RH_FAILED] = "failed",	      [RH_SKIPPED] = "skipped",
    [RH_UPDATED] = "already-updated",
};

const char *rollout_hstate_name(enum rollout_hstate s)
{
	return hstate_names[s];
}

int rollout_hstate_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(hstate_names) / sizeof(hstate_names[0]); i++)
		if (strcmp(s, hstate_names[i]) == 0)
			return (int)i;
	return -1;
}

static int host_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct rollout_host *)elem)->hostname);
}

/* Where a host recorded as s continues: nothing happened yet before the tag, the tag is
 * sent again (the same value: no second upgrade) for every later step. */
static enum rollout_hstate state_resume(int s)
{
	switch (s) {
	case RH_BASELINE:
		return RH_PENDING;
	case RH_PRE:
		return RH_PRE;
	case RH_TAG:
	case RH_WAIT:
	case RH_BAKE:
	case RH_POST:
		return RH_TAG;
	case RH_RESTORE_TAG:
	case RH_RESTORE_WAIT:
		return RH_RESTORE_TAG;
	default:
		return (enum rollout_hstate)s;
	}
}

int rollout_state_load(struct rollout *r)
{
	const char *img, *loc;
	json_t *j, *hosts, *e, *conc;
	char *err = NULL;
	const char *name;
	size_t taken = 0;
	int rc;

	rc = sjson_load_file(r->state_file, STATE_MAX_FILE, &j, &err);
	if (rc == -ENOENT) {
		free(err);
		return 0;
	}
	if (rc < 0) {
		hc_fail(r->doing, "reading the state file: %s", err ? err : strerror(-rc));
		free(err);
		return 1;
	}
	img = json_string_value(json_object_get(j, "Image"));
	loc = json_string_value(json_object_get(j, "Location"));
	if (!img || strcmp(img, r->image) != 0 || !loc || strcmp(loc, r->h->o.location) != 0) {
		hc_progress("state file %s is of a rollout of %s in \"%s\": starting afresh",
			    r->state_file, img ? img : "?", loc ? loc : "?");
		json_decref(j);
		return 0;
	}
	r->phase = json_integer_value(json_object_get(j, "Phase")) == 1;
	conc = json_object_get(j, "Concurrency");
	r->conc[0] = (unsigned)json_integer_value(json_array_get(conc, 0));
	r->conc[1] = (unsigned)json_integer_value(json_array_get(conc, 1));
	r->failures = (unsigned)json_integer_value(json_object_get(j, "Failures"));
	hosts = json_object_get(j, "Hosts");
	json_object_foreach(hosts, name, e)
	{
		struct rollout_host *x = bsearch(name, r->hosts, r->n, sizeof(*r->hosts), host_cmp);
		const char *st = json_string_value(json_object_get(e, "State"));
		const char *old = json_string_value(json_object_get(e, "OldImage"));
		const char *why = json_string_value(json_object_get(e, "Why"));
		int s = st ? rollout_hstate_parse(st) : -1;

		if (!x || s < 0)
			continue;
		x->st = state_resume(s);
		x->resumed = true;
		x->restored = json_is_true(json_object_get(e, "Restored"));
		x->used = json_is_true(json_object_get(e, "Used"));
		free(x->old_image);
		x->old_image = strdup(old ? old : "");
		json_decref(x->baseline);
		x->baseline = json_incref(json_object_get(e, "Baseline"));
		if (!x->baseline)
			x->baseline = json_array();
		if (why && *why)
			x->why = strdup(why);
		taken++;
	}
	json_decref(j);
	hc_progress("continuing the rollout of %s recorded in %s (%zu hosts already handled)",
		    r->image, r->state_file, taken);
	return 0;
}

int rollout_state_save(struct rollout *r)
{
	json_t *j, *hosts = json_object();
	char *s;
	int rc;

	if (!hosts)
		return -ENOMEM;
	for (size_t i = 0; i < r->n; i++) {
		struct rollout_host *x = &r->hosts[i];
		json_t *e;

		if (x->st == RH_PENDING)
			continue;
		if (!x->baseline)
			x->baseline = json_array();
		e = json_pack("{s:s, s:s, s:O, s:s, s:b, s:b}", "State", rollout_hstate_name(x->st),
			      "OldImage", x->old_image ? x->old_image : "", "Baseline", x->baseline,
			      "Why", x->why ? x->why : "", "Restored", x->restored, "Used",
			      x->used);
		if (!e || json_object_set_new(hosts, x->hostname, e) < 0) {
			json_decref(hosts);
			return -ENOMEM;
		}
	}
	j = json_pack("{s:s, s:s, s:i, s:[I, I], s:I, s:o}", "Image", r->image, "Location",
		      r->h->o.location, "Phase", r->phase, "Concurrency", (json_int_t)r->conc[0],
		      (json_int_t)r->conc[1], "Failures", (json_int_t)r->failures, "Hosts", hosts);
	if (!j)
		return -ENOMEM;
	s = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!s)
		return -ENOMEM;
	rc = fsutil_write_atomic(r->state_file, s, strlen(s), 0600);
	free(s);
	return rc;
}
