/*
 * test_kernels.c — the dispatched CPU kernels and the thread pool: every
 * available ISA table against a double-precision reference and against the
 * scalar table on random shapes with odd sizes and tails; bit-identical
 * results for any split of rows and columns (decode vs prefill, any thread
 * count) within one table; 16-bit weights equal to their widened f32
 * values and close to the unrounded f32 originals; dot and axpy; the thread
 * pool with 1/2/3 workers through its spin and sleep paths; and whole
 * models through the engine on every ISA, thread counts 1/2/3 and both
 * weight precisions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accinf/engine.h"
#include "accinf/model.h"
#include "accinf/quant.h"
#include "accinf/tensor.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/thread_pool.h"
#include "test_engine_logits.h"
#include "test_env.h"

static uint32_t rng_state = 2024;

static float rand_float(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) & 0xFFFF) / 65536.0f * 2.0f - 1.0f;
}

/* A weight matrix in one type, plus its exact f32 widening and the f32
 * values it was rounded from. */
typedef struct test_weights {
    acc_weight_type type;
    void *data;      /* out x in of type */
    float *widened;  /* out x in f32: exactly the values in data */
    float *original; /* out x in f32 before rounding to type */
} test_weights;

static test_weights make_weights(acc_weight_type type, int64_t out, int64_t in)
{
    test_weights w = {.type = type};
    size_t n = (size_t)(out * in);
    w.original = malloc(n * sizeof(float));
    w.widened = malloc(n * sizeof(float));
    w.data = malloc(n * acc_weight_type_size(type) + 1);
    assert_true(w.original && w.widened && w.data);
    for (size_t i = 0; i < n; i++) {
        float v = rand_float();
        w.original[i] = v;
        if (type == ACC_WEIGHT_F16) {
            uint16_t h = acc_f32_to_f16(v);
            ((uint16_t *)w.data)[i] = h;
            w.widened[i] = acc_f16_to_f32(h);
        } else if (type == ACC_WEIGHT_BF16) {
            uint16_t h = acc_f32_to_bf16(v);
            ((uint16_t *)w.data)[i] = h;
            w.widened[i] = acc_bf16_to_f32(h);
        } else {
            ((float *)w.data)[i] = v;
            w.widened[i] = v;
        }
    }
    return w;
}

static void free_weights(test_weights *w)
{
    free(w->data);
    free(w->widened);
    free(w->original);
}

static void run_matmul(const acc_cpu_kernels *k, const float *x, int64_t rows, int64_t in,
                       const void *w, acc_weight_type type, const float *bias, float *y,
                       int64_t out)
{
    acc_cpu_matmul_args a = {.x = x, .rows = rows, .in = in, .w = w, .w_type = type,
                             .w_row_bytes = acc_weight_row_bytes(type, in),
                             .bias = bias, .y = y, .out = out};
    k->matmul[type](&a, 0, rows, 0, out);
}

static const acc_cpu_kernels *available_tables(const acc_cpu_kernels **tables)
{
    int n = 0;
    for (int isa = 0; isa < ACC_CPU_ISA_COUNT; isa++)
        if (acc_cpu_isa_available((acc_cpu_isa)isa))
            tables[n++] = acc_cpu_kernels_select((acc_cpu_isa)isa);
    tables[n] = NULL;
    return tables[0];
}

static void test_dispatch_tables(void **state)
{
    (void)state;
    assert_true(acc_cpu_isa_available(ACC_CPU_ISA_SCALAR));
    const acc_cpu_kernels *best = acc_cpu_kernels_select(ACC_CPU_ISA_COUNT);
    assert_non_null(best);
    assert_true(acc_cpu_isa_available(best->isa));
    assert_ptr_equal(acc_cpu_kernels_select(ACC_CPU_ISA_SCALAR), &acc_cpu_kernels_scalar);
    for (int isa = 0; isa < ACC_CPU_ISA_COUNT; isa++) {
        const acc_cpu_kernels *k = acc_cpu_kernels_select((acc_cpu_isa)isa);
        assert_true((int)k->isa <= isa);
        assert_string_equal(k->name, acc_cpu_isa_name(k->isa));
        for (int t = 0; t < ACC_WEIGHT_TYPE_COUNT; t++)
            assert_non_null(acc_cpu_matmul_for(k, (acc_weight_type)t));
        acc_cpu_isa parsed;
        assert_int_equal(acc_cpu_isa_from_name(acc_cpu_isa_name((acc_cpu_isa)isa), &parsed), 0);
        assert_int_equal(parsed, isa);
    }
    acc_cpu_isa parsed;
    assert_int_equal(acc_cpu_isa_from_name("sse9", &parsed), -1);
#if defined(__x86_64__)
    /* this project's machines have AVX2; the cap must be honoured */
    if (acc_cpu_isa_available(ACC_CPU_ISA_AVX2))
        assert_int_equal(acc_cpu_kernels_select(ACC_CPU_ISA_AVX2)->isa, ACC_CPU_ISA_AVX2);
#endif
}

