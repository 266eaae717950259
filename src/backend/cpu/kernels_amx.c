/*
 * kernels_amx.c — prefill GEMM on Intel AMX tiles (TDPBF16PS), compiled
 * with the AMX/AVX-512 flags for this file only; the executor calls in only
 * when kernels_dispatch.c found AMX usable (CPUID, XCR0 and the Linux
 * permission for the tile state).
 *
 * One path for every 16-bit and block-format weight type: a panel of 32
 * weight rows is unpacked to f32 (the reference dequantization formulas),
 * rounded to bf16 and transposed into the tile's pair layout once per step;
 * the panels stay in L2 while every token row passes over them (2 x 2
 * tiles: 32 rows x 32 columns per 32-element k step).  Products of bf16
 * values are exact in f32 and accumulate in f32 tiles, so the error is the
 * roundings of the operands.  BF16 mode (block formats; ACCINF_CPU_AMX=all):
 * activations and weights to 8 significant bits (relative 2^-9 each; bf16
 * weights stay exact), about the error of llama.cpp's q8_0 activations.
 * SPLIT mode (f16/bf16 weights by default): each operand is hi + lo, two
 * bf16 values (f16 weights exactly, activations to about 16 bits), and a k
 * step takes xl*wh + xh*wh + xh*wl (2^-17 per term, near f32) at 8 tile
 * loads per 12 products.  An output element's value does not depend on the
 * column split (threads) but differs from the table's matmul that decode
 * uses (cpu_backend.c says when work comes here: ACCINF_CPU_AMX).
 */
#if defined(__x86_64__)

#include "backend/cpu/kernels_amx.h"

#include "accinf/quant.h"

#include <immintrin.h>
#include <string.h>

#define ALWAYS_INLINE __attribute__((always_inline)) inline

/* Tiles: 0-3 accumulators (2 x 2 of 16 x 16 f32), 4-5 activations (16 rows
 * x 32 bf16), 6-7 weights (16 k pairs x 16 columns x 2 bf16). */
