/*
 * cuda_resid_norm.h — the RMSNorm that follows a GEMM into which the
 * residual add was folded (cuBLASLt beta = 1, cuda_backend.c run_matmuls,
 * steps of more than 8 rows): the residual sum is already in memory, so the
 * norm only reads it once and writes the 16-bit (and, when read, the f32)
 * normalised rows.  Not a public header.
 */
#ifndef ACCINF_CUDA_RESID_NORM_H
#define ACCINF_CUDA_RESID_NORM_H

#include "backend/cuda/cuda_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* y = RMSNorm(x) * w over rows x cols, the arithmetic of
 * acc_cuda_add_rms_norm after its add (same reduction order, so the
 * results are bit-identical); y may be NULL when y16 is set. */
int acc_cuda_resid_norm(const float *x, const float *w, float eps, float *y, int64_t rows,
                        int64_t cols, void *y16, acc_cuda_dtype dtype16, acc_cuda_stream stream);

#ifdef __cplusplus
}
#endif

#endif
