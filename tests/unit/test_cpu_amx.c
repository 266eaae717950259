/*
 * test_cpu_amx.c — the AMX-BF16 prefill GEMM (kernels_amx.c): for every
 * weight type it takes, odd shapes (rows and columns not multiples of 16,
 * k tails, several panel groups) against a double-precision emulation of
 * its own numerics (bf16 activations x bf16 weights, tight) and against the
 * unrounded reference (the stated bound); any column split gives the same
 * bits; and whole models through the engine with long prefill steps agree
 * with the AVX-512 path within tolerance and across thread counts bit for
 * bit; ACCINF_CPU_AMX=0 gives the AVX-512 path's bits, unset (the default)
 * the same as ACCINF_CPU_AMX=1, and 16-bit weights take AMX only with
 * ACCINF_CPU_AMX=all.  Skipped where the CPU or OS offers no AMX.
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
#include "backend/cpu/kernels_amx.h"
#include "test_env.h"

static uint32_t rng_state = 77;

static float rand_float(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) & 0xFFFF) / 65536.0f * 2.0f - 1.0f;
}

static float round_bf16(float v)
{
    return acc_bf16_to_f32(acc_f32_to_bf16(v));
}

/* Weights [out, in] of `type` from random values; `deq` receives their
 * exact f32 values (the reference dequantization). */
static void *make_weights(acc_weight_type type, int64_t out, int64_t in, float *deq)
{
    size_t row = acc_weight_row_bytes(type, in);
    char *data = malloc(row * (size_t)out + 1);
    float *src = malloc((size_t)in * sizeof *src);
    assert_true(data && src);
    for (int64_t j = 0; j < out; j++) {
        for (int64_t k = 0; k < in; k++)
            src[k] = rand_float() * (1.0f + (float)(k % 7)); /* uneven magnitudes */
        void *dst = data + (size_t)j * row;
        float *y = deq + j * in;
        switch (type) {
        case ACC_WEIGHT_F16:
            for (int64_t k = 0; k < in; k++) {
                ((uint16_t *)dst)[k] = acc_f32_to_f16(src[k]);
                y[k] = acc_f16_to_f32(((uint16_t *)dst)[k]);
            }
            break;
        case ACC_WEIGHT_BF16:
            for (int64_t k = 0; k < in; k++) {
                ((uint16_t *)dst)[k] = acc_f32_to_bf16(src[k]);
                y[k] = acc_bf16_to_f32(((uint16_t *)dst)[k]);
            }
            break;
        case ACC_WEIGHT_Q8_0:
            acc_quantize_row_q8_0(src, dst, in);
            acc_dequantize_row_q8_0(dst, y, in);
            break;
        case ACC_WEIGHT_Q4_0:
            acc_quantize_row_q4_0(src, dst, in);
            acc_dequantize_row_q4_0(dst, y, in);
            break;
        case ACC_WEIGHT_Q4_K:
            acc_quantize_row_q4_K(src, dst, in);
            acc_dequantize_row_q4_K(dst, y, in);
            break;
        case ACC_WEIGHT_Q6_K:
            acc_quantize_row_q6_K(src, dst, in);
            acc_dequantize_row_q6_K(dst, y, in);
            break;
        default:
            fail();
        }
    }
    free(src);
    return data;
}

/* Runs the GEMM over columns [0, out) cut into pieces of `piece` columns. */
static void amx_run(const float *x, int64_t rows, int64_t in, const void *w,
                    acc_weight_type type, const float *bias, float *y, int64_t out,
                    int64_t piece)
{
    size_t stride = acc_cpu_amx_act_stride(in);
    void *xb = aligned_alloc(64, (size_t)acc_cpu_amx_rows_pad(rows) * stride);
    void *scratch = aligned_alloc(64, (acc_cpu_amx_scratch_bytes(in) + 63) / 64 * 64);
    assert_true(xb && scratch);
    acc_cpu_amx_convert_rows(x, rows, in, xb, 0, acc_cpu_amx_rows_pad(rows));
    acc_cpu_matmul_args a = {.x = x, .rows = rows, .in = in, .w = w, .w_type = type,
                             .w_row_bytes = acc_weight_row_bytes(type, in), .bias = bias,
                             .y = y, .out = out, .xq = xb, .xq_row_bytes = stride};
    for (int64_t j = 0; j < out; j += piece)
        acc_cpu_amx_matmul(&a, scratch, j, j + piece < out ? j + piece : out);
    free(xb);
    free(scratch);
}

