/*
 * cuda_kernels.cu — the device kernels of the CUDA backend: embeddings,
 * elementwise ops, norms, RoPE, the KV-cache store and paged attention.
 *
 * The math mirrors the fp32 CPU reference (src/backend/cpu/kernels.c):
 * norms accumulate in double, RoPE forms the angle as a float product and
 * takes float cos/sin, softmax subtracts the running maximum.  Only the
 * order of float sums differs, so results agree to rounding.
 */
#include "backend/cuda/cuda_kernels.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>

namespace {

constexpr int kThreads = 256;

/* Enough blocks to cover n with kThreads each, capped: the kernels loop. */
unsigned grid_for(int64_t n)
{
    int64_t blocks = (n + kThreads - 1) / kThreads;
    if (blocks < 1)
        blocks = 1;
    return (unsigned)(blocks < 65536 ? blocks : 65536);
}

int launch_status()
{
    return (int)cudaGetLastError();
}

/* Lets a programmatic dependent (the decode GEMV, cuda_gemv.cu) launch
 * now and start streaming its weights; it waits for this kernel's results
 * before reading them. */
__device__ __forceinline__ void allow_dependents()
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

/* A kernel launched as a programmatic dependent itself (the add + RMSNorm
 * after a decode GEMV) is resident before its prerequisite ends; it waits
 * here, before its first read, for that kernel's results.  A no-op when
 * launched normally. */
__device__ __forceinline__ void wait_prerequisites()
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

template <typename T> __device__ float load_as_float(const T *p, int64_t i);
template <> __device__ float load_as_float<float>(const float *p, int64_t i)
{
    return p[i];
}
template <> __device__ float load_as_float<__nv_bfloat16>(const __nv_bfloat16 *p, int64_t i)
{
    return __bfloat162float(p[i]);
}
template <> __device__ float load_as_float<__half>(const __half *p, int64_t i)
{
    return __half2float(p[i]);
}

template <typename T>
__global__ void embed_kernel(const T *table, const int32_t *index, int64_t rows, int64_t cols,
                             float *y)
{
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const T *src = table + (int64_t)index[r] * cols;
        for (int64_t c = threadIdx.x; c < cols; c += blockDim.x)
            y[r * cols + c] = load_as_float(src, c);
    }
}

__global__ void add_kernel(const float *a, const float *b, float alpha, float *y, int64_t n)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        y[i] = alpha == 1.0f ? a[i] + b[i] : a[i] + alpha * b[i];
}

__global__ void scale_kernel(const float *a, float scale, float *y, int64_t n)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        y[i] = a[i] * scale;
}

__global__ void gelu_tanh_kernel(const float *a, float *y, int64_t n)
{
    const float k = 0.7978845608028654f; /* sqrt(2 / pi) */
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        float x = a[i];
        y[i] = 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
    }
}

/* Writes y[i] and, when y16 is set, its 16-bit copy for the matmul that
 * reads it (bf16 or f16). */
__device__ __forceinline__ void store_with16(float *y, void *y16, acc_cuda_dtype dtype16,
                                             int64_t i, float value)
{
    y[i] = value;
    if (y16 && dtype16 == ACC_CUDA_BF16)
        static_cast<__nv_bfloat16 *>(y16)[i] = __float2bfloat16_rn(value);
    else if (y16)
        static_cast<__half *>(y16)[i] = __float2half_rn(value);
}

__global__ void swiglu_kernel(const float *gate, const float *up, float *y, int64_t n, void *y16,
                              acc_cuda_dtype dtype16)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        float g = gate[i];
        store_with16(y, y16, dtype16, i, g / (1.0f + expf(-g)) * up[i]);
    }
}

/* Sum of one double per thread over the block (blockDim.x == kThreads). */
__device__ double block_sum(double value, double *shared)
{
    for (int offset = 16; offset > 0; offset >>= 1)
        value += __shfl_xor_sync(0xffffffffu, value, offset);
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    __syncthreads(); /* shared may still be read from a previous call */
    if (lane == 0)
        shared[warp] = value;
    __syncthreads();
    double total = 0.0;
    for (int w = 0; w < kThreads / 32; w++)
        total += shared[w];
    return total;
}

/* Only the 16-bit copy (the f32 output has no reader). */
__device__ __forceinline__ void store_norm16(void *y16, acc_cuda_dtype dtype16, int64_t i,
                                             float value)
{
    if (dtype16 == ACC_CUDA_BF16)
        static_cast<__nv_bfloat16 *>(y16)[i] = __float2bfloat16_rn(value);
    else
        static_cast<__half *>(y16)[i] = __float2half_rn(value);
}

/* The norms write their 16-bit copy for the matmuls that read them. */
__device__ __forceinline__ void store_norm(float *y, void *y16, acc_cuda_dtype dtype16, int64_t i,
                                           float value)
{
    store_with16(y, y16, dtype16, i, value);
}

__global__ void rms_norm_kernel(const float *x, const float *w, float eps, float *y, int64_t cols,
                                void *y16, acc_cuda_dtype dtype16)
{
    allow_dependents();
    __shared__ double shared[kThreads / 32];
    const float *xr = x + blockIdx.x * cols;
    float *yr = y + blockIdx.x * cols;
    double sum = 0.0;
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x)
        sum += (double)xr[i] * xr[i];
    sum = block_sum(sum, shared);
    float inv = (float)(1.0 / sqrt(sum / (double)cols + (double)eps));
    void *y16r = y16 ? static_cast<char *>(y16) + blockIdx.x * cols * 2 : nullptr;
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x)
        store_norm(yr, y16r, dtype16, i, w[i] * (xr[i] * inv));
}

/* The residual add and the RMSNorm after it: each thread keeps the sums it
 * wrote for the second pass (same arithmetic as add_kernel + rms_norm_kernel). */
__global__ void add_rms_norm_kernel(const float *a, const float *b, float alpha, float *sum_out,
                                    const float *w, float eps, float *y, int64_t cols, void *y16,
                                    acc_cuda_dtype dtype16)
{
    wait_prerequisites();
    allow_dependents();
    __shared__ double shared[kThreads / 32];
    int64_t off = blockIdx.x * cols;
    double sum = 0.0;
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
        float v = alpha == 1.0f ? a[off + i] + b[off + i] : a[off + i] + alpha * b[off + i];
        sum_out[off + i] = v;
        sum += (double)v * v;
    }
    sum = block_sum(sum, shared);
    float inv = (float)(1.0 / sqrt(sum / (double)cols + (double)eps));
    void *y16r = y16 ? static_cast<char *>(y16) + off * 2 : nullptr;
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
        float value = w[i] * (sum_out[off + i] * inv);
        if (y)
            store_norm(y + off, y16r, dtype16, i, value);
        else
            store_norm16(y16r, dtype16, i, value);
    }
}

