/*
 * kernels_scalar.c — the portable table of hot kernels: plain C compiled
 * with the project's default flags, the fallback on any CPU and the
 * reference the SIMD tables are tested against.  Dot products keep eight
 * partial sums (lane k takes elements i with i % 8 == k, then a fixed
 * pairwise reduction, then the tail in order) so the compiler can keep them
 * in one vector register without -ffast-math.  16-bit weights are widened
 * exactly before the multiply, so f16/bf16 weights give the same bits as
 * the same values stored as f32.
 */
#include "backend/cpu/kernels.h"

#include "accinf/quant.h"
#include "accinf/tensor.h"

#include <string.h>

static inline float weight_at(const void *row, int64_t i, acc_weight_type type)
{
    switch (type) {
    case ACC_WEIGHT_F16:
        return acc_f16_to_f32(((const uint16_t *)row)[i]);
    case ACC_WEIGHT_BF16:
        return acc_bf16_to_f32(((const uint16_t *)row)[i]);
    default:
        return ((const float *)row)[i];
    }
}

float acc_cpu_dot(const float *a, const float *b, int64_t n)
{
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += a[i + k] * b[i + k];
    float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < n; i++)
        sum += a[i] * b[i];
    return sum;
}

/* Four dot products of one f32 weight row with four x rows, each summed in
 * exactly the order acc_cpu_dot uses. */
static void dot4(const float *x0, const float *x1, const float *x2, const float *x3,
                 const float *w, int64_t n, float out[4])
{
    float a0[8] = {0}, a1[8] = {0}, a2[8] = {0}, a3[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int k = 0; k < 8; k++) {
            float wk = w[i + k];
            a0[k] += x0[i + k] * wk;
            a1[k] += x1[i + k] * wk;
            a2[k] += x2[i + k] * wk;
            a3[k] += x3[i + k] * wk;
        }
    }
    float *acc[4] = {a0, a1, a2, a3};
    const float *xs[4] = {x0, x1, x2, x3};
    for (int r = 0; r < 4; r++) {
        const float *a = acc[r];
        float sum = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
        for (int64_t t = i; t < n; t++)
            sum += xs[r][t] * w[t];
        out[r] = sum;
    }
}

/* The same order as acc_cpu_dot, with the weight widened per element. */
static float dot_typed(const float *x, const void *w, acc_weight_type type, int64_t n)
{
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += x[i + k] * weight_at(w, i + k, type);
    float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < n; i++)
        sum += x[i] * weight_at(w, i, type);
    return sum;
}

/* Rows are taken in tiles so a tile of x stays in cache while every weight
 * row of the range streams past it once per tile; within a tile each f32
 * weight element loaded feeds four rows. */
#define MATMUL_ROW_TILE 16

static void matmul_f32(const acc_cpu_matmul_args *a, int64_t r0_begin, int64_t r_end, int64_t j0,
                       int64_t j1)
{
    int64_t in = a->in, out = a->out;
    for (int64_t r0 = r0_begin; r0 < r_end; r0 += MATMUL_ROW_TILE) {
        int64_t r1 = r0 + MATMUL_ROW_TILE < r_end ? r0 + MATMUL_ROW_TILE : r_end;
        for (int64_t j = j0; j < j1; j++) {
            const float *wj = (const float *)((const char *)a->w + (size_t)j * a->w_row_bytes);
            float b = a->bias ? a->bias[j] : 0.0f;
            int64_t r = r0;
            for (; r + 4 <= r1; r += 4) {
                float d[4];
                const float *xr = a->x + r * in;
                dot4(xr, xr + in, xr + 2 * in, xr + 3 * in, wj, in, d);
                for (int k = 0; k < 4; k++)
                    a->y[(r + k) * out + j] = d[k] + b;
            }
            for (; r < r1; r++)
                a->y[r * out + j] = acc_cpu_dot(a->x + r * in, wj, in) + b;
        }
    }
}

static void matmul_16bit(const acc_cpu_matmul_args *a, int64_t r0, int64_t r1, int64_t j0,
                         int64_t j1)
{
    for (int64_t j = j0; j < j1; j++) {
        const void *wj = (const char *)a->w + (size_t)j * a->w_row_bytes;
        float b = a->bias ? a->bias[j] : 0.0f;
        for (int64_t r = r0; r < r1; r++)
            a->y[r * a->out + j] = dot_typed(a->x + r * a->in, wj, a->w_type, a->in) + b;
    }
}

void acc_cpu_matmul_cols(const float *x, int64_t rows, int64_t in, const float *w,
                         const float *bias, float *y, int64_t out, int64_t j0, int64_t j1)
{
    acc_cpu_matmul_args a = {.x = x, .rows = rows, .in = in, .w = w, .w_type = ACC_WEIGHT_F32,
                             .w_row_bytes = (size_t)in * sizeof(float), .bias = bias, .y = y,
                             .out = out};
    matmul_f32(&a, 0, rows, j0, j1);
}

/* Block-format weights: ggml's scalar dot products against the rows of
 * int8 activations the executor prepared. */
static void matmul_quantized(const acc_cpu_matmul_args *a, int64_t r0, int64_t r1, int64_t j0,
                             int64_t j1)
{
    for (int64_t j = j0; j < j1; j++) {
        const void *wj = (const char *)a->w + (size_t)j * a->w_row_bytes;
        float b = a->bias ? a->bias[j] : 0.0f;
        for (int64_t r = r0; r < r1; r++) {
            const void *xr = (const char *)a->xq + (size_t)r * a->xq_row_bytes;
            float d = 0.0f;
            switch (a->w_type) {
            case ACC_WEIGHT_Q8_0:
                d = acc_vec_dot_q8_0_q8(a->in, wj, xr);
                break;
            case ACC_WEIGHT_Q4_0:
                d = acc_vec_dot_q4_0_q8(a->in, wj, xr);
                break;
            case ACC_WEIGHT_Q4_K:
                d = acc_vec_dot_q4_K_q8(a->in, wj, xr);
                break;
            case ACC_WEIGHT_Q6_K:
                d = acc_vec_dot_q6_K_q8(a->in, wj, xr);
                break;
            case ACC_WEIGHT_Q5_K:
                d = acc_vec_dot_q5_K_q8(a->in, wj, xr);
                break;
            default:
                break;
            }
            a->y[r * a->out + j] = d + b;
        }
    }
}

static void axpy_scalar(float alpha, const float *x, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] += alpha * x[i];
}

const acc_cpu_kernels acc_cpu_kernels_scalar = {
    .isa = ACC_CPU_ISA_SCALAR,
    .name = "scalar",
    .matmul = {[ACC_WEIGHT_F32] = matmul_f32,
               [ACC_WEIGHT_F16] = matmul_16bit,
               [ACC_WEIGHT_BF16] = matmul_16bit,
               [ACC_WEIGHT_Q8_0] = matmul_quantized,
               [ACC_WEIGHT_Q4_0] = matmul_quantized,
               [ACC_WEIGHT_Q4_K] = matmul_quantized,
               [ACC_WEIGHT_Q6_K] = matmul_quantized,
               [ACC_WEIGHT_Q5_K] = matmul_quantized},
    .dot = acc_cpu_dot,
    .axpy = axpy_scalar,
};
