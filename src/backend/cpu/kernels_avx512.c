/*
 * kernels_avx512.c — hot kernels for CPUs with AVX-512 F/BW/VL/VNNI
 * (compiled with those flags for this file only; kernels_dispatch.c calls
 * in only when the CPU has them).  Block-format weights use the shared
 * kernels_quant_x86.h with vpdpbusd.
 *
 * Matmul: a micro-kernel computes up to 4 token rows x 4 weight rows with
 * one 16-lane FMA accumulator per output element (16 in registers), then
 * reduces each with the same fixed tree.  Weights are widened in the
 * kernel (f16 by vcvtph2ps, bf16 by a 16-bit shift), so 16-bit weights cost
 * half the memory traffic and give the same bits as their f32 values.  The
 * k tail is a masked step with zero-filled lanes, so every element is one
 * chain whose order depends only on `in`: decode (1 row), prefill (many),
 * any thread split agree bit for bit.  For prefill the token rows are cut
 * into tiles that stay in L2 while each group of four weight rows is read
 * from memory once per tile and reused from L1 by every token quad.
 */
#if defined(__x86_64__)

#include "backend/cpu/kernels.h"

#include <immintrin.h>
#include <math.h>

#define ALWAYS_INLINE __attribute__((always_inline)) inline

/* Sums of four adjacent u8 x s8 products, as eight int32 lanes. */
#define QUANT_DOT_U8S8(u8, s8) _mm256_dpbusd_epi32(_mm256_setzero_si256(), (u8), (s8))
#define QUANT_HAVE_VNNI 1
/* k-quant tiles in 512-bit registers */
#define QUANT_HAVE_AVX512 1
/* GEMM tile: 4 tokens x 4 weight rows (16 accumulators of the 32 ymm). */
#define QUANT_GEMM_NT 4
#define QUANT_GEMM_NW 4
#include "backend/cpu/kernels_quant_x86.h"

/* x tile budget: TILE_BYTES of f32 token rows stay in L2 across a pass
 * over the thread's weight rows. */
#define TILE_BYTES (512 * 1024)

static ALWAYS_INLINE __m512 load_w(const char *row, int64_t k, acc_weight_type t)
{
    if (t == ACC_WEIGHT_F16)
        return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row + 2 * k)));
    if (t == ACC_WEIGHT_BF16)
        return _mm512_castsi512_ps(_mm512_slli_epi32(
            _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(row + 2 * k))), 16));
    return _mm512_loadu_ps((const float *)row + k);
}

static ALWAYS_INLINE __m512 load_w_tail(const char *row, int64_t k, __mmask16 m,
                                        acc_weight_type t)
{
    if (t == ACC_WEIGHT_F16)
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, row + 2 * k));
    if (t == ACC_WEIGHT_BF16)
        return _mm512_castsi512_ps(
            _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, row + 2 * k)), 16));
    return _mm512_maskz_loadu_ps(m, (const float *)row + k);
}

/* out[a][b] = x[a, :] . w[b, :] for a < nt, b < nw (constants after inlining). */
static ALWAYS_INLINE void tile(const float *x, int64_t in, const char *w, size_t w_stride,
                               acc_weight_type t, int nt, int nw, float out[4][4])
{
    __m512 acc[4][4];
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++)
            acc[a][b] = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 16 <= in; k += 16) {
        __m512 wv[4];
        if (nt == 1 && t != ACC_WEIGHT_F32) {
            /* decode streams the weights once: fetch the next group of rows
             * while this one is being summed */
            for (int b = 0; b < nw; b++)
                _mm_prefetch((const char *)((uintptr_t)w + (size_t)(b + nw) * w_stride +
                                            (size_t)k * 2),
                             _MM_HINT_T0); /* may lie past the matrix: integer math */
        }
        for (int b = 0; b < nw; b++)
            wv[b] = load_w(w + (size_t)b * w_stride, k, t);
        for (int a = 0; a < nt; a++) {
            __m512 xv = _mm512_loadu_ps(x + a * in + k);
            for (int b = 0; b < nw; b++)
                acc[a][b] = _mm512_fmadd_ps(xv, wv[b], acc[a][b]);
        }
    }
    if (k < in) {
        __mmask16 m = (__mmask16)((1u << (in - k)) - 1u);
        __m512 wv[4];
        for (int b = 0; b < nw; b++)
            wv[b] = load_w_tail(w + (size_t)b * w_stride, k, m, t);
        for (int a = 0; a < nt; a++) {
            __m512 xv = _mm512_maskz_loadu_ps(m, x + a * in + k);
            for (int b = 0; b < nw; b++)
                acc[a][b] = _mm512_fmadd_ps(xv, wv[b], acc[a][b]);
        }
    }
    for (int a = 0; a < nt; a++)
        for (int b = 0; b < nw; b++)
            out[a][b] = _mm512_reduce_add_ps(acc[a][b]);
}

