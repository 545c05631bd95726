/* fuzz_hvapi_json: the hypervisor's JSON state files and messages (lib/api/codec.c,
 * lib/api/hypervisor*.c) and the encodings of lib/json.c.
 *
 * The first byte picks the decoder; the rest is the document:
 *   'i' info.json (LocalVmInfo)      'p' address-pool.json     's' subnets.json
 *   'c' create-request.json (CreateVmRequest)   'l' dynamic-leases.json (DHCP server)
 *   'j' the DHCP lease journal, replayed over two leases as at start-up
 *   'm' "GoTypeName\n" then one RPC message of that type (every request and response
 *       type of the Hypervisor.* method table, and the nested records)
 *   'F' a ListVMsRequest then a VmInfo (the VM selection filters)
 *   'T' an RFC 3339 time   'B' base64   'M' a MAC address   'V' "a\0b" version strings
 *   'D' a byte stream of JSON values (sjson_decode_one)
 * Files are read as the daemon reads them (comment lines skipped), messages as SRPC
 * delivers them. Checks beyond the sanitizers: whatever decodes must encode, reload
 * and decode again to the same JSON (a state file the daemon writes must be one it
 * can read back), its compact wire encoding must parse to the same JSON, and every
 * decode error names its document. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "api/hypervisor.h"
#include "daemon/hypervisor/netsvc/dhcp/dhcp_store.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "%s: %s\n", what, detail != NULL ? detail : "");
	abort();
}

/* ---- the type table ---- */

static const struct api_type *const extra_types[] = {
    &hvapi_local_vm_info_type,
    &hvapi_vm_info_type,
    &hvapi_address_pool_type,
    &hvapi_address_type,
    &hvapi_subnet_type,
    &hvapi_volume_type,
    &hvapi_create_vm_request_type,
    &hvapi_create_vm_response_type,
    &hvapi_export_local_vm_info_type,
    &hvapi_storage_info_type,
    &hvapi_migrate_vm_response_response_type,
    &hvapi_update_type,
    &hvapi_vm_entry_type,
};

static const struct api_type *find_type(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(extra_types) / sizeof(extra_types[0]); i++) {
		if (strlen(extra_types[i]->name) == len &&
		    memcmp(extra_types[i]->name, name, len) == 0)
			return extra_types[i];
	}
	for (i = 0; i < hvapi_n_methods; i++) {
		const struct api_type *t[2] = {hvapi_methods[i].request, hvapi_methods[i].response};

		for (int k = 0; k < 2; k++) {
			if (t[k] != NULL && strlen(t[k]->name) == len &&
			    memcmp(t[k]->name, name, len) == 0)
				return t[k];
		}
	}
	return NULL;
}

/* ---- documents ---- */

/* Encodes obj, writes it as the daemon writes files, reads it back and decodes it:
 * the JSON must come out the same. So must the compact text SRPC sends (api_dumps). */
static void round_trip(const struct api_type *t, const void *obj, const char *src)
{
	json_t *e1 = api_encode(t, obj), *j2 = NULL, *e2, *jw;
	char *text, *wire, *err = NULL;
	void *obj2 = malloc(t->size), *copy = malloc(t->size);
	int rc;

	if (e1 == NULL || obj2 == NULL || copy == NULL)
		abort();
	text = sjson_dumps(e1, SJSON_PRETTY);
	if (text == NULL)
		abort();
	if (sjson_load_buf(text, strlen(text), src, &j2, &err) < 0)
		fail("written document does not reload", err);
	rc = api_decode_msg(t, j2, src, obj2, &err);
	if (rc < 0) {
		fprintf(stderr, "%s\n", text);
		fail("written document does not decode", err);
	}
	e2 = api_encode(t, obj2);
	if (e2 == NULL)
		abort();
	if (!json_equal(e1, e2)) {
		char *again = sjson_dumps(e2, SJSON_PRETTY);

		fprintf(stderr, "first:\n%s\nsecond:\n%s\n", text, again);
		fail("decode(encode(x)) differs", t->name);
	}
	wire = api_dumps(t, obj, 0);
	jw = wire != NULL ? json_loads(wire, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL) : NULL;
	if (jw == NULL || !json_equal(jw, e1))
		fail("the compact encoding differs", wire);
	json_decref(jw);
	free(wire);
	if (api_copy(t, copy, obj) < 0)
		abort();
	api_clear(t, copy);
	json_decref(e1);
	json_decref(e2);
	api_clear(t, obj2);
	json_decref(j2);
	free(text);
	free(obj2);
	free(copy);
}