static void check_shape(acc_weight_type type, int64_t rows, int64_t in, int64_t out)
{
    float *x = malloc((size_t)(rows * in) * sizeof *x);
    float *deq = malloc((size_t)(out * in) * sizeof *deq);
    float *bias = malloc((size_t)out * sizeof *bias);
    float *y = malloc((size_t)(rows * out) * sizeof *y);
    float *y2 = malloc((size_t)(rows * out) * sizeof *y2);
    assert_true(x && deq && bias && y && y2);
    for (int64_t i = 0; i < rows * in; i++)
        x[i] = rand_float() * 3.0f;
    for (int64_t j = 0; j < out; j++)
        bias[j] = rand_float();
    void *w = make_weights(type, out, in, deq);
    amx_run(x, rows, in, w, type, bias, y, out, out);
    /* ragged column pieces (threads) give the same bits */
    amx_run(x, rows, in, w, type, bias, y2, out, 48);
    assert_memory_equal(y, y2, (size_t)(rows * out) * sizeof *y);
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t j = 0; j < out; j++) {
            double exact = bias[j], emul = bias[j], mag = fabs(bias[j]);
            for (int64_t k = 0; k < in; k++) {
                float xv = x[r * in + k], wv = deq[j * in + k];
                exact += (double)xv * wv;
                emul += (double)round_bf16(xv) * round_bf16(wv);
                mag += fabs((double)xv * wv);
            }
            double got = y[r * out + j];
            /* f32 accumulation of exact bf16 products */
            if (fabs(got - emul) > 1e-5 * mag + 1e-6)
                fail_msg("%s rows %lld in %lld out %lld: y[%lld, %lld] = %.9g, bf16 emulation "
                         "%.9g",
                         acc_weight_type_name(type), (long long)rows, (long long)in,
                         (long long)out, (long long)r, (long long)j, got, emul);
            /* the stated bound: two roundings to 8 significant bits per product */
            if (fabs(got - exact) > 0x1p-7 * mag + 1e-6)
                fail_msg("%s: y[%lld, %lld] = %.9g, reference %.9g (sum |x w| %g)",
                         acc_weight_type_name(type), (long long)r, (long long)j, got, exact,
                         mag);
        }
    }
    free(w);
    free(x);
    free(deq);
    free(bias);
    free(y);
    free(y2);
}

static int amx_ready(void)
{
    return acc_cpu_amx_enabled(ACC_CPU_ISA_COUNT);
}

static void test_gemm_matches_reference(void **state)
{
    (void)state;
    if (!amx_ready())
        skip();
    const acc_weight_type plain[] = {ACC_WEIGHT_F16, ACC_WEIGHT_BF16};
    const acc_weight_type blocks[] = {ACC_WEIGHT_Q8_0, ACC_WEIGHT_Q4_0};
    const acc_weight_type kquants[] = {ACC_WEIGHT_Q4_K, ACC_WEIGHT_Q6_K};
    /* fixtures use in = 64 (hidden) and 128 (MLP); odd k tails for 16-bit */
    for (int i = 0; i < 2; i++) {
        check_shape(plain[i], 32, 64, 16);
        check_shape(plain[i], 45, 128, 33);
        check_shape(plain[i], 77, 37, 50);
        check_shape(plain[i], 33, 200, 96);
    }
    for (int i = 0; i < 2; i++) {
        check_shape(blocks[i], 32, 64, 16);
        check_shape(blocks[i], 45, 128, 33);
        check_shape(blocks[i], 50, 96, 70);
    }
    for (int i = 0; i < 2; i++) {
        check_shape(kquants[i], 35, 256, 33);
        check_shape(kquants[i], 64, 512, 17);
    }
    /* several panel groups of the L2 budget (in = 3072: 96 columns each) */
    check_shape(ACC_WEIGHT_Q8_0, 47, 3072, 130);
}

/* ---- whole models -------------------------------------------------------------- */

/* Logits of the last of n_ids tokens after one prefill step of all of them. */
static float *prefill_logits(const acc_model *model, int threads, acc_weights_precision precision,
                             const int32_t *ids, int n_ids, int vocab)
{
    acc_engine_options options = {.threads = threads, .max_context = 64,
                                  .weights_precision = precision};
    acc_engine *engine;
    acc_error err;
    assert_int_equal(acc_engine_create(model, &options, &engine, &err), ACC_OK);
    int seq;
    assert_int_equal(acc_engine_seq_create(engine, &seq, &err), ACC_OK);
    float *logits = malloc((size_t)vocab * sizeof *logits);
    assert_non_null(logits);
    assert_int_equal(acc_engine_forward_one(engine, seq, ids, n_ids, logits, &err), ACC_OK);
    acc_engine_destroy(engine);
    return logits;
}