/* Every table, every weight type, odd shapes: close to a double reference
 * of the widened weights and to the scalar table. */
static void test_matmul_against_reference(void **state)
{
    (void)state;
    const acc_cpu_kernels *tables[ACC_CPU_ISA_COUNT + 1];
    available_tables(tables);
    static const int64_t rows_list[] = {1, 2, 3, 4, 5, 7, 9, 17};
    static const int64_t in_list[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 257};
    static const int64_t out_list[] = {1, 3, 4, 5, 17, 33};
    for (int t = 0; t <= ACC_WEIGHT_BF16; t++) {
        for (size_t ii = 0; ii < sizeof in_list / sizeof in_list[0]; ii++) {
            int64_t in = in_list[ii];
            int64_t rows = rows_list[ii % 8], out = out_list[ii % 6];
            test_weights w = make_weights((acc_weight_type)t, out, in);
            float *x = malloc((size_t)(rows * in) * sizeof *x);
            float *bias = malloc((size_t)out * sizeof *bias);
            float *y = malloc((size_t)(rows * out) * sizeof *y);
            float *y_scalar = malloc((size_t)(rows * out) * sizeof *y);
            assert_true(x && bias && y && y_scalar);
            for (int64_t i = 0; i < rows * in; i++)
                x[i] = rand_float();
            for (int64_t i = 0; i < out; i++)
                bias[i] = rand_float();
            run_matmul(&acc_cpu_kernels_scalar, x, rows, in, w.data, w.type, bias, y_scalar, out);
            for (int n = 0; tables[n]; n++) {
                run_matmul(tables[n], x, rows, in, w.data, w.type, bias, y, out);
                for (int64_t r = 0; r < rows; r++) {
                    for (int64_t j = 0; j < out; j++) {
                        double ref = bias[j], mag = fabs(bias[j]);
                        for (int64_t i = 0; i < in; i++) {
                            double p = (double)x[r * in + i] * w.widened[j * in + i];
                            ref += p;
                            mag += fabs(p);
                        }
                        double tol = (double)(in + 2) * 1.2e-7 * mag + 1e-30; /* n u sum|p| */
                        double got = y[r * out + j];
                        if (fabs(got - ref) > tol)
                            fail_msg("%s %s rows %lld in %lld out %lld: y[%lld,%lld] = %.9g, "
                                     "reference %.9g",
                                     tables[n]->name, acc_weight_type_name(w.type),
                                     (long long)rows, (long long)in, (long long)out,
                                     (long long)r, (long long)j, got, ref);
                        assert_true(fabs(got - y_scalar[r * out + j]) <= 2 * tol);
                    }
                }
            }
            free(x);
            free(bias);
            free(y);
            free(y_scalar);
            free_weights(&w);
        }
    }
}

/* Within one table an element's value must not depend on the split of rows
 * (decode = one row at a time vs prefill) or of columns (threads), and
 * 16-bit weights must give exactly the bits of their widened f32 values. */
static void test_matmul_split_and_type_invariance(void **state)
{
    (void)state;
    const acc_cpu_kernels *tables[ACC_CPU_ISA_COUNT + 1];
    available_tables(tables);
    const int64_t rows = 13, in = 301, out = 45;
    float *x = malloc((size_t)(rows * in) * sizeof *x);
    float *full = malloc((size_t)(rows * out) * sizeof *full);
    float *part = malloc((size_t)(rows * out) * sizeof *part);
    float *wide = malloc((size_t)(rows * out) * sizeof *wide);
    assert_true(x && full && part && wide);
    for (int64_t i = 0; i < rows * in; i++)
        x[i] = rand_float();
    for (int t = 0; t <= ACC_WEIGHT_BF16; t++) {
        test_weights w = make_weights((acc_weight_type)t, out, in);
        for (int n = 0; tables[n]; n++) {
            const acc_cpu_kernels *k = tables[n];
            run_matmul(k, x, rows, in, w.data, w.type, NULL, full, out);
            /* same values stored as f32 */
            run_matmul(k, x, rows, in, w.widened, ACC_WEIGHT_F32, NULL, wide, out);
            assert_memory_equal(full, wide, (size_t)(rows * out) * sizeof *full);
            /* odd splits: single rows (decode), ragged row blocks, column pieces */
            acc_cpu_matmul_args a = {.x = x, .rows = rows, .in = in, .w = w.data, .w_type = w.type,
                                     .w_row_bytes = (size_t)in * acc_weight_type_size(w.type),
                                     .y = part, .out = out};
            memset(part, 0, (size_t)(rows * out) * sizeof *part);
            static const int64_t col_cuts[] = {0, 1, 6, 7, 20, 33, 45};
            static const int64_t row_cuts[] = {0, 1, 2, 5, 6, 13};
            for (int ci = 0; ci + 1 < 7; ci++)
                for (int ri = 0; ri + 1 < 6; ri++)
                    k->matmul[w.type](&a, row_cuts[ri], row_cuts[ri + 1], col_cuts[ci],
                                      col_cuts[ci + 1]);
            assert_memory_equal(full, part, (size_t)(rows * out) * sizeof *full);
            for (int64_t r = 0; r < rows; r++) {
                acc_cpu_matmul_args one = a;
                one.x = x + r * in;
                one.rows = 1;
                one.y = part;
                k->matmul[w.type](&one, 0, 1, 0, out);
                assert_memory_equal(full + r * out, part, (size_t)out * sizeof *part);
            }
        }
        free_weights(&w);
    }
    free(x);
    free(full);
    free(part);
    free(wide);
}

