/* image/hash: SHA-512 object hashes and their hex form. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "image/hash.h"

struct image_hasher {
	EVP_MD_CTX *ctx;
};

void image_hash_hex(const struct image_hash *h, char out[IMAGE_HASH_HEXLEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < IMAGE_HASH_LEN; i++) {
		out[2 * i] = digits[h->b[i] >> 4];
		out[2 * i + 1] = digits[h->b[i] & 15];
	}
	out[IMAGE_HASH_HEXLEN] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int image_hash_parse(const char *hex, struct image_hash *h)
{
	if (!hex || strlen(hex) != IMAGE_HASH_HEXLEN)
		return -EINVAL;
	for (size_t i = 0; i < IMAGE_HASH_LEN; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		h->b[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

bool image_hash_equal(const struct image_hash *a, const struct image_hash *b)
{
	return memcmp(a->b, b->b, IMAGE_HASH_LEN) == 0;
}

int image_hash_cmp(const struct image_hash *a, const struct image_hash *b)
{
	return memcmp(a->b, b->b, IMAGE_HASH_LEN);
}

struct image_hasher *image_hasher_new(void)
{
	struct image_hasher *hs = calloc(1, sizeof(*hs));

	if (!hs)
		return NULL;
	hs->ctx = EVP_MD_CTX_new();
	if (!hs->ctx || EVP_DigestInit_ex(hs->ctx, EVP_sha512(), NULL) != 1) {
		image_hasher_free(hs);
		return NULL;
	}
	return hs;
}

void image_hasher_update(struct image_hasher *hs, const void *buf, size_t len)
{
	EVP_DigestUpdate(hs->ctx, buf, len);
}

void image_hasher_final(struct image_hasher *hs, struct image_hash *out)
{
	unsigned int len = IMAGE_HASH_LEN;

	EVP_DigestFinal_ex(hs->ctx, out->b, &len);
	EVP_DigestInit_ex(hs->ctx, EVP_sha512(), NULL);
}

void image_hasher_free(struct image_hasher *hs)
{
	if (!hs)
		return;
	EVP_MD_CTX_free(hs->ctx);
	free(hs);
}

void image_hash_buf(const void *buf, size_t len, struct image_hash *out)
{
	unsigned int olen = IMAGE_HASH_LEN;

	EVP_Digest(buf, len, out->b, &olen, EVP_sha512(), NULL);
}
