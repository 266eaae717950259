/*
 * kernels_quant_x86.h — block-format matmuls (q8_0, q4_0, q4_K, q5_K, q6_K
 * weights x int8 activations) written once with 256-bit integer vectors and
 * included by kernels_avx2.c and kernels_avx512.c, which differ only in the
 * u8 x s8 dot instruction they define as QUANT_DOT_U8S8 (AVX2: maddubs +
 * madd; AVX-512 VNNI: vpdpbusd).  Not a public header.
 *
 * Every row count (decode and prefill) uses int8 activations, quantized
 * once per step (quant_quantize_act, the scalar quantizers' bytes).
 * q8_0/q4_0: a tiled GEMM, per 32-block an exact integer dot scaled by
 * d_w * d_x into float lanes, reduced at the end, as ggml's SIMD paths do
 * (equal to the scalar dot up to float reassociation).  k-quants: exact
 * integer sums per 256-block, then the scalar kernel's own float formula in
 * the same order, so these match the scalar dot products bit for bit; eight
 * token rows share each unpacked weight block.
 */
#ifndef ACCINF_KERNELS_QUANT_X86_H
#define ACCINF_KERNELS_QUANT_X86_H

#include "accinf/quant.h"
#include "accinf/tensor.h"
#include "backend/cpu/kernels.h"

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#ifndef QUANT_DOT_U8S8
#error "define QUANT_DOT_U8S8(u8, s8) before including kernels_quant_x86.h"
#endif

#define QUANT_INLINE __attribute__((always_inline)) inline

/* x tile budget in bytes of quantized activation rows (L2). */
#define QUANT_TILE_BYTES (256 * 1024)
/* k-quant tiles: token rows sharing one unpacked weight block. */
#define QUANT_KT 8
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

/* ---- q4_K ------------------------------------------------------------------ */

/* All eight 6-bit scales and mins of a q4_K/q5_K block at once, one byte
 * each (ggml's get_scale_min_k4 layout: sub-blocks 0-3 in the low six bits of
 * bytes 0-7, 4-7 split over bytes 8-11 and the top bits of bytes 0-7) from three 32-bit words: no
 * byte stores that a vector load would then have to wait for. */
static QUANT_INLINE void quant_k4_scales_mins(const uint8_t *q, uint64_t *scales, uint64_t *mins)
{
    uint32_t a, b, c;
    memcpy(&a, q, 4);
    memcpy(&b, q + 4, 4);
    memcpy(&c, q + 8, 4);
    uint32_t s47 = (c & 0x0F0F0F0Fu) | (((a >> 6) & 0x03030303u) << 4);
    uint32_t m47 = ((c >> 4) & 0x0F0F0F0Fu) | (((b >> 6) & 0x03030303u) << 4);
    *scales = (uint64_t)(a & 0x3F3F3F3Fu) | (uint64_t)s47 << 32;
    *mins = (uint64_t)(b & 0x3F3F3F3Fu) | (uint64_t)m47 << 32;
}

/* The integer sums of a k-quant block pair: sumi = hsum(vi), summ = hsum(vm). */
/* One q4_K/q5_K block's contribution from its exact integer sums: the
 * scalar kernel's formula, term by term (separate statements: no FMA
 * contraction, so the bits equal acc_vec_dot_q4_K_q8's). */
static QUANT_INLINE float quant_k_block_term(float xd, float dw, float dmin, int sumi, int summ)
{
    float p1 = xd * dw;
    float t1 = p1 * (float)sumi;
    float p2 = xd * dmin;
    float t2 = p2 * (float)summ;
    return t1 - t2;
}

static QUANT_INLINE void quant_hsum2_i32(__m256i vi, __m256i vm, int *sumi, int *summ)
{
    __m256i t = _mm256_hadd_epi32(vi, vm); /* per half: i01 i23 m01 m23 */
    __m128i u = _mm_add_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
    u = _mm_hadd_epi32(u, u);
    *sumi = _mm_cvtsi128_si32(u);
    *summ = _mm_extract_epi32(u, 1);
}

/* Per 32 elements: maddubs (u8 levels x s8 activations, pairs within
 * int16) then madd by the sub-block scale as int16: exact integers, the
 * same sums as the scalar kernel's.  q5_K is q4_K with a fifth bit per
 * level (qh[l] bit s for element 32 s + l): levels 0..31, and the pair
 * sums of maddubs stay within int16 (2 * 31 * 128). */
