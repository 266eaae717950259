/*
 * gemv_bench.cu — microbenchmark and check of the decode GEMV kernels
 * (src/backend/cuda/cuda_gemv.cu): weight bytes read per second for the
 * Llama-3.2-1B and Llama-3.1-8B projection shapes at 1, 2, 4 and 8 rows,
 * for each tuning variant, the shape-chosen one and cuBLAS's GemmEx, against
 * the HBM datasheet figure, a measured device copy and a measured read stream.  First checks every variant against a double-precision CPU
 * reference (vector and scalar paths, three segments, SwiGLU, bias).
 * Weights rotate over copies totalling >= 1 GiB so L2 (50-60 MB) cannot
 * serve them.  Build: nvcc -O3 -arch=sm_90 -I src -I include
 *   bench/cuda/gemv_bench.cu src/backend/cuda/cuda_gemv.cu -lcublas -o gemv_bench
 */
#include "backend/cuda/cuda_kernels.h"

#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vector>
#include <algorithm>

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        cudaError_t e_ = (x);                                                                      \
        if (e_ != cudaSuccess) {                                                                   \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_));    \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* Pure read stream: every thread sums 16-byte loads over a grid-stride
 * loop and writes one word, so the bytes moved are (almost) only reads —
 * the ceiling for a decode step, which reads its weights once. */
__global__ void read_stream(const uint4 *p, size_t n, unsigned *sink)
{
    unsigned acc = 0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        uint4 v = __ldcs(p + i);
        acc ^= v.x ^ v.y ^ v.z ^ v.w;
    }
    if (acc == 0x9e3779b9u) /* practically never: keeps the loads alive */
        sink[0] = acc;
}

/* Best read bandwidth over a few grid sizes (bytes/s) of `bytes` at p. */
static double measured_read_bw(const void *p, size_t bytes, int sms)
{
    unsigned *sink;
    CHECK(cudaMalloc(&sink, sizeof *sink));
    cudaEvent_t e0, e1;
    CHECK(cudaEventCreate(&e0));
    CHECK(cudaEventCreate(&e1));
    float best = 1e30f;
    const int per_sm[] = {2, 4, 8, 16};
    for (int g : per_sm)
        for (int i = 0; i < 5; i++) {
            CHECK(cudaEventRecord(e0));
            read_stream<<<sms * g, 512>>>((const uint4 *)p, bytes / 16, sink);
            CHECK(cudaEventRecord(e1));
            CHECK(cudaEventSynchronize(e1));
            float ms;
            CHECK(cudaEventElapsedTime(&ms, e0, e1));
            if (i > 0)
                best = std::min(best, ms);
        }
    CHECK(cudaGetLastError());
    cudaFree(sink);
    return bytes / (best * 1e-3);
}

static uint64_t rng_state = 88172645463325252ull;
static float frand(void) /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

static void *upload_half(const std::vector<float> &v)
{
    std::vector<__half> h(v.size());
    for (size_t i = 0; i < v.size(); i++)
        h[i] = __float2half(v[i]);
    void *d;
    CHECK(cudaMalloc(&d, h.size() * 2 + 16));
    CHECK(cudaMemcpy(d, h.data(), h.size() * 2, cudaMemcpyHostToDevice));
    return d;
}

static float half_round(float x)
{
    return __half2float(__float2half(x));
}

