/* VM identity certificates (see identity.h). */
#include "daemon/hypervisor/vmm/identity.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "daemon/hypervisor/vmm/vm.h"
#include "flags.h"
#include "fsutil.h"

/* An encrypted key is refused: OpenSSL's default callback would ask the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return 0;
}

static X509 *read_cert(const uint8_t *pem, size_t len)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, no_passphrase, NULL) : NULL;

	BIO_free(b);
	return x;
}

static EVP_PKEY *read_key(const uint8_t *pem, size_t len)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL) : NULL;

	BIO_free(b);
	return k;
}

/* Seconds from a to b (b - a), through ASN1_TIME_diff. */
static long long seconds_between(const ASN1_TIME *a, const ASN1_TIME *b)
{
	int days = 0, secs = 0;

	if (!ASN1_TIME_diff(&days, &secs, a, b))
		return 0;
	return (long long)days * 86400 + secs;
}

static int check_validity(X509 *x, struct timespec *expires, char *err, size_t errsz)
{
	ASN1_TIME *now = ASN1_TIME_set(NULL, time(NULL));
	struct tm tm;
	char d[64];
	long long early, late;

	if (now == NULL) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	early = seconds_between(now, X509_get0_notBefore(x));
	late = seconds_between(X509_get0_notAfter(x), now);
	ASN1_TIME_free(now);
	if (early > 0) {
		snprintf(err, errsz, "cert will not be valid for %s",
			 flags_format_duration(early * 1000000000LL, d, sizeof(d)));
		return -EINVAL;
	}
	if (late > 0) {
		snprintf(err, errsz, "cert expired %s ago",
			 flags_format_duration(late * 1000000000LL, d, sizeof(d)));
		return -EINVAL;
	}
	if (!ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm)) {
		snprintf(err, errsz, "cert has a bad NotAfter time");
		return -EINVAL;
	}
	*expires = (struct timespec){.tv_sec = timegm(&tm)};
	return 0;
}

static char *common_name(X509 *x)
{
	X509_NAME *n = X509_get_subject_name(x);
	int i = n ? X509_NAME_get_index_by_NID(n, NID_commonName, -1) : -1;
	ASN1_STRING *s;
	unsigned char *utf8 = NULL;
	char *out;
	int len;

	if (i < 0)
		return NULL;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
	len = ASN1_STRING_to_UTF8(&utf8, s);
	if (len < 0)
		return NULL;
	out = strndup((char *)utf8, (size_t)len);
	OPENSSL_free(utf8);
	return out;
}

int identity_check(const uint8_t *cert_pem, size_t cert_len, const uint8_t *key_pem, size_t key_len,
		   EVP_PKEY *pkey, const char *caller, char **name, struct timespec *expires,
		   char *err, size_t errsz)
{
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	int rc = -EINVAL;

	*name = NULL;
	if (cert_len == 0 || cert_len > INT32_MAX || key_len > INT32_MAX) {
		snprintf(err, errsz, "tls: failed to find any PEM data in certificate input");
		return -EINVAL;
	}
	x = read_cert(cert_pem, cert_len);
	if (x == NULL) {
		snprintf(err, errsz, "tls: failed to find any PEM data in certificate input");
		goto out;
	}
	if (key_pem != NULL) {
		k = read_key(key_pem, key_len);
		if (k == NULL) {
			snprintf(err, errsz, "tls: failed to find any PEM data in key input");
			goto out;
		}
		pkey = k;
	}
	if (pkey == NULL || X509_check_private_key(x, pkey) != 1) {
		snprintf(err, errsz, "tls: private key does not match public key");
		goto out;
	}
	rc = check_validity(x, expires, err, errsz);
	if (rc < 0)
		goto out;
	*name = common_name(x);
	if (*name == NULL || **name == '\0') {
		snprintf(err, errsz, "no CommonName in certificate");
		rc = -EINVAL;
	} else if (caller != NULL && strcmp(caller, *name) == 0) {
		snprintf(err, errsz, "cannot give VM your own identity");
		rc = -EINVAL;
	}
	if (rc < 0) {
		free(*name);
		*name = NULL;
	}
out:
	EVP_PKEY_free(k);
	X509_free(x);
	return rc;
}

int identity_write(const struct vm *vm, const uint8_t *cert_pem, size_t cert_len,
		   const uint8_t *key_pem, size_t key_len, char *err, size_t errsz)
{
	char path[4096];
	int rc;

	/* The key first: a crash in between leaves the old cert with the new key, which
	 * the next replacement fixes; the metadata server never serves a new cert whose
	 * key is not on disk. */
	vm_path(vm, "identity.key", path, sizeof(path));
	rc = fsutil_write_atomic(path, key_pem, key_len, 0600);
	if (rc == 0) {
		vm_path(vm, "identity.cert", path, sizeof(path));
		rc = fsutil_write_atomic(path, cert_pem, cert_len, 0644);
	}
	if (rc < 0)
		snprintf(err, errsz, "write %s: %s", path, strerror(-rc));
	return rc;
}

void identity_remove(const struct vm *vm)
{
	static const char *const files[] = {
	    "identity.cert",
	    "identity.key",
	    "identity-RSA.SSH-cert",
	    "identityRequestor.cert",
	};
	char path[4096];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (vm_path(vm, files[i], path, sizeof(path)) == 0)
			unlink(path);
}
