/*
 * kernels_quant_x86.h — block-format matmuls (q8_0, q4_0, q4_K, q6_K
 * weights x int8 activations) written once with 256-bit integer vectors and
 * included by kernels_avx2.c and kernels_avx512.c, which differ only in the
 * u8 x s8 dot instruction they define as QUANT_DOT_U8S8 (AVX2: maddubs +
 * madd; AVX-512 VNNI: vpdpbusd).  Not a public header.
 *
 * q8_0/q4_0: per 32-block an exact integer dot (signs moved onto the
 * activations so the weights can be the unsigned operand), scaled by
 * d_w * d_x into 8 float lanes, reduced at the end, as ggml's SIMD paths do
 * (equal to the scalar dot up to float reassociation).  q4_K/q6_K: exact
 * integer sums per 256-block, then the scalar kernel's own float formula in
 * the same order, so these match the scalar dot products bit for bit.  Up
 * to four token rows share each unpacked weight block.  Batches of 16 or
 * more rows (prefill) take the dequantize-to-f32 path below instead.
 */
#ifndef ACCINF_KERNELS_QUANT_X86_H
#define ACCINF_KERNELS_QUANT_X86_H

#include "accinf/quant.h"
#include "backend/cpu/kernels.h"

#include <immintrin.h>
#include <stdlib.h>

#ifndef QUANT_DOT_U8S8
#error "define QUANT_DOT_U8S8(u8, s8) before including kernels_quant_x86.h"
#endif

#define QUANT_INLINE __attribute__((always_inline)) inline

/* x tile budget in bytes of quantized activation rows (L2). */
#define QUANT_TILE_BYTES (256 * 1024)
/* Decode prefetch distance in weight rows. */
#define QUANT_PREFETCH_ROWS 4

static QUANT_INLINE float quant_half(uint16_t h)
{
    return _cvtsh_ss(h);
}

static QUANT_INLINE float quant_hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static QUANT_INLINE int quant_hsum_i32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/* ---- q8_0 / q4_0 --------------------------------------------------------- */

static QUANT_INLINE void quant_tile_q8(const acc_cpu_matmul_args *A, int64_t r, int nt, int64_t j,
                                       acc_weight_type t, float out[4])
{
    const char *wrow = (const char *)A->w + (size_t)j * A->w_row_bytes;
    const char *xrow = (const char *)A->xq + (size_t)r * A->xq_row_bytes;
    int64_t nb = A->in / ACC_QK8_0;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    for (int64_t b = 0; b < nb; b++) {
        __m256i wq;
        float dw;
        if (nt == 1) /* decode: fetch rows ahead of the hardware prefetcher */
            _mm_prefetch((const char *)((uintptr_t)wrow + QUANT_PREFETCH_ROWS * A->w_row_bytes +
                                        (size_t)b * (t == ACC_WEIGHT_Q8_0
                                                         ? sizeof(acc_block_q8_0)
                                                         : sizeof(acc_block_q4_0))),
                         _MM_HINT_T0); /* may lie past the matrix: integer math */
        if (t == ACC_WEIGHT_Q8_0) {
            const acc_block_q8_0 *wb = (const acc_block_q8_0 *)wrow + b;
            wq = _mm256_loadu_si256((const __m256i *)wb->qs);
            dw = quant_half(wb->d);
        } else {
            const acc_block_q4_0 *wb = (const acc_block_q4_0 *)wrow + b;
            __m128i raw = _mm_loadu_si128((const __m128i *)wb->qs);
            __m128i low = _mm_and_si128(raw, _mm_set1_epi8(0x0F));
            __m128i high = _mm_and_si128(_mm_srli_epi16(raw, 4), _mm_set1_epi8(0x0F));
            wq = _mm256_sub_epi8(_mm256_set_m128i(high, low), _mm256_set1_epi8(8));
            dw = quant_half(wb->d);
        }
        __m256i wabs = _mm256_abs_epi8(wq);
        for (int a = 0; a < nt; a++) {
            const acc_block_q8_0 *xb =
                (const acc_block_q8_0 *)(xrow + (size_t)a * A->xq_row_bytes) + b;
            __m256i xs = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)xb->qs), wq);
            __m256 dot = _mm256_cvtepi32_ps(QUANT_DOT_U8S8(wabs, xs));
            acc[a] = _mm256_fmadd_ps(dot, _mm256_set1_ps(dw * quant_half(xb->d)), acc[a]);
        }
    }
    for (int a = 0; a < nt; a++)
        out[a] = quant_hsum8(acc[a]);
}

