/* tls_ident: who a verified certificate chain belongs to (username, groups, method
 * grants; spec/rpc.md §3.2, §10.4) and Go path.Match globbing of the grants. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "tls.h"

void tls_strv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static size_t strv_len(char **v)
{
	size_t n = 0;

	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

void tls_identity_clear(struct tls_identity *id)
{
	if (id == NULL)
		return;
	free(id->username);
	tls_strv_free(id->groups);
	tls_strv_free(id->methods);
	memset(id, 0, sizeof(*id));
}

static bool string_type_ok(int type)
{
	switch (type) {
	case V_ASN1_UTF8STRING:
	case V_ASN1_PRINTABLESTRING:
	case V_ASN1_NUMERICSTRING:
	case V_ASN1_IA5STRING:
	case V_ASN1_T61STRING:
	case V_ASN1_GENERALSTRING:
	case V_ASN1_BMPSTRING:
	case V_ASN1_UNIVERSALSTRING:
	case V_ASN1_VISIBLESTRING:
		return true;
	default:
		return false;
	}
}

/* Appends the strings of one extension value to *v (NULL-terminated, *n entries). */
static int append_ext_strings(X509_EXTENSION *ext, char ***v, size_t *n)
{
	const ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(ext);
	const unsigned char *p = ASN1_STRING_get0_data(os), *end;
	STACK_OF(ASN1_TYPE) * seq;
	int i, rc = 0;

	end = p + ASN1_STRING_length(os);
	seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, ASN1_STRING_length(os));
	if (seq == NULL || p != end) {
		rc = -EBADMSG;
		goto out_free;
	}
	for (i = 0; i < sk_ASN1_TYPE_num(seq); i++) {
		ASN1_TYPE *t = sk_ASN1_TYPE_value(seq, i);
		unsigned char *utf8 = NULL;
		char **nv;
		int len;

		if (!string_type_ok(t->type)) {
			rc = -EBADMSG;
			goto out_free;
		}
		len = ASN1_STRING_to_UTF8(&utf8, t->value.asn1_string);
		if (len < 0 || memchr(utf8, '\0', (size_t)len) != NULL) {
			OPENSSL_free(utf8);
			rc = -EBADMSG;
			goto out_free;
		}
		nv = realloc(*v, (*n + 2) * sizeof(char *));
		if (nv == NULL) {
			OPENSSL_free(utf8);
			rc = -ENOMEM;
			goto out_free;
		}
		*v = nv;
		nv[*n] = strndup((const char *)utf8, (size_t)len);
		OPENSSL_free(utf8);
		if (nv[*n] == NULL) {
			nv[*n] = NULL;
			rc = -ENOMEM;
			goto out_free;
		}
		nv[++*n] = NULL;
	}
out_free:
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	return rc;
}

int tls_cert_strings(X509 *cert, const char *oid, char ***out)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	char **v = NULL;
	size_t n = 0;
	int idx = -1, rc = 0;

	*out = NULL;
	if (obj == NULL)
		return -EINVAL;
	/* Every occurrence of the extension counts, as in Go's x509util. */
	while ((idx = X509_get_ext_by_OBJ(cert, obj, idx)) >= 0) {
		rc = append_ext_strings(X509_get_ext(cert, idx), &v, &n);
		if (rc < 0)
			break;
	}
	ASN1_OBJECT_free(obj);
	if (rc < 0) {
		tls_strv_free(v);
		return rc;
	}
	*out = v;
	return (int)n;
}

/* The subject's CommonName (the last one, as Go's pkix.Name keeps); "" if none.
 * Returns 0, -EBADMSG for a name with a NUL byte (as a C string it would read as a
 * shorter, different user name), -ENOMEM. */
static int common_name(X509 *cert, char **out)
{
	X509_NAME *name = X509_get_subject_name(cert);
	int idx = -1, last = -1;
	unsigned char *utf8 = NULL;
	int len = -1;

	*out = NULL;
	while ((idx = X509_NAME_get_index_by_NID(name, NID_commonName, idx)) >= 0)
		last = idx;
	if (last >= 0)
		len = ASN1_STRING_to_UTF8(
		    &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last)));
	if (last < 0 || len < 0) {
		*out = strdup("");
		return *out != NULL ? 0 : -ENOMEM;
	}
	if (memchr(utf8, '\0', (size_t)len) != NULL) {
		OPENSSL_free(utf8);
		return -EBADMSG;
	}
	*out = strndup((const char *)utf8, (size_t)len);
	OPENSSL_free(utf8);
	return *out != NULL ? 0 : -ENOMEM;
}

