/*
 * test_sampler.c — the sampler on crafted logits: greedy ties, top-k == 1
 * is greedy, which ids top-p and min-p allow, seed reproducibility, that
 * temperature shapes the distribution as softmax(l / T) says, and that bad
 * options are rejected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "accinf/sampler.h"

static acc_sampler *make_sampler(float temperature, int top_k, float top_p, float min_p,
                                 uint64_t seed, int vocab)
{
    acc_sampler_options o = {.temperature = temperature, .top_k = top_k, .top_p = top_p,
                             .min_p = min_p, .seed = seed};
    acc_sampler *s = NULL;
    acc_error err = {0};
    assert_int_equal(acc_sampler_create(&o, vocab, &s, &err), ACC_OK);
    assert_non_null(s);
    return s;
}

/* Draws n samples and counts them per id. */
static void count_draws(acc_sampler *s, const float *logits, int vocab, int n, int *counts)
{
    memset(counts, 0, (size_t)vocab * sizeof *counts);
    for (int i = 0; i < n; i++) {
        int32_t id = acc_sampler_sample(s, logits);
        assert_true(id >= 0 && id < vocab);
        counts[id]++;
    }
}

static void test_greedy_argmax_ties_to_lowest(void **state)
{
    (void)state;
    float logits[6] = {0.5f, 2.0f, -1.0f, 2.0f, 1.9f, 2.0f};
    acc_sampler *s = make_sampler(0.0f, 0, 1.0f, 0.0f, 1, 6);
    for (int i = 0; i < 5; i++)
        assert_int_equal(acc_sampler_sample(s, logits), 1);
    float with_nan[6] = {NAN, -3.0f, NAN, -2.0f, -2.5f, NAN};
    assert_int_equal(acc_sampler_sample(s, with_nan), 3);
    float all_equal[6] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    assert_int_equal(acc_sampler_sample(s, all_equal), 0);
    acc_sampler_destroy(s);
}

static void test_top_k_one_is_greedy(void **state)
{
    (void)state;
    enum { V = 5000 };
    float *logits = malloc(V * sizeof *logits);
    assert_non_null(logits);
    uint32_t x = 12345;
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < V; i++) {
            x = x * 1664525u + 1013904223u;
            logits[i] = (float)(x >> 8) / (float)(1u << 24) * 10.0f - 5.0f;
        }
        if (round % 2)
            logits[V - 1] = logits[7] = 6.0f; /* a tie: lowest id wins */
        acc_sampler *greedy = make_sampler(0.0f, 0, 1.0f, 0.0f, 1, V);
        acc_sampler *topk = make_sampler(1.5f, 1, 1.0f, 0.0f, (uint64_t)round, V);
        int32_t want = acc_sampler_sample(greedy, logits);
        if (round % 2)
            assert_int_equal(want, 7);
        for (int i = 0; i < 10; i++)
            assert_int_equal(acc_sampler_sample(topk, logits), want);
        acc_sampler_destroy(greedy);
        acc_sampler_destroy(topk);
    }
    free(logits);
}

static void test_top_k_limits_candidates(void **state)
{
    (void)state;
    /* ids 9, 2, 5 are the three best */
    float logits[10] = {0.0f, 0.1f, 3.0f, 0.2f, 0.3f, 2.5f, 0.4f, 0.5f, 0.6f, 3.5f};
    acc_sampler *s = make_sampler(1.0f, 3, 1.0f, 0.0f, 7, 10);
    int counts[10];
    count_draws(s, logits, 10, 3000, counts);
    for (int i = 0; i < 10; i++) {
        if (i == 9 || i == 2 || i == 5)
            assert_true(counts[i] > 0);
        else
            assert_int_equal(counts[i], 0);
    }
    acc_sampler_destroy(s);
}

/* Large k exercises the partial selection: every draw must be among the
 * true k best (found here by counting), and a flat temperature reaches
 * most of them. */
