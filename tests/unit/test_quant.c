/*
 * test_quant.c — ggml block formats: our quantizers must produce exactly the
 * bytes ggml's reference quantizers produced for a fixed input
 * (tests/fixtures/quant, see docs/GGUF.md), our dequantizers exactly ggml's
 * floats; round-trip error bounds per type on random data; dot products
 * against the dequantized reference; the type table; hostile input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accinf/quant.h"

#define KAT_N 4096

static void *read_fixture(const char *name, size_t expected_size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/quant/%s", ACCINF_FIXTURES, name);
    FILE *stream = fopen(path, "rb");
    if (!stream)
        fail_msg("missing fixture %s", path);
    void *data = malloc(expected_size + 1);
    assert_non_null(data);
    size_t got = fread(data, 1, expected_size + 1, stream);
    fclose(stream);
    if (got != expected_size)
        fail_msg("%s: %zu bytes, expected %zu", path, got, expected_size);
    return data;
}

static const acc_ggml_type kat_types[] = {
    ACC_GGML_Q8_0, ACC_GGML_Q4_0, ACC_GGML_Q4_1, ACC_GGML_Q5_0, ACC_GGML_Q5_1,
    ACC_GGML_Q2_K, ACC_GGML_Q3_K, ACC_GGML_Q4_K, ACC_GGML_Q5_K, ACC_GGML_Q6_K,
};

static size_t bytes_of(acc_ggml_type type, int64_t n)
{
    uint64_t bytes;
    assert_int_equal(acc_ggml_row_bytes(type, n, &bytes), 0);
    return (size_t)bytes;
}

/* Quantized bytes equal ggml's, byte for byte, for every type. */
static void test_known_answer_bytes(void **state)
{
    (void)state;
    float *input = read_fixture("input.f32", KAT_N * sizeof(float));
    for (size_t t = 0; t < sizeof kat_types / sizeof *kat_types; t++) {
        acc_ggml_type type = kat_types[t];
        char name[64];
        snprintf(name, sizeof name, "%s.bin", acc_ggml_type_name(type));
        size_t size = bytes_of(type, KAT_N);
        uint8_t *expected = read_fixture(name, size);
        uint8_t *ours = malloc(size);
        assert_non_null(ours);
        assert_int_equal(acc_quantize(type, input, ours, KAT_N, NULL), ACC_OK);
        for (size_t i = 0; i < size; i++)
            if (ours[i] != expected[i])
                fail_msg("%s: byte %zu (block %zu) is %02x, ggml wrote %02x",
                         acc_ggml_type_name(type), i, i / acc_ggml_type_size(type), ours[i],
                         expected[i]);
        free(ours);
        free(expected);
    }
    free(input);
}

static void test_known_answer_q8_K(void **state)
{
    (void)state;
    float *input = read_fixture("input.f32", KAT_N * sizeof(float));
    acc_block_q8_K *expected = read_fixture("q8_K.bin", KAT_N / 256 * sizeof(acc_block_q8_K));
    acc_block_q8_K ours[KAT_N / 256];
    acc_quantize_row_q8_K(input, ours, KAT_N);
    for (int b = 0; b < KAT_N / 256; b++) {
        /* ggml leaves bsums unset for an all-zero block; compare the rest there */
        assert_memory_equal(&ours[b].d, &expected[b].d, sizeof(float));
        assert_memory_equal(ours[b].qs, expected[b].qs, 256);
        if (expected[b].d != 0)
            assert_memory_equal(ours[b].bsums, expected[b].bsums, sizeof ours[b].bsums);
    }
    free(expected);
    free(input);
}

