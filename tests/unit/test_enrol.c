/* Unit tests for lib/enrol: request/Mac/sign/check round trips, and every refusal
 * (wrong token, a request asking for more names, a certificate for another key or
 * from another CA, expired, not for client use). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/bn.h>
#include <openssl/x509v3.h>

#include "enrol.h"
#include "tls.h"

static const char token[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
static const char other_token[] =
    "f0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
static const char *const ips[] = {"192.0.2.10", "2001:db8::10"};

struct ca {
	EVP_PKEY *key;
	X509 *cert;
	char *pem;
};

static void ca_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* A CA: EC P-256, or RSA 2048 as tests/lib/hyper.sh makes them. */
static void ca_make(struct ca *ca, const char *cn, bool rsa)
{
	X509_NAME *n = X509_NAME_new();

	ca->key = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
	assert_non_null(ca->key);
	ca->cert = X509_new();
	X509_set_version(ca->cert, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(ca->cert), 1);
	X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8, (const unsigned char *)cn, -1,
				   -1, 0);
	X509_set_subject_name(ca->cert, n);
	X509_set_issuer_name(ca->cert, n);
	X509_NAME_free(n);
	X509_gmtime_adj(X509_getm_notBefore(ca->cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(ca->cert), 30L * 86400);
	X509_set_pubkey(ca->cert, ca->key);
	ca_ext(ca->cert, NID_basic_constraints, "critical,CA:TRUE");
	ca_ext(ca->cert, NID_key_usage, "critical,keyCertSign,cRLSign");
	ca_ext(ca->cert, NID_subject_key_identifier, "hash");
	assert_true(X509_sign(ca->cert, ca->key, EVP_sha256()) > 0);
	assert_int_equal(enrol_cert_pem(ca->cert, &ca->pem), 0);
}

static void ca_free(struct ca *ca)
{
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	free(ca->pem);
}

static const struct enrol_sign_params params = {
    .hostname = "node-7.example", .ips = ips, .n_ips = 2, .days = 30};

static X509_REQ *csr_for(EVP_PKEY *key, const char *host, const char *const *a, size_t n)
{
	char err[256] = "";
	X509_REQ *csr = NULL;

	assert_int_equal(enrol_csr_new(key, host, a, n, &csr, err, sizeof(err)), 0);
	return csr;
}

/* PEM -> object round trips keep the DER, so the Mac made on one side checks on the
 * other. */