/* f16 weights against the unrounded f32 matrix: the only difference is the
 * weights' rounding (relative 2^-11), so the error is bounded by it. */
static void test_f16_gemv_gemm_close_to_f32(void **state)
{
    (void)state;
    const acc_cpu_kernels *k = acc_cpu_kernels_select(ACC_CPU_ISA_COUNT);
    static const int64_t shapes[][3] = {{1, 768, 96}, {1, 1001, 37}, {16, 768, 64}, {37, 130, 19}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int64_t rows = shapes[s][0], in = shapes[s][1], out = shapes[s][2];
        test_weights w = make_weights(ACC_WEIGHT_F16, out, in);
        float *x = malloc((size_t)(rows * in) * sizeof *x);
        float *y16 = malloc((size_t)(rows * out) * sizeof *y16);
        float *y32 = malloc((size_t)(rows * out) * sizeof *y32);
        assert_true(x && y16 && y32);
        for (int64_t i = 0; i < rows * in; i++)
            x[i] = rand_float();
        run_matmul(k, x, rows, in, w.data, ACC_WEIGHT_F16, NULL, y16, out);
        run_matmul(k, x, rows, in, w.original, ACC_WEIGHT_F32, NULL, y32, out);
        for (int64_t r = 0; r < rows; r++) {
            for (int64_t j = 0; j < out; j++) {
                double mag = 0;
                for (int64_t i = 0; i < in; i++)
                    mag += fabs((double)x[r * in + i] * w.original[j * in + i]);
                assert_true(fabs((double)y16[r * out + j] - y32[r * out + j]) <=
                            mag * (1.0 / 2048 + (double)(in + 2) * 1.2e-7));
            }
        }
        free(x);
        free(y16);
        free(y32);
        free_weights(&w);
    }
}

static void test_dot_and_axpy(void **state)
{
    (void)state;
    const acc_cpu_kernels *tables[ACC_CPU_ISA_COUNT + 1];
    available_tables(tables);
    float a[131], b[131], y[131], y_ref[131];
    for (int i = 0; i < 131; i++) {
        a[i] = rand_float();
        b[i] = rand_float();
    }
    for (int n = 0; tables[n]; n++) {
        for (int len = 0; len <= 131; len += (len < 40 ? 1 : 13)) {
            double ref = 0, mag = 0;
            for (int i = 0; i < len; i++) {
                ref += (double)a[i] * b[i];
                mag += fabs((double)a[i] * b[i]);
            }
            assert_true(fabs(tables[n]->dot(a, b, len) - ref) <= (len + 2) * 1.2e-7 * mag + 1e-30);
            for (int i = 0; i < 131; i++)
                y[i] = y_ref[i] = b[i];
            tables[n]->axpy(0.375f, a, y, len);
            for (int i = 0; i < 131; i++) {
                if (i < len)
                    y_ref[i] = b[i] + 0.375f * a[i];
                assert_true(fabsf(y[i] - y_ref[i]) <= 1e-6f);
            }
        }
    }
}

/* Attention of one head over a paged cache: each table's own `attend` and
 * the generic loop over its dot/axpy are close to a double reference, and
 * attend_rows gives every query of a tile the bits of `attend` alone. */
