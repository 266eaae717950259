/*
 * cuda_backend.h — the CUDA backends' entries for the table in backend.c.
 *
 * "cuda" keeps matmul weights and embedding tables on the GPU in 16 bits
 * (bf16, or f16 when every value is an exact f16, as in f16-stored models)
 * and multiplies them with cuBLAS in fp32 accumulation; "cuda-f32" keeps
 * them in f32 with pedantic (no TF32) cuBLAS math, the exactness mode that
 * tracks the CPU reference to rounding.  Built only when ACCINF_HAVE_CUDA.
 */
#ifndef ACCINF_CUDA_BACKEND_H
#define ACCINF_CUDA_BACKEND_H

#include "backend/backend.h"

extern const acc_backend_ops acc_backend_cuda_ops;
extern const acc_backend_ops acc_backend_cuda_f32_ops;

#define ACC_CUDA_BACKENDS &acc_backend_cuda_ops, &acc_backend_cuda_f32_ops,
#define ACC_CUDA_BACKEND_NAMES ", cuda, cuda-f32"

#endif