/* add_rms_norm_kernel for rows of at most kNormVec * 4 * kNormThreads
 * columns, cols % 4 == 0: 16-byte loads, the sums kept in registers
 * between the two passes, 512 threads a row (decode steps have 1-8 rows,
 * so the row's latency is the kernel's).  Same arithmetic. */
constexpr int kNormThreads = 512;
constexpr int kNormVec = 8;

__device__ __forceinline__ void store4_with16(float *y, void *y16, acc_cuda_dtype dtype16,
                                              int64_t i, float4 v)
{
    if (y) /* NULL: only the 16-bit copy is read */
        *reinterpret_cast<float4 *>(y + i) = v;
    if (y16 && dtype16 == ACC_CUDA_BF16) {
        __nv_bfloat162 *p = reinterpret_cast<__nv_bfloat162 *>(static_cast<__nv_bfloat16 *>(y16) + i);
        p[0] = __floats2bfloat162_rn(v.x, v.y);
        p[1] = __floats2bfloat162_rn(v.z, v.w);
    } else if (y16) {
        __half2 *p = reinterpret_cast<__half2 *>(static_cast<__half *>(y16) + i);
        p[0] = __floats2half2_rn(v.x, v.y);
        p[1] = __floats2half2_rn(v.z, v.w);
    }
}

__global__ void __launch_bounds__(kNormThreads)
    add_rms_norm_vec_kernel(const float *a, const float *b, float alpha, float *sum_out,
                            const float *w, float eps, float *y, int64_t cols, void *y16,
                            acc_cuda_dtype dtype16)
{
    wait_prerequisites();
    allow_dependents();
    __shared__ double shared[kNormThreads / 32];
    int64_t off = blockIdx.x * cols;
    int n4 = (int)(cols / 4);
    float4 v[kNormVec];
    double sum = 0.0;
#pragma unroll
    for (int k = 0; k < kNormVec; k++) {
        int i = threadIdx.x + k * kNormThreads;
        if (i < n4) {
            float4 x = reinterpret_cast<const float4 *>(a + off)[i];
            float4 z = reinterpret_cast<const float4 *>(b + off)[i];
            if (alpha == 1.0f) {
                x.x += z.x, x.y += z.y, x.z += z.z, x.w += z.w;
            } else {
                x.x += alpha * z.x, x.y += alpha * z.y, x.z += alpha * z.z, x.w += alpha * z.w;
            }
            v[k] = x;
            reinterpret_cast<float4 *>(sum_out + off)[i] = x;
            sum += (double)x.x * x.x + (double)x.y * x.y + (double)x.z * x.z + (double)x.w * x.w;
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
    for (int k = 0; k < kNormThreads / 32; k++)
        total += shared[k];
    float inv = (float)(1.0 / sqrt(total / (double)cols + (double)eps));
    void *y16r = y16 ? static_cast<char *>(y16) + off * 2 : nullptr;
#pragma unroll
    for (int k = 0; k < kNormVec; k++) {
        int i = threadIdx.x + k * kNormThreads;
        if (i < n4) {
            float4 g = reinterpret_cast<const float4 *>(w)[i], x = v[k];
            float4 r = make_float4(g.x * (x.x * inv), g.y * (x.y * inv), g.z * (x.z * inv),
                                   g.w * (x.w * inv));
            store4_with16(y ? y + off : nullptr, y16r, dtype16, 4 * (int64_t)i, r);
        }
    }
}

__global__ void layer_norm_kernel(const float *x, const float *w, const float *b, float eps,
                                  float *y, int64_t cols, void *y16, acc_cuda_dtype dtype16)
{
    __shared__ double shared[kThreads / 32];
    const float *xr = x + blockIdx.x * cols;
    float *yr = y + blockIdx.x * cols;
    double sum = 0.0;
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x)
        sum += xr[i];
    double mean = block_sum(sum, shared) / (double)cols;
    double var = 0.0;
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
        double d = xr[i] - mean;
        var += d * d;
    }
    var = block_sum(var, shared);
    double inv = 1.0 / sqrt(var / (double)cols + (double)eps);
    void *y16r = y16 ? static_cast<char *>(y16) + blockIdx.x * cols * 2 : nullptr;
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x)
        store_norm(yr, y16r, dtype16, i, (float)((xr[i] - mean) * inv) * w[i] + b[i]);
}

/* One block per row; threads take (head, i) pairs of the first half. */
__global__ void rope_kernel(const float *x, float *y, int n_heads, int head_dim,
                            const int32_t *positions, const float *inv_freq)
{
    int64_t row = blockIdx.x;
    int half = head_dim / 2;
    int64_t cols = (int64_t)n_heads * head_dim;
    const float *xr = x + row * cols;
    float *yr = y + row * cols;
    float pos = (float)positions[row];
    for (int p = threadIdx.x; p < n_heads * half; p += blockDim.x) {
        int h = p / half, i = p % half;
        float angle = pos * inv_freq[i];
        float c = cosf(angle), s = sinf(angle);
        int64_t base = (int64_t)h * head_dim;
        float x1 = xr[base + i], x2 = xr[base + i + half];
        yr[base + i] = x1 * c - x2 * s;
        yr[base + i + half] = x2 * c + x1 * s;
    }
}

__device__ __forceinline__ void store_cache(float *p, int64_t i, float x)
{
    p[i] = x;
}
__device__ __forceinline__ void store_cache(__half *p, int64_t i, float x)
{
    p[i] = __float2half_rn(x);
}

__device__ __forceinline__ float2 to_float2(__half2 v)
{
    return __half22float2(v);
}
__device__ __forceinline__ float2 to_float2(__nv_bfloat162 v)
{
    return __bfloat1622float2(v);
}
template <typename T2> __device__ __forceinline__ T2 from_float2(float x, float y);
template <> __device__ __forceinline__ __half2 from_float2<__half2>(float x, float y)
{
    return __floats2half2_rn(x, y);
}
template <> __device__ __forceinline__ __nv_bfloat162 from_float2<__nv_bfloat162>(float x, float y)
{
    return __floats2bfloat162_rn(x, y);
}
template <typename T> __device__ __forceinline__ T from_float(float x);
template <> __device__ __forceinline__ __half from_float<__half>(float x)
{
    return __float2half_rn(x);
}
template <> __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x)
{
    return __float2bfloat16_rn(x);
}

__device__ __forceinline__ float load_f(const float *p, int64_t i)
{
    return p[i];
}
__device__ __forceinline__ float load_f(const __half *p, int64_t i)
{
    return __half2float(p[i]);
}
__device__ __forceinline__ float load_f(const __nv_bfloat16 *p, int64_t i)
{
    return __bfloat162float(p[i]);
}

