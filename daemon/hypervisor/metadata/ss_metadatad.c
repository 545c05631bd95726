/* ss-metadatad: the metadata service alone, for tests and for trying it out. Serves the
 * VMs described in a JSON file on the bridges it names, installs their tap rules, and
 * re-reads the file on SIGHUP (bridges, subnets, VMs and taps all follow). SIGTERM or
 * SIGINT removes everything it installed and exits 0.
 *
 *   ss-metadatad -config=FILE [-nftTable=NAME] [-readyFile=FILE] [-idleTimeout=S]
 *                [-rpcPort=6976 -rpcRelay=IP:PORT] [-trace]
 *
 * FILE: {"Bridges": ["br0"],
 *        "Subnets": [{"Id": "a", "IpGateway": "10.0.0.1", "IpMask": "255.255.255.0",
 *                     "DisableMetadata": false}],
 *        "Vms": [{"Tap": "tap1", "Bridge": "br0", "Dir": "/path/to/VMs/10.0.0.5",
 *                 "Info": {VmInfo: Address.IpAddress and Address.MacAddress used}}],
 *        "Taps": [{"Tap": "tap9", "Bridge": "br0", "MacAddress": "..", "IpAddress": ".."}]}
 * The ready file gets the number of successful (re)loads after each one. */
#include "daemon/hypervisor/metadata/metadata.h"
#include "daemon/hypervisor/metadata/metadata_relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sa_vm {
	struct in_addr ip;
	char bridge[IFNAMSIZ];
	char *info;
	char *dir;
};

struct sa_conf {
	char (*bridges)[IFNAMSIZ];
	size_t nbridges;
	struct metadata_subnet *subnets;
	size_t nsubnets;
	struct sa_vm *vms;
	size_t nvms;
	struct metadata_tap *taps;
	size_t ntaps;
};

struct sa_relay {
	char bridge[IFNAMSIZ];
	struct metadata_relay *relay;
};

static struct {
	const char *config, *table, *ready_file;
	unsigned int idle_timeout;
	uint16_t rpc_port;
	struct sockaddr_in relay_to;
	bool relay, trace;
	pthread_rwlock_t lock; /* guards conf for the HTTP threads */
	struct sa_conf conf;
	struct sa_relay relays[64];
} sa = {.table = METADATA_NFT_TABLE, .lock = PTHREAD_RWLOCK_INITIALIZER};

static void sa_conf_free(struct sa_conf *c)
{
	for (size_t i = 0; i < c->nvms; i++) {
		free(c->vms[i].info);
		free(c->vms[i].dir);
	}
	free(c->bridges);
	free(c->subnets);
	free(c->vms);
	free(c->taps);
	memset(c, 0, sizeof(*c));
}

static int sa_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char end;

	if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
			 &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static int sa_parse_ip(const char *s, struct in_addr *ip)
{
	ip->s_addr = INADDR_ANY;
	if (!s || !*s)
		return 0;
	return inet_pton(AF_INET, s, ip) == 1 ? 0 : -EINVAL;
}

static int sa_copy_name(char dst[IFNAMSIZ], const char *src)
{
	if (!src)
		src = "";
	if (strlen(src) >= IFNAMSIZ)
		return -EINVAL;
	snprintf(dst, IFNAMSIZ, "%s", src);
	return 0;
}

static const char *sa_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int sa_parse_tap(json_t *o, const char *mac, const char *ip, struct metadata_tap *t)
{
	memset(t, 0, sizeof(*t));
	if (sa_copy_name(t->name, sa_str(o, "Tap")) || !t->name[0] ||
	    sa_copy_name(t->bridge, sa_str(o, "Bridge")) || sa_parse_mac(mac, t->mac) ||
	    sa_parse_ip(ip, &t->ip))
		return -EINVAL;
	return 0;
}

