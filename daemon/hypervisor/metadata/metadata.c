/* The metadata service: keeps the bridges, subnets and taps it was given, and makes the
 * kernel match them (namespaces and routes through metadata_netns, rules through one
 * nftables transaction regenerated from the whole state on every change). */
#include "daemon/hypervisor/metadata/metadata.h"

#include "daemon/hypervisor/metadata/metadata_http.h"
#include "daemon/hypervisor/metadata/metadata_netns.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct md_bridge {
	struct metadata_ns ns;
	struct metadata_http *http;
};

struct metadata {
	struct metadata_config cfg;
	char table[33];
	pthread_mutex_t lock; /* guards everything below; never held by HTTP threads */
	bool started;
	bool installed; /* our tables may exist in the kernel */
	struct md_bridge **bridges;
	size_t nbridges;
	struct metadata_tap *taps; /* sorted by name */
	size_t ntaps;
	struct metadata_route *routes;
	size_t nroutes;
	char *error;
};

static void md_set_error(struct metadata *md, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void md_set_error(struct metadata *md, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	free(md->error);
	md->error = s;
}

struct metadata *metadata_new(const struct metadata_config *cfg)
{
	struct metadata *md = calloc(1, sizeof(*md));

	if (!md)
		return NULL;
	md->cfg = *cfg;
	snprintf(md->table, sizeof(md->table), "%s",
		 cfg->nft_table ? cfg->nft_table : METADATA_NFT_TABLE);
	pthread_mutex_init(&md->lock, NULL);
	return md;
}

/* Makes the kernel's tables match the state. */
static int md_apply(struct metadata *md)
{
	struct metadata_nft_bridge *br = calloc(md->nbridges ? md->nbridges : 1, sizeof(*br));
	char *text = NULL, *err = NULL;
	int rc;

	if (!br)
		return -ENOMEM;
	for (size_t i = 0; i < md->nbridges; i++) {
		const struct metadata_ns *ns = &md->bridges[i]->ns;
		snprintf(br[i].name, sizeof(br[i].name), "%s", ns->bridge);
		snprintf(br[i].veth, sizeof(br[i].veth), "%s", ns->veth);
		memcpy(br[i].ns_mac, ns->mac, 6);
	}
	text = metadata_nft_ruleset(md->table, br, md->nbridges, md->taps, md->ntaps);
	free(br);
	if (!text) {
		rc = -errno;
		md_set_error(md, "nftables ruleset: %s", strerror(errno));
		return rc;
	}
	rc = metadata_nft_apply(text, &err);
	if (rc == 0)
		md->installed = true;
	else
		md_set_error(md, "nftables table %s: %s", md->table, err ? err : strerror(-rc));
	free(err);
	free(text);
	return rc;
}

int metadata_start(struct metadata *md)
{
	int rc;

	if (!metadata_nft_table_ok(md->table)) {
		md_set_error(md, "invalid nftables table name: %s", md->table);
		return -EINVAL;
	}
	pthread_mutex_lock(&md->lock);
	rc = md_apply(md);
	md->started = rc == 0;
	pthread_mutex_unlock(&md->lock);
	return rc;
}

static struct md_bridge *md_find_bridge(struct metadata *md, const char *name, size_t *idx)
{
	for (size_t i = 0; i < md->nbridges; i++) {
		if (strcmp(md->bridges[i]->ns.bridge, name) == 0) {
			if (idx)
				*idx = i;
			return md->bridges[i];
		}
	}
	return NULL;
}

static void md_bridge_free(struct metadata *md, struct md_bridge *b)
{
	if (!b)
		return;
	if (b->ns.rpc_fd >= 0 && md->cfg.rpc_listener)
		md->cfg.rpc_listener(md->cfg.rpc_ctx, b->ns.bridge, b->ns.rpc_fd, false);
	metadata_http_stop(b->http);
	metadata_ns_destroy(&b->ns);
	free(b);
}

int metadata_add_bridge(struct metadata *md, const char *bridge)
{
	struct md_bridge *b, **v;
	int rc;

	if (!metadata_ifname_ok(bridge))
		return -EINVAL;
	pthread_mutex_lock(&md->lock);
	if (md_find_bridge(md, bridge, NULL)) {
		rc = 0;
		goto out_unlock;
	}
	rc = -ENOMEM;
	v = reallocarray(md->bridges, md->nbridges + 1, sizeof(*v));
	if (!v)
		goto out_unlock;
	md->bridges = v;
	b = calloc(1, sizeof(*b));
	if (!b)
		goto out_unlock;
	rc = metadata_ns_create(bridge, md->cfg.rpc_port, &b->ns);
	if (rc) {
		md_set_error(md, "metadata namespace for bridge %s: %s", bridge, strerror(-rc));
		free(b);
		goto out_unlock;
	}
	rc = metadata_ns_set_routes(&b->ns, md->routes, md->nroutes);
	if (rc) {
		md_set_error(md, "metadata routes for bridge %s: %s", bridge, strerror(-rc));
		goto out_free;
	}
	rc = metadata_http_start(b->ns.http_fd, bridge, md->cfg.source, md->cfg.idle_timeout,
				 &b->http);
	b->ns.http_fd = -1; /* taken by metadata_http_start */
	if (rc) {
		md_set_error(md, "metadata HTTP server for bridge %s: %s", bridge, strerror(-rc));
		goto out_free;
	}
	md->bridges[md->nbridges++] = b;
	rc = md_apply(md);
	if (rc) {
		md->nbridges--;
		goto out_free;
	}
	if (b->ns.rpc_fd >= 0 && md->cfg.rpc_listener)
		md->cfg.rpc_listener(md->cfg.rpc_ctx, bridge, b->ns.rpc_fd, true);
	pthread_mutex_unlock(&md->lock);
	return 0;
out_free:
	/* the rpc socket was never handed out */
	metadata_http_stop(b->http);
	metadata_ns_destroy(&b->ns);
	free(b);
out_unlock:
	pthread_mutex_unlock(&md->lock);
	return rc;
}

int metadata_remove_bridge(struct metadata *md, const char *bridge)
{
	struct md_bridge *b;
	size_t i;
	int rc;

	pthread_mutex_lock(&md->lock);
	b = md_find_bridge(md, bridge, &i);
	if (!b) {
		pthread_mutex_unlock(&md->lock);
		return -ENOENT;
	}
	md->bridges[i] = md->bridges[--md->nbridges];
	md_bridge_free(md, b);
	rc = md_apply(md);
	pthread_mutex_unlock(&md->lock);
	return rc;
}

int metadata_set_subnets(struct metadata *md, const struct metadata_subnet *s, size_t n)
{
	struct metadata_route *r = calloc(n ? n : 1, sizeof(*r));
	size_t nr = 0;
	int rc = 0;

	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int prefix = metadata_mask_prefix(s[i].mask);
		if (prefix < 0) {
			rc = -EINVAL;
			continue;
		}
		if (s[i].disable_metadata)
			continue;
		r[nr].base.s_addr = s[i].gateway.s_addr & s[i].mask.s_addr;
		r[nr].prefix = (uint8_t)prefix;
		nr++;
	}
	pthread_mutex_lock(&md->lock);
	free(md->routes);
	md->routes = r;
	md->nroutes = nr;
	for (size_t i = 0; i < md->nbridges; i++) {
		int e = metadata_ns_set_routes(&md->bridges[i]->ns, r, nr);
		if (e) {
			md_set_error(md, "metadata routes for bridge %s: %s",
				     md->bridges[i]->ns.bridge, strerror(-e));
			if (!rc)
				rc = e;
		}
	}
	pthread_mutex_unlock(&md->lock);
	return rc;
}

