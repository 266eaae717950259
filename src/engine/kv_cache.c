/*
 * kv_cache.c — free list, block tables and reference counts of the paged
 * KV cache.  All state is plain arrays sized at creation: no allocation
 * happens per step, so running out of blocks is an error, never a crash.
 */
#include "engine/kv_cache.h"

#include <stdlib.h>
#include <string.h>

typedef struct kv_seq {
    int in_use;
    int length;    /* tokens committed */
    int n_blocks;  /* blocks held (may exceed what length needs after reserve) */
    int32_t *table;
} kv_seq;

struct acc_kv_cache {
    int n_blocks, block_size, max_seqs, max_seq_blocks, max_seq_tokens;
    int32_t *refs;       /* per block */
    int32_t *free_list;  /* stack of free block numbers */
    int n_free;
    kv_seq *seqs;
    int32_t *tables;     /* max_seqs x max_seq_blocks */
};

acc_status acc_kv_cache_create(int n_blocks, int block_size, int max_seqs, int max_seq_tokens,
                               acc_kv_cache **out, acc_error *err)
{
    *out = NULL;
    if (n_blocks < 1 || block_size < 1 || max_seqs < 1 || max_seq_tokens < 1)
        return acc_error_set(err, ACC_ERR_INPUT, "KV cache: sizes must be positive");
    acc_kv_cache *cache = acc_calloc(1, sizeof *cache, err);
    if (!cache)
        return ACC_ERR_RUNTIME;
    cache->n_blocks = n_blocks;
    cache->block_size = block_size;
    cache->max_seqs = max_seqs;
    cache->max_seq_tokens = max_seq_tokens;
    cache->max_seq_blocks = (max_seq_tokens + block_size - 1) / block_size;
    cache->refs = acc_calloc((size_t)n_blocks, sizeof *cache->refs, err);
    cache->free_list = acc_malloc((size_t)n_blocks * sizeof *cache->free_list, err);
    cache->seqs = acc_calloc((size_t)max_seqs, sizeof *cache->seqs, err);
    cache->tables = acc_calloc((size_t)max_seqs * (size_t)cache->max_seq_blocks,
                               sizeof *cache->tables, err);
    if (!cache->refs || !cache->free_list || !cache->seqs || !cache->tables) {
        acc_kv_cache_destroy(cache);
        return ACC_ERR_RUNTIME;
    }
    /* low block numbers are handed out first */
    for (int i = 0; i < n_blocks; i++)
        cache->free_list[i] = n_blocks - 1 - i;
    cache->n_free = n_blocks;
    for (int s = 0; s < max_seqs; s++)
        cache->seqs[s].table = cache->tables + (size_t)s * (size_t)cache->max_seq_blocks;
    *out = cache;
    return ACC_OK;
}

void acc_kv_cache_destroy(acc_kv_cache *cache)
{
    if (!cache)
        return;
    free(cache->refs);
    free(cache->free_list);
    free(cache->seqs);
    free(cache->tables);
    free(cache);
}

int acc_kv_cache_block_size(const acc_kv_cache *cache) { return cache->block_size; }
int acc_kv_cache_n_blocks(const acc_kv_cache *cache) { return cache->n_blocks; }
int acc_kv_cache_free_blocks(const acc_kv_cache *cache) { return cache->n_free; }

int acc_kv_cache_block_refs(const acc_kv_cache *cache, int block)
{
    return block >= 0 && block < cache->n_blocks ? cache->refs[block] : 0;
}

static int32_t block_take(acc_kv_cache *cache)
{
    int32_t block = cache->free_list[--cache->n_free];
    cache->refs[block] = 1;
    return block;
}

static void block_release(acc_kv_cache *cache, int32_t block)
{
    if (--cache->refs[block] == 0)
        cache->free_list[cache->n_free++] = block;
}

int acc_kv_seq_valid(const acc_kv_cache *cache, int seq)
{
    return seq >= 0 && seq < cache->max_seqs && cache->seqs[seq].in_use;
}

static acc_status seq_new(acc_kv_cache *cache, int *seq, acc_error *err)
{
    for (int s = 0; s < cache->max_seqs; s++) {
        if (!cache->seqs[s].in_use) {
            cache->seqs[s].in_use = 1;
            cache->seqs[s].length = 0;
            cache->seqs[s].n_blocks = 0;
            *seq = s;
            return ACC_OK;
        }
    }
    return acc_error_set(err, ACC_ERR_RUNTIME, "KV cache: all %d sequences are in use",
                         cache->max_seqs);
}