static void decode_doc(const struct api_type *t, json_t *j, const char *src)
{
	void *obj = malloc(t->size);
	char *err = NULL;
	int rc;

	if (obj == NULL)
		abort();
	rc = api_decode_msg(t, j, src, obj, &err);
	if (rc == -EINVAL && (err == NULL || strncmp(err, src, strlen(src)) != 0))
		fail("decode error without the document's name", err);
	if (rc == 0)
		round_trip(t, obj, src);
	free(err);
	api_clear(t, obj);
	free(obj);
}

/* A state file: comment lines skipped, as sjson_load_file does. */
static void fuzz_file(const struct api_type *t, const char *p, size_t n, const char *src)
{
	json_t *j;
	char *err = NULL;

	if (sjson_load_buf(p, n, src, &j, &err) == 0)
		decode_doc(t, j, src);
	else if (err == NULL || strncmp(err, src, strlen(src)) != 0)
		fail("load error without the file name", err);
	free(err);
	json_decref(j);
}

static void fuzz_subnets(const char *p, size_t n)
{
	struct hvapi_subnets l, l2;
	struct sjson_dec d;
	json_t *j, *e1, *e2;
	char *text;

	if (sjson_load_buf(p, n, "subnets.json", &j, NULL) < 0)
		return;
	sjson_dec_init(&d, "subnets.json");
	if (hvapi_subnets_from_json(&d, j, &l) == 0) {
		e1 = hvapi_subnets_to_json(&l);
		text = e1 != NULL ? sjson_dumps(e1, SJSON_PRETTY) : NULL;
		if (text == NULL)
			abort();
		json_decref(j);
		if (sjson_load_buf(text, strlen(text), "subnets.json", &j, NULL) < 0)
			fail("written subnets.json does not reload", text);
		sjson_dec_fini(&d);
		sjson_dec_init(&d, "subnets.json");
		if (hvapi_subnets_from_json(&d, j, &l2) < 0)
			fail("written subnets.json does not decode", sjson_dec_error(&d));
		e2 = hvapi_subnets_to_json(&l2);
		if (e2 == NULL || !json_equal(e1, e2))
			fail("subnets.json changes on a round trip", text);
		json_decref(e1);
		json_decref(e2);
		free(text);
		hvapi_subnets_clear(&l);
		hvapi_subnets_clear(&l2);
	} else if (sjson_dec_error(&d) == NULL) {
		fail("subnets.json decode failed without a message", NULL);
	}
	sjson_dec_fini(&d);
	json_decref(j);
}