static void test_attention_paths(void **state)
{
    (void)state;
    const acc_cpu_kernels *tables[ACC_CPU_ISA_COUNT + 1];
    available_tables(tables);
    enum { BS = 4, BLOCKS = 12, KV_HEADS = 2, CTX = 37 };
    static const int head_dims[] = {8, 32, 48, 64, 128};
    const int32_t table[BLOCKS] = {5, 2, 9, 0, 11, 7, 1, 3, 10, 4, 6, 8};
    for (size_t h = 0; h < sizeof head_dims / sizeof head_dims[0]; h++) {
        int hd = head_dims[h];
        int64_t kv_dim = (int64_t)KV_HEADS * hd, slots = (int64_t)BLOCKS * BS;
        float *kc = malloc((size_t)(slots * kv_dim) * sizeof *kc);
        float *vc = malloc((size_t)(slots * kv_dim) * sizeof *vc);
        float q[4 * 128], out[128], out_generic[128], rows_out[4 * 128];
        static float scores[ACC_CPU_ATTEND_TILE * 48];
        assert_true(kc && vc);
        for (int64_t i = 0; i < slots * kv_dim; i++) {
            kc[i] = rand_float();
            vc[i] = rand_float();
        }
        for (int i = 0; i < 4 * hd; i++)
            q[i] = rand_float();
        /* double reference for kv head 1 */
        double ref[128] = {0}, w[CTX], max = -1e300, sum = 0;
        for (int j = 0; j < CTX; j++) {
            int64_t slot = (int64_t)table[j / BS] * BS + j % BS;
            double s = 0;
            for (int d = 0; d < hd; d++)
                s += (double)q[d] * kc[slot * kv_dim + hd + d];
            w[j] = s * 0.125;
            if (w[j] > max)
                max = w[j];
        }
        for (int j = 0; j < CTX; j++)
            sum += (w[j] = exp(w[j] - max));
        for (int j = 0; j < CTX; j++) {
            int64_t slot = (int64_t)table[j / BS] * BS + j % BS;
            for (int d = 0; d < hd; d++)
                ref[d] += w[j] / sum * vc[slot * kv_dim + hd + d];
        }
        for (int n = 0; tables[n]; n++) {
            acc_cpu_attend_head(tables[n], q, kc, vc, kv_dim, hd, hd, table, BS, CTX, 0.125f,
                                scores, out);
            acc_cpu_attend_head_generic(tables[n], q, kc, vc, kv_dim, hd, hd, table, BS, CTX,
                                        0.125f, scores, out_generic);
            for (int d = 0; d < hd; d++) {
                assert_true(fabs(out[d] - ref[d]) <= 1e-5);
                assert_true(fabs(out_generic[d] - ref[d]) <= 1e-5);
            }
            /* tiles of 1-4 queries with ragged contexts (a prefill tile's
             * causal rows, or any lengths) give each query its lone bits */
            static const int ctxs[][4] = {{CTX, 0, 0, 0}, {17, 18, 0, 0}, {1, 2, 3, 0},
                                          {34, 35, 36, 37}, {16, 33, 5, 32}};
            static const int nqs[] = {1, 2, 3, 4, 4};
            for (int c = 0; c < 5; c++) {
                acc_cpu_attend_rows(tables[n], q, hd, nqs[c], ctxs[c], kc, vc, kv_dim, hd, hd,
                                    table, BS, 0.125f, scores, rows_out, hd);
                for (int a = 0; a < nqs[c]; a++) {
                    acc_cpu_attend_head(tables[n], q + a * hd, kc, vc, kv_dim, hd, hd, table, BS,
                                        ctxs[c][a], 0.125f, scores, out);
                    if (memcmp(out, rows_out + a * hd, (size_t)hd * sizeof *out) != 0)
                        fail_msg("%s head_dim %d: tile %d query %d differs from alone",
                                 tables[n]->name, hd, c, a);
                }
            }
        }
        free(kc);
        free(vc);
    }
}

/* ---- block-format weights ------------------------------------------------ */

static acc_ggml_type ggml_of(acc_weight_type t)
{
    return t == ACC_WEIGHT_Q8_0   ? ACC_GGML_Q8_0
           : t == ACC_WEIGHT_Q4_0 ? ACC_GGML_Q4_0
           : t == ACC_WEIGHT_Q4_K ? ACC_GGML_Q4_K
           : t == ACC_WEIGHT_Q5_K ? ACC_GGML_Q5_K
                                  : ACC_GGML_Q6_K;
}

/* The tables' vectorized gelu stays within a few ulp of the scalar one
 * over [-20, 20] (and saturates like it beyond), any split the same bits. */
