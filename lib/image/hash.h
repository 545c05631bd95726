/* image/hash: the SHA-512 object hash of images and object stores (spec/fleet-and-images.md
 * §4: 64 bytes, in JSON a 128-character lower-case hex string). */
#ifndef SS_IMAGE_HASH_H
#define SS_IMAGE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMAGE_HASH_LEN 64
#define IMAGE_HASH_HEXLEN 128

struct image_hash {
	uint8_t b[IMAGE_HASH_LEN];
};

/* Writes the 128 lower-case hex digits and a NUL into out. */
void image_hash_hex(const struct image_hash *h, char out[IMAGE_HASH_HEXLEN + 1]);

/* Parses exactly 128 hex digits (lower-case, as Go writes them; upper-case refused).
 * 0 or -EINVAL. */
int image_hash_parse(const char *hex, struct image_hash *h);

bool image_hash_equal(const struct image_hash *a, const struct image_hash *b);
int image_hash_cmp(const struct image_hash *a, const struct image_hash *b);

/* Incremental SHA-512 (OpenSSL EVP underneath). */
struct image_hasher;			     /* opaque */
struct image_hasher *image_hasher_new(void); /* NULL on allocation failure */
void image_hasher_update(struct image_hasher *hs, const void *buf, size_t len);
void image_hasher_final(struct image_hasher *hs, struct image_hash *out); /* resets it */
void image_hasher_free(struct image_hasher *hs);

/* SHA-512 of a whole buffer. */
void image_hash_buf(const void *buf, size_t len, struct image_hash *out);

#endif
