/* VM identities (hypervisor.md §7.2 step 3, ReplaceVmCredentials, ReplaceVmIdentity):
 * checking a PEM certificate + key pair as the original does (the key matches the
 * certificate, the certificate is valid now, its CN is not the caller's) and storing
 * it in the VM's directory as identity.cert (0644) and identity.key (0600), where the
 * metadata server serves it. */
#ifndef HV_IDENTITY_H
#define HV_IDENTITY_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct vm;

/* Checks cert (PEM) against key (PEM) or, when key_pem is NULL, against pkey, and
 * its validity period. On success *name is the certificate's CN (new string) and
 * *expires its NotAfter. caller (may be NULL) must differ from the CN. 0, or -EINVAL
 * with the original's text in err ("tls: private key does not match public key",
 * "cert expired 1h0m0s ago", "cannot give VM your own identity"). */
int identity_check(const uint8_t *cert_pem, size_t cert_len, const uint8_t *key_pem, size_t key_len,
		   EVP_PKEY *pkey, const char *caller, char **name, struct timespec *expires,
		   char *err, size_t errsz);

/* Writes identity.cert and identity.key into the VM's directory, each atomically.
 * 0 or -errno with err set. */
int identity_write(const struct vm *vm, const uint8_t *cert_pem, size_t cert_len,
		   const uint8_t *key_pem, size_t key_len, char *err, size_t errsz);

/* Removes the identity files of the VM (missing ones are fine). */
void identity_remove(const struct vm *vm);

#endif
