/*
 * quant_iq4_nl.c — ggml's IQ4_NL block format (32 elements: f16 scale and
 * 16 bytes of 4-bit indices into a fixed non-linear table).  llama-quantize
 * falls back to it for q2_K/q3_K tensors whose rows are not a multiple of
 * 256, so the converter needs it to make the same per-tensor choices.
 * The quantizer reproduces ggml's quantize_iq4_nl without an importance
 * matrix (what ggml_quantize_chunk runs: a ±7 sweep of candidate scales).
 */
#include "tensor/quant_internal.h"

static const int8_t iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                        1,    13,   25,  38,  53,  69,  89,  113};

/* Index of the table value nearest to x (ties to the upper one, as ggml). */
static int iq4nl_best_index(float x)
{
    if (x <= iq4nl_values[0])
        return 0;
    if (x >= iq4nl_values[15])
        return 15;
    int lo = 0, hi = 15;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (x < iq4nl_values[mid])
            hi = mid;
        else
            lo = mid;
    }
    return x - iq4nl_values[hi - 1] < iq4nl_values[hi] - x ? hi - 1 : hi;
}

static void iq4nl_quantize_block(const float *x, acc_block_iq4_nl *y)
{
    enum { NTRY = 7 };
    uint8_t levels[ACC_QK4_NL];
    float weight[ACC_QK4_NL];
    memset(y->qs, 0, sizeof y->qs);
    memset(levels, 0, sizeof levels);
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < ACC_QK4_NL; j++) {
        weight[j] = x[j] * x[j];
        float ax = fabsf(x[j]);
        if (ax > amax) {
            amax = ax;
            max = x[j];
        }
    }
    float d = 0.0f;
    if (amax >= QUANT_GROUP_MAX_EPS) {
        d = -max / iq4nl_values[0];
        float id = 1 / d;
        float sumqx = 0, sumq2 = 0;
        for (int j = 0; j < ACC_QK4_NL; j++) {
            int l = iq4nl_best_index(id * x[j]);
            levels[j] = (uint8_t)l;
            float q = iq4nl_values[l];
            float w = weight[j];
            sumqx += w * q * x[j];
            sumq2 += w * q * q;
        }
        d = sumqx / sumq2;
        float best = d * sumqx;
        for (int itry = -NTRY; itry <= NTRY; itry++) {
            id = (itry + iq4nl_values[0]) / max;
            sumqx = sumq2 = 0;
            for (int j = 0; j < ACC_QK4_NL; j++) {
                int l = iq4nl_best_index(id * x[j]);
                float q = iq4nl_values[l];
                float w = weight[j];
                sumqx += w * q * x[j];
                sumq2 += w * q * q;
            }
            if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
                d = sumqx / sumq2;
                best = d * sumqx;
            }
        }
    }
    /* ggml re-picks every index for the final scale (ntry > 0), all-zero
     * blocks included: index 8 (level 1) is the one nearest 0. */
    float idf = d ? 1 / d : 0;
    for (int j = 0; j < ACC_QK4_NL; j++)
        levels[j] = (uint8_t)iq4nl_best_index(idf * x[j]);
    y->d = quant_fp16(d);
    for (int j = 0; j < 16; j++)
        y->qs[j] = (uint8_t)(levels[j] | (levels[16 + j] << 4));
}

void acc_quantize_row_iq4_nl(const float *x, acc_block_iq4_nl *y, int64_t k)
{
    for (int64_t i = 0; i < k / ACC_QK4_NL; i++)
        iq4nl_quantize_block(x + i * ACC_QK4_NL, &y[i]);
}

void acc_dequantize_row_iq4_nl(const acc_block_iq4_nl *x, float *y, int64_t k)
{
    for (int64_t i = 0; i < k / ACC_QK4_NL; i++) {
        float d = quant_fp32(x[i].d);
        for (int j = 0; j < 16; j++) {
            y[i * ACC_QK4_NL + j] = d * iq4nl_values[x[i].qs[j] & 0xf];
            y[i * ACC_QK4_NL + 16 + j] = d * iq4nl_values[x[i].qs[j] >> 4];
        }
    }
}
