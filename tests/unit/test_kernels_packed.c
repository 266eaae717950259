/*
 * test_kernels_packed.c — the repacked q4_0/q8_0 matmuls of the AVX-512
 * table (kernels_packed_avx512.h): on odd shapes (row counts that are not a
 * multiple of 16, rows longer than one prepared segment, padded row
 * strides) they give exactly the bits of their documented formula (exact
 * integer block dots, fma per block, + bias), for any split of token rows
 * and columns (decode vs prefill, unaligned column ranges); they agree
 * with the block-layout kernels of the same table up to float
 * reassociation; and a whole model gives close logits with and without
 * repacking (ACCINF_CPU_REPACK=0).  Skipped where AVX-512 VNNI is absent.
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

#include "accinf/engine.h"
#include "accinf/model.h"
#include "accinf/quant.h"
#include "accinf/tensor.h"
#include "backend/cpu/kernels.h"
#include "test_engine_logits.h"
#include "test_env.h"

static uint32_t rng_state = 77;

static float rand_float(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) & 0xFFFF) / 65536.0f * 2.0f - 1.0f;
}

static const acc_cpu_kernels *packing_table(void)
{
    const acc_cpu_kernels *k = acc_cpu_kernels_select(ACC_CPU_ISA_AVX512);
    return k->packed_bytes && k->repack ? k : NULL;
}

/* The exact integer dot of weight block b of row w and activation block x. */
static int block_dot(acc_weight_type type, const char *w, int64_t b, const acc_block_q8_0 *x)
{
    int sumi = 0;
    if (type == ACC_WEIGHT_Q4_0) {
        const acc_block_q4_0 *blk = (const acc_block_q4_0 *)w + b;
        for (int j = 0; j < 16; j++)
            sumi += ((blk->qs[j] & 0x0F) - 8) * x->qs[j] + ((blk->qs[j] >> 4) - 8) * x->qs[j + 16];
    } else {
        const acc_block_q8_0 *blk = (const acc_block_q8_0 *)w + b;
        for (int j = 0; j < 32; j++)
            sumi += blk->qs[j] * x->qs[j];
    }
    return sumi;
}

static uint16_t block_scale(acc_weight_type type, const char *w, int64_t b)
{
    return type == ACC_WEIGHT_Q4_0 ? ((const acc_block_q4_0 *)w)[b].d
                                   : ((const acc_block_q8_0 *)w)[b].d;
}

static void check_shape(const acc_cpu_kernels *k, acc_weight_type type, int64_t rows, int64_t in,
                        int64_t out, int with_bias)
{
    acc_error err;
    size_t row = acc_weight_row_bytes(type, in), stride = row + 18; /* a padded row stride */
    size_t x_row = acc_cpu_act_row_bytes(type, in);
    float *wf = malloc((size_t)in * sizeof *wf), *x = malloc((size_t)in * sizeof *x);
    char *w = calloc((size_t)out, stride), *xq = malloc((size_t)rows * x_row);
    float *bias = malloc((size_t)out * sizeof *bias);
    float *ref = malloc((size_t)(rows * out) * sizeof *ref);
    float *y = malloc((size_t)(rows * out) * sizeof *y);
    float *y_part = malloc((size_t)(rows * out) * sizeof *y);
    float *y_plain = malloc((size_t)(rows * out) * sizeof *y);
    size_t packed_bytes = k->packed_bytes(type, out, in);
    assert_true(packed_bytes > 0);
    void *packed = aligned_alloc(64, (packed_bytes + 63) / 64 * 64);
    assert_true(wf && x && w && xq && bias && ref && y && y_part && y_plain && packed);
    for (int64_t j = 0; j < out; j++) {
        for (int64_t i = 0; i < in; i++)
            wf[i] = rand_float() * (j % 3 == 0 ? 4.0f : 0.5f);
        assert_int_equal(acc_quantize(type == ACC_WEIGHT_Q4_0 ? ACC_GGML_Q4_0 : ACC_GGML_Q8_0,
                                      wf, w + (size_t)j * stride, in, &err),
                         ACC_OK);
        bias[j] = rand_float();
    }
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t i = 0; i < in; i++)
            x[i] = rand_float() * (r % 2 ? 3.0f : 1.0f);
        acc_cpu_quantize_act_row(type, x, xq + (size_t)r * x_row, in);
    }
    /* groups repacked in two calls, as threads split them */
    int64_t groups = (out + ACC_CPU_PACK_ROWS - 1) / ACC_CPU_PACK_ROWS;
    memset(packed, 0xA5, packed_bytes);
    k->repack(type, w, stride, out, in, packed, 0, groups / 2);
    k->repack(type, w, stride, out, in, packed, groups / 2, groups);

    for (int64_t r = 0; r < rows; r++) {
        const acc_block_q8_0 *xr = (const acc_block_q8_0 *)(xq + (size_t)r * x_row);
        for (int64_t j = 0; j < out; j++) {
            const char *wj = w + (size_t)j * stride;
            float acc = 0.0f;
            for (int64_t b = 0; b < in / 32; b++) {
                float p = acc_f16_to_f32(block_scale(type, wj, b)) * acc_f16_to_f32(xr[b].d);
                acc = fmaf((float)block_dot(type, wj, b, &xr[b]), p, acc);
            }
            ref[r * out + j] = acc + (with_bias ? bias[j] : 0.0f);
        }
    }
    acc_cpu_matmul_args a = {.rows = rows, .in = in, .w = w, .w_type = type,
                             .w_row_bytes = stride, .bias = with_bias ? bias : NULL, .y = y,
                             .out = out, .xq = xq, .xq_row_bytes = x_row, .w_packed = packed};
    k->matmul[type](&a, 0, rows, 0, out);
    for (int64_t i = 0; i < rows * out; i++)
        if (memcmp(&y[i], &ref[i], sizeof y[i]) != 0)
            fail_msg("%s rows %lld in %lld out %lld: element %lld %.9g != %.9g",
                     acc_weight_type_name(type), (long long)rows, (long long)in, (long long)out,
                     (long long)i, y[i], ref[i]);
    /* decode row by row, columns cut off the 16-row groups */
    a.y = y_part;
    int64_t cut1 = out / 3, cut2 = out - out / 5;
    for (int64_t r = 0; r < rows; r++) {
        k->matmul[type](&a, r, r + 1, 0, cut1);
        k->matmul[type](&a, r, r + 1, cut1, cut2);
        k->matmul[type](&a, r, r + 1, cut2, out);
    }
    assert_memory_equal(y, y_part, (size_t)(rows * out) * sizeof *y);
    /* the block-layout kernel: the same sums up to float reassociation */
    a.y = y_plain;
    a.w_packed = NULL;
    k->matmul[type](&a, 0, rows, 0, out);
    for (int64_t i = 0; i < rows * out; i++) {
        float mag = 0; /* bound: a few ulp of the sum of |terms| */
        const acc_block_q8_0 *xr = (const acc_block_q8_0 *)(xq + (size_t)(i / out) * x_row);
        const char *wj = w + (size_t)(i % out) * stride;
        for (int64_t b = 0; b < in / 32; b++)
            mag += fabsf(acc_f16_to_f32(block_scale(type, wj, b)) * acc_f16_to_f32(xr[b].d)) *
                   (float)(type == ACC_WEIGHT_Q4_0 ? 8 * 127 * 32 : 128 * 127 * 32);
        assert_true(fabsf(y_plain[i] - y[i]) <= 1e-6f * mag + 1e-6f);
    }
    free(wf);
    free(x);
    free(w);
    free(xq);
    free(bias);
    free(ref);
    free(y);
    free(y_part);
    free(y_plain);
    free(packed);
}

