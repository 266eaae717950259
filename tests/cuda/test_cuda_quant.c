/*
 * test_cuda_quant.c — ggml block weights on the GPU (cuda_quant.cu and the
 * "cuda" backend's quantized path).  Kernels: for q8_0, q4_0, q4_K, q6_K
 * matrices quantized by the library's reference quantizer, the GEMV
 * (1-8 rows, row lengths that leave blocks unaligned) matches a double
 * product over the CPU dequantization within 1e-5 relative, and the
 * dequantization (f32) and embedding gather match the CPU's values within
 * 1e-6.  End to end: the demo model converted to q8_0 and q4_K_M GGUF
 * files, CPU engine vs "cuda" on the same file: all-position prefill
 * logits, greedy decode fed the CPU's tokens, a two-sequence decode step,
 * within QUANT_TOL x max(1, max|logit|) (the CPU quantizes activations to
 * int8, the GPU keeps them f32).  Needs a GPU.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accinf/convert.h"
#include "accinf/engine.h"
#include "accinf/model.h"
#include "accinf/quant.h"
#include "backend/cuda/cuda_quant.h"

#define QUANT_TOL 3e-2    /* logits, relative to max(1, max|cpu logit|); measured <= 1.4e-2 */
#define QUANT_MARGIN 1e-1 /* argmax must agree above this CPU top-1 - top-2 margin */

static uint64_t rng_state = 12345;
static double unit(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (double)((z ^ (z >> 31)) >> 11) * (1.0 / 9007199254740992.0);
}

static void *to_device(const void *src, size_t bytes)
{
    void *d = NULL;
    assert_int_equal(cudaMalloc(&d, bytes), cudaSuccess);
    assert_int_equal(cudaMemcpy(d, src, bytes, cudaMemcpyHostToDevice), cudaSuccess);
    return d;
}