static void test_gelu(void **state)
{
    (void)state;
    const acc_cpu_kernels *tables[ACC_CPU_ISA_COUNT + 1];
    available_tables(tables);
    enum { N = 4099 };
    static float x[N], want[N], got[N], part[N];
    for (int i = 0; i < N; i++)
        x[i] = -20.0f + 40.0f * (float)i / (N - 1);
    x[0] = -1e30f;
    x[1] = 1e30f;
    x[2] = 0.0f;
    x[3] = 1e-30f;
    acc_cpu_gelu_tanh(x, want, 0, N);
    for (int n = 0; tables[n]; n++) {
        if (!tables[n]->gelu)
            continue;
        tables[n]->gelu(x, got, 0, N);
        tables[n]->gelu(x, part, 0, 1001);
        tables[n]->gelu(x, part, 1001, N);
        assert_memory_equal(got, part, sizeof got);
        for (int i = 0; i < N; i++) {
            float tol = 4e-6f * fabsf(x[i]) + 1e-30f;
            if (!(fabsf(got[i] - want[i]) <= tol))
                fail_msg("%s gelu(%.9g) = %.9g, scalar %.9g", tables[n]->name, x[i], got[i],
                         want[i]);
        }
    }
}

/* The tables' vector exp within 2 ulp of expf from -110 to 90 (subnormal
 * results within 2 units of the smallest subnormal), exactly 0, inf and
 * NaN at -inf, inf and NaN; any split the same bits. */
static void test_exp(void **state)
{
    (void)state;
    const acc_cpu_kernels *tables[ACC_CPU_ISA_COUNT + 1];
    available_tables(tables);
    enum { N = 200003 };
    static float x[N], got[N], part[N];
    for (int i = 0; i < N; i++)
        x[i] = -110.0f + 200.0f * (float)i / (N - 1);
    x[0] = -INFINITY;
    x[1] = INFINITY;
    x[2] = NAN;
    x[3] = 0.0f;
    x[4] = -0.0f;
    x[5] = -1e30f;
    x[6] = 1e30f;
    x[7] = 88.7f;
    x[8] = 1e-8f;
    for (int n = 0; tables[n]; n++) {
        if (!tables[n]->exp)
            continue;
        tables[n]->exp(x, got, 0, N);
        tables[n]->exp(x, part, 0, 777);
        tables[n]->exp(x, part, 777, N);
        assert_memory_equal(got, part, sizeof got);
        assert_true(got[0] == 0.0f && got[1] == INFINITY && isnan(got[2]));
        assert_true(got[3] == 1.0f && got[4] == 1.0f && got[5] == 0.0f && got[6] == INFINITY);
        for (int i = 3; i < N; i++) {
            float want = expf(x[i]);
            float ulp = want >= 1.1754944e-38f ? nextafterf(want, INFINITY) - want : 1.4e-45f;
            if (isinf(want) ? got[i] != want : !(fabsf(got[i] - want) <= 2.0f * ulp))
                fail_msg("%s exp(%.9g) = %.9g, expf %.9g", tables[n]->name, x[i], got[i], want);
        }
    }
}

/* The tables' vectorized swiglu within a few ulp of the scalar one. */
static void test_swiglu(void **state)
{
    (void)state;
    const acc_cpu_kernels *tables[ACC_CPU_ISA_COUNT + 1];
    available_tables(tables);
    enum { N = 4099 };
    static float g[N], u[N], want[N], got[N], part[N];
    for (int i = 0; i < N; i++) {
        g[i] = -30.0f + 60.0f * (float)i / (N - 1);
        u[i] = rand_float() * 4.0f;
    }
    g[0] = -1e30f;
    g[1] = 1e30f;
    g[2] = 0.0f;
    acc_cpu_swiglu(g, u, want, 0, N);
    for (int n = 0; tables[n]; n++) {
        if (!tables[n]->swiglu)
            continue;
        tables[n]->swiglu(g, u, got, 0, N);
        tables[n]->swiglu(g, u, part, 0, 1001);
        tables[n]->swiglu(g, u, part, 1001, N);
        assert_memory_equal(got, part, sizeof got);
        for (int i = 0; i < N; i++) {
            float tol = 4e-6f * fabsf(want[i]) + 1e-30f;
            if (!(fabsf(got[i] - want[i]) <= tol))
                fail_msg("%s swiglu(%.9g, %.9g) = %.9g, scalar %.9g", tables[n]->name, g[i], u[i],
                         got[i], want[i]);
        }
    }
}

/* The tables' vectorized activation quantizers give the scalar bytes:
 * random rows, rows with exact rounding ties (x * id = k + 0.5), repeated
 * magnitudes of both signs (the first one sets the q8_K scale), zeros. */