static QUANT_INLINE void quant_tile_q4_K(const acc_cpu_matmul_args *A, int64_t r, int nt,
                                         int64_t j, float out[QUANT_KT], acc_weight_type t)
{
    const char *wrow = (const char *)A->w + (size_t)j * A->w_row_bytes;
    size_t wbytes = t == ACC_WEIGHT_Q5_K ? sizeof(acc_block_q5_K) : sizeof(acc_block_q4_K);
    const char *xrow = (const char *)A->xq + (size_t)r * A->xq_row_bytes;
    int64_t nb = A->in / ACC_QK_K;
    float sum[QUANT_KT] = {0};
    const __m256i nibble = _mm256_set1_epi8(0x0F), bit = _mm256_set1_epi8(1);
    for (int64_t b = 0; b < nb; b++) {
        const char *wb = wrow + (size_t)b * wbytes;
        uint16_t dh, dminh;
        const uint8_t *scales, *qs, *qh = NULL;
        if (t == ACC_WEIGHT_Q5_K) {
            const acc_block_q5_K *w5 = (const acc_block_q5_K *)wb;
            dh = w5->d, dminh = w5->dmin, scales = w5->scales, qs = w5->qs, qh = w5->qh;
        } else {
            const acc_block_q4_K *w4 = (const acc_block_q4_K *)wb;
            dh = w4->d, dminh = w4->dmin, scales = w4->scales, qs = w4->qs;
        }
        if (nt == 1) /* decode streams the rows once: fetch the next row's block */
            _mm_prefetch((const char *)((uintptr_t)wb + A->w_row_bytes), _MM_HINT_T0);
        uint64_t scale8, min8;
        quant_k4_scales_mins(scales, &scale8, &min8);
        __m256i q[8], sc[8];
        for (int c = 0; c < 4; c++) {
            __m256i raw = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
            q[2 * c] = _mm256_and_si256(raw, nibble);
            q[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), nibble);
        }
        if (qh) {
            __m256i hv = _mm256_loadu_si256((const __m256i *)qh);
            for (int s = 0; s < 8; s++) /* 16-bit shifts, then one bit per byte */
                q[s] = _mm256_or_si256(
                    q[s], _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hv, s), bit), 4));
        }
        for (int s = 0; s < 8; s++)
            sc[s] = _mm256_set1_epi16((short)((scale8 >> (8 * s)) & 0xFF));
        /* bsums g (16 elements) belong to sub-block g / 2 */
        __m128i m8 = _mm_cvtsi64_si128((long long)min8);
        __m256i mins = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
        float dw = quant_half(dh), dmin = quant_half(dminh);
        for (int a = 0; a < nt; a++) {
            const acc_block_q8_K *x =
                (const acc_block_q8_K *)(xrow + (size_t)a * A->xq_row_bytes) + b;
            __m256i acc = _mm256_setzero_si256();
            for (int s = 0; s < 8; s++) {
                __m256i xs = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * s));
                acc = _mm256_add_epi32(acc,
                                       _mm256_madd_epi16(_mm256_maddubs_epi16(q[s], xs), sc[s]));
            }
            __m256i vm =
                _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)x->bsums), mins);
            int sumi, summ;
            quant_hsum2_i32(acc, vm, &sumi, &summ);
            sum[a] += quant_k_block_term(x->d, dw, dmin, sumi, summ);
        }
    }
    for (int a = 0; a < nt; a++)
        out[a] = sum[a];
}

/* ---- q6_K ------------------------------------------------------------------ */

static QUANT_INLINE void quant_tile_q6_K(const acc_cpu_matmul_args *A, int64_t r, int nt,
                                         int64_t j, float out[QUANT_KT])
{
    const acc_block_q6_K *w = (const acc_block_q6_K *)((const char *)A->w +
                                                       (size_t)j * A->w_row_bytes);
    const char *xrow = (const char *)A->xq + (size_t)r * A->xq_row_bytes;
    int64_t nb = A->in / ACC_QK_K;
    float sum[QUANT_KT] = {0};
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
        __m256i sc[8];
        for (int s = 0; s < 8; s++) /* int16 lanes 0-7: group 2s, 8-15: group 2s+1 */
            sc[s] = _mm256_set_m128i(_mm_set1_epi16(w[b].scales[2 * s + 1]),
                                     _mm_set1_epi16(w[b].scales[2 * s]));
        __m256i scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w[b].scales));
        for (int a = 0; a < nt; a++) {
            const acc_block_q8_K *x =
                (const acc_block_q8_K *)(xrow + (size_t)a * A->xq_row_bytes) + b;
            __m256i acc = _mm256_setzero_si256();
            for (int s = 0; s < 8; s++) {
                __m256i xs = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * s));
                acc = _mm256_add_epi32(acc,
                                       _mm256_madd_epi16(_mm256_maddubs_epi16(q[s], xs), sc[s]));
            }
            /* the +32 offset of the levels: sum_g 32 * scale_g * bsum_g */
            __m256i vc =
                _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)x->bsums), scales16);
            int sumi, corr;
            quant_hsum2_i32(acc, vc, &sumi, &corr);
            sumi -= 32 * corr;
            float p = dw * x->d;
            float term = p * (float)sumi; /* own statement: never fused into the sum */
            sum[a] += term;
        }
    }
    for (int a = 0; a < nt; a++)
        out[a] = sum[a];
}

/* ---- k-quants with 512-bit registers (AVX-512 BW) ---------------------- */

#ifdef QUANT_HAVE_AVX512
/* The same exact integer sums as the 256-bit tiles, 64 elements per
 * instruction: register k holds elements 64k .. 64k + 63 of the block, the
 * per-group scales are spread over its int16 pair sums by one vpermw, and
 * the float formula per block is the scalar kernel's, so the bits are the
 * scalar table's. */