/* ---- q4_K ------------------------------------------------------------------ */

/* The 6-bit scale and min of sub-block j (ggml's get_scale_min_k4 layout). */
static QUANT_INLINE void quant_k4_scale_min(const uint8_t *q, int j, int *scale, int *min)
{
    if (j < 4) {
        *scale = q[j] & 63;
        *min = q[j + 4] & 63;
    } else {
        *scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

static QUANT_INLINE void quant_tile_q4_K(const acc_cpu_matmul_args *A, int64_t r, int nt,
                                         int64_t j, float out[4])
{
    const acc_block_q4_K *w = (const acc_block_q4_K *)((const char *)A->w +
                                                       (size_t)j * A->w_row_bytes);
    const char *xrow = (const char *)A->xq + (size_t)r * A->xq_row_bytes;
    int64_t nb = A->in / ACC_QK_K;
    float sum[4] = {0, 0, 0, 0};
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    for (int64_t b = 0; b < nb; b++) {
        int scale[8], min[8];
        for (int s = 0; s < 8; s++)
            quant_k4_scale_min(w[b].scales, s, &scale[s], &min[s]);
        __m256i q[8];
        for (int c = 0; c < 4; c++) {
            __m256i raw = _mm256_loadu_si256((const __m256i *)(w[b].qs + 32 * c));
            q[2 * c] = _mm256_and_si256(raw, nibble);
            q[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), nibble);
        }
        float dw = quant_half(w[b].d), dmin = quant_half(w[b].dmin);
        for (int a = 0; a < nt; a++) {
            const acc_block_q8_K *x =
                (const acc_block_q8_K *)(xrow + (size_t)a * A->xq_row_bytes) + b;
            __m256i acc = _mm256_setzero_si256();
            for (int s = 0; s < 8; s++) {
                __m256i xs = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * s));
                acc = _mm256_add_epi32(
                    acc, _mm256_mullo_epi32(QUANT_DOT_U8S8(q[s], xs), _mm256_set1_epi32(scale[s])));
            }
            int sumi = quant_hsum_i32(acc), summ = 0;
            for (int s = 0; s < 8; s++)
                summ += min[s] * (x->bsums[2 * s] + x->bsums[2 * s + 1]);
            /* the scalar kernel's formula, term by term (no contraction) */
            float p1 = x->d * dw;
            float t1 = p1 * (float)sumi;
            float p2 = x->d * dmin;
            float t2 = p2 * (float)summ;
            sum[a] += t1 - t2;
        }
    }
    for (int a = 0; a < nt; a++)
        out[a] = sum[a];
}

/* ---- q6_K ------------------------------------------------------------------ */