static int md_tap_cmp(const void *a, const void *b)
{
	return strcmp(((const struct metadata_tap *)a)->name,
		      ((const struct metadata_tap *)b)->name);
}

int metadata_add_tap(struct metadata *md, const struct metadata_tap *tap)
{
	struct metadata_tap *found, *v, old;
	int rc;

	if (!metadata_ifname_ok(tap->name) || (tap->bridge[0] && !metadata_ifname_ok(tap->bridge)))
		return -EINVAL;
	pthread_mutex_lock(&md->lock);
	found = md->ntaps ? bsearch(tap, md->taps, md->ntaps, sizeof(*md->taps), md_tap_cmp) : NULL;
	if (found) {
		old = *found;
		*found = *tap;
		rc = md_apply(md);
		if (rc)
			*found = old;
		goto out_unlock;
	}
	rc = -ENOMEM;
	v = reallocarray(md->taps, md->ntaps + 1, sizeof(*v));
	if (!v)
		goto out_unlock;
	md->taps = v;
	v[md->ntaps++] = *tap;
	qsort(v, md->ntaps, sizeof(*v), md_tap_cmp);
	rc = md_apply(md);
	if (rc) {
		found = bsearch(tap, md->taps, md->ntaps, sizeof(*v), md_tap_cmp);
		memmove(found, found + 1, (size_t)(md->taps + md->ntaps - found - 1) * sizeof(*v));
		md->ntaps--;
	}
out_unlock:
	pthread_mutex_unlock(&md->lock);
	return rc;
}

