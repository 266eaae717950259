/*
 * cuda_gemv.cu — matrix-vector products for steps of at most 8 rows
 * (decode): y[r, o] = sum_i x[r, i] * W[o, i] (+ bias[o]) with W in bf16 or
 * f16, x in the same 16-bit type, fp32 accumulation.
 *
 * Such products are bound by reading W once.  Each warp owns G output rows
 * and streams them with 16-byte loads (8 values per lane per load, U loads
 * per row in flight, no L1 allocation), reusing each 16-byte piece of x it
 * loads for all G rows; the lanes' partial sums meet in warp shuffles.
 * With KW = 4 the block's 4 warps share G rows, each reading every 4th
 * group of 32 x U pieces, and their sums meet in shared memory: 4 times
 * the warps per matrix, each with a quarter of the loop, so the small
 * matrices (4096 x 4096) have their loads in flight in one or two rounds
 * instead of four to eight.  Up
 * to three matrices that read the same x (q|k|v, gate|up) run as one
 * launch, and gate|up can end in SwiGLU, writing silu(gate) * up in f32 and
 * in 16 bits for the down projection.
 */
#include "backend/cuda/cuda_kernels.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace {

constexpr int kGemvWarps = 4;

/* Programmatic dependent launch (sm_90): wait for the previous kernel's
 * results (a no-op when not launched as a dependent), and let the next
 * kernel start its own weight loads now. */
__device__ __forceinline__ void wait_prerequisites()
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

__device__ __forceinline__ void allow_dependents()
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

/* 8 consecutive 16-bit values of one 16-byte load, as floats. */
__device__ __forceinline__ void unpack8(const uint4 &v, float *f, const __half *)
{
    const __half2 *h = reinterpret_cast<const __half2 *>(&v);
#pragma unroll
    for (int i = 0; i < 4; i++) {
        float2 t = __half22float2(h[i]);
        f[2 * i] = t.x;
        f[2 * i + 1] = t.y;
    }
}

__device__ __forceinline__ void unpack8(const uint4 &v, float *f, const __nv_bfloat16 *)
{
    const __nv_bfloat162 *h = reinterpret_cast<const __nv_bfloat162 *>(&v);
#pragma unroll
    for (int i = 0; i < 4; i++) {
        float2 t = __bfloat1622float2(h[i]);
        f[2 * i] = t.x;
        f[2 * i + 1] = t.y;
    }
}

__device__ __forceinline__ float to_float(__half v)
{
    return __half2float(v);
}
__device__ __forceinline__ float to_float(__nv_bfloat16 v)
{
    return __bfloat162float(v);
}

/* Weights are read once: do not let them evict x from L1. */
__device__ __forceinline__ uint4 load_stream(const uint4 *p)
{
    uint4 v;
    asm("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
        : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
        : "l"(p));
    return v;
}

__device__ __forceinline__ void store16(void *base, int64_t i, float v, acc_cuda_dtype dtype)
{
    if (dtype == ACC_CUDA_BF16)
        static_cast<__nv_bfloat16 *>(base)[i] = __float2bfloat16_rn(v);
    else
        static_cast<__half *>(base)[i] = __float2half_rn(v);
}

/* One warp: G weight rows (null pointer: no row) against R rows of x
 * (rows <= R used).  Returns the full sums in every lane. */
template <typename T, int R, int G, int U>
__device__ __forceinline__ void warp_dot(const T *const (&wrow)[G], const T *x, int rows, int64_t in,
                                         int kpart, int kparts, float (&acc)[G][R])
{
    int lane = threadIdx.x % 32;
#pragma unroll
    for (int g = 0; g < G; g++)
#pragma unroll
        for (int r = 0; r < R; r++)
            acc[g][r] = 0.0f;
    if ((in & 7) == 0) {
        int64_t chunks = in / 8;
        const uint4 *x4 = reinterpret_cast<const uint4 *>(x);
        bool waited = false;
        for (int64_t c0 = lane + 32 * U * kpart; c0 < chunks; c0 += 32 * U * kparts) {
            uint4 wv[G][U];
#pragma unroll
            for (int u = 0; u < U; u++) {
                int64_t c = c0 + 32 * u;
#pragma unroll
                for (int g = 0; g < G; g++)
                    wv[g][u] = (c < chunks && wrow[g])
                                   ? load_stream(reinterpret_cast<const uint4 *>(wrow[g]) + c)
                                   : make_uint4(0, 0, 0, 0);
            }
            if (!waited) { /* the weights are in flight; x comes from the previous kernel */
                wait_prerequisites();
                waited = true;
            }
#pragma unroll
            for (int u = 0; u < U; u++) {
                int64_t c = c0 + 32 * u;
                if (c >= chunks)
                    break;
                float wf[G][8];
#pragma unroll
                for (int g = 0; g < G; g++)
                    unpack8(wv[g][u], wf[g], static_cast<const T *>(nullptr));
#pragma unroll
                for (int r = 0; r < R; r++) {
                    if (r >= rows)
                        break;
                    float xf[8];
                    unpack8(__ldg(x4 + r * chunks + c), xf, static_cast<const T *>(nullptr));
#pragma unroll
                    for (int g = 0; g < G; g++)
#pragma unroll
                        for (int e = 0; e < 8; e++)
                            acc[g][r] = fmaf(wf[g][e], xf[e], acc[g][r]);
                }
            }
        }
        if (!waited)
            wait_prerequisites();
    } else {
        wait_prerequisites();
        for (int64_t i = lane + 32 * kpart; i < in; i += 32 * kparts) {
#pragma unroll
            for (int r = 0; r < R; r++) {
                if (r >= rows)
                    break;
                float xv = to_float(x[r * in + i]);
#pragma unroll
                for (int g = 0; g < G; g++)
                    if (wrow[g])
                        acc[g][r] = fmaf(to_float(wrow[g][i]), xv, acc[g][r]);
            }
        }
    }
#pragma unroll
    for (int g = 0; g < G; g++)
#pragma unroll
        for (int r = 0; r < R; r++)
#pragma unroll
            for (int off = 16; off > 0; off >>= 1)
                acc[g][r] += __shfl_xor_sync(0xffffffffu, acc[g][r], off);
}

