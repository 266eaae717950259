/*
 * kernels.c — the fp32 math of the CPU backend, written the way the papers
 * write it.  Reductions use eight partial sums so the compiler can keep
 * them in one vector register without -ffast-math; norms accumulate in
 * double, which costs nothing next to the matmuls and keeps the reference
 * path close to exact.
 */
#include "backend/cpu/kernels.h"

#include <math.h>
#include <stddef.h>

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

/* Four dot products of one weight row with four x rows.  Each of them
 * sums in exactly the order acc_cpu_dot does (8 lanes, same reduction,
 * same tail), so an element's value does not depend on which path or
 * which thread computed it. */
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

/* Rows are taken in tiles so a tile of x stays in cache while every
 * weight row of the range streams past it once per tile; within a tile
 * each weight element loaded feeds four rows. */
#define MATMUL_ROW_TILE 16

void acc_cpu_matmul_cols(const float *x, int64_t rows, int64_t in, const float *w,
                         const float *bias, float *y, int64_t out, int64_t j0, int64_t j1)
{
    for (int64_t r0 = 0; r0 < rows; r0 += MATMUL_ROW_TILE) {
        int64_t r1 = r0 + MATMUL_ROW_TILE < rows ? r0 + MATMUL_ROW_TILE : rows;
        for (int64_t j = j0; j < j1; j++) {
            const float *wj = w + j * in;
            float b = bias ? bias[j] : 0.0f;
            int64_t r = r0;
            for (; r + 4 <= r1; r += 4) {
                float d[4];
                const float *xr = x + r * in;
                dot4(xr, xr + in, xr + 2 * in, xr + 3 * in, wj, in, d);
                for (int k = 0; k < 4; k++)
                    y[(r + k) * out + j] = d[k] + b;
            }
            for (; r < r1; r++)
                y[r * out + j] = acc_cpu_dot(x + r * in, wj, in) + b;
        }
    }
}

void acc_cpu_add(const float *a, const float *b, float alpha, float *y, int64_t i0, int64_t i1)
{
    if (alpha == 1.0f) {
        for (int64_t i = i0; i < i1; i++)
            y[i] = a[i] + b[i];
    } else {
        for (int64_t i = i0; i < i1; i++)
            y[i] = a[i] + alpha * b[i];
    }
}

void acc_cpu_scale(const float *a, float scale, float *y, int64_t i0, int64_t i1)
{
    for (int64_t i = i0; i < i1; i++)
        y[i] = a[i] * scale;
}

void acc_cpu_gelu_tanh(const float *a, float *y, int64_t i0, int64_t i1)
{
    const float k = 0.7978845608028654f; /* sqrt(2 / pi) */
    for (int64_t i = i0; i < i1; i++) {
        float x = a[i];
        y[i] = 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
    }
}

void acc_cpu_swiglu(const float *gate, const float *up, float *y, int64_t i0, int64_t i1)
{
    for (int64_t i = i0; i < i1; i++) {
        float g = gate[i];
        y[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

void acc_cpu_rms_norm_row(const float *x, const float *w, float eps, float *y, int64_t n)
{
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)x[i] * x[i];
    /* HF: x * rsqrt(mean + eps) in fp32, then * weight */
    float inv = (float)(1.0 / sqrt(sum / (double)n + (double)eps));
    for (int64_t i = 0; i < n; i++)
        y[i] = w[i] * (x[i] * inv);
}

void acc_cpu_layer_norm_row(const float *x, const float *w, const float *b, float eps, float *y,
                            int64_t n)
{
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += x[i];
    double mean = sum / (double)n;
    double var = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = x[i] - mean;
        var += d * d;
    }
    double inv = 1.0 / sqrt(var / (double)n + (double)eps);
    for (int64_t i = 0; i < n; i++)
        y[i] = (float)((x[i] - mean) * inv) * w[i] + b[i];
}

void acc_cpu_rope_row(const float *x, int n_heads, int head_dim, int32_t pos,
                      const float *inv_freq, float *y)
{
    int half = head_dim / 2;
    for (int i = 0; i < half; i++) {
        /* HF forms the angle as a float32 product, then cos/sin in float32 */
        float angle = (float)pos * inv_freq[i];
        float c = cosf(angle), s = sinf(angle);
        for (int h = 0; h < n_heads; h++) {
            const float *xh = x + (int64_t)h * head_dim;
            float *yh = y + (int64_t)h * head_dim;
            float x1 = xh[i], x2 = xh[i + half];
            yh[i] = x1 * c - x2 * s;
            yh[i + half] = x2 * c + x1 * s;
        }
    }
}

void acc_cpu_attend_head(const float *q, const float *k_cache, const float *v_cache,
                         int64_t kv_dim, int64_t kv_off, int head_dim, const int32_t *table,
                         int block_size, int n_ctx, float scale, float *scores, float *out)
{
    float max = -INFINITY;
    for (int j = 0; j < n_ctx; j++) {
        int64_t slot = (int64_t)table[j / block_size] * block_size + j % block_size;
        float s = acc_cpu_dot(q, k_cache + slot * kv_dim + kv_off, head_dim) * scale;
        scores[j] = s;
        if (s > max)
            max = s;
    }
    float sum = 0.0f;
    for (int j = 0; j < n_ctx; j++) {
        scores[j] = expf(scores[j] - max);
        sum += scores[j];
    }
    float inv = 1.0f / sum;
    for (int d = 0; d < head_dim; d++)
        out[d] = 0.0f;
    for (int j = 0; j < n_ctx; j++) {
        int64_t slot = (int64_t)table[j / block_size] * block_size + j % block_size;
        const float *v = v_cache + slot * kv_dim + kv_off;
        float p = scores[j] * inv;
        for (int d = 0; d < head_dim; d++)
            out[d] += p * v[d];
    }
}