int metadata_set_taps(struct metadata *md, const struct metadata_tap *taps, size_t n)
{
	struct metadata_tap *v = calloc(n ? n : 1, sizeof(*v)), *old;
	size_t nold;
	int rc;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!metadata_ifname_ok(taps[i].name) ||
		    (taps[i].bridge[0] && !metadata_ifname_ok(taps[i].bridge))) {
			free(v);
			return -EINVAL;
		}
		v[i] = taps[i];
	}
	qsort(v, n, sizeof(*v), md_tap_cmp);
	for (size_t i = 1; i < n; i++) {
		if (md_tap_cmp(&v[i - 1], &v[i]) == 0) {
			free(v);
			return -EINVAL;
		}
	}
	pthread_mutex_lock(&md->lock);
	old = md->taps;
	nold = md->ntaps;
	md->taps = v;
	md->ntaps = n;
	rc = md_apply(md);
	if (rc) {
		md->taps = old;
		md->ntaps = nold;
		old = v;
	}
	pthread_mutex_unlock(&md->lock);
	free(old);
	return rc;
}

int metadata_remove_tap(struct metadata *md, const char *name)
{
	struct metadata_tap key = {0}, *found, old;
	size_t idx;
	int rc;

	snprintf(key.name, sizeof(key.name), "%s", name);
	pthread_mutex_lock(&md->lock);
	found = md->ntaps ? bsearch(&key, md->taps, md->ntaps, sizeof(key), md_tap_cmp) : NULL;
	if (!found) {
		pthread_mutex_unlock(&md->lock);
		return -ENOENT;
	}
	old = *found;
	idx = (size_t)(found - md->taps);
	memmove(found, found + 1, (md->ntaps - idx - 1) * sizeof(*found));
	md->ntaps--;
	rc = md_apply(md);
	if (rc) {
		memmove(md->taps + idx + 1, md->taps + idx, (md->ntaps - idx) * sizeof(*found));
		md->taps[idx] = old;
		md->ntaps++;
	}
	pthread_mutex_unlock(&md->lock);
	return rc;
}

bool metadata_ready(struct metadata *md)
{
	bool ready;

	pthread_mutex_lock(&md->lock);
	ready = md->started;
	pthread_mutex_unlock(&md->lock);
	return ready;
}

void metadata_get_stats(struct metadata *md, struct metadata_http_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&md->lock);
	for (size_t i = 0; i < md->nbridges; i++) {
		struct metadata_http_stats s;
		metadata_http_get_stats(md->bridges[i]->http, &s);
		out->requests += s.requests;
		out->refused += s.refused;
		out->unknown += s.unknown;
	}
	pthread_mutex_unlock(&md->lock);
}

char *metadata_last_error(struct metadata *md)
{
	char *s;

	pthread_mutex_lock(&md->lock);
	s = md->error ? strdup(md->error) : NULL;
	pthread_mutex_unlock(&md->lock);
	return s;
}

void metadata_free(struct metadata *md)
{
	char *text;

	if (!md)
		return;
	pthread_mutex_lock(&md->lock);
	for (size_t i = 0; i < md->nbridges; i++)
		md_bridge_free(md, md->bridges[i]);
	if (md->installed) {
		text = metadata_nft_teardown(md->table);
		if (text)
			metadata_nft_apply(text, NULL);
		free(text);
	}
	pthread_mutex_unlock(&md->lock);
	pthread_mutex_destroy(&md->lock);
	free(md->bridges);
	free(md->taps);
	free(md->routes);
	free(md->error);
	free(md);
}
