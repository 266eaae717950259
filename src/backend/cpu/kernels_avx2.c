/*
 * kernels_avx2.c — hot kernels for CPUs with AVX2, FMA and F16C, the x86
 * baseline (compiled with those flags for this file only;
 * kernels_dispatch.c calls in only when the CPU has them).  Block-format
 * weights use the shared kernels_quant_x86.h with maddubs + madd.
 *
 * Matmul: a micro-kernel computes up to 2 token rows x 4 weight rows with
 * one 8-lane FMA accumulator per output element (8 of the 16 registers),
 * then reduces each with the same fixed tree.  Weights are widened in the
 * kernel (f16 by vcvtph2ps, bf16 by a 16-bit shift), so 16-bit weights give
 * the same bits as their f32 values.  The k tail is one step with
 * zero-filled lanes, so every element is one chain whose order depends only
 * on `in`: decode, prefill and any thread split agree bit for bit.  Token
 * rows are cut into L2-sized tiles; each group of four weight rows is read
 * from memory once per tile.
 */
#if defined(__x86_64__)

#include "backend/cpu/kernels.h"

#include <immintrin.h>
#include <string.h>

#define ALWAYS_INLINE __attribute__((always_inline)) inline

/* Sums of four adjacent u8 x s8 products, as eight int32 lanes. */
#define QUANT_DOT_U8S8(u8, s8) _mm256_madd_epi16(_mm256_maddubs_epi16((u8), (s8)), _mm256_set1_epi16(1))
/* GEMM tile: 2 tokens x 4 weight rows (8 accumulators of the 16 ymm). */
#define QUANT_GEMM_NT 2
#define QUANT_GEMM_NW 4
#include "backend/cpu/kernels_quant_x86.h"

#define TILE_BYTES (512 * 1024)

static ALWAYS_INLINE __m256 widen_16bit(__m128i h, acc_weight_type t)
{
    if (t == ACC_WEIGHT_F16)
        return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

static ALWAYS_INLINE __m256 load_w(const char *row, int64_t k, acc_weight_type t)
{
    if (t == ACC_WEIGHT_F32)
        return _mm256_loadu_ps((const float *)row + k);
    return widen_16bit(_mm_loadu_si128((const __m128i *)(row + 2 * k)), t);
}

/* The lanes [0, n) of a mask for _mm256_maskload_ps, n in [1, 7]. */
static ALWAYS_INLINE __m256i tail_mask(int64_t n)
{
    static const int32_t table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(table + 8 - n));
}

static ALWAYS_INLINE __m256 load_w_tail(const char *row, int64_t k, int64_t n, __m256i m,
                                        acc_weight_type t)
{
    if (t == ACC_WEIGHT_F32)
        return _mm256_maskload_ps((const float *)row + k, m);
    uint16_t buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    memcpy(buf, row + 2 * k, (size_t)n * 2);
    return widen_16bit(_mm_loadu_si128((const __m128i *)buf), t);
}

/* ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)): one fixed tree. */
static ALWAYS_INLINE float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static ALWAYS_INLINE void tile(const float *x, int64_t in, const char *w, size_t w_stride,
                               acc_weight_type t, int nt, int nw, float out[2][4])
{
    __m256 acc[2][4];
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 4; b++)
            acc[a][b] = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= in; k += 8) {
        __m256 wv[4];
        for (int b = 0; b < nw; b++)
            wv[b] = load_w(w + (size_t)b * w_stride, k, t);
        for (int a = 0; a < nt; a++) {
            __m256 xv = _mm256_loadu_ps(x + a * in + k);
            for (int b = 0; b < nw; b++)
                acc[a][b] = _mm256_fmadd_ps(xv, wv[b], acc[a][b]);
        }
    }
    if (k < in) {
        __m256i m = tail_mask(in - k);
        __m256 wv[4];
        for (int b = 0; b < nw; b++)
            wv[b] = load_w_tail(w + (size_t)b * w_stride, k, in - k, m, t);
        for (int a = 0; a < nt; a++) {
            __m256 xv = _mm256_maskload_ps(x + a * in + k, m);
            for (int b = 0; b < nw; b++)
                acc[a][b] = _mm256_fmadd_ps(xv, wv[b], acc[a][b]);
        }
    }
    for (int a = 0; a < nt; a++)
        for (int b = 0; b < nw; b++)
            out[a][b] = hsum(acc[a][b]);
}

static ALWAYS_INLINE void block(const acc_cpu_matmul_args *A, int64_t r, int nt, int64_t j,
                                int nw, acc_weight_type t)
{
    float o[2][4];
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
    for (; r + 2 <= r1; r += 2)
        block(A, r, 2, j, nw, t);
    if (r < r1)
        block(A, r, 1, j, nw, t);
}

