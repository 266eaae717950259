/*
 * quant_q4_K.c — ggml's q4_K and q5_K: 256-element superblocks of 8 groups
 * of 32, x = d*s*q - dmin*m with 6-bit group scales s and mins m packed in
 * 12 bytes and 4-bit (q4_K, 4.5 bpw) or 5-bit (q5_K, 5.5 bpw) levels.  The
 * two share the scale search and packing; reference quantizers are
 * bit-identical to ggml's quantize_row_q4_K_ref / quantize_row_q5_K_ref.
 */
#include "tensor/quant_internal.h"

/* Chooses levels (0..nmax) and the packed scales/mins of one superblock. */
static void quantize_superblock_k4(const float *x, int nmax, float rmin, int nstep,
                                   uint16_t *d_out, uint16_t *dmin_out, uint8_t *packed,
                                   uint8_t *levels)
{
    uint8_t scratch[32];
    float weights[32], mins[8], scales[8];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; j++) {
        const float *group = x + 32 * j;
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++)
            sum_x2 += group[l] * group[l];
        float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++)
            weights[l] = av_x + fabsf(group[l]);
        scales[j] = quant_make_qkx2_quants(32, nmax, group, weights, levels + 32 * j, &mins[j],
                                           scratch, rmin, 0.1f, nstep, 0);
        if (scales[j] > max_scale)
            max_scale = scales[j];
        if (mins[j] > max_min)
            max_min = mins[j];
    }
    float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    uint8_t ls[8], lm[8];
    for (int j = 0; j < 8; j++) {
        /* ggml narrows to uint8 before clamping; keep the same wrap-around */
        ls[j] = (uint8_t)quant_nearest_int(inv_scale * scales[j]);
        lm[j] = (uint8_t)quant_nearest_int(inv_min * mins[j]);
        ls[j] = ls[j] < 63 ? ls[j] : 63;
        lm[j] = lm[j] < 63 ? lm[j] : 63;
    }
    quant_pack_scale_min_k4(ls, lm, packed);
    *d_out = quant_fp16(max_scale / 63.f);
    *dmin_out = quant_fp16(max_min / 63.f);
    /* requantize against the rounded scales actually stored */
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        quant_scale_min_k4(j, packed, &sc, &m);
        const float d = quant_fp32(*d_out) * (float)sc;
        if (d == 0)
            continue;
        const float dm = quant_fp32(*dmin_out) * (float)m;
        for (int l = 0; l < 32; l++) {
            int q = quant_nearest_int((x[32 * j + l] + dm) / d);
            levels[32 * j + l] = (uint8_t)(q < 0 ? 0 : q > nmax ? nmax : q);
        }
    }
}

/* Element e's low nibble: chunk c = e/64 uses qs[32c .. 32c+31], low nibbles
 * for its first 32 elements, high nibbles for the next 32. */
static int k4_nibble(const uint8_t *qs, int e)
{
    uint8_t byte = qs[32 * (e / 64) + e % 32];
    return (e % 64) < 32 ? byte & 0xF : byte >> 4;
}

/* q5_K's fifth bit of element e: qh[e%32], bit e/32. */
static int k5_high(const uint8_t *qh, int e)
{
    return (qh[e % 32] >> (e / 32)) & 1;
}

void acc_quantize_row_q4_K(const float *x, acc_block_q4_K *y, int64_t k)
{
    uint8_t levels[256];
    for (int64_t b = 0; b < k / 256; b++, x += 256) {
        quantize_superblock_k4(x, 15, -1.f, 20, &y[b].d, &y[b].dmin, y[b].scales, levels);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++)
                y[b].qs[32 * c + l] = (uint8_t)(levels[64 * c + l] | levels[64 * c + 32 + l] << 4);
    }
}

void acc_quantize_row_q5_K(const float *x, acc_block_q5_K *y, int64_t k)
{
    uint8_t levels[256];
    for (int64_t b = 0; b < k / 256; b++, x += 256) {
        quantize_superblock_k4(x, 31, -0.5f, 15, &y[b].d, &y[b].dmin, y[b].scales, levels);
        memset(y[b].qh, 0, sizeof y[b].qh);
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) {
                int l1 = levels[64 * c + l], l2 = levels[64 * c + 32 + l];
                if (l1 > 15) {
                    l1 -= 16;
                    y[b].qh[l] |= (uint8_t)(1u << (2 * c));
                }
                if (l2 > 15) {
                    l2 -= 16;
                    y[b].qh[l] |= (uint8_t)(2u << (2 * c));
                }
                y[b].qs[32 * c + l] = (uint8_t)(l1 | l2 << 4);
            }
        }
    }
}

void acc_dequantize_row_q4_K(const acc_block_q4_K *x, float *y, int64_t k)
{
    for (int64_t b = 0; b < k / 256; b++, y += 256) {
        const float d = quant_fp32(x[b].d), dmin = quant_fp32(x[b].dmin);
        for (int e = 0; e < 256; e++) {
            uint8_t sc, m;
            quant_scale_min_k4(e / 32, x[b].scales, &sc, &m);
            y[e] = d * (float)sc * (float)k4_nibble(x[b].qs, e) - dmin * (float)m;
        }
    }
}

void acc_dequantize_row_q5_K(const acc_block_q5_K *x, float *y, int64_t k)
{
    for (int64_t b = 0; b < k / 256; b++, y += 256) {
        const float d = quant_fp32(x[b].d), dmin = quant_fp32(x[b].dmin);
        for (int e = 0; e < 256; e++) {
            uint8_t sc, m;
            quant_scale_min_k4(e / 32, x[b].scales, &sc, &m);
            int q = k4_nibble(x[b].qs, e) + 16 * k5_high(x[b].qh, e);
            y[e] = d * (float)sc * (float)q - dmin * (float)m;
        }
    }
}

/* sum_j s_j * <q, a>_j and sum_j m_j * (sum of a over group j), exact. */
static void k4_sums(const uint8_t *scales, const uint8_t *qs, const uint8_t *qh,
                    const acc_block_q8_K *a, int *sumi_out, int *summ_out)
{
    int sumi = 0, summ = 0;
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        quant_scale_min_k4(j, scales, &sc, &m);
        int group = 0;
        for (int l = 0; l < 32; l++) {
            int e = 32 * j + l;
            int q = k4_nibble(qs, e) + (qh ? 16 * k5_high(qh, e) : 0);
            group += q * a->qs[e];
        }
        sumi += sc * group;
        summ += m * (a->bsums[2 * j] + a->bsums[2 * j + 1]);
    }
    *sumi_out = sumi;
    *summ_out = summ;
}

float acc_vec_dot_q4_K_q8(int64_t n, const acc_block_q4_K *w, const acc_block_q8_K *a)
{
    float sum = 0;
    for (int64_t b = 0; b < n / 256; b++) {
        int sumi, summ;
        k4_sums(w[b].scales, w[b].qs, NULL, &a[b], &sumi, &summ);
        sum += a[b].d * quant_fp32(w[b].d) * (float)sumi - a[b].d * quant_fp32(w[b].dmin) * (float)summ;
    }
    return sum;
}

float acc_vec_dot_q5_K_q8(int64_t n, const acc_block_q5_K *w, const acc_block_q8_K *a)
{
    float sum = 0;
    for (int64_t b = 0; b < n / 256; b++) {
        int sumi, summ;
        k4_sums(w[b].scales, w[b].qs, w[b].qh, &a[b], &sumi, &summ);
        sum += a[b].d * quant_fp32(w[b].d) * (float)sumi - a[b].d * quant_fp32(w[b].dmin) * (float)summ;
    }
    return sum;
}
