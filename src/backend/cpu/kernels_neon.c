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

/* e^v as in kernels_avx2.c: clamp to [-105, 89] (vmaxq/vminq keep NaN),
 * n = round(v log2 e), two-part ln2 reduction, Cephes' degree-6
 * polynomial, and 2^n as two exact power-of-two factors built in the
 * exponent field, so only a subnormal result is rounded once more. */
static ALWAYS_INLINE float32x4_t exp_neon4(float32x4_t v)
{
    v = vminq_f32(vdupq_n_f32(89.0f), vmaxq_f32(vdupq_n_f32(-105.0f), v));
    float32x4_t n = vrndnq_f32(vmulq_n_f32(v, 1.44269504088896341f));
    float32x4_t r = vfmsq_f32(v, n, vdupq_n_f32(0.693359375f));
    r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
    float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
    p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
    p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
    float32x4_t e = vaddq_f32(vfmaq_f32(r, p, vmulq_f32(r, r)), vdupq_n_f32(1.0f));
    int32x4_t ni = vcvtq_s32_f32(n); /* NaN gives 0: e is NaN already */
    int32x4_t n1 = vshrq_n_s32(ni, 1), n2 = vsubq_s32(ni, n1);
    float32x4_t s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n1, vdupq_n_s32(127)), 23));
    float32x4_t s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n2, vdupq_n_s32(127)), 23));
    return vmulq_f32(vmulq_f32(e, s1), s2);
}

static ALWAYS_INLINE float32x4_t gelu_neon4(float32x4_t x)
{
    float32x4_t x3 = vmulq_f32(vmulq_f32(x, x), x);
    float32x4_t u = vmulq_n_f32(vfmaq_n_f32(x, x3, 0.044715f), 0.7978845608028654f);
    float32x4_t e = exp_neon4(vmulq_n_f32(u, -2.0f));
    return vdivq_f32(x, vaddq_f32(e, vdupq_n_f32(1.0f)));
}

static ALWAYS_INLINE float32x4_t swiglu_neon4(float32x4_t g, float32x4_t u)
{
    float32x4_t e = exp_neon4(vnegq_f32(g));
    return vmulq_f32(vdivq_f32(g, vaddq_f32(e, vdupq_n_f32(1.0f))), u);
}

/* Elementwise loops: the tail goes through the same vector step on a
 * zero-padded copy, so any split of the range gives the same bits. */
static void exp_array_neon(const float *a, float *y, int64_t i0, int64_t i1)
{
    int64_t i = i0;
    for (; i + 4 <= i1; i += 4)
        vst1q_f32(y + i, exp_neon4(vld1q_f32(a + i)));
    if (i < i1) {
        float t[4] = {0, 0, 0, 0};
        for (int64_t k = i; k < i1; k++)
            t[k - i] = a[k];
        vst1q_f32(t, exp_neon4(vld1q_f32(t)));
        for (int64_t k = i; k < i1; k++)
            y[k] = t[k - i];
    }
}

static void gelu_neon(const float *a, float *y, int64_t i0, int64_t i1)
{
    int64_t i = i0;
    for (; i + 4 <= i1; i += 4)
        vst1q_f32(y + i, gelu_neon4(vld1q_f32(a + i)));
    if (i < i1) {
        float t[4] = {0, 0, 0, 0};
        for (int64_t k = i; k < i1; k++)
            t[k - i] = a[k];
        vst1q_f32(t, gelu_neon4(vld1q_f32(t)));
        for (int64_t k = i; k < i1; k++)
            y[k] = t[k - i];
    }
}

static void swiglu_neon(const float *gate, const float *up, float *y, int64_t i0, int64_t i1)
{
    int64_t i = i0;
    for (; i + 4 <= i1; i += 4)
        vst1q_f32(y + i, swiglu_neon4(vld1q_f32(gate + i), vld1q_f32(up + i)));
    if (i < i1) {
        float g[4] = {0, 0, 0, 0}, u[4] = {0, 0, 0, 0};
        for (int64_t k = i; k < i1; k++) {
            g[k - i] = gate[k];
            u[k - i] = up[k];
        }
        vst1q_f32(g, swiglu_neon4(vld1q_f32(g), vld1q_f32(u)));
        for (int64_t k = i; k < i1; k++)
            y[k] = g[k - i];
    }
}

const acc_cpu_kernels acc_cpu_kernels_neon = {
    .isa = ACC_CPU_ISA_NEON,
    .name = "neon",
    .matmul = {[ACC_WEIGHT_F32] = matmul_f32,
               [ACC_WEIGHT_F16] = matmul_f16,
               [ACC_WEIGHT_BF16] = matmul_bf16},
    .dot = dot_neon,
    .axpy = axpy_neon,
    .gelu = gelu_neon,
    .swiglu = swiglu_neon,
    .exp = exp_array_neon,
};

#endif
