/*
 * test_kv_cache.c — the paged KV cache's bookkeeping: block allocation and
 * release, slots, reference counts under fork and free, copy-on-write of a
 * shared partial block, exhaustion and context-limit errors that leave the
 * cache unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "engine/kv_cache.h"

static void test_alloc_and_free(void **state)
{
    (void)state;
    acc_kv_cache *cache;
    acc_error err;
    assert_int_equal(acc_kv_cache_create(8, 4, 2, 20, &cache, &err), ACC_OK);
    int seq;
    assert_int_equal(acc_kv_seq_create(cache, &seq, &err), ACC_OK);
    acc_kv_copy copies[2];
    int n_copies = 0;
    assert_int_equal(acc_kv_seq_reserve(cache, seq, 5, copies, &n_copies, &err), ACC_OK);
    assert_int_equal(n_copies, 0);
    assert_int_equal(acc_kv_seq_n_blocks(cache, seq), 2);
    assert_int_equal(acc_kv_cache_free_blocks(cache), 6);
    const int32_t *table = acc_kv_seq_block_table(cache, seq);
    assert_int_equal(acc_kv_seq_slot(cache, seq, 0), table[0] * 4);
    assert_int_equal(acc_kv_seq_slot(cache, seq, 4), table[1] * 4);
    assert_true(table[0] != table[1]);
    acc_kv_seq_commit(cache, seq, 5);
    assert_int_equal(acc_kv_seq_length(cache, seq), 5);
    /* 3 more fit in the second block */
    assert_int_equal(acc_kv_seq_reserve(cache, seq, 3, copies, &n_copies, &err), ACC_OK);
    assert_int_equal(acc_kv_seq_n_blocks(cache, seq), 2);
    acc_kv_seq_commit(cache, seq, 3);
    assert_int_equal(acc_kv_cache_block_refs(cache, table[0]), 1);
    acc_kv_seq_free(cache, seq);
    assert_int_equal(acc_kv_cache_free_blocks(cache), 8);
    assert_int_equal(acc_kv_cache_block_refs(cache, table[0]), 0);
    assert_false(acc_kv_seq_valid(cache, seq));
    acc_kv_cache_destroy(cache);
}

static void test_exhaustion_and_limits(void **state)
{
    (void)state;
    acc_kv_cache *cache;
    acc_error err;
    assert_int_equal(acc_kv_cache_create(3, 4, 2, 16, &cache, &err), ACC_OK);
    int a, b, c;
    assert_int_equal(acc_kv_seq_create(cache, &a, &err), ACC_OK);
    assert_int_equal(acc_kv_seq_create(cache, &b, &err), ACC_OK);
    assert_int_equal(acc_kv_seq_create(cache, &c, &err), ACC_ERR_RUNTIME);
    assert_non_null(strstr(err.message, "sequences"));
    acc_kv_copy copies[2];
    int n_copies = 0;
    assert_int_equal(acc_kv_seq_reserve(cache, a, 8, copies, &n_copies, &err), ACC_OK);
    acc_kv_seq_commit(cache, a, 8);
    /* b needs 2 blocks, one is free: error, nothing taken */
    assert_int_equal(acc_kv_seq_reserve(cache, b, 5, copies, &n_copies, &err), ACC_ERR_RUNTIME);
    assert_non_null(strstr(err.message, "KV cache full"));
    assert_int_equal(acc_kv_seq_n_blocks(cache, b), 0);
    assert_int_equal(acc_kv_cache_free_blocks(cache), 1);
    /* beyond the per-sequence limit is bad input */
    assert_int_equal(acc_kv_seq_reserve(cache, a, 9, copies, &n_copies, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "context limit of 16"));
    /* trim returns reserved-but-unused blocks */
    assert_int_equal(acc_kv_seq_reserve(cache, b, 4, copies, &n_copies, &err), ACC_OK);
    assert_int_equal(acc_kv_cache_free_blocks(cache), 0);
    acc_kv_seq_trim(cache, b);
    assert_int_equal(acc_kv_cache_free_blocks(cache), 1);
    /* bad ids are harmless */
    acc_kv_seq_free(cache, 99);
    acc_kv_seq_free(cache, -1);
    assert_int_equal(acc_kv_seq_length(cache, 5), -1);
    assert_int_equal(acc_kv_seq_reserve(cache, 7, 1, copies, &n_copies, &err), ACC_ERR_INPUT);
    acc_kv_cache_destroy(cache);
}

static void test_fork_refcounts_and_copy_on_write(void **state)
{
    (void)state;
    acc_kv_cache *cache;
    acc_error err;
    assert_int_equal(acc_kv_cache_create(10, 4, 3, 32, &cache, &err), ACC_OK);
    int a, b;
    acc_kv_copy copies[2];
    int n_copies = 0;
    assert_int_equal(acc_kv_seq_create(cache, &a, &err), ACC_OK);
    assert_int_equal(acc_kv_seq_reserve(cache, a, 6, copies, &n_copies, &err), ACC_OK);
    acc_kv_seq_commit(cache, a, 6);
    const int32_t *ta = acc_kv_seq_block_table(cache, a);
    int32_t full = ta[0], partial = ta[1];
    assert_int_equal(acc_kv_seq_fork(cache, a, &b, &err), ACC_OK);
    assert_int_equal(acc_kv_seq_length(cache, b), 6);
    assert_int_equal(acc_kv_cache_block_refs(cache, full), 2);
    assert_int_equal(acc_kv_cache_block_refs(cache, partial), 2);
    assert_int_equal(acc_kv_cache_free_blocks(cache), 8);
    /* b writes position 6, inside the shared partial block: b gets a copy */
    assert_int_equal(acc_kv_seq_reserve(cache, b, 1, copies, &n_copies, &err), ACC_OK);
    assert_int_equal(n_copies, 1);
    const int32_t *tb = acc_kv_seq_block_table(cache, b);
    assert_int_equal(copies[0].from, partial);
    assert_int_equal(copies[0].to, tb[1]);
    assert_true(tb[1] != partial);
    assert_int_equal(tb[0], full);
    assert_int_equal(acc_kv_cache_block_refs(cache, partial), 1);
    assert_int_equal(acc_kv_cache_block_refs(cache, full), 2);
    acc_kv_seq_commit(cache, b, 1);
    /* a now owns its partial block alone: no copy */
    n_copies = 0;
    assert_int_equal(acc_kv_seq_reserve(cache, a, 1, copies, &n_copies, &err), ACC_OK);
    assert_int_equal(n_copies, 0);
    acc_kv_seq_commit(cache, a, 1);
    acc_kv_seq_free(cache, a);
    assert_int_equal(acc_kv_cache_block_refs(cache, full), 1);
    assert_int_equal(acc_kv_cache_block_refs(cache, partial), 0);
    acc_kv_seq_free(cache, b);
    assert_int_equal(acc_kv_cache_free_blocks(cache), 10);
    acc_kv_cache_destroy(cache);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_and_free),
        cmocka_unit_test(test_exhaustion_and_limits),
        cmocka_unit_test(test_fork_refcounts_and_copy_on_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
