/*
 * kv_cache.h — bookkeeping of the paged KV cache: which blocks are free,
 * which sequence holds which blocks (its block table) and how many
 * sequences share each block (reference counts, for prefix sharing).
 *
 * The storage itself belongs to the backend; this module only hands out
 * block numbers.  Slot s of block b is row b * block_size + s of every
 * layer's K and V storage.  Copy-on-write: a sequence about to write into
 * a block it shares gets a private copy, and the caller is told which
 * block to copy where.
 */
#ifndef ACCINF_KV_CACHE_H
#define ACCINF_KV_CACHE_H

#include "accinf/base.h"

typedef struct acc_kv_cache acc_kv_cache;

typedef struct acc_kv_copy {
    int32_t from, to;
} acc_kv_copy;

acc_status acc_kv_cache_create(int n_blocks, int block_size, int max_seqs, int max_seq_tokens,
                               acc_kv_cache **out, acc_error *err);
void acc_kv_cache_destroy(acc_kv_cache *cache);

int acc_kv_cache_block_size(const acc_kv_cache *cache);
int acc_kv_cache_n_blocks(const acc_kv_cache *cache);
int acc_kv_cache_free_blocks(const acc_kv_cache *cache);
/* 0 for a free block. */
int acc_kv_cache_block_refs(const acc_kv_cache *cache, int block);

/* A new empty sequence; ACC_ERR_RUNTIME when max_seqs are in use. */
acc_status acc_kv_seq_create(acc_kv_cache *cache, int *seq, acc_error *err);
/* A new sequence sharing every block of src that holds its tokens. */
acc_status acc_kv_seq_fork(acc_kv_cache *cache, int src, int *seq, acc_error *err);
/* Drops the sequence's references; blocks nobody holds return to the pool. */
void acc_kv_seq_free(acc_kv_cache *cache, int seq);
int acc_kv_seq_valid(const acc_kv_cache *cache, int seq);
int acc_kv_seq_length(const acc_kv_cache *cache, int seq);
int acc_kv_seq_n_blocks(const acc_kv_cache *cache, int seq);
const int32_t *acc_kv_seq_block_table(const acc_kv_cache *cache, int seq);

/* Makes sure blocks for length + n_new tokens are held and that the ones
 * the new tokens go into are private.  Blocks to copy (copy-on-write) are
 * appended to copies[*n_copies] (room for one per call is enough).  On
 * failure (out of blocks: ACC_ERR_RUNTIME, beyond max_seq_tokens:
 * ACC_ERR_INPUT) the sequence is unchanged. */
acc_status acc_kv_seq_reserve(acc_kv_cache *cache, int seq, int n_new, acc_kv_copy *copies,
                              int *n_copies, acc_error *err);
/* Slot (block * block_size + offset) of a reserved position. */
int32_t acc_kv_seq_slot(const acc_kv_cache *cache, int seq, int position);
/* The tokens of a successful step are now in the cache. */
void acc_kv_seq_commit(acc_kv_cache *cache, int seq, int n_new);
/* Returns blocks reserved beyond the sequence's length (after a failed step). */
void acc_kv_seq_trim(acc_kv_cache *cache, int seq);

#endif
