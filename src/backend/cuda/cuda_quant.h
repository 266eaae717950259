/*
 * cuda_quant.h — ggml block-quantized weights on the GPU (cuda_quant.cu):
 * q8_0, q4_0, q4_K and q6_K matrices stay in their ggml blocks in device
 * memory (rows contiguous, the same bytes as the GGUF file).  Decode reads
 * the blocks directly in a GEMV; prefill dequantizes a matrix to 16 bits
 * for cuBLAS; embedding rows are dequantized to f32.
 */
#ifndef ACCINF_CUDA_QUANT_H
#define ACCINF_CUDA_QUANT_H

#include "backend/cuda/cuda_kernels.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum acc_cuda_qtype {
    ACC_CUDA_QNONE = 0,
    ACC_CUDA_Q8_0,
    ACC_CUDA_Q4_0,
    ACC_CUDA_Q4_K,
    ACC_CUDA_Q6_K,
} acc_cuda_qtype;

/* Bytes a device allocation of `bytes` block bytes needs: the kernels read
 * whole aligned 16-byte words, up to 16 bytes past the last row. */
size_t acc_cuda_quant_alloc_bytes(size_t bytes);

/* y[r, o] = x[r, :] . W[o, :] (+ bias[o]) for rows <= ACC_CUDA_GEMV_MAX_ROWS,
 * W [out, in] in blocks of qtype, x f32 [rows, in], fp32 accumulation. */
int acc_cuda_qgemv(acc_cuda_qtype qtype, const void *w, const float *x, int64_t rows, int64_t in,
                   int64_t out, const float *bias, float *y, acc_cuda_stream stream);
/* The same with a fixed tuning: output rows per warp 1, 2 or 4 (0: the
 * default, 4), for the tests and the bandwidth report. */
int acc_cuda_qgemv_variant(acc_cuda_qtype qtype, const void *w, const float *x, int64_t rows,
                           int64_t in, int64_t out, const float *bias, float *y,
                           int rows_per_warp, acc_cuda_stream stream);
/* out = W [rows, cols] dequantized to dtype (F32, F16 or BF16; round to
 * nearest even), row-major. */
int acc_cuda_qdequant(acc_cuda_qtype qtype, const void *w, int64_t rows, int64_t cols,
                      acc_cuda_dtype dtype, void *out, acc_cuda_stream stream);
/* y[r] = table[index[r]] dequantized to f32 (table rows of cols values). */
int acc_cuda_qembed(acc_cuda_qtype qtype, const void *table, const int32_t *index, int64_t rows,
                    int64_t cols, float *y, acc_cuda_stream stream);

#ifdef __cplusplus
}
#endif

#endif
