/*
 * kernels_avx512.c — hot kernels for CPUs with AVX-512 F/BW/VL/VNNI
 * (compiled with those flags for this file only; kernels_dispatch.c calls
 * in only when the CPU has them).  Block-format weights use the shared
 * kernels_quant_x86.h with vpdpbusd; q4_0/q8_0 weights the executor
 * repacked take kernels_packed_avx512.h instead.
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
#include "backend/cpu/kernels_packed_avx512.h"

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

/* e^v: v = n ln2 + r (ln2 split in two), Cephes' degree-6 polynomial for
 * e^r on |r| <= ln2 / 2, times 2^n by vscalefps (which rounds subnormal
 * results once and saturates to 0 or inf); v is first clamped to [-105,
 * 89] so -inf gives 0 and +inf gives inf (max/min return their second
 * operand for NaN, so NaN in gives NaN).  Within 2 ulp of expf (tested). */
static ALWAYS_INLINE __m512 exp_avx512(__m512 v)
{
    v = _mm512_min_ps(_mm512_set1_ps(89.0f), _mm512_max_ps(_mm512_set1_ps(-105.0f), v));
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

/* ---- attention ----------------------------------------------------------- */

/* The sixteen lane sums of acc[0..15] in one register, by a fixed tree of
 * 128-bit and 32-bit shuffles (fewer steps than sixteen reductions).  The
 * tree leaves the sum of acc[s] in lane ATTN_LANE[s]; callers put key m in
 * slot ATTN_SLOT[m] so lane m holds key m. */
static const int ATTN_SLOT[16] = {0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15};

static ALWAYS_INLINE __m512 attn_sum16(const __m512 acc[16])
{
    __m512 x[8], y[4], z[2];
    for (int i = 0; i < 8; i++)
        x[i] = _mm512_add_ps(_mm512_shuffle_f32x4(acc[2 * i], acc[2 * i + 1], 0x44),
                             _mm512_shuffle_f32x4(acc[2 * i], acc[2 * i + 1], 0xEE));
    for (int i = 0; i < 4; i++)
        y[i] = _mm512_add_ps(_mm512_shuffle_f32x4(x[2 * i], x[2 * i + 1], 0x88),
                             _mm512_shuffle_f32x4(x[2 * i], x[2 * i + 1], 0xDD));
    for (int i = 0; i < 2; i++)
        z[i] = _mm512_add_ps(_mm512_shuffle_ps(y[2 * i], y[2 * i + 1], 0x88),
                             _mm512_shuffle_ps(y[2 * i], y[2 * i + 1], 0xDD));
    return _mm512_add_ps(_mm512_shuffle_ps(z[0], z[1], 0x88), _mm512_shuffle_ps(z[0], z[1], 0xDD));
}

/* Walks keys in order without a division per key: block b, row o in it. */
typedef struct attn_walk {
    const int32_t *table;
    int block_size, b, o;
} attn_walk;

static ALWAYS_INLINE attn_walk attn_walk_at(const int32_t *table, int block_size, int j)
{
    attn_walk w = {table, block_size, j / block_size, j % block_size};
    return w;
}

/* The slot of the current key, then step to the next. */
static ALWAYS_INLINE int64_t attn_walk_next(attn_walk *w)
{
    int64_t slot = (int64_t)w->table[w->b] * w->block_size + w->o;
    if (++w->o == w->block_size) {
        w->o = 0;
        w->b++;
    }
    return slot;
}

/* Scores of one query (nv registers) for keys [j0, j0 + 16), keys at or
 * past n_ctx left out (their lanes are -inf). */
static ALWAYS_INLINE __m512 attn_scores16(int nv, const __m512 *qv, const float *k_cache,
                                          int64_t kv_dim, int64_t kv_off, attn_walk *walk,
                                          int j0, int n_ctx, __m512 scale)
{
    __m512 acc[16];
    int n = n_ctx - j0 < 16 ? n_ctx - j0 : 16;
#pragma GCC unroll 16
    for (int m = 0; m < 16; m++) {
        __m512 a = _mm512_setzero_ps();
        if (m < n) {
            const float *kr = k_cache + attn_walk_next(walk) * kv_dim + kv_off;
            a = _mm512_mul_ps(qv[0], _mm512_loadu_ps(kr));
            for (int i = 1; i < nv; i++)
                a = _mm512_fmadd_ps(qv[i], _mm512_loadu_ps(kr + 16 * i), a);
        }
        acc[ATTN_SLOT[m]] = a;
    }
    __mmask16 valid = (__mmask16)(n >= 16 ? 0xFFFFu : (1u << n) - 1u);
    return _mm512_mask_mul_ps(_mm512_set1_ps(-INFINITY), valid, attn_sum16(acc), scale);
}

/* Softmax weights of one query over its n_ctx keys into p[0 .. n_ctx)
 * (lanes past n_ctx hold 0): scores 16 keys at a time, the max, e^(s -
 * max) by the vector exp, their sum in 16 lanes reduced once, and p = e *
 * (1 / sum). */
static ALWAYS_INLINE void attn_softmax(int nv, const float *q, const float *k_cache,
                                       int64_t kv_dim, int64_t kv_off, const int32_t *table,
                                       int block_size, int n_ctx, float scale, float *p)
{
    __m512 qv[8];
    for (int i = 0; i < nv; i++)
        qv[i] = _mm512_loadu_ps(q + 16 * i);
    __m512 vmax = _mm512_set1_ps(-INFINITY), sc = _mm512_set1_ps(scale);
    attn_walk walk = attn_walk_at(table, block_size, 0);
    for (int j0 = 0; j0 < n_ctx; j0 += 16) {
        __m512 s = attn_scores16(nv, qv, k_cache, kv_dim, kv_off, &walk, j0, n_ctx, sc);
        _mm512_storeu_ps(p + j0, s);
        vmax = _mm512_max_ps(vmax, s);
    }
    __m512 max = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
    __m512 vsum = _mm512_setzero_ps();
    for (int j0 = 0; j0 < n_ctx; j0 += 16) {
        __m512 e = exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(p + j0), max));
        _mm512_storeu_ps(p + j0, e);
        vsum = _mm512_add_ps(vsum, e);
    }
    __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vsum));
    for (int j0 = 0; j0 < n_ctx; j0 += 16)
        _mm512_storeu_ps(p + j0, _mm512_mul_ps(_mm512_loadu_ps(p + j0), inv));
}

