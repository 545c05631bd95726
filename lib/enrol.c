/* enrol: keys, certificate requests, the token's Mac, signing and checking for the
 * enrolment of a newborn machine (docs/enrolment.md). */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "enrol.h"
#include "errbuf.h"
#include "fsutil.h"

#define PEM_MAX (1u << 20)

/* ---- keys, requests, PEM ---- */

int enrol_key_new(EVP_PKEY **out)
{
	*out = EVP_EC_gen("P-256");
	if (*out == NULL) {
		ERR_clear_error();
		return -EIO;
	}
	return 0;
}

static bool hostname_ok(const char *h)
{
	size_t n = h != NULL ? strlen(h) : 0;
	size_t i;

	if (n == 0 || n > 253 || h[0] == '.' || h[0] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.')
			return false;
	return true;
}

static GENERAL_NAME *gn_dns(const char *name)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	if (gn == NULL || s == NULL || !ASN1_STRING_set(s, name, (int)strlen(name))) {
		GENERAL_NAME_free(gn);
		ASN1_IA5STRING_free(s);
		return NULL;
	}
	GENERAL_NAME_set0_value(gn, GEN_DNS, s);
	return gn;
}

static GENERAL_NAME *gn_ip(ASN1_OCTET_STRING *ip)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();

	if (gn == NULL)
		return NULL;
	GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
	return gn;
}

/* SAN entries DNS:hostname + IP:ips[i]. -EINVAL names a bad address. */
static int names_new(const char *hostname, const char *const *ips, size_t n_ips,
		     GENERAL_NAMES **out, char *err, size_t errsz)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	GENERAL_NAME *gn;
	size_t i;

	if (gens == NULL)
		return -ENOMEM;
	gn = gn_dns(hostname);
	if (gn == NULL || !sk_GENERAL_NAME_push(gens, gn))
		goto out_nomem;
	for (i = 0; i < n_ips; i++) {
		ASN1_OCTET_STRING *ip = a2i_IPADDRESS(ips[i]);

		if (ip == NULL) {
			ERR_clear_error();
			errbuf_set(err, errsz, "bad IP address \"%s\"", ips[i]);
			GENERAL_NAMES_free(gens);
			return -EINVAL;
		}
		gn = gn_ip(ip);
		if (gn == NULL) {
			ASN1_OCTET_STRING_free(ip);
			goto out_nomem;
		}
		if (!sk_GENERAL_NAME_push(gens, gn))
			goto out_nomem;
	}
	*out = gens;
	return 0;
out_nomem:
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(gens);
	errbuf_set(err, errsz, "out of memory");
	return -ENOMEM;
}

static X509_NAME *name_cn(const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	if (n == NULL)
		return NULL;
	if (!X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8, (const unsigned char *)cn,
					-1, -1, 0)) {
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

int enrol_csr_new(EVP_PKEY *key, const char *hostname, const char *const *ips, size_t n_ips,
		  X509_REQ **out, char *err, size_t errsz)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *ext = NULL;
	GENERAL_NAMES *gens = NULL;
	X509_NAME *subj = NULL;
	X509_REQ *req = NULL;
	int rc;

	if (!hostname_ok(hostname)) {
		errbuf_set(err, errsz, "bad host name \"%s\"", hostname != NULL ? hostname : "");
		return -EINVAL;
	}
	rc = names_new(hostname, ips, n_ips, &gens, err, errsz);
	if (rc < 0)
		return rc;
	rc = -ENOMEM;
	req = X509_REQ_new();
	subj = name_cn(hostname);
	exts = sk_X509_EXTENSION_new_null();
	if (req == NULL || subj == NULL || exts == NULL)
		goto out;
	ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
	if (ext == NULL || !sk_X509_EXTENSION_push(exts, ext))
		goto out;
	ext = NULL;
	if (!X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_subject_name(req, subj) || !X509_REQ_set_pubkey(req, key) ||
	    !X509_REQ_add_extensions(req, exts))
		goto out;
	if (X509_REQ_sign(req, key, EVP_sha256()) <= 0) {
		rc = -EIO;
		goto out;
	}
	*out = req;
	req = NULL;
	rc = 0;
out:
	if (rc < 0)
		errbuf_set(err, errsz, "make the certificate request: %s",
			   rc == -ENOMEM ? "out of memory" : "signing failed");
	ERR_clear_error();
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(subj);
	GENERAL_NAMES_free(gens);
	X509_REQ_free(req);
	return rc;
}

