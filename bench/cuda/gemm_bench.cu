/*
 * gemm_bench.cu — TFLOP/s of the prefill GEMM shapes of a Llama-3.1-8B
 * layer (2048 or 512 tokens, f16 inputs, fp32 accumulation) as the CUDA
 * backend runs them: cuBLASLt with a 32 MiB workspace, its first heuristic
 * algorithm beside the fastest of its first 8 (what the backend's per-shape
 * timing picks, cuda_gemm_lt.c), f32 or f16 outputs, q|k|v and gate|up
 * separate or as one fused GEMM, also at 128 rows (batch-128 decode, with
 * the 128256-row output head); cublasGemmEx without a workspace.  Inputs are
 * random f16 (or zeros with the argument z: faster, the GPU keeps higher
 * clocks on zeros).
 * usage: gemm_bench [z] (device_run.sh gemm)
 */
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(x)                                                                                  \
    do {                                                                                          \
        int rc_ = (int)(x);                                                                       \
        if (rc_) {                                                                                \
            fprintf(stderr, "%s:%d: %s failed (%d)\n", __FILE__, __LINE__, #x, rc_);              \
            exit(1);                                                                              \
        }                                                                                         \
    } while (0)

static cublasLtHandle_t lt;
static cublasHandle_t blas;
static void *workspace;
static const size_t kWs = (size_t)32 << 20;

/* ms per GEMM y[n, m] = x[n, k] . W[m, k]^T, mean of 20 after 3 warm-ups;
 * cand >= 0: cuBLASLt with the heuristic's candidate cand (-1 when it has
 * no such candidate), else cublasGemmEx */
static float time_lt(int m, int n, int k, cudaDataType out, const void *w, const void *x, void *y,
                     int cand)
{
    int use_lt = cand >= 0;
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t a, b, c;
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    CHECK(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    CHECK(cublasLtMatrixLayoutCreate(&a, CUDA_R_16F, k, m, k));
    CHECK(cublasLtMatrixLayoutCreate(&b, CUDA_R_16F, k, n, k));
    CHECK(cublasLtMatrixLayoutCreate(&c, out, m, n, m));
    cublasLtMatmulPreference_t pref;
    CHECK(cublasLtMatmulPreferenceCreate(&pref));
    uint64_t ws = kWs;
    CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                                               sizeof ws));
    cublasLtMatmulHeuristicResult_t cands[8], res;
    int got = 0;
    CHECK(cublasLtMatmulAlgoGetHeuristic(lt, desc, a, b, c, c, pref, 8, cands, &got));
    if (use_lt && (cand >= got || cands[cand].state != CUBLAS_STATUS_SUCCESS)) {
        cublasLtMatmulPreferenceDestroy(pref);
        cublasLtMatrixLayoutDestroy(a);
        cublasLtMatrixLayoutDestroy(b);
        cublasLtMatrixLayoutDestroy(c);
        cublasLtMatmulDescDestroy(desc);
        return -1.0f;
    }
    res = cands[use_lt ? cand : 0];
    const float one = 1.0f, zero = 0.0f;
    cudaEvent_t e0, e1;
    cudaEventCreate(&e0);
    cudaEventCreate(&e1);
    float ms = 0;
    for (int it = 0; it < 23; it++) {
        if (it == 3)
            cudaEventRecord(e0);
        if (use_lt)
            CHECK(cublasLtMatmul(lt, desc, &one, w, a, x, b, &zero, y, c, y, c, &res.algo,
                                 workspace, kWs, 0));
        else
            CHECK(cublasGemmEx(blas, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, w, CUDA_R_16F, k, x,
                               CUDA_R_16F, k, &zero, y, out, m, CUBLAS_COMPUTE_32F,
                               CUBLAS_GEMM_DEFAULT));
    }
    cudaEventRecord(e1);
    CHECK(cudaEventSynchronize(e1));
    cudaEventElapsedTime(&ms, e0, e1);
    cublasLtMatmulPreferenceDestroy(pref);
    cublasLtMatrixLayoutDestroy(a);
    cublasLtMatrixLayoutDestroy(b);
    cublasLtMatrixLayoutDestroy(c);
    cublasLtMatmulDescDestroy(desc);
    return ms / 20;
}

