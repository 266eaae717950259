/*
 * cuda_resid_norm.cu — RMSNorm of rows whose residual sum a GEMM already
 * wrote (cuda_resid_norm.h).  The reduction mirrors add_rms_norm_vec_kernel
 * in cuda_kernels.cu (512 threads a row, eight float4 per thread, per-thread
 * double sums, warp shuffles, then the warps' sums in order), so the folded
 * path gives the same bits as the separate add + norm; rows the vector form
 * cannot take (odd widths, unaligned) use a one-pass scalar loop.
 */
#include "backend/cuda/cuda_resid_norm.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace {

constexpr int kThreads = 512;
constexpr int kVec = 8;

__device__ __forceinline__ void store4(float *y, void *y16, acc_cuda_dtype dtype16, int64_t i,
                                       float4 v)
{
    if (y)
        *reinterpret_cast<float4 *>(y + i) = v;
    if (y16 && dtype16 == ACC_CUDA_BF16) {
        __nv_bfloat162 *p =
            reinterpret_cast<__nv_bfloat162 *>(static_cast<__nv_bfloat16 *>(y16) + i);
        p[0] = __floats2bfloat162_rn(v.x, v.y);
        p[1] = __floats2bfloat162_rn(v.z, v.w);
    } else if (y16) {
        __half2 *p = reinterpret_cast<__half2 *>(static_cast<__half *>(y16) + i);
        p[0] = __floats2half2_rn(v.x, v.y);
        p[1] = __floats2half2_rn(v.z, v.w);
    }
}

__global__ void __launch_bounds__(kThreads)
    resid_norm_vec_kernel(const float *x, const float *w, float eps, float *y, int64_t cols,
                          void *y16, acc_cuda_dtype dtype16)
{
    __shared__ double shared[kThreads / 32];
    int64_t off = blockIdx.x * cols;
    int n4 = (int)(cols / 4);
    float4 v[kVec];
    double sum = 0.0;
#pragma unroll
    for (int k = 0; k < kVec; k++) {
        int i = threadIdx.x + k * kThreads;
        if (i < n4) {
            float4 a = reinterpret_cast<const float4 *>(x + off)[i];
            v[k] = a;
            sum += (double)a.x * a.x + (double)a.y * a.y + (double)a.z * a.z + (double)a.w * a.w;
        }
    }
    for (int o = 16; o > 0; o >>= 1)
        sum += __shfl_xor_sync(0xffffffffu, sum, o);
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0)
        shared[warp] = sum;
    __syncthreads();
    double total = 0.0;
#pragma unroll
    for (int k = 0; k < kThreads / 32; k++)
        total += shared[k];
    float inv = (float)(1.0 / sqrt(total / (double)cols + (double)eps));
    void *y16r = y16 ? static_cast<char *>(y16) + off * 2 : nullptr;
#pragma unroll
    for (int k = 0; k < kVec; k++) {
        int i = threadIdx.x + k * kThreads;
        if (i < n4) {
            float4 g = reinterpret_cast<const float4 *>(w)[i], a = v[k];
            float4 r = make_float4(g.x * (a.x * inv), g.y * (a.y * inv), g.z * (a.z * inv),
                                   g.w * (a.w * inv));
            store4(y ? y + off : nullptr, y16r, dtype16, 4 * (int64_t)i, r);
        }
    }
}

/* Any width: block-strided loops, the warps' sums combined in order. */
__global__ void __launch_bounds__(kThreads)
    resid_norm_kernel(const float *x, const float *w, float eps, float *y, int64_t cols,
                      void *y16, acc_cuda_dtype dtype16)
{
    __shared__ double shared[kThreads / 32];
    int64_t off = blockIdx.x * cols;
    double sum = 0.0;
    for (int64_t i = threadIdx.x; i < cols; i += kThreads)
        sum += (double)x[off + i] * x[off + i];
    for (int o = 16; o > 0; o >>= 1)
        sum += __shfl_xor_sync(0xffffffffu, sum, o);
    if (threadIdx.x % 32 == 0)
        shared[threadIdx.x / 32] = sum;
    __syncthreads();
    double total = 0.0;
    for (int k = 0; k < kThreads / 32; k++)
        total += shared[k];
    float inv = (float)(1.0 / sqrt(total / (double)cols + (double)eps));
    for (int64_t i = threadIdx.x; i < cols; i += kThreads) {
        float value = w[i] * (x[off + i] * inv);
        if (y)
            y[off + i] = value;
        if (y16 && dtype16 == ACC_CUDA_BF16)
            static_cast<__nv_bfloat16 *>(y16)[off + i] = __float2bfloat16_rn(value);
        else if (y16)
            static_cast<__half *>(y16)[off + i] = __float2half_rn(value);
    }
}

} // namespace

extern "C" int acc_cuda_resid_norm(const float *x, const float *w, float eps, float *y,
                                   int64_t rows, int64_t cols, void *y16, acc_cuda_dtype dtype16,
                                   acc_cuda_stream stream)
{
    if (rows < 1 || cols < 1 || (!y && !y16))
        return (int)cudaErrorInvalidValue;
    uintptr_t align = (uintptr_t)x | (uintptr_t)w | (uintptr_t)y | (uintptr_t)y16;
    if (cols % 4 == 0 && cols <= 4 * kVec * kThreads && align % 16 == 0)
        resid_norm_vec_kernel<<<(unsigned)rows, kThreads, 0, stream>>>(x, w, eps, y, cols, y16,
                                                                       dtype16);
    else
        resid_norm_kernel<<<(unsigned)rows, kThreads, 0, stream>>>(x, w, eps, y, cols, y16,
                                                                   dtype16);
    return (int)cudaGetLastError();
}
