/*
 * cuda_gemm_lt.c — cuBLASLt GEMMs with a plan per shape (cuda_gemm_lt.h).
 * The first GEMM of a shape asks cuBLASLt's heuristic for its algorithms
 * under the shared 32 MiB workspace and keeps the descriptors; with tuning
 * on, the first use outside stream capture times the heuristic's first
 * ACC_CUDA_LT_CANDIDATES on the real operands and keeps the fastest (the
 * heuristic's first is often not the fastest for 128-row decode shapes;
 * by default only shapes of at most ACC_CUDA_LT_TUNE_MAX_ROWS rows).
 * Later GEMMs reuse the plan, so captured CUDA graphs replay the same kernels.
 */
#include "backend/cuda/cuda_gemm_lt.h"

static cudaDataType lt_type(acc_cuda_dtype t)
{
    return t == ACC_CUDA_BF16 ? CUDA_R_16BF : t == ACC_CUDA_F16 ? CUDA_R_16F : CUDA_R_32F;
}

/* The descriptors and heuristic algorithm of one GEMM shape (made on first
 * use; NULL when cuBLASLt has none or the cache is full). */
static acc_cuda_lt_plan *lt_find_plan(acc_cuda_lt *lt, int64_t m, int64_t n, int64_t k,
                                            int64_t ldc, acc_cuda_dtype in_type,
                                            acc_cuda_dtype out_type)
{
    for (int i = 0; i < lt->n_plans; i++) {
        acc_cuda_lt_plan *lp = &lt->plans[i];
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

/* Times each candidate (one warm-up, then LT_TUNE_REPS runs between
 * events) on the real operands, writing y with beta 0, and keeps the
 * fastest; on any failure the heuristic's first stays. */
#define LT_TUNE_REPS 4
static void lt_tune(acc_cuda_lt *lt, acc_cuda_lt_plan *lp, cudaStream_t stream, const void *w,
                    const void *x, void *y)
{
    cublasLtMatmulHeuristicResult_t cand[ACC_CUDA_LT_CANDIDATES];
    cublasLtMatmulPreference_t pref = NULL;
    uint64_t ws = ACC_CUDA_LT_WORKSPACE;
    int returned = 0;
    lp->tuned = 1;
    if (cublasLtMatmulPreferenceCreate(&pref) != CUBLAS_STATUS_SUCCESS)
        return;
    if (cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                                             sizeof ws) != CUBLAS_STATUS_SUCCESS ||
        cublasLtMatmulAlgoGetHeuristic(lt->handle, lp->desc, lp->a, lp->b, lp->c, lp->c, pref,
                                       ACC_CUDA_LT_CANDIDATES, cand,
                                       &returned) != CUBLAS_STATUS_SUCCESS)
        returned = 0;
    cublasLtMatmulPreferenceDestroy(pref);
    if (returned < 2)
        return;
    cudaEvent_t ev[2];
    if (cudaEventCreate(&ev[0]) != cudaSuccess)
        return;
    if (cudaEventCreate(&ev[1]) != cudaSuccess) {
        cudaEventDestroy(ev[0]);
        return;
    }
    const float one = 1.0f, zero = 0.0f;
    float best = 0.0f;
    int pick = -1;
    for (int i = 0; i < returned; i++) {
        if (cand[i].state != CUBLAS_STATUS_SUCCESS)
            continue;
        int ok = 1;
        for (int r = 0; r <= LT_TUNE_REPS && ok; r++) {
            if (r == 1)
                ok = cudaEventRecord(ev[0], stream) == cudaSuccess;
            ok = ok && cublasLtMatmul(lt->handle, lp->desc, &one, w, lp->a, x, lp->b, &zero, y,
                                      lp->c, y, lp->c, &cand[i].algo, lt->workspace,
                                      ACC_CUDA_LT_WORKSPACE, stream) == CUBLAS_STATUS_SUCCESS;
        }
        float ms = 0.0f;
        if (!ok || cudaEventRecord(ev[1], stream) != cudaSuccess ||
            cudaEventSynchronize(ev[1]) != cudaSuccess ||
            cudaEventElapsedTime(&ms, ev[0], ev[1]) != cudaSuccess)
            continue;
        if (pick < 0 || ms < best) {
            best = ms;
            pick = i;
        }
    }
    if (pick >= 0)
        lp->algo = cand[pick].algo;
    cudaEventDestroy(ev[0]);
    cudaEventDestroy(ev[1]);
}

cublasStatus_t acc_cuda_lt_matmul(acc_cuda_lt *lt, cublasHandle_t fallback, cudaStream_t stream,
                                  const void *w, int64_t m, int64_t n, int64_t k, const void *x,
                                  void *y, acc_cuda_dtype in_type, acc_cuda_dtype out_type,
                                  int64_t ldc)
{
    const float alpha = 1.0f, beta = 0.0f;
    acc_cuda_lt_plan *lp = lt->handle ? lt_find_plan(lt, m, n, k, ldc, in_type, out_type) : NULL;
    if (lp && !lp->tuned && (lt->tune == 2 || (lt->tune == 1 && n <= ACC_CUDA_LT_TUNE_MAX_ROWS))) {
        enum cudaStreamCaptureStatus cs = cudaStreamCaptureStatusNone;
        if (cudaStreamIsCapturing(stream, &cs) == cudaSuccess && cs == cudaStreamCaptureStatusNone)
            lt_tune(lt, lp, stream, w, x, y);
        else
            lt->untuned_captured = 1;
    }
    if (lp)
        return cublasLtMatmul(lt->handle, lp->desc, &alpha, w, lp->a, x, lp->b, &beta, y, lp->c, y,
                              lp->c, &lp->algo, lt->workspace, ACC_CUDA_LT_WORKSPACE, stream);
    return cublasGemmEx(fallback, CUBLAS_OP_T, CUBLAS_OP_N, (int)m, (int)n, (int)k, &alpha, w,
                        lt_type(in_type), (int)k, x, lt_type(in_type), (int)k, &beta, y,
                        lt_type(out_type), (int)ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
}
