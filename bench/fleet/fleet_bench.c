/* fleet-bench: the Fleet Manager's client side of bench/fleet/run.sh.
 *   fleet-bench [flags] count [LOCATION]
 *        ListHypervisorsInLocation (IncludeUnhealthy): prints the number of addresses
 *   fleet-bench [flags] tagwatch WATCHERS HOSTNAME KEY
 *        opens WATCHERS GetUpdates streams (Location ""), reads the first message (the
 *        full state) of each, then calls ChangeMachineTags(HOSTNAME, {KEY: <new value>})
 *        and measures, for each watcher, the time until an Update naming HOSTNAME with
 *        that value arrives. Prints "tagwatch: ..." with the slowest and the median.
 *   fleet-bench [flags] power HOSTNAME
 *        PowerOnMachine: prints the reply's Error ("" = done), exits 1 if not empty
 * Exits 1 on a failure or when the change did not reach every watcher within -timeout. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/fleetmanager.h"
#include "flags.h"
#include "srpc.h"

static const char *addr;
static struct srpc_client_config ccfg;
static int64_t timeout_ns;

struct watcher {
	pthread_t t;
	const char *host, *key;
	double first_ms, seen_ms; /* < 0: not (yet) */
	size_t machines;	  /* in the first message */
	char err[256];
};

static _Atomic(const char *) want_value; /* set just before the change */
static atomic_int ready;
static double t_change; /* when ChangeMachineTags was sent */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int dial(struct srpc_client **cl, char *err, size_t sz)
{
	return srpc_client_dial(addr, &ccfg, cl, err, sz);
}

/* True if u's ChangedMachines has host with tags[key] == want. */
static bool names_change(json_t *u, const char *host, const char *key, const char *want)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(u, "ChangedMachines"), i, m)
	{
		const char *h = json_string_value(json_object_get(m, "Hostname"));
		const char *v = json_string_value(json_object_get(json_object_get(m, "Tags"), key));

		if (h && strcmp(h, host) == 0 && v && want && strcmp(v, want) == 0)
			return true;
	}
	return false;
}

