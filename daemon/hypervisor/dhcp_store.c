/* dynamic-leases.json: encode/decode (jansson) and the atomic file write. */
#include "daemon/hypervisor/dhcp_store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int dhcp_time_format(int64_t ms, char *out, size_t outlen)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return -EINVAL;
	size_t n = strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return n ? 0 : -ENOSPC;
}

int dhcp_time_parse(const char *s, int64_t *ms)
{
	struct tm tm = {0};
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	int64_t frac_ms = 0, off = 0;
	if (!p)
		return -EINVAL;
	if (*p == '.') {
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 3)
				frac_ms = frac_ms * 10 + (*p - '0');
		for (; digits < 3; digits++)
			frac_ms *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int hh, mm;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return -EINVAL;
		off = (hh * 60 + mm) * 60;
		if (*p == '-')
			off = -off;
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	time_t t = timegm(&tm);
	*ms = ((int64_t)t - off) * 1000 + frac_ms;
	return 0;
}

int dhcp_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char sep[5], end;
	if (sscanf(s, "%2x%c%2x%c%2x%c%2x%c%2x%c%2x%c", &v[0], &sep[0], &v[1], &sep[1], &v[2],
		   &sep[2], &v[3], &sep[3], &v[4], &sep[4], &v[5], &end) != 11)
		return -EINVAL;
	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 5; i++)
		if (sep[i] != ':' && sep[i] != '-')
			return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

static int cmp_ipstr(const void *a, const void *b)
{
	char sa[INET_ADDRSTRLEN], sb[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &((const struct dhcp_store_entry *)a)->ip, sa, sizeof(sa));
	inet_ntop(AF_INET, &((const struct dhcp_store_entry *)b)->ip, sb, sizeof(sb));
	return strcmp(sa, sb);
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
	for (size_t i = 0; i < n; i++) {
		char ip[INET_ADDRSTRLEN], mac[18], exp[32];
		inet_ntop(AF_INET, &sorted[i].ip, ip, sizeof(ip));
		const uint8_t *m = sorted[i].mac;
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
			 m[4], m[5]);
		if (dhcp_time_format(sorted[i].expires, exp, sizeof(exp)) < 0)
			goto out_free;
		json_t *o = json_object();
		if (!o || json_array_append_new(arr, o) < 0)
			goto out_free;
		if (sorted[i].hostname[0])
			json_object_set_new(o, "ClientHostName", json_string(sorted[i].hostname));
		json_object_set_new(o, "Expires", json_string(exp));
		json_object_set_new(o, "IpAddress", json_string(ip));
		json_object_set_new(o, "MacAddress", json_string(mac));
	}
	out = json_dumps(arr, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
out_free:
	free(sorted);
	json_decref(arr);
	return out;
}

static int decode_one(json_t *o, struct dhcp_store_entry *e)
{
	const char *ip = json_string_value(json_object_get(o, "IpAddress"));
	const char *mac = json_string_value(json_object_get(o, "MacAddress"));
	const char *exp = json_string_value(json_object_get(o, "Expires"));
	const char *host = json_string_value(json_object_get(o, "ClientHostName"));

	memset(e, 0, sizeof(*e));
	if (!ip || !mac || !exp || inet_pton(AF_INET, ip, &e->ip) != 1 ||
	    dhcp_mac_parse(mac, e->mac) < 0 || dhcp_time_parse(exp, &e->expires) < 0)
		return -EINVAL;
	if (host)
		snprintf(e->hostname, sizeof(e->hostname), "%s", host);
	return 0;
}

int dhcp_store_decode(const char *text, struct dhcp_store_entry **out, size_t *n, size_t *bad)
{
	json_error_t jerr;
	json_t *arr = json_loads(text, 0, &jerr);
	*out = NULL;
	*n = 0;
	*bad = 0;
	if (!arr || !json_is_array(arr)) {
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

/* Temporary file beside path, fsync, rename over path, fsync the directory. */
static int write_atomic(const char *path, const char *data, size_t len)
{
	char tmp[4096], dir[4096];
	int rc = 0;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = -errno;
			goto out_unlink;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = -errno;
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	else
		snprintf(dir, sizeof(dir), ".");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd) < 0)
			rc = -errno;
		close(dfd);
	}
	return rc;
out_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

int dhcp_store_save(const char *path, const struct dhcp_store_entry *e, size_t n)
{
	if (n == 0)
		return (unlink(path) < 0 && errno != ENOENT) ? -errno : 0;
	char *text = dhcp_store_encode(e, n);
	if (!text)
		return -ENOMEM;
	size_t len = strlen(text);
	text[len] = 0;
	int rc;
	char *withnl = realloc(text, len + 2);
	if (!withnl) {
		free(text);
		return -ENOMEM;
	}
	withnl[len] = '\n';
	withnl[len + 1] = 0;
	rc = write_atomic(path, withnl, len + 1);
	free(withnl);
	return rc;
}

int dhcp_store_load(const char *path, struct dhcp_store_entry **out, size_t *n, size_t *bad)
{
	*out = NULL;
	*n = 0;
	*bad = 0;
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	char *text = NULL;
	size_t cap = 0, len = 0;
	int rc = 0;
	for (;;) {
		if (cap - len < 4096) {
			if (cap > (64u << 20)) {
				rc = -EFBIG;
				goto out;
			}
			char *t = realloc(text, cap + 65536);
			if (!t) {
				rc = -ENOMEM;
				goto out;
			}
			text = t;
			cap += 65536;
		}
		size_t r = fread(text + len, 1, cap - len - 1, f);
		len += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		rc = -EIO;
		goto out;
	}
	text[len] = 0;
	rc = dhcp_store_decode(text, out, n, bad);
out:
	free(text);
	fclose(f);
	return rc;
}