static QUANT_INLINE void quant_tile_q4_K_512(const acc_cpu_matmul_args *A, int64_t r, int nt,
                                             int64_t j, float out[QUANT_KT], acc_weight_type t)
{
    const char *wrow = (const char *)A->w + (size_t)j * A->w_row_bytes;
    size_t wbytes = t == ACC_WEIGHT_Q5_K ? sizeof(acc_block_q5_K) : sizeof(acc_block_q4_K);
    const char *xrow = (const char *)A->xq + (size_t)r * A->xq_row_bytes;
    int64_t nb = A->in / ACC_QK_K;
    float sum[QUANT_KT] = {0};
    const __m512i nibble = _mm512_set1_epi8(0x0F), bit = _mm512_set1_epi8(1);
    /* int16 shift counts: the low 256 bits take low nibbles, the high ones high */
    const __m512i sh_nib = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
    __m512i sh_bit[4], idx[4];
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
        sh_bit[k] = _mm512_inserti64x4(_mm512_set1_epi16((short)(2 * k)),
                                       _mm256_set1_epi16((short)(2 * k + 1)), 1);
        /* pair sum i of register k is in sub-block 2k + i / 16 */
        idx[k] = _mm512_inserti64x4(_mm512_set1_epi16((short)(2 * k)),
                                    _mm256_set1_epi16((short)(2 * k + 1)), 1);
    }
    for (int64_t b = 0; b < nb; b++) {
        const char *wb = wrow + (size_t)b * wbytes;
        uint16_t dh, dminh;
        const uint8_t *scales, *qs, *qh = NULL;
        if (t == ACC_WEIGHT_Q5_K) {
            const acc_block_q5_K *w5 = (const acc_block_q5_K *)wb;
            dh = w5->d, dminh = w5->dmin, scales = w5->scales, qs = w5->qs, qh = w5->qh;
        } else {
            const acc_block_q4_K *w4 = (const acc_block_q4_K *)wb;
            dh = w4->d, dminh = w4->dmin, scales = w4->scales, qs = w4->qs;
        }
        if (nt == 1) /* decode streams the rows once: fetch the next row's block */
            _mm_prefetch((const char *)((uintptr_t)wb + A->w_row_bytes), _MM_HINT_T0);
        uint64_t scale8, min8;
        quant_k4_scales_mins(scales, &scale8, &min8);
        __m512i sc16 =
            _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)scale8)));
        __m512i q[4], sc[4];
        __m512i hv = qh ? _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)qh))
                        : _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            __m512i raw = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(qs + 32 * k)));
            q[k] = _mm512_and_si512(_mm512_srlv_epi16(raw, sh_nib), nibble);
            if (qh)
                q[k] = _mm512_or_si512(
                    q[k], _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(hv, sh_bit[k]), bit),
                                            4));
            sc[k] = _mm512_permutexvar_epi16(idx[k], sc16);
        }
        __m128i m8 = _mm_cvtsi64_si128((long long)min8);
        __m256i mins = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
        float dw = quant_half(dh), dmin = quant_half(dminh);
        for (int a = 0; a < nt; a++) {
            const acc_block_q8_K *x =
                (const acc_block_q8_K *)(xrow + (size_t)a * A->xq_row_bytes) + b;
            __m512i acc = _mm512_setzero_si512();
#pragma GCC unroll 4
            for (int k = 0; k < 4; k++) {
                __m512i xs = _mm512_loadu_si512((const void *)(x->qs + 64 * k));
                acc = _mm512_add_epi32(acc,
                                       _mm512_madd_epi16(_mm512_maddubs_epi16(q[k], xs), sc[k]));
            }
            __m256i vm =
                _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)x->bsums), mins);
            int sumi = _mm512_reduce_add_epi32(acc), summ = quant_hsum_i32(vm);
            sum[a] += quant_k_block_term(x->d, dw, dmin, sumi, summ);
        }
    }
    for (int a = 0; a < nt; a++)
        out[a] = sum[a];
}

static QUANT_INLINE void quant_tile_q6_K_512(const acc_cpu_matmul_args *A, int64_t r, int nt,
                                             int64_t j, float out[QUANT_KT])
{
    const acc_block_q6_K *w = (const acc_block_q6_K *)((const char *)A->w +
                                                       (size_t)j * A->w_row_bytes);
    const char *xrow = (const char *)A->xq + (size_t)r * A->xq_row_bytes;
    int64_t nb = A->in / ACC_QK_K;
    float sum[QUANT_KT] = {0};
    const __m512i nibble = _mm512_set1_epi8(0x0F), three = _mm512_set1_epi8(3);
    /* ql bytes 0-31 pair with qh bits 0-1 (low nibbles) and 4-5 (high),
     * bytes 32-63 with bits 2-3 and 6-7 */
    const __m512i sh_lo = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    const __m512i sh_hi = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(6), 1);
    __m512i idx[4];
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) /* pair sum i of register k is in group 4k + i / 8 */
        idx[k] = _mm512_add_epi16(_mm512_set1_epi16((short)(4 * k)),
                                  _mm512_srli_epi16(_mm512_set_epi16(
                                      31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16,
                                      15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), 3));
    for (int64_t b = 0; b < nb; b++) {
        if (nt == 1)
            _mm_prefetch((const char *)((uintptr_t)&w[b] + A->w_row_bytes), _MM_HINT_T0);
        __m512i q[4];
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
            __m512i ql = _mm512_loadu_si512((const void *)(w[b].ql + 64 * h));
            __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(w[b].qh + 32 * h)));
            q[2 * h] = _mm512_or_si512(
                _mm512_and_si512(ql, nibble),
                _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, sh_lo), three), 4));
            q[2 * h + 1] = _mm512_or_si512(
                _mm512_and_si512(_mm512_srli_epi16(ql, 4), nibble),
                _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, sh_hi), three), 4));
        }
        float dw = quant_half(w[b].d);
        __m256i scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w[b].scales));
        __m512i sc[4];
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++)
            sc[k] = _mm512_permutexvar_epi16(idx[k], _mm512_castsi256_si512(scales16));
        for (int a = 0; a < nt; a++) {
            const acc_block_q8_K *x =
                (const acc_block_q8_K *)(xrow + (size_t)a * A->xq_row_bytes) + b;
            __m512i acc = _mm512_setzero_si512();
#pragma GCC unroll 4
            for (int k = 0; k < 4; k++) {
                __m512i xs = _mm512_loadu_si512((const void *)(x->qs + 64 * k));
                acc = _mm512_add_epi32(acc,
                                       _mm512_madd_epi16(_mm512_maddubs_epi16(q[k], xs), sc[k]));
            }
            /* the +32 offset of the levels: sum_g 32 * scale_g * bsum_g */
            __m256i vc =
                _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)x->bsums), scales16);
            /* folded in before the one reduction: integer sums, so the
             * same value as subtracting after */
            int sumi = _mm512_reduce_add_epi32(
                _mm512_sub_epi32(acc, _mm512_zextsi256_si512(_mm256_slli_epi32(vc, 5))));
            float p = dw * x->d;
            float term = p * (float)sumi; /* own statement: never fused into the sum */
            sum[a] += term;
        }
    }
    for (int a = 0; a < nt; a++)
        out[a] = sum[a];
}
#endif

