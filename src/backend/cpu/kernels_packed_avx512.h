/*
 * kernels_packed_avx512.h — q4_0 and q8_0 matmuls on a row-interleaved copy
 * of the weights (AVX-512 VNNI), included by kernels_avx512.c after
 * kernels_quant_x86.h.  Not a public header.
 *
 * Why: the block layout puts one row's 32 levels in a register, so a dot
 * product needs unpacking, per-row scale shuffles and a reduction per row.
 * Interleaving 16 output rows makes lane r of every register belong to row
 * r: one vpdpbusd against a broadcast 4-byte activation quad advances all
 * 16 rows, one vcvtph2ps gives the 16 scales, and nothing is reduced
 * across lanes (about 26 vector operations per 16 q4_0 rows and block
 * instead of about 110).
 *
 * Layout: groups of ACC_CPU_PACK_ROWS = 16 rows (the last padded with zero
 * rows); group g at g * packed_group_bytes: for each block b, `vecs`
 * 64-byte vectors whose lane r is 4 bytes of row 16 g + r, then, after all
 * blocks, 16 f16 scales per block.  q4_0: vector v (0-3) holds bytes
 * 4v..4v+3 of the row's qs, so its low nibbles are elements 4v.. (quad v)
 * and its high nibbles elements 16 + 4v.. (quad v + 4), each level + 8 as
 * stored.  q8_0: vector v (0-7) holds elements 4v..4v+3 plus 128 (top bit
 * flipped).  The offsets leave as one exact integer correction per block,
 * -k * sum(x block), the start value of the block's integer sum.
 *
 * Value of each output element: per block the exact integer dot sumi, then
 * acc = fma((float)sumi, d_w * d_x, acc) in block order, then y = acc +
 * bias (or + 0).  Every row count and column split takes these steps, so
 * decode and prefill give the same bits; the plain-layout kernels of the
 * same table differ from it by float reassociation only.
 */
#ifndef ACCINF_KERNELS_PACKED_AVX512_H
#define ACCINF_KERNELS_PACKED_AVX512_H

#include "accinf/quant.h"
#include "backend/cpu/kernels.h"

#include <immintrin.h>
#include <string.h>

/* Token rows sharing one unpacked weight block. */
#define PACKED_NT 4
/* Blocks whose activation sums and scales are prepared at once (stack). */
#define PACKED_SEG 256

/* An unaligned 4-byte activation quad, read where it lies so the compiler
 * folds it into vpdpbusd's broadcast operand (no trip through a general
 * register and the shuffle port). */
typedef int32_t packed_quad __attribute__((may_alias, aligned(1)));

/* 64-byte vectors per block and group: 4 (q4_0 nibbles) or 8 (q8_0). */
static QUANT_INLINE int packed_vecs(acc_weight_type t)
{
    return t == ACC_WEIGHT_Q4_0 ? 4 : 8;
}

static QUANT_INLINE size_t packed_group_bytes(acc_weight_type t, int64_t nb)
{
    size_t bytes = (size_t)nb * ((size_t)packed_vecs(t) * 64 + 2 * ACC_CPU_PACK_ROWS);
    return (bytes + 63) / 64 * 64; /* every group starts on a cache line */
}

static size_t packed_bytes(acc_weight_type t, int64_t rows, int64_t in)
{
    if ((t != ACC_WEIGHT_Q4_0 && t != ACC_WEIGHT_Q8_0) || rows < 1 || in < 32 || in % 32)
        return 0;
    int64_t groups = (rows + ACC_CPU_PACK_ROWS - 1) / ACC_CPU_PACK_ROWS;
    return (size_t)groups * packed_group_bytes(t, in / 32);
}