static void test_top_k_large_matches_brute_force(void **state)
{
    (void)state;
    enum { V = 3000, K = 200 };
    float *logits = malloc(V * sizeof *logits);
    int *counts = malloc(V * sizeof *counts);
    assert_non_null(logits);
    assert_non_null(counts);
    uint32_t x = 777;
    for (int i = 0; i < V; i++) {
        x = x * 1664525u + 1013904223u;
        logits[i] = (float)(x >> 20); /* many exact ties */
    }
    acc_sampler *s = make_sampler(1000.0f, K, 1.0f, 0.0f, 5, V);
    count_draws(s, logits, V, 4000, counts);
    int distinct = 0;
    for (int i = 0; i < V; i++) {
        /* rank of i in (logit desc, id asc) */
        int better = 0;
        for (int j = 0; j < V; j++)
            better += logits[j] > logits[i] || (logits[j] == logits[i] && j < i);
        if (better >= K)
            assert_int_equal(counts[i], 0);
        distinct += counts[i] > 0;
    }
    assert_true(distinct > K - 20);
    acc_sampler_destroy(s);
    free(logits);
    free(counts);
}

static void test_top_p_keeps_the_nucleus(void **state)
{
    (void)state;
    /* probabilities 0.5, 0.25, 0.125, 0.0625, 0.0625 (ids shuffled) */
    float p[5] = {0.125f, 0.5f, 0.0625f, 0.25f, 0.0625f};
    float logits[5];
    for (int i = 0; i < 5; i++)
        logits[i] = logf(p[i]);
    int counts[5];

    /* top_p 0.7: 0.5 < 0.7 so rank 1 (id 3) joins; 0.75 >= 0.7 stops. */
    acc_sampler *s = make_sampler(1.0f, 0, 0.7f, 0.0f, 3, 5);
    count_draws(s, logits, 5, 4000, counts);
    assert_true(counts[1] > 0 && counts[3] > 0);
    assert_int_equal(counts[0] + counts[2] + counts[4], 0);
    /* renormalised: id 1 twice as likely as id 3 */
    assert_true(counts[1] > 2400 && counts[1] < 2950);
    acc_sampler_destroy(s);

    /* top_p 0.45: the top token alone reaches it. */
    s = make_sampler(1.0f, 0, 0.45f, 0.0f, 3, 5);
    count_draws(s, logits, 5, 500, counts);
    assert_int_equal(counts[1], 500);
    acc_sampler_destroy(s);

    /* top_p 0.8: 0.75 < 0.8, so the third (id 0) joins too. */
    s = make_sampler(1.0f, 0, 0.8f, 0.0f, 3, 5);
    count_draws(s, logits, 5, 4000, counts);
    assert_true(counts[0] > 0 && counts[1] > 0 && counts[3] > 0);
    assert_int_equal(counts[2] + counts[4], 0);
    acc_sampler_destroy(s);
}

static void test_top_p_large_vocab_grows_head(void **state)
{
    (void)state;
    /* A flat vocabulary: the nucleus of top_p 0.5 is half of it, far more
     * than the first sorted head, so the head must grow. */
    enum { V = 4096 };
    float *logits = malloc(V * sizeof *logits);
    int *counts = malloc(V * sizeof *counts);
    assert_non_null(logits);
    assert_non_null(counts);
    for (int i = 0; i < V; i++)
        logits[i] = (float)i * 1e-4f; /* higher ids slightly likelier */
    acc_sampler *s = make_sampler(1.0f, 0, 0.5f, 0.0f, 11, V);
    count_draws(s, logits, V, 600, counts);
    /* the nucleus is ids 2256..4095 (mass of exp(1e-4 i) from the top) */
    int low = 0, high = 0;
    for (int i = 0; i < V; i++) {
        if (i < 2200)
            low += counts[i];
        else if (i >= 2300)
            high += counts[i];
    }
    assert_int_equal(low, 0);
    assert_true(high > 540);
    acc_sampler_destroy(s);
    free(logits);
    free(counts);
}

static void test_min_p_filters_relative_to_max(void **state)
{
    (void)state;
    /* p relative to the max: 1, 0.5, 0.2, 0.09, 0.01 */
    float rel[5] = {0.09f, 1.0f, 0.01f, 0.5f, 0.2f};
    float logits[5];
    for (int i = 0; i < 5; i++)
        logits[i] = logf(rel[i]) + 3.0f;
    int counts[5];
    acc_sampler *s = make_sampler(1.0f, 0, 1.0f, 0.1f, 5, 5);
    count_draws(s, logits, 5, 5000, counts);
    assert_true(counts[1] > 0 && counts[3] > 0 && counts[4] > 0);
    assert_int_equal(counts[0] + counts[2], 0);
    acc_sampler_destroy(s);

    s = make_sampler(1.0f, 0, 1.0f, 0.6f, 5, 5);
    count_draws(s, logits, 5, 300, counts);
    assert_int_equal(counts[1], 300);
    acc_sampler_destroy(s);
}