/* Rows blockIdx.y + k * gridDim.y; each thread takes one item of a row: a pair of q
 * (into q_out, when set), a pair of k (rotated; or one value of k when
 * not rope_k) or one value of v, k and v going straight into the cache
 * (of C) at the row's slot.  One item per thread and several blocks per
 * row, so a decode step's single row is not one block looping over its
 * 3584 items (8B) with a memory round trip each.  q, k, v rows of T:
 * f32 rows of their own, or one fused q|k|v row (f32, bf16 or f16) read
 * with the strides. */
template <typename T, typename C>
__device__ __forceinline__ void rope_kv_item(const acc_cuda_rope_kv_args &a, const T *q,
                                             const T *k, const T *v, int64_t q_stride,
                                             int64_t kv_stride, int64_t row, int64_t p)
{
    int hd = a.head_dim, half = hd / 2;
    int64_t kv_dim = (int64_t)a.n_kv_heads * hd;
    int64_t n_q = a.q_out ? (int64_t)a.n_heads * half : 0;
    int64_t n_k = a.rope_k ? (int64_t)a.n_kv_heads * half : kv_dim;
    if (p >= n_q + n_k + kv_dim)
        return;
    float pos = (float)a.positions[row];
    int64_t slot = a.slots[row];
    if (p < n_q) {
        int64_t cols = (int64_t)a.n_heads * hd;
        const T *xr = q + row * q_stride;
        float *yr = a.q_out + row * cols;
        int h = (int)(p / half), i = (int)(p % half);
        float angle = pos * a.inv_freq[i];
        float c = cosf(angle), s = sinf(angle);
        int64_t base = (int64_t)h * hd;
        float x1 = load_f(xr, base + i), x2 = load_f(xr, base + i + half);
        yr[base + i] = x1 * c - x2 * s;
        yr[base + i + half] = x2 * c + x1 * s;
        return;
    }
    p -= n_q;
    const T *kr = k + row * kv_stride;
    C *kc = static_cast<C *>(a.k_cache) + slot * kv_dim;
    if (p < n_k) {
        if (a.rope_k) {
            int h = (int)(p / half), i = (int)(p % half);
            float angle = pos * a.inv_freq[i];
            float c = cosf(angle), s = sinf(angle);
            int64_t base = (int64_t)h * hd;
            float x1 = load_f(kr, base + i), x2 = load_f(kr, base + i + half);
            store_cache(kc, base + i, x1 * c - x2 * s);
            store_cache(kc, base + i + half, x2 * c + x1 * s);
        } else {
            store_cache(kc, p, load_f(kr, p));
        }
        return;
    }
    p -= n_k;
    store_cache(static_cast<C *>(a.v_cache) + slot * kv_dim, p, load_f(v + row * kv_stride, p));
}

template <typename T, typename C>
__global__ void rope_kv_kernel(acc_cuda_rope_kv_args a, const T *q, const T *k, const T *v,
                               int64_t q_stride, int64_t kv_stride)
{
    int64_t p = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    for (int64_t row = blockIdx.y; row < a.rows; row += gridDim.y)
        rope_kv_item<T, C>(a, q, k, v, q_stride, kv_stride, row, p);
}

/* SwiGLU over a fused gate|up row, 8 values (16 bytes) per thread when
 * the rows allow it. */
template <typename T, typename T2>
__global__ void swiglu16_kernel(const T *gu, int64_t rows, int64_t cols, float *y, T *y16)
{
    int64_t per_row = cols / 8, n = rows * per_row;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = i / per_row, c = (i % per_row) * 8;
        uint4 gv = *reinterpret_cast<const uint4 *>(gu + r * 2 * cols + c);
        uint4 uv = *reinterpret_cast<const uint4 *>(gu + r * 2 * cols + cols + c);
        const T2 *g2 = reinterpret_cast<const T2 *>(&gv);
        const T2 *u2 = reinterpret_cast<const T2 *>(&uv);
        float out[8];
#pragma unroll
        for (int e = 0; e < 4; e++) {
            float2 g = to_float2(g2[e]), u = to_float2(u2[e]);
            out[2 * e] = g.x / (1.0f + expf(-g.x)) * u.x;
            out[2 * e + 1] = g.y / (1.0f + expf(-g.y)) * u.y;
        }
        if (y) {
            float4 *yo = reinterpret_cast<float4 *>(y + r * cols + c);
            yo[0] = make_float4(out[0], out[1], out[2], out[3]);
            yo[1] = make_float4(out[4], out[5], out[6], out[7]);
        }
        if (y16) {
            uint4 o;
            T2 *o2 = reinterpret_cast<T2 *>(&o);
#pragma unroll
            for (int e = 0; e < 4; e++)
                o2[e] = from_float2<T2>(out[2 * e], out[2 * e + 1]);
            *reinterpret_cast<uint4 *>(y16 + r * cols + c) = o;
        }
    }
}

template <typename Tin, typename T>
__global__ void swiglu16_scalar_kernel(const Tin *gu, int64_t rows, int64_t cols, float *y, T *y16)
{
    int64_t n = rows * cols;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = i / cols, c = i % cols;
        float g = load_f(gu, r * 2 * cols + c), u = load_f(gu, r * 2 * cols + cols + c);
        float out = g / (1.0f + expf(-g)) * u;
        if (y)
            y[i] = out;
        if (y16)
            y16[i] = from_float<T>(out);
    }
}

__global__ void gather_rows_kernel(const float *x, const int32_t *index, int64_t rows,
                                   int64_t cols, float *y)
{
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *src = x + (int64_t)index[r] * cols;
        for (int64_t c = threadIdx.x; c < cols; c += blockDim.x)
            y[r * cols + c] = src[c];
    }
}

__global__ void to_bf16_kernel(const float *x, int64_t n, __nv_bfloat16 *out)
{
    allow_dependents();
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        out[i] = __float2bfloat16_rn(x[i]);
}

__global__ void to_f16_kernel(const float *x, int64_t n, __half *out)
{
    allow_dependents();
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        out[i] = __float2half_rn(x[i]);
}

__global__ void add_bias_kernel(float *y, const float *bias, int64_t rows, int64_t cols)
{
    int64_t n = rows * cols;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        y[i] += bias[i % cols];
}

constexpr int kAttnWarps = 4;
constexpr int kPerLane = ACC_CUDA_MAX_HEAD_DIM / 32;

/* Keys [*begin, *end) of split `split` of n_splits over n_ctx keys: equal
 * chunks rounded up to whole warps of keys (the last may be short or
 * empty). */