static int random_serial(X509 *x)
{
	unsigned char b[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -EIO;
	b[0] = (unsigned char)((b[0] & 0x7f) | 0x40); /* positive, 127 bits, never short */
	bn = BN_bin2bn(b, sizeof(b), NULL);
	if (bn == NULL)
		return -ENOMEM;
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -ENOMEM;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return -EIO;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -ENOMEM;
}

static const EVP_MD *sign_md(EVP_PKEY *key)
{
	if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448"))
		return NULL;
	return EVP_sha256();
}

/* The body every certificate made here shares: version 3, random serial, validity from
 * an hour ago (clocks of newborn machines drift) for days, subject CN=cn, key. */
static int cert_base(X509 *x, const char *cn, EVP_PKEY *key, unsigned days)
{
	X509_NAME *subj = name_cn(cn);
	int rc = -ENOMEM;

	if (subj == NULL)
		return -ENOMEM;
	if (!X509_set_version(x, X509_VERSION_3) || random_serial(x) < 0 ||
	    !X509_set_subject_name(x, subj) || !X509_set_pubkey(x, key) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) == NULL)
		goto out;
	rc = 0;
out:
	X509_NAME_free(subj);
	return rc;
}

int enrol_self_signed(EVP_PKEY *key, const char *hostname, unsigned days, X509 **out)
{
	GENERAL_NAMES *gens = NULL;
	X509 *x;
	int rc;

	if (!hostname_ok(hostname) || days == 0)
		return -EINVAL;
	x = X509_new();
	if (x == NULL)
		return -ENOMEM;
	rc = cert_base(x, hostname, key, days);
	if (rc < 0)
		goto out;
	rc = -ENOMEM;
	if (!X509_set_issuer_name(x, X509_get_subject_name(x)))
		goto out;
	rc = names_new(hostname, NULL, 0, &gens, NULL, 0);
	if (rc < 0)
		goto out;
	rc = -EIO;
	if (!X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) ||
	    add_ext(x, x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(x, x, NID_key_usage, "critical,digitalSignature") < 0 ||
	    add_ext(x, x, NID_ext_key_usage, "serverAuth") < 0 ||
	    X509_sign(x, key, sign_md(key)) <= 0)
		goto out;
	*out = x;
	x = NULL;
	rc = 0;
out:
	ERR_clear_error();
	GENERAL_NAMES_free(gens);
	X509_free(x);
	return rc;
}

/* Takes the contents of a memory BIO as a new string. */
static int bio_string(BIO *b, char **pem)
{
	char *data;
	long n = BIO_get_mem_data(b, &data);
	char *s;

	if (n <= 0)
		return -EIO;
	s = malloc((size_t)n + 1);
	if (s == NULL)
		return -ENOMEM;
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	*pem = s;
	return 0;
}

int enrol_csr_pem(X509_REQ *csr, char **pem)
{
	BIO *b = BIO_new(BIO_s_mem());
	int rc = -ENOMEM;

	if (b != NULL)
		rc = PEM_write_bio_X509_REQ(b, csr) ? bio_string(b, pem) : -EIO;
	BIO_free(b);
	ERR_clear_error();
	return rc;
}

int enrol_cert_pem(X509 *cert, char **pem)
{
	BIO *b = BIO_new(BIO_s_mem());
	int rc = -ENOMEM;

	if (b != NULL)
		rc = PEM_write_bio_X509(b, cert) ? bio_string(b, pem) : -EIO;
	BIO_free(b);
	ERR_clear_error();
	return rc;
}