/* Dequantizing ggml's bytes gives ggml's floats, bit for bit. */
static void test_known_answer_dequantize(void **state)
{
    (void)state;
    float *out = malloc(KAT_N * sizeof(float));
    assert_non_null(out);
    for (size_t t = 0; t < sizeof kat_types / sizeof *kat_types; t++) {
        acc_ggml_type type = kat_types[t];
        char name[64];
        snprintf(name, sizeof name, "%s.bin", acc_ggml_type_name(type));
        uint8_t *blocks = read_fixture(name, bytes_of(type, KAT_N));
        snprintf(name, sizeof name, "%s.deq.f32", acc_ggml_type_name(type));
        float *expected = read_fixture(name, KAT_N * sizeof(float));
        assert_int_equal(acc_dequantize(type, blocks, out, KAT_N, NULL), ACC_OK);
        for (int i = 0; i < KAT_N; i++)
            if (memcmp(&out[i], &expected[i], sizeof(float)) != 0)
                fail_msg("%s: element %d is %.9g, ggml gives %.9g", acc_ggml_type_name(type), i,
                         (double)out[i], (double)expected[i]);
        free(expected);
        free(blocks);
    }
    free(out);
}

/* ---- random data -------------------------------------------------------- */

static uint32_t lcg_state;

static float uniform(void)
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return (float)(lcg_state >> 8) / 16777216.0f * 2 - 1;
}

/* Roughly Gaussian values, like trained weights. */
static void fill_random(float *x, int64_t n, uint32_t seed)
{
    lcg_state = seed;
    for (int64_t i = 0; i < n; i++)
        x[i] = (uniform() + uniform() + uniform()) * 0.5f;
}

/* RMS error of the round trip divided by the RMS of the data. */
static double relative_rmse(acc_ggml_type type, const float *x, int64_t n)
{
    void *q = malloc(bytes_of(type, n));
    float *back = malloc((size_t)n * sizeof(float));
    assert_non_null(q);
    assert_non_null(back);
    assert_int_equal(acc_quantize(type, x, q, n, NULL), ACC_OK);
    assert_int_equal(acc_dequantize(type, q, back, n, NULL), ACC_OK);
    double err2 = 0, sig2 = 0;
    for (int64_t i = 0; i < n; i++) {
        err2 += ((double)back[i] - x[i]) * ((double)back[i] - x[i]);
        sig2 += (double)x[i] * x[i];
    }
    free(q);
    free(back);
    return sqrt(err2 / sig2);
}

static void test_round_trip_error_bounds(void **state)
{
    (void)state;
    /* Bounds sit 15-25% above what these formats achieve on this data
     * (measured; their bits per weight decide it); a broken packing or
     * scale search lands far above them. */
    static const struct {
        acc_ggml_type type;
        double max_rel_rmse;
    } bounds[] = {
        {ACC_GGML_F16, 0.0003}, {ACC_GGML_BF16, 0.0025}, {ACC_GGML_Q8_0, 0.006},
        {ACC_GGML_Q6_K, 0.02},  {ACC_GGML_Q5_0, 0.045}, {ACC_GGML_Q5_1, 0.042},
        {ACC_GGML_Q5_K, 0.04},  {ACC_GGML_Q4_0, 0.09},  {ACC_GGML_Q4_1, 0.085},
        {ACC_GGML_Q4_K, 0.078}, {ACC_GGML_Q3_K, 0.165}, {ACC_GGML_Q2_K, 0.33},
        {ACC_GGML_Q8_K, 0.007},
    };
    enum { N = 256 * 64 };
    float *x = malloc(N * sizeof(float));
    assert_non_null(x);
    fill_random(x, N, 7);
    for (size_t i = 0; i < sizeof bounds / sizeof *bounds; i++) {
        double e = relative_rmse(bounds[i].type, x, N);
        if (!(e <= bounds[i].max_rel_rmse))
            fail_msg("%s: relative RMSE %.5f above %.5f", acc_ggml_type_name(bounds[i].type), e,
                     bounds[i].max_rel_rmse);
    }
    assert_true(relative_rmse(ACC_GGML_F32, x, N) == 0);
    free(x);
}

/* Per element, q8_0 is within half a step (plus the f16 rounding of d). */
static void test_q8_0_max_error(void **state)
{
    (void)state;
    float x[256], back[256];
    acc_block_q8_0 q[8];
    fill_random(x, 256, 11);
    acc_quantize_row_q8_0(x, q, 256);
    acc_dequantize_row_q8_0(q, back, 256);
    for (int b = 0; b < 8; b++) {
        float amax = 0;
        for (int j = 0; j < 32; j++)
            amax = fmaxf(amax, fabsf(x[32 * b + j]));
        for (int j = 0; j < 32; j++)
            assert_true(fabsf(back[32 * b + j] - x[32 * b + j]) <= amax / 127 * 0.5f + amax * 1e-3f);
    }
}