__device__ __forceinline__ void split_keys(int n_ctx, int n_splits, int split, int *begin,
                                           int *end)
{
    *begin = 0;
    *end = n_ctx;
    if (n_splits > 1) {
        int chunk = (n_ctx + n_splits - 1) / n_splits;
        chunk = (chunk + 31) / 32 * 32;
        *begin = split * chunk;
        *end = *begin + chunk < n_ctx ? *begin + chunk : n_ctx;
    }
}

/* One block per (head, token, split).  Each warp takes 32 keys at a time,
 * one per lane: a lane computes its key's full dot product with q (from
 * shared memory), so 32 keys' loads are in flight at once.  An online
 * softmax (running max m, denominator l) folds each group of 32 into the
 * output, whose dimensions lane, lane + 32, ... the lane owns; V rows are
 * read coalesced, one key after another.  The warps' partial results are
 * merged at the end, rescaled to the common maximum.  With n_splits > 1
 * the block sees only its split's range of keys (a multiple of 32 long)
 * and leaves (max, denominator, unnormalised sums) for the merge kernel. */
__global__ void __launch_bounds__(kAttnWarps * 32)
    attention_kernel(acc_cuda_attention_args a)
{
    allow_dependents();
    __shared__ float q_sh[ACC_CUDA_MAX_HEAD_DIM];
    __shared__ float part_m[kAttnWarps], part_l[kAttnWarps];
    __shared__ float part_acc[kAttnWarps][ACC_CUDA_MAX_HEAD_DIM];
    int head = blockIdx.x;
    int64_t token = blockIdx.y;
    int split = blockIdx.z;
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int hd = a.head_dim, bs = a.block_size;
    int group = a.n_heads / a.n_kv_heads;
    int64_t kv_dim = (int64_t)a.n_kv_heads * hd;
    int64_t kv_off = (int64_t)(head / group) * hd;
    const float *q = a.q + token * (int64_t)a.n_heads * hd + (int64_t)head * hd;
    const int32_t *table = a.tables + (int64_t)a.token_seq[token] * a.table_stride;
    int n_ctx = a.positions[token] + 1;
    int begin, end;
    split_keys(n_ctx, a.n_splits, split, &begin, &end);
    float *partial = a.n_splits > 1 ? a.partial + ((token * a.n_heads + head) * a.n_splits + split) *
                                                      (int64_t)(hd + 2)
                                    : nullptr;
    if (begin >= end) { /* block-uniform: an empty split */
        if (threadIdx.x == 0) {
            partial[0] = -INFINITY;
            partial[1] = 0.0f;
        }
        return;
    }
    for (int d = threadIdx.x; d < hd; d += blockDim.x)
        q_sh[d] = q[d];
    __syncthreads();

    float acc[kPerLane];
#pragma unroll
    for (int i = 0; i < kPerLane; i++)
        acc[i] = 0.0f;
    float m = -INFINITY, l = 0.0f;
    for (int base = begin + warp * 32; base < end; base += kAttnWarps * 32) {
        int j = base + lane;
        int64_t slot = 0;
        float s = -INFINITY;
        if (j < end) {
            slot = (int64_t)table[j / bs] * bs + j % bs;
            const float *k = static_cast<const float *>(a.k_cache) + slot * kv_dim + kv_off;
            float dot = 0.0f;
            if ((hd & 3) == 0 && ((kv_dim | kv_off) & 3) == 0) {
                const float4 *k4 = reinterpret_cast<const float4 *>(k);
#pragma unroll 8
                for (int d = 0; d < hd / 4; d++) {
                    float4 kv = k4[d];
                    dot += q_sh[4 * d] * kv.x + q_sh[4 * d + 1] * kv.y + q_sh[4 * d + 2] * kv.z +
                           q_sh[4 * d + 3] * kv.w;
                }
            } else {
                for (int d = 0; d < hd; d++)
                    dot += q_sh[d] * k[d];
            }
            s = dot * a.scale;
        }
        float group_max = s;
        for (int offset = 16; offset > 0; offset >>= 1)
            group_max = fmaxf(group_max, __shfl_xor_sync(0xffffffffu, group_max, offset));
        float m_new = fmaxf(m, group_max); /* finite: lane 0's key exists */
        float p = j < end ? expf(s - m_new) : 0.0f;
        float correction = expf(m - m_new);
        float p_sum = p;
        for (int offset = 16; offset > 0; offset >>= 1)
            p_sum += __shfl_xor_sync(0xffffffffu, p_sum, offset);
        l = l * correction + p_sum;
#pragma unroll
        for (int i = 0; i < kPerLane; i++)
            acc[i] *= correction;
        int n_keys = end - base < 32 ? end - base : 32;
#pragma unroll 8
        for (int jj = 0; jj < n_keys; jj++) {
            float pj = __shfl_sync(0xffffffffu, p, jj);
            int64_t slot_j = __shfl_sync(0xffffffffu, slot, jj);
            const float *v = static_cast<const float *>(a.v_cache) + slot_j * kv_dim + kv_off;
#pragma unroll
            for (int i = 0; i < kPerLane; i++) {
                int d = lane + 32 * i;
                if (d < hd)
                    acc[i] += pj * v[d];
            }
        }
        m = m_new;
    }
    if (lane == 0) {
        part_m[warp] = m;
        part_l[warp] = l;
    }
#pragma unroll
    for (int i = 0; i < kPerLane; i++) {
        int d = lane + 32 * i;
        if (d < hd)
            part_acc[warp][d] = acc[i];
    }
    __syncthreads();
    float m_all = -INFINITY;
    for (int w = 0; w < kAttnWarps; w++)
        m_all = fmaxf(m_all, part_m[w]);
    float factor[kAttnWarps], denom = 0.0f;
    for (int w = 0; w < kAttnWarps; w++) {
        factor[w] = part_l[w] > 0.0f ? expf(part_m[w] - m_all) : 0.0f;
        denom += factor[w] * part_l[w];
    }
    if (partial) {
        if (threadIdx.x == 0) {
            partial[0] = m_all;
            partial[1] = denom;
        }
        for (int d = threadIdx.x; d < hd; d += blockDim.x) {
            float sum = 0.0f;
            for (int w = 0; w < kAttnWarps; w++)
                sum += factor[w] * part_acc[w][d];
            partial[2 + d] = sum;
        }
        return;
    }
    float inv = 1.0f / denom;
    int64_t out_off = token * (int64_t)a.n_heads * hd + (int64_t)head * hd;
    for (int d = threadIdx.x; d < hd; d += blockDim.x) {
        float sum = 0.0f;
        for (int w = 0; w < kAttnWarps; w++)
            sum += factor[w] * part_acc[w][d];
        store_with16(a.out, a.out16, a.dtype16, out_off + d, sum * inv);
    }
}

