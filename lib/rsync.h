/* rsync: Dominator's block-sync exchange ("GetBlocks", lib/rsync of the original), as
 * GetVmVolume carries it after its reply. The client sends GetBlocksRequest
 * {BlockOrder, NumBlocks} and then NumBlocks raw SHA-512 hashes (64 bytes each) of
 * the 2^BlockOrder-byte blocks it already has; the server answers with Block
 * {Error, Index, Size} messages, each but the last followed by Size raw bytes: one
 * per block whose hash differs, then one for everything past the hashed blocks, and
 * a Block of Size 0 at the end (the tail block is that end when it is empty).
 *
 * The messages are JSON (the SRPC JSON coder): field names as Go writes them, read
 * case-insensitively. The pure parts (block order, message building and parsing)
 * have no I/O; the two exchange functions run over an srpc_conn. */
#ifndef SS_RSYNC_H
#define SS_RSYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "srpc.h"

#define RSYNC_HASH_LEN 64 /* SHA-512 */
#define RSYNC_MIN_ORDER 9
#define RSYNC_MAX_ORDER 32

struct rsync_stats {
	uint64_t nread;	   /* bytes received: block data */
	uint64_t nwritten; /* bytes sent: hashes */
	uint64_t nblocks;  /* data blocks received (the tail counts when not empty) */
};

/* The block order a client asks for a volume of total bytes: half the index of its
 * highest set bit, within [RSYNC_MIN_ORDER, RSYNC_MAX_ORDER]. */
unsigned rsync_block_order(uint64_t total);

/* {"BlockOrder":order,"NumBlocks":nblocks}: a new reference, NULL on ENOMEM. */
json_t *rsync_request_json(unsigned order, uint64_t nblocks);
/* Reads a GetBlocksRequest (missing fields are 0). 0 or -EINVAL (not an object, a
 * field of the wrong type or out of range). The order is not range-checked here. */
int rsync_request_parse(const json_t *j, unsigned *order, uint64_t *nblocks);

/* {"Error":error,"Index":index,"Size":size} (error NULL = ""): a new reference. */
json_t *rsync_block_json(const char *error, uint64_t index, uint64_t size);
/* Reads a Block: the error text into err (truncated to errsz), 0 or -EINVAL. */
int rsync_block_parse(const json_t *j, char *err, size_t errsz, uint64_t *index, uint64_t *size);

/* Server side: reads the request and the hashes from c and sends the blocks of the
 * length bytes of fd (read with pread; bytes past the end of the file are zeros).
 * A request with a bad order is answered with Block{Error:"bad block order"}; one
 * with more blocks than length holds with Block{Error:"too many blocks"}. Returns 0
 * when the exchange ended cleanly (the connection can take the next call), or -errno
 * with the reason in err (the connection must then be closed: hashes may be unread). */
int rsync_serve_blocks(struct srpc_conn *c, int fd, uint64_t length, char *err, size_t errsz);

/* Client side: fetches a volume of total bytes into writer_fd (pwrite at each block's
 * offset). reader_fd (-1 for none) holds reader_bytes of an earlier copy whose whole
 * blocks are hashed and sent, so only differing blocks travel; reader_fd and
 * writer_fd may be the same file. Blocks that would end past total are refused.
 * Zero data beyond the writer's size at the start is not written (the file stays
 * sparse) but the file is extended to the end of the last block. Sending hashes and
 * receiving blocks interleave (poll on the connection's socket), so neither side
 * blocks the other. 0, -EREMOTEIO when the server sent a Block with an Error (its
 * text in err), or -errno with err set. st may be NULL. */
int rsync_get_blocks(struct srpc_conn *c, int reader_fd, int writer_fd, uint64_t total,
		     uint64_t reader_bytes, struct rsync_stats *st, char *err, size_t errsz);

#endif