static QUANT_INLINE void quant_tile_q6_K(const acc_cpu_matmul_args *A, int64_t r, int nt,
                                         int64_t j, float out[4])
{
    const acc_block_q6_K *w = (const acc_block_q6_K *)((const char *)A->w +
                                                       (size_t)j * A->w_row_bytes);
    const char *xrow = (const char *)A->xq + (size_t)r * A->xq_row_bytes;
    int64_t nb = A->in / ACC_QK_K;
    float sum[4] = {0, 0, 0, 0};
    const __m256i nibble = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(3);
    for (int64_t b = 0; b < nb; b++) {
        /* q[4h + quarter]: elements 128h + 32 quarter .. + 32, levels + 32 (0..63) */
        __m256i q[8];
        for (int h = 0; h < 2; h++) {
            __m256i ql0 = _mm256_loadu_si256((const __m256i *)(w[b].ql + 64 * h));
            __m256i ql1 = _mm256_loadu_si256((const __m256i *)(w[b].ql + 64 * h + 32));
            __m256i qh = _mm256_loadu_si256((const __m256i *)(w[b].qh + 32 * h));
            __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(qh, two), 4);
            __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), two), 4);
            __m256i h2 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), two), 4);
            __m256i h3 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), two), 4);
            q[4 * h] = _mm256_or_si256(_mm256_and_si256(ql0, nibble), h0);
            q[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(ql1, nibble), h1);
            q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), nibble), h2);
            q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), nibble), h3);
        }
        float dw = quant_half(w[b].d);
        int correction_scale[16];
        for (int g = 0; g < 16; g++)
            correction_scale[g] = 32 * w[b].scales[g];
        for (int a = 0; a < nt; a++) {
            const acc_block_q8_K *x =
                (const acc_block_q8_K *)(xrow + (size_t)a * A->xq_row_bytes) + b;
            __m256i acc = _mm256_setzero_si256();
            for (int s = 0; s < 8; s++) {
                __m256i xs = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * s));
                /* lanes 0-3 hold elements of group 2s, lanes 4-7 of group 2s+1 */
                __m256i sc = _mm256_set_m128i(_mm_set1_epi32(w[b].scales[2 * s + 1]),
                                              _mm_set1_epi32(w[b].scales[2 * s]));
                acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(QUANT_DOT_U8S8(q[s], xs), sc));
            }
            int sumi = quant_hsum_i32(acc);
            for (int g = 0; g < 16; g++)
                sumi -= correction_scale[g] * x->bsums[g];
            float p = dw * x->d;
            float term = p * (float)sumi; /* own statement: never fused into the sum */
            sum[a] += term;
        }
    }
    for (int a = 0; a < nt; a++)
        out[a] = sum[a];
}

/* ---- the matmul over a range ---------------------------------------------- */

static QUANT_INLINE void quant_block(const acc_cpu_matmul_args *A, int64_t r, int nt, int64_t j,
                                     acc_weight_type t)
{
    float o[4];
    if (t == ACC_WEIGHT_Q4_K)
        quant_tile_q4_K(A, r, nt, j, o);
    else if (t == ACC_WEIGHT_Q6_K)
        quant_tile_q6_K(A, r, nt, j, o);
    else
        quant_tile_q8(A, r, nt, j, t, o);
    for (int a = 0; a < nt; a++)
        A->y[(r + a) * A->out + j] = o[a] + (A->bias ? A->bias[j] : 0.0f);
}

/* Prefill: with many token rows the int8 dot costs several instructions
 * per 32 products while an f32 FMA kernel needs two, so groups of weight
 * rows are widened (ggml's exact dequantization) into an f32 buffer and
 * run through the including file's f32 matmul, which reuses them across
 * every token of the tile.  The result is f32 math on the dequantized
 * weights (no int8 rounding of the activations), identical for any split. */
#define QUANT_GEMM_MIN_ROWS 16
#define QUANT_GEMM_GROUP 64

static void matmul_f32(const acc_cpu_matmul_args *A, int64_t r0, int64_t r1, int64_t j0,
                       int64_t j1);

/* dst[i] = (float)q[i] * scale for 32 signed bytes (ggml's dequantization
 * formula, one rounding, never fused). */
static QUANT_INLINE void quant_store_scaled(__m256i q, __m256 scale, float *dst)
{
    __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    _mm256_storeu_ps(dst, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)), scale));
    _mm256_storeu_ps(dst + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(
                                                _mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))),
                                            scale));
    _mm256_storeu_ps(dst + 16, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), scale));
    _mm256_storeu_ps(dst + 24, _mm256_mul_ps(_mm256_cvtepi32_ps(
                                                 _mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))),
                                             scale));
}

/* Rows j0..j1 of the weights as f32, bit-identical to acc_dequantize_row_*
 * (the same products in the same order, without contraction). */