typedef struct tile_config {
    uint8_t palette;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

/* Every tile 16 rows x 64 bytes.  A constant object: built on the stack,
 * GCC 12 dropped the stores of colsb and rows before ldtilecfg (it does not
 * see the builtin read them), and the load then faulted. */
static const tile_config tiles_all_16x64 = {
    .palette = 1,
    .colsb = {64, 64, 64, 64, 64, 64, 64, 64},
    .rows = {16, 16, 16, 16, 16, 16, 16, 16},
};

static void tiles_configure(void)
{
    _tile_loadconfig(&tiles_all_16x64);
}

/* 16 floats rounded to bf16 (nearest even), stored at dst. */
static ALWAYS_INLINE void store_bf16(uint16_t *dst, __m512 v)
{
    _mm256_storeu_si256((__m256i *)dst, (__m256i)_mm512_cvtneps_pbh(v));
}

/* The f32 values of 16 bf16 values. */
static ALWAYS_INLINE __m512 widen_bf16(__m256i h)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* 16 floats as hi = bf16(v) at hi and lo = bf16(v - hi) at lo: v - hi is
 * exact in f32, so hi + lo keeps about 16 significant bits of v. */
static ALWAYS_INLINE void store_split(uint16_t *hi, uint16_t *lo, __m512 v)
{
    __m256i h = (__m256i)_mm512_cvtneps_pbh(v);
    _mm256_storeu_si256((__m256i *)hi, h);
    store_bf16(lo, _mm512_sub_ps(v, widen_bf16(h)));
}

void acc_cpu_amx_convert_rows(const float *x, int64_t rows, int64_t in, acc_cpu_amx_mode mode,
                              void *xb, int64_t r0, int64_t r1)
{
    size_t stride = acc_cpu_amx_act_stride(in, mode);
    int64_t pad = acc_cpu_amx_in_pad(in);
    int split = mode == ACC_CPU_AMX_SPLIT;
    for (int64_t r = r0; r < r1; r++) {
        uint16_t *dst = (uint16_t *)((char *)xb + (size_t)r * stride);
        if (r >= rows) {
            memset(dst, 0, (size_t)pad * (split ? 4 : 2));
            continue;
        }
        const float *src = x + r * in;
        for (int64_t k = 0; k < pad; k += 16) {
            int64_t n = in - k > 0 ? in - k : 0;
            __mmask16 m = (__mmask16)(n >= 16 ? 0xFFFFu : (1u << n) - 1u);
            __m512 v = _mm512_maskz_loadu_ps(m, src + k);
            if (split) /* k step k / 32: 32 hi values, then 32 lo values */
                store_split(dst + k / 32 * 64 + k % 32, dst + k / 32 * 64 + 32 + k % 32, v);
            else
                store_bf16(dst + k, v);
        }
    }
}

/* ---- weight rows to bf16 --------------------------------------------------- */

/* Row `w` of `in` elements as f32 in f (in_pad floats, zero tail).  The
 * block formats follow the reference dequantizers' formulas term by term. */
static void weight_row_f32(acc_weight_type type, const void *w, int64_t in, int64_t pad,
                           float *f)
{
    int64_t k = 0;
    switch (type) {
    case ACC_WEIGHT_F16: {
        const uint16_t *h = w;
        for (; k + 16 <= in; k += 16)
            _mm512_storeu_ps(f + k, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(h + k))));
        if (k < in) {
            __mmask16 m = (__mmask16)((1u << (in - k)) - 1u);
            _mm512_storeu_ps(f + k, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, h + k)));
            k += 16;
        }
        break;
    }
    case ACC_WEIGHT_Q8_0: {
        const acc_block_q8_0 *b = w;
        for (; k < in; k += 32, b++) {
            __m512 d = _mm512_set1_ps(_cvtsh_ss(b->d));
            for (int h = 0; h < 2; h++) {
                __m512 q = _mm512_cvtepi32_ps(
                    _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(b->qs + 16 * h))));
                _mm512_storeu_ps(f + k + 16 * h, _mm512_mul_ps(q, d));
            }
        }
        break;
    }
    case ACC_WEIGHT_Q4_0: {
        const acc_block_q4_0 *b = w;
        const __m512i lo = _mm512_set1_epi32(0x0F), eight = _mm512_set1_epi32(8);
        for (; k < in; k += 32, b++) {
            __m512 d = _mm512_set1_ps(_cvtsh_ss(b->d));
            __m512i q = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)b->qs));
            __m512i q0 = _mm512_sub_epi32(_mm512_and_si512(q, lo), eight);
            __m512i q1 = _mm512_sub_epi32(_mm512_srli_epi32(q, 4), eight);
            _mm512_storeu_ps(f + k, _mm512_mul_ps(_mm512_cvtepi32_ps(q0), d));
            _mm512_storeu_ps(f + k + 16, _mm512_mul_ps(_mm512_cvtepi32_ps(q1), d));
        }
        break;
    }
    case ACC_WEIGHT_Q4_K: {
        const acc_block_q4_K *b = w;
        for (; k < in; k += ACC_QK_K, b++) {
            float d = _cvtsh_ss(b->d), dmin = _cvtsh_ss(b->dmin);
            for (int j = 0; j < 8; j++) {
                int sc, mn;
                if (j < 4) {
                    sc = b->scales[j] & 63;
                    mn = b->scales[j + 4] & 63;
                } else {
                    sc = (b->scales[j + 4] & 0xF) | ((b->scales[j - 4] >> 6) << 4);
                    mn = (b->scales[j + 4] >> 4) | ((b->scales[j] >> 6) << 4);
                }
                __m512 d1 = _mm512_set1_ps(d * (float)sc), m1 = _mm512_set1_ps(dmin * (float)mn);
                const uint8_t *qs = b->qs + 32 * (j / 2);
                for (int h = 0; h < 2; h++) {
                    __m512i q = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(qs + 16 * h)));
                    q = (j & 1) ? _mm512_srli_epi32(q, 4) : _mm512_and_si512(q, _mm512_set1_epi32(15));
                    _mm512_storeu_ps(f + k + 32 * j + 16 * h,
                                     _mm512_sub_ps(_mm512_mul_ps(d1, _mm512_cvtepi32_ps(q)), m1));
                }
            }
        }
        break;
    }
    case ACC_WEIGHT_Q5_K:
        /* rare (llama.cpp's q4_K_M fused attn_qkv): the reference
         * dequantizer, once per row and step */
        acc_dequantize_row_q5_K(w, f, in);
        k = in;
        break;
    case ACC_WEIGHT_Q6_K: {
        const acc_block_q6_K *b = w;
        for (; k < in; k += ACC_QK_K, b++) {
            float d = _cvtsh_ss(b->d);
            for (int h = 0; h < 2; h++) {
                for (int c = 0; c < 4; c++) {
                    for (int half = 0; half < 2; half++) {
                        int l = 16 * half;
                        __m512i low = _mm512_cvtepu8_epi32(_mm_loadu_si128(
                            (const __m128i *)(b->ql + 64 * h + (c & 1) * 32 + l)));
                        low = c < 2 ? _mm512_and_si512(low, _mm512_set1_epi32(15))
                                    : _mm512_srli_epi32(low, 4);
                        __m512i high = _mm512_cvtepu8_epi32(
                            _mm_loadu_si128((const __m128i *)(b->qh + 32 * h + l)));
                        high = _mm512_and_si512(_mm512_srli_epi32(high, 2 * c),
                                                _mm512_set1_epi32(3));
                        __m512i q = _mm512_sub_epi32(
                            _mm512_or_si512(low, _mm512_slli_epi32(high, 4)), _mm512_set1_epi32(32));
                        int e = 128 * h + 32 * c + l;
                        __m512 ds = _mm512_set1_ps(d * (float)b->scales[e / 16]);
                        _mm512_storeu_ps(f + k + e, _mm512_mul_ps(ds, _mm512_cvtepi32_ps(q)));
                    }
                }
            }
        }
        break;
    }
    default:
        break;
    }
    for (; k < pad; k += 16)
        _mm512_storeu_ps(f + k, _mm512_setzero_ps());
}