static void test_round_trip(void **state)
{
	char mac[ENROL_MAC_HEX + 1], cmac[ENROL_MAC_HEX + 1], err[256] = "";
	char *csr_pem, *cert_pem, *bundle;
	struct ca ca;
	EVP_PKEY *key;
	X509_REQ *csr, *csr2;
	X509 *cert = NULL;
	char **grants = NULL;
	GENERAL_NAMES *sans;
	BIGNUM *serial;
	size_t len;

	(void)state;
	ca_make(&ca, "Fleet CA", true);
	assert_int_equal(enrol_key_new(&key), 0);
	assert_true(EVP_PKEY_is_a(key, "EC"));
	assert_int_equal(EVP_PKEY_get_bits(key), 256);
	csr = csr_for(key, "node-7.example", ips, 2);

	/* installer: CSR + Mac; signer: parses, checks the Mac and the key. */
	assert_int_equal(enrol_csr_pem(csr, &csr_pem), 0);
	assert_int_equal(enrol_mac_csr(token, csr, mac), 0);
	assert_int_equal(strlen(mac), 64);
	assert_int_equal(enrol_csr_from_pem(csr_pem, &csr2), 0);
	assert_int_equal(enrol_mac_check_csr(token, csr2, mac), 0);
	for (char *p = mac; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	assert_int_equal(enrol_mac_check_csr(token, csr2, mac), 0);
	assert_true(enrol_csr_key_matches(csr2, key));

	assert_int_equal(enrol_sign_csr(csr2, ca.cert, ca.key, &params, &cert, err, sizeof(err)),
			 0);
	assert_true(enrol_cert_key_matches(cert, key));
	assert_int_equal(enrol_cert_pem(cert, &cert_pem), 0);
	assert_int_equal(enrol_mac_cert(token, cert, cmac), 0);

	/* installer: the whole SetCertificates check. */
	assert_int_equal(enrol_check_certificates(token, key, cert_pem, cmac, ca.pem,
						  "node-7.example", 0, err, sizeof(err)),
			 0);
	assert_int_equal(enrol_cert_verify(cert, NULL, ca.pem, "192.0.2.10", 0, err, sizeof(err)),
			 -EACCES); /* an address is not a host name; */
	assert_int_equal(X509_check_ip_asc(cert, "192.0.2.10", 0), 1); /* it is an IP SAN */
	assert_int_equal(X509_check_ip_asc(cert, "2001:db8::10", 0), 1);
	assert_int_equal(X509_check_ip_asc(cert, "192.0.2.11", 0), 0);

	/* The certificate: CN, three SANs, server+client, not a CA, no method grants. */
	sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	assert_int_equal(sk_GENERAL_NAME_num(sans), 3);
	GENERAL_NAMES_free(sans);
	assert_int_equal(X509_check_host(cert, "node-7.example", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ca(cert), 0);
	assert_int_equal(X509_check_purpose(cert, X509_PURPOSE_SSL_CLIENT, 0), 1);
	assert_int_equal(X509_check_purpose(cert, X509_PURPOSE_SSL_SERVER, 0), 1);
	assert_int_equal(tls_cert_strings(cert, TLS_OID_METHODS, &grants), 0);
	tls_strv_free(grants);
	serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	assert_true(BN_num_bits(serial) > 100);
	BN_free(serial);

	/* A chain after the leaf is accepted (the CA itself as an extra). */
	len = strlen(cert_pem) + strlen(ca.pem) + 1;
	bundle = malloc(len);
	snprintf(bundle, len, "%s%s", cert_pem, ca.pem);
	assert_int_equal(
	    enrol_check_certificates(token, key, bundle, cmac, ca.pem, NULL, 0, err, sizeof(err)),
	    0);
	free(bundle);

	free(csr_pem);
	free(cert_pem);
	X509_free(cert);
	X509_REQ_free(csr);
	X509_REQ_free(csr2);
	EVP_PKEY_free(key);
	ca_free(&ca);
}

static void test_token(void **state)
{
	unsigned char k[ENROL_TOKEN_BYTES];
	unsigned char der[] = {1, 2, 3};
	char mac[ENROL_MAC_HEX + 1], t[ENROL_TOKEN_HEX + 1], t2[ENROL_TOKEN_HEX + 1];

	(void)state;
	assert_int_equal(enrol_token_parse(token, k), 0);
	assert_int_equal(k[0], 0x00);
	assert_int_equal(k[31], 0xff);
	assert_int_equal(enrol_token_parse("  00112233445566778899aabbccddeeff00112233445566778899"
					   "AABBCCDDEEFF\n",
					   k),
			 0);
	assert_int_equal(enrol_token_parse("0011", k), -EINVAL);
	assert_int_equal(enrol_token_parse("g0112233445566778899aabbccddeeff00112233445566778899aab"
					   "bccddeeff",
					   k),
			 -EINVAL);
	assert_int_equal(enrol_token_parse("00112233445566778899aabbccddeeff00112233445566778899aab"
					   "bccddeeff00",
					   k),
			 -EINVAL);
	assert_int_equal(enrol_token_parse("", k), -EINVAL);
	assert_int_equal(enrol_token_new(t), 0);
	assert_int_equal(enrol_token_new(t2), 0);
	assert_int_equal(strlen(t), 64);
	assert_string_not_equal(t, t2);
	assert_int_equal(enrol_token_parse(t, k), 0);

	/* RFC 4231 is keyed differently; check our own stability instead: same in, same out. */
	assert_int_equal(enrol_mac(token, der, sizeof(der), mac), 0);
	assert_int_equal(enrol_mac_check(token, der, sizeof(der), mac), 0);
	assert_int_equal(enrol_mac_check(other_token, der, sizeof(der), mac), -EACCES);
	assert_int_equal(enrol_mac_check("bad", der, sizeof(der), mac), -EINVAL);
	assert_int_equal(enrol_mac(NULL, der, sizeof(der), mac), -EINVAL);
	der[2] = 4;
	assert_int_equal(enrol_mac_check(token, der, sizeof(der), mac), -EACCES);
	der[2] = 3;
	assert_int_equal(enrol_mac_check(token, der, sizeof(der), NULL), -EACCES);
	assert_int_equal(enrol_mac_check(token, der, sizeof(der), ""), -EACCES);
	mac[63] = 'z';
	assert_int_equal(enrol_mac_check(token, der, sizeof(der), mac), -EACCES);
	mac[63] = '\0';
	assert_int_equal(enrol_mac_check(token, der, sizeof(der), mac), -EACCES);
}

/* The known HMAC-SHA256 of an empty message under our test token, computed with
 * `openssl dgst -sha256 -mac HMAC -macopt hexkey:<token>` (keeps the format fixed). */
static void test_mac_known(void **state)
{
	char mac[ENROL_MAC_HEX + 1];
	FILE *p;
	char want[128] = "";

	(void)state;
	assert_int_equal(enrol_mac(token, (const unsigned char *)"abc", 3, mac), 0);
	p = popen("printf abc | openssl dgst -sha256 -mac HMAC -macopt "
		  "hexkey:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff "
		  "2>/dev/null | sed 's/.*= //'",
		  "r");
	if (p == NULL || fgets(want, sizeof(want), p) == NULL) {
		if (p != NULL)
			pclose(p);
		skip();
	}
	pclose(p);
	want[strcspn(want, "\n")] = '\0';
	assert_string_equal(mac, want);
}

static void test_wrong_token(void **state)
{
	char mac[ENROL_MAC_HEX + 1], err[256] = "";
	char *cert_pem;
	struct ca ca;
	EVP_PKEY *key;
	X509_REQ *csr;
	X509 *cert;

	(void)state;
	ca_make(&ca, "Fleet CA", false);
	assert_int_equal(enrol_key_new(&key), 0);
	csr = csr_for(key, "node-7.example", ips, 1);
	assert_int_equal(enrol_mac_csr(other_token, csr, mac), 0);
	assert_int_equal(enrol_mac_check_csr(token, csr, mac), -EACCES);

	assert_int_equal(enrol_sign_csr(csr, ca.cert, ca.key, &params, &cert, err, sizeof(err)), 0);
	assert_int_equal(enrol_cert_pem(cert, &cert_pem), 0);
	assert_int_equal(enrol_mac_cert(other_token, cert, mac), 0);
	assert_int_equal(
	    enrol_check_certificates(token, key, cert_pem, mac, ca.pem, NULL, 0, err, sizeof(err)),
	    -EACCES);
	assert_non_null(strstr(err, "Mac"));
	/* A Mac over the request is not one over the certificate. */
	assert_int_equal(enrol_mac_csr(token, csr, mac), 0);
	assert_int_equal(
	    enrol_check_certificates(token, key, cert_pem, mac, ca.pem, NULL, 0, err, sizeof(err)),
	    -EACCES);
	assert_int_equal(
	    enrol_check_certificates(token, key, "not pem", mac, ca.pem, NULL, 0, err, sizeof(err)),
	    -EBADMSG);
	free(cert_pem);
	X509_free(cert);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	ca_free(&ca);
}

static void expect_refused(struct ca *ca, X509_REQ *csr, const char *what)
{
	char err[256] = "";
	X509 *cert = NULL;

	assert_int_equal(enrol_sign_csr(csr, ca->cert, ca->key, &params, &cert, err, sizeof(err)),
			 -EACCES);
	assert_null(cert);
	if (strstr(err, what) == NULL)
		fail_msg("error \"%s\" does not name \"%s\"", err, what);
}

static void test_csr_refused(void **state)
{
	static const char *const extra_ip[] = {"192.0.2.10", "192.0.2.99"};
	static const char *const v4[] = {"192.0.2.10"};
	char err[256] = "";
	struct ca ca;
	EVP_PKEY *key, *rsa1k;
	X509_REQ *csr;
	X509 *cert = NULL;
	GENERAL_NAMES *gens;
	X509_EXTENSION *ext;
	STACK_OF(X509_EXTENSION) * exts;

	(void)state;
	ca_make(&ca, "Fleet CA", false);
	assert_int_equal(enrol_key_new(&key), 0);

	csr = csr_for(key, "node-7.example", extra_ip, 2);
	expect_refused(&ca, csr, "IP address");
	X509_REQ_free(csr);

	csr = csr_for(key, "node-8.example", v4, 1);
	expect_refused(&ca, csr, "expected \"node-7.example\"");
	X509_REQ_free(csr);

	/* An extra DNS name, added to a request that is otherwise right. */
	csr = X509_REQ_new();
	X509_REQ_set_version(csr, X509_REQ_VERSION_1);
	{
		X509_NAME *n = X509_NAME_new();

		X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
					   (const unsigned char *)"node-7.example", -1, -1, 0);
		X509_REQ_set_subject_name(csr, n);
		X509_NAME_free(n);
	}
	X509_REQ_set_pubkey(csr, key);
	{
		X509V3_CTX ctx;

		X509V3_set_ctx(&ctx, NULL, NULL, csr, NULL, 0);
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name,
					  "DNS:node-7.example,DNS:imageserver.example");
	}
	assert_non_null(ext);
	exts = sk_X509_EXTENSION_new_null();
	sk_X509_EXTENSION_push(exts, ext);
	X509_REQ_add_extensions(csr, exts);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_sign(csr, key, EVP_sha256());
	expect_refused(&ca, csr, "imageserver.example");

	/* A tampered request (signature no longer matches). */
	X509_REQ_set_subject_name(csr, X509_get_subject_name(ca.cert));
	expect_refused(&ca, csr, "signature");
	X509_REQ_free(csr);

	/* A weak key. */
	rsa1k = EVP_RSA_gen(1024);
	if (rsa1k != NULL) {
		csr = csr_for(rsa1k, "node-7.example", v4, 1);
		expect_refused(&ca, csr, "not accepted");
		X509_REQ_free(csr);
		EVP_PKEY_free(rsa1k);
	}

	/* A request with only the host name gets only the host name. */
	csr = csr_for(key, "node-7.example", NULL, 0);
	assert_int_equal(enrol_sign_csr(csr, ca.cert, ca.key, &params, &cert, err, sizeof(err)), 0);
	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 1);
	GENERAL_NAMES_free(gens);
	X509_free(cert);
	X509_REQ_free(csr);

	/* Bad signer parameters and a CA key that is not the CA's. */
	csr = csr_for(key, "node-7.example", v4, 1);
	{
		struct enrol_sign_params p = params;

		p.days = 0;
		assert_int_equal(enrol_sign_csr(csr, ca.cert, ca.key, &p, &cert, err, sizeof(err)),
				 -EINVAL);
	}
	assert_int_equal(enrol_sign_csr(csr, ca.cert, key, &params, &cert, err, sizeof(err)),
			 -EINVAL);
	{
		static const char *const bad[] = {"192.0.2.10", "not-an-address"};
		struct enrol_sign_params p = params;

		p.ips = bad;
		assert_int_equal(enrol_sign_csr(csr, ca.cert, ca.key, &p, &cert, err, sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, "not-an-address"));
	}
	X509_REQ_free(csr);
	assert_int_equal(enrol_csr_new(key, "bad host", NULL, 0, &csr, err, sizeof(err)), -EINVAL);
	assert_int_equal(
	    enrol_csr_new(key, "h", (const char *const[]){"1.2.3"}, 1, &csr, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "1.2.3"));

	EVP_PKEY_free(key);
	ca_free(&ca);
}