static void quant_dequantize_rows(const acc_cpu_matmul_args *A, int64_t j0, int64_t j1, float *out)
{
    const __m256i nibble = _mm256_set1_epi8(0x0F), three = _mm256_set1_epi8(3);
    for (int64_t j = j0; j < j1; j++) {
        const char *row = (const char *)A->w + (size_t)j * A->w_row_bytes;
        float *dst = out + (j - j0) * A->in;
        if (A->w_type == ACC_WEIGHT_Q8_0 || A->w_type == ACC_WEIGHT_Q4_0) {
            for (int64_t b = 0; b < A->in / 32; b++, dst += 32) {
                __m256i q;
                float d;
                if (A->w_type == ACC_WEIGHT_Q8_0) {
                    const acc_block_q8_0 *wb = (const acc_block_q8_0 *)row + b;
                    q = _mm256_loadu_si256((const __m256i *)wb->qs);
                    d = quant_half(wb->d);
                } else {
                    const acc_block_q4_0 *wb = (const acc_block_q4_0 *)row + b;
                    __m128i raw = _mm_loadu_si128((const __m128i *)wb->qs);
                    __m128i low = _mm_and_si128(raw, _mm_set1_epi8(0x0F));
                    __m128i high = _mm_and_si128(_mm_srli_epi16(raw, 4), _mm_set1_epi8(0x0F));
                    q = _mm256_sub_epi8(_mm256_set_m128i(high, low), _mm256_set1_epi8(8));
                    d = quant_half(wb->d);
                }
                quant_store_scaled(q, _mm256_set1_ps(d), dst);
            }
        } else if (A->w_type == ACC_WEIGHT_Q4_K) {
            for (int64_t b = 0; b < A->in / ACC_QK_K; b++) {
                const acc_block_q4_K *wb = (const acc_block_q4_K *)row + b;
                float d = quant_half(wb->d), dmin = quant_half(wb->dmin);
                for (int s = 0; s < 8; s++, dst += 32) {
                    int scale, min;
                    quant_k4_scale_min(wb->scales, s, &scale, &min);
                    __m256i raw = _mm256_loadu_si256((const __m256i *)(wb->qs + 32 * (s / 2)));
                    __m256i q = s % 2 ? _mm256_and_si256(_mm256_srli_epi16(raw, 4), nibble)
                                      : _mm256_and_si256(raw, nibble);
                    /* d * sc * q - dmin * m, as the scalar code groups it */
                    __m256 d1 = _mm256_set1_ps(d * (float)scale);
                    __m256 m1 = _mm256_set1_ps(dmin * (float)min);
                    __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
                    __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
                    for (int p = 0; p < 4; p++) {
                        __m256 qf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(parts[p]));
                        _mm256_storeu_ps(dst + 8 * p, _mm256_sub_ps(_mm256_mul_ps(d1, qf), m1));
                    }
                }
            }
        } else {
            for (int64_t b = 0; b < A->in / ACC_QK_K; b++) {
                const acc_block_q6_K *wb = (const acc_block_q6_K *)row + b;
                float d = quant_half(wb->d);
                for (int h = 0; h < 2; h++) {
                    __m256i ql0 = _mm256_loadu_si256((const __m256i *)(wb->ql + 64 * h));
                    __m256i ql1 = _mm256_loadu_si256((const __m256i *)(wb->ql + 64 * h + 32));
                    __m256i qh = _mm256_loadu_si256((const __m256i *)(wb->qh + 32 * h));
                    __m256i q[4];
                    q[0] = _mm256_or_si256(_mm256_and_si256(ql0, nibble),
                                           _mm256_slli_epi16(_mm256_and_si256(qh, three), 4));
                    q[1] = _mm256_or_si256(
                        _mm256_and_si256(ql1, nibble),
                        _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), three), 4));
                    q[2] = _mm256_or_si256(
                        _mm256_and_si256(_mm256_srli_epi16(ql0, 4), nibble),
                        _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), three), 4));
                    q[3] = _mm256_or_si256(
                        _mm256_and_si256(_mm256_srli_epi16(ql1, 4), nibble),
                        _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), three), 4));
                    for (int quarter = 0; quarter < 4; quarter++, dst += 32) {
                        int g = 8 * h + 2 * quarter; /* 16-element groups g, g + 1 */
                        __m256i level = _mm256_sub_epi8(q[quarter], _mm256_set1_epi8(32));
                        __m128i lo = _mm256_castsi256_si128(level);
                        __m128i hi = _mm256_extracti128_si256(level, 1);
                        __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
                        for (int p = 0; p < 4; p++) {
                            __m256 scale = _mm256_set1_ps(d * (float)wb->scales[g + p / 2]);
                            __m256 lf = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(parts[p]));
                            _mm256_storeu_ps(dst + 8 * p, _mm256_mul_ps(scale, lf));
                        }
                    }
                }
            }
        }
    }
}