/* ---- dot products ------------------------------------------------------- */

static double reference_dot(acc_ggml_type wtype, const void *w, acc_ggml_type atype,
                            const void *a, int64_t n, double *magnitude)
{
    float *fw = malloc((size_t)n * sizeof(float)), *fa = malloc((size_t)n * sizeof(float));
    assert_non_null(fw);
    assert_non_null(fa);
    assert_int_equal(acc_dequantize(wtype, w, fw, n, NULL), ACC_OK);
    assert_int_equal(acc_dequantize(atype, a, fa, n, NULL), ACC_OK);
    double dot = 0, mag = 0;
    for (int64_t i = 0; i < n; i++) {
        dot += (double)fw[i] * fa[i];
        mag += fabs((double)fw[i] * fa[i]);
    }
    free(fw);
    free(fa);
    *magnitude = mag;
    return dot;
}

static void test_dot_products(void **state)
{
    (void)state;
    enum { N = 1024 };
    float w[N], a[N];
    fill_random(w, N, 3);
    fill_random(a, N, 5);
    static uint8_t wq[N * 2];
    static acc_block_q8_0 a8[N / 32];
    static acc_block_q8_K ak[N / 256];
    acc_quantize_row_q8_0(a, a8, N);
    acc_quantize_row_q8_K(a, ak, N);
    static const struct {
        acc_ggml_type type;
        int k_quant;
    } cases[] = {
        {ACC_GGML_Q4_0, 0}, {ACC_GGML_Q4_1, 0}, {ACC_GGML_Q5_0, 0}, {ACC_GGML_Q5_1, 0},
        {ACC_GGML_Q8_0, 0}, {ACC_GGML_Q2_K, 1}, {ACC_GGML_Q3_K, 1}, {ACC_GGML_Q4_K, 1},
        {ACC_GGML_Q5_K, 1}, {ACC_GGML_Q6_K, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        acc_ggml_type type = cases[c].type;
        assert_int_equal(acc_quantize(type, w, wq, N, NULL), ACC_OK);
        float got = 0;
        switch (type) {
        case ACC_GGML_Q4_0: got = acc_vec_dot_q4_0_q8(N, (void *)wq, a8); break;
        case ACC_GGML_Q4_1: got = acc_vec_dot_q4_1_q8(N, (void *)wq, a8); break;
        case ACC_GGML_Q5_0: got = acc_vec_dot_q5_0_q8(N, (void *)wq, a8); break;
        case ACC_GGML_Q5_1: got = acc_vec_dot_q5_1_q8(N, (void *)wq, a8); break;
        case ACC_GGML_Q8_0: got = acc_vec_dot_q8_0_q8(N, (void *)wq, a8); break;
        case ACC_GGML_Q2_K: got = acc_vec_dot_q2_K_q8(N, (void *)wq, ak); break;
        case ACC_GGML_Q3_K: got = acc_vec_dot_q3_K_q8(N, (void *)wq, ak); break;
        case ACC_GGML_Q4_K: got = acc_vec_dot_q4_K_q8(N, (void *)wq, ak); break;
        case ACC_GGML_Q5_K: got = acc_vec_dot_q5_K_q8(N, (void *)wq, ak); break;
        case ACC_GGML_Q6_K: got = acc_vec_dot_q6_K_q8(N, (void *)wq, ak); break;
        default: fail();
        }
        double magnitude;
        double want = cases[c].k_quant
                          ? reference_dot(type, wq, ACC_GGML_Q8_K, ak, N, &magnitude)
                          : reference_dot(type, wq, ACC_GGML_Q8_0, a8, N, &magnitude);
        if (!(fabs(got - want) <= 1e-5 * magnitude + 1e-6))
            fail_msg("%s dot: %.7g, dequantized reference %.7g", acc_ggml_type_name(type),
                     (double)got, want);
    }
}

/* ---- type table and argument checks -------------------------------------- */

static void test_type_table(void **state)
{
    (void)state;
    assert_true(acc_ggml_type_valid(0));
    assert_true(acc_ggml_type_valid(30));
    assert_false(acc_ggml_type_valid(4));
    assert_false(acc_ggml_type_valid(31));
    assert_false(acc_ggml_type_valid(39));
    assert_false(acc_ggml_type_valid(UINT32_MAX));
    assert_string_equal(acc_ggml_type_name(ACC_GGML_Q4_K), "q4_K");
    assert_string_equal(acc_ggml_type_name((acc_ggml_type)5), "?");
    acc_ggml_type type;
    assert_int_equal(acc_ggml_type_from_name("Q4_K", &type), 0);
    assert_int_equal(type, ACC_GGML_Q4_K);
    assert_int_equal(acc_ggml_type_from_name("bf16", &type), 0);
    assert_int_equal(type, ACC_GGML_BF16);
    assert_int_equal(acc_ggml_type_from_name("q4_k_m", &type), -1);
    assert_int_equal(acc_ggml_block_size(ACC_GGML_Q6_K), 256);
    assert_int_equal(acc_ggml_type_size(ACC_GGML_Q6_K), 210);
    assert_int_equal(acc_ggml_type_size(ACC_GGML_IQ4_XS), 136);
    uint64_t bytes;
    assert_int_equal(acc_ggml_row_bytes(ACC_GGML_Q8_0, 64, &bytes), 0);
    assert_int_equal(bytes, 68);
    assert_int_equal(acc_ggml_row_bytes(ACC_GGML_Q8_0, 33, &bytes), -1);
    assert_int_equal(acc_ggml_row_bytes(ACC_GGML_F32, INT64_MAX, &bytes), -1);
    assert_int_equal(acc_ggml_row_bytes(ACC_GGML_F32, -4, &bytes), -1);
}

static void test_quantize_rejects_bad_arguments(void **state)
{
    (void)state;
    float x[64] = {0};
    uint8_t out[512];
    acc_error err;
    assert_int_equal(acc_quantize(ACC_GGML_Q4_K, x, out, 64, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "not a multiple of the block size 256"));
    assert_int_equal(acc_quantize(ACC_GGML_IQ2_XXS, x, out, 256, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "not supported"));
    assert_int_equal(acc_dequantize(ACC_GGML_Q8_0, out, x, 31, &err), ACC_ERR_INPUT);
}

/* NaN, Inf and huge values must not trip the sanitizers (no UB in casts). */
static void test_hostile_values(void **state)
{
    (void)state;
    float x[256];
    for (int i = 0; i < 256; i++)
        x[i] = (i % 4 == 0) ? NAN : (i % 4 == 1) ? INFINITY : (i % 4 == 2) ? -3e38f : 1e-40f;
    static uint8_t out[256 * 4];
    float back[256];
    for (size_t t = 0; t < sizeof kat_types / sizeof *kat_types; t++) {
        assert_int_equal(acc_quantize(kat_types[t], x, out, 256, NULL), ACC_OK);
        assert_int_equal(acc_dequantize(kat_types[t], out, back, 256, NULL), ACC_OK);
    }
    /* all-zero input gives all-zero output */
    memset(x, 0, sizeof x);
    for (size_t t = 0; t < sizeof kat_types / sizeof *kat_types; t++) {
        assert_int_equal(acc_quantize(kat_types[t], x, out, 256, NULL), ACC_OK);
        assert_int_equal(acc_dequantize(kat_types[t], out, back, 256, NULL), ACC_OK);
        for (int i = 0; i < 256; i++)
            assert_true(back[i] == 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer_bytes),
        cmocka_unit_test(test_known_answer_q8_K),
        cmocka_unit_test(test_known_answer_dequantize),
        cmocka_unit_test(test_round_trip_error_bounds),
        cmocka_unit_test(test_q8_0_max_error),
        cmocka_unit_test(test_dot_products),
        cmocka_unit_test(test_type_table),
        cmocka_unit_test(test_quantize_rejects_bad_arguments),
        cmocka_unit_test(test_hostile_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