/* KW > 1: the block's warps hold partial sums of the same rows; warp 0
 * returns true with the totals. */
template <int R, int G, int KW> __device__ __forceinline__ bool block_sum(float (&acc)[G][R])
{
    if constexpr (KW == 1) {
        return true;
    } else {
        __shared__ float red[KW][G][R];
        int warp = threadIdx.x / 32;
        if (threadIdx.x % 32 == 0)
#pragma unroll
            for (int g = 0; g < G; g++)
#pragma unroll
                for (int r = 0; r < R; r++)
                    red[warp][g][r] = acc[g][r];
        __syncthreads();
        if (warp != 0)
            return false;
#pragma unroll
        for (int g = 0; g < G; g++)
#pragma unroll
            for (int r = 0; r < R; r++) {
                float t = red[0][g][r];
#pragma unroll
                for (int w = 1; w < KW; w++)
                    t += red[w][g][r];
                acc[g][r] = t;
            }
        return true;
    }
}

/* Plain products: warp w owns rows [w*G, w*G + G) of the segments laid
 * end to end (KW = 1), or block b rows [b*G, b*G + G) (KW = 4). */
template <typename T, int R, int G, int U, int KW>
__global__ void __launch_bounds__(kGemvWarps * 32) gemv_kernel(acc_cuda_gemv_args a)
{
    allow_dependents();
    int64_t first = KW == 1 ? ((int64_t)blockIdx.x * kGemvWarps + threadIdx.x / 32) * G
                            : (int64_t)blockIdx.x * G;
    const T *wrow[G];
    float *yrow[G];
    const float *brow[G];
    int64_t ostride[G];
#pragma unroll
    for (int g = 0; g < G; g++) {
        int64_t o = first + g;
        wrow[g] = nullptr;
        yrow[g] = nullptr;
        brow[g] = nullptr;
        ostride[g] = 0;
        for (int s = 0; s < a.n_segs; s++) {
            if (o < a.seg[s].out) {
                wrow[g] = static_cast<const T *>(a.seg[s].w) + o * a.in;
                yrow[g] = a.seg[s].y + o;
                brow[g] = a.seg[s].bias ? a.seg[s].bias + o : nullptr;
                ostride[g] = a.seg[s].out;
                break;
            }
            o -= a.seg[s].out;
        }
    }
    if (!wrow[0])
        return; /* warp-uniform (block-uniform for KW > 1): past the last row */
    float acc[G][R];
    warp_dot<T, R, G, U>(wrow, static_cast<const T *>(a.x), (int)a.rows, a.in,
                         KW == 1 ? 0 : (int)threadIdx.x / 32, KW, acc);
    if (!block_sum<R, G, KW>(acc) || threadIdx.x % 32 != 0)
        return;
#pragma unroll
    for (int g = 0; g < G; g++) {
        if (!wrow[g])
            continue;
        float b = brow[g] ? *brow[g] : 0.0f;
#pragma unroll
        for (int r = 0; r < R; r++)
            if (r < a.rows)
                yrow[g][r * ostride[g]] = acc[g][r] + b;
    }
}

/* gate|up ending in SwiGLU: warp w owns outputs [w*G/2, w*G/2 + G/2),
 * weight rows gate then up. */