#ifdef QUANT_HAVE_VNNI
/* Decode (one token row) of a q6_K row: the same exact integer sum per
 * 256-block and the same float steps, in the same order, as
 * quant_tile_q6_K_512, with fewer instructions per block.  The levels are
 * assembled with vpternlog; vpdpbusd gives int32 sums of four level x
 * activation products (at most 4 * 63 * 128 = 32256, so narrowing them to
 * int16 with vpackssdw is exact), which one vpmaddwd against the group
 * scales folds; and the per-block horizontal sums of up to eight blocks
 * are done together as one transpose-add, not one reduction each. */
#define QUANT_Q6_CHUNK 8
/* Software prefetch distance of the decode row walk: the weight rows are
 * contiguous and read once; 512-1536 bytes measured best (tg +5% over none
 * on the 1B output matrix, 2 threads, Sapphire Rapids). */
#define QUANT_Q6_PREFETCH_BYTES 1024

static QUANT_INLINE __m512i quant_q6_K_block_sum_1(const acc_block_q6_K *w,
                                                   const acc_block_q8_K *x,
                                                   const __m512i sc_idx[2])
{
    const __m512i low4 = _mm512_set1_epi8(0x0F), bits45 = _mm512_set1_epi8(0x30);
    /* ql bytes 0-31 take qh bits 0-1 (low nibbles) and 4-5 (high ones),
     * bytes 32-63 bits 2-3 and 6-7: shifted into bits 4-5 of each byte */
    const __m512i sl_lo = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i sr_hi = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    __m512i d[4];
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        __m512i ql = _mm512_loadu_si512((const void *)(w->ql + 64 * h));
        __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(w->qh + 32 * h)));
        __m512i hl = _mm512_and_si512(_mm512_sllv_epi16(qh, sl_lo), bits45);
        __m512i hh = _mm512_and_si512(_mm512_srlv_epi16(qh, sr_hi), bits45);
        /* 0xEA: (a & b) | c with a = ql, b = 0x0F, c = high bits */
        __m512i q0 = _mm512_ternarylogic_epi32(ql, low4, hl, 0xEA);
        __m512i q1 = _mm512_ternarylogic_epi32(_mm512_srli_epi16(ql, 4), low4, hh, 0xEA);
        d[2 * h] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q0,
                                       _mm512_loadu_si512((const void *)(x->qs + 128 * h)));
        d[2 * h + 1] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q1,
                                           _mm512_loadu_si512((const void *)(x->qs + 128 * h + 64)));
    }
    __m512i scales16 = _mm512_castsi256_si512(
        _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w->scales)));
    __m512i acc = _mm512_add_epi32(
        _mm512_madd_epi16(_mm512_packs_epi32(d[0], d[1]),
                          _mm512_permutexvar_epi16(sc_idx[0], scales16)),
        _mm512_madd_epi16(_mm512_packs_epi32(d[2], d[3]),
                          _mm512_permutexvar_epi16(sc_idx[1], scales16)));
    /* the +32 offset of the levels: sum_g 32 * scale_g * bsum_g */
    __m256i vc = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)x->bsums),
                                   _mm512_castsi512_si256(scales16));
    return _mm512_sub_epi32(acc, _mm512_zextsi256_si512(_mm256_slli_epi32(vc, 5)));
}

/* The eight int32 lane sums of a[0..7], in order. */
static QUANT_INLINE __m256i quant_hsum8x16_i32(const __m512i a[QUANT_Q6_CHUNK])
{
    __m256i s[QUANT_Q6_CHUNK];
#pragma GCC unroll 8
    for (int i = 0; i < QUANT_Q6_CHUNK; i++)
        s[i] = _mm256_add_epi32(_mm512_castsi512_si256(a[i]), _mm512_extracti64x4_epi64(a[i], 1));
    __m256i h01 = _mm256_hadd_epi32(s[0], s[1]), h23 = _mm256_hadd_epi32(s[2], s[3]);
    __m256i h45 = _mm256_hadd_epi32(s[4], s[5]), h67 = _mm256_hadd_epi32(s[6], s[7]);
    /* per 128-bit half: partial sums of blocks 0-3 (resp. 4-7) */
    __m256i h0123 = _mm256_hadd_epi32(h01, h23), h4567 = _mm256_hadd_epi32(h45, h67);
    __m256i lo = _mm256_permute2x128_si256(h0123, h4567, 0x20);
    __m256i hi = _mm256_permute2x128_si256(h0123, h4567, 0x31);
    return _mm256_add_epi32(lo, hi);
}