static int sa_parse_vm(json_t *o, struct sa_conf *c)
{
	json_t *info = json_object_get(o, "Info");
	json_t *addr = json_object_get(info, "Address");
	struct sa_vm *vm = &c->vms[c->nvms];

	if (!json_is_object(info) || sa_parse_ip(sa_str(addr, "IpAddress"), &vm->ip) ||
	    sa_copy_name(vm->bridge, sa_str(o, "Bridge")))
		return -EINVAL;
	vm->info = json_dumps(info, JSON_INDENT(4));
	vm->dir = strdup(sa_str(o, "Dir") ? sa_str(o, "Dir") : "/nonexistent");
	c->nvms++;
	if (!vm->info || !vm->dir)
		return -ENOMEM;
	if (!sa_str(o, "Tap"))
		return 0;
	return sa_parse_tap(o, sa_str(addr, "MacAddress"), sa_str(addr, "IpAddress"),
			    &c->taps[c->ntaps++]);
}

static int sa_load(const char *path, struct sa_conf *c)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr), *v;
	json_t *bridges, *subnets, *vms, *taps;
	size_t i;
	int rc = -ENOMEM;

	memset(c, 0, sizeof(*c));
	if (!root) {
		fprintf(stderr, "ss-metadatad: %s:%d: %s\n", path, jerr.line, jerr.text);
		return -EINVAL;
	}
	bridges = json_object_get(root, "Bridges");
	subnets = json_object_get(root, "Subnets");
	vms = json_object_get(root, "Vms");
	taps = json_object_get(root, "Taps");
	c->bridges = calloc(json_array_size(bridges) + 1, sizeof(*c->bridges));
	c->subnets = calloc(json_array_size(subnets) + 1, sizeof(*c->subnets));
	c->vms = calloc(json_array_size(vms) + 1, sizeof(*c->vms));
	c->taps = calloc(json_array_size(vms) + json_array_size(taps) + 1, sizeof(*c->taps));
	if (!c->bridges || !c->subnets || !c->vms || !c->taps)
		goto out;
	rc = -EINVAL;
	json_array_foreach(bridges, i, v)
	{
		if (sa_copy_name(c->bridges[c->nbridges++], json_string_value(v)))
			goto out;
	}
	json_array_foreach(subnets, i, v)
	{
		struct metadata_subnet *s = &c->subnets[c->nsubnets++];
		if (sa_parse_ip(sa_str(v, "IpGateway"), &s->gateway) ||
		    sa_parse_ip(sa_str(v, "IpMask"), &s->mask))
			goto out;
		s->disable_metadata = json_is_true(json_object_get(v, "DisableMetadata"));
	}
	json_array_foreach(vms, i, v)
	{
		if ((rc = sa_parse_vm(v, c)))
			goto out;
	}
	rc = -EINVAL;
	json_array_foreach(taps, i, v)
	{
		if (sa_parse_tap(v, sa_str(v, "MacAddress"), sa_str(v, "IpAddress"),
				 &c->taps[c->ntaps++]))
			goto out;
	}
	rc = 0;
out:
	if (rc) {
		fprintf(stderr, "ss-metadatad: %s: invalid configuration\n", path);
		sa_conf_free(c);
	}
	json_decref(root);
	return rc;
}

/* ---- struct metadata_vm_source over the configuration ---- */

static int sa_lookup(void *ctx, struct in_addr ip, struct metadata_vm *out)
{
	int rc = -ENOENT;

	(void)ctx;
	memset(out, 0, sizeof(*out));
	pthread_rwlock_rdlock(&sa.lock);
	for (size_t i = 0; i < sa.conf.nvms; i++) {
		const struct sa_vm *vm = &sa.conf.vms[i];
		if (vm->ip.s_addr != ip.s_addr || ip.s_addr == INADDR_ANY)
			continue;
		out->ip = ip;
		memcpy(out->bridge, vm->bridge, sizeof(out->bridge));
		out->info_json = strdup(vm->info);
		out->dir = strdup(vm->dir);
		rc = out->info_json && out->dir ? 0 : -ENOMEM;
		if (rc)
			metadata_vm_clear(out);
		break;
	}
	pthread_rwlock_unlock(&sa.lock);
	return rc;
}