static void test_quantize_act(void **state)
{
    (void)state;
    const acc_cpu_kernels *tables[ACC_CPU_ISA_COUNT + 1];
    available_tables(tables);
    enum { IN = 1024 };
    static float x[IN];
    static char want[IN * 2], got[IN * 2];
    for (int pattern = 0; pattern < 5; pattern++) {
        for (int i = 0; i < IN; i++) {
            switch (pattern) {
            case 0:
                x[i] = rand_float() * 3.0f;
                break;
            case 1: /* amax 127 per block: x * id hits halves exactly */
                x[i] = (i % 32 == 0) ? 127.0f : (float)((i * 7) % 253 - 126) * 0.5f;
                break;
            case 2: /* equal magnitudes, mixed signs */
                x[i] = (i % 3 == 0) ? -2.0f : (i % 5 == 0 ? 2.0f : rand_float());
                break;
            case 3:
                x[i] = (i < 300) ? 0.0f : rand_float() * 1e-3f;
                break;
            default:
                x[i] = (float)(i % 17) - 8.5f;
                break;
            }
        }
        for (int t = ACC_WEIGHT_Q8_0; t < ACC_WEIGHT_TYPE_COUNT; t++) {
            acc_weight_type type = (acc_weight_type)t;
            size_t bytes = acc_cpu_act_row_bytes(type, IN);
            memset(want, 0x5A, sizeof want);
            acc_cpu_quantize_act_row(type, x, want, IN);
            for (int n = 0; tables[n]; n++) {
                if (!tables[n]->quantize_act)
                    continue;
                memset(got, 0x5A, sizeof got);
                tables[n]->quantize_act(type, x, got, IN);
                if (memcmp(want, got, bytes) != 0)
                    fail_msg("%s quantize_act for %s, pattern %d differs", tables[n]->name,
                             acc_weight_type_name(type), pattern);
            }
        }
    }
}

/* Every table against the scalar one (ggml's reference dot products):
 * k-quants bit for bit, q8_0/q4_0 up to float reassociation; any split of
 * rows and columns (decode row by row vs the prefill GEMM tiles)
 * bit-identical within a table. */
static void test_quantized_matmul(void **state)
{
    (void)state;
    const acc_cpu_kernels *tables[ACC_CPU_ISA_COUNT + 1];
    available_tables(tables);
    /* int8 activations at every row count (tiled GEMM from 2 rows on) */
    static const int64_t shapes[][3] = {{1, 256, 9}, {5, 512, 7}, {4, 768, 4}, {11, 256, 13},
                                        {16, 256, 21}, {37, 512, 35},
                                        /* 11 blocks: a full 8-block decode chunk and a tail */
                                        {1, 2816, 5}, {3, 2816, 6}};
    for (int t = ACC_WEIGHT_Q8_0; t < ACC_WEIGHT_TYPE_COUNT; t++) {
        acc_weight_type type = (acc_weight_type)t;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            int64_t rows = shapes[s][0], in = shapes[s][1], out = shapes[s][2];
            acc_error err;
            float *wf = malloc((size_t)(out * in) * sizeof *wf);
            float *wd = malloc((size_t)(out * in) * sizeof *wd);
            float *x = malloc((size_t)(rows * in) * sizeof *x);
            float *xd = malloc((size_t)(rows * in) * sizeof *xd);
            size_t w_row = acc_weight_row_bytes(type, in), x_row = acc_cpu_act_row_bytes(type, in);
            char *wq = malloc((size_t)out * w_row), *xq = malloc((size_t)rows * x_row);
            float *y_ref = malloc((size_t)(rows * out) * sizeof *y_ref);
            float *y = malloc((size_t)(rows * out) * sizeof *y);
            float *y_part = malloc((size_t)(rows * out) * sizeof *y);
            float *bias = malloc((size_t)out * sizeof *bias);
            assert_true(wf && wd && x && xd && wq && xq && y_ref && y && y_part && bias);
            for (int64_t i = 0; i < out * in; i++)
                wf[i] = rand_float();
            for (int64_t i = 0; i < rows * in; i++)
                x[i] = rand_float();
            for (int64_t i = 0; i < out; i++)
                bias[i] = rand_float();
            assert_int_equal(acc_quantize(ggml_of(type), wf, wq, out * in, &err), ACC_OK);
            assert_int_equal(acc_dequantize(ggml_of(type), wq, wd, out * in, &err), ACC_OK);
            for (int64_t r = 0; r < rows; r++) {
                acc_cpu_quantize_act_row(type, x + r * in, xq + (size_t)r * x_row, in);
                assert_int_equal(acc_dequantize(type <= ACC_WEIGHT_Q4_0 ? ACC_GGML_Q8_0
                                                                        : ACC_GGML_Q8_K,
                                                xq + (size_t)r * x_row, xd + r * in, in, &err),
                                 ACC_OK);
            }
            acc_cpu_matmul_args a = {.x = x, .rows = rows, .in = in, .w = wq, .w_type = type,
                                     .w_row_bytes = w_row, .bias = bias, .y = y_ref, .out = out,
                                     .xq = xq, .xq_row_bytes = x_row};
            acc_cpu_kernels_scalar.matmul[type](&a, 0, rows, 0, out);
            for (int64_t r = 0; r < rows; r++) {
                for (int64_t j = 0; j < out; j++) {
                    double ref = bias[j], mag = fabs(bias[j]);
                    for (int64_t i = 0; i < in; i++) {
                        ref += (double)xd[r * in + i] * wd[j * in + i];
                        mag += fabs((double)xd[r * in + i] * wd[j * in + i]);
                    }
                    assert_true(fabs(y_ref[r * out + j] - ref) <= 1e-5 * mag);
                }
            }
            for (int n = 0; tables[n]; n++) {
                acc_cpu_matmul_fn fn = acc_cpu_matmul_for(tables[n], type);
                a.y = y;
                fn(&a, 0, rows, 0, out);
                for (int64_t i = 0; i < rows * out; i++) {
                    if (type == ACC_WEIGHT_Q4_K || type == ACC_WEIGHT_Q5_K || type == ACC_WEIGHT_Q6_K) {
                        if (y[i] != y_ref[i])
                            fail_msg("%s %s: element %lld %.9g != scalar %.9g", tables[n]->name,
                                     acc_weight_type_name(type), (long long)i, y[i], y_ref[i]);
                    } else {
                        assert_true(fabsf(y[i] - y_ref[i]) <= 1e-5f * (fabsf(y_ref[i]) + in));
                    }
                }
                /* decode row by row and ragged column pieces give the same bits */
                a.y = y_part;
                for (int64_t r = 0; r < rows; r++) {
                    fn(&a, r, r + 1, 0, out / 2);
                    fn(&a, r, r + 1, out / 2, out);
                }
                assert_memory_equal(y, y_part, (size_t)(rows * out) * sizeof *y);
                a.y = y_ref;
            }
            free(wf);
            free(wd);
            free(x);
            free(xd);
            free(wq);
            free(xq);
            free(y_ref);
            free(y);
            free(y_part);
            free(bias);
        }
    }
}