/* PL consecutive f16 values as one load (2, 4, 8 or 16 bytes), kept raw
 * until used so that many rows' loads fit in registers at once. */
template <int PL> struct HalfPack;
template <> struct HalfPack<1> { using T = unsigned short; };
template <> struct HalfPack<2> { using T = unsigned int; };
template <> struct HalfPack<4> { using T = uint2; };
template <> struct HalfPack<8> { using T = uint4; };

template <int PL> __device__ __forceinline__ float pack_value(const typename HalfPack<PL>::T &raw, int i)
{
    return __half2float(reinterpret_cast<const __half *>(&raw)[i]);
}

/* Split-K without a second kernel: each block of a (token, head block)
 * publishes its partial results and counts itself done; the last one
 * (which then sees every split's results) merges them into out and
 * resets the counter for the next launch. */
template <int HG>
__device__ void merge_if_last(const acc_cuda_attention_args &a, int64_t token, int head0, int bx)
{
    __shared__ int last;
    int *counter = a.counters + token * (a.n_heads / HG) + bx;
    __threadfence(); /* this block's partials, before the count */
    __syncthreads();
    if (threadIdx.x == 0) {
        int done = atomicAdd(counter, 1);
        last = done == a.n_splits - 1;
        if (last)
            *counter = 0;
    }
    __syncthreads();
    if (!last)
        return;
    __threadfence(); /* the other blocks' partials, after their counts */
    int hd = a.head_dim, n = a.n_splits;
    for (int idx = threadIdx.x; idx < HG * hd; idx += blockDim.x) {
        int h = idx / hd, d = idx % hd;
        const float *p = a.partial + (token * a.n_heads + head0 + h) * n * (int64_t)(hd + 2);
        float m_all = -INFINITY;
        for (int s = 0; s < n; s++)
            if (__ldcg(p + s * (hd + 2) + 1) > 0.0f)
                m_all = fmaxf(m_all, __ldcg(p + s * (hd + 2)));
        float denom = 0.0f, sum = 0.0f;
        for (int s = 0; s < n; s++) {
            const float *ps = p + s * (hd + 2);
            float l = __ldcg(ps + 1);
            if (l > 0.0f) {
                float f = expf(__ldcg(ps) - m_all);
                denom += f * l;
                sum += f * __ldcg(ps + 2 + d);
            }
        }
        store_with16(a.out, a.out16, a.dtype16,
                     token * (int64_t)a.n_heads * hd + (int64_t)(head0 + h) * hd + d, sum / denom);
    }
}

/* f16 cache ("cuda"): one block per (HG query heads of one KV group,
 * token, split), so the group's heads share every K and V row read.  As
 * in attention_kernel each warp takes 32 keys at a time, one per lane: a
 * lane loads its key's row once (16-byte loads) and dots it with the HG
 * query vectors (fp32, from shared memory); each head keeps its own
 * online softmax.  The keys' probabilities and slots go through shared
 * memory to the V pass, where lane l owns dimensions [l * PL, l * PL + PL)
 * (head_dim <= 32 * PL) and reads them with one load per V row for all
 * HG heads.  Warps and splits merge as in attention_kernel. */