static void check_kernels(acc_ggml_type gtype, acc_cuda_qtype qtype, int64_t out, int64_t in)
{
    acc_error err;
    uint64_t row_bytes = 0;
    assert_int_equal(acc_ggml_row_bytes(gtype, in, &row_bytes), 0);
    size_t n = (size_t)(out * in), bytes = (size_t)row_bytes * (size_t)out;
    float *w = malloc(n * sizeof *w), *deq = malloc(n * sizeof *deq);
    unsigned char *blocks = malloc(acc_cuda_quant_alloc_bytes(bytes));
    float *x = malloc((size_t)(8 * in) * sizeof *x), *y = malloc((size_t)(8 * out) * sizeof *y);
    float *bias = malloc((size_t)out * sizeof *bias);
    assert_true(w && deq && blocks && x && y && bias);
    for (size_t i = 0; i < n; i++)
        w[i] = (float)(unit() * 2 - 1) * (i % 97 == 0 ? 4.0f : 1.0f);
    for (int64_t i = 0; i < 8 * in; i++)
        x[i] = (float)(unit() * 2 - 1);
    for (int64_t o = 0; o < out; o++)
        bias[o] = (float)(unit() - 0.5);
    assert_int_equal(acc_quantize(gtype, w, blocks, (int64_t)n, &err), ACC_OK);
    assert_int_equal(acc_dequantize(gtype, blocks, deq, (int64_t)n, &err), ACC_OK);
    memset(blocks + bytes, 0xAB, acc_cuda_quant_alloc_bytes(bytes) - bytes);
    void *d_w = to_device(blocks, acc_cuda_quant_alloc_bytes(bytes));
    float *d_x = to_device(x, (size_t)(8 * in) * sizeof *x);
    float *d_bias = to_device(bias, (size_t)out * sizeof *bias);
    float *d_y = NULL, *d_deq = NULL;
    assert_int_equal(cudaMalloc((void **)&d_y, (size_t)(8 * out) * sizeof *y), cudaSuccess);
    assert_int_equal(cudaMalloc((void **)&d_deq, n * sizeof *deq), cudaSuccess);
    const char *name = acc_ggml_type_name(gtype);
    double worst = 0;
    for (int k = 0; k < 8 * 3; k++) {
        int rows = 1 + k % 8, rpw = 1 << (k / 8); /* every variant: 1, 2, 4 rows per warp */
        const float *b = rows % 2 ? d_bias : NULL;
        assert_int_equal(
            acc_cuda_qgemv_variant(qtype, d_w, d_x, rows, in, out, b, d_y, rpw, NULL), 0);
        assert_int_equal(cudaMemcpy(y, d_y, (size_t)(rows * out) * sizeof *y,
                                    cudaMemcpyDeviceToHost),
                         cudaSuccess);
        for (int r = 0; r < rows; r++)
            for (int64_t o = 0; o < out; o++) {
                double ref = b ? bias[o] : 0, mag = 0;
                for (int64_t i = 0; i < in; i++) {
                    ref += (double)x[r * in + i] * deq[o * in + i];
                    mag += fabs((double)x[r * in + i] * deq[o * in + i]);
                }
                double e = fabs(y[r * out + o] - ref) / (mag + 1);
                worst = fmax(worst, e);
                if (e > 1e-5)
                    fail_msg("%s gemv %lldx%lld rows %d (%d per warp): y[%d,%lld] = %g, want %g",
                             name, (long long)out, (long long)in, rows, rpw, r, (long long)o,
                             (double)y[r * out + o], ref);
            }
    }
    /* dequantization to f32 and an embedding gather */
    assert_int_equal(acc_cuda_qdequant(qtype, d_w, out, in, ACC_CUDA_F32, d_deq, NULL), 0);
    float *got = malloc(n * sizeof *got);
    assert_non_null(got);
    assert_int_equal(cudaMemcpy(got, d_deq, n * sizeof *got, cudaMemcpyDeviceToHost), cudaSuccess);
    for (size_t i = 0; i < n; i++)
        if (fabsf(got[i] - deq[i]) > 1e-6f * fmaxf(1.0f, fabsf(deq[i])))
            fail_msg("%s dequant [%zu] = %g, cpu %g", name, i, (double)got[i], (double)deq[i]);
    int32_t index[3] = {(int32_t)(out - 1), 0, (int32_t)(out / 2)};
    int32_t *d_index = to_device(index, sizeof index);
    assert_int_equal(acc_cuda_qembed(qtype, d_w, d_index, 3, in, d_deq, NULL), 0);
    assert_int_equal(cudaMemcpy(got, d_deq, (size_t)(3 * in) * sizeof *got,
                                cudaMemcpyDeviceToHost),
                     cudaSuccess);
    for (int r = 0; r < 3; r++)
        for (int64_t i = 0; i < in; i++)
            if (fabsf(got[r * in + i] - deq[index[r] * in + i]) > 1e-6f)
                fail_msg("%s embed row %d col %lld", name, index[r], (long long)i);
    printf("ok: %s %lldx%lld: gemv rows 1-8 (1, 2, 4 per warp) worst %.2e, dequant and embed "
           "equal the CPU\n",
           name,
           (long long)out, (long long)in, worst);
    cudaFree(d_w);
    cudaFree(d_x);
    cudaFree(d_bias);
    cudaFree(d_y);
    cudaFree(d_deq);
    cudaFree(d_index);
    free(w);
    free(deq);
    free(blocks);
    free(x);
    free(y);
    free(bias);
    free(got);
}

static void test_kernels(void **state)
{
    (void)state;
    check_kernels(ACC_GGML_Q8_0, ACC_CUDA_Q8_0, 37, 32 * 23); /* 782-byte rows: 2-aligned */
    check_kernels(ACC_GGML_Q8_0, ACC_CUDA_Q8_0, 300, 4096);
    check_kernels(ACC_GGML_Q4_0, ACC_CUDA_Q4_0, 41, 32 * 7);
    check_kernels(ACC_GGML_Q4_K, ACC_CUDA_Q4_K, 33, 256 * 5);
    check_kernels(ACC_GGML_Q6_K, ACC_CUDA_Q6_K, 29, 256 * 3); /* 630-byte rows */
    check_kernels(ACC_GGML_Q6_K, ACC_CUDA_Q6_K, 64, 256 * 16);
}

/* Not a check: weight bytes per second of the GEMV on an 8B-sized
 * down projection (4096 x 14336), copies rotated past the L2, beside the
 * 16-bit GEMV (acc_cuda_gemv) on the same shape. */