static void packed_repack(acc_weight_type t, const void *w, size_t w_row_bytes, int64_t rows,
                          int64_t in, void *out, int64_t g0, int64_t g1)
{
    int64_t nb = in / 32;
    int vecs = packed_vecs(t);
    size_t group_bytes = packed_group_bytes(t, nb);
    for (int64_t g = g0; g < g1; g++) {
        uint8_t *qs = (uint8_t *)out + (size_t)g * group_bytes;
        uint16_t *ds = (uint16_t *)(qs + (size_t)nb * (size_t)vecs * 64);
        memset(qs, 0, group_bytes); /* padding rows: zero scales */
        for (int r = 0; r < ACC_CPU_PACK_ROWS && g * ACC_CPU_PACK_ROWS + r < rows; r++) {
            const char *row = (const char *)w + (size_t)(g * ACC_CPU_PACK_ROWS + r) * w_row_bytes;
            for (int64_t b = 0; b < nb; b++) {
                uint8_t *dst = qs + (size_t)b * (size_t)vecs * 64 + 4 * (size_t)r;
                if (t == ACC_WEIGHT_Q4_0) {
                    const acc_block_q4_0 *blk = (const acc_block_q4_0 *)row + b;
                    ds[b * ACC_CPU_PACK_ROWS + r] = blk->d;
                    for (int v = 0; v < 4; v++)
                        memcpy(dst + 64 * v, blk->qs + 4 * v, 4);
                } else {
                    const acc_block_q8_0 *blk = (const acc_block_q8_0 *)row + b;
                    ds[b * ACC_CPU_PACK_ROWS + r] = blk->d;
                    for (int v = 0; v < 8; v++)
                        for (int i = 0; i < 4; i++)
                            dst[64 * v + i] = (uint8_t)((uint8_t)blk->qs[4 * v + i] ^ 0x80u);
                }
            }
        }
    }
}

/* Decode prefetch distance in bytes of one group's blocks (2 KiB: 4 q8_0
 * or 8 q4_0 blocks ahead). */
#define PACKED_PREFETCH 2048

/* Blocks [b0, b1) of one group for nt token rows: acc[a] (lane r: row r)
 * gains each block's term.  corr/dx[a][b - b0]: the token's integer offset
 * correction and float scale per block; xq[a]: its activation blocks. */
static QUANT_INLINE void packed_group_blocks(const uint8_t *qs, const uint16_t *ds, int64_t b0,
                                             int64_t b1, int nt, int32_t corr[][PACKED_SEG],
                                             float dx[][PACKED_SEG],
                                             const acc_block_q8_0 *const *xq, __m512 *acc,
                                             acc_weight_type t)
{
    const int vecs = packed_vecs(t);
    const __m512i nibble = _mm512_set1_epi8(0x0F);
    for (int64_t b = b0; b < b1; b++) {
        const uint8_t *qb = qs + (size_t)b * (size_t)vecs * 64;
        if (nt == 1) /* decode: ask for the weights PACKED_PREFETCH bytes ahead (may lie past
                        the group: a prefetch never faults) */
            for (int v = 0; v < vecs; v++)
                _mm_prefetch((const char *)((uintptr_t)qb + PACKED_PREFETCH + 64 * (size_t)v),
                             _MM_HINT_T0);
        __m512i w[8];
        if (t == ACC_WEIGHT_Q4_0) {
#pragma GCC unroll 4
            for (int v = 0; v < 4; v++) {
                __m512i raw = _mm512_load_si512((const void *)(qb + 64 * v));
                w[v] = _mm512_and_si512(raw, nibble);
                w[v + 4] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), nibble);
            }
        } else {
#pragma GCC unroll 8
            for (int v = 0; v < 8; v++)
                w[v] = _mm512_load_si512((const void *)(qb + 64 * v));
        }
        __m512 dw =
            _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(ds + b * ACC_CPU_PACK_ROWS)));
#pragma GCC unroll 4
        for (int a = 0; a < nt; a++) {
            const packed_quad *quad = (const packed_quad *)xq[a][b].qs;
            /* two chains: the block's eight dpbusd are not one long latency chain */
            __m512i s0 = _mm512_set1_epi32(corr[a][b - b0]), s1 = _mm512_setzero_si512();
#pragma GCC unroll 4
            for (int k = 0; k < 4; k++) {
                s0 = _mm512_dpbusd_epi32(s0, w[k], _mm512_set1_epi32(quad[k]));
                s1 = _mm512_dpbusd_epi32(s1, w[k + 4], _mm512_set1_epi32(quad[k + 4]));
            }
            __m512 p = _mm512_mul_ps(dw, _mm512_set1_ps(dx[a][b - b0]));
            acc[a] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1)), p, acc[a]);
        }
    }
}

/* The exact sum of a q8_0 activation block's 32 levels. */
static QUANT_INLINE int32_t packed_block_sum(const acc_block_q8_0 *x)
{
    /* (x + 128) as unsigned bytes, summed in groups of 8 by psadbw */
    __m256i u =
        _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)x->qs), _mm256_set1_epi8((char)0x80));
    __m256i s = _mm256_sad_epu8(u, _mm256_setzero_si256());
    __m128i h = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    h = _mm_add_epi64(h, _mm_unpackhi_epi64(h, h));
    return (int32_t)_mm_cvtsi128_si32(h) - 32 * 128;
}