static QUANT_INLINE float quant_row_q6_K_1(const acc_cpu_matmul_args *A, int64_t r, int64_t j)
{
    const acc_block_q6_K *w = (const acc_block_q6_K *)((const char *)A->w +
                                                       (size_t)j * A->w_row_bytes);
    const acc_block_q8_K *x = (const acc_block_q8_K *)((const char *)A->xq +
                                                       (size_t)r * A->xq_row_bytes);
    int64_t nb = A->in / ACC_QK_K;
    /* word i of the packed pair (d[2m], d[2m+1]): 128-bit lane l = i / 8
     * holds int32 lanes 4l..4l+3 of d[2m] (group 8m + l) then of d[2m+1]
     * (group 8m + 4 + l) */
    static const int16_t id[2][32] = {
        {0, 0, 0, 0, 4, 4, 4, 4, 1, 1, 1, 1, 5, 5, 5, 5,
         2, 2, 2, 2, 6, 6, 6, 6, 3, 3, 3, 3, 7, 7, 7, 7},
        {8, 8, 8, 8, 12, 12, 12, 12, 9, 9, 9, 9, 13, 13, 13, 13,
         10, 10, 10, 10, 14, 14, 14, 14, 11, 11, 11, 11, 15, 15, 15, 15}};
    const __m512i sc_idx[2] = {_mm512_loadu_si512((const void *)id[0]),
                               _mm512_loadu_si512((const void *)id[1])};
    float sum = 0;
    for (int64_t b0 = 0; b0 < nb; b0 += QUANT_Q6_CHUNK) {
        int n = nb - b0 < QUANT_Q6_CHUNK ? (int)(nb - b0) : QUANT_Q6_CHUNK;
        __m512i acc[QUANT_Q6_CHUNK];
#pragma GCC unroll 8
        for (int i = 0; i < QUANT_Q6_CHUNK; i++) {
            if (i < n) {
                const char *pp = (const char *)&w[b0 + i] + QUANT_Q6_PREFETCH_BYTES;
                _mm_prefetch(pp, _MM_HINT_T0);
                _mm_prefetch(pp + 64, _MM_HINT_T0);
                _mm_prefetch(pp + 128, _MM_HINT_T0);
                _mm_prefetch(pp + 192, _MM_HINT_T0);
            }
            acc[i] = i < n ? quant_q6_K_block_sum_1(&w[b0 + i], &x[b0 + i], sc_idx)
                           : _mm512_setzero_si512();
        }
        int32_t sumi[QUANT_Q6_CHUNK];
        _mm256_storeu_si256((__m256i *)sumi, quant_hsum8x16_i32(acc));
        for (int i = 0; i < n; i++) {
            float p = quant_half(w[b0 + i].d) * x[b0 + i].d;
            float term = p * (float)sumi[i]; /* own statement: never fused into the sum */
            sum += term;
        }
    }
    return sum;
}
#endif

/* ---- q8_0 / q4_0 GEMM (several token rows) ---------------------------------- */

/* A tile of QUANT_GEMM_NT token rows x QUANT_GEMM_NW weight rows (the
 * including file's register budget) keeps one 8-lane float accumulator per
 * output element; each weight block is unpacked once for all tokens of the
 * tile and each activation block once for all its weight rows.  Every
 * element takes exactly the steps of quant_tile_q8 (the same exact integer
 * lanes, the same dw * dx product, the same fma and reduction), so decode,
 * prefill and any split agree bit for bit.  With VNNI the activations are
 * made unsigned (x + 128, by flipping the top bit) and the weights stay
 * signed: the exact dot is dpbusd(-128 * sum4(w), x + 128, w), one
 * instruction per pair; without it the sign trick of quant_tile_q8. */
/* The signed levels of weight block b of a q8_0/q4_0 row, and its scale. */
static QUANT_INLINE __m256i quant_w_q8(const char *row, int64_t b, acc_weight_type t, float *d)
{
    if (t == ACC_WEIGHT_Q8_0) {
        const acc_block_q8_0 *wb = (const acc_block_q8_0 *)row + b;
        *d = quant_half(wb->d);
        return _mm256_loadu_si256((const __m256i *)wb->qs);
    }
    const acc_block_q4_0 *wb = (const acc_block_q4_0 *)row + b;
    __m128i raw = _mm_loadu_si128((const __m128i *)wb->qs);
    __m128i low = _mm_and_si128(raw, _mm_set1_epi8(0x0F));
    __m128i high = _mm_and_si128(_mm_srli_epi16(raw, 4), _mm_set1_epi8(0x0F));
    *d = quant_half(wb->d);
    return _mm256_sub_epi8(_mm256_set_m128i(high, low), _mm256_set1_epi8(8));
}

#ifdef QUANT_HAVE_VNNI
/* AVX-512: two consecutive blocks per 512-bit register (lanes 0-7 block
 * 2i, 8-15 block 2i+1; an odd last block pairs with zeros, which add
 * exact zeros).  The weights are made unsigned (q8_0: w + 128 by flipping
 * the top bit; q4_0: the stored nibble, w + 8) and the activations stay
 * signed, so the exact dot is dpbusd(-k * sum4(x), w + k, x): the
 * correction is one dpbusd per token and block pair, shared by all weight
 * rows of the tile, and each weight row costs one dpbusd per pair. */

/* Two f16 scales as floats in lanes 0-7 and 8-15. */
static QUANT_INLINE __m512 quant_d_pair(uint16_t h0, uint16_t h1)
{
    __m128 d = _mm_cvtph_ps(_mm_insert_epi16(_mm_cvtsi32_si128(h0), h1, 1));
    return _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                                 _mm512_castps128_ps512(d));
}

/* Unsigned levels of blocks b and b + 1 (if `two`) of a q8_0/q4_0 row, and
 * their scales in lanes 0-7 and 8-15. */