/* uniform values in [-1, 1) as f16 (a hash of the index): zeros would let
 * the GPU hold higher clocks than real weights and activations do */
__global__ void fill_random(__half *p, size_t n, unsigned seed)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        unsigned h = (unsigned)i * 2654435761u ^ seed;
        h ^= h >> 15;
        h *= 2246822519u;
        h ^= h >> 13;
        p[i] = __float2half((float)(h & 0xffffff) / 8388608.0f - 1.0f);
    }
}

int main(int argc, char **argv)
{
    int zeros = argc > 1 && argv[1][0] == 'z';
    CHECK(cublasLtCreate(&lt));
    CHECK(cublasCreate(&blas));
    CHECK(cudaMalloc(&workspace, kWs));
    size_t wmax = (size_t)128256 * 4096, xmax = (size_t)2048 * 28672;
    void *w, *x, *y;
    CHECK(cudaMalloc(&w, wmax * 2));
    CHECK(cudaMalloc(&x, xmax * 2));
    CHECK(cudaMalloc(&y, xmax * 4));
    if (zeros) {
        CHECK(cudaMemset(w, 0, wmax * 2));
        CHECK(cudaMemset(x, 0, xmax * 2));
    } else {
        fill_random<<<4096, 256>>>((__half *)w, wmax, 1u);
        fill_random<<<4096, 256>>>((__half *)x, xmax, 2u);
        CHECK(cudaDeviceSynchronize());
    }
    printf("inputs: %s\n", zeros ? "zeros" : "random f16 in [-1, 1)");
    struct {
        const char *name;
        int m, k;
    } shapes[] = {{"q", 4096, 4096},          {"k or v", 1024, 4096}, {"q|k|v", 6144, 4096},
                  {"o", 4096, 4096},          {"gate or up", 14336, 4096},
                  {"gate|up", 28672, 4096}, {"down", 4096, 14336}, {"head", 128256, 4096}};
    printf("| shape (m x k) | tokens | Lt f32 out: first | best of 8 (which) | Lt f16 out: first "
           "| best of 8 (which) | GemmEx f32 out |\n");
    printf("|---|---|---|---|---|---|---|\n");
    int tokens[] = {128, 512, 2048};
    for (int t = 0; t < 3; t++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            int m = shapes[s].m, k = shapes[s].k, n = tokens[t];
            if (m == 128256 && n != 128) /* prefill computes the head for one row */
                continue;
            double flop = 2.0 * m * n * k;
            float first[2], best[2];
            int which[2];
            cudaDataType outs[2] = {CUDA_R_32F, CUDA_R_16F};
            for (int o = 0; o < 2; o++) {
                first[o] = best[o] = time_lt(m, n, k, outs[o], w, x, y, 0);
                which[o] = 0;
                for (int cand = 1; cand < 8; cand++) {
                    float ms = time_lt(m, n, k, outs[o], w, x, y, cand);
                    if (ms > 0.0f && ms < best[o]) {
                        best[o] = ms;
                        which[o] = cand;
                    }
                }
            }
            float c = time_lt(m, n, k, CUDA_R_32F, w, x, y, -1);
            printf("| %s (%d x %d) | %d | %.3f ms, %.0f TF | %.3f ms, %.0f TF (%d) | %.3f ms, %.0f TF "
                   "| %.3f ms, %.0f TF (%d) | %.3f ms, %.0f TF |\n",
                   shapes[s].name, m, k, n, first[0], flop / first[0] / 1e9, best[0],
                   flop / best[0] / 1e9, which[0], first[1], flop / first[1] / 1e9, best[1],
                   flop / best[1] / 1e9, which[1], c, flop / c / 1e9);
        }
    return 0;
}