static void report_bandwidth(void **state)
{
    (void)state;
    if (getenv("ACCINF_NO_BANDWIDTH")) /* under compute-sanitizer */
        skip();
    const int64_t out = 4096, in = 14336;
    enum { COPIES = 6, REPS = 30 };
    const struct {
        acc_ggml_type g;
        acc_cuda_qtype q;
    } types[] = {{ACC_GGML_Q8_0, ACC_CUDA_Q8_0}, {ACC_GGML_Q4_K, ACC_CUDA_Q4_K},
                 {ACC_GGML_Q6_K, ACC_CUDA_Q6_K}, {ACC_GGML_F16, ACC_CUDA_QNONE}};
    float *x, *y;
    assert_int_equal(cudaMalloc((void **)&x, (size_t)(8 * in) * 4), cudaSuccess);
    assert_int_equal(cudaMalloc((void **)&y, (size_t)(8 * out) * 4), cudaSuccess);
    assert_int_equal(cudaMemset(x, 0, (size_t)(8 * in) * 4), cudaSuccess);
    cudaEvent_t t0, t1;
    cudaEventCreate(&t0);
    cudaEventCreate(&t1);
    for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
        uint64_t row = 0;
        assert_int_equal(acc_ggml_row_bytes(types[t].g, in, &row), 0);
        size_t bytes = (size_t)row * (size_t)out;
        void *w[COPIES];
        for (int c = 0; c < COPIES; c++) {
            assert_int_equal(cudaMalloc(&w[c], acc_cuda_quant_alloc_bytes(bytes)), cudaSuccess);
            assert_int_equal(cudaMemset(w[c], 0x11, acc_cuda_quant_alloc_bytes(bytes)),
                             cudaSuccess);
        }
        for (int v = 0; v < (types[t].q != ACC_CUDA_QNONE ? 12 : 4); v++) {
            int rows = 1 << (v % 4), rpw = 4 >> (v / 4);
            float ms = 0;
            for (int rep = -1; rep < REPS; rep++) {
                if (rep == 0)
                    cudaEventRecord(t0, NULL);
                void *wc = w[(rep + COPIES) % COPIES];
                if (types[t].q != ACC_CUDA_QNONE) {
                    assert_int_equal(acc_cuda_qgemv_variant(types[t].q, wc, x, rows, in, out, NULL,
                                                            y, rpw, NULL),
                                     0);
                } else {
                    acc_cuda_gemv_args a = {.dtype = ACC_CUDA_F16, .x = x, .rows = rows, .in = in,
                                            .n_segs = 1};
                    a.seg[0] = (acc_cuda_gemv_seg){.w = wc, .y = y, .out = out};
                    assert_int_equal(acc_cuda_gemv(&a, 0, NULL), 0);
                }
            }
            cudaEventRecord(t1, NULL);
            assert_int_equal(cudaEventSynchronize(t1), cudaSuccess);
            cudaEventElapsedTime(&ms, t0, t1);
            double s = ms / 1000.0 / REPS;
            printf("bandwidth: %s gemv 4096x14336, %d row(s), %d per warp: %.1f us, %.2f TB/s of "
                   "weights\n",
                   acc_ggml_type_name(types[t].g), rows, types[t].q ? rpw : 0, s * 1e6,
                   (double)bytes / s / 1e12);
        }
        for (int c = 0; c < COPIES; c++)
            cudaFree(w[c]);
    }
    cudaEventDestroy(t0);
    cudaEventDestroy(t1);
    cudaFree(x);
    cudaFree(y);
}

static int argmax_of(const float *row, int n, float *margin)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (row[i] > row[best])
            best = i;
    float second = -INFINITY;
    for (int i = 0; i < n; i++)
        if (i != best && row[i] > second)
            second = row[i];
    if (margin)
        *margin = row[best] - second;
    return best;
}

static double compare(const char *what, const float *a, const float *b, int rows, int vocab)
{
    double worst = 0;
    for (int r = 0; r < rows; r++) {
        const float *x = a + (size_t)r * vocab, *y = b + (size_t)r * vocab;
        double scale = 1, diff = 0;
        for (int i = 0; i < vocab; i++) {
            scale = fmax(scale, fabs(x[i]));
            if (!isfinite(y[i]))
                fail_msg("%s row %d: logit %d not finite", what, r, i);
            diff = fmax(diff, fabs((double)x[i] - y[i]));
        }
        worst = fmax(worst, diff / scale);
        if (diff > QUANT_TOL * scale)
            fail_msg("%s row %d: logits differ by %g (tolerance %g)", what, r, diff,
                     QUANT_TOL * scale);
        float margin;
        int want = argmax_of(x, vocab, &margin), have = argmax_of(y, vocab, NULL);
        if (want != have && margin > QUANT_MARGIN * scale)
            fail_msg("%s row %d: argmax %d, cpu %d (margin %g)", what, r, have, want, margin);
    }
    return worst;
}