template <typename T, int R, int G, int U, int KW>
__global__ void __launch_bounds__(kGemvWarps * 32) gemv_swiglu_kernel(acc_cuda_gemv_args a)
{
    allow_dependents();
    constexpr int H = G / 2;
    int64_t first = KW == 1 ? ((int64_t)blockIdx.x * kGemvWarps + threadIdx.x / 32) * H
                            : (int64_t)blockIdx.x * H;
    int64_t out = a.seg[0].out;
    if (first >= out)
        return;
    const T *wrow[G];
#pragma unroll
    for (int h = 0; h < H; h++) {
        int64_t o = first + h;
        wrow[h] = o < out ? static_cast<const T *>(a.seg[0].w) + o * a.in : nullptr;
        wrow[H + h] = o < out ? static_cast<const T *>(a.seg[1].w) + o * a.in : nullptr;
    }
    float acc[G][R];
    warp_dot<T, R, G, U>(wrow, static_cast<const T *>(a.x), (int)a.rows, a.in,
                         KW == 1 ? 0 : (int)threadIdx.x / 32, KW, acc);
    if (!block_sum<R, G, KW>(acc) || threadIdx.x % 32 != 0)
        return;
#pragma unroll
    for (int h = 0; h < H; h++) {
        int64_t o = first + h;
        if (o >= out)
            continue;
        float bg = a.seg[0].bias ? a.seg[0].bias[o] : 0.0f;
        float bu = a.seg[1].bias ? a.seg[1].bias[o] : 0.0f;
#pragma unroll
        for (int r = 0; r < R; r++) {
            if (r >= a.rows)
                break;
            float g = acc[h][r] + bg, u = acc[H + h][r] + bu;
            float v = g / (1.0f + expf(-g)) * u;
            a.swiglu_y[r * out + o] = v;
            if (a.swiglu_y16)
                store16(a.swiglu_y16, r * out + o, v, a.dtype);
        }
    }
}

template <typename T, int R, int G, int U, int KW>
int launch(const acc_cuda_gemv_args *a, cudaStream_t s)
{
    int64_t total = 0;
    for (int i = 0; i < a->n_segs; i++)
        total += a->seg[i].out;
    /* row groups: one per warp (KW = 1) or per block */
    int64_t groups = a->swiglu ? (a->seg[0].out + G / 2 - 1) / (G / 2) : (total + G - 1) / G;
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3((unsigned)(KW == 1 ? (groups + kGemvWarps - 1) / kGemvWarps : groups));
    cfg.blockDim = dim3(kGemvWarps * 32);
    cfg.stream = s;
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = attr;
    cfg.numAttrs = a->pdl ? 1 : 0;
    cudaError_t code = a->swiglu ? cudaLaunchKernelEx(&cfg, gemv_swiglu_kernel<T, R, G, U, KW>, *a)
                                 : cudaLaunchKernelEx(&cfg, gemv_kernel<T, R, G, U, KW>, *a);
    return code != cudaSuccess ? (int)code : (int)cudaGetLastError();
}

template <typename T, int G, int U, int KW = 1>
int launch_rows(const acc_cuda_gemv_args *a, cudaStream_t s)
{
    if (a->rows <= 1)
        return launch<T, 1, G, U, KW>(a, s);
    if (a->rows <= 2)
        return launch<T, 2, G, U, KW>(a, s);
    if (a->rows <= 4)
        return launch<T, 4, G, U, KW>(a, s);
    return launch<T, 8, G, U, KW>(a, s);
}

template <typename T> int launch_variant(const acc_cuda_gemv_args *a, int variant, cudaStream_t s)
{
    switch (variant) {
    case 1:
        return launch_rows<T, 2, 4>(a, s);
    case 2:
        return launch_rows<T, 4, 2>(a, s);
    case 3:
        return launch_rows<T, 4, 4>(a, s);
    case 5: /* the block's 4 warps split the input (KW = 4) */
        return launch_rows<T, 2, 4, 4>(a, s);
    case 6:
        return launch_rows<T, 4, 2, 4>(a, s);
    case 7:
        return launch_rows<T, 2, 2, 4>(a, s);
    default: /* 4: the first tuning measured */
        return launch_rows<T, 2, 8>(a, s);
    }
}

} /* namespace */

/* Variant 0 picks by shape from the H100 microbenchmark (docs/CUDA.md,
 * bench/cuda/gemv_bench.cu): 2 rows per block, the 4 warps splitting the
 * input, 2 loads per row in flight (variant 7) was fastest or within 2%
 * on every 8B and 1B shape for 1-8 rows (1.1-1.75x at 4-8 rows), except
 * the 128 256-row head at 8 rows, where 4 rows per warp (x reused 4 times,
 * variant 2) stays ahead. */
static int pick_variant(const acc_cuda_gemv_args *a)
{
    int64_t total = 0;
    for (int i = 0; i < a->n_segs; i++)
        total += a->seg[i].out;
    return a->rows >= 8 && total >= 65536 ? 2 : 7;
}

extern "C" int acc_cuda_gemv(const acc_cuda_gemv_args *args, int variant, acc_cuda_stream stream)
{
    if (args->rows < 1 || args->rows > ACC_CUDA_GEMV_MAX_ROWS || args->n_segs < 1 ||
        args->n_segs > 3 || (args->swiglu && (args->n_segs != 2 || !args->swiglu_y ||
                                              args->seg[0].out != args->seg[1].out)))
        return (int)cudaErrorInvalidValue;
    if (variant == 0)
        variant = pick_variant(args);
    if (args->dtype == ACC_CUDA_BF16)
        return launch_variant<__nv_bfloat16>(args, variant, stream);
    if (args->dtype == ACC_CUDA_F16)
        return launch_variant<__half>(args, variant, stream);
    return (int)cudaErrorInvalidValue;
}