static void sa_trace(void *ctx, struct in_addr ip, const char *path)
{
	char s[INET_ADDRSTRLEN];

	(void)ctx;
	if (!sa.trace)
		return;
	inet_ntop(AF_INET, &ip, s, sizeof(s));
	fprintf(stderr, "trace %s %s\n", s, path);
}

static void sa_rpc_listener(void *ctx, const char *bridge, int fd, bool added)
{
	(void)ctx;
	for (size_t i = 0; i < sizeof(sa.relays) / sizeof(sa.relays[0]); i++) {
		struct sa_relay *r = &sa.relays[i];
		if (added && !r->relay) {
			int rc = metadata_relay_start(fd, &sa.relay_to, &r->relay);
			if (rc)
				fprintf(stderr, "ss-metadatad: relay for %s: %s\n", bridge,
					strerror(-rc));
			snprintf(r->bridge, sizeof(r->bridge), "%s", bridge);
			return;
		}
		if (!added && r->relay && strcmp(r->bridge, bridge) == 0) {
			metadata_relay_stop(r->relay);
			r->relay = NULL;
			return;
		}
	}
}

/* ---- applying a configuration ---- */

static bool sa_has_bridge(const struct sa_conf *c, const char *name)
{
	for (size_t i = 0; i < c->nbridges; i++)
		if (strcmp(c->bridges[i], name) == 0)
			return true;
	return false;
}

static bool sa_has_tap(const struct sa_conf *c, const char *name)
{
	for (size_t i = 0; i < c->ntaps; i++)
		if (strcmp(c->taps[i].name, name) == 0)
			return true;
	return false;
}

static int sa_fail(struct metadata *md, const char *what, const char *name, int rc)
{
	char *msg = metadata_last_error(md);

	fprintf(stderr, "ss-metadatad: %s %s: %s\n", what, name, msg ? msg : strerror(-rc));
	free(msg);
	return rc;
}

/* Moves the service from sa.conf to *next, then makes *next current. */
static int sa_apply(struct metadata *md, struct sa_conf *next, bool first)
{
	struct sa_conf old;
	int rc;

	for (size_t i = 0; i < sa.conf.nbridges; i++)
		if (!sa_has_bridge(next, sa.conf.bridges[i]))
			metadata_remove_bridge(md, sa.conf.bridges[i]);
	for (size_t i = 0; i < sa.conf.ntaps; i++)
		if (!sa_has_tap(next, sa.conf.taps[i].name))
			metadata_remove_tap(md, sa.conf.taps[i].name);
	rc = metadata_set_subnets(md, next->subnets, next->nsubnets);
	if (rc)
		return sa_fail(md, "subnets", "", rc);
	for (size_t i = 0; i < next->nbridges; i++)
		if ((rc = metadata_add_bridge(md, next->bridges[i])))
			return sa_fail(md, "bridge", next->bridges[i], rc);
	/* The first load registers every tap in one transaction (metadata_set_taps); later
	 * ones go tap by tap, as a manager does when VMs come and go. */
	if (first) {
		if ((rc = metadata_set_taps(md, next->taps, next->ntaps)))
			return sa_fail(md, "taps", "", rc);
	} else {
		for (size_t i = 0; i < next->ntaps; i++)
			if ((rc = metadata_add_tap(md, &next->taps[i])))
				return sa_fail(md, "tap", next->taps[i].name, rc);
	}
	pthread_rwlock_wrlock(&sa.lock);
	old = sa.conf;
	sa.conf = *next;
	pthread_rwlock_unlock(&sa.lock);
	sa_conf_free(&old);
	memset(next, 0, sizeof(*next));
	return 0;
}

static void sa_write_ready(unsigned int generation)
{
	char tmp[4096];
	FILE *f;

	if (!sa.ready_file)
		return;
	snprintf(tmp, sizeof(tmp), "%s~", sa.ready_file);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%u\n", generation);
	if (fclose(f) == 0)
		rename(tmp, sa.ready_file);
}

