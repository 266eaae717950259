/*
 * quant_q3_K.c — ggml's q3_K: 256-element superblocks of 16 groups of 16,
 * x = d*s*q with 3-bit q in [-4, 3] (2 low bits in qs, the high bit in
 * hmask) and 6-bit signed group scales s (3.4375 bits per weight).
 * Reference quantizer bit-identical to ggml's quantize_row_q3_K_ref.
 */
#include "tensor/quant_internal.h"

/* Six-bit scale j (as 0..63, stored value + 32): low nibble in byte j (j<8)
 * or the high nibble of byte j-8, top two bits in byte 8 + j%4 at 2*(j/4). */
static int q3_scale(const uint8_t *scales, int j)
{
    int low = j < 8 ? scales[j] & 0xF : scales[j - 8] >> 4;
    return (low | ((scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4) - 32;
}

/* Element e's level in [-4, 3]: 2 bits as in q2_K, minus 4 unless the
 * hmask bit (byte e%32, bit e/32) is set. */
static int q3_level(const acc_block_q3_K *block, int e)
{
    int low = (block->qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
    return low - ((block->hmask[e % 32] >> (e / 32)) & 1 ? 0 : 4);
}

void acc_quantize_row_q3_K(const float *x, acc_block_q3_K *y, int64_t k)
{
    int8_t levels[256];
    float scales[16];
    for (int64_t b = 0; b < k / 256; b++, x += 256) {
        float max_scale = 0, amax = 0;
        for (int j = 0; j < 16; j++) {
            scales[j] = quant_make_q3_quants_rmse(16, 4, x + 16 * j, levels + 16 * j);
            if (fabsf(scales[j]) > amax) {
                amax = fabsf(scales[j]);
                max_scale = scales[j];
            }
        }
        memset(y[b].scales, 0, sizeof y[b].scales);
        if (max_scale != 0) {
            float iscale = -32.f / max_scale;
            for (int j = 0; j < 16; j++) {
                /* ggml stores the rounded value in an int8 before clamping */
                int l = (int8_t)quant_nearest_int(iscale * scales[j]);
                l = quant_max_int(-32, quant_min_int(31, l)) + 32;
                if (j < 8)
                    y[b].scales[j] = (uint8_t)(l & 0xF);
                else
                    y[b].scales[j - 8] |= (uint8_t)((l & 0xF) << 4);
                y[b].scales[j % 4 + 8] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
            }
            y[b].d = quant_fp16(1 / iscale);
        } else {
            y[b].d = quant_fp16(0.f);
        }
        for (int j = 0; j < 16; j++) {
            float d = quant_fp32(y[b].d) * (float)(int8_t)q3_scale(y[b].scales, j);
            if (d == 0)
                continue;
            for (int l = 0; l < 16; l++) {
                int q = quant_nearest_int(x[16 * j + l] / d);
                levels[16 * j + l] = (int8_t)(quant_max_int(-4, quant_min_int(3, q)) + 4);
            }
        }
        memset(y[b].hmask, 0, sizeof y[b].hmask);
        for (int e = 0; e < 256; e++) {
            if (levels[e] > 3) {
                y[b].hmask[e % 32] |= (uint8_t)(1u << (e / 32));
                levels[e] -= 4;
            }
        }
        for (int half = 0; half < 256; half += 128)
            for (int l = 0; l < 32; l++)
                y[b].qs[half / 4 + l] =
                    (uint8_t)(levels[half + l] | levels[half + l + 32] << 2 |
                              levels[half + l + 64] << 4 | levels[half + l + 96] << 6);
    }
}

void acc_dequantize_row_q3_K(const acc_block_q3_K *x, float *y, int64_t k)
{
    for (int64_t b = 0; b < k / 256; b++, y += 256) {
        const float d = quant_fp32(x[b].d);
        for (int e = 0; e < 256; e++) {
            float dl = d * (float)q3_scale(x[b].scales, e / 16);
            y[e] = dl * (float)q3_level(&x[b], e);
        }
    }
}

float acc_vec_dot_q3_K_q8(int64_t n, const acc_block_q3_K *w, const acc_block_q8_K *a)
{
    float sum = 0;
    for (int64_t b = 0; b < n / 256; b++) {
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            int group = 0;
            for (int l = 0; l < 16; l++)
                group += q3_level(&w[b], 16 * j + l) * a[b].qs[16 * j + l];
            sumi += q3_scale(w[b].scales, j) * group;
        }
        sum += quant_fp32(w[b].d) * a[b].d * (float)sumi;
    }
    return sum;
}
