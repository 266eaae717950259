/*
 * test_engine_sample.c — acc_engine_forward_sample on the CPU backend (no
 * run_sample op): the tokens are exactly those of acc_engine_forward
 * followed by acc_sampler_sample with the same seeded samplers, for a
 * batch that fits one step and for one run in chunks (several sequences
 * longer than max_batch_tokens), greedy and sampled.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "accinf/engine.h"
#include "accinf/model.h"
#include "accinf/sampler.h"

static acc_engine *engine_new(const acc_model *model, int max_batch_tokens)
{
    acc_engine_options o = {.threads = 1, .max_sequences = 3, .max_context = 64,
                            .max_batch_tokens = max_batch_tokens};
    acc_engine *e = NULL;
    acc_error err;
    assert_int_equal(acc_engine_create(model, &o, &e, &err), ACC_OK);
    return e;
}

static void check(int max_batch_tokens, float temperature)
{
    acc_model *model;
    acc_error err;
    assert_int_equal(acc_model_open(ACCINF_FIXTURES "/models/llama-tiny", &model, &err), ACC_OK);
    int vocab = acc_model_hparams(model)->vocab_size;
    acc_engine *a = engine_new(model, max_batch_tokens), *b = engine_new(model, max_batch_tokens);
    acc_sampler_options so = {.temperature = temperature, .top_k = 8, .top_p = 0.9f, .seed = 11};
    acc_sampler *sa[3], *sb[3];
    int ids[3];
    for (int i = 0; i < 3; i++) {
        so.seed = 11 + (uint64_t)i;
        assert_int_equal(acc_sampler_create(&so, vocab, &sa[i], &err), ACC_OK);
        assert_int_equal(acc_sampler_create(&so, vocab, &sb[i], &err), ACC_OK);
        int x, y;
        assert_int_equal(acc_engine_seq_create(a, &x, &err), ACC_OK);
        assert_int_equal(acc_engine_seq_create(b, &y, &err), ACC_OK);
        assert_int_equal(x, y);
        ids[i] = x;
    }
    int32_t p0[7] = {1, 2, 3, 4, 5, 6, 7}, p1[5] = {9, 8, 7, 6, 5}, p2[6] = {3, 1, 4, 1, 5, 9};
    const int32_t *lists[3] = {p0, p1, p2};
    int n[3] = {7, 5, 6};
    float *logits = malloc(3 * (size_t)vocab * sizeof *logits);
    assert_non_null(logits);
    int32_t next_a[3], next_b[3];
    for (int step = 0; step < 6; step++) {
        acc_batch batch = {.n_seqs = 3, .seq_ids = ids, .tokens = lists, .n_tokens = n};
        assert_int_equal(acc_engine_forward_sample(a, &batch, sa, next_a, &err), ACC_OK);
        assert_int_equal(acc_engine_forward(b, &batch, logits, &err), ACC_OK);
        for (int i = 0; i < 3; i++) {
            next_b[i] = acc_sampler_sample(sb[i], logits + (size_t)i * (size_t)vocab);
            assert_int_equal(next_a[i], next_b[i]);
        }
        /* then one token each */
        static int32_t one[3];
        for (int i = 0; i < 3; i++) {
            one[i] = next_a[i];
            lists[i] = &one[i];
            n[i] = 1;
        }
    }
    free(logits);
    for (int i = 0; i < 3; i++) {
        acc_sampler_destroy(sa[i]);
        acc_sampler_destroy(sb[i]);
    }
    acc_engine_destroy(a);
    acc_engine_destroy(b);
    acc_model_close(model);
}

static void test_one_step_greedy(void **state)
{
    (void)state;
    check(0, 0.0f);
}

static void test_one_step_sampled(void **state)
{
    (void)state;
    check(0, 0.8f);
}

static void test_chunked_sampled(void **state)
{
    (void)state;
    check(4, 0.8f); /* 18 prompt tokens in steps of 4 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_step_greedy),
        cmocka_unit_test(test_one_step_sampled),
        cmocka_unit_test(test_chunked_sampled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
