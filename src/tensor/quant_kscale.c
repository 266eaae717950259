/*
 * quant_kscale.c — the scale searches of ggml's k-quants: for a small group
 * of values, pick a scale (and for the "x = a*q + b" formats a minimum) and
 * integer levels that minimise a weighted error.  Rewritten from the
 * published algorithm; the order of every float operation matters because
 * the results must equal ggml's bit for bit (see quant_internal.h).
 */
#include "tensor/quant_internal.h"

/* Index of the largest |x[i]| (the first one on ties), as ggml scans. */
static float signed_absmax(int n, const float *x, float *amax_out)
{
    float amax = 0, max = 0;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    *amax_out = amax;
    return max;
}

static int clamp_level(int l, int lo, int hi)
{
    return quant_max_int(lo, quant_min_int(hi, l));
}

/* Symmetric levels in [-nmax, nmax-1] with error weights x^2: start from the
 * scale that maps the extreme value to -nmax, then try 18 nearby scales and
 * keep the one with the best least-squares fit (ggml's make_qx_quants with
 * rmse_type 1 and no importance weights).  levels get nmax added. */
float quant_make_qx_quants_rmse1(int n, int nmax, const float *x, int8_t *levels)
{
    float amax;
    float max = signed_absmax(n, x, &amax);
    if (amax < QUANT_GROUP_MAX_EPS) {
        memset(levels, 0, (size_t)n);
        return 0.f;
    }
    float iscale = (float)(-nmax) / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = clamp_level(quant_nearest_int(iscale * x[i]), -nmax, nmax - 1);
        levels[i] = (int8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int step = -9; step <= 9; step++) {
        if (step == 0)
            continue;
        iscale = -((float)nmax + 0.1f * (float)step) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = clamp_level(quant_nearest_int(iscale * x[i]), -nmax, nmax - 1);
            float w = x[i] * x[i];
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)l * (float)l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++) {
                int l = clamp_level(quant_nearest_int(iscale * x[i]), -nmax, nmax - 1);
                levels[i] = (int8_t)(l + nmax);
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* Symmetric levels for q3_K: start like above, then up to 5 rounds of
 * coordinate descent, moving one level at a time while the weighted
 * least-squares fit improves (ggml's make_q3_quants with do_rmse). */
float quant_make_q3_quants_rmse(int n, int nmax, const float *x, int8_t *levels)
{
    float amax;
    float max = signed_absmax(n, x, &amax);
    if (amax < QUANT_GROUP_MAX_EPS) {
        memset(levels, 0, (size_t)n);
        return 0.f;
    }
    float iscale = (float)(-nmax) / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = clamp_level(quant_nearest_int(iscale * x[i]), -nmax, nmax - 1);
        levels[i] = (int8_t)l;
        float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    for (int round = 0; round < 5; round++) {
        int changed = 0;
        for (int i = 0; i < n; i++) {
            float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * (float)levels[i];
            if (!(slx > 0))
                continue;
            float sl2 = suml2 - w * (float)levels[i] * (float)levels[i];
            int candidate = clamp_level(quant_nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
            if (candidate == levels[i])
                continue;
            slx += w * x[i] * (float)candidate;
            sl2 += w * (float)candidate * (float)candidate;
            if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                levels[i] = (int8_t)candidate;
                sumlx = slx;
                suml2 = sl2;
                changed++;
            }
        }
        if (!changed)
            break;
    }
    for (int i = 0; i < n; i++)
        levels[i] = (int8_t)(levels[i] + nmax);
    return sumlx / suml2;
}

/* Asymmetric levels in [0, nmax] for x ~ scale*l - the_min: starting from
 * the min/max range, try nstep+1 scales around nmax/(max-min) and keep the
 * weighted least-squares (scale, min) pair with the smallest weighted error,
 * absolute (use_mad) or squared (ggml's make_qkx2_quants). */
float quant_make_qkx2_quants(int n, int nmax, const float *x, const float *weights,
                             uint8_t *levels, float *the_min, uint8_t *scratch, float rmin,
                             float rdelta, int nstep, int use_mad)
{
    float min = x[0], max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min)
            min = x[i];
        if (x[i] > max)
            max = x[i];
        float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0)
        min = 0;
    if (max == min) {
        memset(levels, 0, (size_t)n);
        *the_min = -min;
        return 0.f;
    }
    float iscale = (float)nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; i++) {
        int l = quant_nearest_int(iscale * (x[i] - min));
        levels[i] = (uint8_t)clamp_level(l, 0, nmax);
        float diff = scale * (float)levels[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        best_error += weights[i] * diff;
    }
    if (nstep < 1) {
        *the_min = -min;
        return scale;
    }
    for (int step = 0; step <= nstep; step++) {
        iscale = (rmin + rdelta * (float)step + (float)nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = clamp_level(quant_nearest_int(iscale * (x[i] - min)), 0, nmax);
            scratch[i] = (uint8_t)l;
            float w = weights[i];
            sum_l += w * (float)l;
            sum_l2 += w * (float)l * (float)l;
            sum_xl += w * (float)l * x[i];
        }
        float det = sum_w * sum_l2 - sum_l * sum_l;
        if (!(det > 0))
            continue;
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
        float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
        if (this_min > 0) {
            this_min = 0;
            this_scale = sum_xl / sum_l2;
        }
        float error = 0;
        for (int i = 0; i < n; i++) {
            float diff = this_scale * (float)scratch[i] + this_min - x[i];
            diff = use_mad ? fabsf(diff) : diff * diff;
            error += weights[i] * diff;
        }
        if (error < best_error) {
            memcpy(levels, scratch, (size_t)n);
            best_error = error;
            scale = this_scale;
            min = this_min;
        }
    }
    *the_min = -min;
    return scale;
}

/* Layout of the 12 bytes: bytes 0-3 hold scales 0-3 (low 6 bits), bytes 4-7
 * mins 0-3; for j = 4..7 the low nibbles of scale/min j sit in byte j+4 and
 * their top two bits in the spare top bits of bytes j-4 (scale) and j (min). */
void quant_scale_min_k4(int j, const uint8_t *packed, uint8_t *scale, uint8_t *min)
{
    if (j < 4) {
        *scale = packed[j] & 63;
        *min = packed[j + 4] & 63;
    } else {
        *scale = (uint8_t)((packed[j + 4] & 0xF) | ((packed[j - 4] >> 6) << 4));
        *min = (uint8_t)((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4));
    }
}

void quant_pack_scale_min_k4(const uint8_t *scales, const uint8_t *mins, uint8_t *packed)
{
    for (int j = 0; j < 8; j++) {
        uint8_t ls = scales[j], lm = mins[j];
        if (j < 4) {
            packed[j] = ls;
            packed[j + 4] = lm;
        } else {
            packed[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
            packed[j - 4] |= (uint8_t)((ls >> 4) << 6);
            packed[j] |= (uint8_t)((lm >> 4) << 6);
        }
    }
}