/* One correctness case: n_segs matrices of outs[s] x in, rows rows. */
static int check_case(int variant, int rows, int64_t in, int n_segs, const int64_t *outs, int swiglu,
                      int bias)
{
    std::vector<float> x((size_t)rows * in);
    for (auto &v : x)
        v = half_round(frand());
    acc_cuda_gemv_args a = {};
    a.dtype = ACC_CUDA_F16;
    a.x = upload_half(x);
    a.rows = rows;
    a.in = in;
    a.n_segs = n_segs;
    std::vector<std::vector<float>> w(n_segs), b(n_segs);
    std::vector<float *> y(n_segs);
    for (int s = 0; s < n_segs; s++) {
        w[s].resize((size_t)outs[s] * in);
        for (auto &v : w[s])
            v = half_round(frand());
        a.seg[s].w = upload_half(w[s]);
        a.seg[s].out = outs[s];
        if (bias) {
            b[s].resize((size_t)outs[s]);
            for (auto &v : b[s])
                v = frand();
            float *db;
            CHECK(cudaMalloc(&db, b[s].size() * 4));
            CHECK(cudaMemcpy(db, b[s].data(), b[s].size() * 4, cudaMemcpyHostToDevice));
            a.seg[s].bias = db;
        }
        CHECK(cudaMalloc(&y[s], (size_t)rows * outs[s] * 4));
        CHECK(cudaMemset(y[s], 0xff, (size_t)rows * outs[s] * 4)); /* NaN: unwritten shows */
        a.seg[s].y = y[s];
    }
    float *sy = nullptr;
    if (swiglu) {
        CHECK(cudaMalloc(&sy, (size_t)rows * outs[0] * 4));
        CHECK(cudaMemset(sy, 0xff, (size_t)rows * outs[0] * 4));
        a.swiglu = 1;
        a.swiglu_y = sy;
    }
    int code = acc_cuda_gemv(&a, variant, nullptr);
    CHECK((cudaError_t)code);
    CHECK(cudaDeviceSynchronize());
    double worst = 0.0;
    for (int s = 0; s < (swiglu ? 1 : n_segs); s++) {
        std::vector<float> got((size_t)rows * outs[s]);
        CHECK(cudaMemcpy(got.data(), swiglu ? sy : y[s], got.size() * 4, cudaMemcpyDeviceToHost));
        for (int r = 0; r < rows; r++)
            for (int64_t o = 0; o < outs[s]; o++) {
                double ref[2] = {0.0, 0.0};
                for (int k = 0; k < (swiglu ? 2 : 1); k++) {
                    int ss = swiglu ? k : s;
                    for (int64_t i = 0; i < in; i++)
                        ref[k] += (double)x[(size_t)r * in + i] * w[ss][(size_t)o * in + i];
                    if (bias)
                        ref[k] += b[ss][(size_t)o];
                }
                double want = swiglu ? ref[0] / (1.0 + exp(-ref[0])) * ref[1] : ref[0];
                double err = fabs(got[(size_t)r * outs[s] + o] - want) / (1.0 + fabs(want));
                if (!(err <= worst))
                    worst = err; /* NaN sticks */
            }
    }
    for (int s = 0; s < n_segs; s++) {
        cudaFree((void *)a.seg[s].w);
        cudaFree((void *)a.seg[s].bias);
        cudaFree(y[s]);
    }
    cudaFree(sy);
    cudaFree((void *)a.x);
    int ok = worst < 1e-4;
    if (!ok)
        printf("CHECK FAILED: variant %d rows %d in %lld segs %d swiglu %d bias %d: error %.3g\n",
               variant, rows, (long long)in, n_segs, swiglu, bias, worst);
    return ok;
}

struct shape {
    const char *name;
    int n_segs;
    int64_t outs[3];
    int64_t in;
    int swiglu;
};

