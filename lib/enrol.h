/* enrol: the cryptography of a newborn machine's enrolment (docs/enrolment.md): its
 * EC P-256 key and certificate request, the one-time token's Mac over DER bytes, the
 * signer's side (a CSR becomes a server+client certificate with the SANs the signer
 * expects) and the checks both sides make. OpenSSL 3; no I/O except the PEM loaders
 * and writers named so. Functions return 0 or a negative errno with a sentence in err. */
#ifndef SS_ENROL_H
#define SS_ENROL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#define ENROL_TOKEN_BYTES 32u
#define ENROL_TOKEN_HEX 64u /* the enrol-token file: 64 hex digits */
#define ENROL_MAC_HEX 64u   /* hex HMAC-SHA256 */

/* ---- keys, requests, PEM ---- */

/* A new EC P-256 key in *out. 0, -ENOMEM or -EIO. */
int enrol_key_new(EVP_PKEY **out);

/* A certificate request for key: subject CN=hostname, SAN DNS:hostname and one
 * IP: entry per ips[i] (IPv4 or IPv6 text), signed with key (SHA-256). Borrows all.
 * -EINVAL for a bad hostname or address (err says which). */
int enrol_csr_new(EVP_PKEY *key, const char *hostname, const char *const *ips, size_t n_ips,
		  X509_REQ **out, char *err, size_t errsz);

/* A self-signed certificate for key (CN and SAN DNS:hostname, EKU serverAuth, valid
 * days from an hour ago): what the installer's port presents before enrolment. */
int enrol_self_signed(EVP_PKEY *key, const char *hostname, unsigned days, X509 **out);

/* PEM text of a request, certificate or private key: a new NUL-terminated string in
 * *pem (free with enrol_pem_free, which wipes it first). */
int enrol_csr_pem(X509_REQ *csr, char **pem);
int enrol_cert_pem(X509 *cert, char **pem);
int enrol_key_pem(EVP_PKEY *key, char **pem);
void enrol_pem_free(char *pem);

/* Parsers of PEM text (borrowed). -EBADMSG if there is nothing of the kind.
 * enrol_certs_from_pem: every certificate in order (leaf first), at least one. */
int enrol_csr_from_pem(const char *pem, X509_REQ **out);
int enrol_certs_from_pem(const char *pem, STACK_OF(X509) * *out);
int enrol_key_from_pem(const char *pem, EVP_PKEY **out);

/* Loaders of PEM files (the first certificate for enrol_load_cert). -errno of the
 * read, -EBADMSG for content that is not PEM of the kind; err names the file. */
int enrol_load_cert(const char *path, X509 **out, char *err, size_t errsz);
int enrol_load_key(const char *path, EVP_PKEY **out, char *err, size_t errsz);

/* Atomic, durable writes (fsutil_write_atomic): the key with mode 0600, PEM text
 * (certificates, CA bundles) with mode 0644. Borrows all. */
int enrol_write_key(const char *path, EVP_PKEY *key);
int enrol_write_pem(const char *path, const char *pem);

/* ---- the token's Mac ---- */

/* Checks that hex is exactly 64 hex digits (surrounding white space allowed, as in a
 * file) and fills key. -EINVAL otherwise. */
int enrol_token_parse(const char *hex, unsigned char key[ENROL_TOKEN_BYTES]);

/* A new random token: 64 lower-case hex digits + NUL. */
int enrol_token_new(char out[ENROL_TOKEN_HEX + 1]);

/* out = lower-case hex HMAC-SHA256(token's 32 bytes, der) + NUL. -EINVAL for a bad
 * token. */
int enrol_mac(const char *token, const unsigned char *der, size_t len, char out[ENROL_MAC_HEX + 1]);
int enrol_mac_csr(const char *token, X509_REQ *csr, char out[ENROL_MAC_HEX + 1]);
int enrol_mac_cert(const char *token, X509 *cert, char out[ENROL_MAC_HEX + 1]);

/* Compares mac (hex, either case) with the Mac of der in constant time.
 * 0, -EACCES when it differs or is malformed, -EINVAL for a bad token. */
int enrol_mac_check(const char *token, const unsigned char *der, size_t len, const char *mac);
int enrol_mac_check_csr(const char *token, X509_REQ *csr, const char *mac);
int enrol_mac_check_cert(const char *token, X509 *cert, const char *mac);

/* ---- the signer (hyper-control; enrol-testc) ---- */

struct enrol_sign_params {
	const char *hostname;	/* the machine's: the CSR's CN must be it */
	const char *const *ips; /* the machine's addresses (text) */
	size_t n_ips;
	unsigned days; /* validity (> 0) */
};

/* Checks csr (its signature, key type and size, CN = p->hostname, and that every SAN it
 * asks for is DNS:p->hostname or IP:one of p->ips, nothing else) and signs a
 * certificate for its key with ca_cert + ca_key: subject CN=hostname, the CSR's SANs
 * (DNS:hostname always), EKU serverAuth + clientAuth, CA:FALSE, a random 127-bit
 * serial, valid from an hour ago for p->days days, no method grants (an identity:
 * nothing more). Borrows all. -EACCES for a request that asks for more than allowed,
 * -EINVAL for bad parameters or a CA key that is not the CA certificate's. */
int enrol_sign_csr(X509_REQ *csr, X509 *ca_cert, EVP_PKEY *ca_key,
		   const struct enrol_sign_params *p, X509 **out, char *err, size_t errsz);

/* ---- checks ---- */

/* True if the public key of csr is key / of the certificate cert. */
bool enrol_csr_key_matches(X509_REQ *csr, EVP_PKEY *key);
bool enrol_cert_key_matches(X509 *cert, EVP_PKEY *key);

/* Verifies leaf against the CA certificates in ca_pem (PEM text; untrusted: more
 * chain certificates or NULL) at time at (0 = now): chains, in its validity, and its
 * extended key usage has both serverAuth and clientAuth. With hostname, the
 * certificate must also be for that name. -EACCES with the reason in err. */
int enrol_cert_verify(X509 *leaf, STACK_OF(X509) * untrusted, const char *ca_pem,
		      const char *hostname, time_t at, char *err, size_t errsz);

/* The installer's whole check of SetCertificates: cert_pem (leaf first, then chain)
 * parses, mac is the token's Mac over the leaf's DER, the leaf is for own_key, and it
 * verifies against ca_pem (enrol_cert_verify with hostname, at). Borrows all.
 * -EBADMSG (no certificate), -EACCES (refused; err says why). */
int enrol_check_certificates(const char *token, EVP_PKEY *own_key, const char *cert_pem,
			     const char *mac, const char *ca_pem, const char *hostname, time_t at,
			     char *err, size_t errsz);

#endif
