/* State directory files (see statedir.h). */
#include "daemon/hypervisor/vmm/statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "fsutil.h"

int statedir_path(char *buf, size_t sz, const char *dir, const char *name)
{
	int n = snprintf(buf, sz, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= sz ? -ENAMETOOLONG : 0;
}

int statedir_create(const char *dir)
{
	char p[4096];
	int rc = fsutil_mkdir_p(dir, 0755);

	if (rc < 0)
		return rc;
	rc = statedir_path(p, sizeof(p), dir, "VMs");
	return rc < 0 ? rc : fsutil_mkdir_p(p, 0755);
}

int statedir_lock(const char *dir, char **err)
{
	return fsutil_lock_dir(dir, "hypervisor", true, err);
}

int statedir_uuid(const char *dir, char out[STATEDIR_UUID_LEN + 1])
{
	char p[4096], text[STATEDIR_UUID_LEN + 2], *buf = NULL;
	uint8_t raw[16];
	size_t len = 0;
	int rc;

	rc = statedir_path(p, sizeof(p), dir, "uuid");
	if (rc < 0)
		return rc;
	rc = fsutil_read_file(p, 4096, &buf, &len);
	if (rc == 0) {
		if (len < STATEDIR_UUID_LEN) {
			free(buf);
			return -EINVAL;
		}
		memcpy(out, buf, STATEDIR_UUID_LEN);
		out[STATEDIR_UUID_LEN] = '\0';
		free(buf);
		return 0;
	}
	if (rc != -ENOENT)
		return rc;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -EIO;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(text + 2 * i, 3, "%02x", raw[i]);
	text[STATEDIR_UUID_LEN] = '\n';
	rc = fsutil_write_atomic(p, text, STATEDIR_UUID_LEN + 1, 0644);
	if (rc < 0)
		return rc;
	memcpy(out, text, STATEDIR_UUID_LEN);
	out[STATEDIR_UUID_LEN] = '\0';
	return 0;
}

int statedir_new_root_cookie(const char *dir, uint8_t out[STATEDIR_COOKIE_LEN])
{
	char p[4096];
	int rc = statedir_path(p, sizeof(p), dir, "root-cookie");

	if (rc < 0)
		return rc;
	if (RAND_bytes(out, STATEDIR_COOKIE_LEN) != 1)
		return -EIO;
	return fsutil_write_atomic(p, out, STATEDIR_COOKIE_LEN, 0600);
}

void statedir_remove_root_cookie(const char *dir)
{
	char p[4096];

	if (statedir_path(p, sizeof(p), dir, "root-cookie") == 0)
		unlink(p);
}

static int load_key(const char *path, EVP_PKEY **out)
{
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return -errno;
	*out = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return *out ? 0 : -EINVAL;
}

static int create_key(const char *path, EVP_PKEY **out)
{
	EVP_PKEY *key = EVP_RSA_gen(3072);
	BIO *mem;
	char *pem;
	long len;
	int rc;

	if (key == NULL)
		return -EIO;
	mem = BIO_new(BIO_s_mem());
	if (mem == NULL || !PEM_write_bio_PKCS8PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL)) {
		BIO_free(mem);
		EVP_PKEY_free(key);
		return -ENOMEM;
	}
	len = BIO_get_mem_data(mem, &pem);
	rc = fsutil_write_atomic(path, pem, (size_t)len, 0600);
	BIO_free(mem);
	if (rc < 0) {
		EVP_PKEY_free(key);
		return rc;
	}
	*out = key;
	return 0;
}

int statedir_key(const char *dir, EVP_PKEY **out)
{
	char p[4096];
	int rc;

	*out = NULL;
	rc = statedir_path(p, sizeof(p), dir, "key.pem");
	if (rc < 0)
		return rc;
	rc = load_key(p, out);
	if (rc == -ENOENT)
		rc = create_key(p, out);
	return rc;
}

char *statedir_public_key_pem(EVP_PKEY *key)
{
	BIO *mem = BIO_new(BIO_s_mem());
	char *data, *pem = NULL;
	long len;

	if (mem == NULL)
		return NULL;
	if (PEM_write_bio_PUBKEY(mem, key)) {
		len = BIO_get_mem_data(mem, &data);
		pem = strndup(data, (size_t)len);
	}
	BIO_free(mem);
	return pem;
}

bool statedir_disabled(const char *dir)
{
	char p[4096];

	return statedir_path(p, sizeof(p), dir, "disabled") == 0 && access(p, F_OK) == 0;
}

int statedir_set_disabled(const char *dir, bool disabled)
{
	char p[4096];
	int rc = statedir_path(p, sizeof(p), dir, "disabled");

	if (rc < 0)
		return rc;
	if (disabled)
		return fsutil_write_atomic(p, "", 0, 0644);
	if (unlink(p) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}
