/*
 * kernels_neon.c — hot kernels for aarch64 (NEON is part of the baseline,
 * so this table needs no run-time check; CMake compiles the file only on
 * aarch64).  Same structure as the x86 files: one 4-lane FMA accumulator per
 * output element, up to 2 token rows x 4 weight rows per micro-kernel, a
 * zero-padded k tail, one fixed reduction; f16 weights widened by
 * vcvt_f32_f16 and bf16 by a shift, both exact.
 */
#if defined(__aarch64__)

#include "backend/cpu/kernels.h"

#include <arm_neon.h>

#define ALWAYS_INLINE __attribute__((always_inline)) inline
#define TILE_BYTES (512 * 1024)

static ALWAYS_INLINE float32x4_t widen_16bit(uint16x4_t h, acc_weight_type t)
{
    if (t == ACC_WEIGHT_F16)
        return vcvt_f32_f16(vreinterpret_f16_u16(h));
    return vreinterpretq_f32_u32(vshll_n_u16(h, 16));
}

static ALWAYS_INLINE float32x4_t load_w(const char *row, int64_t k, acc_weight_type t)
{
    if (t == ACC_WEIGHT_F32)
        return vld1q_f32((const float *)row + k);
    return widen_16bit(vld1_u16((const uint16_t *)row + k), t);
}

static ALWAYS_INLINE float32x4_t load_w_tail(const char *row, int64_t k, int64_t n,
                                             acc_weight_type t)
{
    if (t == ACC_WEIGHT_F32) {
        float buf[4] = {0, 0, 0, 0};
        for (int64_t i = 0; i < n; i++)
            buf[i] = ((const float *)row)[k + i];
        return vld1q_f32(buf);
    }
    uint16_t buf[4] = {0, 0, 0, 0};
    for (int64_t i = 0; i < n; i++)
        buf[i] = ((const uint16_t *)row)[k + i];
    return widen_16bit(vld1_u16(buf), t);
}

static ALWAYS_INLINE float32x4_t load_x_tail(const float *x, int64_t n)
{
    float buf[4] = {0, 0, 0, 0};
    for (int64_t i = 0; i < n; i++)
        buf[i] = x[i];
    return vld1q_f32(buf);
}

static ALWAYS_INLINE void tile(const float *x, int64_t in, const char *w, size_t w_stride,
                               acc_weight_type t, int nt, int nw, float out[2][4])
{
    float32x4_t acc[2][4];
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 4; b++)
            acc[a][b] = vdupq_n_f32(0.0f);
    int64_t k = 0;
    for (; k + 4 <= in; k += 4) {
        float32x4_t wv[4];
        for (int b = 0; b < nw; b++)
            wv[b] = load_w(w + (size_t)b * w_stride, k, t);
        for (int a = 0; a < nt; a++) {
            float32x4_t xv = vld1q_f32(x + a * in + k);
            for (int b = 0; b < nw; b++)
                acc[a][b] = vfmaq_f32(acc[a][b], xv, wv[b]);
        }
    }
    if (k < in) {
        float32x4_t wv[4];
        for (int b = 0; b < nw; b++)
            wv[b] = load_w_tail(w + (size_t)b * w_stride, k, in - k, t);
        for (int a = 0; a < nt; a++) {
            float32x4_t xv = load_x_tail(x + a * in + k, in - k);
            for (int b = 0; b < nw; b++)
                acc[a][b] = vfmaq_f32(acc[a][b], xv, wv[b]);
        }
    }
    for (int a = 0; a < nt; a++)
        for (int b = 0; b < nw; b++)
            out[a][b] = vaddvq_f32(acc[a][b]);
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

static float dot_neon(const float *a, const float *b, int64_t n)
{
    float32x4_t acc = vdupq_n_f32(0.0f);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        acc = vfmaq_f32(acc, vld1q_f32(a + i), vld1q_f32(b + i));
    if (i < n)
        acc = vfmaq_f32(acc, load_x_tail(a + i, n - i), load_x_tail(b + i, n - i));
    return vaddvq_f32(acc);
}

static void axpy_neon(float alpha, const float *x, float *y, int64_t n)
{
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), alpha));
    for (; i < n; i++)
        y[i] = __builtin_fmaf(alpha, x[i], y[i]);
}

const acc_cpu_kernels acc_cpu_kernels_neon = {
    .isa = ACC_CPU_ISA_NEON,
    .name = "neon",
    .matmul = {[ACC_WEIGHT_F32] = matmul_f32,
               [ACC_WEIGHT_F16] = matmul_f16,
               [ACC_WEIGHT_BF16] = matmul_bf16},
    .dot = dot_neon,
    .axpy = axpy_neon,
};

#endif