acc_status acc_kv_seq_create(acc_kv_cache *cache, int *seq, acc_error *err)
{
    return seq_new(cache, seq, err);
}

acc_status acc_kv_seq_fork(acc_kv_cache *cache, int src, int *seq, acc_error *err)
{
    if (!acc_kv_seq_valid(cache, src))
        return acc_error_set(err, ACC_ERR_INPUT, "KV cache: no sequence %d", src);
    acc_status status = seq_new(cache, seq, err);
    if (status != ACC_OK)
        return status;
    const kv_seq *from = &cache->seqs[src];
    kv_seq *to = &cache->seqs[*seq];
    int used = (from->length + cache->block_size - 1) / cache->block_size;
    for (int b = 0; b < used; b++) {
        to->table[b] = from->table[b];
        cache->refs[from->table[b]]++;
    }
    to->n_blocks = used;
    to->length = from->length;
    return ACC_OK;
}

void acc_kv_seq_free(acc_kv_cache *cache, int seq)
{
    if (!acc_kv_seq_valid(cache, seq))
        return;
    kv_seq *s = &cache->seqs[seq];
    for (int b = 0; b < s->n_blocks; b++)
        block_release(cache, s->table[b]);
    s->in_use = 0;
    s->n_blocks = 0;
    s->length = 0;
}

int acc_kv_seq_length(const acc_kv_cache *cache, int seq)
{
    return acc_kv_seq_valid(cache, seq) ? cache->seqs[seq].length : -1;
}

int acc_kv_seq_n_blocks(const acc_kv_cache *cache, int seq)
{
    return acc_kv_seq_valid(cache, seq) ? cache->seqs[seq].n_blocks : 0;
}

const int32_t *acc_kv_seq_block_table(const acc_kv_cache *cache, int seq)
{
    return acc_kv_seq_valid(cache, seq) ? cache->seqs[seq].table : NULL;
}

acc_status acc_kv_seq_reserve(acc_kv_cache *cache, int seq, int n_new, acc_kv_copy *copies,
                              int *n_copies, acc_error *err)
{
    if (!acc_kv_seq_valid(cache, seq))
        return acc_error_set(err, ACC_ERR_INPUT, "KV cache: no sequence %d", seq);
    kv_seq *s = &cache->seqs[seq];
    if (n_new < 0 || n_new > cache->max_seq_tokens - s->length)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "sequence %d: %d + %d tokens exceed the context limit of %d", seq,
                             s->length, n_new, cache->max_seq_tokens);
    int needed = (s->length + n_new + cache->block_size - 1) / cache->block_size;
    int first_written = s->length / cache->block_size;
    /* the partly filled block the first new token goes into may be shared */
    int cow = n_new > 0 && first_written < s->n_blocks && cache->refs[s->table[first_written]] > 1;
    int extra = (needed > s->n_blocks ? needed - s->n_blocks : 0) + cow;
    if (extra > cache->n_free)
        return acc_error_set(err, ACC_ERR_RUNTIME,
                             "KV cache full: sequence %d needs %d more blocks of %d tokens, %d "
                             "of %d are free",
                             seq, extra, cache->block_size, cache->n_free, cache->n_blocks);
    if (cow) {
        int32_t shared = s->table[first_written];
        int32_t private_block = block_take(cache);
        block_release(cache, shared);
        s->table[first_written] = private_block;
        copies[(*n_copies)++] = (acc_kv_copy){shared, private_block};
    }
    while (s->n_blocks < needed)
        s->table[s->n_blocks++] = block_take(cache);
    return ACC_OK;
}

int32_t acc_kv_seq_slot(const acc_kv_cache *cache, int seq, int position)
{
    const kv_seq *s = &cache->seqs[seq];
    return s->table[position / cache->block_size] * cache->block_size +
           position % cache->block_size;
}

void acc_kv_seq_commit(acc_kv_cache *cache, int seq, int n_new)
{
    if (acc_kv_seq_valid(cache, seq))
        cache->seqs[seq].length += n_new;
}

void acc_kv_seq_trim(acc_kv_cache *cache, int seq)
{
    if (!acc_kv_seq_valid(cache, seq))
        return;
    kv_seq *s = &cache->seqs[seq];
    int used = (s->length + cache->block_size - 1) / cache->block_size;
    while (s->n_blocks > used)
        block_release(cache, s->table[--s->n_blocks]);
}
