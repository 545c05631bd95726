/* ident: the installer's key, its self-signed certificate, the enrolment request and
 * the checks of what the enrolling client sends back (see ident.h). */
#include "installer/ident.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "fsutil.h"
#include "tls.h"

EVP_PKEY *ident_key_new(void)
{
	return EVP_EC_gen("P-256");
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ex;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ex == NULL)
		return -EINVAL;
	X509_add_ext(cert, ex, -1);
	X509_EXTENSION_free(ex);
	return 0;
}

/* Writes the BIO's bytes to path atomically with mode. */
static int write_bio(BIO *b, const char *path, mode_t mode)
{
	char *data;
	long n = BIO_get_mem_data(b, &data);

	if (n < 0)
		return -EIO;
	return fsutil_write_atomic(path, data, (size_t)n, mode);
}

int ident_write_key(EVP_PKEY *key, const char *path)
{
	BIO *b = BIO_new(BIO_s_mem());
	int rc = -ENOMEM;

	if (b != NULL && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1)
		rc = write_bio(b, path, 0600);
	BIO_free(b);
	return rc;
}

int ident_self_signed(EVP_PKEY *key, const char *hostname, const char *cert_path,
		      const char *key_path, char *err, size_t errsz)
{
	X509 *c = X509_new();
	X509_NAME *name;
	BIO *b = NULL;
	char san[512], why[256];
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	int rc = -ENOMEM;

	if (c == NULL)
		goto out;
	snprintf(san, sizeof(san), "DNS:%s", hostname);
	X509_set_version(c, 2);
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)) == NULL)
		goto out;
	X509_gmtime_adj(X509_getm_notBefore(c), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c), 10L * 365 * 86400);
	name = X509_get_subject_name(c);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)hostname, -1,
				   -1, 0);
	X509_set_issuer_name(c, name);
	X509_set_pubkey(c, key);
	if (add_ext(c, c, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(c, c, NID_key_usage, "critical,digitalSignature") < 0 ||
	    add_ext(c, c, NID_ext_key_usage, "serverAuth,clientAuth") < 0 ||
	    add_ext(c, c, NID_subject_alt_name, san) < 0) {
		rc = -EINVAL;
		goto out;
	}
	if (X509_sign(c, key, EVP_sha256()) == 0) {
		rc = -EINVAL;
		goto out;
	}
	b = BIO_new(BIO_s_mem());
	if (b == NULL || PEM_write_bio_X509(b, c) != 1)
		goto out;
	rc = write_bio(b, cert_path, 0644);
	if (rc == 0)
		rc = ident_write_key(key, key_path);
out:
	if (rc < 0)
		snprintf(err, errsz, "self-signed certificate: %s",
			 rc == -EINVAL ? tls_last_error(why, sizeof(why)) : strerror(-rc));
	BN_free(bn);
	BIO_free(b);
	X509_free(c);
	return rc;
}

int ident_csr(EVP_PKEY *key, const char *hostname, char **pem, unsigned char **der, size_t *der_len,
	      char *err, size_t errsz)
{
	X509_REQ *req = X509_REQ_new();
	BIO *b = NULL;
	char *data, why[256];
	unsigned char *d = NULL;
	long n;
	int dn, rc = -ENOMEM;

	*pem = NULL;
	*der = NULL;
	if (req == NULL)
		goto out;
	X509_REQ_set_version(req, 0);
	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
				   (const unsigned char *)hostname, -1, -1, 0);
	X509_REQ_set_pubkey(req, key);
	if (X509_REQ_sign(req, key, EVP_sha256()) == 0) {
		rc = -EINVAL;
		goto out;
	}
	b = BIO_new(BIO_s_mem());
	if (b == NULL || PEM_write_bio_X509_REQ(b, req) != 1)
		goto out;
	n = BIO_get_mem_data(b, &data);
	dn = i2d_X509_REQ(req, &d);
	if (n < 0 || dn <= 0)
		goto out;
	*pem = strndup(data, (size_t)n);
	if (*pem == NULL)
		goto out;
	*der = d;
	*der_len = (size_t)dn;
	d = NULL;
	rc = 0;
out:
	if (rc < 0)
		snprintf(err, errsz, "certificate request: %s",
			 rc == -EINVAL ? tls_last_error(why, sizeof(why)) : strerror(-rc));
	OPENSSL_free(d);
	BIO_free(b);
	X509_REQ_free(req);
	return rc;
}

void ident_mac(const char *token, const void *data, size_t len, char out[65])
{
	unsigned char md[32], key[32] = {0};
	unsigned int mdlen = sizeof(md), v;

	for (size_t i = 0; i < sizeof(key) && sscanf(token + 2 * i, "%2x", &v) == 1; i++)
		key[i] = (unsigned char)v;
	HMAC(EVP_sha256(), key, (int)sizeof(key), data, len, md, &mdlen);
	OPENSSL_cleanse(key, sizeof(key));
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int ident_mac_equal(const char *a, const char *b)
{
	unsigned char diff = 0;
	size_t n = strlen(a);

	if (n != strlen(b) || n != 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)((a[i] | 0x20) ^ (b[i] | 0x20));
	return diff == 0;
}

int ident_check_cert(const char *chain_pem, EVP_PKEY *key, const char *ca_file,
		     unsigned char **leaf_der, size_t *leaf_len, char *err, size_t errsz)
{
	BIO *b = BIO_new_mem_buf(chain_pem, -1);
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *vctx = X509_STORE_CTX_new();
	X509 *leaf = NULL, *x;
	unsigned char *d = NULL;
	int n, rc = -ENOMEM;

	*leaf_der = NULL;
	if (b == NULL || chain == NULL || store == NULL || vctx == NULL) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	rc = -EINVAL;
	leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
	if (leaf == NULL) {
		snprintf(err, errsz, "the certificate is not PEM");
		goto out;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		sk_X509_push(chain, x);
	ERR_clear_error();
	if (EVP_PKEY_eq(X509_get0_pubkey(leaf), key) != 1) {
		snprintf(err, errsz, "the certificate is not for this installer's key");
		goto out;
	}
	if (X509_STORE_load_file(store, ca_file) != 1) {
		snprintf(err, errsz, "cannot load %s", ca_file);
		goto out;
	}
	X509_STORE_CTX_init(vctx, store, leaf, chain);
	X509_STORE_CTX_set_purpose(vctx, X509_PURPOSE_ANY);
	if (X509_verify_cert(vctx) != 1) {
		snprintf(err, errsz, "the certificate does not chain to %s: %s", ca_file,
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(vctx)));
		goto out;
	}
	n = i2d_X509(leaf, &d);
	if (n <= 0) {
		snprintf(err, errsz, "cannot encode the certificate");
		goto out;
	}
	*leaf_der = d;
	*leaf_len = (size_t)n;
	rc = 0;
out:
	ERR_clear_error();
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	X509_STORE_CTX_free(vctx);
	X509_STORE_free(store);
	BIO_free(b);
	return rc;
}
