/*
 * kernels.h — fp32 reference kernels of the CPU backend.
 *
 * Each kernel works on a range (of rows, columns or elements) so the
 * executor can split it over threads; the result of one element never
 * depends on how the work was split, so any thread count gives the same
 * bits.  Written as plain loops the compiler can vectorise.
 */
#ifndef ACCINF_CPU_KERNELS_H
#define ACCINF_CPU_KERNELS_H

#include <stdint.h>

float acc_cpu_dot(const float *a, const float *b, int64_t n);

/* y[r, j] = x[r, :] . w[j, :] + bias[j] for all rows r and j in [j0, j1). */
void acc_cpu_matmul_cols(const float *x, int64_t rows, int64_t in, const float *w,
                         const float *bias, float *y, int64_t out, int64_t j0, int64_t j1);

void acc_cpu_add(const float *a, const float *b, float alpha, float *y, int64_t i0, int64_t i1);
void acc_cpu_scale(const float *a, float scale, float *y, int64_t i0, int64_t i1);
void acc_cpu_gelu_tanh(const float *a, float *y, int64_t i0, int64_t i1);
void acc_cpu_swiglu(const float *gate, const float *up, float *y, int64_t i0, int64_t i1);

void acc_cpu_rms_norm_row(const float *x, const float *w, float eps, float *y, int64_t n);
void acc_cpu_layer_norm_row(const float *x, const float *w, const float *b, float eps, float *y,
                            int64_t n);
/* Rotates every head of one token row at position pos (HF rotate_half). */
void acc_cpu_rope_row(const float *x, int n_heads, int head_dim, int32_t pos,
                      const float *inv_freq, float *y);

/* Attention of one query head over n_ctx keys/values reached through a
 * block table: key j is row table[j / block_size] * block_size + j %
 * block_size of k_cache/v_cache (row stride kv_dim, head offset kv_off).
 * scores is scratch of n_ctx floats. */
void acc_cpu_attend_head(const float *q, const float *k_cache, const float *v_cache,
                         int64_t kv_dim, int64_t kv_off, int head_dim, const int32_t *table,
                         int block_size, int n_ctx, float scale, float *scores, float *out);

#endif
