/*
 * quant_q6_K.c — ggml's q6_K (256-element superblocks of 16 groups of 16,
 * x = d*s*q, 6-bit q in [-32, 31], int8 group scales; 6.5625 bpw) and q8_K,
 * the int8 activation format the k-quant dot products use.  Reference
 * quantizers are bit-identical to ggml's quantize_row_q6_K_ref and
 * quantize_row_q8_K_ref.
 */
#include "tensor/quant_internal.h"

/* Element e's level in [-32, 31]: in half h = e/128, position p = e%128,
 * the low nibble of ql[64h + p%64] (low for p < 64, high above) and two
 * bits of qh[32h + p%32] at 2*(p/32). */
static int q6_level(const acc_block_q6_K *block, int e)
{
    int h = e / 128, p = e % 128;
    uint8_t low = block->ql[64 * h + p % 64];
    int nibble = p < 64 ? low & 0xF : low >> 4;
    int high = (block->qh[32 * h + p % 32] >> (2 * (p / 32))) & 3;
    return (nibble | high << 4) - 32;
}

void acc_quantize_row_q6_K(const float *x, acc_block_q6_K *y, int64_t k)
{
    int8_t levels[256];
    float scales[16];
    for (int64_t b = 0; b < k / 256; b++, x += 256) {
        float max_scale = 0, max_abs_scale = 0;
        for (int j = 0; j < 16; j++) {
            scales[j] = quant_make_qx_quants_rmse1(16, 32, x + 16 * j, levels + 16 * j);
            if (fabsf(scales[j]) > max_abs_scale) {
                max_abs_scale = fabsf(scales[j]);
                max_scale = scales[j];
            }
        }
        if (max_abs_scale < QUANT_GROUP_MAX_EPS) {
            memset(&y[b], 0, sizeof y[b]);
            y[b].d = quant_fp16(0.f);
            continue;
        }
        float iscale = -128.f / max_scale;
        y[b].d = quant_fp16(1 / iscale);
        for (int j = 0; j < 16; j++)
            y[b].scales[j] = (int8_t)quant_min_int(127, quant_nearest_int(iscale * scales[j]));
        for (int j = 0; j < 16; j++) {
            float d = quant_fp32(y[b].d) * (float)y[b].scales[j];
            if (d == 0)
                continue;
            for (int l = 0; l < 16; l++) {
                int q = quant_nearest_int(x[16 * j + l] / d);
                levels[16 * j + l] = (int8_t)(quant_max_int(-32, quant_min_int(31, q)) + 32);
            }
        }
        for (int h = 0; h < 2; h++) {
            const int8_t *L = levels + 128 * h;
            uint8_t *ql = y[b].ql + 64 * h, *qh = y[b].qh + 32 * h;
            for (int l = 0; l < 32; l++) {
                ql[l] = (uint8_t)((L[l] & 0xF) | (L[l + 64] & 0xF) << 4);
                ql[l + 32] = (uint8_t)((L[l + 32] & 0xF) | (L[l + 96] & 0xF) << 4);
                qh[l] = (uint8_t)((L[l] >> 4) | (L[l + 32] >> 4) << 2 | (L[l + 64] >> 4) << 4 |
                                  (L[l + 96] >> 4) << 6);
            }
        }
    }
}

void acc_dequantize_row_q6_K(const acc_block_q6_K *x, float *y, int64_t k)
{
    for (int64_t b = 0; b < k / 256; b++, y += 256) {
        const float d = quant_fp32(x[b].d);
        for (int e = 0; e < 256; e++)
            y[e] = d * (float)x[b].scales[e / 16] * (float)q6_level(&x[b], e);
    }
}

float acc_vec_dot_q6_K_q8(int64_t n, const acc_block_q6_K *w, const acc_block_q8_K *a)
{
    float sum = 0;
    for (int64_t b = 0; b < n / 256; b++) {
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            int group = 0;
            for (int l = 0; l < 16; l++)
                group += q6_level(&w[b], 16 * j + l) * a[b].qs[16 * j + l];
            sumi += w[b].scales[j] * group;
        }
        sum += quant_fp32(w[b].d) * a[b].d * (float)sumi;
    }
    return sum;
}

void acc_quantize_row_q8_K(const float *x, acc_block_q8_K *y, int64_t k)
{
    for (int64_t b = 0; b < k / 256; b++, x += 256) {
        float max = 0, amax = 0;
        for (int j = 0; j < 256; j++) {
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        if (amax == 0) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        /* -127 rather than -128: ggml's choice, kept for identical blocks */
        const float iscale = -127.f / max;
        for (int j = 0; j < 256; j++)
            y[b].qs[j] = (int8_t)quant_min_int(127, quant_nearest_int(iscale * x[j]));
        for (int j = 0; j < 16; j++) {
            int sum = 0;
            for (int l = 0; l < 16; l++)
                sum += y[b].qs[16 * j + l];
            y[b].bsums[j] = (int16_t)sum;
        }
        y[b].d = 1 / iscale;
    }
}

void acc_dequantize_row_q8_K(const acc_block_q8_K *x, float *y, int64_t k)
{
    for (int64_t b = 0; b < k / 256; b++, y += 256)
        for (int j = 0; j < 256; j++)
            y[j] = x[b].d * (float)x[b].qs[j];
}
