/* dynamic-leases.json: encode/decode and the atomic file write. */
#include "daemon/hypervisor/netsvc/dhcp/dhcp_store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "json.h"

#define STORE_MAX_SIZE (64u << 20)

static int cmp_ipstr(const void *a, const void *b)
{
	char sa[INET_ADDRSTRLEN], sb[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &((const struct dhcp_store_entry *)a)->ip, sa, sizeof(sa));
	inet_ntop(AF_INET, &((const struct dhcp_store_entry *)b)->ip, sb, sizeof(sb));
	return strcmp(sa, sb);
}

static json_t *entry_json(const struct dhcp_store_entry *e)
{
	struct timespec ts = {.tv_sec = e->expires / 1000,
			      .tv_nsec = (e->expires % 1000) * 1000000};
	json_t *o = json_object();
	if (!o)
		return NULL;
	if ((e->hostname[0] && sjson_set(o, "ClientHostName", json_string(e->hostname)) < 0) ||
	    sjson_set(o, "Expires", sjson_time(&ts)) < 0 ||
	    sjson_set(o, "IpAddress", sjson_ipv4(e->ip)) < 0 ||
	    sjson_set(o, "MacAddress", sjson_mac(e->mac)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *dhcp_store_encode(const struct dhcp_store_entry *e, size_t n)
{
	struct dhcp_store_entry *sorted = NULL;
	json_t *arr = json_array();
	char *out = NULL;

	if (!arr)
		return NULL;
	if (n) {
		sorted = malloc(n * sizeof(*sorted));
		if (!sorted)
			goto out_free;
		memcpy(sorted, e, n * sizeof(*sorted));
		qsort(sorted, n, sizeof(*sorted), cmp_ipstr);
	}
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, entry_json(&sorted[i])) < 0)
			goto out_free;
	out = sjson_dumps(arr, SJSON_PRETTY);
out_free:
	free(sorted);
	json_decref(arr);
	return out;
}

/* Copies at most size-1 bytes of a UTF-8 name, cutting before a character rather than
 * inside one: a split character would make the name invalid UTF-8, which jansson
 * refuses to encode, and then the whole file could never be saved again. */
static void copy_hostname(char *out, size_t size, const char *host)
{
	size_t n = strlen(host);

	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)host[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(out, host, n);
	out[n] = '\0';
}

static int decode_one(json_t *o, struct dhcp_store_entry *e)
{
	const char *ip = json_string_value(json_object_get(o, "IpAddress"));
	const char *mac = json_string_value(json_object_get(o, "MacAddress"));
	const char *exp = json_string_value(json_object_get(o, "Expires"));
	const char *host = json_string_value(json_object_get(o, "ClientHostName"));
	struct timespec ts;

	memset(e, 0, sizeof(*e));
	if (!ip || !mac || !exp || inet_pton(AF_INET, ip, &e->ip) != 1 ||
	    sjson_parse_mac(mac, e->mac) < 0 || sjson_parse_time(exp, &ts) < 0)
		return -EINVAL;
	e->expires = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (host)
		copy_hostname(e->hostname, sizeof(e->hostname), host);
	return 0;
}

int dhcp_store_decode(const char *text, struct dhcp_store_entry **out, size_t *n, size_t *bad)
{
	json_t *arr = NULL;
	char *err = NULL;
	*out = NULL;
	*n = 0;
	*bad = 0;
	if (sjson_load_buf(text, strlen(text), "dynamic-leases.json", &arr, &err) < 0 ||
	    !json_is_array(arr)) {
		free(err);
		json_decref(arr);
		return -EBADMSG;
	}
	size_t cnt = json_array_size(arr);
	struct dhcp_store_entry *e = calloc(cnt ? cnt : 1, sizeof(*e));
	if (!e) {
		json_decref(arr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cnt; i++) {
		if (decode_one(json_array_get(arr, i), &e[*n]) == 0)
			(*n)++;
		else
			(*bad)++;
	}
	json_decref(arr);
	*out = e;
	return 0;
}

int dhcp_store_save(const char *path, const struct dhcp_store_entry *e, size_t n)
{
	if (n == 0)
		return (unlink(path) < 0 && errno != ENOENT) ? -errno : 0;
	char *text = dhcp_store_encode(e, n);
	if (!text)
		return -ENOMEM;
	int rc = fsutil_write_atomic(path, text, strlen(text), 0644);
	free(text);
	return rc;
}

int dhcp_store_load(const char *path, struct dhcp_store_entry **out, size_t *n, size_t *bad)
{
	char *text = NULL;
	*out = NULL;
	*n = 0;
	*bad = 0;
	int rc = fsutil_read_file(path, STORE_MAX_SIZE, &text, NULL);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	rc = dhcp_store_decode(text, out, n, bad);
	free(text);
	return rc;
}

struct dhcp_journal {
	int fd;
	char *buf;
	size_t len, cap;
	size_t count;
};

int dhcp_journal_open(const char *path, struct dhcp_journal **out)
{
	struct dhcp_journal *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (j->fd < 0) {
		int e = -errno;
		free(j);
		return e;
	}
	*out = j;
	return 0;
}

void dhcp_journal_close(struct dhcp_journal *j)
{
	if (!j)
		return;
	close(j->fd);
	free(j->buf);
	free(j);
}

int dhcp_journal_add(struct dhcp_journal *j, const struct dhcp_store_entry *e, bool del)
{
	json_t *o = entry_json(e);
	if (!o || sjson_set(o, "Op", json_string(del ? "del" : "set")) < 0) {
		json_decref(o);
		return -ENOMEM;
	}
	char *line = sjson_dumps(o, SJSON_SORT_KEYS);
	json_decref(o);
	if (!line)
		return -ENOMEM;
	size_t l = strlen(line);
	if (j->len + l + 1 > j->cap) {
		size_t cap = (j->len + l + 1) * 2;
		char *b = realloc(j->buf, cap);
		if (!b) {
			free(line);
			return -ENOMEM;
		}
		j->buf = b;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, line, l);
	j->buf[j->len + l] = '\n';
	j->len += l + 1;
	j->count++;
	free(line);
	return 0;
}

int dhcp_journal_commit(struct dhcp_journal *j, bool sync)
{
	int rc = j->len ? fsutil_write_all(j->fd, j->buf, j->len) : 0;
	if (rc == 0)
		j->len = 0;
	if (rc == 0 && sync)
		rc = dhcp_journal_sync(j);
	return rc;
}

int dhcp_journal_sync(struct dhcp_journal *j)
{
	return fdatasync(j->fd) < 0 ? -errno : 0;
}

int dhcp_journal_truncate(struct dhcp_journal *j)
{
	j->len = 0;
	j->count = 0;
	if (ftruncate(j->fd, 0) < 0 || fdatasync(j->fd) < 0)
		return -errno;
	return 0;
}

size_t dhcp_journal_count(const struct dhcp_journal *j)
{
	return j->count;
}

static void drop_matching(struct dhcp_store_entry *e, size_t *n, const struct dhcp_store_entry *r)
{
	for (size_t i = 0; i < *n;) {
		if (!memcmp(e[i].mac, r->mac, 6) || e[i].ip.s_addr == r->ip.s_addr)
			e[i] = e[--*n];
		else
			i++;
	}
}

int dhcp_journal_replay(const char *path, struct dhcp_store_entry **e, size_t *n, size_t *bad)
{
	char *text = NULL;
	int rc = fsutil_read_file(path, STORE_MAX_SIZE, &text, NULL);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);
		const char *op = json_string_value(json_object_get(o, "Op"));
		struct dhcp_store_entry r;
		if (!o || !op || decode_one(o, &r) < 0 ||
		    (strcmp(op, "set") && strcmp(op, "del"))) {
			(*bad)++;
			json_decref(o);
			continue;
		}
		bool del = !strcmp(op, "del");
		json_decref(o); /* op is gone with it */
		drop_matching(*e, n, &r);
		if (del)
			continue;
		struct dhcp_store_entry *ne = realloc(*e, (*n + 1) * sizeof(**e));
		if (!ne) {
			rc = -ENOMEM;
			break;
		}
		*e = ne;
		(*e)[(*n)++] = r;
	}
	free(text);
	return rc;
}