int enrol_key_pem(EVP_PKEY *key, char **pem)
{
	BIO *b = BIO_new(BIO_s_secmem());
	int rc = -ENOMEM;

	if (b != NULL)
		rc = PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)
			 ? bio_string(b, pem)
			 : -EIO;
	BIO_free(b);
	ERR_clear_error();
	return rc;
}

void enrol_pem_free(char *pem)
{
	if (pem == NULL)
		return;
	OPENSSL_cleanse(pem, strlen(pem));
	free(pem);
}

static BIO *pem_bio(const char *pem)
{
	return BIO_new_mem_buf(pem, -1);
}

int enrol_csr_from_pem(const char *pem, X509_REQ **out)
{
	BIO *b = pem_bio(pem);

	if (b == NULL)
		return -ENOMEM;
	*out = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	BIO_free(b);
	ERR_clear_error();
	return *out != NULL ? 0 : -EBADMSG;
}

int enrol_certs_from_pem(const char *pem, STACK_OF(X509) * *out)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	BIO *b = pem_bio(pem);
	X509 *x;
	int rc = -ENOMEM;

	if (sk == NULL || b == NULL)
		goto out;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			goto out;
		}
	}
	rc = sk_X509_num(sk) > 0 ? 0 : -EBADMSG;
	if (rc == 0) {
		*out = sk;
		sk = NULL;
	}
out:
	ERR_clear_error();
	BIO_free(b);
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

int enrol_key_from_pem(const char *pem, EVP_PKEY **out)
{
	BIO *b = pem_bio(pem);

	if (b == NULL)
		return -ENOMEM;
	*out = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	ERR_clear_error();
	return *out != NULL ? 0 : -EBADMSG;
}

int enrol_load_cert(const char *path, X509 **out, char *err, size_t errsz)
{
	STACK_OF(X509) * sk;
	char *buf;
	int rc = fsutil_read_file(path, PEM_MAX, &buf, NULL);

	if (rc < 0) {
		errbuf_set(err, errsz, "read %s: %s", path, strerror(-rc));
		return rc;
	}
	rc = enrol_certs_from_pem(buf, &sk);
	free(buf);
	if (rc < 0) {
		errbuf_set(err, errsz, "%s: no PEM certificate", path);
		return rc;
	}
	*out = sk_X509_shift(sk);
	sk_X509_pop_free(sk, X509_free);
	return 0;
}

int enrol_load_key(const char *path, EVP_PKEY **out, char *err, size_t errsz)
{
	size_t len;
	char *buf;
	int rc = fsutil_read_file(path, PEM_MAX, &buf, &len);

	if (rc < 0) {
		errbuf_set(err, errsz, "read %s: %s", path, strerror(-rc));
		return rc;
	}
	rc = enrol_key_from_pem(buf, out);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (rc < 0)
		errbuf_set(err, errsz, "%s: no PEM private key", path);
	return rc;
}

int enrol_write_key(const char *path, EVP_PKEY *key)
{
	char *pem;
	int rc = enrol_key_pem(key, &pem);

	if (rc < 0)
		return rc;
	rc = fsutil_write_atomic(path, pem, strlen(pem), 0600);
	enrol_pem_free(pem);
	return rc;
}

int enrol_write_pem(const char *path, const char *pem)
{
	return fsutil_write_atomic(path, pem, strlen(pem), 0644);
}

