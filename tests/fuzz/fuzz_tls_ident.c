/* fuzz_tls_ident: who a certificate chain belongs to (lib/tls_ident.c): username,
 * groups and method grants from the Cloud-Foundations extensions, and the Go
 * path.Match globbing of grants.
 *
 * The input selects the target by its first byte:
 *   0x30 ...      DER certificates, concatenated (leaf first): the chain a verified
 *                 handshake hands to tls_identity_from_chain (seeds: openssl certs)
 *   'E' f value   one extension value (DER SEQUENCE OF string) put into a fresh
 *                 certificate as the grant (f bit 0) and/or group (f bit 1) extension;
 *                 f bit 2 says whether the chain is trusted for grants
 *   'G' pat\0name tls_glob_match
 * Checks beyond the sanitizers: an accepted identity has a username (all of the
 * leaf's CommonName when it has one), grants only when trusted and each with exactly
 * one dot; a pattern without metacharacters matches exactly itself. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/x509v3.h>

#include "tls.h"

#define MAX_CHAIN 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const probes[] = {"Test.Echo", "Hypervisor.ListVMs", "a.b", ".", ""};

static int count_dots(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '.';
	return n;
}

static void check_strv(char **v, int n)
{
	int i;

	if (n < 0)
		return;
	for (i = 0; i < n; i++) {
		if (v[i] == NULL)
			abort();
	}
	if (v != NULL && v[n] != NULL)
		abort();
	if (n == 0 && v != NULL)
		abort();
}

/* UTF-8 length of the leaf's last CommonName, or -1. */
static int leaf_cn_len(STACK_OF(X509) * chain)
{
	X509_NAME *name = X509_get_subject_name(sk_X509_value(chain, 0));
	int idx = -1, last = -1, len;
	unsigned char *utf8 = NULL;

	while ((idx = X509_NAME_get_index_by_NID(name, NID_commonName, idx)) >= 0)
		last = idx;
	if (last < 0)
		return -1;
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last)));
	OPENSSL_free(utf8);
	return len;
}

static void identify(STACK_OF(X509) * chain, bool trust)
{
	int cn_len = leaf_cn_len(chain);
	struct tls_identity id;
	char err[128];
	size_t i, k;
	int rc;

	err[0] = '\0';
	rc = tls_identity_from_chain(chain, trust, &id, err, sizeof(err));
	if (rc < 0) {
		if (err[0] == '\0' || id.username != NULL || id.methods != NULL)
			abort();
		return;
	}
	if (id.username == NULL || (!trust && id.n_methods != 0))
		abort();
	if (cn_len > 0 && strlen(id.username) != (size_t)cn_len) {
		fprintf(stderr, "user name \"%s\" is not the whole CommonName (%d bytes)\n",
			id.username, cn_len);
		abort();
	}
	for (i = 0; i < id.n_methods; i++) {
		if (count_dots(id.methods[i]) != 1)
			abort();
		for (k = 0; k < i; k++) {
			if (strcmp(id.methods[k], id.methods[i]) == 0)
				abort(); /* merged without duplicates */
		}
	}
	for (i = 0; i < id.n_groups; i++) {
		if (id.groups[i] == NULL)
			abort();
	}
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		(void)tls_identity_grants(&id, probes[i]);
	tls_identity_clear(&id);
}

static void strings_of(X509 *cert)
{
	char **v;
	int n;

	n = tls_cert_strings(cert, TLS_OID_METHODS, &v);
	check_strv(v, n);
	tls_strv_free(v);
	n = tls_cert_strings(cert, TLS_OID_GROUPS, &v);
	check_strv(v, n);
	tls_strv_free(v);
}

static void fuzz_chain(const uint8_t *data, size_t size)
{
	STACK_OF(X509) *chain = sk_X509_new_null();
	const unsigned char *p = data, *end = data + size;
	X509 *x;

	if (chain == NULL)
		abort();
	while (p < end && sk_X509_num(chain) < MAX_CHAIN) {
		x = d2i_X509(NULL, &p, (long)(end - p));
		if (x == NULL)
			break;
		if (!sk_X509_push(chain, x))
			abort();
		strings_of(x);
	}
	if (sk_X509_num(chain) > 0) {
		identify(chain, true);
		identify(chain, false);
	}
	sk_X509_pop_free(chain, X509_free);
}

static int add_ext(X509 *x, const char *oid, const uint8_t *value, size_t len)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	int ok = 0;

	if (obj != NULL && os != NULL && ASN1_OCTET_STRING_set(os, value, (int)len))
		ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
	if (ext != NULL)
		ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	return ok;
}

static void fuzz_extension(const uint8_t *data, size_t size)
{
	STACK_OF(X509) * chain;
	X509 *x;
	uint8_t flags;

	if (size < 1 || size > 1 << 16)
		return;
	flags = data[0];
	x = X509_new();
	chain = sk_X509_new_null();
	if (x == NULL || chain == NULL || !sk_X509_push(chain, x))
		abort();
	if (!X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
					(const unsigned char *)"fuzz", -1, -1, 0))
		abort();
	if ((flags & 1) && !add_ext(x, TLS_OID_METHODS, data + 1, size - 1))
		abort();
	if ((flags & 2) && !add_ext(x, TLS_OID_GROUPS, data + 1, size - 1))
		abort();
	strings_of(x);
	identify(chain, (flags & 4) != 0);
	sk_X509_pop_free(chain, X509_free);
}

static void fuzz_glob(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 2);
	const char *pattern, *name;
	bool m;

	if (buf == NULL)
		abort();
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = '\0';
	pattern = buf;
	name = buf + strlen(buf) + 1;
	m = tls_glob_match(pattern, name);
	if (strpbrk(pattern, "*?[\\") == NULL && m != (strcmp(pattern, name) == 0)) {
		fprintf(stderr, "literal pattern \"%s\" vs \"%s\": %d\n", pattern, name, m);
		abort();
	}
	if (tls_glob_match(pattern, pattern) == false && strpbrk(pattern, "*?[\\") == NULL)
		abort();
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0]) {
	case 0x30:
		fuzz_chain(data, size);
		break;
	case 'E':
		fuzz_extension(data + 1, size - 1);
		break;
	case 'G':
		fuzz_glob(data + 1, size - 1);
		break;
	default:
		break;
	}
	return 0;
}