/* Token rows [r, r + nt) x columns [j0, j1) (nt <= PACKED_NT). */
static QUANT_INLINE void packed_tile(const acc_cpu_matmul_args *A, int64_t r, int nt, int64_t j0,
                                     int64_t j1, acc_weight_type t)
{
    int64_t nb = A->in / 32;
    size_t group_bytes = packed_group_bytes(t, nb);
    int32_t offset = t == ACC_WEIGHT_Q4_0 ? 8 : 128;
    const acc_block_q8_0 *xq[PACKED_NT];
    for (int a = 0; a < nt; a++)
        xq[a] = (const acc_block_q8_0 *)((const char *)A->xq + (size_t)(r + a) * A->xq_row_bytes);
    int32_t corr[PACKED_NT][PACKED_SEG];
    float dx[PACKED_NT][PACKED_SEG];
    for (int64_t s0 = 0; s0 < nb; s0 += PACKED_SEG) {
        int64_t s1 = s0 + PACKED_SEG < nb ? s0 + PACKED_SEG : nb;
        for (int a = 0; a < nt; a++)
            for (int64_t b = s0; b < s1; b++) {
                corr[a][b - s0] = -offset * packed_block_sum(&xq[a][b]);
                dx[a][b - s0] = quant_half(xq[a][b].d);
            }
        for (int64_t g = j0 / ACC_CPU_PACK_ROWS; g * ACC_CPU_PACK_ROWS < j1; g++) {
            int64_t c0 = g * ACC_CPU_PACK_ROWS;
            int lo = c0 < j0 ? (int)(j0 - c0) : 0;
            int hi = c0 + ACC_CPU_PACK_ROWS > j1 ? (int)(j1 - c0) : ACC_CPU_PACK_ROWS;
            __mmask16 m = (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
            const uint8_t *qs = (const uint8_t *)A->w_packed + (size_t)g * group_bytes;
            const uint16_t *ds = (const uint16_t *)(qs + (size_t)nb * (size_t)packed_vecs(t) * 64);
            __m512 acc[PACKED_NT];
            for (int a = 0; a < nt; a++) /* later segments go on from the stored sums */
                acc[a] = s0 == 0 ? _mm512_setzero_ps()
                                 : _mm512_maskz_loadu_ps(m, A->y + (r + a) * A->out + c0);
            packed_group_blocks(qs, ds, s0, s1, nt, corr, dx, xq, acc, t);
            __m512 bias =
                s1 == nb && A->bias ? _mm512_maskz_loadu_ps(m, A->bias + c0) : _mm512_setzero_ps();
            for (int a = 0; a < nt; a++)
                _mm512_mask_storeu_ps(A->y + (r + a) * A->out + c0, m,
                                      s1 == nb ? _mm512_add_ps(acc[a], bias) : acc[a]);
        }
    }
}

static QUANT_INLINE void packed_matmul(const acc_cpu_matmul_args *A, int64_t r0, int64_t r1,
                                       int64_t j0, int64_t j1, acc_weight_type t)
{
    int64_t r = r0;
    for (; r + PACKED_NT <= r1; r += PACKED_NT)
        packed_tile(A, r, PACKED_NT, j0, j1, t);
    for (; r < r1; r++)
        packed_tile(A, r, 1, j0, j1, t);
}

/* The table's q4_0/q8_0 matmuls: the repacked copy when the executor made
 * one, else the block-layout GEMM. */
static void packed_matmul_q4_0(const acc_cpu_matmul_args *A, int64_t r0, int64_t r1, int64_t j0,
                               int64_t j1)
{
    if (A->w_packed)
        packed_matmul(A, r0, r1, j0, j1, ACC_WEIGHT_Q4_0);
    else
        quant_matmul_q4_0(A, r0, r1, j0, j1);
}

static void packed_matmul_q8_0(const acc_cpu_matmul_args *A, int64_t r0, int64_t r1, int64_t j0,
                               int64_t j1)
{
    if (A->w_packed)
        packed_matmul(A, r0, r1, j0, j1, ACC_WEIGHT_Q8_0);
    else
        quant_matmul_q8_0(A, r0, r1, j0, j1);
}

#endif