static void test_seed_reproducibility(void **state)
{
    (void)state;
    enum { V = 300, N = 200 };
    float logits[V];
    for (int i = 0; i < V; i++)
        logits[i] = sinf((float)i) * 2.0f;
    int32_t a[N], b[N], c[N];
    acc_sampler *sa = make_sampler(0.9f, 50, 0.95f, 0.02f, 42, V);
    acc_sampler *sb = make_sampler(0.9f, 50, 0.95f, 0.02f, 42, V);
    acc_sampler *sc = make_sampler(0.9f, 50, 0.95f, 0.02f, 43, V);
    int differ = 0;
    for (int i = 0; i < N; i++) {
        a[i] = acc_sampler_sample(sa, logits);
        b[i] = acc_sampler_sample(sb, logits);
        c[i] = acc_sampler_sample(sc, logits);
        differ += a[i] != c[i];
    }
    assert_memory_equal(a, b, sizeof a);
    assert_true(differ > N / 4);
    acc_sampler_destroy(sa);
    acc_sampler_destroy(sb);
    acc_sampler_destroy(sc);
}

/* Frequencies follow softmax(l / T): chi-square-like bound per id. */
static void check_distribution(float temperature)
{
    float logits[4] = {1.0f, 0.0f, -0.5f, 0.7f};
    double p[4], sum = 0.0;
    for (int i = 0; i < 4; i++) {
        p[i] = exp((double)logits[i] / temperature);
        sum += p[i];
    }
    enum { N = 40000 };
    int counts[4];
    acc_sampler *s = make_sampler(temperature, 0, 1.0f, 0.0f, 99, 4);
    count_draws(s, logits, 4, N, counts);
    for (int i = 0; i < 4; i++) {
        double expected = p[i] / sum * N;
        double sigma = sqrt(expected * (1.0 - p[i] / sum));
        assert_true(fabs(counts[i] - expected) < 5.0 * sigma + 1.0);
    }
    acc_sampler_destroy(s);
}

static void test_temperature_shapes_distribution(void **state)
{
    (void)state;
    check_distribution(1.0f);
    check_distribution(0.5f);
    check_distribution(2.0f);
    /* very low temperature concentrates on the argmax */
    float logits[4] = {1.0f, 0.0f, -0.5f, 0.7f};
    int counts[4];
    acc_sampler *s = make_sampler(0.01f, 0, 1.0f, 0.0f, 1, 4);
    count_draws(s, logits, 4, 1000, counts);
    assert_int_equal(counts[0], 1000);
    acc_sampler_destroy(s);
}

static void test_bad_options_rejected(void **state)
{
    (void)state;
    acc_sampler *s = NULL;
    acc_error err = {0};
    acc_sampler_options bad[] = {
        {.temperature = -1.0f, .top_p = 1.0f},
        {.temperature = NAN, .top_p = 1.0f},
        {.temperature = 1.0f, .top_k = -2, .top_p = 1.0f},
        {.temperature = 1.0f, .top_p = 0.0f},
        {.temperature = 1.0f, .top_p = 1.5f},
        {.temperature = 1.0f, .top_p = 1.0f, .min_p = -0.1f},
        {.temperature = 1.0f, .top_p = 1.0f, .min_p = 2.0f},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(acc_sampler_create(&bad[i], 10, &s, &err), ACC_ERR_INPUT);
        assert_null(s);
        assert_true(strlen(err.message) > 0);
    }
    acc_sampler_options ok = {.temperature = 1.0f, .top_p = 1.0f};
    assert_int_equal(acc_sampler_create(&ok, 0, &s, &err), ACC_ERR_INPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greedy_argmax_ties_to_lowest),
        cmocka_unit_test(test_top_k_one_is_greedy),
        cmocka_unit_test(test_top_k_limits_candidates),
        cmocka_unit_test(test_top_k_large_matches_brute_force),
        cmocka_unit_test(test_top_p_keeps_the_nucleus),
        cmocka_unit_test(test_top_p_large_vocab_grows_head),
        cmocka_unit_test(test_min_p_filters_relative_to_max),
        cmocka_unit_test(test_seed_reproducibility),
        cmocka_unit_test(test_temperature_shapes_distribution),
        cmocka_unit_test(test_bad_options_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