static int sa_reload(struct metadata *md, bool first)
{
	struct sa_conf next;
	int rc = sa_load(sa.config, &next);

	if (rc == 0)
		rc = sa_apply(md, &next, first);
	sa_conf_free(&next);
	return rc;
}

static int sa_flags(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i] + (strncmp(argv[i], "--", 2) == 0 ? 2 : 1);
		const char *v = strchr(arg, '=');
		char a[32], host[64];
		unsigned int port;

		/* argv stays intact: tests find the process by its command line. */
		if (argv[i][0] != '-' ||
		    (size_t)(v ? v - arg : (ptrdiff_t)strlen(arg)) >= sizeof(a))
			return -EINVAL;
		snprintf(a, sizeof(a), "%.*s", (int)(v ? v - arg : (ptrdiff_t)strlen(arg)), arg);
		if (v)
			v++;
		if (strcmp(a, "trace") == 0 && !v) {
			sa.trace = true;
		} else if (!v) {
			return -EINVAL;
		} else if (strcmp(a, "config") == 0) {
			sa.config = v;
		} else if (strcmp(a, "nftTable") == 0) {
			sa.table = v;
		} else if (strcmp(a, "readyFile") == 0) {
			sa.ready_file = v;
		} else if (strcmp(a, "idleTimeout") == 0) {
			sa.idle_timeout = (unsigned int)strtoul(v, NULL, 10);
		} else if (strcmp(a, "rpcPort") == 0) {
			sa.rpc_port = (uint16_t)strtoul(v, NULL, 10);
		} else if (strcmp(a, "rpcRelay") == 0) {
			if (sscanf(v, "%63[0-9.]:%u", host, &port) != 2 || port == 0 ||
			    port > 65535 || inet_pton(AF_INET, host, &sa.relay_to.sin_addr) != 1)
				return -EINVAL;
			sa.relay_to.sin_family = AF_INET;
			sa.relay_to.sin_port = htons((uint16_t)port);
			sa.relay = true;
		} else {
			return -EINVAL;
		}
	}
	if (!sa.config)
		return -EINVAL;
	if (sa.relay && !sa.rpc_port)
		sa.rpc_port = 6976;
	if (!sa.relay)
		sa.rpc_port = 0;
	return 0;
}

int main(int argc, char **argv)
{
	struct metadata_vm_source src = {.lookup_by_ip = sa_lookup, .trace = sa_trace};
	struct metadata_config cfg = {0};
	struct metadata *md;
	unsigned int generation = 0;
	sigset_t set;
	int sig, rc;

	if (sa_flags(argc, argv)) {
		fprintf(stderr, "usage: ss-metadatad -config=FILE [-nftTable=NAME] "
				"[-readyFile=FILE] [-idleTimeout=S] [-rpcPort=N -rpcRelay=IP:PORT] "
				"[-trace]\n");
		return 2;
	}
	setvbuf(stderr, NULL, _IOLBF, 0);
	/* Signals are taken by sigwait below, never by the service's threads. */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	cfg.source = &src;
	cfg.nft_table = sa.table;
	cfg.idle_timeout = sa.idle_timeout;
	cfg.rpc_port = sa.rpc_port;
	cfg.rpc_listener = sa_rpc_listener;
	md = metadata_new(&cfg);
	if (!md) {
		fprintf(stderr, "ss-metadatad: out of memory\n");
		return 1;
	}
	rc = metadata_start(md);
	if (rc) {
		sa_fail(md, "start", sa.table, rc);
		goto out;
	}
	rc = sa_reload(md, true);
	if (rc)
		goto out;
	sa_write_ready(++generation);
	fprintf(stderr, "ss-metadatad: ready\n");
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			break;
		if (sa_reload(md, false) == 0) {
			sa_write_ready(++generation);
			fprintf(stderr, "ss-metadatad: reloaded\n");
		}
	}
out:
	metadata_free(md);
	sa_conf_free(&sa.conf);
	fprintf(stderr, "ss-metadatad: stopped\n");
	return rc ? 1 : 0;
}
