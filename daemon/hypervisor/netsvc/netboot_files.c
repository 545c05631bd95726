/* Per-client virtual boot files: a small list of per-IP sets of refcounted blobs. */
#include "daemon/hypervisor/netsvc/netboot_files.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/hypervisor/netsvc/tftp/tftp_path.h"
#include "daemon/hypervisor/netsvc/tftp/tftp_packet.h"

struct nbf_entry {
	char name[TFTP_NAME_MAX + 1];
	struct nbf_blob *blob;
};

struct nbf_set {
	struct in_addr ip;
	uint8_t mac[6];
	bool has_mac, acked;
	uint64_t token;
	int64_t expires;
	size_t n;
	struct nbf_entry *files;
};

struct nbf_registry {
	struct nbf_set *sets;
	size_t n;
};

struct nbf_blob *nbf_blob_new(const void *data, size_t len)
{
	struct nbf_blob *b = malloc(sizeof(*b) + len);
	if (!b)
		return NULL;
	b->refs = 1;
	b->len = len;
	if (len)
		memcpy(b->data, data, len);
	return b;
}

struct nbf_blob *nbf_blob_ref(struct nbf_blob *b)
{
	if (b)
		__atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
	return b;
}

void nbf_blob_unref(struct nbf_blob *b)
{
	if (b && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(b);
}

struct nbf_registry *nbf_registry_new(void)
{
	return calloc(1, sizeof(struct nbf_registry));
}

static void set_clear(struct nbf_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		nbf_blob_unref(s->files[i].blob);
	free(s->files);
	s->files = NULL;
	s->n = 0;
}

void nbf_registry_free(struct nbf_registry *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		set_clear(&r->sets[i]);
	free(r->sets);
	free(r);
}

static struct nbf_set *find(struct nbf_registry *r, struct in_addr ip)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->sets[i].ip.s_addr == ip.s_addr)
			return &r->sets[i];
	return NULL;
}

static void remove_at(struct nbf_registry *r, struct nbf_set *s)
{
	set_clear(s);
	*s = r->sets[--r->n];
}

int nbf_set(struct nbf_registry *r, struct in_addr ip, const uint8_t *mac,
	    const struct netboot_file *files, size_t n, int64_t expires, uint64_t token)
{
	struct nbf_set fresh = {.ip = ip, .token = token, .expires = expires, .n = 0};
	struct nbf_set *old = find(r, ip);

	if (n == 0) {
		if (old)
			remove_at(r, old);
		return 0;
	}
	fresh.files = calloc(n, sizeof(*fresh.files));
	if (!fresh.files)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int rc = tftp_path_normalize(files[i].name, fresh.files[i].name,
					     sizeof(fresh.files[i].name));
		if (rc < 0) {
			set_clear(&fresh);
			return -EINVAL;
		}
		fresh.files[i].blob = nbf_blob_new(files[i].data, files[i].len);
		if (!fresh.files[i].blob) {
			set_clear(&fresh);
			return -ENOMEM;
		}
		fresh.n = i + 1;
	}
	if (mac) {
		memcpy(fresh.mac, mac, 6);
		fresh.has_mac = true;
	}
	if (!old) {
		struct nbf_set *s = realloc(r->sets, (r->n + 1) * sizeof(*s));
		if (!s) {
			set_clear(&fresh);
			return -ENOMEM;
		}
		r->sets = s;
		old = &r->sets[r->n++];
	} else {
		/* A re-registration for the same MAC keeps an ACK already seen. */
		if (old->acked && old->has_mac && fresh.has_mac && !memcmp(old->mac, fresh.mac, 6))
			fresh.acked = true;
		set_clear(old);
	}
	*old = fresh;
	return 0;
}

int nbf_remove(struct nbf_registry *r, struct in_addr ip, uint64_t token)
{
	struct nbf_set *s = find(r, ip);
	if (!s)
		return -ENOENT;
	if (token && s->token != token)
		return -EPERM;
	remove_at(r, s);
	return 0;
}

int nbf_set_expiry(struct nbf_registry *r, struct in_addr ip, uint64_t token, int64_t expires)
{
	struct nbf_set *s = find(r, ip);
	if (!s)
		return -ENOENT;
	if (token && s->token != token)
		return -EPERM;
	s->expires = expires;
	return 0;
}

void nbf_note_ack(struct nbf_registry *r, struct in_addr ip, const uint8_t mac[6])
{
	struct nbf_set *s = find(r, ip);
	if (s && s->has_mac && !memcmp(s->mac, mac, 6))
		s->acked = true;
}

static bool live(const struct nbf_set *s, int64_t now)
{
	return s->expires == 0 || s->expires > now;
}

bool nbf_has(struct nbf_registry *r, struct in_addr ip, int64_t now)
{
	struct nbf_set *s = find(r, ip);
	return s && live(s, now);
}

enum nbf_lookup_result nbf_lookup(struct nbf_registry *r, struct in_addr ip, const char *name,
				  int64_t now, const uint8_t *peer_mac, struct nbf_blob **blob)
{
	struct nbf_set *s = find(r, ip);
	*blob = NULL;
	if (!s || !live(s, now))
		return NBF_NO_SET;
	size_t i;
	for (i = 0; i < s->n; i++)
		if (!strcmp(s->files[i].name, name))
			break;
	if (i == s->n)
		return NBF_NO_FILE;
	if (s->has_mac) {
		if (!s->acked)
			return NBF_NOT_ACKED;
		if (peer_mac && memcmp(peer_mac, s->mac, 6) != 0)
			return NBF_WRONG_MAC;
	}
	*blob = nbf_blob_ref(s->files[i].blob);
	return NBF_FOUND;
}

int64_t nbf_expire(struct nbf_registry *r, int64_t now)
{
	int64_t next = INT64_MAX;
	for (size_t i = 0; i < r->n;) {
		struct nbf_set *s = &r->sets[i];
		if (!live(s, now)) {
			remove_at(r, s);
			continue;
		}
		if (s->expires && s->expires < next)
			next = s->expires;
		i++;
	}
	return next;
}

size_t nbf_count(const struct nbf_registry *r)
{
	return r->n;
}