static void check_model(const char *name, acc_weights_precision precision, int amx_16bit)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/models/%s", ACCINF_FIXTURES, name);
    acc_model *model;
    acc_error err;
    assert_int_equal(acc_model_open(dir, &model, &err), ACC_OK);
    int vocab = acc_model_hparams(model)->vocab_size;
    int32_t ids[45];
    for (int i = 0; i < 45; i++)
        ids[i] = (int32_t)((i * 37 + 11) % vocab);
    char *saved = test_env_save("ACCINF_CPU_ISA");
    setenv("ACCINF_CPU_ISA", "amx", 1);
    char *saved_amx = test_env_save("ACCINF_CPU_AMX");
    setenv("ACCINF_CPU_AMX", amx_16bit ? "all" : "1", 1);
    float *amx1 = prefill_logits(model, 1, precision, ids, 45, vocab);
    float *amx3 = prefill_logits(model, 3, precision, ids, 45, vocab);
    /* 16-bit weights stay exact unless "all"; nothing changes unless asked */
    setenv("ACCINF_CPU_AMX", "1", 1);
    float *amx_blocks = prefill_logits(model, 1, precision, ids, 45, vocab);
    unsetenv("ACCINF_CPU_AMX");
    float *amx_default = prefill_logits(model, 1, precision, ids, 45, vocab);
    setenv("ACCINF_CPU_AMX", "0", 1);
    float *amx_off = prefill_logits(model, 1, precision, ids, 45, vocab);
    test_env_restore("ACCINF_CPU_AMX", saved_amx);
    setenv("ACCINF_CPU_ISA", "avx512", 1);
    float *base = prefill_logits(model, 2, precision, ids, 45, vocab);
    float *ref = prefill_logits(model, 2, ACC_WEIGHTS_F32, ids, 45, vocab);
    test_env_restore("ACCINF_CPU_ISA", saved);
    assert_memory_equal(amx_off, base, (size_t)vocab * sizeof *base);
    assert_memory_equal(amx_default, amx_blocks, (size_t)vocab * sizeof *base);
    if (amx_16bit)
        assert_memory_equal(amx_blocks, base, (size_t)vocab * sizeof *base);
    free(amx_off);
    free(amx_default);
    free(amx_blocks);
    assert_memory_equal(amx1, amx3, (size_t)vocab * sizeof *amx1);
    /* against the f32-weight model (exact path): AMX's bf16 roundings cost
     * no more than the AVX-512 path's int8 activations, give or take */
    float spread = 0, diff = 0, diff_base = 0;
    for (int i = 0; i < vocab; i++) {
        spread = fmaxf(spread, fabsf(ref[i]));
        diff = fmaxf(diff, fabsf(ref[i] - amx1[i]));
        diff_base = fmaxf(diff_base, fabsf(ref[i] - base[i]));
    }
    assert_true(memcmp(amx1, base, (size_t)vocab * sizeof *amx1) != 0); /* AMX really ran */
    fprintf(stderr, "%s: max |logit| %g, AMX off by %g, AVX-512 off by %g\n", name, spread,
            diff, diff_base);
    if (diff > 0.02f * spread && diff > 2 * diff_base)
        fail_msg("%s: AMX prefill logits off by %g (AVX-512 %g, max |logit| %g)", name, diff,
                 diff_base, spread);
    free(ref);
    free(amx1);
    free(amx3);
    free(base);
    acc_model_close(model);
}

static void test_models_prefill(void **state)
{
    (void)state;
    if (!amx_ready())
        skip();
    check_model("llama3-tiny", ACC_WEIGHTS_STORED, 1); /* bf16 weights: "all" */
    check_model("gpt2-tiny", ACC_WEIGHTS_Q8_0, 0);
    check_model("llama-tiny", ACC_WEIGHTS_Q4_0, 0);
    /* (k-quants need in % 256 == 0, which no fixture has: the GEMM test
     * above covers them) */
}

static void test_isa_cap(void **state)
{
    (void)state;
    acc_cpu_isa isa;
    assert_int_equal(acc_cpu_isa_from_name("amx", &isa), 0);
    assert_int_equal(isa, ACC_CPU_ISA_AMX);
    /* a lower cap turns AMX off whatever the CPU */
    assert_false(acc_cpu_amx_enabled(ACC_CPU_ISA_AVX512));
    assert_false(acc_cpu_amx_enabled(ACC_CPU_ISA_SCALAR));
    if (acc_cpu_amx_enabled(ACC_CPU_ISA_COUNT))
        assert_int_equal(acc_cpu_kernels_select(ACC_CPU_ISA_AMX)->isa, ACC_CPU_ISA_AVX512);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_isa_cap),
        cmocka_unit_test(test_gemm_matches_reference),
        cmocka_unit_test(test_models_prefill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
