/*
 * cuda_gemm_lt.c — cuBLASLt GEMMs with a plan per shape (cuda_gemm_lt.h).
 * The first GEMM of a shape asks cuBLASLt's heuristic for its best
 * algorithm under the shared 32 MiB workspace and keeps the descriptors;
 * later ones reuse them, so captured CUDA graphs replay the same kernels.
 */
#include "backend/cuda/cuda_gemm_lt.h"

static cudaDataType lt_type(acc_cuda_dtype t)
{
    return t == ACC_CUDA_BF16 ? CUDA_R_16BF : t == ACC_CUDA_F16 ? CUDA_R_16F : CUDA_R_32F;
}

/* The descriptors and heuristic algorithm of one GEMM shape (made on first
 * use; NULL when cuBLASLt has none or the cache is full). */
static const acc_cuda_lt_plan *lt_find_plan(acc_cuda_lt *lt, int64_t m, int64_t n, int64_t k,
                                            int64_t ldc, acc_cuda_dtype in_type,
                                            acc_cuda_dtype out_type)
{
    for (int i = 0; i < lt->n_plans; i++) {
        const acc_cuda_lt_plan *lp = &lt->plans[i];
        if (lp->m == m && lp->n == n && lp->k == k && lp->ldc == ldc &&
            lp->in_type == (int)in_type && lp->out_type == (int)out_type)
            return lp;
    }
    if (lt->n_plans == ACC_CUDA_LT_PLANS)
        return NULL;
    acc_cuda_lt_plan *lp = &lt->plans[lt->n_plans];
    *lp = (acc_cuda_lt_plan){
        .m = m, .n = n, .k = k, .ldc = ldc, .in_type = in_type, .out_type = out_type};
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    uint64_t ws = ACC_CUDA_LT_WORKSPACE;
    cublasLtMatmulPreference_t pref = NULL;
    cublasLtMatmulHeuristicResult_t result;
    int found = 0, made = 0;
    if (cublasLtMatmulDescCreate(&lp->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F) ==
        CUBLAS_STATUS_SUCCESS)
        made = 1;
    if (made && (cublasLtMatmulDescSetAttribute(lp->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta,
                                                sizeof ta) != CUBLAS_STATUS_SUCCESS ||
                 cublasLtMatmulDescSetAttribute(lp->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb,
                                                sizeof tb) != CUBLAS_STATUS_SUCCESS))
        made = 0;
    /* column-major: A = W as stored [k, m] (transposed), B = x [k, n], D [m, n] */
    if (made && cublasLtMatrixLayoutCreate(&lp->a, lt_type(in_type), (uint64_t)k, (uint64_t)m, k) !=
                    CUBLAS_STATUS_SUCCESS)
        made = 0;
    if (made && cublasLtMatrixLayoutCreate(&lp->b, lt_type(in_type), (uint64_t)k, (uint64_t)n, k) !=
                    CUBLAS_STATUS_SUCCESS)
        made = 0;
    if (made && cublasLtMatrixLayoutCreate(&lp->c, lt_type(out_type), (uint64_t)m, (uint64_t)n,
                                           ldc) != CUBLAS_STATUS_SUCCESS)
        made = 0;
    if (made && cublasLtMatmulPreferenceCreate(&pref) == CUBLAS_STATUS_SUCCESS) {
        int returned = 0;
        if (cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                 &ws, sizeof ws) == CUBLAS_STATUS_SUCCESS &&
            cublasLtMatmulAlgoGetHeuristic(lt->handle, lp->desc, lp->a, lp->b, lp->c, lp->c, pref,
                                           1, &result, &returned) == CUBLAS_STATUS_SUCCESS &&
            returned > 0) {
            lp->algo = result.algo;
            found = 1;
        }
        cublasLtMatmulPreferenceDestroy(pref);
    }
    if (!found) {
        if (lp->a)
            cublasLtMatrixLayoutDestroy(lp->a);
        if (lp->b)
            cublasLtMatrixLayoutDestroy(lp->b);
        if (lp->c)
            cublasLtMatrixLayoutDestroy(lp->c);
        if (lp->desc)
            cublasLtMatmulDescDestroy(lp->desc);
        return NULL;
    }
    lt->n_plans++;
    return lp;
}

void acc_cuda_lt_destroy(acc_cuda_lt *lt)
{
    for (int i = 0; i < lt->n_plans; i++) {
        acc_cuda_lt_plan *lp = &lt->plans[i];
        cublasLtMatrixLayoutDestroy(lp->a);
        cublasLtMatrixLayoutDestroy(lp->b);
        cublasLtMatrixLayoutDestroy(lp->c);
        cublasLtMatmulDescDestroy(lp->desc);
    }
    lt->n_plans = 0;
    if (lt->handle)
        cublasLtDestroy(lt->handle);
    lt->handle = NULL;
    cudaFree(lt->workspace);
    lt->workspace = NULL;
}

cublasStatus_t acc_cuda_lt_matmul(acc_cuda_lt *lt, cublasHandle_t fallback, cudaStream_t stream,
                                  const void *w, int64_t m, int64_t n, int64_t k, const void *x,
                                  void *y, acc_cuda_dtype in_type, acc_cuda_dtype out_type,
                                  int64_t ldc)
{
    const float one = 1.0f, zero = 0.0f;
    const acc_cuda_lt_plan *lp =
        lt->handle ? lt_find_plan(lt, m, n, k, ldc, in_type, out_type) : NULL;
    if (lp)
        return cublasLtMatmul(lt->handle, lp->desc, &one, w, lp->a, x, lp->b, &zero, y, lp->c, y,
                              lp->c, &lp->algo, lt->workspace, ACC_CUDA_LT_WORKSPACE, stream);
    return cublasGemmEx(fallback, CUBLAS_OP_T, CUBLAS_OP_N, (int)m, (int)n, (int)k, &one, w,
                        lt_type(in_type), (int)k, x, lt_type(in_type), (int)k, &zero, y,
                        lt_type(out_type), (int)ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
}
