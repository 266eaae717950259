/*
 * kernels.c — the row and elementwise math of the CPU backend, written the
 * way the papers write it: norms accumulate in double, which costs nothing
 * next to the matmuls and keeps the reference path close to exact.  The
 * matmuls and the inner loops of attention come from the dispatched
 * per-ISA tables (kernels_scalar.c and friends).
 */
#include "backend/cpu/kernels.h"

#include "accinf/quant.h"
#include "accinf/tensor.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

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

void acc_cpu_weight_row_f32(const acc_backend_weight *w, int64_t row, int64_t cols, float *y)
{
    const char *src = (const char *)w->data + (size_t)row * w->row_bytes;
    switch (w->type) {
    case ACC_WEIGHT_F16:
        acc_convert_to_f32(ACC_DTYPE_F16, src, y, (size_t)cols);
        break;
    case ACC_WEIGHT_BF16:
        acc_convert_to_f32(ACC_DTYPE_BF16, src, y, (size_t)cols);
        break;
    case ACC_WEIGHT_Q8_0:
        acc_dequantize_row_q8_0((const acc_block_q8_0 *)src, y, cols);
        break;
    case ACC_WEIGHT_Q4_0:
        acc_dequantize_row_q4_0((const acc_block_q4_0 *)src, y, cols);
        break;
    case ACC_WEIGHT_Q4_K:
        acc_dequantize_row_q4_K((const acc_block_q4_K *)src, y, cols);
        break;
    case ACC_WEIGHT_Q6_K:
        acc_dequantize_row_q6_K((const acc_block_q6_K *)src, y, cols);
        break;
    case ACC_WEIGHT_Q5_K:
        acc_dequantize_row_q5_K((const acc_block_q5_K *)src, y, cols);
        break;
    default:
        memcpy(y, src, (size_t)cols * sizeof *y);
        break;
    }
}

size_t acc_cpu_act_row_bytes(acc_weight_type type, int64_t in)
{
    switch (type) {
    case ACC_WEIGHT_Q8_0:
    case ACC_WEIGHT_Q4_0:
        return (size_t)(in / ACC_QK8_0) * sizeof(acc_block_q8_0);
    case ACC_WEIGHT_Q4_K:
    case ACC_WEIGHT_Q5_K:
    case ACC_WEIGHT_Q6_K:
        return (size_t)(in / ACC_QK_K) * sizeof(acc_block_q8_K);
    default:
        return 0;
    }
}

void acc_cpu_quantize_act_row(acc_weight_type type, const float *x, void *out, int64_t in)
{
    if (type == ACC_WEIGHT_Q8_0 || type == ACC_WEIGHT_Q4_0)
        acc_quantize_row_q8_0(x, out, in);
    else if (type == ACC_WEIGHT_Q4_K || type == ACC_WEIGHT_Q5_K || type == ACC_WEIGHT_Q6_K)
        acc_quantize_row_q8_K(x, out, in);
}

void acc_cpu_attend_head(const acc_cpu_kernels *k, const float *q, const float *k_cache,
                         const float *v_cache, int64_t kv_dim, int64_t kv_off, int head_dim,
                         const int32_t *table, int block_size, int n_ctx, float scale,
                         float *scores, float *out)
{
    if (k->attend)
        k->attend(q, k_cache, v_cache, kv_dim, kv_off, head_dim, table, block_size, n_ctx, scale,
                  scores, out);
    else
        acc_cpu_attend_head_generic(k, q, k_cache, v_cache, kv_dim, kv_off, head_dim, table,
                                    block_size, n_ctx, scale, scores, out);
}

void acc_cpu_attend_rows(const acc_cpu_kernels *k, const float *q, int64_t q_stride, int nq,
                         const int *n_ctx, const float *k_cache, const float *v_cache,
                         int64_t kv_dim, int64_t kv_off, int head_dim, const int32_t *table,
                         int block_size, float scale, float *scores, float *out,
                         int64_t out_stride)
{
    if (k->attend_rows) {
        k->attend_rows(q, q_stride, nq, n_ctx, k_cache, v_cache, kv_dim, kv_off, head_dim, table,
                       block_size, scale, scores, out, out_stride);
        return;
    }
    for (int a = 0; a < nq; a++)
        acc_cpu_attend_head(k, q + a * q_stride, k_cache, v_cache, kv_dim, kv_off, head_dim,
                            table, block_size, n_ctx[a], scale, scores, out + a * out_stride);
}

void acc_cpu_attend_head_generic(const acc_cpu_kernels *k, const float *q, const float *k_cache,
                                 const float *v_cache, int64_t kv_dim, int64_t kv_off,
                                 int head_dim, const int32_t *table, int block_size, int n_ctx,
                                 float scale, float *scores, float *out)
{
    float max = -INFINITY;
    for (int j = 0; j < n_ctx; j++) {
        int64_t slot = (int64_t)table[j / block_size] * block_size + j % block_size;
        float s = k->dot(q, k_cache + slot * kv_dim + kv_off, head_dim) * scale;
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
        k->axpy(scores[j] * inv, v_cache + slot * kv_dim + kv_off, out, head_dim);
    }
}