int main(void)
{
    int failures = 0, cases = 0;
    const int64_t three[3] = {96, 40, 40}, two[2] = {72, 72}, odd[1] = {13};
    for (int v = 1; v <= 7; v++)
        for (int rows = 1; rows <= 8; rows++) {
            failures += !check_case(v, rows, 4096, 3, three, 0, 1);
            failures += !check_case(v, rows, 72, 1, odd, 0, 0);
            failures += !check_case(v, rows, 70, 2, two, 0, 1);  /* scalar path */
            failures += !check_case(v, rows, 2048, 2, two, 1, 1); /* swiglu */
            cases += 4;
        }
    printf("gemv check: %d of %d cases within 1e-4 of the double reference\n", cases - failures,
           cases);

    cudaDeviceProp prop;
    CHECK(cudaGetDeviceProperties(&prop, 0));
    double peak = strstr(prop.name, "H200") ? 4.8e12 : 3.35e12;
    /* measured copy: 1 GiB device to device, read + write */
    size_t cbytes = (size_t)1 << 30;
    void *c0, *c1;
    CHECK(cudaMalloc(&c0, cbytes));
    CHECK(cudaMalloc(&c1, cbytes));
    CHECK(cudaMemset(c0, 1, cbytes));
    cudaEvent_t e0, e1;
    CHECK(cudaEventCreate(&e0));
    CHECK(cudaEventCreate(&e1));
    float best_copy = 1e30f;
    for (int i = 0; i < 6; i++) {
        CHECK(cudaEventRecord(e0));
        CHECK(cudaMemcpy(c1, c0, cbytes, cudaMemcpyDeviceToDevice));
        CHECK(cudaEventRecord(e1));
        CHECK(cudaEventSynchronize(e1));
        float ms;
        CHECK(cudaEventElapsedTime(&ms, e0, e1));
        if (i > 0)
            best_copy = std::min(best_copy, ms);
    }
    double copy_bw = 2.0 * cbytes / (best_copy * 1e-3);
    double read_bw = measured_read_bw(c0, cbytes, prop.multiProcessorCount);
    cudaFree(c0);
    cudaFree(c1);
    printf("device %s, %d SMs; datasheet %.2f TB/s; measured copy (read+write) %.2f TB/s; "
           "measured read stream %.2f TB/s (%.0f%% of datasheet)\n",
           prop.name, prop.multiProcessorCount, peak / 1e12, copy_bw / 1e12, read_bw / 1e12,
           100.0 * read_bw / peak);

    const shape shapes[] = {
        {"1B q|k|v", 3, {2048, 512, 512}, 2048, 0},
        {"1B o", 1, {2048}, 2048, 0},
        {"1B gate|up+swiglu", 2, {8192, 8192}, 2048, 1},
        {"1B down", 1, {2048}, 8192, 0},
        {"1B/8B head", 1, {128256}, 2048, 0},
        {"8B q|k|v", 3, {4096, 1024, 1024}, 4096, 0},
        {"8B o", 1, {4096}, 4096, 0},
        {"8B gate|up+swiglu", 2, {14336, 14336}, 4096, 1},
        {"8B down", 1, {4096}, 14336, 0},
        {"8B head", 1, {128256}, 4096, 0},
    };
    cublasHandle_t blas;
    if (cublasCreate(&blas) != CUBLAS_STATUS_SUCCESS)
        return 1;
    printf("| shape | weight MB | rows | G2 U4 | G4 U2 | G4 U4 | G2 U8 | G2 U4 KW4 | G4 U2 KW4 | "
           "G2 U2 KW4 | chosen | cuBLAS GemmEx | chosen %% of datasheet |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (const shape &sh : shapes) {
        int64_t total = 0;
        for (int s = 0; s < sh.n_segs; s++)
            total += sh.outs[s];
        size_t wbytes = (size_t)total * sh.in * 2;
        int copies = (int)std::max<size_t>(2, std::min<size_t>(64, ((size_t)1 << 30) / wbytes + 1));
        std::vector<void *> pool((size_t)copies * sh.n_segs);
        for (auto &p : pool) {
            p = nullptr;
        }
        for (int c = 0; c < copies; c++)
            for (int s = 0; s < sh.n_segs; s++) {
                size_t b = (size_t)sh.outs[s] * sh.in * 2;
                CHECK(cudaMalloc(&pool[(size_t)c * sh.n_segs + s], b));
                CHECK(cudaMemset(pool[(size_t)c * sh.n_segs + s], 0x21, b)); /* f16 ~0.01 */
            }
        void *x;
        float *y[3], *sy;
        CHECK(cudaMalloc(&x, 8 * sh.in * 2));
        CHECK(cudaMemset(x, 0x21, 8 * sh.in * 2));
        for (int s = 0; s < sh.n_segs; s++)
            CHECK(cudaMalloc(&y[s], 8 * sh.outs[s] * 4));
        CHECK(cudaMalloc(&sy, 8 * sh.outs[0] * 4));
        for (int rows : {1, 2, 4, 8}) {
            double bw[9];
            for (int v = 0; v < 9; v++) { /* 0: chosen, 1-7: fixed, 8: cuBLAS */
                acc_cuda_gemv_args a = {};
                a.dtype = ACC_CUDA_F16;
                a.x = x;
                a.rows = rows;
                a.in = sh.in;
                a.n_segs = sh.n_segs;
                a.swiglu = sh.swiglu;
                a.swiglu_y = sy;
                const int iters = 50;
                float best = 1e30f;
                for (int rep = 0; rep < 4; rep++) {
                    CHECK(cudaEventRecord(e0));
                    for (int it = 0; it < iters; it++) {
                        int c = it % copies;
                        for (int s = 0; s < sh.n_segs; s++) {
                            a.seg[s].w = pool[(size_t)c * sh.n_segs + s];
                            a.seg[s].out = sh.outs[s];
                            a.seg[s].y = y[s];
                        }
                        if (v < 8) {
                            CHECK((cudaError_t)acc_cuda_gemv(&a, v, nullptr));
                            continue;
                        }
                        const float one = 1.0f, zero = 0.0f;
                        for (int s = 0; s < sh.n_segs; s++)
                            if (cublasGemmEx(blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)sh.outs[s], rows,
                                             (int)sh.in, &one, a.seg[s].w, CUDA_R_16F, (int)sh.in,
                                             x, CUDA_R_16F, (int)sh.in, &zero, y[s], CUDA_R_32F,
                                             (int)sh.outs[s], CUBLAS_COMPUTE_32F,
                                             CUBLAS_GEMM_DEFAULT) != CUBLAS_STATUS_SUCCESS)
                                return 1;
                    }
                    CHECK(cudaEventRecord(e1));
                    CHECK(cudaEventSynchronize(e1));
                    float ms;
                    CHECK(cudaEventElapsedTime(&ms, e0, e1));
                    if (rep > 0)
                        best = std::min(best, ms);
                }
                bw[v] = (double)wbytes * iters / (best * 1e-3);
            }
            printf("| %s | %.1f | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f TB/s | "
                   "%.2f TB/s | %.0f%% (%.0f%% of copy) |\n",
                   sh.name, wbytes / 1e6, rows, bw[1] / 1e12, bw[2] / 1e12, bw[3] / 1e12,
                   bw[4] / 1e12, bw[5] / 1e12, bw[6] / 1e12, bw[7] / 1e12, bw[0] / 1e12,
                   bw[8] / 1e12, 100.0 * bw[0] / peak, 100.0 * bw[0] / copy_bw);
        }
        for (auto p : pool)
            cudaFree(p);
        cudaFree(x);
        for (int s = 0; s < sh.n_segs; s++)
            cudaFree(y[s]);
        cudaFree(sy);
    }
    return failures ? 1 : 0;
}