static QUANT_INLINE __m512i quant_w_pair_u8(const char *row, int64_t b, int two,
                                            acc_weight_type t, __m512 *dw)
{
    uint16_t d0, d1 = 0;
    __m512i u;
    if (t == ACC_WEIGHT_Q8_0) {
        const acc_block_q8_0 *wb = (const acc_block_q8_0 *)row + b;
        __m256i q0 = _mm256_loadu_si256((const __m256i *)wb[0].qs), q1 = _mm256_setzero_si256();
        d0 = wb[0].d;
        if (two) {
            q1 = _mm256_loadu_si256((const __m256i *)wb[1].qs);
            d1 = wb[1].d;
        }
        u = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(q0), q1, 1),
                             _mm512_set1_epi8((char)0x80));
    } else {
        const acc_block_q4_0 *wb = (const acc_block_q4_0 *)row + b;
        __m128i r0 = _mm_loadu_si128((const __m128i *)wb[0].qs), r1 = _mm_setzero_si128();
        d0 = wb[0].d;
        if (two) {
            r1 = _mm_loadu_si128((const __m128i *)wb[1].qs);
            d1 = wb[1].d;
        }
        /* 128-bit lanes: r0, r0, r1, r1, then low nibbles from lanes 0 and
         * 2 and high nibbles from 1 and 3: elements in order */
        __m512i r = _mm512_castsi256_si512(_mm256_inserti128_si256(_mm256_castsi128_si256(r0), r1, 1));
        r = _mm512_shuffle_i64x2(r, r, 0x50);
        const __m512i sh = _mm512_set_epi64(0x0004000400040004LL, 0x0004000400040004LL, 0, 0,
                                            0x0004000400040004LL, 0x0004000400040004LL, 0, 0);
        u = _mm512_and_si512(_mm512_srlv_epi16(r, sh), _mm512_set1_epi8(0x0F));
    }
    *dw = quant_d_pair(d0, d1); /* f16 0 is +0.0f, as before */
    return u;
}

static QUANT_INLINE void quant_gemm_tile_q8(const acc_cpu_matmul_args *A, int64_t r, int nt,
                                            int64_t j, int nw, acc_weight_type t)
{
    const char *wrow = (const char *)A->w + (size_t)j * A->w_row_bytes;
    const char *xrow = (const char *)A->xq + (size_t)r * A->xq_row_bytes;
    int64_t nb = A->in / ACC_QK8_0;
    size_t wbytes = t == ACC_WEIGHT_Q8_0 ? sizeof(acc_block_q8_0) : sizeof(acc_block_q4_0);
    __m512 acc[QUANT_GEMM_NT][QUANT_GEMM_NW];
#pragma GCC unroll 4
    for (int a = 0; a < nt; a++)
#pragma GCC unroll 4
        for (int c = 0; c < nw; c++)
            acc[a][c] = _mm512_setzero_ps();
    /* k: the offset that made the weights unsigned */
    const __m512i k = _mm512_set1_epi8(t == ACC_WEIGHT_Q8_0 ? (char)0x80 : 8);
    for (int64_t b = 0; b < nb; b += 2) {
        int two = b + 1 < nb;
        __m512i wu[QUANT_GEMM_NW];
        __m512 dw[QUANT_GEMM_NW];
#pragma GCC unroll 4
        for (int c = 0; c < nw; c++) {
            const char *wr = wrow + (size_t)c * A->w_row_bytes;
            if (nt == 1) /* decode: fetch rows ahead of the hardware prefetcher */
                _mm_prefetch((const char *)((uintptr_t)wr + (size_t)nw * A->w_row_bytes +
                                            (size_t)b * wbytes),
                             _MM_HINT_T0); /* may lie past the matrix: integer math */
            wu[c] = quant_w_pair_u8(wr, b, two, t, &dw[c]);
        }
#pragma GCC unroll 4
        for (int a = 0; a < nt; a++) {
            const acc_block_q8_0 *xb =
                (const acc_block_q8_0 *)(xrow + (size_t)a * A->xq_row_bytes) + b;
            __m256i x0 = _mm256_loadu_si256((const __m256i *)xb[0].qs), x1 = _mm256_setzero_si256();
            uint16_t e1 = 0;
            if (two) {
                x1 = _mm256_loadu_si256((const __m256i *)xb[1].qs);
                e1 = xb[1].d;
            }
            __m512i xv = _mm512_inserti64x4(_mm512_castsi256_si512(x0), x1, 1);
            __m512i corr = _mm512_sub_epi32(_mm512_setzero_si512(),
                                            _mm512_dpbusd_epi32(_mm512_setzero_si512(), k, xv));
            __m512 dx = quant_d_pair(xb[0].d, e1);
#pragma GCC unroll 4
            for (int c = 0; c < nw; c++) {
                __m512i dot = _mm512_dpbusd_epi32(corr, wu[c], xv);
                acc[a][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw[c], dx),
                                            acc[a][c]);
            }
        }
    }
#pragma GCC unroll 4
    for (int a = 0; a < nt; a++)
#pragma GCC unroll 4
        for (int c = 0; c < nw; c++) {
            __m256 s = _mm256_add_ps(_mm512_castps512_ps256(acc[a][c]),
                                     _mm256_castpd_ps(_mm512_extractf64x4_pd(
                                         _mm512_castps_pd(acc[a][c]), 1)));
            A->y[(r + a) * A->out + j + c] = quant_hsum8(s) + (A->bias ? A->bias[j + c] : 0.0f);
        }
}
#else
/* AVX2: the signs move onto the activations so the weights can be the
 * unsigned operand of maddubs (u8 x s8 pairs stay within int16). */