template <int HG, int PL>
__global__ void __launch_bounds__(kAttnWarps * 32, HG * PL >= 32 ? 2 : 4)
    attention_group_kernel(acc_cuda_attention_args a)
{
    allow_dependents();
    __shared__ __align__(16) float q_sh[HG][32 * PL];
    __shared__ __align__(16) float p_sh[kAttnWarps][32][HG];
    __shared__ int slot_sh[kAttnWarps][32];
    __shared__ float part_m[kAttnWarps][HG], part_l[kAttnWarps][HG];
    __shared__ float part_acc[kAttnWarps][HG][32 * PL];
    int head0 = blockIdx.x * HG;
    int64_t token = blockIdx.y;
    int split = blockIdx.z;
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int hd = a.head_dim, bs = a.block_size;
    int group = a.n_heads / a.n_kv_heads;
    int64_t kv_dim = (int64_t)a.n_kv_heads * hd;
    int64_t kv_off = (int64_t)(head0 / group) * hd;
    const __half *kc = static_cast<const __half *>(a.k_cache) + kv_off;
    const __half *vc = static_cast<const __half *>(a.v_cache) + kv_off;
    const float *q = a.q + token * (int64_t)a.n_heads * hd + (int64_t)head0 * hd;
    const int32_t *table = a.tables + (int64_t)a.token_seq[token] * a.table_stride;
    int n_ctx = a.positions[token] + 1;
    int begin, end;
    split_keys(n_ctx, a.n_splits, split, &begin, &end);
    if (begin >= end) { /* block-uniform: an empty split */
        if (threadIdx.x < HG) {
            float *ph = a.partial + ((token * a.n_heads + head0 + threadIdx.x) * a.n_splits + split) *
                                        (int64_t)(hd + 2);
            ph[0] = -INFINITY;
            ph[1] = 0.0f;
        }
        if (a.counters)
            merge_if_last<HG>(a, token, head0, (int)blockIdx.x);
        return;
    }
    {
        /* every load first (predicated), then the stores: one round trip */
        constexpr int kQ = (HG * 32 * PL + kAttnWarps * 32 - 1) / (kAttnWarps * 32);
        float qv[kQ];
#pragma unroll
        for (int k = 0; k < kQ; k++) {
            int i = threadIdx.x + k * kAttnWarps * 32;
            qv[k] = i < HG * hd ? q[i] : 0.0f;
        }
#pragma unroll
        for (int k = 0; k < kQ; k++) {
            int i = threadIdx.x + k * kAttnWarps * 32;
            if (i < HG * hd)
                q_sh[i / hd][i % hd] = qv[k];
        }
    }
    __syncthreads();

    const bool k_vec = hd % 8 == 0;  /* 16-byte K loads (rows then 16-byte aligned) */
    const bool v_vec = hd % PL == 0; /* PL-wide V loads */
    const int d0 = lane * PL;
    float acc[HG][PL], m[HG], l[HG];
#pragma unroll
    for (int h = 0; h < HG; h++) {
        m[h] = -INFINITY;
        l[h] = 0.0f;
#pragma unroll
        for (int i = 0; i < PL; i++)
            acc[h][i] = 0.0f;
    }
    for (int base = begin + warp * 32; base < end; base += kAttnWarps * 32) {
        int j = base + lane;
        int slot = 0;
        float s[HG];
#pragma unroll
        for (int h = 0; h < HG; h++)
            s[h] = 0.0f;
        if (j < end) {
            slot = table[j / bs] * bs + j % bs;
            const __half *k = kc + (int64_t)slot * kv_dim;
            if (k_vec) {
                /* the whole row's loads first (predicated, no branch between
                 * them), so they are in flight together */
                uint4 raw[4 * PL];
#pragma unroll
                for (int c = 0; c < 4 * PL; c++)
                    raw[c] = 8 * c < hd ? *reinterpret_cast<const uint4 *>(k + 8 * c)
                                        : make_uint4(0, 0, 0, 0);
#pragma unroll
                for (int c = 0; c < 4 * PL; c++) {
                    if (8 * c >= hd)
                        break;
                    const int d = 8 * c;
                    const __half2 *h2 = reinterpret_cast<const __half2 *>(&raw[c]);
                    float kf[8];
#pragma unroll
                    for (int e = 0; e < 4; e++) {
                        float2 f = __half22float2(h2[e]);
                        kf[2 * e] = f.x;
                        kf[2 * e + 1] = f.y;
                    }
#pragma unroll
                    for (int h = 0; h < HG; h++) {
                        float4 qa = *reinterpret_cast<const float4 *>(&q_sh[h][d]);
                        float4 qb = *reinterpret_cast<const float4 *>(&q_sh[h][d + 4]);
                        s[h] += qa.x * kf[0] + qa.y * kf[1] + qa.z * kf[2] + qa.w * kf[3] +
                                qb.x * kf[4] + qb.y * kf[5] + qb.z * kf[6] + qb.w * kf[7];
                    }
                }
            } else {
                for (int d = 0; d < hd; d++) {
                    float kd = __half2float(k[d]);
#pragma unroll
                    for (int h = 0; h < HG; h++)
                        s[h] += q_sh[h][d] * kd;
                }
            }
        }
        slot_sh[warp][lane] = slot;
#pragma unroll
        for (int h = 0; h < HG; h++) {
            float sh = j < end ? s[h] * a.scale : -INFINITY;
            float gmax = sh;
            for (int offset = 16; offset > 0; offset >>= 1)
                gmax = fmaxf(gmax, __shfl_xor_sync(0xffffffffu, gmax, offset));
            float m_new = fmaxf(m[h], gmax); /* finite: lane 0's key exists */
            float p = j < end ? expf(sh - m_new) : 0.0f;
            float correction = expf(m[h] - m_new);
            float p_sum = p;
            for (int offset = 16; offset > 0; offset >>= 1)
                p_sum += __shfl_xor_sync(0xffffffffu, p_sum, offset);
            l[h] = l[h] * correction + p_sum;
#pragma unroll
            for (int i = 0; i < PL; i++)
                acc[h][i] *= correction;
            m[h] = m_new;
            p_sh[warp][lane][h] = p;
        }
        __syncwarp();
        int n_keys = end - base < 32 ? end - base : 32;
        /* V rows: every row of the round in flight at once (32 keys, 16 for
         * head_dim > 128), kept as raw f16 until used; in smaller groups
         * the rows' loads were several dependent round trips per round */
        constexpr int kV = PL <= 4 ? 32 : 16;
        for (int j0 = 0; j0 < n_keys; j0 += kV) {
            typename HalfPack<PL>::T vraw[kV] = {};
            if (v_vec) {
#pragma unroll
                for (int u = 0; u < kV; u++)
                    if (j0 + u < n_keys && d0 < hd)
                        vraw[u] = *reinterpret_cast<const typename HalfPack<PL>::T *>(
                            vc + (int64_t)slot_sh[warp][j0 + u] * kv_dim + d0);
            }
#pragma unroll
            for (int u = 0; u < kV; u++) {
                if (j0 + u >= n_keys)
                    break;
                float vf[PL];
                const __half *v = vc + (int64_t)slot_sh[warp][j0 + u] * kv_dim + d0;
#pragma unroll
                for (int i = 0; i < PL; i++)
                    vf[i] = v_vec ? pack_value<PL>(vraw[u], i)
                                  : (d0 + i < hd ? __half2float(v[i]) : 0.0f);
#pragma unroll
                for (int h = 0; h < HG; h++) {
                    float pj = p_sh[warp][j0 + u][h];
#pragma unroll
                    for (int i = 0; i < PL; i++)
                        acc[h][i] += pj * vf[i];
                }
            }
        }
        __syncwarp(); /* p_sh and slot_sh are rewritten next round */
    }
#pragma unroll
    for (int h = 0; h < HG; h++) {
        if (lane == 0) {
            part_m[warp][h] = m[h];
            part_l[warp][h] = l[h];
        }
#pragma unroll
        for (int i = 0; i < PL; i++)
            part_acc[warp][h][d0 + i] = acc[h][i];
    }
    __syncthreads();
    for (int idx = threadIdx.x; idx < HG * hd; idx += blockDim.x) {
        int h = idx / hd, d = idx % hd;
        float m_all = -INFINITY;
        for (int w = 0; w < kAttnWarps; w++)
            if (part_l[w][h] > 0.0f)
                m_all = fmaxf(m_all, part_m[w][h]);
        float denom = 0.0f, sum = 0.0f;
        for (int w = 0; w < kAttnWarps; w++)
            if (part_l[w][h] > 0.0f) {
                float f = expf(part_m[w][h] - m_all);
                denom += f * part_l[w][h];
                sum += f * part_acc[w][h][d];
            }
        if (a.n_splits > 1) {
            float *ph = a.partial +
                        ((token * a.n_heads + head0 + h) * a.n_splits + split) * (int64_t)(hd + 2);
            if (d == 0) {
                ph[0] = m_all;
                ph[1] = denom;
            }
            ph[2 + d] = sum;
        } else {
            store_with16(a.out, a.out16, a.dtype16,
                         token * (int64_t)a.n_heads * hd + (int64_t)(head0 + h) * hd + d,
                         sum / denom);
        }
    }
    if (a.n_splits > 1 && a.counters)
        merge_if_last<HG>(a, token, head0, (int)blockIdx.x);
}

template <int HG> void launch_group(const acc_cuda_attention_args &a, dim3 grid, cudaStream_t stream)
{
    int hd = a.head_dim;
    if (hd <= 32)
        attention_group_kernel<HG, 1><<<grid, kAttnWarps * 32, 0, stream>>>(a);
    else if (hd <= 64)
        attention_group_kernel<HG, 2><<<grid, kAttnWarps * 32, 0, stream>>>(a);
    else if (hd <= 128)
        attention_group_kernel<HG, 4><<<grid, kAttnWarps * 32, 0, stream>>>(a);
    else
        attention_group_kernel<HG, 8><<<grid, kAttnWarps * 32, 0, stream>>>(a);
}

