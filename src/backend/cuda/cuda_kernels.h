/*
 * cuda_kernels.h — the device kernels of the CUDA backend, behind plain C
 * launchers so the executor (cuda_backend.c) stays C11.
 *
 * Activations are f32 row-major [rows, cols].  Weights are f32, bf16 or f16
 * (acc_cuda_dtype); only EMBED tables and matmul operands use the 16-bit
 * types.  Every launcher queues work on `stream` and returns the launch
 * status (cudaError_t as int, 0 = success); none synchronises.
 */
#ifndef ACCINF_CUDA_KERNELS_H
#define ACCINF_CUDA_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum acc_cuda_dtype {
    ACC_CUDA_F32 = 0,
    ACC_CUDA_BF16,
    ACC_CUDA_F16,
} acc_cuda_dtype;

/* Largest head_dim the attention kernel handles (8 values per lane). */
#define ACC_CUDA_MAX_HEAD_DIM 256

typedef struct CUstream_st *acc_cuda_stream;

/* y[r] = table[index[r]] (table of dtype, cols wide), r < rows. */
int acc_cuda_embed(acc_cuda_dtype dtype, const void *table, const int32_t *index, int64_t rows,
                   int64_t cols, float *y, acc_cuda_stream stream);
/* y = a + alpha * b over n elements. */
int acc_cuda_add(const float *a, const float *b, float alpha, float *y, int64_t n,
                 acc_cuda_stream stream);
int acc_cuda_scale(const float *a, float scale, float *y, int64_t n, acc_cuda_stream stream);
int acc_cuda_gelu_tanh(const float *a, float *y, int64_t n, acc_cuda_stream stream);
/* y = silu(gate) * up; when y16 is not NULL also written there in dtype16. */
int acc_cuda_swiglu(const float *gate, const float *up, float *y, int64_t n, void *y16,
                    acc_cuda_dtype dtype16, acc_cuda_stream stream);
/* SwiGLU of a fused gate|up product: gu is rows x (2 * cols) in gu_dtype
 * (dtype16 or F32; gate in the first cols of a row, up in the next);
 * y = silu(gate) * up into y (f32, when set) and y16 (dtype16, when set),
 * rows x cols. */
int acc_cuda_swiglu16(const void *gu, acc_cuda_dtype gu_dtype, int64_t rows, int64_t cols,
                      acc_cuda_dtype dtype16, float *y, void *y16, acc_cuda_stream stream);
/* Norms of rows x cols; when y16 is not NULL the output is also written
 * there in dtype16 (BF16 or F16), the input the next matmuls need. */
int acc_cuda_rms_norm(const float *x, const float *w, float eps, float *y, int64_t rows,
                      int64_t cols, void *y16, acc_cuda_dtype dtype16, acc_cuda_stream stream);
/* sum = a + alpha * b (the residual add), then y = RMSNorm(sum) * w, as
 * acc_cuda_add followed by acc_cuda_rms_norm, in one pass over the rows;
 * y may be NULL when y16 is set (only the 16-bit copy is read).  pdl:
 * launched as a programmatic dependent of the kernel before it (sm_90), so
 * its launch overlaps that kernel's last blocks. */
int acc_cuda_add_rms_norm(const float *a, const float *b, float alpha, float *sum, const float *w,
                          float eps, float *y, int64_t rows, int64_t cols, void *y16,
                          acc_cuda_dtype dtype16, int pdl, acc_cuda_stream stream);
int acc_cuda_layer_norm(const float *x, const float *w, const float *b, float eps, float *y,
                        int64_t rows, int64_t cols, void *y16, acc_cuda_dtype dtype16,
                        acc_cuda_stream stream);
/* HF rotate_half RoPE of rows x (n_heads * head_dim); row r at positions[r]. */
int acc_cuda_rope(const float *x, float *y, int64_t rows, int n_heads, int head_dim,
                  const int32_t *positions, const float *inv_freq, acc_cuda_stream stream);
/* y[r] = x[index[r]], r < rows. */
int acc_cuda_gather_rows(const float *x, const int32_t *index, int64_t rows, int64_t cols, float *y,
                         acc_cuda_stream stream);
/* out = (dtype) x, n elements; dtype is BF16 or F16 (round to nearest even). */
int acc_cuda_convert_f32(const float *x, int64_t n, acc_cuda_dtype dtype, void *out,
                         acc_cuda_stream stream);
/* y[r, c] += bias[c]. */
int acc_cuda_add_bias(float *y, const float *bias, int64_t rows, int64_t cols,
                      acc_cuda_stream stream);
/* The attention inputs of a step in one pass: RoPE of q into q_out (when
 * q_out is set), RoPE of k (when rope_k) and v stored at the rows' slots
 * of one layer's cache, f32 or (kv16) f16 rounded to nearest.  Same math
 * as acc_cuda_rope. */
typedef struct acc_cuda_rope_kv_args {
    const float *q;
    float *q_out;
    const float *k, *v;
    int rope_k;
    int64_t rows;
    int n_heads, n_kv_heads, head_dim;
    const int32_t *positions, *slots;
    const float *inv_freq;
    void *k_cache, *v_cache; /* float, or __half when kv16 */
    int kv16;
    /* when set, q, k and v are read from here instead: rows of in16_stride
     * values in dtype16 (F16, BF16 or F32), q in the first n_heads *
     * head_dim, then k, then v (the output of a fused q|k|v GEMM) */
    const void *in16;
    int64_t in16_stride;
    acc_cuda_dtype dtype16;
} acc_cuda_rope_kv_args;

int acc_cuda_rope_kv(const acc_cuda_rope_kv_args *args, acc_cuda_stream stream);