static ALWAYS_INLINE void matmul_generic(const acc_cpu_matmul_args *A, int64_t r0, int64_t r1,
                                         int64_t j0, int64_t j1, acc_weight_type t)
{
    int64_t tile_rows = (int64_t)(TILE_BYTES / ((size_t)A->in * sizeof(float))) & ~(int64_t)1;
    if (tile_rows < 2)
        tile_rows = 2;
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

static float dot_avx2(const float *a, const float *b, int64_t n)
{
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    if (i < n) {
        __m256i m = tail_mask(n - i);
        acc = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), acc);
    }
    return hsum(acc);
}

static void axpy_avx2(float alpha, const float *x, float *y, int64_t n)
{
    __m256 av = _mm256_set1_ps(alpha);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++)
        y[i] = __builtin_fmaf(alpha, x[i], y[i]);
}

/* e^v as in kernels_avx512.c (clamp to [-105, 89], n = round(v log2 e),
 * two-part ln2 reduction, Cephes' degree-6 polynomial), with 2^n applied
 * as two exact power-of-two factors 2^(n/2) and 2^(n - n/2) built in the
 * exponent field (each within the normal range), so only a subnormal
 * result is rounded, once more at most.  -inf gives 0, inf gives inf,
 * NaN stays NaN (max/min return their second operand for NaN). */
static ALWAYS_INLINE __m256 exp_avx2(__m256 v)
{
    v = _mm256_min_ps(_mm256_set1_ps(89.0f), _mm256_max_ps(_mm256_set1_ps(-105.0f), v));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(v, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), v);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    __m256 e = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(e, s1), s2);
}

static ALWAYS_INLINE __m256 gelu8(__m256 x)
{
    __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    __m256 u = _mm256_mul_ps(_mm256_set1_ps(0.7978845608028654f),
                             _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x3, x));
    __m256 e = exp_avx2(_mm256_mul_ps(u, _mm256_set1_ps(-2.0f)));
    return _mm256_div_ps(x, _mm256_add_ps(e, _mm256_set1_ps(1.0f)));
}

static ALWAYS_INLINE __m256 swiglu8(__m256 g, __m256 u)
{
    __m256 e = exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), g));
    return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(e, _mm256_set1_ps(1.0f))), u);
}

/* Elementwise loops: the tail is a masked vector step, so any split of the
 * range gives the same bits. */
static void exp_array_avx2(const float *a, float *y, int64_t i0, int64_t i1)
{
    int64_t i = i0;
    for (; i + 8 <= i1; i += 8)
        _mm256_storeu_ps(y + i, exp_avx2(_mm256_loadu_ps(a + i)));
    if (i < i1) {
        __m256i m = tail_mask(i1 - i);
        _mm256_maskstore_ps(y + i, m, exp_avx2(_mm256_maskload_ps(a + i, m)));
    }
}

static void gelu_avx2(const float *a, float *y, int64_t i0, int64_t i1)
{
    int64_t i = i0;
    for (; i + 8 <= i1; i += 8)
        _mm256_storeu_ps(y + i, gelu8(_mm256_loadu_ps(a + i)));
    if (i < i1) {
        __m256i m = tail_mask(i1 - i);
        _mm256_maskstore_ps(y + i, m, gelu8(_mm256_maskload_ps(a + i, m)));
    }
}

static void swiglu_avx2(const float *gate, const float *up, float *y, int64_t i0, int64_t i1)
{
    int64_t i = i0;
    for (; i + 8 <= i1; i += 8)
        _mm256_storeu_ps(y + i, swiglu8(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
    if (i < i1) {
        __m256i m = tail_mask(i1 - i);
        _mm256_maskstore_ps(y + i, m,
                            swiglu8(_mm256_maskload_ps(gate + i, m), _mm256_maskload_ps(up + i, m)));
    }
}

const acc_cpu_kernels acc_cpu_kernels_avx2 = {
    .isa = ACC_CPU_ISA_AVX2,
    .name = "avx2",
    .matmul = {[ACC_WEIGHT_F32] = matmul_f32,
               [ACC_WEIGHT_F16] = matmul_f16,
               [ACC_WEIGHT_BF16] = matmul_bf16,
               [ACC_WEIGHT_Q8_0] = quant_matmul_q8_0,
               [ACC_WEIGHT_Q4_0] = quant_matmul_q4_0,
               [ACC_WEIGHT_Q4_K] = quant_matmul_q4_K,
               [ACC_WEIGHT_Q6_K] = quant_matmul_q6_K,
               [ACC_WEIGHT_Q5_K] = quant_matmul_q5_K},
    .dot = dot_avx2,
    .axpy = axpy_avx2,
    .gelu = gelu_avx2,
    .swiglu = swiglu_avx2,
    .exp = exp_array_avx2,
    .quantize_act = quant_quantize_act,
};

#endif