static QUANT_INLINE void quant_gemm_tile_q8(const acc_cpu_matmul_args *A, int64_t r, int nt,
                                            int64_t j, int nw, acc_weight_type t)
{
    const char *wrow = (const char *)A->w + (size_t)j * A->w_row_bytes;
    const char *xrow = (const char *)A->xq + (size_t)r * A->xq_row_bytes;
    int64_t nb = A->in / ACC_QK8_0;
    size_t wbytes = t == ACC_WEIGHT_Q8_0 ? sizeof(acc_block_q8_0) : sizeof(acc_block_q4_0);
    __m256 acc[QUANT_GEMM_NT][QUANT_GEMM_NW];
    for (int a = 0; a < nt; a++)
        for (int c = 0; c < nw; c++)
            acc[a][c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m256i wq[QUANT_GEMM_NW], wk[QUANT_GEMM_NW];
        __m256 dw[QUANT_GEMM_NW];
        for (int c = 0; c < nw; c++) {
            const char *wr = wrow + (size_t)c * A->w_row_bytes;
            if (nt == 1)
                _mm_prefetch((const char *)((uintptr_t)wr + (size_t)nw * A->w_row_bytes +
                                            (size_t)b * wbytes),
                             _MM_HINT_T0); /* may lie past the matrix: integer math */
            float d;
            wq[c] = quant_w_q8(wr, b, t, &d);
            dw[c] = _mm256_set1_ps(d);
            wk[c] = _mm256_abs_epi8(wq[c]);
        }
        for (int a = 0; a < nt; a++) {
            const acc_block_q8_0 *xb =
                (const acc_block_q8_0 *)(xrow + (size_t)a * A->xq_row_bytes) + b;
            __m256i xv = _mm256_loadu_si256((const __m256i *)xb->qs);
            __m256 dx = _mm256_set1_ps(quant_half(xb->d));
            for (int c = 0; c < nw; c++) {
                __m256i dot = QUANT_DOT_U8S8(wk[c], _mm256_sign_epi8(xv, wq[c]));
                acc[a][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(dw[c], dx),
                                            acc[a][c]);
            }
        }
    }
    for (int a = 0; a < nt; a++)
        for (int c = 0; c < nw; c++)
            A->y[(r + a) * A->out + j + c] =
                quant_hsum8(acc[a][c]) + (A->bias ? A->bias[j + c] : 0.0f);
}
#endif

static QUANT_INLINE void quant_gemm_rows_q8(const acc_cpu_matmul_args *A, int64_t r0, int64_t r1,
                                            int64_t j, int nw, acc_weight_type t)
{
    int64_t r = r0;
    for (; r + QUANT_GEMM_NT <= r1; r += QUANT_GEMM_NT)
        quant_gemm_tile_q8(A, r, QUANT_GEMM_NT, j, nw, t);
    for (; r < r1; r++)
        quant_gemm_tile_q8(A, r, 1, j, nw, t);
}

static QUANT_INLINE void quant_gemm_q8(const acc_cpu_matmul_args *A, int64_t r0, int64_t r1,
                                       int64_t j0, int64_t j1, acc_weight_type t)
{
    int64_t tile_rows = (int64_t)(QUANT_TILE_BYTES / (A->xq_row_bytes ? A->xq_row_bytes : 1));
    tile_rows -= tile_rows % QUANT_GEMM_NT;
    if (tile_rows < QUANT_GEMM_NT)
        tile_rows = QUANT_GEMM_NT;
    for (int64_t rt = r0; rt < r1; rt += tile_rows) {
        int64_t rt_end = rt + tile_rows < r1 ? rt + tile_rows : r1;
        int64_t j = j0;
        for (; j + QUANT_GEMM_NW <= j1; j += QUANT_GEMM_NW)
            quant_gemm_rows_q8(A, rt, rt_end, j, QUANT_GEMM_NW, t);
        for (; j < j1; j++)
            quant_gemm_rows_q8(A, rt, rt_end, j, 1, t);
    }
}

/* ---- the matmul over a range ---------------------------------------------- */

static QUANT_INLINE void quant_block(const acc_cpu_matmul_args *A, int64_t r, int nt, int64_t j,
                                     acc_weight_type t)
{
    float o[QUANT_KT];
#ifdef QUANT_HAVE_AVX512
    if (t == ACC_WEIGHT_Q4_K || t == ACC_WEIGHT_Q5_K)
        quant_tile_q4_K_512(A, r, nt, j, o, t);
    else
        quant_tile_q6_K_512(A, r, nt, j, o);
#else
    if (t == ACC_WEIGHT_Q4_K || t == ACC_WEIGHT_Q5_K)
        quant_tile_q4_K(A, r, nt, j, o, t);
    else
        quant_tile_q6_K(A, r, nt, j, o);
#endif
    for (int a = 0; a < nt; a++)
        A->y[(r + a) * A->out + j] = o[a] + (A->bias ? A->bias[j] : 0.0f);
}

static QUANT_INLINE void quant_matmul_generic(const acc_cpu_matmul_args *A, int64_t r0,
                                              int64_t r1, int64_t j0, int64_t j1,
                                              acc_weight_type t)
{
    if (t == ACC_WEIGHT_Q8_0 || t == ACC_WEIGHT_Q4_0) {
        quant_gemm_q8(A, r0, r1, j0, j1, t);
        return;
    }
    int64_t tile_rows = (int64_t)(QUANT_TILE_BYTES / (A->xq_row_bytes ? A->xq_row_bytes : 1));
    tile_rows -= tile_rows % QUANT_KT;
    if (tile_rows < QUANT_KT)
        tile_rows = QUANT_KT;
    for (int64_t rt = r0; rt < r1; rt += tile_rows) {
        int64_t rt_end = rt + tile_rows < r1 ? rt + tile_rows : r1;
        for (int64_t j = j0; j < j1; j++) {
            int64_t r = rt;
            for (; r + QUANT_KT <= rt_end; r += QUANT_KT)
                quant_block(A, r, QUANT_KT, j, t);
            for (; r < rt_end; r++)
                quant_block(A, r, 1, j, t);
        }
    }
}