static void test_other_key_and_ca(void **state)
{
	char mac[ENROL_MAC_HEX + 1], err[256] = "";
	char *cert_pem;
	struct ca ca, other;
	EVP_PKEY *key, *key2;
	X509_REQ *csr;
	X509 *cert;

	(void)state;
	ca_make(&ca, "Fleet CA", false);
	ca_make(&other, "Fleet CA", false); /* same name, other key */
	assert_int_equal(enrol_key_new(&key), 0);
	assert_int_equal(enrol_key_new(&key2), 0);
	csr = csr_for(key2, "node-7.example", ips, 2);
	assert_false(enrol_csr_key_matches(csr, key));
	assert_true(enrol_csr_key_matches(csr, key2));

	/* A certificate for another key (with a right Mac and CA). */
	assert_int_equal(enrol_sign_csr(csr, ca.cert, ca.key, &params, &cert, err, sizeof(err)), 0);
	assert_int_equal(enrol_cert_pem(cert, &cert_pem), 0);
	assert_int_equal(enrol_mac_cert(token, cert, mac), 0);
	assert_int_equal(
	    enrol_check_certificates(token, key, cert_pem, mac, ca.pem, NULL, 0, err, sizeof(err)),
	    -EACCES);
	assert_non_null(strstr(err, "key"));
	assert_int_equal(
	    enrol_check_certificates(token, key2, cert_pem, mac, ca.pem, NULL, 0, err, sizeof(err)),
	    0);
	/* ... from another CA. */
	assert_int_equal(enrol_check_certificates(token, key2, cert_pem, mac, other.pem, NULL, 0,
						  err, sizeof(err)),
			 -EACCES);
	assert_non_null(strstr(err, "verify failed"));
	assert_int_equal(
	    enrol_check_certificates(token, key2, cert_pem, mac, "", NULL, 0, err, sizeof(err)),
	    -EACCES);
	/* ... for another host name. */
	assert_int_equal(enrol_check_certificates(token, key2, cert_pem, mac, ca.pem,
						  "node-8.example", 0, err, sizeof(err)),
			 -EACCES);
	free(cert_pem);
	X509_free(cert);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	EVP_PKEY_free(key2);
	ca_free(&ca);
	ca_free(&other);
}