static ALWAYS_INLINE void block(const acc_cpu_matmul_args *A, int64_t r, int nt, int64_t j,
                                int nw, acc_weight_type t)
{
    float o[4][4];
    tile(A->x + r * A->in, A->in, (const char *)A->w + (size_t)j * A->w_row_bytes,
         A->w_row_bytes, t, nt, nw, o);
    for (int a = 0; a < nt; a++)
        for (int b = 0; b < nw; b++)
            A->y[(r + a) * A->out + j + b] = o[a][b] + (A->bias ? A->bias[j + b] : 0.0f);
}

static ALWAYS_INLINE void block_rows(const acc_cpu_matmul_args *A, int64_t r0, int64_t r1,
                                     int64_t j, int nw, acc_weight_type t)
{
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4)
        block(A, r, 4, j, nw, t);
    switch (r1 - r) {
    case 3:
        block(A, r, 3, j, nw, t);
        break;
    case 2:
        block(A, r, 2, j, nw, t);
        break;
    case 1:
        block(A, r, 1, j, nw, t);
        break;
    default:
        break;
    }
}

static ALWAYS_INLINE void matmul_generic(const acc_cpu_matmul_args *A, int64_t r0, int64_t r1,
                                         int64_t j0, int64_t j1, acc_weight_type t)
{
    int64_t tile_rows = (int64_t)(TILE_BYTES / ((size_t)A->in * sizeof(float))) & ~(int64_t)3;
    if (tile_rows < 4)
        tile_rows = 4;
    for (int64_t rt = r0; rt < r1; rt += tile_rows) {
        int64_t rt_end = rt + tile_rows < r1 ? rt + tile_rows : r1;
        int64_t j = j0;
        for (; j + 4 <= j1; j += 4)
            block_rows(A, rt, rt_end, j, 4, t);
        for (; j < j1; j++)
            block_rows(A, rt, rt_end, j, 1, t);
    }
}

static void matmul_f32(const acc_cpu_matmul_args *A, int64_t r0, int64_t r1, int64_t j0,
                       int64_t j1)
{
    matmul_generic(A, r0, r1, j0, j1, ACC_WEIGHT_F32);
}

static void matmul_f16(const acc_cpu_matmul_args *A, int64_t r0, int64_t r1, int64_t j0,
                       int64_t j1)
{
    matmul_generic(A, r0, r1, j0, j1, ACC_WEIGHT_F16);
}

static void matmul_bf16(const acc_cpu_matmul_args *A, int64_t r0, int64_t r1, int64_t j0,
                        int64_t j1)
{
    matmul_generic(A, r0, r1, j0, j1, ACC_WEIGHT_BF16);
}

static float dot_avx512(const float *a, const float *b, int64_t n)
{
    __m512 acc = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc);
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i),
                              acc);
    }
    return _mm512_reduce_add_ps(acc);
}

static void axpy_avx512(float alpha, const float *x, float *y, int64_t n)
{
    __m512 av = _mm512_set1_ps(alpha);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(av, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);
        __m512 r = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i));
        _mm512_mask_storeu_ps(y + i, m, r);
    }
}

/* One head with the query and the output accumulator in registers
 * (head_dim = 16 nv): no call per key and no store of `out` per key.  The
 * same operations in the same order as the generic loop over dot_avx512
 * and axpy_avx512, so the same bits. */
static ALWAYS_INLINE void attend_regs(int nv, const float *q, const float *k_cache,
                                      const float *v_cache, int64_t kv_dim, int64_t kv_off,
                                      const int32_t *table, int block_size, int n_ctx,
                                      float scale, float *scores, float *out)
{
    __m512 qv[8], o[8];
    for (int i = 0; i < nv; i++) {
        qv[i] = _mm512_loadu_ps(q + 16 * i);
        o[i] = _mm512_setzero_ps();
    }
    float max = -INFINITY;
    for (int j = 0; j < n_ctx; j++) {
        int64_t slot = (int64_t)table[j / block_size] * block_size + j % block_size;
        const float *kr = k_cache + slot * kv_dim + kv_off;
        __m512 acc = _mm512_setzero_ps();
        for (int i = 0; i < nv; i++)
            acc = _mm512_fmadd_ps(qv[i], _mm512_loadu_ps(kr + 16 * i), acc);
        float s = _mm512_reduce_add_ps(acc) * scale;
        scores[j] = s;
        if (s > max)
            max = s;
    }
    float sum = 0.0f;
    for (int j = 0; j < n_ctx; j++) {
        scores[j] = expf(scores[j] - max);
        sum += scores[j];
    }
    float inv = 1.0f / sum;
    for (int j = 0; j < n_ctx; j++) {
        int64_t slot = (int64_t)table[j / block_size] * block_size + j % block_size;
        const float *vr = v_cache + slot * kv_dim + kv_off;
        __m512 p = _mm512_set1_ps(scores[j] * inv);
        for (int i = 0; i < nv; i++)
            o[i] = _mm512_fmadd_ps(p, _mm512_loadu_ps(vr + 16 * i), o[i]);
    }
    for (int i = 0; i < nv; i++)
        _mm512_storeu_ps(out + 16 * i, o[i]);
}