/* Merges the n_splits partial results of one (head, token). */
__global__ void attention_merge_kernel(acc_cuda_attention_args a)
{
    allow_dependents();
    int head = blockIdx.x;
    int64_t token = blockIdx.y;
    int hd = a.head_dim, n = a.n_splits;
    const float *p = a.partial + (token * a.n_heads + head) * n * (int64_t)(hd + 2);
    float m_all = -INFINITY;
    for (int s = 0; s < n; s++)
        if (p[s * (hd + 2) + 1] > 0.0f)
            m_all = fmaxf(m_all, p[s * (hd + 2)]);
    float denom = 0.0f;
    for (int s = 0; s < n; s++) {
        float l = p[s * (hd + 2) + 1];
        if (l > 0.0f)
            denom += expf(p[s * (hd + 2)] - m_all) * l;
    }
    float inv = 1.0f / denom;
    int64_t out_off = token * (int64_t)a.n_heads * hd + (int64_t)head * hd;
    for (int d = threadIdx.x; d < hd; d += blockDim.x) {
        float sum = 0.0f;
        for (int s = 0; s < n; s++) {
            const float *ps = p + s * (hd + 2);
            if (ps[1] > 0.0f)
                sum += expf(ps[0] - m_all) * ps[2 + d];
        }
        store_with16(a.out, a.out16, a.dtype16, out_off + d, sum * inv);
    }
}

/* The rope_kv kernel into a cache of C: f32 q, k, v rows, or one fused
 * q|k|v row (f32, bf16 or f16) of in16_stride values; one thread per item
 * of a row (rope_kv_item), up to 65535 rows per grid column. */
template <typename T, typename C>
void launch_rope_kv(const acc_cuda_rope_kv_args &a, const T *q, const T *k, const T *v,
                    int64_t q_stride, int64_t kv_stride, cudaStream_t stream)
{
    int64_t half = a.head_dim / 2, kv_dim = (int64_t)a.n_kv_heads * a.head_dim;
    int64_t items = (a.q_out ? a.n_heads * half : 0) + (a.rope_k ? a.n_kv_heads * half : kv_dim) +
                    kv_dim;
    dim3 grid((unsigned)((items + 127) / 128), (unsigned)(a.rows < 65535 ? a.rows : 65535));
    rope_kv_kernel<T, C><<<grid, 128, 0, stream>>>(a, q, k, v, q_stride, kv_stride);
}

template <typename T, typename C>
void launch_rope_kv_fused(const acc_cuda_rope_kv_args &a, cudaStream_t stream)
{
    int64_t q_cols = (int64_t)a.n_heads * a.head_dim, kv_cols = (int64_t)a.n_kv_heads * a.head_dim;
    const T *x = static_cast<const T *>(a.in16);
    launch_rope_kv<T, C>(a, x, x + q_cols, x + q_cols + kv_cols, a.in16_stride, a.in16_stride,
                         stream);
}

template <typename C> void rope_kv_cache(const acc_cuda_rope_kv_args &a, cudaStream_t stream)
{
    int64_t q_cols = (int64_t)a.n_heads * a.head_dim, kv_cols = (int64_t)a.n_kv_heads * a.head_dim;
    if (!a.in16)
        launch_rope_kv<float, C>(a, a.q, a.k, a.v, q_cols, kv_cols, stream);
    else if (a.dtype16 == ACC_CUDA_F32)
        launch_rope_kv_fused<float, C>(a, stream);
    else if (a.dtype16 == ACC_CUDA_BF16)
        launch_rope_kv_fused<__nv_bfloat16, C>(a, stream);
    else
        launch_rope_kv_fused<__half, C>(a, stream);
}

} /* namespace */