/* Causal attention through block tables: token t (of sequence token_seq[t]
 * at positions[t]) attends to positions 0..positions[t] of its sequence,
 * whose blocks are tables[token_seq[t] * table_stride + i].  q and out are
 * rows x (n_heads * head_dim); the cache is [slots, n_kv_heads * head_dim],
 * f32, or f16 when kv16 (the "cuda" device). */
typedef struct acc_cuda_attention_args {
    const float *q;
    const void *k_cache, *v_cache;
    int kv16;
    float *out;
    int64_t rows;
    int n_heads, n_kv_heads, head_dim;
    float scale;
    const int32_t *positions, *token_seq, *tables;
    int table_stride, block_size;
    void *out16; /* when set, out is also written here in dtype16 */
    acc_cuda_dtype dtype16;
    /* Split-K (flash-decoding): n_splits > 1 divides each token's keys into
     * n_splits ranges run by separate blocks; their partial results (in
     * partial: rows x n_heads x n_splits x (head_dim + 2) floats) are merged
     * by a second kernel. */
    int n_splits;
    float *partial;
    /* f16 cache with n_splits > 1: when set, the last block of each
     * (token, head block) to finish merges the splits itself (no second
     * kernel); rows x n_heads / heads_per_block counters, zero before the
     * launch and left zero after it */
    int *counters;
    /* Tiled prefill (tensor cores, f16): tiles of at most 64 rows of one
     * sequence, tile t = rows [tiles[2t], tiles[2t] + tiles[2t + 1]). */
    const int32_t *tiles;
    int n_tiles;
} acc_cuda_attention_args;

/* Per-token attention (n_splits >= 1), fp32 arithmetic.  f32 cache: one
 * block per (head, token, split), exact.  f16 cache (kv16): one block per
 * (group of up to 8 query heads sharing a KV head, token, split), the
 * heads sharing each K/V row load; acc_cuda_attention_heads_per_block
 * gives that group size. */
int acc_cuda_attention(const acc_cuda_attention_args *args, acc_cuda_stream stream);
int acc_cuda_attention_heads_per_block(int n_heads, int n_kv_heads, int kv16);
/* Whether acc_cuda_attention_tiled handles this head_dim. */
int acc_cuda_attention_tiled_supported(int head_dim);
/* Tiled prefill attention over an f16 cache (kv16 set): Q.K^T and P.V on
 * tensor cores (f16 inputs, fp32 accumulation), online softmax in fp32 (args->tiles, args->n_tiles;
 * tiles of at most 64 rows). */
int acc_cuda_attention_tiled(const acc_cuda_attention_args *args, acc_cuda_stream stream);
/* The same with `keys` keys per shared-memory tile (32 or 64; 0: the
 * default), for the microbenchmark. */
int acc_cuda_attention_tiled_keys(const acc_cuda_attention_args *args, int keys,
                                  acc_cuda_stream stream);
/* Kernel variants, for the microbenchmark (0: the default, 14 where the
 * 256-pair blocks of variant 8 would cover every SM, else 2): 1, 2: 8
 * warps of 16 pairs, Q in registers, 32 or 64 keys per tile; the second
 * kernel (Q in shared memory, one sync per tile) as (keys, m16 tiles per
 * warp, warps, blocks per SM): 3 (32, 2, 4, 2), 4 (64, 2, 4, 2),
 * 5 (64, 1, 8, 1), 6 (64, 1, 8, 2), 7 (32, 1, 8, 2), 8 (64, 2, 8, 1);
 * with Q's fragments kept in registers: 9 (64, 1, 8, 1), 10 (32, 1, 8, 1);
 * the third kernel (software-pipelined: S of tile t + 1 issued before
 * tile t's softmax, three K/V stages): 11 (32, 2, 8, 1), 12 (32, 2, 4, 2),
 * 13 (64, 1, 8, 1), 14 (32, 1, 8, 2), 15 (32, 1, 16, 1), 16 (32, 1, 4, 3). */
int acc_cuda_attention_tiled_variant(const acc_cuda_attention_args *args, int variant,
                                     acc_cuda_stream stream);

/* Matrix-vector products for steps of at most ACC_CUDA_GEMV_MAX_ROWS rows
 * (decode): y_s[r, o] = x[r, :] . W_s[o, :] (+ bias_s[o]) for up to three
 * matrices W_s [out_s, in] (bf16 or f16, dtype) that read the same x
 * (rows x in, dtype).  With swiglu (two segments, gate then up, of equal
 * out) it writes swiglu_y = silu(gate) * up instead, and swiglu_y16 in
 * dtype when set.  variant picks a tuning (0: chosen by shape; 1-7 fixed,
 * for the microbenchmark). */
#define ACC_CUDA_GEMV_MAX_ROWS 8
typedef struct acc_cuda_gemv_seg {
    const void *w;
    const float *bias;
    float *y;
    int64_t out;
} acc_cuda_gemv_seg;

typedef struct acc_cuda_gemv_args {
    acc_cuda_dtype dtype;
    const void *x;
    int64_t rows, in;
    int n_segs;
    acc_cuda_gemv_seg seg[3];
    int swiglu;
    float *swiglu_y;
    void *swiglu_y16;
    /* 1: launch as a programmatic dependent of the previous kernel in the
     * stream (sm_90): the first weight loads are issued before waiting for
     * it to finish, so the stream of weights starts during its tail */
    int pdl;
} acc_cuda_gemv_args;

int acc_cuda_gemv(const acc_cuda_gemv_args *args, int variant, acc_cuda_stream stream);

#ifdef __cplusplus
}
#endif

#endif
