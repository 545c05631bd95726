/* The state directory's small files (spec/hypervisor.md §3): uuid, root-cookie,
 * key.pem, the disabled marker, and the lock that keeps two daemons off one
 * directory. Every function takes the state directory path. */
#ifndef HV_STATEDIR_H
#define HV_STATEDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define STATEDIR_UUID_LEN 32
#define STATEDIR_COOKIE_LEN 32

/* mkdir -p dir and dir/VMs (0755). 0 or -errno. */
int statedir_create(const char *dir);

/* Takes the directory's lock (fsutil_lock_dir, non-blocking). Returns the lock fd or
 * -EWOULDBLOCK with *err naming the holder. */
int statedir_lock(const char *dir, char **err);

/* Loads "uuid" or creates it (32 lowercase hex chars from 16 random bytes + "\n",
 * mode 0644). out gets the 32 chars + NUL. 0, -EINVAL for a file shorter than 32
 * bytes, -errno. */
int statedir_uuid(const char *dir, char out[STATEDIR_UUID_LEN + 1]);

/* Writes a fresh random "root-cookie" (0600) and returns its bytes in out. */
int statedir_new_root_cookie(const char *dir, uint8_t out[STATEDIR_COOKIE_LEN]);
/* Removes "root-cookie" (stop). */
void statedir_remove_root_cookie(const char *dir);

/* Loads "key.pem" (PKCS#8 PEM) or creates an RSA-3072 key there (0600). *out is a
 * new reference. 0 or -errno. */
int statedir_key(const char *dir, EVP_PKEY **out);
/* The public half as PKIX PEM ("PUBLIC KEY") in a new string, or NULL. */
char *statedir_public_key_pem(EVP_PKEY *key);

/* The "disabled" marker file. */
bool statedir_disabled(const char *dir);
int statedir_set_disabled(const char *dir, bool disabled);

/* snprintf of "<dir>/<name>" with a truncation check. 0 or -ENAMETOOLONG. */
int statedir_path(char *buf, size_t sz, const char *dir, const char *name);

#endif
