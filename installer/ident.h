/* ident: the installer's own key and certificates (docs/enrolment.md): the EC P-256
 * key made at start, the self-signed certificate its port presents, the certificate
 * request for enrolment, the token MAC, and the check of a signed certificate. A thin
 * layer so that the functions of lib/enrol can replace these one by one. */
#ifndef SS_INSTALLER_IDENT_H
#define SS_INSTALLER_IDENT_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* A new EC P-256 key; NULL on failure. */
EVP_PKEY *ident_key_new(void);

/* Writes key (PEM, mode 0600) and a self-signed certificate for it (CN and DNS SAN
 * hostname, 10 years, server and client use) to key_path and cert_path.
 * 0 or -errno with err. */
int ident_self_signed(EVP_PKEY *key, const char *hostname, const char *cert_path,
		      const char *key_path, char *err, size_t errsz);

/* A certificate request (PEM) for key, CN hostname; der and der_len its DER (both new,
 * free()). 0 or -errno with err. */
int ident_csr(EVP_PKEY *key, const char *hostname, char **pem, unsigned char **der, size_t *der_len,
	      char *err, size_t errsz);

/* hex HMAC-SHA256 keyed with the token's 32 bytes (its 64 hex digits decoded), over
 * data: 65 bytes into out. */
void ident_mac(const char *token, const void *data, size_t len, char out[65]);

/* Constant-time comparison of two hex MACs (case-insensitive). */
int ident_mac_equal(const char *a, const char *b);

/* Checks a signed certificate chain (PEM, leaf first) against key and the CA file:
 * the leaf is for key, chains to ca_file and is valid now. *leaf_der (new, free()) is
 * the leaf's DER for the MAC check. 0 or -EINVAL/-ENOMEM with err. */
int ident_check_cert(const char *chain_pem, EVP_PKEY *key, const char *ca_file,
		     unsigned char **leaf_der, size_t *leaf_len, char *err, size_t errsz);

/* Writes key as PEM (mode 0600). 0 or -errno. */
int ident_write_key(EVP_PKEY *key, const char *path);

#endif