/* 1 if the range was computed through dequantized f32 weights. */
static int quant_matmul_dequantized(const acc_cpu_matmul_args *A, int64_t r0, int64_t r1,
                                    int64_t j0, int64_t j1)
{
    if (r1 - r0 < QUANT_GEMM_MIN_ROWS)
        return 0;
    float *buf = malloc((size_t)(QUANT_GEMM_GROUP * A->in) * sizeof *buf);
    if (!buf)
        return 0;
    for (int64_t j = j0; j < j1; j += QUANT_GEMM_GROUP) {
        int64_t je = j + QUANT_GEMM_GROUP < j1 ? j + QUANT_GEMM_GROUP : j1;
        quant_dequantize_rows(A, j, je, buf);
        /* the f32 kernel sees columns j..je as 0..je-j of a shifted y */
        acc_cpu_matmul_args f = *A;
        f.w = buf;
        f.w_type = ACC_WEIGHT_F32;
        f.w_row_bytes = (size_t)A->in * sizeof(float);
        f.bias = A->bias ? A->bias + j : NULL;
        f.y = A->y + j;
        matmul_f32(&f, r0, r1, 0, je - j);
    }
    free(buf);
    return 1;
}

static QUANT_INLINE void quant_matmul_generic(const acc_cpu_matmul_args *A, int64_t r0,
                                              int64_t r1, int64_t j0, int64_t j1,
                                              acc_weight_type t)
{
    if (quant_matmul_dequantized(A, r0, r1, j0, j1))
        return;
    int64_t tile_rows = (int64_t)(QUANT_TILE_BYTES / (A->xq_row_bytes ? A->xq_row_bytes : 1)) &
                        ~(int64_t)3;
    if (tile_rows < 4)
        tile_rows = 4;
    for (int64_t rt = r0; rt < r1; rt += tile_rows) {
        int64_t rt_end = rt + tile_rows < r1 ? rt + tile_rows : r1;
        for (int64_t j = j0; j < j1; j++) {
            int64_t r = rt;
            for (; r + 4 <= rt_end; r += 4)
                quant_block(A, r, 4, j, t);
            switch (rt_end - r) {
            case 3:
                quant_block(A, r, 3, j, t);
                break;
            case 2:
                quant_block(A, r, 2, j, t);
                break;
            case 1:
                quant_block(A, r, 1, j, t);
                break;
            default:
                break;
            }
        }
    }
}

static void quant_matmul_q8_0(const acc_cpu_matmul_args *A, int64_t r0, int64_t r1, int64_t j0,
                              int64_t j1)
{
    quant_matmul_generic(A, r0, r1, j0, j1, ACC_WEIGHT_Q8_0);
}

static void quant_matmul_q4_0(const acc_cpu_matmul_args *A, int64_t r0, int64_t r1, int64_t j0,
                              int64_t j1)
{
    quant_matmul_generic(A, r0, r1, j0, j1, ACC_WEIGHT_Q4_0);
}

static void quant_matmul_q4_K(const acc_cpu_matmul_args *A, int64_t r0, int64_t r1, int64_t j0,
                              int64_t j1)
{
    quant_matmul_generic(A, r0, r1, j0, j1, ACC_WEIGHT_Q4_K);
}

static void quant_matmul_q6_K(const acc_cpu_matmul_args *A, int64_t r0, int64_t r1, int64_t j0,
                              int64_t j1)
{
    quant_matmul_generic(A, r0, r1, j0, j1, ACC_WEIGHT_Q6_K);
}

#endif