static int count_dots(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '.';
	return n;
}

/* Adds the strings of v not yet in id->methods. Takes ownership of v's strings. */
static int merge_methods(struct tls_identity *id, char **v)
{
	size_t i, j, n = strv_len(v);
	char **nm = realloc(id->methods, (id->n_methods + n + 1) * sizeof(char *));

	if (nm == NULL) {
		tls_strv_free(v);
		return -ENOMEM;
	}
	id->methods = nm;
	for (i = 0; i < n; i++) {
		for (j = 0; j < id->n_methods; j++) {
			if (strcmp(nm[j], v[i]) == 0)
				break;
		}
		if (j < id->n_methods) {
			free(v[i]);
			continue;
		}
		nm[id->n_methods++] = v[i];
	}
	nm[id->n_methods] = NULL;
	free(v);
	return 0;
}

int tls_identity_from_chain(STACK_OF(X509) * chain, bool trust_methods, struct tls_identity *id,
			    char *err, size_t errsz)
{
	int i, rc = 0;

	memset(id, 0, sizeof(*id));
	id->methods_trusted = trust_methods;
	for (i = 0; i < sk_X509_num(chain); i++) {
		X509 *cert = sk_X509_value(chain, i);
		char **v;
		int n;
		size_t k;

		if (id->username == NULL || id->username[0] == '\0') {
			free(id->username);
			rc = common_name(cert, &id->username);
			if (rc == -ENOMEM)
				goto out_nomem;
			if (rc < 0) {
				snprintf(err, errsz, "certificate common name contains a NUL byte");
				rc = -EACCES;
				goto out_fail;
			}
		}
		if (id->n_groups == 0) {
			n = tls_cert_strings(cert, TLS_OID_GROUPS, &v);
			if (n < 0) {
				snprintf(err, errsz, "certificate group list does not decode");
				rc = n == -ENOMEM ? n : -EACCES;
				goto out_fail;
			}
			tls_strv_free(id->groups);
			id->groups = v;
			id->n_groups = (size_t)n;
		}
		if (!trust_methods)
			continue;
		n = tls_cert_strings(cert, TLS_OID_METHODS, &v);
		if (n < 0) {
			snprintf(err, errsz, "certificate method list does not decode");
			rc = n == -ENOMEM ? n : -EACCES;
			goto out_fail;
		}
		for (k = 0; k < (size_t)n; k++) {
			if (count_dots(v[k]) != 1) {
				snprintf(err, errsz, "bad service method: \"%s\"", v[k]);
				tls_strv_free(v);
				rc = -EACCES;
				goto out_fail;
			}
		}
		if (v != NULL && merge_methods(id, v) < 0)
			goto out_nomem;
	}
	if (id->username == NULL && (id->username = strdup("")) == NULL)
		goto out_nomem;
	return 0;
out_nomem:
	snprintf(err, errsz, "out of memory");
	rc = -ENOMEM;
out_fail:
	tls_identity_clear(id);
	return rc;
}

bool tls_identity_grants(const struct tls_identity *id, const char *service_method)
{
	size_t i;

	for (i = 0; i < id->n_methods; i++) {
		if (tls_glob_match(id->methods[i], service_method))
			return true;
	}
	return false;
}

/* ---- Go path.Match, ported for exact semantics ---- */

struct span {
	const char *p;
	size_t n;
};

#define RUNE_ERROR 0xFFFDu