/* nq queries (compile-time after inlining) of one head: each query's
 * softmax on its own, then one pass over the values in key order where
 * every value row loaded feeds all queries that see it; query a's output
 * is the fma chain over its keys in order, whatever nq is. */
static ALWAYS_INLINE void attn_rows(int nv, int nq, const float *q, int64_t q_stride,
                                    const int *n_ctx, const float *k_cache, const float *v_cache,
                                    int64_t kv_dim, int64_t kv_off, const int32_t *table,
                                    int block_size, float scale, float *scores, float *out,
                                    int64_t out_stride)
{
    int n_min = n_ctx[0], n_max = n_ctx[0];
    for (int a = 1; a < nq; a++) {
        n_min = n_ctx[a] < n_min ? n_ctx[a] : n_min;
        n_max = n_ctx[a] > n_max ? n_ctx[a] : n_max;
    }
    int64_t stride = (n_max + 15) / 16 * 16;
    for (int a = 0; a < nq; a++)
        attn_softmax(nv, q + a * q_stride, k_cache, kv_dim, kv_off, table, block_size, n_ctx[a],
                     scale, scores + a * stride);
    __m512 o[ACC_CPU_ATTEND_TILE][8];
    for (int a = 0; a < nq; a++)
        for (int i = 0; i < nv; i++)
            o[a][i] = _mm512_setzero_ps();
    int j = 0;
    attn_walk walk = attn_walk_at(table, block_size, 0);
    for (; j < n_min; j++) {
        const float *vr = v_cache + attn_walk_next(&walk) * kv_dim + kv_off;
        for (int i = 0; i < nv; i++) {
            __m512 v = _mm512_loadu_ps(vr + 16 * i);
            for (int a = 0; a < nq; a++)
                o[a][i] = _mm512_fmadd_ps(_mm512_set1_ps(scores[a * stride + j]), v, o[a][i]);
        }
    }
    for (; j < n_max; j++) {
        const float *vr = v_cache + attn_walk_next(&walk) * kv_dim + kv_off;
        for (int a = 0; a < nq; a++)
            if (j < n_ctx[a])
                for (int i = 0; i < nv; i++)
                    o[a][i] = _mm512_fmadd_ps(_mm512_set1_ps(scores[a * stride + j]),
                                              _mm512_loadu_ps(vr + 16 * i), o[a][i]);
    }
    for (int a = 0; a < nq; a++)
        for (int i = 0; i < nv; i++)
            _mm512_storeu_ps(out + a * out_stride + 16 * i, o[a][i]);
}

static ALWAYS_INLINE void attn_rows_nv(int nv, const float *q, int64_t q_stride, int nq,
                                       const int *n_ctx, const float *k_cache,
                                       const float *v_cache, int64_t kv_dim, int64_t kv_off,
                                       const int32_t *table, int block_size, float scale,
                                       float *scores, float *out, int64_t out_stride)
{
    switch (nq) {
    case 1:
        attn_rows(nv, 1, q, q_stride, n_ctx, k_cache, v_cache, kv_dim, kv_off, table, block_size,
                  scale, scores, out, out_stride);
        break;
    case 2:
        attn_rows(nv, 2, q, q_stride, n_ctx, k_cache, v_cache, kv_dim, kv_off, table, block_size,
                  scale, scores, out, out_stride);
        break;
    case 3:
        attn_rows(nv, 3, q, q_stride, n_ctx, k_cache, v_cache, kv_dim, kv_off, table, block_size,
                  scale, scores, out, out_stride);
        break;
    default:
        attn_rows(nv, 4, q, q_stride, n_ctx, k_cache, v_cache, kv_dim, kv_off, table, block_size,
                  scale, scores, out, out_stride);
        break;
    }
}