/* An RPC message as srpc_conn_read_json hands it over. */
static void fuzz_message(const char *p, size_t n)
{
	const char *nl = memchr(p, '\n', n);
	const struct api_type *t;
	json_error_t je;
	json_t *j;

	if (nl == NULL || (t = find_type(p, (size_t)(nl - p))) == NULL)
		return;
	n -= (size_t)(nl + 1 - p);
	j = json_loadb(nl + 1, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (j != NULL)
		decode_doc(t, j, t->name);
	json_decref(j);
}

static void check_filter(const struct hvapi_list_vms_request *req, struct hvapi_vm_info *vm)
{
	bool sel = hvapi_vm_selected(req->ignore_state_mask, &req->owner_groups, &req->owner_users,
				     &req->vm_tags_to_match, vm);
	bool sorted = true;

	if (sel && !hvapi_match_tags(&req->vm_tags_to_match, &vm->tags))
		fail("selected a VM whose tags do not match", NULL);
	for (size_t i = 1; i < vm->tags.n; i++)
		sorted &= strcmp(api_str(vm->tags.v[i - 1].key), api_str(vm->tags.v[i].key)) < 0;
	/* Setting each wanted tag keeps a sorted list sorted, and finds it. */
	for (size_t i = 0; i < req->vm_tags_to_match.n; i++) {
		const struct hvapi_match_tag *m = &req->vm_tags_to_match.v[i];
		const char *val = m->values.n > 0 ? api_str(m->values.v[0]) : "";
		const char *got;

		if (hvapi_tags_set(&vm->tags, api_str(m->key), val) < 0)
			abort();
		got = hvapi_tags_get(&vm->tags, api_str(m->key));
		if (got == NULL || strcmp(got, val) != 0)
			fail("tag set but not found", m->key);
	}
	for (size_t i = 1; sorted && i < vm->tags.n; i++) {
		if (strcmp(api_str(vm->tags.v[i - 1].key), api_str(vm->tags.v[i].key)) >= 0)
			fail("tags not sorted after hvapi_tags_set", vm->tags.v[i].key);
	}
}

static void fuzz_filter(const char *p, size_t n)
{
	struct hvapi_list_vms_request req = {0};
	struct hvapi_vm_info vm = {0};
	json_t *j1, *j2;
	size_t used;

	if (sjson_decode_one(p, n, &j1, &used, NULL) < 0)
		return;
	if (sjson_decode_one(p + used, n - used, &j2, &used, NULL) < 0) {
		json_decref(j1);
		return;
	}
	if (api_decode_msg(&hvapi_list_vms_request_type, j1, "ListVMsRequest", &req, NULL) == 0 &&
	    api_decode_msg(&hvapi_vm_info_type, j2, "VmInfo", &vm, NULL) == 0)
		check_filter(&req, &vm);
	api_clear(&hvapi_vm_info_type, &vm);
	api_clear(&hvapi_list_vms_request_type, &req);
	json_decref(j2);
	json_decref(j1);
}

/* dynamic-leases.json: whatever loads must save, and load back the same. Entries that
 * expired before 1970 are left out of the comparison: the server drops stale leases
 * at load anyway, and their encoding is not meant to be exact. */
static void fuzz_leases(const char *p, size_t n)
{
	char *text = strndup(p, n), *enc, *enc2;
	struct dhcp_store_entry *e, *e2;
	size_t ne, ne2, bad, bad2, i, k = 0;

	if (text == NULL)
		abort();
	if (dhcp_store_decode(text, &e, &ne, &bad) < 0) {
		free(text);
		return;
	}
	for (i = 0; i < ne; i++) {
		if (e[i].expires >= 1000)
			e[k++] = e[i];
	}
	enc = dhcp_store_encode(e, k);
	if (enc == NULL)
		fail("loaded dynamic leases cannot be saved", text);
	if (dhcp_store_decode(enc, &e2, &ne2, &bad2) < 0 || ne2 != k || bad2 != 0)
		fail("saved dynamic leases do not load back", enc);
	enc2 = dhcp_store_encode(e2, ne2);
	if (enc2 == NULL || strcmp(enc, enc2) != 0)
		fail("dynamic leases change on a save/load round trip", enc);
	free(enc2);
	free(e2);
	free(enc);
	free(e);
	free(text);
}

/* The lease journal as the server replays it after a crash (a file: here a memfd).
 * Afterwards no MAC and no IP may appear twice, and the result must fold into
 * dynamic-leases.json. */
static void fuzz_journal(const char *p, size_t n)
{
	static const char base[] =
	    "[{\"Expires\": \"2030-01-01T00:00:00Z\", \"IpAddress\": \"10.78.0.100\","
	    " \"MacAddress\": \"52:54:00:78:00:01\"},"
	    " {\"ClientHostName\": \"laptop\", \"Expires\": \"2030-01-01T00:00:00Z\","
	    " \"IpAddress\": \"10.78.0.101\", \"MacAddress\": \"52:54:00:78:00:02\"}]";
	struct dhcp_store_entry *e;
	size_t ne, bad = 0, i, k;
	char path[64], *enc;
	int fd = memfd_create("journal", MFD_CLOEXEC);

	if (fd < 0 || (n > 0 && write(fd, p, n) != (ssize_t)n))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (dhcp_store_decode(base, &e, &ne, &bad) < 0 || ne != 2)
		abort();
	if (dhcp_journal_replay(path, &e, &ne, &bad) == 0) {
		for (i = 0; i < ne; i++) {
			for (k = 0; k < i; k++) {
				if (memcmp(e[i].mac, e[k].mac, 6) == 0 ||
				    e[i].ip.s_addr == e[k].ip.s_addr)
					fail("journal replay left a MAC or an IP twice", NULL);
			}
		}
		for (i = k = 0; i < ne; i++) {
			if (e[i].expires >= 1000)
				e[k++] = e[i];
		}
		enc = dhcp_store_encode(e, k);
		if (enc == NULL)
			fail("replayed leases cannot be saved", NULL);
		free(enc);
	}
	free(e);
	close(fd);
}

/* ---- encodings ---- */

static char *cstr(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void fuzz_time(const char *p, size_t n)
{
	char *s = cstr(p, n), buf[SJSON_TIME_LEN];
	struct timespec t, t2;

	if (sjson_parse_time(s, &t) == 0) {
		sjson_format_time(&t, buf, sizeof(buf));
		if (sjson_parse_time(buf, &t2) < 0 || t.tv_sec != t2.tv_sec ||
		    t.tv_nsec != t2.tv_nsec)
			fail("time does not survive format+parse", buf);
	}
	free(s);
}

static void fuzz_base64(const char *p, size_t n)
{
	char *s = cstr(p, n), *enc;
	uint8_t *out, *out2 = NULL;
	size_t len, len2;

	if (sjson_base64_decode(s, &out, &len) == 0) {
		enc = sjson_base64_encode(out, len);
		if (enc == NULL || sjson_base64_decode(enc, &out2, &len2) < 0 || len != len2 ||
		    (len > 0 && memcmp(out, out2, len) != 0))
			fail("base64 does not survive encode+decode", enc);
		free(out2);
		free(enc);
		free(out);
	}
	free(s);
}

static void fuzz_mac(const char *p, size_t n)
{
	char *s = cstr(p, n), buf[18];
	uint8_t mac[6], mac2[6];

	if (sjson_parse_mac(s, mac) == 0) {
		sjson_format_mac(mac, buf, sizeof(buf));
		if (sjson_parse_mac(buf, mac2) < 0 || memcmp(mac, mac2, 6) != 0)
			fail("MAC does not survive format+parse", buf);
	}
	free(s);
}

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static void fuzz_verstr(const char *p, size_t n)
{
	char *s = cstr(p, n);
	const char *a = s, *b = s + strlen(s) + (strlen(s) < n ? 1 : 0);

	if (sign(hvapi_verstr_cmp(a, b)) != -sign(hvapi_verstr_cmp(b, a)))
		fail("hvapi_verstr_cmp is not antisymmetric", s);
	if (hvapi_verstr_cmp(a, a) != 0)
		fail("hvapi_verstr_cmp(a, a) != 0", a);
	free(s);
}

static void fuzz_stream(const char *p, size_t n)
{
	size_t off = 0;

	while (off < n) {
		json_t *j;
		size_t used;
		char *err = NULL;
		int rc = sjson_decode_one(p + off, n - off, &j, &used, &err);

		free(err);
		if (rc < 0)
			break;
		json_decref(j);
		if (used == 0 || used > n - off)
			fail("sjson_decode_one consumed nothing or too much", NULL);
		off += used;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1;
	size_t n = size - 1;

	if (size == 0 || size > 1 << 20)
		return 0;
	switch (data[0]) {
	case 'i':
		fuzz_file(&hvapi_local_vm_info_type, p, n, "VMs/10.0.0.5/info.json");
		break;
	case 'p':
		fuzz_file(&hvapi_address_pool_type, p, n, "address-pool.json");
		break;
	case 'c':
		fuzz_file(&hvapi_create_vm_request_type, p, n, "VMs/10.0.0.5/create-request.json");
		break;
	case 's':
		fuzz_subnets(p, n);
		break;
	case 'l':
		fuzz_leases(p, n);
		break;
	case 'j':
		fuzz_journal(p, n);
		break;
	case 'm':
		fuzz_message(p, n);
		break;
	case 'F':
		fuzz_filter(p, n);
		break;
	case 'T':
		fuzz_time(p, n);
		break;
	case 'B':
		fuzz_base64(p, n);
		break;
	case 'M':
		fuzz_mac(p, n);
		break;
	case 'V':
		fuzz_verstr(p, n);
		break;
	case 'D':
		fuzz_stream(p, n);
		break;
	default:
		break;
	}
	return 0;
}