/* ---- the token's Mac ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes exactly 2*n hex digits at s into out. */
static bool hex_decode(const char *s, unsigned char *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int hi = hexval((unsigned char)s[2 * i]);
		int lo = hi < 0 ? -1 : hexval((unsigned char)s[2 * i + 1]);

		if (lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

int enrol_token_parse(const char *hex, unsigned char key[ENROL_TOKEN_BYTES])
{
	size_t n;

	if (hex == NULL)
		return -EINVAL;
	while (isspace((unsigned char)*hex))
		hex++;
	n = strlen(hex);
	while (n > 0 && isspace((unsigned char)hex[n - 1]))
		n--;
	if (n != ENROL_TOKEN_HEX || !hex_decode(hex, key, ENROL_TOKEN_BYTES)) {
		OPENSSL_cleanse(key, ENROL_TOKEN_BYTES);
		return -EINVAL;
	}
	return 0;
}

static void hex_encode(const unsigned char *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

int enrol_token_new(char out[ENROL_TOKEN_HEX + 1])
{
	unsigned char b[ENROL_TOKEN_BYTES];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -EIO;
	hex_encode(b, sizeof(b), out);
	OPENSSL_cleanse(b, sizeof(b));
	return 0;
}

static int mac_raw(const char *token, const unsigned char *der, size_t len, unsigned char md[32])
{
	unsigned char key[ENROL_TOKEN_BYTES];
	unsigned int mdlen = 0;
	int rc;

	rc = enrol_token_parse(token, key);
	if (rc < 0)
		return rc;
	if (HMAC(EVP_sha256(), key, sizeof(key), der, len, md, &mdlen) == NULL || mdlen != 32)
		rc = -EIO;
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

int enrol_mac(const char *token, const unsigned char *der, size_t len, char out[ENROL_MAC_HEX + 1])
{
	unsigned char md[32];
	int rc = mac_raw(token, der, len, md);

	if (rc < 0)
		return rc;
	hex_encode(md, sizeof(md), out);
	return 0;
}

int enrol_mac_check(const char *token, const unsigned char *der, size_t len, const char *mac)
{
	unsigned char md[32], got[32];
	int rc = mac_raw(token, der, len, md);

	if (rc < 0)
		return rc;
	if (mac == NULL || strlen(mac) != ENROL_MAC_HEX || !hex_decode(mac, got, sizeof(got)))
		return -EACCES;
	return CRYPTO_memcmp(md, got, sizeof(md)) == 0 ? 0 : -EACCES;
}

/* DER of a request or certificate: a new buffer in *der. */
static int csr_der(X509_REQ *csr, unsigned char **der, size_t *len)
{
	int n;

	*der = NULL;
	n = i2d_X509_REQ(csr, der);
	if (n <= 0)
		return -EIO;
	*len = (size_t)n;
	return 0;
}

static int cert_der(X509 *cert, unsigned char **der, size_t *len)
{
	int n;

	*der = NULL;
	n = i2d_X509(cert, der);
	if (n <= 0)
		return -EIO;
	*len = (size_t)n;
	return 0;
}

/* The Mac of a request's or a certificate's DER (mac == NULL), or its check. */
static int mac_der(const char *token, X509_REQ *csr, X509 *cert, char out[ENROL_MAC_HEX + 1],
		   const char *mac)
{
	unsigned char *der;
	size_t len;
	int rc = csr ? csr_der(csr, &der, &len) : cert_der(cert, &der, &len);

	if (rc < 0)
		return rc;
	rc = mac ? enrol_mac_check(token, der, len, mac) : enrol_mac(token, der, len, out);
	OPENSSL_free(der);
	return rc;
}

int enrol_mac_csr(const char *token, X509_REQ *csr, char out[ENROL_MAC_HEX + 1])
{
	return mac_der(token, csr, NULL, out, NULL);
}

int enrol_mac_cert(const char *token, X509 *cert, char out[ENROL_MAC_HEX + 1])
{
	return mac_der(token, NULL, cert, out, NULL);
}

int enrol_mac_check_csr(const char *token, X509_REQ *csr, const char *mac)
{
	return mac_der(token, csr, NULL, NULL, mac);
}

int enrol_mac_check_cert(const char *token, X509 *cert, const char *mac)
{
	return mac_der(token, NULL, cert, NULL, mac);
}

/* ---- the signer ---- */

/* The request's only acceptable CommonName is hostname. */
static int csr_check_subject(X509_REQ *csr, const char *hostname, char *err, size_t errsz)
{
	X509_NAME *subj = X509_REQ_get_subject_name(csr);
	int i = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	unsigned char *cn = NULL;
	int n, rc = -EACCES;

	if (i < 0 || X509_NAME_get_index_by_NID(subj, NID_commonName, i) >= 0) {
		errbuf_set(err, errsz, "certificate request: not exactly one CommonName");
		return -EACCES;
	}
	n = ASN1_STRING_to_UTF8(&cn, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i)));
	if (n < 0) {
		ERR_clear_error();
		errbuf_set(err, errsz, "certificate request: CommonName does not decode");
		return -EACCES;
	}
	if ((size_t)n == strlen(hostname) && memcmp(cn, hostname, (size_t)n) == 0)
		rc = 0;
	else
		errbuf_set(err, errsz, "certificate request for \"%.*s\", expected \"%s\"",
			   n > 253 ? 253 : n, cn, hostname);
	OPENSSL_free(cn);
	return rc;
}

static bool ip_allowed(const ASN1_OCTET_STRING *ip, const struct enrol_sign_params *p)
{
	size_t i;

	for (i = 0; i < p->n_ips; i++) {
		ASN1_OCTET_STRING *want = a2i_IPADDRESS(p->ips[i]);
		bool eq = want != NULL && ASN1_OCTET_STRING_cmp(want, ip) == 0;

		ASN1_OCTET_STRING_free(want);
		if (eq)
			return true;
	}
	ERR_clear_error();
	return false;
}

/* Every SAN the request asks for must be the signer's: DNS:hostname or IP:p->ips[i].
 * Returns the names to put in the certificate (DNS:hostname first, then the request's
 * addresses) in *out. */
static int csr_check_names(X509_REQ *csr, const struct enrol_sign_params *p, GENERAL_NAMES **out,
			   char *err, size_t errsz)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr);
	GENERAL_NAMES *asked = NULL, *gens = NULL;
	int crit = -1, i, rc = -EACCES;

	if (exts != NULL)
		asked = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
	if (asked == NULL && crit != -1) {
		errbuf_set(err, errsz, "certificate request: subjectAltName %s",
			   crit == -2 ? "given twice" : "does not decode");
		goto out;
	}
	rc = names_new(p->hostname, NULL, 0, &gens, err, errsz);
	if (rc < 0)
		goto out;
	rc = -EACCES;
	for (i = 0; i < sk_GENERAL_NAME_num(asked); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(asked, i), *copy;
		int type;
		void *v = GENERAL_NAME_get0_value(gn, &type);

		if (type == GEN_DNS) {
			const ASN1_IA5STRING *s = v;
			size_t n = (size_t)ASN1_STRING_length(s);

			if (n == strlen(p->hostname) &&
			    strncasecmp((const char *)ASN1_STRING_get0_data(s), p->hostname, n) ==
				0)
				continue; /* already first */
			errbuf_set(err, errsz,
				   "certificate request asks for DNS name \"%.*s\", not allowed",
				   (int)(n > 253 ? 253 : n), ASN1_STRING_get0_data(s));
			goto out;
		}
		if (type != GEN_IPADD) {
			errbuf_set(err, errsz,
				   "certificate request asks for a name of type %d, not allowed",
				   type);
			goto out;
		}
		if (!ip_allowed(v, p)) {
			errbuf_set(err, errsz,
				   "certificate request asks for an IP address not allowed");
			goto out;
		}
		copy = GENERAL_NAME_dup(gn);
		if (copy == NULL || !sk_GENERAL_NAME_push(gens, copy)) {
			GENERAL_NAME_free(copy);
			rc = -ENOMEM;
			goto out;
		}
	}
	*out = gens;
	gens = NULL;
	rc = 0;
out:
	ERR_clear_error();
	GENERAL_NAMES_free(gens);
	GENERAL_NAMES_free(asked);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

/* The key a certificate is made for: EC of at least 256 bits, RSA of at least 2048,
 * or Ed25519. */
static int key_acceptable(EVP_PKEY *key, char *err, size_t errsz)
{
	int bits = EVP_PKEY_get_bits(key);

	if ((EVP_PKEY_is_a(key, "EC") && bits >= 256) ||
	    (EVP_PKEY_is_a(key, "RSA") && bits >= 2048) || EVP_PKEY_is_a(key, "ED25519"))
		return 0;
	errbuf_set(err, errsz, "certificate request for a %s key of %d bits, not accepted",
		   EVP_PKEY_get0_type_name(key) != NULL ? EVP_PKEY_get0_type_name(key) : "unknown",
		   bits);
	return -EACCES;
}

static int csr_check(X509_REQ *csr, const struct enrol_sign_params *p, GENERAL_NAMES **names,
		     char *err, size_t errsz)
{
	EVP_PKEY *key = X509_REQ_get0_pubkey(csr);
	int rc;

	if (key == NULL || X509_REQ_verify(csr, key) != 1) {
		ERR_clear_error();
		errbuf_set(err, errsz, "certificate request: bad signature");
		return -EACCES;
	}
	rc = key_acceptable(key, err, errsz);
	if (rc == 0)
		rc = csr_check_subject(csr, p->hostname, err, errsz);
	if (rc == 0)
		rc = csr_check_names(csr, p, names, err, errsz);
	return rc;
}

int enrol_sign_csr(X509_REQ *csr, X509 *ca_cert, EVP_PKEY *ca_key,
		   const struct enrol_sign_params *p, X509 **out, char *err, size_t errsz)
{
	GENERAL_NAMES *names = NULL;
	EVP_PKEY *key;
	X509 *x = NULL;
	int rc;

	if (!hostname_ok(p->hostname) || p->days == 0 || p->days > 36500) {
		errbuf_set(err, errsz, "signing: bad host name or validity");
		return -EINVAL;
	}
	for (size_t i = 0; i < p->n_ips; i++) {
		ASN1_OCTET_STRING *ip = a2i_IPADDRESS(p->ips[i]);

		ERR_clear_error();
		if (ip == NULL) {
			errbuf_set(err, errsz, "signing: bad IP address \"%s\"", p->ips[i]);
			return -EINVAL;
		}
		ASN1_OCTET_STRING_free(ip);
	}
	if (X509_check_private_key(ca_cert, ca_key) != 1) {
		ERR_clear_error();
		errbuf_set(err, errsz, "signing: the CA key is not the CA certificate's");
		return -EINVAL;
	}
	rc = csr_check(csr, p, &names, err, errsz);
	if (rc < 0)
		return rc;
	key = X509_REQ_get0_pubkey(csr);
	rc = -ENOMEM;
	x = X509_new();
	if (x == NULL)
		goto out;
	rc = cert_base(x, p->hostname, key, p->days);
	if (rc < 0)
		goto out;
	rc = -EIO;
	if (!X509_set_issuer_name(x, X509_get_subject_name(ca_cert)) ||
	    !X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) ||
	    add_ext(x, ca_cert, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(x, ca_cert, NID_key_usage,
		    EVP_PKEY_is_a(key, "RSA") ? "critical,digitalSignature,keyEncipherment"
					      : "critical,digitalSignature") < 0 ||
	    add_ext(x, ca_cert, NID_ext_key_usage, "serverAuth,clientAuth") < 0 ||
	    add_ext(x, ca_cert, NID_subject_key_identifier, "hash") < 0 ||
	    add_ext(x, ca_cert, NID_authority_key_identifier, "keyid") < 0 ||
	    X509_sign(x, ca_key, sign_md(ca_key)) <= 0)
		goto out;
	*out = x;
	x = NULL;
	rc = 0;
out:
	if (rc < 0)
		errbuf_set(err, errsz, "signing the certificate failed");
	ERR_clear_error();
	GENERAL_NAMES_free(names);
	X509_free(x);
	return rc;
}

/* ---- checks ---- */

bool enrol_csr_key_matches(X509_REQ *csr, EVP_PKEY *key)
{
	EVP_PKEY *k = X509_REQ_get0_pubkey(csr);
	bool eq = k != NULL && key != NULL && EVP_PKEY_eq(k, key) == 1;

	ERR_clear_error();
	return eq;
}

bool enrol_cert_key_matches(X509 *cert, EVP_PKEY *key)
{
	EVP_PKEY *k = X509_get0_pubkey(cert);
	bool eq = k != NULL && key != NULL && EVP_PKEY_eq(k, key) == 1;

	ERR_clear_error();
	return eq;
}

static int store_from_pem(const char *ca_pem, X509_STORE **out)
{
	STACK_OF(X509) * cas;
	X509_STORE *st;
	int i, rc = enrol_certs_from_pem(ca_pem, &cas);

	if (rc < 0)
		return rc;
	st = X509_STORE_new();
	rc = st != NULL ? 0 : -ENOMEM;
	for (i = 0; rc == 0 && i < sk_X509_num(cas); i++)
		if (!X509_STORE_add_cert(st, sk_X509_value(cas, i)))
			rc = -ENOMEM;
	sk_X509_pop_free(cas, X509_free);
	if (rc < 0) {
		X509_STORE_free(st);
		return rc;
	}
	*out = st;
	return 0;
}

int enrol_cert_verify(X509 *leaf, STACK_OF(X509) * untrusted, const char *ca_pem,
		      const char *hostname, time_t at, char *err, size_t errsz)
{
	const uint32_t both = XKU_SSL_SERVER | XKU_SSL_CLIENT;
	X509_STORE_CTX *ctx = NULL;
	X509_STORE *st = NULL;
	int rc;

	rc = store_from_pem(ca_pem, &st);
	if (rc < 0) {
		errbuf_set(err, errsz, "no CA certificate to verify against");
		return rc == -ENOMEM ? rc : -EACCES;
	}
	rc = -ENOMEM;
	ctx = X509_STORE_CTX_new();
	if (ctx == NULL || !X509_STORE_CTX_init(ctx, st, leaf, untrusted))
		goto out;
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	if (at != 0)
		X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), at);
	if (hostname != NULL &&
	    !X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx), hostname, 0))
		goto out;
	rc = -EACCES;
	if (X509_verify_cert(ctx) != 1) {
		errbuf_set(err, errsz, "certificate verify failed: %s",
			   X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	if (!(X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) ||
	    (X509_get_extended_key_usage(leaf) & both) != both) {
		errbuf_set(err, errsz, "certificate is not for both TLS server and client use");
		goto out;
	}
	rc = 0;
out:
	if (rc == -ENOMEM)
		errbuf_set(err, errsz, "out of memory");
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return rc;
}

int enrol_check_certificates(const char *token, EVP_PKEY *own_key, const char *cert_pem,
			     const char *mac, const char *ca_pem, const char *hostname, time_t at,
			     char *err, size_t errsz)
{
	STACK_OF(X509) *chain = NULL;
	X509 *leaf;
	int rc;

	rc = enrol_certs_from_pem(cert_pem != NULL ? cert_pem : "", &chain);
	if (rc < 0) {
		errbuf_set(err, errsz, "no PEM certificate");
		return rc;
	}
	leaf = sk_X509_shift(chain);
	rc = enrol_mac_check_cert(token, leaf, mac);
	if (rc < 0) {
		errbuf_set(err, errsz,
			   rc == -EINVAL ? "bad enrol token" : "Mac of the certificate is wrong");
		rc = -EACCES;
		goto out;
	}
	if (!enrol_cert_key_matches(leaf, own_key)) {
		errbuf_set(err, errsz, "certificate is not for this machine's key");
		rc = -EACCES;
		goto out;
	}
	rc = enrol_cert_verify(leaf, chain, ca_pem != NULL ? ca_pem : "", hostname, at, err, errsz);
out:
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	return rc;
}