/* utf8.DecodeRuneInString: (RuneError, 1) for invalid input, (RuneError, 0) for empty. */
static size_t decode_rune(struct span s, uint32_t *r)
{
	const unsigned char *p = (const unsigned char *)s.p;
	size_t need, i;
	uint32_t v, min;

	*r = RUNE_ERROR;
	if (s.n == 0)
		return 0;
	if (p[0] < 0x80) {
		*r = p[0];
		return 1;
	}
	if ((p[0] & 0xE0) == 0xC0)
		need = 2, v = p[0] & 0x1F, min = 0x80;
	else if ((p[0] & 0xF0) == 0xE0)
		need = 3, v = p[0] & 0x0F, min = 0x800;
	else if ((p[0] & 0xF8) == 0xF0)
		need = 4, v = p[0] & 0x07, min = 0x10000;
	else
		return 1;
	if (s.n < need)
		return 1;
	for (i = 1; i < need; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 1;
		v = v << 6 | (p[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 1;
	*r = v;
	return need;
}

static void span_skip(struct span *s, size_t k)
{
	s->p += k;
	s->n -= k;
}

/* getEsc: one possibly escaped character of a class; -1 for a bad pattern. */
static int get_esc(struct span *chunk, uint32_t *r)
{
	size_t k;
	bool bad;

	if (chunk->n == 0 || chunk->p[0] == '-' || chunk->p[0] == ']')
		return -1;
	if (chunk->p[0] == '\\') {
		span_skip(chunk, 1);
		if (chunk->n == 0)
			return -1;
	}
	k = decode_rune(*chunk, r);
	bad = *r == RUNE_ERROR && k == 1;
	span_skip(chunk, k);
	return bad || chunk->n == 0 ? -1 : 0;
}

/* matchChunk: 1 and *rest on a match, 0 on no match, -1 on a bad pattern. */
static int match_chunk(struct span chunk, struct span s, struct span *rest)
{
	bool failed = false;

	while (chunk.n > 0) {
		if (!failed && s.n == 0)
			failed = true;
		switch (chunk.p[0]) {
		case '[': {
			uint32_t r = 0, lo, hi;
			bool negated = false, match = false;
			int nrange = 0;

			if (!failed)
				span_skip(&s, decode_rune(s, &r));
			span_skip(&chunk, 1);
			if (chunk.n > 0 && chunk.p[0] == '^') {
				negated = true;
				span_skip(&chunk, 1);
			}
			for (;;) {
				if (chunk.n > 0 && chunk.p[0] == ']' && nrange > 0) {
					span_skip(&chunk, 1);
					break;
				}
				if (get_esc(&chunk, &lo) < 0)
					return -1;
				hi = lo;
				if (chunk.p[0] == '-') {
					span_skip(&chunk, 1);
					if (get_esc(&chunk, &hi) < 0)
						return -1;
				}
				if (lo <= r && r <= hi)
					match = true;
				nrange++;
			}
			if (match == negated)
				failed = true;
			break;
		}
		case '?':
			if (!failed) {
				uint32_t r;

				if (s.p[0] == '/')
					failed = true;
				span_skip(&s, decode_rune(s, &r));
			}
			span_skip(&chunk, 1);
			break;
		case '\\':
			span_skip(&chunk, 1);
			if (chunk.n == 0)
				return -1;
			/* fall through */
		default:
			if (!failed) {
				if (chunk.p[0] != s.p[0])
					failed = true;
				span_skip(&s, 1);
			}
			span_skip(&chunk, 1);
			break;
		}
	}
	if (failed)
		return 0;
	*rest = s;
	return 1;
}

/* scanChunk: leading stars, then the chunk up to the next unbracketed star. */
static bool scan_chunk(struct span *pattern, struct span *chunk)
{
	bool star = false, inrange = false;
	size_t i;

	while (pattern->n > 0 && pattern->p[0] == '*') {
		span_skip(pattern, 1);
		star = true;
	}
	for (i = 0; i < pattern->n; i++) {
		char c = pattern->p[i];

		if (c == '\\') {
			if (i + 1 < pattern->n)
				i++;
		} else if (c == '[') {
			inrange = true;
		} else if (c == ']') {
			inrange = false;
		} else if (c == '*' && !inrange) {
			break;
		}
	}
	chunk->p = pattern->p;
	chunk->n = i;
	span_skip(pattern, i);
	return star;
}

bool tls_glob_match(const char *pattern_str, const char *name_str)
{
	struct span pattern = {pattern_str, strlen(pattern_str)};
	struct span name = {name_str, strlen(name_str)};

next_chunk:
	while (pattern.n > 0) {
		struct span chunk, t;
		bool star = scan_chunk(&pattern, &chunk);
		int m;
		size_t i;

		if (star && chunk.n == 0)
			return memchr(name.p, '/', name.n) == NULL;
		m = match_chunk(chunk, name, &t);
		if (m == 1 && (t.n == 0 || pattern.n > 0)) {
			name = t;
			continue;
		}
		if (m < 0)
			return false;
		if (star) {
			for (i = 0; i < name.n && name.p[i] != '/'; i++) {
				struct span rest = {name.p + i + 1, name.n - i - 1};

				m = match_chunk(chunk, rest, &t);
				if (m == 1) {
					if (pattern.n == 0 && t.n > 0)
						continue;
					name = t;
					goto next_chunk;
				}
				if (m < 0)
					return false;
			}
		}
		return false;
	}
	return name.n == 0;
}