static void test_expired(void **state)
{
	struct enrol_sign_params p = params;
	char err[256] = "";
	struct ca ca;
	EVP_PKEY *key;
	X509_REQ *csr;
	X509 *cert;

	(void)state;
	ca_make(&ca, "Fleet CA", false);
	assert_int_equal(enrol_key_new(&key), 0);
	csr = csr_for(key, "node-7.example", ips, 2);
	p.days = 1;
	assert_int_equal(enrol_sign_csr(csr, ca.cert, ca.key, &p, &cert, err, sizeof(err)), 0);
	assert_int_equal(enrol_cert_verify(cert, NULL, ca.pem, NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(
	    enrol_cert_verify(cert, NULL, ca.pem, NULL, time(NULL) + 2 * 86400, err, sizeof(err)),
	    -EACCES);
	assert_non_null(strstr(err, "expired"));
	assert_int_equal(
	    enrol_cert_verify(cert, NULL, ca.pem, NULL, time(NULL) - 2 * 3600, err, sizeof(err)),
	    -EACCES);
	assert_non_null(strstr(err, "not yet valid"));
	X509_free(cert);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	ca_free(&ca);
}

/* The installer's self-signed port certificate: same key, not a fleet identity (no
 * chain, server use only). */
static void test_self_signed(void **state)
{
	char err[256] = "";
	char *pem;
	struct ca ca;
	EVP_PKEY *key;
	X509 *x;

	(void)state;
	ca_make(&ca, "Fleet CA", false);
	assert_int_equal(enrol_key_new(&key), 0);
	assert_int_equal(enrol_self_signed(key, "node-7.example", 30, &x), 0);
	assert_true(enrol_cert_key_matches(x, key));
	assert_int_equal(X509_check_host(x, "node-7.example", 0, 0, NULL), 1);
	assert_int_equal(enrol_cert_verify(x, NULL, ca.pem, NULL, 0, err, sizeof(err)), -EACCES);
	assert_int_equal(enrol_cert_pem(x, &pem), 0);
	assert_int_equal(enrol_cert_verify(x, NULL, pem, NULL, 0, err, sizeof(err)), -EACCES);
	free(pem);
	X509_free(x);
	assert_int_equal(enrol_self_signed(key, "", 30, &x), -EINVAL);
	EVP_PKEY_free(key);
	ca_free(&ca);
}

static void test_files(void **state)
{
	char dir[] = "/tmp/ss0_enrolXXXXXX", path[64], cpath[64], err[256] = "";
	struct ca ca;
	struct stat st;
	EVP_PKEY *key, *back;
	X509 *cert;

	(void)state;
	assert_non_null(mkdtemp(dir));
	ca_make(&ca, "Fleet CA", false);
	assert_int_equal(enrol_key_new(&key), 0);
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	snprintf(cpath, sizeof(cpath), "%s/CA.pem", dir);
	umask(0);
	assert_int_equal(enrol_write_key(path, key), 0);
	umask(022);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(enrol_load_key(path, &back, err, sizeof(err)), 0);
	assert_true(EVP_PKEY_eq(back, key) == 1);
	EVP_PKEY_free(back);
	assert_int_equal(enrol_write_pem(cpath, ca.pem), 0);
	assert_int_equal(stat(cpath, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(enrol_load_cert(cpath, &cert, err, sizeof(err)), 0);
	assert_int_equal(X509_cmp(cert, ca.cert), 0);
	X509_free(cert);
	/* A key file is not a certificate and the reverse; a missing file is named. */
	assert_int_equal(enrol_load_cert(path, &cert, err, sizeof(err)), -EBADMSG);
	assert_int_equal(enrol_load_key(cpath, &back, err, sizeof(err)), -EBADMSG);
	unlink(path);
	assert_int_equal(enrol_load_key(path, &back, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	unlink(cpath);
	rmdir(dir);
	EVP_PKEY_free(key);
	ca_free(&ca);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),	cmocka_unit_test(test_token),
	    cmocka_unit_test(test_mac_known),	cmocka_unit_test(test_wrong_token),
	    cmocka_unit_test(test_csr_refused), cmocka_unit_test(test_other_key_and_ca),
	    cmocka_unit_test(test_expired),	cmocka_unit_test(test_self_signed),
	    cmocka_unit_test(test_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