static void attend_avx512(const float *q, const float *k_cache, const float *v_cache,
                          int64_t kv_dim, int64_t kv_off, int head_dim, const int32_t *table,
                          int block_size, int n_ctx, float scale, float *scores, float *out)
{
    switch (head_dim) {
    case 32:
        attend_regs(2, q, k_cache, v_cache, kv_dim, kv_off, table, block_size, n_ctx, scale,
                    scores, out);
        break;
    case 64:
        attend_regs(4, q, k_cache, v_cache, kv_dim, kv_off, table, block_size, n_ctx, scale,
                    scores, out);
        break;
    case 128:
        attend_regs(8, q, k_cache, v_cache, kv_dim, kv_off, table, block_size, n_ctx, scale,
                    scores, out);
        break;
    default:
        acc_cpu_attend_head_generic(&acc_cpu_kernels_avx512, q, k_cache, v_cache, kv_dim, kv_off,
                                    head_dim, table, block_size, n_ctx, scale, scores, out);
        break;
    }
}

/* e^v: v = n ln2 + r (ln2 split in two), Cephes' degree-6 polynomial for
 * e^r on |r| <= ln2 / 2, times 2^n by vscalefps (which saturates to 0 or
 * inf by itself); about 1 ulp, NaN in gives NaN. */
static ALWAYS_INLINE __m512 exp_avx512(__m512 v)
{
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(v, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), v);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    __m512 e = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(e, n);
}

/* gelu_tanh as x * sigmoid(2u) = x / (1 + e^(-2u)), u = sqrt(2/pi) (x +
 * 0.044715 x^3): the same function as 0.5 x (1 + tanh u) without the
 * libm call per element (within a few ulp of it, elementwise, so any
 * split gives the same bits). */
static ALWAYS_INLINE __m512 gelu16(__m512 x)
{
    __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
    __m512 u = _mm512_mul_ps(_mm512_set1_ps(0.7978845608028654f),
                             _mm512_fmadd_ps(_mm512_set1_ps(0.044715f), x3, x));
    __m512 e = exp_avx512(_mm512_mul_ps(u, _mm512_set1_ps(-2.0f)));
    return _mm512_div_ps(x, _mm512_add_ps(e, _mm512_set1_ps(1.0f)));
}

static void gelu_avx512(const float *a, float *y, int64_t i0, int64_t i1)
{
    int64_t i = i0;
    for (; i + 16 <= i1; i += 16)
        _mm512_storeu_ps(y + i, gelu16(_mm512_loadu_ps(a + i)));
    if (i < i1) {
        __mmask16 m = (__mmask16)((1u << (i1 - i)) - 1u);
        _mm512_mask_storeu_ps(y + i, m, gelu16(_mm512_maskz_loadu_ps(m, a + i)));
    }
}

const acc_cpu_kernels acc_cpu_kernels_avx512 = {
    .isa = ACC_CPU_ISA_AVX512,
    .name = "avx512",
    .matmul = {[ACC_WEIGHT_F32] = matmul_f32,
               [ACC_WEIGHT_F16] = matmul_f16,
               [ACC_WEIGHT_BF16] = matmul_bf16,
               [ACC_WEIGHT_Q8_0] = quant_matmul_q8_0,
               [ACC_WEIGHT_Q4_0] = quant_matmul_q4_0,
               [ACC_WEIGHT_Q4_K] = quant_matmul_q4_K,
               [ACC_WEIGHT_Q6_K] = quant_matmul_q6_K,
               [ACC_WEIGHT_Q5_K] = quant_matmul_q5_K},
    .dot = dot_avx512,
    .axpy = axpy_avx512,
    .attend = attend_avx512,
    .gelu = gelu_avx512,
    .quantize_act = quant_quantize_act,
};

#endif
