/*
 * quant_legacy.c — ggml's 32-element block formats q4_0, q4_1, q5_0, q5_1
 * and q8_0: reference quantization (bit-identical to ggml's
 * quantize_row_*_ref), dequantization, and scalar dot products against q8_0
 * activations.  "_0" formats are x = d*q (symmetric), "_1" are x = d*q + m.
 */
#include "tensor/quant_internal.h"

#include <float.h>

static float signed_absmax32(const float *x, float *amax_out)
{
    float amax = 0, max = 0;
    for (int j = 0; j < 32; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    *amax_out = amax;
    return max;
}

static void minmax32(const float *x, float *min_out, float *max_out)
{
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < 32; j++) {
        if (x[j] < min)
            min = x[j];
        if (x[j] > max)
            max = x[j];
    }
    *min_out = min;
    *max_out = max;
}

/* The 5th bits of 32 levels, bit j = level j, stored little-endian. */
static void store_high_bits(uint8_t qh[4], uint32_t bits)
{
    for (int i = 0; i < 4; i++)
        qh[i] = (uint8_t)(bits >> (8 * i));
}

static uint32_t load_high_bits(const uint8_t qh[4])
{
    return (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
}

void acc_quantize_row_q4_0(const float *x, acc_block_q4_0 *y, int64_t k)
{
    for (int64_t b = 0; b < k / 32; b++, x += 32) {
        float amax;
        float max = signed_absmax32(x, &amax);
        /* the extreme value maps to level 0 (-8 before the offset) */
        const float d = max / -8;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[b].d = quant_fp16(d);
        for (int j = 0; j < 16; j++) {
            int q0 = quant_min_int(15, (int8_t)quant_trunc_int(x[j] * id + 8.5f));
            int q1 = quant_min_int(15, (int8_t)quant_trunc_int(x[j + 16] * id + 8.5f));
            y[b].qs[j] = (uint8_t)((uint8_t)q0 | (uint8_t)q1 << 4);
        }
    }
}

void acc_quantize_row_q4_1(const float *x, acc_block_q4_1 *y, int64_t k)
{
    for (int64_t b = 0; b < k / 32; b++, x += 32) {
        float min, max;
        minmax32(x, &min, &max);
        const float d = (max - min) / 15;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[b].d = quant_fp16(d);
        y[b].m = quant_fp16(min);
        for (int j = 0; j < 16; j++) {
            int q0 = quant_min_int(15, (int8_t)quant_trunc_int((x[j] - min) * id + 0.5f));
            int q1 = quant_min_int(15, (int8_t)quant_trunc_int((x[j + 16] - min) * id + 0.5f));
            y[b].qs[j] = (uint8_t)((uint8_t)q0 | (uint8_t)q1 << 4);
        }
    }
}

void acc_quantize_row_q5_0(const float *x, acc_block_q5_0 *y, int64_t k)
{
    for (int64_t b = 0; b < k / 32; b++, x += 32) {
        float amax;
        float max = signed_absmax32(x, &amax);
        const float d = max / -16;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[b].d = quant_fp16(d);
        uint32_t high = 0;
        for (int j = 0; j < 16; j++) {
            uint8_t q0 = (uint8_t)quant_min_int(31, (int8_t)quant_trunc_int(x[j] * id + 16.5f));
            uint8_t q1 =
                (uint8_t)quant_min_int(31, (int8_t)quant_trunc_int(x[j + 16] * id + 16.5f));
            y[b].qs[j] = (uint8_t)((q0 & 0x0F) | (q1 & 0x0F) << 4);
            high |= (uint32_t)((q0 & 0x10u) >> 4) << j;
            high |= (uint32_t)((q1 & 0x10u) >> 4) << (j + 16);
        }
        store_high_bits(y[b].qh, high);
    }
}

void acc_quantize_row_q5_1(const float *x, acc_block_q5_1 *y, int64_t k)
{
    for (int64_t b = 0; b < k / 32; b++, x += 32) {
        float min, max;
        minmax32(x, &min, &max);
        const float d = (max - min) / 31;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[b].d = quant_fp16(d);
        y[b].m = quant_fp16(min);
        uint32_t high = 0;
        for (int j = 0; j < 16; j++) {
            uint8_t q0 = (uint8_t)quant_trunc_int((x[j] - min) * id + 0.5f);
            uint8_t q1 = (uint8_t)quant_trunc_int((x[j + 16] - min) * id + 0.5f);
            y[b].qs[j] = (uint8_t)((q0 & 0x0F) | (q1 & 0x0F) << 4);
            high |= (uint32_t)((q0 & 0x10u) >> 4) << j;
            high |= (uint32_t)((q1 & 0x10u) >> 4) << (j + 16);
        }
        store_high_bits(y[b].qh, high);
    }
}

void acc_quantize_row_q8_0(const float *x, acc_block_q8_0 *y, int64_t k)
{
    for (int64_t b = 0; b < k / 32; b++, x += 32) {
        float amax = 0;
        for (int j = 0; j < 32; j++)
            amax = amax > fabsf(x[j]) ? amax : fabsf(x[j]);
        const float d = amax / 127;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[b].d = quant_fp16(d);
        for (int j = 0; j < 32; j++) /* roundf: ties away from zero, as ggml */
            y[b].qs[j] = (int8_t)quant_trunc_int(roundf(x[j] * id));
    }
}

void acc_dequantize_row_q4_0(const acc_block_q4_0 *x, float *y, int64_t k)
{
    for (int64_t b = 0; b < k / 32; b++, y += 32) {
        const float d = quant_fp32(x[b].d);
        for (int j = 0; j < 16; j++) {
            y[j] = (float)((x[b].qs[j] & 0x0F) - 8) * d;
            y[j + 16] = (float)((x[b].qs[j] >> 4) - 8) * d;
        }
    }
}

void acc_dequantize_row_q4_1(const acc_block_q4_1 *x, float *y, int64_t k)
{
    for (int64_t b = 0; b < k / 32; b++, y += 32) {
        const float d = quant_fp32(x[b].d), m = quant_fp32(x[b].m);
        for (int j = 0; j < 16; j++) {
            y[j] = (float)(x[b].qs[j] & 0x0F) * d + m;
            y[j + 16] = (float)(x[b].qs[j] >> 4) * d + m;
        }
    }
}

/* Level j (0..31) of a q5 block, 0..31 before any offset. */
static int q5_level(const uint8_t *qs, uint32_t high, int j)
{
    int low = j < 16 ? qs[j] & 0x0F : qs[j - 16] >> 4;
    return low | (int)((high >> j) & 1) << 4;
}

void acc_dequantize_row_q5_0(const acc_block_q5_0 *x, float *y, int64_t k)
{
    for (int64_t b = 0; b < k / 32; b++, y += 32) {
        const float d = quant_fp32(x[b].d);
        uint32_t high = load_high_bits(x[b].qh);
        for (int j = 0; j < 32; j++)
            y[j] = (float)(q5_level(x[b].qs, high, j) - 16) * d;
    }
}

void acc_dequantize_row_q5_1(const acc_block_q5_1 *x, float *y, int64_t k)
{
    for (int64_t b = 0; b < k / 32; b++, y += 32) {
        const float d = quant_fp32(x[b].d), m = quant_fp32(x[b].m);
        uint32_t high = load_high_bits(x[b].qh);
        for (int j = 0; j < 32; j++)
            y[j] = (float)q5_level(x[b].qs, high, j) * d + m;
    }
}

void acc_dequantize_row_q8_0(const acc_block_q8_0 *x, float *y, int64_t k)
{
    for (int64_t b = 0; b < k / 32; b++, y += 32) {
        const float d = quant_fp32(x[b].d);
        for (int j = 0; j < 32; j++)
            y[j] = (float)x[b].qs[j] * d;
    }
}

/* ---- dot products with q8_0 activations -------------------------------
 * Within a block the products are exact integers; the block's two scales
 * are applied once, as ggml's scalar kernels do.  The "_1" formats add
 * m * d_a * sum(a), the activation sum computed exactly from the block. */

static int sum_q8(const acc_block_q8_0 *a)
{
    int sum = 0;
    for (int j = 0; j < 32; j++)
        sum += a->qs[j];
    return sum;
}

float acc_vec_dot_q4_0_q8(int64_t n, const acc_block_q4_0 *w, const acc_block_q8_0 *a)
{
    float sum = 0;
    for (int64_t b = 0; b < n / 32; b++) {
        int sumi = 0;
        for (int j = 0; j < 16; j++)
            sumi += ((w[b].qs[j] & 0x0F) - 8) * a[b].qs[j] + ((w[b].qs[j] >> 4) - 8) * a[b].qs[j + 16];
        sum += (float)sumi * quant_fp32(w[b].d) * quant_fp32(a[b].d);
    }
    return sum;
}

float acc_vec_dot_q4_1_q8(int64_t n, const acc_block_q4_1 *w, const acc_block_q8_0 *a)
{
    float sum = 0;
    for (int64_t b = 0; b < n / 32; b++) {
        int sumi = 0;
        for (int j = 0; j < 16; j++)
            sumi += (w[b].qs[j] & 0x0F) * a[b].qs[j] + (w[b].qs[j] >> 4) * a[b].qs[j + 16];
        float da = quant_fp32(a[b].d);
        sum += quant_fp32(w[b].d) * da * (float)sumi + quant_fp32(w[b].m) * (da * (float)sum_q8(&a[b]));
    }
    return sum;
}

float acc_vec_dot_q5_0_q8(int64_t n, const acc_block_q5_0 *w, const acc_block_q8_0 *a)
{
    float sum = 0;
    for (int64_t b = 0; b < n / 32; b++) {
        uint32_t high = load_high_bits(w[b].qh);
        int sumi = 0;
        for (int j = 0; j < 32; j++)
            sumi += (q5_level(w[b].qs, high, j) - 16) * a[b].qs[j];
        sum += (float)sumi * quant_fp32(w[b].d) * quant_fp32(a[b].d);
    }
    return sum;
}

float acc_vec_dot_q5_1_q8(int64_t n, const acc_block_q5_1 *w, const acc_block_q8_0 *a)
{
    float sum = 0;
    for (int64_t b = 0; b < n / 32; b++) {
        uint32_t high = load_high_bits(w[b].qh);
        int sumi = 0;
        for (int j = 0; j < 32; j++)
            sumi += q5_level(w[b].qs, high, j) * a[b].qs[j];
        float da = quant_fp32(a[b].d);
        sum += quant_fp32(w[b].d) * da * (float)sumi + quant_fp32(w[b].m) * (da * (float)sum_q8(&a[b]));
    }
    return sum;
}

float acc_vec_dot_q8_0_q8(int64_t n, const acc_block_q8_0 *w, const acc_block_q8_0 *a)
{
    float sum = 0;
    for (int64_t b = 0; b < n / 32; b++) {
        int sumi = 0;
        for (int j = 0; j < 32; j++)
            sumi += w[b].qs[j] * a[b].qs[j];
        sum += (float)sumi * (quant_fp32(w[b].d) * quant_fp32(a[b].d));
    }
    return sum;
}