static void test_packed_matmul_exact(void **state)
{
    (void)state;
    const acc_cpu_kernels *k = packing_table();
    if (!k)
        skip();
    /* token rows, in, out: tails of the 16-row groups, odd block counts,
     * more blocks than one prepared segment (256), 4-token tiles + rest */
    static const int64_t shapes[][3] = {{1, 32, 1},  {1, 96, 15},      {3, 256, 16},
                                        {5, 64, 17}, {9, 160, 40},     {2, 32 * 300, 33},
                                        {4, 32, 16}, {1, 32 * 257, 20}};
    for (int t = 0; t < 2; t++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            check_shape(k, t ? ACC_WEIGHT_Q8_0 : ACC_WEIGHT_Q4_0, shapes[s][0], shapes[s][1],
                        shapes[s][2], (int)(s % 2));
}

static void test_packed_only_block_formats(void **state)
{
    (void)state;
    const acc_cpu_kernels *k = packing_table();
    if (!k)
        skip();
    assert_int_equal(k->packed_bytes(ACC_WEIGHT_F32, 16, 64), 0);
    assert_int_equal(k->packed_bytes(ACC_WEIGHT_Q4_K, 16, 256), 0);
    assert_int_equal(k->packed_bytes(ACC_WEIGHT_Q4_0, 16, 48), 0); /* not whole blocks */
    /* the plain tables keep the stored layout */
    assert_null(acc_cpu_kernels_scalar.packed_bytes);
}

/* Repacked or not, a quantized model's logits agree: the kernels differ
 * by float reassociation, which the next layer's int8 activations may turn
 * into one rounding step of an activation (about 1/127 of its row's
 * largest magnitude), so the bound is that step, not a few ulp.  A wrong
 * layout gives unrelated logits. */
static void test_packed_model_logits(void **state)
{
    (void)state;
    if (!packing_table())
        skip();
    char dir[512];
    snprintf(dir, sizeof dir, "%s/models/llama-tiny", ACCINF_FIXTURES);
    acc_model *model;
    acc_error err;
    assert_int_equal(acc_model_open(dir, &model, &err), ACC_OK);
    int vocab = acc_model_hparams(model)->vocab_size;
    int32_t ids[9];
    for (int i = 0; i < 9; i++)
        ids[i] = (int32_t)((i * 37 + 11) % vocab);
    char *saved = test_env_save("ACCINF_CPU_REPACK");
    char *saved_amx = test_env_save("ACCINF_CPU_AMX");
    setenv("ACCINF_CPU_AMX", "0", 1); /* prefill through the table too */
    acc_weights_precision precisions[] = {ACC_WEIGHTS_Q4_0, ACC_WEIGHTS_Q8_0};
    for (int p = 0; p < 2; p++) {
        setenv("ACCINF_CPU_REPACK", "0", 1);
        float *plain = test_engine_logits(model, 2, precisions[p], ids, 9, 1, vocab);
        unsetenv("ACCINF_CPU_REPACK");
        float *packed = test_engine_logits(model, 2, precisions[p], ids, 9, 1, vocab);
        float max = 1, diff = 0;
        for (int i = 0; i < 2 * vocab; i++) {
            max = fmaxf(max, fabsf(plain[i]));
            diff = fmaxf(diff, fabsf(plain[i] - packed[i]));
        }
        if (diff > 2e-2f * max)
            fail_msg("precision %d: repacked logits differ by %g (max %g)", p, diff, max);
        free(plain);
        free(packed);
    }
    test_env_restore("ACCINF_CPU_AMX", saved_amx);
    test_env_restore("ACCINF_CPU_REPACK", saved);
    acc_model_close(model);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packed_matmul_exact),
        cmocka_unit_test(test_packed_only_block_formats),
        cmocka_unit_test(test_packed_model_logits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
