/*
 * quant_q2_K.c — ggml's q2_K: 256-element superblocks of 16 groups of 16,
 * x = d*s*q - dmin*m with 2-bit q and 4-bit group scale s and min m
 * (2.625 bits per weight).  Reference quantizer bit-identical to ggml's
 * quantize_row_q2_K_ref, dequantizer, and dot product with q8_K.
 */
#include "tensor/quant_internal.h"

/* Element e's 2-bit level sits in qs[32*(e/128) + e%32] at bit 2*((e%128)/32). */
static int q2_level(const uint8_t *qs, int e)
{
    return (qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
}

static void pack_2bit(const uint8_t *levels, uint8_t *qs)
{
    for (int half = 0; half < 256; half += 128)
        for (int l = 0; l < 32; l++)
            qs[half / 4 + l] = (uint8_t)(levels[half + l] | levels[half + l + 32] << 2 |
                                         levels[half + l + 64] << 4 | levels[half + l + 96] << 6);
}

void acc_quantize_row_q2_K(const float *x, acc_block_q2_K *y, int64_t k)
{
    const float q4scale = 15.f;
    uint8_t levels[256], scratch[16];
    float weights[16], mins[16], scales[16];
    for (int64_t b = 0; b < k / 256; b++, x += 256) {
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < 16; j++) {
            for (int l = 0; l < 16; l++)
                weights[l] = fabsf(x[16 * j + l]);
            scales[j] = quant_make_qkx2_quants(16, 3, x + 16 * j, weights, levels + 16 * j,
                                               &mins[j], scratch, -0.5f, 0.1f, 15, 1);
            if (scales[j] > max_scale)
                max_scale = scales[j];
            if (mins[j] > max_min)
                max_min = mins[j];
        }
        if (max_scale > 0) {
            float iscale = q4scale / max_scale;
            for (int j = 0; j < 16; j++)
                y[b].scales[j] = (uint8_t)quant_nearest_int(iscale * scales[j]);
            y[b].d = quant_fp16(max_scale / q4scale);
        } else {
            memset(y[b].scales, 0, sizeof y[b].scales);
            y[b].d = quant_fp16(0.f);
        }
        if (max_min > 0) {
            float iscale = q4scale / max_min;
            for (int j = 0; j < 16; j++)
                y[b].scales[j] |= (uint8_t)((unsigned)quant_nearest_int(iscale * mins[j]) << 4);
            y[b].dmin = quant_fp16(max_min / q4scale);
        } else {
            y[b].dmin = quant_fp16(0.f);
        }
        /* requantize against the rounded scales actually stored */
        for (int j = 0; j < 16; j++) {
            const float d = quant_fp32(y[b].d) * (float)(y[b].scales[j] & 0xF);
            if (d == 0)
                continue;
            const float dm = quant_fp32(y[b].dmin) * (float)(y[b].scales[j] >> 4);
            for (int l = 0; l < 16; l++) {
                int q = quant_nearest_int((x[16 * j + l] + dm) / d);
                levels[16 * j + l] = (uint8_t)(q < 0 ? 0 : q > 3 ? 3 : q);
            }
        }
        pack_2bit(levels, y[b].qs);
    }
}

void acc_dequantize_row_q2_K(const acc_block_q2_K *x, float *y, int64_t k)
{
    for (int64_t b = 0; b < k / 256; b++, y += 256) {
        const float d = quant_fp32(x[b].d), dmin = quant_fp32(x[b].dmin);
        for (int e = 0; e < 256; e++) {
            uint8_t sc = x[b].scales[e / 16];
            float dl = d * (float)(sc & 0xF), ml = dmin * (float)(sc >> 4);
            y[e] = dl * (float)q2_level(x[b].qs, e) - ml;
        }
    }
}

float acc_vec_dot_q2_K_q8(int64_t n, const acc_block_q2_K *w, const acc_block_q8_K *a)
{
    float sum = 0;
    for (int64_t b = 0; b < n / 256; b++) {
        int sumi = 0, summ = 0;
        for (int j = 0; j < 16; j++) {
            int group = 0;
            for (int l = 0; l < 16; l++)
                group += q2_level(w[b].qs, 16 * j + l) * a[b].qs[16 * j + l];
            sumi += (w[b].scales[j] & 0xF) * group;
            summ += (w[b].scales[j] >> 4) * a[b].bsums[j];
        }
        sum += a[b].d * quant_fp32(w[b].d) * (float)sumi - a[b].d * quant_fp32(w[b].dmin) * (float)summ;
    }
    return sum;
}