/* ---- thread pool ----------------------------------------------------------- */

typedef struct pool_count {
    atomic_int calls[4];
    atomic_int total;
} pool_count;

static void count_task(void *context, int worker, int n_workers)
{
    pool_count *c = context;
    assert_true(worker >= 0 && worker < n_workers && n_workers <= 4);
    atomic_fetch_add(&c->calls[worker], 1);
    atomic_fetch_add(&c->total, 1);
}

static void test_thread_pool_runs_every_worker(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 3; threads++) {
        acc_thread_pool *pool;
        acc_error err;
        assert_int_equal(acc_thread_pool_create(threads, &pool, &err), ACC_OK);
        assert_int_equal(acc_thread_pool_size(pool), threads);
        pool_count c;
        memset(&c, 0, sizeof c);
        for (int run = 0; run < 300; run++) {
            if (run % 100 == 99) {
                /* longer than the spin window: workers go to sleep and must wake */
                struct timespec pause = {0, 5000000};
                nanosleep(&pause, NULL);
            }
            acc_thread_pool_run(pool, count_task, &c, 0);
        }
        acc_thread_pool_run(pool, count_task, &c, 1); /* small: the caller alone */
        assert_int_equal(atomic_load(&c.total), 300 * threads + 1);
        assert_int_equal(atomic_load(&c.calls[0]), 301);
        for (int w = 1; w < threads; w++)
            assert_int_equal(atomic_load(&c.calls[w]), 300);
        acc_thread_pool_destroy(pool);
    }
}

/* ---- whole models through the engine -------------------------------------- */