/* Row `w` as bf16 (pad elements, zero tail) in hi; with lo also the
 * remainder bf16(w - hi), which is exact for f16 weights (11 significant
 * bits: 8 in hi, at most 3 left).  bf16 weights are copied (lo is never
 * asked for them), every other type goes through f32. */
static void weight_row_bf16(acc_weight_type type, const void *w, int64_t in, int64_t pad,
                            float *f, uint16_t *hi, uint16_t *lo)
{
    if (type == ACC_WEIGHT_BF16) {
        memcpy(hi, w, (size_t)in * 2);
        memset(hi + in, 0, (size_t)(pad - in) * 2);
        return;
    }
    weight_row_f32(type, w, in, pad, f);
    for (int64_t k = 0; k < pad; k += 16) {
        if (lo)
            store_split(hi + k, lo + k, _mm512_loadu_ps(f + k));
        else
            store_bf16(hi + k, _mm512_loadu_ps(f + k));
    }
}

/* Transposes a 16 x 16 matrix of dwords in place (row i of the input in
 * v[i]; row i of the output, i.e. column i of the input, in v[i]). */
static ALWAYS_INLINE void transpose16(__m512i v[16])
{
    __m512i t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
    }
    /* v[4i + j], 128-bit lane L: column 4L + j of rows 4i .. 4i + 3 */
    for (int i = 0; i < 4; i++) {
        v[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        v[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        v[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        v[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int j = 0; j < 4; j++) {
        __m512i x0 = _mm512_shuffle_i32x4(v[j], v[4 + j], 0x88);
        __m512i x1 = _mm512_shuffle_i32x4(v[j], v[4 + j], 0xDD);
        __m512i y0 = _mm512_shuffle_i32x4(v[8 + j], v[12 + j], 0x88);
        __m512i y1 = _mm512_shuffle_i32x4(v[8 + j], v[12 + j], 0xDD);
        t[j] = _mm512_shuffle_i32x4(x0, y0, 0x88);      /* column j */
        t[8 + j] = _mm512_shuffle_i32x4(x0, y0, 0xDD);  /* column 8 + j */
        t[4 + j] = _mm512_shuffle_i32x4(x1, y1, 0x88);  /* column 4 + j */
        t[12 + j] = _mm512_shuffle_i32x4(x1, y1, 0xDD); /* column 12 + j */
    }
    for (int i = 0; i < 16; i++)
        v[i] = t[i];
}

/* Panel of weight rows [j, j + n) (n <= 32; missing rows are zeros) in tile
 * order: k step s, part q (0: hi, 1: lo; `parts` of them), column tile t,
 * pair p, column c -> dword (((s * parts + q) * 2 + t) * 16 + p) * 16 + c,
 * holding elements 2p, 2p + 1 of k step s.  Sixteen rows are unpacked to
 * bf16 (rows: parts x 16 x pad), then each k step's 16 x 16 dword blocks
 * are transposed in registers. */
static void panel_fill(const acc_cpu_matmul_args *A, int parts, int64_t j, int n, int64_t pad,
                       uint32_t *panel, float *f, uint16_t *rows)
{
    int64_t steps = pad / 32;
    size_t part_elems = 16 * (size_t)pad;
    for (int t = 0; t < 2; t++) {
        for (int i = 0; i < 16; i++) {
            int col = 16 * t + i;
            uint16_t *hi = rows + (size_t)i * (size_t)pad;
            uint16_t *lo = parts == 2 ? hi + part_elems : NULL;
            if (col < n) {
                weight_row_bf16(A->w_type,
                                (const char *)A->w + (size_t)(j + col) * A->w_row_bytes, A->in,
                                pad, f, hi, lo);
            } else {
                memset(hi, 0, (size_t)pad * 2);
                if (lo)
                    memset(lo, 0, (size_t)pad * 2);
            }
        }
        for (int64_t s = 0; s < steps; s++) {
            for (int q = 0; q < parts; q++) {
                __m512i v[16];
                for (int i = 0; i < 16; i++)
                    v[i] = _mm512_loadu_si512(rows + q * part_elems + (size_t)i * (size_t)pad +
                                              (size_t)s * 32);
                transpose16(v);
                uint32_t *dst = panel + ((size_t)s * (size_t)parts + (size_t)q) * 512 +
                                (size_t)t * 256;
                for (int p = 0; p < 16; p++)
                    _mm512_store_si512(dst + 16 * p, v[p]);
            }
        }
    }
}

/* Writes rows [r, r + nr) x columns [j, j + nc) of y from the four 16 x 16
 * accumulator tiles stored in c (tile t at c + 256 t: rows 16 (t / 2),
 * columns 16 (t % 2)), adding the bias when `bias` (the first k chunk). */
static void tiles_write(const acc_cpu_matmul_args *A, const float *c, int64_t r, int nr,
                        int64_t j, int nc, int bias_add)
{
    for (int ct = 0; ct < 2; ct++) {
        int cols = nc - 16 * ct;
        if (cols <= 0)
            break;
        __mmask16 m = (__mmask16)(cols >= 16 ? 0xFFFFu : (1u << cols) - 1u);
        __m512 bias = A->bias && bias_add ? _mm512_maskz_loadu_ps(m, A->bias + j + 16 * ct)
                                          : _mm512_setzero_ps();
        for (int i = 0; i < nr; i++) {
            const float *src = c + (size_t)(i / 16 * 2 + ct) * 256 + (size_t)(i % 16) * 16;
            _mm512_mask_storeu_ps(A->y + (r + i) * A->out + j + 16 * ct, m,
                                  _mm512_add_ps(_mm512_loadu_ps(src), bias));
        }
    }
}

/* The inverse of tiles_write without bias: y's block in c's tile layout
 * (zeros outside the block), the starting sums of a later k chunk. */
static void tiles_gather(const acc_cpu_matmul_args *A, float *c, int64_t r, int nr, int64_t j,
                         int nc)
{
    for (int ct = 0; ct < 2; ct++) {
        int cols = nc - 16 * ct;
        __mmask16 m = (__mmask16)(cols >= 16 ? 0xFFFFu : cols > 0 ? (1u << cols) - 1u : 0u);
        for (int i = 0; i < 32; i++) {
            float *dst = c + (size_t)(i / 16 * 2 + ct) * 256 + (size_t)(i % 16) * 16;
            __m512 v = i < nr ? _mm512_maskz_loadu_ps(m, A->y + (r + i) * A->out + j + 16 * ct)
                              : _mm512_setzero_ps();
            _mm512_storeu_ps(dst, v);
        }
    }
}

/* 32 token rows from r (rows2 = 1; else 16) x one panel: four (two)
 * accumulators over every k step.  xparts: 1 (bf16) or 2 (hi, lo:
 * SPLIT); wparts: the same for the panel; cont: start from the sums in c
 * (a later k chunk) instead of zeros.  With two parts the products go
 * xl*wh, xh*wh, xh*wl: each change of operands reloads only one side.  The
 * arguments are constants at every call, so each variant compiles to
 * straight tile code. */
static ALWAYS_INLINE void gemm_tiles(const char *xb, size_t stride, const uint32_t *panel,
                                     int64_t steps, float *c, int cont, int rows2, int xparts,
                                     int wparts)
{
    size_t xstep = 64 * (size_t)xparts, wstep = 512 * (size_t)wparts;
    size_t r16 = 16 * stride;
    if (cont) {
        _tile_loadd(0, c, 64);
        _tile_loadd(1, c + 256, 64);
        if (rows2) {
            _tile_loadd(2, c + 512, 64);
            _tile_loadd(3, c + 768, 64);
        }
    } else {
        _tile_zero(0);
        _tile_zero(1);
        if (rows2) {
            _tile_zero(2);
            _tile_zero(3);
        }
    }
    for (int64_t s = 0; s < steps; s++) {
        const char *xh = xb + (size_t)s * xstep, *xl = xh + 64;
        const uint32_t *wh = panel + (size_t)s * wstep, *wl = wh + 512;
        /* each load just before its first use, so loads overlap products */
        _tile_loadd(4, xparts == 2 ? xl : xh, stride);
        _tile_loadd(6, wh, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_loadd(7, wh + 256, 64);
        _tile_dpbf16ps(1, 4, 7);
        if (rows2) {
            _tile_loadd(5, (xparts == 2 ? xl : xh) + r16, stride);
            _tile_dpbf16ps(2, 5, 6);
            _tile_dpbf16ps(3, 5, 7);
        }
        if (xparts == 2) {
            _tile_loadd(4, xh, stride);
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(1, 4, 7);
            if (rows2) {
                _tile_loadd(5, xh + r16, stride);
                _tile_dpbf16ps(2, 5, 6);
                _tile_dpbf16ps(3, 5, 7);
            }
        }
        if (wparts == 2) {
            _tile_loadd(6, wl, 64);
            _tile_dpbf16ps(0, 4, 6);
            if (rows2)
                _tile_dpbf16ps(2, 5, 6);
            _tile_loadd(7, wl + 256, 64);
            _tile_dpbf16ps(1, 4, 7);
            if (rows2)
                _tile_dpbf16ps(3, 5, 7);
        }
    }
    _tile_stored(0, c, 64);
    _tile_stored(1, c + 256, 64);
    if (rows2) {
        _tile_stored(2, c + 512, 64);
        _tile_stored(3, c + 768, 64);
    }
}

/* One 32 x 32 (rows2) or 16 x 32 block in the operand layout at hand. */
static void gemm_block(const char *xb, size_t stride, const uint32_t *panel, int64_t steps,
                       float *c, int cont, int rows2, int xparts, int wparts)
{
    if (xparts == 1) {
        if (rows2)
            gemm_tiles(xb, stride, panel, steps, c, cont, 1, 1, 1);
        else
            gemm_tiles(xb, stride, panel, steps, c, cont, 0, 1, 1);
    } else if (wparts == 1) {
        if (rows2)
            gemm_tiles(xb, stride, panel, steps, c, cont, 1, 2, 1);
        else
            gemm_tiles(xb, stride, panel, steps, c, cont, 0, 2, 1);
    } else {
        if (rows2)
            gemm_tiles(xb, stride, panel, steps, c, cont, 1, 2, 2);
        else
            gemm_tiles(xb, stride, panel, steps, c, cont, 0, 2, 2);
    }
}

void acc_cpu_amx_matmul(const acc_cpu_matmul_args *A, acc_cpu_amx_mode mode, void *scratch,
                        int64_t j0, int64_t j1)
{
    int64_t kc = acc_cpu_amx_chunk_pad(A->in);
    int xparts = mode == ACC_CPU_AMX_SPLIT ? 2 : 1;
    int wparts = acc_cpu_amx_weight_parts(A->w_type, mode);
    size_t stride = A->xq_row_bytes;
    size_t panel_dwords = (size_t)ACC_CPU_AMX_COL_UNIT * (size_t)kc / 2 * (size_t)wparts;
    /* the scratch layout of acc_cpu_amx_scratch_bytes(in, mode) */
    size_t budget = acc_cpu_amx_panels_bytes(A->in, xparts);
    uint32_t *panels = scratch;
    float *f = (float *)((char *)scratch + budget);
    uint16_t *rows = (uint16_t *)(f + kc);
    float *c = (float *)(((uintptr_t)(rows + (size_t)xparts * 16 * (size_t)kc) + 63) &
                         ~(uintptr_t)63);
    int64_t group = (int64_t)(acc_cpu_amx_panels_bytes(A->in, wparts) / (panel_dwords * 4)) *
                    ACC_CPU_AMX_COL_UNIT;
    int64_t rows_pad = acc_cpu_amx_rows_pad(A->rows);
    tiles_configure();
    /* a group of panels (one k chunk) stays in L2 while every token row
     * passes over it: each weight is unpacked once per step, each
     * activation tile read from memory once per group */
    for (int64_t jg = j0; jg < j1; jg += group) {
        int64_t jg_end = jg + group < j1 ? jg + group : j1;
        for (int64_t k0 = 0; k0 < A->in; k0 += kc) {
            /* the chunk as a matmul of its own: weights from element k0 (a
             * whole number of blocks), activations from k step k0 / 32 */
            acc_cpu_matmul_args chunk = *A;
            chunk.in = A->in - k0 < kc ? A->in - k0 : kc;
            chunk.w = (const char *)A->w + acc_weight_row_bytes(A->w_type, k0);
            int64_t pad = acc_cpu_amx_in_pad(chunk.in), steps = pad / 32;
            for (int64_t j = jg; j < jg_end; j += ACC_CPU_AMX_COL_UNIT) {
                int nc =
                    jg_end - j < ACC_CPU_AMX_COL_UNIT ? (int)(jg_end - j) : ACC_CPU_AMX_COL_UNIT;
                panel_fill(&chunk, wparts, j, nc, pad,
                           panels + (size_t)((j - jg) / ACC_CPU_AMX_COL_UNIT) * panel_dwords, f,
                           rows);
            }
            for (int64_t r = 0; r < rows_pad; r += 32) {
                const char *xb = (const char *)A->xq + (size_t)r * stride +
                                 (size_t)(k0 / 32) * 64 * (size_t)xparts;
                int nr = A->rows - r < 32 ? (int)(A->rows - r) : 32;
                for (int64_t j = jg; j < jg_end; j += ACC_CPU_AMX_COL_UNIT) {
                    int nc = jg_end - j < ACC_CPU_AMX_COL_UNIT ? (int)(jg_end - j)
                                                               : ACC_CPU_AMX_COL_UNIT;
                    const uint32_t *panel =
                        panels + (size_t)((j - jg) / ACC_CPU_AMX_COL_UNIT) * panel_dwords;
                    if (k0 > 0)
                        tiles_gather(A, c, r, nr, j, nc);
                    gemm_block(xb, stride, panel, steps, c, k0 > 0, rows_pad - r >= 32, xparts,
                               wparts);
                    tiles_write(A, c, r, nr, j, nc, k0 == 0);
                }
            }
        }
    }
    _tile_release();
}

#else

#include "backend/cpu/kernels_amx.h"

/* Off x86-64 acc_cpu_amx_enabled is always 0, so the executor never calls
 * these; they exist so that the library links everywhere. */
void acc_cpu_amx_convert_rows(const float *x, int64_t rows, int64_t in, acc_cpu_amx_mode mode,
                              void *xb, int64_t r0, int64_t r1)
{
    (void)x, (void)rows, (void)in, (void)mode, (void)xb, (void)r0, (void)r1;
}

void acc_cpu_amx_matmul(const acc_cpu_matmul_args *args, acc_cpu_amx_mode mode, void *scratch,
                        int64_t j0, int64_t j1)
{
    (void)args, (void)mode, (void)scratch, (void)j0, (void)j1;
}

#endif