static acc_engine *engine_on(const acc_model *model, const char *device)
{
    acc_engine_options o = {.device = device, .max_sequences = 4, .max_context = 256};
    acc_engine *e;
    acc_error err;
    if (acc_engine_create(model, &o, &e, &err) != ACC_OK)
        fail_msg("engine %s: %s", device, err.message);
    return e;
}

static void check_file(const char *type)
{
    char path[256];
    snprintf(path, sizeof path, "/tmp/accinf-cuda-quant-%d-%s.gguf", (int)getpid(), type);
    acc_error err;
    acc_convert_options co = {.type = type};
    acc_convert_stats stats;
    if (acc_convert(ACCINF_EXAMPLES "/demo-model", path, &co, &stats, &err) != ACC_OK)
        fail_msg("convert %s: %s", type, err.message);
    acc_model *model;
    if (acc_model_open(path, &model, &err) != ACC_OK)
        fail_msg("open %s: %s", path, err.message);
    int vocab = acc_model_hparams(model)->vocab_size;
    acc_engine *cpu = engine_on(model, "cpu"), *gpu = engine_on(model, "cuda");
    enum { P = 37, STEPS = 16 };
    float *a = malloc((size_t)P * vocab * sizeof *a), *b = malloc((size_t)P * vocab * sizeof *b);
    assert_true(a && b);
    int32_t prompt[P];
    for (int i = 0; i < P; i++)
        prompt[i] = (int32_t)((i * 7919 + 13) % vocab);
    int sa, sb;
    assert_int_equal(acc_engine_seq_create(cpu, &sa, &err), ACC_OK);
    assert_int_equal(acc_engine_seq_create(gpu, &sb, &err), ACC_OK);
    const int32_t *lists[1] = {prompt};
    int n = P;
    acc_batch all = {.n_seqs = 1, .seq_ids = &sa, .tokens = lists, .n_tokens = &n, .all_logits = 1};
    assert_int_equal(acc_engine_forward(cpu, &all, a, &err), ACC_OK);
    all.seq_ids = &sb;
    assert_int_equal(acc_engine_forward(gpu, &all, b, &err), ACC_OK);
    double prefill = compare("prefill", a, b, P, vocab), decode = 0, batched = 0;
    int32_t tok = (int32_t)argmax_of(a + (size_t)(P - 1) * vocab, vocab, NULL);
    int agree = 0;
    for (int s = 0; s < STEPS; s++) {
        assert_int_equal(acc_engine_forward_one(cpu, sa, &tok, 1, a, &err), ACC_OK);
        assert_int_equal(acc_engine_forward_one(gpu, sb, &tok, 1, b, &err), ACC_OK);
        decode = fmax(decode, compare("decode", a, b, 1, vocab));
        int c = argmax_of(a, vocab, NULL);
        agree += c == argmax_of(b, vocab, NULL);
        tok = c;
    }
    /* two sequences in one decode step (a 2-row GEMV) */
    int fa, fb;
    assert_int_equal(acc_engine_seq_fork(cpu, sa, &fa, &err), ACC_OK);
    assert_int_equal(acc_engine_seq_fork(gpu, sb, &fb, &err), ACC_OK);
    int32_t t2[2] = {tok, (int32_t)((tok + 1) % vocab)};
    const int32_t *l2[2] = {&t2[0], &t2[1]};
    int ones[2] = {1, 1}, ca[2] = {sa, fa}, cb[2] = {sb, fb};
    acc_batch two = {.n_seqs = 2, .seq_ids = ca, .tokens = l2, .n_tokens = ones};
    assert_int_equal(acc_engine_forward(cpu, &two, a, &err), ACC_OK);
    two.seq_ids = cb;
    assert_int_equal(acc_engine_forward(gpu, &two, b, &err), ACC_OK);
    batched = compare("two-sequence decode", a, b, 2, vocab);
    printf("ok: demo-model %s GGUF, cpu vs cuda: worst prefill %.2e, decode %.2e, batched %.2e "
           "(of max|logit|); greedy agree %d/%d\n",
           type, prefill, decode, batched, agree, STEPS);
    free(a);
    free(b);
    acc_engine_destroy(cpu);
    acc_engine_destroy(gpu);
    acc_model_close(model);
    unlink(path);
}

static void test_demo_q8_0(void **state)
{
    (void)state;
    check_file("q8_0");
}

static void test_demo_q4_K_M(void **state)
{
    (void)state;
    check_file("q4_K_M");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernels),
        cmocka_unit_test(report_bandwidth),
        cmocka_unit_test(test_demo_q8_0),
        cmocka_unit_test(test_demo_q4_K_M),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
