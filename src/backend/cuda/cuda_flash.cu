/*
 * cuda_flash.cu — tiled causal attention for prefill steps, in the manner
 * of FlashAttention: a block takes a tile of up to 64 query rows of one
 * sequence and one head, streams that sequence's keys and values through
 * shared memory 32 at a time (read through its block table from the f32
 * paged cache; the next tile's loads are in flight while one is computed),
 * and keeps an online softmax per row, so the work is O(rows x context)
 * with no context-sized scratch.
 *
 * Q.K^T and P.V run on the tensor cores (wmma, TF32 inputs, fp32
 * accumulation): TF32 keeps f32's range, so unnormalised activations
 * cannot overflow, and its 10-bit mantissa matches f16's precision.  The
 * softmax, its running max and denominator stay fp32.  Used by the "cuda"
 * device only; "cuda-f32" keeps the exact per-token kernel.
 */
#include "backend/cuda/cuda_kernels.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <mma.h>

namespace {

using namespace nvcuda;

constexpr int kRows = 64;  /* query rows per tile: 16 per warp */
constexpr int kKeys = 32;  /* keys per shared-memory tile */
constexpr int kWarps = 4;

template <int HD> constexpr int smem_floats()
{
    return 2 * kRows * (HD + 4) + 2 * kKeys * (HD + 4) + kRows * (kKeys + 4);
}

__device__ __forceinline__ void store_out(float *y, void *y16, acc_cuda_dtype dtype16, int64_t i,
                                          float value)
{
    y[i] = value;
    if (y16 && dtype16 == ACC_CUDA_BF16)
        static_cast<__nv_bfloat16 *>(y16)[i] = __float2bfloat16_rn(value);
    else if (y16)
        static_cast<__half *>(y16)[i] = __float2half_rn(value);
}

__device__ __forceinline__ void store_tf32(float *dst, float4 v)
{
    dst[0] = wmma::__float_to_tf32(v.x);
    dst[1] = wmma::__float_to_tf32(v.y);
    dst[2] = wmma::__float_to_tf32(v.z);
    dst[3] = wmma::__float_to_tf32(v.w);
}

/* Shared memory (floats): Q [64][HD+4] (scaled, TF32-rounded), O [64][HD+4]
 * (unnormalised output), K and V [32][HD+4], S/P [64][36].  Warp w owns
 * rows 16w..16w+15 of Q, O and S; in the softmax a lane pair owns one row,
 * each lane half of its columns. */
template <int HD> __global__ void __launch_bounds__(kWarps * 32) flash_kernel(acc_cuda_attention_args a)
{
    constexpr int LD = HD + 4, LDS = kKeys + 4;
    extern __shared__ __align__(128) float smem[];
    float *qs = smem;
    float *os = qs + kRows * LD;
    float *ks = os + kRows * LD;
    float *vs = ks + kKeys * LD;
    float *ss = vs + kKeys * LD;
    __shared__ int pos_sh[kRows];
    __shared__ int n_keys_sh;

    int tile = a.n_tiles - 1 - (int)blockIdx.x; /* long tiles (late rows) first */
    int head = blockIdx.y;
    int row0 = a.tiles[2 * tile], n_rows = a.tiles[2 * tile + 1];
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int group = a.n_heads / a.n_kv_heads;
    int64_t kv_dim = (int64_t)a.n_kv_heads * HD;
    int64_t kv_off = (int64_t)(head / group) * HD;
    int64_t q_cols = (int64_t)a.n_heads * HD;
    const int32_t *table = a.tables + (int64_t)a.token_seq[row0] * a.table_stride;
    int bs = a.block_size;

    if (threadIdx.x == 0)
        n_keys_sh = 0;
    __syncthreads();
    if (threadIdx.x < kRows) {
        int p = (int)threadIdx.x < n_rows ? a.positions[row0 + threadIdx.x] : -1;
        pos_sh[threadIdx.x] = p;
        atomicMax(&n_keys_sh, p + 1);
    }
    for (int idx = threadIdx.x; idx < kRows * (HD / 4); idx += blockDim.x) {
        int r = idx / (HD / 4), c = 4 * (idx % (HD / 4));
        float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (r < n_rows) {
            v = *reinterpret_cast<const float4 *>(a.q + (int64_t)(row0 + r) * q_cols +
                                                   (int64_t)head * HD + c);
            v.x *= a.scale;
            v.y *= a.scale;
            v.z *= a.scale;
            v.w *= a.scale;
        }
        store_tf32(qs + r * LD + c, v);
        *reinterpret_cast<float4 *>(os + r * LD + c) = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    }
    __syncthreads();
    int n_keys = n_keys_sh;
    /* this warp's Q rows as A fragments, kept in registers for every tile */
    wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major>
        qf[HD / 8];
#pragma unroll
    for (int k = 0; k < HD / 8; k++)
        wmma::load_matrix_sync(qf[k], qs + warp * 16 * LD + k * 8, LD);
    int my_row = warp * 16 + lane / 2, half = lane & 1;
    int my_pos = pos_sh[my_row];
    float m = -INFINITY, l = 0.0f;

    /* K/V tiles are software-pipelined: each thread holds its share of the
     * next tile in registers (all loads issued at once) while the current
     * one is computed, then stores it to shared memory. */
    constexpr int kLoads = kKeys * (HD / 4) / (kWarps * 32);
    float4 kreg[kLoads], vreg[kLoads];
#pragma unroll
    for (int i = 0; i < kLoads; i++) {
        int idx = threadIdx.x + i * kWarps * 32, r = idx / (HD / 4), c = 4 * (idx % (HD / 4));
        kreg[i] = vreg[i] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (r < n_keys) {
            int64_t slot = (int64_t)table[r / bs] * bs + r % bs;
            kreg[i] = *reinterpret_cast<const float4 *>(a.k_cache + slot * kv_dim + kv_off + c);
            vreg[i] = *reinterpret_cast<const float4 *>(a.v_cache + slot * kv_dim + kv_off + c);
        }
    }
    for (int k0 = 0; k0 < n_keys; k0 += kKeys) {
#pragma unroll
        for (int i = 0; i < kLoads; i++) {
            int idx = threadIdx.x + i * kWarps * 32, r = idx / (HD / 4), c = 4 * (idx % (HD / 4));
            store_tf32(ks + r * LD + c, kreg[i]);
            store_tf32(vs + r * LD + c, vreg[i]);
        }
        __syncthreads();
        int next = k0 + kKeys;
#pragma unroll
        for (int i = 0; i < kLoads; i++) {
            int idx = threadIdx.x + i * kWarps * 32, r = idx / (HD / 4), c = 4 * (idx % (HD / 4));
            int j = next + r;
            kreg[i] = vreg[i] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            if (j < n_keys) {
                int64_t slot = (int64_t)table[j / bs] * bs + j % bs;
                kreg[i] = *reinterpret_cast<const float4 *>(a.k_cache + slot * kv_dim + kv_off + c);
                vreg[i] = *reinterpret_cast<const float4 *>(a.v_cache + slot * kv_dim + kv_off + c);
            }
        }

        /* S = Q K^T for this warp's 16 rows */
        wmma::fragment<wmma::accumulator, 16, 16, 8, float> sacc[kKeys / 16];
#pragma unroll
        for (int n = 0; n < kKeys / 16; n++)
            wmma::fill_fragment(sacc[n], 0.0f);
#pragma unroll
        for (int k = 0; k < HD / 8; k++) {
#pragma unroll
            for (int n = 0; n < kKeys / 16; n++) {
                wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major>
                    bf;
                wmma::load_matrix_sync(bf, ks + n * 16 * LD + k * 8, LD);
                wmma::mma_sync(sacc[n], qf[k], bf, sacc[n]);
            }
        }
#pragma unroll
        for (int n = 0; n < kKeys / 16; n++)
            wmma::store_matrix_sync(ss + warp * 16 * LDS + n * 16, sacc[n], LDS,
                                    wmma::mem_row_major);
        __syncwarp();

        /* online softmax of the row, P back into S, O rescaled */
        {
            float *srow = ss + my_row * LDS + half * (kKeys / 2);
            float sv[kKeys / 2];
            float mx = -INFINITY;
#pragma unroll
            for (int c = 0; c < kKeys / 2; c++) {
                int j = k0 + half * (kKeys / 2) + c;
                sv[c] = j <= my_pos ? srow[c] : -INFINITY;
                mx = fmaxf(mx, sv[c]);
            }
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
            float m_new = fmaxf(m, mx), corr = 1.0f, p_sum = 0.0f;
            if (m_new == -INFINITY) { /* no key yet for this row (or a padding row) */
#pragma unroll
                for (int c = 0; c < kKeys / 2; c++)
                    sv[c] = 0.0f;
            } else {
                corr = expf(m - m_new);
#pragma unroll
                for (int c = 0; c < kKeys / 2; c++) {
                    sv[c] = expf(sv[c] - m_new);
                    p_sum += sv[c];
                }
            }
            p_sum += __shfl_xor_sync(0xffffffffu, p_sum, 1);
            l = l * corr + p_sum;
            m = m_new;
#pragma unroll
            for (int c = 0; c < kKeys / 2; c++)
                srow[c] = wmma::__float_to_tf32(sv[c]);
            float *orow = os + my_row * LD + half * (HD / 2);
#pragma unroll
            for (int d = 0; d < HD / 2; d++)
                orow[d] *= corr;
        }
        __syncwarp();

        /* O += P V, P's fragments loaded once */
        wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major>
            pf[kKeys / 8];
#pragma unroll
        for (int k = 0; k < kKeys / 8; k++)
            wmma::load_matrix_sync(pf[k], ss + warp * 16 * LDS + k * 8, LDS);
#pragma unroll
        for (int n = 0; n < HD / 16; n++) {
            wmma::fragment<wmma::accumulator, 16, 16, 8, float> oacc;
            wmma::load_matrix_sync(oacc, os + warp * 16 * LD + n * 16, LD, wmma::mem_row_major);
#pragma unroll
            for (int k = 0; k < kKeys / 8; k++) {
                wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major>
                    bf;
                wmma::load_matrix_sync(bf, vs + k * 8 * LD + n * 16, LD);
                wmma::mma_sync(oacc, pf[k], bf, oacc);
            }
            wmma::store_matrix_sync(os + warp * 16 * LD + n * 16, oacc, LD, wmma::mem_row_major);
        }
        __syncthreads(); /* K, V and S are overwritten next */
    }

    if (my_pos < 0)
        return;
    float inv = 1.0f / l;
    int64_t out_off = (int64_t)(row0 + my_row) * q_cols + (int64_t)head * HD + half * (HD / 2);
    const float *orow = os + my_row * LD + half * (HD / 2);
#pragma unroll 4
    for (int d = 0; d < HD / 2; d++)
        store_out(a.out, a.out16, a.dtype16, out_off + d, orow[d] * inv);
}

template <int HD> int launch(const acc_cuda_attention_args *a, cudaStream_t stream)
{
    size_t bytes = (size_t)smem_floats<HD>() * sizeof(float);
    cudaError_t code =
        cudaFuncSetAttribute(flash_kernel<HD>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             (int)bytes);
    if (code != cudaSuccess)
        return (int)code;
    dim3 grid((unsigned)a->n_tiles, (unsigned)a->n_heads);
    flash_kernel<HD><<<grid, kWarps * 32, bytes, stream>>>(*a);
    return (int)cudaGetLastError();
}

} /* namespace */

extern "C" int acc_cuda_attention_tiled_supported(int head_dim)
{
    return head_dim == 16 || head_dim == 32 || head_dim == 64 || head_dim == 128;
}

extern "C" int acc_cuda_attention_tiled(const acc_cuda_attention_args *args,
                                        acc_cuda_stream stream)
{
    if (args->n_tiles < 1 || args->n_heads > 65535 || !args->tiles)
        return (int)cudaErrorInvalidValue;
    switch (args->head_dim) {
    case 16:
        return launch<16>(args, stream);
    case 32:
        return launch<32>(args, stream);
    case 64:
        return launch<64>(args, stream);
    case 128:
        return launch<128>(args, stream);
    default:
        return (int)cudaErrorInvalidValue;
    }
}