/* ---- activation quantization ----------------------------------------------- */

/* 32 int32 lanes (four vectors, in order) narrowed to 32 int8 in order. */
static QUANT_INLINE __m256i quant_pack_i8(__m256i a, __m256i b, __m256i c, __m256i d)
{
    __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
    return _mm256_permutevar8x32_epi32(_mm256_packs_epi16(ab, cd),
                                       _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static QUANT_INLINE float quant_hmax8(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* acc_quantize_row_q8_0 with vectors, bit for bit: the same amax, scale
 * and products; roundf (ties away from zero) as trunc plus a sign step
 * where the exact fraction is at least one half. */
static void quant_act_q8_0(const float *x, acc_block_q8_0 *y, int64_t in)
{
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    for (int64_t b = 0; b < in / 32; b++, x += 32) {
        __m256 v[4], amax = _mm256_setzero_ps();
        for (int i = 0; i < 4; i++) {
            v[i] = _mm256_loadu_ps(x + 8 * i);
            amax = _mm256_max_ps(_mm256_and_ps(v[i], abs_mask), amax); /* NaN keeps amax */
        }
        const float d = quant_hmax8(amax) / 127;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[b].d = acc_f32_to_f16(d);
        __m256i q[4];
        for (int i = 0; i < 4; i++) {
            __m256 p = _mm256_mul_ps(v[i], _mm256_set1_ps(id));
            __m256 t = _mm256_round_ps(p, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            __m256 frac = _mm256_and_ps(_mm256_sub_ps(p, t), abs_mask);
            __m256 step = _mm256_or_ps(_mm256_and_ps(p, _mm256_castsi256_ps(_mm256_set1_epi32(
                                                            (int)0x80000000u))),
                                       one);
            t = _mm256_add_ps(t, _mm256_and_ps(_mm256_cmp_ps(frac, half, _CMP_GE_OQ), step));
            q[i] = _mm256_cvttps_epi32(t);
        }
        _mm256_storeu_si256((__m256i *)y[b].qs, quant_pack_i8(q[0], q[1], q[2], q[3]));
    }
}

/* acc_quantize_row_q8_K with vectors, bit for bit: the first element of
 * largest magnitude sets the scale, rounding to nearest even (the default
 * MXCSR mode, as the scalar magic-number trick), clamp at 127. */
static void quant_act_q8_K(const float *x, acc_block_q8_K *y, int64_t in)
{
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    for (int64_t b = 0; b < in / ACC_QK_K; b++, x += ACC_QK_K) {
        __m256 amaxv = _mm256_setzero_ps();
        for (int i = 0; i < 32; i++)
            amaxv = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + 8 * i), abs_mask), amaxv);
        float amax = quant_hmax8(amaxv), max = 0;
        if (amax == 0) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        for (int i = 0; i < 32; i++) {
            int m = _mm256_movemask_ps(_mm256_cmp_ps(
                _mm256_and_ps(_mm256_loadu_ps(x + 8 * i), abs_mask), _mm256_set1_ps(amax),
                _CMP_EQ_OQ));
            if (m) {
                max = x[8 * i + __builtin_ctz((unsigned)m)];
                break;
            }
        }
        const float iscale = -127.f / max;
        for (int g = 0; g < 8; g++) {
            __m256i q[4];
            for (int i = 0; i < 4; i++)
                q[i] = _mm256_min_epi32(
                    _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_set1_ps(iscale),
                                                     _mm256_loadu_ps(x + 32 * g + 8 * i))),
                    _mm256_set1_epi32(127));
            _mm256_storeu_si256((__m256i *)(y[b].qs + 32 * g),
                                quant_pack_i8(q[0], q[1], q[2], q[3]));
            y[b].bsums[2 * g] = (int16_t)quant_hsum_i32(_mm256_add_epi32(q[0], q[1]));
            y[b].bsums[2 * g + 1] = (int16_t)quant_hsum_i32(_mm256_add_epi32(q[2], q[3]));
        }
        y[b].d = 1 / iscale;
    }
}

/* The table's quantize_act: acc_cpu_quantize_act_row's bits, faster. */
static void quant_quantize_act(acc_weight_type type, const float *x, void *out, int64_t in)
{
    if (type == ACC_WEIGHT_Q8_0 || type == ACC_WEIGHT_Q4_0)
        quant_act_q8_0(x, out, in);
    else if (type == ACC_WEIGHT_Q4_K || type == ACC_WEIGHT_Q5_K || type == ACC_WEIGHT_Q6_K)
        quant_act_q8_K(x, out, in);
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

static void quant_matmul_q5_K(const acc_cpu_matmul_args *A, int64_t r0, int64_t r1, int64_t j0,
                              int64_t j1)
{
    quant_matmul_generic(A, r0, r1, j0, j1, ACC_WEIGHT_Q5_K);
}

static void quant_matmul_q6_K(const acc_cpu_matmul_args *A, int64_t r0, int64_t r1, int64_t j0,
                              int64_t j1)
{
#ifdef QUANT_HAVE_VNNI
    if (r1 - r0 == 1) { /* decode: the same bits as the tiles' nt == 1 */
        for (int64_t j = j0; j < j1; j++)
            A->y[r0 * A->out + j] = quant_row_q6_K_1(A, r0, j) + (A->bias ? A->bias[j] : 0.0f);
        return;
    }
#endif
    quant_matmul_generic(A, r0, r1, j0, j1, ACC_WEIGHT_Q6_K);
}

#endif
