/*
 * cuda_gemm_lt.h — the 16-bit GEMMs of the CUDA backend through cuBLASLt:
 * one descriptor set and algorithm per GEMM shape, made on first use and
 * kept (the fastest of the heuristic's first candidates, timed on first
 * use outside stream capture), and one workspace for all of them
 * (cuda_gemm_lt.c).
 * Not a public header.
 */
#ifndef ACCINF_CUDA_GEMM_LT_H
#define ACCINF_CUDA_GEMM_LT_H

#include "backend/cuda/cuda_kernels.h"

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <stdint.h>

#define ACC_CUDA_LT_PLANS 48
#define ACC_CUDA_LT_WORKSPACE ((size_t)32 << 20)
/* heuristic candidates timed per shape (first use outside capture) */
#define ACC_CUDA_LT_CANDIDATES 8
/* tune = 1 times shapes of at most this many rows (the batched decode
 * steps: +2.5% at batch 128 on an H100); 2048-row prefill GEMMs were 5%
 * slower in place with the timed picks (power-capped clocks, docs/CUDA.md) */
#define ACC_CUDA_LT_TUNE_MAX_ROWS 256

typedef struct acc_cuda_lt_plan {
    int64_t m, n, k, ldc;
    int in_type, out_type;
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t a, b, c;
    cublasLtMatmulAlgo_t algo;
    int tuned; /* algo is the timed best (else the heuristic's first) */
} acc_cuda_lt_plan;

/* The owner creates `handle` and allocates ACC_CUDA_LT_WORKSPACE bytes of
 * device memory into `workspace` (so that its allocation accounting and
 * messages cover it); acc_cuda_lt_destroy releases both. */
typedef struct acc_cuda_lt {
    cublasLtHandle_t handle;
    void *workspace;
    acc_cuda_lt_plan plans[ACC_CUDA_LT_PLANS];
    int n_plans;
    int tune;             /* time the candidates of a new shape (owner sets):
                             0 never, 1 up to ACC_CUDA_LT_TUNE_MAX_ROWS rows, 2 always */
    int untuned_captured; /* a plan was made untuned during stream capture:
                             the owner drops that graph and reruns the step
                             uncaptured, which tunes it (then clears this) */
} acc_cuda_lt;

void acc_cuda_lt_destroy(acc_cuda_lt *lt);

/* Column-major D[m, n] (leading dimension ldc, out_type) = W^T x with W
 * stored [m rows of k] and x [n rows of k], both in_type, f32 accumulation,
 * on `stream`: row-major y[n, ldc] = x . W^T.  A shape without a cuBLASLt
 * plan (no heuristic, cache full, no handle) goes to cublasGemmEx on
 * `fallback`, which must be bound to the same stream. */
cublasStatus_t acc_cuda_lt_matmul(acc_cuda_lt *lt, cublasHandle_t fallback, cudaStream_t stream,
                                  const void *w, int64_t m, int64_t n, int64_t k, const void *x,
                                  void *y, acc_cuda_dtype in_type, acc_cuda_dtype out_type,
                                  int64_t ldc);

#endif