extern "C" {

int acc_cuda_embed(acc_cuda_dtype dtype, const void *table, const int32_t *index, int64_t rows,
                   int64_t cols, float *y, acc_cuda_stream stream)
{
    unsigned blocks = (unsigned)(rows < 65536 ? rows : 65536);
    switch (dtype) {
    case ACC_CUDA_F32:
        embed_kernel<<<blocks, kThreads, 0, stream>>>((const float *)table, index, rows, cols, y);
        break;
    case ACC_CUDA_BF16:
        embed_kernel<<<blocks, kThreads, 0, stream>>>((const __nv_bfloat16 *)table, index, rows,
                                                      cols, y);
        break;
    case ACC_CUDA_F16:
        embed_kernel<<<blocks, kThreads, 0, stream>>>((const __half *)table, index, rows, cols, y);
        break;
    }
    return launch_status();
}

int acc_cuda_add(const float *a, const float *b, float alpha, float *y, int64_t n,
                 acc_cuda_stream stream)
{
    add_kernel<<<grid_for(n), kThreads, 0, stream>>>(a, b, alpha, y, n);
    return launch_status();
}

int acc_cuda_scale(const float *a, float scale, float *y, int64_t n, acc_cuda_stream stream)
{
    scale_kernel<<<grid_for(n), kThreads, 0, stream>>>(a, scale, y, n);
    return launch_status();
}

int acc_cuda_gelu_tanh(const float *a, float *y, int64_t n, acc_cuda_stream stream)
{
    gelu_tanh_kernel<<<grid_for(n), kThreads, 0, stream>>>(a, y, n);
    return launch_status();
}

int acc_cuda_swiglu(const float *gate, const float *up, float *y, int64_t n, void *y16,
                    acc_cuda_dtype dtype16, acc_cuda_stream stream)
{
    swiglu_kernel<<<grid_for(n), kThreads, 0, stream>>>(gate, up, y, n, y16, dtype16);
    return launch_status();
}

int acc_cuda_add_rms_norm(const float *a, const float *b, float alpha, float *sum, const float *w,
                          float eps, float *y, int64_t rows, int64_t cols, void *y16,
                          acc_cuda_dtype dtype16, int pdl, acc_cuda_stream stream)
{
    /* 16-byte path: every pointer 16-byte aligned, rows of whole vectors */
    uintptr_t align = (uintptr_t)a | (uintptr_t)b | (uintptr_t)sum | (uintptr_t)w | (uintptr_t)y |
                      (uintptr_t)y16;
    int vec = cols % 4 == 0 && cols <= 4 * kNormVec * kNormThreads && align % 16 == 0;
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3((unsigned)rows);
    cfg.blockDim = dim3(vec ? kNormThreads : kThreads);
    cfg.stream = stream;
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = attr;
    cfg.numAttrs = pdl ? 1 : 0;
    cudaError_t code = cudaLaunchKernelEx(&cfg, vec ? add_rms_norm_vec_kernel : add_rms_norm_kernel,
                                          a, b, alpha, sum, w, eps, y, cols, y16, dtype16);
    return code != cudaSuccess ? (int)code : launch_status();
}

int acc_cuda_rope_kv(const acc_cuda_rope_kv_args *args, acc_cuda_stream stream)
{
    if (args->rows < 1)
        return (int)cudaErrorInvalidValue;
    if (args->kv16)
        rope_kv_cache<__half>(*args, stream);
    else
        rope_kv_cache<float>(*args, stream);
    return launch_status();
}

int acc_cuda_swiglu16(const void *gu, acc_cuda_dtype gu_dtype, int64_t rows, int64_t cols,
                      acc_cuda_dtype dtype16, float *y, void *y16, acc_cuda_stream stream)
{
    uintptr_t align = (uintptr_t)gu | (uintptr_t)y | (uintptr_t)y16;
    int vec = cols % 8 == 0 && align % 16 == 0 && gu_dtype == dtype16;
    int64_t n = vec ? rows * (cols / 8) : rows * cols;
    if (gu_dtype == ACC_CUDA_F32) {
        const float *x = static_cast<const float *>(gu);
        if (dtype16 == ACC_CUDA_BF16)
            swiglu16_scalar_kernel<<<grid_for(n), kThreads, 0, stream>>>(
                x, rows, cols, y, static_cast<__nv_bfloat16 *>(y16));
        else
            swiglu16_scalar_kernel<<<grid_for(n), kThreads, 0, stream>>>(
                x, rows, cols, y, static_cast<__half *>(y16));
    } else if (dtype16 == ACC_CUDA_BF16) {
        const __nv_bfloat16 *x = static_cast<const __nv_bfloat16 *>(gu);
        __nv_bfloat16 *o = static_cast<__nv_bfloat16 *>(y16);
        if (vec)
            swiglu16_kernel<__nv_bfloat16, __nv_bfloat162>
                <<<grid_for(n), kThreads, 0, stream>>>(x, rows, cols, y, o);
        else
            swiglu16_scalar_kernel<<<grid_for(n), kThreads, 0, stream>>>(x, rows, cols, y, o);
    } else {
        const __half *x = static_cast<const __half *>(gu);
        __half *o = static_cast<__half *>(y16);
        if (vec)
            swiglu16_kernel<__half, __half2><<<grid_for(n), kThreads, 0, stream>>>(x, rows, cols, y, o);
        else
            swiglu16_scalar_kernel<<<grid_for(n), kThreads, 0, stream>>>(x, rows, cols, y, o);
    }
    return launch_status();
}

int acc_cuda_rms_norm(const float *x, const float *w, float eps, float *y, int64_t rows,
                      int64_t cols, void *y16, acc_cuda_dtype dtype16, acc_cuda_stream stream)
{
    rms_norm_kernel<<<(unsigned)rows, kThreads, 0, stream>>>(x, w, eps, y, cols, y16, dtype16);
    return launch_status();
}

int acc_cuda_layer_norm(const float *x, const float *w, const float *b, float eps, float *y,
                        int64_t rows, int64_t cols, void *y16, acc_cuda_dtype dtype16,
                        acc_cuda_stream stream)
{
    layer_norm_kernel<<<(unsigned)rows, kThreads, 0, stream>>>(x, w, b, eps, y, cols, y16,
                                                              dtype16);
    return launch_status();
}

int acc_cuda_rope(const float *x, float *y, int64_t rows, int n_heads, int head_dim,
                  const int32_t *positions, const float *inv_freq, acc_cuda_stream stream)
{
    rope_kernel<<<(unsigned)rows, kThreads, 0, stream>>>(x, y, n_heads, head_dim, positions,
                                                         inv_freq);
    return launch_status();
}

int acc_cuda_gather_rows(const float *x, const int32_t *index, int64_t rows, int64_t cols,
                         float *y, acc_cuda_stream stream)
{
    unsigned blocks = (unsigned)(rows < 65536 ? rows : 65536);
    gather_rows_kernel<<<blocks, kThreads, 0, stream>>>(x, index, rows, cols, y);
    return launch_status();
}

int acc_cuda_convert_f32(const float *x, int64_t n, acc_cuda_dtype dtype, void *out,
                         acc_cuda_stream stream)
{
    if (dtype == ACC_CUDA_BF16)
        to_bf16_kernel<<<grid_for(n), kThreads, 0, stream>>>(x, n, (__nv_bfloat16 *)out);
    else if (dtype == ACC_CUDA_F16)
        to_f16_kernel<<<grid_for(n), kThreads, 0, stream>>>(x, n, (__half *)out);
    else
        return (int)cudaErrorInvalidValue;
    return launch_status();
}

int acc_cuda_add_bias(float *y, const float *bias, int64_t rows, int64_t cols,
                      acc_cuda_stream stream)
{
    add_bias_kernel<<<grid_for(rows * cols), kThreads, 0, stream>>>(y, bias, rows, cols);
    return launch_status();
}

int acc_cuda_attention_heads_per_block(int n_heads, int n_kv_heads, int kv16)
{
    if (!kv16 || n_kv_heads < 1 || n_heads % n_kv_heads)
        return 1;
    int group = n_heads / n_kv_heads;
    return group % 8 == 0 ? 8 : group % 4 == 0 ? 4 : group % 2 == 0 ? 2 : 1;
}

int acc_cuda_attention(const acc_cuda_attention_args *args, acc_cuda_stream stream)
{
    if (args->head_dim > ACC_CUDA_MAX_HEAD_DIM || args->rows > 65535)
        return (int)cudaErrorInvalidValue;
    int splits = args->n_splits > 1 ? args->n_splits : 1;
    if (splits > 1 && !args->partial)
        return (int)cudaErrorInvalidValue;
    acc_cuda_attention_args a = *args;
    a.n_splits = splits;
    int hb = acc_cuda_attention_heads_per_block(a.n_heads, a.n_kv_heads, a.kv16);
    if (a.kv16) {
        dim3 grid((unsigned)(a.n_heads / hb), (unsigned)a.rows, (unsigned)splits);
        switch (hb) {
        case 8:
            launch_group<8>(a, grid, stream);
            break;
        case 4:
            launch_group<4>(a, grid, stream);
            break;
        case 2:
            launch_group<2>(a, grid, stream);
            break;
        default:
            launch_group<1>(a, grid, stream);
            break;
        }
    } else {
        dim3 grid((unsigned)a.n_heads, (unsigned)a.rows, (unsigned)splits);
        attention_kernel<<<grid, kAttnWarps * 32, 0, stream>>>(a);
    }
    int code = launch_status();
    if (code || splits == 1 || (a.kv16 && a.counters))
        return code;
    unsigned threads = (unsigned)((a.head_dim + 31) / 32 * 32);
    attention_merge_kernel<<<dim3((unsigned)a.n_heads, (unsigned)a.rows), threads, 0, stream>>>(a);
    return launch_status();
}

} /* extern "C" */