/* head_dim 32, 64 or 128 (2, 4, 8 registers); others take the generic
 * loop one query at a time. */
static void attend_rows_avx512(const float *q, int64_t q_stride, int nq, const int *n_ctx,
                               const float *k_cache, const float *v_cache, int64_t kv_dim,
                               int64_t kv_off, int head_dim, const int32_t *table, int block_size,
                               float scale, float *scores, float *out, int64_t out_stride)
{
    switch (head_dim) {
    case 32:
        attn_rows_nv(2, q, q_stride, nq, n_ctx, k_cache, v_cache, kv_dim, kv_off, table,
                     block_size, scale, scores, out, out_stride);
        break;
    case 64:
        attn_rows_nv(4, q, q_stride, nq, n_ctx, k_cache, v_cache, kv_dim, kv_off, table,
                     block_size, scale, scores, out, out_stride);
        break;
    case 128:
        attn_rows_nv(8, q, q_stride, nq, n_ctx, k_cache, v_cache, kv_dim, kv_off, table,
                     block_size, scale, scores, out, out_stride);
        break;
    default:
        for (int a = 0; a < nq; a++)
            acc_cpu_attend_head_generic(&acc_cpu_kernels_avx512, q + a * q_stride, k_cache,
                                        v_cache, kv_dim, kv_off, head_dim, table, block_size,
                                        n_ctx[a], scale, scores, out + a * out_stride);
        break;
    }
}

static void attend_avx512(const float *q, const float *k_cache, const float *v_cache,
                          int64_t kv_dim, int64_t kv_off, int head_dim, const int32_t *table,
                          int block_size, int n_ctx, float scale, float *scores, float *out)
{
    attend_rows_avx512(q, 0, 1, &n_ctx, k_cache, v_cache, kv_dim, kv_off, head_dim, table,
                       block_size, scale, scores, out, 0);
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

static void exp_array_avx512(const float *a, float *y, int64_t i0, int64_t i1)
{
    int64_t i = i0;
    for (; i + 16 <= i1; i += 16)
        _mm512_storeu_ps(y + i, exp_avx512(_mm512_loadu_ps(a + i)));
    if (i < i1) {
        __mmask16 m = (__mmask16)((1u << (i1 - i)) - 1u);
        _mm512_mask_storeu_ps(y + i, m, exp_avx512(_mm512_maskz_loadu_ps(m, a + i)));
    }
}

/* silu(g) * up = g / (1 + e^-g) * up, elementwise. */
static ALWAYS_INLINE __m512 swiglu16(__m512 g, __m512 u)
{
    __m512 e = exp_avx512(_mm512_sub_ps(_mm512_setzero_ps(), g));
    return _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(e, _mm512_set1_ps(1.0f))), u);
}

static void swiglu_avx512(const float *gate, const float *up, float *y, int64_t i0, int64_t i1)
{
    int64_t i = i0;
    for (; i + 16 <= i1; i += 16)
        _mm512_storeu_ps(y + i, swiglu16(_mm512_loadu_ps(gate + i), _mm512_loadu_ps(up + i)));
    if (i < i1) {
        __mmask16 m = (__mmask16)((1u << (i1 - i)) - 1u);
        _mm512_mask_storeu_ps(
            y + i, m, swiglu16(_mm512_maskz_loadu_ps(m, gate + i), _mm512_maskz_loadu_ps(m, up + i)));
    }
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
               [ACC_WEIGHT_Q8_0] = packed_matmul_q8_0,
               [ACC_WEIGHT_Q4_0] = packed_matmul_q4_0,
               [ACC_WEIGHT_Q4_K] = quant_matmul_q4_K,
               [ACC_WEIGHT_Q6_K] = quant_matmul_q6_K,
               [ACC_WEIGHT_Q5_K] = quant_matmul_q5_K},
    .dot = dot_avx512,
    .axpy = axpy_avx512,
    .attend = attend_avx512,
    .attend_rows = attend_rows_avx512,
    .gelu = gelu_avx512,
    .swiglu = swiglu_avx512,
    .exp = exp_array_avx512,
    .quantize_act = quant_quantize_act,
    .packed_bytes = packed_bytes,
    .repack = packed_repack,
};

#endif