static void check_model_paths(const char *name)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/models/%s", ACCINF_FIXTURES, name);
    acc_model *model;
    acc_error err;
    assert_int_equal(acc_model_open(dir, &model, &err), ACC_OK);
    int vocab = acc_model_hparams(model)->vocab_size;
    int32_t ids[19];
    for (int i = 0; i < 19; i++)
        ids[i] = (int32_t)((i * 37 + 11) % vocab);
    size_t bytes = 2 * (size_t)vocab * sizeof(float);
    char *saved = test_env_save("ACCINF_CPU_ISA");
    float *best = NULL;
    for (int isa = 0; isa < ACC_CPU_ISA_COUNT; isa++) {
        /* the AMX level's prefill rounds to bf16: test_cpu_amx.c checks it
         * against these paths with a tolerance */
        if (!acc_cpu_isa_available((acc_cpu_isa)isa) || isa == ACC_CPU_ISA_AMX)
            continue;
        setenv("ACCINF_CPU_ISA", acc_cpu_isa_name((acc_cpu_isa)isa), 1);
        float *one = test_engine_logits(model, 1, ACC_WEIGHTS_F32, ids, 19, 1, vocab);
        for (int threads = 2; threads <= 3; threads++) {
            float *more = test_engine_logits(model, threads, ACC_WEIGHTS_F32, ids, 19, 1, vocab);
            assert_memory_equal(one, more, bytes);
            free(more);
        }
        /* stored precision widens exactly: the same bits as f32 weights */
        float *stored = test_engine_logits(model, 2, ACC_WEIGHTS_STORED, ids, 19, 1, vocab);
        assert_memory_equal(one, stored, bytes);
        free(stored);
        if (best) {
            /* ISA tables differ only by reassociation and FMA */
            float max = 1;
            for (size_t i = 0; i < 2 * (size_t)vocab; i++)
                max = fmaxf(max, fabsf(best[i]));
            for (size_t i = 0; i < 2 * (size_t)vocab; i++)
                assert_true(fabsf(best[i] - one[i]) <= 1e-4f * max);
            free(one);
        } else {
            best = one;
        }
    }
    test_env_restore("ACCINF_CPU_ISA", saved);
    free(best);
    acc_model_close(model);
}

/* Quantized at load: any thread count gives the same bits, and the logits
 * stay close to the f32 model's (relative to their spread).  Every row
 * count takes int8 activations (as ggml does), which on the random tiny
 * llama adds about as much error as the q8_0 weights themselves. */
static void check_model_quantized(const char *name, acc_weights_precision precision, float tol)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/models/%s", ACCINF_FIXTURES, name);
    acc_model *model;
    acc_error err;
    assert_int_equal(acc_model_open(dir, &model, &err), ACC_OK);
    int vocab = acc_model_hparams(model)->vocab_size;
    int32_t ids[19];
    for (int i = 0; i < 19; i++)
        ids[i] = (int32_t)((i * 37 + 11) % vocab);
    size_t bytes = 2 * (size_t)vocab * sizeof(float);
    float *f32 = test_engine_logits(model, 1, ACC_WEIGHTS_F32, ids, 19, 1, vocab);
    float *one = test_engine_logits(model, 1, precision, ids, 19, 1, vocab);
    float *three = test_engine_logits(model, 3, precision, ids, 19, 1, vocab);
    assert_memory_equal(one, three, bytes);
    float spread = 0, diff = 0;
    for (size_t i = 0; i < 2 * (size_t)vocab; i++) {
        spread = fmaxf(spread, fabsf(f32[i]));
        diff = fmaxf(diff, fabsf(f32[i] - one[i]));
    }
    assert_true(diff > 0); /* the weights really were quantized */
    if (diff > tol * spread)
        fail_msg("%s: quantized logits differ by %g (max |logit| %g)", name, diff, spread);
    free(f32);
    free(one);
    free(three);
    acc_model_close(model);
}

static void test_models_quantized_at_load(void **state)
{
    (void)state;
    check_model_quantized("gpt2-tiny", ACC_WEIGHTS_Q8_0, 0.05f);
    check_model_quantized("llama-tiny", ACC_WEIGHTS_Q8_0, 0.1f);
    check_model_quantized("llama-tiny", ACC_WEIGHTS_Q4_0, 0.5f);
}

static void test_models_agree_across_paths(void **state)
{
    (void)state;
    check_model_paths("gpt2-tiny");   /* f32, Conv1D transposes, fused qkv windows */
    check_model_paths("llama3-tiny"); /* bf16 weights */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch_tables),
        cmocka_unit_test(test_matmul_against_reference),
        cmocka_unit_test(test_matmul_split_and_type_invariance),
        cmocka_unit_test(test_f16_gemv_gemm_close_to_f32),
        cmocka_unit_test(test_dot_and_axpy),
        cmocka_unit_test(test_attention_paths),
        cmocka_unit_test(test_gelu),
        cmocka_unit_test(test_exp),
        cmocka_unit_test(test_swiglu),
        cmocka_unit_test(test_quantize_act),
        cmocka_unit_test(test_quantized_matmul),
        cmocka_unit_test(test_thread_pool_runs_every_worker),
        cmocka_unit_test(test_models_agree_across_paths),
        cmocka_unit_test(test_models_quantized_at_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