static void *watch(void *p)
{
	struct watcher *w = p;
	struct srpc_client *cl;
	struct srpc_conn *c;
	json_t *req, *msg;
	double t0 = now_ms(), deadline;
	int rc;

	w->first_ms = w->seen_ms = -1;
	if (dial(&cl, w->err, sizeof(w->err)) < 0) {
		atomic_fetch_add(&ready, 1);
		return NULL;
	}
	rc = srpc_client_start(cl, FMAPI_M_GET_UPDATES);
	c = srpc_client_conn(cl);
	req = json_pack("{s:b, s:s, s:i}", "IgnoreMissingLocalTags", 0, "Location", "",
			"MaxUpdates", 0);
	if (rc == 0)
		rc = srpc_conn_write_json(c, req);
	json_decref(req);
	if (rc == 0)
		rc = srpc_conn_flush(c);
	if (rc == 0)
		rc = srpc_conn_read_json(c, &msg);
	if (rc < 0) {
		snprintf(w->err, sizeof(w->err), "GetUpdates: %s",
			 rc == -EREMOTEIO ? srpc_client_error(cl) : strerror(-rc));
		atomic_fetch_add(&ready, 1);
		srpc_client_close(cl);
		return NULL;
	}
	w->first_ms = now_ms() - t0;
	w->machines = json_array_size(json_object_get(msg, "ChangedMachines"));
	json_decref(msg);
	atomic_fetch_add(&ready, 1);
	deadline = now_ms() + (double)timeout_ns / 1e6 + 60000;
	while (now_ms() < deadline) {
		rc = srpc_conn_read_json(c, &msg);
		if (rc < 0) {
			snprintf(w->err, sizeof(w->err), "GetUpdates: %s", strerror(-rc));
			break;
		}
		if (names_change(msg, w->host, w->key, atomic_load(&want_value))) {
			w->seen_ms = now_ms() - t_change;
			json_decref(msg);
			break;
		}
		json_decref(msg);
	}
	srpc_client_close(cl);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int call(const char *method, json_t *req, json_t **resp)
{
	struct srpc_client *cl;
	char err[512];
	int rc;

	if (dial(&cl, err, sizeof(err)) < 0) {
		fprintf(stderr, "fleet-bench: %s\n", err);
		json_decref(req);
		return -1;
	}
	rc = srpc_client_call(cl, method, req, resp);
	json_decref(req);
	if (rc < 0)
		fprintf(stderr, "fleet-bench: %s: %s\n", method,
			rc == -EREMOTEIO ? srpc_client_error(cl) : strerror(-rc));
	srpc_client_close(cl);
	return rc;
}

static int tagwatch(int n, const char *host, const char *key)
{
	struct watcher *ws = calloc((size_t)n, sizeof(*ws));
	double *lat = calloc((size_t)n, sizeof(*lat)), first_max = 0, end;
	char value[64];
	json_t *resp = NULL;
	const char *e;
	int i, got = 0, rc = 0;

	if (!ws || !lat)
		return 1;
	for (i = 0; i < n; i++) {
		ws[i].host = host;
		ws[i].key = key;
		if (pthread_create(&ws[i].t, NULL, watch, &ws[i]) != 0)
			return 1;
	}
	end = now_ms() + (double)timeout_ns / 1e6 + 120000;
	while (atomic_load(&ready) < n && now_ms() < end) {
		struct timespec ts = {0, 10000000};

		nanosleep(&ts, NULL);
	}
	for (i = 0; i < n; i++) {
		if (ws[i].err[0] && ws[i].first_ms < 0) {
			fprintf(stderr, "fleet-bench: watcher %d: %s\n", i, ws[i].err);
			return 1;
		}
		if (ws[i].first_ms > first_max)
			first_max = ws[i].first_ms;
	}
	snprintf(value, sizeof(value), "bench-%lld", (long long)time(NULL));
	atomic_store(&want_value, value);
	t_change = now_ms();
	if (call(FMAPI_M_CHANGE_MACHINE_TAGS,
		 json_pack("{s:s, s:{s:s}}", "Hostname", host, "Tags", key, value), &resp) < 0)
		return 1;
	e = json_string_value(json_object_get(resp, "Error"));
	if (e && *e) {
		fprintf(stderr, "fleet-bench: ChangeMachineTags: %s\n", e);
		return 1;
	}
	json_decref(resp);
	for (i = 0; i < n; i++) {
		pthread_join(ws[i].t, NULL);
		if (ws[i].seen_ms >= 0)
			lat[got++] = ws[i].seen_ms;
		else {
			fprintf(stderr, "fleet-bench: watcher %d did not see the change: %s\n", i,
				ws[i].err[0] ? ws[i].err : "timeout");
			rc = 1;
		}
	}
	qsort(lat, (size_t)got, sizeof(*lat), cmp_double);
	printf("tagwatch: %d/%d watchers saw the change; slowest %.1f ms, median %.1f ms; "
	       "first message (full state, %zu machines) within %.0f ms\n",
	       got, n, got ? lat[got - 1] : -1.0, got ? lat[got / 2] : -1.0, ws[0].machines,
	       first_max);
	free(ws);
	free(lat);
	return rc;
}

int main(int argc, char **argv)
{
	const char *cert, *key, *ca, *cmd;
	struct flags *fs = flags_new("fleet-bench", NULL);
	struct tls_client_config tcfg = {0};
	struct tls_client *tls;
	json_t *resp = NULL;
	char err[512];
	int rc = 1;

	flags_string(fs, "addr", &addr, "127.0.0.1:6977", "Fleet Manager address");
	flags_string(fs, "certFile", &cert, "", "Client certificate");
	flags_string(fs, "keyFile", &key, "", "Client key");
	flags_string(fs, "CAfile", &ca, "", "CA of the Fleet Manager's certificate");
	flags_duration(fs, "timeout", &timeout_ns, 30000000000LL, "Wait for the change this long");
	flags_parse_or_exit(fs, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	tcfg.cert_file = cert;
	tcfg.key_file = key;
	tcfg.ca_file = ca;
	if (tls_client_new(&tcfg, &tls, err, sizeof(err)) < 0) {
		fprintf(stderr, "fleet-bench: %s\n", err);
		return 1;
	}
	ccfg.tls = tls;
	ccfg.max_message = 1u << 30;
	ccfg.call_timeout_ms = 120000;
	ccfg.connect_timeout_ms = 30000;
	cmd = flags_arg(fs, 0);
	if (cmd && strcmp(cmd, "count") == 0) {
		const char *loc = flags_arg(fs, 1);

		if (call(FMAPI_M_LIST_HYPERVISORS_IN_LOCATION,
			 json_pack("{s:b, s:s}", "IncludeUnhealthy", 1, "Location", loc ? loc : ""),
			 &resp) == 0) {
			printf("%zu\n",
			       json_array_size(json_object_get(resp, "HypervisorAddresses")));
			rc = 0;
		}
	} else if (cmd && strcmp(cmd, "tagwatch") == 0 && flags_nargs(fs) == 4) {
		rc = tagwatch(atoi(flags_arg(fs, 1)), flags_arg(fs, 2), flags_arg(fs, 3));
	} else if (cmd && strcmp(cmd, "power") == 0 && flags_nargs(fs) == 2) {
		if (call(FMAPI_M_POWER_ON_MACHINE, json_pack("{s:s}", "Hostname", flags_arg(fs, 1)),
			 &resp) == 0) {
			const char *e = json_string_value(json_object_get(resp, "Error"));

			printf("Error: \"%s\"\n", e ? e : "");
			rc = e && *e ? 1 : 0;
		}
	} else {
		fprintf(stderr, "usage: fleet-bench [flags] count [LOCATION] | tagwatch WATCHERS "
				"HOSTNAME KEY | power HOSTNAME\n");
		rc = 2;
	}
	json_decref(resp);
	tls_client_free(tls);
	flags_free(fs);
	return rc;
}
